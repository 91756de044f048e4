//! DynamoDB Local for the suites that run on the deployed store's database.
//!
//! The instance is the one `scripts/test` starts and exports as `AWS_ENDPOINT_URL_DYNAMODB`; each test
//! makes its own three tables ([`unique_tables`]) so tests run in parallel unseen by each other.
//! Without the variable, DynamoDB suites skip with a note, except under `CI`, where a suite that
//! silently skipped its database would prove nothing, so they fail. A fault test that takes the
//! database away puts a [`crate::link::Link`] in front of it and cuts that.
//!
//! [`dynamo_gateway`] points a test gateway's three functions at an endpoint and a set of tables.

use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::Client;
use rill_gateway::settings::StoreKind;
use rill_gateway::testing::{GatewayBuilder, real_gateway};
use rill_store_dynamodb::{TableNames, create_tables};

/// The variable `scripts/test` (and `scripts/lib/dynamodb-local.sh`) sets to the shared instance.
pub const ENDPOINT_VAR: &str = "AWS_ENDPOINT_URL_DYNAMODB";

/// The logical ids of the template's functions; each gets the store settings.
pub const FUNCTIONS: [&str; 3] = ["UsersFunction", "OrdersFunction", "ExportFunction"];

/// The shared instance's endpoint, or `None` (after a note on stderr) when it is not running. Under
/// `CI` a missing instance is a failure.
pub fn shared_endpoint() -> Option<String> {
    match std::env::var(ENDPOINT_VAR) {
        Ok(endpoint) => {
            assert_loopback(&endpoint);
            Some(endpoint)
        }
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("{ENDPOINT_VAR} is not set under CI; scripts/test starts DynamoDB Local")
        }
        Err(_) => {
            eprintln!(
                "note: {ENDPOINT_VAR} is not set, so the DynamoDB variant is skipped \
                 (scripts/test starts DynamoDB Local)"
            );
            None
        }
    }
}

/// Refuses any endpoint that is not plain HTTP on loopback, so no test can touch a real table.
pub fn assert_loopback(endpoint: &str) {
    let host = endpoint
        .strip_prefix("http://")
        .and_then(|rest| rest.split([':', '/']).next())
        .unwrap_or_default();
    assert!(
        matches!(host, "127.0.0.1" | "localhost"),
        "{endpoint} is not a loopback http:// URL; refusing to use it"
    );
}

/// Table names no other test uses.
pub fn unique_tables() -> TableNames {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let suffix = &suffix[..12];
    TableNames {
        users: format!("rill-hostile-{suffix}-users"),
        orders: format!("rill-hostile-{suffix}-orders"),
        idempotency: format!("rill-hostile-{suffix}-idempotency"),
    }
}

/// A client for `endpoint` with dummy credentials.
pub async fn client(endpoint: &str) -> Client {
    assert_loopback(endpoint);
    let config = rill_store_dynamodb::configure(aws_config::defaults(BehaviorVersion::latest()))
        .region(Region::new("us-east-1"))
        .test_credentials()
        .endpoint_url(endpoint)
        .load()
        .await;
    Client::new(&config)
}

/// Fresh tables on `endpoint`, created with the store's own [`create_tables`].
pub async fn fresh_tables(endpoint: &str) -> (Client, TableNames) {
    let client = client(endpoint).await;
    let tables = unique_tables();
    create_tables(&client, &tables)
        .await
        .unwrap_or_else(|e| panic!("create tables on {endpoint}: {e:?}"));
    (client, tables)
}

/// The real API on DynamoDB at `endpoint`, in `tables`.
pub fn dynamo_gateway(endpoint: &str, tables: &TableNames) -> GatewayBuilder {
    let mut builder = real_gateway().settings(|s| s.store = StoreKind::Dynamodb);
    for function in FUNCTIONS {
        builder = builder
            .env_var(function, ENDPOINT_VAR, endpoint)
            .env_var(function, "RILL_USERS_TABLE", &tables.users)
            .env_var(function, "RILL_ORDERS_TABLE", &tables.orders)
            .env_var(function, "RILL_IDEMPOTENCY_TABLE", &tables.idempotency)
            .env_var(function, "AWS_EC2_METADATA_DISABLED", "true");
    }
    builder
}
