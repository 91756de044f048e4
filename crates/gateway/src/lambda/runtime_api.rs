//! The Lambda Runtime API (`/2018-06-01/runtime/...`) for one function instance.
//!
//! Each instance gets its own listener on `127.0.0.1:<port>` and its child process gets
//! `AWS_LAMBDA_RUNTIME_API=127.0.0.1:<port>`, exactly the `host:port` form Lambda uses. One listener
//! per instance means routing needs no lookup (a runtime can only ever see its own events) and any
//! runtime works, including ones that would not accept a URL with a path prefix.
//!
//! Behaviour follows AWS's Runtime Interface Emulator where the documentation is silent: `/next`
//! long-polls and always sends `Lambda-Runtime-Aws-Request-Id` and an absolute epoch-millisecond
//! `Lambda-Runtime-Deadline-Ms`; an unknown or already answered request id gets 400
//! `InvalidRequestID`; a buffered response above 6 MiB + 100 bytes gets 413; a streamed response is
//! read to its end (trailers included) before the 202.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use super::invocation::{FunctionError, Invocation, RuntimeReply, StreamFrame};
use super::quick_ack::QuickAck;

/// Lambda's limit for a buffered response: 6 MiB plus 100 bytes, as RIE enforces it.
pub const MAX_BUFFERED_RESPONSE: usize = 6 * 1024 * 1024 + 100;
/// Frames buffered between the runtime's streamed body and the driver. Small on purpose: a slow
/// client slows the function, as with real streaming.
const STREAM_FRAMES: usize = 8;
/// How much of an oversized buffered response is read and discarded before answering 413.
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

const ERROR_TYPE: &str = "lambda-runtime-function-error-type";
const ERROR_BODY: &str = "lambda-runtime-function-error-body";
const RESPONSE_MODE: &str = "lambda-runtime-function-response-mode";

/// Tells the instance how its init phase ended: the first `/next` or an `/init/error`.
#[derive(Debug)]
pub enum InitSignal {
    /// The runtime asked for its first event.
    Ready,
    /// The runtime reported an init error.
    Failed(FunctionError),
}

/// A running Runtime API server for one instance. Dropping it stops the server and closes every
/// connection.
#[derive(Debug)]
pub struct RuntimeApi {
    address: SocketAddr,
    invocations: mpsc::Sender<Invocation>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RuntimeApi {
    /// Starts a server on a free loopback port. The receiver reports the end of the init phase.
    pub async fn start(
        function_arn: String,
    ) -> std::io::Result<(Self, oneshot::Receiver<InitSignal>)> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let address = listener.local_addr()?;
        let (invocations, next) = mpsc::channel(1);
        let (init_tx, init_rx) = oneshot::channel();
        let state = Arc::new(RuntimeState {
            function_arn,
            next: tokio::sync::Mutex::new(next),
            active: Mutex::new(None),
            init: Mutex::new(Some(init_tx)),
        });
        let task = tokio::spawn(accept_loop(listener, state));
        Ok((
            Self {
                address,
                invocations,
                task,
            },
            init_rx,
        ))
    }

    /// `host:port` for `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Queues an invocation for the runtime's next `/next`. Fails only when the server is gone.
    pub async fn submit(&self, invocation: Invocation) -> Result<(), Invocation> {
        self.invocations.send(invocation).await.map_err(|e| e.0)
    }
}

#[derive(Debug)]
struct Active {
    request_id: String,
    reply: Option<oneshot::Sender<RuntimeReply>>,
}

#[derive(Debug)]
struct RuntimeState {
    function_arn: String,
    next: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    active: Mutex<Option<Active>>,
    init: Mutex<Option<oneshot::Sender<InitSignal>>>,
}

impl RuntimeState {
    /// Takes the reply channel of the active invocation `request_id`, once.
    fn take_reply(&self, request_id: &str) -> Option<oneshot::Sender<RuntimeReply>> {
        let mut active = self.active.lock().expect("runtime state lock");
        active
            .as_mut()
            .filter(|a| a.request_id == request_id)
            .and_then(|a| a.reply.take())
    }

    /// Forgets `request_id` once its answer has been fully read: later calls get 400.
    fn finish(&self, request_id: &str) {
        let mut active = self.active.lock().expect("runtime state lock");
        if active.as_ref().is_some_and(|a| a.request_id == request_id) {
            *active = None;
        }
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<RuntimeState>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(error) => {
                        tracing::warn!(%error, "runtime API accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let state = state.clone();
                connections.spawn(async move {
                    let service = service_fn(move |request| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(route(&state, request).await) }
                    });
                    if let Err(error) = http1::Builder::new().serve_connection(TokioIo::new(QuickAck::new(stream)), service).await {
                        tracing::debug!(%error, "runtime API connection ended");
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

type ApiResponse = Response<Full<Bytes>>;

async fn route(state: &RuntimeState, request: Request<Incoming>) -> ApiResponse {
    let path = request.uri().path().to_owned();
    let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") else {
        return not_found(&path);
    };
    let parts: Vec<&str> = rest.split('/').collect();
    match (request.method(), parts.as_slice()) {
        (&Method::GET, ["invocation", "next"]) => next(state).await,
        (&Method::POST, ["invocation", id, "response"]) => response(state, id, request).await,
        (&Method::POST, ["invocation", id, "error"]) => error(state, id, request).await,
        (&Method::POST, ["init", "error"]) => init_error(state, request).await,
        _ => not_found(&path),
    }
}

async fn next(state: &RuntimeState) -> ApiResponse {
    if let Some(init) = state.init.lock().expect("runtime state lock").take() {
        let _ = init.send(InitSignal::Ready);
    }
    // Asking for the next event gives up on the current one: say so now, not when the next event
    // arrives (the caller would otherwise wait for the function's timeout).
    if let Some(reply) = state
        .active
        .lock()
        .expect("runtime state lock")
        .as_mut()
        .and_then(|a| a.reply.take())
    {
        let _ = reply.send(RuntimeReply::Abandoned);
    }
    let invocation = state.next.lock().await.recv().await;
    let Some(invocation) = invocation else {
        return api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceException",
            "the instance is shutting down",
        );
    };
    {
        let mut active = state.active.lock().expect("runtime state lock");
        if let Some(reply) = active.take().and_then(|a| a.reply) {
            let _ = reply.send(RuntimeReply::Abandoned);
        }
        *active = Some(Active {
            request_id: invocation.request_id.clone(),
            reply: Some(invocation.reply),
        });
    }
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .header("lambda-runtime-aws-request-id", &invocation.request_id)
        .header(
            "lambda-runtime-deadline-ms",
            invocation.deadline_epoch_ms.to_string(),
        )
        .header("lambda-runtime-invoked-function-arn", &state.function_arn)
        .header("lambda-runtime-trace-id", &invocation.trace_id)
        .body(Full::new(invocation.event))
        .expect("static response parts are valid")
}

async fn response(
    state: &RuntimeState,
    request_id: &str,
    request: Request<Incoming>,
) -> ApiResponse {
    let streaming = match request.headers().get(RESPONSE_MODE).map(|v| v.to_str()) {
        None => false,
        Some(Ok(mode)) if mode.eq_ignore_ascii_case("streaming") => true,
        Some(_) => {
            return api_error(
                StatusCode::BAD_REQUEST,
                "InvalidFunctionResponseMode",
                "Invalid function response mode",
            );
        }
    };
    let Some(reply) = state.take_reply(request_id) else {
        return invalid_request_id();
    };
    let result = if streaming {
        stream_response(request, reply).await
    } else {
        buffered_response(request, reply).await
    };
    state.finish(request_id);
    result
}

async fn buffered_response(
    request: Request<Incoming>,
    reply: oneshot::Sender<RuntimeReply>,
) -> ApiResponse {
    let mut body = request.into_body();
    let mut payload = BytesMut::new();
    let mut received = 0usize;
    // An oversized body is still read (up to a bound) before the 413, so that the runtime gets the
    // answer instead of a broken pipe in the middle of its write.
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            // The runtime's connection broke mid-body; dropping `reply` tells the driver.
            return truncated();
        };
        if let Ok(data) = frame.into_data() {
            received += data.len();
            if received > MAX_BUFFERED_RESPONSE + DRAIN_LIMIT {
                break;
            }
            if received <= MAX_BUFFERED_RESPONSE {
                payload.extend_from_slice(&data);
            }
        }
    }
    if received > MAX_BUFFERED_RESPONSE {
        let _ = reply.send(RuntimeReply::TooLarge);
        return api_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            &format!("Exceeded maximum allowed payload size ({MAX_BUFFERED_RESPONSE} bytes)."),
        );
    }
    let _ = reply.send(RuntimeReply::Buffered(payload.freeze()));
    accepted()
}

async fn stream_response(
    request: Request<Incoming>,
    reply: oneshot::Sender<RuntimeReply>,
) -> ApiResponse {
    let (frames, receiver) = mpsc::channel(STREAM_FRAMES);
    let _ = reply.send(RuntimeReply::Streaming(receiver));
    let mut body = request.into_body();
    // Sends fail once the driver stopped listening (timeout); keep reading so the runtime can finish
    // writing, as Lambda keeps a stream running when its client has gone.
    loop {
        match body.frame().await {
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    if !data.is_empty() {
                        let _ = frames.send(StreamFrame::Data(data)).await;
                    }
                }
                Err(frame) => {
                    if let Some(error) = frame.trailers_ref().and_then(trailer_error) {
                        let _ = frames.send(StreamFrame::Error(error)).await;
                    }
                }
            },
            Some(Err(error)) => {
                let _ = frames.send(StreamFrame::Truncated(error.to_string())).await;
                return truncated();
            }
            None => break,
        }
    }
    let _ = frames.send(StreamFrame::End).await;
    accepted()
}

fn trailer_error(trailers: &HeaderMap) -> Option<FunctionError> {
    let text = |name: &str| trailers.get(name).and_then(|v| v.to_str().ok());
    let error_type = text(ERROR_TYPE)?;
    Some(FunctionError::from_trailers(
        Some(error_type),
        text(ERROR_BODY),
    ))
}

async fn error(state: &RuntimeState, request_id: &str, request: Request<Incoming>) -> ApiResponse {
    let Some(reply) = state.take_reply(request_id) else {
        return invalid_request_id();
    };
    let result = match read_error(request).await {
        Some(error) => {
            let _ = reply.send(RuntimeReply::Error(error));
            accepted()
        }
        None => truncated(),
    };
    state.finish(request_id);
    result
}

async fn init_error(state: &RuntimeState, request: Request<Incoming>) -> ApiResponse {
    let Some(init) = state.init.lock().expect("runtime state lock").take() else {
        return api_error(
            StatusCode::FORBIDDEN,
            "InvalidStateTransition",
            "State transition from Ready to InitError failed",
        );
    };
    match read_error(request).await {
        Some(error) => {
            let _ = init.send(InitSignal::Failed(error));
            accepted()
        }
        None => truncated(),
    }
}

/// Reads an `/error` or `/init/error` request: the type from the header, else from the JSON body.
async fn read_error(request: Request<Incoming>) -> Option<FunctionError> {
    let header_type = request
        .headers()
        .get(ERROR_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = Limited::new(request.into_body(), MAX_BUFFERED_RESPONSE)
        .collect()
        .await
        .ok()?
        .to_bytes();
    let body_type = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            v.get("errorType")
                .and_then(|t| t.as_str())
                .map(str::to_owned)
        });
    Some(FunctionError {
        error_type: header_type
            .or(body_type)
            .unwrap_or_else(|| "Unknown".to_owned()),
        body,
    })
}

fn accepted() -> ApiResponse {
    json_response(StatusCode::ACCEPTED, json!({"status": "OK"}))
}

fn invalid_request_id() -> ApiResponse {
    api_error(
        StatusCode::BAD_REQUEST,
        "InvalidRequestID",
        "Invalid request ID",
    )
}

fn truncated() -> ApiResponse {
    api_error(
        StatusCode::BAD_REQUEST,
        "TruncatedHTTPRequest",
        "The request body was truncated",
    )
}

fn not_found(path: &str) -> ApiResponse {
    api_error(
        StatusCode::NOT_FOUND,
        "NotFound",
        &format!("no Runtime API endpoint at {path}"),
    )
}

fn api_error(status: StatusCode, error_type: &str, message: &str) -> ApiResponse {
    json_response(
        status,
        json!({"errorMessage": message, "errorType": error_type}),
    )
}

fn json_response(status: StatusCode, body: serde_json::Value) -> ApiResponse {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("static response parts are valid")
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    type TestClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

    fn client() -> TestClient {
        Client::builder(TokioExecutor::new()).build_http()
    }

    async fn call(
        client: &TestClient,
        api: &RuntimeApi,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &'static [u8],
    ) -> (StatusCode, HeaderMap, serde_json::Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("http://{}/2018-06-01/runtime{path}", api.address()));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = client
            .request(request.body(Full::new(Bytes::from_static(body))).unwrap())
            .await
            .unwrap();
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        (
            parts.status,
            parts.headers,
            serde_json::from_slice(&bytes).unwrap_or_default(),
        )
    }

    fn invocation(request_id: &str) -> (Invocation, oneshot::Receiver<RuntimeReply>) {
        let (reply, receiver) = oneshot::channel();
        let invocation = Invocation {
            request_id: request_id.to_owned(),
            event: Bytes::from_static(b"{\"httpMethod\":\"GET\"}"),
            deadline_epoch_ms: 4_102_444_800_000,
            trace_id: "Root=1-00000000-000000000000000000000000".to_owned(),
            reply,
        };
        (invocation, receiver)
    }

    #[tokio::test]
    async fn next_marks_init_done_and_hands_out_the_event_with_lambdas_headers() {
        // Given a Runtime API with one queued invocation
        let (api, init) =
            RuntimeApi::start("arn:aws:lambda:us-east-1:123456789012:function:F".to_owned())
                .await
                .unwrap();
        let (queued, _reply) = invocation("req-1");
        api.submit(queued).await.unwrap();
        // When the runtime asks for the next event
        let (status, headers, body) =
            call(&client(), &api, Method::GET, "/invocation/next", &[], b"").await;
        // Then the init phase is over and the event arrives with its headers
        assert!(matches!(init.await, Ok(InitSignal::Ready)));
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["lambda-runtime-aws-request-id"], "req-1");
        assert_eq!(headers["lambda-runtime-deadline-ms"], "4102444800000");
        assert_eq!(
            headers["lambda-runtime-invoked-function-arn"],
            "arn:aws:lambda:us-east-1:123456789012:function:F"
        );
        assert!(headers.contains_key("lambda-runtime-trace-id"));
        assert_eq!(body["httpMethod"], "GET");
    }

    #[tokio::test]
    async fn answers_for_unknown_or_answered_ids_and_bad_modes_are_rejected_like_rie() {
        let client = client();
        let (api, _init) = RuntimeApi::start("arn".to_owned()).await.unwrap();
        let (queued, reply) = invocation("req-1");
        api.submit(queued).await.unwrap();
        call(&client, &api, Method::GET, "/invocation/next", &[], b"").await;

        let (status, _, body) = call(
            &client,
            &api,
            Method::POST,
            "/invocation/nope/response",
            &[],
            b"{}",
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["errorType"], "InvalidRequestID");

        let mode = [("lambda-runtime-function-response-mode", "chunky")];
        let (status, _, body) = call(
            &client,
            &api,
            Method::POST,
            "/invocation/req-1/response",
            &mode,
            b"{}",
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["errorType"], "InvalidFunctionResponseMode");

        let (status, _, body) = call(
            &client,
            &api,
            Method::POST,
            "/invocation/req-1/response",
            &[],
            b"{}",
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        assert_eq!(body["status"], "OK");
        assert!(matches!(reply.await, Ok(RuntimeReply::Buffered(b)) if b.as_ref() == b"{}"));

        let (status, _, _) = call(
            &client,
            &api,
            Method::POST,
            "/invocation/req-1/error",
            &[],
            b"{}",
        )
        .await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "an answered id is no longer valid"
        );
    }

    #[tokio::test]
    async fn an_error_report_carries_its_type_and_body() {
        let client = client();
        let (api, _init) = RuntimeApi::start("arn".to_owned()).await.unwrap();
        let (queued, reply) = invocation("req-2");
        api.submit(queued).await.unwrap();
        call(&client, &api, Method::GET, "/invocation/next", &[], b"").await;
        let headers = [("lambda-runtime-function-error-type", "unhandled")];
        let body: &'static [u8] = br#"{"errorType":"MyError","errorMessage":"boom"}"#;
        let (status, _, _) = call(
            &client,
            &api,
            Method::POST,
            "/invocation/req-2/error",
            &headers,
            body,
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let Ok(RuntimeReply::Error(error)) = reply.await else {
            panic!("expected an error reply")
        };
        assert_eq!(error.error_type, "unhandled");
        assert_eq!(error.summary(), "unhandled: boom");
    }

    #[tokio::test]
    async fn an_init_error_is_reported_once_and_refused_after_init() {
        let client = client();
        let (api, init) = RuntimeApi::start("arn".to_owned()).await.unwrap();
        let headers = [("lambda-runtime-function-error-type", "Runtime.InitError")];
        let body: &'static [u8] = br#"{"errorType":"Config","errorMessage":"missing RILL_STORE"}"#;
        let (status, _, _) = call(&client, &api, Method::POST, "/init/error", &headers, body).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let Ok(InitSignal::Failed(error)) = init.await else {
            panic!("expected an init failure")
        };
        assert_eq!(error.summary(), "Runtime.InitError: missing RILL_STORE");
        let (status, _, body) =
            call(&client, &api, Method::POST, "/init/error", &headers, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["errorType"], "InvalidStateTransition");
    }

    #[tokio::test]
    async fn unknown_paths_are_404() {
        let (api, _init) = RuntimeApi::start("arn".to_owned()).await.unwrap();
        let (status, _, _) = call(
            &client(),
            &api,
            Method::GET,
            "/invocation/whatever",
            &[],
            b"",
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}
