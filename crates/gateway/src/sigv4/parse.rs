//! Reading the signature parameters out of a request: the `Authorization` header, or the
//! `X-Amz-*` query parameters of a presigned URL.
//!
//! The checks here run in the order AWS runs them (recorded from real responses by the authors of
//! dynalite, a DynamoDB emulator, for the JSON front end API Gateway shares): both forms at once,
//! then missing parts, then the date format. Later checks (time window, signed headers, algorithm,
//! credential scope) are in the verifier.

use http::HeaderMap;

use super::auth_error::{AuthError, AuthErrorKind};
use super::timestamp::RequestTime;
use crate::request::QueryParameter;

/// Where the client put the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignatureLocation {
    /// `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
    Header,
    /// A presigned URL: `X-Amz-Algorithm`, `X-Amz-Credential`, … in the query string.
    Query,
}

/// The signature parameters of a request, syntactically complete but not yet checked.
#[derive(Debug, Clone)]
pub(crate) struct SignatureParameters {
    pub(crate) location: SignatureLocation,
    pub(crate) algorithm: String,
    pub(crate) credential: String,
    /// Lower-cased, in the client's order. May be empty (then the `host` check fails).
    pub(crate) signed_headers: Vec<String>,
    pub(crate) signature: String,
    pub(crate) time: RequestTime,
    /// `X-Amz-Expires` of a presigned URL, in seconds, as sent (validated by the verifier).
    pub(crate) expires: Option<String>,
    /// `X-Amz-Security-Token`, from the header or (presigned) the query string.
    pub(crate) security_token: Option<String>,
}

impl SignatureParameters {
    /// Whether the session token is covered by the signature: as a signed header, or as a query
    /// parameter (every query parameter but the signature is signed).
    pub(crate) fn security_token_is_signed(&self) -> bool {
        match self.location {
            SignatureLocation::Query => true,
            SignatureLocation::Header => self
                .signed_headers
                .iter()
                .any(|name| name == "x-amz-security-token"),
        }
    }
}

const X_AMZ_DATE: &str = "x-amz-date";
const X_AMZ_SECURITY_TOKEN: &str = "x-amz-security-token";

/// Finds the signature parameters, or says why there are none usable.
pub(crate) fn signature_parameters(
    headers: &HeaderMap,
    query: &[QueryParameter],
) -> Result<SignatureParameters, AuthError> {
    let authorization = headers.get(http::header::AUTHORIZATION);
    let presigned = query_value(query, "X-Amz-Algorithm").is_some()
        || query_value(query, "X-Amz-Signature").is_some()
        || query_value(query, "X-Amz-Credential").is_some();
    match (authorization, presigned) {
        (None, false) => Err(AuthError::missing_authentication_token()),
        (Some(_), true) if query_value(query, "X-Amz-Algorithm").is_some() => Err(AuthError::new(
            AuthErrorKind::InvalidSignature,
            "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as \
                 HTTP header.",
        )),
        (Some(value), _) => from_header(&String::from_utf8_lossy(value.as_bytes()), headers),
        (None, true) => from_query(query, headers),
    }
}

fn from_header(authorization: &str, headers: &HeaderMap) -> Result<SignatureParameters, AuthError> {
    let trimmed = authorization.trim();
    let (algorithm, rest) = trimmed
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((trimmed, ""));
    let is_aws4 = algorithm.starts_with("AWS4-");

    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for token in rest
        .split(|c: char| c == ',' || c.is_ascii_whitespace())
        .filter(|token| !token.is_empty())
    {
        let Some((key, value)) = token.split_once('=') else {
            if is_aws4 {
                return Err(AuthError::new(
                    AuthErrorKind::IncompleteSignature,
                    format!(
                        "'{token}' not a valid key=value pair (missing equal-sign) in \
                         Authorization header: '{authorization}'."
                    ),
                ));
            }
            continue;
        };
        let slot = match key {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(value.to_owned());
        }
    }

    let amz_date = header_text(headers, X_AMZ_DATE);
    let date = header_text(headers, http::header::DATE.as_str());
    let mut missing = String::new();
    if credential.as_deref().is_none_or(str::is_empty) {
        missing.push_str("Authorization header requires 'Credential' parameter. ");
    }
    if signature.as_deref().is_none_or(str::is_empty) {
        missing.push_str("Authorization header requires 'Signature' parameter. ");
    }
    if signed_headers.is_none() {
        missing.push_str("Authorization header requires 'SignedHeaders' parameter. ");
    }
    if amz_date.is_none() && date.is_none() {
        missing.push_str(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' \
             header. ",
        );
    }
    if !missing.is_empty() {
        missing.push_str("Authorization=");
        missing.push_str(authorization);
        return Err(AuthError::new(AuthErrorKind::IncompleteSignature, missing));
    }

    let time = match (amz_date, date) {
        (Some(text), _) => RequestTime::parse_amz_date(&text).ok_or_else(|| bad_date(&text))?,
        (None, Some(text)) => {
            RequestTime::parse_date_header(&text).ok_or_else(|| bad_date(&text))?
        }
        (None, None) => unreachable!("a request without any date was rejected above"),
    };

    Ok(SignatureParameters {
        location: SignatureLocation::Header,
        algorithm: algorithm.to_owned(),
        credential: credential.unwrap_or_default(),
        signed_headers: split_signed_headers(&signed_headers.unwrap_or_default()),
        signature: signature.unwrap_or_default(),
        time,
        expires: None,
        security_token: header_text(headers, X_AMZ_SECURITY_TOKEN),
    })
}

fn from_query(
    query: &[QueryParameter],
    headers: &HeaderMap,
) -> Result<SignatureParameters, AuthError> {
    const REQUIRED: [&str; 5] = [
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Signature",
        "X-Amz-SignedHeaders",
        "X-Amz-Date",
    ];
    let mut missing = String::new();
    for name in REQUIRED {
        if query_value(query, name).is_none_or(|value| value.is_empty()) {
            missing.push_str(&format!(
                "AWS query-string parameters must include '{name}'. "
            ));
        }
    }
    if !missing.is_empty() {
        missing.push_str("Re-examine the query-string parameters.");
        return Err(AuthError::new(AuthErrorKind::IncompleteSignature, missing));
    }
    let value = |name: &str| query_value(query, name).unwrap_or_default();
    let date = value("X-Amz-Date");
    let time = RequestTime::parse_amz_date(&date).ok_or_else(|| bad_date(&date))?;
    Ok(SignatureParameters {
        location: SignatureLocation::Query,
        algorithm: value("X-Amz-Algorithm"),
        credential: value("X-Amz-Credential"),
        signed_headers: split_signed_headers(&value("X-Amz-SignedHeaders")),
        signature: value("X-Amz-Signature"),
        time,
        expires: query_value(query, "X-Amz-Expires"),
        security_token: query_value(query, "X-Amz-Security-Token")
            .or_else(|| header_text(headers, X_AMZ_SECURITY_TOKEN)),
    })
}

fn bad_date(text: &str) -> AuthError {
    AuthError::new(
        AuthErrorKind::IncompleteSignature,
        format!(
            "Date must be in ISO-8601 'basic format'. Got '{text}'. See \
             http://en.wikipedia.org/wiki/ISO_8601"
        ),
    )
}

fn split_signed_headers(list: &str) -> Vec<String> {
    list.split(';')
        .filter(|name| !name.is_empty())
        .map(|name| name.trim().to_ascii_lowercase())
        .collect()
}

/// The first value of a query parameter (names are case-sensitive), decoded.
pub(crate) fn query_value(query: &[QueryParameter], name: &str) -> Option<String> {
    query
        .iter()
        .find(|parameter| parameter.name == name.as_bytes())
        .map(|parameter| String::from_utf8_lossy(&parameter.value).into_owned())
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).trim().to_owned())
}
