//! What a REST (v1) API Gateway event carries, read from the `Request` lambda_http builds from it.
//!
//! Routing uses `requestContext.resourcePath` and `requestContext.httpMethod`, the route template
//! API Gateway matched (`/users/{userId}`), and never `uri().path()`: lambda_http puts the stage in
//! front of that path (`/dev/users/...`), and the template is what the OpenAPI file declares.

use std::fmt::Display;

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::Problem;

/// The route API Gateway matched: `("GET", "/users/{userId}")`. `None` for a request that did not
/// come through a REST API.
pub fn route(request: &Request) -> Option<(&str, &str)> {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => context
            .resource_path
            .as_deref()
            .map(|resource| (context.http_method.as_str(), resource)),
        _ => None,
    }
}

/// A path parameter, e.g. `userId` of `/users/{userId}`.
pub fn path_param<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.path_parameters_ref().and_then(|p| p.first(name))
}

/// A query parameter that may be given at most once. Repeating it is a 400, because the API
/// cannot tell which value the client meant.
pub fn query_param<'a>(request: &'a Request, name: &str) -> Result<Option<&'a str>, Problem> {
    let values = request
        .query_string_parameters_ref()
        .and_then(|q| q.all(name))
        .unwrap_or_default();
    match values.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        _ => Err(Problem::invalid(name, "must be given at most once")),
    }
}

/// A request header as text. A value that is not visible ASCII is a 400 on that header.
pub fn header<'a>(request: &'a Request, name: &str) -> Result<Option<&'a str>, Problem> {
    request
        .headers()
        .get(name)
        .map(|value| {
            value
                .to_str()
                .map_err(|_| Problem::invalid(name, "must be visible ASCII text"))
        })
        .transpose()
}

/// API Gateway's id for the request (`requestContext.requestId`), the one clients and access logs see.
pub fn api_request_id(request: &Request) -> Option<&str> {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => context.request_id.as_deref(),
        _ => None,
    }
}

/// Lambda's id for the invocation, the one in the function's own log lines and reports.
pub fn lambda_request_id(request: &Request) -> Option<&str> {
    request.lambda_context_ref().map(|c| c.request_id.as_str())
}

/// The `Location` of a record created by a `POST` to this request's collection: the path the client
/// used (`requestContext.path`, with the stage or custom-domain base path) followed by `/{id}`.
pub fn location(request: &Request, id: impl Display) -> String {
    let client_path = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => context.path.as_deref(),
        _ => None,
    };
    let path = client_path.unwrap_or_else(|| request.raw_http_path());
    format!("{}/{id}", path.trim_end_matches('/'))
}
