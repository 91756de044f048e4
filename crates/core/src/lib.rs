//! The domain of the API: users and their orders, the rules that keep them valid, and the ports that the
//! storage adapters implement.
//!
//! Nothing here knows about AWS, Lambda, HTTP or SQL. Every value that exists is valid: domain types are
//! built by `parse` functions that report each broken rule per field, so adapters and handlers never
//! re-check them. Use cases in [`users`] and [`orders`] take the narrow port they need, which mirrors
//! least-privilege IAM in the deployed stack.

pub mod cursor;
pub mod error;
pub mod fingerprint;
pub mod ids;
pub mod order;
pub mod orders;
pub mod page;
pub mod ports;
pub mod timestamp;
pub mod user;
pub mod users;

mod currency;

#[cfg(feature = "testing")]
pub mod testing;

pub use cursor::CursorSigner;
pub use error::{DomainError, FieldError};
pub use fingerprint::{IdempotencyKey, IdempotentOrderCreate, RequestFingerprint};
pub use ids::{OrderId, UserId};
pub use order::{
    Currency, LineItem, MinorUnits, NewLineItem, NewOrder, Order, OrderFilter, OrderStatus,
    Quantity, Sku,
};
pub use page::{Listing, Page, PageLimit, PageRequest};
pub use ports::{
    CreateOrderOutcome, ExportReader, OrderReader, OrderStore, OrderWriter, UserReader, UserStore,
    UserWriter,
};
pub use timestamp::{Rfc3339Text, Timestamp};
pub use user::{Email, NewUser, User, UserName, UserPatch};

/// The version every new record starts at. Each successful write adds one.
pub const FIRST_VERSION: u64 = 1;
