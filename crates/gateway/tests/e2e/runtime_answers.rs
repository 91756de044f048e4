//! Every complete `/response` a function posts gets the Runtime API's `202`, whatever the gateway
//! does with the client's request: a prelude it refuses, a client that went away or stopped
//! reading, an integration timeout while the function is still writing.
//!
//! Lambda keeps a streamed invocation running when its client goes ("streamed responses are not
//! interrupted or stopped when the invoking client connection is broken"), so a function that
//! finishes writing must always learn that its response was taken. The fixture function logs the
//! status of every streamed POST (`fixture stream answered 202`); each test waits for that line.
//! Each function writes a 4 MiB tail (`tail=64`) after the point where the gateway gives up on the
//! client: more than the channels and sockets in between hold, so the answer only comes if the
//! gateway keeps reading.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::support::raw_http;
use crate::support::{TestGateway, fixture_gateway, spawn_fixture_gateway};

/// How long a function may take to be answered once it has finished writing.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

async fn the_function_is_answered(gateway: &TestGateway) {
    gateway
        .logs
        .wait_for("fixture stream answered 202", ANSWER_WITHIN)
        .await;
}

/// Opens a connection and sends `GET target` without reading anything back.
async fn request_without_reading(gateway: &TestGateway, target: &str) -> TcpStream {
    let mut stream = TcpStream::connect(gateway.authority()).await.unwrap();
    let request = format!(
        "GET /test{target} HTTP/1.1\r\nHost: {}\r\nUser-Agent: raw-http-test\r\n\r\n",
        gateway.authority()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

#[tokio::test]
async fn a_stream_whose_prelude_is_refused_is_still_answered() {
    for (behaviour, status) in [
        ("stream-no-delimiter", 500),
        ("stream-short", 500),
        ("stream-bad-prelude", 500),
        ("stream-list-headers", 502),
    ] {
        // Given a function whose streamed prelude the gateway refuses
        let gateway = spawn_fixture_gateway().await;
        let response = gateway
            .client
            .get(&format!("/stream?behaviour={behaviour}&tail=64"))
            .await;
        // Then the client gets the error and the function its 202
        assert_eq!(response.status(), status, "{behaviour}");
        the_function_is_answered(&gateway).await;
    }
}

#[tokio::test]
async fn a_client_that_hangs_up_before_the_prelude_leaves_the_function_answered() {
    // Given a function that opens its stream and writes the prelude only after 1 s
    let gateway = spawn_fixture_gateway().await;
    let stream = request_without_reading(
        &gateway,
        "/stream?behaviour=stream&delay=1000&chunks=3&interval=100&tail=64",
    )
    .await;
    gateway
        .logs
        .wait_for("fixture handling", ANSWER_WITHIN)
        .await;
    // When the client hangs up before anything came back
    drop(stream);
    // Then the function still finishes and is answered
    the_function_is_answered(&gateway).await;
}

#[tokio::test]
async fn a_client_that_hangs_up_while_the_stream_is_idle_leaves_the_function_answered() {
    // Given a function writing a line every 700 ms
    let gateway = spawn_fixture_gateway().await;
    let mut response = gateway
        .client
        .get("/stream?behaviour=stream&chunks=4&interval=700&tail=64")
        .await;
    assert_eq!(response.status(), 200);
    // When the client reads the first line and hangs up while the function is quiet
    assert!(response.chunk().await.unwrap().is_some());
    drop(response);
    // Then the function writes the rest and is answered
    the_function_is_answered(&gateway).await;
}

#[tokio::test]
async fn a_client_that_stops_reading_leaves_the_function_answered() {
    // Given a gateway with a 1 s stream idle timeout and a function streaming 32 MiB, more than
    // the sockets and channels between them can hold
    let gateway = fixture_gateway()
        .settings(|s| s.stream_limits.idle_timeout = Duration::from_secs(1))
        .spawn()
        .await;
    // When the client sends its request and never reads
    let mut stream =
        request_without_reading(&gateway, "/stream?behaviour=stream-bulk&chunks=512").await;
    // Then nothing has gone to the client for the idle timeout, the stream is cut, and the
    // function (Timeout: 5 s) writes to its end and is answered instead of being stopped
    gateway
        .logs
        .wait_for("fixture finished streaming 512 chunks", ANSWER_WITHIN)
        .await;
    the_function_is_answered(&gateway).await;
    assert!(
        gateway.logs.matching("Task timed out").is_empty(),
        "{:?}",
        gateway.logs.lines()
    );
    // And when the client reads again, it gets what was under way, then a broken transfer
    let mut received = Vec::new();
    let read = tokio::time::timeout(ANSWER_WITHIN, stream.read_to_end(&mut received)).await;
    assert!(read.is_ok(), "the gateway closes the connection");
    assert!(received.starts_with(b"HTTP/1.1 200"));
    assert!(
        received.len() < 512 * 64 * 1024,
        "the cut dropped the rest of the stream"
    );
    assert!(
        !received.ends_with(b"0\r\n\r\n"),
        "a cut stream has no terminating chunk"
    );
}

#[tokio::test]
async fn an_integration_timeout_before_the_prelude_leaves_the_function_answered() {
    // Given a STREAM route with timeoutInMillis 1500 and a function that opens its stream at once
    // but writes the prelude only after 2.5 s
    let gateway = spawn_fixture_gateway().await;
    let response = raw_http::get(
        &gateway.authority(),
        "/test/stream-short-timeout?behaviour=stream&delay=2500&chunks=3&interval=100&tail=64",
        Duration::from_secs(20),
    )
    .await;
    // Then the client gets the 504 and the function, still writing, its 202
    assert_eq!(response.status, 504);
    the_function_is_answered(&gateway).await;
}

#[tokio::test]
async fn an_integration_timeout_mid_stream_leaves_the_function_answered() {
    // Given a STREAM route with timeoutInMillis 1500 and a function that writes for 3 s
    let gateway = spawn_fixture_gateway().await;
    let response = raw_http::get(
        &gateway.authority(),
        "/test/stream-short-timeout?behaviour=stream&chunks=10&interval=300&tail=64",
        Duration::from_secs(20),
    )
    .await;
    // Then the client's stream is cut and the function, still writing, is answered
    assert_eq!(response.status, 200);
    assert!(!response.complete);
    the_function_is_answered(&gateway).await;
}

#[tokio::test]
async fn a_stream_too_large_for_a_buffered_integration_is_still_answered() {
    // Given a BUFFERED route in front of a function streaming 8 MiB, above Lambda's 6 MB limit
    let gateway = spawn_fixture_gateway().await;
    let response = gateway
        .client
        .get("/echo?behaviour=stream-bulk&chunks=128")
        .await;
    // Then the client gets a 502 and the function its 202
    assert_eq!(response.status(), 502);
    the_function_is_answered(&gateway).await;
}

#[tokio::test]
async fn an_integration_timeout_on_a_buffered_route_leaves_a_streaming_function_answered() {
    // Given a BUFFERED route with timeoutInMillis 500 and a function that opens a stream and
    // writes its prelude only after 1 s
    let gateway = spawn_fixture_gateway().await;
    let response = gateway
        .client
        .get("/integration-timeout?behaviour=stream&delay=1000&chunks=3&interval=100&tail=64")
        .await;
    // Then the client gets the 504 and the function, still writing, its 202
    assert_eq!(response.status(), 504);
    the_function_is_answered(&gateway).await;
}

#[tokio::test]
async fn an_integration_timeout_leaves_a_buffered_response_answered() {
    // Given a BUFFERED route with timeoutInMillis 500 and a function that answers after 1 s
    let gateway = spawn_fixture_gateway().await;
    let response = gateway
        .client
        .get("/integration-timeout?behaviour=sleep&ms=1000")
        .await;
    // Then the client gets the 504 and the function, answering late, its 202
    assert_eq!(response.status(), 504);
    gateway
        .logs
        .wait_for("fixture response answered 202", ANSWER_WITHIN)
        .await;
}
