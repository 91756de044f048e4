//! Orders as items of the orders table.
//!
//! ```text
//! { pk: "<order id>", userId, createdKey: "<createdAt, 15 digits>#<order id>", status, currency,
//!   total: N, items: [ { sku, quantity: N, unitPrice: N }, ... ],
//!   createdAt: N ms, updatedAt: N ms, version: N, writeToken?: "<random, set by updates>" }
//! ```
//!
//! `createdKey` is the sort key of the `byUser` index. Zero-padding makes string order equal time
//! order, and the id suffix orders orders created in the same millisecond, so one descending `Query`
//! gives newest first with a total order. Fifteen digits of milliseconds last until the year 33658.

use aws_sdk_dynamodb::types::AttributeValue;
use rill_core::{
    Currency, DomainError, LineItem, MinorUnits, Order, OrderId, OrderStatus, Quantity, Sku,
    Timestamp, UserId,
};

use crate::attributes::{Item, get_l, get_n, get_s, invalid, n, s};
use crate::schema::{CREATED_KEY, PK, USER_ID};

pub(crate) const STATUS: &str = "status";
pub(crate) const CREATED_AT: &str = "createdAt";
pub(crate) const VERSION: &str = "version";
const CURRENCY: &str = "currency";
const TOTAL: &str = "total";
const ITEMS: &str = "items";
const UPDATED_AT: &str = "updatedAt";
const SKU: &str = "sku";
const QUANTITY: &str = "quantity";
const UNIT_PRICE: &str = "unitPrice";

/// The latest creation time a `createdKey` can hold: fifteen digits of milliseconds.
pub(crate) const MAX_CREATED_MILLIS: i64 = 999_999_999_999_999;

/// The `createdKey` prefix for an instant in `0..=MAX_CREATED_MILLIS`, which is also a bound for a
/// range condition: every key of an order created at `millis` sorts after it, and every key of an
/// earlier order before it.
pub(crate) fn created_bound(millis: i64) -> String {
    format!("{millis:015}")
}

fn created_key(order: &Order) -> Result<String, DomainError> {
    let millis = order.created_at.as_millis();
    if !(0..=MAX_CREATED_MILLIS).contains(&millis) {
        return Err(DomainError::invalid(
            "createdAt",
            "must be between 1970 and the year 33658",
        ));
    }
    Ok(format!("{}#{}", created_bound(millis), order.id))
}

/// The item that stores an order. Fails only for a creation time the index cannot order.
pub(crate) fn order_item(order: &Order) -> Result<Item, DomainError> {
    let lines = order
        .items
        .iter()
        .map(|line| {
            AttributeValue::M(
                [
                    (SKU.to_owned(), s(line.sku.as_str())),
                    (QUANTITY.to_owned(), n(line.quantity.get())),
                    (UNIT_PRICE.to_owned(), n(line.unit_price.get())),
                ]
                .into(),
            )
        })
        .collect();
    Ok([
        (PK, s(order.id.to_string())),
        (USER_ID, s(order.user_id.to_string())),
        (CREATED_KEY, s(created_key(order)?)),
        (STATUS, s(order.status.as_str())),
        (CURRENCY, s(order.currency.code())),
        (TOTAL, n(order.total.get())),
        (ITEMS, AttributeValue::L(lines)),
        (CREATED_AT, n(order.created_at.as_millis())),
        (UPDATED_AT, n(order.updated_at.as_millis())),
        (VERSION, n(order.version)),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect())
}

/// The order an item stores, or what is wrong with it.
pub(crate) fn order_from_item(item: &Item) -> Result<Order, String> {
    let id = OrderId::parse(PK, get_s(item, PK)?).map_err(invalid(PK))?;
    let user_id = UserId::parse(USER_ID, get_s(item, USER_ID)?).map_err(invalid(USER_ID))?;
    let status = OrderStatus::parse(STATUS, get_s(item, STATUS)?).map_err(invalid(STATUS))?;
    let currency = Currency::parse(get_s(item, CURRENCY)?).map_err(invalid(CURRENCY))?;
    let mut items = Vec::new();
    for (index, value) in get_l(item, ITEMS)?.iter().enumerate() {
        let AttributeValue::M(line) = value else {
            return Err(format!("items[{index}] is not a map"));
        };
        let field = |name: &str| format!("items[{index}].{name}");
        items.push(LineItem {
            sku: Sku::parse(get_s(line, SKU)?).map_err(invalid(&field(SKU)))?,
            quantity: Quantity::parse(get_n(line, QUANTITY)?).map_err(invalid(&field(QUANTITY)))?,
            unit_price: MinorUnits::parse_unit_price(get_n(line, UNIT_PRICE)?)
                .map_err(invalid(&field(UNIT_PRICE)))?,
        });
    }
    if items.is_empty() {
        return Err("items is empty".to_owned());
    }
    let total: i64 = get_n(item, TOTAL)?;
    let sum = items
        .iter()
        .try_fold(0i64, |sum, line| line.subtotal()?.checked_add(sum));
    if sum != Some(total) {
        return Err(format!("total {total} is not the sum of the line items"));
    }
    let version: u64 = get_n(item, VERSION)?;
    if version == 0 {
        return Err("version is 0".to_owned());
    }
    let order = Order {
        id,
        user_id,
        items,
        currency,
        total: MinorUnits::from_stored(total),
        status,
        created_at: Timestamp::from_millis(get_n(item, CREATED_AT)?),
        updated_at: Timestamp::from_millis(get_n(item, UPDATED_AT)?),
        version,
    };
    if created_key(&order).ok().as_deref() != Some(get_s(item, CREATED_KEY)?) {
        return Err("createdKey does not match createdAt and id".to_owned());
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rill_core::{NewLineItem, NewOrder};

    fn order(created_at: i64) -> Order {
        NewOrder::parse(
            &UserId::generate().to_string(),
            "JPY",
            &[
                NewLineItem {
                    sku: "TEA-1",
                    quantity: 3,
                    unit_price: 450,
                },
                NewLineItem {
                    sku: "CUP",
                    quantity: 1,
                    unit_price: 1_200,
                },
            ],
        )
        .unwrap()
        .into_order(Timestamp::from_millis(created_at))
    }

    #[test]
    fn an_order_round_trips_through_its_item() {
        let order = order(1_763_777_953_123);
        let item = order_item(&order).unwrap();
        assert_eq!(
            get_s(&item, CREATED_KEY).unwrap(),
            format!("001763777953123#{}", order.id)
        );
        assert_eq!(order_from_item(&item).unwrap(), order);
    }

    #[test]
    fn created_keys_sort_like_creation_times() {
        let times = [0, 9, 10, 999, 1_000, 1_763_777_953_123, MAX_CREATED_MILLIS];
        let keys: Vec<String> = times.iter().map(|&t| created_bound(t)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert!(order_item(&order(-1)).is_err());
        assert!(order_item(&order(MAX_CREATED_MILLIS + 1)).is_err());
    }

    #[test]
    fn an_item_whose_total_or_fields_are_broken_is_reported_not_trusted() {
        let order = order(5_000);
        let broken = [
            (TOTAL, n(1)),
            (STATUS, s("lost")),
            (CURRENCY, s("eur")),
            (ITEMS, AttributeValue::L(vec![])),
            (ITEMS, AttributeValue::L(vec![s("not a map")])),
            (CREATED_KEY, s("000000000000001#x")),
            (VERSION, n(0)),
        ];
        for (name, value) in broken {
            let mut item = order_item(&order).unwrap();
            item.insert(name.to_owned(), value);
            assert!(order_from_item(&item).is_err(), "{name}");
        }
    }
}
