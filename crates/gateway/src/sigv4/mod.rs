//! AWS Signature Version 4 verification for the `execute-api` service, as API Gateway performs it
//! for methods with `AWS_IAM` authorization.
//!
//! The local gateway is only useful if a request that works against it works against AWS, and the
//! other way round. So this module re-implements the *server* side of SigV4 the way AWS's front
//! end behaves, not the way a signer library behaves: it rebuilds the canonical request from the
//! request exactly as received (the private `canonical` submodule documents the encoding rules and
//! their evidence), checks the same things in the same order, and fails with API Gateway's exact status
//! and message (see [`AuthError`]). Both signature locations are accepted: the `Authorization`
//! header and the presigned query string (`X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`,
//! `X-Amz-SignedHeaders`, `X-Amz-Signature`, optional `X-Amz-Expires` and
//! `X-Amz-Security-Token`).
//!
//! # Why the canonical request is built here and not by `aws-sigv4`
//!
//! `aws-sigv4` is a *signer*: `aws_sigv4::http_request::sign` decides itself which headers to sign
//! (all but a deny-list), always inserts its own `x-amz-date` and `host`, sorts the signed headers,
//! parses the query with `application/x-www-form-urlencoded` rules (a raw `+` becomes a space) and
//! keeps its canonical request private. A verifier must instead use *the client's*
//! `SignedHeaders` list verbatim, read the time from the request, treat `+` as AWS does, and show
//! the canonical request and string-to-sign in the mismatch message as AWS does. None of that can
//! be expressed through the signer's API, so the canonical request and string-to-sign are built
//! here, while the cryptography comes from `aws-sigv4`:
//! [`generate_signing_key`](aws_sigv4::sign::v4::generate_signing_key) derives the signing key and
//! [`calculate_signature`](aws_sigv4::sign::v4::calculate_signature) computes the HMAC. The final
//! comparison is constant-time ([`subtle`]). The tests sign requests with `aws-sigv4`'s signer,
//! with curl's `--aws-sigv4` and with botocore, and check them against AWS's published test vectors,
//! so any drift between this verifier and real signers shows up as a failing test.
//!
//! # What a request must satisfy, in order
//!
//! 1. An `Authorization` header or a presigned query string, not both.
//! 2. All parts present: `Credential`, `SignedHeaders`, `Signature`, and a date (`X-Amz-Date` or
//!    `Date`); ISO 8601 basic format for `X-Amz-Date`.
//! 3. The request time within five minutes of now (for a presigned URL: not older than
//!    `X-Amz-Expires`, at most a week, and not more than five minutes ahead).
//! 4. `host` among the signed headers; a session token, when sent, signed too.
//! 5. Algorithm `AWS4-HMAC-SHA256`; credential `keyid/date/region/execute-api/aws4_request` with
//!    this gateway's region and the request's date.
//! 6. A known access key id, a matching signature, and the configured session token (if any).

mod auth_error;
mod canonical;
mod parse;
mod signing_key;
mod timestamp;

use std::time::SystemTime;

use subtle::ConstantTimeEq;

pub use crate::credentials::{LocalCredentials, LocalIdentity, VerifiedCaller};
pub use auth_error::{AuthError, AuthErrorKind};

use crate::request::RoutedRequest;
use canonical::{CanonicalInput, canonical_request, sha256_hex};
use parse::{SignatureLocation, SignatureParameters, signature_parameters};
use signing_key::SigningKeys;
use timestamp::{RequestTime, window_text};

/// The only algorithm API Gateway accepts.
const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The credential scope terminator.
const TERMINATOR: &str = "aws4_request";
/// How far a header-signed request's time may be from the server's clock, either way.
const CLOCK_SKEW_SECONDS: u64 = 5 * 60;
/// The longest a presigned URL may live (SigV4 signing keys are valid for seven days).
const MAX_EXPIRES_SECONDS: u64 = 7 * 24 * 60 * 60;

/// Checks SigV4 signatures for one region against a fixed set of local credentials.
#[derive(Debug, Clone)]
pub struct SigV4Verifier {
    region: String,
    service: String,
    principals: Vec<(LocalCredentials, LocalIdentity)>,
    /// Signing keys derived so far (they change once a day per key, Region and service).
    signing_keys: SigningKeys,
}

impl SigV4Verifier {
    /// The signing name of API Gateway's invoke endpoint.
    pub const SERVICE: &'static str = "execute-api";
    /// The region the local gateway pretends to be in unless told otherwise.
    pub const DEFAULT_REGION: &'static str = "us-east-1";

    /// A verifier for `execute-api` in `region` that accepts `credentials` as `identity`.
    pub fn new(
        region: impl Into<String>,
        credentials: LocalCredentials,
        identity: LocalIdentity,
    ) -> Self {
        Self {
            region: region.into(),
            service: Self::SERVICE.to_owned(),
            principals: vec![(credentials, identity)],
            signing_keys: SigningKeys::default(),
        }
    }

    /// The documented local setup: [`LocalCredentials::default`] as [`LocalIdentity::default`]
    /// in [`Self::DEFAULT_REGION`].
    pub fn local_default() -> Self {
        Self::new(
            Self::DEFAULT_REGION,
            LocalCredentials::default(),
            LocalIdentity::default(),
        )
    }

    /// Also accepts `credentials`, reporting them as `identity`. A later access key id that
    /// repeats an earlier one is never used.
    #[must_use]
    pub fn with_principal(
        mut self,
        credentials: LocalCredentials,
        identity: LocalIdentity,
    ) -> Self {
        self.principals.push((credentials, identity));
        self
    }

    /// Verifies signatures for another signing name than `execute-api`. API Gateway only ever
    /// uses `execute-api`; this exists so that AWS's published SigV4 test vectors (signed for the
    /// service `service`) can be run against this verifier unchanged.
    #[must_use]
    pub fn with_service_name(mut self, service: impl Into<String>) -> Self {
        self.service = service.into();
        self
    }

    /// The region signatures must be scoped to.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Verifies `request` as API Gateway would at time `now`, returning who signed it. The
    /// signature covers the request exactly as it arrived: method, raw path (stage included), raw
    /// query, headers and body.
    pub fn verify(
        &self,
        request: &RoutedRequest,
        now: SystemTime,
    ) -> Result<VerifiedCaller, AuthError> {
        let now = RequestTime::from_system_time(now);
        let query = request.query.parameters();
        let parameters = signature_parameters(&request.headers, query)?;

        check_time_window(&parameters, now)?;
        check_signed_headers(&parameters)?;
        if parameters.algorithm != ALGORITHM {
            return Err(AuthError::new(
                AuthErrorKind::IncompleteSignature,
                format!(
                    "Unsupported AWS 'algorithm': '{}' (only {ALGORITHM} for now). ",
                    parameters.algorithm
                ),
            ));
        }
        let scope = self.check_credential_scope(&parameters)?;

        let Some((credentials, identity)) = self
            .principals
            .iter()
            .find(|(credentials, _)| credentials.access_key_id == scope.access_key_id)
        else {
            return Err(AuthError::invalid_security_token());
        };

        let canonical = canonical_request(&CanonicalInput {
            method: request.method.as_str(),
            raw_path: &request.raw_path,
            query,
            headers: &request.headers,
            signed_headers: &parameters.signed_headers,
            body: &request.body,
        });
        let string_to_sign = format!(
            "{ALGORITHM}\n{}\n{}\n{}",
            parameters.time.iso_basic(),
            scope.text,
            sha256_hex(&canonical)
        );
        let signing_key = self.signing_keys.key(
            &credentials.secret_access_key,
            &parameters.time.scope_date(),
            parameters.time.to_system_time(),
            &self.region,
            &self.service,
        );
        let expected =
            aws_sigv4::sign::v4::calculate_signature(signing_key, string_to_sign.as_bytes());
        let matches: bool = expected
            .as_bytes()
            .ct_eq(parameters.signature.as_bytes())
            .into();
        if !matches {
            return Err(AuthError::new(
                AuthErrorKind::SignatureDoesNotMatch,
                format!(
                    "The request signature we calculated does not match the signature you \
                     provided. Check your AWS Secret Access Key and signing method. Consult the \
                     service documentation for details.\n\nThe Canonical String for this request \
                     should have been\n'{}'\n\nThe String-to-Sign should have been\n'{}'\n",
                    String::from_utf8_lossy(&canonical),
                    string_to_sign
                ),
            ));
        }

        check_session_token(credentials, parameters.security_token.as_deref())?;
        Ok(VerifiedCaller::of(credentials, identity))
    }

    /// Checks the five credential elements against this gateway's region and service and the
    /// request's date. AWS reports every wrong element at once, each as a sentence.
    fn check_credential_scope<'p>(
        &self,
        parameters: &'p SignatureParameters,
    ) -> Result<CredentialScope<'p>, AuthError> {
        let credential = parameters.credential.trim_end_matches('/');
        let elements: Vec<&str> = credential.split('/').collect();
        let [access_key_id, date, region, service, terminator] = elements[..] else {
            return Err(AuthError::new(
                AuthErrorKind::IncompleteSignature,
                format!(
                    "Credential must have exactly 5 slash-delimited elements, e.g. \
                     keyid/date/region/service/term, got '{}'",
                    parameters.credential
                ),
            ));
        };
        let mut problems = String::new();
        if region != self.region {
            problems.push_str(&format!(
                "Credential should be scoped to a valid region, not '{region}'. "
            ));
        }
        if service != self.service {
            problems.push_str(&format!(
                "Credential should be scoped to correct service: '{}'. ",
                self.service
            ));
        }
        if terminator != TERMINATOR {
            problems.push_str(&format!(
                "Credential should be scoped with a valid terminator: '{TERMINATOR}', not \
                 '{terminator}'. "
            ));
        }
        let request_date = parameters.time.scope_date();
        if date != request_date {
            problems.push_str(&format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date \
                 from HTTP: '{date}' != '{request_date}', from '{}'. ",
                parameters.time.iso_basic()
            ));
        }
        if !problems.is_empty() {
            return Err(AuthError::new(AuthErrorKind::InvalidSignature, problems));
        }
        Ok(CredentialScope {
            access_key_id,
            text: credential.split_once('/').map_or("", |(_, scope)| scope),
        })
    }
}

/// A checked credential: the key id and the scope `date/region/service/aws4_request`.
#[derive(Debug)]
struct CredentialScope<'p> {
    access_key_id: &'p str,
    text: &'p str,
}

fn check_time_window(parameters: &SignatureParameters, now: RequestTime) -> Result<(), AuthError> {
    let past_window = match (&parameters.location, &parameters.expires) {
        (SignatureLocation::Query, Some(expires)) => {
            let seconds: u64 = expires.parse().map_err(|_| {
                AuthError::new(
                    AuthErrorKind::IncompleteSignature,
                    "X-Amz-Expires should be a number",
                )
            })?;
            if seconds > MAX_EXPIRES_SECONDS {
                return Err(AuthError::new(
                    AuthErrorKind::IncompleteSignature,
                    format!(
                        "X-Amz-Expires must be less than a week (in seconds) that is \
                         {MAX_EXPIRES_SECONDS}"
                    ),
                ));
            }
            seconds
        }
        _ => CLOCK_SKEW_SECONDS,
    };
    let time = parameters.time;
    let earliest = now.minus_seconds(past_window);
    if time < earliest {
        return Err(AuthError::new(
            AuthErrorKind::SignatureExpired,
            format!(
                "Signature expired: {} is now earlier than {} ({} - {}.)",
                time.iso_basic(),
                earliest.iso_basic(),
                now.iso_basic(),
                window_text(past_window)
            ),
        ));
    }
    let latest = now.plus_seconds(CLOCK_SKEW_SECONDS);
    if time > latest {
        return Err(AuthError::new(
            AuthErrorKind::SignatureNotYetCurrent,
            format!(
                "Signature not yet current: {} is still later than {} ({} + {}.)",
                time.iso_basic(),
                latest.iso_basic(),
                now.iso_basic(),
                window_text(CLOCK_SKEW_SECONDS)
            ),
        ));
    }
    Ok(())
}

fn check_signed_headers(parameters: &SignatureParameters) -> Result<(), AuthError> {
    if !parameters.signed_headers.iter().any(|name| name == "host") {
        return Err(AuthError::new(
            AuthErrorKind::InvalidSignature,
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    if parameters.security_token.is_some() && !parameters.security_token_is_signed() {
        return Err(AuthError::new(
            AuthErrorKind::InvalidSignature,
            "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    Ok(())
}

fn check_session_token(
    credentials: &LocalCredentials,
    sent: Option<&str>,
) -> Result<(), AuthError> {
    let valid = match (credentials.session_token.as_deref(), sent) {
        (None, None) => true,
        (Some(expected), Some(sent)) => expected.as_bytes().ct_eq(sent.as_bytes()).into(),
        _ => false,
    };
    if valid {
        Ok(())
    } else {
        Err(AuthError::invalid_security_token())
    }
}
