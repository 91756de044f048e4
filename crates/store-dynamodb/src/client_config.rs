//! The HTTPS client, timeouts and retries for the DynamoDB client.
//!
//! The SDK's default HTTPS client is rustls on aws-lc, which adds about 1.6 MB to every function that
//! links it; this crate gives the SDK the same client on `ring` instead, so a deployed function links
//! one TLS and crypto provider (docs/benchmark-gaps.md, Artifacts).
//!
//! The SDK's defaults wait a long time on a dead endpoint: no operation timeout, and a connect timeout
//! of seconds per attempt. Behind API Gateway (29 s) a function is better off answering `503` with
//! `Retry-After` within a few seconds, so the client here gives up early: DynamoDB answers in
//! milliseconds when it is healthy, so anything near these limits is an outage.

use std::time::Duration;

use aws_config::ConfigLoader;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// Time to open a TCP (and TLS) connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Time for one attempt of an operation, response included. A full 1 MB `Scan` page stays well under.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// Time for an operation with all its retries.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts per operation, the first included. Throttling and transient errors are retried.
const MAX_ATTEMPTS: u32 = 3;

/// The timeouts this crate's stores use: 1 s to connect, 2 s per attempt, 5 s per operation.
pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// The retries this crate's stores use: the SDK's standard mode (exponential backoff with jitter,
/// throttling and transient errors only), three attempts, short backoffs.
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(100))
        .with_max_backoff(Duration::from_secs(1))
}

/// The SDK's HTTPS client (hyper, rustls, the system's root certificates) on `ring`. Building it
/// makes no connection and reads no certificate: both happen on the first request.
pub fn https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// Applies [`https_client`], [`timeout_config`] and [`retry_config`] to an SDK config loader.
pub fn configure(loader: ConfigLoader) -> ConfigLoader {
    loader
        .http_client(https_client())
        .timeout_config(timeout_config())
        .retry_config(retry_config())
}
