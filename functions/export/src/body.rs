//! The response body of the export function: either a small complete body (a problem+json answer given
//! before streaming starts) or the receiving end of a running export.
//!
//! A streamed body ends in one of two ways, and they must never look alike:
//!
//! * the export finished: the body ends (`None`), and the HTTP layer writes the terminating chunk;
//! * the export failed: the body yields an error ([`ExportFailure`]). In HTTP terms a body error means
//!   "this message is incomplete": hyper, for one, then aborts the chunked message without its
//!   terminating chunk. (lambda_runtime 1.5 does not honour that; see [`crate::truncate`] for how the
//!   function makes sure the Runtime API still sees an unfinished response.)
//!
//! A failure is handed out as soon as it is known, ahead of chunks still queued: the transfer fails
//! either way, and a client that stopped reading must not delay the failure.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::{mpsc, oneshot};

use crate::pipeline::ExportFailure;

/// The body of every response of the export function.
#[derive(Debug)]
pub struct ExportBody {
    state: State,
}

#[derive(Debug)]
enum State {
    Full(Option<Bytes>),
    Streaming {
        data: mpsc::Receiver<Bytes>,
        outcome: Option<oneshot::Receiver<Result<(), ExportFailure>>>,
    },
    Done,
}

impl ExportBody {
    /// A complete body.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        Self {
            state: State::Full(Some(bytes.into())),
        }
    }

    /// The body of a running export: chunks from `data`, then the export's result from `outcome`.
    pub(crate) fn streaming(
        data: mpsc::Receiver<Bytes>,
        outcome: oneshot::Receiver<Result<(), ExportFailure>>,
    ) -> Self {
        Self {
            state: State::Streaming {
                data,
                outcome: Some(outcome),
            },
        }
    }
}

impl Body for ExportBody {
    type Data = Bytes;
    type Error = ExportFailure;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, ExportFailure>>> {
        match &mut self.state {
            State::Full(bytes) => {
                let frame = bytes.take().map(|b| Ok(Frame::data(b)));
                self.state = State::Done;
                Poll::Ready(frame)
            }
            State::Streaming { data, outcome } => {
                // A failure that is already known goes out before anything still queued.
                if let Some(receiver) = outcome
                    && let Poll::Ready(result) = Pin::new(receiver).poll(cx)
                {
                    *outcome = None;
                    match result {
                        Ok(Ok(())) => {}
                        Ok(Err(failure)) => {
                            self.state = State::Done;
                            return Poll::Ready(Some(Err(failure)));
                        }
                        Err(_) => {
                            self.state = State::Done;
                            return Poll::Ready(Some(Err(ExportFailure::Abandoned)));
                        }
                    }
                }
                if let Some(chunk) = ready!(data.poll_recv(cx)) {
                    return Poll::Ready(Some(Ok(Frame::data(chunk))));
                }
                // Every chunk is out. The writer reports its result only after dropping its sender,
                // so the outcome is ready or about to be.
                match outcome {
                    None => {
                        self.state = State::Done;
                        Poll::Ready(None)
                    }
                    Some(receiver) => {
                        let result = ready!(Pin::new(receiver).poll(cx));
                        self.state = State::Done;
                        match result {
                            Ok(Ok(())) => Poll::Ready(None),
                            Ok(Err(failure)) => Poll::Ready(Some(Err(failure))),
                            Err(_) => Poll::Ready(Some(Err(ExportFailure::Abandoned))),
                        }
                    }
                }
            }
            State::Done => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.state, State::Done)
    }

    fn size_hint(&self) -> SizeHint {
        match &self.state {
            State::Full(Some(bytes)) => SizeHint::with_exact(bytes.len() as u64),
            State::Full(None) | State::Done => SizeHint::with_exact(0),
            State::Streaming { .. } => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn next(body: &mut ExportBody) -> Option<Result<Bytes, String>> {
        body.frame().await.map(|frame| {
            frame
                .map(|f| f.into_data().expect("only data frames"))
                .map_err(|e| e.to_string())
        })
    }

    #[tokio::test]
    async fn a_full_body_yields_its_bytes_once() {
        let mut body = ExportBody::full("problem");
        assert_eq!(body.size_hint().exact(), Some(7));
        assert_eq!(next(&mut body).await, Some(Ok(Bytes::from("problem"))));
        assert_eq!(next(&mut body).await, None);
        assert!(body.is_end_stream());
    }

    #[tokio::test]
    async fn a_finished_export_yields_every_chunk_then_ends() {
        let (data_tx, data_rx) = mpsc::channel(4);
        let (outcome_tx, outcome_rx) = oneshot::channel();
        let mut body = ExportBody::streaming(data_rx, outcome_rx);
        data_tx.send(Bytes::from("a")).await.unwrap();
        data_tx.send(Bytes::from("b")).await.unwrap();
        drop(data_tx);
        outcome_tx.send(Ok(())).unwrap();
        assert_eq!(next(&mut body).await, Some(Ok(Bytes::from("a"))));
        assert_eq!(next(&mut body).await, Some(Ok(Bytes::from("b"))));
        assert_eq!(next(&mut body).await, None);
    }

    #[tokio::test]
    async fn a_failed_export_yields_an_error_ahead_of_queued_chunks() {
        let (data_tx, data_rx) = mpsc::channel(4);
        let (outcome_tx, outcome_rx) = oneshot::channel();
        let mut body = ExportBody::streaming(data_rx, outcome_rx);
        data_tx.send(Bytes::from("a")).await.unwrap();
        assert_eq!(next(&mut body).await, Some(Ok(Bytes::from("a"))));
        data_tx.send(Bytes::from("queued")).await.unwrap();
        outcome_tx
            .send(Err(ExportFailure::Deadline { records: 1 }))
            .unwrap();
        let end = next(&mut body).await;
        assert!(matches!(end, Some(Err(_))), "{end:?}");
        assert_eq!(next(&mut body).await, None);
    }

    #[tokio::test]
    async fn a_writer_that_vanished_without_a_result_is_a_failure_not_an_end() {
        let (data_tx, data_rx) = mpsc::channel(4);
        let (outcome_tx, outcome_rx) = oneshot::channel();
        let mut body = ExportBody::streaming(data_rx, outcome_rx);
        drop(data_tx);
        drop(outcome_tx);
        let end = next(&mut body).await;
        assert!(matches!(end, Some(Err(_))), "{end:?}");
    }
}
