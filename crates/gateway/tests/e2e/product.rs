//! The product's functions (users, orders, export) through the gateway, on SQLite: the real
//! binaries, the real template and OpenAPI definition.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestGateway, raw_http, real_gateway, spawn_gateway};

async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

async fn create_user(gateway: &TestGateway, email: &str, name: &str) -> Value {
    let response = gateway
        .client
        .json(
            Method::POST,
            "/users",
            &json!({"email": email, "name": name}),
        )
        .await;
    assert!(response.headers().contains_key("location"));
    assert_eq!(response.headers()["etag"], "\"1\"");
    json_of(response, 201).await
}

#[tokio::test]
async fn users_and_orders_round_trip_through_the_gateway_on_sqlite() {
    // Given the real API on a fresh SQLite database
    let gateway = spawn_gateway().await;

    // Users: create, read, update with If-Match, reject a stale version
    let ada = create_user(&gateway, "ada@example.com", "Ada Lovelace").await;
    let ada_id = ada["id"].as_str().unwrap().to_owned();
    assert_eq!(ada["version"], 1);
    let fetched = gateway.client.get(&format!("/users/{ada_id}")).await;
    assert_eq!(fetched.headers()["etag"], "\"1\"");
    assert_eq!(json_of(fetched, 200).await["email"], "ada@example.com");
    let renamed = gateway
        .client
        .send(
            gateway
                .client
                .request(Method::PATCH, &format!("/users/{ada_id}"))
                .header("content-type", "application/json")
                .header("if-match", "\"1\"")
                .body(json!({"name": "Ada King"}).to_string()),
        )
        .await;
    let renamed = json_of(renamed, 200).await;
    assert_eq!(renamed["name"], "Ada King");
    assert_eq!(renamed["version"], 2);
    let stale = gateway
        .client
        .send(
            gateway
                .client
                .request(Method::PATCH, &format!("/users/{ada_id}"))
                .header("content-type", "application/json")
                .header("if-match", "\"1\"")
                .body(json!({"name": "Ada Byron"}).to_string()),
        )
        .await;
    assert_eq!(stale.status(), 412);

    // Orders: an idempotent create, replayed
    let order_body = json!({
        "userId": ada_id,
        "currency": "EUR",
        "items": [{"sku": "BOOK-1", "quantity": 2, "unitPrice": 1250}, {"sku": "PEN", "quantity": 1, "unitPrice": 300}],
    });
    let create_order = || {
        gateway.client.send(
            gateway
                .client
                .request(Method::POST, "/orders")
                .header("content-type", "application/json")
                .header("idempotency-key", "order-1")
                .body(order_body.to_string()),
        )
    };
    let created = create_order().await;
    assert!(created.headers().get("idempotent-replayed").is_none());
    let order = json_of(created, 201).await;
    let order_id = order["id"].as_str().unwrap().to_owned();
    assert_eq!(order["total"], 2800);
    assert_eq!(order["status"], "pending");
    let replayed = create_order().await;
    assert_eq!(replayed.headers()["idempotent-replayed"], "true");
    assert_eq!(json_of(replayed, 201).await["id"], order_id.as_str());

    // Listings and reads
    let by_user = json_of(
        gateway
            .client
            .get(&format!("/orders?userId={ada_id}"))
            .await,
        200,
    )
    .await;
    assert_eq!(by_user["items"].as_array().unwrap().len(), 1);
    assert_eq!(by_user["nextCursor"], Value::Null);
    let nested = json_of(
        gateway.client.get(&format!("/users/{ada_id}/orders")).await,
        200,
    )
    .await;
    assert_eq!(nested["items"][0]["id"], order_id.as_str());
    let single = gateway.client.get(&format!("/orders/{order_id}")).await;
    assert_eq!(single.headers()["etag"], "\"1\"");
    assert_eq!(
        json_of(single, 200).await["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // A status transition
    let paid = gateway
        .client
        .json(
            Method::PATCH,
            &format!("/orders/{order_id}"),
            &json!({"status": "paid"}),
        )
        .await;
    let paid = json_of(paid, 200).await;
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["version"], 2);

    // Pagination over users
    create_user(&gateway, "grace@example.com", "Grace Hopper").await;
    let page = json_of(gateway.client.get("/users?limit=1").await, 200).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let cursor = page["nextCursor"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let next = json_of(
        gateway
            .client
            .get(&format!("/users?limit=1&cursor={cursor}"))
            .await,
        200,
    )
    .await;
    assert_eq!(next["items"].as_array().unwrap().len(), 1);
    assert_ne!(next["items"][0]["id"], page["items"][0]["id"]);

    // Delete, then the user is gone
    let temp = create_user(&gateway, "temp@example.com", "Temporary").await;
    let temp_id = temp["id"].as_str().unwrap();
    let deleted = gateway
        .client
        .send(
            gateway
                .client
                .request(Method::DELETE, &format!("/users/{temp_id}")),
        )
        .await;
    assert_eq!(deleted.status(), 204);
    let gone = gateway.client.get(&format!("/users/{temp_id}")).await;
    assert_eq!(gone.status(), 404);
    assert!(
        gone.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/problem+json")
    );

    // Bad input is a 4xx, never a 5xx
    let malformed = gateway
        .client
        .send(
            gateway
                .client
                .request(Method::POST, "/users")
                .header("content-type", "application/json")
                .body("{not json"),
        )
        .await;
    assert_eq!(malformed.status(), 400);

    // The data went to the SQLite file in the gateway's data directory
    assert!(gateway.data_dir().join("rill.db").is_file());
}

#[tokio::test]
async fn an_export_streams_its_first_rows_before_the_function_finishes() {
    // Given a store holding 20 000 orders
    let builder = real_gateway();
    {
        use rill_seed::{OrderBatches, SeedPlan, users};
        let store =
            rill_store_sqlite::SqliteStore::open(&builder.data_dir().join("rill.db")).unwrap();
        let plan = SeedPlan {
            users: 50,
            orders: 20_000,
            seed: 7,
        };
        let users = users(&plan);
        store.bulk_insert_users(&users).unwrap();
        for batch in OrderBatches::new(&plan, &users, 5_000) {
            store.bulk_insert_orders(&batch).unwrap();
        }
    }
    let gateway = builder.spawn().await;

    // When the orders are exported as NDJSON
    let request = gateway
        .client
        .raw_request(Method::GET, "/exports/orders?format=ndjson");
    let response = raw_http::send(&gateway.authority(), &request, Duration::from_secs(120)).await;

    // Then the stream completes with every order...
    assert_eq!(response.status, 200, "{}", response.text());
    assert!(
        response.complete,
        "the export ends with its terminating chunk"
    );
    assert!(response.is_chunked());
    let text = response.text();
    let lines: Vec<&str> = text.lines().collect();
    let last: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(last["type"], "end", "{last}");
    assert_eq!(last["count"], 20_000);
    assert_eq!(lines.len(), 20_001);

    // ...and its first bytes reached the client before the invocation ended
    let ended = gateway
        .logs
        .arrival_of("END RequestId")
        .expect("the invocation ended");
    let first = response.chunks.first().expect("at least one chunk").arrived;
    assert!(
        response.chunks.len() > 1,
        "the export arrived in several chunks"
    );
    assert!(
        first < ended,
        "the first chunk arrived {:?} after the invocation ended",
        first - ended
    );
}
