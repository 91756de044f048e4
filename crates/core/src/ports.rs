//! The storage ports: one trait per capability, so each handler depends on exactly what it uses
//! (the export function only reads, like its IAM policy).
//!
//! Every method is atomic: it either does all of its writes or none. The contract suite in
//! [`crate::testing`] pins down the behaviour each adapter must share.

use async_trait::async_trait;

use crate::{
    DomainError, IdempotentOrderCreate, Order, OrderFilter, OrderId, Page, PageRequest, User,
    UserId,
};

/// Reads users.
#[async_trait]
pub trait UserReader: Send + Sync {
    /// The user, or `NotFound { entity: "user" }`.
    async fn get_user(&self, id: UserId) -> Result<User, DomainError>;

    /// Every user exactly once across pages, in an order the store chooses.
    async fn list_users(&self, page: PageRequest) -> Result<Page<User>, DomainError>;
}

/// Writes users, keeping emails unique by [`crate::Email::key`].
#[async_trait]
pub trait UserWriter: Send + Sync {
    /// Stores a new user. `Conflict` when another user holds the email.
    async fn create_user(&self, user: &User) -> Result<(), DomainError>;

    /// Replaces the stored user whose version is `user.version - 1`, moving the email claim if the
    /// email changed. `NotFound` when the user is gone, `PreconditionFailed` when the stored version is
    /// another, `Conflict` when the new email is taken.
    async fn update_user(&self, user: &User) -> Result<(), DomainError>;

    /// Deletes the user and releases its email. With `expected_version`, only if the stored version is
    /// that one (`PreconditionFailed` otherwise). `NotFound` when there is no such user.
    async fn delete_user(
        &self,
        id: UserId,
        expected_version: Option<u64>,
    ) -> Result<(), DomainError>;
}

/// Reads orders.
#[async_trait]
pub trait OrderReader: Send + Sync {
    /// The order, or `NotFound { entity: "order" }`.
    async fn get_order(&self, id: OrderId) -> Result<Order, DomainError>;

    /// Every order that matches the filter, exactly once across pages. With `filter.user_id` set the
    /// order is newest first (`created_at`, then id, descending); otherwise the store chooses.
    async fn list_orders(
        &self,
        filter: &OrderFilter,
        page: PageRequest,
    ) -> Result<Page<Order>, DomainError>;
}

/// What creating an order did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOrderOutcome {
    /// The order is new.
    Created(Order),
    /// The idempotency key was seen with the same request: this is the order it created.
    Replayed(Order),
}

impl CreateOrderOutcome {
    pub fn order(&self) -> &Order {
        match self {
            Self::Created(order) | Self::Replayed(order) => order,
        }
    }
}

/// Writes orders.
#[async_trait]
pub trait OrderWriter: Send + Sync {
    /// Stores a new order, checking in the same atomic write that its user exists (a
    /// `Validation` error on `userId` otherwise). With `idempotency`, the key is recorded in that write
    /// too: a key seen with the same fingerprint gives `Replayed` with the order it created, with a
    /// different fingerprint `IdempotencyKeyReused`. Concurrent calls with one key create one order.
    async fn create_order(
        &self,
        order: &Order,
        idempotency: Option<&IdempotentOrderCreate>,
    ) -> Result<CreateOrderOutcome, DomainError>;

    /// Replaces the stored order whose version is `order.version - 1`. `NotFound` when it is gone,
    /// `PreconditionFailed` when the stored version is another.
    async fn update_order(&self, order: &Order) -> Result<(), DomainError>;
}

/// Everything the users function needs: its users, and reading their orders for
/// `GET /users/{userId}/orders`.
pub trait UserStore: UserReader + UserWriter + OrderReader {}
impl<T: UserReader + UserWriter + OrderReader + ?Sized> UserStore for T {}

/// Everything the orders function needs. A new order's user is checked inside
/// [`OrderWriter::create_order`]'s own write, so it needs no [`UserReader`].
pub trait OrderStore: OrderReader + OrderWriter {}
impl<T: OrderReader + OrderWriter + ?Sized> OrderStore for T {}

/// Everything the export function reads, and nothing it could write with (as in its IAM policy).
pub trait ExportReader: OrderReader + UserReader {}
impl<T: OrderReader + UserReader + ?Sized> ExportReader for T {}
