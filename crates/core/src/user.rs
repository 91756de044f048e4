//! Users: who places orders. A user's email is unique without regard to case or Unicode
//! normalisation, and every change bumps the user's version.

use serde::Serialize;
use unicode_normalization::UnicodeNormalization;

use crate::error::FieldErrors;
use crate::{DomainError, FIRST_VERSION, Timestamp, UserId};

/// The longest email address, in characters: RFC 5321's 254 for an ASCII path. Counted in characters
/// rather than octets so that the API definition's `maxLength: 254` (which JSON Schema counts in
/// characters) says exactly what is accepted, for internationalised addresses too.
pub const MAX_EMAIL_LEN: usize = 254;
/// The longest name, in characters, after trimming.
pub const MAX_NAME_CHARS: usize = 200;

/// An email address, as the user typed it (trimmed, NFC-normalised), with the key that makes it unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    address: String,
    key: String,
}

impl Email {
    /// Parses an address. The rules are deliberately plain: one `@`, a local part of 1–64 characters,
    /// a domain of dot-separated labels with at least one dot, no whitespace or control characters, at
    /// most 254 characters. Delivery is the real test of an address; this only rejects what cannot
    /// be one.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let invalid = |message: &str| DomainError::invalid("email", message);
        let address: String = text.trim().nfc().collect();
        if address.is_empty() {
            return Err(invalid("must not be empty"));
        }
        if address.chars().count() > MAX_EMAIL_LEN {
            return Err(invalid("must be at most 254 characters long"));
        }
        if address.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("must not contain spaces or control characters"));
        }
        let Some((local, domain)) = address.rsplit_once('@') else {
            return Err(invalid("must contain an @"));
        };
        if local.is_empty() || local.chars().count() > 64 || local.contains('@') {
            return Err(invalid(
                "must have a local part of 1 to 64 characters before a single @",
            ));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let label_ok = |label: &&str| {
            !label.is_empty()
                && label.chars().count() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if labels.len() < 2 || !labels.iter().all(label_ok) {
            return Err(invalid(
                "must have a domain such as example.com after the @",
            ));
        }
        let key = address.nfkc().flat_map(char::to_lowercase).nfc().collect();
        Ok(Self { address, key })
    }

    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// The uniqueness key: NFKC-normalised and lowercased. `Ann@Example.com` and `ann@example.com`
    /// share it, and so do an address and its compatibility-decomposed twin.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl Serialize for Email {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.address)
    }
}

/// A display name: trimmed, NFC-normalised, 1–200 characters, no control characters.
///
/// The limit counts the characters of the name as stored, after normalisation, because that is the
/// value every later read returns. A few characters grow under NFC (`U+FB2C` becomes three, `U+0958`
/// two), so a name the API definition's `maxLength: 200` lets through can still be too long here;
/// and a decomposed name of more than 200 characters as sent can shrink to fit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct UserName(String);

impl UserName {
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let name: String = text.trim().nfc().collect();
        let chars = name.chars().count();
        if chars == 0 {
            return Err(DomainError::invalid("name", "must not be empty"));
        }
        if chars > MAX_NAME_CHARS {
            return Err(DomainError::invalid(
                "name",
                "must be at most 200 characters long",
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(DomainError::invalid(
                "name",
                "must not contain control characters",
            ));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user as stored and as returned by the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub name: UserName,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: u64,
}

/// A validated request to create a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub email: Email,
    pub name: UserName,
}

impl NewUser {
    /// Validates both fields and reports every broken rule.
    pub fn parse(email: &str, name: &str) -> Result<Self, DomainError> {
        let mut errors = FieldErrors::default();
        let email = errors.take(Email::parse(email));
        let name = errors.take(UserName::parse(name));
        errors.finish()?;
        match (email, name) {
            (Some(email), Some(name)) => Ok(Self { email, name }),
            _ => Err(DomainError::invalid("", "the request is invalid")),
        }
    }

    /// The user this request creates at `now`.
    pub fn into_user(self, now: Timestamp) -> User {
        User {
            id: UserId::generate(),
            email: self.email,
            name: self.name,
            created_at: now,
            updated_at: now,
            version: FIRST_VERSION,
        }
    }
}

/// A validated partial update. At least one field is present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPatch {
    pub email: Option<Email>,
    pub name: Option<UserName>,
}

impl UserPatch {
    pub fn parse(email: Option<&str>, name: Option<&str>) -> Result<Self, DomainError> {
        if email.is_none() && name.is_none() {
            return Err(DomainError::invalid(
                "",
                "must change at least one of email or name",
            ));
        }
        let mut errors = FieldErrors::default();
        let email = email.and_then(|e| errors.take(Email::parse(e)));
        let name = name.and_then(|n| errors.take(UserName::parse(n)));
        errors.finish()?;
        Ok(Self { email, name })
    }

    /// The user after this patch, one version on. `None` when nothing would change.
    pub fn apply(&self, user: &User, now: Timestamp) -> Option<User> {
        let email = self.email.clone().unwrap_or_else(|| user.email.clone());
        let name = self.name.clone().unwrap_or_else(|| user.name.clone());
        if email == user.email && name == user.name {
            return None;
        }
        Some(User {
            id: user.id,
            email,
            name,
            created_at: user.created_at,
            updated_at: now.max(user.updated_at),
            version: user.version + 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(err: DomainError) -> Vec<String> {
        match err {
            DomainError::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn an_email_is_trimmed_and_keyed_case_insensitively() {
        let a = Email::parse("  Ann@Example.COM ").unwrap();
        let b = Email::parse("ann@example.com").unwrap();
        assert_eq!(a.as_str(), "Ann@Example.COM");
        assert_eq!(a.key(), b.key());
    }

    #[test]
    fn emails_that_differ_only_in_unicode_normalisation_share_a_key() {
        let composed = Email::parse("jos\u{e9}@example.com").unwrap();
        let decomposed = Email::parse("jose\u{301}@example.com").unwrap();
        let fullwidth = Email::parse("\u{ff2a}ose\u{301}@example.com").unwrap();
        assert_eq!(composed.key(), decomposed.key());
        assert_eq!(composed.key(), fullwidth.key());
    }

    #[test]
    fn malformed_emails_are_rejected() {
        for text in [
            "",
            "plainaddress",
            "@example.com",
            "ann@",
            "ann@localhost",
            "ann@@example.com",
            "ann @example.com",
            "ann@exa mple.com",
            "ann@-example.com",
            "ann@example..com",
            "ann\u{0}@example.com",
        ] {
            assert!(Email::parse(text).is_err(), "{text:?} was accepted");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }

    #[test]
    fn the_length_limit_counts_characters_not_bytes() {
        // 64 two-byte characters, @, and a domain of 189: 254 characters, 318 bytes.
        let local = "\u{e9}".repeat(64);
        let label = "d".repeat(61);
        let domain = format!("{label}.{label}.{label}.com");
        let longest = format!("{local}@{domain}");
        assert_eq!(longest.chars().count(), 254);
        assert!(longest.len() > 254);
        assert!(Email::parse(&longest).is_ok());
        assert!(Email::parse(&format!("{local}@d{domain}")).is_err());
    }

    #[test]
    fn a_name_is_trimmed_and_bounded() {
        assert_eq!(UserName::parse("  Ann  ").unwrap().as_str(), "Ann");
        assert!(UserName::parse("   ").is_err());
        assert!(UserName::parse(&"é".repeat(200)).is_ok());
        assert!(UserName::parse(&"é".repeat(201)).is_err());
        assert!(UserName::parse("Ann\u{7}").is_err());
    }

    #[test]
    fn a_name_that_grows_past_the_limit_under_normalisation_is_rejected() {
        // Given 70 characters that NFC turns into 210 (U+FB2C decomposes to three and never recomposes).
        let name = "\u{fb2c}".repeat(70);
        assert_eq!(name.chars().count(), 70);
        // When it is parsed, then the normalised length is what is checked.
        let err = UserName::parse(&name).unwrap_err();
        assert_eq!(fields(err), vec!["name"]);
        // And 66 of them plus two letters make exactly 200, one more is over.
        let fits = format!("{}ab", "\u{fb2c}".repeat(66));
        assert_eq!(
            UserName::parse(&fits).unwrap().as_str().chars().count(),
            200
        );
        assert!(UserName::parse(&format!("{fits}c")).is_err());
    }

    #[test]
    fn a_decomposed_name_is_counted_after_it_is_composed() {
        // Given 200 `é` sent decomposed: 400 characters as sent, 200 once composed.
        let decomposed = "e\u{301}".repeat(200);
        assert_eq!(decomposed.chars().count(), 400);
        // When parsed, then it is stored composed and fits the limit exactly.
        let name = UserName::parse(&decomposed).unwrap();
        assert_eq!(name.as_str(), "\u{e9}".repeat(200));
        assert!(UserName::parse(&"e\u{301}".repeat(201)).is_err());
    }

    #[test]
    fn an_email_that_grows_past_its_limits_under_normalisation_is_rejected() {
        // A local part of 30 characters that NFC turns into 90: past the 64 of a local part.
        let local = "\u{fb2c}".repeat(30);
        assert!(Email::parse(&format!("{local}@example.com")).is_err());
        // 21 of them fit (63 characters after NFC); two more characters make 65, one too many.
        let fits = format!("{}@example.com", "\u{fb2c}".repeat(21));
        assert!(Email::parse(&fits).is_ok());
        let over = format!("{}ab@example.com", "\u{fb2c}".repeat(21));
        assert!(Email::parse(&over).is_err());
    }

    #[test]
    fn a_new_user_reports_every_broken_field_at_once() {
        let err = NewUser::parse("nope", "").unwrap_err();
        assert_eq!(fields(err), vec!["email", "name"]);
    }

    #[test]
    fn a_new_user_starts_at_the_first_version_with_equal_timestamps() {
        let now = Timestamp::from_millis(1_000);
        let user = NewUser::parse("a@b.co", "A").unwrap().into_user(now);
        assert_eq!(user.version, FIRST_VERSION);
        assert_eq!(user.created_at, now);
        assert_eq!(user.updated_at, now);
    }

    #[test]
    fn a_patch_bumps_the_version_and_keeps_what_it_does_not_name() {
        let user = NewUser::parse("a@b.co", "A")
            .unwrap()
            .into_user(Timestamp::from_millis(1_000));
        let patch = UserPatch::parse(None, Some("B")).unwrap();
        let patched = patch.apply(&user, Timestamp::from_millis(2_000)).unwrap();
        assert_eq!(patched.name.as_str(), "B");
        assert_eq!(patched.email, user.email);
        assert_eq!(patched.version, user.version + 1);
        assert_eq!(patched.created_at, user.created_at);
        assert_eq!(patched.updated_at, Timestamp::from_millis(2_000));
    }

    #[test]
    fn a_patch_that_changes_nothing_is_not_a_write() {
        let user = NewUser::parse("a@b.co", "A")
            .unwrap()
            .into_user(Timestamp::from_millis(1_000));
        let patch = UserPatch::parse(Some("a@b.co"), Some("A")).unwrap();
        assert!(patch.apply(&user, Timestamp::from_millis(2_000)).is_none());
    }

    #[test]
    fn an_empty_patch_is_rejected() {
        assert!(UserPatch::parse(None, None).is_err());
    }
}
