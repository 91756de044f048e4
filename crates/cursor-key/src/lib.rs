//! The key that signs pagination cursors, and where it comes from.
//!
//! Locally the key is a plain setting (`RILL_CURSOR_KEY`, or the development key). Deployed, it is a
//! Secrets Manager secret that the function reads at run time, never a value in its environment: a
//! `{{resolve:secretsmanager:...}}` reference in the template would copy the secret into the function
//! configuration, where anyone allowed `lambda:GetFunctionConfiguration` reads it, and a rotation
//! would need a stack update. "Use AWS Secrets Manager secrets in AWS Lambda functions"
//! (<https://docs.aws.amazon.com/secretsmanager/latest/userguide/retrieving-secrets_lambda.html>)
//! recommends exactly this: retrieve at run time and cache.
//!
//! [`CursorKeys`] reads the secret on first use (never at Init, so a cold start pays nothing for
//! it), caches it for [`RefreshPolicy::max_age`], and reads it again early when a client's cursor
//! fails to verify with the cached key: after a rotation, another instance may already seal with the
//! new key. The refreshed signer keeps opening cursors sealed with the key it replaced
//! ([`CursorSigner::rotated`]), so a listing in progress survives the rotation. A forged cursor
//! cannot turn into a flood of `GetSecretValue` calls: an early read happens at most once per
//! [`RefreshPolicy::min_interval`].
//!
//! The reader is the AWS SDK's own Secrets Manager client rather than the Parameters and Secrets
//! Lambda Extension: it needs no Region-specific layer ARN in the template, runs the same way in
//! Lambda, locally and in tests, and uses the same HTTPS client as the DynamoDB store: the SDK's
//! hyper and rustls client on `ring`, not the SDK's default on aws-lc (what the reader adds to the
//! deployment zip, and what `ring` saves, are measured in `docs/benchmark-gaps.md`).

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_secretsmanager::Client;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use rill_core::{CursorSigner, DomainError};
use tokio::sync::{Mutex, OnceCell};

/// The shortest cursor key accepted: an HMAC key shorter than 128 bits is too easy to guess.
pub const MIN_CURSOR_KEY_LEN: usize = 16;

/// How long a key read from Secrets Manager is used before it is read again, and how often a
/// rejected cursor may cause an early read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshPolicy {
    /// A cached key older than this is read again before its next use. One hour is the default of
    /// AWS's own Secrets Manager caching clients.
    pub max_age: Duration,
    /// The least time between two reads caused by rejected cursors.
    pub min_interval: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(3600),
            min_interval: Duration::from_secs(30),
        }
    }
}

/// Why the key from Secrets Manager cannot be used. Logged with its sources; clients get a 503.
#[derive(Debug, thiserror::Error)]
pub enum CursorKeyError {
    #[error("GetSecretValue failed for the cursor key secret")]
    Read(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the cursor key secret has no SecretString")]
    NotAString,
    #[error("the cursor key secret is shorter than {MIN_CURSOR_KEY_LEN} bytes")]
    TooShort,
}

/// The cursor signer of a function: fixed, or backed by a Secrets Manager secret.
#[derive(Clone)]
pub struct CursorKeys {
    source: Source,
}

#[derive(Clone)]
enum Source {
    Fixed(CursorSigner),
    Secret(Arc<SecretKey>),
}

impl fmt::Debug for CursorKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Source::Fixed(_) => f.write_str("CursorKeys::Fixed(..)"),
            Source::Secret(secret) => f
                .debug_struct("CursorKeys::Secret")
                .field("secret_id", &secret.secret_id)
                .finish_non_exhaustive(),
        }
    }
}

impl CursorKeys {
    /// Always this key (local runs and tests).
    pub fn fixed(key: impl Into<Vec<u8>>) -> Self {
        Self {
            source: Source::Fixed(CursorSigner::new(key)),
        }
    }

    /// The secret `secret_id` (its ARN or name), read with a client configured from the environment
    /// on first use. Nothing is read or built here.
    pub fn from_secret(secret_id: impl Into<String>) -> Self {
        Self::from_secret_with(secret_id, RefreshPolicy::default())
    }

    /// [`CursorKeys::from_secret`] with another refresh policy.
    pub fn from_secret_with(secret_id: impl Into<String>, policy: RefreshPolicy) -> Self {
        Self {
            source: Source::Secret(Arc::new(SecretKey {
                secret_id: secret_id.into(),
                policy,
                client: OnceCell::new(),
                cached: Mutex::new(None),
            })),
        }
    }

    /// The signer for the next request: the cached key, read first when there is none yet or it
    /// is older than the policy's `max_age`. When a refresh fails but a key is cached, the cached
    /// key keeps serving (and the failure is logged); with no key at all the request gets a 503.
    pub async fn signer(&self) -> Result<CursorSigner, DomainError> {
        match &self.source {
            Source::Fixed(signer) => Ok(signer.clone()),
            Source::Secret(secret) => secret.signer().await,
        }
    }

    /// After a client's cursor failed to verify: reads the secret again, unless it was read less
    /// than `min_interval` ago, and returns the new signer when the key changed.
    pub async fn after_rejected_cursor(&self) -> Result<Option<CursorSigner>, DomainError> {
        match &self.source {
            Source::Fixed(_) => Ok(None),
            Source::Secret(secret) => secret.after_rejected_cursor().await,
        }
    }

    /// Runs `use_case` with the current signer and, when it rejects the client's cursor and the key
    /// turns out to have changed, once more with the new one. Only read-only use cases take a
    /// cursor, so running one twice is safe.
    pub async fn with_signer<T, F, Fut>(&self, mut use_case: F) -> Result<T, DomainError>
    where
        F: FnMut(CursorSigner) -> Fut,
        Fut: Future<Output = Result<T, DomainError>>,
    {
        match use_case(self.signer().await?).await {
            Err(error) if error.rejects_cursor() => match self.after_rejected_cursor().await? {
                Some(signer) => use_case(signer).await,
                None => Err(error),
            },
            outcome => outcome,
        }
    }
}

/// A key read from Secrets Manager, and when.
#[derive(Debug)]
struct Cached {
    signer: CursorSigner,
    read_at: Instant,
}

struct SecretKey {
    secret_id: String,
    policy: RefreshPolicy,
    client: OnceCell<Client>,
    /// One lock for reading and refreshing, so concurrent first requests read the secret once.
    cached: Mutex<Option<Cached>>,
}

impl SecretKey {
    async fn signer(&self) -> Result<CursorSigner, DomainError> {
        let mut cached = self.cached.lock().await;
        if let Some(current) = cached.as_ref()
            && current.read_at.elapsed() < self.policy.max_age
        {
            return Ok(current.signer.clone());
        }
        match self.read().await {
            Ok(key) => Ok(self.store(&mut cached, key).signer.clone()),
            Err(error) => match cached.as_ref() {
                Some(stale) => {
                    // Debug, not Display: it carries the SDK error it wraps.
                    tracing::warn!(
                        ?error,
                        "cannot refresh the cursor key; using the cached one"
                    );
                    Ok(stale.signer.clone())
                }
                None => Err(DomainError::unavailable(error)),
            },
        }
    }

    async fn after_rejected_cursor(&self) -> Result<Option<CursorSigner>, DomainError> {
        let mut cached = self.cached.lock().await;
        if cached
            .as_ref()
            .is_some_and(|current| current.read_at.elapsed() < self.policy.min_interval)
        {
            return Ok(None);
        }
        let key = self.read().await.map_err(DomainError::unavailable)?;
        let changed = cached
            .as_ref()
            .is_none_or(|current| current.signer.key() != key.as_slice());
        let current = self.store(&mut cached, key);
        Ok(changed.then(|| current.signer.clone()))
    }

    /// Caches `key`, keeping the key it replaces able to open the cursors it sealed.
    fn store<'a>(&self, cached: &'a mut Option<Cached>, key: Vec<u8>) -> &'a Cached {
        let signer = match cached.take() {
            Some(old) if old.signer.key() != key.as_slice() => {
                tracing::info!("the cursor key changed");
                CursorSigner::rotated(key, old.signer.key().to_vec())
            }
            Some(old) => old.signer,
            None => CursorSigner::new(key),
        };
        cached.insert(Cached {
            signer,
            read_at: Instant::now(),
        })
    }

    async fn read(&self) -> Result<Vec<u8>, CursorKeyError> {
        let client = self.client.get_or_init(client_from_env).await;
        let output = client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|error| CursorKeyError::Read(Box::new(error)))?;
        let key = output
            .secret_string()
            .ok_or(CursorKeyError::NotAString)?
            .as_bytes()
            .to_vec();
        if key.len() < MIN_CURSOR_KEY_LEN {
            return Err(CursorKeyError::TooShort);
        }
        tracing::debug!("read the cursor key");
        Ok(key)
    }
}

/// The SDK's HTTPS client on rustls with `ring` (the crate's features leave out the SDK's default,
/// aws-lc). It connects and loads the system's root certificates on first use, not here.
pub fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// A Secrets Manager client from the environment (Region, credentials, and an endpoint from
/// `AWS_ENDPOINT_URL_SECRETS_MANAGER` / `AWS_ENDPOINT_URL` when set), with timeouts short enough
/// that an outage becomes a 503 within seconds instead of holding the request to its deadline.
async fn client_from_env() -> Client {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(5))
        .build();
    let config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .timeout_config(timeouts)
        .load()
        .await;
    Client::new(&config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_fixed_key_never_refreshes_and_runs_a_use_case_once() {
        let keys = CursorKeys::fixed(b"0123456789abcdef".to_vec());
        assert!(keys.after_rejected_cursor().await.unwrap().is_none());
        let mut runs = 0;
        let outcome: Result<(), DomainError> = keys
            .with_signer(|_| {
                runs += 1;
                async {
                    Err(DomainError::invalid(
                        "cursor",
                        "is not a cursor this query returned",
                    ))
                }
            })
            .await;
        assert!(outcome.unwrap_err().rejects_cursor());
        assert_eq!(runs, 1);
    }

    #[tokio::test]
    async fn a_secret_source_reads_nothing_until_first_use() {
        let keys = CursorKeys::from_secret("arn:aws:secretsmanager:eu-west-1:1:secret:k");
        let Source::Secret(secret) = &keys.source else {
            unreachable!()
        };
        assert!(!secret.client.initialized());
        assert!(secret.cached.lock().await.is_none());
    }
}
