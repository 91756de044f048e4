//! Reading and writing the attribute values of an item.
//!
//! Readers return a plain description of what is wrong; the item modules turn it into a
//! corrupt-item error that names the table and key.

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;

use aws_sdk_dynamodb::types::AttributeValue;
use rill_core::DomainError;

/// An item, a key, or a `LastEvaluatedKey`, as the SDK holds them.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// A string value.
pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number value.
pub(crate) fn n(value: impl Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The attribute of a conditional put that marks the write as one call's own: a random token.
const WRITE_TOKEN: &str = "writeToken";

/// `item` with a fresh [`WRITE_TOKEN`], for a put whose condition may fail after the SDK retried it.
/// A failed condition returns the stored item; only when that equals ours, token included, was the
/// put ours and already applied. Without the token, two clients writing the same values in the same
/// millisecond (an equal `updatedAt`) would both be told they won. Reads ignore the attribute.
pub(crate) fn with_write_token(mut item: Item) -> Item {
    item.insert(WRITE_TOKEN.to_owned(), s(uuid::Uuid::new_v4().to_string()));
    item
}

/// The string attribute `name`.
pub(crate) fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, String> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        Some(_) => Err(format!("{name} is not a string")),
        None => Err(format!("{name} is missing")),
    }
}

/// The number attribute `name`, parsed as `T`.
pub(crate) fn get_n<T: FromStr>(item: &Item, name: &str) -> Result<T, String> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value
            .parse()
            .map_err(|_| format!("{name} is not a valid number: {value}")),
        Some(_) => Err(format!("{name} is not a number")),
        None => Err(format!("{name} is missing")),
    }
}

/// The list attribute `name`.
pub(crate) fn get_l<'a>(item: &'a Item, name: &str) -> Result<&'a [AttributeValue], String> {
    match item.get(name) {
        Some(AttributeValue::L(values)) => Ok(values),
        Some(_) => Err(format!("{name} is not a list")),
        None => Err(format!("{name} is missing")),
    }
}

/// Describes why a stored value failed its domain parse, as "<field> <message>".
pub(crate) fn invalid(field: &str) -> impl FnOnce(DomainError) -> String + '_ {
    move |error| match error {
        DomainError::Validation(errors) => {
            let messages: Vec<String> = errors.into_iter().map(|e| e.message).collect();
            format!("{field} {}", messages.join("; "))
        }
        other => format!("{field}: {other}"),
    }
}

/// The item's `pk`, for naming it in errors and logs.
pub(crate) fn key_text(item: &Item) -> &str {
    get_s(item, crate::schema::PK).unwrap_or("<no pk>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_name_a_missing_or_mistyped_attribute() {
        let item: Item = [
            ("a".to_owned(), s("text")),
            ("b".to_owned(), n(42)),
            ("c".to_owned(), n("4x")),
        ]
        .into();
        assert_eq!(get_s(&item, "a"), Ok("text"));
        assert_eq!(get_n::<u64>(&item, "b"), Ok(42));
        assert_eq!(get_s(&item, "b").unwrap_err(), "b is not a string");
        assert_eq!(get_n::<u64>(&item, "a").unwrap_err(), "a is not a number");
        assert!(
            get_n::<u64>(&item, "c")
                .unwrap_err()
                .contains("not a valid")
        );
        assert_eq!(get_s(&item, "z").unwrap_err(), "z is missing");
        assert_eq!(get_l(&item, "a").unwrap_err(), "a is not a list");
    }
}
