//! Errors as RFC 9457 problem details (`application/problem+json`).
//!
//! Every error response of the API is a [`Problem`]: `{type, title, status, detail, errors?}` with a
//! `type` of `urn:rill:problem:<slug>`. This is also the one place where a
//! [`DomainError`] becomes a status code. 4xx details are written for the client; 5xx bodies are
//! generic, and what went wrong goes to the logs only.
//!
//! A buffered function returns [`Problem::to_response`]. A streaming function, which has its own
//! body type, writes [`Problem::status`], [`Problem::headers`] and [`Problem::body_bytes`].

use lambda_http::http::header::{ALLOW, CONTENT_TYPE, RETRY_AFTER};
use lambda_http::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use lambda_http::{Body, Response};
use rill_core::{DomainError, FieldError};
use serde::Serialize;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";
/// What every problem `type` starts with.
pub const PROBLEM_TYPE_PREFIX: &str = "urn:rill:problem:";
/// Seconds a client should wait before retrying after a 503.
pub const RETRY_AFTER_SECONDS: u64 = 1;

/// One error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    status: StatusCode,
    slug: &'static str,
    title: &'static str,
    detail: String,
    errors: Vec<FieldError>,
    headers: Vec<(HeaderName, HeaderValue)>,
}

/// The JSON body, in the order RFC 9457 lists the members.
#[derive(Serialize)]
struct Wire<'a> {
    #[serde(rename = "type")]
    problem_type: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    errors: &'a [FieldError],
}

impl Problem {
    /// A problem of kind `slug` (the end of its `type`), with a fixed `title` per kind and a `detail`
    /// about this occurrence.
    pub fn new(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            slug,
            title,
            detail: detail.into(),
            errors: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// 400: the request broke these rules. The detail sums them up; `errors` lists each one.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] if one.field.is_empty() => format!("The request {}.", one.message),
            [one] => format!("`{}` {}.", one.field, one.message),
            many => format!("{} parts of the request are invalid.", many.len()),
        };
        Self {
            errors,
            ..Self::new(
                StatusCode::BAD_REQUEST,
                "validation-error",
                "The request is invalid",
                detail,
            )
        }
    }

    /// 400 about one field (a JSON path, a query parameter or a header name).
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(field, message)])
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "The resource does not exist",
            detail,
        )
    }

    /// 405, with the `Allow` header listing the methods the resource has.
    pub fn method_not_allowed(method: &str, allowed: &[&str]) -> Self {
        let allow = allowed.join(", ");
        let problem = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "The method is not allowed on this resource",
            format!("{method} is not allowed here; use one of: {allow}."),
        );
        match HeaderValue::from_str(&allow) {
            Ok(value) => problem.with_header(ALLOW, value),
            Err(_) => problem,
        }
    }

    /// 406: the client accepts no media type this resource can produce.
    pub fn not_acceptable(available: &str) -> Self {
        Self::new(
            StatusCode::NOT_ACCEPTABLE,
            "not-acceptable",
            "No acceptable representation",
            format!("This resource is available as {available}; check the Accept header."),
        )
    }

    /// 409.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "conflict",
            "The request conflicts with the current state",
            detail,
        )
    }

    /// 412: `If-Match` named a version that is no longer current.
    pub fn precondition_failed() -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "precondition-failed",
            "The resource has changed",
            "The resource has changed since it was read; fetch it again and retry with the new ETag.",
        )
    }

    /// 415: the body is not JSON.
    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "The body has an unsupported media type",
            detail,
        )
    }

    /// 422: an `Idempotency-Key` was reused with a different request.
    pub fn idempotency_key_reused() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency-key-reused",
            "The Idempotency-Key was used for a different request",
            "This Idempotency-Key was already used with a different request body; use a new key for a new request.",
        )
    }

    /// 500, with nothing about the cause. Log the cause where it happened.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal-error",
            "Internal error",
            "The request could not be completed. It has been logged.",
        )
    }

    /// 503 with `Retry-After`: a dependency is down or throttling. Safe to retry.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "The service is temporarily unavailable",
            "The service is temporarily unavailable; retry shortly.",
        )
        .with_header(RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS))
    }

    /// Adds a response header (`Allow`, `Retry-After`, ...).
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The full `type` URN, e.g. `urn:rill:problem:not-found`.
    pub fn problem_type(&self) -> String {
        format!("{PROBLEM_TYPE_PREFIX}{}", self.slug)
    }

    pub fn title(&self) -> &str {
        self.title
    }

    pub fn detail(&self) -> &str {
        &self.detail
    }

    pub fn errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// The response headers: `content-type: application/problem+json` and any extras.
    pub fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::with_capacity(1 + self.headers.len());
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        for (name, value) in &self.headers {
            headers.append(name.clone(), value.clone());
        }
        headers
    }

    /// The JSON body.
    pub fn body_bytes(&self) -> Vec<u8> {
        let wire = Wire {
            problem_type: self.problem_type(),
            title: self.title,
            status: self.status.as_u16(),
            detail: &self.detail,
            errors: &self.errors,
        };
        // Serializing strings and integers into memory cannot fail.
        serde_json::to_vec(&wire).unwrap_or_default()
    }

    /// The whole response, for a buffered function.
    pub fn to_response(&self) -> Response<Body> {
        let mut response = Response::new(Body::Text(
            String::from_utf8(self.body_bytes()).unwrap_or_default(),
        ));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers();
        response
    }
}

impl From<&DomainError> for Problem {
    fn from(error: &DomainError) -> Self {
        match error {
            DomainError::NotFound { .. } => Self::not_found(sentence(error)),
            DomainError::Conflict(_) => Self::conflict(sentence(error)),
            DomainError::Validation(errors) => Self::validation(errors.clone()),
            DomainError::PreconditionFailed => Self::precondition_failed(),
            DomainError::IdempotencyKeyReused => Self::idempotency_key_reused(),
            DomainError::Unavailable { source } => {
                tracing::error!(error = %error_chain(source.as_ref()), "the store is unavailable");
                Self::unavailable()
            }
        }
    }
}

impl From<DomainError> for Problem {
    fn from(error: DomainError) -> Self {
        Self::from(&error)
    }
}

/// A domain error's client-safe text as a sentence: capitalised, with a full stop.
fn sentence(error: &DomainError) -> String {
    let text = error.to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => {
            let end = if text.ends_with('.') { "" } else { "." };
            format!("{}{}{end}", first.to_uppercase(), chars.as_str())
        }
        None => text,
    }
}

/// An error with its sources, `outer: inner: root`, for the logs.
pub fn error_chain<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> impl std::fmt::Display + 'a {
    ErrorChain(error)
}

struct ErrorChain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(error) = source {
            write!(f, ": {error}")?;
            source = error.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn body(problem: &Problem) -> Value {
        serde_json::from_slice(&problem.body_bytes()).unwrap()
    }

    #[test]
    fn each_domain_error_maps_to_its_status_and_type() {
        let cases = [
            (DomainError::NotFound { entity: "user" }, 404, "not-found"),
            (DomainError::Conflict("taken".into()), 409, "conflict"),
            (
                DomainError::invalid("email", "is bad"),
                400,
                "validation-error",
            ),
            (DomainError::PreconditionFailed, 412, "precondition-failed"),
            (
                DomainError::IdempotencyKeyReused,
                422,
                "idempotency-key-reused",
            ),
            (
                DomainError::unavailable("connection refused"),
                503,
                "unavailable",
            ),
        ];
        for (error, status, slug) in cases {
            let problem = Problem::from(&error);
            assert_eq!(problem.status().as_u16(), status, "{error:?}");
            let body = body(&problem);
            assert_eq!(body["type"], format!("urn:rill:problem:{slug}"));
            assert_eq!(body["status"], status);
        }
    }

    #[test]
    fn an_outage_answers_503_with_retry_after_and_never_shows_its_cause() {
        let secret = "dial tcp 10.0.3.7:8000: credentials AKIAEXAMPLE rejected";
        let problem = Problem::from(DomainError::unavailable(secret));
        assert_eq!(problem.headers()[RETRY_AFTER], "1");
        let text = String::from_utf8(problem.body_bytes()).unwrap();
        assert!(!text.contains("10.0.3.7"), "{text}");
        assert!(!text.contains("AKIA"), "{text}");
    }

    #[test]
    fn a_validation_problem_lists_every_field_error() {
        let problem = Problem::from(DomainError::Validation(vec![
            FieldError::new("email", "must contain an @"),
            FieldError::new("name", "must not be empty"),
        ]));
        assert_eq!(
            body(&problem)["errors"],
            json!([
                {"field": "email", "message": "must contain an @"},
                {"field": "name", "message": "must not be empty"},
            ])
        );
    }

    #[test]
    fn a_single_field_error_is_spelled_out_in_the_detail() {
        let problem = Problem::invalid("limit", "must be a whole number from 1 to 100");
        assert_eq!(
            problem.detail(),
            "`limit` must be a whole number from 1 to 100."
        );
    }

    #[test]
    fn problems_without_field_errors_have_no_errors_member() {
        let body = body(&Problem::not_found("User not found."));
        assert!(body.get("errors").is_none());
        assert_eq!(body["detail"], "User not found.");
        assert_eq!(body["title"], "The resource does not exist");
    }

    #[test]
    fn the_response_is_problem_json_with_the_status_and_extra_headers() {
        let response = Problem::method_not_allowed("PUT", &["GET", "PATCH"]).to_response();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(response.headers()[ALLOW], "GET, PATCH");
        let Body::Text(text) = response.body() else {
            panic!("expected a text body");
        };
        let body: Value = serde_json::from_str(text).unwrap();
        assert_eq!(body["status"], 405);
    }

    #[test]
    fn the_internal_error_says_nothing_about_the_cause() {
        let body = body(&Problem::internal());
        assert_eq!(body["type"], "urn:rill:problem:internal-error");
        assert_eq!(body["status"], 500);
        assert!(body.get("errors").is_none());
    }
}
