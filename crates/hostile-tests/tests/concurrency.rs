//! Many clients racing for one record, through the gateway, on both stores. The gateway runs up to
//! [`INSTANCES`] instances of each function (its `--concurrency`), so the racing requests are served
//! by separate processes, as concurrent Lambda invocations are, and meet only in the store.
//!
//! Each race checks what the API promises and then what the store holds:
//! - one `Idempotency-Key` sent 64 times at once creates one order, and every answer carries it;
//! - 32 writes with the same `If-Match` let exactly one through; the rest get `412`;
//! - 32 creates of one email (in different spellings) make exactly one user; the rest get `409`;
//! - status moves racing without `If-Match` leave a history that the status machine allows, with
//!   one version per successful move.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::future::join_all;
use rill_gateway::testing::GatewayBuilder;
use rill_hostile_tests::api::{Request, order_body};
use rill_hostile_tests::{StoreUnderTest, World};
use serde_json::{Value, json};

/// Function instances the gateway may run at once, per function.
const INSTANCES: u32 = 8;

fn racing(builder: GatewayBuilder) -> GatewayBuilder {
    builder.settings(|s| {
        s.concurrency = INSTANCES;
        s.queue_timeout = Duration::from_secs(60);
    })
}

async fn world(kind: StoreUnderTest) -> Option<World> {
    World::start(kind, racing).await
}

// ------------------------------------------------------------------------------------------------

async fn one_idempotency_key_sent_64_times_at_once_creates_one_order(kind: StoreUnderTest) {
    // Given a user
    let Some(world) = world(kind).await else {
        return;
    };
    let user = world.api.create_user("ada@example.com", "Ada").await;
    let user_id = user["id"].as_str().unwrap().to_owned();
    let body = order_body(&user_id);

    // When 64 clients send the same order with the same key at once
    let answers = join_all((0..64).map(|_| {
        world.api.send(
            Request::new("POST", "/orders")
                .json(&body)
                .header("idempotency-key", "race-1"),
        )
    }))
    .await;

    // Then every answer is a 201 with the same order, and exactly one of them created it
    let ids: BTreeSet<String> = answers
        .iter()
        .map(|answer| {
            assert_eq!(answer.status, 201, "{}", answer.text());
            answer.json()["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let created = answers
        .iter()
        .filter(|a| a.header("idempotent-replayed").is_none())
        .count();
    assert_eq!(created, 1, "exactly one answer is the creation");

    // And the store holds that one order, and the key names it
    let census = world.store.census().await;
    let order_id = ids.into_iter().next().unwrap();
    assert_eq!(census.orders.keys().collect::<Vec<_>>(), vec![&order_id]);
    assert_eq!(census.idempotency_keys.get("race-1"), Some(&order_id));
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_idempotency_key_sent_64_times_at_once_creates_one_order_on_sqlite() {
    one_idempotency_key_sent_64_times_at_once_creates_one_order(StoreUnderTest::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_idempotency_key_sent_64_times_at_once_creates_one_order_on_dynamodb() {
    one_idempotency_key_sent_64_times_at_once_creates_one_order(StoreUnderTest::DynamoDb).await;
}

// ------------------------------------------------------------------------------------------------

async fn thirty_two_writes_with_one_if_match_let_exactly_one_through(kind: StoreUnderTest) {
    // Given a user and an order, both at version 1
    let Some(world) = world(kind).await else {
        return;
    };
    let user = world.api.create_user("ada@example.com", "Ada").await;
    let user_path = format!("/users/{}", user["id"].as_str().unwrap());
    let order = world.api.create_order(user["id"].as_str().unwrap()).await;
    let order_path = format!("/orders/{}", order["id"].as_str().unwrap());

    // When 32 clients rename the user at once, each with If-Match "1" and a name of its own
    let renames = join_all((0..32).map(|i| {
        world.api.send(
            Request::new("PATCH", &user_path)
                .header("if-match", "\"1\"")
                .json(&json!({"name": format!("Ada {i}")})),
        )
    }))
    .await;

    // Then exactly one gets a 200 and the rest a 412, and the user is the winner's, at version 2
    let winners = exactly_one_winner(&renames);
    let stored = world.api.get(&user_path).await.json();
    assert_eq!(stored["name"], winners["name"]);
    assert_eq!(stored["version"], 2);

    // And the same holds for 32 status moves of the order with If-Match "1"
    let moves = join_all((0..32).map(|i| {
        let status = if i % 2 == 0 { "paid" } else { "cancelled" };
        world.api.send(
            Request::new("PATCH", &order_path)
                .header("if-match", "\"1\"")
                .json(&json!({ "status": status })),
        )
    }))
    .await;
    let winner = exactly_one_winner(&moves);
    let stored = world.api.get(&order_path).await.json();
    assert_eq!(stored["status"], winner["status"]);
    assert_eq!(stored["version"], 2);
    world.finish().await;
}

/// Asserts one 200 and only 412s besides it; returns the 200's body.
fn exactly_one_winner(answers: &[rill_hostile_tests::Answer]) -> Value {
    let mut winners = Vec::new();
    for answer in answers {
        match answer.status {
            200 => winners.push(answer.json()),
            _ => {
                answer.assert_problem(412, "precondition-failed");
            }
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    winners.pop().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_writes_with_one_if_match_let_exactly_one_through_on_sqlite() {
    thirty_two_writes_with_one_if_match_let_exactly_one_through(StoreUnderTest::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_writes_with_one_if_match_let_exactly_one_through_on_dynamodb() {
    thirty_two_writes_with_one_if_match_let_exactly_one_through(StoreUnderTest::DynamoDb).await;
}

// ------------------------------------------------------------------------------------------------

async fn thirty_two_creates_of_one_email_make_exactly_one_user(kind: StoreUnderTest) {
    let Some(world) = world(kind).await else {
        return;
    };

    // When 32 clients create a user with one address, spelled in different cases and forms
    let spellings = [
        "jos\u{e9}@example.com",
        "JOS\u{c9}@EXAMPLE.COM",
        "jose\u{301}@example.com",
        "Jos\u{e9}@Example.com",
    ];
    let answers =
        join_all((0..32).map(|i| {
            world.api.send(Request::new("POST", "/users").json(
                &json!({"email": spellings[i % spellings.len()], "name": format!("José {i}")}),
            ))
        }))
        .await;

    // Then exactly one is a 201 and the rest are 409s
    let mut created = Vec::new();
    for answer in &answers {
        match answer.status {
            201 => created.push(answer.json()),
            _ => {
                answer.assert_problem(409, "conflict");
            }
        }
    }
    assert_eq!(created.len(), 1, "{created:?}");

    // And the store holds one user, with one claim on the address
    let census = world.store.census().await;
    assert_eq!(census.users.len(), 1);
    assert!(census.users.contains(created[0]["id"].as_str().unwrap()));
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_creates_of_one_email_make_exactly_one_user_on_sqlite() {
    thirty_two_creates_of_one_email_make_exactly_one_user(StoreUnderTest::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_creates_of_one_email_make_exactly_one_user_on_dynamodb() {
    thirty_two_creates_of_one_email_make_exactly_one_user(StoreUnderTest::DynamoDb).await;
}

// ------------------------------------------------------------------------------------------------

/// The moves the status machine allows, as in the API definition.
fn allowed(from: &str, to: &str) -> bool {
    matches!(
        (from, to),
        ("pending", "paid")
            | ("paid", "shipped")
            | ("shipped", "delivered")
            | ("pending", "cancelled")
            | ("paid", "cancelled")
    )
}

async fn racing_status_moves_leave_a_history_the_status_machine_allows(kind: StoreUnderTest) {
    // Given several pending orders
    let Some(world) = world(kind).await else {
        return;
    };
    let user = world.api.create_user("ada@example.com", "Ada").await;
    let user_id = user["id"].as_str().unwrap();
    for _ in 0..3 {
        let order = world.api.create_order(user_id).await;
        let path = format!("/orders/{}", order["id"].as_str().unwrap());

        // When rounds of clients race to move it, without If-Match, to every status
        let targets = ["paid", "shipped", "delivered", "cancelled"];
        let mut successes: BTreeMap<u64, String> = BTreeMap::new();
        for round in 0..3 {
            let answers = join_all((0..16).map(|i| {
                let status = targets[(i + round) % targets.len()];
                world
                    .api
                    .send(Request::new("PATCH", &path).json(&json!({ "status": status })))
            }))
            .await;
            for answer in answers {
                match answer.status {
                    200 => {
                        let body = answer.json();
                        let version = body["version"].as_u64().unwrap();
                        let status = body["status"].as_str().unwrap().to_owned();
                        // Then no two successful moves share a version
                        assert!(
                            successes.insert(version, status).is_none(),
                            "two moves answered version {version}"
                        );
                    }
                    _ => {
                        answer.assert_problem(409, "conflict");
                    }
                }
            }
        }

        // And the successful moves, in version order, are a path the status machine allows
        let mut status = "pending".to_owned();
        let mut expected_version = 1;
        for (version, next) in &successes {
            expected_version += 1;
            assert_eq!(*version, expected_version, "versions skip: {successes:?}");
            assert!(
                allowed(&status, next),
                "{status} -> {next} in {successes:?}"
            );
            status = next.clone();
        }
        assert!(!successes.is_empty(), "some move succeeded");

        // And the stored order is the last of them
        let stored = world.api.get(&path).await.json();
        assert_eq!(stored["status"], json!(status));
        assert_eq!(stored["version"], json!(expected_version));
    }
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_status_moves_leave_a_history_the_status_machine_allows_on_sqlite() {
    racing_status_moves_leave_a_history_the_status_machine_allows(StoreUnderTest::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_status_moves_leave_a_history_the_status_machine_allows_on_dynamodb() {
    racing_status_moves_leave_a_history_the_status_machine_allows(StoreUnderTest::DynamoDb).await;
}
