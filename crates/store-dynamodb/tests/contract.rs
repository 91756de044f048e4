//! The store contract from rill-core, run against DynamoDB Local.

mod support;

rill_core::store_contract_tests!(support::fresh_store().await);
