//! Request validation as a request guard: finds the routed operation's validator and refuses the
//! request with the definition's gateway response when validation fails.
//!
//! Everything is compiled when the guard is built, so a definition the validators cannot use
//! stops the gateway at start-up ([`SpecError`]) instead of failing requests.
//!
//! The gateway's [`GatewayResponse`] carries a status, a message and an error type, so the guard
//! applies the definition's status code and answers with the standard `{"message": ...}` body. A
//! template that reshapes the body is rendered in full by [`GatewayResponses::render`], for a
//! caller that can send a rendered body.

use serde_json::Value;

use super::{GatewayResponses, OperationValidators, RequestParts, SpecError, ValidationOptions};
use crate::gateway_response::GatewayResponse;
use crate::guard::{CallerIdentity, GuardRequest, RequestGuard};

/// The request validation guard for one API definition.
#[derive(Debug)]
pub struct ValidationGuard {
    validators: OperationValidators,
    responses: GatewayResponses,
}

impl ValidationGuard {
    /// Compiles the validators and gateway responses of `definition`.
    pub fn from_definition(definition: &Value) -> Result<Self, SpecError> {
        Self::from_definition_with(definition, ValidationOptions::default())
    }

    /// [`from_definition`](Self::from_definition) with explicit options.
    pub fn from_definition_with(
        definition: &Value,
        options: ValidationOptions,
    ) -> Result<Self, SpecError> {
        Ok(Self {
            validators: OperationValidators::from_spec_with(definition, options)?,
            responses: GatewayResponses::from_spec(definition)?,
        })
    }

    /// The compiled validators.
    pub fn validators(&self) -> &OperationValidators {
        &self.validators
    }

    /// The definition's gateway responses.
    pub fn responses(&self) -> &GatewayResponses {
        &self.responses
    }
}

impl RequestGuard for ValidationGuard {
    fn name(&self) -> &'static str {
        "request validation"
    }

    fn check(
        &self,
        request: &GuardRequest<'_>,
        _identity: &mut CallerIdentity,
    ) -> Result<(), GatewayResponse> {
        let Some(validator) = self
            .validators
            .get_by_pointer(&request.route.operation_pointer)
        else {
            return Ok(());
        };
        let parts = RequestParts {
            headers: request.headers,
            raw_query: request.uri.query().unwrap_or(""),
            path_parameters: request.path_parameters,
            body: request.body,
        };
        validator.validate(&parts).map_err(|failure| {
            let rendered = self.responses.render(
                &failure.gateway_error(),
                Some(&parts),
                &[("stage", request.stage)],
            );
            tracing::debug!(
                response_type = failure.response_type(),
                status = rendered.status.as_u16(),
                "request validation refused the request"
            );
            GatewayResponse::new(
                rendered.status,
                failure.message(),
                Some(failure.error_type()),
            )
        })
    }
}
