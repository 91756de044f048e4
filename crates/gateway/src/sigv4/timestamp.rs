//! The request time of a signature: where it comes from, how it is parsed and how AWS prints it.
//!
//! SigV4 takes the time from `X-Amz-Date` (header, or query parameter when presigned) and falls
//! back to the `Date` header. The string-to-sign and every error message use the ISO 8601 "basic
//! format" `YYYYMMDD'T'HHMMSS'Z'`, whole seconds, UTC.

use std::time::SystemTime;

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

const ISO_BASIC: &[BorrowedFormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");
const SCOPE_DATE: &[BorrowedFormatItem<'static>] = format_description!("[year][month][day]");
/// RFC 9110 `IMF-fixdate`, the only `Date` format HTTP/1.1 senders may generate.
const IMF_FIXDATE: &[BorrowedFormatItem<'static>] = format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);

/// A request time in whole seconds, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct RequestTime(OffsetDateTime);

impl RequestTime {
    /// `now`, truncated to whole seconds as SigV4 times are.
    pub(crate) fn from_system_time(now: SystemTime) -> Self {
        let time = OffsetDateTime::from(now);
        Self(time.replace_nanosecond(0).unwrap_or(time))
    }

    /// Parses `X-Amz-Date`: ISO 8601 basic format only.
    pub(crate) fn parse_amz_date(value: &str) -> Option<Self> {
        PrimitiveDateTime::parse(value, ISO_BASIC)
            .ok()
            .map(|t| Self(t.assume_utc()))
    }

    /// Parses a `Date` header: ISO 8601 basic format or RFC 9110 IMF-fixdate.
    pub(crate) fn parse_date_header(value: &str) -> Option<Self> {
        Self::parse_amz_date(value).or_else(|| {
            PrimitiveDateTime::parse(value, IMF_FIXDATE)
                .ok()
                .map(|t| Self(t.assume_utc()))
        })
    }

    /// `YYYYMMDD'T'HHMMSS'Z'`.
    pub(crate) fn iso_basic(self) -> String {
        self.0
            .format(ISO_BASIC)
            .expect("a UTC date-time in the supported year range formats as ISO 8601 basic")
    }

    /// `YYYYMMDD`, the date element of a credential scope.
    pub(crate) fn scope_date(self) -> String {
        self.0
            .format(SCOPE_DATE)
            .expect("a UTC date formats as YYYYMMDD")
    }

    pub(crate) fn to_system_time(self) -> SystemTime {
        SystemTime::from(self.0)
    }

    pub(crate) fn plus_seconds(self, seconds: u64) -> Self {
        Self(saturating_offset(self.0, seconds as i64))
    }

    pub(crate) fn minus_seconds(self, seconds: u64) -> Self {
        Self(saturating_offset(self.0, -(seconds as i64)))
    }
}

fn saturating_offset(time: OffsetDateTime, seconds: i64) -> OffsetDateTime {
    time.checked_add(time::Duration::seconds(seconds))
        .unwrap_or(time)
}

/// How AWS prints an allowed clock window in expiry messages: `5 min` or `90 sec`.
pub(crate) fn window_text(seconds: u64) -> String {
    if seconds.is_multiple_of(60) {
        format!("{} min", seconds / 60)
    } else {
        format!("{seconds} sec")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amz_date_round_trips_through_iso_basic_format() {
        let time = RequestTime::parse_amz_date("20261122T021913Z").expect("valid");
        assert_eq!(time.iso_basic(), "20261122T021913Z");
        assert_eq!(time.scope_date(), "20261122");
    }

    #[test]
    fn amz_date_rejects_extended_format_and_offsets() {
        assert_eq!(RequestTime::parse_amz_date("2026-11-22T02:19:13Z"), None);
        assert_eq!(RequestTime::parse_amz_date("20261122T021913+0100"), None);
        assert_eq!(RequestTime::parse_amz_date("20261122T021913"), None);
    }

    #[test]
    fn date_header_accepts_imf_fixdate() {
        let time = RequestTime::parse_date_header("Sun, 22 Nov 2026 02:19:13 GMT").expect("valid");
        assert_eq!(time.iso_basic(), "20261122T021913Z");
    }

    #[test]
    fn windows_print_in_minutes_when_whole_and_seconds_otherwise() {
        assert_eq!(window_text(300), "5 min");
        assert_eq!(window_text(90), "90 sec");
    }
}
