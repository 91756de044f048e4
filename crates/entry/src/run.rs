//! Starting a function: everything before lambda_http's loop, then the loop, for a buffered or a
//! streaming handler.
//!
//! What a function builds once (its `Deps`) lives as long as the process, which Lambda ends; it is
//! leaked once so that every invocation borrows it as `&'static`, and handlers take `&Deps` as the
//! runtime's own examples pass clients by reference.

use std::convert::Infallible;
use std::fmt::Debug;
use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;

use bytes::Bytes;
use lambda_http::{Body, Request, Response, service_fn};
use rill_cursor_key::CursorKeys;
use rill_http::problem::error_chain;

use crate::{SharedStore, StoreConfig, check_lambda_environment, init_tracing, open_store};

/// What the entry point builds for every function before the first request: the store the
/// configuration names and the keys that sign its pagination cursors.
pub struct Wiring {
    pub store: SharedStore,
    pub cursors: CursorKeys,
}

impl Debug for Wiring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wiring").finish_non_exhaustive()
    }
}

/// What a function's requests need, when the store and the cursor keys are all: the one store port
/// the function uses (`P`, e.g. `dyn rill_core::UserStore`) and the keys. A [`Wiring`]'s store
/// converts to any of the ports.
pub struct Deps<P: ?Sized> {
    pub store: Arc<P>,
    pub cursors: CursorKeys,
}

impl<P: ?Sized> Clone for Deps<P> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
            cursors: self.cursors.clone(),
        }
    }
}

impl<P: ?Sized> Debug for Deps<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deps").finish_non_exhaustive()
    }
}

/// Runs a function whose responses are buffered. `deps` turns the [`Wiring`] into what the
/// function's requests need (reading its own settings, if any); `handler` answers one request.
pub async fn run_buffered<D, E, F, Fut>(
    deps: impl FnOnce(Wiring) -> Result<D, E>,
    handler: F,
) -> ExitCode
where
    D: Sync + 'static,
    E: std::error::Error + 'static,
    F: Fn(&'static D, Request) -> Fut,
    Fut: Future<Output = Result<Response<Body>, Infallible>> + Send,
{
    let Some(deps) = start(deps).await else {
        return ExitCode::FAILURE;
    };
    stopped(lambda_http::run(service_fn(move |request| handler(deps, request))).await)
}

/// Runs a function whose responses stream through API Gateway REST response streaming.
pub async fn run_streaming<D, E, F, Fut, B>(
    deps: impl FnOnce(Wiring) -> Result<D, E>,
    handler: F,
) -> ExitCode
where
    D: Sync + 'static,
    E: std::error::Error + 'static,
    F: Fn(&'static D, Request) -> Fut,
    Fut: Future<Output = Result<Response<B>, Infallible>> + Send,
    B: http_body::Body + Unpin + Send + 'static,
    B::Data: Into<Bytes> + Send,
    B::Error: Into<lambda_http::Error> + Send + Debug,
{
    let Some(deps) = start(deps).await else {
        return ExitCode::FAILURE;
    };
    stopped(
        lambda_http::run_with_streaming_response(service_fn(move |request| handler(deps, request)))
            .await,
    )
}

/// Logs, configuration, store and the function's own dependencies, in that order. `None` after
/// logging why the function cannot start.
async fn start<D, E>(deps: impl FnOnce(Wiring) -> Result<D, E>) -> Option<&'static D>
where
    D: 'static,
    E: std::error::Error + 'static,
{
    init_tracing();
    let config = match check_lambda_environment().and_then(|()| StoreConfig::from_env()) {
        Ok(config) => config,
        Err(error) => {
            tracing::error!(%error, "invalid configuration");
            return None;
        }
    };
    let store = match open_store(&config).await {
        Ok(store) => store,
        Err(error) => {
            tracing::error!(error = %error_chain(&error), "cannot open the store");
            return None;
        }
    };
    let wiring = Wiring {
        store,
        cursors: config.cursor_keys(),
    };
    match deps(wiring) {
        Ok(deps) => Some(Box::leak(Box::new(deps))),
        Err(error) => {
            tracing::error!(error = %error_chain(&error), "invalid configuration");
            None
        }
    }
}

fn stopped(outcome: Result<(), lambda_http::Error>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "the Lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}
