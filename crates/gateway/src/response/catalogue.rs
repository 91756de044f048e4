//! The responses the gateway gives in place of a function, by type: each one's default status,
//! AWS's message byte for byte, and its `x-amzn-ErrorType`.

use http::StatusCode;

use crate::sigv4::AuthError;
use crate::validation::ValidationFailure;

/// A response produced by the gateway itself, before rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayResponse {
    /// The gateway response type, e.g. `BAD_REQUEST_BODY` (`DEFAULT_4XX` / `DEFAULT_5XX` for the
    /// responses AWS gives no type of their own).
    pub response_type: &'static str,
    /// The status when the definition does not override it.
    pub status: StatusCode,
    /// `x-amzn-ErrorType`, when AWS sends one.
    pub error_type: Option<&'static str>,
    /// `$context.error.message`.
    pub message: String,
    /// `$context.error.validationErrorString` (empty when not a validation error).
    pub validation_error_string: String,
}

impl GatewayResponse {
    /// A response of the default type for its status (`DEFAULT_4XX` or `DEFAULT_5XX`).
    pub fn new(
        status: StatusCode,
        message: impl Into<String>,
        error_type: Option<&'static str>,
    ) -> Self {
        Self {
            response_type: if status.is_server_error() {
                "DEFAULT_5XX"
            } else {
                "DEFAULT_4XX"
            },
            status,
            error_type,
            message: message.into(),
            validation_error_string: String::new(),
        }
    }

    /// The same response under its own gateway response type.
    #[must_use]
    pub fn of_type(mut self, response_type: &'static str) -> Self {
        self.response_type = response_type;
        self
    }

    /// 403 for an unknown route, method or stage (`MISSING_AUTHENTICATION_TOKEN`).
    pub fn missing_authentication_token() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Missing Authentication Token",
            Some("MissingAuthenticationTokenException"),
        )
        .of_type("MISSING_AUTHENTICATION_TOKEN")
    }

    /// 413 for a request body over the 10 MB payload quota (`REQUEST_TOO_LARGE`).
    pub fn request_too_large() -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "Request Too Long", None)
            .of_type("REQUEST_TOO_LARGE")
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
        .of_type("THROTTLED")
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
        .of_type("INTEGRATION_TIMEOUT")
    }
}

impl From<&ValidationFailure> for GatewayResponse {
    /// `BAD_REQUEST_PARAMETERS` or `BAD_REQUEST_BODY`, with the validator's message and
    /// `$context.error.validationErrorString`.
    fn from(failure: &ValidationFailure) -> Self {
        Self {
            response_type: failure.response_type(),
            status: failure.status(),
            error_type: Some(failure.error_type()),
            message: failure.message(),
            validation_error_string: failure.validation_error_string(),
        }
    }
}

impl From<&AuthError> for GatewayResponse {
    /// The SigV4 refusal under its own type (`MISSING_AUTHENTICATION_TOKEN`, `INVALID_SIGNATURE`,
    /// `EXPIRED_TOKEN`...), with AWS's message.
    fn from(error: &AuthError) -> Self {
        Self::new(error.status(), error.message(), Some(error.error_type()))
            .of_type(error.gateway_response_type())
    }
}
