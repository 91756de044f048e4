//! Every operation in `openapi/api.yaml` is wired to a function of `template.yaml` the way API Gateway
//! REST needs it: Lambda proxy, signed callers only, the invoke role as credentials, and response
//! streaming exactly for the export routes.

use std::collections::{BTreeMap, BTreeSet};

use rill_api_contract::spec::{ApiSpec, Integration};
use rill_api_contract::template::SamTemplate;
use serde_json::{Value, json};

/// The longest a buffered REST integration may wait without a quota increase.
const MAX_BUFFERED_TIMEOUT_MS: u64 = 29_000;
/// The longest a streamed response may run.
const MAX_STREAM_TIMEOUT_MS: u64 = 900_000;
/// The binary that streams; every other function is buffered.
const STREAMING_BINARY: &str = "export";

fn load() -> (ApiSpec, SamTemplate) {
    (
        ApiSpec::load(&rill_api_contract::api_definition_path()).expect("openapi/api.yaml loads"),
        SamTemplate::load(&rill_api_contract::template_path()).expect("template.yaml loads"),
    )
}

fn integrations(spec: &ApiSpec) -> Vec<(String, Integration)> {
    spec.operations()
        .iter()
        .map(|op| {
            (
                op.label(),
                op.integration().expect("a complete integration"),
            )
        })
        .collect()
}

#[test]
fn every_operation_is_a_lambda_proxy_post_to_a_function_of_the_template() {
    let (spec, template) = load();
    for (label, integration) in integrations(&spec) {
        assert_eq!(integration.kind, "aws_proxy", "{label}");
        assert_eq!(integration.http_method, "POST", "{label}");
        let function = template.function(&integration.function);
        assert!(
            function.is_some(),
            "{label} names {}, which is not an AWS::Serverless::Function in template.yaml",
            integration.function
        );
        // Through the alias the function publishes, so a gradual deployment shifts this route too
        let published = function.unwrap().auto_publish_alias;
        assert!(
            integration.alias.is_some() && integration.alias.as_deref() == published,
            "{label} calls {} through alias {:?}; the function publishes {published:?}",
            integration.function,
            integration.alias
        );
        assert!(
            integration
                .uri
                .starts_with("arn:${AWS::Partition}:apigateway:${AWS::Region}:"),
            "{label}: {}",
            integration.uri
        );
        assert_eq!(
            integration.credentials,
            json!({"Fn::GetAtt": ["ApiGatewayInvokeRole", "Arn"]}),
            "{label}"
        );
    }
}

#[test]
fn exactly_the_export_routes_stream_and_nothing_else_uses_the_streaming_api() {
    // Given each integration and the binary of the function it calls
    let (spec, template) = load();
    for (label, integration) in integrations(&spec) {
        let function = template.function(&integration.function).unwrap();
        let streams = function.binary == Some(STREAMING_BINARY);

        // Then a streaming function is called through InvokeWithResponseStream in STREAM mode within
        // its own timeout, and every other one through Invoke, buffered, within API Gateway's 29 s.
        if streams {
            assert!(
                integration.uses_streaming_uri(),
                "{label}: {}",
                integration.uri
            );
            assert_eq!(integration.transfer_mode, "STREAM", "{label}");
            assert_eq!(integration.timeout_ms, MAX_STREAM_TIMEOUT_MS, "{label}");
            let timeout_s = function.timeout_seconds.expect("the export sets a timeout");
            assert!(
                timeout_s * 1000 >= integration.timeout_ms,
                "{label}: the function stops after {timeout_s} s, before the integration's {} ms",
                integration.timeout_ms
            );
        } else {
            assert!(
                integration.uses_buffered_uri(),
                "{label}: {}",
                integration.uri
            );
            assert!(!integration.uri.contains("response-streaming"), "{label}");
            assert_eq!(integration.transfer_mode, "BUFFERED", "{label}");
            assert!(integration.timeout_ms <= MAX_BUFFERED_TIMEOUT_MS, "{label}");
            let timeout_s = function
                .timeout_seconds
                .expect("every function sets a timeout");
            assert!(
                timeout_s * 1000 <= MAX_BUFFERED_TIMEOUT_MS + 1000,
                "{label}"
            );
        }
    }
}

#[test]
fn every_function_serves_at_least_one_route_and_every_route_one_function() {
    let (spec, template) = load();
    let used: BTreeSet<String> = integrations(&spec)
        .into_iter()
        .map(|(_, i)| i.function)
        .collect();
    let defined: BTreeSet<String> = template
        .functions()
        .iter()
        .map(|f| f.logical_id.to_owned())
        .collect();
    assert_eq!(used, defined);
}

#[test]
fn every_operation_requires_a_sigv4_signature_itself() {
    // Given each operation's own security requirement: API Gateway ignores a root-level one on
    // import ("security needs to be defined at an operation level to be appropriately applied",
    // https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-known-issues.html#api-gateway-known-issues-rest-apis),
    // so an operation that only inherits it would be deployed without authorization
    let (spec, _) = load();
    let document = spec.document();
    let scheme = &document["components"]["securitySchemes"]["sigv4"];
    assert_eq!(scheme["type"], "apiKey");
    assert_eq!(scheme["name"], "Authorization");
    assert_eq!(scheme["in"], "header");
    assert_eq!(scheme["x-amazon-apigateway-authtype"], "awsSigv4");
    for operation in spec.operations() {
        let security = operation.body.get("security");
        // Then it is exactly `sigv4`, with no anonymous alternative
        assert_eq!(
            security,
            Some(&json!([{"sigv4": []}])),
            "{}",
            operation.label()
        );
    }
}

#[test]
fn operation_ids_are_unique_and_every_operation_is_documented() {
    let (spec, _) = load();
    let mut seen = BTreeMap::new();
    for operation in spec.operations() {
        let label = operation.label();
        let id = operation
            .id()
            .unwrap_or_else(|| panic!("{label} has no operationId"));
        assert!(
            seen.insert(id.to_owned(), label.clone()).is_none(),
            "{id} twice"
        );
        for key in ["summary", "description", "tags"] {
            assert!(operation.body.get(key).is_some(), "{label} has no {key}");
        }
    }
}

#[test]
fn writes_validate_body_and_parameters_and_reads_validate_parameters() {
    // Given the validators the definition declares
    let (spec, _) = load();
    let validators = &spec.document()["x-amazon-apigateway-request-validators"];
    assert_eq!(
        validators["all"],
        json!({"validateRequestBody": true, "validateRequestParameters": true})
    );
    assert_eq!(
        validators["params-only"],
        json!({"validateRequestBody": false, "validateRequestParameters": true})
    );
    for operation in spec.operations() {
        let label = operation.label();
        let chosen = operation.body["x-amazon-apigateway-request-validator"]
            .as_str()
            .unwrap_or_else(|| panic!("{label} names no request validator"));
        // Then an operation with a body validates it, and one without does not pretend to
        let expected = if operation.body.get("requestBody").is_some() {
            "all"
        } else {
            "params-only"
        };
        assert_eq!(chosen, expected, "{label}");
    }
}

#[test]
fn request_bodies_refuse_unknown_fields() {
    let (spec, _) = load();
    for operation in spec.operations() {
        let Some(body) = operation.body.get("requestBody") else {
            continue;
        };
        let schema = spec
            .resolve(&body["content"]["application/json"]["schema"])
            .unwrap();
        assert_eq!(
            schema.get("additionalProperties"),
            Some(&Value::Bool(false)),
            "{}",
            operation.label()
        );
    }
}

#[test]
fn gateway_errors_are_json_messages() {
    let (spec, _) = load();
    let responses = spec.document()["x-amazon-apigateway-gateway-responses"]
        .as_object()
        .expect("gateway responses");
    for kind in [
        "DEFAULT_4XX",
        "DEFAULT_5XX",
        "BAD_REQUEST_BODY",
        "BAD_REQUEST_PARAMETERS",
        "MISSING_AUTHENTICATION_TOKEN",
        "INVALID_SIGNATURE",
        "EXPIRED_TOKEN",
        "ACCESS_DENIED",
        "THROTTLED",
        "INTEGRATION_TIMEOUT",
    ] {
        let template = responses
            .get(kind)
            .and_then(|r| r.pointer("/responseTemplates/application~1json"))
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{kind} has no JSON template"));
        assert_eq!(
            template, r#"{"message":$context.error.messageString}"#,
            "{kind}"
        );
    }
    // A 413 is rendered by DEFAULT_4XX: API Gateway does not support customising
    // REQUEST_TOO_LARGE (its important notes for REST APIs)
    assert!(
        responses.get("REQUEST_TOO_LARGE").is_none(),
        "REQUEST_TOO_LARGE is customised"
    );
}

#[test]
fn the_api_includes_the_definition_and_each_function_builds_its_binary_from_its_crate() {
    let (_, template) = load();
    let api = template.resource("Api").expect("an Api resource");
    assert_eq!(api["Type"], "AWS::Serverless::Api");
    assert_eq!(
        api["Properties"]["DefinitionBody"],
        json!({"Fn::Transform": {"Name": "AWS::Include", "Parameters": {"Location": "openapi/api.yaml"}}})
    );
    assert_eq!(api["Properties"]["StageName"], json!({"Ref": "StageName"}));

    let root = rill_api_contract::workspace_root();
    for function in template.functions() {
        let id = function.logical_id;
        let binary = function
            .binary
            .unwrap_or_else(|| panic!("{id} names no Binary"));
        assert_eq!(
            template.resource(id).unwrap()["Metadata"]["BuildMethod"],
            "rust-cargolambda",
            "{id}"
        );
        let code = function.properties["CodeUri"]
            .as_str()
            .unwrap_or_else(|| panic!("{id} has no CodeUri"));
        let manifest = std::fs::read_to_string(root.join(code).join("Cargo.toml"))
            .unwrap_or_else(|e| panic!("{id}: no Cargo.toml in {code}: {e}"));
        assert!(
            manifest.contains(&format!("name = \"{binary}\"")),
            "{id}: {code}/Cargo.toml does not build a binary named {binary}"
        );
    }
}

#[test]
fn the_functions_get_every_store_setting_that_rill_entry_reads() {
    // Given the environment every function gets from the template
    let (_, template) = load();
    let variables = template.document()["Globals"]["Function"]["Environment"]["Variables"]
        .as_object()
        .expect("global environment variables");

    // Then it names the DynamoDB store, its three tables and the cursor key's secret by the names
    // the functions read (rill-function-env)
    assert_eq!(variables[rill_function_env::RILL_STORE], "dynamodb");
    for (name, table) in [
        (rill_function_env::RILL_USERS_TABLE, "UsersTable"),
        (rill_function_env::RILL_ORDERS_TABLE, "OrdersTable"),
        (
            rill_function_env::RILL_IDEMPOTENCY_TABLE,
            "IdempotencyTable",
        ),
    ] {
        assert_eq!(variables[name], json!({"Ref": table}), "{name}");
        assert_eq!(
            template.resource_type(table),
            Some("AWS::DynamoDB::Table"),
            "{table}"
        );
    }
    // The functions read the key through Secrets Manager at run time: the environment holds the
    // secret's ARN (its Ref), never its value, and no dynamic reference that would resolve it into
    // the function configuration
    assert_eq!(
        variables[rill_function_env::RILL_CURSOR_KEY_SECRET_ARN],
        json!({"Ref": "CursorKeySecret"})
    );
    assert_eq!(
        template.resource_type("CursorKeySecret"),
        Some("AWS::SecretsManager::Secret")
    );
    assert!(
        variables.get(rill_function_env::RILL_CURSOR_KEY).is_none(),
        "the cursor key itself is in the environment"
    );
    for function in template.functions() {
        let own = function.properties.pointer("/Environment/Variables");
        for environment in [Some(&template.document()["Globals"]["Function"]), own]
            .into_iter()
            .flatten()
        {
            assert!(
                !environment.to_string().contains("{{resolve:"),
                "{}: a dynamic reference in the environment: {environment}",
                function.logical_id
            );
        }
    }
}

#[test]
fn the_api_has_one_stage_and_fails_the_deploy_on_import_warnings() {
    let (_, template) = load();
    let api = &template.resource("Api").expect("an Api resource")["Properties"];
    // Any OpenApiVersion stops SAM from adding a second stage named `Stage`
    // (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-api.html#sam-api-openapiversion);
    // scripts/check-api counts the stages of the transformed template.
    assert_eq!(api["OpenApiVersion"], "3.0.3");
    assert_eq!(api["FailOnWarnings"], true);
}
