//! The export through the local API Gateway, as an HTTP client sees it: the real gateway runs the real
//! `export` binary over its Runtime API, and a signed request reads the streamed body.
//!
//! A whole export downloads completely; an export whose store fails half-way breaks the download (the
//! connection closes without the terminating chunk, so the client's read fails, as `curl` exits 18),
//! never a clean but shorter file.

mod support;

use std::time::Duration;

use rill_core::OrderFilter;
use rill_gateway::testing::real_gateway;
use serde_json::{Value, json};
use support::{all_orders, corrupt_order_items, csv_rows, seeded_store};

/// Reads a response body chunk by chunk: the bytes, and whether it ended cleanly.
async fn read_body(mut response: reqwest::Response) -> (Vec<u8>, Result<(), String>) {
    let mut bytes = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(30), response.chunk()).await {
            Err(_) => return (bytes, Err("no end within 30 s".into())),
            Ok(Ok(Some(chunk))) => bytes.extend_from_slice(&chunk),
            Ok(Ok(None)) => return (bytes, Ok(())),
            Ok(Err(error)) => return (bytes, Err(format!("{error:?}"))),
        }
    }
}

#[tokio::test]
async fn a_whole_ndjson_export_downloads_completely_with_its_end_trailer() {
    let builder = real_gateway();
    let store = seeded_store(builder.data_dir(), 20, 300).await;
    let expected = all_orders(&store, &OrderFilter::default()).await;
    let gateway = builder.spawn().await;

    let response = gateway.client.get("/exports/orders?format=ndjson").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let (bytes, end) = read_body(response).await;
    end.expect("the download completes");
    let lines: Vec<Value> = std::str::from_utf8(&bytes)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), expected.len() + 1);
    assert_eq!(
        lines.last().unwrap(),
        &json!({"type": "end", "count": expected.len()})
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_store_failure_half_way_breaks_the_download_instead_of_ending_it_short() {
    let builder = real_gateway().env_var("ExportFunction", "RILL_EXPORT_PAGE_SIZE", "50");
    let store = seeded_store(builder.data_dir(), 20, 600).await;
    let orders = all_orders(&store, &OrderFilter::default()).await;
    corrupt_order_items(builder.data_dir(), orders[400].id);
    let gateway = builder.spawn().await;

    let response = gateway.client.get("/exports/orders").await;
    assert_eq!(
        response.status(),
        200,
        "the stream started before the failure"
    );
    let (bytes, end) = read_body(response).await;
    let error = end.expect_err("the download must fail, not end cleanly");
    assert!(!error.contains("no end within"), "{error}");

    // What arrived is whole rows of the orders before the broken one, never all of them.
    let rows = csv_rows(&bytes);
    let order_ids: std::collections::BTreeSet<&str> =
        rows[1..].iter().map(|row| row[0].as_str()).collect();
    assert!(!order_ids.is_empty());
    assert!(order_ids.len() <= 400);
    assert!(!order_ids.contains(orders[400].id.to_string().as_str()));
    gateway.shutdown().await;
}
