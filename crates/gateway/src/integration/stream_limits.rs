//! API Gateway's limits on a streamed REST response, enforced between the invocation and the
//! client.
//!
//! AWS documents three limits for a response streamed through a REST API, in
//! [Stream the integration response for your proxy integrations in API Gateway](https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode.html)
//! (the buffered quotas that streaming lifts, 10 MB and 29 s, are in
//! [Quotas for configuring and running a REST API](https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html)):
//!
//! - "You can stream your response for up to 15 minutes" ([`StreamLimits::max_duration`]);
//! - a stream that sends nothing for 5 minutes (Regional and private endpoints; 30 seconds for
//!   edge-optimized ones) is cut ([`StreamLimits::idle_timeout`]);
//! - "the first 10MB of response payload is not subject to any bandwidth restrictions. Response
//!   payload data exceeding 10MB is restricted to 2MB/s" ([`Bandwidth::AWS`]).
//!
//! The first two hold by default; the bandwidth limit only with `--aws-bandwidth`, so that local
//! exports stay fast. AWS does not say whether its "MB" is 10^6 or 2^20 bytes; the gateway takes
//! the smaller, so that a stream that fits locally fits in AWS.
//!
//! A cut looks to the client as it does in AWS: the connection closes without the terminating
//! chunk (curl: `(18) transfer closed with outstanding read data remaining`), and the gateway logs
//! why. The limits run in a task of their own, [`relay`], rather than in the response body: hyper
//! stops polling a body while the client is not reading, and a limit must cut such a client too, so
//! that the function behind it is drained and answered instead of being held until its `Timeout`.
//! Each chunk handed on to the client restarts the idle timer.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until};
use tracing::Instrument as _;

use super::body::{GatewayBody, StreamAborted};
use crate::lambda::StreamEvent;
pub use crate::settings::{Bandwidth, StreamLimits};

/// Throttled data goes out in slices of at most this size, so that a large chunk is paced too.
const SLICE: usize = 64 * 1024;

/// The body of a streamed response: `first` (bytes read past the prelude), then the function's
/// `events`, under `limits` and the integration timeout (`integration_deadline`). The relay runs
/// in its own task, in the current tracing span.
pub fn stream_body(
    first: Bytes,
    events: mpsc::Receiver<StreamEvent>,
    integration_deadline: Instant,
    limits: StreamLimits,
) -> GatewayBody {
    // One chunk in flight: a chunk leaves the relay when hyper is ready to send it.
    let (chunks, chunks_rx) = mpsc::channel(1);
    let (ending, ending_rx) = oneshot::channel();
    let mut relay = Relay {
        events,
        chunks,
        integration_deadline,
        limits,
    };
    tokio::spawn(
        async move {
            let end = relay.run(first).await;
            // The function's side goes first, so that the driver drains it at once; the client's
            // side stays open until the ending is known (the body reads it when the chunks stop).
            let Relay { events, chunks, .. } = relay;
            drop(events);
            match end {
                Ending::Complete => {
                    let _ = ending.send(Ok(()));
                }
                Ending::ClientGone => {
                    tracing::debug!("the client went away; the function's stream is drained");
                }
                Ending::Cut(cut) => {
                    tracing::warn!("{cut}; closing the client connection without the final chunk");
                    let _ = ending.send(Err(StreamAborted(cut.to_string())));
                }
            }
            drop(chunks);
        }
        .in_current_span(),
    );
    GatewayBody::stream(chunks_rx, ending_rx)
}

/// Why the gateway cut a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// The integration's `timeoutInMillis` passed.
    IntegrationTimeout,
    /// The stream reached [`StreamLimits::max_duration`].
    MaxDuration(Duration),
    /// Nothing went to the client for [`StreamLimits::idle_timeout`].
    Idle(Duration),
    /// The function ran past its `Timeout`.
    FunctionTimedOut,
    /// The function's stream ended without its end (crash, error trailers, broken connection).
    FunctionFailed,
}

impl fmt::Display for Cut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cut::IntegrationTimeout => f.write_str("integration timeout reached mid-stream"),
            Cut::MaxDuration(limit) => write!(
                f,
                "the stream reached API Gateway's maximum duration ({} s, --stream-max-duration)",
                limit.as_secs_f64()
            ),
            Cut::Idle(limit) => write!(
                f,
                "nothing went to the client for API Gateway's idle timeout ({} s, --stream-idle-timeout)",
                limit.as_secs_f64()
            ),
            Cut::FunctionTimedOut => f.write_str("the function timed out mid-stream"),
            Cut::FunctionFailed => f.write_str("the function's stream did not end normally"),
        }
    }
}

/// How the relay ended.
#[derive(Debug)]
enum Ending {
    /// The function ended its stream and every byte went to the client.
    Complete,
    /// The client's side of the response was dropped (the client went away).
    ClientGone,
    /// The gateway cut the stream.
    Cut(Cut),
}

struct Relay {
    events: mpsc::Receiver<StreamEvent>,
    chunks: mpsc::Sender<Bytes>,
    integration_deadline: Instant,
    limits: StreamLimits,
}

impl Relay {
    /// Moves bytes from the function to the client until the stream ends or a limit cuts it.
    /// Dropping `events` afterwards tells the invocation driver to drain the function.
    async fn run(&mut self, first: Bytes) -> Ending {
        let Relay {
            events,
            chunks,
            integration_deadline,
            limits,
        } = self;
        let (integration_deadline, limits) = (*integration_deadline, *limits);
        let started = Instant::now();
        let max_end = started + limits.max_duration;
        let (hard_end, hard_cut) = if integration_deadline <= max_end {
            (integration_deadline, Cut::IntegrationTimeout)
        } else {
            (max_end, Cut::MaxDuration(limits.max_duration))
        };
        let idle = Cut::Idle(limits.idle_timeout);
        let mut idle_end = started + limits.idle_timeout;
        let mut pacer = limits.bandwidth.map(Pacer::new);
        let mut queue = VecDeque::new();
        slice_into(&mut queue, first, pacer.is_some());
        loop {
            let Some(piece) = queue.pop_front() else {
                let event = tokio::select! {
                    biased;
                    event = events.recv() => event,
                    () = chunks.closed() => return Ending::ClientGone,
                    () = sleep_until(hard_end) => return Ending::Cut(hard_cut),
                    () = sleep_until(idle_end) => return Ending::Cut(idle),
                };
                match event {
                    Some(StreamEvent::Data(bytes)) => {
                        slice_into(&mut queue, bytes, pacer.is_some())
                    }
                    Some(StreamEvent::End) => return Ending::Complete,
                    Some(StreamEvent::TimedOut) => return Ending::Cut(Cut::FunctionTimedOut),
                    None => return Ending::Cut(Cut::FunctionFailed),
                }
                continue;
            };
            let not_before = pacer.as_mut().and_then(|p| p.not_before(piece.len()));
            let permit = tokio::select! {
                biased;
                permit = async {
                    if let Some(at) = not_before {
                        sleep_until(at).await;
                    }
                    chunks.reserve().await
                } => permit,
                () = sleep_until(hard_end) => return Ending::Cut(hard_cut),
                () = sleep_until(idle_end) => return Ending::Cut(idle),
            };
            let Ok(permit) = permit else {
                return Ending::ClientGone;
            };
            permit.send(piece);
            idle_end = Instant::now() + limits.idle_timeout;
        }
    }
}

/// Queues `bytes`, in slices when the stream is paced.
fn slice_into(queue: &mut VecDeque<Bytes>, mut bytes: Bytes, paced: bool) {
    while !bytes.is_empty() {
        let take = if paced {
            bytes.len().min(SLICE)
        } else {
            bytes.len()
        };
        queue.push_back(bytes.split_to(take));
    }
}

/// When each piece may leave under a [`Bandwidth`] limit: the unthrottled bytes at once, then
/// each piece no earlier than the previous one plus the time its bytes take at the rate. A client
/// that fell behind does not earn a burst to catch up.
#[derive(Debug)]
struct Pacer {
    bandwidth: Bandwidth,
    sent: u64,
    next_free: Option<Instant>,
}

impl Pacer {
    fn new(bandwidth: Bandwidth) -> Self {
        Self {
            bandwidth,
            sent: 0,
            next_free: None,
        }
    }

    /// Accounts for a piece of `len` bytes about to be sent; returns when it may go, or `None`
    /// when it lies within the unthrottled bytes.
    fn not_before(&mut self, len: usize) -> Option<Instant> {
        let start = self.sent;
        self.sent += len as u64;
        let unthrottled = self.bandwidth.unthrottled_bytes;
        if self.sent <= unthrottled {
            return None;
        }
        let throttled = self.sent - start.max(unthrottled);
        let rate = self.bandwidth.bytes_per_second.max(1);
        let now = Instant::now();
        let at = self.next_free.map_or(now, |free| free.max(now));
        self.next_free = Some(at + Duration::from_secs_f64(throttled as f64 / rate as f64));
        Some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;

    fn limits(max: u64, idle: u64) -> StreamLimits {
        StreamLimits {
            max_duration: Duration::from_millis(max),
            idle_timeout: Duration::from_millis(idle),
            bandwidth: None,
        }
    }

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    #[tokio::test]
    async fn a_stream_that_ends_within_its_limits_is_complete() {
        let (sender, events) = mpsc::channel(4);
        sender
            .send(StreamEvent::Data(Bytes::from_static(b"b")))
            .await
            .unwrap();
        sender.send(StreamEvent::End).await.unwrap();
        let body = stream_body(
            Bytes::from_static(b"a"),
            events,
            far(),
            limits(5_000, 5_000),
        );
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(bytes.as_ref(), b"ab");
    }

    #[tokio::test]
    async fn a_quiet_stream_is_cut_after_the_idle_timeout_and_the_function_side_released() {
        let (sender, events) = mpsc::channel(4);
        let body = stream_body(Bytes::from_static(b"a"), events, far(), limits(60_000, 100));
        let error = body.collect().await.unwrap_err();
        assert!(error.0.contains("idle timeout"), "{error}");
        assert!(sender.is_closed(), "the function's side is released");
    }

    #[tokio::test]
    async fn a_stream_is_cut_at_its_maximum_duration_even_while_busy() {
        let (sender, events) = mpsc::channel(4);
        tokio::spawn(async move {
            while sender
                .send(StreamEvent::Data(Bytes::from_static(b"x")))
                .await
                .is_ok()
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
        let body = stream_body(Bytes::new(), events, far(), limits(300, 5_000));
        let error = body.collect().await.unwrap_err();
        assert!(error.0.contains("maximum duration"), "{error}");
    }

    #[tokio::test]
    async fn the_integration_timeout_cuts_a_stream_when_it_comes_first() {
        let (_sender, events) = mpsc::channel(4);
        let deadline = Instant::now() + Duration::from_millis(50);
        let body = stream_body(Bytes::new(), events, deadline, limits(60_000, 60_000));
        let error = body.collect().await.unwrap_err();
        assert_eq!(error.0, "integration timeout reached mid-stream");
    }

    #[tokio::test]
    async fn a_stream_whose_function_side_vanishes_fails() {
        let (sender, events) = mpsc::channel(4);
        sender
            .send(StreamEvent::Data(Bytes::from_static(b"b")))
            .await
            .unwrap();
        drop(sender);
        let body = stream_body(Bytes::new(), events, far(), limits(5_000, 5_000));
        assert!(body.collect().await.is_err());
    }

    #[tokio::test]
    async fn a_client_that_stops_reading_is_cut_after_the_idle_timeout() {
        // Given a function with more to send than the relay holds, and a body nobody polls
        let (sender, events) = mpsc::channel(4);
        let body = stream_body(Bytes::new(), events, far(), limits(60_000, 100));
        for _ in 0..3 {
            let _ = sender
                .send(StreamEvent::Data(Bytes::from_static(b"x")))
                .await;
        }
        // Then the function's side is released once the idle timeout has passed
        tokio::time::timeout(Duration::from_secs(5), sender.closed())
            .await
            .expect("the relay lets go of the function's stream");
        drop(body);
    }

    #[test]
    fn the_pacer_lets_the_unthrottled_bytes_go_and_spaces_the_rest_at_the_rate() {
        let mut pacer = Pacer::new(Bandwidth {
            unthrottled_bytes: 100,
            bytes_per_second: 1_000,
        });
        assert_eq!(pacer.not_before(100), None);
        let first = pacer.not_before(500).expect("past the unthrottled bytes");
        let second = pacer.not_before(500).expect("paced");
        assert_eq!(second - first, Duration::from_millis(500));
    }

    #[test]
    fn paced_data_is_sliced_and_unpaced_data_is_not() {
        let mut queue = VecDeque::new();
        slice_into(&mut queue, Bytes::from(vec![0u8; SLICE * 2 + 1]), true);
        assert_eq!(queue.len(), 3);
        queue.clear();
        slice_into(&mut queue, Bytes::from(vec![0u8; SLICE * 2 + 1]), false);
        assert_eq!(queue.len(), 1);
    }
}
