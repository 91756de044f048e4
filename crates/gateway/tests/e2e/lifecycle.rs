//! Instances: cold starts, warm reuse, init failures, and the concurrency limit.

use std::time::Duration;

use serde_json::Value;

use crate::support::{fixture_gateway, spawn_fixture_gateway};

async fn pid_of(response: reqwest::Response) -> u64 {
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["pid"].as_u64().unwrap()
}

#[tokio::test]
async fn the_first_request_cold_starts_and_later_ones_reuse_the_warm_instance() {
    // Given a gateway that has started nothing
    let gateway = spawn_fixture_gateway().await;
    assert!(gateway.handle.instance_pids().is_empty());
    // When two requests follow each other
    let first = pid_of(gateway.client.get("/echo").await).await;
    let second = pid_of(gateway.client.get("/echo").await).await;
    // Then one instance served both, and only the first REPORT has an Init Duration
    assert_eq!(first, second);
    assert_eq!(gateway.handle.instance_pids(), [first as u32]);
    gateway
        .logs
        .wait_for("fixture handling", Duration::from_secs(1))
        .await;
    let reports = loop {
        let reports = gateway.logs.matching("REPORT RequestId");
        if reports.len() == 2 {
            break reports;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(reports[0].contains("\tInit Duration: "), "{}", reports[0]);
    assert!(!reports[1].contains("Init Duration"), "{}", reports[1]);
    for report in &reports {
        assert!(
            report.starts_with("FixtureFunction#1 | REPORT RequestId: "),
            "{report}"
        );
        assert!(
            report.contains("\tMemory Size: 256 MB\tMax Memory Used: "),
            "{report}"
        );
        assert!(!report.contains("? MB"), "VmHWM is read on Linux: {report}");
    }
    assert_eq!(gateway.logs.matching("START RequestId").len(), 2);
    assert_eq!(gateway.logs.matching("END RequestId").len(), 2);
    // Function output is tagged with the instance
    assert!(
        !gateway
            .logs
            .matching("FixtureFunction#1 | fixture handling")
            .is_empty()
    );
}

#[tokio::test]
async fn an_init_error_is_a_502() {
    let gateway = spawn_fixture_gateway().await;
    let response = gateway.client.get("/init-error").await;
    assert_eq!(response.status(), 502);
    let line = gateway
        .logs
        .wait_for("INIT_REPORT", Duration::from_secs(5))
        .await;
    assert!(
        line.contains("Status: error\tError Type: Runtime.InitError"),
        "{line}"
    );
    assert!(gateway.handle.instance_pids().is_empty());
}

#[tokio::test]
async fn a_crash_at_init_is_a_502() {
    let gateway = spawn_fixture_gateway().await;
    let response = gateway.client.get("/init-crash").await;
    assert_eq!(response.status(), 502);
    gateway
        .logs
        .wait_for("Error Type: Runtime.ExitError", Duration::from_secs(5))
        .await;
}

#[tokio::test]
async fn after_a_failed_init_the_next_request_retries_init() {
    // Given a function whose first init fails
    let builder = fixture_gateway();
    let marker = builder.data_dir().join("init-marker");
    let gateway = builder
        .env_var(
            "FlakyInitFunction",
            "FIXTURE_MARKER",
            marker.to_str().unwrap(),
        )
        .spawn()
        .await;
    // When it is called twice
    let first = gateway.client.get("/flaky-init").await;
    let second = gateway.client.get("/flaky-init").await;
    // Then the first call fails and the second starts a new instance that works
    assert_eq!(first.status(), 502);
    assert_eq!(second.status(), 200);
    assert!(marker.exists());
}

#[tokio::test]
async fn requests_beyond_the_concurrency_limit_wait_then_get_a_429() {
    // Given one instance at most and a short queue
    let gateway = fixture_gateway()
        .settings(|s| {
            s.concurrency = 1;
            s.queue_timeout = Duration::from_millis(300);
        })
        .spawn()
        .await;
    // When a second request arrives while the first runs for 2 s
    let client = gateway.client.clone();
    let busy =
        tokio::spawn(async move { client.get("/echo?behaviour=sleep&ms=2000").await.status() });
    gateway
        .logs
        .wait_for("fixture handling", Duration::from_secs(5))
        .await;
    let started = std::time::Instant::now();
    let throttled = gateway.client.get("/echo").await;
    // Then it waited for the queue timeout and was throttled
    assert_eq!(throttled.status(), 429);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        throttled.headers()["x-amzn-errortype"],
        "TooManyRequestsException"
    );
    let body: Value = throttled.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"message": "Too Many Requests"}));
    assert_eq!(busy.await.unwrap(), 200);
}

#[tokio::test]
async fn a_waiting_request_runs_once_an_instance_frees_up() {
    let gateway = fixture_gateway()
        .settings(|s| {
            s.concurrency = 1;
            s.queue_timeout = Duration::from_secs(5);
        })
        .spawn()
        .await;
    let client = gateway.client.clone();
    let busy =
        tokio::spawn(async move { pid_of(client.get("/echo?behaviour=sleep&ms=500").await).await });
    gateway
        .logs
        .wait_for("fixture handling", Duration::from_secs(5))
        .await;
    let queued = pid_of(gateway.client.get("/echo").await).await;
    assert_eq!(
        busy.await.unwrap(),
        queued,
        "the single instance served both, one after the other"
    );
}

#[tokio::test]
async fn reserved_concurrency_caps_a_function_below_the_gateway_limit() {
    // Given ReservedFunction (ReservedConcurrentExecutions: 1) and a gateway limit of 4
    let gateway = fixture_gateway()
        .settings(|s| s.queue_timeout = Duration::from_millis(300))
        .spawn()
        .await;
    let client = gateway.client.clone();
    let busy = tokio::spawn(async move {
        client
            .get("/reserved?behaviour=sleep&ms=1500")
            .await
            .status()
    });
    gateway
        .logs
        .wait_for("fixture handling", Duration::from_secs(5))
        .await;
    assert_eq!(gateway.client.get("/reserved").await.status(), 429);
    assert_eq!(busy.await.unwrap(), 200);
}

#[tokio::test]
async fn concurrent_requests_get_separate_instances() {
    let gateway = spawn_fixture_gateway().await;
    let (a, b) = tokio::join!(
        gateway.client.get("/echo?behaviour=sleep&ms=700"),
        gateway.client.get("/echo?behaviour=sleep&ms=700"),
    );
    let (a, b) = (pid_of(a).await, pid_of(b).await);
    assert_ne!(a, b, "an instance handles one invocation at a time");
    let mut pids = gateway.handle.instance_pids();
    pids.sort_unstable();
    let mut expected = vec![a as u32, b as u32];
    expected.sort_unstable();
    assert_eq!(pids, expected);
}
