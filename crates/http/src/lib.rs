//! The HTTP edge that every function shares, so each function's handler only translates between a
//! request and a use case in `rill-core`.
//!
//! One job per module:
//! - [`config`]: which store to use, read from the environment once, failing fast when it is wrong;
//! - [`store`]: opens that store behind one shared trait object;
//! - [`problem`]: RFC 9457 `application/problem+json` errors, including the one mapping from
//!   [`rill_core::DomainError`] to a status code;
//! - [`json`]: request bodies parsed into strict DTOs with per-field 400s, and JSON responses;
//! - [`etag`]: `ETag` and `If-Match` for optimistic concurrency;
//! - [`pagination`]: `limit` and `cursor` query parameters, and `{items, nextCursor}` pages;
//! - [`request`]: what a REST (v1) API Gateway event carries: route, path and query parameters, ids;
//! - [`dispatch`]: the route table a function declares once;
//! - [`tracing`]: the log subscriber and the span around each request.

pub mod config;
pub mod dispatch;
pub mod etag;
pub mod json;
pub mod pagination;
pub mod problem;
pub mod request;
pub mod store;
pub mod tracing;

#[cfg(feature = "testing")]
pub mod testing;

pub use self::tracing::{init_tracing, traced};
pub use config::{
    ConfigError, CursorKeySetting, StoreBackend, StoreConfig, check_lambda_environment,
};
pub use dispatch::RouteTable;
pub use etag::{etag, parse_if_match, with_etag};
pub use json::{check_accepts_json, json_response, parse_json};
pub use pagination::{PageQuery, page_response};
pub use problem::Problem;
pub use rill_cursor_key::CursorKeys;
pub use store::{FullStore, OpenStoreError, SharedStore, open_store};
