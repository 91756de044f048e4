//! BUFFERED integrations: the proxy response, and every way it can fail.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{fixture_gateway, spawn_fixture_gateway};

async fn message(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

async fn pid_of(response: reqwest::Response) -> u64 {
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["pid"].as_u64().unwrap()
}

#[tokio::test]
async fn status_headers_and_multi_value_headers_map_to_the_response() {
    let gateway = spawn_fixture_gateway().await;
    let response = gateway
        .client
        .get("/echo?behaviour=status&status=418")
        .await;
    assert_eq!(response.status(), 418);
    let headers = response.headers();
    assert_eq!(headers["x-single"], "one");
    let multi: Vec<_> = headers.get_all("x-multi").iter().collect();
    assert_eq!(multi, ["a", "b"]);
    // A name in both maps keeps only the multiValueHeaders values.
    let both: Vec<_> = headers.get_all("x-both").iter().collect();
    assert_eq!(both, ["from-multi"]);
    assert!(headers.contains_key("x-amzn-requestid"));
    assert!(
        headers["x-amzn-trace-id"]
            .to_str()
            .unwrap()
            .starts_with("Root=1-")
    );
    assert_eq!(response.text().await.unwrap(), "status");
}

#[tokio::test]
async fn a_malformed_proxy_response_is_a_502() {
    let gateway = spawn_fixture_gateway().await;
    let response = gateway.client.get("/echo?behaviour=malformed").await;
    assert_eq!(response.status(), 502);
    assert_eq!(
        message(response).await,
        json!({"message": "Internal server error"})
    );
}

#[tokio::test]
async fn a_function_error_is_a_502_and_the_instance_stays_warm() {
    let gateway = spawn_fixture_gateway().await;
    let first = pid_of(gateway.client.get("/echo").await).await;
    let response = gateway.client.get("/echo?behaviour=error").await;
    assert_eq!(response.status(), 502);
    assert_eq!(
        message(response).await,
        json!({"message": "Internal server error"})
    );
    gateway
        .logs
        .wait_for(
            "function error: FixtureError: fixture failure",
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(pid_of(gateway.client.get("/echo").await).await, first);
}

#[tokio::test]
async fn a_crash_is_a_502_and_the_next_request_gets_a_new_instance() {
    let gateway = spawn_fixture_gateway().await;
    let first = pid_of(gateway.client.get("/echo").await).await;
    let response = gateway.client.get("/echo?behaviour=crash").await;
    assert_eq!(response.status(), 502);
    let second = pid_of(gateway.client.get("/echo").await).await;
    assert_ne!(first, second);
}

#[tokio::test]
async fn a_response_above_6_mb_is_a_502_and_the_runtime_gets_a_413() {
    let gateway = spawn_fixture_gateway().await;
    let response = gateway
        .client
        .get("/echo?behaviour=large&bytes=7000000")
        .await;
    assert_eq!(response.status(), 502);
    gateway
        .logs
        .wait_for("fixture large response got 413", Duration::from_secs(5))
        .await;
    // Just under the limit passes.
    let response = gateway
        .client
        .get("/echo?behaviour=large&bytes=6000000")
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap().len(), 6_000_000);
}

#[tokio::test]
async fn a_request_body_above_10_mb_is_a_413_without_invoking() {
    let gateway = spawn_fixture_gateway().await;
    let response = gateway
        .client
        .unsigned()
        .send(
            gateway
                .client
                .request(reqwest::Method::POST, "/echo")
                .body(vec![b'a'; 10 * 1024 * 1024 + 1]),
        )
        .await;
    assert_eq!(response.status(), 413);
    assert_eq!(
        message(response).await,
        json!({"message": "Request Too Long"})
    );
    assert!(gateway.handle.instance_pids().is_empty());
}

#[tokio::test]
async fn an_event_above_lambdas_6_mb_is_a_413() {
    let gateway = spawn_fixture_gateway().await;
    let response = gateway
        .client
        .unsigned()
        .send(
            gateway
                .client
                .request(reqwest::Method::POST, "/echo")
                .body(vec![b'a'; 7 * 1024 * 1024]),
        )
        .await;
    assert_eq!(response.status(), 413);
}

#[tokio::test]
async fn the_integration_timeout_is_a_504_and_the_function_keeps_running() {
    // Given a route with timeoutInMillis 500
    let gateway = spawn_fixture_gateway().await;
    // When the function takes 1.5 s
    let response = gateway
        .client
        .get("/integration-timeout?behaviour=sleep&ms=1500")
        .await;
    // Then the client gets 504, and the invocation still completes (it is not killed)
    assert_eq!(response.status(), 504);
    assert_eq!(
        message(response).await,
        json!({"message": "Endpoint request timed out"})
    );
    let report = gateway
        .logs
        .wait_for("REPORT RequestId", Duration::from_secs(5))
        .await;
    assert!(!report.contains("Status: timeout"), "{report}");
}

#[tokio::test]
async fn the_function_timeout_kills_the_instance_and_is_a_504() {
    // Given SlowFunction with Timeout: 1
    let gateway = spawn_fixture_gateway().await;
    let first = pid_of(gateway.client.get("/slow").await).await;
    // When an invocation runs past it
    let started = std::time::Instant::now();
    let response = gateway.client.get("/slow?behaviour=sleep&ms=5000").await;
    // Then it is stopped after about a second and the client gets a 504 (AWS would say 502; the
    // local gateway names the cause)
    assert_eq!(response.status(), 504);
    assert_eq!(
        message(response).await,
        json!({"message": "Endpoint request timed out"})
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    gateway
        .logs
        .wait_for("Task timed out after 1.00 seconds", Duration::from_secs(5))
        .await;
    let report = gateway
        .logs
        .wait_for("Status: timeout", Duration::from_secs(5))
        .await;
    assert!(report.contains("REPORT RequestId"), "{report}");
    // And the killed instance is replaced by a new one
    assert!(
        crate::support::wait_until_gone(&[first as u32], Duration::from_secs(5))
            .await
            .is_empty()
    );
    let second = pid_of(gateway.client.get("/slow").await).await;
    assert_ne!(first, second);
}

#[tokio::test]
async fn a_base64_body_is_binary_only_when_accept_matches_binary_media_types() {
    let gateway = spawn_fixture_gateway().await;
    let binary = gateway
        .client
        .send(
            gateway
                .client
                .request(reqwest::Method::GET, "/echo?behaviour=binary")
                .header("accept", "application/octet-stream"),
        )
        .await;
    assert_eq!(binary.status(), 200);
    let bytes = binary.bytes().await.unwrap();
    assert_eq!(bytes.to_vec(), (0..=255).collect::<Vec<u8>>());
    let text = gateway
        .client
        .send(
            gateway
                .client
                .request(reqwest::Method::GET, "/echo?behaviour=binary")
                .header("accept", "application/json"),
        )
        .await;
    let body = text.text().await.unwrap();
    assert!(
        body.starts_with("AAECAwQF"),
        "the base64 text passes through: {body}"
    );
}

#[tokio::test]
async fn a_second_response_for_the_same_request_id_gets_a_400() {
    let gateway = spawn_fixture_gateway().await;
    let response = gateway.client.get("/echo?behaviour=twice").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "first");
    gateway
        .logs
        .wait_for(
            "fixture responses: first 202 second 400",
            Duration::from_secs(5),
        )
        .await;
}

#[tokio::test]
async fn a_runtime_that_asks_for_the_next_event_without_answering_gets_a_502() {
    // Given a function that asks for the next event without answering the current one
    let gateway = fixture_gateway().spawn().await;
    let started = std::time::Instant::now();
    let response = gateway.client.get("/echo?behaviour=ignore").await;
    // Then the client gets a 502 at once, not a 504 at the function's 5 s Timeout
    assert_eq!(response.status(), 502);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(gateway.client.get("/echo").await.status(), 200);
}
