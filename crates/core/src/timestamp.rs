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

    pub fn to_rfc3339(self) -> String {
        let nanos = i128::from(self.0) * 1_000_000;
        match OffsetDateTime::from_unix_timestamp_nanos(nanos) {
            Ok(at) => {
                let (y, mo, d) = (at.year(), u8::from(at.month()), at.day());
                let (h, mi, s, ms) = (at.hour(), at.minute(), at.second(), at.millisecond());
                format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
            }
            // Unreachable for any instant a store holds; keeps formatting total.
            Err(_) => String::from("1970-01-01T00:00:00.000Z"),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
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

    #[test]
    fn text_that_is_not_rfc3339_is_a_validation_error_on_the_named_field() {
        let err = Timestamp::parse_rfc3339("from", "yesterday").unwrap_err();
        match err {
            DomainError::Validation(errors) => assert_eq!(errors[0].field, "from"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
