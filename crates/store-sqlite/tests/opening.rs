//! Opening a database file: creation, migrations, reopening, and files that are not what they seem.

mod support;

use std::path::Path;
use std::sync::{Arc, Barrier};
use std::thread;

use rill_core::UserReader;
use rill_store_sqlite::{SCHEMA_VERSION, SqliteError, SqliteStore};
use support::{db_path, raw, user};

/// `(version, applied_at)` of every row of `schema_migrations`.
fn applied_migrations(path: &Path) -> Vec<(i64, i64)> {
    let connection = raw(path);
    let mut statement = connection
        .prepare("SELECT version, applied_at FROM schema_migrations ORDER BY version")
        .unwrap();
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn user_version(path: &Path) -> i64 {
    raw(path)
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap()
}

#[test]
fn a_new_file_in_missing_directories_is_created_in_wal_mode_and_fully_migrated() {
    // Given a path under directories that do not exist yet
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/deeper/rill.db");

    // When the store opens it
    let store = SqliteStore::open(&path).expect("open");

    // Then the file exists, in WAL mode, with every migration applied once
    assert_eq!(store.path(), path);
    let mode: String = raw(&path)
        .pragma_query_value(None, "journal_mode", |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(user_version(&path), i64::from(SCHEMA_VERSION));
    let versions: Vec<i64> = applied_migrations(&path).iter().map(|m| m.0).collect();
    assert_eq!(
        versions,
        (1..=i64::from(SCHEMA_VERSION)).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn reopening_a_database_keeps_its_data_and_applies_no_migration_again() {
    // Given a database that holds a user and was closed
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(dir.path());
    let ada = user("ada@example.com", 1_000);
    {
        let store = SqliteStore::open(&path).unwrap();
        rill_core::UserWriter::create_user(&store, &ada)
            .await
            .unwrap();
    }
    let migrations_before = applied_migrations(&path);

    // When it is opened again, twice
    let store = SqliteStore::open(&path).expect("reopen");
    drop(SqliteStore::open(&path).expect("reopen again"));

    // Then the user is there and the migration history is unchanged
    assert_eq!(store.get_user(ada.id).await.unwrap(), ada);
    assert_eq!(applied_migrations(&path), migrations_before);
}

#[test]
fn stores_that_open_one_new_file_at_the_same_moment_migrate_it_once() {
    // Given eight threads ready to open the same file that does not exist yet
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(dir.path());
    let start = Arc::new(Barrier::new(8));

    // When they all open it at once
    let openers: Vec<_> = (0..8)
        .map(|_| {
            let (path, start) = (path.clone(), Arc::clone(&start));
            thread::spawn(move || {
                start.wait();
                SqliteStore::open(&path).map(drop)
            })
        })
        .collect();

    // Then every open succeeds and each migration ran exactly once
    for opener in openers {
        opener.join().unwrap().expect("open");
    }
    assert_eq!(applied_migrations(&path).len(), SCHEMA_VERSION as usize);
    assert_eq!(user_version(&path), i64::from(SCHEMA_VERSION));
}

#[test]
fn a_file_that_is_not_a_database_is_refused_with_a_message_naming_it() {
    // Given a text file where the database should be
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(dir.path());
    std::fs::write(&path, "these are not the bytes of a database\n".repeat(200)).unwrap();

    // When the store opens it
    let error = SqliteStore::open(&path).unwrap_err();

    // Then it is a clear error that names the file, and the file is untouched
    assert!(
        matches!(&error, SqliteError::NotADatabase { path: p } if *p == path),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("not a SQLite database"), "{message}");
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(b"these are not the bytes"));
}

#[test]
fn a_database_migrated_by_a_newer_build_is_refused() {
    // Given a database whose schema version is beyond this build's
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(dir.path());
    drop(SqliteStore::open(&path).unwrap());
    let newer = SCHEMA_VERSION + 1;
    raw(&path)
        .execute_batch(&format!("PRAGMA user_version = {newer}"))
        .unwrap();

    // When the store opens it
    let error = SqliteStore::open(&path).unwrap_err();

    // Then it says which file and which versions
    assert!(
        matches!(error, SqliteError::SchemaTooNew { found, known, .. }
            if found == i64::from(newer) && known == SCHEMA_VERSION),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
}

#[test]
fn a_path_below_a_regular_file_is_a_directory_error_naming_that_file() {
    // Given a regular file where the database's directory should be
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-directory");
    std::fs::write(&blocker, "x").unwrap();

    // When the store opens a path below it
    let error = SqliteStore::open(&blocker.join("rill.db")).unwrap_err();

    // Then the error names the directory it could not create
    assert!(
        matches!(&error, SqliteError::CreateDirectory { path, .. } if *path == blocker),
        "{error:?}"
    );
    assert!(error.to_string().contains(&blocker.display().to_string()));
}

#[test]
fn a_directory_in_place_of_the_file_is_an_open_error_naming_it() {
    // Given a directory at the database path
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(dir.path());
    std::fs::create_dir(&path).unwrap();

    // When the store opens it
    let error = SqliteStore::open(&path).unwrap_err();

    // Then the error names the path
    assert!(matches!(&error, SqliteError::Open { .. }), "{error:?}");
    assert!(error.to_string().contains(&path.display().to_string()));
}
