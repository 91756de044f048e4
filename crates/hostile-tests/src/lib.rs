//! End-to-end suites that attack the API the way the outside world does: malformed and oversized
//! input, forged and replayed signatures, many clients racing for one record, and the store or a
//! function dying mid-request. Every request goes through the real local gateway
//! (`rill_gateway::testing`) to the real `users`, `orders` and `export` binaries, signed with SigV4
//! unless a test is about signing.
//!
//! The suites live in `tests/`; this library is what they share:
//!
//! - [`api`]: a client that sends any request (signed JSON, raw bytes) and returns an [`Answer`],
//!   scanning every error body for leaked internals on the way ([`leaks`]);
//! - [`signing`]: SigV4 with every knob exposed (keys, time, region, service), for forging;
//! - [`stores`]: read-only looks at what the store holds, to prove a refused request wrote nothing;
//! - [`dynamodb_local`]: DynamoDB Local (the instance `scripts/test` starts), fresh tables per test;
//! - [`link`]: a TCP relay a fault test puts in front of the database and cuts;
//! - [`world`]: the API on either store with a probe of that store, for suites that run on both.

pub mod api;
pub mod dynamodb_local;
pub mod leaks;
pub mod link;
pub mod signing;
pub mod stores;
pub mod world;

pub use api::{Answer, Api};
pub use world::{StoreUnderTest, World};
