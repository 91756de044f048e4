//! The canonical request: the exact bytes both sides hash, rebuilt from the request as received.
//!
//! This follows what AWS front ends do for non-S3 services, which is not always what the signing
//! documentation suggests, so each rule names its evidence:
//!
//! * **Path.** The raw path (as it arrived, still percent-encoded) has its dot segments and empty
//!   segments removed and is then URI-encoded *once more*: every byte outside the RFC 3986
//!   unreserved set and `/` becomes `%XX`, including the `%` of existing escapes. So the raw path
//!   `/dev/a%2Fb` signs as `/dev/a%252Fb`. This is the "double encoding" AWS documents for
//!   everything but S3: clients encode the path once to send it and once more to sign it. Real
//!   API Gateway responses show it (`/dev/mypath%252Fnext`), and AWS's own test vector
//!   `double-encode-path` turns `/test/@connections/JBDvjfGEIAMCERw%3D` into
//!   `/test/%40connections/JBDvjfGEIAMCERw%253D`.
//! * **Query.** Each `name=value` pair is percent-decoded and re-encoded with the unreserved set,
//!   then pairs are sorted by encoded name and then value. A name without `=` has the empty value
//!   (`name=`). `+` is a literal plus (`%2B`), not a space: SigV4 requires spaces as `%20`, and
//!   the AWS SDKs never send `+` for a space. The gateway must decode `+` the same way when it
//!   builds the event, or a signed `+` could be read as something the client did not sign.
//! * **Headers.** Only the headers the client listed in `SignedHeaders`, lowercased, in the
//!   client's order; each value trimmed of spaces with inner runs of spaces folded to one, and
//!   repeated headers joined with `,`. A listed header that is absent contributes an empty value,
//!   which simply fails to match.
//! * **Payload.** The SHA-256 of the body actually received. `x-amz-content-sha256` is an ordinary
//!   header here (signed if listed) and never replaces the hash; `UNSIGNED-PAYLOAD` is an S3
//!   feature and fails like any other wrong hash.

use sha2::{Digest, Sha256};

use crate::request::QueryParameter;

/// The RFC 3986 unreserved characters, which SigV4 never encodes.
fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~')
}

/// AWS `UriEncode`: every byte except the unreserved ones (and `/` when `keep_slash`) as `%XX`
/// with upper-case hex.
pub(crate) fn uri_encode(bytes: &[u8], keep_slash: bool) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len());
    for &byte in bytes {
        if is_unreserved(byte) || (keep_slash && byte == b'/') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    out
}

/// The canonical URI of a raw request path (see the module docs).
pub(crate) fn canonical_uri(raw_path: &str) -> String {
    uri_encode(normalize_path(raw_path).as_bytes(), true)
}

/// RFC 3986 dot-segment removal plus removal of empty segments; keeps a trailing slash.
fn normalize_path(raw_path: &str) -> String {
    if raw_path.is_empty() || raw_path == "/" {
        return "/".to_owned();
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in raw_path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let trailing_slash = ["/", "/.", "/.."]
        .iter()
        .any(|ending| raw_path.ends_with(ending));
    let mut normalized = String::with_capacity(raw_path.len() + 1);
    normalized.push('/');
    normalized.push_str(&segments.join("/"));
    if trailing_slash && !normalized.ends_with('/') {
        normalized.push('/');
    }
    normalized
}

/// The canonical query string, leaving out `X-Amz-Signature` (which cannot sign itself).
pub(crate) fn canonical_query(parameters: &[QueryParameter]) -> String {
    let mut encoded: Vec<(String, String)> = parameters
        .iter()
        .filter(|parameter| parameter.name != b"X-Amz-Signature")
        .map(|parameter| {
            (
                uri_encode(&parameter.name, false),
                uri_encode(&parameter.value, false),
            )
        })
        .collect();
    encoded.sort();
    encoded
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Folds a header value the SigV4 way: trims spaces and collapses inner runs of spaces to one.
fn fold_header_value(value: &[u8]) -> Vec<u8> {
    let start = value.iter().position(|&b| b != b' ').unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|&b| b != b' ')
        .map_or(start, |i| i + 1);
    let mut out = Vec::with_capacity(end - start);
    for &byte in &value[start..end] {
        if byte == b' ' && out.last() == Some(&b' ') {
            continue;
        }
        out.push(byte);
    }
    out
}

/// The canonical header block (one `name:value\n` line per signed header).
pub(crate) fn canonical_headers(headers: &http::HeaderMap, signed_headers: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    for name in signed_headers {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        let mut first = true;
        for value in headers.get_all(name.as_str()) {
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(&fold_header_value(value.as_bytes()));
        }
        out.push(b'\n');
    }
    out
}

/// Lower-case hex SHA-256.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// The parts of a canonical request that do not come from the request line.
#[derive(Debug)]
pub(crate) struct CanonicalInput<'a> {
    pub(crate) method: &'a str,
    pub(crate) raw_path: &'a str,
    pub(crate) query: &'a [QueryParameter],
    pub(crate) headers: &'a http::HeaderMap,
    pub(crate) signed_headers: &'a [String],
    pub(crate) body: &'a [u8],
}

/// Builds the canonical request bytes.
pub(crate) fn canonical_request(input: &CanonicalInput<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(input.method.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_uri(input.raw_path).as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_query(input.query).as_bytes());
    out.push(b'\n');
    out.extend_from_slice(&canonical_headers(input.headers, input.signed_headers));
    out.push(b'\n');
    out.extend_from_slice(input.signed_headers.join(";").as_bytes());
    out.push(b'\n');
    out.extend_from_slice(sha256_hex(input.body).as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{Query, percent_decode};

    fn parse_query(raw: &str) -> Vec<QueryParameter> {
        Query::parse(raw).parameters().to_vec()
    }

    #[test]
    fn paths_are_encoded_a_second_time() {
        assert_eq!(canonical_uri("/dev/mypath%2Fnext"), "/dev/mypath%252Fnext");
        assert_eq!(
            canonical_uri("/test/@connections/JBDvjfGEIAMCERw%3D"),
            "/test/%40connections/JBDvjfGEIAMCERw%253D"
        );
        assert_eq!(canonical_uri("/a+b/caf%C3%A9"), "/a%2Bb/caf%25C3%25A9");
    }

    #[test]
    fn paths_lose_dot_and_empty_segments_but_keep_a_trailing_slash() {
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/a/./b/../c/"), "/a/c/");
        assert_eq!(canonical_uri("//a//b"), "/a/b");
        assert_eq!(canonical_uri("/a/.."), "/");
    }

    #[test]
    fn queries_are_decoded_reencoded_and_sorted() {
        let query = parse_query("b=2&a=z&a=y&%e1%88%b4=x&empty&plus=a+b&sp=a%20b&&r=%2F%3F");
        assert_eq!(
            canonical_query(&query),
            "%E1%88%B4=x&a=y&a=z&b=2&empty=&plus=a%2Bb&r=%2F%3F&sp=a%20b"
        );
    }

    #[test]
    fn the_signature_parameter_is_left_out_of_the_canonical_query() {
        let query = parse_query("X-Amz-Signature=abc&X-Amz-Date=1");
        assert_eq!(canonical_query(&query), "X-Amz-Date=1");
    }

    #[test]
    fn malformed_escapes_are_kept_literally() {
        assert_eq!(percent_decode("100%"), b"100%");
        assert_eq!(percent_decode("%zz%4"), b"%zz%4");
        assert_eq!(percent_decode("%41%42"), b"AB");
    }

    #[test]
    fn header_values_are_trimmed_folded_and_joined() {
        let mut headers = http::HeaderMap::new();
        headers.append("my-header", "  a   b  ".parse().unwrap());
        headers.append("my-header", "c".parse().unwrap());
        let block = canonical_headers(&headers, &["my-header".to_owned()]);
        assert_eq!(block, b"my-header:a b,c\n");
    }
}
