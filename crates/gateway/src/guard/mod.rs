//! The hook where requests are checked before a function is invoked: SigV4 authorization, then
//! request validation, in the order API Gateway applies them.
//!
//! A guard sees the routed request exactly as the client sent it (method, raw path with the stage,
//! query, headers, body) and the matched route from the API model (its authorization and compiled
//! validator), and either lets it through, possibly filling in the caller's identity for
//! `requestContext.identity`, or answers in the gateway's place (a 403 for a bad signature, a 400
//! for an invalid body). Guards are a list so that each concern stays in its own module
//! ([`iam`] over `sigv4`, [`request_validation`] over `validation`) and the server does not change
//! when one is added.

pub mod iam;
pub mod request_guard;
pub mod request_validation;

pub use iam::SigV4Guard;
pub use request_guard::{RequestGuard, run_guards};
pub use request_validation::ValidationGuard;
