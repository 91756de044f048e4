//! End-to-end tests of the local gateway: real HTTP in, real function processes behind it.
//!
//! Most suites use the test-only fixture function (`src/bin/rill-fixture-fn.rs`), which can
//! misbehave in every way the gateway must handle; `product` runs the real users, orders and
//! export binaries on SQLite.

#[path = "../support/mod.rs"]
mod support;

mod auth;
mod buffered;
mod config;
mod events;
mod gateway_responses;
mod lifecycle;
mod product;
mod reload;
mod routing;
mod runtime_answers;
mod shutdown;
mod stream_limits;
mod streaming;
mod watch;
