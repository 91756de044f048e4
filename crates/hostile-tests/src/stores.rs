//! Looks at what a store holds, from outside the API, to prove what a request did or did not write.
//!
//! A refused request must leave no trace; a crash must leave either the whole write or none of it.
//! The API can only show what its routes expose, so these probes read the store directly: the
//! SQLite file read-only, or DynamoDB tables by `Scan`. Each returns a [`Census`] of every record kind,
//! and [`Census::assert_consistent`] checks the records hang together (every idempotency key names a
//! stored order; in DynamoDB, every user holds exactly one email claim and every claim one user).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use rill_store_dynamodb::TableNames;
use rusqlite::{Connection, OpenFlags};

/// How the DynamoDB store names the claim on an email key too long for a partition key.
const HASHED_CLAIM_PREFIX: &str = "sha256:";
/// The longest email key the DynamoDB store claims verbatim.
const MAX_VERBATIM_CLAIM: usize = 1024;

/// How many records of each kind a store holds, and how they refer to each other.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Census {
    /// User ids.
    pub users: BTreeSet<String>,
    /// Order ids, each with its user id.
    pub orders: BTreeMap<String, String>,
    /// Idempotency keys, each with the order id it created.
    pub idempotency_keys: BTreeMap<String, String>,
    /// Email claims (DynamoDB only): claim key to the user id that holds it.
    pub email_claims: BTreeMap<String, String>,
    /// Email keys held by users (DynamoDB: the user items' `emailKey`; SQLite: `email_key`).
    pub user_email_keys: BTreeMap<String, String>,
    /// Whether the store keeps email claims as records of their own (DynamoDB).
    pub claims_kept: bool,
}

impl Census {
    /// Asserts that records only refer to records that exist, and (when the store keeps separate
    /// claims) that users and email claims pair up one to one.
    pub fn assert_consistent(&self) {
        for (key, order) in &self.idempotency_keys {
            assert!(
                self.orders.contains_key(order),
                "idempotency key {key} names order {order}, which is not stored"
            );
        }
        let keys: BTreeSet<&String> = self.user_email_keys.values().collect();
        assert_eq!(
            keys.len(),
            self.user_email_keys.len(),
            "two users share an email key"
        );
        if !self.claims_kept {
            return;
        }
        for (claim, user) in &self.email_claims {
            let held = self.user_email_keys.get(user);
            // A key too long for a partition key is claimed by its hash; the user must hold a long key.
            let matches = match claim.strip_prefix(HASHED_CLAIM_PREFIX) {
                Some(_) => held.is_some_and(|key| key.len() > MAX_VERBATIM_CLAIM),
                None => held == Some(claim),
            };
            assert!(
                matches,
                "email claim {claim} names user {user}, which does not hold it"
            );
        }
        for (user, key) in &self.user_email_keys {
            let claimed = if key.len() > MAX_VERBATIM_CLAIM {
                self.email_claims
                    .iter()
                    .any(|(claim, holder)| claim.starts_with(HASHED_CLAIM_PREFIX) && holder == user)
            } else {
                self.email_claims.get(key) == Some(user)
            };
            assert!(claimed, "user {user} holds {key} without its claim");
        }
    }
}

/// The SQLite file of a gateway's data directory, opened read-only for each look.
#[derive(Debug, Clone)]
pub struct SqliteProbe {
    path: PathBuf,
}

impl SqliteProbe {
    /// The database `rill-gateway` keeps in `data_dir`.
    pub fn in_data_dir(data_dir: &Path) -> Self {
        Self {
            path: data_dir.join(rill_gateway::settings::SQLITE_FILE_NAME),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open(&self) -> Connection {
        Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .unwrap_or_else(|e| panic!("open {} read-only: {e}", self.path.display()))
    }

    /// Every record, by kind. An absent file (nothing was ever written) is an empty census.
    pub fn census(&self) -> Census {
        if !self.path.exists() {
            return Census::default();
        }
        let connection = self.open();
        let mut census = Census::default();
        let mut users = connection
            .prepare("SELECT id, email_key FROM users")
            .expect("users table");
        for row in users
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .expect("read users")
        {
            let (id, key) = row.expect("a user row");
            census.users.insert(id.clone());
            census.user_email_keys.insert(id, key);
        }
        let mut orders = connection
            .prepare("SELECT id, user_id FROM orders")
            .expect("orders table");
        for row in orders
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .expect("read orders")
        {
            let (id, user) = row.expect("an order row");
            census.orders.insert(id, user);
        }
        let mut keys = connection
            .prepare("SELECT key, order_id FROM idempotency_keys")
            .expect("idempotency table");
        for row in keys
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .expect("read idempotency keys")
        {
            let (key, order) = row.expect("an idempotency row");
            census.idempotency_keys.insert(key, order);
        }
        census
    }

    /// `PRAGMA integrity_check` answers `ok`, and the product's store opens the file (migrations
    /// included) without error.
    pub fn assert_opens_cleanly(&self) {
        let connection = self.open();
        let integrity: String = connection
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .expect("integrity_check runs");
        assert_eq!(integrity, "ok", "{}", self.path.display());
        let foreign_keys: i64 = connection
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .expect("foreign_key_check runs");
        assert_eq!(
            foreign_keys,
            0,
            "dangling references in {}",
            self.path.display()
        );
    }
}

/// DynamoDB tables, read by `Scan` (strongly consistent).
#[derive(Debug, Clone)]
pub struct DynamoProbe {
    client: Client,
    tables: TableNames,
}

impl DynamoProbe {
    /// Reads `tables` through `client`.
    pub fn new(client: Client, tables: TableNames) -> Self {
        Self { client, tables }
    }

    async fn scan(&self, table: &str) -> Vec<BTreeMap<String, AttributeValue>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(table)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap_or_else(|e| panic!("scan {table}: {e:?}"));
            items.extend(
                page.items()
                    .iter()
                    .map(|item| item.clone().into_iter().collect::<BTreeMap<_, _>>()),
            );
            match page.last_evaluated_key() {
                Some(key) => start = Some(key.clone()),
                None => return items,
            }
        }
    }

    /// Every record, by kind.
    pub async fn census(&self) -> Census {
        let text = |item: &BTreeMap<String, AttributeValue>, name: &str| {
            item.get(name)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_else(|| panic!("attribute {name} of {item:?}"))
        };
        let mut census = Census {
            claims_kept: true,
            ..Census::default()
        };
        for item in self.scan(&self.tables.users).await {
            match text(&item, "kind").as_str() {
                "user" => {
                    let id = text(&item, "id");
                    census.users.insert(id.clone());
                    census.user_email_keys.insert(id, text(&item, "emailKey"));
                }
                "email" => {
                    let pk = text(&item, "pk");
                    let key = pk.strip_prefix("EMAIL#").unwrap_or(&pk).to_owned();
                    census.email_claims.insert(key, text(&item, "userId"));
                }
                other => panic!("unknown item kind {other} in the users table"),
            }
        }
        for item in self.scan(&self.tables.orders).await {
            census
                .orders
                .insert(text(&item, "pk"), text(&item, "userId"));
        }
        for item in self.scan(&self.tables.idempotency).await {
            census
                .idempotency_keys
                .insert(text(&item, "pk"), text(&item, "orderId"));
        }
        census
    }
}
