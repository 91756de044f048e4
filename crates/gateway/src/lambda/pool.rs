//! The instances of one function: at most N run at once, idle ones are kept warm, and a request
//! that finds all N busy waits for a bounded time and is then throttled.
//!
//! Lambda throttles at once when a function's concurrency is exhausted; locally a short wait is
//! friendlier (a browser fires a few requests together), and the bound keeps the behaviour
//! observable: a request that waits longer than `queue_timeout` gets the same 429 as in AWS.
//!
//! [`FunctionPool::replace_spec`] swaps the function's definition while it serves (`--watch`: a new
//! binary, or a template edit that changed its environment, timeout or memory): every instance
//! remembers the [`FunctionSpec`] it was started from, and one started from an older spec is never
//! handed a new invocation. Idle ones stop at once; busy ones finish what they are doing (a stream
//! included) and stop when it is over, so nothing in flight is cut short. [`FunctionPool::drain`]
//! does the same for a pool that is going away (its function left the template).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Semaphore, oneshot};

use super::instance::{AfterInvocation, Instance, InstanceContext};
use super::invocation::{Failure, InvokeRequest, Outcome};
use crate::config::FunctionSpec;

/// The instances of one function.
#[derive(Debug)]
pub struct FunctionPool {
    /// The function as new instances start it; replaced by [`FunctionPool::replace_spec`].
    spec: Mutex<Arc<FunctionSpec>>,
    context: InstanceContext,
    permits: Arc<Semaphore>,
    concurrency: u32,
    queue_timeout: Duration,
    /// Warm instances, most recently used last.
    idle: Mutex<Vec<Arc<Instance>>>,
    /// Every live instance, idle or busy, for shutdown.
    live: Mutex<HashMap<String, Arc<Instance>>>,
    next_number: AtomicU64,
    stopping: AtomicBool,
    /// Set by [`FunctionPool::drain`]: no instance is kept warm any more.
    draining: AtomicBool,
}

impl FunctionPool {
    /// A pool allowing `concurrency` instances at once.
    pub fn new(
        spec: Arc<FunctionSpec>,
        concurrency: u32,
        queue_timeout: Duration,
        context: InstanceContext,
    ) -> Self {
        Self {
            spec: Mutex::new(spec),
            context,
            permits: Arc::new(Semaphore::new(concurrency as usize)),
            concurrency,
            queue_timeout,
            idle: Mutex::new(Vec::new()),
            live: Mutex::new(HashMap::new()),
            next_number: AtomicU64::new(1),
            stopping: AtomicBool::new(false),
            draining: AtomicBool::new(false),
        }
    }

    /// The function, as new instances start it.
    pub fn spec(&self) -> Arc<FunctionSpec> {
        self.spec.lock().expect("pool lock").clone()
    }

    /// Whether `instance` runs the current spec (and may take new invocations).
    fn is_current(&self, instance: &Instance) -> bool {
        Arc::ptr_eq(instance.spec(), &self.spec.lock().expect("pool lock"))
    }

    /// Serves the function from `executable` from now on: later invocations go to new instances of
    /// it; idle instances of the old one stop now, busy ones when their invocation is over.
    /// Returns how many old instances were still busy (and are draining).
    pub async fn reload(&self, executable: PathBuf) -> usize {
        let mut spec = FunctionSpec::clone(&self.spec());
        spec.executable = Some(executable);
        self.replace_spec(Arc::new(spec)).await
    }

    /// Serves the function as `spec` says from now on: later invocations go to new instances
    /// started from it; idle instances of the old spec stop now, busy ones when their invocation
    /// is over. Returns how many old instances were still busy (and are draining).
    pub async fn replace_spec(&self, spec: Arc<FunctionSpec>) -> usize {
        *self.spec.lock().expect("pool lock") = spec.clone();
        let stopped = self.stop_idle().await;
        let draining = self
            .live
            .lock()
            .expect("pool lock")
            .values()
            .filter(|instance| !Arc::ptr_eq(instance.spec(), &spec))
            .count();
        tracing::info!(
            function = %spec.logical_id,
            stopped,
            draining,
            "reloaded: new invocations start the new definition"
        );
        draining
    }

    /// Keeps no instance warm any more: idle ones stop now, busy ones when their invocation is
    /// over (a request routed before the function went away still gets its answer). Returns how
    /// many were busy.
    pub async fn drain(&self) -> usize {
        self.draining.store(true, Ordering::SeqCst);
        self.stop_idle().await;
        self.live.lock().expect("pool lock").len()
    }

    /// Stops every idle instance; returns how many there were.
    async fn stop_idle(&self) -> usize {
        let idle: Vec<Arc<Instance>> = self.idle.lock().expect("pool lock").drain(..).collect();
        for instance in &idle {
            self.retire(instance).await;
        }
        idle.len()
    }

    /// Maximum instances at once.
    pub fn concurrency(&self) -> u32 {
        self.concurrency
    }

    /// Process ids of the live instances.
    pub fn pids(&self) -> Vec<u32> {
        self.live
            .lock()
            .expect("pool lock")
            .values()
            .map(|i| i.pid())
            .collect()
    }

    /// Starts an invocation in the background; the outcome arrives on the returned channel. The
    /// invocation runs to its end even if the caller stops listening, as Lambda's do.
    pub fn invoke(self: &Arc<Self>, request: InvokeRequest) -> oneshot::Receiver<Outcome> {
        let (outcome, receiver) = oneshot::channel();
        let pool = self.clone();
        tokio::spawn(async move { pool.run(request, outcome).await });
        receiver
    }

    async fn run(&self, request: InvokeRequest, outcome: oneshot::Sender<Outcome>) {
        // A free instance slot is taken at once; only a request that has to queue arms the timer.
        let free = self.permits.clone().try_acquire_owned().ok();
        let permit = match free {
            Some(permit) => permit,
            None => {
                match tokio::time::timeout(self.queue_timeout, self.permits.clone().acquire_owned())
                    .await
                {
                    Ok(Ok(permit)) => permit,
                    _ => {
                        tracing::warn!(
                            function = %self.spec().logical_id,
                            concurrency = self.concurrency,
                            "throttled: every instance stayed busy for {:?}",
                            self.queue_timeout
                        );
                        let _ = outcome.send(Outcome::Throttled);
                        return;
                    }
                }
            }
        };
        let instance = match self.checkout().await {
            Ok(instance) => instance,
            Err(failure) => {
                tracing::error!(function = %self.spec().logical_id, %failure, "instance failed to start");
                let _ = outcome.send(Outcome::Failed(failure));
                return;
            }
        };
        match instance.invoke(request, outcome).await {
            AfterInvocation::Reuse
                if !self.stopping.load(Ordering::SeqCst)
                    && !self.draining.load(Ordering::SeqCst)
                    && instance.is_alive()
                    && self.is_current(&instance) =>
            {
                self.idle.lock().expect("pool lock").push(instance);
            }
            _ => self.retire(&instance).await,
        }
        drop(permit);
    }

    /// A warm instance, or a new one (a cold start).
    async fn checkout(&self) -> Result<Arc<Instance>, Failure> {
        loop {
            let warm = self.idle.lock().expect("pool lock").pop();
            match warm {
                Some(instance) if instance.is_alive() && self.is_current(&instance) => {
                    return Ok(instance);
                }
                Some(instance) if instance.is_alive() => self.retire(&instance).await,
                Some(instance) => {
                    tracing::warn!(
                        instance = instance.label(),
                        "idle instance had exited; replacing it"
                    );
                    self.retire(&instance).await;
                }
                None => break,
            }
        }
        if self.stopping.load(Ordering::SeqCst) {
            return Err(Failure::NoResponse(
                "the gateway is shutting down".to_owned(),
            ));
        }
        let spec = self.spec();
        let number = self.next_number.fetch_add(1, Ordering::SeqCst);
        let label = format!("{}#{number}", spec.logical_id);
        let instance = Arc::new(Instance::start(spec, label.clone(), &self.context).await?);
        self.live
            .lock()
            .expect("pool lock")
            .insert(label, instance.clone());
        if self.stopping.load(Ordering::SeqCst) {
            self.retire(&instance).await;
            return Err(Failure::NoResponse(
                "the gateway is shutting down".to_owned(),
            ));
        }
        Ok(instance)
    }

    async fn retire(&self, instance: &Arc<Instance>) {
        instance.stop().await;
        self.live
            .lock()
            .expect("pool lock")
            .remove(instance.label());
    }

    /// Stops every instance and waits until each process is reaped. Later invocations fail.
    pub async fn shutdown(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.idle.lock().expect("pool lock").clear();
        let live: Vec<Arc<Instance>> = self
            .live
            .lock()
            .expect("pool lock")
            .drain()
            .map(|(_, i)| i)
            .collect();
        for instance in live {
            instance.stop().await;
        }
    }
}
