//! Warm request path: a SigV4-signed `GET /users/{id}` through the local gateway, against the same
//! binary under cargo-lambda's emulator (the peer) and against the handler called in process with
//! the same event (the floor).
//!
//! Four servers run side by side for the whole section, each with four warm instances: the gateway
//! with `users`, the gateway with `hello-floor`, and cargo-lambda with each of the two. Rounds rotate
//! through them so drift on the shared machine hits all of them alike; ratios are taken per round.
//!
//! cargo-lambda sends function URL (payload 2.0) events. lambda_http accepts them, but the users
//! function routes on the REST resource path, which a 2.0 event does not have, so there it answers
//! 404 without reading the store: the peer does less work per request than the gateway's path does.
//! `hello-floor` does the same work under both, which makes it the like-for-like comparison of the
//! two emulators.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use anyhow::Context as _;
use http::StatusCode;
use serde_json::json;

use super::{Table, gateway_spec, mark, paired_differences, paired_ratios};
use crate::client::{LoadRun, LoadSpec, Target, get_once, run_load};
use crate::datasets::{self, DEFAULT_DATASET};
use crate::floors::{HandlerFloor, in_child};
use crate::machine::{Machine, load_average, now_rfc3339};
use crate::procs::{CargoLambda, CargoLambdaSpec, GatewayProcess, Store, absolute};
use crate::stats::{Summary, show};
use crate::{Context, SectionResult, Verdict, sign};

/// Instances per function on both servers.
pub const INSTANCES: u32 = 4;
/// Client concurrencies measured.
const CONNECTIONS: [usize; 2] = [1, 4];
/// Targets: gateway req/s at least this many times cargo-lambda's, with 1 client and with 4; gateway
/// p50 at one client at most this many times cargo-lambda's.
const TARGET_RPS_RATIO: f64 = 1.5;
const TARGET_P50_RATIO: f64 = 0.67;

struct Subject {
    key: &'static str,
    server: &'static str,
    function: &'static str,
    target: Target,
    expect: StatusCode,
    /// Text the body must contain, to know the function itself answered.
    marker: String,
}

#[derive(Default, Clone)]
struct Series {
    rps: Vec<f64>,
    p50: Vec<f64>,
    p99: Vec<f64>,
    failures: u64,
    statuses: BTreeMap<u16, u64>,
}

impl Series {
    fn push(&mut self, run: &LoadRun) {
        self.rps.push(run.rps());
        self.p50.push(run.p50_ms());
        self.p99.push(run.p99_ms());
        self.failures += run.failures;
        for (status, count) in &run.statuses {
            *self.statuses.entry(*status).or_default() += count;
        }
    }
}

fn load_spec(connections: usize, expect: StatusCode, quick: bool) -> LoadSpec {
    LoadSpec {
        connections,
        warmup_per_connection: 20,
        max_requests: 60_000,
        max_duration: Duration::from_secs(if quick { 1 } else { 3 }),
        expect,
    }
}

pub async fn run(ctx: &Context) -> anyhow::Result<SectionResult> {
    let machine = Machine::current();
    let rounds = ctx.reps(3, 1);
    let db = datasets::database(ctx, DEFAULT_DATASET)?;
    let ids = datasets::sqlite_ids(&db).await?;
    let data_dir = datasets::data_dir(ctx, DEFAULT_DATASET);
    let user_path = format!("/users/{}", ids.user);

    let gw_users = GatewayProcess::start(&gateway_spec(
        ctx,
        &ctx.template(),
        &data_dir,
        Store::Sqlite,
        INSTANCES,
        "warm-gateway-users",
    ))?;
    let gw_hello = GatewayProcess::start(&gateway_spec(
        ctx,
        &ctx.hello_template(),
        &ctx.scratch("warm-hello")?,
        Store::Sqlite,
        INSTANCES,
        "warm-gateway-hello",
    ))?;
    let checks = gw_users.checks();
    let users_url = format!("{}{}", gw_users.base_url, user_path);
    let mut subjects = vec![
        Subject {
            key: "gateway/users",
            server: "rill-gateway",
            function: "users, `GET /users/{id}`",
            target: Target::get(&users_url, true)?,
            expect: StatusCode::OK,
            marker: format!("\"id\":\"{}\"", ids.user),
        },
        Subject {
            key: "gateway/hello",
            server: "rill-gateway",
            function: "hello-floor",
            target: Target::get(&format!("{}/hello", gw_hello.base_url), true)?,
            expect: StatusCode::OK,
            marker: "hello".into(),
        },
    ];
    let mut peers = Vec::new();
    if let Some(cargo_lambda) = &ctx.cargo_lambda {
        let users_peer = CargoLambda::start(&CargoLambdaSpec {
            cargo_lambda: cargo_lambda.clone(),
            cwd: ctx.workspace.clone(),
            function: ctx.binary("users"),
            env: vec![
                ("RILL_STORE".into(), "sqlite".into()),
                (
                    "RILL_SQLITE_PATH".into(),
                    absolute(&db).display().to_string(),
                ),
            ],
            instances: INSTANCES as usize,
            log: ctx.log("warm-cargo-lambda-users"),
        })?;
        let hello_peer = CargoLambda::start(&CargoLambdaSpec {
            cargo_lambda: cargo_lambda.clone(),
            cwd: ctx.workspace.clone(),
            function: ctx.binary("hello-floor"),
            env: Vec::new(),
            instances: INSTANCES as usize,
            log: ctx.log("warm-cargo-lambda-hello"),
        })?;
        subjects.push(Subject {
            key: "cargo-lambda/users",
            server: "cargo-lambda",
            function: "users, `GET /users/{id}` (answers 404: no REST event)",
            target: Target::get(&format!("{}{}", users_peer.base_url, user_path), true)?,
            expect: StatusCode::NOT_FOUND,
            marker: "urn:rill:problem:not-found".into(),
        });
        subjects.push(Subject {
            key: "cargo-lambda/hello",
            server: "cargo-lambda",
            function: "hello-floor",
            target: Target::get(&format!("{}/hello", hello_peer.base_url), true)?,
            expect: StatusCode::OK,
            marker: "hello".into(),
        });
        peers.push(users_peer);
        peers.push(hello_peer);
    }

    // Every instance up and warm before anything is timed.
    for subject in &subjects {
        let reply = get_once(&subject.target, Duration::from_secs(30)).await?;
        anyhow::ensure!(
            reply.status == subject.expect
                && String::from_utf8_lossy(&reply.body).contains(&subject.marker),
            "{} answered {} instead of {} from the function: {}",
            subject.key,
            reply.status,
            subject.expect,
            String::from_utf8_lossy(&reply.body)
        );
        run_load(
            &subject.target,
            LoadSpec {
                connections: INSTANCES as usize,
                warmup_per_connection: 50,
                max_requests: 400,
                max_duration: Duration::from_secs(5),
                expect: subject.expect,
            },
        )?;
    }

    // The floor's event: what the gateway sends for the same signed request.
    let event = datasets::rest_event(
        &ctx.template(),
        &user_path,
        &sign::signed_headers("GET", &users_url)?,
    )?;
    let event_file = ctx.scratch("floors")?.join("get-user-event.json");
    std::fs::write(&event_file, &event)?;

    let mut series: BTreeMap<(usize, &str), Series> = BTreeMap::new();
    let mut floor = Series::default();
    let mut floor_status = 0;
    let mut wrk_runs: Vec<(f64, f64)> = Vec::new();
    let mut client_at_wrk: Vec<f64> = Vec::new();
    for round in 0..rounds {
        for &connections in &CONNECTIONS {
            for i in 0..subjects.len() {
                let subject = &subjects[(i + round) % subjects.len()];
                let run = run_load(
                    &subject.target,
                    load_spec(connections, subject.expect, ctx.quick),
                )?;
                series
                    .entry((connections, subject.key))
                    .or_default()
                    .push(&run);
            }
        }
        let result: HandlerFloor = in_child(
            ctx,
            "handler",
            &[
                "handler".into(),
                "--db".into(),
                absolute(&db).display().to_string(),
                "--event".into(),
                event_file.display().to_string(),
                "--max-calls".into(),
                "200000".into(),
                "--max-seconds".into(),
                if ctx.quick { "1" } else { "3" }.into(),
            ],
        )?;
        floor_status = result.status;
        floor.rps.push(result.rate());
        floor.p50.push(result.p50_ms);
        floor.p99.push(result.p99_ms);
        if let Some(wrk) = &ctx.wrk {
            let presigned = sign::presigned_url(&users_url, Duration::from_secs(3600))?;
            wrk_runs.push(run_wrk(wrk, &presigned, 4, if ctx.quick { 1 } else { 3 })?);
            let ours = run_load(&subjects[0].target, load_spec(4, StatusCode::OK, ctx.quick))?;
            client_at_wrk.push(ours.rps());
        }
        eprintln!("warm: round {}/{rounds} done", round + 1);
    }
    drop(peers);
    gw_users.stop();
    gw_hello.stop();

    // Tables.
    let mut md = String::new();
    let mut verdicts = Vec::new();
    let mut raw = serde_json::Map::new();
    let _ = writeln!(
        md,
        "Median (min–max) of {rounds} rounds; each load run is closed-loop, bounded to 60,000 \
         requests or {} s, after 20 untimed requests per connection. Every request is SigV4-signed; \
         gateway checks in force: {checks}. Each server runs {INSTANCES} warm instances of the \
         function.\n",
        if ctx.quick { 1 } else { 3 }
    );
    for &connections in &CONNECTIONS {
        let _ = writeln!(
            md,
            "**{connections} client connection{}**\n",
            if connections == 1 { "" } else { "s" }
        );
        let mut table = Table::new(&[
            "server",
            "function",
            "status",
            "p50 ms",
            "p99 ms",
            "req/s",
            "req/s ÷ cargo-lambda's",
        ]);
        for subject in &subjects {
            let own = &series[&(connections, subject.key)];
            let peer_key = if subject.key.ends_with("users") {
                "cargo-lambda/users"
            } else {
                "cargo-lambda/hello"
            };
            let ratio = series
                .get(&(connections, peer_key))
                .filter(|_| subject.server == "rill-gateway")
                .and_then(|peer| Summary::of(&paired_ratios(&own.rps, &peer.rps)));
            table.row(vec![
                subject.server.to_owned(),
                subject.function.to_owned(),
                statuses(own),
                show(Summary::of(&own.p50), 3),
                show(Summary::of(&own.p99), 3),
                show(Summary::of(&own.rps), 0),
                if subject.server == "rill-gateway" {
                    show(ratio, 2)
                } else {
                    "1".to_owned()
                },
            ]);
            raw.insert(
                format!("{connections}/{}", subject.key),
                json!({"rps": own.rps, "p50_ms": own.p50, "p99_ms": own.p99, "failures": own.failures, "statuses": own.statuses}),
            );
            if subject.key == "gateway/users" {
                let met = ratio.map(|r| r.median >= TARGET_RPS_RATIO);
                verdicts.push(Verdict::new(
                    format!(
                        "Warm GET /users/{{id}}, req/s vs cargo-lambda, {connections} client{}",
                        if connections == 1 { "" } else { "s" }
                    ),
                    format!("≥ {TARGET_RPS_RATIO}×"),
                    format!("{}×", show(ratio, 2)),
                    met,
                ));
            }
        }
        if connections == 1 {
            table.row(vec![
                "in process (floor)".into(),
                "`users::handler` via lambda_http's adapter".into(),
                floor_status.to_string(),
                show(Summary::of(&floor.p50), 3),
                show(Summary::of(&floor.p99), 3),
                format!("{} (one thread)", show(Summary::of(&floor.rps), 0)),
                "".into(),
            ]);
        }
        md.push_str(&table.render());
        let _ = writeln!(md);
    }
    raw.insert(
        "floor".into(),
        json!({"rps": floor.rps, "p50_ms": floor.p50, "p99_ms": floor.p99}),
    );

    let gateway_one = &series[&(1, "gateway/users")];
    let added = Summary::of(&paired_differences(&gateway_one.p50, &floor.p50));
    let peer_one = series.get(&(1, "cargo-lambda/users"));
    let p50_ratio =
        peer_one.and_then(|peer| Summary::of(&paired_ratios(&gateway_one.p50, &peer.p50)));
    let p50_met = p50_ratio.map(|r| r.median <= TARGET_P50_RATIO);
    verdicts.push(Verdict::new(
        "Warm GET /users/{id}, p50 at 1 client vs cargo-lambda",
        format!("≤ {TARGET_P50_RATIO}×"),
        format!(
            "{}× ({} ms vs {} ms; the gateway adds {} ms over the in-process handler)",
            show(p50_ratio, 2),
            show(Summary::of(&gateway_one.p50), 3),
            show(peer_one.and_then(|peer| Summary::of(&peer.p50)), 3),
            show(added, 3)
        ),
        p50_met,
    ));
    let _ = writeln!(
        md,
        "p50 at one client: the gateway's is **{}×** cargo-lambda's (per round; target ≤ \
         {TARGET_P50_RATIO}×, {}). Gateway-added p50 (gateway p50 at one client − in-process p50, per \
         round): **{} ms**. It is everything between the client and the handler: HTTP parsing, SigV4 \
         verification, request validation, the REST event, the Runtime API round trip (`/next`, the \
         response POST), lambda_http's request and response mapping, and the log lines the gateway \
         carries.\n",
        show(p50_ratio, 2),
        mark(p50_met),
        show(added, 3)
    );
    raw.insert(
        "p50_ratio_one_client".into(),
        json!(peer_one.map(|peer| paired_ratios(&gateway_one.p50, &peer.p50))),
    );
    if ctx.cargo_lambda.is_none() {
        let _ = writeln!(
            md,
            "cargo-lambda was not measured: it is not installed (scripts/bench installs it with pip).\n"
        );
    }
    if !wrk_runs.is_empty() {
        let wrk_rps: Vec<f64> = wrk_runs.iter().map(|(rps, _)| *rps).collect();
        let wrk_p50: Vec<f64> = wrk_runs.iter().map(|(_, p50)| *p50).collect();
        let agreement = Summary::of(&paired_ratios(&client_at_wrk, &wrk_rps));
        let _ = writeln!(
            md,
            "Cross-check of the load client: `wrk -t1 -c4` on a presigned URL (`X-Amz-Expires`) \
             against the same gateway measured {} req/s (p50 {} ms); the Rust client right after it, \
             with 4 connections, {} req/s: {}× wrk's. The two agree, so the client is not what limits \
             these numbers.\n",
            show(Summary::of(&wrk_rps), 0),
            show(Summary::of(&wrk_p50), 3),
            show(Summary::of(&client_at_wrk), 0),
            show(agreement, 2)
        );
        raw.insert(
            "wrk".into(),
            json!({"rps": wrk_rps, "p50_ms": wrk_p50, "client_rps": client_at_wrk}),
        );
    }
    Ok(SectionResult {
        section: "warm".into(),
        machine,
        finished_at: now_rfc3339(),
        load_average_after: load_average(),
        quick: ctx.quick,
        verdicts,
        markdown: md,
        raw: serde_json::Value::Object(raw),
    })
}

fn statuses(series: &Series) -> String {
    let mut text = series
        .statuses
        .keys()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if series.failures > 0 {
        let _ = write!(text, " ({} unexpected)", series.failures);
    }
    text
}

/// Runs `wrk` against `url` and returns its req/s and p50 in milliseconds.
fn run_wrk(
    wrk: &std::path::Path,
    url: &str,
    connections: usize,
    seconds: u64,
) -> anyhow::Result<(f64, f64)> {
    let output = std::process::Command::new(wrk)
        .args(["-t1", &format!("-c{connections}"), &format!("-d{seconds}s")])
        .arg("--latency")
        .arg(url)
        .output()
        .context("cannot run wrk")?;
    let text = String::from_utf8_lossy(&output.stdout);
    parse_wrk(&text).with_context(|| format!("unexpected wrk output:\n{text}"))
}

/// `Requests/sec:` and the 50% latency of `wrk --latency` output.
fn parse_wrk(text: &str) -> Option<(f64, f64)> {
    let rps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))?
        .trim()
        .parse()
        .ok()?;
    let p50 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("50%"))
        .and_then(|v| wrk_duration_ms(v.trim()))?;
    // wrk counts non-2xx answers; any means the presigned URL was refused.
    if text.contains("Non-2xx or 3xx responses") {
        return None;
    }
    Some((rps, p50))
}

fn wrk_duration_ms(value: &str) -> Option<f64> {
    let split = value.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().ok()?;
    Some(match unit {
        "us" => number / 1000.0,
        "ms" => number,
        "s" => number * 1000.0,
        "m" => number * 60_000.0,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_output_gives_its_rate_and_median() {
        let text = "Running 3s test @ http://127.0.0.1:1/dev/users/x\n  1 threads and 4 connections\n\
                    \x20 Latency Distribution\n     50%  412.00us\n     75%  1.02ms\n     99%    2.10ms\n\
                    \x20 3000 requests in 3.00s, 1.00MB read\nRequests/sec:   1000.25\nTransfer/sec:    341.00KB\n";
        assert_eq!(parse_wrk(text), Some((1000.25, 0.412)));
    }

    #[test]
    fn wrk_output_with_refused_requests_is_rejected() {
        let text = "     50%  1.00ms\n  Non-2xx or 3xx responses: 12\nRequests/sec:   10.00\n";
        assert_eq!(parse_wrk(text), None);
    }

    #[test]
    fn wrk_durations_convert_to_milliseconds() {
        assert_eq!(wrk_duration_ms("250.00us"), Some(0.25));
        assert_eq!(wrk_duration_ms("1.50ms"), Some(1.5));
        assert_eq!(wrk_duration_ms("2.00s"), Some(2000.0));
        assert_eq!(wrk_duration_ms("fast"), None);
    }
}
