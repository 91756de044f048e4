//! Requests signed by real SigV4 signers are accepted: the `aws-sigv4` crate (the Rust SDK's
//! signer), curl's `--aws-sigv4`, and botocore (the AWS CLI's and boto3's signer, via committed
//! vectors; see `fixtures/sigv4/botocore_vectors.py`).

mod sigv4_support;

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use http_body_util::BodyExt;
use rill_gateway::sigv4::{AuthErrorKind, LocalCredentials, LocalIdentity};
use serde_json::Value;
use sigv4_support::{
    HOST, ReceivedRequest, Signing, at, now, sign_with_aws_sigv4, verifier, verifier_for,
};

fn temporary_credentials() -> LocalCredentials {
    LocalCredentials::default().with_session_token("rill-local-session-token/with+special=chars")
}

// --- aws-sigv4 -----------------------------------------------------------------------------------

#[test]
fn a_get_signed_by_aws_sigv4_is_accepted_as_the_local_user() {
    // Given a GET signed by the Rust SDK's signer with the local credentials
    let request = sign_with_aws_sigv4(
        "GET",
        "/dev/users?limit=20",
        &[("accept", "application/json")],
        b"",
        &Signing::default(),
    );

    // When the gateway verifies it
    let identity = verifier()
        .verify(&request.signed(), now())
        .expect("accepted");

    // Then the caller is the local user
    assert_eq!(identity.access_key, LocalCredentials::DEFAULT_ACCESS_KEY_ID);
    assert_eq!(identity.caller, LocalIdentity::DEFAULT_USER_ID);
    assert_eq!(identity.user, LocalIdentity::DEFAULT_USER_ID);
    assert_eq!(identity.user_arn, LocalIdentity::DEFAULT_USER_ARN);
    assert_eq!(identity.account_id, LocalIdentity::DEFAULT_ACCOUNT_ID);
}

#[test]
fn a_path_with_spaces_unicode_an_encoded_slash_and_a_plus_signed_by_aws_sigv4_is_accepted() {
    // Given a path that only double encoding signs correctly
    let request = sign_with_aws_sigv4(
        "GET",
        "/dev/users/ada%20lovelace/caf%C3%A9/a%2Fb/x+y",
        &[],
        b"",
        &Signing::default(),
    );

    // When verified, then it is accepted
    verifier()
        .verify(&request.signed(), now())
        .expect("accepted");
}

#[test]
fn a_query_with_repeated_keys_empty_values_and_reserved_characters_signed_by_aws_sigv4_is_accepted()
{
    // Given repeated keys out of order, an empty value, a bare key, every reserved character
    // percent-encoded, an encoded space and a non-ASCII value
    let request = sign_with_aws_sigv4(
        "GET",
        "/dev/orders?tag=b&tag=a&empty=&flag&q=%21%2A%27%28%29%3B%3A%40%26%3D%2B%24%2C%2F%3F%23%5B%5D&sp=a%20b&u=%C3%A9",
        &[],
        b"",
        &Signing::default(),
    );

    // When verified, then it is accepted
    verifier()
        .verify(&request.signed(), now())
        .expect("accepted");
}

#[test]
fn a_json_body_with_extra_signed_headers_signed_by_aws_sigv4_is_accepted() {
    // Given a POST whose body and several headers are signed
    let body = br#"{"userId":"0190a5e2","currency":"EUR","items":[{"sku":"BOOK-42","quantity":2,"unitPrice":1400}]}"#;
    let request = sign_with_aws_sigv4(
        "POST",
        "/dev/orders",
        &[
            ("content-type", "application/json"),
            ("idempotency-key", "5b0e7f6c-2b1f-4c53-9a8e-6f3d2c1b0a99"),
        ],
        body,
        &Signing::default(),
    );

    // When verified, then it is accepted
    verifier()
        .verify(&request.signed(), now())
        .expect("accepted");
}

#[test]
fn temporary_credentials_signed_by_aws_sigv4_are_accepted_when_the_token_matches() {
    // Given credentials with a session token, signed into the request
    let credentials = temporary_credentials();
    let request = sign_with_aws_sigv4(
        "DELETE",
        "/dev/users/0190a5e2",
        &[],
        b"",
        &Signing {
            credentials: credentials.clone(),
            ..Signing::default()
        },
    );
    assert!(
        request
            .header("authorization")
            .contains("x-amz-security-token")
    );

    // When a gateway that expects that token verifies it, then it is accepted
    verifier_for(credentials)
        .verify(&request.signed(), now())
        .expect("accepted");
}

#[test]
fn a_presigned_url_from_aws_sigv4_is_accepted_within_its_lifetime() {
    // Given a URL presigned for five minutes
    let request = sign_with_aws_sigv4(
        "GET",
        "/dev/exports/orders?format=csv",
        &[],
        b"",
        &Signing {
            presign_for: Some(300),
            ..Signing::default()
        },
    );
    assert!(request.query_parameter("X-Amz-Signature").is_some());

    // When used four minutes later, then it is accepted
    verifier()
        .verify(&request.signed(), at("20261122T023313Z"))
        .expect("accepted");
}

#[test]
fn a_presigned_url_with_a_session_token_from_aws_sigv4_is_accepted() {
    // Given a presigned URL carrying a session token
    let credentials = temporary_credentials();
    let request = sign_with_aws_sigv4(
        "GET",
        "/dev/exports/users",
        &[],
        b"",
        &Signing {
            credentials: credentials.clone(),
            presign_for: Some(900),
            ..Signing::default()
        },
    );
    assert!(request.query_parameter("X-Amz-Security-Token").is_some());

    // When verified, then it is accepted
    verifier_for(credentials)
        .verify(&request.signed(), now())
        .expect("accepted");
}

// --- curl --aws-sigv4 ----------------------------------------------------------------------------

/// Runs the real `curl` binary against a loopback server and returns the request it sent.
async fn capture_curl_request(args: &[&str], path_and_query: &str) -> ReceivedRequest {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let address = listener.local_addr().expect("a bound address");
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let sender = Arc::new(Mutex::new(Some(sender)));
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("curl connects");
        let service =
            hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let sender = Arc::clone(&sender);
                async move {
                    let (parts, body) = request.into_parts();
                    let body = body.collect().await?.to_bytes();
                    if let Some(sender) = sender.lock().expect("unpoisoned").take() {
                        let _ = sender.send((parts, body));
                    }
                    Ok::<_, hyper::Error>(hyper::Response::new(http_body_util::Full::new(
                        bytes::Bytes::new(),
                    )))
                }
            });
        hyper::server::conn::http1::Builder::new()
            .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
            .await
    });

    let url = format!("http://{address}{path_and_query}");
    let output = tokio::process::Command::new("curl")
        .args(["--silent", "--show-error", "--fail"])
        .args(args)
        .arg(&url)
        .output()
        .await
        .expect("the curl binary runs (it is required by these tests)");
    assert!(
        output.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (parts, body) = receiver.await.expect("the server captured the request");
    server.abort();

    let mut received = ReceivedRequest::new(parts.method.as_str(), "/", &[], &body);
    received.raw_path = parts.uri.path().to_owned();
    received.raw_query = parts.uri.query().unwrap_or("").to_owned();
    received.headers = parts.headers;
    received
}

fn curl_credentials() -> String {
    format!(
        "{}:{}",
        LocalCredentials::DEFAULT_ACCESS_KEY_ID,
        LocalCredentials::DEFAULT_SECRET_ACCESS_KEY
    )
}

#[tokio::test]
async fn a_get_signed_by_curl_is_accepted() {
    // Given a GET with a query, signed by curl --aws-sigv4
    let credentials = curl_credentials();
    let request = capture_curl_request(
        &[
            "--aws-sigv4",
            "aws:amz:us-east-1:execute-api",
            "--user",
            &credentials,
        ],
        "/dev/orders?limit=5&status=paid",
    )
    .await;
    assert!(
        request
            .header("authorization")
            .starts_with("AWS4-HMAC-SHA256 ")
    );

    // When verified at the current time, then it is accepted
    verifier()
        .verify(&request.signed(), SystemTime::now())
        .expect("accepted");
}

#[tokio::test]
async fn a_body_and_loosely_spaced_headers_signed_by_curl_are_accepted() {
    // Given a PATCH with a body and a header whose value needs trimming and folding
    let credentials = curl_credentials();
    let request = capture_curl_request(
        &[
            "--aws-sigv4",
            "aws:amz:us-east-1:execute-api",
            "--user",
            &credentials,
            "--request",
            "PATCH",
            "--header",
            "content-type: application/json",
            "--header",
            "X-Trace-Note:   two   spaces   ",
            "--data",
            r#"{"status":"paid"}"#,
        ],
        "/dev/orders/0190a5e2",
    )
    .await;
    assert!(request.header("authorization").contains("x-trace-note"));

    // When verified, then it is accepted
    verifier()
        .verify(&request.signed(), SystemTime::now())
        .expect("accepted");
}

#[tokio::test]
async fn a_session_token_header_signed_by_curl_is_accepted() {
    // Given temporary credentials, with the token sent as a header curl signs
    let credentials = curl_credentials();
    let token = "rill-local-session-token/with+special=chars";
    let token_header = format!("x-amz-security-token: {token}");
    let request = capture_curl_request(
        &[
            "--aws-sigv4",
            "aws:amz:us-east-1:execute-api",
            "--user",
            &credentials,
            "--header",
            &token_header,
        ],
        "/dev/users",
    )
    .await;

    // When verified by a gateway expecting that token, then it is accepted
    verifier_for(LocalCredentials::default().with_session_token(token))
        .verify(&request.signed(), SystemTime::now())
        .expect("accepted");
}

#[tokio::test]
async fn a_request_signed_by_curl_with_another_secret_is_rejected() {
    // Given curl signing with the right key id but a different secret
    let credentials = format!("{}:not-the-secret", LocalCredentials::DEFAULT_ACCESS_KEY_ID);
    let request = capture_curl_request(
        &[
            "--aws-sigv4",
            "aws:amz:us-east-1:execute-api",
            "--user",
            &credentials,
        ],
        "/dev/users",
    )
    .await;

    // When verified, then the signature does not match
    let error = verifier()
        .verify(&request.signed(), SystemTime::now())
        .expect_err("rejected");
    assert_eq!(error.kind(), AuthErrorKind::SignatureDoesNotMatch);
}

// --- botocore ------------------------------------------------------------------------------------

fn botocore_case(name: &str) -> (ReceivedRequest, Option<String>, String) {
    let vectors: Value = serde_json::from_str(include_str!("fixtures/sigv4/botocore_vectors.json"))
        .expect("the botocore vectors are JSON");
    assert_eq!(vectors["host"], HOST);
    let case = vectors["cases"]
        .as_array()
        .expect("a list of cases")
        .iter()
        .find(|case| case["name"] == name)
        .unwrap_or_else(|| panic!("no botocore case {name}"));
    let mut headers: Vec<(&str, &str)> = vec![("host", HOST)];
    for pair in case["headers"].as_array().expect("header pairs") {
        headers.push((
            pair[0].as_str().expect("a header name"),
            pair[1].as_str().expect("a header value"),
        ));
    }
    let request = ReceivedRequest::new(
        case["method"].as_str().expect("a method"),
        case["target"].as_str().expect("a target"),
        &headers,
        case["body"].as_str().expect("a body").as_bytes(),
    );
    let token = case["session_token"].as_str().map(str::to_owned);
    let canonical = case["botocore_canonical_request"]
        .as_str()
        .expect("botocore's canonical request")
        .to_owned();
    (request, token, canonical)
}

/// Verifies a botocore case, and checks that with a wrong signature the canonical request the
/// gateway reports is exactly the one botocore signed.
fn assert_botocore_case_is_accepted(name: &str) {
    // Given the request botocore signed
    let (request, token, botocore_canonical) = botocore_case(name);
    let credentials = match token {
        Some(token) => LocalCredentials::default().with_session_token(token),
        None => LocalCredentials::default(),
    };
    let verifier = verifier_for(credentials);

    // When verified at signing time, then it is accepted
    verifier
        .verify(&request.signed(), now())
        .unwrap_or_else(|error| panic!("botocore case {name} rejected: {error}"));

    // And when its signature is broken, the reported canonical request is botocore's
    let mut broken = request.clone();
    if broken.query_parameter("X-Amz-Signature").is_some() {
        broken.replace_query_parameter("X-Amz-Signature", &"0".repeat(64));
    } else {
        let authorization = broken.header("authorization").to_owned();
        let (kept, _) = authorization
            .split_once("Signature=")
            .expect("a signature part");
        broken.set_header(
            "authorization",
            &format!("{kept}Signature={}", "0".repeat(64)),
        );
    }
    let error = verifier
        .verify(&broken.signed(), now())
        .expect_err("a zero signature is rejected");
    assert_eq!(error.kind(), AuthErrorKind::SignatureDoesNotMatch);
    assert!(
        error
            .message()
            .contains(&format!("should have been\n'{botocore_canonical}'")),
        "canonical request differs from botocore's for {name}: {}",
        error.message()
    );
}

#[test]
fn a_get_with_a_query_signed_by_botocore_is_accepted() {
    assert_botocore_case_is_accepted("get_with_a_query");
}

#[test]
fn special_characters_in_the_path_signed_by_botocore_are_accepted() {
    assert_botocore_case_is_accepted("special_characters_in_path");
}

#[test]
fn special_characters_in_the_query_signed_by_botocore_are_accepted() {
    assert_botocore_case_is_accepted("special_characters_in_query");
}

#[test]
fn a_json_body_signed_by_botocore_is_accepted() {
    assert_botocore_case_is_accepted("json_body");
}

#[test]
fn a_session_token_signed_by_botocore_is_accepted() {
    assert_botocore_case_is_accepted("session_token");
}

#[test]
fn a_url_presigned_by_botocore_is_accepted() {
    assert_botocore_case_is_accepted("presigned");
}

#[test]
fn a_url_presigned_by_botocore_with_a_session_token_is_accepted() {
    assert_botocore_case_is_accepted("presigned_with_session_token");
}
