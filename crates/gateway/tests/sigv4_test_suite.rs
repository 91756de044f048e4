//! AWS's published SigV4 test vectors (the Common Runtime suite, see
//! `fixtures/sigv4/aws-signing-test-suite/README.md`) verify, and a broken signature reports the
//! canonical request and string-to-sign the suite publishes.

mod sigv4_support;

use std::fs;
use std::path::{Path, PathBuf};

use rill_gateway::sigv4::{AuthErrorKind, LocalCredentials, LocalIdentity, SigV4Verifier};
use serde_json::Value;
use sigv4_support::{ReceivedRequest, at};

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sigv4/aws-signing-test-suite")
}

/// The vectors whose behaviour API Gateway shares (every directory but the rejection case).
fn accepted_vectors() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(suite_dir())
        .expect("the suite directory exists")
        .filter_map(Result::ok)
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name != "post-sts-header-after")
        .collect();
    names.sort();
    assert!(names.len() >= 25, "the suite is present: {names:?}");
    names
}

fn read(vector: &str, file: &str) -> String {
    fs::read_to_string(suite_dir().join(vector).join(file))
        .unwrap_or_else(|error| panic!("{vector}/{file}: {error}"))
}

/// Parses a suite request file: request line, `Name:value` headers, blank line, body.
fn parse_request(text: &str) -> ReceivedRequest {
    let (head, rest) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let request_line = lines.next().expect("a request line");
    let (method, rest_of_line) = request_line.split_once(' ').expect("a method");
    let target = rest_of_line
        .strip_suffix(" HTTP/1.1")
        .expect("an HTTP/1.1 request line");
    let headers: Vec<(&str, &str)> = lines
        .map(|line| line.split_once(':').expect("a Name:value header line"))
        .collect();
    let body_length = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, value)| {
            value.trim().parse().expect("a numeric Content-Length")
        });
    ReceivedRequest::new(method, target, &headers, &rest.as_bytes()[..body_length])
}

/// A verifier configured like the vector's signer: service `service`, its region and credentials.
fn verifier_for_vector(vector: &str) -> SigV4Verifier {
    let context: Value = serde_json::from_str(&read(vector, "context.json")).expect("JSON context");
    let credentials = &context["credentials"];
    let mut local = LocalCredentials::new(
        credentials["access_key_id"].as_str().expect("a key id"),
        credentials["secret_access_key"].as_str().expect("a secret"),
    );
    if let Some(token) = credentials["token"].as_str() {
        local = local.with_session_token(token);
    }
    SigV4Verifier::new(
        context["region"].as_str().expect("a region"),
        local,
        LocalIdentity::default(),
    )
    .with_service_name(context["service"].as_str().expect("a service"))
}

fn signed_at() -> std::time::SystemTime {
    at("20150830T123600Z")
}

#[test]
fn every_header_signed_vector_is_accepted() {
    for vector in accepted_vectors() {
        // Given the vector's header-signed request
        let request = parse_request(&read(&vector, "header-signed-request.txt"));

        // When verified at the vector's signing time, then it is accepted
        verifier_for_vector(&vector)
            .verify(&request.signed(), signed_at())
            .unwrap_or_else(|error| panic!("{vector} rejected: {error}"));
    }
}

#[test]
fn every_presigned_vector_is_accepted() {
    for vector in accepted_vectors() {
        let request = parse_request(&read(&vector, "query-signed-request.txt"));
        verifier_for_vector(&vector)
            .verify(&request.signed(), signed_at())
            .unwrap_or_else(|error| panic!("{vector} rejected: {error}"));
    }
}

#[test]
fn a_broken_signature_reports_the_canonical_request_and_string_to_sign_aws_publishes() {
    for vector in accepted_vectors() {
        // Given a vector's request with its signature replaced
        let mut request = parse_request(&read(&vector, "header-signed-request.txt"));
        let authorization = request.header("authorization").to_owned();
        let (kept, _) = authorization.split_once("Signature=").expect("a signature");
        request.set_header(
            "authorization",
            &format!("{kept}Signature={}", "0".repeat(64)),
        );

        // When verified
        let error = verifier_for_vector(&vector)
            .verify(&request.signed(), signed_at())
            .expect_err("a zero signature is rejected");

        // Then the message quotes exactly the suite's canonical request and string-to-sign
        assert_eq!(
            error.kind(),
            AuthErrorKind::SignatureDoesNotMatch,
            "{vector}"
        );
        let canonical = read(&vector, "header-canonical-request.txt");
        let string_to_sign = read(&vector, "header-string-to-sign.txt");
        assert!(
            error.message().ends_with(&format!(
                "should have been\n'{canonical}'\n\nThe String-to-Sign should have been\n'{string_to_sign}'\n"
            )),
            "{vector}: {}",
            error.message()
        );
    }
}

#[test]
fn a_session_token_the_signer_did_not_sign_is_rejected() {
    // Given AWS's vector where the token header is added after signing
    let vector = "post-sts-header-after";
    let request = parse_request(&read(vector, "header-signed-request.txt"));

    // When verified, then the unsigned token is refused
    let error = verifier_for_vector(vector)
        .verify(&request.signed(), signed_at())
        .expect_err("rejected");
    assert_eq!(error.kind(), AuthErrorKind::InvalidSignature);
    assert_eq!(
        error.message(),
        "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization."
    );
}
