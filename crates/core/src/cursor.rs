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

/// Seals and opens cursors with one secret key.
#[derive(Clone)]
pub struct CursorSigner {
    key: Vec<u8>,
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
        Self { key: key.into() }
    }

    fn mac(&self, scope: &str, position: &[u8]) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = match HmacSha256::new_from_slice(&self.key) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        mac.update(scope.as_bytes());
        mac.update(&[0]);
        mac.update(position);
        mac
    }

    /// The cursor a client sends back to continue this query after `position`.
    pub fn seal(&self, scope: &str, position: &[u8]) -> String {
        let tag = self.mac(scope, position).finalize().into_bytes();
        let mut bytes = Vec::with_capacity(position.len() + TAG_LEN);
        bytes.extend_from_slice(position);
        bytes.extend_from_slice(&tag[..TAG_LEN]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The position inside a cursor, if this signer sealed it for this same query.
    pub fn open(&self, scope: &str, cursor: &str) -> Result<Vec<u8>, DomainError> {
        let invalid = || DomainError::invalid("cursor", "is not a cursor this query returned");
        if cursor.is_empty() || cursor.len() > MAX_CURSOR_LEN {
            return Err(invalid());
        }
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
        if bytes.len() < TAG_LEN {
            return Err(invalid());
        }
        let (position, tag) = bytes.split_at(bytes.len() - TAG_LEN);
        self.mac(scope, position)
            .verify_truncated_left(tag)
            .map_err(|_| invalid())?;
        Ok(position.to_vec())
    }
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
}
