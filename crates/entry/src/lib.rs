//! The one entry point of every function, so that each `main.rs` is a few lines and the three
//! functions cannot drift in how they start.
//!
//! [`run_buffered`] and [`run_streaming`] do the same things in the same order, once per process:
//! set up logs ([`logs`]), check that the process runs under a Lambda Runtime API, read the store
//! configuration ([`config`]), open the store ([`store`]), let the function build what its requests
//! need from that (and from its own settings), then run lambda_http's loop with the handler. Any
//! failure before the loop is logged with the variable or cause to fix, and the process exits
//! non-zero: Lambda reports that as an Init error, and nothing panics.
//!
//! The store choice lives here, not in `rill-http` (which keeps only HTTP): each adapter is behind a
//! Cargo feature, and the deployed functions build only `dynamodb`.

pub mod config;
pub mod logs;
mod run;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use config::{
    BUILT_STORES, ConfigError, CursorKeySetting, StoreBackend, StoreConfig, StoreKind,
    check_lambda_environment,
};
pub use logs::init_tracing;
pub use rill_cursor_key::CursorKeys;
pub use run::{Deps, Wiring, run_buffered, run_streaming};
pub use store::{FullStore, OpenStoreError, SharedStore, open_store};
