//! The front door: an HTTP/1.1 server that serves `http://HOST:PORT/{stage}/...` like an
//! `execute-api` endpoint.
//!
//! Per request, in API Gateway's order: URL and header sizes (414 and 431, see `request_limits`),
//! stage and route (403 `Missing Authentication Token` when either is unknown), body size (413
//! above 10 MB), the request guards (SigV4, validation), the proxy event (413 when it exceeds
//! Lambda's 6 MB invoke limit), then the invocation and the mapping of its outcome (see
//! `integration`). Each request gets a span with its request id and route, and one access log
//! line.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{HeaderMap, Request, Response};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument as _;

use crate::config::{ApiConfig, Route, RouteMatch};
use crate::event::{self, EventInput};
use crate::guard::{RequestGuard, ValidationGuard, run_guards};
use crate::integration::{self, GatewayBody, ResponseContext, StreamLimits};
use crate::lambda::{
    FunctionChanges, Functions, InstanceContext, InvokeRequest, LogSink, PoolLimits, StdoutSink,
};
use crate::request::{CallerIdentity, Query, RoutedRequest};
use crate::request_limits;
use crate::response::{GatewayResponse, ResponseScope};
use crate::settings::Settings;

/// API Gateway's payload quota for a request body.
pub const MAX_REQUEST_BODY: usize = 10 * 1024 * 1024;
/// Lambda's limit for a synchronous invocation's event.
pub const MAX_EVENT: usize = 6 * 1024 * 1024;
/// How long open connections get to finish once shutdown starts.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// What the gateway is built with besides configuration.
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    /// Checks run before each invocation, in order.
    pub guards: Vec<Arc<dyn RequestGuard>>,
    /// Where function output goes.
    pub logs: Arc<dyn LogSink>,
}

impl GatewayOptions {
    /// The guards `settings` ask for ([`crate::default_guards`]), function output on stdout.
    pub fn for_settings(settings: &Settings) -> Self {
        Self {
            guards: crate::default_guards(settings),
            logs: Arc::new(StdoutSink::default()),
        }
    }
}

/// A bound, not yet serving, gateway.
#[derive(Debug)]
pub struct Gateway {
    listener: TcpListener,
    state: Arc<State>,
}

#[derive(Debug)]
struct State {
    /// The API being served; replaced whole by [`GatewayHandle::replace_api`].
    served: RwLock<Arc<Served>>,
    /// One reload at a time.
    reloading: tokio::sync::Mutex<()>,
    guards: Vec<Arc<dyn RequestGuard>>,
    port: u16,
    stream_limits: StreamLimits,
    /// Where function output goes, flushed when the gateway stops.
    logs: Arc<dyn LogSink>,
}

/// One API model with the pools of its functions. A request reads the one that was current when
/// it arrived, from its route to its response, so a reload never mixes two models in one request.
#[derive(Debug)]
struct Served {
    config: Arc<ApiConfig>,
    functions: Functions,
}

/// A cheap view of a serving gateway, for tests and tools.
#[derive(Debug, Clone)]
pub struct GatewayHandle {
    state: Arc<State>,
}

impl GatewayHandle {
    /// Process ids of every running function instance.
    pub fn instance_pids(&self) -> Vec<u32> {
        self.state.current().functions.pids()
    }

    /// The API model new requests are served from.
    pub fn config(&self) -> Arc<ApiConfig> {
        self.state.current().config.clone()
    }

    /// Serves `config` from now on (`--watch`, after the template or its OpenAPI file changed):
    /// requests that arrive later are routed, guarded and invoked by it, requests already in
    /// flight finish on the model they started with. Functions keep their warm instances unless
    /// their definition changed (see [`Functions::successor`]).
    pub async fn replace_api(&self, config: ApiConfig) -> FunctionChanges {
        let _one_at_a_time = self.state.reloading.lock().await;
        let current = self.state.current();
        let (functions, changes) = current.functions.successor(&config.functions).await;
        let next = Arc::new(Served {
            config: Arc::new(config),
            functions,
        });
        *self.state.served.write().expect("served API lock") = next;
        changes
    }

    /// Serves `function` (a logical id) from `executable` from now on: new requests start new
    /// instances of it, invocations in flight finish on the old ones, which then stop. Returns how
    /// many old instances are still finishing an invocation, or `None` for an unknown function.
    pub async fn reload_function(&self, function: &str, executable: PathBuf) -> Option<usize> {
        let _one_at_a_time = self.state.reloading.lock().await;
        let current = self.state.current();
        current.functions.reload(function, executable).await
    }
}

impl Gateway {
    /// Binds the listener and prepares the function pools. Nothing is spawned until the first
    /// request for a function.
    pub async fn bind(
        config: ApiConfig,
        settings: &Settings,
        options: GatewayOptions,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind((settings.host, settings.port)).await?;
        let port = listener.local_addr()?.port();
        let working_dir = config
            .template_path
            .parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    std::path::Path::new(".")
                } else {
                    p
                }
            })
            .unwrap_or(std::path::Path::new("."))
            .to_path_buf();
        let context = InstanceContext {
            region: settings.region.clone(),
            working_dir: std::path::absolute(&working_dir).unwrap_or(working_dir),
            logs: options.logs.clone(),
        };
        // Request validation runs each route's validator (compiled with the API model) after
        // authorization, in the order API Gateway applies them.
        let mut guards = options.guards;
        guards.push(Arc::new(ValidationGuard));
        let limits = PoolLimits {
            concurrency: settings.concurrency,
            queue_timeout: settings.queue_timeout,
        };
        let functions = Functions::new(&config.functions, limits, context);
        let served = Served {
            config: Arc::new(config),
            functions,
        };
        Ok(Self {
            listener,
            state: Arc::new(State {
                served: RwLock::new(Arc::new(served)),
                reloading: tokio::sync::Mutex::new(()),
                guards,
                port,
                stream_limits: settings.stream_limits,
                logs: options.logs,
            }),
        })
    }

    /// The address the gateway listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The base URL of the stage: `http://127.0.0.1:3000/dev`.
    pub fn url(&self) -> String {
        format!("http://{}/{}", self.local_addr(), self.config().stage)
    }

    /// The API being served.
    pub fn config(&self) -> Arc<ApiConfig> {
        self.state.current().config.clone()
    }

    /// The guards in use.
    pub fn guards(&self) -> &[Arc<dyn RequestGuard>] {
        &self.state.guards
    }

    /// The effective concurrency of a function.
    pub fn concurrency(&self, function: &str) -> Option<u32> {
        self.state.current().functions.concurrency(function)
    }

    /// A handle that outlives [`Gateway::serve`]'s borrow.
    pub fn handle(&self) -> GatewayHandle {
        GatewayHandle {
            state: self.state.clone(),
        }
    }

    /// Serves until `shutdown` completes, then stops every function instance (killing and reaping
    /// each process) and closes the remaining connections.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
        let (stop, stopping) = watch::channel(false);
        let mut connections = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(accepted) => accepted,
                        Err(error) => {
                            tracing::warn!(%error, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let state = self.state.clone();
                    let mut stopping = stopping.clone();
                    connections.spawn(async move {
                        let service = service_fn(move |request| {
                            let state = state.clone();
                            async move { Ok::<_, Infallible>(state.handle(request, peer).await) }
                        });
                        let connection = request_limits::configure(&mut http1::Builder::new())
                            .keep_alive(true)
                            .serve_connection(TokioIo::new(stream), service);
                        tokio::pin!(connection);
                        let result = tokio::select! {
                            result = connection.as_mut() => result,
                            _ = stopping.changed() => {
                                connection.as_mut().graceful_shutdown();
                                connection.await
                            }
                        };
                        if let Err(error) = result {
                            tracing::debug!(%error, "connection ended with an error");
                        }
                    });
                }
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                () = &mut shutdown => break,
            }
        }
        drop(self.listener);
        tracing::info!("shutting down: stopping function instances");
        self.state.current().functions.shutdown().await;
        let _ = stop.send(true);
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while connections.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            connections.abort_all();
        }
        self.state.logs.flush();
        Ok(())
    }
}

impl State {
    /// The API model new requests are served from.
    fn current(&self) -> Arc<Served> {
        self.served.read().expect("served API lock").clone()
    }

    async fn handle(&self, request: Request<Incoming>, peer: SocketAddr) -> Response<GatewayBody> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let span = tracing::info_span!(
            "request",
            request_id = %request_id,
            method = %request.method(),
            path = %request.uri().path(),
            route = tracing::field::Empty,
            function = tracing::field::Empty,
        );
        async {
            let started = tokio::time::Instant::now();
            let method = request.method().clone();
            let served = self.current();
            let response = self.respond(&served, request, peer, &request_id).await;
            tracing::info!(
                status = response.status().as_u16(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "{method} answered"
            );
            response
        }
        .instrument(span)
        .await
    }

    /// One request, in API Gateway's order: route, guards, then the invocation.
    async fn respond(
        &self,
        served: &Served,
        request: Request<Incoming>,
        peer: SocketAddr,
        request_id: &str,
    ) -> Response<GatewayBody> {
        let arrival = Arrival {
            started: tokio::time::Instant::now(),
            received_at: time::OffsetDateTime::now_utc(),
            peer,
            request_id,
        };
        let scope = ResponseScope {
            templates: &served.config.gateway_responses,
            request_id,
            stage: &served.config.stage,
            request: None,
        };
        let (route, request) = match route(&served.config, request).await {
            Ok(routed) => routed,
            Err(response) => return response.into_response(&scope),
        };
        let identity = match run_guards(&self.guards, route, &request) {
            Ok(identity) => identity,
            Err(response) => {
                return response.into_response(&ResponseScope {
                    request: Some(&request),
                    ..scope
                });
            }
        };
        self.invoke(served, route, request, &identity, &arrival)
            .await
    }

    /// Builds the proxy event, invokes the function and maps its outcome to the response.
    async fn invoke(
        &self,
        served: &Served,
        route: &Route,
        mut request: RoutedRequest,
        identity: &CallerIdentity,
        arrival: &Arrival<'_>,
    ) -> Response<GatewayBody> {
        let config = &served.config;
        let request_id = arrival.request_id;
        let accept = request
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let trace_id = trace_id(&request.headers);
        add_forwarded_headers(&mut request.headers, arrival.peer, self.port, &trace_id);
        let event = event::build(&EventInput {
            route,
            request: &request,
            stage: &config.stage,
            api_id: &config.api_id,
            request_id,
            source_ip: arrival.peer.ip(),
            received_at: arrival.received_at,
            identity,
            binary_media_types: &config.binary_media_types,
        });
        let event = Bytes::from(serde_json::to_vec(&event).expect("JSON values serialize"));
        if event.len() > MAX_EVENT {
            tracing::warn!(
                bytes = event.len(),
                "the event exceeds Lambda's 6 MB invocation payload limit"
            );
            return GatewayResponse::request_too_large().into_response(&ResponseScope {
                templates: &config.gateway_responses,
                request_id,
                stage: &config.stage,
                request: Some(&request),
            });
        }

        let outcome = served.functions.invoke(
            &route.integration.function,
            InvokeRequest {
                request_id: request_id.to_owned(),
                event,
                trace_id: format!(
                    "{trace_id};Parent={};Sampled=0",
                    &uuid::Uuid::new_v4().simple().to_string()[..16]
                ),
            },
        );
        integration::respond(
            outcome,
            &ResponseContext {
                request_id,
                trace_id: &trace_id,
                transfer_mode: route.integration.transfer_mode,
                deadline: arrival.started + route.integration.timeout,
                accept: accept.as_deref(),
                binary_media_types: &config.binary_media_types,
                stream_limits: self.stream_limits,
                gateway_responses: &config.gateway_responses,
                stage: &config.stage,
            },
        )
        .await
    }
}

/// Checks the size quotas, finds the stage and the route, reads the body and parses the
/// request once into the [`RoutedRequest`] every later stage reads.
async fn route(
    config: &ApiConfig,
    request: Request<Incoming>,
) -> Result<(&Route, RoutedRequest), GatewayResponse> {
    request_limits::check(request.uri(), request.headers())?;
    let path = strip_stage(request.uri().path(), &config.stage)
        .ok_or_else(GatewayResponse::missing_authentication_token)?
        .to_owned();
    let RouteMatch {
        route,
        path_parameters,
    } = config
        .routes
        .find(request.method(), &path)
        .ok_or_else(GatewayResponse::missing_authentication_token)?;
    let span = tracing::Span::current();
    span.record(
        "route",
        tracing::field::display(format_args!("{} {}", route.method, route.resource_path)),
    );
    span.record("function", route.integration.function.as_str());

    let (parts, body) = request.into_parts();
    let body = read_body(&parts.headers, body).await?;
    let request = RoutedRequest {
        raw_path: parts.uri.path().to_owned(),
        query: Query::parse(parts.uri.query().unwrap_or("")),
        method: parts.method,
        path,
        path_parameters,
        headers: parts.headers,
        body,
    };
    Ok((route, request))
}

/// When and from where a request arrived, and the id it answers under.
#[derive(Debug)]
struct Arrival<'a> {
    /// When the gateway took it (the integration timeout counts from here).
    started: tokio::time::Instant,
    /// The same instant as wall-clock time (`requestContext.requestTime`).
    received_at: time::OffsetDateTime,
    /// The client.
    peer: SocketAddr,
    /// The request id.
    request_id: &'a str,
}

/// The path after `/{stage}`, or `None` when the request names another stage.
fn strip_stage<'p>(path: &'p str, stage: &str) -> Option<&'p str> {
    let rest = path.strip_prefix('/')?.strip_prefix(stage)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// Reads the request body, enforcing the 10 MB payload quota.
async fn read_body(headers: &HeaderMap, body: Incoming) -> Result<Bytes, GatewayResponse> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_REQUEST_BODY as u64) {
        return Err(GatewayResponse::request_too_large());
    }
    match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<LengthLimitError>() => Err(GatewayResponse::request_too_large()),
        Err(error) => {
            tracing::debug!(%error, "could not read the request body");
            Err(GatewayResponse::new(
                http::StatusCode::BAD_REQUEST,
                "Bad Request",
                None,
            ))
        }
    }
}

/// The client's trace header, or a new X-Ray root id.
fn trace_id(headers: &HeaderMap) -> String {
    headers
        .get("x-amzn-trace-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.starts_with("Root="))
        .map(|v| v.split(';').next().unwrap_or(v).to_owned())
        .unwrap_or_else(|| {
            let epoch = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs();
            let random = uuid::Uuid::new_v4().simple().to_string();
            format!("Root=1-{epoch:08x}-{}", &random[..24])
        })
}

/// Adds the headers API Gateway adds to the request on the way to the function.
fn add_forwarded_headers(headers: &mut HeaderMap, peer: SocketAddr, port: u16, trace_id: &str) {
    let forwarded_for = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(existing) => format!("{existing}, {}", peer.ip()),
        None => peer.ip().to_string(),
    };
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set("x-forwarded-for", forwarded_for);
    set("x-forwarded-port", port.to_string());
    set("x-forwarded-proto", "http".to_owned());
    set("x-amzn-trace-id", trace_id.to_owned());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stage_must_be_a_whole_first_segment() {
        assert_eq!(strip_stage("/dev/users", "dev"), Some("/users"));
        assert_eq!(strip_stage("/dev", "dev"), Some(""));
        assert_eq!(strip_stage("/dev/", "dev"), Some("/"));
        assert_eq!(strip_stage("/devx/users", "dev"), None);
        assert_eq!(strip_stage("/prod/users", "dev"), None);
        assert_eq!(strip_stage("/users", "dev"), None);
    }

    #[test]
    fn a_new_trace_id_has_the_x_ray_shape_and_a_client_one_is_kept() {
        let id = trace_id(&HeaderMap::new());
        let parts: Vec<&str> = id.trim_start_matches("Root=").split('-').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[1].len(), 8);
        assert_eq!(parts[2].len(), 24);
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-amzn-trace-id",
            "Root=1-abc-def;Sampled=1".parse().unwrap(),
        );
        assert_eq!(trace_id(&headers), "Root=1-abc-def");
    }

    #[test]
    fn forwarded_headers_append_the_client_address() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "203.0.113.1".parse().unwrap());
        add_forwarded_headers(
            &mut headers,
            "127.0.0.1:5555".parse().unwrap(),
            3000,
            "Root=1-a-b",
        );
        let out = headers;
        assert_eq!(out["x-forwarded-for"], "203.0.113.1, 127.0.0.1");
        assert_eq!(out["x-forwarded-port"], "3000");
        assert_eq!(out["x-forwarded-proto"], "http");
    }
}
