//! The messages that carry one invocation between the HTTP side, the invocation driver and the
//! Runtime API server.
//!
//! ```text
//!  HTTP handler ──InvokeRequest──▶ pool / driver ──Invocation──▶ Runtime API (/next)
//!  HTTP handler ◀──Outcome──────── driver ◀──────RuntimeReply─── Runtime API (/response, /error)
//! ```
//!
//! A streamed response travels as [`StreamFrame`]s from the Runtime API to the driver, which
//! forwards [`StreamEvent`]s to the HTTP side. The driver sits in the middle so that it alone
//! enforces the function timeout, notices crashes, keeps draining the function after the client has
//! gone, and knows when the instance is free again.

use std::fmt;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

/// What the HTTP side asks for.
#[derive(Debug)]
pub struct InvokeRequest {
    /// Request id, shared by the API Gateway event and the Lambda invocation so logs line up.
    pub request_id: String,
    /// The event JSON.
    pub event: Bytes,
    /// X-Ray trace header value (`Root=1-...`).
    pub trace_id: String,
}

/// One event handed to a runtime by `GET /next`.
#[derive(Debug)]
pub struct Invocation {
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub request_id: String,
    /// The event JSON.
    pub event: Bytes,
    /// `Lambda-Runtime-Deadline-Ms`: Unix epoch milliseconds.
    pub deadline_epoch_ms: u128,
    /// `Lambda-Runtime-Trace-Id`.
    pub trace_id: String,
    /// Where the Runtime API sends the runtime's answer.
    pub reply: oneshot::Sender<RuntimeReply>,
}

/// How a runtime answered an invocation.
#[derive(Debug)]
pub enum RuntimeReply {
    /// `POST /response` without streaming: the whole payload.
    Buffered(Bytes),
    /// `POST /response` with `Lambda-Runtime-Function-Response-Mode: streaming`.
    Streaming(mpsc::Receiver<StreamFrame>),
    /// `POST /error`.
    Error(FunctionError),
    /// A buffered `/response` above Lambda's 6 MB limit; the runtime got a 413.
    TooLarge,
    /// The runtime asked for the next event without answering this one.
    Abandoned,
}

/// One piece of a streamed response, as read from the runtime's request body.
#[derive(Debug)]
pub enum StreamFrame {
    /// Body bytes.
    Data(Bytes),
    /// Error trailers (`Lambda-Runtime-Function-Error-Type` / `-Body`).
    Error(FunctionError),
    /// The body could not be read to its end (the runtime's connection broke).
    Truncated(String),
    /// The body ended normally.
    End,
}

/// What the client side receives for a streamed response. The stream failed if the channel closes
/// without [`StreamEvent::End`].
#[derive(Debug)]
pub enum StreamEvent {
    /// Body bytes, in the order the function wrote them.
    Data(Bytes),
    /// The function finished the stream.
    End,
    /// The function ran past its `Timeout` and was stopped: a 504 if nothing has reached the client
    /// yet, else a broken stream.
    TimedOut,
}

/// The result of an invocation, as the HTTP side sees it.
#[derive(Debug)]
pub enum Outcome {
    /// A buffered payload.
    Buffered(Bytes),
    /// A stream of body bytes.
    Streaming(mpsc::Receiver<StreamEvent>),
    /// The function reported an error.
    FunctionError(FunctionError),
    /// The invocation produced nothing usable.
    Failed(Failure),
    /// No instance became free in time.
    Throttled,
}

/// Why an invocation produced no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The function ran past its `Timeout` and was stopped.
    TimedOut(Duration),
    /// The process exited while handling the invocation.
    Crashed(String),
    /// The process could not be started, failed its init phase or exited during it.
    InitFailed(String),
    /// The buffered response exceeded Lambda's payload limit.
    ResponseTooLarge,
    /// The runtime asked for the next event without answering, or the gateway is shutting down.
    NoResponse(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::TimedOut(after) => {
                write!(f, "Task timed out after {:.2} seconds", after.as_secs_f64())
            }
            Failure::Crashed(status) => write!(f, "Runtime exited ({status})"),
            Failure::InitFailed(reason) => write!(f, "Init failed: {reason}"),
            Failure::ResponseTooLarge => {
                f.write_str("Response payload size exceeded the 6 MB limit")
            }
            Failure::NoResponse(reason) => write!(f, "No response: {reason}"),
        }
    }
}

/// An error a runtime reported (`/error`, `/init/error`, or error trailers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionError {
    /// `Lambda-Runtime-Function-Error-Type`, or `errorType` from the body.
    pub error_type: String,
    /// The error body, decoded (trailers carry it base64-encoded).
    pub body: Bytes,
}

impl FunctionError {
    /// Builds the error from trailer values: the body is base64, and kept raw if it is not.
    pub fn from_trailers(error_type: Option<&str>, encoded_body: Option<&str>) -> Self {
        let body = encoded_body
            .map(|b| {
                base64::engine::general_purpose::STANDARD
                    .decode(b.trim())
                    .map(Bytes::from)
                    .unwrap_or_else(|_| Bytes::copy_from_slice(b.as_bytes()))
            })
            .unwrap_or_default();
        Self {
            error_type: error_type.unwrap_or("Unknown").to_owned(),
            body,
        }
    }

    /// A one-line summary for the logs: the type and `errorMessage` when the body is the usual JSON,
    /// else the body as text.
    pub fn summary(&self) -> String {
        let message = serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| {
                v.get("errorMessage")
                    .and_then(|m| m.as_str())
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| String::from_utf8_lossy(&self.body).trim().to_owned());
        let message: String = message.chars().take(2_000).collect();
        if message.is_empty() {
            self.error_type.clone()
        } else {
            format!("{}: {}", self.error_type, message)
        }
    }
}

/// Where an invocation's deadline lies, in both clocks the code needs.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    /// For timers.
    pub instant: Instant,
    /// For `Lambda-Runtime-Deadline-Ms`.
    pub epoch_ms: u128,
}

impl Deadline {
    /// The deadline `timeout` from now.
    pub fn after(timeout: Duration) -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            instant: Instant::now() + timeout,
            epoch_ms: (now + timeout).as_millis(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailer_bodies_are_base64_decoded_and_summarised() {
        let error = FunctionError::from_trailers(
            Some("Runtime.StreamError"),
            Some("eyJlcnJvck1lc3NhZ2UiOiJib29tIiwiZXJyb3JUeXBlIjoiRSJ9"),
        );
        assert_eq!(
            error.body.as_ref(),
            br#"{"errorMessage":"boom","errorType":"E"}"#
        );
        assert_eq!(error.summary(), "Runtime.StreamError: boom");
    }

    #[test]
    fn a_body_that_is_not_base64_is_kept_as_text() {
        let error = FunctionError::from_trailers(None, Some("Requires base64"));
        assert_eq!(error.summary(), "Unknown: Requires base64");
    }

    #[test]
    fn timeouts_read_like_lambdas_message() {
        assert_eq!(
            Failure::TimedOut(Duration::from_secs(3)).to_string(),
            "Task timed out after 3.00 seconds"
        );
    }
}
