//! API Gateway's own responses (its "gateway responses"): the JSON `{"message": ...}` bodies a
//! client sees when the request never reaches the function or the function's answer is unusable.
//!
//! The messages are AWS's, byte for byte, because clients and tests match on them (the 403
//! `Missing Authentication Token` for an unknown route is the best known).

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde_json::json;

use crate::integration::GatewayBody;

/// A response produced by the gateway itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayResponse {
    /// HTTP status.
    pub status: StatusCode,
    /// The `message` of the JSON body.
    pub message: String,
    /// `x-amzn-ErrorType`, when AWS sends one.
    pub error_type: Option<&'static str>,
}

impl GatewayResponse {
    /// Any gateway response.
    pub fn new(
        status: StatusCode,
        message: impl Into<String>,
        error_type: Option<&'static str>,
    ) -> Self {
        Self {
            status,
            message: message.into(),
            error_type,
        }
    }

    /// 403 for an unknown route, method or stage (`MISSING_AUTHENTICATION_TOKEN`).
    pub fn missing_authentication_token() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Missing Authentication Token",
            Some("MissingAuthenticationTokenException"),
        )
    }

    /// 413 for a request body over the 10 MB payload quota (`REQUEST_TOO_LARGE`).
    pub fn request_too_large() -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "Request Too Long", None)
    }

    /// 414 for a URL over API Gateway's length quota.
    pub fn uri_too_long() -> Self {
        Self::new(StatusCode::URI_TOO_LONG, "Request-URI Too Long", None)
    }

    /// 431 for request headers over API Gateway's size quota.
    pub fn request_header_fields_too_large() -> Self {
        Self::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "Request Header Fields Too Large",
            None,
        )
    }

    /// 429 when no instance became free in time (`THROTTLED`).
    pub fn too_many_requests() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too Many Requests",
            Some("TooManyRequestsException"),
        )
    }

    /// 500 for a streamed response that does not follow the prelude format.
    pub fn internal_server_error() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal server error",
            Some("InternalServerErrorException"),
        )
    }

    /// 502 for a function error, a crash, or a malformed proxy response.
    pub fn bad_gateway() -> Self {
        Self::new(
            StatusCode::BAD_GATEWAY,
            "Internal server error",
            Some("InternalServerErrorException"),
        )
    }

    /// 504 when the integration timeout passes first (`INTEGRATION_TIMEOUT`), and, locally, when
    /// the function runs past its own `Timeout` (AWS reports that as a 502).
    pub fn integration_timeout() -> Self {
        Self::new(
            StatusCode::GATEWAY_TIMEOUT,
            "Endpoint request timed out",
            None,
        )
    }

    /// The HTTP response, tagged with the request id like every API Gateway response.
    pub fn into_response(self, request_id: &str) -> Response<GatewayBody> {
        let body = json!({"message": self.message}).to_string();
        let mut response = Response::new(GatewayBody::full(Bytes::from(body)));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Ok(value) = HeaderValue::from_str(request_id) {
            headers.insert("x-amzn-requestid", value);
        }
        if let Some(error_type) = self.error_type {
            headers.insert("x-amzn-errortype", HeaderValue::from_static(error_type));
        }
        response
    }
}
