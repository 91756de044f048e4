//! Lambda, locally: function instances as child processes speaking the Runtime API, pooled per
//! function with a concurrency limit.
//!
//! [`Functions`] is what the HTTP side talks to: `invoke(function, request)` returns the outcome of
//! one invocation. Underneath, a [`pool::FunctionPool`] per function starts [`instance::Instance`]s
//! on demand (cold start), keeps them warm, and replaces those that crash or time out.

pub mod instance;
pub mod invocation;
pub mod logs;
pub mod pool;
pub mod process;
mod quick_ack;
pub mod runtime_api;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

pub use instance::InstanceContext;
pub use invocation::{Failure, FunctionError, InvokeRequest, Outcome, StreamEvent};
pub use logs::{LogSink, StdoutSink};
use pool::FunctionPool;

use crate::config::FunctionSpec;

/// Every function of one API model, each with its pool.
///
/// A reload of the model (`--watch`) builds the next set with [`Functions::successor`], which keeps
/// the pools (and the warm instances) of the functions that did not change. The pools it drops
/// drain: a request routed before the reload still gets its answer. They stay in a list shared by
/// every set, so that [`Functions::shutdown`] and [`Functions::pids`] still see their processes.
#[derive(Debug)]
pub struct Functions {
    pools: BTreeMap<String, Arc<FunctionPool>>,
    limits: PoolLimits,
    context: InstanceContext,
    /// Pools a reload dropped, until their last instance has stopped.
    retired: Arc<Mutex<Vec<Arc<FunctionPool>>>>,
}

/// What every pool of the gateway is created with.
#[derive(Debug, Clone, Copy)]
pub struct PoolLimits {
    /// Instances of one function at once, unless its `ReservedConcurrentExecutions` is lower.
    pub concurrency: u32,
    /// How long a request waits for a busy function before it is throttled.
    pub queue_timeout: Duration,
}

impl PoolLimits {
    /// The concurrency of a function: the gateway's, or its reserved concurrency when lower.
    fn for_function(&self, spec: &FunctionSpec) -> u32 {
        spec.reserved_concurrency
            .map_or(self.concurrency, |r| r.min(self.concurrency))
    }
}

/// How the functions changed from one API model to the next, by logical id.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FunctionChanges {
    /// New in the template: they got a pool.
    pub added: Vec<String>,
    /// Defined differently (binary, environment, timeout, memory, concurrency): their warm
    /// instances stopped, and the next request starts the new definition.
    pub changed: Vec<String>,
    /// Gone from the template: their pools drain and serve no new route.
    pub removed: Vec<String>,
    /// Instances of changed or removed functions still finishing an invocation.
    pub draining: usize,
}

impl Functions {
    /// Pools for `functions`, each allowing `limits.concurrency` instances (less when the
    /// function's `ReservedConcurrentExecutions` says so).
    pub fn new(
        functions: &BTreeMap<String, Arc<FunctionSpec>>,
        limits: PoolLimits,
        context: InstanceContext,
    ) -> Self {
        let pools = functions
            .iter()
            .map(|(id, spec)| (id.clone(), Arc::new(Self::pool(spec, limits, &context))))
            .collect();
        Self {
            pools,
            limits,
            context,
            retired: Arc::default(),
        }
    }

    fn pool(
        spec: &Arc<FunctionSpec>,
        limits: PoolLimits,
        context: &InstanceContext,
    ) -> FunctionPool {
        FunctionPool::new(
            spec.clone(),
            limits.for_function(spec),
            limits.queue_timeout,
            context.clone(),
        )
    }

    /// The pools for the next API model's `functions`: an unchanged function keeps its pool and
    /// warm instances; a changed one keeps its pool with the new definition, its old instances
    /// stopping (idle) or draining (busy), or gets a new pool when its concurrency changed; a new
    /// one gets a pool; a removed one's pool drains.
    pub async fn successor(
        &self,
        functions: &BTreeMap<String, Arc<FunctionSpec>>,
    ) -> (Self, FunctionChanges) {
        let mut changes = FunctionChanges::default();
        let mut pools = BTreeMap::new();
        let mut retiring = Vec::new();
        for (id, spec) in functions {
            let pool = match self.pools.get(id) {
                None => {
                    changes.added.push(id.clone());
                    Arc::new(Self::pool(spec, self.limits, &self.context))
                }
                Some(pool) if *pool.spec() == **spec => pool.clone(),
                Some(pool) if pool.concurrency() == self.limits.for_function(spec) => {
                    changes.changed.push(id.clone());
                    changes.draining += pool.replace_spec(spec.clone()).await;
                    pool.clone()
                }
                Some(pool) => {
                    changes.changed.push(id.clone());
                    retiring.push(pool.clone());
                    Arc::new(Self::pool(spec, self.limits, &self.context))
                }
            };
            pools.insert(id.clone(), pool);
        }
        for (id, pool) in &self.pools {
            if !functions.contains_key(id) {
                changes.removed.push(id.clone());
                retiring.push(pool.clone());
            }
        }
        for pool in &retiring {
            changes.draining += pool.drain().await;
        }
        {
            let mut retired = self.retired.lock().expect("retired pools lock");
            retired.retain(|pool| !pool.pids().is_empty());
            retired.extend(retiring);
        }
        let next = Self {
            pools,
            limits: self.limits,
            context: self.context.clone(),
            retired: self.retired.clone(),
        };
        (next, changes)
    }

    /// Starts an invocation of `function` (a logical id); the outcome arrives on the channel.
    pub fn invoke(&self, function: &str, request: InvokeRequest) -> oneshot::Receiver<Outcome> {
        match self.pools.get(function) {
            Some(pool) => pool.invoke(request),
            None => {
                let (sender, receiver) = oneshot::channel();
                let _ = sender.send(Outcome::Failed(Failure::InitFailed(format!(
                    "unknown function {function}"
                ))));
                receiver
            }
        }
    }

    /// Serves `function` (a logical id) from `executable` from now on, letting invocations in
    /// flight finish on the old instances (see [`FunctionPool::reload`]). Returns how many old
    /// instances are draining, or `None` for an unknown function.
    pub async fn reload(&self, function: &str, executable: PathBuf) -> Option<usize> {
        let pool = self.pools.get(function)?;
        Some(pool.reload(executable).await)
    }

    /// The effective concurrency of `function`.
    pub fn concurrency(&self, function: &str) -> Option<u32> {
        self.pools.get(function).map(|p| p.concurrency())
    }

    /// Process ids of every live instance, those of pools a reload dropped included.
    pub fn pids(&self) -> Vec<u32> {
        self.all_pools().iter().flat_map(|p| p.pids()).collect()
    }

    /// Stops every instance of every function, those of pools a reload dropped included, and waits
    /// until all processes are reaped.
    pub async fn shutdown(&self) {
        for pool in self.all_pools() {
            pool.shutdown().await;
        }
    }

    /// This set's pools and the retired ones.
    fn all_pools(&self) -> Vec<Arc<FunctionPool>> {
        let retired = self.retired.lock().expect("retired pools lock");
        self.pools.values().chain(retired.iter()).cloned().collect()
    }
}
