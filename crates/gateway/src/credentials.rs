//! The credentials the local gateway accepts and the identity it reports for them.
//!
//! API Gateway looks an access key up in IAM and puts the caller into
//! `requestContext.identity`. Locally there is no IAM: each accepted key is paired with a fixed
//! identity ([`LocalIdentity`]) so that functions see the same shape of identity they will see in
//! AWS. The defaults are the documented development credentials printed when the gateway starts;
//! they are deliberately not shaped like real AWS keys (`AKIA…`/`ASIA…`) so that they can never be
//! mistaken for, or leak as, real ones.

use std::fmt;

/// A key pair (and optional session token) that the local gateway accepts for SigV4.
///
/// `Debug` redacts the secret and the session token, so a `LocalCredentials` can be logged safely.
#[derive(Clone, PartialEq, Eq)]
pub struct LocalCredentials {
    /// The access key id clients put in the credential scope (`Credential=<id>/…`).
    pub access_key_id: String,
    /// The secret clients sign with.
    pub secret_access_key: String,
    /// When set, every request must carry this exact `X-Amz-Security-Token` (as temporary
    /// credentials require in AWS); when unset, a request that carries any token is rejected.
    pub session_token: Option<String>,
}

impl LocalCredentials {
    /// The documented local access key id.
    pub const DEFAULT_ACCESS_KEY_ID: &'static str = "AKIDLOCALRILL0000000";
    /// The documented local secret. Useless anywhere but the local gateway.
    pub const DEFAULT_SECRET_ACCESS_KEY: &'static str = "rill-local-secret-key-do-not-use-in-aws";

    /// Long-term credentials (no session token).
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token: None,
        }
    }

    /// The same credentials, but requiring `session_token` on every request.
    #[must_use]
    pub fn with_session_token(mut self, session_token: impl Into<String>) -> Self {
        self.session_token = Some(session_token.into());
        self
    }
}

impl Default for LocalCredentials {
    /// The documented local credentials: [`Self::DEFAULT_ACCESS_KEY_ID`] and
    /// [`Self::DEFAULT_SECRET_ACCESS_KEY`], without a session token.
    fn default() -> Self {
        Self::new(Self::DEFAULT_ACCESS_KEY_ID, Self::DEFAULT_SECRET_ACCESS_KEY)
    }
}

impl fmt::Debug for LocalCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "** redacted **"),
            )
            .finish()
    }
}

/// The IAM principal a set of [`LocalCredentials`] stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalIdentity {
    /// The IAM unique id (`AIDA…` for a user), reported as `caller` and `user`.
    pub user_id: String,
    /// The principal's ARN, reported as `userArn`.
    pub user_arn: String,
    /// The 12-digit account id, reported as `accountId`.
    pub account_id: String,
}

impl LocalIdentity {
    /// The local user's unique id.
    pub const DEFAULT_USER_ID: &'static str = "AIDALOCALRILL0000000";
    /// The local user's ARN.
    pub const DEFAULT_USER_ARN: &'static str = "arn:aws:iam::000000000000:user/rill-local";
    /// The local account.
    pub const DEFAULT_ACCOUNT_ID: &'static str = "000000000000";
}

impl Default for LocalIdentity {
    fn default() -> Self {
        Self {
            user_id: Self::DEFAULT_USER_ID.to_owned(),
            user_arn: Self::DEFAULT_USER_ARN.to_owned(),
            account_id: Self::DEFAULT_ACCOUNT_ID.to_owned(),
        }
    }
}

/// Who signed a request, in the terms of `requestContext.identity` of a REST (v1) proxy event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCaller {
    /// `identity.accessKey`: the access key id the request was signed with.
    pub access_key: String,
    /// `identity.caller`: the principal's unique id.
    pub caller: String,
    /// `identity.user`: the principal's unique id.
    pub user: String,
    /// `identity.userArn`.
    pub user_arn: String,
    /// `identity.accountId`.
    pub account_id: String,
}

impl VerifiedCaller {
    pub(crate) fn of(credentials: &LocalCredentials, identity: &LocalIdentity) -> Self {
        Self {
            access_key: credentials.access_key_id.clone(),
            caller: identity.user_id.clone(),
            user: identity.user_id.clone(),
            user_arn: identity.user_arn.clone(),
            account_id: identity.account_id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_contains_the_secret_or_the_token() {
        let credentials = LocalCredentials::default().with_session_token("token-value");
        let printed = format!("{credentials:?}");
        assert!(printed.contains(LocalCredentials::DEFAULT_ACCESS_KEY_ID));
        assert!(!printed.contains(LocalCredentials::DEFAULT_SECRET_ACCESS_KEY));
        assert!(!printed.contains("token-value"));
    }
}
