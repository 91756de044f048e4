//! The users function: creates, reads, changes and deletes users, and lists a user's orders.
//!
//! [`routes`] is the function's part of the API, checked against the OpenAPI file by the contract
//! tests. [`handler`] is what the Lambda runtime calls; [`http_handler`] translates each route to a
//! use case in `rill_core::users` and back. `main.rs` builds the [`Deps`] once.

use std::convert::Infallible;
use std::fmt;

use lambda_http::{Body, Request, Response};
use rill_http::{CursorKeys, RouteTable, SharedStore, traced};

mod dto;
pub mod http_handler;

/// The routes this function serves.
pub const ROUTES: RouteTable = RouteTable::new(&[
    ("POST", "/users"),
    ("GET", "/users"),
    ("GET", "/users/{userId}"),
    ("PATCH", "/users/{userId}"),
    ("DELETE", "/users/{userId}"),
    ("GET", "/users/{userId}/orders"),
]);

/// `(method, resource path)` of every route, as in the OpenAPI file.
pub fn routes() -> &'static [(&'static str, &'static str)] {
    ROUTES.routes()
}

/// What every request needs, built once in `main`.
#[derive(Clone)]
pub struct Deps {
    pub store: SharedStore,
    pub cursors: CursorKeys,
}

impl fmt::Debug for Deps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deps").finish_non_exhaustive()
    }
}

/// Handles one API Gateway request. Every failure is an HTTP response, so this never errs.
pub async fn handler(deps: &Deps, request: Request) -> Result<Response<Body>, Infallible> {
    Ok(traced(request, |request| http_handler::handle(deps, request)).await)
}
