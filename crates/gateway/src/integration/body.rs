//! The response body the gateway sends: either complete bytes, or a stream fed by the relay that
//! enforces API Gateway's streaming limits (`stream_limits`).
//!
//! A stream that does not end cleanly (the function crashed, timed out, sent error trailers, or the
//! gateway cut it at a limit) yields an error. hyper then closes the connection without writing
//! the final `0\r\n\r\n` chunk, which is exactly what a client of API Gateway sees: curl reports
//! `(18) transfer closed with outstanding read data remaining`.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::{mpsc, oneshot};

/// Why a streamed response was cut off.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("response stream aborted: {0}")]
pub struct StreamAborted(pub String);

/// How a stream ended, as its relay reports it: `Ok` when the function ended it and every byte
/// was handed on.
pub type StreamEnding = Result<(), StreamAborted>;

/// A response body.
#[derive(Debug)]
pub struct GatewayBody {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Full(Option<Bytes>),
    Stream {
        chunks: mpsc::Receiver<Bytes>,
        ending: oneshot::Receiver<StreamEnding>,
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

    /// A streamed body: the `chunks`, then, once their sender is gone, the `ending` (a stream
    /// whose relay vanished without one failed).
    pub fn stream(chunks: mpsc::Receiver<Bytes>, ending: oneshot::Receiver<StreamEnding>) -> Self {
        Self {
            kind: Kind::Stream {
                chunks,
                ending,
                done: false,
            },
        }
    }
}

impl From<Bytes> for GatewayBody {
    fn from(bytes: Bytes) -> Self {
        Self::full(bytes)
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
                chunks,
                ending,
                done,
            } => {
                if *done {
                    return Poll::Ready(None);
                }
                match chunks.poll_recv(cx) {
                    Poll::Ready(Some(bytes)) => Poll::Ready(Some(Ok(Frame::data(bytes)))),
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(None) => {
                        *done = true;
                        match Pin::new(ending).poll(cx) {
                            Poll::Ready(Ok(Ok(()))) => Poll::Ready(None),
                            Poll::Ready(Ok(Err(aborted))) => Poll::Ready(Some(Err(aborted))),
                            Poll::Ready(Err(_)) | Poll::Pending => Poll::Ready(Some(Err(
                                StreamAborted("the stream's relay stopped".to_owned()),
                            ))),
                        }
                    }
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

    #[tokio::test]
    async fn a_stream_that_ends_well_completes() {
        let (sender, chunks) = mpsc::channel(4);
        let (ending, ending_rx) = oneshot::channel();
        sender.send(Bytes::from_static(b"ab")).await.unwrap();
        ending.send(Ok(())).unwrap();
        drop(sender);
        let body = GatewayBody::stream(chunks, ending_rx);
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(bytes.as_ref(), b"ab");
    }

    #[tokio::test]
    async fn a_cut_stream_fails_with_its_reason() {
        let (sender, chunks) = mpsc::channel(4);
        let (ending, ending_rx) = oneshot::channel();
        sender.send(Bytes::from_static(b"a")).await.unwrap();
        ending
            .send(Err(StreamAborted("integration timeout".to_owned())))
            .unwrap();
        drop(sender);
        let body = GatewayBody::stream(chunks, ending_rx);
        let err = body.collect().await.unwrap_err();
        assert_eq!(err, StreamAborted("integration timeout".to_owned()));
    }

    #[tokio::test]
    async fn a_stream_whose_relay_vanishes_fails() {
        let (sender, chunks) = mpsc::channel(4);
        let (ending, ending_rx) = oneshot::channel::<StreamEnding>();
        drop((sender, ending));
        let body = GatewayBody::stream(chunks, ending_rx);
        assert!(body.collect().await.is_err());
    }
}
