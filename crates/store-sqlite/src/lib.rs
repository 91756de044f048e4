//! The embedded store: rill-core's storage ports on one SQLite file.
//!
//! This is the default store of a local run (`RILL_STORE=sqlite`, file `RILL_SQLITE_PATH`). The local
//! gateway runs each function as its own process, so several processes open the same file at once and
//! everything here is built for that, not just for concurrent tasks in one process.
//!
//! # Schema
//!
//! Created by numbered migrations (`src/migrations/*.sql`) applied on [`SqliteStore::open`]. They stay
//! idempotent when several processes race to open a new file: each runs under `BEGIN IMMEDIATE` and
//! re-reads `PRAGMA user_version` once it holds the lock (`src/schema.rs`). A file migrated by a newer
//! build is refused rather than guessed at.
//!
//! | table | key | columns | indexes |
//! |---|---|---|---|
//! | `users` | `id` | `email`, `email_key` (UNIQUE, [`rill_core::Email::key`]), `name`, `created_at`, `updated_at`, `version` | `email_key` |
//! | `orders` | `id` | `user_id`, `currency`, `total`, `status`, `items` (JSON), `created_at`, `updated_at`, `version` | `(user_id, created_at DESC, id DESC)`, `(status, created_at, id)`, `(created_at, id)` |
//! | `idempotency_keys` | `key` | `fingerprint`, `order_id` → `orders.id`, `expires_at` | `expires_at` |
//! | `schema_migrations` | `version` | `name`, `applied_at` | |
//!
//! Ids are UUIDv7 text, timestamps integer milliseconds (UTC). An order's line items are a JSON array
//! in its row (`[{"sku","quantity","unitPrice"}]`): they are always read and written with the order,
//! so one row keeps a read to one lookup and a bulk load to one insert per order. Orders have no
//! foreign key to users: an order is a record of a sale and outlives its user, as in the DynamoDB store.
//!
//! # Why these settings
//!
//! - **WAL** (`journal_mode = WAL`): readers never block the writer and the writer never blocks
//!   readers, so a slow export does not stall `POST /orders` in another process.
//! - **`synchronous = FULL`**: in WAL mode this fsyncs the log at every commit. Once a port method
//!   returns `Ok`, the write survives a killed process and a power cut. (`NORMAL` is faster but may
//!   drop the last commits on power loss, which would break the 201 a client already received.)
//! - **`BEGIN IMMEDIATE` for every write**: the write lock is taken before the transaction reads
//!   anything. A deferred transaction that reads then writes can fail to upgrade its snapshot with
//!   `SQLITE_BUSY` no busy timeout can fix, and two of them could both see "idempotency key unseen".
//!   With the lock first, each check-then-write (versions, idempotency keys, a user's existence) runs
//!   alone across every process on the file.
//! - **busy timeout + retries**: a writer that finds the lock held waits for it (5 s), then retries a
//!   few times with backoff; only then does the method answer [`rill_core::DomainError::Unavailable`]
//!   (a 503 with `Retry-After`).
//! - **one writer connection per store, a pool of readers**: in-process writes queue on a mutex rather
//!   than on SQLite's lock; reads run in parallel. All SQLite work runs on Tokio's blocking pool.
//!
//! # Pagination
//!
//! Keyset pages, never `OFFSET`. Users go in id order; a user's orders newest first by
//! `(created_at, id)`; any other order listing oldest first by `(created_at, id)`. A page position is
//! a few bytes of the last key (`src/position.rs`), sealed into the client's
//! cursor by [`rill_core::CursorSigner`]. Pages hold up to [`MAX_PAGE_ROWS`] rows, so the export
//! function can read 1 000 at a time; every filter shape is served from an index in order (a unit
//! test checks each query plan).
//!
//! # Idempotency keys
//!
//! `create_order` records the key in the same transaction as the order. A key whose `expires_at` is at
//! or before the order's `created_at` (the request's time) counts as unseen, and each `create_order`
//! purges up to a hundred expired keys.
//!
//! # Bulk loading
//!
//! [`SqliteStore::bulk_insert_users`] and [`SqliteStore::bulk_insert_orders`] insert a batch in one
//! transaction with cached prepared statements, under the same rules as the ports, for the seed
//! script. Use batches of about 50 000: 1 000 000 orders then load in well under a minute (37 s on a
//! busy 2-core VM). `src/bulk.rs` explains the batch size; `cargo bench -p rill-store-sqlite --bench
//! bulk_insert` measures it, and large pages (1 000 orders) at about 200 000 rows/s.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use rill_core::{UserReader, PageRequest};
//! use rill_store_sqlite::SqliteStore;
//!
//! let store = SqliteStore::open(std::path::Path::new(".local/rill.db"))?;
//! let first = store.list_users(PageRequest::first(20)).await?;
//! # Ok(()) }
//! ```

mod bulk;
mod connections;
mod error;
mod orders;
mod position;
mod rows;
mod schema;
mod store;
mod users;

pub use error::SqliteError;
pub use position::MAX_PAGE_ROWS;
pub use schema::SCHEMA_VERSION;
pub use store::SqliteStore;
