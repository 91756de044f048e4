//! Test support for handler tests (feature `testing`): REST (v1) API Gateway events built from real
//! event fixtures, and responses read back as JSON.
//!
//! A test starts from a fixture file, the JSON API Gateway sends for one route, and changes only
//! what the case is about (a path parameter, a header, the body). The event then goes through
//! lambda_http's own deserializer, exactly as the runtime would deliver it, so tests see the same
//! `Request` the deployed function sees: stage-prefixed URI, merged header maps, null maps.

use std::path::Path;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lambda_http::http::{HeaderMap, StatusCode};
use lambda_http::{Body, Request, Response};
use rill_core::{
    CreateOrderOutcome, DomainError, IdempotentOrderCreate, Order, OrderFilter, OrderId,
    OrderReader, OrderWriter, Page, PageRequest, User, UserId, UserReader, UserWriter,
};
use serde_json::{Map, Value, json};

/// A REST (v1) proxy event being prepared for one test.
#[derive(Debug, Clone)]
pub struct ApiGatewayEvent(Value);

impl ApiGatewayEvent {
    /// Reads an event fixture. Panics with the path when it is missing or not JSON.
    pub fn fixture(path: impl AsRef<Path>) -> Self {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()));
        Self::from_json(&text)
    }

    /// An event from JSON text.
    pub fn from_json(text: &str) -> Self {
        let value: Value = serde_json::from_str(text).expect("a fixture is a JSON event");
        assert!(value.is_object(), "a fixture is a JSON object");
        Self(value)
    }

    /// The event as JSON.
    pub fn json(&self) -> &Value {
        &self.0
    }

    /// Sets a path parameter, and puts its new value where the old one stood in `path` and
    /// `requestContext.path`.
    pub fn path_param(mut self, name: &str, value: &str) -> Self {
        let old = self.0["pathParameters"][name].as_str().map(str::to_owned);
        if let Some(old) = old.filter(|o| !o.is_empty()) {
            for pointer in ["/path", "/requestContext/path"] {
                if let Some(Value::String(path)) = self.0.pointer_mut(pointer) {
                    *path = path.replace(&old, value);
                }
            }
        }
        object(&mut self.0, "pathParameters").insert(name.to_owned(), json!(value));
        self
    }

    /// Sets a query parameter to one value.
    pub fn query(self, name: &str, value: &str) -> Self {
        self.query_values(name, &[value])
    }

    /// Sets a query parameter to several values, as `?name=a&name=b` arrives.
    pub fn query_values(mut self, name: &str, values: &[&str]) -> Self {
        if let Some(last) = values.last() {
            object(&mut self.0, "queryStringParameters").insert(name.to_owned(), json!(last));
        }
        object(&mut self.0, "multiValueQueryStringParameters")
            .insert(name.to_owned(), json!(values));
        self
    }

    /// Sets a header in both header maps, replacing any value under any spelling of its name.
    pub fn header(self, name: &str, value: &str) -> Self {
        let mut event = self.without_header(name);
        object(&mut event.0, "headers").insert(name.to_owned(), json!(value));
        object(&mut event.0, "multiValueHeaders").insert(name.to_owned(), json!([value]));
        event
    }

    /// Removes a header from both header maps.
    pub fn without_header(mut self, name: &str) -> Self {
        for map in ["headers", "multiValueHeaders"] {
            if let Some(Value::Object(headers)) = self.0.get_mut(map) {
                headers.retain(|key, _| !key.eq_ignore_ascii_case(name));
            }
        }
        self
    }

    /// Sets a text body.
    pub fn body(mut self, body: &str) -> Self {
        self.0["body"] = json!(body);
        self.0["isBase64Encoded"] = json!(false);
        self
    }

    /// Sets a body API Gateway passes base64-encoded (a binary media type).
    pub fn binary_body(mut self, body: &[u8]) -> Self {
        self.0["body"] = json!(STANDARD.encode(body));
        self.0["isBase64Encoded"] = json!(true);
        self
    }

    /// Removes the body.
    pub fn no_body(mut self) -> Self {
        self.0["body"] = Value::Null;
        self
    }

    /// Sets the method, as API Gateway reports it in both places.
    pub fn method(mut self, method: &str) -> Self {
        self.0["httpMethod"] = json!(method);
        object(&mut self.0, "requestContext").insert("httpMethod".into(), json!(method));
        self
    }

    /// Sets the matched resource path, in both places.
    pub fn resource(mut self, resource: &str) -> Self {
        self.0["resource"] = json!(resource);
        object(&mut self.0, "requestContext").insert("resourcePath".into(), json!(resource));
        self
    }

    /// The `Request` lambda_http builds from this event.
    pub fn into_request(self) -> Request {
        lambda_http::request::from_str(&self.0.to_string())
            .expect("lambda_http accepts the event as a REST API event")
    }
}

/// The object at `key`, turning a `null` or missing member into `{}`.
fn object<'a>(value: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    let slot = &mut value[key];
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(map) => map,
        _ => unreachable!("the slot was just made an object"),
    }
}

/// The API Gateway event in `tests/fixtures/<name>` of the crate whose tests call this.
#[macro_export]
macro_rules! fixture {
    ($name:expr) => {
        $crate::testing::ApiGatewayEvent::fixture(format!(
            "{}/tests/fixtures/{}",
            env!("CARGO_MANIFEST_DIR"),
            $name
        ))
    };
}

/// A response, read back for assertions.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body as text; empty when there is none.
    pub text: String,
    /// The body as JSON; `Null` when it is empty or not JSON.
    pub body: Value,
}

impl Reply {
    pub fn from_response(response: Response<Body>) -> Self {
        let (parts, body) = response.into_parts();
        let text = String::from_utf8_lossy(body.as_ref()).into_owned();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Self {
            status: parts.status,
            headers: parts.headers,
            text,
            body,
        }
    }

    /// A header as text, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The problem `type` slug (`not-found` for `urn:rill:problem:not-found`), if this is a problem.
    pub fn problem_slug(&self) -> Option<&str> {
        self.body["type"]
            .as_str()?
            .strip_prefix(crate::problem::PROBLEM_TYPE_PREFIX)
    }

    /// Asserts that this is the generic 503 a store outage gets: `Retry-After: 1`, the `unavailable`
    /// problem, and none of [`UnavailableStore::CAUSE`]'s internals. `what` names the request.
    pub fn assert_unavailable_without_internals(&self, what: &str) {
        assert_eq!(self.status, 503, "{what}");
        assert_eq!(self.header("retry-after"), Some("1"), "{what}");
        assert_eq!(self.problem_slug(), Some("unavailable"), "{what}");
        for secret in ["10.0.7.3", "AKIA", "refused", "os error"] {
            assert!(!self.text.contains(secret), "{what}: {}", self.text);
        }
    }

    /// Asserts that a declared route reached its handler: not a 404 or 405 from routing, and not a
    /// 5xx from a route without a handler.
    pub fn assert_routed(&self, method: &str, resource: &str) {
        assert!(
            self.status.as_u16() < 500 && self.status != 404 && self.status != 405,
            "{method} {resource}: {} {}",
            self.status,
            self.text
        );
    }

    /// The `field` of each entry of a problem's `errors`.
    pub fn error_fields(&self) -> Vec<&str> {
        self.body["errors"]
            .as_array()
            .map(|errors| errors.iter().filter_map(|e| e["field"].as_str()).collect())
            .unwrap_or_default()
    }
}

/// A store that is down: every call fails with [`DomainError::Unavailable`] whose cause reads like
/// an adapter's error with internals in it ([`UnavailableStore::CAUSE`]), so a test can check that
/// the client sees a generic 503 and none of it.
#[derive(Debug, Clone, Copy, Default)]
pub struct UnavailableStore;

impl UnavailableStore {
    /// The cause every call fails with.
    pub const CAUSE: &'static str = "dispatch failure: connection refused (os error 111) to 10.0.7.3:8000 with key AKIAIOSFODNN7EXAMPLE";

    fn down<T>() -> Result<T, DomainError> {
        Err(DomainError::unavailable(Self::CAUSE))
    }
}

#[async_trait]
impl UserReader for UnavailableStore {
    async fn get_user(&self, _: UserId) -> Result<User, DomainError> {
        Self::down()
    }
    async fn list_users(&self, _: PageRequest) -> Result<Page<User>, DomainError> {
        Self::down()
    }
}

#[async_trait]
impl UserWriter for UnavailableStore {
    async fn create_user(&self, _: &User) -> Result<(), DomainError> {
        Self::down()
    }
    async fn update_user(&self, _: &User) -> Result<(), DomainError> {
        Self::down()
    }
    async fn delete_user(&self, _: UserId, _: Option<u64>) -> Result<(), DomainError> {
        Self::down()
    }
}

#[async_trait]
impl OrderReader for UnavailableStore {
    async fn get_order(&self, _: OrderId) -> Result<Order, DomainError> {
        Self::down()
    }
    async fn list_orders(
        &self,
        _: &OrderFilter,
        _: PageRequest,
    ) -> Result<Page<Order>, DomainError> {
        Self::down()
    }
}

#[async_trait]
impl OrderWriter for UnavailableStore {
    async fn create_order(
        &self,
        _: &Order,
        _: Option<&IdempotentOrderCreate>,
    ) -> Result<CreateOrderOutcome, DomainError> {
        Self::down()
    }
    async fn update_order(&self, _: &Order) -> Result<(), DomainError> {
        Self::down()
    }
}
