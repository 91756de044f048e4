//! Shared helpers for the SigV4 tests: fixed clocks, requests as a server receives them, and a
//! real signer (`aws-sigv4`) to produce signatures.

#![allow(dead_code)] // Each test binary uses a different subset.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use http::{HeaderMap, HeaderName, HeaderValue};
use rill_gateway::request::RoutedRequest;
use rill_gateway::sigv4::{LocalCredentials, LocalIdentity, SigV4Verifier};

/// The authority the local gateway listens on; clients sign it as the `host` header.
pub const HOST: &str = "127.0.0.1:3000";

/// 2026-11-22T02:29:13Z, the clock of most tests.
pub fn now() -> SystemTime {
    at("20261122T022913Z")
}

/// Parses an ISO 8601 basic timestamp (`20261122T022913Z`) into a `SystemTime`.
pub fn at(iso_basic: &str) -> SystemTime {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let parsed = time::PrimitiveDateTime::parse(iso_basic, format)
        .expect("test timestamps are ISO 8601 basic")
        .assume_utc();
    SystemTime::UNIX_EPOCH + Duration::from_secs(parsed.unix_timestamp() as u64)
}

/// The documented local verifier.
pub fn verifier() -> SigV4Verifier {
    SigV4Verifier::local_default()
}

/// A request exactly as the gateway's server would see it.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    pub method: String,
    pub raw_path: String,
    pub raw_query: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl ReceivedRequest {
    /// Builds a request from a request target (`/path?query`) and header pairs.
    pub fn new(method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Self {
        let (raw_path, raw_query) = target.split_once('?').unwrap_or((target, ""));
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).expect("test header names are valid"),
                HeaderValue::from_str(value).expect("test header values are valid"),
            );
        }
        Self {
            method: method.to_owned(),
            raw_path: raw_path.to_owned(),
            raw_query: raw_query.to_owned(),
            headers: map,
            body: body.to_vec(),
        }
    }

    pub fn signed(&self) -> RoutedRequest {
        RoutedRequest::received(
            http::Method::from_bytes(self.method.as_bytes()).expect("a method"),
            &self.raw_path,
            &self.raw_query,
            self.headers.clone(),
            self.body.clone(),
        )
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_else(|| panic!("the request has a {name} header"))
    }

    pub fn set_header(&mut self, name: &str, value: &str) {
        self.headers.insert(
            HeaderName::from_bytes(name.as_bytes()).expect("valid header name"),
            HeaderValue::from_str(value).expect("valid header value"),
        );
    }

    /// The value of `X-Amz-*` query parameter `name` (undecoded).
    pub fn query_parameter(&self, name: &str) -> Option<&str> {
        self.raw_query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value)
    }

    /// Replaces the value of query parameter `name` (undecoded) everywhere it appears.
    pub fn replace_query_parameter(&mut self, name: &str, value: &str) {
        self.raw_query = self
            .raw_query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key == name => format!("{key}={value}"),
                _ => pair.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&");
    }
}

/// How a test wants `aws-sigv4` to sign.
#[derive(Debug, Clone)]
pub struct Signing<'a> {
    pub credentials: LocalCredentials,
    pub region: &'a str,
    pub service: &'a str,
    pub time: SystemTime,
    /// `Some(seconds)` presigns (query string) with that `X-Amz-Expires`.
    pub presign_for: Option<u64>,
}

impl Default for Signing<'_> {
    fn default() -> Self {
        Self {
            credentials: LocalCredentials::default(),
            region: "us-east-1",
            service: "execute-api",
            time: now(),
            presign_for: None,
        }
    }
}

/// Signs a request with the `aws-sigv4` crate's signer, the way the Rust SDK signs `execute-api`
/// calls, and returns it as the gateway would receive it (with the `Host` header an HTTP client
/// adds from the URL).
pub fn sign_with_aws_sigv4(
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    signing: &Signing<'_>,
) -> ReceivedRequest {
    let credentials = Credentials::new(
        signing.credentials.access_key_id.clone(),
        signing.credentials.secret_access_key.clone(),
        signing.credentials.session_token.clone(),
        None,
        "rill-gateway-tests",
    );
    let identity = credentials.into();
    let mut settings = SigningSettings::default();
    if let Some(seconds) = signing.presign_for {
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(seconds));
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(signing.region)
        .name(signing.service)
        .time(signing.time)
        .settings(settings)
        .build()
        .expect("complete signing parameters")
        .into();
    let url = format!("http://{HOST}{target}");
    let signable = SignableRequest::new(
        method,
        url.as_str(),
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )
    .expect("a signable request");
    let (instructions, _signature) = sign(signable, &params)
        .expect("aws-sigv4 signs the request")
        .into_parts();

    let mut request = http::Request::builder().method(method).uri(url.as_str());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut request = request.body(()).expect("a valid request");
    instructions.apply_to_request_http1x(&mut request);

    let mut received = ReceivedRequest::new(method, "/", &[("host", HOST)], body);
    let uri = request.uri().clone();
    received.raw_path = uri.path().to_owned();
    received.raw_query = uri.query().unwrap_or("").to_owned();
    for (name, value) in request.headers() {
        received.headers.append(name.clone(), value.clone());
    }
    received
}

/// A verifier that also accepts `credentials` (e.g. with a session token) as the local user.
pub fn verifier_for(credentials: LocalCredentials) -> SigV4Verifier {
    SigV4Verifier::new("us-east-1", credentials, LocalIdentity::default())
}
