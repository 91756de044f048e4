//! Stopping the gateway stops every function process, grandchildren included.

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::time::Duration;

use rustix::process::{Pid, Signal, kill_process};
use serde_json::Value;

use crate::support::{ApiClient, serve_fixture_command, spawn_fixture_gateway, wait_until_gone};

#[tokio::test]
async fn shutting_down_stops_and_reaps_every_instance() {
    // Given instances of two functions, one busy
    let gateway = spawn_fixture_gateway().await;
    assert_eq!(gateway.client.get("/echo").await.status(), 200);
    assert_eq!(gateway.client.get("/slow").await.status(), 200);
    let client = gateway.client.clone();
    let busy =
        tokio::spawn(async move { client.get("/echo?behaviour=sleep&ms=3000").await.status() });
    gateway
        .logs
        .wait_for_count("fixture handling", 3, Duration::from_secs(5))
        .await;
    let pids = gateway.handle.instance_pids();
    assert!(pids.len() >= 2, "{pids:?}");
    // When the gateway shuts down
    gateway.shutdown().await;
    // Then no function process is left, and the busy request got an answer
    assert!(
        wait_until_gone(&pids, Duration::from_secs(1))
            .await
            .is_empty()
    );
    assert_eq!(busy.await.unwrap(), 502);
}

/// Runs the real `rill-gateway` binary on the fixture, returns it and its base URL.
fn start_binary() -> (std::process::Child, String, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let mut child = serve_fixture_command(data.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the gateway binary starts");
    let stdout = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sender = Some(sender);
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("Listening on ") {
                let url = url.split_whitespace().next().unwrap().to_owned();
                if let Some(sender) = sender.take() {
                    let _ = sender.send(url);
                }
            }
        }
    });
    let url = receiver
        .recv_timeout(Duration::from_secs(20))
        .expect("the gateway prints its URL");
    (child, url, data)
}

async fn stop_with(signal: Signal) {
    // Given the gateway binary with an instance that started a grandchild process
    let (mut child, url, _data) = start_binary();
    let client = ApiClient::new(&url);
    let response = client.get("/echo?behaviour=grandchild").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let instance = body["pid"].as_u64().unwrap() as u32;
    let grandchild = body["grandchild"].as_u64().unwrap() as u32;
    assert!(!crate::support::process_is_gone(grandchild));

    // When the gateway gets the signal
    kill_process(Pid::from_raw(child.id() as i32).unwrap(), signal).unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();

    // Then it exits cleanly and leaves no process behind
    assert!(status.success(), "{status}");
    let alive = wait_until_gone(&[instance, grandchild], Duration::from_secs(2)).await;
    assert!(alive.is_empty(), "left behind: {alive:?}");
}

#[tokio::test]
async fn sigterm_stops_the_gateway_and_every_function_process() {
    stop_with(Signal::TERM).await;
}

#[tokio::test]
async fn ctrl_c_stops_the_gateway_and_every_function_process() {
    stop_with(Signal::INT).await;
}
