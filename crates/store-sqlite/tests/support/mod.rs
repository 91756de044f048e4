//! Shared by the test files: a store in its own temporary directory, and fixtures.
#![allow(dead_code)] // Each test file uses a different part.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use rill_core::{
    CreateOrderOutcome, DomainError, IdempotencyKey, IdempotentOrderCreate, NewLineItem, NewOrder,
    NewUser, Order, OrderFilter, OrderId, OrderReader, OrderWriter, Page, PageRequest,
    RequestFingerprint, Timestamp, User, UserId, UserReader, UserWriter,
};
use rill_store_sqlite::SqliteStore;
use tempfile::TempDir;

/// A store on a new file in a temporary directory that lives as long as the store.
pub struct TestStore {
    pub store: SqliteStore,
    pub dir: TempDir,
}

impl TestStore {
    pub fn path(&self) -> PathBuf {
        db_path(self.dir.path())
    }
}

pub fn db_path(dir: &Path) -> PathBuf {
    dir.join("rill.db")
}

/// A fresh, empty, migrated store.
pub fn open_fresh_store() -> TestStore {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::open(&db_path(dir.path())).expect("open a new store");
    TestStore { store, dir }
}

/// A raw connection to the file, to look at or damage what the store wrote.
pub fn raw(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).expect("raw connection")
}

pub fn user(email: &str, now: i64) -> User {
    NewUser::parse(email, "Grace Hopper")
        .expect("valid user")
        .into_user(Timestamp::from_millis(now))
}

pub fn new_order(user_id: UserId, sku: &str) -> NewOrder {
    NewOrder::parse(
        &user_id.to_string(),
        "EUR",
        &[NewLineItem {
            sku,
            quantity: 3,
            unit_price: 499,
        }],
    )
    .expect("valid order")
}

pub fn order(user: &User, sku: &str, now: i64) -> Order {
    new_order(user.id, sku).into_order(Timestamp::from_millis(now))
}

/// The idempotency record a handler would build for `order`, expiring at `expires_at`.
pub fn idempotent(order: &Order, key: &str, expires_at: i64) -> IdempotentOrderCreate {
    let request = NewOrder {
        user_id: order.user_id,
        items: order.items.clone(),
        currency: order.currency,
        total: order.total,
    };
    IdempotentOrderCreate {
        key: IdempotencyKey::parse(key).expect("valid key"),
        fingerprint: RequestFingerprint::of_new_order(&request),
        expires_at: Timestamp::from_millis(expires_at),
    }
}

pub fn validation_fields(error: DomainError) -> Vec<String> {
    match error {
        DomainError::Validation(fields) => fields.into_iter().map(|f| f.field).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[async_trait]
impl UserReader for TestStore {
    async fn get_user(&self, id: UserId) -> Result<User, DomainError> {
        self.store.get_user(id).await
    }

    async fn list_users(&self, page: PageRequest) -> Result<Page<User>, DomainError> {
        self.store.list_users(page).await
    }
}

#[async_trait]
impl UserWriter for TestStore {
    async fn create_user(&self, user: &User) -> Result<(), DomainError> {
        self.store.create_user(user).await
    }

    async fn update_user(&self, user: &User) -> Result<(), DomainError> {
        self.store.update_user(user).await
    }

    async fn delete_user(
        &self,
        id: UserId,
        expected_version: Option<u64>,
    ) -> Result<(), DomainError> {
        self.store.delete_user(id, expected_version).await
    }
}

#[async_trait]
impl OrderReader for TestStore {
    async fn get_order(&self, id: OrderId) -> Result<Order, DomainError> {
        self.store.get_order(id).await
    }

    async fn list_orders(
        &self,
        filter: &OrderFilter,
        page: PageRequest,
    ) -> Result<Page<Order>, DomainError> {
        self.store.list_orders(filter, page).await
    }
}

#[async_trait]
impl OrderWriter for TestStore {
    async fn create_order(
        &self,
        order: &Order,
        idempotency: Option<&IdempotentOrderCreate>,
    ) -> Result<CreateOrderOutcome, DomainError> {
        self.store.create_order(order, idempotency).await
    }

    async fn update_order(&self, order: &Order) -> Result<(), DomainError> {
        self.store.update_order(order).await
    }
}
