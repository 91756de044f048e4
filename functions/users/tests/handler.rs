//! The users function below the runtime: each test sends real API Gateway REST events (from
//! `tests/fixtures`) through lambda_http's deserializer into [`users::handler`], wired by the
//! function's own `config::deps` on a real SQLite store in a temporary directory.

use std::collections::HashSet;

use rill_core::{NewLineItem, NewOrder, Timestamp, UserId, orders};
use rill_entry::testing::{WiredOnSqlite, wired_on_unavailable_store};
use rill_http::testing::{ApiGatewayEvent, Reply};
use serde_json::{Value, json};
use users::{Deps, config, handler, routes};

/// The users function on a fresh store.
struct Api(WiredOnSqlite<Deps>);

impl Api {
    async fn start() -> Self {
        Self(WiredOnSqlite::start(config::deps).await)
    }

    async fn send(&self, event: ApiGatewayEvent) -> Reply {
        Reply::from_response(handler(&self.0.deps, event.into_request()).await.unwrap())
    }

    /// Creates a user through the API and returns its JSON.
    async fn user(&self, email: &str, name: &str) -> Value {
        let reply = self
            .send(
                fixture("post-users.json").body(&json!({"email": email, "name": name}).to_string()),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        reply.body
    }

    /// Stores an order for a user directly through the use case.
    async fn order(&self, user_id: &str, sku: &str) -> Value {
        let input = NewOrder::parse(
            user_id,
            "EUR",
            &[NewLineItem {
                sku,
                quantity: 1,
                unit_price: 100,
            }],
        )
        .unwrap();
        let outcome = orders::create(&*self.0.store, input, None, Timestamp::now())
            .await
            .unwrap();
        serde_json::to_value(outcome.order()).unwrap()
    }
}

fn fixture(name: &str) -> ApiGatewayEvent {
    rill_http::fixture!(name)
}

fn id_of(value: &Value) -> &str {
    value["id"].as_str().unwrap()
}

// ---- POST /users

#[tokio::test]
async fn creating_a_user_answers_201_with_the_user_its_etag_and_location() {
    let api = Api::start().await;

    let reply = api.send(fixture("post-users.json")).await;

    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("etag"), Some("\"1\""));
    let id = id_of(&reply.body);
    assert!(UserId::parse("id", id).is_ok());
    assert_eq!(
        reply.header("location"),
        Some(format!("/dev/users/{id}").as_str())
    );
    assert_eq!(reply.body["email"], "ann@example.com");
    assert_eq!(reply.body["name"], "Ann Lovelace");
    assert_eq!(reply.body["version"], 1);
    assert_eq!(reply.body["createdAt"], reply.body["updatedAt"]);
    let keys: HashSet<&str> = reply
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        HashSet::from(["id", "email", "name", "createdAt", "updatedAt", "version"])
    );
}

#[tokio::test]
async fn an_email_taken_in_another_case_is_a_409() {
    let api = Api::start().await;
    api.user("ann@example.com", "Ann").await;

    let reply = api
        .send(fixture("post-users.json").body(r#"{"email":"ANN@Example.com","name":"Other Ann"}"#))
        .await;

    assert_eq!(reply.status, 409);
    assert_eq!(reply.problem_slug(), Some("conflict"));
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
}

#[tokio::test]
async fn every_invalid_field_of_a_new_user_is_reported_at_once() {
    let api = Api::start().await;

    let reply = api
        .send(fixture("post-users.json").body(r#"{"email":"not-an-email","name":"   "}"#))
        .await;

    assert_eq!(reply.status, 400);
    assert_eq!(reply.problem_slug(), Some("validation-error"));
    assert_eq!(reply.error_fields(), ["email", "name"]);
}

#[tokio::test]
async fn an_unknown_or_missing_field_is_a_400_naming_it() {
    let api = Api::start().await;

    let unknown = api
        .send(fixture("post-users.json").body(r#"{"email":"a@b.co","name":"A","role":"admin"}"#))
        .await;
    let missing = api
        .send(fixture("post-users.json").body(r#"{"email":"a@b.co"}"#))
        .await;

    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.error_fields(), ["role"]);
    assert_eq!(missing.status, 400);
    assert_eq!(missing.error_fields(), ["name"]);
}

#[tokio::test]
async fn a_field_of_the_wrong_type_is_a_400_naming_it() {
    let api = Api::start().await;

    let reply = api
        .send(fixture("post-users.json").body(r#"{"email":["a@b.co"],"name":"A"}"#))
        .await;

    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_fields(), ["email"]);
    assert_eq!(reply.body["errors"][0]["message"], "must be a string");
}

#[tokio::test]
async fn malformed_json_is_a_400_with_the_position_and_no_internals() {
    let api = Api::start().await;

    let reply = api
        .send(fixture("post-users.json").body(r#"{"email": "a@b.co", "name": }"#))
        .await;

    assert_eq!(reply.status, 400);
    let message = reply.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("line 1 column"), "{message}");
    assert!(!reply.text.contains("CreateUser"), "{}", reply.text);
}

#[tokio::test]
async fn an_empty_body_or_one_that_is_not_an_object_is_a_400() {
    let api = Api::start().await;

    for event in [
        fixture("post-users.json").no_body(),
        fixture("post-users.json").body(r#"["a@b.co","A"]"#),
        fixture("post-users.json").binary_body(&[0xff, 0xfe, 0x7b]),
    ] {
        let reply = api.send(event).await;
        assert_eq!(reply.status, 400, "{}", reply.text);
        assert_eq!(reply.error_fields(), [""]);
    }
}

#[tokio::test]
async fn a_body_that_is_not_labelled_json_is_a_415() {
    let api = Api::start().await;

    let reply = api
        .send(
            fixture("post-users.json")
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body("email=a%40b.co&name=A"),
        )
        .await;

    assert_eq!(reply.status, 415);
    assert_eq!(reply.problem_slug(), Some("unsupported-media-type"));
}

#[tokio::test]
async fn a_client_that_accepts_no_json_gets_a_406() {
    let api = Api::start().await;

    let reply = api
        .send(fixture("get-users.json").header("Accept", "text/csv"))
        .await;

    assert_eq!(reply.status, 406);
    assert_eq!(reply.problem_slug(), Some("not-acceptable"));
}

// ---- GET /users/{userId}

#[tokio::test]
async fn a_user_is_read_back_with_its_etag() {
    let api = Api::start().await;
    let user = api.user("ann@example.com", "Ann").await;

    let reply = api
        .send(fixture("get-user.json").path_param("userId", id_of(&user)))
        .await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, user);
    assert_eq!(reply.header("etag"), Some("\"1\""));
}

#[tokio::test]
async fn an_unknown_user_is_a_404() {
    let api = Api::start().await;

    let reply = api.send(fixture("get-user.json")).await;

    assert_eq!(reply.status, 404);
    assert_eq!(reply.problem_slug(), Some("not-found"));
    assert_eq!(reply.body["status"], 404);
}

#[tokio::test]
async fn a_malformed_user_id_is_a_400_on_user_id() {
    let api = Api::start().await;

    let reply = api
        .send(fixture("get-user.json").path_param("userId", "not-a-uuid"))
        .await;

    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_fields(), ["userId"]);
}

// ---- GET /users

#[tokio::test]
async fn pages_of_users_return_every_user_exactly_once() {
    let api = Api::start().await;
    let mut created = HashSet::new();
    for n in 0..5 {
        let user = api.user(&format!("user{n}@example.com"), "User").await;
        created.insert(id_of(&user).to_owned());
    }

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut event = fixture("get-users.json").query("limit", "2");
        if let Some(cursor) = &cursor {
            event = event.query("cursor", cursor);
        }
        let reply = api.send(event).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let items = reply.body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|u| id_of(u).to_owned()));
        match reply.body["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => {
                assert!(
                    reply.body.get("nextCursor").is_some(),
                    "nextCursor is null, not absent"
                );
                break;
            }
        }
    }

    assert_eq!(seen.len(), 5);
    assert_eq!(seen.into_iter().collect::<HashSet<_>>(), created);
}

#[tokio::test]
async fn without_users_the_listing_is_one_empty_page() {
    let api = Api::start().await;

    let reply = api.send(fixture("get-users.json")).await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, json!({"items": [], "nextCursor": null}));
}

#[tokio::test]
async fn a_limit_out_of_range_is_a_400_on_limit() {
    let api = Api::start().await;

    for limit in ["0", "101", "abc"] {
        let reply = api
            .send(fixture("get-users.json").query("limit", limit))
            .await;
        assert_eq!(reply.status, 400, "{limit}");
        assert_eq!(reply.error_fields(), ["limit"]);
    }
}

#[tokio::test]
async fn a_forged_or_foreign_cursor_is_a_400_on_cursor() {
    let api = Api::start().await;
    let user = api.user("ann@example.com", "Ann").await;
    for n in 0..3 {
        api.order(id_of(&user), &format!("SKU-{n}")).await;
    }
    let orders_page = api
        .send(
            fixture("get-user-orders.json")
                .path_param("userId", id_of(&user))
                .query("limit", "1"),
        )
        .await;
    let orders_cursor = orders_page.body["nextCursor"].as_str().unwrap().to_owned();

    for cursor in [
        "garbage",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        &orders_cursor,
    ] {
        let reply = api
            .send(fixture("get-users.json").query("cursor", cursor))
            .await;
        assert_eq!(reply.status, 400, "{cursor}");
        assert_eq!(reply.error_fields(), ["cursor"]);
    }
}

#[tokio::test]
async fn a_repeated_query_parameter_is_a_400() {
    let api = Api::start().await;

    let reply = api
        .send(fixture("get-users.json").query_values("limit", &["1", "2"]))
        .await;

    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_fields(), ["limit"]);
}

// ---- PATCH /users/{userId}

#[tokio::test]
async fn patching_with_the_current_etag_changes_the_user_and_bumps_the_version() {
    let api = Api::start().await;
    let user = api.user("ann@example.com", "Ann").await;

    let reply = api
        .send(fixture("patch-user.json").path_param("userId", id_of(&user)))
        .await;

    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["name"], "Ada Lovelace");
    assert_eq!(reply.body["email"], "ann@example.com");
    assert_eq!(reply.body["version"], 2);
    assert_eq!(reply.header("etag"), Some("\"2\""));
    assert_eq!(reply.body["createdAt"], user["createdAt"]);
}

#[tokio::test]
async fn patching_without_if_match_or_with_a_star_applies_to_the_current_version() {
    let api = Api::start().await;
    let user = api.user("ann@example.com", "Ann").await;
    let id = id_of(&user);

    let first = api
        .send(
            fixture("patch-user.json")
                .path_param("userId", id)
                .without_header("If-Match"),
        )
        .await;
    let second = api
        .send(
            fixture("patch-user.json")
                .path_param("userId", id)
                .header("If-Match", "*")
                .body(r#"{"email":"ada@example.com"}"#),
        )
        .await;

    assert_eq!(first.status, 200);
    assert_eq!(second.status, 200);
    assert_eq!(second.body["version"], 3);
    assert_eq!(second.body["email"], "ada@example.com");
}

#[tokio::test]
async fn patching_with_a_stale_etag_is_a_412_and_changes_nothing() {
    let api = Api::start().await;
    let user = api.user("ann@example.com", "Ann").await;
    let id = id_of(&user);
    let changed = api
        .send(fixture("patch-user.json").path_param("userId", id))
        .await;
    assert_eq!(changed.status, 200);

    let stale = api
        .send(
            fixture("patch-user.json")
                .path_param("userId", id)
                .header("If-Match", "W/\"1\"")
                .body(r#"{"name":"Lost Update"}"#),
        )
        .await;

    assert_eq!(stale.status, 412);
    assert_eq!(stale.problem_slug(), Some("precondition-failed"));
    let now = api
        .send(fixture("get-user.json").path_param("userId", id))
        .await;
    assert_eq!(now.body["name"], "Ada Lovelace");
}

#[tokio::test]
async fn a_malformed_if_match_is_a_400_on_if_match() {
    let api = Api::start().await;
    let user = api.user("ann@example.com", "Ann").await;

    let reply = api
        .send(
            fixture("patch-user.json")
                .path_param("userId", id_of(&user))
                .header("If-Match", "version-1"),
        )
        .await;

    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_fields(), ["If-Match"]);
}

#[tokio::test]
async fn a_patch_that_names_nothing_or_sends_null_is_a_400() {
    let api = Api::start().await;
    let user = api.user("ann@example.com", "Ann").await;
    let id = id_of(&user);

    let empty = api
        .send(
            fixture("patch-user.json")
                .path_param("userId", id)
                .body("{}"),
        )
        .await;
    let null = api
        .send(
            fixture("patch-user.json")
                .path_param("userId", id)
                .body(r#"{"name":null}"#),
        )
        .await;

    assert_eq!(empty.status, 400);
    assert_eq!(null.status, 400);
    assert_eq!(null.error_fields(), ["name"]);
}

#[tokio::test]
async fn patching_to_an_email_another_user_holds_is_a_409() {
    let api = Api::start().await;
    api.user("ann@example.com", "Ann").await;
    let bob = api.user("bob@example.com", "Bob").await;

    let reply = api
        .send(
            fixture("patch-user.json")
                .path_param("userId", id_of(&bob))
                .without_header("If-Match")
                .body(r#"{"email":"Ann@Example.com"}"#),
        )
        .await;

    assert_eq!(reply.status, 409);
}

#[tokio::test]
async fn patching_an_unknown_user_is_a_404() {
    let api = Api::start().await;

    let reply = api.send(fixture("patch-user.json")).await;

    assert_eq!(reply.status, 404);
}

// ---- DELETE /users/{userId}

#[tokio::test]
async fn deleting_a_user_answers_204_and_the_user_is_gone() {
    let api = Api::start().await;
    let user = api.user("ann@example.com", "Ann").await;
    let id = id_of(&user);

    let deleted = api
        .send(fixture("delete-user.json").path_param("userId", id))
        .await;
    let read = api
        .send(fixture("get-user.json").path_param("userId", id))
        .await;
    let again = api
        .send(fixture("delete-user.json").path_param("userId", id))
        .await;

    assert_eq!(deleted.status, 204);
    assert!(deleted.text.is_empty());
    assert_eq!(read.status, 404);
    assert_eq!(again.status, 404);
}

#[tokio::test]
async fn a_deleted_users_email_can_be_registered_again() {
    let api = Api::start().await;
    let user = api.user("ann@example.com", "Ann").await;
    api.send(fixture("delete-user.json").path_param("userId", id_of(&user)))
        .await;

    let reply = api.send(fixture("post-users.json")).await;

    assert_eq!(reply.status, 201);
}

#[tokio::test]
async fn deleting_with_a_stale_etag_is_a_412_and_keeps_the_user() {
    let api = Api::start().await;
    let user = api.user("ann@example.com", "Ann").await;
    let id = id_of(&user);

    let reply = api
        .send(
            fixture("delete-user.json")
                .path_param("userId", id)
                .header("If-Match", "\"7\""),
        )
        .await;

    assert_eq!(reply.status, 412);
    let read = api
        .send(fixture("get-user.json").path_param("userId", id))
        .await;
    assert_eq!(read.status, 200);
}

// ---- GET /users/{userId}/orders

#[tokio::test]
async fn a_users_orders_are_listed_newest_first_without_other_users_orders() {
    let api = Api::start().await;
    let ann = api.user("ann@example.com", "Ann").await;
    let bob = api.user("bob@example.com", "Bob").await;
    let mut expected = Vec::new();
    for n in 0..3 {
        expected.push(api.order(id_of(&ann), &format!("ANN-{n}")).await);
        api.order(id_of(&bob), &format!("BOB-{n}")).await;
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    expected.reverse();

    let reply = api
        .send(fixture("get-user-orders.json").path_param("userId", id_of(&ann)))
        .await;

    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["items"], Value::Array(expected));
    assert_eq!(reply.body["nextCursor"], Value::Null);
    assert_eq!(reply.body["items"][0]["items"][0]["unitPrice"], 100);
}

#[tokio::test]
async fn a_users_orders_page_through_with_the_cursor() {
    let api = Api::start().await;
    let ann = api.user("ann@example.com", "Ann").await;
    for n in 0..3 {
        api.order(id_of(&ann), &format!("ANN-{n}")).await;
    }
    let event = || {
        fixture("get-user-orders.json")
            .path_param("userId", id_of(&ann))
            .query("limit", "2")
    };

    let first = api.send(event()).await;
    let cursor = first.body["nextCursor"].as_str().unwrap();
    let second = api.send(event().query("cursor", cursor)).await;

    assert_eq!(first.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(second.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(second.body["nextCursor"], Value::Null);
}

#[tokio::test]
async fn the_orders_of_an_unknown_user_are_a_404() {
    let api = Api::start().await;

    let reply = api.send(fixture("get-user-orders.json")).await;

    assert_eq!(reply.status, 404);
}

// ---- Outages

#[tokio::test]
async fn when_the_store_is_down_every_route_is_a_503_with_retry_after_and_no_internals() {
    let deps = wired_on_unavailable_store(config::deps);

    for name in [
        "post-users.json",
        "get-users.json",
        "get-user.json",
        "patch-user.json",
        "delete-user.json",
        "get-user-orders.json",
    ] {
        let response = handler(&deps, fixture(name).into_request()).await.unwrap();
        Reply::from_response(response).assert_unavailable_without_internals(name);
    }
}

// ---- Routing

#[tokio::test]
async fn another_method_on_a_users_resource_is_a_405_with_allow() {
    let api = Api::start().await;

    let reply = api.send(fixture("get-user.json").method("PUT")).await;

    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("GET, PATCH, DELETE"));
    assert_eq!(reply.problem_slug(), Some("method-not-allowed"));
}

#[tokio::test]
async fn a_resource_this_function_does_not_serve_is_a_404() {
    let api = Api::start().await;

    let reply = api
        .send(fixture("get-users.json").resource("/widgets"))
        .await;

    assert_eq!(reply.status, 404);
}

#[tokio::test]
async fn every_declared_route_has_a_handler() {
    let api = Api::start().await;

    for (n, (method, resource)) in routes().iter().enumerate() {
        let user = api.user(&format!("user{n}@example.com"), "Ann").await;
        let event = fixture("get-user.json")
            .method(method)
            .resource(resource)
            .path_param("userId", id_of(&user))
            .header("Content-Type", "application/json")
            .body(r#"{"name":"Ann"}"#);
        api.send(event).await.assert_routed(method, resource);
    }
}

#[test]
fn the_routes_are_the_users_part_of_the_api() {
    assert_eq!(
        routes(),
        [
            ("POST", "/users"),
            ("GET", "/users"),
            ("GET", "/users/{userId}"),
            ("PATCH", "/users/{userId}"),
            ("DELETE", "/users/{userId}"),
            ("GET", "/users/{userId}/orders"),
        ]
    );
}
