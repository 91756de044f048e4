//! Idempotent creation: the key a client sends with `POST /orders`, and the fingerprint of the request
//! it was sent with, so a retry can be told apart from a different request that reuses the key.

use sha2::{Digest, Sha256};

use crate::{DomainError, NewOrder, Timestamp};

/// The longest `Idempotency-Key` accepted.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;
/// How long a key is remembered: a retry after this creates a new order.
pub const IDEMPOTENCY_WINDOW_MILLIS: i64 = 24 * 60 * 60 * 1000;

/// A client-chosen key: 1–255 visible ASCII characters (a UUID is a good choice).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        if text.is_empty() || text.len() > MAX_IDEMPOTENCY_KEY_LEN {
            return Err(DomainError::invalid(
                "Idempotency-Key",
                "must be 1 to 255 characters long",
            ));
        }
        if !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(DomainError::invalid(
                "Idempotency-Key",
                "must be visible ASCII characters without spaces",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The SHA-256 of a request's meaning, in hex. Two requests that differ only in JSON spacing or key
/// order have the same fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestFingerprint(String);

impl RequestFingerprint {
    pub fn of_new_order(order: &NewOrder) -> Self {
        let mut hash = Sha256::new();
        hash.update(order.user_id.to_string());
        hash.update([0]);
        hash.update(order.currency.code());
        for item in &order.items {
            hash.update([0]);
            hash.update(item.sku.as_str());
            hash.update([0]);
            hash.update(item.quantity.get().to_be_bytes());
            hash.update(item.unit_price.get().to_be_bytes());
        }
        let digest = hash.finalize();
        Self(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// A fingerprint read back from a store.
    pub fn from_stored(text: String) -> Self {
        Self(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a store needs to make one order creation idempotent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentOrderCreate {
    pub key: IdempotencyKey,
    pub fingerprint: RequestFingerprint,
    /// After this instant the key is forgotten (DynamoDB's TTL attribute; SQLite purges on write).
    pub expires_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NewLineItem, UserId};

    #[test]
    fn keys_must_be_short_visible_ascii() {
        assert!(IdempotencyKey::parse("3f1c-retry-1").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        for text in ["", "has space", "tab\t", "ünï", &"k".repeat(256)] {
            assert!(
                IdempotencyKey::parse(text).is_err(),
                "{text:?} was accepted"
            );
        }
    }

    #[test]
    fn the_fingerprint_changes_with_any_field_and_only_then() {
        let user = UserId::generate().to_string();
        let order = |sku, q| {
            NewOrder::parse(
                &user,
                "EUR",
                &[NewLineItem {
                    sku,
                    quantity: q,
                    unit_price: 5,
                }],
            )
            .unwrap()
        };
        let a = RequestFingerprint::of_new_order(&order("A", 1));
        assert_eq!(a, RequestFingerprint::of_new_order(&order("A", 1)));
        assert_ne!(a, RequestFingerprint::of_new_order(&order("A", 2)));
        assert_ne!(a, RequestFingerprint::of_new_order(&order("B", 1)));
        assert_eq!(a.as_str().len(), 64);
    }
}
