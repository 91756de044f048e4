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
pub mod request_validation;

use std::fmt;

pub use iam::SigV4Guard;
pub use request_validation::ValidationGuard;

use crate::config::Route;
use crate::request::{CallerIdentity, RoutedRequest};
use crate::response::GatewayResponse;

/// A check that runs before the function is invoked.
pub trait RequestGuard: Send + Sync + fmt::Debug {
    /// What the guard does, for the startup banner (`SigV4 (IAM)`, `request validation`).
    fn name(&self) -> &'static str;

    /// Lets the request through (recording who sent it in `identity`), or returns the response to
    /// send instead.
    fn check(
        &self,
        route: &Route,
        request: &RoutedRequest,
        identity: &mut CallerIdentity,
    ) -> Result<(), GatewayResponse>;
}

/// Runs `guards` in order; the first rejection wins.
pub fn run_guards(
    guards: &[std::sync::Arc<dyn RequestGuard>],
    route: &Route,
    request: &RoutedRequest,
) -> Result<CallerIdentity, GatewayResponse> {
    let mut identity = CallerIdentity::default();
    for guard in guards {
        guard.check(route, request, &mut identity)?;
    }
    Ok(identity)
}
