//! What makes an export response good: a whole NDJSON body (its last line is the `end` trailer of
//! `docs/export.md`), delivered as a stream.
//!
//! Lambda returns at most 6 MB from a buffered invocation
//! (<https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html>), so an export body larger
//! than that can only have come through API Gateway's response streaming: with `--large` the body
//! must be bigger. Timing is the other sign: a streamed body arrives while the function still reads
//! the store, so its last byte comes well after its first, whereas a buffered body leaves only when
//! it is complete and then arrives all at once. Timing is only judged on a body of at least
//! [`TIMED_BYTES`]; a smaller one travels in too few packets to tell.

use std::time::Duration;

use http::StatusCode;

use crate::client::Streamed;

/// Lambda's limit for a buffered response: 6 MB.
pub const BUFFERED_LIMIT_BYTES: u64 = 6 * 1024 * 1024;
/// The smallest body whose timing says whether it was streamed.
pub const TIMED_BYTES: u64 = 1024 * 1024;

/// The trailer that ends an NDJSON export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trailer {
    /// `{"type":"end","count":N}`: the export is whole, with N records.
    End { count: u64 },
    /// `{"type":"next",...}`: the response stopped early (size cap or time limit).
    Next { count: u64 },
}

/// The trailer on the last line of an NDJSON body (or of its last bytes).
pub fn trailer(body: &[u8]) -> Result<Trailer, String> {
    let text = body
        .strip_suffix(b"\n")
        .ok_or_else(|| "the body does not end with a newline: the last record is cut".to_owned())?;
    let last = text.rsplit(|&b| b == b'\n').next().unwrap_or_default();
    let line: serde_json::Value = serde_json::from_slice(last).map_err(|_| {
        format!(
            "the last line is not JSON: {}",
            String::from_utf8_lossy(&last[..last.len().min(120)])
        )
    })?;
    let count = line.get("count").and_then(serde_json::Value::as_u64);
    match (line.get("type").and_then(serde_json::Value::as_str), count) {
        (Some("end"), Some(count)) => Ok(Trailer::End { count }),
        (Some("next"), Some(count)) => Ok(Trailer::Next { count }),
        _ => Err("the last line is a record, not the end trailer: the export was cut".to_owned()),
    }
}

/// Whether `streamed` is a whole NDJSON export that came as a stream; with `large`, also bigger than
/// a buffered response can be. The detail of a pass says what was measured.
pub fn judge(streamed: &Streamed, large: bool) -> Result<String, String> {
    if streamed.status != StatusCode::OK {
        return Err(format!("status {}, expected 200", streamed.status));
    }
    if streamed.media_type != "application/x-ndjson" {
        return Err(format!(
            "Content-Type {:?}, expected application/x-ndjson",
            streamed.media_type
        ));
    }
    let count = match trailer(&streamed.tail)? {
        Trailer::End { count } => count,
        Trailer::Next { count } => {
            return Err(format!(
                "the response stopped early after {count} records (a `next` trailer): larger than one response may carry"
            ));
        }
    };
    let measured = format!(
        "{count} records, {} bytes in {} frames, first byte after {}, last after {}",
        streamed.bytes,
        streamed.frames,
        millis(streamed.first_byte),
        millis(streamed.last_byte)
    );
    if large && streamed.bytes <= BUFFERED_LIMIT_BYTES {
        return Err(format!(
            "{measured}: not larger than Lambda's 6 MB buffered limit; seed the stage first (scripts/seed)"
        ));
    }
    if streamed.bytes < TIMED_BYTES {
        return Ok(format!("{measured} (too small to judge the timing)"));
    }
    let spread = streamed.last_byte.saturating_sub(streamed.first_byte);
    if streamed.frames < 2 || spread * 10 < streamed.last_byte {
        return Err(format!(
            "{measured}: the body came all at once, as a buffered response does, not as a stream"
        ));
    }
    Ok(measured)
}

fn millis(duration: Duration) -> String {
    format!("{} ms", duration.as_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn streamed(bytes: u64, frames: u64, first_ms: u64, last_ms: u64, tail: &str) -> Streamed {
        Streamed {
            status: StatusCode::OK,
            media_type: "application/x-ndjson".to_owned(),
            bytes,
            frames,
            first_byte: Duration::from_millis(first_ms),
            last_byte: Duration::from_millis(last_ms),
            tail: tail.as_bytes().to_vec(),
        }
    }

    const WHOLE: &str = "{\"id\":\"a\"}\n{\"type\":\"end\",\"count\":1}\n";

    #[test]
    fn a_body_that_ends_with_the_end_trailer_is_whole() {
        assert_eq!(trailer(WHOLE.as_bytes()), Ok(Trailer::End { count: 1 }));
    }

    #[test]
    fn a_body_cut_after_a_record_or_inside_one_is_not_whole() {
        assert!(trailer(b"{\"id\":\"a\"}\n").is_err());
        assert!(trailer(b"{\"id\":\"a\"}\n{\"id\":").is_err());
        assert!(trailer(b"").is_err());
    }

    #[test]
    fn a_next_trailer_is_recognised_and_fails_the_check() {
        let tail = "{\"id\":\"a\"}\n{\"type\":\"next\",\"count\":1,\"cursor\":\"c\",\"next\":\"?cursor=c\"}\n";
        assert_eq!(trailer(tail.as_bytes()), Ok(Trailer::Next { count: 1 }));
        assert!(judge(&streamed(2_000_000, 40, 10, 500, tail), false).is_err());
    }

    #[test]
    fn a_large_body_whose_bytes_kept_coming_passes_as_streamed() {
        // Given 7 MB whose first byte came after 20 ms and whose last after 400 ms.
        let verdict = judge(&streamed(7_000_000, 120, 20, 400, WHOLE), true);
        assert!(verdict.is_ok(), "{verdict:?}");
    }

    #[test]
    fn a_large_body_that_came_all_at_once_is_called_buffered() {
        // Given 2 MB that arrived within the last 5 % of the time, as after a buffered invocation.
        let verdict = judge(&streamed(2_000_000, 30, 950, 1_000, WHOLE), false);
        assert!(verdict.unwrap_err().contains("buffered"));
        // And the same in one frame.
        assert!(judge(&streamed(2_000_000, 1, 10, 1_000, WHOLE), false).is_err());
    }

    #[test]
    fn with_large_a_body_within_the_buffered_limit_fails() {
        let verdict = judge(&streamed(5_000_000, 100, 10, 400, WHOLE), true);
        assert!(verdict.unwrap_err().contains("6 MB"));
    }

    #[test]
    fn a_small_body_passes_without_a_timing_verdict() {
        let verdict = judge(&streamed(300, 1, 30, 30, WHOLE), false).unwrap();
        assert!(verdict.contains("too small"), "{verdict}");
    }

    #[test]
    fn a_status_or_media_type_other_than_an_ndjson_200_fails() {
        let mut refused = streamed(300, 1, 30, 30, WHOLE);
        refused.status = StatusCode::FORBIDDEN;
        assert!(judge(&refused, false).is_err());
        let mut csv = streamed(300, 1, 30, 30, WHOLE);
        csv.media_type = "text/csv".to_owned();
        assert!(judge(&csv, false).is_err());
    }
}
