//! The hook where requests are checked before a function is invoked: SigV4 authorization, then
//! request validation, in the order API Gateway applies them.
//!
//! A guard sees the request exactly as the client sent it (method, URI with the stage, headers,
//! body) plus the matched route and the API definition, and either lets it through, possibly
//! filling in the caller's identity for `requestContext.identity`, or answers in the gateway's
//! place (a 403 for a bad signature, a 400 for an invalid body). Guards are a list so that each
//! concern stays in its own module (`sigv4`, `validation`) and the server does not change when one
//! is added.

use std::collections::BTreeMap;
use std::fmt;

use http::{HeaderMap, Method, Uri};
use serde_json::Value;

use crate::gateway_response::GatewayResponse;
use crate::routing::Route;

/// The caller, as IAM authorization establishes it (all `None` for an unsigned request).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallerIdentity {
    /// `requestContext.identity.accessKey`.
    pub access_key: Option<String>,
    /// `requestContext.identity.accountId`.
    pub account_id: Option<String>,
    /// `requestContext.identity.caller`.
    pub caller: Option<String>,
    /// `requestContext.identity.user`.
    pub user: Option<String>,
    /// `requestContext.identity.userArn`.
    pub user_arn: Option<String>,
}

/// A request on its way to a function.
#[derive(Debug)]
pub struct GuardRequest<'a> {
    /// Method.
    pub method: &'a Method,
    /// URI as received, stage included (what a SigV4 signature covers).
    pub uri: &'a Uri,
    /// Headers as received.
    pub headers: &'a HeaderMap,
    /// The whole body.
    pub body: &'a [u8],
    /// The matched route.
    pub route: &'a Route,
    /// Decoded path parameters.
    pub path_parameters: &'a BTreeMap<String, String>,
    /// The OpenAPI definition (intrinsics evaluated); the operation is at
    /// `route.operation_pointer`.
    pub definition: &'a Value,
    /// The stage.
    pub stage: &'a str,
}

/// A check that runs before the function is invoked.
pub trait RequestGuard: Send + Sync + fmt::Debug {
    /// What the guard does, for the startup banner (`SigV4 (IAM)`, `request validation`).
    fn name(&self) -> &'static str;

    /// Lets the request through (recording who sent it in `identity`), or returns the response to
    /// send instead.
    fn check(
        &self,
        request: &GuardRequest<'_>,
        identity: &mut CallerIdentity,
    ) -> Result<(), GatewayResponse>;
}

/// Runs `guards` in order; the first rejection wins.
pub fn run_guards(
    guards: &[std::sync::Arc<dyn RequestGuard>],
    request: &GuardRequest<'_>,
) -> Result<CallerIdentity, GatewayResponse> {
    let mut identity = CallerIdentity::default();
    for guard in guards {
        guard.check(request, &mut identity)?;
    }
    Ok(identity)
}
