//! The orders function's binary: the shared entry point runs [`orders::handler`] with buffered
//! responses, on the store the configuration names.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    rill_entry::run_buffered(orders::config::deps, orders::handler).await
}
