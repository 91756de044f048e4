//! Optimistic concurrency over HTTP: a record's version is its strong `ETag` (`"3"`), and a write
//! with `If-Match` only applies to that version.
//!
//! `If-Match: *` asks for any current version, which is the same as sending no header. A weak tag
//! (`W/"3"`) is accepted because some proxies weaken tags on the way back to the client; the version
//! number inside is what matters. A list of several tags cannot name one version, so it is refused.

use lambda_http::Response;
use lambda_http::http::HeaderValue;
use lambda_http::http::header::ETAG;

use crate::Problem;

/// The header a client sends the `ETag` back in.
pub const IF_MATCH: &str = "If-Match";

/// The `ETag` of a record at `version`: `"3"`.
pub fn etag(version: u64) -> HeaderValue {
    // Digits and quotes are always a valid header value.
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// The response with the `ETag` of a record at `version`.
pub fn with_etag<B>(mut response: Response<B>, version: u64) -> Response<B> {
    response.headers_mut().insert(ETAG, etag(version));
    response
}

/// The version an `If-Match` header requires. `None` when there is no header or it is `*`.
/// A value that is not one quoted version number is a 400 on the `If-Match` field.
pub fn parse_if_match(header: Option<&HeaderValue>) -> Result<Option<u64>, Problem> {
    let Some(header) = header else {
        return Ok(None);
    };
    let malformed = || {
        Problem::invalid(
            IF_MATCH,
            "must be `*` or one ETag this API returned, such as \"3\"",
        )
    };
    let text = header.to_str().map_err(|_| malformed())?.trim();
    if text == "*" {
        return Ok(None);
    }
    let tag = text.strip_prefix("W/").unwrap_or(text);
    let digits = tag
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .ok_or_else(malformed)?;
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if !canonical {
        return Err(malformed());
    }
    digits.parse().map(Some).map_err(|_| malformed())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Option<u64>, Problem> {
        parse_if_match(Some(&HeaderValue::from_str(text).unwrap()))
    }

    #[test]
    fn an_etag_is_the_quoted_version() {
        assert_eq!(etag(3), "\"3\"");
        assert_eq!(etag(u64::MAX), format!("\"{}\"", u64::MAX).as_str());
    }

    #[test]
    fn a_strong_or_weak_etag_names_its_version() {
        assert_eq!(parse("\"3\"").unwrap(), Some(3));
        assert_eq!(parse("W/\"3\"").unwrap(), Some(3));
        assert_eq!(parse("  \"42\" ").unwrap(), Some(42));
    }

    #[test]
    fn no_header_or_a_star_requires_no_version() {
        assert_eq!(parse_if_match(None).unwrap(), None);
        assert_eq!(parse("*").unwrap(), None);
    }

    #[test]
    fn anything_else_is_a_400_on_if_match() {
        for text in [
            "3",
            "\"3",
            "\"\"",
            "\"three\"",
            "\"-1\"",
            "\"03\"",
            "\"3\", \"4\"",
            "w/\"3\"",
            "\"99999999999999999999999\"",
        ] {
            let problem = parse(text).unwrap_err();
            assert_eq!(problem.status().as_u16(), 400, "{text}");
            assert_eq!(problem.errors()[0].field, IF_MATCH, "{text}");
        }
        let opaque = HeaderValue::from_bytes(b"\"\xff\"").unwrap();
        assert!(parse_if_match(Some(&opaque)).is_err());
    }

    #[test]
    fn an_etag_parses_back_to_its_version() {
        assert_eq!(parse_if_match(Some(&etag(7))).unwrap(), Some(7));
    }
}
