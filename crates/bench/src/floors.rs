//! The in-process floors: the function's own work with no gateway, no Runtime API and no network.
//!
//! Each floor runs in a child process of its own (`rill-bench floor ...`), so that its peak memory
//! is its own and its logging is set up exactly as the function's is (`rill_entry::init_tracing`,
//! here writing to `/dev/null`). The child writes its result as JSON to a file.
//!
//! - [`handler_floor`]: what one invocation of the users function costs inside the process: the
//!   event JSON parsed into lambda_http's request type, `users::handler` called through
//!   lambda_http's own adapter, and the proxy response serialized back to JSON. The gateway's latency
//!   minus this is what the gateway and the Runtime API add.
//! - [`export_floor`] in [`ExportMode::Plain`]: a plain loop that reads the same rows page by page
//!   and encodes the same CSV with the export's encoder, counting bytes. In
//!   [`ExportMode::Pipeline`]: the export's real pipeline (prefetch task, writer task, 64 KiB chunks)
//!   drained in process, via `export::floor`.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use export::encode::orders_encoder;
use export::format::Format;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Service as _, service_fn};
use lambda_runtime::{Context, LambdaEvent};
use rill_core::{OrderFilter, OrderReader, PageRequest};
use rill_entry::{StoreConfig, open_store};
use serde::{Deserialize, Serialize};

use crate::procs::own_peak_rss_kib;
use crate::stats::Latencies;

/// What the handler floor measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HandlerFloor {
    pub calls: u64,
    pub elapsed_ms: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// The response status of the first call (it must be what the gateway gets).
    pub status: u16,
}

impl HandlerFloor {
    /// Calls per second on one thread.
    pub fn rate(&self) -> f64 {
        self.calls as f64 / (self.elapsed_ms / 1000.0).max(1e-9)
    }
}

/// Calls the users function's handler with `event` (REST v1 JSON, as the gateway sends it) until
/// `max_calls` or `max_duration`, after `warmup` untimed calls.
pub async fn handler_floor(
    db: &Path,
    event: &[u8],
    warmup: u64,
    max_calls: u64,
    max_duration: Duration,
) -> anyhow::Result<HandlerFloor> {
    let config = StoreConfig::sqlite(db);
    let store = open_store(&config).await.context("opening the store")?;
    let deps = users::Deps {
        store,
        cursors: config.cursor_keys(),
    };
    let deps = &deps;
    let mut adapter = Adapter::from(service_fn(move |request| users::handler(deps, request)));
    let mut call = async || -> anyhow::Result<u16> {
        let payload: LambdaRequest = serde_json::from_slice(event).context("a REST event")?;
        let response = adapter
            .call(LambdaEvent::new(payload, Context::default()))
            .await?;
        let json = serde_json::to_vec(&response)?;
        let status: StatusOnly = serde_json::from_slice(&json)?;
        Ok(status.status_code)
    };
    let status = call().await?;
    for _ in 0..warmup {
        call().await?;
    }
    let started = Instant::now();
    let mut samples = Vec::new();
    while (samples.len() as u64) < max_calls && started.elapsed() < max_duration {
        let sent = Instant::now();
        call().await?;
        samples.push(sent.elapsed().as_nanos() as u64);
    }
    let elapsed = started.elapsed();
    let latencies = Latencies::new(samples);
    Ok(HandlerFloor {
        calls: latencies.len() as u64,
        elapsed_ms: elapsed.as_secs_f64() * 1000.0,
        p50_ms: latencies.quantile_ms(0.5).unwrap_or(f64::NAN),
        p99_ms: latencies.quantile_ms(0.99).unwrap_or(f64::NAN),
        status,
    })
}

/// Only the status of a serialized proxy response. Reading it back costs a little, but the floor
/// must not count a response the gateway would not have sent.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusOnly {
    status_code: u16,
}

/// Which export floor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
pub enum ExportMode {
    /// Read pages and encode them in one loop.
    Plain,
    /// The export function's pipeline, drained in process.
    Pipeline,
}

/// What an export floor measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportFloor {
    pub bytes: u64,
    pub rows: u64,
    /// Until the first encoded chunk was ready (the plain loop only).
    pub ttfb_ms: Option<f64>,
    pub elapsed_ms: f64,
    /// `VmHWM` of the floor process at the end.
    pub peak_rss_kib: u64,
}

/// Encodes every order of the SQLite database at `db` as CSV, in `mode`.
pub async fn export_floor(db: &Path, mode: ExportMode) -> anyhow::Result<ExportFloor> {
    let config = StoreConfig::sqlite(db);
    let store = open_store(&config).await.context("opening the store")?;
    let started = Instant::now();
    let (bytes, rows, ttfb) = match mode {
        ExportMode::Plain => plain_loop(store.as_ref(), started).await?,
        ExportMode::Pipeline => {
            // The pipeline hands out chunks internally; its first-byte time is not observable from
            // outside, so only its throughput is reported.
            let bytes = export::floor::encode_all_orders_csv(Arc::clone(&store)).await?;
            (bytes, 0, None)
        }
    };
    let elapsed = started.elapsed();
    Ok(ExportFloor {
        bytes,
        rows,
        ttfb_ms: ttfb.map(|t: Duration| t.as_secs_f64() * 1000.0),
        elapsed_ms: elapsed.as_secs_f64() * 1000.0,
        peak_rss_kib: own_peak_rss_kib().unwrap_or(0),
    })
}

/// Page through every order (the export's page size) and encode each page, taking the bytes after
/// each page as the function does.
async fn plain_loop<S: OrderReader + ?Sized>(
    store: &S,
    started: Instant,
) -> anyhow::Result<(u64, u64, Option<Duration>)> {
    let mut encoder = orders_encoder(Format::Csv);
    let filter = OrderFilter::default();
    let mut after = None;
    let mut bytes = 0u64;
    let mut rows = 0u64;
    let mut ttfb = None;
    encoder.begin()?;
    loop {
        let page = store
            .list_orders(
                &filter,
                PageRequest {
                    limit: export::config::DEFAULT_PAGE_SIZE,
                    after,
                },
            )
            .await?;
        for order in &page.items {
            encoder.record(order)?;
        }
        rows += page.items.len() as u64;
        let chunk = encoder.take()?;
        if !chunk.is_empty() {
            ttfb.get_or_insert_with(|| started.elapsed());
            bytes += chunk.len() as u64;
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    encoder.end(rows)?;
    bytes += encoder.take()?.len() as u64;
    if rows == 0 {
        bail!("the database has no orders to export");
    }
    Ok((bytes, rows, ttfb))
}

/// Runs `rill-bench floor <args> --out FILE` as a child process (with only `PATH` in its
/// environment, as a Lambda function has little more) and reads its JSON result.
pub fn in_child<T: serde::de::DeserializeOwned>(
    ctx: &crate::Context,
    name: &str,
    args: &[String],
) -> anyhow::Result<T> {
    let out = ctx.scratch("floors")?.join(format!("{name}.json"));
    let _ = std::fs::remove_file(&out);
    let log = std::fs::File::options()
        .create(true)
        .append(true)
        .open(ctx.log("floors"))?;
    let status = std::process::Command::new(ctx.binary("rill-bench"))
        .arg("floor")
        .args(args)
        .arg("--out")
        .arg(&out)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(&ctx.workspace)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .status()
        .context("cannot run the floor")?;
    if !status.success() {
        bail!(
            "the {name} floor failed ({status}); see {}",
            ctx.log("floors").display()
        );
    }
    let text = std::fs::read_to_string(&out)?;
    Ok(serde_json::from_str(&text)?)
}
