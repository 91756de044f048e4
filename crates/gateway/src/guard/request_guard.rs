//! What a request guard is, and how a list of them runs: in order, the first refusal wins.

use std::fmt;

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
