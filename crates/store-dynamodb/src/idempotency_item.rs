//! Idempotency records as items of the idempotency table.
//!
//! ```text
//! { pk: "<Idempotency-Key>", fingerprint: "<sha-256 hex>", orderId, expiresAt: N epoch seconds }
//! ```
//!
//! `expiresAt` is the table's TTL attribute, so DynamoDB deletes old records for free. TTL deletion is
//! lazy (it can lag by days), so every write also treats a record whose `expiresAt` has passed as
//! absent. It is rounded up to the second: a key is remembered for at least its window, and at most
//! one second longer.

use rill_core::{IdempotentOrderCreate, OrderId, RequestFingerprint, Timestamp};

use crate::attributes::{Item, get_n, get_s, invalid, n, s};
use crate::schema::{EXPIRES_AT, PK};

const FINGERPRINT: &str = "fingerprint";
const ORDER_ID: &str = "orderId";

/// A record read back: which request first used the key, and the order it created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IdempotencyRecord {
    pub(crate) fingerprint: RequestFingerprint,
    pub(crate) order_id: OrderId,
    /// Epoch seconds after which the record no longer counts.
    pub(crate) expires_at: i64,
}

impl IdempotencyRecord {
    /// Whether the record still counts at `now`.
    pub(crate) fn is_live(&self, now: Timestamp) -> bool {
        self.expires_at > epoch_seconds_floor(now)
    }
}

/// `expiresAt` for an instant: epoch seconds, rounded up.
pub(crate) fn expiry_seconds(at: Timestamp) -> i64 {
    at.as_millis().div_euclid(1_000) + i64::from(at.as_millis().rem_euclid(1_000) != 0)
}

/// The whole seconds that have passed at `now`: a record with `expiresAt` at or before this is gone.
pub(crate) fn epoch_seconds_floor(now: Timestamp) -> i64 {
    now.as_millis().div_euclid(1_000)
}

/// The record that remembers `key` for the order `order_id`.
pub(crate) fn record_item(idempotency: &IdempotentOrderCreate, order_id: OrderId) -> Item {
    [
        (PK, s(idempotency.key.as_str())),
        (FINGERPRINT, s(idempotency.fingerprint.as_str())),
        (ORDER_ID, s(order_id.to_string())),
        (EXPIRES_AT, n(expiry_seconds(idempotency.expires_at))),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

/// The record an item stores, or what is wrong with it.
pub(crate) fn record_from_item(item: &Item) -> Result<IdempotencyRecord, String> {
    Ok(IdempotencyRecord {
        fingerprint: RequestFingerprint::from_stored(get_s(item, FINGERPRINT)?.to_owned()),
        order_id: OrderId::parse(ORDER_ID, get_s(item, ORDER_ID)?).map_err(invalid(ORDER_ID))?,
        expires_at: get_n(item, EXPIRES_AT)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rill_core::IdempotencyKey;

    #[test]
    fn expiry_rounds_up_to_the_second_and_now_rounds_down() {
        assert_eq!(expiry_seconds(Timestamp::from_millis(5_000)), 5);
        assert_eq!(expiry_seconds(Timestamp::from_millis(5_001)), 6);
        assert_eq!(expiry_seconds(Timestamp::from_millis(-1)), 0);
        assert_eq!(epoch_seconds_floor(Timestamp::from_millis(5_999)), 5);
    }

    #[test]
    fn a_record_counts_until_its_expiry_and_not_after() {
        let record = IdempotencyRecord {
            fingerprint: RequestFingerprint::from_stored("f".into()),
            order_id: OrderId::generate(),
            expires_at: expiry_seconds(Timestamp::from_millis(10_000)),
        };
        assert!(record.is_live(Timestamp::from_millis(9_999)));
        assert!(!record.is_live(Timestamp::from_millis(10_000)));
    }

    #[test]
    fn a_record_round_trips_through_its_item() {
        let order_id = OrderId::generate();
        let create = IdempotentOrderCreate {
            key: IdempotencyKey::parse("retry-7").unwrap(),
            fingerprint: RequestFingerprint::from_stored("ab".repeat(32)),
            expires_at: Timestamp::from_millis(86_400_500),
        };
        let record = record_from_item(&record_item(&create, order_id)).unwrap();
        assert_eq!(record.order_id, order_id);
        assert_eq!(record.fingerprint, create.fingerprint);
        assert_eq!(record.expires_at, 86_401);
    }
}
