//! Reads one operation's `x-amazon-apigateway-integration` into an [`Integration`].
//!
//! The URI says which Lambda API API Gateway calls: `2015-03-31/functions/{arn}/invocations`
//! (Invoke, buffered) or `2021-11-15/functions/{arn}/response-streaming-invocations`
//! (InvokeWithResponseStream). `responseTransferMode` must agree with it: AWS documents the other
//! combinations as unsupported, so a mismatch is a configuration error here rather than a surprise
//! after deploying.
//!
//! The function ARN in the URI may carry a qualifier: an integration that targets the alias SAM
//! publishes with `AutoPublishAlias` (`${UsersFunctionAliaslive}` evaluates to
//! `arn:aws:lambda:...:function:NAME:live`) runs the same local function, which has no versions.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

/// How API Gateway returns the function's response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferMode {
    /// The whole response at once (Lambda `Invoke`).
    Buffered,
    /// Bytes as the function writes them (Lambda `InvokeWithResponseStream`).
    Stream,
}

impl TransferMode {
    /// The OpenAPI spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TransferMode::Buffered => "BUFFERED",
            TransferMode::Stream => "STREAM",
        }
    }
}

/// A Lambda proxy integration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Integration {
    /// Logical id of the function resource.
    pub function: String,
    /// Buffered or streamed.
    pub transfer_mode: TransferMode,
    /// `timeoutInMillis`: how long API Gateway waits for the integration.
    pub timeout: Duration,
}

/// Default integration timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(29_000);
/// Largest buffered integration timeout without a quota increase.
pub const MAX_BUFFERED_TIMEOUT_MS: u64 = 29_000;
/// Largest streaming integration timeout (15 minutes).
pub const MAX_STREAM_TIMEOUT_MS: u64 = 900_000;
/// Smallest integration timeout.
pub const MIN_TIMEOUT_MS: u64 = 50;

/// Outcome of reading an integration: a route, or a reason the route is not served.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A Lambda proxy integration, plus warnings about it.
    Lambda(Integration, Vec<String>),
    /// An integration type this gateway does not run (mock, http_proxy...): warn and skip.
    Unsupported(String),
}

/// Reads an evaluated `x-amazon-apigateway-integration` object. `functions` maps function names
/// (what the ARN in the URI contains) to logical ids.
pub fn parse(integration: &Value, functions: &BTreeMap<String, String>) -> Result<Parsed, String> {
    let field = |name: &str| field(integration, name);
    let kind = field("type")
        .and_then(Value::as_str)
        .ok_or("missing `type`")?
        .to_ascii_lowercase();
    if kind != "aws_proxy" {
        return Ok(Parsed::Unsupported(format!(
            "integration type `{kind}` is not run locally (only aws_proxy)"
        )));
    }
    let method = field("httpMethod").and_then(Value::as_str).unwrap_or("");
    if !method.eq_ignore_ascii_case("POST") {
        return Err(format!(
            "httpMethod is `{method}`; Lambda proxy integrations must use POST"
        ));
    }
    let uri = match field("uri") {
        Some(Value::String(uri)) => uri,
        Some(other) => return Err(format!("uri is not a string: {other}")),
        None => return Err("missing or unresolvable `uri`".to_owned()),
    };
    let target = parse_uri(uri)?;
    let function = functions
        .get(&target.function_name)
        .cloned()
        .ok_or_else(|| {
            format!(
                "uri invokes function `{}`, which is not a function in the template",
                target.function_name
            )
        })?;
    let transfer_mode = transfer_mode(integration, target.mode)?;
    let (timeout_ms, warnings) = timeout_ms(integration, transfer_mode)?;
    Ok(Parsed::Lambda(
        Integration {
            function,
            transfer_mode,
            timeout: Duration::from_millis(timeout_ms),
        },
        warnings,
    ))
}

/// `responseTransferMode` (BUFFERED when absent), which must agree with the API the uri calls.
fn transfer_mode(integration: &Value, uri_mode: TransferMode) -> Result<TransferMode, String> {
    let transfer_mode = match field(integration, "responseTransferMode").map(|v| v.as_str()) {
        None => TransferMode::Buffered,
        Some(Some("BUFFERED")) => TransferMode::Buffered,
        Some(Some("STREAM")) => TransferMode::Stream,
        Some(other) => {
            return Err(format!(
                "responseTransferMode must be BUFFERED or STREAM, found {}",
                other.map_or_else(
                    || integration["responseTransferMode"].to_string(),
                    str::to_owned
                )
            ));
        }
    };
    if transfer_mode != uri_mode {
        return Err(match transfer_mode {
            TransferMode::Stream => "responseTransferMode is STREAM but the uri calls the buffered Invoke API; use \
                 .../2021-11-15/functions/<arn>/response-streaming-invocations"
                .to_owned(),
            TransferMode::Buffered => "the uri calls InvokeWithResponseStream \
                 (response-streaming-invocations) but responseTransferMode is BUFFERED; set it to STREAM"
                .to_owned(),
        });
    }
    Ok(transfer_mode)
}

/// `timeoutInMillis` (29 s when absent), within what AWS accepts for `mode`; with a warning when
/// only a raised quota allows it.
fn timeout_ms(integration: &Value, mode: TransferMode) -> Result<(u64, Vec<String>), String> {
    let mut warnings = Vec::new();
    let timeout_ms = match field(integration, "timeoutInMillis") {
        None => DEFAULT_TIMEOUT.as_millis() as u64,
        Some(value) => value
            .as_u64()
            .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
            .ok_or_else(|| format!("timeoutInMillis must be a whole number, found {value}"))?,
    };
    if !(MIN_TIMEOUT_MS..=MAX_STREAM_TIMEOUT_MS).contains(&timeout_ms) {
        return Err(format!(
            "timeoutInMillis {timeout_ms} is outside {MIN_TIMEOUT_MS}..={MAX_STREAM_TIMEOUT_MS}"
        ));
    }
    if mode == TransferMode::Buffered && timeout_ms > MAX_BUFFERED_TIMEOUT_MS {
        warnings.push(format!(
            "timeoutInMillis {timeout_ms} exceeds {MAX_BUFFERED_TIMEOUT_MS} for a BUFFERED integration; \
             AWS accepts it only for Regional APIs with a raised quota"
        ));
    }
    Ok((timeout_ms, warnings))
}

/// A field of the integration, unless it is absent or null.
fn field<'v>(integration: &'v Value, name: &str) -> Option<&'v Value> {
    integration.get(name).filter(|v| !v.is_null())
}

#[derive(Debug, PartialEq, Eq)]
struct UriTarget {
    function_name: String,
    mode: TransferMode,
}

/// Parses `arn:aws:apigateway:{region}:lambda:path/{version}/functions/{function}/{action}`.
fn parse_uri(uri: &str) -> Result<UriTarget, String> {
    let malformed = || {
        format!(
            "uri `{uri}` is not a Lambda integration uri \
             (arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/FUNCTION_ARN/invocations)"
        )
    };
    let rest = uri
        .strip_prefix("arn:")
        .and_then(|r| r.split_once(":apigateway:"))
        .map(|(_partition, r)| r)
        .and_then(|r| r.split_once(":lambda:path/"))
        .map(|(_region, r)| r)
        .ok_or_else(malformed)?;
    let (version, rest) = rest.split_once("/functions/").ok_or_else(malformed)?;
    let (function, action) = rest.rsplit_once('/').ok_or_else(malformed)?;
    let mode = match (version, action) {
        ("2015-03-31", "invocations") => TransferMode::Buffered,
        ("2021-11-15", "response-streaming-invocations") => TransferMode::Stream,
        ("2015-03-31", "response-streaming-invocations") => {
            return Err(format!(
                "uri `{uri}`: response-streaming-invocations belongs to API version 2021-11-15, not 2015-03-31"
            ));
        }
        ("2021-11-15", "invocations") => {
            return Err(format!(
                "uri `{uri}`: buffered invocations use API version 2015-03-31, not 2021-11-15"
            ));
        }
        _ => return Err(malformed()),
    };
    Ok(UriTarget {
        function_name: function_name(function).ok_or_else(malformed)?,
        mode,
    })
}

/// The function name inside a Lambda function ARN (`arn:aws:lambda:r:a:function:NAME[:qualifier]`)
/// or a bare name.
fn function_name(function: &str) -> Option<String> {
    if function.is_empty() {
        return None;
    }
    if !function.starts_with("arn:") {
        return Some(function.to_owned());
    }
    let parts: Vec<&str> = function.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "lambda", _, _, "function", name]
        | ["arn", _, "lambda", _, _, "function", name, _] => Some((*name).to_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const BUFFERED: &str = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:UsersFunction/invocations";
    const STREAM: &str = "arn:aws:apigateway:us-east-1:lambda:path/2021-11-15/functions/arn:aws:lambda:us-east-1:123456789012:function:ExportFunction/response-streaming-invocations";

    fn functions() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("UsersFunction".to_owned(), "UsersFunction".to_owned()),
            ("ExportFunction".to_owned(), "ExportFunction".to_owned()),
        ])
    }

    fn lambda(value: Value) -> Result<Integration, String> {
        match parse(&value, &functions())? {
            Parsed::Lambda(integration, _) => Ok(integration),
            Parsed::Unsupported(reason) => Err(reason),
        }
    }

    #[test]
    fn a_buffered_integration_defaults_to_29_seconds() {
        let integration =
            lambda(json!({"type": "aws_proxy", "httpMethod": "POST", "uri": BUFFERED})).unwrap();
        assert_eq!(
            integration,
            Integration {
                function: "UsersFunction".to_owned(),
                transfer_mode: TransferMode::Buffered,
                timeout: Duration::from_secs(29),
            }
        );
    }

    #[test]
    fn a_stream_integration_needs_the_streaming_uri_and_mode() {
        let integration = lambda(json!({
            "type": "AWS_PROXY", "httpMethod": "POST", "uri": STREAM,
            "responseTransferMode": "STREAM", "timeoutInMillis": 900000
        }))
        .unwrap();
        assert_eq!(integration.transfer_mode, TransferMode::Stream);
        assert_eq!(integration.timeout, Duration::from_secs(900));
    }

    #[test]
    fn an_integration_through_an_alias_runs_the_aliased_function() {
        // Given uris that name the function's alias (`${UsersFunctionAliaslive}` once evaluated)
        let buffered = BUFFERED.replace("function:UsersFunction/", "function:UsersFunction:live/");
        let stream = STREAM.replace("function:ExportFunction/", "function:ExportFunction:live/");
        // Then each runs the function the alias belongs to
        let integration =
            lambda(json!({"type": "aws_proxy", "httpMethod": "POST", "uri": buffered})).unwrap();
        assert_eq!(integration.function, "UsersFunction");
        let integration = lambda(json!({
            "type": "aws_proxy", "httpMethod": "POST", "uri": stream,
            "responseTransferMode": "STREAM", "timeoutInMillis": 900000
        }))
        .unwrap();
        assert_eq!(integration.function, "ExportFunction");
        assert_eq!(integration.transfer_mode, TransferMode::Stream);
    }

    #[test]
    fn a_stream_mode_with_a_buffered_uri_is_a_configuration_error() {
        let err = lambda(json!({"type": "aws_proxy", "httpMethod": "POST", "uri": BUFFERED, "responseTransferMode": "STREAM"}))
            .unwrap_err();
        assert!(
            err.contains("STREAM but the uri calls the buffered Invoke API"),
            "{err}"
        );
    }

    #[test]
    fn a_streaming_uri_without_stream_mode_is_a_configuration_error() {
        let err =
            lambda(json!({"type": "aws_proxy", "httpMethod": "POST", "uri": STREAM})).unwrap_err();
        assert!(err.contains("set it to STREAM"), "{err}");
    }

    #[test]
    fn mismatched_api_versions_are_named() {
        let uri = STREAM.replace("2021-11-15", "2015-03-31");
        let err = lambda(json!({"type": "aws_proxy", "httpMethod": "POST", "uri": uri, "responseTransferMode": "STREAM"}))
            .unwrap_err();
        assert!(err.contains("2021-11-15"), "{err}");
    }

    #[test]
    fn an_unknown_function_or_a_get_method_is_rejected() {
        let uri = BUFFERED.replace("UsersFunction", "Ghost");
        let err =
            lambda(json!({"type": "aws_proxy", "httpMethod": "POST", "uri": uri})).unwrap_err();
        assert!(err.contains("`Ghost`"), "{err}");
        let err =
            lambda(json!({"type": "aws_proxy", "httpMethod": "GET", "uri": BUFFERED})).unwrap_err();
        assert!(err.contains("must use POST"), "{err}");
    }

    #[test]
    fn timeouts_are_bounded_and_long_buffered_ones_warn() {
        let err = lambda(json!({"type": "aws_proxy", "httpMethod": "POST", "uri": BUFFERED, "timeoutInMillis": 10})).unwrap_err();
        assert!(err.contains("outside"), "{err}");
        let parsed = parse(
            &json!({"type": "aws_proxy", "httpMethod": "POST", "uri": BUFFERED, "timeoutInMillis": 60000}),
            &functions(),
        )
        .unwrap();
        let Parsed::Lambda(_, warnings) = parsed else {
            panic!()
        };
        assert_eq!(warnings.len(), 1);
    }

    #[test]
    fn other_integration_types_are_skipped_with_a_reason() {
        let parsed = parse(&json!({"type": "mock"}), &functions()).unwrap();
        assert!(matches!(parsed, Parsed::Unsupported(_)));
    }

    #[test]
    fn function_names_come_from_arns_with_or_without_qualifier() {
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:1:function:f:live"),
            Some("f".to_owned())
        );
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:1:function:f"),
            Some("f".to_owned())
        );
        assert_eq!(function_name("plain"), Some("plain".to_owned()));
        assert_eq!(function_name("arn:aws:s3:::bucket"), None);
    }
}
