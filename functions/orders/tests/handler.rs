//! Orders through [`orders::handler`] as Lambda would call it, minus the runtime: API Gateway REST
//! events recorded in `tests/fixtures`, parsed by lambda_http, answered on a SQLite store that
//! `config::deps` was wired with, in a directory that each test gets afresh.

use std::collections::HashSet;

use orders::{Deps, config, handler, routes};
use rill_core::{NewUser, OrderId, Timestamp, users};
use rill_entry::testing::{WiredOnSqlite, wired_on_unavailable_store};
use rill_http::testing::{ApiGatewayEvent, Reply};
use serde_json::{Value, json};

/// A test's view of the orders function: its handler, and the store under it.
struct Api {
    wired: WiredOnSqlite<Deps>,
}

impl Api {
    async fn start() -> Self {
        let wired = WiredOnSqlite::start(config::deps).await;
        Api { wired }
    }

    async fn send(&self, event: ApiGatewayEvent) -> Reply {
        let response = handler(&self.wired.deps, event.into_request()).await;
        Reply::from_response(response.expect("the handler never errs"))
    }

    /// Stores a user directly through the use case and returns its id.
    async fn user(&self, email: &str) -> String {
        let input = NewUser::parse(email, "Buyer").unwrap();
        let user = users::create(&*self.wired.store, input, Timestamp::now())
            .await
            .unwrap();
        user.id.to_string()
    }

    /// Creates an order for the user through the API, without an idempotency key.
    async fn order(&self, user_id: &str) -> Value {
        let reply = self
            .send(
                fixture("post-orders.json")
                    .without_header("Idempotency-Key")
                    .body(&order_body(user_id, 1)),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        reply.body
    }
}

fn fixture(name: &str) -> ApiGatewayEvent {
    rill_http::fixture!(name)
}

fn order_body(user_id: &str, quantity: i64) -> String {
    json!({
        "userId": user_id,
        "currency": "EUR",
        "items": [{"sku": "BOOK-42", "quantity": quantity, "unitPrice": 1250}],
    })
    .to_string()
}

/// The fixture's body, for a user that exists.
fn fixture_body_for(user_id: &str) -> String {
    let event = fixture("post-orders.json");
    let mut body: Value = serde_json::from_str(event.json()["body"].as_str().unwrap()).unwrap();
    body["userId"] = json!(user_id);
    body.to_string()
}

fn id_of(value: &Value) -> &str {
    value["id"].as_str().unwrap()
}

fn ids(reply: &Reply) -> Vec<String> {
    reply.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| id_of(o).to_owned())
        .collect()
}

// ---- POST /orders

#[tokio::test]
async fn creating_an_order_answers_201_with_the_computed_total_etag_and_location() {
    let api = Api::start().await;
    let user = api.user("ann@example.com").await;

    let reply = api
        .send(fixture("post-orders.json").body(&fixture_body_for(&user)))
        .await;

    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("etag"), Some("\"1\""));
    assert_eq!(reply.header("idempotent-replayed"), None);
    let id = id_of(&reply.body);
    assert!(OrderId::parse("id", id).is_ok());
    assert_eq!(
        reply.header("location"),
        Some(format!("/dev/orders/{id}").as_str())
    );
    assert_eq!(reply.body["userId"], user.as_str());
    assert_eq!(reply.body["currency"], "EUR");
    assert_eq!(reply.body["total"], 2 * 1250 + 199);
    assert_eq!(reply.body["status"], "pending");
    assert_eq!(reply.body["version"], 1);
    assert_eq!(
        reply.body["items"],
        json!([
            {"sku": "BOOK-42", "quantity": 2, "unitPrice": 1250},
            {"sku": "PEN.BLUE", "quantity": 1, "unitPrice": 199},
        ])
    );
}

#[tokio::test]
async fn a_retry_with_the_same_key_and_body_replays_the_first_order() {
    let api = Api::start().await;
    let user = api.user("ann@example.com").await;
    let first = api
        .send(fixture("post-orders.json").body(&fixture_body_for(&user)))
        .await;

    // The same request, spelled with other spacing and key order.
    let mut body: Value = serde_json::from_str(&fixture_body_for(&user)).unwrap();
    let items = body["items"].take();
    let respelled =
        format!("{{ \"items\" : {items}, \"currency\":\"EUR\",\n \"userId\": \"{user}\" }}");
    let retry = api.send(fixture("post-orders.json").body(&respelled)).await;

    assert_eq!(first.status, 201);
    assert_eq!(retry.status, 201, "{}", retry.text);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.body, first.body);
    assert_eq!(retry.header("etag"), first.header("etag"));
    assert_eq!(retry.header("location"), first.header("location"));
    let all = api.send(fixture("get-orders.json")).await;
    assert_eq!(ids(&all), [id_of(&first.body)]);
}

#[tokio::test]
async fn the_same_key_with_a_different_body_is_a_422() {
    let api = Api::start().await;
    let user = api.user("ann@example.com").await;
    let first = api
        .send(fixture("post-orders.json").body(&order_body(&user, 1)))
        .await;

    let reused = api
        .send(fixture("post-orders.json").body(&order_body(&user, 2)))
        .await;

    assert_eq!(first.status, 201);
    assert_eq!(reused.status, 422);
    assert_eq!(reused.problem_slug(), Some("idempotency-key-reused"));
}

#[tokio::test]
async fn without_a_key_each_post_creates_a_new_order() {
    let api = Api::start().await;
    let user = api.user("ann@example.com").await;

    let first = api.order(&user).await;
    let second = api.order(&user).await;

    assert_ne!(id_of(&first), id_of(&second));
}

#[tokio::test]
async fn a_malformed_idempotency_key_is_a_400_on_the_header() {
    let api = Api::start().await;
    let user = api.user("ann@example.com").await;

    for key in ["has space".to_owned(), "k".repeat(256)] {
        let reply = api
            .send(
                fixture("post-orders.json")
                    .header("Idempotency-Key", &key)
                    .body(&order_body(&user, 1)),
            )
            .await;
        assert_eq!(reply.status, 400, "{key}");
        assert_eq!(reply.error_fields(), ["Idempotency-Key"]);
    }
}

#[tokio::test]
async fn an_order_for_a_user_that_does_not_exist_is_a_400_on_user_id() {
    let api = Api::start().await;

    let reply = api.send(fixture("post-orders.json")).await;

    assert_eq!(reply.status, 400, "{}", reply.text);
    assert_eq!(reply.error_fields(), ["userId"]);
}

#[tokio::test]
async fn every_invalid_field_of_an_order_is_reported_with_its_path() {
    let api = Api::start().await;
    let user = api.user("ann@example.com").await;
    let body = json!({
        "userId": user,
        "currency": "eur",
        "items": [
            {"sku": "OK", "quantity": 0, "unitPrice": 100},
            {"sku": "", "quantity": 1, "unitPrice": -5},
        ],
    });

    let reply = api
        .send(fixture("post-orders.json").body(&body.to_string()))
        .await;

    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.error_fields(),
        [
            "currency",
            "items[0].quantity",
            "items[1].sku",
            "items[1].unitPrice"
        ]
    );
}

#[tokio::test]
async fn an_order_without_items_is_a_400_on_items() {
    let api = Api::start().await;
    let user = api.user("ann@example.com").await;
    let body = json!({"userId": user, "currency": "EUR", "items": []});

    let reply = api
        .send(fixture("post-orders.json").body(&body.to_string()))
        .await;

    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_fields(), ["items"]);
}

#[tokio::test]
async fn a_client_sent_total_or_status_is_an_unknown_field() {
    let api = Api::start().await;
    let user = api.user("ann@example.com").await;

    for (field, value) in [("total", json!(1)), ("status", json!("paid"))] {
        let mut body: Value = serde_json::from_str(&order_body(&user, 1)).unwrap();
        body[field] = value;
        let reply = api
            .send(fixture("post-orders.json").body(&body.to_string()))
            .await;
        assert_eq!(reply.status, 400);
        assert_eq!(reply.error_fields(), [field]);
    }
}

#[tokio::test]
async fn a_price_of_the_wrong_type_is_a_400_naming_the_line() {
    let api = Api::start().await;
    let user = api.user("ann@example.com").await;
    let body = json!({
        "userId": user,
        "currency": "EUR",
        "items": [{"sku": "A", "quantity": 1, "unitPrice": 1}, {"sku": "B", "quantity": 1, "unitPrice": "12.50"}],
    });

    let reply = api
        .send(fixture("post-orders.json").body(&body.to_string()))
        .await;

    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_fields(), ["items[1].unitPrice"]);
    assert_eq!(reply.body["errors"][0]["message"], "must be a whole number");
}

#[tokio::test]
async fn malformed_json_is_a_400() {
    let api = Api::start().await;

    let reply = api
        .send(fixture("post-orders.json").body(r#"{"userId": "x", "items": [}"#))
        .await;

    assert_eq!(reply.status, 400);
    assert_eq!(reply.problem_slug(), Some("validation-error"));
    assert_eq!(reply.error_fields(), [""]);
}

// ---- GET /orders/{orderId}

#[tokio::test]
async fn an_order_is_read_back_with_its_etag() {
    let api = Api::start().await;
    let user = api.user("ann@example.com").await;
    let order = api.order(&user).await;

    let reply = api
        .send(fixture("get-order.json").path_param("orderId", id_of(&order)))
        .await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, order);
    assert_eq!(reply.header("etag"), Some("\"1\""));
}

#[tokio::test]
async fn an_unknown_order_is_a_404_and_a_malformed_id_a_400() {
    let api = Api::start().await;

    let unknown = api.send(fixture("get-order.json")).await;
    let malformed = api
        .send(fixture("get-order.json").path_param("orderId", "42"))
        .await;

    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.problem_slug(), Some("not-found"));
    assert_eq!(malformed.status, 400);
    assert_eq!(malformed.error_fields(), ["orderId"]);
}

// ---- GET /orders

#[tokio::test]
async fn orders_are_filtered_by_status_and_user() {
    let api = Api::start().await;
    let ann = api.user("ann@example.com").await;
    let bob = api.user("bob@example.com").await;
    let ann_pending = api.order(&ann).await;
    let ann_paid = api.order(&ann).await;
    let bob_pending = api.order(&bob).await;
    let paid = api
        .send(
            fixture("patch-order.json")
                .path_param("orderId", id_of(&ann_paid))
                .body(r#"{"status":"paid"}"#),
        )
        .await;
    assert_eq!(paid.status, 200, "{}", paid.text);

    let pending = api.send(fixture("get-orders.json")).await;
    let anns = api
        .send(
            fixture("get-orders.json")
                .query("userId", &ann)
                .query("status", "paid"),
        )
        .await;

    assert_eq!(pending.status, 200, "{}", pending.text);
    assert_eq!(
        ids(&pending).into_iter().collect::<HashSet<_>>(),
        HashSet::from([
            id_of(&ann_pending).to_owned(),
            id_of(&bob_pending).to_owned()
        ])
    );
    assert_eq!(ids(&anns), [id_of(&ann_paid)]);
    assert_eq!(anns.body["items"][0]["status"], "paid");
}

#[tokio::test]
async fn pages_of_orders_return_every_order_exactly_once() {
    let api = Api::start().await;
    let user = api.user("ann@example.com").await;
    let mut created = HashSet::new();
    for _ in 0..5 {
        created.insert(id_of(&api.order(&user).await).to_owned());
    }

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut event = fixture("get-orders.json").query("limit", "2");
        if let Some(cursor) = &cursor {
            event = event.query("cursor", cursor);
        }
        let reply = api.send(event).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        seen.extend(ids(&reply));
        match reply.body["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }

    assert_eq!(seen.len(), 5);
    assert_eq!(seen.into_iter().collect::<HashSet<_>>(), created);
}

#[tokio::test]
async fn a_cursor_from_one_filter_is_a_400_under_another() {
    let api = Api::start().await;
    let user = api.user("ann@example.com").await;
    for _ in 0..3 {
        api.order(&user).await;
    }
    let first = api
        .send(fixture("get-orders.json").query("limit", "1"))
        .await;
    let cursor = first.body["nextCursor"].as_str().unwrap();

    let reply = api
        .send(
            fixture("get-orders.json")
                .query("status", "paid")
                .query("cursor", cursor),
        )
        .await;

    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_fields(), ["cursor"]);
}

#[tokio::test]
async fn every_bad_listing_parameter_is_reported_at_once() {
    let api = Api::start().await;

    let reply = api
        .send(
            fixture("get-orders.json")
                .query("userId", "ann")
                .query("status", "lost")
                .query("limit", "1000"),
        )
        .await;

    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_fields(), ["userId", "status", "limit"]);
}

// ---- PATCH /orders/{orderId}

#[tokio::test]
async fn paying_an_order_with_the_current_etag_answers_the_new_version() {
    let api = Api::start().await;
    let user = api.user("ann@example.com").await;
    let order = api.order(&user).await;

    let reply = api
        .send(fixture("patch-order.json").path_param("orderId", id_of(&order)))
        .await;

    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["status"], "paid");
    assert_eq!(reply.body["version"], 2);
    assert_eq!(reply.header("etag"), Some("\"2\""));
    assert_eq!(reply.body["total"], order["total"]);
}

#[tokio::test]
async fn an_order_moves_through_its_life_and_no_further() {
    let api = Api::start().await;
    let user = api.user("ann@example.com").await;
    let order = api.order(&user).await;
    let patch = |status: &str, version: u64| {
        fixture("patch-order.json")
            .path_param("orderId", id_of(&order))
            .header("If-Match", &format!("\"{version}\""))
            .body(&json!({ "status": status }).to_string())
    };

    for (version, status) in [(1, "paid"), (2, "shipped"), (3, "delivered")] {
        let reply = api.send(patch(status, version)).await;
        assert_eq!(reply.status, 200, "{status}: {}", reply.text);
        assert_eq!(reply.body["status"], status);
    }
    let cancel = api.send(patch("cancelled", 4)).await;

    assert_eq!(cancel.status, 409);
    assert_eq!(cancel.problem_slug(), Some("conflict"));
    assert_eq!(
        cancel.body["detail"],
        "An order that is delivered cannot become cancelled."
    );
}

#[tokio::test]
async fn a_transition_the_status_machine_forbids_is_a_409() {
    let api = Api::start().await;
    let user = api.user("ann@example.com").await;
    let order = api.order(&user).await;

    let reply = api
        .send(
            fixture("patch-order.json")
                .path_param("orderId", id_of(&order))
                .body(r#"{"status":"delivered"}"#),
        )
        .await;

    assert_eq!(reply.status, 409);
}

#[tokio::test]
async fn a_stale_if_match_is_a_412_and_changes_nothing() {
    let api = Api::start().await;
    let user = api.user("ann@example.com").await;
    let order = api.order(&user).await;
    let id = id_of(&order);
    let paid = api
        .send(fixture("patch-order.json").path_param("orderId", id))
        .await;
    assert_eq!(paid.status, 200);

    let stale = api
        .send(
            fixture("patch-order.json")
                .path_param("orderId", id)
                .body(r#"{"status":"cancelled"}"#),
        )
        .await;

    assert_eq!(stale.status, 412);
    assert_eq!(stale.problem_slug(), Some("precondition-failed"));
    let now = api
        .send(fixture("get-order.json").path_param("orderId", id))
        .await;
    assert_eq!(now.body["status"], "paid");
}

#[tokio::test]
async fn a_malformed_if_match_is_a_400_on_if_match() {
    let api = Api::start().await;
    let user = api.user("ann@example.com").await;
    let order = api.order(&user).await;

    let reply = api
        .send(
            fixture("patch-order.json")
                .path_param("orderId", id_of(&order))
                .header("If-Match", "1"),
        )
        .await;

    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_fields(), ["If-Match"]);
}

#[tokio::test]
async fn an_unknown_status_or_an_extra_field_is_a_400() {
    let api = Api::start().await;
    let user = api.user("ann@example.com").await;
    let order = api.order(&user).await;
    let patch = |body: &str| {
        fixture("patch-order.json")
            .path_param("orderId", id_of(&order))
            .body(body)
    };

    let unknown = api.send(patch(r#"{"status":"refunded"}"#)).await;
    let extra = api.send(patch(r#"{"status":"paid","total":0}"#)).await;
    let missing = api.send(patch("{}")).await;

    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.error_fields(), ["status"]);
    assert_eq!(extra.status, 400);
    assert_eq!(extra.error_fields(), ["total"]);
    assert_eq!(missing.status, 400);
    assert_eq!(missing.error_fields(), ["status"]);
}

#[tokio::test]
async fn patching_an_unknown_order_is_a_404() {
    let api = Api::start().await;

    let reply = api.send(fixture("patch-order.json")).await;

    assert_eq!(reply.status, 404);
}

// ---- Outages

#[tokio::test]
async fn when_the_store_is_down_every_route_is_a_503_with_retry_after_and_no_internals() {
    let deps = wired_on_unavailable_store(config::deps);

    for name in [
        "post-orders.json",
        "get-orders.json",
        "get-order.json",
        "patch-order.json",
    ] {
        let response = handler(&deps, fixture(name).into_request()).await.unwrap();
        Reply::from_response(response).assert_unavailable_without_internals(name);
    }
}

// ---- Routing

#[tokio::test]
async fn deleting_an_order_is_a_405_with_allow() {
    let api = Api::start().await;

    let reply = api.send(fixture("get-order.json").method("DELETE")).await;

    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("GET, PATCH"));
}

#[tokio::test]
async fn every_declared_route_has_a_handler() {
    let api = Api::start().await;
    let user = api.user("ann@example.com").await;
    let order = api.order(&user).await;

    for (method, resource) in routes() {
        let event = fixture("get-order.json")
            .method(method)
            .resource(resource)
            .path_param("orderId", id_of(&order))
            .header("Content-Type", "application/json")
            .body(r#"{"status":"cancelled"}"#);
        api.send(event).await.assert_routed(method, resource);
    }
}

#[test]
fn the_routes_are_the_orders_part_of_the_api() {
    assert_eq!(
        routes(),
        [
            ("POST", "/orders"),
            ("GET", "/orders"),
            ("GET", "/orders/{orderId}"),
            ("PATCH", "/orders/{orderId}"),
        ]
    );
}
