//! The real `export` binary against a Lambda Runtime API served on loopback by this test.
//!
//! The test serves one REST (v1) event on `/next`, then captures the streaming `POST .../response`
//! exactly as hyper decodes it: the request headers, every body byte (prelude JSON, eight NULs,
//! payload), any trailers, and how the chunked body ended. A complete export must end with the
//! terminating chunk; a failed one must not (hyper then reports an incomplete message), which is what
//! makes API Gateway and the local gateway cut the client's connection short.
//!
//! The failure is a real one: a row of the SQLite file is corrupted in the middle of the export's order,
//! so the store fails on the page that holds it after earlier pages have been streamed.

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::HeaderMap;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rill_core::OrderFilter;
use rill_http::testing::ApiGatewayEvent;
use serde_json::Value;
use support::{
    all_orders, corrupt_order_items, expected_order_rows, order_rows_as_stored, seeded_store,
};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const REQUEST_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

/// What the function posted as its response.
#[derive(Debug)]
struct Posted {
    path: String,
    headers: HeaderMap,
    /// The decoded body: prelude, delimiter and payload.
    body: Vec<u8>,
    /// `Ok(trailers)` when the terminating chunk arrived, `Err` with hyper's error when it did not.
    end: Result<Option<HeaderMap>, hyper::Error>,
}

impl Posted {
    /// The prelude JSON and the payload after the eight NULs.
    fn split(&self) -> (Value, &[u8]) {
        let at = self
            .body
            .windows(8)
            .position(|w| w == [0u8; 8])
            .expect("the body holds the 8-NUL delimiter");
        assert!(at < 16 * 1024, "the delimiter must come within 16 KiB");
        let prelude = serde_json::from_slice(&self.body[..at]).expect("the prelude is JSON");
        (prelude, &self.body[at + 8..])
    }

    fn header(&self, name: &str) -> Vec<&str> {
        self.headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect()
    }
}

/// A Runtime API that hands out one event and reports every response or error post.
struct RuntimeApi {
    addr: SocketAddr,
    posts: mpsc::UnboundedReceiver<Posted>,
}

impl RuntimeApi {
    async fn start(event: Value, deadline: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (posts_tx, posts) = mpsc::unbounded_channel();
        let event = Bytes::from(event.to_string());
        let deadline_ms = (SystemTime::now() + deadline)
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis()
            .to_string();
        let served = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (event, deadline_ms, served, posts_tx) = (
                    event.clone(),
                    deadline_ms.clone(),
                    served.clone(),
                    posts_tx.clone(),
                );
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        let (event, deadline_ms, served, posts_tx) = (
                            event.clone(),
                            deadline_ms.clone(),
                            served.clone(),
                            posts_tx.clone(),
                        );
                        async move {
                            let path = request.uri().path().to_owned();
                            if path.ends_with("/invocation/next") {
                                if served.swap(true, std::sync::atomic::Ordering::SeqCst) {
                                    // One invocation per test: the next poll waits until the test ends.
                                    std::future::pending::<()>().await;
                                }
                                let response = Response::builder()
                                    .header("lambda-runtime-aws-request-id", REQUEST_ID)
                                    .header("lambda-runtime-deadline-ms", deadline_ms)
                                    .header(
                                        "lambda-runtime-invoked-function-arn",
                                        "arn:aws:lambda:us-east-1:123456789012:function:export",
                                    )
                                    .header(
                                        "lambda-runtime-trace-id",
                                        "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
                                    )
                                    .header("content-type", "application/json")
                                    .body(Full::new(event))
                                    .unwrap();
                                return Ok::<_, Infallible>(response);
                            }
                            let (parts, mut body) = request.into_parts();
                            let mut bytes = Vec::new();
                            let end = loop {
                                match body.frame().await {
                                    None => break Ok(None),
                                    Some(Err(error)) => break Err(error),
                                    Some(Ok(frame)) => match frame.into_data() {
                                        Ok(data) => bytes.extend_from_slice(&data),
                                        Err(frame) => break Ok(frame.into_trailers().ok()),
                                    },
                                }
                            };
                            let complete = end.is_ok();
                            let _ = posts_tx.send(Posted {
                                path,
                                headers: parts.headers,
                                body: bytes,
                                end,
                            });
                            let status = if complete {
                                StatusCode::ACCEPTED
                            } else {
                                StatusCode::BAD_REQUEST
                            };
                            Ok(Response::builder()
                                .status(status)
                                .body(Full::new(Bytes::from_static(b"{\"status\":\"OK\"}")))
                                .unwrap())
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, posts }
    }

    async fn next_post(&mut self) -> Posted {
        tokio::time::timeout(Duration::from_secs(60), self.posts.recv())
            .await
            .expect("the function posted within a minute")
            .expect("the Runtime API is running")
    }
}

/// The export binary, killed when dropped.
struct Function {
    child: Child,
    log: std::path::PathBuf,
}

impl Function {
    fn start(api: &RuntimeApi, db: &Path, log: &Path, extra_env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_export"));
        command
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "export")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_LEVEL", "INFO")
            .env("RILL_STORE", "sqlite")
            .env("RILL_SQLITE_PATH", db)
            .stdin(Stdio::null())
            .stdout(Stdio::from(std::fs::File::create(log).unwrap()))
            .stderr(Stdio::from(
                std::fs::OpenOptions::new().append(true).open(log).unwrap(),
            ));
        for (name, value) in extra_env {
            command.env(name, value);
        }
        Self {
            child: command.spawn().expect("the export binary starts"),
            log: log.to_owned(),
        }
    }

    /// The process's exit status, waiting up to `timeout` for it to end on its own.
    fn exit_code_within(&mut self, timeout: Duration) -> Option<i32> {
        let started = std::time::Instant::now();
        while started.elapsed() < timeout {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn event(fixture: &str) -> ApiGatewayEvent {
    ApiGatewayEvent::fixture(format!(
        "{}/tests/fixtures/{fixture}",
        env!("CARGO_MANIFEST_DIR")
    ))
}

fn assert_streaming_post(posted: &Posted) {
    assert_eq!(
        posted.path,
        format!("/2018-06-01/runtime/invocation/{REQUEST_ID}/response")
    );
    assert_eq!(
        posted.header("lambda-runtime-function-response-mode"),
        ["streaming"]
    );
    assert_eq!(
        posted.header("content-type"),
        ["application/vnd.awslambda.http-integration-response"]
    );
    assert_eq!(posted.header("transfer-encoding"), ["chunked"]);
}

/// Each prelude header is a JSON string: an array would make API Gateway answer 502.
fn assert_single_valued(prelude: &Value) {
    let headers = prelude["headers"].as_object().expect("headers object");
    for (name, value) in headers {
        assert!(value.is_string(), "{name} is {value}");
    }
    assert!(prelude.get("multiValueHeaders").is_none());
}

#[tokio::test]
async fn a_complete_csv_export_is_posted_as_prelude_delimiter_and_rows_and_ends_with_the_terminating_chunk()
 {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path(), 20, 500).await;
    let mut api = RuntimeApi::start(
        event("get-export-orders.json").json().clone(),
        Duration::from_secs(60),
    )
    .await;
    let mut function = Function::start(
        &api,
        &dir.path().join("rill.db"),
        &dir.path().join("function.log"),
        &[("RILL_EXPORT_PAGE_SIZE", "40")],
    );

    let posted = api.next_post().await;
    assert_streaming_post(&posted);
    assert_eq!(
        posted.header("trailer"),
        [
            "Lambda-Runtime-Function-Error-Type",
            "Lambda-Runtime-Function-Error-Body"
        ]
    );
    let (prelude, payload) = posted.split();
    assert_eq!(prelude["statusCode"], 200);
    assert_eq!(
        prelude["headers"]["content-type"],
        "text/csv; charset=utf-8"
    );
    assert!(
        prelude["headers"]["content-disposition"]
            .as_str()
            .unwrap()
            .starts_with("attachment; filename=\"orders-")
    );
    assert_eq!(prelude["cookies"], serde_json::json!([]));
    assert_single_valued(&prelude);

    let expected: Vec<Vec<String>> = all_orders(&store, &OrderFilter::default())
        .await
        .iter()
        .flat_map(expected_order_rows)
        .collect();
    let actual = order_rows_as_stored(payload);
    assert_eq!(actual, expected);
    let trailers = posted
        .end
        .as_ref()
        .unwrap_or_else(|e| panic!("the body did not end cleanly: {e}\n{}", function.log()));
    assert!(trailers.is_none(), "no error trailers: {trailers:?}");
    assert_eq!(function.exit_code_within(Duration::from_millis(300)), None);
}

#[tokio::test]
async fn a_store_failure_mid_export_leaves_the_post_without_its_terminating_chunk_and_ends_the_process()
 {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rill.db");
    let store = seeded_store(dir.path(), 20, 600).await;
    let orders = all_orders(&store, &OrderFilter::default()).await;
    // Corrupt the order two thirds of the way through the export: its page fails to read.
    let broken = &orders[400];
    corrupt_order_items(dir.path(), broken.id);

    let mut api = RuntimeApi::start(
        event("get-export-orders.json").json().clone(),
        Duration::from_secs(60),
    )
    .await;
    let mut function = Function::start(
        &api,
        &db,
        &dir.path().join("function.log"),
        &[("RILL_EXPORT_PAGE_SIZE", "50")],
    );

    let posted = api.next_post().await;
    assert_streaming_post(&posted);
    let (prelude, payload) = posted.split();
    assert_eq!(prelude["statusCode"], 200, "the stream had started");
    match &posted.end {
        // hyper's chunked decoder met the end of the connection before the terminating chunk.
        Err(error) => {
            let cause = std::error::Error::source(error)
                .and_then(|source| source.downcast_ref::<std::io::Error>())
                .map(std::io::Error::kind);
            assert_eq!(
                cause,
                Some(std::io::ErrorKind::UnexpectedEof),
                "unexpected body error: {error:?}"
            );
        }
        Ok(trailers) => panic!(
            "the body ended with its terminating chunk (trailers {trailers:?}) after a store failure\n{}",
            function.log()
        ),
    }
    let text = String::from_utf8_lossy(payload);
    assert!(
        !text.contains("Lambda-Runtime-Function-Error"),
        "error text in the body"
    );

    // What did arrive is whole rows of the orders before the broken page, and none after it.
    let sent = order_rows_as_stored(payload);
    let before: Vec<Vec<String>> = orders[..400].iter().flat_map(expected_order_rows).collect();
    assert!(!sent.is_empty(), "earlier pages were streamed");
    assert!(sent.len() <= before.len());
    assert_eq!(sent, before[..sent.len()]);

    assert_eq!(
        function.exit_code_within(Duration::from_secs(10)),
        Some(export::truncate::EXIT_STATUS),
        "{}",
        function.log()
    );
    assert!(
        function.log().contains("export failed"),
        "{}",
        function.log()
    );
}

#[tokio::test]
async fn an_ndjson_export_over_the_size_cap_ends_cleanly_with_a_next_trailer() {
    let dir = tempfile::tempdir().unwrap();
    seeded_store(dir.path(), 10, 300).await;
    let mut api = RuntimeApi::start(
        event("get-export-orders.json")
            .query("format", "ndjson")
            .json()
            .clone(),
        Duration::from_secs(60),
    )
    .await;
    let mut function = Function::start(
        &api,
        &dir.path().join("rill.db"),
        &dir.path().join("function.log"),
        &[
            ("RILL_EXPORT_MAX_BYTES", "20000"),
            ("RILL_EXPORT_PAGE_SIZE", "10"),
        ],
    );
    let posted = api.next_post().await;
    let (prelude, payload) = posted.split();
    assert_eq!(prelude["headers"]["content-type"], "application/x-ndjson");
    assert!(payload.len() <= 20_000);
    let last: Value = serde_json::from_str(
        std::str::from_utf8(payload)
            .unwrap()
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(last["type"], "next");
    assert_eq!(
        last["next"],
        format!("?cursor={}&format=ndjson", last["cursor"].as_str().unwrap())
    );
    posted.end.as_ref().expect("a continuation is a clean end");
    assert_eq!(function.exit_code_within(Duration::from_millis(300)), None);
}

#[tokio::test]
async fn a_bad_parameter_is_posted_as_a_400_prelude_with_a_problem_body() {
    let dir = tempfile::tempdir().unwrap();
    seeded_store(dir.path(), 1, 1).await;
    let mut api = RuntimeApi::start(
        event("get-export-orders.json")
            .query("status", "lost")
            .json()
            .clone(),
        Duration::from_secs(60),
    )
    .await;
    let _function = Function::start(
        &api,
        &dir.path().join("rill.db"),
        &dir.path().join("function.log"),
        &[],
    );
    let posted = api.next_post().await;
    assert_streaming_post(&posted);
    let (prelude, payload) = posted.split();
    assert_eq!(prelude["statusCode"], 400);
    assert_eq!(
        prelude["headers"]["content-type"],
        "application/problem+json"
    );
    assert_single_valued(&prelude);
    let problem: Value = serde_json::from_slice(payload).unwrap();
    assert_eq!(problem["type"], "urn:rill:problem:validation-error");
    assert_eq!(problem["errors"][0]["field"], "status");
    posted.end.as_ref().expect("a problem ends cleanly");
}

#[tokio::test]
async fn an_invocation_deadline_inside_the_margin_ends_ndjson_after_one_page_with_a_next_trailer() {
    // Given a deadline one second away and the default two-second margin: the time is already up
    let dir = tempfile::tempdir().unwrap();
    seeded_store(dir.path(), 10, 300).await;
    let mut api = RuntimeApi::start(
        event("get-export-orders.json")
            .query("format", "ndjson")
            .json()
            .clone(),
        Duration::from_secs(1),
    )
    .await;
    let mut function = Function::start(
        &api,
        &dir.path().join("rill.db"),
        &dir.path().join("function.log"),
        &[("RILL_EXPORT_PAGE_SIZE", "10")],
    );

    // When the export runs, then it sends the one page every response carries and continues no further
    let posted = api.next_post().await;
    let (_, payload) = posted.split();
    let lines: Vec<Value> = std::str::from_utf8(payload)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 11, "{lines:?}");
    assert_eq!(lines[10]["type"], "next");
    assert_eq!(lines[10]["count"], 10);
    posted.end.as_ref().expect("a continuation is a clean end");
    assert_eq!(function.exit_code_within(Duration::from_millis(300)), None);
}

#[tokio::test]
async fn an_invocation_deadline_inside_the_margin_fails_a_csv_transfer_after_one_page() {
    let dir = tempfile::tempdir().unwrap();
    seeded_store(dir.path(), 10, 300).await;
    let mut api = RuntimeApi::start(
        event("get-export-orders.json").json().clone(),
        Duration::from_secs(1),
    )
    .await;
    let mut function = Function::start(
        &api,
        &dir.path().join("rill.db"),
        &dir.path().join("function.log"),
        &[("RILL_EXPORT_PAGE_SIZE", "10")],
    );
    let posted = api.next_post().await;
    assert!(
        posted.end.is_err(),
        "a CSV cut by the deadline must not end cleanly"
    );
    assert_eq!(
        function.exit_code_within(Duration::from_secs(10)),
        Some(export::truncate::EXIT_STATUS)
    );
    assert!(function.log().contains("deadline"), "{}", function.log());
}
