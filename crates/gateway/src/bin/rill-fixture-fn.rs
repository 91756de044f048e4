//! A Lambda function for the gateway's tests, and only for them: it misbehaves on request.
//!
//! It speaks the Runtime API by hand (not through `lambda_runtime`) so that it can produce what
//! real runtimes rarely do but the gateway must handle: a delimiter split across chunks, a prelude
//! that is not JSON, real HTTP error trailers, a crash mid-stream, a response that never comes.
//! The behaviour comes from the event's `behaviour` query parameter (default `echo`); the init
//! phase is controlled by the `FIXTURE_INIT` environment variable. The table of behaviours is in
//! [`handle`].

use std::convert::Infallible;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Channel, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

type RequestBody = UnsyncBoxBody<Bytes, Infallible>;

const ERROR_TYPE: &str = "Lambda-Runtime-Function-Error-Type";
const ERROR_BODY: &str = "Lambda-Runtime-Function-Error-Body";
const DELIMITER: [u8; 8] = [0; 8];

struct RuntimeApiClient {
    client: Client<HttpConnector, RequestBody>,
    base: String,
}

struct Next {
    request_id: String,
    headers: HeaderMap,
    event: Value,
}

impl RuntimeApiClient {
    fn from_env() -> Self {
        let address =
            std::env::var("AWS_LAMBDA_RUNTIME_API").expect("AWS_LAMBDA_RUNTIME_API is set");
        Self {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base: format!("http://{address}/2018-06-01/runtime"),
        }
    }

    async fn send(&self, request: Request<RequestBody>) -> (StatusCode, HeaderMap, Bytes) {
        let response = self
            .client
            .request(request)
            .await
            .expect("the Runtime API answers");
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .expect("the Runtime API sends a body")
            .to_bytes();
        (parts.status, parts.headers, body)
    }

    fn post(&self, path: &str) -> http::request::Builder {
        Request::builder()
            .method(Method::POST)
            .uri(format!("{}{path}", self.base))
    }

    async fn next(&self) -> Next {
        let request = Request::get(format!("{}/invocation/next", self.base))
            .body(empty())
            .expect("valid request");
        let (status, headers, body) = self.send(request).await;
        assert_eq!(status, StatusCode::OK, "GET /next");
        let request_id = headers["lambda-runtime-aws-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let event = serde_json::from_slice(&body).expect("the event is JSON");
        Next {
            request_id,
            headers,
            event,
        }
    }

    async fn respond(&self, request_id: &str, body: Vec<u8>) -> StatusCode {
        let request = self
            .post(&format!("/invocation/{request_id}/response"))
            .body(full(body))
            .expect("valid request");
        self.send(request).await.0
    }

    async fn error(&self, path: &str, error_type: &str, message: &str) -> StatusCode {
        let body = json!({"errorMessage": message, "errorType": error_type}).to_string();
        let request = self
            .post(path)
            .header(ERROR_TYPE, error_type)
            .body(full(body.into_bytes()))
            .expect("valid request");
        self.send(request).await.0
    }

    /// Starts a streamed response; frames go through the returned sender, the answer through the
    /// task.
    fn stream(
        &self,
        request_id: &str,
    ) -> (
        http_body_util::channel::Sender<Bytes>,
        tokio::task::JoinHandle<StatusCode>,
    ) {
        let (sender, body) = Channel::<Bytes>::new(4);
        let request = self
            .post(&format!("/invocation/{request_id}/response"))
            .header("Lambda-Runtime-Function-Response-Mode", "streaming")
            .header("Transfer-Encoding", "chunked")
            .header("Trailer", ERROR_TYPE)
            .header("Trailer", ERROR_BODY)
            .header(
                "Content-Type",
                "application/vnd.awslambda.http-integration-response",
            )
            .body(body.boxed_unsync())
            .expect("valid request");
        let client = self.client.clone();
        let task = tokio::spawn(async move {
            let response = client
                .request(request)
                .await
                .expect("the Runtime API answers");
            response.status()
        });
        (sender, task)
    }
}

fn empty() -> RequestBody {
    Full::new(Bytes::new()).boxed_unsync()
}

fn full(bytes: Vec<u8>) -> RequestBody {
    Full::new(Bytes::from(bytes)).boxed_unsync()
}

fn epoch_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
}

fn query<'e>(event: &'e Value, name: &str) -> Option<&'e str> {
    event.get("queryStringParameters")?.get(name)?.as_str()
}

fn number(event: &Value, name: &str, default: u64) -> u64 {
    query(event, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn proxy(status: u16, body: &str) -> Vec<u8> {
    json!({
        "statusCode": status,
        "headers": {},
        "multiValueHeaders": {"content-type": ["application/json"]},
        "body": body,
        "isBase64Encoded": false,
    })
    .to_string()
    .into_bytes()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let api = RuntimeApiClient::from_env();
    init(&api).await;
    loop {
        let next = api.next().await;
        println!("fixture handling {}", next.request_id);
        handle(&api, next).await;
    }
}

async fn init(api: &RuntimeApiClient) {
    match std::env::var("FIXTURE_INIT").as_deref() {
        Ok("crash") => {
            eprintln!("fixture: crashing during init");
            std::process::exit(2);
        }
        Ok("error") => {
            api.error("/init/error", "Runtime.InitError", "fixture init failure")
                .await;
            std::process::exit(1);
        }
        Ok("fail-once") => {
            let marker = std::env::var("FIXTURE_MARKER").expect("FIXTURE_MARKER names a file");
            if std::fs::metadata(&marker).is_err() {
                std::fs::write(&marker, b"failed once").expect("marker is writable");
                api.error(
                    "/init/error",
                    "Runtime.InitError",
                    "fixture fails its first init",
                )
                .await;
                std::process::exit(1);
            }
        }
        _ => {}
    }
}

/// | behaviour               | what the function does                                            |
/// |-------------------------|-------------------------------------------------------------------|
/// | `echo` (default)        | 200 with the event, pid, Runtime API headers and environment      |
/// | `sleep` (`ms`)          | waits, then `echo`                                                |
/// | `status` (`status`)     | that status, headers + multiValueHeaders sharing a name           |
/// | `binary`                | base64 body of bytes 0..=255                                      |
/// | `malformed`             | a proxy response without statusCode                               |
/// | `error`                 | `POST /error`                                                     |
/// | `crash`                 | exits without answering                                           |
/// | `large` (`bytes`)       | a buffered response of that size                                  |
/// | `ignore`                | asks for the next event without answering                         |
/// | `twice`                 | answers, then answers again and logs the second status            |
/// | `grandchild`            | starts `sleep 300` and returns its pid                            |
/// | `stream` (`chunks`, `interval`, `delay`) | after `delay` ms, prelude, then timestamped lines at an interval |
/// | `stream-split`          | prelude and delimiter split across chunks                         |
/// | `stream-cookies`        | prelude with multiValueHeaders and cookies                        |
/// | `stream-length`         | prelude with Content-Length                                       |
/// | `stream-no-delimiter`   | 20 KB without a delimiter                                         |
/// | `stream-short`          | a few bytes without a delimiter                                   |
/// | `stream-bad-prelude`    | a prelude that is not JSON                                        |
/// | `stream-list-headers`   | a prelude whose `headers` hold a list                             |
/// | `stream-crash`          | prelude, a line, then exits                                       |
/// | `stream-trailers`       | prelude, a line, then error trailers                              |
/// | `stream-hang`           | prelude, a line, then never finishes                              |
/// | `stream-hang-early`     | half a prelude, then never finishes                               |
/// | `stream-bulk` (`chunks`) | prelude, then 64 KiB chunks as fast as they are taken            |
///
/// Every `stream*` behaviour that ends its stream first writes `tail` more 64 KiB chunks (default
/// 0), more than the gateway buffers, to show that the gateway keeps reading.
async fn handle(api: &RuntimeApiClient, next: Next) {
    let Next {
        request_id,
        headers,
        event,
    } = next;
    let behaviour = query(&event, "behaviour").unwrap_or("echo").to_owned();
    match behaviour.as_str() {
        "echo" | "sleep" => {
            if behaviour == "sleep" {
                tokio::time::sleep(Duration::from_millis(number(&event, "ms", 1000))).await;
            }
            let runtime: serde_json::Map<String, Value> = headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        Value::String(v.to_str().unwrap_or("").to_owned()),
                    )
                })
                .collect();
            let env: serde_json::Map<String, Value> = std::env::vars()
                .map(|(k, v)| (k, Value::String(v)))
                .collect();
            let body = json!({
                "pid": std::process::id(),
                "event": event,
                "runtime": runtime,
                "env": env,
                "receivedAtMs": epoch_ms() as u64,
            });
            let status = api
                .respond(&request_id, proxy(200, &body.to_string()))
                .await;
            println!("fixture response answered {}", status.as_u16());
        }
        "status" => {
            let status = number(&event, "status", 200);
            let body = json!({
                "statusCode": status,
                "headers": {"x-single": "one", "x-both": "from-headers", "content-type": "text/plain"},
                "multiValueHeaders": {"x-multi": ["a", "b"], "x-both": ["from-multi"]},
                "body": "status",
            });
            api.respond(&request_id, body.to_string().into_bytes())
                .await;
        }
        "binary" => {
            let bytes: Vec<u8> = (0..=255).collect();
            let body = json!({
                "statusCode": 200,
                "headers": {"content-type": "application/octet-stream"},
                "body": base64::engine::general_purpose::STANDARD.encode(bytes),
                "isBase64Encoded": true,
            });
            api.respond(&request_id, body.to_string().into_bytes())
                .await;
        }
        "malformed" => {
            api.respond(&request_id, br#"{"body":"no status code"}"#.to_vec())
                .await;
        }
        "error" | "stream-error" => {
            let path = format!("/invocation/{request_id}/error");
            api.error(&path, "FixtureError", "fixture failure").await;
        }
        "crash" => {
            eprintln!("fixture: crashing mid-invocation");
            std::process::exit(3);
        }
        "large" => {
            let size = number(&event, "bytes", 7 * 1024 * 1024) as usize;
            let status = api
                .respond(&request_id, proxy(200, &"a".repeat(size)))
                .await;
            println!("fixture large response got {}", status.as_u16());
        }
        "ignore" => {}
        "twice" => {
            let first = api.respond(&request_id, proxy(200, "first")).await;
            let second = api.respond(&request_id, proxy(200, "second")).await;
            println!(
                "fixture responses: first {} second {}",
                first.as_u16(),
                second.as_u16()
            );
        }
        "grandchild" => {
            let child = std::process::Command::new("sleep")
                .arg("300")
                .spawn()
                .expect("sleep can be started");
            let body = json!({"pid": std::process::id(), "grandchild": child.id()}).to_string();
            std::mem::forget(child);
            api.respond(&request_id, proxy(200, &body)).await;
        }
        stream if stream.starts_with("stream") => {
            handle_stream(api, &request_id, &event, stream).await
        }
        other => {
            let body = json!({"message": format!("unknown behaviour {other}")}).to_string();
            api.respond(&request_id, proxy(400, &body)).await;
        }
    }
}

async fn handle_stream(api: &RuntimeApiClient, request_id: &str, event: &Value, behaviour: &str) {
    let (mut sender, answer) = api.stream(request_id);
    let prelude = json!({"statusCode": 200, "headers": {"content-type": "application/x-ndjson"}, "cookies": []})
        .to_string();
    match behaviour {
        "stream" => {
            let chunks = number(event, "chunks", 5);
            let interval = Duration::from_millis(number(event, "interval", 100));
            tokio::time::sleep(Duration::from_millis(number(event, "delay", 0))).await;
            sender.send_data(Bytes::from(prelude)).await.ok();
            sender.send_data(Bytes::from_static(&DELIMITER)).await.ok();
            for seq in 0..chunks {
                if seq > 0 {
                    tokio::time::sleep(interval).await;
                }
                let line = format!("{}\n", json!({"seq": seq, "sentAtMs": epoch_ms() as u64}));
                sender.send_data(Bytes::from(line)).await.ok();
            }
        }
        "stream-split" => {
            let (a, b) = prelude.split_at(prelude.len() / 2);
            sender.send_data(Bytes::from(a.to_owned())).await.ok();
            sender.send_data(Bytes::from(b.to_owned())).await.ok();
            sender.send_data(Bytes::from_static(&[0, 0, 0])).await.ok();
            sender
                .send_data(Bytes::from_static(b"\0\0\0\0\0split body"))
                .await
                .ok();
        }
        "stream-cookies" => {
            let prelude = json!({
                "statusCode": 201,
                "headers": {"x-single": "one", "x-both": "from-headers"},
                "multiValueHeaders": {"x-multi": ["a", "b"], "x-both": ["from-multi"]},
                "cookies": ["session=abc; HttpOnly", "theme=dark"],
            });
            sender
                .send_data(Bytes::from(prelude.to_string()))
                .await
                .ok();
            sender.send_data(Bytes::from_static(&DELIMITER)).await.ok();
            sender.send_data(Bytes::from_static(b"cookies")).await.ok();
        }
        "stream-length" => {
            let prelude = json!({"statusCode": 200, "headers": {"content-length": "10"}});
            sender
                .send_data(Bytes::from(prelude.to_string()))
                .await
                .ok();
            sender.send_data(Bytes::from_static(&DELIMITER)).await.ok();
            sender.send_data(Bytes::from_static(b"01234")).await.ok();
            sender.send_data(Bytes::from_static(b"56789")).await.ok();
        }
        "stream-no-delimiter" => {
            sender.send_data(Bytes::from(vec![b'x'; 10_000])).await.ok();
            sender.send_data(Bytes::from(vec![b'x'; 10_000])).await.ok();
        }
        "stream-short" => {
            sender.send_data(Bytes::from_static(b"hello")).await.ok();
        }
        "stream-bad-prelude" => {
            sender.send_data(Bytes::from_static(b"not json")).await.ok();
            sender.send_data(Bytes::from_static(&DELIMITER)).await.ok();
            sender.send_data(Bytes::from_static(b"body")).await.ok();
        }
        "stream-list-headers" => {
            sender
                .send_data(Bytes::from_static(
                    br#"{"statusCode":200,"headers":{"x-a":["1","2"]}}"#,
                ))
                .await
                .ok();
            sender.send_data(Bytes::from_static(&DELIMITER)).await.ok();
            sender.send_data(Bytes::from_static(b"body")).await.ok();
        }
        "stream-crash" | "stream-trailers" | "stream-hang" => {
            sender.send_data(Bytes::from(prelude)).await.ok();
            sender.send_data(Bytes::from_static(&DELIMITER)).await.ok();
            sender
                .send_data(Bytes::from_static(b"first line\n"))
                .await
                .ok();
            // Give the bytes time to leave before misbehaving.
            tokio::time::sleep(Duration::from_millis(300)).await;
            match behaviour {
                "stream-crash" => {
                    eprintln!("fixture: crashing mid-stream");
                    std::process::exit(4);
                }
                "stream-trailers" => {
                    let error = json!({"errorMessage": "mid-stream failure", "errorType": "Fixture.StreamError"});
                    let mut trailers = HeaderMap::new();
                    trailers.insert(ERROR_TYPE, HeaderValue::from_static("Fixture.StreamError"));
                    let encoded =
                        base64::engine::general_purpose::STANDARD.encode(error.to_string());
                    trailers.insert(
                        ERROR_BODY,
                        HeaderValue::from_str(&encoded).expect("base64 is a header value"),
                    );
                    sender.send_trailers(trailers).await.ok();
                }
                _ => std::future::pending::<()>().await,
            }
        }
        "stream-hang-early" => {
            sender
                .send_data(Bytes::from_static(br#"{"statusCode":200,"#))
                .await
                .ok();
            std::future::pending::<()>().await;
        }
        "stream-bulk" => {
            let chunks = number(event, "chunks", 64);
            sender.send_data(Bytes::from(prelude)).await.ok();
            sender.send_data(Bytes::from_static(&DELIMITER)).await.ok();
            for _ in 0..chunks {
                sender
                    .send_data(Bytes::from(vec![b'z'; 64 * 1024]))
                    .await
                    .ok();
            }
            println!("fixture finished streaming {chunks} chunks");
        }
        other => {
            sender.send_data(Bytes::from(prelude)).await.ok();
            sender.send_data(Bytes::from_static(&DELIMITER)).await.ok();
            sender
                .send_data(Bytes::from(format!("unknown stream behaviour {other}")))
                .await
                .ok();
        }
    }
    // More than the gateway's buffers hold: the rest of the stream only leaves if the gateway
    // keeps reading it.
    let tail = number(event, "tail", 0);
    for _ in 0..tail {
        sender
            .send_data(Bytes::from(vec![b't'; 64 * 1024]))
            .await
            .ok();
    }
    drop(sender);
    let status = answer.await.expect("the response task completes");
    println!("fixture stream answered {}", status.as_u16());
}
