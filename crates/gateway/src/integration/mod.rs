//! Turns the outcome of an invocation into the client's HTTP response, the way a Lambda proxy
//! integration does, for both transfer modes.
//!
//! | outcome                                 | BUFFERED              | STREAM                                 |
//! |-----------------------------------------|-----------------------|----------------------------------------|
//! | valid response                          | status, headers, body | status, headers, body as it arrives    |
//! | malformed response                      | 502                   | 500 (no delimiter), 502 (list headers) |
//! | function error, crash                   | 502                   | 502, or a broken stream once started   |
//! | function timeout (its own `Timeout`)    | 504                   | 504, or a broken stream once started   |
//! | integration timeout (`timeoutInMillis`) | 504                   | 504, or a broken stream once started   |
//! | stream idle or too long (`stream_limits`) | —                   | a broken stream                        |
//! | concurrency exhausted                   | 429                   | 429                                    |
//!
//! When a function runs past its own `Timeout`, its instance is killed and replaced and the client
//! gets 504 `Endpoint request timed out`. On AWS, API Gateway reports a Lambda that timed out as a
//! 502 (Lambda returns an error); locally it is a 504 so that the cause is visible from the client.
//!
//! A buffered integration in front of a streaming function returns status and headers without the
//! body, as AWS documents; a streaming integration in front of a buffered function sees the payload
//! as one chunk, which has no delimiter: 500.

mod body;
pub mod buffered;
pub mod headers;
pub mod stream_limits;
pub mod streaming;

use bytes::BytesMut;
use http::{HeaderValue, Response};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

pub use body::{GatewayBody, StreamAborted};
pub use stream_limits::{Bandwidth, StreamLimits};

use crate::config::TransferMode;
use crate::lambda::runtime_api::MAX_BUFFERED_RESPONSE;
use crate::lambda::{Failure, Outcome, StreamEvent};
use crate::response::{GatewayResponse, GatewayResponses, ResponseScope};
use streaming::{PreludeScanner, Scan};

/// What the response depends on besides the outcome.
#[derive(Debug)]
pub struct ResponseContext<'a> {
    /// Request id, echoed in `x-amzn-RequestId`.
    pub request_id: &'a str,
    /// Trace header, echoed in `X-Amzn-Trace-Id`.
    pub trace_id: &'a str,
    /// The integration's transfer mode.
    pub transfer_mode: TransferMode,
    /// When the integration timeout expires.
    pub deadline: Instant,
    /// The request's `Accept`, for binary bodies.
    pub accept: Option<&'a str>,
    /// The API's `binaryMediaTypes`.
    pub binary_media_types: &'a [String],
    /// API Gateway's limits on a streamed response.
    pub stream_limits: StreamLimits,
    /// The API's gateway responses, which render the gateway's own errors.
    pub gateway_responses: &'a GatewayResponses,
    /// The stage (`$context.stage` in gateway-response templates).
    pub stage: &'a str,
}

impl ResponseContext<'_> {
    /// What the gateway's own errors are rendered with.
    fn response_scope(&self) -> ResponseScope<'_> {
        ResponseScope {
            templates: self.gateway_responses,
            request_id: self.request_id,
            stage: self.stage,
            request: None,
        }
    }
}

/// Waits for the outcome (at most until the integration timeout) and builds the response.
pub async fn respond(
    outcome: oneshot::Receiver<Outcome>,
    context: &ResponseContext<'_>,
) -> Response<GatewayBody> {
    let gateway = |response: GatewayResponse| response.into_response(&context.response_scope());
    let outcome = match tokio::time::timeout_at(context.deadline, outcome).await {
        Err(_) => {
            tracing::warn!("integration timeout: no response from the function in time");
            return gateway(GatewayResponse::integration_timeout());
        }
        Ok(Err(_)) => {
            tracing::error!("the invocation ended without an outcome");
            return gateway(GatewayResponse::bad_gateway());
        }
        Ok(Ok(outcome)) => outcome,
    };
    match (context.transfer_mode, outcome) {
        (_, Outcome::Throttled) => gateway(GatewayResponse::too_many_requests()),
        (_, Outcome::FunctionError(error)) => {
            tracing::warn!(error = %error.summary(), "Lambda execution failed due to a function error");
            gateway(GatewayResponse::bad_gateway())
        }
        (_, Outcome::Failed(failure @ Failure::TimedOut(_))) => {
            tracing::warn!(%failure, "the function timed out; its instance was replaced");
            gateway(GatewayResponse::integration_timeout())
        }
        (_, Outcome::Failed(failure)) => {
            tracing::warn!(%failure, "Lambda invocation failed");
            gateway(GatewayResponse::bad_gateway())
        }
        (TransferMode::Buffered, Outcome::Buffered(payload)) => {
            buffered_response(&payload, context)
        }
        (TransferMode::Buffered, Outcome::Streaming(events)) => {
            streamed_into_buffered(events, context).await
        }
        (TransferMode::Stream, Outcome::Buffered(payload)) => {
            let (sender, events) = mpsc::channel(2);
            let _ = sender.try_send(StreamEvent::Data(payload));
            let _ = sender.try_send(StreamEvent::End);
            streamed_response(events, context).await
        }
        (TransferMode::Stream, Outcome::Streaming(events)) => {
            streamed_response(events, context).await
        }
    }
}

fn buffered_response(payload: &[u8], context: &ResponseContext<'_>) -> Response<GatewayBody> {
    match buffered::parse(payload, context.accept, context.binary_media_types) {
        Ok(parts) => {
            let mut response = Response::new(GatewayBody::full(parts.body));
            *response.status_mut() = parts.status;
            *response.headers_mut() = parts.headers;
            // The gateway frames the body itself.
            response.headers_mut().remove(http::header::CONTENT_LENGTH);
            tag(response, context)
        }
        Err(reason) => {
            tracing::warn!(%reason, "Execution failed due to configuration error: Malformed Lambda proxy response");
            GatewayResponse::bad_gateway().into_response(&context.response_scope())
        }
    }
}

/// A streaming function behind a BUFFERED integration: Lambda buffers the stream (up to its 6 MB
/// limit); a proxy-response JSON works as usual, a prelude yields status and headers only.
async fn streamed_into_buffered(
    mut events: mpsc::Receiver<StreamEvent>,
    context: &ResponseContext<'_>,
) -> Response<GatewayBody> {
    let mut payload = BytesMut::new();
    loop {
        match tokio::time::timeout_at(context.deadline, events.recv()).await {
            Err(_) => {
                return GatewayResponse::integration_timeout()
                    .into_response(&context.response_scope());
            }
            Ok(Some(StreamEvent::Data(bytes))) => {
                payload.extend_from_slice(&bytes);
                if payload.len() > MAX_BUFFERED_RESPONSE {
                    tracing::warn!(
                        "streamed response exceeds the 6 MB limit of a buffered invocation"
                    );
                    return GatewayResponse::bad_gateway().into_response(&context.response_scope());
                }
            }
            Ok(Some(StreamEvent::End)) => break,
            Ok(Some(StreamEvent::TimedOut)) => {
                tracing::warn!("the function timed out; its instance was replaced");
                return GatewayResponse::integration_timeout()
                    .into_response(&context.response_scope());
            }
            Ok(None) => {
                tracing::warn!("the function's stream failed");
                return GatewayResponse::bad_gateway().into_response(&context.response_scope());
            }
        }
    }
    if buffered::parse(&payload, context.accept, context.binary_media_types).is_ok() {
        return buffered_response(&payload, context);
    }
    match PreludeScanner::new().push(&payload) {
        Scan::Found { prelude, .. } => match streaming::parse_prelude(&prelude) {
            Ok((status, headers)) => {
                tracing::warn!(
                    "a streaming function behind a BUFFERED integration: API Gateway returns status and headers \
                     but not the body; set responseTransferMode: STREAM"
                );
                let mut response = Response::new(GatewayBody::empty());
                *response.status_mut() = status;
                *response.headers_mut() = headers;
                tag(response, context)
            }
            Err(e) => {
                tracing::warn!(reason = %e.reason, "malformed streamed response");
                GatewayResponse::bad_gateway().into_response(&context.response_scope())
            }
        },
        _ => buffered_response(&payload, context),
    }
}

async fn streamed_response(
    mut events: mpsc::Receiver<StreamEvent>,
    context: &ResponseContext<'_>,
) -> Response<GatewayBody> {
    let gateway = |response: GatewayResponse| response.into_response(&context.response_scope());
    let mut scanner = PreludeScanner::new();
    let (prelude, rest) = loop {
        match tokio::time::timeout_at(context.deadline, events.recv()).await {
            Err(_) => {
                tracing::warn!("integration timeout before the stream's prelude");
                return gateway(GatewayResponse::integration_timeout());
            }
            Ok(Some(StreamEvent::Data(bytes))) => match scanner.push(&bytes) {
                Scan::NeedMore => {}
                Scan::Found { prelude, rest } => break (prelude, rest),
                Scan::Missing => {
                    tracing::warn!(
                        "the response stream has no 8-NUL delimiter in its first 16 KB; write the prelude \
                         (lambda_http::run_with_streaming_response does)"
                    );
                    return gateway(GatewayResponse::internal_server_error());
                }
            },
            Ok(Some(StreamEvent::End)) => {
                tracing::warn!(
                    "the response stream ended without the 8-NUL delimiter after its prelude"
                );
                return gateway(GatewayResponse::internal_server_error());
            }
            Ok(Some(StreamEvent::TimedOut)) => {
                tracing::warn!("the function timed out before the stream's prelude");
                return gateway(GatewayResponse::integration_timeout());
            }
            Ok(None) => {
                tracing::warn!("the function's stream failed before its prelude");
                return gateway(GatewayResponse::bad_gateway());
            }
        }
    };
    match streaming::parse_prelude(&prelude) {
        Ok((status, headers)) => {
            let body =
                stream_limits::stream_body(rest, events, context.deadline, context.stream_limits);
            let mut response = Response::new(body);
            *response.status_mut() = status;
            *response.headers_mut() = headers;
            tag(response, context)
        }
        Err(error) => {
            tracing::warn!(reason = %error.reason, "malformed response stream prelude");
            gateway(GatewayResponse::new(
                error.status,
                "Internal server error",
                Some("InternalServerErrorException"),
            ))
        }
    }
}

/// Adds the headers API Gateway puts on every integration response.
fn tag(
    mut response: Response<GatewayBody>,
    context: &ResponseContext<'_>,
) -> Response<GatewayBody> {
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(context.request_id) {
        headers.insert("x-amzn-requestid", value);
    }
    if let Ok(value) = HeaderValue::from_str(context.trace_id) {
        headers.insert("x-amzn-trace-id", value);
    }
    response
}
