//! STREAM integrations: the prelude, the body as it is written, and broken transfers.

use std::time::Duration;

use serde_json::Value;

use crate::support::raw_http::{self, RawResponse};
use crate::support::{TestGateway, spawn_fixture_gateway};

async fn raw(gateway: &TestGateway, target: &str) -> RawResponse {
    raw_http::get(
        &gateway.authority(),
        &format!("/test{target}"),
        Duration::from_secs(20),
    )
    .await
}

/// Waits for SlowFunction's (Timeout: 1) timeout in the log, then until its instance is gone.
async fn the_timed_out_instance_is_replaced(gateway: &TestGateway) {
    gateway
        .logs
        .wait_for("Task timed out after 1.00 seconds", Duration::from_secs(5))
        .await;
    let start = std::time::Instant::now();
    while !gateway.handle.instance_pids().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the timed-out instance is still there"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_first_bytes_reach_the_client_before_the_function_finishes() {
    // Given a function that writes five timestamped lines 300 ms apart
    let gateway = spawn_fixture_gateway().await;
    let response = raw(&gateway, "/stream?behaviour=stream&chunks=5&interval=300").await;
    assert_eq!(response.status, 200);
    assert!(
        response.complete,
        "the stream ends with its terminating chunk"
    );
    assert!(response.is_chunked());
    assert_eq!(
        response.header("content-type"),
        Some("application/x-ndjson")
    );

    // When the lines are matched with their arrival times
    let lines: Vec<Value> = response
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    let first_chunk = &response.chunks[0];
    let first_arrival_epoch_ms = {
        let age = first_chunk.arrived.elapsed();
        crate::support::epoch_ms() - age.as_millis() as u64
    };
    let last_sent = lines[4]["sentAtMs"].as_u64().unwrap();

    // Then the first line arrived before the function even wrote its last one
    assert!(
        first_arrival_epoch_ms < last_sent,
        "first line arrived at {first_arrival_epoch_ms}, last line was written at {last_sent}"
    );
    assert!(String::from_utf8_lossy(&first_chunk.data).contains("\"seq\":0"));
}

#[tokio::test]
async fn a_prelude_and_delimiter_split_across_chunks_are_found() {
    let gateway = spawn_fixture_gateway().await;
    let response = raw(&gateway, "/stream?behaviour=stream-split").await;
    assert_eq!(response.status, 200);
    assert!(response.complete);
    assert_eq!(response.text(), "split body");
}

#[tokio::test]
async fn cookies_and_multi_value_headers_in_the_prelude_become_headers() {
    let gateway = spawn_fixture_gateway().await;
    let response = raw(&gateway, "/stream?behaviour=stream-cookies").await;
    assert_eq!(response.status, 201);
    assert_eq!(
        response.header_values("set-cookie"),
        ["session=abc; HttpOnly", "theme=dark"]
    );
    assert_eq!(response.header_values("x-multi"), ["a", "b"]);
    assert_eq!(response.header_values("x-both"), ["from-multi"]);
    assert_eq!(response.header("x-single"), Some("one"));
    assert_eq!(response.text(), "cookies");
}

#[tokio::test]
async fn a_content_length_in_the_prelude_replaces_chunked_encoding() {
    let gateway = spawn_fixture_gateway().await;
    let response = raw(&gateway, "/stream?behaviour=stream-length").await;
    assert_eq!(response.status, 200);
    assert!(!response.is_chunked());
    assert_eq!(response.header("content-length"), Some("10"));
    assert!(response.complete);
    assert_eq!(response.text(), "0123456789");
}

#[tokio::test]
async fn a_stream_without_the_delimiter_is_a_500() {
    let gateway = spawn_fixture_gateway().await;
    for behaviour in ["stream-no-delimiter", "stream-short"] {
        let response = gateway
            .client
            .get(&format!("/stream?behaviour={behaviour}"))
            .await;
        assert_eq!(response.status(), 500, "{behaviour}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body,
            serde_json::json!({"message": "Internal server error"})
        );
    }
}

#[tokio::test]
async fn a_buffered_response_on_a_stream_route_is_a_500() {
    let gateway = spawn_fixture_gateway().await;
    let response = gateway.client.get("/stream?behaviour=echo").await;
    assert_eq!(response.status(), 500);
}

#[tokio::test]
async fn a_prelude_that_is_not_json_is_a_500() {
    let gateway = spawn_fixture_gateway().await;
    let response = gateway
        .client
        .get("/stream?behaviour=stream-bad-prelude")
        .await;
    assert_eq!(response.status(), 500);
}

#[tokio::test]
async fn list_valued_prelude_headers_are_a_502() {
    let gateway = spawn_fixture_gateway().await;
    let response = gateway
        .client
        .get("/stream?behaviour=stream-list-headers")
        .await;
    assert_eq!(response.status(), 502);
}

#[tokio::test]
async fn a_function_error_before_the_prelude_is_a_502() {
    let gateway = spawn_fixture_gateway().await;
    let response = gateway.client.get("/stream?behaviour=stream-error").await;
    assert_eq!(response.status(), 502);
}

#[tokio::test]
async fn a_crash_mid_stream_breaks_the_transfer() {
    // Given a function that writes its prelude and a line, then exits
    let gateway = spawn_fixture_gateway().await;
    let response = raw(&gateway, "/stream?behaviour=stream-crash").await;
    // Then the client got the start of the stream, and no terminating chunk
    assert_eq!(response.status, 200);
    assert_eq!(response.text(), "first line\n");
    assert!(
        !response.complete,
        "a broken stream must not end with 0\\r\\n\\r\\n"
    );
    let report = gateway
        .logs
        .wait_for("REPORT RequestId", Duration::from_secs(5))
        .await;
    assert!(report.ends_with("Status: error"), "{report}");
}

#[tokio::test]
async fn error_trailers_break_the_transfer_and_are_logged_decoded() {
    let gateway = spawn_fixture_gateway().await;
    let first = {
        let response = gateway.client.get("/echo").await;
        let body: Value = response.json().await.unwrap();
        body["pid"].as_u64().unwrap()
    };
    let response = raw(&gateway, "/stream?behaviour=stream-trailers").await;
    assert_eq!(response.status, 200);
    assert_eq!(response.text(), "first line\n");
    assert!(!response.complete);
    gateway
        .logs
        .wait_for(
            "function error: Fixture.StreamError: mid-stream failure",
            Duration::from_secs(5),
        )
        .await;
    // Lambda treats error trailers as a completed invocation: the instance stays warm.
    let response = gateway.client.get("/echo").await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["pid"].as_u64().unwrap(), first);
}

#[tokio::test]
async fn a_function_timeout_mid_stream_breaks_the_transfer_and_replaces_the_instance() {
    // Given SlowFunction (Timeout: 1) behind a STREAM route
    let gateway = spawn_fixture_gateway().await;
    let response = raw(&gateway, "/slow-stream?behaviour=stream-hang").await;
    assert_eq!(response.status, 200);
    assert_eq!(response.text(), "first line\n");
    assert!(!response.complete);
    the_timed_out_instance_is_replaced(&gateway).await;
}

#[tokio::test]
async fn a_function_timeout_before_the_prelude_is_a_504_and_replaces_the_instance() {
    // Given SlowFunction (Timeout: 1) behind a STREAM route, writing half a prelude and hanging
    let gateway = spawn_fixture_gateway().await;
    // When its Timeout passes before the response head could be sent
    let response = raw(&gateway, "/slow-stream?behaviour=stream-hang-early").await;
    // Then the client gets a 504, as for a buffered route
    assert_eq!(response.status, 504);
    assert_eq!(
        response.text(),
        r#"{"message":"Endpoint request timed out"}"#
    );
    // And the instance is killed and replaced
    the_timed_out_instance_is_replaced(&gateway).await;
}

#[tokio::test]
async fn a_function_timeout_before_any_stream_is_a_504() {
    // Given SlowFunction (Timeout: 1) behind a STREAM route
    let gateway = spawn_fixture_gateway().await;
    // When it sleeps past its Timeout without starting a response
    let response = raw(&gateway, "/slow-stream?behaviour=sleep&ms=5000").await;
    // Then the client gets a 504
    assert_eq!(response.status, 504);
    assert!(response.text().contains("Endpoint request timed out"));
}

#[tokio::test]
async fn the_integration_timeout_mid_stream_breaks_the_transfer() {
    // Given a STREAM route with timeoutInMillis 1500 and a function that writes for 3 s
    let gateway = spawn_fixture_gateway().await;
    let response = raw(
        &gateway,
        "/stream-short-timeout?behaviour=stream&chunks=10&interval=300",
    )
    .await;
    assert_eq!(response.status, 200);
    assert!(!response.complete);
    let lines = response.text().lines().count();
    assert!((1..10).contains(&lines), "{lines} lines before the cut");
}

#[tokio::test]
async fn a_client_that_disconnects_does_not_stop_the_function() {
    // Given a function streaming 4 MiB
    let gateway = spawn_fixture_gateway().await;
    let response = gateway
        .client
        .get("/stream?behaviour=stream-bulk&chunks=64")
        .await;
    assert_eq!(response.status(), 200);
    // When the client reads a little and hangs up
    let mut stream = response;
    let first = stream.chunk().await.unwrap();
    assert!(first.is_some());
    drop(stream);
    // Then the function still writes to the end and the invocation completes
    gateway
        .logs
        .wait_for(
            "fixture finished streaming 64 chunks",
            Duration::from_secs(10),
        )
        .await;
    gateway
        .logs
        .wait_for("REPORT RequestId", Duration::from_secs(10))
        .await;
    gateway
        .logs
        .wait_for("fixture stream answered 202", Duration::from_secs(10))
        .await;
}
