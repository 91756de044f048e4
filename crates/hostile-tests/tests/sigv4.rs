//! SigV4 through the HTTP server, end to end: each row of the negative matrix is a request a real
//! client could send (signed by `aws-sigv4`, then damaged in exactly one way), answered by the
//! gateway with API Gateway's `403` and its message, before any function runs. A refused write
//! writes nothing. (The verifier's own rules are unit-tested in `crates/gateway/tests/sigv4_*`; this
//! suite checks the server applies them to what it received on the wire.)

use rill_gateway::testing::spawn_gateway;
use rill_hostile_tests::api::{Request, order_body};
use rill_hostile_tests::signing::Signer;
use rill_hostile_tests::stores::SqliteProbe;
use rill_hostile_tests::{Answer, Api};
use serde_json::{Value, json};

const MISMATCH: &str =
    "The request signature we calculated does not match the signature you provided.";

/// A gateway with one user in it.
struct World {
    api: Api,
    store: SqliteProbe,
    user: Value,
}

impl World {
    async fn new() -> Self {
        let api = Api::new(spawn_gateway().await);
        let store = SqliteProbe::in_data_dir(api.gateway().data_dir());
        let user = api.create_user("ada@example.com", "Ada").await;
        Self { api, store, user }
    }

    fn user_path(&self) -> String {
        format!("/users/{}", self.user["id"].as_str().unwrap())
    }

    /// The `authorization` and `x-amz-date` headers that sign `method path` with `headers` and
    /// `body` for this gateway.
    fn signature(
        &self,
        signer: &Signer,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Vec<(String, String)> {
        let mut to_sign: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        to_sign.push(("host".to_owned(), self.api.gateway().authority()));
        let url = format!("{}{path}", self.api.base_url());
        signer.headers(method, &url, &to_sign, body)
    }

    /// Sends `request` unsigned but for `signature`, expects a 403 whose message starts with
    /// `message`, and checks nothing was written.
    async fn forbidden(
        &self,
        request: Request,
        signature: &[(String, String)],
        message: &str,
    ) -> Answer {
        let before = self.store.census();
        let mut request = request.unsigned();
        for (name, value) in signature {
            request = request.header(name, value);
        }
        let answer = self.api.send(request).await;
        answer.assert_forbidden(message);
        assert!(
            answer.header("x-amzn-errortype").is_some(),
            "API Gateway names the error type"
        );
        assert_eq!(self.store.census(), before, "a refused request wrote");
        answer
    }

    async fn finish(self) {
        assert_eq!(self.api.get(&self.user_path()).await.json()["name"], "Ada");
        self.api.shutdown().await;
    }
}

fn new_user_body() -> Vec<u8> {
    json!({"email": "mallory@example.com", "name": "Mallory"})
        .to_string()
        .into_bytes()
}

fn json_post(path: &str, body: Vec<u8>) -> Request {
    Request::new("POST", path).body_with_type(body, "application/json")
}

#[tokio::test]
async fn a_request_without_authorization_is_missing_its_authentication_token() {
    let world = World::new().await;
    world
        .forbidden(
            json_post("/users", new_user_body()),
            &[],
            "Missing Authentication Token",
        )
        .await;
    let answer = world
        .api
        .send(Request::new("GET", &world.user_path()).unsigned())
        .await;
    answer.assert_gateway(403, "Missing Authentication Token");
    world.finish().await;
}

#[tokio::test]
async fn a_partial_authorization_header_is_an_incomplete_signature() {
    let world = World::new().await;
    let body = new_user_body();
    let full = world.signature(
        &Signer::default(),
        "POST",
        "/users",
        &[("content-type", "application/json")],
        &body,
    );
    let authorization = full
        .iter()
        .find(|(n, _)| n == "authorization")
        .unwrap()
        .1
        .clone();
    let date = full
        .iter()
        .find(|(n, _)| n == "x-amz-date")
        .unwrap()
        .clone();
    let without_signature = authorization
        .split(", ")
        .filter(|part| !part.starts_with("Signature="))
        .collect::<Vec<_>>()
        .join(", ");
    for (value, message) in [
        (
            "AWS4-HMAC-SHA256".to_owned(),
            "Authorization header requires 'Credential' parameter.",
        ),
        (
            without_signature,
            "Authorization header requires 'Signature' parameter.",
        ),
    ] {
        world
            .forbidden(
                json_post("/users", body.clone()),
                &[("authorization".to_owned(), value), date.clone()],
                message,
            )
            .await;
    }
    // A complete header without its date.
    world
        .forbidden(
            json_post("/users", body.clone()),
            &[("authorization".to_owned(), authorization)],
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        )
        .await;
    world.finish().await;
}

#[tokio::test]
async fn an_unknown_access_key_id_is_an_invalid_security_token() {
    let world = World::new().await;
    let body = new_user_body();
    let signer = Signer {
        access_key_id: "AKIDSOMEONEELSE00000".to_owned(),
        ..Signer::default()
    };
    let signature = world.signature(
        &signer,
        "POST",
        "/users",
        &[("content-type", "application/json")],
        &body,
    );
    world
        .forbidden(
            json_post("/users", body),
            &signature,
            "The security token included in the request is invalid.",
        )
        .await;
    world.finish().await;
}

#[tokio::test]
async fn a_wrong_secret_is_a_signature_mismatch() {
    let world = World::new().await;
    let body = new_user_body();
    let signer = Signer {
        secret_access_key: "not-the-secret".to_owned(),
        ..Signer::default()
    };
    let signature = world.signature(
        &signer,
        "POST",
        "/users",
        &[("content-type", "application/json")],
        &body,
    );
    world
        .forbidden(json_post("/users", body), &signature, MISMATCH)
        .await;
    world.finish().await;
}

#[tokio::test]
async fn a_tampered_method_is_a_signature_mismatch() {
    // Signed as a read of the user, sent as its deletion
    let world = World::new().await;
    let path = world.user_path();
    let signature = world.signature(&Signer::default(), "GET", &path, &[], &[]);
    world
        .forbidden(Request::new("DELETE", &path), &signature, MISMATCH)
        .await;
    world.finish().await;
}

#[tokio::test]
async fn a_tampered_path_is_a_signature_mismatch() {
    // Signed for one user, sent to change another
    let world = World::new().await;
    let other = world.api.create_user("grace@example.com", "Grace").await;
    let other_path = format!("/users/{}", other["id"].as_str().unwrap());
    let body = json!({"name": "Mallory"}).to_string().into_bytes();
    let headers = [("content-type", "application/json")];
    let signature = world.signature(&Signer::default(), "PATCH", &other_path, &headers, &body);
    world
        .forbidden(
            Request::new("PATCH", &world.user_path()).body_with_type(body, "application/json"),
            &signature,
            MISMATCH,
        )
        .await;
    assert_eq!(world.api.get(&other_path).await.json()["name"], "Grace");
    world.finish().await;
}

#[tokio::test]
async fn a_tampered_query_is_a_signature_mismatch() {
    let world = World::new().await;
    let signature = world.signature(&Signer::default(), "GET", "/users?limit=1", &[], &[]);
    world
        .forbidden(
            Request::new("GET", "/users?limit=100"),
            &signature,
            MISMATCH,
        )
        .await;
    world
        .forbidden(
            Request::new("GET", "/users?limit=1&cursor=x"),
            &signature,
            MISMATCH,
        )
        .await;
    world.finish().await;
}

#[tokio::test]
async fn a_tampered_signed_header_is_a_signature_mismatch() {
    let world = World::new().await;
    let body = order_body(world.user["id"].as_str().unwrap())
        .to_string()
        .into_bytes();
    let headers = [
        ("content-type", "application/json"),
        ("idempotency-key", "first"),
    ];
    let signature = world.signature(&Signer::default(), "POST", "/orders", &headers, &body);
    world
        .forbidden(
            json_post("/orders", body.clone()).header("idempotency-key", "second"),
            &signature,
            MISMATCH,
        )
        .await;
    // Dropping a signed header is a mismatch too.
    world
        .forbidden(json_post("/orders", body), &signature, MISMATCH)
        .await;
    world.finish().await;
}

#[tokio::test]
async fn a_tampered_body_is_a_signature_mismatch() {
    let world = World::new().await;
    let body = new_user_body();
    let headers = [("content-type", "application/json")];
    let signature = world.signature(&Signer::default(), "POST", "/users", &headers, &body);
    let forged = json!({"email": "mallory@example.com", "name": "Mallory the Admin"})
        .to_string()
        .into_bytes();
    world
        .forbidden(json_post("/users", forged), &signature, MISMATCH)
        .await;
    world.finish().await;
}

#[tokio::test]
async fn a_signature_older_than_the_clock_skew_window_has_expired() {
    let world = World::new().await;
    let body = new_user_body();
    let headers = [("content-type", "application/json")];
    let old = Signer::default().shifted(-16 * 60);
    let signature = world.signature(&old, "POST", "/users", &headers, &body);
    world
        .forbidden(json_post("/users", body), &signature, "Signature expired:")
        .await;
    world.finish().await;
}

#[tokio::test]
async fn a_signature_dated_in_the_future_is_not_yet_current() {
    let world = World::new().await;
    let body = new_user_body();
    let headers = [("content-type", "application/json")];
    let future = Signer::default().shifted(16 * 60);
    let signature = world.signature(&future, "POST", "/users", &headers, &body);
    world
        .forbidden(
            json_post("/users", body),
            &signature,
            "Signature not yet current:",
        )
        .await;
    world.finish().await;
}

#[tokio::test]
async fn a_credential_scoped_to_another_service_or_region_is_refused() {
    let world = World::new().await;
    let body = new_user_body();
    let headers = [("content-type", "application/json")];
    let other_service = Signer {
        service: "s3".to_owned(),
        ..Signer::default()
    };
    let signature = world.signature(&other_service, "POST", "/users", &headers, &body);
    world
        .forbidden(
            json_post("/users", body.clone()),
            &signature,
            "Credential should be scoped to correct service: 'execute-api'.",
        )
        .await;
    let other_region = Signer {
        region: "eu-west-1".to_owned(),
        ..Signer::default()
    };
    let signature = world.signature(&other_region, "POST", "/users", &headers, &body);
    world
        .forbidden(
            json_post("/users", body),
            &signature,
            "Credential should be scoped to a valid region, not 'eu-west-1'.",
        )
        .await;
    world.finish().await;
}

#[tokio::test]
async fn a_replayed_signature_with_a_changed_body_is_refused_and_writes_nothing() {
    // Given a signed request that was accepted
    let world = World::new().await;
    let body = new_user_body();
    let headers = [("content-type", "application/json")];
    let signature = world.signature(&Signer::default(), "POST", "/users", &headers, &body);
    let mut accepted = json_post("/users", body).unsigned();
    for (name, value) in &signature {
        accepted = accepted.header(name, value);
    }
    assert_eq!(world.api.send(accepted).await.status, 201);

    // When an eavesdropper replays its signature on another body
    let forged = json!({"email": "eve@example.com", "name": "Eve"})
        .to_string()
        .into_bytes();
    world
        .forbidden(json_post("/users", forged), &signature, MISMATCH)
        .await;

    // Then only the original user was created
    let emails: Vec<Value> = world
        .api
        .list_all("/users")
        .await
        .into_iter()
        .map(|u| u["email"].clone())
        .collect();
    assert!(!emails.contains(&json!("eve@example.com")), "{emails:?}");
    world.finish().await;
}
