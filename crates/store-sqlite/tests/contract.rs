//! The store contract of rill-core, run against SQLite on disk: one fresh file per test.

mod support;

use support::open_fresh_store;

rill_core::store_contract_tests!(open_fresh_store());
