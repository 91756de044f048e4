//! The gateway's own responses go through the definition's `x-amazon-apigateway-gateway-responses`
//! wherever they come from: routing (403), the function's failure (502), validation (400).

use serde_json::{Value, json};

use crate::support::{fixture, fixture_bin_dir};
use rill_gateway::testing::{GatewayBuilder, TestGateway};

/// The fixture API with customised gateway responses, in a directory of its own.
async fn gateway_with_custom_responses() -> (TestGateway, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("template.yaml"), dir.path().join("template.yaml")).unwrap();
    let mut definition = std::fs::read_to_string(fixture("openapi.yaml")).unwrap();
    definition.push_str(
        r#"
x-amazon-apigateway-gateway-responses:
  MISSING_AUTHENTICATION_TOKEN:
    statusCode: 404
    responseParameters:
      gatewayresponse.header.x-custom: "'not-found'"
    responseTemplates:
      application/json: '{"error":$context.error.messageString,"type":"$context.error.responseType","stage":"$context.stage"}'
  DEFAULT_5XX:
    responseTemplates:
      application/json: '{"failed":$context.error.messageString,"requestId":"$context.requestId"}'
"#,
    );
    std::fs::write(dir.path().join("openapi.yaml"), definition).unwrap();
    let gateway = GatewayBuilder::new(dir.path().join("template.yaml"), fixture_bin_dir())
        .spawn()
        .await;
    (gateway, dir)
}

#[tokio::test]
async fn an_unknown_route_is_answered_with_the_customised_missing_token_response() {
    // Given a definition that customises MISSING_AUTHENTICATION_TOKEN
    let (gateway, _dir) = gateway_with_custom_responses().await;
    // When a path no resource matches is requested
    let response = gateway.client.get("/nowhere").await;
    // Then its status, header and body template apply, with AWS's error type
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["x-custom"], "not-found");
    assert_eq!(
        response.headers()["x-amzn-errortype"],
        "MissingAuthenticationTokenException"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "error": "Missing Authentication Token",
            "type": "MISSING_AUTHENTICATION_TOKEN",
            "stage": "test"
        })
    );
}

#[tokio::test]
async fn a_function_error_is_answered_with_the_customised_default_5xx_response() {
    // Given a definition that customises DEFAULT_5XX
    let (gateway, _dir) = gateway_with_custom_responses().await;
    // When the function fails
    let response = gateway.client.get("/echo?behaviour=error").await;
    // Then the 502 keeps its status and takes the template, with the request id filled in
    assert_eq!(response.status(), 502);
    let request_id = response.headers()["x-amzn-requestid"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"failed": "Internal server error", "requestId": request_id})
    );
}
