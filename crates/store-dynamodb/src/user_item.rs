//! Users and email claims as items of the users table.
//!
//! ```text
//! { pk: "USER#<id>", kind: "user", id, email, emailKey, name, createdAt: N ms, updatedAt: N ms, version: N,
//!   writeToken?: "<random, set by updates that keep the email>" }
//! { pk: "EMAIL#<Email::key()>", kind: "email", userId }
//! ```
//!
//! The claim item is what makes an email unique: it is created with `attribute_not_exists(pk)` in the
//! same transaction as the user. The user item keeps `emailKey` so that an update or delete knows
//! which claim to move or release.

use rill_core::{Email, Timestamp, User, UserId, UserName};
use sha2::{Digest, Sha256};

use crate::attributes::{Item, get_n, get_s, invalid, n, s};
use crate::schema::{PK, USER_ID};

/// The `kind` attribute, which tells the two item types apart in a `Scan`.
pub(crate) const KIND: &str = "kind";
pub(crate) const KIND_USER: &str = "user";
const KIND_EMAIL: &str = "email";

const ID: &str = "id";
const EMAIL: &str = "email";
pub(crate) const EMAIL_KEY: &str = "emailKey";
const NAME: &str = "name";
const CREATED_AT: &str = "createdAt";
const UPDATED_AT: &str = "updatedAt";
pub(crate) const VERSION: &str = "version";

/// Longest email key kept verbatim in a claim's `pk`. An address is at most 254 characters, but its NFKC
/// form can be several times longer, and a partition key holds at most 2048 bytes; longer keys are
/// replaced by their SHA-256, which is as unique.
const MAX_VERBATIM_EMAIL_KEY: usize = 1024;

/// The key of a user's item.
pub(crate) fn user_pk(id: UserId) -> String {
    format!("USER#{id}")
}

/// The key of the claim on an email key.
pub(crate) fn claim_pk(email_key: &str) -> String {
    if email_key.len() <= MAX_VERBATIM_EMAIL_KEY {
        format!("EMAIL#{email_key}")
    } else {
        let digest = Sha256::digest(email_key.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("EMAIL#sha256:{hex}")
    }
}

/// The item that stores a user.
pub(crate) fn user_item(user: &User) -> Item {
    [
        (PK, s(user_pk(user.id))),
        (KIND, s(KIND_USER)),
        (ID, s(user.id.to_string())),
        (EMAIL, s(user.email.as_str())),
        (EMAIL_KEY, s(user.email.key())),
        (NAME, s(user.name.as_str())),
        (CREATED_AT, n(user.created_at.as_millis())),
        (UPDATED_AT, n(user.updated_at.as_millis())),
        (VERSION, n(user.version)),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

/// The item that claims a user's email.
pub(crate) fn claim_item(user: &User) -> Item {
    [
        (PK, s(claim_pk(user.email.key()))),
        (KIND, s(KIND_EMAIL)),
        (USER_ID, s(user.id.to_string())),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

/// The user an item stores, or what is wrong with it.
pub(crate) fn user_from_item(item: &Item) -> Result<User, String> {
    let id = UserId::parse(ID, get_s(item, ID)?).map_err(invalid(ID))?;
    if get_s(item, PK)? != user_pk(id) {
        return Err("pk does not match id".to_owned());
    }
    let email = Email::parse(get_s(item, EMAIL)?).map_err(invalid(EMAIL))?;
    let name = UserName::parse(get_s(item, NAME)?).map_err(invalid(NAME))?;
    let version: u64 = get_n(item, VERSION)?;
    if version == 0 {
        return Err("version is 0".to_owned());
    }
    Ok(User {
        id,
        email,
        name,
        created_at: Timestamp::from_millis(get_n(item, CREATED_AT)?),
        updated_at: Timestamp::from_millis(get_n(item, UPDATED_AT)?),
        version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rill_core::NewUser;

    fn ada() -> User {
        NewUser::parse("Ada@Example.com", "Ada Lovelace")
            .unwrap()
            .into_user(Timestamp::from_millis(1_763_777_953_123))
    }

    #[test]
    fn a_user_round_trips_through_its_item() {
        let user = ada();
        let item = user_item(&user);
        assert_eq!(get_s(&item, EMAIL_KEY), Ok("ada@example.com"));
        assert_eq!(user_from_item(&item).unwrap(), user);
    }

    #[test]
    fn the_claim_is_keyed_by_the_case_folded_email() {
        let user = ada();
        let claim = claim_item(&user);
        assert_eq!(get_s(&claim, PK), Ok("EMAIL#ada@example.com"));
        assert_eq!(get_s(&claim, USER_ID).unwrap(), user.id.to_string());
    }

    #[test]
    fn an_email_key_too_long_for_a_partition_key_is_hashed() {
        // U+FDFA is one character of three bytes whose NFKC form is eighteen characters long.
        let email = |label: &str| Email::parse(&format!("a@{label}.com")).unwrap();
        let long = email(&"\u{fdfa}".repeat(60));
        assert!(long.as_str().len() <= 254);
        assert!(long.key().len() > MAX_VERBATIM_EMAIL_KEY);
        let pk = claim_pk(long.key());
        assert!(pk.starts_with("EMAIL#sha256:"));
        assert_eq!(pk.len(), "EMAIL#sha256:".len() + 64);
        assert_ne!(claim_pk(email(&"\u{fdfa}".repeat(61)).key()), pk);
    }

    #[test]
    fn an_item_with_a_broken_field_is_reported_not_trusted() {
        let user = ada();
        for (name, value) in [
            (ID, s("not-an-id")),
            (EMAIL, s("nope")),
            (NAME, s("")),
            (VERSION, n(0)),
            (CREATED_AT, s("yesterday")),
            (PK, s("USER#someone-else")),
        ] {
            let mut item = user_item(&user);
            item.insert(name.to_owned(), value);
            let problem = user_from_item(&item).unwrap_err();
            assert!(!problem.is_empty(), "{name}");
        }
        let mut item = user_item(&user);
        item.remove(NAME);
        assert_eq!(user_from_item(&item).unwrap_err(), "name is missing");
    }
}
