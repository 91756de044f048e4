//! The tables' key schemas, and [`create_tables`], which makes them for tests and local runs.
//!
//! The deployed tables come from `template.yaml`; both must agree with the names here. Every table is
//! on-demand: the traffic of an API is spiky, and on-demand has no capacity to tune or throttle at.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification, TimeToLiveStatus,
};

use crate::{DynamoError, TableNames};

/// The partition key of every table.
pub(crate) const PK: &str = "pk";
/// The index on the orders table that lists a user's orders by creation time.
pub const BY_USER_INDEX: &str = "byUser";
/// `byUser`'s partition key: the order's user id.
pub(crate) const USER_ID: &str = "userId";
/// `byUser`'s sort key: `<createdAt, 15 digits>#<order id>`.
pub(crate) const CREATED_KEY: &str = "createdKey";
/// The idempotency table's TTL attribute, in epoch seconds.
pub(crate) const EXPIRES_AT: &str = "expiresAt";

/// How long to wait for a new table to become active.
const TABLE_ACTIVE_WAIT: Duration = Duration::from_secs(120);

fn key(name: &str, key_type: KeyType) -> Result<KeySchemaElement, DynamoError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .map_err(|e| build_error("CreateTable", e))
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, DynamoError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| build_error("CreateTable", e))
}

fn build_error(
    operation: &'static str,
    error: impl std::error::Error + Send + Sync + 'static,
) -> DynamoError {
    DynamoError::Sdk {
        operation,
        source: Box::new(error),
    }
}

/// Creates the three tables if they do not exist, waits until they are active, and turns on TTL for
/// the idempotency table. Safe to call again on existing tables.
///
/// - users: `pk` (S) only.
/// - orders: `pk` (S), and the global secondary index [`BY_USER_INDEX`] on `userId` (S) and
///   `createdKey` (S), projecting every attribute so a listing needs no second read.
/// - idempotency: `pk` (S), with TTL on `expiresAt`.
pub async fn create_tables(client: &Client, tables: &TableNames) -> Result<(), DynamoError> {
    let by_user = GlobalSecondaryIndex::builder()
        .index_name(BY_USER_INDEX)
        .key_schema(key(USER_ID, KeyType::Hash)?)
        .key_schema(key(CREATED_KEY, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(|e| build_error("CreateTable", e))?;

    for (name, index) in [
        (&tables.users, None),
        (&tables.orders, Some(&by_user)),
        (&tables.idempotency, None),
    ] {
        let mut request = client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key(PK, KeyType::Hash)?)
            .attribute_definitions(string_attribute(PK)?);
        if let Some(index) = index {
            request = request
                .attribute_definitions(string_attribute(USER_ID)?)
                .attribute_definitions(string_attribute(CREATED_KEY)?)
                .global_secondary_indexes(index.clone());
        }
        match request.send().await {
            Ok(_) => {}
            Err(error)
                if matches!(
                    error.as_service_error(),
                    Some(CreateTableError::ResourceInUseException(_))
                ) => {}
            Err(error) => return Err(build_error("CreateTable", error)),
        }
    }

    for name in [&tables.users, &tables.orders, &tables.idempotency] {
        client
            .wait_until_table_exists()
            .table_name(name)
            .wait(TABLE_ACTIVE_WAIT)
            .await
            .map_err(|e| build_error("DescribeTable", e))?;
    }

    let ttl = client
        .describe_time_to_live()
        .table_name(&tables.idempotency)
        .send()
        .await
        .map_err(|e| build_error("DescribeTimeToLive", e))?;
    let status = ttl
        .time_to_live_description()
        .and_then(|d| d.time_to_live_status());
    if !matches!(
        status,
        Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
    ) {
        let spec = TimeToLiveSpecification::builder()
            .attribute_name(EXPIRES_AT)
            .enabled(true)
            .build()
            .map_err(|e| build_error("UpdateTimeToLive", e))?;
        if let Err(error) = client
            .update_time_to_live()
            .table_name(&tables.idempotency)
            .time_to_live_specification(spec)
            .send()
            .await
        {
            // A concurrent caller may have enabled it between the two calls.
            let already = error
                .as_service_error()
                .and_then(|e| e.message())
                .is_some_and(|m| m.contains("already enabled"));
            if !already {
                return Err(build_error("UpdateTimeToLive", error));
            }
        }
    }
    Ok(())
}
