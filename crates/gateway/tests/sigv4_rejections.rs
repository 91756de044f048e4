//! Requests API Gateway would refuse are refused, with API Gateway's status, error type and exact
//! message.

mod sigv4_support;

use http::StatusCode;
use rill_gateway::sigv4::{AuthError, AuthErrorKind, LocalCredentials, SigV4Verifier};
use sigv4_support::{
    HOST, ReceivedRequest, Signing, at, now, sign_with_aws_sigv4, verifier, verifier_for,
};

/// A POST to the local gateway, signed with the local credentials at [`now`].
fn signed_post() -> ReceivedRequest {
    sign_with_aws_sigv4(
        "POST",
        "/dev/orders?dryRun=false",
        &[
            ("content-type", "application/json"),
            ("idempotency-key", "5b0e7f6c"),
        ],
        br#"{"currency":"EUR"}"#,
        &Signing::default(),
    )
}

fn rejection(request: &ReceivedRequest, verifier: &SigV4Verifier) -> AuthError {
    verifier
        .verify(&request.signed(), now())
        .expect_err("the request is rejected")
}

fn assert_rejected_with(request: &ReceivedRequest, kind: AuthErrorKind, message: &str) {
    let error = rejection(request, &verifier());
    assert_eq!(error.kind(), kind, "unexpected failure: {error}");
    assert_eq!(error.message(), message);
    assert_eq!(error.status(), StatusCode::FORBIDDEN);
}

fn assert_signature_mismatch(request: &ReceivedRequest) {
    let error = rejection(request, &verifier());
    assert_eq!(
        error.kind(),
        AuthErrorKind::SignatureDoesNotMatch,
        "{error}"
    );
    assert_eq!(error.error_type(), "InvalidSignatureException");
}

/// A header-signed request whose `Authorization` header is replaced by `authorization`.
fn with_authorization(authorization: &str) -> ReceivedRequest {
    ReceivedRequest::new(
        "GET",
        "/dev/users",
        &[
            ("host", HOST),
            ("x-amz-date", "20261122T022913Z"),
            ("authorization", authorization),
        ],
        b"",
    )
}

const SIGNATURE: &str = "0000000000000000000000000000000000000000000000000000000000000000";

// --- missing or malformed authentication ---------------------------------------------------------

#[test]
fn a_request_without_any_signature_is_missing_its_authentication_token() {
    // Given a request with neither an Authorization header nor a presigned query
    let request = ReceivedRequest::new("GET", "/dev/users", &[("host", HOST)], b"");

    // When verified
    let error = rejection(&request, &verifier());

    // Then API Gateway's answer comes back verbatim
    assert_eq!(error.kind(), AuthErrorKind::MissingAuthenticationToken);
    assert_eq!(error.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        error.body(),
        r#"{"message":"Missing Authentication Token"}"#
    );
    assert_eq!(error.error_type(), "MissingAuthenticationTokenException");
    assert_eq!(
        error.gateway_response_type(),
        "MISSING_AUTHENTICATION_TOKEN"
    );
}

#[test]
fn an_authorization_header_without_a_credential_names_the_missing_part() {
    let authorization =
        format!("AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature={SIGNATURE}");
    assert_rejected_with(
        &with_authorization(&authorization),
        AuthErrorKind::IncompleteSignature,
        &format!(
            "Authorization header requires 'Credential' parameter. Authorization={authorization}"
        ),
    );
}

#[test]
fn an_authorization_header_without_signed_headers_names_the_missing_part() {
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential=AKIDLOCALRILL0000000/20261122/us-east-1/execute-api/aws4_request, Signature={SIGNATURE}"
    );
    assert_rejected_with(
        &with_authorization(&authorization),
        AuthErrorKind::IncompleteSignature,
        &format!(
            "Authorization header requires 'SignedHeaders' parameter. Authorization={authorization}"
        ),
    );
}

#[test]
fn an_authorization_header_without_a_signature_names_the_missing_part() {
    let authorization = "AWS4-HMAC-SHA256 Credential=AKIDLOCALRILL0000000/20261122/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date";
    assert_rejected_with(
        &with_authorization(authorization),
        AuthErrorKind::IncompleteSignature,
        &format!(
            "Authorization header requires 'Signature' parameter. Authorization={authorization}"
        ),
    );
}

#[test]
fn a_bearer_token_on_an_iam_route_lists_every_missing_part_and_the_missing_date() {
    // Given a request authorised the way a Cognito or Lambda authorizer route would be
    let request = ReceivedRequest::new(
        "GET",
        "/dev/users",
        &[
            ("host", HOST),
            ("authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig"),
        ],
        b"",
    );

    // Then every SigV4 part is reported missing, in API Gateway's order
    assert_rejected_with(
        &request,
        AuthErrorKind::IncompleteSignature,
        "Authorization header requires 'Credential' parameter. Authorization header requires \
         'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. \
         Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. \
         Authorization=Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig",
    );
}

#[test]
fn an_authorization_part_without_an_equal_sign_is_rejected() {
    let authorization =
        format!("AWS4-HMAC-SHA256 Credential, SignedHeaders=host, Signature={SIGNATURE}");
    assert_rejected_with(
        &with_authorization(&authorization),
        AuthErrorKind::IncompleteSignature,
        &format!(
            "'Credential' not a valid key=value pair (missing equal-sign) in Authorization \
             header: '{authorization}'."
        ),
    );
}

#[test]
fn a_date_not_in_iso_8601_basic_format_is_rejected() {
    // Given an otherwise valid request whose X-Amz-Date uses the extended format
    let mut request = signed_post();
    request.set_header("x-amz-date", "2026-11-22T02:29:13Z");

    assert_rejected_with(
        &request,
        AuthErrorKind::IncompleteSignature,
        "Date must be in ISO-8601 'basic format'. Got '2026-11-22T02:29:13Z'. See \
         http://en.wikipedia.org/wiki/ISO_8601",
    );
}

#[test]
fn an_unsupported_algorithm_is_rejected() {
    let authorization = signed_post()
        .header("authorization")
        .replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512");
    let mut request = signed_post();
    request.set_header("authorization", &authorization);

    assert_rejected_with(
        &request,
        AuthErrorKind::IncompleteSignature,
        "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now). ",
    );
}

#[test]
fn a_credential_without_five_elements_is_rejected() {
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential=AKIDLOCALRILL0000000/20261122/us-east-1/execute-api, SignedHeaders=host;x-amz-date, Signature={SIGNATURE}"
    );
    assert_rejected_with(
        &with_authorization(&authorization),
        AuthErrorKind::IncompleteSignature,
        "Credential must have exactly 5 slash-delimited elements, e.g. \
         keyid/date/region/service/term, got 'AKIDLOCALRILL0000000/20261122/us-east-1/execute-api'",
    );
}

#[test]
fn an_unsigned_host_header_is_rejected() {
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential=AKIDLOCALRILL0000000/20261122/us-east-1/execute-api/aws4_request, SignedHeaders=x-amz-date, Signature={SIGNATURE}"
    );
    assert_rejected_with(
        &with_authorization(&authorization),
        AuthErrorKind::InvalidSignature,
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    );
}

#[test]
fn a_header_signature_and_a_presigned_query_together_are_rejected() {
    let mut request = signed_post();
    request
        .raw_query
        .push_str("&X-Amz-Algorithm=AWS4-HMAC-SHA256");

    assert_rejected_with(
        &request,
        AuthErrorKind::InvalidSignature,
        "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.",
    );
}

// --- tampering ----------------------------------------------------------------------------------

#[test]
fn a_changed_method_is_rejected_with_the_canonical_request_and_string_to_sign_aws_expects() {
    // Given a signed POST replayed as a PUT
    let mut request = signed_post();
    request.method = "PUT".to_owned();

    // When verified
    let error = rejection(&request, &verifier());

    // Then the message is AWS's, followed by what the signer should have signed
    assert_eq!(error.kind(), AuthErrorKind::SignatureDoesNotMatch);
    let expected_canonical = format!(
        "PUT\n/dev/orders\ndryRun=false\ncontent-type:application/json\nhost:{HOST}\n\
         idempotency-key:5b0e7f6c\nx-amz-date:20261122T022913Z\n\n\
         content-type;host;idempotency-key;x-amz-date\n{}",
        sha256_hex(br#"{"currency":"EUR"}"#)
    );
    let message = error.message();
    assert!(message.starts_with(
        "The request signature we calculated does not match the signature you provided. Check \
         your AWS Secret Access Key and signing method. Consult the service documentation for \
         details.\n\nThe Canonical String for this request should have been\n'PUT\n/dev/orders\n"
    ));
    let (canonical, string_to_sign) = message
        .split_once("'\n\nThe String-to-Sign should have been\n'")
        .expect("both parts are reported");
    let canonical = canonical
        .split_once("should have been\n'")
        .expect("the canonical request is quoted")
        .1;
    assert_eq!(canonical, expected_canonical);
    assert_eq!(
        string_to_sign,
        format!(
            "AWS4-HMAC-SHA256\n20261122T022913Z\n20261122/us-east-1/execute-api/aws4_request\n{}'\n",
            sha256_hex(canonical.as_bytes())
        )
    );
    assert_eq!(
        error.body(),
        serde_json::json!({ "message": message }).to_string()
    );
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[test]
fn a_changed_path_is_rejected() {
    let mut request = signed_post();
    request.raw_path = "/dev/users".to_owned();
    assert_signature_mismatch(&request);
}

#[test]
fn a_path_that_differs_only_in_percent_encoding_is_rejected() {
    // Given a request signed for /dev/users/a%2Fb and sent as /dev/users/a/b
    let request = sign_with_aws_sigv4("GET", "/dev/users/a%2Fb", &[], b"", &Signing::default());
    let mut tampered = request.clone();
    tampered.raw_path = "/dev/users/a/b".to_owned();

    verifier()
        .verify(&request.signed(), now())
        .expect("the original is accepted");
    assert_signature_mismatch(&tampered);
}

#[test]
fn a_changed_query_value_is_rejected() {
    let mut request = signed_post();
    request.raw_query = "dryRun=true".to_owned();
    assert_signature_mismatch(&request);
}

#[test]
fn an_added_query_parameter_is_rejected() {
    let mut request = signed_post();
    request.raw_query.push_str("&limit=1");
    assert_signature_mismatch(&request);
}

#[test]
fn a_changed_signed_header_is_rejected() {
    let mut request = signed_post();
    request.set_header("idempotency-key", "another-key");
    assert_signature_mismatch(&request);
}

#[test]
fn an_added_unsigned_header_does_not_affect_the_signature() {
    // Given a signed request that gains a header the client did not sign
    let mut request = signed_post();
    request.set_header("x-forwarded-for", "203.0.113.7");

    // Then it is still accepted: only the signed headers are covered
    verifier()
        .verify(&request.signed(), now())
        .expect("accepted");
}

#[test]
fn a_replayed_signature_with_a_changed_body_is_rejected() {
    // Given a captured signed request whose body is swapped
    let mut request = signed_post();
    request.body = br#"{"currency":"USD"}"#.to_vec();

    // Then the payload hash no longer matches
    assert_signature_mismatch(&request);
}

#[test]
fn an_unsigned_payload_marker_does_not_replace_the_body_hash() {
    // Given a body signed as UNSIGNED-PAYLOAD, which only S3 honours
    let request = sign_with_aws_sigv4(
        "POST",
        "/dev/orders",
        &[("x-amz-content-sha256", "UNSIGNED-PAYLOAD")],
        b"{}",
        &Signing::default(),
    );
    // The signer hashed the body; swapping it must still fail even though the header says the
    // payload is unsigned.
    let mut tampered = request.clone();
    tampered.body = b"{\"tampered\":true}".to_vec();

    verifier()
        .verify(&request.signed(), now())
        .expect("the untouched request is accepted");
    assert_signature_mismatch(&tampered);
}

// --- credentials ---------------------------------------------------------------------------------

#[test]
fn an_unknown_access_key_id_is_an_invalid_security_token() {
    // Given a request signed with a key id the gateway does not know
    let request = sign_with_aws_sigv4(
        "GET",
        "/dev/users",
        &[],
        b"",
        &Signing {
            credentials: LocalCredentials::new("AKIDSOMEONEELSE00000", "their-secret"),
            ..Signing::default()
        },
    );

    let error = rejection(&request, &verifier());
    assert_eq!(error.kind(), AuthErrorKind::InvalidSecurityToken);
    assert_eq!(
        error.body(),
        r#"{"message":"The security token included in the request is invalid."}"#
    );
    assert_eq!(error.error_type(), "UnrecognizedClientException");
}

#[test]
fn a_wrong_secret_does_not_match() {
    let request = sign_with_aws_sigv4(
        "GET",
        "/dev/users",
        &[],
        b"",
        &Signing {
            credentials: LocalCredentials::new(
                LocalCredentials::DEFAULT_ACCESS_KEY_ID,
                "not-the-local-secret",
            ),
            ..Signing::default()
        },
    );
    assert_signature_mismatch(&request);
}

#[test]
fn a_wrong_session_token_is_an_invalid_security_token() {
    let request = sign_with_aws_sigv4(
        "GET",
        "/dev/users",
        &[],
        b"",
        &Signing {
            credentials: LocalCredentials::default().with_session_token("stale-token"),
            ..Signing::default()
        },
    );
    let error = rejection(
        &request,
        &verifier_for(LocalCredentials::default().with_session_token("current-token")),
    );
    assert_eq!(error.kind(), AuthErrorKind::InvalidSecurityToken);
}

#[test]
fn a_missing_session_token_is_an_invalid_security_token_when_one_is_required() {
    let request = sign_with_aws_sigv4("GET", "/dev/users", &[], b"", &Signing::default());
    let error = rejection(
        &request,
        &verifier_for(LocalCredentials::default().with_session_token("current-token")),
    );
    assert_eq!(error.kind(), AuthErrorKind::InvalidSecurityToken);
}

#[test]
fn a_session_token_for_long_term_credentials_is_an_invalid_security_token() {
    let request = sign_with_aws_sigv4(
        "GET",
        "/dev/users",
        &[],
        b"",
        &Signing {
            credentials: LocalCredentials::default().with_session_token("unexpected"),
            ..Signing::default()
        },
    );
    let error = rejection(&request, &verifier());
    assert_eq!(error.kind(), AuthErrorKind::InvalidSecurityToken);
}

#[test]
fn a_session_token_added_after_signing_is_rejected() {
    // Given a request signed without a token, which then gains one
    let mut request = sign_with_aws_sigv4("GET", "/dev/users", &[], b"", &Signing::default());
    request.set_header("x-amz-security-token", "current-token");

    let error = rejection(
        &request,
        &verifier_for(LocalCredentials::default().with_session_token("current-token")),
    );
    assert_eq!(error.kind(), AuthErrorKind::InvalidSignature);
    assert_eq!(
        error.message(),
        "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization."
    );
}

// --- credential scope ----------------------------------------------------------------------------

#[test]
fn a_signature_for_another_service_is_rejected_with_the_scope_message() {
    let request = sign_with_aws_sigv4(
        "GET",
        "/dev/users",
        &[],
        b"",
        &Signing {
            service: "lambda",
            ..Signing::default()
        },
    );
    assert_rejected_with(
        &request,
        AuthErrorKind::InvalidSignature,
        "Credential should be scoped to correct service: 'execute-api'. ",
    );
}

#[test]
fn a_signature_for_another_region_is_rejected_with_the_scope_message() {
    let request = sign_with_aws_sigv4(
        "GET",
        "/dev/users",
        &[],
        b"",
        &Signing {
            region: "eu-west-1",
            ..Signing::default()
        },
    );
    assert_rejected_with(
        &request,
        AuthErrorKind::InvalidSignature,
        "Credential should be scoped to a valid region, not 'eu-west-1'. ",
    );
}

#[test]
fn every_wrong_scope_element_is_reported_at_once() {
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential=AKIDLOCALRILL0000000/20261121/us-east-1x/es/aws5_request, SignedHeaders=host;x-amz-date, Signature={SIGNATURE}"
    );
    assert_rejected_with(
        &with_authorization(&authorization),
        AuthErrorKind::InvalidSignature,
        "Credential should be scoped to a valid region, not 'us-east-1x'. Credential should be \
         scoped to correct service: 'execute-api'. Credential should be scoped with a valid \
         terminator: 'aws4_request', not 'aws5_request'. Date in Credential scope does not \
         match YYYYMMDD from ISO-8601 version of date from HTTP: '20261121' != '20261122', from \
         '20261122T022913Z'. ",
    );
}

// --- time ----------------------------------------------------------------------------------------

#[test]
fn a_signature_older_than_five_minutes_has_expired() {
    // Given a request signed ten minutes ago
    let request = sign_with_aws_sigv4(
        "GET",
        "/dev/users",
        &[],
        b"",
        &Signing {
            time: at("20261122T021913Z"),
            ..Signing::default()
        },
    );

    assert_rejected_with(
        &request,
        AuthErrorKind::SignatureExpired,
        "Signature expired: 20261122T021913Z is now earlier than 20261122T022413Z \
         (20261122T022913Z - 5 min.)",
    );
}

#[test]
fn a_signature_more_than_five_minutes_ahead_is_not_yet_current() {
    // Given a request signed by a clock five minutes and one second fast
    let request = sign_with_aws_sigv4(
        "GET",
        "/dev/users",
        &[],
        b"",
        &Signing {
            time: at("20261122T023414Z"),
            ..Signing::default()
        },
    );

    assert_rejected_with(
        &request,
        AuthErrorKind::SignatureNotYetCurrent,
        "Signature not yet current: 20261122T023414Z is still later than 20261122T023413Z \
         (20261122T022913Z + 5 min.)",
    );
}

#[test]
fn signatures_exactly_five_minutes_old_or_ahead_are_still_accepted() {
    for signed_at in ["20261122T022413Z", "20261122T023413Z"] {
        let request = sign_with_aws_sigv4(
            "GET",
            "/dev/users",
            &[],
            b"",
            &Signing {
                time: at(signed_at),
                ..Signing::default()
            },
        );
        verifier()
            .verify(&request.signed(), now())
            .unwrap_or_else(|error| panic!("signed at {signed_at}: {error}"));
    }
}

// --- presigned URLs ------------------------------------------------------------------------------

fn presigned(expires: u64) -> ReceivedRequest {
    sign_with_aws_sigv4(
        "GET",
        "/dev/exports/orders?format=csv",
        &[],
        b"",
        &Signing {
            presign_for: Some(expires),
            ..Signing::default()
        },
    )
}

#[test]
fn an_expired_presigned_url_is_rejected() {
    // Given a URL presigned for five minutes, used six minutes later
    let request = presigned(300);
    let error = verifier()
        .verify(&request.signed(), at("20261122T023513Z"))
        .expect_err("expired");

    assert_eq!(error.kind(), AuthErrorKind::SignatureExpired);
    assert_eq!(
        error.message(),
        "Signature expired: 20261122T022913Z is now earlier than 20261122T023013Z \
         (20261122T023513Z - 5 min.)"
    );
}

#[test]
fn a_presigned_url_honours_an_expiry_shorter_than_five_minutes() {
    // Given a URL presigned for 90 seconds, used two minutes later
    let request = presigned(90);
    let error = verifier()
        .verify(&request.signed(), at("20261122T023113Z"))
        .expect_err("expired");

    assert_eq!(
        error.message(),
        "Signature expired: 20261122T022913Z is now earlier than 20261122T022943Z \
         (20261122T023113Z - 90 sec.)"
    );
}

#[test]
fn a_presigned_url_may_live_longer_than_five_minutes() {
    let request = presigned(3600);
    verifier()
        .verify(&request.signed(), at("20261122T032813Z"))
        .expect("accepted 59 minutes later");
}

#[test]
fn a_presigned_url_valid_for_more_than_a_week_is_rejected() {
    let mut request = presigned(300);
    request.replace_query_parameter("X-Amz-Expires", "604801");

    assert_rejected_with(
        &request,
        AuthErrorKind::IncompleteSignature,
        "X-Amz-Expires must be less than a week (in seconds) that is 604800",
    );
}

#[test]
fn a_presigned_url_without_a_date_names_the_missing_parameter() {
    let mut request = presigned(300);
    request.raw_query = request
        .raw_query
        .split('&')
        .filter(|pair| !pair.starts_with("X-Amz-Date="))
        .collect::<Vec<_>>()
        .join("&");

    assert_rejected_with(
        &request,
        AuthErrorKind::IncompleteSignature,
        "AWS query-string parameters must include 'X-Amz-Date'. Re-examine the query-string \
         parameters.",
    );
}

#[test]
fn a_presigned_url_with_a_changed_parameter_is_rejected() {
    let mut request = presigned(300);
    request.replace_query_parameter("format", "ndjson");
    assert_signature_mismatch(&request);
}

#[test]
fn a_presigned_url_with_an_extended_lifetime_is_rejected() {
    let mut request = presigned(300);
    request.replace_query_parameter("X-Amz-Expires", "3600");
    assert_signature_mismatch(&request);
}
