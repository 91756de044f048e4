//! Requests are validated as API Gateway's request validators validate them, against the fixture
//! definition `fixtures/validation/api.yaml` (and the project's own `openapi/api.yaml`).

use std::collections::BTreeMap;

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use rill_gateway::request::RoutedRequest;
use rill_gateway::validation::{
    OperationValidators, RequestValidator, SpecError, ValidationFailure, ValidationOptions,
};
use serde_json::{Value, json};

fn fixture() -> Value {
    serde_yaml_ng::from_str(include_str!("fixtures/validation/api.yaml"))
        .expect("the fixture definition is valid YAML")
}

fn validators() -> OperationValidators {
    OperationValidators::from_spec(&fixture()).expect("the fixture compiles")
}

/// A request as the gateway routed it.
struct Request {
    headers: HeaderMap,
    query: String,
    path: BTreeMap<String, String>,
    body: Vec<u8>,
}

impl Request {
    fn new() -> Self {
        Self {
            headers: HeaderMap::new(),
            query: String::new(),
            path: BTreeMap::new(),
            body: Vec::new(),
        }
    }

    fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.append(
            HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
            HeaderValue::from_str(value).expect("a header value"),
        );
        self
    }

    fn query(mut self, query: &str) -> Self {
        self.query = query.to_owned();
        self
    }

    fn path(mut self, name: &str, value: &str) -> Self {
        self.path.insert(name.to_owned(), value.to_owned());
        self
    }

    fn body(mut self, body: &str) -> Self {
        self.body = body.as_bytes().to_vec();
        self
    }

    fn json(self, body: &Value) -> Self {
        self.header("content-type", "application/json")
            .body(&body.to_string())
    }

    fn parts(&self) -> RoutedRequest {
        RoutedRequest::for_validation(
            self.headers.clone(),
            &self.query,
            self.path.clone(),
            self.body.clone(),
        )
    }
}

fn valid_order() -> Value {
    json!({
        "currency": "EUR",
        "items": [{"sku": "BOOK-42", "quantity": 2, "unitPrice": 1400}],
        "contact": "ada@example.com"
    })
}

/// A POST /users/{userId}/orders with every required parameter.
fn order_post() -> Request {
    Request::new()
        .path("userId", "0190a5e2")
        .header("idempotency-key", "5b0e7f6c")
        .query("dryRun=false")
}

fn validate(method: &str, resource: &str, request: &Request) -> Result<(), ValidationFailure> {
    validators()
        .get(method, resource)
        .unwrap_or_else(|| panic!("{method} {resource} is in the fixture"))
        .validate(&request.parts())
}

fn invalid_body_problems(result: Result<(), ValidationFailure>) -> Vec<String> {
    match result {
        Err(ValidationFailure::InvalidBody { problems }) => problems,
        other => panic!("expected an invalid body, got {other:?}"),
    }
}

// --- passing requests ----------------------------------------------------------------------------

#[test]
fn a_request_with_every_required_parameter_and_a_valid_body_passes() {
    let request = order_post().json(&valid_order());
    assert_eq!(validate("POST", "/users/{userId}/orders", &request), Ok(()));
}

#[test]
fn optional_parameters_may_be_absent_and_header_names_match_without_regard_to_case() {
    let request = Request::new()
        .path("userId", "0190a5e2")
        .header("IDEMPOTENCY-KEY", "5b0e7f6c")
        .query("dryRun=true")
        .json(&valid_order());
    assert_eq!(validate("POST", "/users/{userId}/orders", &request), Ok(()));
}

// --- required parameters -------------------------------------------------------------------------

#[test]
fn a_missing_required_query_parameter_is_named() {
    // Given every required parameter but the dryRun query string
    let request = order_post().query("trace=1").json(&valid_order());

    // When validated
    let failure = validate("POST", "/users/{userId}/orders", &request).expect_err("refused");

    // Then API Gateway's message names it
    assert_eq!(
        failure,
        ValidationFailure::MissingParameters {
            names: vec!["dryRun".to_owned()]
        }
    );
    assert_eq!(failure.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        failure.body(),
        r#"{"message":"Missing required request parameters: [dryRun]"}"#
    );
    assert_eq!(failure.response_type(), "BAD_REQUEST_PARAMETERS");
    assert_eq!(failure.error_type(), "BadRequestException");
}

#[test]
fn a_missing_required_header_is_named() {
    let request = Request::new()
        .path("userId", "0190a5e2")
        .query("dryRun=false")
        .json(&valid_order());
    let failure = validate("POST", "/users/{userId}/orders", &request).expect_err("refused");
    assert_eq!(
        failure.message(),
        "Missing required request parameters: [Idempotency-Key]"
    );
}

#[test]
fn a_missing_required_path_parameter_is_named() {
    // Given a route whose template lacks a path parameter the definition requires
    let request = Request::new()
        .header("idempotency-key", "5b0e7f6c")
        .query("dryRun=false")
        .json(&valid_order());
    let failure = validate("POST", "/users/{userId}/orders", &request).expect_err("refused");
    assert_eq!(
        failure.message(),
        "Missing required request parameters: [userId]"
    );
}

#[test]
fn missing_parameters_are_listed_headers_first_then_path_then_query() {
    let failure = validate("POST", "/users/{userId}/orders", &Request::new()).expect_err("refused");
    assert_eq!(
        failure.message(),
        "Missing required request parameters: [Idempotency-Key, userId, dryRun]"
    );
}

#[test]
fn blank_parameters_count_as_missing() {
    let request = Request::new()
        .path("userId", "0190a5e2")
        .header("idempotency-key", "  ")
        .query("dryRun=&other=1")
        .json(&valid_order());
    let failure = validate("POST", "/users/{userId}/orders", &request).expect_err("refused");
    assert_eq!(
        failure.message(),
        "Missing required request parameters: [Idempotency-Key, dryRun]"
    );
}

#[test]
fn percent_encoded_query_parameter_names_are_decoded() {
    let request = Request::new()
        .path("userId", "0190a5e2")
        .query("%73tatus=paid");
    assert_eq!(validate("GET", "/users/{userId}/orders", &request), Ok(()));
}

#[test]
fn parameters_are_checked_before_the_body() {
    let request = Request::new().body("not json");
    let failure = validate("POST", "/users/{userId}/orders", &request).expect_err("refused");
    assert!(matches!(
        failure,
        ValidationFailure::MissingParameters { .. }
    ));
}

// --- bodies --------------------------------------------------------------------------------------

#[test]
fn a_body_with_wrong_types_is_invalid() {
    // Given items whose quantity is a string and whose unit price is negative
    let mut body = valid_order();
    body["items"][0]["quantity"] = json!("2");
    body["items"][0]["unitPrice"] = json!(-1);
    let request = order_post().json(&body);

    // When validated
    let result = validate("POST", "/users/{userId}/orders", &request);
    let failure = result.clone().expect_err("refused");

    // Then it is an invalid body, described the way API Gateway's validator does
    assert_eq!(failure.body(), r#"{"message":"Invalid request body"}"#);
    assert_eq!(failure.response_type(), "BAD_REQUEST_BODY");
    let mut problems = invalid_body_problems(result);
    problems.sort();
    assert_eq!(
        problems,
        vec![
            r#"instance type (string) does not match any allowed primitive type (allowed: ["integer"])"#,
            "numeric instance is lower than the required minimum (minimum: 0, found: -1)",
        ]
    );
}

#[test]
fn an_unexpected_property_is_invalid_when_additional_properties_are_forbidden() {
    let mut body = valid_order();
    body["discount"] = json!(10);
    let request = order_post().json(&body);
    let failure = validate("POST", "/users/{userId}/orders", &request).expect_err("refused");
    assert_eq!(
        failure.validation_error_string(),
        r#"[object instance has properties which are not allowed by the schema: [\"discount\"]]"#
    );
}

#[test]
fn malformed_json_is_an_invalid_body() {
    let request = order_post()
        .header("content-type", "application/json")
        .body(r#"{"currency": "EUR", "#);
    let failure = validate("POST", "/users/{userId}/orders", &request).expect_err("refused");
    assert_eq!(failure.message(), "Invalid request body");
    assert!(
        failure
            .validation_error_string()
            .starts_with("[Invalid JSON: "),
        "{}",
        failure.validation_error_string()
    );
}

#[test]
fn an_empty_body_is_validated_as_an_empty_object_and_fails_required_properties() {
    let request = order_post().header("content-type", "application/json");
    let failure = validate("POST", "/users/{userId}/orders", &request).expect_err("refused");
    assert_eq!(
        failure.validation_error_string(),
        r#"[object has missing required properties ([\"currency\",\"items\"])]"#
    );
}

#[test]
fn an_empty_body_passes_when_the_schema_requires_nothing() {
    let request = Request::new().header("content-type", "application/json");
    assert_eq!(validate("POST", "/notes", &request), Ok(()));
}

#[test]
fn a_body_of_only_whitespace_is_not_json() {
    // Only a truly empty body stands for `{}`; whitespace is a body that fails to parse.
    let request = Request::new()
        .header("content-type", "application/json")
        .body("  \n");
    let failure = validate("POST", "/notes", &request).expect_err("refused");
    assert!(matches!(failure, ValidationFailure::InvalidBody { .. }));
}

#[test]
fn a_request_without_a_content_type_is_validated_as_json() {
    let request = Request::new().body(r#"{"text": 42}"#);
    let failure = validate("POST", "/notes", &request).expect_err("refused");
    assert!(matches!(failure, ValidationFailure::InvalidBody { .. }));
}

#[test]
fn each_content_type_is_validated_against_its_own_schema() {
    let plain = Request::new()
        .header("content-type", "text/plain; charset=utf-8")
        .body(r#""a note""#);
    assert_eq!(validate("POST", "/notes", &plain), Ok(()));

    let wrong_plain = Request::new()
        .header("content-type", "text/plain")
        .body("42");
    assert!(validate("POST", "/notes", &wrong_plain).is_err());
}

#[test]
fn a_content_type_without_a_model_is_not_validated() {
    let request = Request::new()
        .header("content-type", "application/xml")
        .body("<note/>");
    assert_eq!(validate("POST", "/notes", &request), Ok(()));
}

#[test]
fn references_into_components_are_followed_through_nested_schemas() {
    let mut body = valid_order();
    body["currency"] = json!("eur");
    body["items"][0]["colour"] = json!("red");
    let mut problems = invalid_body_problems(validate(
        "POST",
        "/users/{userId}/orders",
        &order_post().json(&body),
    ));
    problems.sort();
    assert_eq!(
        problems,
        vec![
            r#"ECMA 262 regex "^[A-Z]{3}$" does not match input string "eur""#,
            r#"object instance has properties which are not allowed by the schema: ["colour"]"#,
        ]
    );
}

#[test]
fn string_formats_are_checked() {
    let mut body = valid_order();
    body["contact"] = json!("not-an-address");
    let problems = invalid_body_problems(validate(
        "POST",
        "/users/{userId}/orders",
        &order_post().json(&body),
    ));
    assert_eq!(
        problems,
        vec![r#"string "not-an-address" is not a valid email address"#]
    );
}

#[test]
fn example_and_extension_keywords_do_not_constrain_the_body() {
    // The NewOrder schema has an `example` with an empty items list and an `x-rill-note`; neither
    // is a rule, while minItems is.
    let mut body = valid_order();
    body["items"] = json!([]);
    let problems = invalid_body_problems(validate(
        "POST",
        "/users/{userId}/orders",
        &order_post().json(&body),
    ));
    assert_eq!(
        problems,
        vec!["array is too short: must have at least 1 elements but instance has 0 elements"]
    );
}

#[test]
fn nullable_is_ignored_like_api_gateway_by_default() {
    let mut body = valid_order();
    body["coupon"] = Value::Null;
    let problems = invalid_body_problems(validate(
        "POST",
        "/users/{userId}/orders",
        &order_post().json(&body),
    ));
    assert_eq!(
        problems,
        vec![
            r#"instance type (null) does not match any allowed primitive type (allowed: ["string"])"#
        ]
    );
}

#[test]
fn nullable_can_be_honoured_when_asked_for() {
    let spec = fixture();
    let validators =
        OperationValidators::from_spec_with(&spec, ValidationOptions::allowing_null_for_nullable())
            .expect("compiles");
    let mut body = valid_order();
    body["coupon"] = Value::Null;
    let request = order_post().json(&body);
    assert_eq!(
        validators
            .get("POST", "/users/{userId}/orders")
            .expect("the operation")
            .validate(&request.parts()),
        Ok(())
    );
}

// --- choosing the validator ----------------------------------------------------------------------

#[test]
fn a_params_only_validator_ignores_the_body() {
    let request = Request::new()
        .path("userId", "0190a5e2")
        .query("status=paid")
        .body("not json");
    assert_eq!(validate("GET", "/users/{userId}/orders", &request), Ok(()));
}

#[test]
fn a_body_only_validator_ignores_required_parameters() {
    let request = Request::new().json(&json!({"name": "Ada"}));
    assert_eq!(validate("PATCH", "/users/{userId}", &request), Ok(()));

    let empty = Request::new().json(&json!({}));
    let problems = invalid_body_problems(validate("PATCH", "/users/{userId}", &empty));
    assert_eq!(
        problems,
        vec!["object has too few properties (found 0 but schema requires at least 1)"]
    );
}

#[test]
fn enum_problems_quote_the_value_and_the_allowed_values() {
    let request = Request::new().json(&json!({"status": "deleted"}));
    let problems = invalid_body_problems(validate("PATCH", "/users/{userId}", &request));
    assert_eq!(
        problems,
        vec![
            r#"instance value ("deleted") not found in enum (possible values: ["active","suspended"])"#
        ]
    );
}

#[test]
fn the_document_default_validator_applies_to_operations_without_their_own() {
    let validators = validators();
    let tags = validators.get("POST", "/tags").expect("the operation");
    assert_eq!(tags.validator_name(), Some("all"));
    let request = Request::new().json(&json!({"label": 7}));
    assert!(tags.validate(&request.parts()).is_err());
}

#[test]
fn a_validator_that_checks_nothing_lets_everything_through() {
    let validators = validators();
    let put = validators.get("PUT", "/notes").expect("the operation");
    assert_eq!(put.validator_name(), Some("none"));
    assert!(!put.is_enabled());
    assert_eq!(
        put.validate(&Request::new().body("not json").parts()),
        Ok(())
    );
}

#[test]
fn without_any_validator_nothing_is_validated() {
    let mut spec = fixture();
    spec.as_object_mut()
        .expect("an object")
        .remove("x-amazon-apigateway-request-validator");
    let validators = OperationValidators::from_spec(&spec).expect("compiles");
    let tags = validators.get("POST", "/tags").expect("the operation");
    assert_eq!(tags.validator_name(), None);
    assert_eq!(
        tags.validate(&Request::new().body("not json").parts()),
        Ok(())
    );
}

#[test]
fn operations_can_be_found_by_their_json_pointer() {
    let validators = validators();
    let by_pointer = validators
        .get_by_pointer("/paths/~1users~1{userId}/patch")
        .expect("found by pointer");
    assert_eq!(by_pointer.validator_name(), Some("body-only"));
    assert_eq!(validators.len(), 6);
}

#[test]
fn one_operation_can_be_built_on_its_own() {
    let spec = fixture();
    let path_item = &spec["paths"]["/users/{userId}/orders"];
    let validator =
        RequestValidator::from_operation(&spec, path_item, &path_item["post"]).expect("compiles");
    assert!(
        validator
            .validate(&order_post().json(&valid_order()).parts())
            .is_ok()
    );
}

// --- definitions that cannot be used -------------------------------------------------------------

#[test]
fn an_unknown_validator_name_is_a_definition_error() {
    let mut spec = fixture();
    spec["paths"]["/tags"]["post"]["x-amazon-apigateway-request-validator"] = json!("strict");
    assert_eq!(
        OperationValidators::from_spec(&spec).expect_err("refused"),
        SpecError::UnknownValidator {
            name: "strict".to_owned()
        }
    );
}

#[test]
fn an_unresolvable_reference_is_a_definition_error() {
    let mut spec = fixture();
    spec["paths"]["/tags"]["post"]["requestBody"]["content"]["application/json"]["schema"] =
        json!({"$ref": "#/components/schemas/Missing"});
    let error = OperationValidators::from_spec(&spec).expect_err("refused");
    assert!(matches!(error, SpecError::InvalidSchema { .. }), "{error}");
}

#[test]
fn a_schema_that_is_not_json_schema_is_a_definition_error() {
    let mut spec = fixture();
    spec["paths"]["/tags"]["post"]["requestBody"]["content"]["application/json"]["schema"] =
        json!({"type": 5});
    let error = OperationValidators::from_spec(&spec).expect_err("refused");
    assert!(matches!(error, SpecError::InvalidSchema { .. }), "{error}");
    assert!(error.to_string().starts_with("post /tags: "), "{error}");
}

#[test]
fn a_parameter_reference_that_does_not_resolve_is_a_definition_error() {
    let mut spec = fixture();
    spec["paths"]["/users/{userId}/orders"]["parameters"][0] =
        json!({"$ref": "#/components/parameters/Nope"});
    assert_eq!(
        OperationValidators::from_spec(&spec).expect_err("refused"),
        SpecError::UnresolvedReference {
            reference: "#/components/parameters/Nope".to_owned()
        }
    );
}

// --- the project's own API definition -------------------------------------------------------------

#[test]
fn the_project_api_definition_compiles_and_validates_user_creation() {
    // Given the real openapi/api.yaml
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../openapi/api.yaml");
    let text = std::fs::read_to_string(&path).expect("openapi/api.yaml exists");
    let spec: Value = serde_yaml_ng::from_str(&text).expect("valid YAML");

    // When every operation is compiled
    let validators = OperationValidators::from_spec(&spec).expect("every operation compiles");

    // Then creating a user validates the body like API Gateway will
    let create_user = validators
        .get("POST", "/users")
        .expect("POST /users exists");
    let valid = Request::new().json(&json!({"email": "ada@example.com", "name": "Ada"}));
    assert_eq!(create_user.validate(&valid.parts()), Ok(()));
    let invalid = Request::new().json(&json!({"email": "ada@example.com", "admin": true}));
    let problems = invalid_body_problems(create_user.validate(&invalid.parts()));
    let mut problems = problems;
    problems.sort();
    assert_eq!(
        problems,
        vec![
            r#"object has missing required properties (["name"])"#,
            r#"object instance has properties which are not allowed by the schema: ["admin"]"#,
        ]
    );
}
