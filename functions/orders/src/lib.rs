//! The orders function: creates orders (idempotently, with `Idempotency-Key`), lists and reads
//! them, and moves them through their statuses.
//!
//! The same files as every function: [`routes`] is its part of the API (checked against the OpenAPI
//! file by the contract tests), [`config`] what it builds once per process, [`handler`] the
//! translation of each route to a use case in `rill_core::orders` and back. `main.rs` hands
//! [`config::deps`] and [`handler()`] to the shared entry point, `rill-entry`.

use std::convert::Infallible;

use lambda_http::{Body, Request, Response};
use rill_http::Routes;

pub mod config;
mod dto;
pub mod handler;
pub mod routes;

pub use config::Deps;
pub use routes::Route;

/// `(method, resource path)` of every route, as in the OpenAPI file.
pub fn routes() -> &'static [rill_http::Route] {
    Route::TABLE
}

/// Handles one API Gateway request. Every failure is an HTTP response, so this never errs.
pub async fn handler(deps: &Deps, request: Request) -> Result<Response<Body>, Infallible> {
    rill_http::answer(request, |request| handler::respond(deps, request)).await
}
