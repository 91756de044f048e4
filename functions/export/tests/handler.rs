//! The export handler below the runtime: real REST (v1) events (fixtures in `tests/fixtures`) go
//! through lambda_http's deserializer into the handler, which streams from a seeded SQLite store. The
//! bodies are parsed back (CSV by the csv crate, NDJSON line by line) and compared with the store.

mod support;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use export::{ExportConfig, ExportFailure, ExportService, routes};
use http_body_util::BodyExt;
use lambda_http::http::{HeaderMap, StatusCode};
use rill_core::{
    DomainError, Order, OrderFilter, OrderId, OrderReader, OrderStatus, Page, PageRequest,
    Timestamp, User, UserId, UserReader,
};
use rill_entry::CursorKeys;
use rill_http::testing::ApiGatewayEvent;
use rill_store_sqlite::SqliteStore;
use serde_json::{Value, json};
use support::{
    EDGE_USERS, all_orders, all_users, csv_rows, expected_order_rows, expected_user_row,
    order_rows_as_stored, seeded_store, undefuse,
};
use tempfile::TempDir;

const CURSOR_KEY: &[u8] = b"export-handler-test-key";

struct Api {
    service: ExportService<SqliteStore>,
    store: Arc<SqliteStore>,
    _dir: TempDir,
}

/// A response read to its end.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
    /// How the body ended: `Ok` for a clean end, the failure otherwise.
    end: Result<(), String>,
}

impl Reply {
    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn header(&self, name: &str) -> &str {
        let values: Vec<_> = self.headers.get_all(name).iter().collect();
        assert_eq!(values.len(), 1, "{name} must have exactly one value");
        values[0].to_str().unwrap()
    }

    fn lines(&self) -> Vec<Value> {
        self.text()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    fn problem_fields(&self) -> Vec<String> {
        self.json()["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect()
    }
}

impl Api {
    async fn start(users: usize, orders: usize, config: ExportConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = seeded_store(dir.path(), users, orders).await;
        let service = ExportService::new(store.clone(), CursorKeys::fixed(CURSOR_KEY), config);
        Self {
            service,
            store,
            _dir: dir,
        }
    }

    async fn send(&self, event: ApiGatewayEvent) -> Reply {
        let response = self.service.handle(event.into_request()).await;
        read(response).await
    }
}

async fn read<B>(response: lambda_http::Response<B>) -> Reply
where
    B: http_body::Body<Data = bytes::Bytes, Error = ExportFailure> + Unpin,
{
    let (parts, mut body) = response.into_parts();
    let mut bytes = Vec::new();
    let mut end = Ok(());
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => bytes.extend_from_slice(&frame.into_data().unwrap()),
            Err(failure) => {
                end = Err(failure.to_string());
                break;
            }
        }
    }
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: bytes,
        end,
    }
}

fn orders_event() -> ApiGatewayEvent {
    ApiGatewayEvent::fixture(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/get-export-orders.json"
    ))
}

fn users_event() -> ApiGatewayEvent {
    ApiGatewayEvent::fixture(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/get-export-users.json"
    ))
}

/// Sets each `name=value` of a query string (as in a `next` link) on the event.
fn with_query(mut event: ApiGatewayEvent, query: &str) -> ApiGatewayEvent {
    for pair in query.trim_start_matches('?').split('&') {
        let (name, value) = pair.split_once('=').unwrap();
        event = event.query(name, value);
    }
    event
}

fn small_pages() -> ExportConfig {
    ExportConfig {
        page_size: 25,
        ..ExportConfig::default()
    }
}

#[tokio::test]
async fn the_function_declares_exactly_the_two_export_routes() {
    assert_eq!(
        routes(),
        &[("GET", "/exports/orders"), ("GET", "/exports/users")]
    );
}

#[tokio::test]
async fn given_orders_when_exported_without_format_then_the_csv_holds_one_row_per_line_item_equal_to_the_store()
 {
    let api = Api::start(40, 300, small_pages()).await;
    let reply = api.send(orders_event()).await;

    assert_eq!(reply.status, StatusCode::OK);
    reply.end.clone().unwrap();
    assert_eq!(reply.header("content-type"), "text/csv; charset=utf-8");
    let disposition = reply.header("content-disposition");
    let filename = disposition
        .strip_prefix("attachment; filename=\"orders-")
        .and_then(|rest| rest.strip_suffix(".csv\""))
        .unwrap_or_else(|| panic!("{disposition}"));
    assert_eq!(filename.len(), 16, "{filename}");
    assert!(
        filename.ends_with('Z') && filename.as_bytes()[8] == b'T',
        "{filename}"
    );

    let rows = csv_rows(&reply.body);
    assert_eq!(
        rows[0],
        [
            "order_id",
            "user_id",
            "status",
            "currency",
            "total",
            "created_at",
            "updated_at",
            "line_number",
            "sku",
            "quantity",
            "unit_price"
        ]
    );
    let expected: Vec<Vec<String>> = all_orders(&api.store, &OrderFilter::default())
        .await
        .iter()
        .flat_map(expected_order_rows)
        .collect();
    let actual = order_rows_as_stored(&reply.body);
    assert_eq!(actual.len(), expected.len());
    assert_eq!(actual, expected);
    // A SKU starting with '-' is defused in the file itself.
    assert!(rows.iter().any(|row| row[8].starts_with("'-")));
}

#[tokio::test]
async fn given_names_and_emails_that_need_quoting_or_defusing_when_users_are_exported_then_csv_round_trips_them()
 {
    let api = Api::start(200, 0, small_pages()).await;
    let reply = api.send(users_event().query("format", "csv")).await;
    reply.end.clone().unwrap();
    let rows = csv_rows(&reply.body);
    assert_eq!(
        rows[0],
        ["id", "email", "name", "created_at", "updated_at", "version"]
    );
    let expected: Vec<Vec<String>> = all_users(&api.store)
        .await
        .iter()
        .map(expected_user_row)
        .collect();
    let actual: Vec<Vec<String>> = rows[1..]
        .iter()
        .map(|row| {
            let mut row = row.clone();
            row[1] = undefuse(&row[1]).to_owned();
            row[2] = undefuse(&row[2]).to_owned();
            row
        })
        .collect();
    assert_eq!(actual, expected);

    // In the file, no text cell starts with a character a spreadsheet would run.
    for row in &rows[1..] {
        for cell in &row[1..=2] {
            assert!(
                !cell.starts_with(['=', '+', '-', '@']),
                "{cell} was not defused"
            );
        }
    }
    for (email, name) in EDGE_USERS {
        assert!(
            actual.iter().any(|row| row[1] == *email && row[2] == *name),
            "{email} / {name} did not round-trip"
        );
    }
    // Commas and quotes were quoted per RFC 4180, not mangled.
    assert!(reply.text().contains("\"Ann, \"\"The\"\" Admin\""));
    assert!(reply.text().contains(",'=1+1,"));
}

#[tokio::test]
async fn given_ndjson_is_asked_for_then_each_line_is_an_order_as_the_api_returns_it_and_the_end_trailer_counts_them()
 {
    let api = Api::start(30, 200, small_pages()).await;
    let reply = api.send(orders_event().query("format", "ndjson")).await;
    reply.end.clone().unwrap();
    assert_eq!(reply.header("content-type"), "application/x-ndjson");
    assert!(reply.header("content-disposition").ends_with(".ndjson\""));
    let mut lines = reply.lines();
    let trailer = lines.pop().unwrap();
    let expected: Vec<Value> = all_orders(&api.store, &OrderFilter::default())
        .await
        .iter()
        .map(|order| serde_json::to_value(order).unwrap())
        .collect();
    assert_eq!(trailer, json!({"type": "end", "count": expected.len()}));
    assert_eq!(lines, expected);
    assert!(lines.iter().all(|line| line.get("type").is_none()));
}

#[tokio::test]
async fn given_an_accept_header_then_it_picks_the_format_unless_the_format_parameter_says_otherwise()
 {
    let api = Api::start(5, 10, small_pages()).await;
    let reply = api
        .send(users_event().header("Accept", "application/x-ndjson"))
        .await;
    assert_eq!(reply.header("content-type"), "application/x-ndjson");
    assert_eq!(
        reply.lines().last().unwrap(),
        &json!({"type": "end", "count": 5 + EDGE_USERS.len()})
    );

    let reply = api
        .send(
            users_event()
                .header("Accept", "application/x-ndjson")
                .query("format", "csv"),
        )
        .await;
    assert_eq!(reply.header("content-type"), "text/csv; charset=utf-8");

    let reply = api.send(users_event().without_header("Accept")).await;
    assert_eq!(reply.header("content-type"), "text/csv; charset=utf-8");
}

#[tokio::test]
async fn given_an_accept_that_allows_neither_format_then_the_answer_is_a_406_problem_before_any_byte()
 {
    let api = Api::start(5, 10, small_pages()).await;
    for event in [orders_event(), users_event()] {
        let reply = api.send(event.header("Accept", "application/json")).await;
        assert_eq!(reply.status, StatusCode::NOT_ACCEPTABLE);
        assert_eq!(reply.header("content-type"), "application/problem+json");
        let body = reply.json();
        assert_eq!(body["type"], "urn:rill:problem:not-acceptable");
        assert_eq!(body["status"], 406);
    }
}

#[tokio::test]
async fn given_each_bad_parameter_then_the_answer_is_a_400_problem_naming_it() {
    let api = Api::start(5, 10, small_pages()).await;
    let user = UserId::generate().to_string();
    let cases: Vec<(ApiGatewayEvent, &str)> = vec![
        (orders_event().query("format", "xlsx"), "format"),
        (orders_event().query("status", "lost"), "status"),
        (orders_event().query("userId", "42"), "userId"),
        (
            orders_event().query("userId", &user.to_uppercase()),
            "userId",
        ),
        (orders_event().query("from", "yesterday"), "from"),
        (orders_event().query("to", "2026-02-30T00:00:00Z"), "to"),
        (
            orders_event()
                .query("from", "2026-11-02T00:00:00Z")
                .query("to", "2026-11-01T00:00:00Z"),
            "to",
        ),
        (orders_event().query("stauts", "paid"), "stauts"),
        (
            orders_event().query_values("status", &["paid", "shipped"]),
            "status",
        ),
        (orders_event().query("cursor", "not-a-cursor"), "cursor"),
        (users_event().query("format", "json"), "format"),
        (users_event().query("status", "paid"), "status"),
        (users_event().query("cursor", "AAAA"), "cursor"),
    ];
    for (event, field) in cases {
        let reply = api.send(event).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{field}: {}",
            reply.text()
        );
        assert_eq!(reply.header("content-type"), "application/problem+json");
        assert_eq!(reply.json()["type"], "urn:rill:problem:validation-error");
        assert_eq!(reply.problem_fields(), vec![field.to_owned()]);
        reply.end.unwrap();
    }
}

#[tokio::test]
async fn given_filters_then_exactly_the_matching_orders_are_exported() {
    let api = Api::start(20, 400, small_pages()).await;
    let everything = all_orders(&api.store, &OrderFilter::default()).await;
    let someone = everything[17].user_id;
    let middle = everything[everything.len() / 2].created_at;
    let filter = OrderFilter {
        user_id: Some(someone),
        status: Some(OrderStatus::Delivered),
        created_from: Some(Timestamp::from_millis(0)),
        created_to: Some(middle),
    };
    let expected: HashSet<OrderId> = everything
        .iter()
        .filter(|o| filter.matches(o))
        .map(|o| o.id)
        .collect();
    assert!(!expected.is_empty());

    let reply = api
        .send(
            orders_event()
                .query("format", "ndjson")
                .query("userId", &someone.to_string())
                .query("status", "delivered")
                .query("from", "1970-01-01T00:00:00Z")
                .query("to", &middle.to_rfc3339()),
        )
        .await;
    let mut lines = reply.lines();
    let trailer = lines.pop().unwrap();
    assert_eq!(trailer["count"], expected.len());
    let got: HashSet<OrderId> = lines
        .iter()
        .map(|l| OrderId::parse("id", l["id"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(got, expected);

    let reply = api
        .send(orders_event().query("from", &middle.to_rfc3339()))
        .await;
    let rows = csv_rows(&reply.body);
    assert!(
        rows[1..]
            .iter()
            .all(|row| Timestamp::parse_rfc3339("t", &row[5]).unwrap() >= middle)
    );
}

#[tokio::test]
async fn given_an_ndjson_export_larger_than_the_cap_then_following_each_next_link_yields_every_order_exactly_once()
 {
    let config = ExportConfig {
        max_bytes: 24 * 1024,
        page_size: 10,
        ..ExportConfig::default()
    };
    let api = Api::start(20, 800, config).await;
    let filter_query = "?format=ndjson&status=paid";
    let mut event = with_query(orders_event(), filter_query);
    let mut ids = Vec::new();
    let mut responses = 0;
    loop {
        responses += 1;
        let reply = api.send(event).await;
        assert_eq!(reply.status, StatusCode::OK);
        reply.end.clone().unwrap();
        assert!(reply.body.len() <= 24 * 1024);
        let mut lines = reply.lines();
        let trailer = lines.pop().unwrap();
        assert_eq!(trailer["count"], lines.len());
        ids.extend(lines.iter().map(|l| l["id"].as_str().unwrap().to_owned()));
        match trailer["type"].as_str().unwrap() {
            "end" => break,
            "next" => {
                let next = trailer["next"].as_str().unwrap();
                assert!(
                    next.starts_with(&format!("?cursor={}&", trailer["cursor"].as_str().unwrap())),
                    "{next}"
                );
                assert!(next.ends_with("&format=ndjson&status=paid"), "{next}");
                event = with_query(orders_event(), next);
            }
            other => panic!("unexpected trailer {other}"),
        }
    }
    let expected: Vec<String> = all_orders(
        &api.store,
        &OrderFilter {
            status: Some(OrderStatus::Paid),
            ..OrderFilter::default()
        },
    )
    .await
    .iter()
    .map(|o| o.id.to_string())
    .collect();
    assert!(responses > 2, "the cap was never reached");
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn given_a_cursor_from_one_export_then_another_filter_refuses_it() {
    let config = ExportConfig {
        max_bytes: 16 * 1024,
        page_size: 10,
        ..ExportConfig::default()
    };
    let api = Api::start(10, 200, config).await;
    let reply = api.send(orders_event().query("format", "ndjson")).await;
    let trailer = reply.lines().pop().unwrap();
    assert_eq!(trailer["type"], "next");
    let cursor = trailer["cursor"].as_str().unwrap();
    let reply = api
        .send(
            orders_event()
                .query("format", "ndjson")
                .query("status", "paid")
                .query("cursor", cursor),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.problem_fields(), vec!["cursor"]);
    let reply = api.send(users_event().query("cursor", cursor)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn given_a_csv_export_larger_than_the_cap_then_the_body_fails_instead_of_ending_short() {
    let config = ExportConfig {
        max_bytes: 16 * 1024,
        page_size: 10,
        ..ExportConfig::default()
    };
    let api = Api::start(10, 300, config).await;
    let reply = api.send(orders_event()).await;
    assert_eq!(reply.status, StatusCode::OK);
    let failure = reply.end.unwrap_err();
    assert!(failure.contains("size cap"), "{failure}");
    assert!(reply.body.len() <= 16 * 1024);
}

#[tokio::test]
async fn given_an_unknown_route_or_method_then_the_answer_is_a_404_or_405_problem() {
    let api = Api::start(1, 0, small_pages()).await;
    let reply = api
        .send(orders_event().resource("/exports/everything"))
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let reply = api.send(orders_event().method("POST")).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.header("allow"), "GET");
}

#[tokio::test]
async fn every_response_header_has_a_single_value_as_the_streaming_prelude_requires() {
    let api = Api::start(3, 5, small_pages()).await;
    for event in [
        orders_event(),
        orders_event().query("format", "ndjson"),
        users_event(),
        orders_event().query("status", "lost"),
        orders_event().header("Accept", "image/png"),
    ] {
        let reply = api.send(event).await;
        let names: HashSet<_> = reply.headers.keys().collect();
        for name in names {
            assert_eq!(reply.headers.get_all(name).iter().count(), 1, "{name}");
        }
    }
}

/// A store that is down.
struct DownStore;

#[async_trait]
impl UserReader for DownStore {
    async fn get_user(&self, _: UserId) -> Result<User, DomainError> {
        Err(DomainError::unavailable("connection refused"))
    }
    async fn list_users(&self, _: PageRequest) -> Result<Page<User>, DomainError> {
        Err(DomainError::unavailable("connection refused"))
    }
}

#[async_trait]
impl OrderReader for DownStore {
    async fn get_order(&self, _: OrderId) -> Result<Order, DomainError> {
        Err(DomainError::unavailable("connection refused"))
    }
    async fn list_orders(
        &self,
        _: &OrderFilter,
        _: PageRequest,
    ) -> Result<Page<Order>, DomainError> {
        Err(DomainError::unavailable("connection refused"))
    }
}

#[tokio::test]
async fn given_the_store_is_down_at_the_start_then_the_answer_is_a_503_with_retry_after_not_a_stream()
 {
    let service = ExportService::new(
        Arc::new(DownStore),
        CursorKeys::fixed(CURSOR_KEY),
        ExportConfig::default(),
    );
    for event in [orders_event(), users_event()] {
        let reply = read(service.handle(event.into_request()).await).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(reply.header("retry-after"), "1");
        let body = reply.json();
        assert_eq!(body["type"], "urn:rill:problem:unavailable");
        assert!(!reply.text().contains("connection refused"));
    }
}

#[tokio::test]
async fn orders_of_one_user_come_newest_first_and_still_all_of_them() {
    let api = Api::start(5, 120, small_pages()).await;
    let everything = all_orders(&api.store, &OrderFilter::default()).await;
    let mut per_user: BTreeMap<UserId, usize> = BTreeMap::new();
    for order in &everything {
        *per_user.entry(order.user_id).or_default() += 1;
    }
    let (user, count) = per_user.into_iter().max_by_key(|(_, n)| *n).unwrap();
    let reply = api
        .send(
            orders_event()
                .query("format", "ndjson")
                .query("userId", &user.to_string()),
        )
        .await;
    let mut lines = reply.lines();
    assert_eq!(lines.pop().unwrap()["count"], count);
    let created: Vec<&str> = lines
        .iter()
        .map(|l| l["createdAt"].as_str().unwrap())
        .collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "{created:?}");
}
