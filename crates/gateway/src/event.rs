//! Builds the Lambda proxy event (REST API, payload format 1.0) for one request, field for field as
//! API Gateway sends it.
//!
//! The details that matter to real functions: `path` has no stage but `requestContext.path` does;
//! `httpMethod` appears at the top and in `requestContext` (lambda_http needs both to recognise a
//! REST event); absent maps are `null`, not `{}`; `headers` and `queryStringParameters` keep the last
//! value of a repeated name while the `multiValue*` maps keep all of them; a body that is binary (by
//! `binaryMediaTypes`, or because it is not UTF-8) is base64 with `isBase64Encoded: true`.

use std::net::IpAddr;

use base64::Engine as _;
use http::HeaderMap;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::config::{Route, media_type_matches};
use crate::request::{CallerIdentity, Query, RoutedRequest};
use crate::template::intrinsics::LOCAL_ACCOUNT_ID;

/// Everything the event is made of.
#[derive(Debug)]
pub struct EventInput<'a> {
    /// The matched route.
    pub route: &'a Route,
    /// The routed request, its headers including the ones the gateway adds (`X-Forwarded-*`).
    pub request: &'a RoutedRequest,
    /// Stage name.
    pub stage: &'a str,
    /// REST API id.
    pub api_id: &'a str,
    /// Request id (`requestContext.requestId`).
    pub request_id: &'a str,
    /// Client address.
    pub source_ip: IpAddr,
    /// When the request arrived.
    pub received_at: OffsetDateTime,
    /// Who signed the request, when it was signed.
    pub identity: &'a CallerIdentity,
    /// The API's `binaryMediaTypes`.
    pub binary_media_types: &'a [String],
}

/// Builds the event.
pub fn build(input: &EventInput<'_>) -> Value {
    let request = input.request;
    let path = if request.path.is_empty() {
        "/"
    } else {
        request.path.as_str()
    };
    let (headers, multi_value_headers) = header_maps(&request.headers);
    let (query, multi_value_query) = query_maps(&request.query);
    let path_parameters = if request.path_parameters.is_empty() {
        Value::Null
    } else {
        Value::Object(
            request
                .path_parameters
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        )
    };
    let (body, is_base64_encoded) = body(&request.body, &request.headers, input.binary_media_types);
    let user_agent = request
        .headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let domain_name = request
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let method = request.method.as_str();
    let identity = input.identity;
    json!({
        "resource": input.route.resource_path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": multi_value_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_value_query,
        "pathParameters": path_parameters,
        "stageVariables": null,
        "requestContext": {
            "resourceId": resource_id(&input.route.resource_path),
            "resourcePath": input.route.resource_path,
            "httpMethod": method,
            "extendedRequestId": extended_request_id(input.request_id),
            "requestTime": request_time(input.received_at),
            "path": format!("/{}{}", input.stage, path),
            "accountId": LOCAL_ACCOUNT_ID,
            "protocol": "HTTP/1.1",
            "stage": input.stage,
            "domainPrefix": input.api_id,
            "requestTimeEpoch": (input.received_at.unix_timestamp_nanos() / 1_000_000) as i64,
            "requestId": input.request_id,
            "identity": {
                "cognitoIdentityPoolId": null,
                "accountId": identity.account_id,
                "cognitoIdentityId": null,
                "caller": identity.caller,
                "apiKey": null,
                "apiKeyId": null,
                "sourceIp": input.source_ip.to_string(),
                "principalOrgId": null,
                "accessKey": identity.access_key,
                "cognitoAuthenticationType": null,
                "cognitoAuthenticationProvider": null,
                "userArn": identity.user_arn,
                "userAgent": user_agent,
                "user": identity.user,
            },
            "domainName": domain_name,
            "apiId": input.api_id,
        },
        "body": body,
        "isBase64Encoded": is_base64_encoded,
    })
}

/// `headers` (last value wins) and `multiValueHeaders` (all values), or `null` for no headers.
fn header_maps(headers: &HeaderMap) -> (Value, Value) {
    if headers.is_empty() {
        return (Value::Null, Value::Null);
    }
    let mut single = Map::new();
    let mut multi = Map::new();
    for name in headers.keys() {
        let values: Vec<Value> = headers
            .get_all(name)
            .iter()
            .map(|v| Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        if let Some(last) = values.last() {
            single.insert(name.as_str().to_owned(), last.clone());
        }
        multi.insert(name.as_str().to_owned(), Value::Array(values));
    }
    (Value::Object(single), Value::Object(multi))
}

/// `queryStringParameters` (last value wins) and `multiValueQueryStringParameters`, or `null` when
/// the query is empty. Names and values are percent-decoded; `+` is kept as is.
fn query_maps(query: &Query) -> (Value, Value) {
    let mut multi: Map<String, Value> = Map::new();
    for parameter in query.parameters() {
        let entry = multi
            .entry(parameter.name_text().into_owned())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(values) = entry {
            values.push(Value::String(parameter.value_text().into_owned()));
        }
    }
    if multi.is_empty() {
        return (Value::Null, Value::Null);
    }
    let single = multi
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_array()
                    .and_then(|a| a.last())
                    .cloned()
                    .unwrap_or(Value::Null),
            )
        })
        .collect();
    (Value::Object(single), Value::Object(multi))
}

fn body(body: &[u8], headers: &HeaderMap, binary_media_types: &[String]) -> (Value, bool) {
    if body.is_empty() {
        return (Value::Null, false);
    }
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let binary = content_type.is_some_and(|ct| media_type_matches(binary_media_types, ct));
    match std::str::from_utf8(body) {
        Ok(text) if !binary => (Value::String(text.to_owned()), false),
        _ => (
            Value::String(base64::engine::general_purpose::STANDARD.encode(body)),
            true,
        ),
    }
}

/// `requestTime`, as in `09/Jul/2020:02:32:05 +0000`.
pub fn request_time(at: OffsetDateTime) -> String {
    let format =
        format_description!("[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000");
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

/// A 6-character resource id derived from the resource path, stable across restarts like AWS's.
fn resource_id(resource_path: &str) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in resource_path.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..6)
        .map(|_| {
            let c = ALPHABET[(hash % 36) as usize] as char;
            hash /= 36;
            c
        })
        .collect()
}

/// An `extendedRequestId` in AWS's shape (16 characters ending in `=`), derived from the request id.
fn extended_request_id(request_id: &str) -> String {
    let compact: String = request_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let mut id: String = compact.chars().rev().take(15).collect();
    id.push('=');
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn request_time_uses_apache_log_format_in_utc() {
        assert_eq!(
            request_time(datetime!(2020-07-09 02:32:05.160 UTC)),
            "09/Jul/2020:02:32:05 +0000"
        );
        assert_eq!(
            request_time(datetime!(2020-07-09 04:32:05 +2)),
            "09/Jul/2020:02:32:05 +0000"
        );
    }

    #[test]
    fn repeated_query_names_keep_the_last_value_and_all_values() {
        let query_maps = |raw: Option<&str>| query_maps(&Query::parse(raw.unwrap_or("")));
        let (single, multi) = query_maps(Some("x=1&x=2&flag&name=a%20b+c&&"));
        assert_eq!(single, json!({"x": "2", "flag": "", "name": "a b+c"}));
        assert_eq!(
            multi,
            json!({"x": ["1", "2"], "flag": [""], "name": ["a b+c"]})
        );
        assert_eq!(query_maps(Some("")), (Value::Null, Value::Null));
        assert_eq!(query_maps(None), (Value::Null, Value::Null));
    }

    #[test]
    fn bodies_are_text_unless_binary_by_type_or_by_content() {
        let mut headers = HeaderMap::new();
        assert_eq!(body(b"", &headers, &[]), (Value::Null, false));
        assert_eq!(body(b"{}", &headers, &[]), (json!("{}"), false));
        assert_eq!(body(&[0xff, 0x00], &headers, &[]), (json!("/wA="), true));
        headers.insert(http::header::CONTENT_TYPE, "image/png".parse().unwrap());
        assert_eq!(
            body(b"png", &headers, &["image/png".to_owned()]),
            (json!("cG5n"), true)
        );
    }
}
