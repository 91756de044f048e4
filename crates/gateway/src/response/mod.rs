//! Every response the gateway gives in place of a function (API Gateway's "gateway responses"):
//! the 403 for an unknown route or a bad signature, 413, 414, 429, 431, the validator's 400s, and
//! the 500, 502 and 504 of a failed integration.
//!
//! Each one is a [`GatewayResponse`] (a response type such as `MISSING_AUTHENTICATION_TOKEN`, a
//! default status, AWS's message byte for byte, the `x-amzn-ErrorType`), and each one is sent
//! through the API's own `x-amazon-apigateway-gateway-responses` ([`GatewayResponses`], in
//! [`templates`]): the definition may change its status, add headers and reshape its body, and
//! what it renders is what the client gets. A definition that customises nothing gets AWS's
//! built-in `{"message": ...}` bodies, which clients and tests match on.

pub mod catalogue;
pub mod templates;

use bytes::Bytes;
use http::{HeaderValue, Response};

pub use catalogue::GatewayResponse;
pub use templates::{GatewayResponses, RenderedResponse};

use crate::request::RoutedRequest;

impl GatewayResponse {
    /// The HTTP response, rendered through the API's gateway responses and tagged with the request
    /// id like every API Gateway response.
    pub fn into_response<B: From<Bytes>>(self, scope: &ResponseScope<'_>) -> Response<B> {
        let context = [("requestId", scope.request_id), ("stage", scope.stage)];
        let rendered = scope.templates.render(&self, scope.request, &context);
        let mut response = Response::new(B::from(Bytes::from(rendered.body)));
        *response.status_mut() = rendered.status;
        *response.headers_mut() = rendered.headers;
        if let Ok(value) = HeaderValue::from_str(scope.request_id) {
            response.headers_mut().insert("x-amzn-requestid", value);
        }
        response
    }
}

/// What rendering a gateway response needs besides the response: the API's templates, the request
/// id and stage (`$context.requestId`, `$context.stage`), and the request when it was routed (for
/// `method.request.*` header values).
#[derive(Debug, Clone, Copy)]
pub struct ResponseScope<'a> {
    /// The API's gateway responses.
    pub templates: &'a GatewayResponses,
    /// The request id.
    pub request_id: &'a str,
    /// The stage.
    pub stage: &'a str,
    /// The routed request, when routing got that far.
    pub request: Option<&'a RoutedRequest>,
}
