//! [`SqliteStore`]: opening the file, and the port traits on top of the blocking statements.
//!
//! SQLite calls block, so every port method moves its work to Tokio's blocking pool with
//! `spawn_blocking` and awaits it: the async runtime's worker threads never wait on disk or on a lock.
//! Each method is one read statement or one write transaction, which is what makes it atomic.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use rill_core::{
    CreateOrderOutcome, DomainError, IdempotentOrderCreate, Order, OrderFilter, OrderId,
    OrderReader, OrderWriter, Page, PageRequest, User, UserId, UserReader, UserWriter,
};
use rusqlite::{Connection, ErrorCode, OpenFlags, Transaction};

use crate::connections::{Connections, open_connection, retry_busy};
use crate::error::{Failure, SqliteError, is_busy};
use crate::{orders, schema, users};

/// The embedded store: users, orders and idempotency keys in one SQLite file.
///
/// Cheap to clone (an `Arc` inside); clones share one writer connection and one reader pool. Any
/// number of stores, in this process or others, may open the same file at once. Port methods need a
/// Tokio runtime (they run SQLite on its blocking pool).
#[derive(Clone)]
pub struct SqliteStore {
    connections: Arc<Connections>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.connections.path())
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens the database at `path`, creating it and its parent directories if needed, switches it to
    /// WAL mode and applies any schema migrations it lacks. Safe while other processes open, migrate
    /// or write the same file.
    ///
    /// Fails with a message that names the path when the directory cannot be created, the file is not
    /// a SQLite database, or it was migrated by a newer build.
    pub fn open(path: &Path) -> Result<Self, SqliteError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| SqliteError::CreateDirectory {
                path: parent.to_owned(),
                source,
            })?;
        }
        let open_error = |source: rusqlite::Error| {
            if source.sqlite_error_code() == Some(ErrorCode::NotADatabase) {
                SqliteError::NotADatabase {
                    path: path.to_owned(),
                }
            } else {
                SqliteError::Open {
                    path: path.to_owned(),
                    source,
                }
            }
        };
        let mut writer = retry_busy(|| open_writer(path), is_busy).map_err(open_error)?;
        // WAL is a property of the file; asking again on an existing WAL database is a no-op.
        let mode = retry_busy(|| enable_wal(&writer), is_busy).map_err(open_error)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(SqliteError::WalUnavailable {
                path: path.to_owned(),
                mode,
            });
        }
        schema::migrate(&mut writer, path)?;
        tracing::debug!(path = %path.display(), "opened the SQLite store");
        Ok(Self {
            connections: Arc::new(Connections::new(path.to_owned(), writer)),
        })
    }

    /// The path the store was opened with.
    pub fn path(&self) -> &Path {
        self.connections.path()
    }

    pub(crate) fn connections(&self) -> &Connections {
        &self.connections
    }

    /// Runs `work` on a reader connection on the blocking pool.
    async fn read<T, F>(&self, operation: &'static str, work: F) -> Result<T, DomainError>
    where
        T: Send + 'static,
        F: Fn(&Connection) -> Result<T, Failure> + Send + 'static,
    {
        let connections = Arc::clone(&self.connections);
        let outcome = tokio::task::spawn_blocking(move || connections.read(work)).await;
        settle(outcome, operation)
    }

    /// Runs `work` in one `BEGIN IMMEDIATE` transaction on the blocking pool.
    async fn write<T, F>(&self, operation: &'static str, work: F) -> Result<T, DomainError>
    where
        T: Send + 'static,
        F: FnMut(&Transaction<'_>) -> Result<T, Failure> + Send + 'static,
    {
        let connections = Arc::clone(&self.connections);
        let outcome = tokio::task::spawn_blocking(move || connections.write(work)).await;
        settle(outcome, operation)
    }
}

/// The writer's page cache, in KiB (SQLite's negative `cache_size`). A bulk batch dirties index
/// pages all over the file; when they fit in the cache each is written once per commit instead of
/// being spilled mid-transaction. Pages are allocated as they are touched, so a process that writes a
/// few records never grows it.
const WRITER_CACHE_KIB: i64 = 64 * 1024;

fn open_writer(path: &Path) -> Result<Connection, rusqlite::Error> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = open_connection(path, flags)?;
    connection.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
    Ok(connection)
}

/// Switches the file to write-ahead logging and returns the journal mode now in force. This is the
/// first statement that reads the file, so it is where a file that is not a database shows itself.
fn enable_wal(connection: &Connection) -> Result<String, rusqlite::Error> {
    connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
}

fn settle<T>(
    outcome: Result<Result<T, Failure>, tokio::task::JoinError>,
    operation: &'static str,
) -> Result<T, DomainError> {
    outcome
        .unwrap_or_else(|join| Err(SqliteError::Worker(join).into()))
        .map_err(|failure| failure.into_domain(operation))
}

#[async_trait]
impl UserReader for SqliteStore {
    async fn get_user(&self, id: UserId) -> Result<User, DomainError> {
        let id = id.to_string();
        self.read("get_user", move |c| users::get(c, &id)).await
    }

    async fn list_users(&self, page: PageRequest) -> Result<Page<User>, DomainError> {
        self.read("list_users", move |c| users::list(c, &page))
            .await
    }
}

#[async_trait]
impl UserWriter for SqliteStore {
    async fn create_user(&self, user: &User) -> Result<(), DomainError> {
        let user = user.clone();
        self.write("create_user", move |tx| users::insert(tx, &user))
            .await
    }

    async fn update_user(&self, user: &User) -> Result<(), DomainError> {
        let user = user.clone();
        self.write("update_user", move |tx| users::update(tx, &user))
            .await
    }

    async fn delete_user(
        &self,
        id: UserId,
        expected_version: Option<u64>,
    ) -> Result<(), DomainError> {
        self.write("delete_user", move |tx| {
            users::delete(tx, id, expected_version)
        })
        .await
    }
}

#[async_trait]
impl OrderReader for SqliteStore {
    async fn get_order(&self, id: OrderId) -> Result<Order, DomainError> {
        let id = id.to_string();
        self.read("get_order", move |c| orders::get(c, &id)).await
    }

    async fn list_orders(
        &self,
        filter: &OrderFilter,
        page: PageRequest,
    ) -> Result<Page<Order>, DomainError> {
        let filter = filter.clone();
        self.read("list_orders", move |c| orders::list(c, &filter, &page))
            .await
    }
}

#[async_trait]
impl OrderWriter for SqliteStore {
    async fn create_order(
        &self,
        order: &Order,
        idempotency: Option<&IdempotentOrderCreate>,
    ) -> Result<CreateOrderOutcome, DomainError> {
        let order = order.clone();
        let idempotency = idempotency.cloned();
        self.write("create_order", move |tx| {
            orders::create(tx, &order, idempotency.as_ref())
        })
        .await
    }

    async fn update_order(&self, order: &Order) -> Result<(), DomainError> {
        let order = order.clone();
        self.write("update_order", move |tx| orders::update(tx, &order))
            .await
    }
}
