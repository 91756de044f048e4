//! Stages, resources and methods, as API Gateway routes them.

use serde_json::Value;

use crate::support::spawn_fixture_gateway;

async fn echo_of(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), 200, "expected the function's echo");
    let body: Value = response.json().await.unwrap();
    body["event"].clone()
}

#[tokio::test]
async fn an_unknown_route_is_a_403_missing_authentication_token() {
    // Given a running gateway
    let gateway = spawn_fixture_gateway().await;
    // When a path no resource matches is requested
    let response = gateway.client.get("/nowhere").await;
    // Then API Gateway's 403 comes back, before any function runs
    assert_eq!(response.status(), 403);
    assert_eq!(
        response.headers()["x-amzn-errortype"],
        "MissingAuthenticationTokenException"
    );
    assert!(response.headers().contains_key("x-amzn-requestid"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"message": "Missing Authentication Token"})
    );
    assert!(gateway.handle.instance_pids().is_empty());
}

#[tokio::test]
async fn a_wrong_or_missing_stage_is_a_403() {
    let gateway = spawn_fixture_gateway().await;
    let root = format!("http://{}", gateway.authority());
    for url in [
        format!("{root}/prod/echo"),
        format!("{root}/echo"),
        format!("{root}/"),
        format!("{root}/testing/echo"),
    ] {
        let response = reqwest::get(&url).await.unwrap();
        assert_eq!(response.status(), 403, "{url}");
    }
}

#[tokio::test]
async fn an_undefined_method_on_a_known_resource_is_a_403() {
    let gateway = spawn_fixture_gateway().await;
    let response = gateway
        .client
        .send(gateway.client.request(reqwest::Method::DELETE, "/echo"))
        .await;
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn the_most_specific_resource_wins_and_path_parameters_are_decoded() {
    let gateway = spawn_fixture_gateway().await;

    // Given /items/special and /items/{itemId}: the literal wins
    let special = echo_of(gateway.client.get("/items/special").await).await;
    assert_eq!(special["resource"], "/items/special");
    assert_eq!(special["pathParameters"], Value::Null);

    // A parameter segment is decoded, and the event path keeps the raw form
    let item = echo_of(gateway.client.get("/items/a%20b%2Fc").await).await;
    assert_eq!(item["resource"], "/items/{itemId}");
    assert_eq!(item["pathParameters"]["itemId"], "a b/c");
    assert_eq!(item["path"], "/items/a%20b%2Fc");

    // Two parameters in one path
    let part = echo_of(gateway.client.get("/items/7/parts/9").await).await;
    assert_eq!(
        part["pathParameters"],
        serde_json::json!({"itemId": "7", "partId": "9"})
    );
}

#[tokio::test]
async fn a_greedy_path_and_any_method_reach_the_function() {
    let gateway = spawn_fixture_gateway().await;
    let response = gateway
        .client
        .send(
            gateway
                .client
                .request(reqwest::Method::PUT, "/files/a/b/c.txt")
                .body("x"),
        )
        .await;
    let event = echo_of(response).await;
    assert_eq!(event["resource"], "/files/{proxy+}");
    assert_eq!(event["httpMethod"], "PUT");
    assert_eq!(event["requestContext"]["httpMethod"], "PUT");
    assert_eq!(event["pathParameters"]["proxy"], "a/b/c.txt");
    // `/files` alone matches nothing: a greedy parameter needs at least one segment.
    assert_eq!(gateway.client.get("/files").await.status(), 403);
}

#[tokio::test]
async fn the_stage_root_and_a_trailing_slash_route_like_api_gateway() {
    let gateway = spawn_fixture_gateway().await;
    let root = echo_of(gateway.client.get("").await).await;
    assert_eq!(root["resource"], "/");
    assert_eq!(root["path"], "/");
    let slash = echo_of(gateway.client.get("/echo/").await).await;
    assert_eq!(slash["resource"], "/echo");
    assert_eq!(slash["path"], "/echo/");
}

#[tokio::test]
async fn a_url_or_headers_over_api_gateways_quotas_are_refused_with_a_json_message() {
    // Given a running gateway
    let gateway = spawn_fixture_gateway().await;
    // When the URL is over 10 240 characters, then API Gateway's 414 comes back as JSON
    let long_query = format!("/echo?q={}", "q".repeat(10_240));
    let response = gateway.client.get(&long_query).await;
    assert_eq!(response.status(), 414);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"message": "Request-URI Too Long"}));
    // And when the headers are over 10 240 bytes, then its 431 does
    let padded = gateway
        .client
        .send(
            gateway
                .client
                .request(reqwest::Method::GET, "/echo")
                .header("x-padding", "p".repeat(10_240)),
        )
        .await;
    assert_eq!(padded.status(), 431);
    assert_eq!(padded.headers()["content-type"], "application/json");
    let body: Value = padded.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"message": "Request Header Fields Too Large"})
    );
    // But 300 small headers, within the quota, reach the function
    let many = (0..300).fold(
        gateway.client.request(reqwest::Method::GET, "/echo"),
        |request, n| request.header(format!("x-h-{n}"), "1"),
    );
    let event = echo_of(gateway.client.send(many).await).await;
    assert_eq!(event["headers"]["x-h-299"], "1");
    // And no function ran for the refused requests
    assert_eq!(gateway.logs.matching("START RequestId").len(), 1);
    gateway.shutdown().await;
}
