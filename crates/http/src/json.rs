//! JSON in and out.
//!
//! [`parse_json`] turns a request body into a request DTO. DTOs are plain structs with
//! `#[serde(deny_unknown_fields)]` and primitive fields; the domain's `parse` functions then check
//! the values. Every way a body can be wrong is a 400 (or a 415 for a body that is not JSON at all)
//! that names the field (`items[2].quantity`) or the position of a syntax error. Messages are written
//! here rather than passed on from serde, because serde's mention Rust type names.
//!
//! serde_json stops at 128 levels of nesting, so a deeply nested body is a 400, not a stack overflow.
//!
//! [`json_response`] writes a success body as `application/json`.

use lambda_http::http::header::{ACCEPT, CONTENT_TYPE};
use lambda_http::http::{HeaderValue, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde::de::{Deserialize, DeserializeOwned, Deserializer};
use serde_json::error::Category;
use serde_path_to_error::{Path, Segment};

use crate::Problem;

/// The media type of every success body.
pub const APPLICATION_JSON: &str = "application/json";

/// Parses the request body as a JSON object into `T`.
///
/// Errors: 415 when a body is present without a JSON `Content-Type`; 400 when the body is missing,
/// not UTF-8, not JSON, not an object, nested too deeply, has a field of the wrong type, lacks a
/// required field, or has a field `T` does not know.
pub fn parse_json<T: DeserializeOwned>(request: &Request) -> Result<T, Problem> {
    let bytes: &[u8] = request.body().as_ref();
    if bytes.is_empty() {
        return Err(Problem::invalid("", "must have a JSON object as its body"));
    }
    check_content_type(request.headers().get(CONTENT_TYPE))?;
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Err(Problem::invalid("", "body must be UTF-8 encoded JSON"));
    };
    parse_json_object(text)
}

/// Parses JSON text that must be an object into `T`, with the errors of [`parse_json`].
pub fn parse_json_object<T: DeserializeOwned>(text: &str) -> Result<T, Problem> {
    // serde_json would also read a struct from an array of its fields; the API only takes objects.
    if !text.trim_start().starts_with('{') {
        let mut de = serde_json::Deserializer::from_str(text);
        return Err(
            match serde::de::IgnoredAny::deserialize(&mut de).and_then(|_| de.end()) {
                Ok(()) => Problem::invalid("", "body must be a JSON object"),
                Err(error) => syntax_problem(&error),
            },
        );
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|error| {
        let (path, error) = (error.path().clone(), error.into_inner());
        match error.classify() {
            Category::Data => data_problem(&path, &error),
            Category::Syntax | Category::Eof | Category::Io => syntax_problem(&error),
        }
    })?;
    de.end().map_err(|error| syntax_problem(&error))?;
    Ok(value)
}

/// For optional DTO fields that may be absent but not `null`:
/// `#[serde(default, deserialize_with = "rill_http::json::non_null")]` on an `Option<T>`.
pub fn non_null<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// Refuses a body that is present but not labelled as JSON. `application/json` and any
/// `application/*+json` are JSON, in any case, with an optional `charset=utf-8`.
fn check_content_type(content_type: Option<&HeaderValue>) -> Result<(), Problem> {
    let refuse = || {
        Problem::unsupported_media_type(
            "The request body must be JSON, sent with `Content-Type: application/json`.",
        )
    };
    let Some(value) = content_type.and_then(|v| v.to_str().ok()) else {
        return Err(refuse());
    };
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let is_json = essence == APPLICATION_JSON
        || essence
            .strip_prefix("application/")
            .is_some_and(|subtype| subtype.ends_with("+json"));
    if !is_json {
        return Err(refuse());
    }
    for parameter in parts {
        let (name, value) = parameter.split_once('=').unwrap_or((parameter, ""));
        if name.trim().eq_ignore_ascii_case("charset")
            && !value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        {
            return Err(Problem::unsupported_media_type(
                "The request body must be UTF-8 encoded JSON.",
            ));
        }
    }
    Ok(())
}

/// The JSON syntax error, with its line and column.
fn syntax_problem(error: &serde_json::Error) -> Problem {
    let message = strip_position(error);
    if message.starts_with("recursion limit exceeded") {
        return Problem::invalid(
            "",
            format!(
                "body nests too deeply (more than 128 levels) at line {} column {}",
                error.line(),
                error.column()
            ),
        );
    }
    if error.classify() == Category::Eof {
        return Problem::invalid(
            "",
            format!(
                "body is not valid JSON: it ends early at line {} column {}",
                error.line(),
                error.column()
            ),
        );
    }
    Problem::invalid("", format!("body is not valid JSON: {error}"))
}

/// A well-formed body whose content does not fit the DTO.
fn data_problem(path: &Path, error: &serde_json::Error) -> Problem {
    let message = strip_position(error);
    let at = field_path(path);
    if let Some(name) = quoted_after(&message, "missing field ") {
        return Problem::invalid(join(&at, name), "is required");
    }
    if let Some(name) = quoted_after(&message, "unknown field ") {
        // serde_path_to_error has already stepped into the unknown key.
        let field = if at.ends_with(name) {
            at.clone()
        } else {
            join(&at, name)
        };
        return Problem::invalid(field, "is not a known field");
    }
    if let Some(rest) = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
    {
        let expected = rest.rsplit_once(", expected ").map(|(_, e)| e);
        return Problem::invalid(at, describe_expected(expected));
    }
    if message.starts_with("invalid length ") {
        return Problem::invalid(at, "has the wrong number of elements");
    }
    if message.starts_with("duplicate field ") {
        return Problem::invalid(at, "is given more than once");
    }
    Problem::invalid(at, "is not valid")
}

/// What a field must be, in words a client understands, from serde's `expected` text.
fn describe_expected(expected: Option<&str>) -> &'static str {
    match expected {
        Some("a string" | "a borrowed string") => "must be a string",
        Some("a boolean") => "must be true or false",
        Some("a sequence") => "must be an array",
        Some(e) if e.starts_with("struct ") || e == "a map" => "must be an object",
        Some(e) if e.starts_with('i') || e.starts_with('u') || e.contains("integer") => {
            "must be a whole number"
        }
        Some(e) if e.starts_with('f') => "must be a number",
        _ => "has the wrong type",
    }
}

/// serde_json appends ` at line L column C` to data and syntax errors.
fn strip_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_owned()
}

/// The name between backticks after `prefix`: ``missing field `email` `` gives `email`.
fn quoted_after<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = message.strip_prefix(prefix)?.strip_prefix('`')?;
    rest.split_once('`').map(|(name, _)| name)
}

/// `items[2].quantity`, or the empty string for the whole body.
fn field_path(path: &Path) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Unknown => {}
        }
    }
    out
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

/// A JSON success response.
pub fn json_response<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response<Body> {
    match serde_json::to_string(body) {
        Ok(text) => {
            let mut response = Response::new(Body::Text(text));
            *response.status_mut() = status;
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(APPLICATION_JSON));
            response
        }
        Err(error) => {
            tracing::error!(%error, "a response body could not be serialized");
            Problem::internal().to_response()
        }
    }
}

/// Refuses a request whose `Accept` header rules out `application/json` (406). No header, `*/*`
/// and `application/*` all accept it; a media range with `q=0` does not.
pub fn check_accepts_json(request: &Request) -> Result<(), Problem> {
    let mut any_header = false;
    for value in request.headers().get_all(ACCEPT) {
        any_header = true;
        let Ok(value) = value.to_str() else { continue };
        for range in value.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let refused = parts.any(|p| {
                p.split_once('=').is_some_and(|(k, v)| {
                    k.trim().eq_ignore_ascii_case("q")
                        && v.trim().parse::<f32>().is_ok_and(|q| q == 0.0)
                })
            });
            let matches = matches!(media.as_str(), "*/*" | "application/*" | APPLICATION_JSON);
            if matches && !refused {
                return Ok(());
            }
        }
    }
    if any_header {
        Err(Problem::not_acceptable(APPLICATION_JSON))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use lambda_http::http;
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Line {
        sku: String,
        quantity: i64,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Body_ {
        user_id: String,
        items: Vec<Line>,
        #[serde(default, deserialize_with = "non_null")]
        note: Option<String>,
    }

    fn request(content_type: Option<&str>, body: &str) -> Request {
        let mut builder = http::Request::builder().method("POST").uri("/orders");
        if let Some(ct) = content_type {
            builder = builder.header(CONTENT_TYPE, ct);
        }
        let body = if body.is_empty() {
            Body::Empty
        } else {
            Body::Text(body.to_owned())
        };
        builder.body(body).unwrap()
    }

    fn parse(body: &str) -> Result<Body_, Problem> {
        parse_json(&request(Some("application/json"), body))
    }

    fn field_error(body: &str) -> (String, String) {
        let problem = parse(body).unwrap_err();
        assert_eq!(problem.status(), StatusCode::BAD_REQUEST, "{body}");
        let error = &problem.errors()[0];
        (error.field.clone(), error.message.clone())
    }

    #[test]
    fn a_valid_body_parses() {
        let body = parse(r#"{"userId":"u","items":[{"sku":"A","quantity":2}]}"#).unwrap();
        assert_eq!(body.items[0].quantity, 2);
        assert_eq!(body.note, None);
    }

    #[test]
    fn an_unknown_field_is_named_with_its_path() {
        assert_eq!(
            field_error(r#"{"userId":"u","items":[],"total":5}"#),
            ("total".into(), "is not a known field".into())
        );
        assert_eq!(
            field_error(r#"{"userId":"u","items":[{"sku":"A","quantity":1,"price":3}]}"#),
            ("items[0].price".into(), "is not a known field".into())
        );
    }

    #[test]
    fn a_missing_field_is_named_with_its_path() {
        assert_eq!(
            field_error(r#"{"items":[]}"#),
            ("userId".into(), "is required".into())
        );
        assert_eq!(
            field_error(r#"{"userId":"u","items":[{"sku":"A"}]}"#),
            ("items[0].quantity".into(), "is required".into())
        );
    }

    #[test]
    fn a_wrong_type_is_named_without_rust_type_names() {
        let cases = [
            (r#"{"userId":5,"items":[]}"#, "userId", "must be a string"),
            (r#"{"userId":"u","items":{}}"#, "items", "must be an array"),
            (
                r#"{"userId":"u","items":[7]}"#,
                "items[0]",
                "must be an object",
            ),
            (
                r#"{"userId":"u","items":[{"sku":"A","quantity":"2"}]}"#,
                "items[0].quantity",
                "must be a whole number",
            ),
            (
                r#"{"userId":"u","items":[{"sku":"A","quantity":1.5}]}"#,
                "items[0].quantity",
                "must be a whole number",
            ),
            (
                r#"{"userId":"u","items":[{"sku":"A","quantity":99999999999999999999}]}"#,
                "items[0].quantity",
                "must be a whole number",
            ),
            (
                r#"{"userId":"u","items":[],"note":null}"#,
                "note",
                "must be a string",
            ),
        ];
        for (body, field, message) in cases {
            let problem = parse(body).unwrap_err();
            let text = String::from_utf8(problem.body_bytes()).unwrap();
            assert!(!text.contains("struct"), "{text}");
            assert!(!text.contains("i64"), "{text}");
            assert_eq!(
                (
                    problem.errors()[0].field.as_str(),
                    problem.errors()[0].message.as_str()
                ),
                (field, message),
                "{body}"
            );
        }
    }

    #[test]
    fn malformed_json_is_a_400_with_the_position() {
        let (field, message) = field_error(r#"{"userId": "u",, }"#);
        assert_eq!(field, "");
        assert!(message.starts_with("body is not valid JSON"), "{message}");
        assert!(message.contains("line 1 column 16"), "{message}");
    }

    #[test]
    fn a_truncated_body_or_trailing_garbage_is_a_400() {
        let (_, message) = field_error(r#"{"userId": "u""#);
        assert!(message.contains("ends early"), "{message}");
        let (_, message) = field_error(r#"{"userId":"u","items":[]} extra"#);
        assert!(message.contains("trailing characters"), "{message}");
    }

    #[test]
    fn a_body_that_is_not_an_object_is_a_400() {
        for body in [r#"["u", []]"#, "42", "null", r#""text""#] {
            assert_eq!(
                field_error(body),
                ("".into(), "body must be a JSON object".into())
            );
        }
        let (_, message) = field_error("not json");
        assert!(message.starts_with("body is not valid JSON"), "{message}");
    }

    #[test]
    fn absurd_nesting_is_a_400_not_a_crash() {
        for body in [
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
            format!(r#"{{"userId":"u","items":{}"#, "[".repeat(100_000)),
            format!("{}1{}", r#"{"a":"#.repeat(50_000), "}".repeat(50_000)),
        ] {
            let problem = parse(&body).unwrap_err();
            assert_eq!(problem.status(), StatusCode::BAD_REQUEST);
        }
        // A DTO with a free-form JSON field recurses; serde_json stops it at 128 levels.
        let deep = format!(r#"{{"a":{}{}}}"#, "[".repeat(100_000), "]".repeat(100_000));
        let problem = parse_json_object::<serde_json::Value>(&deep).unwrap_err();
        assert!(
            problem.errors()[0].message.contains("nests too deeply"),
            "{problem:?}"
        );
    }

    #[test]
    fn an_empty_body_is_a_400() {
        assert_eq!(
            field_error(""),
            ("".into(), "must have a JSON object as its body".into())
        );
    }

    #[test]
    fn a_body_that_is_not_utf8_is_a_400() {
        let request = http::Request::builder()
            .header(CONTENT_TYPE, "application/json")
            .body(Body::Binary(vec![b'{', 0xff, 0xfe, b'}']))
            .unwrap();
        let problem = parse_json::<Body_>(&request).unwrap_err();
        assert_eq!(problem.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            problem.errors()[0].message,
            "body must be UTF-8 encoded JSON"
        );
    }

    #[test]
    fn a_body_without_a_json_content_type_is_a_415() {
        let body = r#"{"userId":"u","items":[]}"#;
        for content_type in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("application/json; charset=latin1"),
        ] {
            let problem = parse_json::<Body_>(&request(content_type, body)).unwrap_err();
            assert_eq!(
                problem.status(),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{content_type:?}"
            );
        }
        for content_type in [
            "application/json",
            "Application/JSON; charset=UTF-8",
            "application/merge-patch+json",
        ] {
            assert!(parse_json::<Body_>(&request(Some(content_type), body)).is_ok());
        }
    }

    #[test]
    fn accept_headers_that_rule_out_json_are_a_406() {
        let with_accept = |accept: &str| {
            http::Request::builder()
                .header(ACCEPT, accept)
                .body(Body::Empty)
                .unwrap()
        };
        for accept in [
            "application/json",
            "*/*",
            "text/html, application/*;q=0.5",
            "APPLICATION/JSON; charset=utf-8",
        ] {
            assert!(check_accepts_json(&with_accept(accept)).is_ok(), "{accept}");
        }
        for accept in ["text/csv", "application/json;q=0", "text/*"] {
            assert_eq!(
                check_accepts_json(&with_accept(accept))
                    .unwrap_err()
                    .status(),
                StatusCode::NOT_ACCEPTABLE,
                "{accept}"
            );
        }
        let no_accept = http::Request::builder().body(Body::Empty).unwrap();
        assert!(check_accepts_json(&no_accept).is_ok());
    }

    #[test]
    fn a_success_body_is_application_json() {
        let response = json_response(StatusCode::CREATED, &serde_json::json!({"id": "x"}));
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()[CONTENT_TYPE], APPLICATION_JSON);
    }
}
