//! Bulk loading, for the seed script and benchmarks: many rows per transaction.
//!
//! A port write pays for one transaction, and with `synchronous = FULL` one fsync of the WAL, per
//! record. A bulk insert pays for one per batch: every row of the batch is inserted by the same cached
//! prepared statement inside one `BEGIN IMMEDIATE` transaction, and the batch commits whole or not at
//! all. The rules are the ports' rules (unique ids and email keys, an order's user must exist), so a
//! seeded database is one the API could have written.
//!
//! Batch size matters more than anything else. Orders of many users land all over the
//! `(user_id, created_at, id)` index, so every commit writes (and its checkpoint copies) most of that
//! index's pages however few rows the batch held; larger batches share those writes among more rows.
//! 50 000 orders per batch (about 15 MB of `Order` values) loaded 1 000 000 orders for 10 000 users
//! in 37 s wall-clock, 26 s CPU, on a 2-core VM that other builds kept at a load average of 5; batches
//! of 10 000 took 51 s there. Other writers of the file wait for a batch's commit, so load while the
//! API is idle. The `bulk_insert` benchmark measures it:
//! `cargo bench -p rill-store-sqlite --bench bulk_insert` (`RILL_BENCH_ORDERS`, `RILL_BENCH_BATCH`).
//!
//! ```no_run
//! # fn seed(store: &rill_store_sqlite::SqliteStore, users: Vec<rill_core::User>,
//! #         orders: impl Iterator<Item = rill_core::Order>) -> Result<(), rill_store_sqlite::SqliteError> {
//! store.bulk_insert_users(&users)?;
//! let mut batch = Vec::with_capacity(50_000);
//! for order in orders {
//!     batch.push(order);
//!     if batch.len() == batch.capacity() {
//!         store.bulk_insert_orders(&batch)?;
//!         batch.clear();
//!     }
//! }
//! store.bulk_insert_orders(&batch)?;
//! # Ok(()) }
//! ```

use rill_core::{Order, User};
use rusqlite::TransactionBehavior;

use crate::SqliteStore;
use crate::connections::retry_busy;
use crate::error::{Failure, SqliteError};
use crate::{orders, users};

impl SqliteStore {
    /// Inserts `users` in one transaction: all of them or, on any error, none.
    ///
    /// Fails with [`SqliteError::BatchRejected`] naming the first user whose id or email key is
    /// already stored (or repeated in the batch). Blocks the calling thread; from async code, call it
    /// inside `tokio::task::spawn_blocking`.
    pub fn bulk_insert_users(&self, users: &[User]) -> Result<(), SqliteError> {
        self.bulk_insert(users, users::insert)
    }

    /// Inserts `orders` in one transaction: all of them or, on any error, none.
    ///
    /// Every order's user must exist (stored earlier or in an earlier batch). Fails with
    /// [`SqliteError::BatchRejected`] naming the first order whose user is missing or whose id is
    /// already stored. Orders are inserted as given: no idempotency keys, no status rules. Blocks the
    /// calling thread; from async code, call it inside `tokio::task::spawn_blocking`.
    pub fn bulk_insert_orders(&self, orders: &[Order]) -> Result<(), SqliteError> {
        self.bulk_insert(orders, orders::insert)
    }

    fn bulk_insert<T>(
        &self,
        records: &[T],
        insert: fn(&rusqlite::Connection, &T) -> Result<(), Failure>,
    ) -> Result<(), SqliteError> {
        let mut writer = self.connections().writer();
        retry_busy(
            || {
                let transaction =
                    writer.transaction_with_behavior(TransactionBehavior::Immediate)?;
                for (index, record) in records.iter().enumerate() {
                    insert(&transaction, record).map_err(|failure| match failure {
                        Failure::Domain(rejected) => SqliteError::BatchRejected {
                            index,
                            reason: rejected_reason(&rejected),
                        },
                        Failure::Store(error) => error,
                    })?;
                }
                transaction.commit()?;
                Ok(())
            },
            SqliteError::is_busy,
        )
    }
}

/// The client-facing text of a rule the record broke, with the field for validation errors.
fn rejected_reason(error: &rill_core::DomainError) -> String {
    match error {
        rill_core::DomainError::Validation(fields) => fields
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}
