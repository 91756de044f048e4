//! The adapter's errors, and how they become [`DomainError`]s.
//!
//! [`SqliteError`] is for operators: opening a file, migrating it, bulk loading. Its messages name the
//! database path so a misconfigured `RILL_SQLITE_PATH` is obvious. Inside the port methods a failure is
//! a [`Failure`]: either a domain outcome (`NotFound`, `Conflict`…) that goes to the client as is, or a
//! store fault that is logged with its cause and handed on as [`DomainError::Unavailable`], whose
//! client-facing text is generic. SQL text and SQLite messages never reach a client.

use std::error::Error as _;
use std::path::PathBuf;

use rill_core::DomainError;
use rusqlite::ErrorCode;

/// What can go wrong opening, migrating or bulk loading the database, and the cause carried inside
/// [`DomainError::Unavailable`] when a port method fails.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqliteError {
    /// The directory that should hold the database file could not be created.
    #[error("could not create the directory {} for the SQLite database", path.display())]
    CreateDirectory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// SQLite could not open or configure the file.
    #[error("could not open the SQLite database at {}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    /// The file exists but is not a SQLite database (or is encrypted, or damaged in its header).
    #[error(
        "the file at {} is not a SQLite database; point RILL_SQLITE_PATH at a Rill database or at a \
         path where one may be created",
        path.display()
    )]
    NotADatabase { path: PathBuf },

    /// The file system does not support write-ahead logging, which the store relies on.
    #[error(
        "the SQLite database at {} cannot use write-ahead logging (journal mode stayed {mode:?})",
        path.display()
    )]
    WalUnavailable { path: PathBuf, mode: String },

    /// A schema migration failed; the transaction that ran it was rolled back.
    #[error(
        "could not apply schema migration {version} ({name}) to the SQLite database at {}",
        path.display()
    )]
    Migration {
        path: PathBuf,
        version: u32,
        name: &'static str,
        #[source]
        source: rusqlite::Error,
    },

    /// The file was migrated by a newer build than this one.
    #[error(
        "the SQLite database at {} has schema version {found}, newer than version {known} that this \
         build knows; run a newer build or use another file",
        path.display()
    )]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        known: u32,
    },

    /// A statement failed while the store was in use.
    #[error("a SQLite statement failed")]
    Sqlite(#[from] rusqlite::Error),

    /// A stored row does not hold a valid domain value.
    #[error("the stored {entity} {id} is corrupt: {detail}")]
    CorruptRow {
        entity: &'static str,
        id: String,
        detail: String,
    },

    /// The line items of an order could not be encoded as JSON.
    #[error("could not encode the line items of order {id}")]
    EncodeItems {
        id: String,
        #[source]
        source: serde_json::Error,
    },

    /// A bulk insert refused its batch; nothing of the batch was written.
    #[error("record {index} of the batch was rejected: {reason}")]
    BatchRejected { index: usize, reason: String },

    /// The blocking task that ran the statement panicked or was cancelled.
    #[error("the SQLite worker task failed")]
    Worker(#[source] tokio::task::JoinError),
}

impl SqliteError {
    /// Whether another connection held the lock past the busy timeout: worth another attempt.
    pub(crate) fn is_busy(&self) -> bool {
        matches!(self, Self::Sqlite(e) if is_busy(e))
    }

    pub(crate) fn corrupt(entity: &'static str, id: &str, detail: impl Into<String>) -> Self {
        Self::CorruptRow {
            entity,
            id: id.to_owned(),
            detail: detail.into(),
        }
    }
}

/// Whether SQLite answered "database is locked" or "database table is locked".
pub(crate) fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// The `table.column` list of a UNIQUE or PRIMARY KEY violation (`users.email_key`), if this is one.
pub(crate) fn unique_violation(error: &rusqlite::Error) -> Option<&str> {
    match error {
        rusqlite::Error::SqliteFailure(e, Some(message))
            if e.code == ErrorCode::ConstraintViolation =>
        {
            message.strip_prefix("UNIQUE constraint failed: ")
        }
        _ => None,
    }
}

/// Why a port method failed: an outcome for the client, or a fault of the store.
#[derive(Debug)]
pub(crate) enum Failure {
    Domain(DomainError),
    Store(SqliteError),
}

impl Failure {
    pub(crate) fn is_busy(&self) -> bool {
        matches!(self, Self::Store(e) if e.is_busy())
    }

    /// The error a port method returns. Store faults are logged here, once, with their whole cause.
    pub(crate) fn into_domain(self, operation: &'static str) -> DomainError {
        match self {
            Self::Domain(error) => error,
            Self::Store(error) => {
                tracing::error!(
                    operation,
                    error = %error,
                    cause = %causes(&error),
                    "the SQLite store failed"
                );
                DomainError::unavailable(error)
            }
        }
    }
}

impl From<DomainError> for Failure {
    fn from(error: DomainError) -> Self {
        Self::Domain(error)
    }
}

impl From<SqliteError> for Failure {
    fn from(error: SqliteError) -> Self {
        Self::Store(error)
    }
}

impl From<rusqlite::Error> for Failure {
    fn from(error: rusqlite::Error) -> Self {
        Self::Store(SqliteError::Sqlite(error))
    }
}

/// The chain of sources under an error, `: `-separated, for the logs.
fn causes(error: &SqliteError) -> String {
    let mut text = String::new();
    let mut source = error.source();
    while let Some(cause) = source {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
