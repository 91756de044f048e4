//! A test world: the real API on one of the two stores, and a probe that reads that store directly.
//!
//! Suites that must hold on both stores take a [`StoreUnderTest`] and run once per store. The
//! DynamoDB variant uses the shared DynamoDB Local from `scripts/test` with tables of its own, and is
//! skipped (with a note) when that instance is not running outside CI.

use rill_gateway::testing::{GatewayBuilder, real_gateway};

use crate::Api;
use crate::dynamodb_local::{dynamo_gateway, fresh_tables, shared_endpoint};
use crate::stores::{Census, DynamoProbe, SqliteProbe};

/// Which store the functions use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreUnderTest {
    /// The embedded SQLite file in the gateway's data directory.
    Sqlite,
    /// DynamoDB Local, fresh tables.
    DynamoDb,
}

/// Reads whichever store a world runs on.
#[derive(Debug, Clone)]
pub enum StoreProbe {
    /// The SQLite file.
    Sqlite(SqliteProbe),
    /// The DynamoDB tables.
    DynamoDb(DynamoProbe),
}

impl StoreProbe {
    /// Every record, by kind.
    pub async fn census(&self) -> Census {
        match self {
            Self::Sqlite(probe) => probe.census(),
            Self::DynamoDb(probe) => probe.census().await,
        }
    }
}

/// The API and its store.
#[derive(Debug)]
pub struct World {
    /// The API, through the gateway.
    pub api: Api,
    /// The store behind it.
    pub store: StoreProbe,
    /// Which store it is.
    pub kind: StoreUnderTest,
}

impl World {
    /// Starts the API on `kind`, with `configure` applied to the gateway (concurrency, environment).
    /// `None` when `kind` is DynamoDB and DynamoDB Local is not running (outside CI).
    pub async fn start(
        kind: StoreUnderTest,
        configure: impl FnOnce(GatewayBuilder) -> GatewayBuilder,
    ) -> Option<Self> {
        match kind {
            StoreUnderTest::Sqlite => {
                let api = Api::new(configure(real_gateway()).spawn().await);
                let store = StoreProbe::Sqlite(SqliteProbe::in_data_dir(api.gateway().data_dir()));
                Some(Self { api, store, kind })
            }
            StoreUnderTest::DynamoDb => {
                let endpoint = shared_endpoint()?;
                let (client, tables) = fresh_tables(&endpoint).await;
                let api = Api::new(configure(dynamo_gateway(&endpoint, &tables)).spawn().await);
                let store = StoreProbe::DynamoDb(DynamoProbe::new(client, tables));
                Some(Self { api, store, kind })
            }
        }
    }

    /// Checks the store is consistent, then stops the gateway.
    pub async fn finish(self) {
        self.store.census().await.assert_consistent();
        if let StoreProbe::Sqlite(probe) = &self.store {
            probe.assert_opens_cleanly();
        }
        self.api.shutdown().await;
    }
}
