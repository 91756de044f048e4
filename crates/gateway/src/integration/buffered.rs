//! Turns a buffered Lambda proxy response (`{statusCode, headers, multiValueHeaders, body,
//! isBase64Encoded}`) into an HTTP response.
//!
//! API Gateway is strict here and so is this: anything that is not that shape is a "Malformed
//! Lambda proxy response" and the client gets 502. The reason goes to the log, because in AWS it
//! is only visible in execution logs, which is where people lose hours.
//!
//! A base64 body is decoded only when the request's `Accept` matches the API's
//! `binaryMediaTypes`; otherwise API Gateway passes the base64 text through, and so does this (with
//! a warning, since it is rarely what was meant).

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::headers;
use crate::config::media_type_matches;

/// The parts of an HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpParts {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
}

const KEYS: [&str; 5] = [
    "statusCode",
    "headers",
    "multiValueHeaders",
    "body",
    "isBase64Encoded",
];

/// Parses a proxy response. `accept` is the request's `Accept` header.
pub fn parse(
    payload: &[u8],
    accept: Option<&str>,
    binary_media_types: &[String],
) -> Result<HttpParts, String> {
    let value: Value =
        serde_json::from_slice(payload).map_err(|e| format!("the response is not JSON ({e})"))?;
    let object = value
        .as_object()
        .ok_or_else(|| format!("the response is {}, not an object", kind(&value)))?;
    if let Some(key) = object.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(format!(
            "unexpected key `{key}`; a proxy response has only {}",
            KEYS.join(", ")
        ));
    }
    let status = match object.get("statusCode") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .and_then(|code| u16::try_from(code).ok())
    .and_then(|code| StatusCode::from_u16(code).ok())
    .filter(|code| (100..=599).contains(&code.as_u16()))
    .ok_or_else(|| match object.get("statusCode") {
        None => "statusCode is missing".to_owned(),
        Some(other) => format!("statusCode {other} is not an HTTP status"),
    })?;
    let map = |key: &str| match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(other) => Err(format!("{key} must be an object, found {}", kind(other))),
    };
    let headers = headers::merge(map("headers")?, map("multiValueHeaders")?)?;
    let is_base64 = match object.get("isBase64Encoded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(format!(
                "isBase64Encoded must be a boolean, found {}",
                kind(other)
            ));
        }
    };
    let body = match object.get("body") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(body)) => body.clone(),
        Some(other) => return Err(format!("body must be a string, found {}", kind(other))),
    };
    let first_accept = accept.and_then(|a| a.split(',').next()).unwrap_or("");
    let body = if is_base64 && media_type_matches(binary_media_types, first_accept) {
        base64::engine::general_purpose::STANDARD
            .decode(body.as_bytes())
            .map(Bytes::from)
            .map_err(|_| "isBase64Encoded is true but body is not base64".to_owned())?
    } else {
        if is_base64 {
            tracing::warn!(
                accept = first_accept,
                "the function returned a base64 body, but Accept matches no binaryMediaTypes, so API Gateway \
                 returns the base64 text"
            );
        }
        Bytes::from(body)
    };
    Ok(HttpParts {
        status,
        headers,
        body,
    })
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(payload: &str) -> HttpParts {
        parse(payload.as_bytes(), None, &[]).unwrap()
    }

    #[test]
    fn a_lambda_http_response_maps_to_http() {
        let parts = parse_ok(
            r#"{"statusCode":201,"headers":{},"multiValueHeaders":{"content-type":["application/json"],"etag":["\"1\""]},"body":"{\"id\":1}","isBase64Encoded":false}"#,
        );
        assert_eq!(parts.status, StatusCode::CREATED);
        assert_eq!(parts.headers["content-type"], "application/json");
        assert_eq!(parts.headers["etag"], "\"1\"");
        assert_eq!(parts.body.as_ref(), br#"{"id":1}"#);
    }

    #[test]
    fn status_only_responses_have_an_empty_body() {
        let parts = parse_ok(r#"{"statusCode":204}"#);
        assert_eq!(parts.status, StatusCode::NO_CONTENT);
        assert!(parts.body.is_empty());
    }

    #[test]
    fn malformed_responses_name_the_problem() {
        for (payload, expected) in [
            ("not json", "not JSON"),
            ("[]", "not an object"),
            (r#"{"body":"x"}"#, "statusCode is missing"),
            (r#"{"statusCode":42}"#, "not an HTTP status"),
            (
                r#"{"statusCode":200,"body":{"a":1}}"#,
                "body must be a string",
            ),
            (r#"{"statusCode":200,"extra":1}"#, "unexpected key `extra`"),
            (
                r#"{"statusCode":200,"headers":[]}"#,
                "headers must be an object",
            ),
        ] {
            let err = parse(payload.as_bytes(), None, &[]).unwrap_err();
            assert!(err.contains(expected), "{payload}: {err}");
        }
    }

    #[test]
    fn base64_bodies_are_decoded_only_for_binary_accept_types() {
        let payload = br#"{"statusCode":200,"body":"AAEC","isBase64Encoded":true}"#;
        let binary = ["application/octet-stream".to_owned()];
        let decoded = parse(payload, Some("application/octet-stream, */*"), &binary).unwrap();
        assert_eq!(decoded.body.as_ref(), [0u8, 1, 2]);
        let text = parse(payload, Some("application/json"), &binary).unwrap();
        assert_eq!(text.body.as_ref(), b"AAEC");
    }
}
