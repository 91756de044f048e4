//! The HTTP side of the benchmark: single requests, a closed-loop load generator, and a streaming
//! download that times its first byte.
//!
//! # Why a load client of its own
//!
//! `wrk` cannot sign requests, and every Rill route requires SigV4. The load client here sends
//! requests with a real `Authorization` header over keep-alive HTTP/1.1 connections, one request in
//! flight per connection (closed loop, like `wrk`), and keeps every latency sample so that p50 and
//! p99 are exact. It runs on one thread, so on a two-core machine it takes at most one core from the
//! servers it measures, the same for every target. Every run is bounded twice: a request count and
//! a duration, whichever comes first. `wrk` with a presigned URL still runs beside it as a
//! cross-check of the client itself (see the warm section).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bytes::Bytes;
use http::header::{HOST, HeaderName, HeaderValue};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt as _, Empty};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::sign;
use crate::stats::Latencies;

/// One URL to send GET requests to, with the headers every request carries.
#[derive(Debug, Clone)]
pub struct Target {
    /// Where to connect (always loopback).
    pub addr: SocketAddr,
    /// The request target: path and query.
    pub path_and_query: String,
    /// `host` and, when signed, `authorization` and `x-amz-date`.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Target {
    /// A target for `url` (`http://127.0.0.1:PORT/...`), signed with SigV4 when `signed`.
    pub fn get(url: &str, signed: bool) -> anyhow::Result<Self> {
        let uri: http::Uri = url.parse().with_context(|| format!("bad URL {url}"))?;
        if uri.scheme_str() != Some("http") {
            bail!("only plain http on loopback is benchmarked, not {url}");
        }
        let authority = uri.authority().context("a URL with a host")?;
        let addr: SocketAddr = authority
            .as_str()
            .parse()
            .with_context(|| format!("{url} must name an IP address and port"))?;
        if !addr.ip().is_loopback() {
            bail!("{url} is not on loopback; the benchmark never leaves the machine");
        }
        let mut headers = vec![(HOST, HeaderValue::from_str(authority.as_str())?)];
        if signed {
            for (name, value) in sign::signed_headers("GET", url)? {
                headers.push((name.parse()?, HeaderValue::from_str(&value)?));
            }
        }
        Ok(Self {
            addr,
            path_and_query: uri
                .path_and_query()
                .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned()),
            headers,
        })
    }

    fn request(&self) -> Request<Empty<Bytes>> {
        let mut request = Request::new(Empty::new());
        *request.method_mut() = Method::GET;
        *request.uri_mut() = self
            .path_and_query
            .parse()
            .expect("the path was parsed from a URL");
        let headers = request.headers_mut();
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone());
        }
        request
    }
}

async fn connect(addr: SocketAddr) -> std::io::Result<SendRequest<Empty<Bytes>>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// A complete response.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Bytes,
    /// From sending the request to the end of the body.
    pub elapsed: Duration,
}

/// Sends one GET on a new connection and reads the whole response, within `timeout`.
pub async fn get_once(target: &Target, timeout: Duration) -> anyhow::Result<Reply> {
    tokio::time::timeout(timeout, async {
        let started = Instant::now();
        let mut sender = connect(target.addr).await?;
        let response = sender.send_request(target.request()).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Reply {
            status,
            body,
            elapsed: started.elapsed(),
        })
    })
    .await
    .with_context(|| format!("no answer from {} within {timeout:?}", target.addr))?
}

/// Polls `target` until it answers with any HTTP response, or `deadline` passes. Connection
/// failures (nothing listening yet) are retried after `interval`.
pub async fn poll_until_answered(
    target: &Target,
    interval: Duration,
    deadline: Instant,
) -> anyhow::Result<Reply> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            bail!("{} did not answer in time", target.addr);
        }
        match get_once(target, left).await {
            Ok(reply) => return Ok(reply),
            Err(_) if Instant::now() < deadline => tokio::time::sleep(interval).await,
            Err(error) => return Err(error),
        }
    }
}

/// How a streamed download went.
#[derive(Debug, Clone)]
pub struct Download {
    pub status: StatusCode,
    /// From sending the request to the first body byte.
    pub ttfb: Duration,
    /// From sending the request to the end of the body.
    pub elapsed: Duration,
    pub bytes: u64,
    /// Whether the body ended normally (a failed transfer is how an export reports a cut-off).
    pub complete: bool,
}

/// Downloads `target` chunk by chunk, counting bytes without keeping them.
pub async fn download(target: &Target, timeout: Duration) -> anyhow::Result<Download> {
    tokio::time::timeout(timeout, async {
        let mut sender = connect(target.addr).await?;
        let started = Instant::now();
        let response = sender.send_request(target.request()).await?;
        let status = response.status();
        let mut body = response.into_body();
        let mut ttfb = None;
        let mut bytes = 0u64;
        let complete = loop {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref()
                        && !data.is_empty()
                    {
                        ttfb.get_or_insert_with(|| started.elapsed());
                        bytes += data.len() as u64;
                    }
                }
                Some(Err(_)) => break false,
                None => break true,
            }
        };
        let elapsed = started.elapsed();
        Ok(Download {
            status,
            ttfb: ttfb.unwrap_or(elapsed),
            elapsed,
            bytes,
            complete,
        })
    })
    .await
    .with_context(|| format!("the download from {} took over {timeout:?}", target.addr))?
}

/// The bounds and shape of one load run.
#[derive(Debug, Clone, Copy)]
pub struct LoadSpec {
    /// Keep-alive connections, each with one request in flight.
    pub connections: usize,
    /// Untimed requests per connection before the clock starts.
    pub warmup_per_connection: u32,
    /// The run stops after this many timed requests...
    pub max_requests: u64,
    /// ...or after this long, whichever comes first.
    pub max_duration: Duration,
    /// The status every response should have; others count as failures.
    pub expect: StatusCode,
}

/// What one load run measured.
#[derive(Debug, Clone)]
pub struct LoadRun {
    /// Timed requests that got a response.
    pub requests: u64,
    /// Responses with another status than expected, plus requests that failed outright.
    pub failures: u64,
    /// Responses by status.
    pub statuses: BTreeMap<u16, u64>,
    /// From the start of the timed phase until the last response.
    pub elapsed: Duration,
    pub latencies: Latencies,
}

impl LoadRun {
    /// Responses per second.
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// p50 in milliseconds.
    pub fn p50_ms(&self) -> f64 {
        self.latencies.quantile_ms(0.50).unwrap_or(f64::NAN)
    }

    /// p99 in milliseconds.
    pub fn p99_ms(&self) -> f64 {
        self.latencies.quantile_ms(0.99).unwrap_or(f64::NAN)
    }
}

/// Runs a closed-loop load against `target` on a thread of its own (one core at most), and returns
/// once every connection has finished.
pub fn run_load(target: &Target, spec: LoadSpec) -> anyhow::Result<LoadRun> {
    let target = target.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(load(target, spec))
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the load thread panicked"))?
}

#[derive(Default)]
struct ConnectionResult {
    latencies: Vec<u64>,
    statuses: BTreeMap<u16, u64>,
    failures: u64,
}

async fn load(target: Target, spec: LoadSpec) -> anyhow::Result<LoadRun> {
    if spec.connections == 0 {
        bail!("a load run needs at least one connection");
    }
    let target = Arc::new(target);
    // Connect and warm up every connection before the clock starts.
    let mut senders = Vec::with_capacity(spec.connections);
    for _ in 0..spec.connections {
        let mut sender = connect(target.addr)
            .await
            .with_context(|| format!("cannot connect to {}", target.addr))?;
        for _ in 0..spec.warmup_per_connection {
            let response = sender.send_request(target.request()).await?;
            response.into_body().collect().await?;
        }
        senders.push(sender);
    }
    let issued = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let stop_at = started + spec.max_duration;
    let mut tasks = tokio::task::JoinSet::new();
    for sender in senders {
        let target = target.clone();
        let issued = issued.clone();
        tasks.spawn(async move {
            let mut sender = sender;
            let mut result = ConnectionResult::default();
            while issued.fetch_add(1, Ordering::Relaxed) < spec.max_requests
                && Instant::now() < stop_at
            {
                let sent = Instant::now();
                let outcome = async {
                    let response = sender.send_request(target.request()).await?;
                    let status = response.status();
                    response.into_body().collect().await?;
                    Ok::<_, hyper::Error>(status)
                }
                .await;
                match outcome {
                    Ok(status) => {
                        result.latencies.push(sent.elapsed().as_nanos() as u64);
                        *result.statuses.entry(status.as_u16()).or_default() += 1;
                        if status != spec.expect {
                            result.failures += 1;
                        }
                    }
                    Err(_) => {
                        result.failures += 1;
                        // The connection is gone; one reconnect, else this connection stops.
                        match connect(target.addr).await {
                            Ok(fresh) => sender = fresh,
                            Err(_) => break,
                        }
                    }
                }
            }
            result
        });
    }
    let mut latencies = Vec::new();
    let mut statuses = BTreeMap::new();
    let mut failures = 0;
    while let Some(joined) = tasks.join_next().await {
        let result = joined.context("a load connection panicked")?;
        latencies.extend(result.latencies);
        for (status, count) in result.statuses {
            *statuses.entry(status).or_default() += count;
        }
        failures += result.failures;
    }
    let elapsed = started.elapsed();
    Ok(LoadRun {
        requests: latencies.len() as u64,
        failures,
        statuses,
        elapsed,
        latencies: Latencies::new(latencies),
    })
}
