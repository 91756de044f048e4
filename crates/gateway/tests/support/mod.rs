//! Test harness for end-to-end tests through the local gateway. The harness itself is
//! `rill_gateway::testing` (the `testing` feature, shared with other crates' end-to-end suites);
//! this module adds what only this crate's tests have: the test-only `rill-fixture-fn` function,
//! which can misbehave in every way the gateway must handle, and the `rill-gateway` binary.
//!
//! - [`spawn_gateway`]: the workspace's `template.yaml` with the real `users`, `orders` and
//!   `export` binaries.
//! - [`fixture_gateway`]: the fixture template with `rill-fixture-fn`, for the error paths the
//!   product functions never take.
//! - [`ServedGateway`]: the `rill-gateway` binary itself, for its flags, signals and `--watch`.

#![allow(dead_code)] // Each suite uses a different part of the harness.

mod served_gateway;

use std::path::{Path, PathBuf};

pub use rill_gateway::testing::*;
pub use served_gateway::ServedGateway;

/// The fixture template.
pub fn fixture_template() -> PathBuf {
    crate_dir().join("tests/fixtures/gateway/template.yaml")
}

/// A file in the fixtures directory.
pub fn fixture(name: &str) -> PathBuf {
    crate_dir().join("tests/fixtures/gateway").join(name)
}

/// Where cargo put the test-only fixture function (built with the tests).
pub fn fixture_bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_rill-fixture-fn"))
        .parent()
        .expect("binaries live in a directory")
        .to_path_buf()
}

/// The gateway binary, for tests of the command itself.
pub fn gateway_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rill-gateway"))
}

/// `rill-gateway` serving the fixture template on a free port with its data in `data_dir`; add
/// flags and start it.
pub fn serve_fixture_command(data_dir: &Path) -> std::process::Command {
    serve_command(&fixture_template(), data_dir)
}

/// `rill-gateway` serving `template` with the fixture function binaries on a free port with its
/// data in `data_dir`; add flags and start it.
pub fn serve_command(template: &Path, data_dir: &Path) -> std::process::Command {
    let mut command = std::process::Command::new(gateway_binary());
    command
        .args(["--template", template.to_str().unwrap()])
        .args(["--bin-dir", fixture_bin_dir().to_str().unwrap()])
        .args(["--data-dir", data_dir.to_str().unwrap()])
        .args(["--port", "0"]);
    command
}

/// Runs `rill-gateway --check` on the fixture template with `args` and `env` added: the banner and
/// warnings it prints, without serving.
pub fn check_fixture(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    std::process::Command::new(gateway_binary())
        .args(["--template", fixture_template().to_str().unwrap()])
        .args(["--bin-dir", fixture_bin_dir().to_str().unwrap()])
        .args(["--port", "0", "--check"])
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("the gateway binary runs")
}

/// A builder for the fixture API.
pub fn fixture_gateway() -> GatewayBuilder {
    GatewayBuilder::new(fixture_template(), fixture_bin_dir())
}

/// The fixture API with default settings.
pub async fn spawn_fixture_gateway() -> TestGateway {
    fixture_gateway().spawn().await
}
