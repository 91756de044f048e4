//! Faults under load, through the gateway: the database goes away, an export fails half-way, a function
//! process is killed in the middle of a write. In every case a client either gets an answer that
//! tells the truth (a `201` whose record survives, a `503` with `Retry-After`, a `502` for a crashed
//! invocation, a transfer that visibly failed) or nothing that looks like success; and the store
//! afterwards holds every acknowledged write and no half of any write.
//!
//! A function that crashes at init (`502`, then a fresh init on the next request) and one that hangs
//! (`504` at the integration timeout; `504` too at the function's own timeout, where the instance is
//! killed and replaced; AWS reports that one as a `502`) are covered by the gateway's own suites
//! with its fixture function: `crates/gateway/tests/e2e` `lifecycle.rs`
//! (`a_crash_at_init_is_a_502`, `after_a_failed_init_the_next_request_retries_init`) and
//! `buffered.rs` (`the_integration_timeout_is_a_504_and_the_function_keeps_running`,
//! `the_function_timeout_kills_the_instance_and_is_a_504`).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::future::join_all;
use rill_gateway::testing::real_gateway;
use rill_hostile_tests::api::{Request, order_body};
use rill_hostile_tests::dynamodb_local::{dynamo_gateway, fresh_tables, shared_endpoint};
use rill_hostile_tests::link::Link;
use rill_hostile_tests::stores::{DynamoProbe, SqliteProbe};
use rill_hostile_tests::{Answer, Api};
use serde_json::json;

fn assert_unavailable(answer: &Answer) {
    answer.assert_problem(503, "unavailable");
    let retry_after = answer
        .header("retry-after")
        .unwrap_or_else(|| panic!("a 503 carries Retry-After: {:?}", answer.headers));
    assert!(
        retry_after.parse::<u64>().is_ok_and(|s| s >= 1),
        "Retry-After: {retry_after}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_dynamodb_goes_away_mid_run_requests_get_503_and_every_acknowledged_write_survives() {
    let Some(endpoint) = shared_endpoint() else {
        return;
    };
    // Given the API on DynamoDB, reached through a link the test can cut
    let (sdk, tables) = fresh_tables(&endpoint).await;
    let upstream = endpoint
        .strip_prefix("http://")
        .and_then(|address| address.parse().ok())
        .expect("the endpoint is http://127.0.0.1:PORT");
    let link = Link::start(upstream).await;
    let api = Api::new(
        dynamo_gateway(&link.endpoint(), &tables)
            .settings(|s| {
                s.concurrency = 4;
                s.queue_timeout = Duration::from_secs(60);
            })
            .spawn()
            .await,
    );
    let probe = DynamoProbe::new(sdk, tables);

    // And writes that were acknowledged before anything went wrong
    let mut acknowledged_users = BTreeSet::new();
    let mut acknowledged_orders = BTreeSet::new();
    for i in 0..5 {
        let user = api
            .create_user(&format!("early{i}@example.com"), "Early")
            .await;
        let user_id = user["id"].as_str().unwrap().to_owned();
        let order = api.create_order(&user_id).await;
        acknowledged_orders.insert(order["id"].as_str().unwrap().to_owned());
        acknowledged_users.insert(user_id);
    }
    let owner = acknowledged_users.iter().next().unwrap().clone();

    // When the database goes away while writes are in flight: every connection to it breaks and new
    // ones fail, which is what a function sees of a DynamoDB outage (see `Link` for why the
    // database process itself is not killed)
    let writes = join_all((0..24).map(|i| {
        let api = &api;
        let owner = &owner;
        async move {
            tokio::time::sleep(Duration::from_millis(15 * i)).await;
            if i % 2 == 0 {
                let body = json!({"email": format!("mid{i}@example.com"), "name": "Mid"});
                let answer = api.send(Request::new("POST", "/users").json(&body)).await;
                (true, answer)
            } else {
                let answer = api
                    .send(
                        Request::new("POST", "/orders")
                            .json(&order_body(owner))
                            .header("idempotency-key", &format!("mid-{i}")),
                    )
                    .await;
                (false, answer)
            }
        }
    }));
    let cut = async {
        tokio::time::sleep(Duration::from_millis(120)).await;
        link.cut();
    };
    let (answers, ()) = tokio::join!(writes, cut);

    // Then each in-flight write was either acknowledged or refused as unavailable
    let refused = answers.iter().filter(|(_, a)| a.status != 201).count();
    assert!(refused > 0, "writes sent after the cut were refused");
    for (is_user, answer) in &answers {
        match answer.status {
            201 => {
                let id = answer.json()["id"].as_str().unwrap().to_owned();
                if *is_user {
                    acknowledged_users.insert(id);
                } else {
                    acknowledged_orders.insert(id);
                }
            }
            _ => assert_unavailable(answer),
        }
    }

    // And while it is down, every route answers 503 with Retry-After
    let user_path = format!("/users/{owner}");
    let order_path = format!("/orders/{}", acknowledged_orders.iter().next().unwrap());
    for request in [
        Request::new("GET", "/users"),
        Request::new("GET", &user_path),
        Request::new("GET", &format!("{user_path}/orders")),
        Request::new("POST", "/users").json(&json!({"email": "down@example.com", "name": "Down"})),
        Request::new("PATCH", &user_path).json(&json!({"name": "Renamed"})),
        Request::new("DELETE", &user_path),
        Request::new("GET", "/orders"),
        Request::new("GET", &order_path),
        Request::new("POST", "/orders").json(&order_body(&owner)),
        Request::new("PATCH", &order_path).json(&json!({"status": "paid"})),
        Request::new("GET", "/exports/orders?format=csv"),
        Request::new("GET", "/exports/users?format=ndjson"),
    ] {
        assert_unavailable(&api.send(request).await);
    }

    // When it comes back
    link.restore();

    // Then every acknowledged write is there, and no write is there by halves
    let census = probe.census().await;
    census.assert_consistent();
    for user in &acknowledged_users {
        assert!(
            census.users.contains(user),
            "acknowledged user {user} was lost"
        );
        assert_eq!(api.get(&format!("/users/{user}")).await.status, 200);
    }
    for order in &acknowledged_orders {
        assert!(
            census.orders.contains_key(order),
            "acknowledged order {order} was lost"
        );
    }
    // And the user that was being deleted while the database was down is still whole
    assert_eq!(api.get(&user_path).await.json()["name"], "Early");

    // And the API serves again
    api.create_user("after@example.com", "After").await;
    api.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_that_fails_mid_stream_ends_as_a_failed_transfer_never_a_complete_file() {
    // Given 30 orders on SQLite, exported five per page
    let api = Api::new(
        real_gateway()
            .env_var("ExportFunction", "RILL_EXPORT_PAGE_SIZE", "5")
            .spawn()
            .await,
    );
    let user = api.create_user("ada@example.com", "Ada").await;
    let user_id = user["id"].as_str().unwrap();
    let mut orders = Vec::new();
    for _ in 0..30 {
        orders.push(
            api.create_order(user_id).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }

    // And, as a control, a healthy export is complete
    let healthy = api.get("/exports/orders?format=ndjson").await;
    assert_eq!(healthy.status, 200);
    assert!(
        healthy.complete,
        "a healthy export ends with its terminating chunk"
    );
    let last = healthy.text().lines().last().unwrap_or_default().to_owned();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&last).unwrap()["type"],
        "end"
    );

    // When the 20th order (oldest first, on the fourth page) becomes unreadable in the store
    let probe = SqliteProbe::in_data_dir(api.gateway().data_dir());
    let corrupt = &orders[19];
    let connection = rusqlite::Connection::open(probe.path()).expect("open the database");
    connection
        .execute(
            "UPDATE orders SET items = 'not json' WHERE id = ?1",
            [corrupt],
        )
        .expect("corrupt one row");
    drop(connection);

    // Then a CSV export starts with a 200 and ends as a failed transfer, with at most the rows
    // before the bad one (how many of them reach the client before the function exits is timing)
    let csv = api.get("/exports/orders?format=csv").await;
    assert_eq!(csv.status, 200, "{}", csv.text());
    assert!(
        !csv.complete,
        "a failed export must not end with the terminating chunk"
    );
    let rows = csv.text().lines().count();
    assert!(rows <= 20, "rows after the failure were sent: {rows} lines");
    assert!(
        !csv.text().contains(corrupt.as_str()),
        "the unreadable order was sent"
    );

    // And an NDJSON export does too, without its end record
    let ndjson = api.get("/exports/orders?format=ndjson").await;
    assert_eq!(ndjson.status, 200);
    assert!(!ndjson.complete);
    assert!(
        !ndjson.text().contains(r#""type":"end""#),
        "a failed export has no end record"
    );

    // And the export function serves again (a new instance) once the data is readable
    let connection = rusqlite::Connection::open(probe.path()).expect("open the database");
    connection
        .execute("DELETE FROM orders WHERE id = ?1", [corrupt])
        .expect("remove the bad row");
    drop(connection);
    let again = api.get("/exports/orders?format=ndjson").await;
    assert_eq!(again.status, 200);
    assert!(again.complete);
    api.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_function_processes_mid_write_loses_no_acknowledged_write_on_sqlite() {
    // Given the API on SQLite with four instances per function
    let api = Api::new(
        real_gateway()
            .settings(|s| {
                s.concurrency = 4;
                s.queue_timeout = Duration::from_secs(60);
            })
            .spawn()
            .await,
    );
    let owner = api.create_user("owner@example.com", "Owner").await;
    let owner = owner["id"].as_str().unwrap().to_owned();

    // When writes run in eight lanes while every function process is SIGKILLed, again and again
    let stop = Arc::new(AtomicBool::new(false));
    let killer = {
        let handle = api.gateway().handle.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut kills = 0;
            while !stop.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(40)).await;
                for pid in handle.instance_pids() {
                    // The process may have exited on its own since it was listed.
                    let _ = std::process::Command::new("kill")
                        .args(["-KILL", &pid.to_string()])
                        .stderr(std::process::Stdio::null())
                        .status();
                    kills += 1;
                }
            }
            kills
        })
    };
    let lanes = join_all((0..8).map(|lane| {
        let api = &api;
        let owner = &owner;
        async move {
            let mut answers = Vec::new();
            for i in 0..12 {
                let answer = if i % 2 == 0 {
                    let email = format!("lane{lane}-{i}@example.com");
                    let body = json!({"email": email, "name": "Lane"});
                    (
                        "user",
                        api.send(Request::new("POST", "/users").json(&body)).await,
                    )
                } else {
                    let key = format!("lane{lane}-{i}");
                    let request = Request::new("POST", "/orders")
                        .json(&order_body(owner))
                        .header("idempotency-key", &key);
                    ("order", api.send(request).await)
                };
                answers.push(answer);
            }
            answers
        }
    }))
    .await;
    stop.store(true, Ordering::SeqCst);
    let kills = killer.await.expect("the killer task");
    assert!(kills > 0, "no process was killed");

    // Then every answer is an acknowledgement or a 502 for a crashed invocation
    let mut users = BTreeSet::new();
    let mut orders = BTreeSet::new();
    let mut crashed = 0;
    for (kind, answer) in lanes.iter().flatten() {
        match answer.status {
            201 => {
                let id = answer.json()["id"].as_str().unwrap().to_owned();
                if *kind == "user" {
                    users.insert(id);
                } else {
                    orders.insert(id);
                }
            }
            502 => {
                answer.assert_gateway(502, "Internal server error");
                crashed += 1;
            }
            // A retried key whose first attempt committed before the kill replays it.
            _ => panic!("unexpected answer {} {}", answer.status, answer.text()),
        }
    }
    eprintln!(
        "{kills} kills: {} users and {} orders acknowledged, {crashed} invocations crashed",
        users.len(),
        orders.len()
    );

    // And the database opens cleanly and holds every acknowledged write, each one whole
    let probe = SqliteProbe::in_data_dir(api.gateway().data_dir());
    probe.assert_opens_cleanly();
    rill_store_sqlite::SqliteStore::open(probe.path()).expect("the store opens the file");
    let census = probe.census();
    census.assert_consistent();
    for user in &users {
        assert!(
            census.users.contains(user),
            "acknowledged user {user} was lost"
        );
    }
    for order in &orders {
        assert!(
            census.orders.contains_key(order),
            "acknowledged order {order} was lost"
        );
        assert_eq!(api.get(&format!("/orders/{order}")).await.status, 200);
    }
    api.shutdown().await;
}
