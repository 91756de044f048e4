//! Orders: what a user bought, in one currency, and where the order is in its life.
//!
//! The total is always computed here from the line items, in integer minor units with checked
//! arithmetic; a client never sends it. Status moves only along
//! pending → paid → shipped → delivered, or from pending or paid to cancelled.

use std::fmt;
use std::str::FromStr;

use arrayvec::ArrayString;
use serde::Serialize;

use crate::error::FieldErrors;
use crate::{DomainError, FIRST_VERSION, OrderId, Timestamp, UserId};

/// The most line items one order may hold.
pub const MAX_LINE_ITEMS: usize = 100;
/// The largest quantity of one line.
pub const MAX_QUANTITY: u32 = 10_000;
/// The largest unit price, in minor units (ten billion major units of a two-digit currency).
pub const MAX_UNIT_PRICE: i64 = 1_000_000_000_000;
/// The longest SKU.
pub const MAX_SKU_LEN: usize = 64;

/// A stock-keeping unit: 1–64 characters of `A–Z a–z 0–9 - _ .`.
///
/// Held inline rather than on the heap: an export reads millions of line items, and each would
/// otherwise cost an allocation and a free.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Sku(ArrayString<MAX_SKU_LEN>);

impl Sku {
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let ok = !text.is_empty()
            && text.len() <= MAX_SKU_LEN
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        match ArrayString::from(text) {
            Ok(sku) if ok => Ok(Self(sku)),
            _ => Err(DomainError::invalid(
                "sku",
                "must be 1 to 64 characters of letters, digits, '-', '_' or '.'",
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How many units of a SKU a line holds: 1 to 10 000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Quantity(u32);

impl Quantity {
    pub fn parse(value: i64) -> Result<Self, DomainError> {
        match u32::try_from(value) {
            Ok(q) if (1..=MAX_QUANTITY).contains(&q) => Ok(Self(q)),
            _ => Err(DomainError::invalid(
                "quantity",
                "must be a whole number from 1 to 10000",
            )),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// An amount of money in the currency's minor units (cents for USD, yen for JPY). Never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct MinorUnits(i64);

impl MinorUnits {
    /// Parses a unit price: 0 up to [`MAX_UNIT_PRICE`].
    pub fn parse_unit_price(value: i64) -> Result<Self, DomainError> {
        if (0..=MAX_UNIT_PRICE).contains(&value) {
            Ok(Self(value))
        } else {
            Err(DomainError::invalid(
                "unitPrice",
                "must be a whole number of minor units from 0 to 1000000000000",
            ))
        }
    }

    /// A stored amount. Stores only hold amounts that were computed here.
    pub fn from_stored(value: i64) -> Self {
        Self(value)
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// An active ISO 4217 currency code, in upper case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency(usize);

impl Currency {
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        crate::currency::lookup(text).map(Self).ok_or_else(|| {
            DomainError::invalid(
                "currency",
                "must be an active ISO 4217 code in upper case, e.g. EUR",
            )
        })
    }

    pub fn code(self) -> &'static str {
        crate::currency::ISO_4217[self.0].0
    }

    /// How many digits of the amount are minor units (2 for EUR, 0 for JPY, 3 for KWD).
    pub fn minor_digits(self) -> u8 {
        crate::currency::ISO_4217[self.0].1
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LineItem {
    pub sku: Sku,
    pub quantity: Quantity,
    pub unit_price: MinorUnits,
}

impl LineItem {
    /// `quantity × unitPrice`. Cannot overflow within the bounds of both.
    pub fn subtotal(&self) -> Option<i64> {
        i64::from(self.quantity.get()).checked_mul(self.unit_price.get())
    }
}

/// A line item as the client sent it, before validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLineItem<'a> {
    pub sku: &'a str,
    pub quantity: i64,
    pub unit_price: i64,
}

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Pending,
    Paid,
    Shipped,
    Delivered,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 5] = [
        Self::Pending,
        Self::Paid,
        Self::Shipped,
        Self::Delivered,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Paid => "paid",
            Self::Shipped => "shipped",
            Self::Delivered => "delivered",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(field: &str, text: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| {
                DomainError::invalid(
                    field,
                    "must be one of pending, paid, shipped, delivered, cancelled",
                )
            })
    }

    /// Whether an order may move from `self` to `next`.
    pub fn can_become(self, next: OrderStatus) -> bool {
        use OrderStatus::*;
        matches!(
            (self, next),
            (Pending, Paid) | (Paid, Shipped) | (Shipped, Delivered) | (Pending | Paid, Cancelled)
        )
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OrderStatus {
    type Err = DomainError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse("status", text)
    }
}

/// An order as stored and as returned by the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: OrderId,
    pub user_id: UserId,
    pub items: Vec<LineItem>,
    pub currency: Currency,
    pub total: MinorUnits,
    pub status: OrderStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: u64,
}

impl Order {
    /// The order after moving to `next` at `now`, one version on.
    pub fn transition(&self, next: OrderStatus, now: Timestamp) -> Result<Order, DomainError> {
        if !self.status.can_become(next) {
            return Err(DomainError::Conflict(format!(
                "an order that is {} cannot become {}",
                self.status, next
            )));
        }
        Ok(Order {
            status: next,
            updated_at: now.max(self.updated_at),
            version: self.version + 1,
            ..self.clone()
        })
    }
}

/// A validated request to create an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub user_id: UserId,
    pub items: Vec<LineItem>,
    pub currency: Currency,
    pub total: MinorUnits,
}

impl NewOrder {
    /// Validates every field and computes the total. Reports every broken rule, with line items
    /// named by index (`items[3].quantity`).
    pub fn parse(
        user_id: &str,
        currency: &str,
        items: &[NewLineItem<'_>],
    ) -> Result<Self, DomainError> {
        let mut errors = FieldErrors::default();
        let user_id = errors.take(UserId::parse("userId", user_id));
        let currency = errors.take(Currency::parse(currency));
        if items.is_empty() {
            errors.push("items", "must hold at least one line item");
        } else if items.len() > MAX_LINE_ITEMS {
            errors.push("items", "must hold at most 100 line items");
        }
        let mut lines = Vec::with_capacity(items.len().min(MAX_LINE_ITEMS));
        for (index, item) in items.iter().take(MAX_LINE_ITEMS).enumerate() {
            let prefix = format!("items[{index}]");
            let sku = errors.take_nested(&prefix, Sku::parse(item.sku));
            let quantity = errors.take_nested(&prefix, Quantity::parse(item.quantity));
            let unit_price =
                errors.take_nested(&prefix, MinorUnits::parse_unit_price(item.unit_price));
            if let (Some(sku), Some(quantity), Some(unit_price)) = (sku, quantity, unit_price) {
                lines.push(LineItem {
                    sku,
                    quantity,
                    unit_price,
                });
            }
        }
        let total = lines.iter().try_fold(0i64, |sum, line| {
            line.subtotal().and_then(|s| sum.checked_add(s))
        });
        if total.is_none() {
            errors.push("items", "the order total is too large");
        }
        errors.finish()?;
        match (user_id, currency, total) {
            (Some(user_id), Some(currency), Some(total)) => Ok(Self {
                user_id,
                items: lines,
                currency,
                total: MinorUnits(total),
            }),
            _ => Err(DomainError::invalid("", "the request is invalid")),
        }
    }

    /// The pending order this request creates at `now`.
    pub fn into_order(self, now: Timestamp) -> Order {
        Order {
            id: OrderId::generate(),
            user_id: self.user_id,
            items: self.items,
            currency: self.currency,
            total: self.total,
            status: OrderStatus::Pending,
            created_at: now,
            updated_at: now,
            version: FIRST_VERSION,
        }
    }
}

/// Which orders a listing or an export returns. Every part is optional; `created_from` is
/// inclusive and `created_to` exclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderFilter {
    pub user_id: Option<UserId>,
    pub status: Option<OrderStatus>,
    pub created_from: Option<Timestamp>,
    pub created_to: Option<Timestamp>,
}

impl OrderFilter {
    /// Whether an order passes the filter. Stores may use it for what their indexes cannot do.
    pub fn matches(&self, order: &Order) -> bool {
        self.user_id.is_none_or(|u| order.user_id == u)
            && self.status.is_none_or(|s| order.status == s)
            && self.created_from.is_none_or(|f| order.created_at >= f)
            && self.created_to.is_none_or(|t| order.created_at < t)
    }

    /// A stable text form of the filter, used to bind a pagination cursor to the query it came from.
    pub fn scope(&self) -> String {
        format!(
            "orders|{}|{}|{}|{}",
            self.user_id.map(|u| u.to_string()).unwrap_or_default(),
            self.status.map(OrderStatus::as_str).unwrap_or_default(),
            self.created_from
                .map(|t| t.as_millis().to_string())
                .unwrap_or_default(),
            self.created_to
                .map(|t| t.as_millis().to_string())
                .unwrap_or_default(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> String {
        UserId::generate().to_string()
    }

    #[test]
    fn a_sku_is_one_to_64_allowed_characters_kept_exactly() {
        let longest = "Az09-_.".repeat(9) + "a";
        assert_eq!(longest.len(), MAX_SKU_LEN);
        for text in ["A", "sku-1_b.2", longest.as_str()] {
            let sku = Sku::parse(text).unwrap();
            assert_eq!(sku.as_str(), text);
            assert_eq!(serde_json::to_string(&sku).unwrap(), format!("\"{text}\""));
        }
        let too_long = longest.clone() + "x";
        for text in ["", too_long.as_str(), "a b", "a,b", "é", "a\"b"] {
            assert!(Sku::parse(text).is_err(), "{text:?} was accepted");
        }
    }

    fn line(sku: &str, quantity: i64, unit_price: i64) -> NewLineItem<'_> {
        NewLineItem {
            sku,
            quantity,
            unit_price,
        }
    }

    fn fields(err: DomainError) -> Vec<String> {
        match err {
            DomainError::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn the_total_is_the_sum_of_quantity_times_unit_price() {
        let order =
            NewOrder::parse(&user(), "EUR", &[line("A-1", 3, 250), line("B", 1, 1_000)]).unwrap();
        assert_eq!(order.total.get(), 1_750);
    }

    #[test]
    fn a_total_that_would_overflow_is_rejected_not_wrapped() {
        let items: Vec<_> = (0..100)
            .map(|_| line("X", 10_000, MAX_UNIT_PRICE))
            .collect();
        let order = NewOrder::parse(&user(), "EUR", &items).unwrap();
        assert_eq!(order.total.get(), 100 * 10_000 * MAX_UNIT_PRICE);
        // The bounds keep the worst case inside i64; the checked sum stays as a guard.
        assert!(100i128 * 10_000 * i128::from(MAX_UNIT_PRICE) < i128::from(i64::MAX));
    }

    #[test]
    fn quantities_outside_one_to_ten_thousand_are_rejected() {
        for quantity in [0, -1, 10_001, i64::MAX, i64::MIN] {
            let err = NewOrder::parse(&user(), "EUR", &[line("A", quantity, 1)]).unwrap_err();
            assert_eq!(
                fields(err),
                vec!["items[0].quantity"],
                "quantity {quantity}"
            );
        }
    }

    #[test]
    fn negative_or_huge_unit_prices_are_rejected() {
        for price in [-1, MAX_UNIT_PRICE + 1, i64::MAX] {
            let err = NewOrder::parse(&user(), "EUR", &[line("A", 1, price)]).unwrap_err();
            assert_eq!(fields(err), vec!["items[0].unitPrice"]);
        }
    }

    #[test]
    fn an_order_needs_between_one_and_a_hundred_items() {
        assert_eq!(
            fields(NewOrder::parse(&user(), "EUR", &[]).unwrap_err()),
            vec!["items"]
        );
        let many: Vec<_> = (0..101).map(|_| line("A", 1, 1)).collect();
        assert_eq!(
            fields(NewOrder::parse(&user(), "EUR", &many).unwrap_err()),
            vec!["items"]
        );
    }

    #[test]
    fn currencies_must_be_active_upper_case_iso_codes() {
        assert!(Currency::parse("EUR").is_ok());
        assert_eq!(Currency::parse("JPY").unwrap().minor_digits(), 0);
        for code in ["eur", "EU", "EURO", "XXX", ""] {
            assert!(Currency::parse(code).is_err(), "{code} was accepted");
        }
    }

    #[test]
    fn every_broken_rule_is_reported_with_its_path() {
        let err = NewOrder::parse("nope", "eur", &[line("", 0, -1)]).unwrap_err();
        assert_eq!(
            fields(err),
            vec![
                "userId",
                "currency",
                "items[0].sku",
                "items[0].quantity",
                "items[0].unitPrice"
            ]
        );
    }

    #[test]
    fn the_status_machine_allows_exactly_the_documented_moves() {
        use OrderStatus::*;
        let allowed = [
            (Pending, Paid),
            (Paid, Shipped),
            (Shipped, Delivered),
            (Pending, Cancelled),
            (Paid, Cancelled),
        ];
        for from in OrderStatus::ALL {
            for to in OrderStatus::ALL {
                assert_eq!(
                    from.can_become(to),
                    allowed.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
        }
    }

    #[test]
    fn a_forbidden_transition_is_a_conflict_and_an_allowed_one_bumps_the_version() {
        let order = NewOrder::parse(&user(), "EUR", &[line("A", 1, 1)])
            .unwrap()
            .into_order(Timestamp::from_millis(1));
        assert!(matches!(
            order.transition(OrderStatus::Delivered, Timestamp::from_millis(2)),
            Err(DomainError::Conflict(_))
        ));
        let paid = order
            .transition(OrderStatus::Paid, Timestamp::from_millis(2))
            .unwrap();
        assert_eq!(paid.version, order.version + 1);
        assert_eq!(paid.status, OrderStatus::Paid);
    }

    #[test]
    fn a_filter_matches_on_every_part_with_an_exclusive_upper_bound() {
        let order = NewOrder::parse(&user(), "EUR", &[line("A", 1, 1)])
            .unwrap()
            .into_order(Timestamp::from_millis(100));
        let at = |from, to| OrderFilter {
            created_from: Some(Timestamp::from_millis(from)),
            created_to: Some(Timestamp::from_millis(to)),
            ..OrderFilter::default()
        };
        assert!(at(100, 101).matches(&order));
        assert!(!at(101, 200).matches(&order));
        assert!(!at(0, 100).matches(&order));
        let other_user = OrderFilter {
            user_id: Some(UserId::generate()),
            ..OrderFilter::default()
        };
        assert!(!other_user.matches(&order));
    }
}
