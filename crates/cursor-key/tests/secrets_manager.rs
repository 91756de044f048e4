//! The cursor key read from a real Secrets Manager API on loopback: first use, caching, the early
//! read after a rejected cursor, rotation, and the failures a deployment can meet.
//!
//! `scripts/test` starts the endpoint (`scripts/lib/secrets-manager-local.sh`) and exports
//! `AWS_ENDPOINT_URL_SECRETS_MANAGER`, a Region and dummy credentials. Without the endpoint these
//! tests fail rather than pass: a suite that skips itself proves nothing.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_sdk_secretsmanager::Client;
use rill_core::DomainError;
use rill_cursor_key::{CursorKeys, RefreshPolicy};

const ENDPOINT_VAR: &str = "AWS_ENDPOINT_URL_SECRETS_MANAGER";
const KEY_V1: &str = "first-cursor-key-0123456789abcdef";
const KEY_V2: &str = "second-cursor-key-0123456789abcdef";

/// A client for setting secrets up, configured as the functions' client is: from the environment.
async fn admin() -> Client {
    assert!(
        std::env::var_os(ENDPOINT_VAR).is_some(),
        "{ENDPOINT_VAR} is not set: run these tests through scripts/test, which starts a local \
         Secrets Manager endpoint (scripts/lib/secrets-manager-local.sh)"
    );
    let config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(rill_cursor_key::https_client())
        .load()
        .await;
    Client::new(&config)
}

/// A new secret holding `value`; returns its ARN.
async fn secret(client: &Client, value: &str) -> String {
    let name = format!("rill-cursor-key-test-{}", uuid::Uuid::new_v4());
    let created = client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .expect("CreateSecret");
    created.arn().expect("an ARN").to_owned()
}

async fn rotate(client: &Client, arn: &str, value: &str) {
    client
        .put_secret_value()
        .secret_id(arn)
        .secret_string(value)
        .send()
        .await
        .expect("PutSecretValue");
}

fn policy(max_age: Duration, min_interval: Duration) -> RefreshPolicy {
    RefreshPolicy {
        max_age,
        min_interval,
    }
}

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn the_key_is_read_on_first_use_and_kept_while_cursors_verify() {
    // Given a secret and a function that has read it once
    let client = admin().await;
    let arn = secret(&client, KEY_V1).await;
    let keys = CursorKeys::from_secret_with(&arn, policy(HOUR, Duration::ZERO));
    let first = keys.signer().await.unwrap();
    assert_eq!(first.key(), KEY_V1.as_bytes());

    // When the secret rotates but no cursor has failed yet
    rotate(&client, &arn, KEY_V2).await;

    // Then the cached key keeps serving: nothing is read per request
    assert_eq!(keys.signer().await.unwrap().key(), KEY_V1.as_bytes());
}

#[tokio::test]
async fn a_cursor_sealed_with_the_rotated_key_refreshes_it_and_old_cursors_still_open() {
    // Given a function holding the first key, and a cursor it sealed
    let client = admin().await;
    let arn = secret(&client, KEY_V1).await;
    let keys = CursorKeys::from_secret_with(&arn, policy(HOUR, Duration::ZERO));
    let old_cursor = keys.signer().await.unwrap().seal("users", b"p1");

    // When the secret rotates and another instance, already on the new key, seals a cursor
    rotate(&client, &arn, KEY_V2).await;
    let newer = CursorKeys::from_secret(&arn).signer().await.unwrap();
    let new_cursor = newer.seal("users", b"p2");

    // Then this function opens it after reading the secret again, and seals with the new key
    let (position, signer) = keys
        .with_signer(|signer| {
            let opened = signer.open("users", &new_cursor);
            async move { opened.map(|position| (position, signer)) }
        })
        .await
        .unwrap();
    assert_eq!(position, b"p2");
    assert_eq!(signer.key(), KEY_V2.as_bytes());
    // And a listing that started before the rotation goes on
    assert_eq!(signer.open("users", &old_cursor).unwrap(), b"p1");
    assert_eq!(
        keys.signer()
            .await
            .unwrap()
            .open("users", &old_cursor)
            .unwrap(),
        b"p1"
    );
}

#[tokio::test]
async fn forged_cursors_read_the_secret_at_most_once_per_interval() {
    // Given a function that read its key just now
    let client = admin().await;
    let arn = secret(&client, KEY_V1).await;
    let keys = CursorKeys::from_secret_with(&arn, policy(HOUR, HOUR));
    let signer = keys.signer().await.unwrap();
    rotate(&client, &arn, KEY_V2).await;

    // When cursors that no key sealed keep arriving
    let forged =
        rill_core::CursorSigner::new(b"forged-key-0123456789".to_vec()).seal("users", b"x");
    for _ in 0..5 {
        let outcome = keys
            .with_signer(|signer| {
                let opened = signer.open("users", &forged);
                async move { opened }
            })
            .await;
        // Then each is refused as the client's mistake
        assert!(outcome.unwrap_err().rejects_cursor());
    }
    // And the secret was not read again inside the interval (the rotation is not seen yet)
    assert!(keys.after_rejected_cursor().await.unwrap().is_none());
    assert_eq!(keys.signer().await.unwrap().key(), signer.key());
}

#[tokio::test]
async fn a_missing_secret_is_a_retryable_outage_not_a_client_error() {
    let _client = admin().await;
    let keys = CursorKeys::from_secret("rill-cursor-key-that-does-not-exist");
    let error = keys.signer().await.unwrap_err();
    assert!(
        matches!(error, DomainError::Unavailable { .. }),
        "{error:?}"
    );
    // The client-facing text names nothing of the secret or the SDK.
    assert_eq!(error.to_string(), "the service is temporarily unavailable");
}

#[tokio::test]
async fn a_secret_shorter_than_the_minimum_key_is_refused() {
    let client = admin().await;
    let arn = secret(&client, "too-short").await;
    let error = CursorKeys::from_secret(&arn).signer().await.unwrap_err();
    assert!(
        matches!(error, DomainError::Unavailable { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_cached_key_keeps_serving_when_a_refresh_fails() {
    // Given a function whose cached key is due for a refresh on every use
    let client = admin().await;
    let arn = secret(&client, KEY_V1).await;
    let keys = CursorKeys::from_secret_with(&arn, policy(Duration::ZERO, Duration::ZERO));
    assert_eq!(keys.signer().await.unwrap().key(), KEY_V1.as_bytes());

    // When the secret can no longer be read
    client
        .delete_secret()
        .secret_id(&arn)
        .force_delete_without_recovery(true)
        .send()
        .await
        .expect("DeleteSecret");

    // Then requests go on with the key it has, instead of failing
    assert_eq!(keys.signer().await.unwrap().key(), KEY_V1.as_bytes());
    // But an early read after a rejected cursor reports the outage
    assert!(matches!(
        keys.after_rejected_cursor().await,
        Err(DomainError::Unavailable { .. })
    ));
}
