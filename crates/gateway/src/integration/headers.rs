//! Header rules shared by buffered and streamed responses: how `headers` and `multiValueHeaders`
//! merge, and which headers the gateway owns.

use http::HeaderMap;
use http::header::{self, HeaderName, HeaderValue};
use serde_json::{Map, Value};

use crate::template::intrinsics::scalar_string;

/// Builds response headers from a function's `headers` (single values) and `multiValueHeaders`.
/// When a name appears in both, only the `multiValueHeaders` values survive, as in API Gateway.
/// Connection-level headers are dropped: the gateway frames the response itself.
pub fn merge(
    single: Option<&Map<String, Value>>,
    multi: Option<&Map<String, Value>>,
) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::new();
    if let Some(single) = single {
        for (name, value) in single {
            if value.is_null() {
                continue;
            }
            let value = scalar_string(value)
                .ok_or_else(|| format!("header `{name}` is not a single value: {value}"))?;
            append(&mut headers, name, &value)?;
        }
    }
    if let Some(multi) = multi {
        for (name, values) in multi {
            let parsed = parse_name(name)?;
            headers.remove(&parsed);
            let values = match values {
                Value::Array(values) => values.as_slice(),
                Value::Null => continue,
                other => return Err(format!("multiValueHeaders `{name}` is not a list: {other}")),
            };
            for value in values {
                let value = scalar_string(value)
                    .ok_or_else(|| format!("multiValueHeaders `{name}` holds {value}"))?;
                append(&mut headers, name, &value)?;
            }
        }
    }
    for hop in [
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        header::TE,
        header::TRAILER,
        HeaderName::from_static("keep-alive"),
        HeaderName::from_static("proxy-connection"),
    ] {
        headers.remove(hop);
    }
    Ok(headers)
}

fn parse_name(name: &str) -> Result<HeaderName, String> {
    HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("`{name}` is not a valid header name"))
}

fn append(headers: &mut HeaderMap, name: &str, value: &str) -> Result<(), String> {
    let value = HeaderValue::from_str(value)
        .map_err(|_| format!("header `{name}` has an invalid value"))?;
    headers.append(parse_name(name)?, value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn multi_value_headers_win_over_headers_of_the_same_name() {
        let single = json!({"X-Both": "single", "X-Only": "one", "Content-Length": 12});
        let multi = json!({"x-both": ["m1", "m2"], "Set-Cookie": ["a=1", "b=2"]});
        let headers = merge(single.as_object(), multi.as_object()).unwrap();
        let both: Vec<_> = headers.get_all("x-both").iter().collect();
        assert_eq!(both, ["m1", "m2"]);
        assert_eq!(headers["x-only"], "one");
        assert_eq!(headers["content-length"], "12");
        assert_eq!(headers.get_all("set-cookie").iter().count(), 2);
    }

    #[test]
    fn connection_headers_are_dropped_and_bad_values_rejected() {
        let single = json!({"Connection": "close", "Transfer-Encoding": "chunked", "X-Ok": "1"});
        let headers = merge(single.as_object(), None).unwrap();
        assert_eq!(headers.len(), 1);
        assert!(merge(json!({"X": ["a"]}).as_object(), None).is_err());
        assert!(merge(json!({"Bad Name": "a"}).as_object(), None).is_err());
        assert!(merge(None, json!({"X": "not a list"}).as_object()).is_err());
    }
}
