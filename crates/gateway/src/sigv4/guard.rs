//! SigV4 as a request guard: verifies the signature of every operation the definition protects
//! with IAM, and records the caller for `requestContext.identity`.
//!
//! An operation is IAM-protected, as on import into API Gateway, when its own security requirement
//! names a security scheme with `x-amazon-apigateway-authtype: awsSigv4`, or when it sets
//! `x-amazon-apigateway-auth: {type: AWS_IAM}`. `security: []` opts an operation out. The
//! document's top-level `security` is never applied: the configuration refuses a definition whose
//! operations would inherit it (see `config::read_routes`), because API Gateway's import documents
//! only the operation's own requirement.
//!
//! With `--no-auth` the guard still runs but no longer refuses anything: a request whose signature
//! verifies reaches the function with its identity (so code that reads `accessKey` behaves as it
//! will in AWS), and every other request reaches it as an anonymous caller, with the identity
//! fields API Gateway leaves empty for an unauthenticated request.

use std::time::SystemTime;

use serde_json::Value;

use super::{LocalIdentity, SigV4Verifier, SignedRequest};
use crate::gateway_response::GatewayResponse;
use crate::guard::{CallerIdentity, GuardRequest, RequestGuard};
use crate::settings::Settings;

/// The SigV4 (`AWS_IAM`) authorization guard.
#[derive(Debug, Clone)]
pub struct SigV4Guard {
    verifier: SigV4Verifier,
    enforced: bool,
}

impl SigV4Guard {
    /// A guard that verifies with `verifier` and refuses what does not verify.
    pub fn new(verifier: SigV4Verifier) -> Self {
        Self {
            verifier,
            enforced: true,
        }
    }

    /// A guard accepting the documented local credentials ([`SigV4Verifier::local_default`]).
    pub fn local_default() -> Self {
        Self::new(SigV4Verifier::local_default())
    }

    /// The guard the settings ask for: their credentials in their region, refusing bad or missing
    /// signatures unless `no_auth` is set.
    pub fn from_settings(settings: &Settings) -> Self {
        let verifier = SigV4Verifier::new(
            settings.region.clone(),
            settings.credentials.clone(),
            LocalIdentity::default(),
        );
        if settings.no_auth {
            Self::unenforced(verifier)
        } else {
            Self::new(verifier)
        }
    }

    /// A guard that lets every request in (`--no-auth`), recording the identity of those whose
    /// signature `verifier` accepts.
    pub fn unenforced(verifier: SigV4Verifier) -> Self {
        Self {
            verifier,
            enforced: false,
        }
    }

    /// Whether requests that fail verification are refused.
    pub fn is_enforced(&self) -> bool {
        self.enforced
    }

    /// The verifier in use.
    pub fn verifier(&self) -> &SigV4Verifier {
        &self.verifier
    }
}

impl RequestGuard for SigV4Guard {
    fn name(&self) -> &'static str {
        if self.enforced {
            "SigV4 (IAM)"
        } else {
            "SigV4 NOT verified (--no-auth)"
        }
    }

    fn check(
        &self,
        request: &GuardRequest<'_>,
        identity: &mut CallerIdentity,
    ) -> Result<(), GatewayResponse> {
        if !operation_requires_sigv4(request.definition, &request.route.operation_pointer) {
            return Ok(());
        }
        let signed = SignedRequest {
            method: request.method.as_str(),
            raw_path: request.uri.path(),
            raw_query: request.uri.query().unwrap_or(""),
            headers: request.headers,
            body: request.body,
        };
        match self.verifier.verify(&signed, SystemTime::now()) {
            Ok(caller) => {
                identity.access_key = Some(caller.access_key);
                identity.account_id = Some(caller.account_id);
                identity.caller = Some(caller.caller);
                identity.user = Some(caller.user);
                identity.user_arn = Some(caller.user_arn);
                Ok(())
            }
            Err(error) if !self.enforced => {
                tracing::debug!(
                    failure = ?error.kind(),
                    "SigV4 did not verify; let in anyway (--no-auth)"
                );
                Ok(())
            }
            Err(error) => {
                tracing::debug!(
                    failure = ?error.kind(),
                    error_type = error.error_type(),
                    "SigV4 verification refused the request"
                );
                Err(GatewayResponse::new(
                    error.status(),
                    error.message(),
                    Some(error.error_type()),
                ))
            }
        }
    }
}

/// Whether the operation at `operation_pointer` (e.g. `/paths/~1users/get`) requires SigV4.
pub fn operation_requires_sigv4(definition: &Value, operation_pointer: &str) -> bool {
    let Some(operation) = definition.pointer(operation_pointer) else {
        return false;
    };
    let explicit_iam = operation
        .pointer("/x-amazon-apigateway-auth/type")
        .and_then(Value::as_str)
        .is_some_and(|kind| kind.eq_ignore_ascii_case("AWS_IAM"));
    if explicit_iam {
        return true;
    }
    let requirements = operation.get("security").and_then(Value::as_array);
    let Some(requirements) = requirements else {
        return false;
    };
    requirements
        .iter()
        .filter_map(Value::as_object)
        .flat_map(|requirement| requirement.keys())
        .any(|scheme| {
            definition
                .pointer(&format!(
                    "/components/securitySchemes/{scheme}/x-amazon-apigateway-authtype"
                ))
                .and_then(Value::as_str)
                .is_some_and(|kind| kind.eq_ignore_ascii_case("awsSigv4"))
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn definition() -> Value {
        json!({
            "security": [{"sigv4": []}],
            "components": {"securitySchemes": {
                "sigv4": {"type": "apiKey", "name": "Authorization", "in": "header",
                          "x-amazon-apigateway-authtype": "awsSigv4"},
                "key": {"type": "apiKey", "name": "x-api-key", "in": "header"}
            }},
            "paths": {
                "/users": {
                    "get": {"security": [{"sigv4": []}]},
                    "head": {},
                    "post": {"security": []},
                    "put": {"security": [{"key": []}]},
                    "patch": {"security": [], "x-amazon-apigateway-auth": {"type": "aws_iam"}}
                }
            }
        })
    }

    #[test]
    fn an_operation_that_declares_the_sigv4_requirement_requires_it() {
        assert!(operation_requires_sigv4(
            &definition(),
            "/paths/~1users/get"
        ));
    }

    #[test]
    fn the_document_requirement_is_never_applied_to_an_operation() {
        // The configuration refuses such a definition at start; the guard does not guess either.
        assert!(!operation_requires_sigv4(
            &definition(),
            "/paths/~1users/head"
        ));
    }

    #[test]
    fn an_empty_security_list_opts_an_operation_out() {
        assert!(!operation_requires_sigv4(
            &definition(),
            "/paths/~1users/post"
        ));
    }

    #[test]
    fn other_schemes_do_not_require_sigv4() {
        assert!(!operation_requires_sigv4(
            &definition(),
            "/paths/~1users/put"
        ));
    }

    #[test]
    fn the_api_gateway_auth_extension_requires_sigv4() {
        assert!(operation_requires_sigv4(
            &definition(),
            "/paths/~1users/patch"
        ));
    }

    #[test]
    fn an_unknown_operation_requires_nothing() {
        assert!(!operation_requires_sigv4(
            &definition(),
            "/paths/~1orders/get"
        ));
    }
}
