//! Cold start: each function's Init Duration, as the local gateway reports it in the `REPORT` line of
//! an instance's first invocation, against `hello-floor` measured the same way in the same run.
//!
//! Every sample is a fresh gateway (`--concurrency 1`) and one signed request, so every sample is a
//! real cold start: spawn, runtime and store setup, first `/next`. The gateway measures Init from
//! spawning the process to its first `/next`, as Lambda measures it from the start of the init phase
//! to its end. Samples are interleaved (floor, users, orders, export, then again), on both stores,
//! and the first round is discarded: it only fills the page cache.

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
}

#[derive(Default)]
struct Samples {
    init_ms: Vec<f64>,
    first_request_ms: Vec<f64>,
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
    }];
    if ctx.dynamodb {
        setups.push(StoreSetup {
            store: Store::Dynamodb,
            label: "DynamoDB",
            ids: datasets::dynamodb_fixture().await?,
            data_dir: ctx.scratch("cold-start-dynamodb")?,
        });
    }

    let mut samples: BTreeMap<(&str, &str), Samples> = BTreeMap::new();
    // Round 0 fills the page cache and is not counted.
    for round in 0..=rounds {
        for setup in &setups {
            for subject in SUBJECTS {
                let (init, first) = one_cold_start(ctx, subject, setup).await?;
                if round > 0 {
                    let entry = samples.entry((setup.label, subject.name)).or_default();
                    entry.init_ms.push(init);
                    entry.first_request_ms.push(first);
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
        "first request at the client, ms",
    ]);
    let mut raw = serde_json::Map::new();
    let mut missed = Vec::new();
    for setup in &setups {
        let floor = &samples[&(setup.label, "hello-floor")];
        for subject in SUBJECTS {
            let own = &samples[&(setup.label, subject.name)];
            let ratios = paired_ratios(&own.init_ms, &floor.init_ms);
            let ratio = Summary::of(&ratios);
            let init = Summary::of(&own.init_ms);
            table.row(vec![
                if subject.floor {
                    format!("{} (floor)", subject.name)
                } else {
                    subject.name.to_owned()
                },
                setup.label.to_owned(),
                show(init, 2),
                if subject.floor {
                    "1".to_owned()
                } else {
                    show(ratio, 2)
                },
                show(Summary::of(&own.first_request_ms), 2),
            ]);
            raw.insert(
                format!("{}/{}", setup.label, subject.name),
                json!({"init_ms": own.init_ms, "first_request_ms": own.first_request_ms}),
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
         DynamoDB the functions point at DynamoDB Local through `AWS_ENDPOINT_URL_DYNAMODB`; building \
         the SDK client makes no network call, so Init is the same work it is in AWS. The first request \
         column is what the client waited for: Init, the handler and the gateway together."
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

/// One fresh gateway, one request: the Init Duration the gateway reported and the client's wait.
async fn one_cold_start(
    ctx: &Context,
    subject: Subject,
    setup: &StoreSetup,
) -> anyhow::Result<(f64, f64)> {
    let template = if subject.floor {
        ctx.hello_template()
    } else {
        ctx.template()
    };
    let spec = gateway_spec(
        ctx,
        &template,
        &setup.data_dir,
        setup.store,
        1,
        "cold-start-gateway",
    );
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
    Ok((init, crate::stats::ms(reply.elapsed)))
}
