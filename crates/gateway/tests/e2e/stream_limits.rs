//! API Gateway's limits on a streamed response, through the `rill-gateway` binary and its flags:
//! the maximum duration, the idle timeout, and (with `--aws-bandwidth`) the bandwidth limit.
//!
//! A cut stream must look as it does in AWS (no terminating chunk) and the gateway must log why.
//! Times are asserted as lower bounds only: this machine is shared and slow at times.

use std::time::{Duration, Instant};

use crate::support::ServedGateway;

#[tokio::test]
async fn a_stream_idle_for_the_idle_timeout_is_cut_and_the_cause_logged() {
    // Given the gateway with a 1 s idle timeout and a function that writes a line every 2.5 s
    let gateway = ServedGateway::fixture(&["--stream-idle-timeout", "1"]);
    let started = Instant::now();
    let response = gateway
        .get("/stream?behaviour=stream&chunks=2&interval=2500")
        .await;
    // Then the client got the first line, then a broken transfer once the stream had been quiet
    // for the idle timeout
    assert_eq!(response.status, 200);
    assert_eq!(response.text().lines().count(), 1, "{}", response.text());
    assert!(!response.complete, "a cut stream has no terminating chunk");
    assert!(started.elapsed() >= Duration::from_secs(1));
    // And the gateway says why, and the function still finished and was answered
    gateway.wait_for("API Gateway's idle timeout (1 s").await;
    gateway.wait_for("fixture stream answered 202").await;
}

#[tokio::test]
async fn a_stream_longer_than_the_maximum_duration_is_cut_and_the_cause_logged() {
    // Given the gateway with a 2 s maximum duration and a function writing for 3.6 s, a line
    // every 400 ms (never idle for long)
    let gateway =
        ServedGateway::fixture(&["--stream-max-duration", "2", "--stream-idle-timeout", "1"]);
    let started = Instant::now();
    let response = gateway
        .get("/stream?behaviour=stream&chunks=10&interval=400")
        .await;
    // Then the stream was cut after 2 s, part-way, without its terminating chunk
    let elapsed = started.elapsed();
    assert_eq!(response.status, 200);
    let lines = response.text().lines().count();
    assert!((1..10).contains(&lines), "{lines} lines before the cut");
    assert!(!response.complete, "a cut stream has no terminating chunk");
    assert!(elapsed >= Duration::from_secs(2), "cut after {elapsed:?}");
    gateway
        .wait_for("API Gateway's maximum duration (2 s")
        .await;
    gateway.wait_for("fixture stream answered 202").await;
}

#[tokio::test]
async fn by_default_a_stream_may_pause_longer_than_a_second() {
    // Given the gateway with its default limits (5 min idle, 15 min in all)
    let gateway = ServedGateway::fixture(&[]);
    // When a function pauses 1.5 s between lines
    let response = gateway
        .get("/stream?behaviour=stream&chunks=2&interval=1500")
        .await;
    // Then the stream is whole
    assert_eq!(response.status, 200);
    assert_eq!(response.text().lines().count(), 2);
    assert!(response.complete);
}

/// 224 chunks of 64 KiB: 14.7 MB, of which 4.7 MB are past API Gateway's unthrottled 10 MB.
const LARGE_STREAM: &str = "/stream?behaviour=stream-bulk&chunks=224";
const LARGE_STREAM_BYTES: usize = 224 * 64 * 1024;

#[tokio::test]
async fn with_aws_bandwidth_a_stream_past_10_mb_is_paced_at_2_mb_per_second() {
    // Given the gateway with --aws-bandwidth
    let gateway = ServedGateway::fixture(&["--aws-bandwidth"]);
    // When a function streams 14.7 MB
    let started = Instant::now();
    let response = gateway.get(LARGE_STREAM).await;
    let elapsed = started.elapsed();
    // Then every byte arrives, and the 4.7 MB past the first 10 MB took at least ~2 s at 2 MB/s
    // (1.5 s allows for the last slice and rounding)
    assert_eq!(response.status, 200);
    assert!(response.complete);
    assert_eq!(response.body.len(), LARGE_STREAM_BYTES);
    assert!(elapsed >= Duration::from_millis(1_500), "took {elapsed:?}");
}
