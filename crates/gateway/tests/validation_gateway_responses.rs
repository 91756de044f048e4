//! Validation (and authentication) failures are answered through the definition's
//! `x-amazon-apigateway-gateway-responses`, or API Gateway's default response when it has none.

use std::collections::BTreeMap;

use http::{HeaderMap, HeaderValue, StatusCode};
use rill_gateway::request::RoutedRequest;
use rill_gateway::response::{GatewayResponse, GatewayResponses};
use rill_gateway::sigv4::SigV4Verifier;
use rill_gateway::validation::{OperationValidators, SpecError, ValidationFailure};
use serde_json::{Value, json};

fn fixture() -> Value {
    serde_yaml_ng::from_str(include_str!("fixtures/validation/api.yaml"))
        .expect("the fixture definition is valid YAML")
}

fn with_gateway_responses(responses: Value) -> Value {
    let mut spec = fixture();
    spec["x-amazon-apigateway-gateway-responses"] = responses;
    spec
}

struct Parts {
    headers: HeaderMap,
    query: String,
    path: BTreeMap<String, String>,
    body: Vec<u8>,
}

impl Parts {
    fn as_request(&self) -> RoutedRequest {
        RoutedRequest::for_validation(
            self.headers.clone(),
            &self.query,
            self.path.clone(),
            self.body.clone(),
        )
    }
}

/// A POST /users/{userId}/orders from `origin` with every parameter and `body`.
fn order_post(body: &str) -> Parts {
    let mut headers = HeaderMap::new();
    headers.insert("idempotency-key", HeaderValue::from_static("5b0e7f6c"));
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("origin", HeaderValue::from_static("https://app.example"));
    Parts {
        headers,
        query: "dryRun=false".to_owned(),
        path: BTreeMap::from([("userId".to_owned(), "0190a5e2".to_owned())]),
        body: body.as_bytes().to_vec(),
    }
}

fn failure_for(spec: &Value, parts: &Parts) -> ValidationFailure {
    OperationValidators::from_spec(spec)
        .expect("compiles")
        .get("POST", "/users/{userId}/orders")
        .expect("the operation")
        .validate(&parts.as_request())
        .expect_err("refused")
}

#[test]
fn without_gateway_responses_the_default_message_body_is_sent() {
    // Given a definition without gateway responses and an invalid body
    let spec = fixture();
    let parts = order_post(r#"{"currency": "EUR"}"#);
    let failure = failure_for(&spec, &parts);

    // When rendered
    let rendered = GatewayResponses::from_spec(&spec).expect("parses").render(
        &GatewayResponse::from(&failure),
        Some(&parts.as_request()),
        &[],
    );

    // Then it is API Gateway's default 400
    assert_eq!(rendered.status, StatusCode::BAD_REQUEST);
    assert_eq!(rendered.body, r#"{"message":"Invalid request body"}"#);
    assert_eq!(rendered.headers["content-type"], "application/json");
    assert_eq!(rendered.headers["x-amzn-errortype"], "BadRequestException");
}

#[test]
fn a_bad_request_body_template_gets_the_message_and_the_validation_error_string() {
    // Given a BAD_REQUEST_BODY gateway response with its own status, headers and template
    let spec = with_gateway_responses(json!({
        "BAD_REQUEST_BODY": {
            "statusCode": "422",
            "responseParameters": {
                "gatewayresponse.header.Access-Control-Allow-Origin": "method.request.header.Origin",
                "gatewayresponse.header.Cache-Control": "'no-store'"
            },
            "responseTemplates": {
                "application/json": r#"{"error":$context.error.messageString,"type":"$context.error.responseType","details":"$context.error.validationErrorString","requestId":"$context.requestId"}"#
            }
        }
    }));
    let parts = order_post(r#"{"currency": "EUR"}"#);
    let failure = failure_for(&spec, &parts);

    // When rendered
    let rendered = GatewayResponses::from_spec(&spec).expect("parses").render(
        &GatewayResponse::from(&failure),
        Some(&parts.as_request()),
        &[("requestId", "c6af9ac6-7b61-11e6-9a41-93e8deadbeef")],
    );

    // Then the template, status and headers are applied, and the body is valid JSON
    assert_eq!(rendered.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        rendered.headers["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(rendered.headers["cache-control"], "no-store");
    let body: Value = serde_json::from_str(&rendered.body).expect("the rendered body is JSON");
    assert_eq!(
        body,
        json!({
            "error": "Invalid request body",
            "type": "BAD_REQUEST_BODY",
            "details": r#"[object has missing required properties (["items"])]"#,
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
        })
    );
}

#[test]
fn a_bad_request_parameters_template_is_used_for_missing_parameters() {
    let spec = with_gateway_responses(json!({
        "BAD_REQUEST_PARAMETERS": {
            "statusCode": 400,
            "responseTemplates": {
                "application/json": r#"{"problem":"$context.error.message"}"#
            }
        }
    }));
    let mut parts = order_post("{}");
    parts.query.clear();
    let failure = failure_for(&spec, &parts);

    let rendered = GatewayResponses::from_spec(&spec).expect("parses").render(
        &GatewayResponse::from(&failure),
        Some(&parts.as_request()),
        &[],
    );
    assert_eq!(rendered.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        rendered.body,
        r#"{"problem":"Missing required request parameters: [dryRun]"}"#
    );
}

#[test]
fn default_4xx_applies_when_the_response_type_is_not_customised() {
    let spec = with_gateway_responses(json!({
        "DEFAULT_4XX": {
            "responseParameters": {"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"},
            "responseTemplates": {"application/json": r#"{"message":$context.error.messageString,"fallback":true}"#}
        },
        "DEFAULT_5XX": {
            "statusCode": 503,
            "responseTemplates": {"application/json": r#"{"never":"used for a 400"}"#}
        }
    }));
    let parts = order_post("[]");
    let failure = failure_for(&spec, &parts);

    let rendered = GatewayResponses::from_spec(&spec).expect("parses").render(
        &GatewayResponse::from(&failure),
        Some(&parts.as_request()),
        &[],
    );
    assert_eq!(rendered.status, StatusCode::BAD_REQUEST);
    assert_eq!(rendered.headers["access-control-allow-origin"], "*");
    assert_eq!(
        rendered.body,
        r#"{"message":"Invalid request body","fallback":true}"#
    );
}

#[test]
fn the_project_api_definition_answers_validation_failures_with_the_default_body() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../openapi/api.yaml");
    let spec: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(path).expect("exists"))
        .expect("valid YAML");
    let failure = ValidationFailure::InvalidBody {
        problems: vec!["object has missing required properties ([\"name\"])".to_owned()],
    };
    let rendered = GatewayResponses::from_spec(&spec).expect("parses").render(
        &GatewayResponse::from(&failure),
        None,
        &[],
    );
    assert_eq!(rendered.status, StatusCode::BAD_REQUEST);
    assert_eq!(rendered.body, failure.body());
}

#[test]
fn an_authentication_failure_renders_through_its_gateway_response() {
    // Given an unsigned request and a customised MISSING_AUTHENTICATION_TOKEN response
    let spec = with_gateway_responses(json!({
        "MISSING_AUTHENTICATION_TOKEN": {
            "statusCode": 401,
            "responseTemplates": {"application/json": r#"{"message":$context.error.messageString,"hint":"sign with SigV4"}"#}
        }
    }));
    let headers = HeaderMap::from_iter([(
        http::header::HOST,
        HeaderValue::from_static("127.0.0.1:3000"),
    )]);
    let error = SigV4Verifier::local_default()
        .verify(
            &RoutedRequest::received(http::Method::GET, "/dev/users", "", headers, ""),
            std::time::SystemTime::now(),
        )
        .expect_err("unsigned");

    // When rendered
    let rendered = GatewayResponses::from_spec(&spec).expect("parses").render(
        &GatewayResponse::from(&error),
        None,
        &[],
    );

    // Then the customised status and body are used, with the auth error type
    assert_eq!(rendered.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        rendered.body,
        r#"{"message":"Missing Authentication Token","hint":"sign with SigV4"}"#
    );
    assert_eq!(
        rendered.headers["x-amzn-errortype"],
        "MissingAuthenticationTokenException"
    );
}

#[test]
fn a_malformed_gateway_response_is_a_definition_error() {
    let spec = with_gateway_responses(json!({
        "BAD_REQUEST_BODY": {"statusCode": "four hundred"}
    }));
    assert!(matches!(
        GatewayResponses::from_spec(&spec),
        Err(SpecError::Malformed { .. })
    ));

    let spec = with_gateway_responses(json!({
        "BAD_REQUEST_BODY": {"responseParameters": {"gatewayresponse.body.x": "'y'"}}
    }));
    assert!(matches!(
        GatewayResponses::from_spec(&spec),
        Err(SpecError::Malformed { .. })
    ));
}
