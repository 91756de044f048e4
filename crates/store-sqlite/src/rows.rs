//! Rows to domain values and back.
//!
//! Reading goes through the same `parse` functions as client input, so a value the store hands back is
//! as valid as one a client sent. A row that fails them (edited by hand, written by a buggy build) is
//! reported as [`SqliteError::CorruptRow`] naming the row and the broken field, and the caller answers
//! `Unavailable`: the client gets a generic 503, the logs get the detail, nothing panics.

use rill_core::{
    Currency, DomainError, Email, LineItem, MinorUnits, Order, OrderId, OrderStatus, Quantity, Sku,
    Timestamp, User, UserId, UserName,
};
use std::borrow::Cow;

use rusqlite::Row;
use rusqlite::types::ValueRef;
use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, Error as _, SeqAccess, Visitor};

use crate::error::SqliteError;

/// The user columns, in the order [`read_user`] expects them (a macro so `concat!` can build SQL).
macro_rules! user_columns {
    () => {
        "id, email, name, created_at, updated_at, version"
    };
}
pub(crate) use user_columns;

/// The order columns, in the order [`read_order`] expects them.
macro_rules! order_columns {
    () => {
        "id, user_id, currency, total, status, items, created_at, updated_at, version"
    };
}
pub(crate) use order_columns;

/// A line item as stored in the `items` JSON array. Serialising a [`LineItem`] gives the same shape.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StoredLineItem<'a> {
    /// Borrowed from the column's text unless it holds JSON escapes.
    #[serde(borrow)]
    sku: Cow<'a, str>,
    quantity: i64,
    unit_price: i64,
}

/// The `items` column of an order.
pub(crate) fn items_json(order: &Order) -> Result<String, SqliteError> {
    serde_json::to_string(&order.items).map_err(|source| SqliteError::EncodeItems {
        id: order.id.to_string(),
        source,
    })
}

/// Why a field of a row is invalid, before the row's id is attached.
type FieldResult<T> = Result<T, String>;

fn field<T>(name: &str, parsed: Result<T, DomainError>) -> FieldResult<T> {
    parsed.map_err(|e| match e {
        DomainError::Validation(errors) => errors
            .iter()
            .map(|e| format!("{name}: {}", e.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => format!("{name}: {other}"),
    })
}

fn version(value: i64) -> FieldResult<u64> {
    u64::try_from(value)
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| format!("version: {value} is not a version"))
}

/// A user from a row selected with `user_columns!()`.
pub(crate) fn read_user(row: &Row<'_>) -> Result<User, SqliteError> {
    let id: String = row.get(0)?;
    let email: String = row.get(1)?;
    let name: String = row.get(2)?;
    let (created_at, updated_at, stored_version): (i64, i64, i64) =
        (row.get(3)?, row.get(4)?, row.get(5)?);
    let parse = || -> FieldResult<User> {
        Ok(User {
            id: field("id", UserId::parse("id", &id))?,
            email: field("email", Email::parse(&email))?,
            name: field("name", UserName::parse(&name))?,
            created_at: Timestamp::from_millis(created_at),
            updated_at: Timestamp::from_millis(updated_at),
            version: version(stored_version)?,
        })
    };
    parse().map_err(|detail| SqliteError::corrupt("user", &id, detail))
}

/// An order from a row selected with `order_columns!()`.
///
/// Exports read orders by the million, so the text columns are borrowed from SQLite's row buffer
/// rather than copied into strings first.
pub(crate) fn read_order(row: &Row<'_>) -> Result<Order, SqliteError> {
    let id = text(row, 0)?;
    let user_id = text(row, 1)?;
    let currency = text(row, 2)?;
    let total: i64 = row.get(3)?;
    let status = text(row, 4)?;
    let items = text_bytes(row, 5)?;
    let (created_at, updated_at, stored_version): (i64, i64, i64) =
        (row.get(6)?, row.get(7)?, row.get(8)?);
    let parse = || -> FieldResult<Order> {
        let items = read_items(items)?;
        let sum = items.iter().try_fold(0i64, |sum, line| {
            line.subtotal().and_then(|s| sum.checked_add(s))
        });
        if sum != Some(total) {
            return Err(format!("total: {total} is not the sum of the items"));
        }
        Ok(Order {
            id: field("id", OrderId::parse("id", id))?,
            user_id: field("user_id", UserId::parse("user_id", user_id))?,
            items,
            currency: field("currency", Currency::parse(currency))?,
            total: MinorUnits::from_stored(total),
            status: field("status", OrderStatus::parse("status", status))?,
            created_at: Timestamp::from_millis(created_at),
            updated_at: Timestamp::from_millis(updated_at),
            version: version(stored_version)?,
        })
    };
    parse().map_err(|detail| SqliteError::corrupt("order", id, detail))
}

/// The line items in an `items` column. The JSON parser checks the UTF-8 of the strings it reads, so
/// the column is handed over as bytes rather than checked as a whole first. Each line item is checked
/// as soon as it is read, straight into the order's list: exports read orders by the million, and a
/// list of stored items on the way would be one more allocation for each.
fn read_items(json: &[u8]) -> FieldResult<Vec<LineItem>> {
    let mut invalid = None;
    let mut parser = serde_json::Deserializer::from_slice(json);
    let parsed = LineItems {
        invalid: &mut invalid,
    }
    .deserialize(&mut parser)
    .and_then(|items| parser.end().map(|()| items));
    match (parsed, invalid) {
        (_, Some(detail)) => Err(detail),
        (Err(e), None) => Err(format!("items: not a line item array ({e})")),
        (Ok(items), None) if items.is_empty() => Err("items: no line items".to_owned()),
        (Ok(items), None) => Ok(items),
    }
}

/// Reads a JSON array of stored line items into checked [`LineItem`]s. The first item that breaks a
/// rule stops the parse, and why goes to `invalid` (the parser's own error only says that it stopped).
struct LineItems<'e> {
    invalid: &'e mut Option<String>,
}

impl<'de> DeserializeSeed<'de> for LineItems<'_> {
    type Value = Vec<LineItem>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for LineItems<'_> {
    type Value = Vec<LineItem>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of line items")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // Most orders have a handful of lines.
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(4));
        while let Some(item) = seq.next_element::<StoredLineItem<'de>>()? {
            match line_item(items.len(), &item) {
                Ok(line) => items.push(line),
                Err(detail) => {
                    *self.invalid = Some(detail);
                    return Err(A::Error::custom("a line item breaks a rule"));
                }
            }
        }
        Ok(items)
    }
}

/// Line item `index`, checked by the same parsers as client input.
fn line_item(index: usize, item: &StoredLineItem<'_>) -> FieldResult<LineItem> {
    Ok(LineItem {
        sku: item_field(index, Sku::parse(&item.sku))?,
        quantity: item_field(index, Quantity::parse(item.quantity))?,
        unit_price: item_field(index, MinorUnits::parse_unit_price(item.unit_price))?,
    })
}

/// [`field`] for line item `index`, naming it only when it is invalid.
fn item_field<T>(index: usize, parsed: Result<T, DomainError>) -> FieldResult<T> {
    match parsed {
        Ok(value) => Ok(value),
        Err(error) => field(&format!("items[{index}]"), Err(error)),
    }
}

/// The text in column `index`, borrowed from the row.
fn text<'r>(row: &'r Row<'_>, index: usize) -> Result<&'r str, rusqlite::Error> {
    let value = row.get_ref(index)?;
    value.as_str().map_err(|_| {
        rusqlite::Error::InvalidColumnType(index, column_name(row, index), value.data_type())
    })
}

/// The bytes of the text in column `index`, borrowed from the row and not yet checked as UTF-8.
fn text_bytes<'r>(row: &'r Row<'_>, index: usize) -> Result<&'r [u8], rusqlite::Error> {
    match row.get_ref(index)? {
        ValueRef::Text(bytes) => Ok(bytes),
        other => Err(rusqlite::Error::InvalidColumnType(
            index,
            column_name(row, index),
            other.data_type(),
        )),
    }
}

fn column_name(row: &Row<'_>, index: usize) -> String {
    row.as_ref()
        .column_name(index)
        .map_or_else(|_| index.to_string(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rill_core::{NewLineItem, NewOrder};

    #[test]
    fn items_written_as_json_read_back_equal() {
        let order = NewOrder::parse(
            &UserId::generate().to_string(),
            "EUR",
            &[
                NewLineItem {
                    sku: "A-1",
                    quantity: 3,
                    unit_price: 250,
                },
                NewLineItem {
                    sku: "B_2.x",
                    quantity: 1,
                    unit_price: 0,
                },
            ],
        )
        .unwrap();
        let items = order.items.clone();
        let json = items_json(&order.into_order(Timestamp::from_millis(1))).unwrap();
        assert_eq!(
            json,
            r#"[{"sku":"A-1","quantity":3,"unitPrice":250},{"sku":"B_2.x","quantity":1,"unitPrice":0}]"#
        );
        assert_eq!(read_items(json.as_bytes()).unwrap(), items);
    }

    #[test]
    fn items_that_break_a_rule_name_the_line_and_field() {
        let detail = read_items(br#"[{"sku":"ok","quantity":0,"unitPrice":1}]"#).unwrap_err();
        assert!(detail.starts_with("items[0]: "), "{detail}");
        assert!(detail.contains("1 to 10000"), "{detail}");
        let detail = read_items(
            br#"[{"sku":"ok","quantity":1,"unitPrice":1},{"sku":"no way","quantity":1,"unitPrice":1}]"#,
        )
        .unwrap_err();
        assert!(detail.starts_with("items[1]: "), "{detail}");
        assert!(detail.contains("letters, digits"), "{detail}");
        for json in [
            "",
            "{}",
            "[]",
            r#"[{"sku":"a"}]"#,
            r#"[{"sku":"a","quantity":1,"unitPrice":1,"x":1}]"#,
            r#"[{"sku":"a","quantity":1,"unitPrice":1}] x"#,
            r#"[{"sku":"a","quantity":1,"unitPrice":1}"#,
        ] {
            assert!(read_items(json.as_bytes()).is_err(), "{json} was accepted");
        }
    }

    #[test]
    fn a_sku_written_with_json_escapes_reads_back_as_its_text() {
        let items = read_items(br#"[{"sku":"A\u002d1","quantity":2,"unitPrice":5}]"#).unwrap();
        assert_eq!(items[0].sku.as_str(), "A-1");
        assert_eq!(items[0].quantity.get(), 2);
    }
}
