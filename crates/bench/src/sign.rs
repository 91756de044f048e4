//! SigV4 for the benchmark's requests, with the local gateway's documented credentials.
//!
//! Every Rill route requires IAM authorization, so every benchmark request carries a real signature
//! that the gateway verifies in full. The load client signs once per run, before the timed phase:
//! SigV4 has no nonce and API Gateway accepts a signed request again within its five-minute window,
//! so reusing the headers costs the gateway exactly what fresh ones would, while the client's HMAC
//! work stays out of the measurement (client and server share two cores). [`presigned_url`] gives
//! `wrk` the same thing as a query string, since it cannot sign.

use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningInstructions, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use rill_gateway::settings::{DEFAULT_REGION, LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY};

/// The service name API Gateway signs for.
const SERVICE: &str = "execute-api";

/// Signs a bodiless request with only the `host` header, with `settings`.
fn sign_request(
    method: &str,
    url: &str,
    settings: SigningSettings,
) -> anyhow::Result<SigningInstructions> {
    let uri: http::Uri = url.parse().context("a benchmark URL")?;
    let host = uri.authority().context("a URL with a host")?.to_string();
    let identity = Credentials::new(
        LOCAL_ACCESS_KEY_ID,
        LOCAL_SECRET_ACCESS_KEY,
        None,
        None,
        "rill-bench",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(DEFAULT_REGION)
        .name(SERVICE)
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .context("incomplete signing parameters")?
        .into();
    let signable = SignableRequest::new(
        method,
        url,
        std::iter::once(("host", host.as_str())),
        SignableBody::Bytes(&[]),
    )?;
    let (instructions, _) = sign(signable, &params)?.into_parts();
    Ok(instructions)
}

/// The `authorization` and `x-amz-date` headers (lowercase names) that sign a bodiless `method url`
/// with only the `host` header.
pub fn signed_headers(method: &str, url: &str) -> anyhow::Result<Vec<(String, String)>> {
    let instructions = sign_request(method, url, SigningSettings::default())?;
    Ok(instructions
        .headers()
        .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
        .collect())
}

/// `url` presigned for GET (signature in the query string), valid for `expires`.
pub fn presigned_url(url: &str, expires: Duration) -> anyhow::Result<String> {
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(expires);
    let instructions = sign_request("GET", url, settings)?;
    let mut request = http::Request::builder().uri(url).body(())?;
    instructions.apply_to_request_http1x(&mut request);
    Ok(request.uri().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_signing_gives_an_authorization_for_the_local_key_and_a_date() {
        let headers = signed_headers("GET", "http://127.0.0.1:3000/dev/users/x").unwrap();
        let auth = &headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .unwrap()
            .1;
        assert!(auth.starts_with(&format!(
            "AWS4-HMAC-SHA256 Credential={LOCAL_ACCESS_KEY_ID}/"
        )));
        assert!(auth.contains("/us-east-1/execute-api/aws4_request"));
        assert!(auth.contains("SignedHeaders=host;x-amz-date"));
        assert!(headers.iter().any(|(k, _)| k == "x-amz-date"));
    }

    #[test]
    fn a_presigned_url_keeps_the_path_and_carries_the_signature_and_expiry() {
        let url = presigned_url(
            "http://127.0.0.1:3000/dev/users/x",
            Duration::from_secs(3600),
        )
        .unwrap();
        assert!(url.starts_with("http://127.0.0.1:3000/dev/users/x?"));
        for part in [
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            "X-Amz-Expires=3600",
            "X-Amz-Signature=",
            "X-Amz-SignedHeaders=host",
        ] {
            assert!(url.contains(part), "{url} lacks {part}");
        }
    }
}
