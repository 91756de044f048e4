//! Request validation as a request guard: runs the routed operation's request validator, compiled
//! when the API model was loaded, and refuses the request with `BAD_REQUEST_PARAMETERS` or
//! `BAD_REQUEST_BODY` when it fails. The refusal is rendered like every gateway response, through
//! the definition's `x-amazon-apigateway-gateway-responses` (see `response`).

use super::request_guard::RequestGuard;
use crate::config::Route;
use crate::request::{CallerIdentity, RoutedRequest};
use crate::response::GatewayResponse;

/// The request validation guard.
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidationGuard;

impl RequestGuard for ValidationGuard {
    fn name(&self) -> &'static str {
        "request validation"
    }

    fn check(
        &self,
        route: &Route,
        request: &RoutedRequest,
        _identity: &mut CallerIdentity,
    ) -> Result<(), GatewayResponse> {
        route.validator.validate(request).map_err(|failure| {
            tracing::debug!(
                response_type = failure.response_type(),
                "request validation refused the request"
            );
            GatewayResponse::from(&failure)
        })
    }
}
