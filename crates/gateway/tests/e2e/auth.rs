//! SigV4 as the gateway enforces it on an `AWS_IAM` route (`GET /signed` of the fixture API), with
//! the documented local credentials, with credentials of one's own, and with `--no-auth`.

use rill_gateway::sigv4::LocalCredentials;
use serde_json::Value;

use crate::support::{check_fixture, fixture_gateway, spawn_fixture_gateway};

async fn identity_of(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), 200, "expected the function's echo");
    let body: Value = response.json().await.unwrap();
    body["event"]["requestContext"]["identity"].clone()
}

async fn message_of(response: reqwest::Response) -> String {
    let body: Value = response.json().await.unwrap();
    body["message"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn by_default_an_unsigned_request_is_a_403_missing_authentication_token() {
    // Given a gateway with default settings
    let gateway = spawn_fixture_gateway().await;
    // When an IAM route is called without a signature
    let response = gateway.client.unsigned().get("/signed").await;
    // Then API Gateway's 403 comes back and no function runs
    assert_eq!(response.status(), 403);
    assert_eq!(message_of(response).await, "Missing Authentication Token");
    assert!(gateway.handle.instance_pids().is_empty());
    gateway.shutdown().await;
}

#[tokio::test]
async fn with_no_auth_an_unsigned_request_reaches_the_function_as_an_anonymous_caller() {
    // Given a gateway started with --no-auth
    let gateway = fixture_gateway()
        .settings(|s| s.no_auth = true)
        .spawn()
        .await;
    // When an IAM route is called without a signature
    let response = gateway.client.unsigned().get("/signed").await;
    // Then the function answers, and the event names no caller
    let identity = identity_of(response).await;
    assert_eq!(identity["accessKey"], Value::Null, "{identity}");
    assert_eq!(identity["userArn"], Value::Null, "{identity}");
    gateway.shutdown().await;
}

#[tokio::test]
async fn with_no_auth_a_signed_request_still_carries_its_access_key() {
    // Given a gateway started with --no-auth
    let gateway = fixture_gateway()
        .settings(|s| s.no_auth = true)
        .spawn()
        .await;
    // When an IAM route is called with a valid signature
    let response = gateway.client.get("/signed").await;
    // Then the function sees who signed it, as it will in AWS
    let identity = identity_of(response).await;
    assert_eq!(
        identity["accessKey"],
        LocalCredentials::DEFAULT_ACCESS_KEY_ID,
        "{identity}"
    );
    // And a signature made with a wrong secret is let in too, as an anonymous caller
    let wrong = gateway.client.with_credentials(LocalCredentials::new(
        LocalCredentials::DEFAULT_ACCESS_KEY_ID,
        "not-the-secret",
    ));
    let identity = identity_of(wrong.get("/signed").await).await;
    assert_eq!(identity["accessKey"], Value::Null, "{identity}");
    gateway.shutdown().await;
}

#[tokio::test]
async fn credentials_of_ones_own_are_accepted_and_the_default_ones_then_rejected() {
    // Given a gateway configured with other credentials and a session token
    let own = LocalCredentials::new("AKIDOWNCREDENTIALS00", "own-secret").with_session_token("tok");
    let gateway = fixture_gateway()
        .settings(|s| s.credentials = own.clone())
        .spawn()
        .await;
    // When a request is signed with them
    let response = gateway.client.with_credentials(own).get("/signed").await;
    // Then it is served, as that access key
    let identity = identity_of(response).await;
    assert_eq!(identity["accessKey"], "AKIDOWNCREDENTIALS00", "{identity}");
    // But a request signed with the documented defaults is refused as an unknown key
    let response = gateway.client.get("/signed").await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        response.headers()["x-amzn-errortype"],
        "UnrecognizedClientException"
    );
    assert_eq!(
        message_of(response).await,
        "The security token included in the request is invalid."
    );
    gateway.shutdown().await;
}

#[test]
fn no_auth_prints_a_warning_box_on_stderr_and_the_banner_shows_auth_off() {
    // Given the gateway command with --no-auth
    let output = check_fixture(&["--no-auth"], &[]);
    // When it starts
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Then stderr carries the warning, framed, and the banner says SigV4 is off
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("!! WARNING: --no-auth: SigV4 is NOT verified; any request is let in."),
        "{stderr}"
    );
    assert!(stderr.contains("Never expose this port."), "{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("SigV4      OFF (--no-auth)"), "{stdout}");
    assert!(
        stdout.contains("SigV4 NOT verified (--no-auth)"),
        "{stdout}"
    );
}

#[test]
fn credential_flags_are_shown_in_the_banner_without_the_secret() {
    // Given the gateway command with credentials from the environment
    let output = check_fixture(
        &[],
        &[
            ("RILL_ACCESS_KEY_ID", "AKIDFROMENVIRONMENT0"),
            ("RILL_SECRET_ACCESS_KEY", "secret-from-environment"),
        ],
    );
    // When it starts
    assert!(output.status.success());
    // Then the banner names the access key but not the secret, and no warning is printed
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("access key AKIDFROMENVIRONMENT0"),
        "{stdout}"
    );
    assert!(!stdout.contains("secret-from-environment"), "{stdout}");
    assert!(!String::from_utf8_lossy(&output.stderr).contains("WARNING"));
}
