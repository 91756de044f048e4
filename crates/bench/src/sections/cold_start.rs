//! Cold start: each function's Init Duration, as the local gateway reports it in the `REPORT` line of
//! an instance's first invocation, against `hello-floor` measured the same way in the same run.
//!
//! Every sample is a fresh gateway (`--concurrency 1`) and one signed request, so every sample is a
//! real cold start: spawn, runtime and store setup, first `/next`. The gateway measures Init from
//! spawning the process to its first `/next`, as Lambda measures it from the start of the init phase
//! to its end. Samples are interleaved (floor, users, orders, export, then again), on both stores,
//! and the first round is discarded: it only fills the page cache.
//!
//! On DynamoDB the functions are the deployed binaries: the `bootstrap` files `scripts/build`
//! (cargo-lambda) made, built without SQLite, and `hello-floor` built the same way. On SQLite they are
//! the local release builds, which need the `sqlite` feature; those binaries are larger, so their
//! Init is not what a Lambda function pays.
//!
//! Init is not the whole cold start: the functions build the SDK client and read the cursor key on
//! their first request, so the first invocation's `Duration` (from the same `REPORT` line) and the
//! client's wait for that first response are reported beside it, each as a ratio to the floor's in
//! the same round.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde_json::json;

use super::{Table, gateway_spec, mark, paired_ratios};
use crate::client::{Target, get_once};
use crate::datasets::{self, DEFAULT_DATASET, Ids};
use crate::machine::{Machine, load_average, now_rfc3339};
use crate::procs::{GatewayProcess, Store};
use crate::stats::{Summary, show};
use crate::{Context, SectionResult, Verdict};

/// The target: a function's Init Duration at most this many times the floor's.
const TARGET_RATIO: f64 = 1.25;

#[derive(Debug, Clone, Copy)]
struct Subject {
    name: &'static str,
    logical_id: &'static str,
    floor: bool,
}

const SUBJECTS: [Subject; 4] = [
    Subject {
        name: "hello-floor",
        logical_id: "HelloFunction",
        floor: true,
    },
    Subject {
        name: "users",
        logical_id: "UsersFunction",
        floor: false,
    },
    Subject {
        name: "orders",
        logical_id: "OrdersFunction",
        floor: false,
    },
    Subject {
        name: "export",
        logical_id: "ExportFunction",
        floor: false,
    },
];

impl Subject {
    fn path(&self, ids: &Ids) -> String {
        match self.name {
            "hello-floor" => "/hello".to_owned(),
            "users" => format!("/users/{}", ids.user),
            "orders" => format!("/orders/{}", ids.order),
            _ => "/exports/orders?format=csv&userId=".to_owned() + &ids.user,
        }
    }
}

struct StoreSetup {
    store: Store,
    label: &'static str,
    ids: Ids,
    data_dir: PathBuf,
    /// The function binaries (`users`, `orders`, `export`, `hello-floor`) the gateway runs.
    bin_dir: PathBuf,
}

/// The deployment builds of the functions and the floor, under the names the gateway runs, copied
/// from cargo-lambda's `<target dir>/lambda/<name>/bootstrap`.
fn deployed_bin_dir(ctx: &Context) -> anyhow::Result<PathBuf> {
    let dir = ctx.scratch("cold-start-deployed-bin")?;
    for subject in SUBJECTS {
        let bootstrap = super::artifacts::lambda_dir(ctx)
            .join(subject.name)
            .join("bootstrap");
        std::fs::copy(&bootstrap, dir.join(subject.name)).with_context(|| {
            format!(
                "{}: the deployed build of {}; scripts/bench builds it with cargo-lambda",
                bootstrap.display(),
                subject.name
            )
        })?;
    }
    Ok(dir)
}

#[derive(Default)]
struct Samples {
    init_ms: Vec<f64>,
    /// The first invocation's `Duration`: the handler's share of the first request, lazy setup
    /// included.
    first_invocation_ms: Vec<f64>,
    first_request_ms: Vec<f64>,
}

/// One cold start's figures.
struct ColdStart {
    init_ms: f64,
    first_invocation_ms: f64,
    first_request_ms: f64,
}

pub async fn run(ctx: &Context) -> anyhow::Result<SectionResult> {
    let machine = Machine::current();
    let rounds = ctx.reps(10, 2);
    let db = datasets::database(ctx, DEFAULT_DATASET)?;
    let mut setups = vec![StoreSetup {
        store: Store::Sqlite,
        label: "SQLite",
        ids: datasets::sqlite_ids(&db).await?,
        data_dir: datasets::data_dir(ctx, DEFAULT_DATASET),
        bin_dir: ctx.release_dir.clone(),
    }];
    if ctx.dynamodb {
        setups.push(StoreSetup {
            store: Store::Dynamodb,
            label: "DynamoDB",
            ids: datasets::dynamodb_fixture().await?,
            data_dir: ctx.scratch("cold-start-dynamodb")?,
            bin_dir: deployed_bin_dir(ctx)?,
        });
    }

    let mut samples: BTreeMap<(&str, &str), Samples> = BTreeMap::new();
    // Round 0 fills the page cache and is not counted.
    for round in 0..=rounds {
        for setup in &setups {
            for subject in SUBJECTS {
                let sample = one_cold_start(ctx, subject, setup).await?;
                if round > 0 {
                    let entry = samples.entry((setup.label, subject.name)).or_default();
                    entry.init_ms.push(sample.init_ms);
                    entry.first_invocation_ms.push(sample.first_invocation_ms);
                    entry.first_request_ms.push(sample.first_request_ms);
                }
            }
        }
        eprintln!("cold-start: round {round}/{rounds} done");
    }

    let mut verdicts = Vec::new();
    let mut table = Table::new(&[
        "function",
        "store",
        "Init Duration, ms",
        "× floor",
        "first invocation's Duration, ms",
        "× floor",
        "first request at the client, ms",
        "× floor",
    ]);
    let mut rounds_header = vec!["function".to_owned(), "store".to_owned()];
    rounds_header.extend((1..=rounds).map(|round| format!("round {round}")));
    let rounds_header: Vec<&str> = rounds_header.iter().map(String::as_str).collect();
    let mut rounds_table = Table::new(&rounds_header);
    let mut raw = serde_json::Map::new();
    let mut missed = Vec::new();
    for setup in &setups {
        let floor = &samples[&(setup.label, "hello-floor")];
        for subject in SUBJECTS {
            let own = &samples[&(setup.label, subject.name)];
            let ratios = paired_ratios(&own.init_ms, &floor.init_ms);
            let ratio = Summary::of(&ratios);
            let init = Summary::of(&own.init_ms);
            let versus_floor = |own: &[f64], floor: &[f64]| {
                if subject.floor {
                    "1".to_owned()
                } else {
                    show(Summary::of(&paired_ratios(own, floor)), 2)
                }
            };
            if !subject.floor {
                let mut row = vec![subject.name.to_owned(), setup.label.to_owned()];
                row.extend(ratios.iter().map(|r| format!("{r:.2}")));
                rounds_table.row(row);
            }
            table.row(vec![
                if subject.floor {
                    format!("{} (floor)", subject.name)
                } else {
                    subject.name.to_owned()
                },
                setup.label.to_owned(),
                show(init, 2),
                versus_floor(&own.init_ms, &floor.init_ms),
                show(Summary::of(&own.first_invocation_ms), 2),
                versus_floor(&own.first_invocation_ms, &floor.first_invocation_ms),
                show(Summary::of(&own.first_request_ms), 2),
                versus_floor(&own.first_request_ms, &floor.first_request_ms),
            ]);
            raw.insert(
                format!("{}/{}", setup.label, subject.name),
                json!({
                    "init_ms": own.init_ms,
                    "first_invocation_ms": own.first_invocation_ms,
                    "first_request_ms": own.first_request_ms,
                }),
            );
            if subject.floor {
                continue;
            }
            let met = ratio.map(|r| r.median <= TARGET_RATIO);
            if met == Some(false) {
                missed.push((
                    subject.name,
                    setup.label,
                    ratio,
                    init,
                    Summary::of(&floor.init_ms),
                ));
            }
            verdicts.push(Verdict::new(
                format!("Cold start, {} on {}", subject.name, setup.label),
                format!("Init ≤ {TARGET_RATIO}× hello-floor"),
                format!(
                    "{}× ({} ms vs {} ms)",
                    show(ratio, 2),
                    init.map_or("–".into(), |s| format!("{:.1}", s.median)),
                    Summary::of(&floor.init_ms)
                        .map_or("–".into(), |s| format!("{:.1}", s.median))
                ),
                met,
            ));
        }
    }

    let mut md = String::new();
    let _ = writeln!(
        md,
        "Init Duration of each function's first invocation, read from the gateway's `REPORT` line, \
         median (min–max) of {rounds} cold starts per cell; × floor is the median of the per-round \
         ratios to `hello-floor`, cold-started in the same round on the same store.\n"
    );
    md.push_str(&table.render());
    let _ = writeln!(
        md,
        "\nEach round's Init ÷ the floor's Init in the same round (the median of these is the × \
         floor above):\n"
    );
    md.push_str(&rounds_table.render());
    let _ = writeln!(md);
    if !ctx.dynamodb {
        let _ = writeln!(
            md,
            "DynamoDB was not measured: DynamoDB Local was not running (scripts/bench starts it).\n"
        );
    }
    let _ = writeln!(
        md,
        "Each sample starts a fresh `rill-gateway --concurrency 1` (release build) and sends one \
         signed request: `GET /hello` for the floor, `GET /users/{{id}}`, `GET /orders/{{id}}` and \
         `GET /exports/orders?format=csv&userId={{id}}` (a few hundred rows) for the functions. On \
         DynamoDB the binaries are the deployed ones (`scripts/build`'s cargo-lambda builds, without \
         SQLite, and `hello-floor` built the same way) and point at DynamoDB Local through \
         `AWS_ENDPOINT_URL_DYNAMODB`; building the SDK client makes no network call, so Init is the \
         same work it is in AWS. On SQLite they are the local release builds with the `sqlite` \
         feature. The first \
         invocation's Duration is the handler's share of the first request, which builds the SDK \
         client on first use (and, on DynamoDB, waits for DynamoDB Local's answer); the first request \
         at the client is what the client waited for: Init, the handler and the gateway together."
    );
    for (name, store, ratio, init, floor) in &missed {
        let _ = writeln!(
            md,
            "\n**{name} on {store} missed the target** ({}× the floor, {} ms vs {} ms).",
            show(*ratio, 2),
            show(*init, 1),
            show(*floor, 1)
        );
    }
    let _ = writeln!(
        md,
        "\nTarget: Init ≤ {TARGET_RATIO}× the floor ({}).",
        mark(Some(verdicts.iter().all(|v| v.met == Some(true))))
    );
    Ok(SectionResult {
        section: "cold-start".into(),
        machine,
        finished_at: now_rfc3339(),
        load_average_after: load_average(),
        quick: ctx.quick,
        verdicts,
        markdown: md,
        raw: serde_json::Value::Object(raw),
    })
}

/// One fresh gateway, one request: the Init Duration and first Duration the gateway reported, and
/// the client's wait.
async fn one_cold_start(
    ctx: &Context,
    subject: Subject,
    setup: &StoreSetup,
) -> anyhow::Result<ColdStart> {
    let template = if subject.floor {
        ctx.hello_template()
    } else {
        ctx.template()
    };
    let mut spec = gateway_spec(
        ctx,
        &template,
        &setup.data_dir,
        setup.store,
        1,
        "cold-start-gateway",
    );
    spec.bin_dir = setup.bin_dir.clone();
    let gateway = GatewayProcess::start(&spec)?;
    let url = format!("{}{}", gateway.base_url, subject.path(&setup.ids));
    let reply = get_once(&Target::get(&url, true)?, Duration::from_secs(30)).await?;
    if !reply.status.is_success() {
        bail!(
            "{} answered {} on {}: {}",
            url,
            reply.status,
            setup.label,
            String::from_utf8_lossy(&reply.body)
        );
    }
    let report = gateway
        .report(subject.logical_id, 0, Duration::from_secs(10))
        .with_context(|| format!("no REPORT line for {}", subject.logical_id))?;
    gateway.stop();
    let init = report
        .init_duration_ms
        .with_context(|| format!("the first REPORT of {} has no Init Duration", subject.name))?;
    Ok(ColdStart {
        init_ms: init,
        first_invocation_ms: report.duration_ms,
        first_request_ms: crate::stats::ms(reply.elapsed),
    })
}
