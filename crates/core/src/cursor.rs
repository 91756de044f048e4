//! Opaque, tamper-checked pagination cursors.
//!
//! A store pages with its own position bytes (a SQLite key, a DynamoDB `LastEvaluatedKey`). Clients
//! never see those raw: the cursor is the position plus an HMAC-SHA256 tag over the position and the
//! query it belongs to, in URL-safe base64. A cursor that was edited, truncated, or replayed against
//! another filter fails to open and is answered with a 400, never passed to the store.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::DomainError;

type HmacSha256 = Hmac<Sha256>;

/// Bytes of the HMAC tag kept in a cursor. 128 bits are plenty against forgery.
const TAG_LEN: usize = 16;
/// Longest cursor accepted, in characters.
pub const MAX_CURSOR_LEN: usize = 2048;

/// Seals cursors with one secret key, and opens those sealed with it or with the key it replaced.
///
/// The key that replaced another ([`CursorSigner::rotated`]) keeps opening the cursors that clients
/// got before the rotation, so a deployment can change its key without breaking a listing in
/// progress.
#[derive(Clone)]
pub struct CursorSigner {
    key: Vec<u8>,
    previous: Option<Vec<u8>>,
}

impl std::fmt::Debug for CursorSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorSigner(..)")
    }
}

impl CursorSigner {
    /// A signer with this secret. Every instance of a deployment must share it, or a cursor issued by
    /// one instance fails on another.
    pub fn new(key: impl Into<Vec<u8>>) -> Self {
        Self {
            key: key.into(),
            previous: None,
        }
    }

    /// A signer that seals with `key` and still opens what `previous` sealed.
    pub fn rotated(key: impl Into<Vec<u8>>, previous: impl Into<Vec<u8>>) -> Self {
        Self {
            key: key.into(),
            previous: Some(previous.into()),
        }
    }

    /// The key this signer seals with.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The cursor a client sends back to continue this query after `position`.
    pub fn seal(&self, scope: &str, position: &[u8]) -> String {
        let tag = mac(&self.key, scope, position).finalize().into_bytes();
        let mut bytes = Vec::with_capacity(position.len() + TAG_LEN);
        bytes.extend_from_slice(position);
        bytes.extend_from_slice(&tag[..TAG_LEN]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The position inside a cursor, if this signer sealed it for this same query.
    pub fn open(&self, scope: &str, cursor: &str) -> Result<Vec<u8>, DomainError> {
        let invalid = || DomainError::invalid(CURSOR_FIELD, "is not a cursor this query returned");
        if cursor.is_empty() || cursor.len() > MAX_CURSOR_LEN {
            return Err(invalid());
        }
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
        if bytes.len() < TAG_LEN {
            return Err(invalid());
        }
        let (position, tag) = bytes.split_at(bytes.len() - TAG_LEN);
        let verifies = |key: &[u8]| mac(key, scope, position).verify_truncated_left(tag).is_ok();
        if verifies(&self.key) || self.previous.as_deref().is_some_and(verifies) {
            Ok(position.to_vec())
        } else {
            Err(invalid())
        }
    }
}

impl DomainError {
    /// Whether this is the refusal of a client's cursor by [`CursorSigner::open`].
    pub fn rejects_cursor(&self) -> bool {
        matches!(self, Self::Validation(errors) if errors.iter().any(|e| e.field == CURSOR_FIELD))
    }
}

/// The field a cursor that fails to open is reported under.
const CURSOR_FIELD: &str = "cursor";

/// The HMAC over a query's scope and a position, keyed with `key`.
fn mac(key: &[u8], scope: &str, position: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(scope.as_bytes());
    mac.update(&[0]);
    mac.update(position);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_cursor_opens_to_its_position() {
        let signer = CursorSigner::new(b"k".to_vec());
        let cursor = signer.seal("users", b"position-42");
        assert_eq!(signer.open("users", &cursor).unwrap(), b"position-42");
    }

    #[test]
    fn a_cursor_for_another_query_or_key_or_with_any_byte_changed_is_rejected() {
        let signer = CursorSigner::new(b"k".to_vec());
        let cursor = signer.seal("orders|a", b"position-42");
        assert!(signer.open("orders|b", &cursor).is_err());
        assert!(
            CursorSigner::new(b"other".to_vec())
                .open("orders|a", &cursor)
                .is_err()
        );
        for i in 0..cursor.len() {
            let mut bytes = cursor.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(bytes).unwrap();
            if tampered != cursor {
                assert!(signer.open("orders|a", &tampered).is_err(), "byte {i}");
            }
        }
        for garbage in ["", "!!!", "AAAA", &"A".repeat(MAX_CURSOR_LEN + 1)] {
            assert!(signer.open("orders|a", garbage).is_err());
        }
    }

    #[test]
    fn a_rotated_signer_seals_with_the_new_key_and_still_opens_what_the_old_one_sealed() {
        // Given a cursor sealed before the key changed
        let old = CursorSigner::new(b"old".to_vec());
        let before = old.seal("users", b"p1");
        // When the signer rotates to a new key
        let rotated = CursorSigner::rotated(b"new".to_vec(), b"old".to_vec());
        // Then the old cursor still opens, new cursors are sealed with the new key only
        assert_eq!(rotated.open("users", &before).unwrap(), b"p1");
        let after = rotated.seal("users", b"p2");
        assert!(old.open("users", &after).is_err());
        assert_eq!(
            CursorSigner::new(b"new".to_vec())
                .open("users", &after)
                .unwrap(),
            b"p2"
        );
        // And a cursor of a third key is still refused
        let stranger = CursorSigner::new(b"other".to_vec()).seal("users", b"p3");
        assert!(rotated.open("users", &stranger).is_err());
    }
}
