//! The deployed store: rill-core's storage ports on Amazon DynamoDB.
//!
//! Three tables, each keyed by a string `pk` (see `docs/data-model.md` for the full design):
//!
//! - **users**: a user item per user (`USER#<id>`) and an email claim item per address
//!   (`EMAIL#<key>`). Every write that touches an email moves its claim in the same
//!   `TransactWriteItems`, so two users can never hold one address.
//! - **orders**: one item per order, plus the `byUser` index (user id, then creation time and id) that
//!   lists a user's orders newest first.
//! - **idempotency**: one record per `Idempotency-Key`, written in the same transaction as the order it
//!   created and expired by DynamoDB's TTL.
//!
//! Every method maps DynamoDB's answers to [`rill_core::DomainError`]: failed conditions become the
//! domain outcome they stand for (conflict, precondition failed, not found), and everything else (an
//! outage, throttling after the SDK's retries, a timeout, a corrupt item) becomes
//! [`DomainError::Unavailable`](rill_core::DomainError::Unavailable) with a [`DynamoError`] source for
//! the logs.

mod attributes;
mod bulk;
mod client_config;
mod error;
mod idempotency_item;
mod order_item;
mod orders;
mod paging;
mod position;
mod replace;
mod schema;
mod transact;
mod user_item;
mod users;

use std::sync::Arc;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::Client;
use tokio::sync::OnceCell;

pub use client_config::{configure, https_client, retry_config, timeout_config};
pub use error::DynamoError;
pub use schema::{BY_USER_INDEX, create_tables};

/// The names of the three tables, which differ per stack (`RILL_USERS_TABLE`, `RILL_ORDERS_TABLE`,
/// `RILL_IDEMPOTENCY_TABLE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableNames {
    /// Users and their email claims.
    pub users: String,
    /// Orders, with the `byUser` index.
    pub orders: String,
    /// Idempotency records for `POST /orders`.
    pub idempotency: String,
}

/// rill-core's ports on DynamoDB. Cheap to clone: the SDK client is shared.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Arc<OnceCell<Client>>,
    tables: TableNames,
}

impl DynamoStore {
    /// A store on an existing client. The client's timeouts and retries are used as they are; see
    /// [`configure`] for the ones this crate recommends.
    pub fn new(client: Client, tables: TableNames) -> Self {
        Self {
            client: Arc::new(OnceCell::new_with(Some(client))),
            tables,
        }
    }

    /// A store on a client built from this SDK configuration.
    pub fn from_sdk_config(config: &SdkConfig, tables: TableNames) -> Self {
        Self::new(Client::new(config), tables)
    }

    /// A store whose client is configured from the environment (region, credentials, and the endpoint
    /// from `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL` when set), with [`configure`]'s timeouts
    /// and retries.
    ///
    /// Nothing is built here: the SDK configuration (the credential and Region chains, the HTTPS
    /// client and its root certificates) is loaded on the store's first operation, once per process,
    /// so a Lambda cold start's Init pays nothing for it. Credentials are resolved on that first
    /// request too. The region comes from `AWS_REGION`, which Lambda always sets; elsewhere, set it (or
    /// `AWS_EC2_METADATA_DISABLED=true`) so the SDK does not ask the instance metadata service.
    pub fn from_env(tables: TableNames) -> Self {
        Self {
            client: Arc::new(OnceCell::new()),
            tables,
        }
    }

    /// The SDK client this store uses, configured from the environment on the first call when the
    /// store was made by [`DynamoStore::from_env`].
    pub async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                let config = configure(aws_config::defaults(BehaviorVersion::latest()))
                    .load()
                    .await;
                tracing::debug!("configured the DynamoDB client");
                Client::new(&config)
            })
            .await
    }

    /// The tables this store uses.
    pub fn tables(&self) -> &TableNames {
        &self.tables
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables() -> TableNames {
        TableNames {
            users: "users".into(),
            orders: "orders".into(),
            idempotency: "idempotency".into(),
        }
    }

    #[tokio::test]
    async fn from_env_builds_no_client_until_first_use_and_then_one_for_every_clone() {
        // Given a store made the way the functions make it at Init.
        let store = DynamoStore::from_env(tables());
        // Then nothing has been configured yet.
        assert!(!store.client.initialized());
        // When a clone (as each request holds) asks for the client first.
        let clone = store.clone();
        let first: *const Client = clone.client().await;
        // Then the original sees the same client, built once.
        assert!(store.client.initialized());
        assert!(std::ptr::eq(first, store.client().await));
    }

    #[tokio::test]
    async fn a_store_on_a_given_client_uses_it() {
        let config = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .build();
        let store = DynamoStore::from_sdk_config(&config, tables());
        assert!(store.client.initialized());
    }
}
