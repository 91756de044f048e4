//! Why a request failed SigV4 authentication, worded exactly as API Gateway words it.
//!
//! Every failure is a `403` whose body is `{"message": "..."}`. The messages are API Gateway's own
//! (the front end it shares with other AWS JSON services), collected from real responses; the
//! sources are listed on each constructor. Clients and humans both rely on them: SDKs surface the
//! text, and the mismatch message carries the canonical request and string-to-sign that AWS
//! computed, which is the only practical way to debug a signer. Nothing in a message is secret:
//! it echoes what the client sent and what anyone can compute from it, never a key.

use std::fmt;

use http::StatusCode;

/// Which of API Gateway's authentication failures happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthErrorKind {
    /// Neither an `Authorization` header nor a presigned query string.
    MissingAuthenticationToken,
    /// The `Authorization` header or presigned query lacks a part, or a part is malformed.
    IncompleteSignature,
    /// The credential scope (region, service, terminator, date) or the signed-header set is wrong,
    /// or the request mixes header and query authentication.
    InvalidSignature,
    /// The request time is more than the allowed window in the past.
    SignatureExpired,
    /// The request time is more than five minutes in the future.
    SignatureNotYetCurrent,
    /// Everything parsed, but the signature is not the one the secret produces.
    SignatureDoesNotMatch,
    /// The access key id is unknown, or the session token is wrong, missing or unexpected.
    InvalidSecurityToken,
}

/// A failed SigV4 check: what API Gateway would answer instead of calling the integration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthError {
    kind: AuthErrorKind,
    message: String,
}

impl AuthError {
    pub(crate) fn new(kind: AuthErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// `{"message":"Missing Authentication Token"}`, also what API Gateway answers for an unknown
    /// route on an IAM-protected API.
    pub(crate) fn missing_authentication_token() -> Self {
        Self::new(
            AuthErrorKind::MissingAuthenticationToken,
            "Missing Authentication Token",
        )
    }

    /// Unknown access key id, or a session token that does not match.
    pub(crate) fn invalid_security_token() -> Self {
        Self::new(
            AuthErrorKind::InvalidSecurityToken,
            "The security token included in the request is invalid.",
        )
    }

    /// The kind of failure.
    pub fn kind(&self) -> AuthErrorKind {
        self.kind
    }

    /// The message API Gateway puts in `{"message": ...}`.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Always `403 Forbidden`, as API Gateway answers every SigV4 failure.
    pub fn status(&self) -> StatusCode {
        StatusCode::FORBIDDEN
    }

    /// The `x-amzn-ErrorType` header value API Gateway sends with the failure.
    pub fn error_type(&self) -> &'static str {
        match self.kind {
            AuthErrorKind::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            AuthErrorKind::IncompleteSignature => "IncompleteSignatureException",
            AuthErrorKind::InvalidSignature
            | AuthErrorKind::SignatureExpired
            | AuthErrorKind::SignatureNotYetCurrent
            | AuthErrorKind::SignatureDoesNotMatch => "InvalidSignatureException",
            AuthErrorKind::InvalidSecurityToken => "UnrecognizedClientException",
        }
    }

    /// The gateway response type (`x-amazon-apigateway-gateway-responses` key) that renders this
    /// failure. AWS does not document which type carries an unrecognised key; `INVALID_SIGNATURE`
    /// is the 403 type closest to it.
    pub fn gateway_response_type(&self) -> &'static str {
        match self.kind {
            AuthErrorKind::MissingAuthenticationToken => "MISSING_AUTHENTICATION_TOKEN",
            _ => "INVALID_SIGNATURE",
        }
    }

    /// The default response body, `{"message":"..."}`.
    pub fn body(&self) -> String {
        serde_json::json!({ "message": self.message }).to_string()
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AuthError {}
