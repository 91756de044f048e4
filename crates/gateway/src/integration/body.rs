//! The response body the gateway sends: either complete bytes, or a stream fed by the invocation
//! driver.
//!
//! A stream that does not end cleanly (the function crashed, timed out, sent error trailers, or the
//! integration timeout passed) yields an error. hyper then closes the connection without writing
//! the final `0\r\n\r\n` chunk, which is exactly what a client of API Gateway sees: curl reports
//! `(18) transfer closed with outstanding read data remaining`.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::mpsc;
use tokio::time::{Instant, Sleep};

use crate::lambda::StreamEvent;

/// Why a streamed response was cut off.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("response stream aborted: {0}")]
pub struct StreamAborted(pub String);

/// A response body.
#[derive(Debug)]
pub struct GatewayBody {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Full(Option<Bytes>),
    Stream {
        first: Option<Bytes>,
        events: mpsc::Receiver<StreamEvent>,
        deadline: Pin<Box<Sleep>>,
        done: bool,
    },
}

impl GatewayBody {
    /// A complete body.
    pub fn full(bytes: Bytes) -> Self {
        Self {
            kind: Kind::Full((!bytes.is_empty()).then_some(bytes)),
        }
    }

    /// An empty body.
    pub fn empty() -> Self {
        Self {
            kind: Kind::Full(None),
        }
    }

    /// A streamed body: `first` (bytes already read past the prelude), then `events`, cut off at
    /// `deadline`.
    pub fn stream(first: Bytes, events: mpsc::Receiver<StreamEvent>, deadline: Instant) -> Self {
        Self {
            kind: Kind::Stream {
                first: (!first.is_empty()).then_some(first),
                events,
                deadline: Box::pin(tokio::time::sleep_until(deadline)),
                done: false,
            },
        }
    }
}

impl Body for GatewayBody {
    type Data = Bytes;
    type Error = StreamAborted;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, StreamAborted>>> {
        match &mut self.get_mut().kind {
            Kind::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Kind::Stream {
                first,
                events,
                deadline,
                done,
            } => {
                if *done {
                    return Poll::Ready(None);
                }
                if let Some(first) = first.take() {
                    return Poll::Ready(Some(Ok(Frame::data(first))));
                }
                if deadline.as_mut().poll(cx).is_ready() {
                    *done = true;
                    tracing::warn!(
                        "integration timeout reached mid-stream; closing the client connection"
                    );
                    return Poll::Ready(Some(Err(StreamAborted("integration timeout".to_owned()))));
                }
                loop {
                    return match events.poll_recv(cx) {
                        Poll::Ready(Some(StreamEvent::Data(bytes))) if bytes.is_empty() => continue,
                        Poll::Ready(Some(StreamEvent::Data(bytes))) => {
                            Poll::Ready(Some(Ok(Frame::data(bytes))))
                        }
                        Poll::Ready(Some(StreamEvent::End)) => {
                            *done = true;
                            Poll::Ready(None)
                        }
                        Poll::Ready(Some(StreamEvent::TimedOut)) => {
                            *done = true;
                            tracing::warn!(
                                "the function timed out mid-stream; closing the client connection"
                            );
                            Poll::Ready(Some(Err(StreamAborted(
                                "the function timed out".to_owned(),
                            ))))
                        }
                        Poll::Ready(None) => {
                            *done = true;
                            Poll::Ready(Some(Err(StreamAborted(
                                "the function's stream did not end normally".to_owned(),
                            ))))
                        }
                        Poll::Pending => Poll::Pending,
                    };
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(bytes) => bytes.is_none(),
            Kind::Stream { done, .. } => *done,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Stream { .. } => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;
    use std::time::Duration;

    #[tokio::test]
    async fn a_stream_that_ends_with_the_end_marker_completes() {
        let (sender, events) = mpsc::channel(4);
        sender
            .send(StreamEvent::Data(Bytes::from_static(b"b")))
            .await
            .unwrap();
        sender.send(StreamEvent::End).await.unwrap();
        let body = GatewayBody::stream(
            Bytes::from_static(b"a"),
            events,
            Instant::now() + Duration::from_secs(5),
        );
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(bytes.as_ref(), b"ab");
    }

    #[tokio::test]
    async fn a_stream_whose_sender_vanishes_fails() {
        let (sender, events) = mpsc::channel(4);
        sender
            .send(StreamEvent::Data(Bytes::from_static(b"b")))
            .await
            .unwrap();
        drop(sender);
        let body = GatewayBody::stream(
            Bytes::new(),
            events,
            Instant::now() + Duration::from_secs(5),
        );
        assert!(body.collect().await.is_err());
    }

    #[tokio::test]
    async fn a_stream_past_its_deadline_fails() {
        let (_sender, events) = mpsc::channel(4);
        let body = GatewayBody::stream(
            Bytes::new(),
            events,
            Instant::now() + Duration::from_millis(20),
        );
        let err = body.collect().await.unwrap_err();
        assert_eq!(err, StreamAborted("integration timeout".to_owned()));
    }
}
