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
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

pub use instance::InstanceContext;
pub use invocation::{Failure, FunctionError, InvokeRequest, Outcome, StreamEvent};
pub use logs::{LogSink, StdoutSink};
use pool::FunctionPool;

use crate::config::FunctionSpec;

/// Every function of the API, each with its pool.
#[derive(Debug)]
pub struct Functions {
    pools: BTreeMap<String, Arc<FunctionPool>>,
}

impl Functions {
    /// Pools for `functions`, each allowing `concurrency` instances (less when the function's
    /// `ReservedConcurrentExecutions` says so).
    pub fn new(
        functions: &BTreeMap<String, Arc<FunctionSpec>>,
        concurrency: u32,
        queue_timeout: Duration,
        context: InstanceContext,
    ) -> Self {
        let pools = functions
            .iter()
            .map(|(id, spec)| {
                let limit = spec
                    .reserved_concurrency
                    .map_or(concurrency, |r| r.min(concurrency));
                let pool = FunctionPool::new(spec.clone(), limit, queue_timeout, context.clone());
                (id.clone(), Arc::new(pool))
            })
            .collect();
        Self { pools }
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

    /// Process ids of every live instance.
    pub fn pids(&self) -> Vec<u32> {
        self.pools.values().flat_map(|p| p.pids()).collect()
    }

    /// Stops every instance of every function and waits until all processes are reaped.
    pub async fn shutdown(&self) {
        for pool in self.pools.values() {
            pool.shutdown().await;
        }
    }
}
