//! Export: `GET /exports/orders?format=csv` through the gateway for 10k, 100k and 1M orders, against
//! the same export done in process.
//!
//! Each gateway sample is a fresh gateway with one export instance: one small warm-up export (so
//! Init is not in the figure), then the measured one, downloaded chunk by chunk. TTFB is from sending
//! the request to the first body byte; MB/s is body bytes (10^6 per MB) over the whole download; peak
//! RSS is the export process's `Max Memory Used` from the gateway's `REPORT` line (its `VmHWM`). The
//! floors run in their own processes right after, on the same database: a plain read-and-encode
//! loop, and the export's own pipeline drained in process.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::json;

use super::{Table, gateway_spec, mark, paired_ratios};
use crate::client::{Target, download, get_once};
use crate::datasets::{self, EXPORT_SIZES};
use crate::floors::{ExportFloor, in_child};
use crate::machine::{Machine, load_average, now_rfc3339};
use crate::procs::{GatewayProcess, PeakSampler, Store, absolute, children_named};
use crate::stats::{Summary, show};
use crate::{Context, SectionResult, Verdict};

const TARGET_TTFB_MS: f64 = 50.0;
const TARGET_TTFB_GROWTH: f64 = 1.5;
const TARGET_RSS_MB: f64 = 32.0;
const TARGET_RSS_GROWTH: f64 = 1.2;
const TARGET_MB_PER_S: f64 = 100.0;
const TARGET_FLOOR_SHARE: f64 = 0.5;

#[derive(Default, Clone)]
struct Series {
    ttfb_ms: Vec<f64>,
    mb_per_s: Vec<f64>,
    rss_mb: Vec<f64>,
    reported_rss_mb: Vec<f64>,
    bytes: Vec<u64>,
    complete: Vec<bool>,
    floor_mb_per_s: Vec<f64>,
    floor_ttfb_ms: Vec<f64>,
    floor_rss_mb: Vec<f64>,
    pipeline_mb_per_s: Vec<f64>,
    floor_bytes: Vec<u64>,
}

pub async fn run(ctx: &Context) -> anyhow::Result<SectionResult> {
    let machine = Machine::current();
    let mut sizes = Vec::new();
    for (label, _) in EXPORT_SIZES {
        let db = datasets::database(ctx, label)?;
        let ids = datasets::sqlite_ids(&db).await?;
        sizes.push((label, db, ids));
    }
    let mut series: BTreeMap<&str, Series> = BTreeMap::new();
    let rounds = ctx.reps(5, 1);
    let big_rounds = ctx.reps(3, 1);
    for round in 0..rounds {
        for (label, db, ids) in &sizes {
            if *label == "1m" && round >= big_rounds {
                continue;
            }
            let entry = series.entry(label).or_default();
            // Through the gateway.
            let gateway = GatewayProcess::start(&gateway_spec(
                ctx,
                &ctx.template(),
                &datasets::data_dir(ctx, label),
                Store::Sqlite,
                1,
                "export-gateway",
            ))?;
            let warm_up = Target::get(
                &format!(
                    "{}/exports/orders?format=csv&userId={}",
                    gateway.base_url, ids.user
                ),
                true,
            )?;
            let reply = get_once(&warm_up, Duration::from_secs(60)).await?;
            anyhow::ensure!(
                reply.status.is_success(),
                "the warm-up export answered {}: {}",
                reply.status,
                String::from_utf8_lossy(&reply.body)
            );
            let target = Target::get(
                &format!("{}/exports/orders?format=csv", gateway.base_url),
                true,
            )?;
            let export_pid = children_named(gateway.pid(), "export")
                .first()
                .copied()
                .context("the warm export instance is not running")?;
            let sampler = PeakSampler::start(export_pid, Duration::from_millis(20));
            let got = download(&target, Duration::from_secs(300)).await?;
            let sampled_kib = sampler.finish();
            anyhow::ensure!(
                got.status.is_success(),
                "the export answered {}",
                got.status
            );
            let report = gateway
                .report("ExportFunction", 1, Duration::from_secs(30))
                .context("no REPORT line for the measured export")?;
            gateway.stop();
            entry.ttfb_ms.push(crate::stats::ms(got.ttfb));
            entry
                .mb_per_s
                .push(got.bytes as f64 / 1e6 / got.elapsed.as_secs_f64());
            // The REPORT line's figure, unless the process ended before the gateway could read it
            // (a cut-short export exits on purpose); then the peak sampled during the download.
            let reported = report.max_memory_used_mb.map_or(0.0, |m| m as f64);
            entry.rss_mb.push(reported.max(sampled_kib as f64 / 1024.0));
            entry.reported_rss_mb.push(reported);
            entry.bytes.push(got.bytes);
            entry.complete.push(got.complete);

            // The floors, on the same database.
            let args = |mode: &str| {
                vec![
                    "export".to_owned(),
                    "--db".to_owned(),
                    absolute(db).display().to_string(),
                    "--mode".to_owned(),
                    mode.to_owned(),
                ]
            };
            let plain: ExportFloor = in_child(ctx, "export-plain", &args("plain"))?;
            let pipeline: ExportFloor = in_child(ctx, "export-pipeline", &args("pipeline"))?;
            entry
                .floor_mb_per_s
                .push(plain.bytes as f64 / 1e6 / (plain.elapsed_ms / 1000.0));
            entry.floor_ttfb_ms.push(plain.ttfb_ms.unwrap_or(f64::NAN));
            entry.floor_rss_mb.push(plain.peak_rss_kib as f64 / 1024.0);
            entry.floor_bytes.push(plain.bytes);
            entry
                .pipeline_mb_per_s
                .push(pipeline.bytes as f64 / 1e6 / (pipeline.elapsed_ms / 1000.0));
            eprintln!(
                "export: round {}/{rounds}, {label}: {} bytes in {:.0} ms (TTFB {:.1} ms)",
                round + 1,
                got.bytes,
                crate::stats::ms(got.elapsed),
                crate::stats::ms(got.ttfb)
            );
        }
    }

    let mut table = Table::new(&[
        "orders",
        "CSV bytes",
        "complete",
        "TTFB ms",
        "MB/s",
        "peak RSS MB",
        "floor MB/s (plain loop)",
        "÷ floor",
        "pipeline in process, MB/s",
        "floor TTFB ms",
        "floor peak RSS MB",
    ]);
    let mut raw = serde_json::Map::new();
    for (label, _, ids) in &sizes {
        let s = &series[label];
        table.row(vec![
            format_count(ids.orders),
            s.bytes
                .first()
                .map_or("–".into(), |b| format!("{:.1} MB", *b as f64 / 1e6)),
            if s.complete.iter().all(|c| *c) {
                "yes".into()
            } else {
                format!(
                    "**no** ({} of {})",
                    s.complete.iter().filter(|c| !**c).count(),
                    s.complete.len()
                )
            },
            show(Summary::of(&s.ttfb_ms), 1),
            show(Summary::of(&s.mb_per_s), 0),
            show(Summary::of(&s.rss_mb), 0),
            show(Summary::of(&s.floor_mb_per_s), 0),
            show(
                Summary::of(&paired_ratios(&s.mb_per_s, &s.floor_mb_per_s)),
                2,
            ),
            show(Summary::of(&s.pipeline_mb_per_s), 0),
            show(Summary::of(&s.floor_ttfb_ms), 1),
            show(Summary::of(&s.floor_rss_mb), 1),
        ]);
        raw.insert(
            (*label).to_owned(),
            json!({
                "orders": ids.orders, "bytes": s.bytes, "complete": s.complete,
                "ttfb_ms": s.ttfb_ms, "mb_per_s": s.mb_per_s, "rss_mb": s.rss_mb,
                "reported_rss_mb": s.reported_rss_mb,
                "floor_mb_per_s": s.floor_mb_per_s, "floor_ttfb_ms": s.floor_ttfb_ms,
                "floor_rss_mb": s.floor_rss_mb, "floor_bytes": s.floor_bytes,
                "pipeline_mb_per_s": s.pipeline_mb_per_s,
            }),
        );
    }

    let small = &series["10k"];
    let large = &series["1m"];
    let median = |v: &[f64]| Summary::of(v).map_or(f64::NAN, |s| s.median);
    let mut verdicts = Vec::new();
    let worst_ttfb = sizes
        .iter()
        .map(|(l, _, _)| median(&series[l].ttfb_ms))
        .fold(0.0, f64::max);
    verdicts.push(Verdict::new(
        "Export TTFB, every size",
        format!("≤ {TARGET_TTFB_MS} ms"),
        format!("{worst_ttfb:.1} ms at worst"),
        Some(worst_ttfb <= TARGET_TTFB_MS),
    ));
    let ttfb_growth = median(&large.ttfb_ms) / median(&small.ttfb_ms);
    verdicts.push(Verdict::new(
        "Export TTFB, 1M orders vs 10k",
        format!("≤ {TARGET_TTFB_GROWTH}×"),
        format!("{ttfb_growth:.2}×"),
        Some(ttfb_growth <= TARGET_TTFB_GROWTH),
    ));
    let worst_rss = sizes
        .iter()
        .map(|(l, _, _)| median(&series[l].rss_mb))
        .fold(0.0, f64::max);
    verdicts.push(Verdict::new(
        "Export peak RSS, every size",
        format!("≤ {TARGET_RSS_MB} MB"),
        format!("{worst_rss:.0} MB at worst"),
        Some(worst_rss <= TARGET_RSS_MB),
    ));
    let rss_growth = median(&large.rss_mb) / median(&small.rss_mb);
    verdicts.push(Verdict::new(
        "Export peak RSS, 1M orders vs 10k",
        format!("≤ {TARGET_RSS_GROWTH}×"),
        format!("{rss_growth:.2}×"),
        Some(rss_growth <= TARGET_RSS_GROWTH),
    ));
    let large_rate = median(&large.mb_per_s);
    verdicts.push(Verdict::new(
        "Export throughput, 1M orders",
        format!("≥ {TARGET_MB_PER_S} MB/s"),
        format!("{large_rate:.0} MB/s"),
        Some(large_rate >= TARGET_MB_PER_S),
    ));
    let share = Summary::of(&paired_ratios(&large.mb_per_s, &large.floor_mb_per_s));
    verdicts.push(Verdict::new(
        "Export throughput, 1M orders, vs the in-process floor",
        format!("≥ {TARGET_FLOOR_SHARE}× the floor"),
        format!("{}×", show(share, 2)),
        share.map(|s| s.median >= TARGET_FLOOR_SHARE),
    ));

    let mut md = String::new();
    let _ = writeln!(
        md,
        "`GET /exports/orders?format=csv` (every order) through the gateway, median (min–max) of \
         {rounds} runs for 10k and 100k orders and {big_rounds} for 1M. The floor columns are the \
         same database read and encoded in process, measured right after each gateway run.\n"
    );
    md.push_str(&table.render());
    let _ = writeln!(
        md,
        "\n- **TTFB** is from sending the request to the first body byte: SigV4, the event, the \
         Runtime API, the handler's first store page (500 orders) and its first chunk. The export \
         instance is warm (a small export ran first), so Init is not in it.\n\
         - **MB/s** counts body bytes (10^6 bytes per MB) over the whole download, at the client.\n\
         - **Peak RSS** is the export process's `VmHWM` (so it includes the warm-up and the runtime): \
         `Max Memory Used` from the gateway's `REPORT` line, or, when the process ended before the \
         gateway could read it (a cut-short export ends its process on purpose), the peak this \
         benchmark sampled every 20 ms during the download. The floor's is the floor process's \
         `VmHWM`.\n\
         - **Floor (plain loop)**: one loop that reads 500 orders at a time from the same SQLite \
         file and encodes them with the export's CSV encoder, no tasks, channels or HTTP. The \
         **pipeline in process** column is the export's own pipeline (prefetching reader task, writer \
         task, 64 KiB chunks) drained in process through `export::floor`.\n"
    );
    let _ = writeln!(md, "Targets:\n");
    for verdict in &verdicts {
        let _ = writeln!(
            md,
            "- {}: {} — {} ({})",
            verdict.figure,
            verdict.target,
            verdict.measured,
            mark(verdict.met)
        );
    }
    if large.complete.iter().any(|c| !*c) {
        let _ = writeln!(
            md,
            "\nThe 1M-order CSV is larger than one streamed response may carry: Lambda caps a \
             streamed response at 200 MB, and the export stops at 190 MB (`RILL_EXPORT_MAX_BYTES`) \
             and fails the transfer on purpose, so a CSV that ends normally is always whole (see the \
             export docs; NDJSON ends with a continuation cursor instead). The 1M figures are \
             therefore for the first 190 MB."
        );
    }
    Ok(SectionResult {
        section: "export".into(),
        machine,
        finished_at: now_rfc3339(),
        load_average_after: load_average(),
        quick: ctx.quick,
        verdicts,
        markdown: md,
        raw: serde_json::Value::Object(raw),
    })
}

/// `1,000,000`.
pub fn format_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_get_thousands_separators() {
        assert_eq!(format_count(1_000_000), "1,000,000");
        assert_eq!(format_count(10_000), "10,000");
        assert_eq!(format_count(999), "999");
    }
}
