//! Reloading a function while it serves (what `--watch` does after a successful build): new
//! requests go to new instances of the new binary, invocations in flight finish on the old ones,
//! which then stop.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::support::{TestGateway, fixture_bin_dir, spawn_fixture_gateway, wait_until_gone};

/// The executable process `pid` runs.
fn executable_of(pid: u32) -> PathBuf {
    std::fs::read_link(format!("/proc/{pid}/exe")).expect("a running process has an executable")
}

/// Reloads FixtureFunction from a copy of its binary in `dir` (a "new build" of it). Returns the
/// copy's path and how many old instances are draining.
async fn reload_from_a_new_build(gateway: &TestGateway, dir: &Path) -> (PathBuf, Option<usize>) {
    let copy = dir.join("rill-fixture-fn");
    std::fs::copy(fixture_bin_dir().join("rill-fixture-fn"), &copy).unwrap();
    let copy = copy.canonicalize().unwrap();
    let draining = gateway
        .handle
        .reload_function("FixtureFunction", copy.clone())
        .await;
    (copy, draining)
}

async fn pid_of(response: reqwest::Response) -> u32 {
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["pid"].as_u64().unwrap() as u32
}

#[tokio::test]
async fn a_reload_serves_new_requests_from_the_new_binary_and_lets_the_old_invocation_finish() {
    // Given an invocation in flight on the original binary
    let gateway = spawn_fixture_gateway().await;
    let client = gateway.client.clone();
    let slow = tokio::spawn(async move { client.get("/echo?behaviour=sleep&ms=1500").await });
    gateway
        .logs
        .wait_for("START RequestId", Duration::from_secs(10))
        .await;
    let old = gateway.handle.instance_pids();
    assert_eq!(old.len(), 1, "{old:?}");
    let original = fixture_bin_dir()
        .join("rill-fixture-fn")
        .canonicalize()
        .unwrap();
    assert_eq!(executable_of(old[0]), original);

    // When the function is reloaded from a new binary
    let dir = tempfile::tempdir().unwrap();
    let (new_binary, draining) = reload_from_a_new_build(&gateway, dir.path()).await;
    assert_eq!(draining, Some(1), "the busy instance drains");

    // Then a new request is served by a new process running the new binary
    let fresh = pid_of(gateway.client.get("/echo").await).await;
    assert_ne!(fresh, old[0]);
    assert_eq!(executable_of(fresh), new_binary);
    // And the invocation in flight completes normally on the old process
    let slow = slow.await.unwrap();
    assert_eq!(pid_of(slow).await, old[0]);
    // And the old process is stopped once it is over, leaving only the new one
    assert!(
        wait_until_gone(&old, Duration::from_secs(5))
            .await
            .is_empty()
    );
    // (the pool forgets an instance right after reaping it, so allow it that moment)
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while gateway.handle.instance_pids() != [fresh] && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(gateway.handle.instance_pids(), [fresh]);
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_reload_stops_idle_instances_at_once_and_an_unknown_function_is_refused() {
    // Given a warm, idle instance
    let gateway = spawn_fixture_gateway().await;
    let warm = pid_of(gateway.client.get("/echo").await).await;
    // When the function is reloaded
    let dir = tempfile::tempdir().unwrap();
    let (new_binary, draining) = reload_from_a_new_build(&gateway, dir.path()).await;
    // Then nothing drains and the idle instance is gone already
    assert_eq!(draining, Some(0));
    assert!(
        wait_until_gone(&[warm], Duration::from_millis(500))
            .await
            .is_empty()
    );
    // And the next request cold-starts the new binary
    let fresh = pid_of(gateway.client.get("/echo").await).await;
    assert_eq!(executable_of(fresh), new_binary);
    // And a function the template does not define cannot be reloaded
    assert_eq!(
        gateway
            .handle
            .reload_function("GhostFunction", new_binary)
            .await,
        None
    );
    gateway.shutdown().await;
}
