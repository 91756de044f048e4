//! Scaling: req/s of the signed `GET /users/{id}` with 1, 2, 4 and 8 concurrent clients, on a gateway
//! allowed 1, 2 or 4 instances of the function, each against one client on one instance measured in
//! the same run.
//!
//! For each instance limit a fresh gateway is warmed with 8 clients (so every allowed instance is up)
//! and then measured round after round, the client counts rotating. With N instances busy, a further
//! request waits in the gateway's queue (as it would be throttled by Lambda at its concurrency
//! limit), so req/s flattens once clients exceed instances, or once the two cores are full.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use http::StatusCode;
use serde_json::json;

use super::{Table, gateway_spec};
use crate::client::{LoadSpec, Target, run_load};
use crate::datasets::{self, DEFAULT_DATASET};
use crate::machine::{Machine, load_average, now_rfc3339};
use crate::procs::{GatewayProcess, Store};
use crate::stats::{Summary, show};
use crate::{Context, SectionResult};

const INSTANCES: [u32; 3] = [1, 2, 4];
const CLIENTS: [usize; 4] = [1, 2, 4, 8];

pub async fn run(ctx: &Context) -> anyhow::Result<SectionResult> {
    let machine = Machine::current();
    let rounds = ctx.reps(3, 1);
    let seconds = if ctx.quick { 1 } else { 2 };
    let db = datasets::database(ctx, DEFAULT_DATASET)?;
    let ids = datasets::sqlite_ids(&db).await?;
    let mut rps: BTreeMap<(u32, usize), Vec<f64>> = BTreeMap::new();
    let mut p99: BTreeMap<(u32, usize), Vec<f64>> = BTreeMap::new();
    let mut failures = 0u64;
    for instances in INSTANCES {
        let gateway = GatewayProcess::start(&gateway_spec(
            ctx,
            &ctx.template(),
            &datasets::data_dir(ctx, DEFAULT_DATASET),
            Store::Sqlite,
            instances,
            "scaling-gateway",
        ))?;
        let target = Target::get(&format!("{}/users/{}", gateway.base_url, ids.user), true)?;
        run_load(
            &target,
            LoadSpec {
                connections: 8,
                warmup_per_connection: 20,
                max_requests: 800,
                max_duration: Duration::from_secs(10),
                expect: StatusCode::OK,
            },
        )?;
        for round in 0..rounds {
            for i in 0..CLIENTS.len() {
                let clients = CLIENTS[(i + round) % CLIENTS.len()];
                let run = run_load(
                    &target,
                    LoadSpec {
                        connections: clients,
                        warmup_per_connection: 10,
                        max_requests: 40_000,
                        max_duration: Duration::from_secs(seconds),
                        expect: StatusCode::OK,
                    },
                )?;
                failures += run.failures;
                rps.entry((instances, clients)).or_default().push(run.rps());
                p99.entry((instances, clients))
                    .or_default()
                    .push(run.p99_ms());
            }
        }
        gateway.stop();
        eprintln!("scaling: {instances} instance(s) done");
    }
    let base = Summary::of(&rps[&(1, 1)]).map_or(f64::NAN, |s| s.median);
    let header: Vec<String> = std::iter::once("instances".to_owned())
        .chain(
            CLIENTS
                .iter()
                .map(|c| format!("{c} client{}", if *c == 1 { "" } else { "s" })),
        )
        .collect();
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut rps_table = Table::new(&header_refs);
    let mut ratio_table = Table::new(&header_refs);
    let mut p99_table = Table::new(&header_refs);
    for instances in INSTANCES {
        let mut rps_row = vec![instances.to_string()];
        let mut ratio_row = vec![instances.to_string()];
        let mut p99_row = vec![instances.to_string()];
        for clients in CLIENTS {
            let summary = Summary::of(&rps[&(instances, clients)]);
            rps_row.push(show(summary, 0));
            ratio_row.push(summary.map_or("–".into(), |s| format!("{:.2}", s.median / base)));
            p99_row.push(show(Summary::of(&p99[&(instances, clients)]), 2));
        }
        rps_table.row(rps_row);
        ratio_table.row(ratio_row);
        p99_table.row(p99_row);
    }
    let mut md = String::new();
    let _ = writeln!(
        md,
        "Signed `GET /users/{{id}}` through the gateway (`--concurrency` = instances), closed-loop \
         clients each with one request in flight; median (min–max) of {rounds} runs of up to {seconds} \
         s or 40,000 requests. The machine has {} cores, shared by the client, the gateway and the \
         function instances.\n\n**req/s**\n",
        machine.cpus
    );
    md.push_str(&rps_table.render());
    let _ = writeln!(md, "\n**req/s ÷ one client on one instance** (medians)\n");
    md.push_str(&ratio_table.render());
    let _ = writeln!(md, "\n**p99 latency, ms**\n");
    md.push_str(&p99_table.render());
    if failures > 0 {
        let _ = writeln!(
            md,
            "\n{failures} requests failed or were throttled (not 200) across all runs."
        );
    }
    let raw = json!({
        "rps": rps.iter().map(|((n, c), v)| (format!("{n}x{c}"), v.clone())).collect::<BTreeMap<_, _>>(),
        "p99_ms": p99.iter().map(|((n, c), v)| (format!("{n}x{c}"), v.clone())).collect::<BTreeMap<_, _>>(),
        "failures": failures,
    });
    Ok(SectionResult {
        section: "scaling".into(),
        machine,
        finished_at: now_rfc3339(),
        load_average_after: load_average(),
        quick: ctx.quick,
        verdicts: Vec::new(),
        markdown: md,
        raw,
    })
}
