//! Gateway startup: from spawning `rill-gateway` (binaries already built) until it serves a request,
//! against cargo-lambda's emulator doing the same, measured by polling in the same run.
//!
//! Two figures for the gateway, each from a fresh process: until it answers at all (an unsigned
//! request to an unknown path gets API Gateway's 403, so no function runs), and until the first real
//! request succeeds (a signed `GET /users/{id}`, which includes the users function's cold start).
//! The poller retries a refused connection every millisecond. For cargo-lambda: from spawning
//! `cargo lambda watch --only-lambda-apis` until the users function, started as soon as the emulator
//! accepts connections, answers. That leaves out cargo's build check, which `cargo lambda watch`
//! runs before starting a function and which alone takes longer than the gateway's whole start.
//!
//! SAM CLI is the other peer, and it cannot start here: `sam local start-api` needs a container
//! runtime and the machine has none. When SAM is installed (scripts/check-api installs it), it is run
//! once and its answer recorded.

use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use super::{Table, gateway_spec, mark, paired_ratios};
use crate::client::{Target, poll_until_answered};
use crate::datasets::{self, DEFAULT_DATASET};
use crate::machine::{Machine, load_average, now_rfc3339};
use crate::procs::{CargoLambda, CargoLambdaSpec, GatewayProcess, Store, absolute, free_port};
use crate::stats::{Summary, ms, show};
use crate::{Context, SectionResult, Verdict};

const TARGET_MS: f64 = 1000.0;
const POLL: Duration = Duration::from_millis(1);
const DEADLINE: Duration = Duration::from_secs(30);

pub async fn run(ctx: &Context) -> anyhow::Result<SectionResult> {
    let machine = Machine::current();
    let rounds = ctx.reps(10, 2);
    let db = datasets::database(ctx, DEFAULT_DATASET)?;
    let ids = datasets::sqlite_ids(&db).await?;
    let data_dir = datasets::data_dir(ctx, DEFAULT_DATASET);

    let mut listening = Vec::new();
    let mut first_ok = Vec::new();
    let mut peer = Vec::new();
    // Round 0 fills the page cache and is not counted.
    for round in 0..=rounds {
        // (a) Until the gateway answers anything.
        let mut spec = gateway_spec(
            ctx,
            &ctx.template(),
            &data_dir,
            Store::Sqlite,
            4,
            "startup-gateway",
        );
        spec.port = free_port()?;
        let probe = Target::get(&format!("http://127.0.0.1:{}/dev", spec.port), false)?;
        let started = Instant::now();
        let gateway = GatewayProcess::spawn(&spec)?;
        let reply = poll_until_answered(&probe, POLL, started + DEADLINE).await?;
        let a = ms(started.elapsed());
        gateway.stop();
        anyhow::ensure!(
            reply.status == http::StatusCode::FORBIDDEN,
            "an unknown path answered {} instead of API Gateway's 403",
            reply.status
        );

        // (b) Until the first real request succeeds.
        spec.port = free_port()?;
        let probe = Target::get(
            &format!("http://127.0.0.1:{}/dev/users/{}", spec.port, ids.user),
            true,
        )?;
        let started = Instant::now();
        let gateway = GatewayProcess::spawn(&spec)?;
        let reply = poll_until_answered(&probe, POLL, started + DEADLINE).await?;
        let b = ms(started.elapsed());
        gateway.stop();
        anyhow::ensure!(
            reply.status.is_success(),
            "the first GET /users/{{id}} answered {}: {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        );

        // (c) cargo-lambda.
        let c = match &ctx.cargo_lambda {
            Some(cargo_lambda) => {
                let spec = CargoLambdaSpec {
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
                    instances: 1,
                    log: ctx.log("startup-cargo-lambda"),
                };
                let started = Instant::now();
                let mut emulator = CargoLambda::start_emulator(&spec)?;
                emulator.attach_functions(&spec)?;
                let probe =
                    Target::get(&format!("{}/users/{}", emulator.base_url, ids.user), true)?;
                poll_until_answered(&probe, POLL, started + DEADLINE).await?;
                let c = ms(started.elapsed());
                emulator.stop();
                Some(c)
            }
            None => None,
        };
        if round > 0 {
            listening.push(a);
            first_ok.push(b);
            if let Some(c) = c {
                peer.push(c);
            }
        }
        eprintln!("startup: round {round}/{rounds} done");
    }
    let sam = ctx.sam.as_ref().map(|sam| try_sam(ctx, sam));

    let mut table = Table::new(&["server", "until", "ms", "÷ cargo-lambda's"]);
    let first_vs_peer = Summary::of(&paired_ratios(&first_ok, &peer));
    table.row(vec![
        "rill-gateway".into(),
        "it answers (403 for an unknown path; no function runs)".into(),
        show(Summary::of(&listening), 1),
        show(Summary::of(&paired_ratios(&listening, &peer)), 2),
    ]);
    table.row(vec![
        "rill-gateway".into(),
        "the first signed `GET /users/{id}` succeeds (includes the users cold start)".into(),
        show(Summary::of(&first_ok), 1),
        show(first_vs_peer, 2),
    ]);
    table.row(vec![
        "cargo-lambda (`watch --only-lambda-apis`)".into(),
        "the users function, started once the emulator listens, answers".into(),
        if ctx.cargo_lambda.is_some() {
            show(Summary::of(&peer), 1)
        } else {
            "not installed".into()
        },
        "1".into(),
    ]);
    table.row(vec![
        "SAM CLI (`sam local start-api`)".into(),
        "–".into(),
        match &sam {
            Some(Ok(message)) => format!("cannot start here: {message}"),
            Some(Err(error)) => format!("cannot start here ({error})"),
            None => {
                "cannot start here without Docker (not installed; scripts/check-api installs it)"
                    .into()
            }
        },
        "–".into(),
    ]);

    let median = Summary::of(&first_ok).map(|s| s.median);
    let met = median.map(|m| m <= TARGET_MS);
    let verdicts = vec![Verdict::new(
        "Gateway startup to the first served request",
        format!("≤ {TARGET_MS:.0} ms"),
        format!(
            "{} ms ({}× cargo-lambda's start)",
            show(Summary::of(&first_ok), 0),
            show(first_vs_peer, 2)
        ),
        met,
    )];
    let mut md = String::new();
    let _ = writeln!(
        md,
        "From spawning the process (release binaries already built) until the poller, retrying every \
         millisecond, gets an answer; median (min–max) of {rounds} fresh starts each, after one \
         uncounted start that fills the page cache.\n"
    );
    md.push_str(&table.render());
    let _ = writeln!(
        md,
        "\nThe gateway reads `template.yaml` and the OpenAPI file (evaluating intrinsics and \
         compiling the request schemas), binds its port, and starts no function until a request \
         needs one. cargo-lambda's column leaves out the build check `cargo lambda watch` normally \
         runs before starting a function, which favours it. SAM CLI runs functions only in \
         containers, so on a machine without Docker it has no startup time to compare.\n\n\
         Target: first served request ≤ {TARGET_MS:.0} ms ({}).",
        mark(met)
    );
    Ok(SectionResult {
        section: "startup".into(),
        machine,
        finished_at: now_rfc3339(),
        load_average_after: load_average(),
        quick: ctx.quick,
        verdicts,
        markdown: md,
        raw: json!({"listening_ms": listening, "first_ok_ms": first_ok, "cargo_lambda_ms": peer,
                    "sam": sam.map(|r| r.unwrap_or_else(|e| e.to_string()))}),
    })
}

/// Runs `sam local start-api` once, bounded, and returns the reason it gives for not starting.
fn try_sam(ctx: &Context, sam: &std::path::Path) -> anyhow::Result<String> {
    let port = free_port()?;
    let mut child = Command::new(sam)
        .args(["local", "start-api", "--port", &port.to_string()])
        .arg("--template")
        .arg(ctx.template())
        .env("SAM_CLI_TELEMETRY", "0")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .current_dir(&ctx.workspace)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if child.try_wait()?.is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!("sam did not exit within 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let reason = text
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no output")
        .to_owned();
    Ok(format!("`{reason}` (exit {})", output.status))
}
