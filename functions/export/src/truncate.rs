//! Making a failed export reach the client as a failed transfer, under lambda_runtime 1.5.
//!
//! # The problem
//!
//! Once a streamed response has started, its status is fixed at 200. The only way left to tell a client
//! "this body is not the whole export" is to not finish the HTTP message: API Gateway then closes the
//! client's connection without the terminating chunk, and the client reports a failed download (`curl`
//! exits with 18, browsers mark the download failed). Lambda does this when the runtime's streaming
//! `POST /runtime/invocation/{id}/response` does not end properly.
//!
//! lambda_runtime 1.5.0 never lets that happen on its own. It copies the handler's body into the
//! `POST` from a task of its own: a data frame becomes a chunk; an error is written **into the body as
//! text** (`Lambda-Runtime-Function-Error-Type: Runtime.StreamError ...`) and copying *continues*; the
//! end of the body, or a trailers frame, ends the request with its terminating chunk. Every way a body
//! can end therefore looks like success to Lambda, and a cut-short CSV would arrive as a clean, shorter
//! file, with error text in it to boot.
//!
//! # The design
//!
//! [`TruncateOnFailure`] wraps the export body between the handler and lambda_runtime. When the export
//! body yields its error, the wrapper never passes it on: it reports the failure to a hook and from then
//! on answers "not ready" forever, so lambda_runtime never writes the error text nor the terminating
//! chunk. The hook of the deployed function, [`end_process`], logs the failure, waits a moment so
//! the chunks already handed to the HTTP client reach the socket, and exits the process. The kernel
//! closes the connection to the Runtime API in the middle of the chunked request, which is precisely an
//! unfinished response: Lambda fails the invocation (a runtime exit) and API Gateway ends the client's
//! connection without the terminating chunk. The local gateway does the same.
//!
//! The cost is a cold start on the next invocation after a failure, which is rare by nature (a store
//! outage mid-export, an export too large for CSV); a clean end that lies about completeness would cost
//! far more. Real trailers (`Lambda-Runtime-Function-Error-Type`) would be the polite alternative, but
//! lambda_runtime 1.5 drops trailers frames, and API Gateway's handling of them is undocumented.
//!
//! Tests run the real binary against a Runtime API on loopback and check that a failed export's `POST`
//! ends without its terminating chunk while a complete one ends with it (`tests/runtime_api.rs`), and
//! through the local gateway that the client's download fails (`tests/gateway.rs`).

use std::io::Write;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body::{Body, Frame, SizeHint};

use crate::pipeline::ExportFailure;

/// How long the process lingers after a failure so that chunks already written reach the Runtime API.
pub const FLUSH_GRACE: Duration = Duration::from_millis(200);
/// The exit status of a process ended by a failed export.
pub const EXIT_STATUS: i32 = 70;

/// What to do when the export fails mid-stream.
pub type FailureHook = Box<dyn FnOnce(&ExportFailure) + Send>;

/// A body that never reports its own failure to the runtime; it hands it to a hook and stalls instead.
pub struct TruncateOnFailure<B> {
    inner: B,
    hook: Option<FailureHook>,
    failed: bool,
}

impl<B> std::fmt::Debug for TruncateOnFailure<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TruncateOnFailure")
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl<B> TruncateOnFailure<B> {
    /// Wraps `inner`; `hook` runs once, on its first error.
    pub fn new(inner: B, hook: FailureHook) -> Self {
        Self {
            inner,
            hook: Some(hook),
            failed: false,
        }
    }

    /// Wraps `inner` so that a failure ends the process (see the module docs).
    pub fn ending_the_process(inner: B) -> Self {
        Self::new(inner, Box::new(end_process))
    }
}

impl<B> Body for TruncateOnFailure<B>
where
    B: Body<Error = ExportFailure> + Unpin,
{
    type Data = B::Data;
    type Error = ExportFailure;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, ExportFailure>>> {
        if self.failed {
            return Poll::Pending;
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Err(failure))) => {
                self.failed = true;
                if let Some(hook) = self.hook.take() {
                    hook(&failure);
                }
                // Never woken again: the body neither ends nor errors, so no terminating chunk is written.
                Poll::Pending
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        !self.failed && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Logs the failure and ends the process after [`FLUSH_GRACE`], leaving the response unfinished.
pub fn end_process(failure: &ExportFailure) {
    tracing::error!(
        error = %failure,
        exit_status = EXIT_STATUS,
        "ending the process so the Runtime API sees the response unfinished and the client a failed transfer"
    );
    std::thread::spawn(|| {
        std::thread::sleep(FLUSH_GRACE);
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        std::process::exit(EXIT_STATUS);
    });
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use bytes::Bytes;
    use tokio::sync::{mpsc, oneshot};

    use super::*;
    use crate::body::ExportBody;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn a_failure_goes_to_the_hook_and_the_body_neither_ends_nor_errors() {
        let (data_tx, data_rx) = mpsc::channel(1);
        let (outcome_tx, outcome_rx) = oneshot::channel();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let mut body = TruncateOnFailure::new(
            ExportBody::streaming(data_rx, outcome_rx),
            Box::new(move |failure| record.lock().unwrap().push(failure.to_string())),
        );
        data_tx.send(Bytes::from("row\r\n")).await.unwrap();
        let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(first, "row\r\n");
        outcome_tx
            .send(Err(ExportFailure::Deadline { records: 1 }))
            .unwrap();
        let next = tokio::time::timeout(Duration::from_millis(50), body.frame()).await;
        assert!(next.is_err(), "the body must stall, got {next:?}");
        assert_eq!(seen.lock().unwrap().len(), 1);
        assert!(!body.is_end_stream());
    }

    #[tokio::test]
    async fn a_complete_body_passes_through_and_ends() {
        let (data_tx, data_rx) = mpsc::channel(1);
        let (outcome_tx, outcome_rx) = oneshot::channel();
        let body = TruncateOnFailure::new(
            ExportBody::streaming(data_rx, outcome_rx),
            Box::new(|_| panic!("no failure expected")),
        );
        data_tx.send(Bytes::from("a")).await.unwrap();
        drop(data_tx);
        outcome_tx.send(Ok(())).unwrap();
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(bytes, "a");
    }
}
