//! The parts of a request that validation looks at, and API Gateway's presence rule for required
//! parameters: a required parameter must be "included and not blank"; its type or format is never
//! checked (that is the function's job).

use std::collections::BTreeMap;

use http::HeaderMap;

use super::spec::{ParameterLocation, RequiredParameter};

/// A request as the gateway received and routed it.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The raw query string, without `?` (empty when there is none).
    pub raw_query: &'a str,
    /// The path parameters the route matched, by template name (`{userId}` → `userId`).
    pub path_parameters: &'a BTreeMap<String, String>,
    /// The complete body.
    pub body: &'a [u8],
}

impl RequestParts<'_> {
    /// Whether `parameter` is present with a non-blank value.
    pub(crate) fn has(&self, parameter: &RequiredParameter) -> bool {
        let name = parameter.name.as_str();
        match parameter.location {
            ParameterLocation::Header => self
                .headers
                .get_all(name)
                .iter()
                .any(|value| !value.as_bytes().trim_ascii().is_empty()),
            ParameterLocation::Path => self
                .path_parameters
                .get(name)
                .is_some_and(|value| !value.trim().is_empty()),
            ParameterLocation::QueryString => self
                .query_pairs()
                .any(|(key, value)| key == name && !value.trim().is_empty()),
        }
    }

    /// The first value of query parameter `name`.
    pub(crate) fn query_value(&self, name: &str) -> Option<String> {
        self.query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    /// Decoded `name=value` pairs (`%XX` decoded; `+` is kept as a literal plus, the same rule the
    /// SigV4 verifier applies to what was signed).
    fn query_pairs(&self) -> impl Iterator<Item = (String, String)> + '_ {
        self.raw_query
            .split('&')
            .filter(|piece| !piece.is_empty())
            .map(|piece| {
                let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
                (percent_decode(name), percent_decode(value))
            })
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(high << 4 | low);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|digit| u8::try_from(digit).ok())
}
