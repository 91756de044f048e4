//! One request as the gateway routed it, parsed once and read by every stage after routing: the
//! SigV4 guard, request validation, the gateway-response templates and the proxy event.
//!
//! Each stage used to take the request apart again (its own struct, its own query parser), and the
//! parsers disagreed in small ways that only show on odd input. Here the query string is split and
//! percent-decoded once, with the rules all of them share: pieces split on `&`, empty pieces
//! skipped, a piece without `=` has the empty value, `%XX` decoded, and `+` kept as a literal plus
//! (API Gateway passes `+` through to the function, and SigV4 signs it as `%2B`). The raw query
//! stays beside the parsed one because a signature covers the bytes as sent.

use std::collections::BTreeMap;

use bytes::Bytes;
use http::{HeaderMap, Method};

/// A routed request: what arrived, plus the path parameters the route matched.
#[derive(Debug, Clone)]
pub struct RoutedRequest {
    /// The method.
    pub method: Method,
    /// The path as received, stage included, still percent-encoded (`/dev/users/a%20b`): what a
    /// SigV4 signature covers.
    pub raw_path: String,
    /// The path after the stage, still percent-encoded (`/users/a%20b`; empty for the stage root).
    pub path: String,
    /// Decoded path parameter values by name (`{userId}` -> `userId`, `{proxy+}` -> `proxy`).
    pub path_parameters: BTreeMap<String, String>,
    /// The query string, parsed, with its raw form.
    pub query: Query,
    /// The headers as received.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl RoutedRequest {
    /// A request as it arrived, before routing (no path parameters; `path` is the raw path), for
    /// checking a signature on its own.
    pub fn received(
        method: Method,
        raw_path: &str,
        raw_query: &str,
        headers: HeaderMap,
        body: impl Into<Bytes>,
    ) -> Self {
        Self {
            method,
            raw_path: raw_path.to_owned(),
            path: raw_path.to_owned(),
            path_parameters: BTreeMap::new(),
            query: Query::parse(raw_query),
            headers,
            body: body.into(),
        }
    }

    /// A request with only the parts request validation and gateway-response templates read (the
    /// method is `GET` and the paths are empty), for checking those stages on their own.
    pub fn for_validation(
        headers: HeaderMap,
        raw_query: &str,
        path_parameters: BTreeMap<String, String>,
        body: impl Into<Bytes>,
    ) -> Self {
        Self {
            method: Method::GET,
            raw_path: String::new(),
            path: String::new(),
            path_parameters,
            query: Query::parse(raw_query),
            headers,
            body: body.into(),
        }
    }

    /// The decoded path after the stage (`/users/a b`).
    pub fn decoded_path(&self) -> String {
        decode(&self.path)
    }
}

/// A query string, split into decoded parameters in order, with the raw form kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    raw: String,
    parameters: Vec<QueryParameter>,
}

/// One query parameter, percent-decoded to bytes (a value need not be UTF-8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryParameter {
    /// The decoded name.
    pub name: Vec<u8>,
    /// The decoded value.
    pub value: Vec<u8>,
}

impl QueryParameter {
    /// The name as text (invalid UTF-8 replaced).
    pub fn name_text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.name)
    }

    /// The value as text (invalid UTF-8 replaced).
    pub fn value_text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.value)
    }
}

impl Query {
    /// Parses a raw query string (without the `?`).
    pub fn parse(raw: &str) -> Self {
        let parameters = raw
            .split('&')
            .filter(|piece| !piece.is_empty())
            .map(|piece| {
                let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
                QueryParameter {
                    name: percent_decode(name),
                    value: percent_decode(value),
                }
            })
            .collect();
        Self {
            raw: raw.to_owned(),
            parameters,
        }
    }

    /// The query string exactly as received, without the `?` (empty when there is none).
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// Every parameter, in the order sent.
    pub fn parameters(&self) -> &[QueryParameter] {
        &self.parameters
    }

    /// Whether there is no parameter.
    pub fn is_empty(&self) -> bool {
        self.parameters.is_empty()
    }

    /// The decoded value of the first parameter called `name` (names are case-sensitive).
    pub fn first(&self, name: &str) -> Option<String> {
        self.parameters
            .iter()
            .find(|parameter| parameter.name == name.as_bytes())
            .map(|parameter| parameter.value_text().into_owned())
    }
}

/// The caller, as IAM authorization establishes it, for `requestContext.identity` (all `None` for
/// an unsigned request).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallerIdentity {
    /// `requestContext.identity.accessKey`.
    pub access_key: Option<String>,
    /// `requestContext.identity.accountId`.
    pub account_id: Option<String>,
    /// `requestContext.identity.caller`.
    pub caller: Option<String>,
    /// `requestContext.identity.user`.
    pub user: Option<String>,
    /// `requestContext.identity.userArn`.
    pub user_arn: Option<String>,
}

/// Percent-decodes `text` to bytes: `%XX` with two hex digits is decoded, anything else (a lone
/// `%`, `%zz`, `+`) is kept as is.
pub fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(high), Some(low)) = (hex_value(bytes[i + 1]), hex_value(bytes[i + 2]))
        {
            out.push(high << 4 | low);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// Percent-decodes a path segment or query piece to text; invalid UTF-8 is replaced rather than
/// rejected.
pub fn decode(text: &str) -> String {
    match String::from_utf8(percent_decode(text)) {
        Ok(text) => text,
        Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
    }
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_is_split_once_with_plus_kept_and_empty_pieces_skipped() {
        let query = Query::parse("x=1&x=2&flag&name=a%20b+c&&");
        assert_eq!(query.raw(), "x=1&x=2&flag&name=a%20b+c&&");
        let pairs: Vec<(String, String)> = query
            .parameters()
            .iter()
            .map(|p| (p.name_text().into_owned(), p.value_text().into_owned()))
            .collect();
        assert_eq!(
            pairs,
            [("x", "1"), ("x", "2"), ("flag", ""), ("name", "a b+c")]
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
        );
        assert_eq!(query.first("x").as_deref(), Some("1"));
        assert!(Query::parse("").is_empty());
    }

    #[test]
    fn percent_decoding_keeps_what_is_not_an_escape() {
        assert_eq!(percent_decode("100%"), b"100%");
        assert_eq!(percent_decode("%zz%4"), b"%zz%4");
        assert_eq!(percent_decode("%41%42"), b"AB");
        assert_eq!(decode("a%2Fb%20c"), "a/b c");
        assert_eq!(decode("%ff"), "\u{fffd}");
    }
}
