//! Instants as whole milliseconds since the Unix epoch, in UTC.
//!
//! Millisecond precision is what every store keeps, so a value read back compares equal to the value
//! written. On the wire a timestamp is RFC 3339 with milliseconds (`2026-11-22T02:19:13.123Z`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The current time, truncated to milliseconds.
    pub fn now() -> Self {
        let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
        Self((nanos / 1_000_000) as i64)
    }

    pub fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    pub fn as_millis(self) -> i64 {
        self.0
    }

    /// Parses an RFC 3339 date-time with an offset. Sub-millisecond digits are dropped.
    pub fn parse_rfc3339(field: &str, text: &str) -> Result<Self, DomainError> {
        let parsed = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
            DomainError::invalid(
                field,
                "must be an RFC 3339 date-time, e.g. 2026-01-31T12:00:00Z",
            )
        })?;
        let millis = parsed.unix_timestamp_nanos().div_euclid(1_000_000);
        i64::try_from(millis)
            .map(Self)
            .map_err(|_| DomainError::invalid(field, "is out of range"))
    }

    /// The RFC 3339 text of this instant, in UTC with milliseconds: `2026-11-22T02:19:13.123Z`.
    pub fn to_rfc3339(self) -> String {
        self.rfc3339().as_str().to_owned()
    }

    /// The same text as [`Timestamp::to_rfc3339`], held on the stack.
    ///
    /// Exports write two timestamps per row, millions of rows at a time, so this does the calendar
    /// arithmetic directly instead of going through a general date library and the formatting
    /// machinery. Instants outside the years 0000 to 9999, which RFC 3339 cannot write and no store
    /// holds, are written as the nearest instant it can.
    pub fn rfc3339(self) -> Rfc3339Text {
        let millis = self.0.clamp(MIN_RFC3339_MILLIS, MAX_RFC3339_MILLIS);
        let days = millis.div_euclid(MILLIS_PER_DAY);
        let of_day = millis.rem_euclid(MILLIS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let mut text = *b"0000-00-00T00:00:00.000Z";
        put_digits(&mut text[0..4], year);
        put_digits(&mut text[5..7], month);
        put_digits(&mut text[8..10], day);
        put_digits(&mut text[11..13], of_day / 3_600_000);
        put_digits(&mut text[14..16], of_day / 60_000 % 60);
        put_digits(&mut text[17..19], of_day / 1_000 % 60);
        put_digits(&mut text[20..23], of_day % 1_000);
        Rfc3339Text(text)
    }
}

const MILLIS_PER_DAY: i64 = 86_400_000;
/// 0000-01-01T00:00:00.000Z.
const MIN_RFC3339_MILLIS: i64 = -62_167_219_200_000;
/// 9999-12-31T23:59:59.999Z.
const MAX_RFC3339_MILLIS: i64 = 253_402_300_799_999;

/// An instant's RFC 3339 text, `YYYY-MM-DDTHH:MM:SS.mmmZ`, without a heap allocation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Rfc3339Text([u8; 24]);

impl Rfc3339Text {
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and the literal separators are ever written.
        std::str::from_utf8(&self.0).unwrap_or("1970-01-01T00:00:00.000Z")
    }
}

impl fmt::Debug for Rfc3339Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Writes `value` as decimal digits filling `out`, zero-padded (`value` has at most that many digits).
fn put_digits(out: &mut [u8], mut value: i64) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// The proleptic Gregorian (year, month, day) of a day counted from 1970-01-01.
///
/// Howard Hinnant's `civil_from_days` (<https://howardhinnant.github.io/date_algorithms.html>): days
/// are shifted to start on 0000-03-01 so that the leap day ends a year, then split into 400-year eras
/// of 146,097 days, years of the era, and a day of the year whose month follows from a linear formula.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.rfc3339().as_str())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.rfc3339().as_str())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse_rfc3339("timestamp", &text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timestamp_round_trips_through_rfc3339_at_millisecond_precision() {
        let at = Timestamp::from_millis(1_763_777_953_123);
        let text = at.to_rfc3339();
        assert_eq!(text, "2025-11-22T02:19:13.123Z");
        assert_eq!(Timestamp::parse_rfc3339("t", &text).unwrap(), at);
    }

    #[test]
    fn an_offset_is_converted_to_utc() {
        let at = Timestamp::parse_rfc3339("t", "2025-11-22T03:19:13.123+01:00").unwrap();
        assert_eq!(at.to_rfc3339(), "2025-11-22T02:19:13.123Z");
    }

    /// What the `time` crate writes for the same instant: the reference the fast path must match.
    fn reference_text(millis: i64) -> String {
        let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).unwrap();
        let (y, mo, d) = (at.year(), u8::from(at.month()), at.day());
        let (h, mi, s, ms) = (at.hour(), at.minute(), at.second(), at.millisecond());
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
    }

    #[test]
    fn the_text_matches_a_date_library_across_the_whole_range_rfc3339_can_write() {
        let mut millis = MIN_RFC3339_MILLIS;
        // A stride of a quarter day past 18 days, plus 17 ms, walks through every day of the month,
        // leap and century years and times of day over the ten millennia (about 200,000 instants).
        let stride = 1_576_800_017;
        while millis <= MAX_RFC3339_MILLIS {
            let at = Timestamp::from_millis(millis);
            assert_eq!(at.rfc3339().as_str(), reference_text(millis), "{millis}");
            millis += stride;
        }
    }

    #[test]
    fn the_edges_of_days_years_and_leap_days_are_written_exactly() {
        for (text, millis) in [
            ("1970-01-01T00:00:00.000Z", 0),
            ("1969-12-31T23:59:59.999Z", -1),
            ("0000-01-01T00:00:00.000Z", MIN_RFC3339_MILLIS),
            ("9999-12-31T23:59:59.999Z", MAX_RFC3339_MILLIS),
        ] {
            assert_eq!(Timestamp::from_millis(millis).rfc3339().as_str(), text);
        }
        for text in [
            "2000-02-29T12:00:00.000Z",
            "2024-02-29T23:59:59.999Z",
            "2100-03-01T00:00:00.000Z",
            "1900-02-28T00:00:00.001Z",
            "2026-12-31T23:59:59.999Z",
            "2027-01-01T00:00:00.000Z",
        ] {
            let at = Timestamp::parse_rfc3339("t", text).unwrap();
            assert_eq!(at.rfc3339().as_str(), text);
            assert_eq!(at.to_string(), text);
        }
    }

    #[test]
    fn instants_rfc3339_cannot_write_are_clamped_to_its_range() {
        assert_eq!(
            Timestamp::from_millis(i64::MIN).to_rfc3339(),
            "0000-01-01T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp::from_millis(i64::MAX).to_rfc3339(),
            "9999-12-31T23:59:59.999Z"
        );
    }

    #[test]
    fn text_that_is_not_rfc3339_is_a_validation_error_on_the_named_field() {
        let err = Timestamp::parse_rfc3339("from", "yesterday").unwrap_err();
        match err {
            DomainError::Validation(errors) => assert_eq!(errors[0].field, "from"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
