//! The export as an API consumer gets it with `curl`: the real `curl` binary signs each request with
//! `--aws-sigv4`, the real gateway runs the real `export` binary, and the test reads what curl writes.
//!
//! curl is the client the export docs promise behaviour for, so its exit status is the assertion: 0
//! for a whole export, 18 ("transfer closed with outstanding read data remaining") for one that failed
//! half-way. With `--no-buffer`, rows reach curl's output while the function is still running. The
//! curl here may be older than 8.3 and sign a query exactly as written, so the queries a client is
//! handed (`next` links) and the ones `scripts/invoke` sends are in SigV4's canonical order.

mod support;

use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rill_core::{OrderFilter, OrderStatus, Timestamp};
use rill_gateway::settings::{DEFAULT_REGION, LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY};
use rill_gateway::testing::{TestGateway, real_gateway, workspace_dir};
use serde_json::Value;
use support::{
    all_orders, corrupt_order_items, csv_rows, expected_order_rows, order_rows_as_stored,
    seeded_store,
};
use tokio::io::AsyncReadExt;

/// What one curl run wrote, and when its first bytes came out.
struct CurlRun {
    status: ExitStatus,
    body: Vec<u8>,
    first_bytes_at: Option<Instant>,
    stderr: String,
}

/// `curl --no-buffer` with SigV4 signing, as the README shows it, reading its output as it comes.
async fn curl(gateway: &TestGateway, path_and_query: &str) -> CurlRun {
    let mut child = tokio::process::Command::new("curl")
        .args(["--silent", "--show-error", "--no-buffer", "--http1.1"])
        .arg("--aws-sigv4")
        .arg(format!("aws:amz:{DEFAULT_REGION}:execute-api"))
        .arg("--user")
        .arg(format!("{LOCAL_ACCESS_KEY_ID}:{LOCAL_SECRET_ACCESS_KEY}"))
        .arg(format!("{}{path_and_query}", gateway.url))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the curl binary runs (it is required by these tests)");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let read = async {
        let mut body = Vec::new();
        let mut first_bytes_at = None;
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let n = stdout.read(&mut buffer).await.expect("curl's output reads");
            if n == 0 {
                break;
            }
            first_bytes_at.get_or_insert_with(Instant::now);
            body.extend_from_slice(&buffer[..n]);
        }
        let mut errors = String::new();
        stderr
            .read_to_string(&mut errors)
            .await
            .expect("curl's errors read");
        let status = child.wait().await.expect("curl exits");
        CurlRun {
            status,
            body,
            first_bytes_at,
            stderr: errors,
        }
    };
    tokio::time::timeout(Duration::from_secs(120), read)
        .await
        .expect("curl finishes within two minutes")
}

#[tokio::test]
async fn curl_no_buffer_prints_rows_before_the_export_finishes_and_exits_0_with_every_order() {
    // Given a store holding 20 000 orders, read in small pages so that the export takes a while
    let builder = real_gateway().env_var("ExportFunction", "RILL_EXPORT_PAGE_SIZE", "100");
    let store = seeded_store(builder.data_dir(), 50, 20_000).await;
    let orders = all_orders(&store, &OrderFilter::default()).await;
    let gateway = builder.spawn().await;

    // When a consumer downloads the CSV export with curl --no-buffer
    let run = curl(&gateway, "/exports/orders?format=csv").await;

    // Then curl reports a whole transfer...
    assert!(
        run.status.success(),
        "curl: {:?} {}",
        run.status,
        run.stderr
    );
    // ...whose first rows came out before the invocation ended...
    let first = run.first_bytes_at.expect("curl wrote the export");
    let ended = gateway
        .logs
        .arrival_of("END RequestId")
        .expect("the invocation ended");
    assert!(
        first < ended,
        "curl's first bytes came out {:?} after the invocation ended",
        first - ended
    );
    // ...and that hold every line item of every order, in the store's order.
    let got = order_rows_as_stored(&run.body);
    let expected: Vec<Vec<String>> = orders.iter().flat_map(expected_order_rows).collect();
    assert_eq!(got.len(), expected.len());
    assert!(got == expected, "the CSV differs from the store");
    gateway.shutdown().await;
}

#[tokio::test]
async fn curl_exits_18_when_the_store_fails_half_way_and_keeps_only_whole_rows_before_it() {
    // Given 600 orders, read 50 at a time, the 401st of which is corrupt in the store
    let builder = real_gateway().env_var("ExportFunction", "RILL_EXPORT_PAGE_SIZE", "50");
    let store = seeded_store(builder.data_dir(), 20, 600).await;
    let orders = all_orders(&store, &OrderFilter::default()).await;
    let broken = orders[400].id.to_string();
    corrupt_order_items(builder.data_dir(), orders[400].id);
    let gateway = builder.spawn().await;

    // When a consumer downloads the CSV export with curl
    let run = curl(&gateway, "/exports/orders?format=csv").await;

    // Then curl reports a failed transfer, not a shorter file...
    assert_eq!(
        run.status.code(),
        Some(18),
        "curl: {:?} {}",
        run.status,
        run.stderr
    );
    // ...and what it wrote is whole rows of the orders before the broken one.
    let rows = csv_rows(&run.body);
    let sent: Vec<&str> = rows[1..].iter().map(|row| row[0].as_str()).collect();
    assert!(!sent.is_empty(), "the stream had started");
    assert!(!sent.contains(&broken.as_str()));
    let before: std::collections::BTreeSet<String> =
        orders[..400].iter().map(|o| o.id.to_string()).collect();
    assert!(sent.iter().all(|id| before.contains(*id)));
    gateway.shutdown().await;
}

#[tokio::test]
async fn curl_following_each_ndjson_next_link_gets_every_order_in_the_range_exactly_once() {
    // Given 2 000 orders and a response cap far below their size
    let builder = real_gateway()
        .env_var("ExportFunction", "RILL_EXPORT_MAX_BYTES", "100000")
        .env_var("ExportFunction", "RILL_EXPORT_PAGE_SIZE", "100");
    let store = seeded_store(builder.data_dir(), 20, 2_000).await;
    let from = "2025-06-01T00:00:00.000Z";
    let to = "2026-01-01T00:00:00.000Z";
    let filter = OrderFilter {
        created_from: Some(Timestamp::parse_rfc3339("from", from).unwrap()),
        created_to: Some(Timestamp::parse_rfc3339("to", to).unwrap()),
        ..OrderFilter::default()
    };
    let orders = all_orders(&store, &filter).await;
    let gateway = builder.spawn().await;

    // When a consumer downloads an NDJSON export of a time range with curl, and then fetches each
    // `next` link it is given as it is (curl before 8.3 signs a query exactly as written, so the first
    // one is written in SigV4's canonical form too: sorted by name, `:` escaped)
    let path = "/exports/orders";
    let mut query = format!(
        "?format=ndjson&from={}&to={}",
        from.replace(':', "%3A"),
        to.replace(':', "%3A")
    );
    let mut ids = Vec::new();
    let mut responses = 0;
    loop {
        responses += 1;
        assert!(responses <= 100, "the continuations never end");
        let run = curl(&gateway, &format!("{path}{query}")).await;

        // Then every response is a whole transfer ending in a trailer that counts its records...
        assert!(
            run.status.success(),
            "curl: {:?} {}",
            run.status,
            run.stderr
        );
        assert!(run.body.len() <= 100_000);
        let mut lines: Vec<Value> = std::str::from_utf8(&run.body)
            .expect("UTF-8")
            .lines()
            .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
            .collect();
        let trailer = lines.pop().expect("a trailer");
        assert_eq!(trailer["count"], lines.len(), "{trailer}");
        ids.extend(lines.iter().map(|l| l["id"].as_str().unwrap().to_owned()));
        match trailer["type"].as_str() {
            Some("end") => break,
            // A `next` is a query only: it resolves against the URL just fetched.
            Some("next") => query = trailer["next"].as_str().unwrap().to_owned(),
            _ => panic!("unexpected trailer {trailer}"),
        }
    }

    // ...and together they hold every order of the range once, in order.
    assert!(responses > 2, "the cap was never reached");
    assert!(orders.len() > 500, "the range holds only {}", orders.len());
    let expected: Vec<String> = orders.iter().map(|o| o.id.to_string()).collect();
    assert_eq!(ids, expected);
    gateway.shutdown().await;
}

#[tokio::test]
async fn scripts_invoke_signs_a_query_given_in_any_order() {
    // Given a store with paid and unpaid orders
    let builder = real_gateway();
    let store = seeded_store(builder.data_dir(), 20, 300).await;
    let paid = all_orders(
        &store,
        &OrderFilter {
            status: Some(OrderStatus::Paid),
            ..OrderFilter::default()
        },
    )
    .await;
    let gateway = builder.spawn().await;

    // When scripts/invoke is given an export query out of alphabetical order
    let output = tokio::process::Command::new(workspace_dir().join("scripts/invoke"))
        .arg("--url")
        .arg(&gateway.url)
        .args(["GET", "/exports/orders?status=paid&format=ndjson"])
        .env("AWS_ACCESS_KEY_ID", LOCAL_ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", LOCAL_SECRET_ACCESS_KEY)
        .env("AWS_REGION", DEFAULT_REGION)
        .env_remove("AWS_SESSION_TOKEN")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("scripts/invoke runs");

    // Then the signature holds and the export is the paid orders
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let body = &text[text.find("\r\n\r\n").expect("a head") + 4..];
    let lines: Vec<Value> = body
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(
        lines.last().unwrap(),
        &serde_json::json!({"type": "end", "count": paid.len()})
    );
    gateway.shutdown().await;
}
