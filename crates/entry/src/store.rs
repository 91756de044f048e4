//! Opens the store the configuration names, once per process, behind one trait object.
//!
//! The functions never name an adapter, so the same binary runs on SQLite locally and on DynamoDB
//! when deployed. [`SharedStore`] carries every port; each function keeps only the one it uses
//! ([`rill_core::UserStore`], [`rill_core::OrderStore`], [`rill_core::ExportReader`]), to which a
//! `SharedStore` converts.
//!
//! Each adapter is behind its Cargo feature (`sqlite`, `dynamodb`): a deployed function is built with
//! DynamoDB only, so its binary carries no SQLite. Asked for a store it was built without, this
//! refuses with [`OpenStoreError::NotBuilt`] rather than failing later.

use std::sync::Arc;

use rill_core::{ExportReader, OrderStore, UserStore};

use crate::config::StoreKind;
use crate::{StoreBackend, StoreConfig};

/// Every function's port at once: what each adapter implements, and what the entry point opens
/// before it knows which function it serves.
pub trait FullStore: UserStore + OrderStore + ExportReader {}
impl<T: UserStore + OrderStore + ExportReader + ?Sized> FullStore for T {}

/// The store a function opens in `main` and shares with every request.
pub type SharedStore = Arc<dyn FullStore>;

/// Why the store could not be opened. The function should stop: nothing can be served without it.
#[derive(Debug, thiserror::Error)]
pub enum OpenStoreError {
    #[cfg(feature = "sqlite")]
    #[error(transparent)]
    Sqlite(#[from] rill_store_sqlite::SqliteError),
    #[error(
        "the configuration names the {} store, but this binary was built without it (Cargo feature `{}`)",
        .0.name(),
        .0.name()
    )]
    NotBuilt(StoreKind),
}

/// Opens the configured store. SQLite creates and migrates its file here. DynamoDB does nothing yet:
/// its SDK configuration and client are built on the first request, so Init stays as short as a bare
/// runtime's.
pub async fn open_store(config: &StoreConfig) -> Result<SharedStore, OpenStoreError> {
    match config.backend() {
        #[cfg(feature = "sqlite")]
        StoreBackend::Sqlite { path } => {
            let store = rill_store_sqlite::SqliteStore::open(path)?;
            tracing::info!(store = "sqlite", path = %path.display(), "store opened");
            Ok(Arc::new(store))
        }
        #[cfg(feature = "dynamodb")]
        StoreBackend::DynamoDb {
            users_table,
            orders_table,
            idempotency_table,
        } => {
            use rill_store_dynamodb::{DynamoStore, TableNames};
            let store = DynamoStore::from_env(TableNames {
                users: users_table.clone(),
                orders: orders_table.clone(),
                idempotency: idempotency_table.clone(),
            });
            tracing::info!(
                store = "dynamodb",
                users_table,
                orders_table,
                idempotency_table,
                "store opened"
            );
            Ok(Arc::new(store))
        }
        #[allow(unreachable_patterns)]
        other => Err(OpenStoreError::NotBuilt(StoreBackend::kind(other))),
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use rill_core::{NewUser, PageRequest, Timestamp};

    use super::*;

    #[tokio::test]
    async fn a_sqlite_config_opens_a_working_store_and_creates_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let config = StoreConfig::sqlite(dir.path().join("nested/rill.db"));
        let store = open_store(&config).await.unwrap();
        let user = NewUser::parse("ann@example.com", "Ann")
            .unwrap()
            .into_user(Timestamp::now());
        store.create_user(&user).await.unwrap();
        assert_eq!(store.get_user(user.id).await.unwrap(), user);
        let page = store.list_users(PageRequest::first(10)).await.unwrap();
        assert_eq!(page.items.len(), 1);
    }

    #[tokio::test]
    async fn a_path_that_cannot_be_a_database_fails_with_a_message_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let not_a_db = dir.path().join("file.db");
        std::fs::write(
            &not_a_db,
            b"this is not a database, just some text that is long enough",
        )
        .unwrap();
        let err = match open_store(&StoreConfig::sqlite(&not_a_db)).await {
            Ok(_) => panic!("a text file opened as a database"),
            Err(err) => err,
        };
        assert!(err.to_string().contains("file.db"), "{err}");
    }
}
