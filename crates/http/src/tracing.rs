//! One span per request. (The log subscriber itself is set up by `rill-entry`, once per process.)
//!
//! [`traced`] wraps a handler in a span carrying the API Gateway request id, the Lambda request id,
//! the method and the route template, and logs one line per request with the status and latency.
//! Bodies, headers and query strings are never logged: they carry personal data and credentials.

use std::convert::Infallible;
use std::future::Future;
use std::time::Instant;

use lambda_http::{Body, Request, Response};
use tracing::Instrument;

use crate::{Problem, request};

/// Answers a buffered request inside its span: `respond`'s [`Problem`] becomes its problem+json
/// response, so the runtime never sees an error.
pub async fn answer<F, Fut>(request: Request, respond: F) -> Result<Response<Body>, Infallible>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Result<Response<Body>, Problem>>,
{
    Ok(traced(request, |request| async move {
        respond(request)
            .await
            .unwrap_or_else(|problem| problem.to_response())
    })
    .await)
}

/// Runs `handler` inside the request's span and logs its outcome. Generic over the response body,
/// so buffered and streaming functions share it.
pub async fn traced<B, F, Fut>(request: Request, handler: F) -> Response<B>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response<B>>,
{
    let (method, route) = request::route(&request).unwrap_or(("-", "-"));
    let span = tracing::info_span!(
        "request",
        request_id = request::api_request_id(&request).unwrap_or("-"),
        lambda_request_id = request::lambda_request_id(&request).unwrap_or("-"),
        method,
        route,
    );
    async move {
        let started = Instant::now();
        let response = handler(request).await;
        tracing::info!(
            status = response.status().as_u16(),
            latency_ms = (started.elapsed().as_secs_f64() * 1e6).round() / 1e3,
            "request handled"
        );
        response
    }
    .instrument(span)
    .await
}
