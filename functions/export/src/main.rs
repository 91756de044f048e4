//! The export function's binary: the shared entry point runs [`export::handler`] with streamed
//! responses, on the store the configuration names.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    rill_entry::run_streaming(export::Deps::from_wiring, export::handler).await
}
