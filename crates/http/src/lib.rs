//! The HTTP edge that every function shares, so each function's handler only translates between a
//! request and a use case in `rill-core`. Which store to open, and starting the runtime, are
//! `rill-entry`'s; nothing here knows an adapter.
//!
//! One job per module:
//! - [`problem`]: RFC 9457 `application/problem+json` errors, including the one mapping from
//!   [`rill_core::DomainError`] to a status code;
//! - [`json`]: request bodies parsed into strict DTOs with per-field 400s, and JSON responses;
//! - [`etag`]: `ETag` and `If-Match` for optimistic concurrency;
//! - [`pagination`]: `limit` and `cursor` query parameters, and `{items, nextCursor}` pages;
//! - [`request`]: what a REST (v1) API Gateway event carries: route, path and query parameters, ids;
//! - [`dispatch`]: the routes a function declares once, as an enum its handler matches exhaustively;
//! - [`tracing`]: the span around each request.

pub mod dispatch;
pub mod etag;
pub mod json;
pub mod pagination;
pub mod problem;
pub mod request;
pub mod tracing;

#[cfg(feature = "testing")]
pub mod testing;

pub use self::tracing::{answer, traced};
pub use dispatch::{Route, Routes};
pub use etag::{etag, parse_if_match, with_etag};
pub use json::{check_accepts_json, json_response, parse_json};
pub use pagination::{PageQuery, page_response};
pub use problem::Problem;
