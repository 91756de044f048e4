//! Page positions: the key of the last item a page returned, as the bytes rill-core seals into a cursor.
//!
//! A position is a DynamoDB `ExclusiveStartKey` whose attributes are all strings, written as
//!
//! ```text
//! version (1 byte = 1), then per attribute, sorted by name:
//!   name length (1 byte), name (UTF-8), value length (2 bytes, big-endian), value (UTF-8)
//! ```
//!
//! which is about half the size of the same key in JSON, so cursors stay short. Core signs cursors,
//! so a position that fails to decode means a bug or a key rotated mid-listing; it is still answered
//! as an invalid cursor (a 400), never handed to DynamoDB.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use rill_core::DomainError;

use crate::DynamoError;
use crate::attributes::Item;

const FORMAT_VERSION: u8 = 1;

/// The position of a key (`LastEvaluatedKey`-shaped, string attributes only).
pub(crate) fn encode(key: &Item) -> Result<Vec<u8>, DynamoError> {
    let sorted: BTreeMap<&str, &AttributeValue> = key
        .iter()
        .map(|(name, value)| (name.as_str(), value))
        .collect();
    let mut bytes = vec![FORMAT_VERSION];
    for (name, value) in sorted {
        let AttributeValue::S(value) = value else {
            return Err(DynamoError::Position(format!("{name} is not a string")));
        };
        let name_len = u8::try_from(name.len())
            .map_err(|_| DynamoError::Position(format!("attribute name {name} is too long")))?;
        let value_len = u16::try_from(value.len())
            .map_err(|_| DynamoError::Position(format!("the value of {name} is too long")))?;
        bytes.push(name_len);
        bytes.extend_from_slice(name.as_bytes());
        bytes.extend_from_slice(&value_len.to_be_bytes());
        bytes.extend_from_slice(value.as_bytes());
    }
    Ok(bytes)
}

/// The answer to a position that this query could not have returned.
pub(crate) fn invalid_cursor() -> DomainError {
    DomainError::invalid("cursor", "is not a cursor this query returned")
}

/// The key at a position, which must have exactly the attributes `names`.
pub(crate) fn decode(bytes: &[u8], names: &[&str]) -> Result<Item, DomainError> {
    let invalid = invalid_cursor;
    let Some((&FORMAT_VERSION, mut rest)) = bytes.split_first() else {
        return Err(invalid());
    };
    let mut key = Item::new();
    while !rest.is_empty() {
        let (name, after) = take(rest, 1).ok_or_else(invalid)?;
        let (value, after) = take(after, 2).ok_or_else(invalid)?;
        rest = after;
        let name = std::str::from_utf8(name).map_err(|_| invalid())?;
        let value = std::str::from_utf8(value).map_err(|_| invalid())?;
        if !names.contains(&name) || value.is_empty() {
            return Err(invalid());
        }
        if key
            .insert(name.to_owned(), AttributeValue::S(value.to_owned()))
            .is_some()
        {
            return Err(invalid());
        }
    }
    if key.len() != names.len() {
        return Err(invalid());
    }
    Ok(key)
}

/// Splits a length-prefixed field (a `width`-byte big-endian length, then that many bytes) off `bytes`.
fn take(bytes: &[u8], width: usize) -> Option<(&[u8], &[u8])> {
    let (len, rest) = bytes.split_at_checked(width)?;
    let len = len
        .iter()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    rest.split_at_checked(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attributes::s;

    fn key(pairs: &[(&str, &str)]) -> Item {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), s(*value)))
            .collect()
    }

    const NAMES: [&str; 3] = ["pk", "userId", "createdKey"];

    #[test]
    fn a_key_round_trips_through_its_position() {
        let original = key(&[
            ("pk", "0193a1b2-0000-7000-8000-000000000001"),
            ("userId", "0193a1b2-0000-7000-8000-0000000000aa"),
            (
                "createdKey",
                "001763777953123#0193a1b2-0000-7000-8000-000000000001",
            ),
        ]);
        let bytes = encode(&original).unwrap();
        assert!(bytes.len() < 160, "{} bytes", bytes.len());
        assert_eq!(decode(&bytes, &NAMES).unwrap(), original);
    }

    #[test]
    fn the_same_key_always_gives_the_same_bytes() {
        let a = key(&[("pk", "1"), ("userId", "2"), ("createdKey", "3")]);
        let b = key(&[("createdKey", "3"), ("pk", "1"), ("userId", "2")]);
        assert_eq!(encode(&a).unwrap(), encode(&b).unwrap());
    }

    #[test]
    fn a_key_that_is_not_all_strings_has_no_position() {
        let mut item = key(&[("pk", "1")]);
        item.insert("n".into(), AttributeValue::N("1".into()));
        assert!(encode(&item).is_err());
    }

    #[test]
    fn garbage_truncations_and_keys_of_another_shape_are_invalid_cursors() {
        let good = encode(&key(&[("pk", "1"), ("userId", "2"), ("createdKey", "3")])).unwrap();
        let mut bad: Vec<Vec<u8>> = vec![
            vec![],
            vec![2],
            vec![1, 200],
            b"not a position".to_vec(),
            encode(&key(&[("pk", "1")])).unwrap(),
            encode(&key(&[("pk", "1"), ("userId", "2"), ("other", "3")])).unwrap(),
            encode(&key(&[("pk", ""), ("userId", "2"), ("createdKey", "3")])).unwrap(),
        ];
        for cut in 1..good.len() {
            bad.push(good[..cut].to_vec());
        }
        let mut extra = good.clone();
        extra.push(0);
        bad.push(extra);
        let mut non_utf8 = good.clone();
        let last = non_utf8.len() - 1;
        non_utf8[last] = 0xff;
        bad.push(non_utf8);
        for bytes in bad {
            let err = decode(&bytes, &NAMES).unwrap_err();
            match err {
                DomainError::Validation(fields) => assert_eq!(fields[0].field, "cursor"),
                other => panic!("{bytes:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn a_repeated_attribute_is_an_invalid_cursor() {
        let one = encode(&key(&[("pk", "1")])).unwrap();
        let mut twice = one.clone();
        twice.extend_from_slice(&one[1..]);
        assert!(decode(&twice, &["pk"]).is_err());
        assert!(decode(&one, &["pk"]).is_ok());
    }
}
