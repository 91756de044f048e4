//! The proxy event a function receives, compared with AWS's own samples.

use std::collections::BTreeSet;

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use serde_json::{Value, json};

use crate::support::{fixture, fixture_gateway, spawn_fixture_gateway};

async fn echo(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Every key path of a JSON object (`a`, `a.b`), to compare shapes.
fn key_paths(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    if let Value::Object(object) = value {
        for (key, child) in object {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            out.insert(path.clone());
            // Header and parameter maps have arbitrary keys; only their presence is compared.
            if !matches!(
                key.as_str(),
                "headers"
                    | "multiValueHeaders"
                    | "queryStringParameters"
                    | "multiValueQueryStringParameters"
                    | "pathParameters"
                    | "stageVariables"
                    | "authorizer"
            ) {
                key_paths(child, &path, out);
            }
        }
    }
}

#[tokio::test]
async fn the_event_has_the_shape_of_aws_rest_samples() {
    // Given the aws_lambda_events sample of a REST proxy event
    let sample: Value =
        serde_json::from_slice(&std::fs::read(fixture("example-apigw-request.json")).unwrap())
            .unwrap();
    let gateway = spawn_fixture_gateway().await;

    // When a request with a body, query and headers goes through the gateway
    let body = echo(
        gateway
            .client
            .send(
                gateway
                    .client
                    .request(reqwest::Method::POST, "/echo?name=me")
                    .header("content-type", "application/json")
                    .header("user-agent", "rill-tests/1.0")
                    .body(r#"{"a": 1}"#),
            )
            .await,
    )
    .await;
    let event = &body["event"];

    // Then it has every key of the sample except those only an authorizer or a console adds
    let mut ours = BTreeSet::new();
    key_paths(event, "", &mut ours);
    let mut theirs = BTreeSet::new();
    key_paths(&sample, "", &mut theirs);
    let missing: Vec<&String> = theirs
        .difference(&ours)
        .filter(|k| !k.starts_with("requestContext.authorizer"))
        .collect();
    assert!(
        missing.is_empty(),
        "keys of the AWS sample missing from our event: {missing:?}"
    );
    let extra: BTreeSet<&str> = ours.difference(&theirs).map(String::as_str).collect();
    let expected_extra: BTreeSet<&str> = [
        "isBase64Encoded",
        "requestContext.extendedRequestId",
        "requestContext.identity.principalOrgId",
    ]
    .into();
    assert_eq!(extra, expected_extra, "keys beyond the AWS sample");

    // And it deserializes as a REST proxy request with the values API Gateway would send
    let parsed: ApiGatewayProxyRequest = serde_json::from_value(event.clone()).unwrap();
    assert_eq!(parsed.http_method, http::Method::POST);
    assert_eq!(parsed.resource.as_deref(), Some("/echo"));
    assert_eq!(parsed.path.as_deref(), Some("/echo"));
    assert_eq!(parsed.body.as_deref(), Some(r#"{"a": 1}"#));
    assert!(!parsed.is_base64_encoded);
    assert_eq!(parsed.query_string_parameters.first("name"), Some("me"));
    let context = &parsed.request_context;
    assert_eq!(context.stage.as_deref(), Some("test"));
    assert_eq!(context.path.as_deref(), Some("/test/echo"));
    assert_eq!(context.resource_path.as_deref(), Some("/echo"));
    assert_eq!(context.http_method, http::Method::POST);
    assert_eq!(context.protocol.as_deref(), Some("HTTP/1.1"));
    assert_eq!(context.account_id.as_deref(), Some("123456789012"));
    assert_eq!(context.identity.source_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(
        context.identity.user_agent.as_deref(),
        Some("rill-tests/1.0")
    );
    assert_eq!(
        context.domain_name.as_deref(),
        Some(gateway.authority().as_str())
    );
    let request_id = context.request_id.as_deref().unwrap();
    assert!(uuid::Uuid::parse_str(request_id).is_ok(), "{request_id}");
    assert_eq!(context.apiid.as_deref().map(str::len), Some(10));

    // requestTime is Apache-style and agrees with requestTimeEpoch
    let time = context.request_time.as_deref().unwrap();
    let format = time::macros::format_description!(
        "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000"
    );
    let parsed_time = time::PrimitiveDateTime::parse(time, format)
        .unwrap()
        .assume_utc();
    assert_eq!(
        parsed_time.unix_timestamp(),
        context.request_time_epoch / 1000
    );

    // The gateway adds what API Gateway adds
    assert_eq!(event["headers"]["x-forwarded-proto"], "http");
    assert_eq!(event["headers"]["x-forwarded-for"], "127.0.0.1");
    assert_eq!(
        event["headers"]["x-forwarded-port"],
        gateway.addr.port().to_string()
    );
    assert!(
        event["headers"]["x-amzn-trace-id"]
            .as_str()
            .unwrap()
            .starts_with("Root=1-")
    );
    assert_eq!(event["stageVariables"], Value::Null);
}

#[tokio::test]
async fn repeated_headers_and_query_parameters_keep_the_last_value_and_all_values() {
    let gateway = spawn_fixture_gateway().await;
    let body = echo(
        gateway
            .client
            .send(
                gateway
                    .client
                    .request(reqwest::Method::GET, "/echo?x=1&x=2&empty=&flag&sp=a%20b")
                    .header("x-repeated", "first")
                    .header("x-repeated", "second"),
            )
            .await,
    )
    .await;
    let event = &body["event"];
    assert_eq!(event["headers"]["x-repeated"], "second");
    assert_eq!(
        event["multiValueHeaders"]["x-repeated"],
        json!(["first", "second"])
    );
    assert_eq!(
        event["queryStringParameters"],
        json!({"x": "2", "empty": "", "flag": "", "sp": "a b"})
    );
    assert_eq!(
        event["multiValueQueryStringParameters"],
        json!({"x": ["1", "2"], "empty": [""], "flag": [""], "sp": ["a b"]})
    );
}

#[tokio::test]
async fn absent_maps_and_an_absent_body_are_null() {
    let gateway = spawn_fixture_gateway().await;
    let body = echo(gateway.client.get("/echo").await).await;
    let event = &body["event"];
    for key in [
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
        "stageVariables",
        "body",
    ] {
        assert_eq!(event[key], Value::Null, "{key}");
    }
    assert_eq!(event["isBase64Encoded"], false);
}

#[tokio::test]
async fn a_binary_body_is_base64_encoded() {
    let gateway = spawn_fixture_gateway().await;
    // By binaryMediaTypes
    let png = echo(
        gateway
            .client
            .send(
                gateway
                    .client
                    .request(reqwest::Method::POST, "/echo")
                    .header("content-type", "image/png")
                    .body("png bytes"),
            )
            .await,
    )
    .await;
    assert_eq!(png["event"]["isBase64Encoded"], true);
    assert_eq!(png["event"]["body"], "cG5nIGJ5dGVz");
    // By content that is not UTF-8
    let raw = echo(
        gateway
            .client
            .send(
                gateway
                    .client
                    .request(reqwest::Method::POST, "/echo")
                    .header("content-type", "text/plain")
                    .body(vec![0xffu8, 0xfe, 0x00]),
            )
            .await,
    )
    .await;
    assert_eq!(raw["event"]["isBase64Encoded"], true);
    assert_eq!(raw["event"]["body"], "//4A");
}

#[tokio::test]
async fn the_runtime_api_sends_the_request_id_an_absolute_deadline_the_arn_and_a_trace() {
    let gateway = spawn_fixture_gateway().await;
    let before = crate::support::epoch_ms();
    let body = echo(gateway.client.get("/echo").await).await;
    let runtime = &body["runtime"];
    assert_eq!(
        runtime["lambda-runtime-aws-request-id"],
        body["event"]["requestContext"]["requestId"]
    );
    let deadline: u64 = runtime["lambda-runtime-deadline-ms"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // FixtureFunction's Timeout is 5 s (Globals).
    assert!(
        deadline >= before + 4_000 && deadline <= crate::support::epoch_ms() + 5_000,
        "{deadline}"
    );
    assert_eq!(
        runtime["lambda-runtime-invoked-function-arn"],
        "arn:aws:lambda:us-east-1:123456789012:function:FixtureFunction"
    );
    assert!(
        runtime["lambda-runtime-trace-id"]
            .as_str()
            .unwrap()
            .starts_with("Root=1-")
    );
}

#[tokio::test]
async fn the_function_environment_layers_template_globals_env_vars_and_store() {
    // Given an --env-vars file and a parameter override
    let gateway = fixture_gateway()
        .settings(|s| {
            s.env_vars = Some(fixture("env-vars.json"));
            s.parameter_overrides
                .insert("Secret".to_owned(), "s3cret".to_owned());
        })
        .spawn()
        .await;
    let body = echo(gateway.client.get("/echo").await).await;
    let env = &body["env"];
    // Lambda's reserved variables
    assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "FixtureFunction");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
    assert_eq!(
        env["AWS_LAMBDA_LOG_GROUP_NAME"],
        "/aws/lambda/FixtureFunction"
    );
    assert!(
        env["AWS_LAMBDA_LOG_STREAM_NAME"]
            .as_str()
            .unwrap()
            .contains("[$LATEST]")
    );
    assert_eq!(env["AWS_REGION"], "us-east-1");
    assert!(
        env["AWS_LAMBDA_RUNTIME_API"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    assert!(env["AWS_ACCESS_KEY_ID"].is_string());
    // Template values, Globals merged, intrinsics evaluated
    assert_eq!(env["GLOBAL_VAR"], "from-globals");
    assert_eq!(env["LOG_LEVEL"], "debug");
    assert_eq!(env["TABLE"], "ItemsTable");
    assert_eq!(
        env["TABLE_ARN"],
        "arn:aws:dynamodb:us-east-1:123456789012:table/ItemsTable"
    );
    assert_eq!(env["REGION_AND_STAGE"], "us-east-1/test");
    assert_eq!(env["JOINED"], "a-b");
    assert_eq!(env["SECRET_PARAMETER"], "s3cret");
    assert_eq!(
        env["PROD_ONLY"],
        Value::Null,
        "AWS::NoValue removes the variable"
    );
    assert_eq!(
        env["FROM_SECRETS_MANAGER"],
        Value::Null,
        "dynamic references are not resolved"
    );
    // --env-vars: Parameters for all, the function's section on top
    assert_eq!(env["OVERRIDDEN"], "from-env-file");
    assert_eq!(env["FROM_ENV_FILE"], "fixture-only");
    assert_eq!(env["NUMBER"], "42");
    // The local store
    assert_eq!(env["RILL_STORE"], "sqlite");
    let sqlite = env["RILL_SQLITE_PATH"].as_str().unwrap();
    assert!(
        sqlite.ends_with("rill.db") && sqlite.starts_with(gateway.data_dir().to_str().unwrap()),
        "{sqlite}"
    );
    assert!(env["RILL_CURSOR_KEY"].is_string());
}
