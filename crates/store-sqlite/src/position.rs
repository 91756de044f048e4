//! Pagination positions: the key of the last row of a page, in a compact binary form.
//!
//! Pages are keyset pages (`WHERE key > last ORDER BY key LIMIT n`), never `OFFSET`: each page costs
//! the same however deep the client is, and rows written between pages neither repeat nor vanish.
//! The bytes are sealed into a client cursor by [`rill_core::CursorSigner`], which also binds them to
//! their query, so they only need to be unambiguous: a format tag, then the key.
//!
//! - users, by id: `[1]` + the 16 UUID bytes of the id;
//! - orders, by `(created_at, id)`: `[2]` + `created_at` as 8 big-endian bytes + the 16 id bytes.

use rill_core::{DomainError, OrderId, Timestamp, UserId};
use uuid::Uuid;

const USER_BY_ID: u8 = 1;
const ORDER_BY_CREATED: u8 = 2;

/// The most rows one page returns, whatever the caller asks: a page is held in memory whole. The
/// export function pages with 1 000; HTTP listings are capped at 100 before they get here.
pub const MAX_PAGE_ROWS: usize = 10_000;

/// How many rows a page of `limit` holds: at least one, at most [`MAX_PAGE_ROWS`].
pub(crate) fn page_rows(limit: usize) -> Result<usize, DomainError> {
    if limit == 0 {
        return Err(DomainError::invalid("limit", "must be at least 1"));
    }
    Ok(limit.min(MAX_PAGE_ROWS))
}

/// The position after a user.
pub(crate) fn encode_user(id: UserId) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(17);
    bytes.push(USER_BY_ID);
    bytes.extend_from_slice(id.as_uuid().as_bytes());
    bytes
}

/// The id text a users page continues after, as the `users.id` column holds it.
pub(crate) fn decode_user(bytes: &[u8]) -> Result<String, DomainError> {
    match bytes {
        [USER_BY_ID, id @ ..] => id_text(id),
        _ => Err(not_a_position()),
    }
}

/// The position after an order in `(created_at, id)` order.
pub(crate) fn encode_order(created_at: Timestamp, id: OrderId) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(25);
    bytes.push(ORDER_BY_CREATED);
    bytes.extend_from_slice(&created_at.as_millis().to_be_bytes());
    bytes.extend_from_slice(id.as_uuid().as_bytes());
    bytes
}

/// The `(created_at, id)` an orders page continues after.
pub(crate) fn decode_order(bytes: &[u8]) -> Result<(i64, String), DomainError> {
    match bytes {
        [ORDER_BY_CREATED, rest @ ..] if rest.len() == 24 => {
            let (created_at, id) = rest.split_at(8);
            let created_at =
                i64::from_be_bytes(created_at.try_into().map_err(|_| not_a_position())?);
            Ok((created_at, id_text(id)?))
        }
        _ => Err(not_a_position()),
    }
}

fn id_text(bytes: &[u8]) -> Result<String, DomainError> {
    Uuid::from_slice(bytes)
        .map(|uuid| uuid.hyphenated().to_string())
        .map_err(|_| not_a_position())
}

fn not_a_position() -> DomainError {
    DomainError::invalid("cursor", "is not a cursor this query returned")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_decode_to_the_id_text_the_tables_hold() {
        let user = UserId::generate();
        assert_eq!(decode_user(&encode_user(user)).unwrap(), user.to_string());
        let order = OrderId::generate();
        let bytes = encode_order(Timestamp::from_millis(-5), order);
        assert_eq!(bytes.len(), 25);
        assert_eq!(decode_order(&bytes).unwrap(), (-5, order.to_string()));
    }

    #[test]
    fn bytes_of_another_kind_or_length_are_a_cursor_validation_error() {
        let user = encode_user(UserId::generate());
        let order = encode_order(Timestamp::from_millis(7), OrderId::generate());
        for bytes in [
            &[][..],
            &[9; 17][..],
            &user[..16],
            &order[..],
            &order[..24],
            &[&order[..], &[0][..]].concat()[..],
        ] {
            match decode_user(bytes) {
                Err(DomainError::Validation(errors)) => assert_eq!(errors[0].field, "cursor"),
                other => panic!("{bytes:?} decoded as a user position: {other:?}"),
            }
        }
        assert!(decode_order(&user).is_err());
        assert!(decode_order(&order[..24]).is_err());
    }

    #[test]
    fn a_page_holds_at_least_one_row_and_at_most_the_cap() {
        assert!(page_rows(0).is_err());
        assert_eq!(page_rows(1).unwrap(), 1);
        assert_eq!(page_rows(1_000).unwrap(), 1_000);
        assert_eq!(page_rows(usize::MAX).unwrap(), MAX_PAGE_ROWS);
    }
}
