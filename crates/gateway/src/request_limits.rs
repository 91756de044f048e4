//! API Gateway's size quotas on the request head: the URL and the headers, checked before anything
//! else so that a request AWS would refuse never reaches a function locally either.
//!
//! The numbers are those of "Quotas for configuring and running a REST API in API Gateway"
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html>):
//!
//! - "Length, in characters, of the URL for a regional API": 10 240 (8 192 for edge-optimized and
//!   private APIs). The template's API is `REGIONAL`. Locally the URL is the request target (path
//!   and query as sent), since scheme and host are not the client's to choose.
//! - "Total combined size of all header values, including header names, values, any line
//!   terminators, and white space": 10 240 bytes (8 000 for private APIs).
//!
//! The HTTP server (hyper) has limits of its own that it enforces before any of this code runs,
//! answering with an empty body: it is configured here ([`configure`]) so that those limits sit
//! above API Gateway's, and the client gets API Gateway's status with a JSON message instead. Only
//! what no configuration reaches is left to hyper: a request target over 64 KiB (the `http` crate's
//! hard limit on a URI, 414) and a head over [`SERVER_BUFFER`] (431).

use http::{HeaderMap, Uri};
use hyper::server::conn::http1;

use crate::response::GatewayResponse;

/// The longest URL (request target) a regional REST API accepts, in characters.
pub const MAX_URL_LENGTH: usize = 10_240;
/// The most bytes the request headers may take together: names, values, `: ` and line ends.
pub const MAX_HEADER_BYTES: usize = 10_240;
/// The HTTP server's read buffer, which bounds a request head: hyper's default (about 400 KB), far
/// above the two quotas together, so that a head API Gateway would refuse is read and refused here
/// with a message unless it is absurdly large.
pub const SERVER_BUFFER: usize = 8192 + 4096 * 100;
/// The most headers the HTTP server parses. The shortest header line (`a:` and its line end) is
/// four bytes, so no header block within [`MAX_HEADER_BYTES`] has more.
pub const SERVER_MAX_HEADERS: usize = MAX_HEADER_BYTES / 4;

/// Sets the HTTP server's own head limits above API Gateway's (see the module docs).
pub fn configure(builder: &mut http1::Builder) -> &mut http1::Builder {
    builder
        .max_buf_size(SERVER_BUFFER)
        .max_headers(SERVER_MAX_HEADERS)
}

/// Refuses a request whose URL or headers exceed API Gateway's quotas.
pub fn check(uri: &Uri, headers: &HeaderMap) -> Result<(), GatewayResponse> {
    let target = uri.path_and_query().map_or(0, |p| p.as_str().len());
    if target > MAX_URL_LENGTH {
        tracing::warn!(
            length = target,
            limit = MAX_URL_LENGTH,
            "the URL exceeds API Gateway's quota"
        );
        return Err(GatewayResponse::uri_too_long());
    }
    let header_bytes = header_block_size(headers);
    if header_bytes > MAX_HEADER_BYTES {
        tracing::warn!(
            bytes = header_bytes,
            limit = MAX_HEADER_BYTES,
            "the request headers exceed API Gateway's quota"
        );
        return Err(GatewayResponse::request_header_fields_too_large());
    }
    Ok(())
}

/// The size of the header block as sent: `name: value\r\n` per header.
fn header_block_size(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + 2 + value.len() + 2)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, String)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| (name.parse().unwrap(), value.parse().unwrap()))
            .collect()
    }

    #[test]
    fn a_header_block_counts_names_values_separators_and_line_ends() {
        let block = headers(&[("host", "a".to_owned()), ("x-y", "bc".to_owned())]);
        assert_eq!(header_block_size(&block), "host: a\r\nx-y: bc\r\n".len());
    }

    #[test]
    fn headers_up_to_the_quota_pass_and_one_byte_more_is_a_431() {
        // "x-padding: " and "\r\n" take 13 bytes.
        let at_limit = headers(&[("x-padding", "p".repeat(MAX_HEADER_BYTES - 13))]);
        assert_eq!(header_block_size(&at_limit), MAX_HEADER_BYTES);
        let uri: Uri = "/dev/users".parse().unwrap();
        assert!(check(&uri, &at_limit).is_ok());
        let over = headers(&[("x-padding", "p".repeat(MAX_HEADER_BYTES - 12))]);
        let refused = check(&uri, &over).unwrap_err();
        assert_eq!(refused.status, 431);
        assert_eq!(refused.message, "Request Header Fields Too Large");
    }

    #[test]
    fn a_url_up_to_the_quota_passes_and_one_character_more_is_a_414() {
        let prefix = "/dev/users?limit=";
        let at_limit: Uri = format!("{prefix}{}", "9".repeat(MAX_URL_LENGTH - prefix.len()))
            .parse()
            .unwrap();
        assert!(check(&at_limit, &HeaderMap::new()).is_ok());
        let over: Uri = format!("{prefix}{}", "9".repeat(MAX_URL_LENGTH - prefix.len() + 1))
            .parse()
            .unwrap();
        let refused = check(&over, &HeaderMap::new()).unwrap_err();
        assert_eq!(refused.status, 414);
        assert_eq!(refused.message, "Request-URI Too Long");
    }

    #[test]
    fn the_servers_own_limits_sit_above_the_quotas() {
        const { assert!(SERVER_BUFFER > MAX_URL_LENGTH + MAX_HEADER_BYTES + 1024) };
        assert_eq!(SERVER_MAX_HEADERS * 4, MAX_HEADER_BYTES);
    }
}
