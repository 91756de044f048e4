//! The streamed response format API Gateway expects from Lambda: a JSON prelude, eight NUL bytes,
//! then the body.
//!
//! ```text
//! {"statusCode":200,"headers":{"content-type":"text/csv"},"cookies":[]}\0\0\0\0\0\0\0\0id,total\n...
//! ```
//!
//! Chunk boundaries carry no meaning (the prelude and delimiter may arrive split or merged with body
//! bytes), so [`PreludeScanner`] scans the accumulated bytes. The delimiter must end within the first
//! 16 KB; a stream without it is answered with 500, as AWS documents. Prelude `headers` with list
//! values (which `lambda_runtime` emits for a header set twice) are a 502 in AWS, reported in the
//! field; the log says why.

use bytes::{Bytes, BytesMut};
use http::header::{HeaderValue, SET_COOKIE};
use http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::headers;

/// How far into the stream the delimiter may end.
pub const PRELUDE_WINDOW: usize = 16 * 1024;
/// The delimiter between prelude and body.
pub const DELIMITER: [u8; 8] = [0; 8];

/// What scanning found so far.
#[derive(Debug, PartialEq, Eq)]
pub enum Scan {
    /// No delimiter yet; more bytes are needed.
    NeedMore,
    /// The prelude (bytes before the delimiter) and the body bytes read past it.
    Found {
        /// The JSON prelude.
        prelude: Bytes,
        /// Body bytes that arrived with the delimiter.
        rest: Bytes,
    },
    /// The first 16 KB hold no delimiter.
    Missing,
}

/// Finds the delimiter across chunk boundaries.
#[derive(Debug, Default)]
pub struct PreludeScanner {
    buffer: BytesMut,
}

impl PreludeScanner {
    /// An empty scanner.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a chunk and scans the bytes not scanned before (plus 7 bytes of overlap, for a
    /// delimiter split across chunks).
    pub fn push(&mut self, chunk: &[u8]) -> Scan {
        let from = self.buffer.len().saturating_sub(DELIMITER.len() - 1);
        self.buffer.extend_from_slice(chunk);
        match memchr::memmem::find(&self.buffer[from..], &DELIMITER).map(|i| i + from) {
            Some(start) if start + DELIMITER.len() <= PRELUDE_WINDOW => {
                let mut buffer = std::mem::take(&mut self.buffer);
                let rest = buffer.split_off(start + DELIMITER.len()).freeze();
                buffer.truncate(start);
                Scan::Found {
                    prelude: buffer.freeze(),
                    rest,
                }
            }
            Some(_) => Scan::Missing,
            None if self.buffer.len() >= PRELUDE_WINDOW => Scan::Missing,
            None => Scan::NeedMore,
        }
    }
}

/// A prelude API Gateway would not accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreludeError {
    /// The status the client gets.
    pub status: StatusCode,
    /// Why, for the log.
    pub reason: String,
}

/// Status and headers from a prelude. A missing `statusCode` means 200; `cookies` become
/// `Set-Cookie` headers; unknown keys are ignored with a warning.
pub fn parse_prelude(prelude: &[u8]) -> Result<(StatusCode, HeaderMap), PreludeError> {
    let malformed = |reason: String| PreludeError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        reason,
    };
    let value: Value = serde_json::from_slice(prelude)
        .map_err(|e| malformed(format!("the prelude is not JSON ({e})")))?;
    let object = value
        .as_object()
        .ok_or_else(|| malformed("the prelude is not a JSON object".to_owned()))?;
    for key in object.keys() {
        if !["statusCode", "headers", "multiValueHeaders", "cookies"].contains(&key.as_str()) {
            tracing::warn!(
                key,
                "ignoring unsupported prelude key (only statusCode, headers, multiValueHeaders, cookies)"
            );
        }
    }
    let status = match object.get("statusCode") {
        None | Some(Value::Null) => StatusCode::OK,
        Some(code) => code
            .as_u64()
            .and_then(|c| u16::try_from(c).ok())
            .and_then(|c| StatusCode::from_u16(c).ok())
            .filter(|c| (100..=599).contains(&c.as_u16()))
            .ok_or_else(|| malformed(format!("prelude statusCode {code} is not an HTTP status")))?,
    };
    let map = |key: &str| match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(other) => Err(malformed(format!(
            "prelude {key} must be an object, found {other}"
        ))),
    };
    let single = map("headers")?;
    if let Some((name, _)) = single.and_then(|h| h.iter().find(|(_, v)| v.is_array())) {
        return Err(PreludeError {
            status: StatusCode::BAD_GATEWAY,
            reason: format!(
                "prelude header `{name}` is a list; API Gateway accepts only single values in `headers` \
                 (use multiValueHeaders, or set the header once)"
            ),
        });
    }
    let mut headers = headers::merge(single, map("multiValueHeaders")?).map_err(malformed)?;
    match object.get("cookies") {
        None | Some(Value::Null) => {}
        Some(Value::Array(cookies)) => {
            for cookie in cookies {
                let value = cookie
                    .as_str()
                    .and_then(|c| HeaderValue::from_str(c).ok())
                    .ok_or_else(|| {
                        malformed(format!("prelude cookie {cookie} is not a valid string"))
                    })?;
                headers.append(SET_COOKIE, value);
            }
        }
        Some(other) => {
            return Err(malformed(format!(
                "prelude cookies must be a list, found {other}"
            )));
        }
    }
    Ok((status, headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delimiter_is_found_when_split_across_chunks() {
        let mut scanner = PreludeScanner::new();
        assert_eq!(scanner.push(br#"{"statusCode":200}"#), Scan::NeedMore);
        assert_eq!(scanner.push(&[0, 0, 0]), Scan::NeedMore);
        assert_eq!(
            scanner.push(&[0, 0, 0, 0, 0, b'h', b'i']),
            Scan::Found {
                prelude: Bytes::from_static(br#"{"statusCode":200}"#),
                rest: Bytes::from_static(b"hi"),
            }
        );
    }

    #[test]
    fn prelude_delimiter_and_body_may_arrive_in_one_chunk() {
        let mut chunk = b"{}".to_vec();
        chunk.extend_from_slice(&DELIMITER);
        chunk.extend_from_slice(b"body\0with nul");
        let Scan::Found { prelude, rest } = PreludeScanner::new().push(&chunk) else {
            panic!("delimiter not found");
        };
        assert_eq!(prelude.as_ref(), b"{}");
        assert_eq!(rest.as_ref(), b"body\0with nul");
    }

    #[test]
    fn the_delimiter_must_end_within_16_kb() {
        let mut scanner = PreludeScanner::new();
        let filler = vec![b' '; PRELUDE_WINDOW - 8];
        assert_eq!(scanner.push(&filler), Scan::NeedMore);
        assert!(matches!(scanner.push(&DELIMITER), Scan::Found { .. }));

        let mut late = PreludeScanner::new();
        assert_eq!(late.push(&vec![b' '; PRELUDE_WINDOW - 7]), Scan::NeedMore);
        assert_eq!(late.push(&DELIMITER), Scan::Missing);

        let mut none = PreludeScanner::new();
        assert_eq!(none.push(&vec![b'x'; PRELUDE_WINDOW]), Scan::Missing);
    }

    #[test]
    fn a_lambda_runtime_prelude_parses_with_cookies_as_set_cookie() {
        let (status, headers) = parse_prelude(
            br#"{"statusCode":201,"headers":{"content-type":"text/csv"},"cookies":["a=1","b=2"]}"#,
        )
        .unwrap();
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(headers["content-type"], "text/csv");
        assert_eq!(headers.get_all("set-cookie").iter().count(), 2);
    }

    #[test]
    fn an_empty_prelude_object_means_200_without_headers() {
        let (status, headers) = parse_prelude(b"{}").unwrap();
        assert_eq!(status, StatusCode::OK);
        assert!(headers.is_empty());
    }

    #[test]
    fn list_valued_headers_are_a_502_and_garbage_a_500() {
        let err = parse_prelude(br#"{"headers":{"x-a":["1","2"]}}"#).unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_GATEWAY);
        assert!(err.reason.contains("`x-a`"));
        assert_eq!(
            parse_prelude(b"nope").unwrap_err().status,
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            parse_prelude(br#"{"statusCode":"x"}"#).unwrap_err().status,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
