//! The smoke test's HTTP client: one request at a time to one stage, over HTTPS for a deployed stage
//! and plain HTTP for the local gateway, signed with SigV4 for `execute-api` as every IAM-authorized
//! client must sign, or deliberately not signed, or signed with a wrong secret.
//!
//! The signer is `aws-sigv4`, the one the AWS SDK for Rust uses, and it signs exactly the headers
//! that are sent (`host` included), so a request refused here is refused for its credentials and
//! not for a quirk of this client. Bodies are read frame by frame with the time of the first and the
//! last byte, which is how [`crate::export`] tells a streamed response from a buffered one.

use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, bail};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// The service name API Gateway signs for.
const SERVICE: &str = "execute-api";
/// How long an ordinary call may take: API Gateway's own integration timeout is 29 s.
const CALL_TIMEOUT: Duration = Duration::from_secs(35);
/// How long an export may take: API Gateway ends a streamed response after 15 minutes.
const STREAM_TIMEOUT: Duration = Duration::from_secs(16 * 60);
/// How much of the end of a streamed body is kept (its last line is the NDJSON trailer).
const TAIL_BYTES: usize = 1 << 20;

/// AWS credentials to sign with.
#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// The same access key with a secret that cannot be right.
    pub fn with_wrong_secret(&self) -> Self {
        Self {
            secret_access_key: format!("{}-wrong", self.secret_access_key),
            ..self.clone()
        }
    }
}

/// How a request is authenticated.
#[derive(Debug, Clone, Copy)]
pub enum Signing<'a> {
    /// No `Authorization` header at all.
    Unsigned,
    /// SigV4 with these credentials.
    With(&'a Credentials),
}

/// A whole response.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    /// A header's value, when it is present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The media type without parameters, lowercase (empty when absent).
    pub fn media_type(&self) -> String {
        media_type(&self.headers)
    }

    /// The body as JSON.
    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
        serde_json::from_slice(&self.body).with_context(|| {
            format!(
                "{} with a body that is not JSON: {}",
                self.status,
                String::from_utf8_lossy(&self.body[..self.body.len().min(200)])
            )
        })
    }
}

/// A streamed response: its size and timing, and the end of its body.
#[derive(Debug, Clone)]
pub struct Streamed {
    pub status: StatusCode,
    pub media_type: String,
    /// Body bytes received.
    pub bytes: u64,
    /// Body frames (chunks as they came off the connection).
    pub frames: u64,
    /// From sending the request to the first body byte.
    pub first_byte: Duration,
    /// From sending the request to the last body byte.
    pub last_byte: Duration,
    /// The last bytes of the body (all of it when it is small).
    pub tail: Vec<u8>,
}

fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// One stage of the API: its base URL (stage included), the Region it signs for, and credentials.
#[derive(Debug)]
pub struct Stage {
    base_url: String,
    region: String,
    credentials: Credentials,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Stage {
    pub fn new(base_url: &str, region: &str, credentials: Credentials) -> anyhow::Result<Self> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .context("loading the system's root certificates")?
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new()).build(connector);
        let base_url = base_url.trim_end_matches('/').to_owned();
        let uri: http::Uri = base_url.parse().context("--url is not a URL")?;
        if uri.authority().is_none() || !matches!(uri.scheme_str(), Some("http" | "https")) {
            bail!("--url must be an http:// or https:// URL with a host, got {base_url}");
        }
        Ok(Self {
            base_url,
            region: region.to_owned(),
            credentials,
            client,
        })
    }

    /// The credentials requests are signed with.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Sends `method path` (the path after the stage, query included) with these headers and body,
    /// and reads the whole response.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&serde_json::Value>,
        signing: Signing<'_>,
    ) -> anyhow::Result<Answer> {
        let work = async {
            let response = self.send(method, path, headers, body, signing).await?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await.context("reading the body")?.to_bytes();
            Ok(Answer {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(CALL_TIMEOUT, work)
            .await
            .with_context(|| format!("no answer within {} s", CALL_TIMEOUT.as_secs()))?
    }

    /// A signed GET, read whole.
    pub async fn get(&self, path: &str) -> anyhow::Result<Answer> {
        self.call(
            Method::GET,
            path,
            &[],
            None,
            Signing::With(&self.credentials),
        )
        .await
    }

    /// A signed GET whose body is read as it arrives, keeping its size, timing and last bytes.
    pub async fn stream(&self, path: &str) -> anyhow::Result<Streamed> {
        let work = async {
            let started = Instant::now();
            let response = self
                .send(
                    Method::GET,
                    path,
                    &[],
                    None,
                    Signing::With(&self.credentials),
                )
                .await?;
            let status = response.status();
            let media_type = media_type(response.headers());
            let mut body = response.into_body();
            let mut streamed = Streamed {
                status,
                media_type,
                bytes: 0,
                frames: 0,
                first_byte: Duration::ZERO,
                last_byte: Duration::ZERO,
                tail: Vec::new(),
            };
            while let Some(frame) = body.frame().await {
                let frame = frame.with_context(|| {
                    format!(
                        "the body broke off after {} bytes (a failed transfer)",
                        streamed.bytes
                    )
                })?;
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                if data.is_empty() {
                    continue;
                }
                let now = started.elapsed();
                if streamed.frames == 0 {
                    streamed.first_byte = now;
                }
                streamed.last_byte = now;
                streamed.frames += 1;
                streamed.bytes += data.len() as u64;
                streamed.tail.extend_from_slice(&data);
                if streamed.tail.len() > 2 * TAIL_BYTES {
                    streamed.tail.drain(..streamed.tail.len() - TAIL_BYTES);
                }
            }
            Ok(streamed)
        };
        tokio::time::timeout(STREAM_TIMEOUT, work)
            .await
            .with_context(|| {
                format!(
                    "the export did not end within {} s",
                    STREAM_TIMEOUT.as_secs()
                )
            })?
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&serde_json::Value>,
        signing: Signing<'_>,
    ) -> anyhow::Result<http::Response<hyper::body::Incoming>> {
        let url = format!("{}{path}", self.base_url);
        let uri: http::Uri = url.parse().with_context(|| format!("{url} is not a URL"))?;
        let host = uri.authority().context("a URL with a host")?.to_string();
        let body = match body {
            Some(json) => serde_json::to_vec(json).context("encoding the body")?,
            None => Vec::new(),
        };
        let mut all: Vec<(String, String)> = vec![("host".to_owned(), host)];
        if !body.is_empty() {
            all.push(("content-type".to_owned(), "application/json".to_owned()));
        }
        all.extend(
            headers
                .iter()
                .map(|(name, value)| (name.to_ascii_lowercase(), (*value).to_owned())),
        );
        if let Signing::With(credentials) = signing {
            let signed = self.signature(&method, &url, &all, &body, credentials)?;
            all.extend(signed);
        }
        let mut request = Request::builder().method(method).uri(uri);
        for (name, value) in &all {
            request = request.header(name, value);
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .context("building the request")?;
        self.client
            .request(request)
            .await
            .with_context(|| format!("could not reach {url}"))
    }

    /// The headers that sign the request: `authorization`, `x-amz-date`, and
    /// `x-amz-security-token` with temporary credentials.
    fn signature(
        &self,
        method: &Method,
        url: &str,
        headers: &[(String, String)],
        body: &[u8],
        credentials: &Credentials,
    ) -> anyhow::Result<Vec<(String, String)>> {
        let identity = aws_credential_types::Credentials::new(
            &credentials.access_key_id,
            &credentials.secret_access_key,
            credentials.session_token.clone(),
            None,
            "rill-smoke",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(SERVICE)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .context("incomplete signing parameters")?
            .into();
        let signable = SignableRequest::new(
            method.as_str(),
            url,
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(body),
        )
        .context("a request SigV4 cannot sign")?;
        let (instructions, _signature) = sign(signable, &params)
            .context("signing the request")?
            .into_parts();
        Ok(instructions
            .headers()
            .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_builds_its_https_client_on_the_one_crypto_provider_the_workspace_links() {
        // Given credentials and an https:// stage URL.
        let credentials = Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        };
        // When the stage builds its client (rustls picks its crypto provider from the crate
        // features, and panics when more than one is linked, as aws-lc and ring once were).
        let stage = Stage::new("https://example.com/prod", "us-east-1", credentials);
        // Then it is built.
        assert!(stage.is_ok(), "{stage:?}");
    }
}
