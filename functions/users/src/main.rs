//! The users function's binary: the shared entry point runs [`users::handler`] with buffered
//! responses, on the store the configuration names.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    rill_entry::run_buffered(users::config::deps, users::handler).await
}
