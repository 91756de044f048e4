//! The orders function's composition root: logs, configuration and the store are set up once per
//! process, then every invocation borrows them.

use std::process::ExitCode;

use lambda_http::{run, service_fn};
use orders::{Deps, handler};
use rill_http::{StoreConfig, check_lambda_environment, init_tracing, open_store};

#[tokio::main]
async fn main() -> ExitCode {
    init_tracing();
    let config = match check_lambda_environment().and_then(|()| StoreConfig::from_env()) {
        Ok(config) => config,
        Err(error) => {
            tracing::error!(%error, "invalid configuration");
            return ExitCode::FAILURE;
        }
    };
    let store = match open_store(&config).await {
        Ok(store) => store,
        Err(error) => {
            tracing::error!(error = %rill_http::problem::error_chain(&error), "cannot open the store");
            return ExitCode::FAILURE;
        }
    };
    let deps = Deps {
        store,
        cursors: config.cursor_keys(),
    };
    let deps = &deps;
    match run(service_fn(move |request| handler(deps, request))).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "the Lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}
