//! Schema migrations: numbered SQL scripts, applied in order on open, each exactly once.
//!
//! `PRAGMA user_version` (an integer in the database header) is the number of the last migration
//! applied. It changes in the same transaction as the schema, so a crash mid-migration leaves the old
//! schema and the old number. Migrations run under `BEGIN IMMEDIATE` and re-read the number once the
//! write lock is held: when several function processes open a new file at the same moment, one applies
//! the migrations and the others find them done. A `schema_migrations` table records when each ran.
//!
//! A migration is never edited once released; a change to the schema is a new, higher-numbered file.

use std::path::Path;

use rill_core::Timestamp;
use rusqlite::{Connection, TransactionBehavior};

use crate::connections::retry_busy;
use crate::error::{SqliteError, is_busy};

struct Migration {
    version: u32,
    name: &'static str,
    sql: &'static str,
}

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "users, orders and idempotency keys",
    sql: include_str!("migrations/0001_users_orders_idempotency.sql"),
}];

/// The schema version this build creates and expects: the number of the last migration.
pub const SCHEMA_VERSION: u32 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// Brings the database at `path` up to [`SCHEMA_VERSION`]. Refuses a file from a newer build.
pub(crate) fn migrate(connection: &mut Connection, path: &Path) -> Result<(), SqliteError> {
    let open_error = |source| SqliteError::Open {
        path: path.to_owned(),
        source,
    };
    // The common case, a database already up to date, needs no write lock.
    let found = schema_version(connection).map_err(open_error)?;
    check_not_newer(found, path)?;
    if found == i64::from(SCHEMA_VERSION) {
        return Ok(());
    }

    retry_busy(
        || {
            let transaction = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(open_error)?;
            // Another process may have migrated between the first look and the lock.
            let found = schema_version(&transaction).map_err(open_error)?;
            check_not_newer(found, path)?;
            for migration in MIGRATIONS.iter().filter(|m| i64::from(m.version) > found) {
                apply(&transaction, migration).map_err(|source| SqliteError::Migration {
                    path: path.to_owned(),
                    version: migration.version,
                    name: migration.name,
                    source,
                })?;
                tracing::info!(
                    version = migration.version,
                    name = migration.name,
                    path = %path.display(),
                    "applied a schema migration"
                );
            }
            transaction.commit().map_err(open_error)
        },
        |error| match error {
            SqliteError::Open { source, .. } | SqliteError::Migration { source, .. } => {
                is_busy(source)
            }
            _ => false,
        },
    )
}

fn apply(connection: &Connection, migration: &Migration) -> Result<(), rusqlite::Error> {
    connection.execute_batch(migration.sql)?;
    connection.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
        (
            migration.version,
            migration.name,
            Timestamp::now().as_millis(),
        ),
    )?;
    // PRAGMA takes no bound parameters; the version is a number from the table above.
    connection.execute_batch(&format!("PRAGMA user_version = {}", migration.version))
}

fn schema_version(connection: &Connection) -> Result<i64, rusqlite::Error> {
    connection.pragma_query_value(None, "user_version", |row| row.get(0))
}

fn check_not_newer(found: i64, path: &Path) -> Result<(), SqliteError> {
    if found > i64::from(SCHEMA_VERSION) {
        return Err(SqliteError::SchemaTooNew {
            path: path.to_owned(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_one_up_without_gaps() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version as usize, index + 1, "{}", migration.name);
        }
    }

    #[test]
    fn no_migration_manages_its_own_transaction() {
        for migration in MIGRATIONS {
            let sql = migration.sql.to_ascii_uppercase();
            for word in ["BEGIN", "COMMIT", "ROLLBACK", "END TRANSACTION"] {
                let statement_start = sql
                    .lines()
                    .map(str::trim_start)
                    .any(|line| line.starts_with(word));
                assert!(
                    !statement_start,
                    "migration {} uses {word}",
                    migration.version
                );
            }
        }
    }
}
