//! Opens stores on DynamoDB Local for the integration tests.
//!
//! `scripts/test` starts DynamoDB Local and exports `AWS_ENDPOINT_URL_DYNAMODB`; each store gets its own
//! three tables, named with a random suffix, so tests run in parallel without seeing each other's
//! data. Without the variable every test fails with a message that says how to start it: a suite that
//! passes without its database would prove nothing.

#![allow(dead_code)]

use aws_config::{BehaviorVersion, Region};
use rill_store_dynamodb::{DynamoStore, TableNames, configure, create_tables};

pub const ENDPOINT_VAR: &str = "AWS_ENDPOINT_URL_DYNAMODB";

/// The DynamoDB Local endpoint, which must be on loopback so no test can touch a real table.
pub fn local_endpoint() -> String {
    let endpoint = std::env::var(ENDPOINT_VAR).unwrap_or_else(|_| {
        panic!(
            "{ENDPOINT_VAR} is not set. These tests need DynamoDB Local. \
             Start DynamoDB Local: scripts/test does it, or by hand: \
             source scripts/lib/dynamodb-local.sh && dynamodb_local_install && dynamodb_local_start"
        )
    });
    let host = endpoint
        .strip_prefix("http://")
        .and_then(|rest| rest.split([':', '/']).next())
        .unwrap_or_default();
    assert!(
        matches!(host, "127.0.0.1" | "localhost"),
        "{ENDPOINT_VAR}={endpoint} is not a loopback http:// URL; refusing to create test tables there"
    );
    endpoint
}

/// Table names no other test uses.
pub fn unique_tables() -> TableNames {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let suffix = &suffix[..12];
    TableNames {
        users: format!("rill-test-{suffix}-users"),
        orders: format!("rill-test-{suffix}-orders"),
        idempotency: format!("rill-test-{suffix}-idempotency"),
    }
}

/// A store on `endpoint` with dummy credentials and this crate's timeouts and retries.
pub async fn store_at(endpoint: &str, tables: TableNames) -> DynamoStore {
    let config = configure(aws_config::defaults(BehaviorVersion::latest()))
        .region(Region::new("us-east-1"))
        .test_credentials()
        .endpoint_url(endpoint)
        .load()
        .await;
    DynamoStore::from_sdk_config(&config, tables)
}

/// A store on fresh, empty tables in DynamoDB Local.
pub async fn fresh_store() -> DynamoStore {
    let tables = unique_tables();
    let store = store_at(&local_endpoint(), tables.clone()).await;
    create_tables(store.client().await, &tables)
        .await
        .expect("create the test tables in DynamoDB Local");
    store
}
