//! How each operation is authorized, read once from the definition when the API is loaded.
//!
//! An operation is IAM-protected, as on import into API Gateway, when its own security requirement
//! names a security scheme with `x-amazon-apigateway-authtype: awsSigv4`, or when it sets
//! `x-amazon-apigateway-auth: {type: AWS_IAM}`. `security: []` opts an operation out. The
//! document's top-level `security` is never applied: loading refuses a definition whose operations
//! would inherit it (see `read_routes`), because API Gateway's import documents only the
//! operation's own requirement
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-authtype.html>).

use serde_json::Value;

use super::routes::Authorization;

/// The authorization of the operation at `operation_pointer` (e.g. `/paths/~1users/get`).
pub(super) fn authorization(definition: &Value, operation_pointer: &str) -> Authorization {
    if operation_requires_sigv4(definition, operation_pointer) {
        Authorization::Iam
    } else {
        Authorization::None
    }
}

/// Whether the operation at `operation_pointer` (e.g. `/paths/~1users/get`) requires SigV4.
fn operation_requires_sigv4(definition: &Value, operation_pointer: &str) -> bool {
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
