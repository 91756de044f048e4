//! A client for the API behind a test gateway that can send anything: well-formed signed JSON,
//! requests signed by a forged [`Signer`], or raw bytes no HTTP library would produce.
//!
//! Every answer is an [`Answer`] (status, headers, body, and whether the body arrived whole), and
//! every error answer is scanned for leaked internals before a test sees it ([`crate::leaks`]), so
//! each suite checks that no error body leaks anything without having to ask.

use std::time::Duration;

use rill_gateway::testing::{TestGateway, raw_http};
use serde_json::Value;

use crate::leaks;
use crate::signing::Signer;

/// How long a single request may take before a test gives up on it.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A response as the client saw it.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Headers, names lowercase, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// Whether the body ended properly (the terminating chunk of a chunked body, or every byte of
    /// a `Content-Length` body). A failed transfer is `false`.
    pub complete: bool,
}

impl Answer {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the body when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "expected a JSON body ({error}); got {} {}",
                self.status,
                self.text()
            )
        })
    }

    /// Asserts a problem document from a function: this status, `application/problem+json`, type
    /// `urn:rill:problem:<slug>`, and the status repeated in the body. Returns the body.
    pub fn assert_problem(&self, status: u16, slug: &str) -> Value {
        assert_eq!(
            self.status,
            status,
            "expected {status} {slug}; got {} {}",
            self.status,
            self.text()
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.text()
        );
        let body = self.json();
        assert_eq!(body["type"], format!("urn:rill:problem:{slug}"), "{body}");
        assert_eq!(body["status"], status, "{body}");
        assert!(body["title"].is_string(), "{body}");
        body
    }

    /// Asserts a validation problem (400) whose field errors name exactly `fields`, in order.
    pub fn assert_invalid_fields(&self, fields: &[&str]) -> Value {
        let body = self.assert_problem(400, "validation-error");
        let named: Vec<&str> = body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("a validation problem lists its errors: {body}"))
            .iter()
            .map(|e| e["field"].as_str().expect("each error names a field"))
            .collect();
        assert_eq!(named, fields, "{body}");
        body
    }

    /// Asserts an answer from the gateway itself: this status and the JSON body
    /// `{"message": message}`, as API Gateway words it.
    pub fn assert_gateway(&self, status: u16, message: &str) {
        assert_eq!(
            self.status,
            status,
            "expected {status} {message:?}; got {} {}",
            self.status,
            self.text()
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{}",
            self.text()
        );
        assert_eq!(
            self.json(),
            serde_json::json!({ "message": message }),
            "{}",
            self.text()
        );
    }

    /// Asserts a `403` from SigV4 authorization whose message starts with `prefix`.
    pub fn assert_forbidden(&self, prefix: &str) {
        assert_eq!(self.status, 403, "{}", self.text());
        let body = self.json();
        let message = body["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with(prefix),
            "expected a message starting {prefix:?}; got {message:?}"
        );
    }

    fn from_raw(raw: raw_http::RawResponse) -> Self {
        Self {
            status: raw.status,
            headers: raw.headers,
            body: raw.body,
            complete: raw.complete,
        }
    }
}

/// One request to send.
#[derive(Debug, Clone)]
pub struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    signer: Option<Signer>,
}

impl Request {
    /// `method path`, where `path` follows the stage (`/users?limit=5`). Signed with the local
    /// credentials unless told otherwise.
    pub fn new(method: &str, path: &str) -> Self {
        Self {
            method: method.to_owned(),
            path: path.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
            signer: Some(Signer::default()),
        }
    }

    /// A JSON body with `content-type: application/json`.
    pub fn json(self, body: &Value) -> Self {
        self.body_with_type(body.to_string().into_bytes(), "application/json")
    }

    /// A body of any bytes with this content type.
    pub fn body_with_type(mut self, body: Vec<u8>, content_type: &str) -> Self {
        self.body = body;
        self.header("content-type", content_type)
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    /// Sends it without a signature.
    pub fn unsigned(mut self) -> Self {
        self.signer = None;
        self
    }

    /// Signs it with `signer` instead of the local credentials.
    pub fn signed_by(mut self, signer: Signer) -> Self {
        self.signer = Some(signer);
        self
    }
}

/// The API of one test gateway.
#[derive(Debug)]
pub struct Api {
    gateway: TestGateway,
    http: reqwest::Client,
}

impl Api {
    /// A client for `gateway`.
    pub fn new(gateway: TestGateway) -> Self {
        Self {
            gateway,
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .timeout(REQUEST_TIMEOUT)
                .build()
                .expect("an HTTP client"),
        }
    }

    /// The gateway behind this client.
    pub fn gateway(&self) -> &TestGateway {
        &self.gateway
    }

    /// `http://127.0.0.1:PORT/{stage}`.
    pub fn base_url(&self) -> &str {
        &self.gateway.url
    }

    /// The stage path prefix, `/dev`.
    pub fn stage_prefix(&self) -> String {
        let after_scheme = self
            .gateway
            .url
            .split_once("//")
            .map_or(self.gateway.url.as_str(), |(_, rest)| rest);
        after_scheme
            .find('/')
            .map_or_else(String::new, |i| after_scheme[i..].to_owned())
    }

    /// Stops the gateway and every function process.
    pub async fn shutdown(self) {
        self.gateway.shutdown().await;
    }

    /// Sends a request and reads the whole answer. Error bodies are checked for leaks.
    pub async fn send(&self, request: Request) -> Answer {
        // Parsed first, so the signature covers the URL exactly as it goes on the wire (the parser
        // percent-encodes some characters and resolves dot segments).
        let url = reqwest::Url::parse(&format!("{}{}", self.gateway.url, request.path))
            .expect("a valid URL");
        let mut headers = request.headers.clone();
        if let Some(signer) = &request.signer {
            let mut to_sign = headers.clone();
            to_sign.push(("host".to_owned(), self.gateway.authority()));
            headers.extend(signer.headers(&request.method, url.as_str(), &to_sign, &request.body));
        }
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).expect("a method");
        let mut builder = self.http.request(method, url).body(request.body.clone());
        for (name, value) in &headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let response = builder.send().await.expect("the gateway answers");
        let status = response.status().as_u16();
        let response_headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        let mut complete = true;
        let mut response = response;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(_) => {
                    complete = false;
                    break;
                }
            }
        }
        let answer = Answer {
            status,
            headers: response_headers,
            body,
            complete,
        };
        leaks::assert_clean(&answer);
        answer
    }

    /// A signed `GET path`.
    pub async fn get(&self, path: &str) -> Answer {
        self.send(Request::new("GET", path)).await
    }

    /// A signed request with a JSON body.
    pub async fn json(&self, method: &str, path: &str, body: &Value) -> Answer {
        self.send(Request::new(method, path).json(body)).await
    }

    /// Sends `bytes` as they are, and reads the answer off the socket. Error bodies are checked for
    /// leaks.
    pub async fn raw(&self, bytes: &[u8]) -> Answer {
        let answer = Answer::from_raw(
            raw_http::send(&self.gateway.authority(), bytes, REQUEST_TIMEOUT).await,
        );
        leaks::assert_clean(&answer);
        answer
    }

    /// A request built by hand and signed with the local credentials over what can be signed: the
    /// `target` (`/path?query` after the stage, UTF-8) and the `headers` whose values are text.
    /// Headers with other bytes are sent unsigned, as the gateway checks only signed ones. Adds
    /// `host`, `content-length` and `connection: close`.
    pub async fn raw_signed(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &[u8])],
        body: &[u8],
    ) -> Answer {
        let full_target = format!("{}{target}", self.stage_prefix());
        let authority = self.gateway.authority();
        let mut signable: Vec<(String, String)> = headers
            .iter()
            .filter_map(|(n, v)| {
                std::str::from_utf8(v)
                    .ok()
                    .map(|v| (n.to_ascii_lowercase(), v.to_owned()))
            })
            .collect();
        signable.push(("host".to_owned(), authority.clone()));
        let url = format!("http://{authority}{full_target}");
        let auth = Signer::default().headers(method, &url, &signable, body);
        let mut bytes =
            format!("{method} {full_target} HTTP/1.1\r\nhost: {authority}\r\n").into_bytes();
        for (name, value) in headers {
            bytes.extend_from_slice(name.as_bytes());
            bytes.extend_from_slice(b": ");
            bytes.extend_from_slice(value);
            bytes.extend_from_slice(b"\r\n");
        }
        for (name, value) in &auth {
            bytes.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        bytes.extend_from_slice(
            format!(
                "content-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        bytes.extend_from_slice(body);
        self.raw(&bytes).await
    }

    /// Creates a user and returns it; panics unless the answer is a 201.
    pub async fn create_user(&self, email: &str, name: &str) -> Value {
        let answer = self
            .json(
                "POST",
                "/users",
                &serde_json::json!({"email": email, "name": name}),
            )
            .await;
        assert_eq!(answer.status, 201, "creating {email}: {}", answer.text());
        answer.json()
    }

    /// Creates a one-line order for `user_id` and returns it; panics unless the answer is a 201.
    pub async fn create_order(&self, user_id: &str) -> Value {
        let answer = self.json("POST", "/orders", &order_body(user_id)).await;
        assert_eq!(answer.status, 201, "creating an order: {}", answer.text());
        answer.json()
    }

    /// Every item of a listing (`/users`, `/orders?...`), following `nextCursor` to the end.
    pub async fn list_all(&self, path: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut next: Option<String> = None;
        loop {
            let page_path = match &next {
                None => format!("{path}{separator}limit=100"),
                Some(cursor) => format!("{path}{separator}limit=100&cursor={cursor}"),
            };
            let answer = self.get(&page_path).await;
            assert_eq!(answer.status, 200, "listing {page_path}: {}", answer.text());
            let page = answer.json();
            items.extend(page["items"].as_array().expect("items").iter().cloned());
            match page["nextCursor"].as_str() {
                Some(cursor) => next = Some(cursor.to_owned()),
                None => return items,
            }
        }
    }
}

/// A valid `POST /orders` body: one line, EUR.
pub fn order_body(user_id: &str) -> Value {
    serde_json::json!({
        "userId": user_id,
        "currency": "EUR",
        "items": [{"sku": "BOOK-42", "quantity": 2, "unitPrice": 1250}],
    })
}
