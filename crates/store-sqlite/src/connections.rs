//! The connections of one [`crate::SqliteStore`]: a single writer and a small pool of readers.
//!
//! SQLite allows one writer at a time per database file, however many connections ask. Funnelling this
//! process's writes through one connection turns in-process contention into a cheap mutex wait, and
//! leaves SQLite's file locks (plus the busy timeout) to arbitrate between processes. Every write runs
//! in `BEGIN IMMEDIATE`: the write lock is taken before the first read, so a transaction never reads a
//! snapshot and then fails to upgrade it (`SQLITE_BUSY_SNAPSHOT`), and check-then-write sequences such
//! as "does this idempotency key exist? then insert" are serialised across processes.
//!
//! In WAL mode readers do not block the writer nor each other, so reads use their own connections,
//! kept in a pool for reuse (each connection has its own prepared-statement cache).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::error::{Failure, SqliteError};

/// How long SQLite itself waits for another connection's lock before answering `SQLITE_BUSY`.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Extra attempts after `SQLITE_BUSY` outlives the busy timeout (or bypasses the busy handler, as
/// SQLite does when waiting could deadlock).
const BUSY_RETRIES: u32 = 3;
/// The first pause between attempts; it doubles each time.
const FIRST_BACKOFF: Duration = Duration::from_millis(20);
/// Idle reader connections kept for reuse.
const MAX_IDLE_READERS: usize = 4;
/// Prepared statements cached per connection. The order listing alone has 32 shapes.
const STATEMENT_CACHE: usize = 64;

/// Opens a connection to `path` with the settings every connection of the store shares.
///
/// - `busy_timeout`: wait for another connection's lock instead of failing at once.
/// - `synchronous = FULL`: in WAL mode, the WAL is fsynced at every commit, so an acknowledged write
///   survives a process kill *and* an OS crash or power loss (`NORMAL` may lose the last commits).
/// - `foreign_keys = ON`: SQLite leaves foreign keys off unless each connection asks.
/// - The query planner stability guarantee: a cached statement keeps its plan whatever values are
///   bound to it. Without it, this build of SQLite (with `STAT4`) re-prepares a listing statement
///   every time its page position changes, which an export does every page. Every query here names
///   its index or looks up a key, so the values could not improve a plan anyway.
pub(crate) fn open_connection(
    path: &Path,
    flags: OpenFlags,
) -> Result<Connection, rusqlite::Error> {
    let connection = Connection::open_with_flags(path, flags)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.pragma_update(None, "foreign_keys", true)?;
    connection.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(connection)
}

/// Runs `attempt` again while it fails with `SQLITE_BUSY`, backing off between attempts.
pub(crate) fn retry_busy<T, E>(
    mut attempt: impl FnMut() -> Result<T, E>,
    is_busy: impl Fn(&E) -> bool,
) -> Result<T, E> {
    let mut backoff = FIRST_BACKOFF;
    let mut retries = 0;
    loop {
        match attempt() {
            Err(error) if is_busy(&error) && retries < BUSY_RETRIES => {
                retries += 1;
                tracing::warn!(retries, "the SQLite database is busy; retrying");
                thread::sleep(backoff);
                backoff *= 2;
            }
            other => return other,
        }
    }
}

pub(crate) struct Connections {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl Connections {
    /// Wraps the writer connection that opened (and migrated) the database.
    pub(crate) fn new(path: PathBuf, writer: Connection) -> Self {
        Self {
            path,
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `work` in one `BEGIN IMMEDIATE` transaction on the writer connection and commits it if
    /// `work` succeeds; otherwise the transaction rolls back. Blocks: call from a blocking thread.
    pub(crate) fn write<T>(
        &self,
        mut work: impl FnMut(&Transaction<'_>) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        let mut writer = lock(&self.writer);
        retry_busy(
            || {
                let transaction =
                    writer.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let value = work(&transaction)?;
                transaction.commit()?;
                Ok(value)
            },
            Failure::is_busy,
        )
    }

    /// Runs `work` on a reader connection. A single statement is its own consistent snapshot; `work`
    /// that runs several must open a transaction itself. Blocks: call from a blocking thread.
    pub(crate) fn read<T>(
        &self,
        work: impl Fn(&Connection) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        let reader = match lock(&self.readers).pop() {
            Some(reader) => reader,
            None => self.open_reader()?,
        };
        let result = retry_busy(|| work(&reader), Failure::is_busy);
        let mut idle = lock(&self.readers);
        if idle.len() < MAX_IDLE_READERS {
            idle.push(reader);
        }
        result
    }

    fn open_reader(&self) -> Result<Connection, SqliteError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let reader = open_connection(&self.path, flags)?;
        // A reader that tried to write would be a bug here; make it an error instead of a write.
        reader.pragma_update(None, "query_only", true)?;
        Ok(reader)
    }

    /// The writer connection, for bulk loads that manage their own transaction.
    pub(crate) fn writer(&self) -> MutexGuard<'_, Connection> {
        lock(&self.writer)
    }
}

/// A connection stays usable after a panic in another thread's statement: rusqlite rolls back an
/// unfinished transaction when it is dropped during unwinding, so a poisoned lock is safe to take.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
