//! NDJSON exports: one JSON object per line, each line ending in `\n`, UTF-8.
//!
//! * Records are exactly what the API returns for one order or user (`GET /orders/{orderId}`,
//!   `GET /users/{userId}`): items nested, money in minor units. Neither has a `type` member.
//! * The last line is a trailer, told apart from records by its `type` member:
//!   - `{"type":"end","count":N}` closes a complete export of N records;
//!   - `{"type":"next","count":N,"cursor":"...","next":"?format=ndjson&...&cursor=..."}` closes a
//!     response that had to stop early (size cap or time limit) after N records. `next` is a relative
//!     reference (RFC 3986 §4.2, a query only) that fetches the rest of the same export; `cursor` is
//!     the same position on its own.
//!
//! A body whose last line is neither trailer did not arrive whole.

use bytes::Bytes;
use serde::Serialize;

use super::{CHUNK_BYTES, Continuation, EncodeError, Encoder};

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Trailer<'a> {
    End {
        count: u64,
    },
    Next {
        count: u64,
        cursor: &'a str,
        next: &'a str,
    },
}

/// Writes records of any serializable type as NDJSON.
#[derive(Debug)]
pub struct NdjsonEncoder {
    buffer: Vec<u8>,
}

impl NdjsonEncoder {
    pub fn new() -> Self {
        Self {
            buffer: Vec::with_capacity(CHUNK_BYTES * 2),
        }
    }

    fn line(&mut self, value: &impl Serialize) -> Result<(), EncodeError> {
        serde_json::to_writer(&mut self.buffer, value)?;
        self.buffer.push(b'\n');
        Ok(())
    }
}

impl Default for NdjsonEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Serialize> Encoder<T> for NdjsonEncoder {
    fn begin(&mut self) -> Result<(), EncodeError> {
        Ok(())
    }

    fn record(&mut self, item: &T) -> Result<(), EncodeError> {
        self.line(item)
    }

    fn end(&mut self, count: u64) -> Result<(), EncodeError> {
        self.line(&Trailer::End { count })
    }

    fn continuation(&mut self, count: u64, next: &Continuation) -> Result<bool, EncodeError> {
        self.line(&Trailer::Next {
            count,
            cursor: &next.cursor,
            next: &next.next,
        })?;
        Ok(true)
    }

    fn buffered(&self) -> usize {
        self.buffer.len()
    }

    fn take(&mut self) -> Result<Bytes, EncodeError> {
        let bytes = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK_BYTES * 2));
        Ok(Bytes::from(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rill_core::{NewUser, Timestamp, User};
    use serde_json::{Value, json};

    fn lines(bytes: &[u8]) -> Vec<Value> {
        std::str::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[test]
    fn each_record_is_the_api_representation_and_an_end_trailer_closes_the_body() {
        let user = NewUser::parse("ann@example.com", "Ann \"A\", B")
            .unwrap()
            .into_user(Timestamp::from_millis(0));
        let mut encoder = NdjsonEncoder::new();
        Encoder::<User>::begin(&mut encoder).unwrap();
        encoder.record(&user).unwrap();
        Encoder::<User>::end(&mut encoder, 1).unwrap();
        let bytes = Encoder::<User>::take(&mut encoder).unwrap();
        assert!(bytes.ends_with(b"\n"));
        let expected = serde_json::to_value(&user).unwrap();
        assert!(expected.get("type").is_none());
        assert_eq!(
            lines(&bytes),
            vec![expected, json!({"type": "end", "count": 1})]
        );
    }

    #[test]
    fn a_partial_export_ends_with_a_next_trailer_carrying_the_cursor_and_link() {
        let mut encoder = NdjsonEncoder::new();
        let next = Continuation {
            cursor: "abc".into(),
            next: "?format=ndjson&cursor=abc".into(),
        };
        assert!(Encoder::<User>::continuation(&mut encoder, 7, &next).unwrap());
        let bytes = Encoder::<User>::take(&mut encoder).unwrap();
        assert_eq!(
            lines(&bytes),
            vec![
                json!({"type": "next", "count": 7, "cursor": "abc", "next": "?format=ndjson&cursor=abc"})
            ]
        );
    }
}
