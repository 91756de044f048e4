//! Artifacts: the deployment zip of each function as `scripts/build` makes it (cargo-lambda, release,
//! x86_64), against `hello-floor`'s zip built the same way in the same run.
//!
//! `scripts/bench` builds the zips before this section runs; the section only reads their sizes.
//! Sizes do not vary between runs, so there is one measurement, not a median.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::json;

use super::{Table, mark};
use crate::machine::{Machine, load_average, now_rfc3339};
use crate::{Context, SectionResult, Verdict};

/// 4 MB, in bytes (decimal, like Lambda's own quotas).
const TARGET_BYTES: u64 = 4_000_000;
/// What a zip should aim for, below the target: 3 MB.
const AIM_BYTES: u64 = 3_000_000;
const FUNCTIONS: [&str; 3] = ["users", "orders", "export"];

/// Where cargo-lambda puts a function's zip.
fn zip_path(ctx: &Context, name: &str) -> PathBuf {
    lambda_dir(ctx).join(name).join("bootstrap.zip")
}

/// Where cargo-lambda puts each function's `bootstrap` (and zip): `<target dir>/lambda/<name>/`.
pub fn lambda_dir(ctx: &Context) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| ctx.workspace.join("target"), PathBuf::from)
        .join("lambda")
}

fn size(path: &std::path::Path) -> anyhow::Result<u64> {
    Ok(std::fs::metadata(path)
        .map_err(|e| anyhow::anyhow!("{}: {e}; scripts/bench builds it", path.display()))?
        .len())
}

pub async fn run(ctx: &Context) -> anyhow::Result<SectionResult> {
    let machine = Machine::current();
    let floor_zip = size(&zip_path(ctx, "hello-floor"))?;
    let floor_binary = size(&lambda_dir(ctx).join("hello-floor/bootstrap"))?;
    let mut table = Table::new(&[
        "function",
        "zip (bytes)",
        "zip MB",
        "÷ hello-floor's zip",
        "bootstrap, unzipped MB",
    ]);
    table.row(vec![
        "hello-floor (floor)".into(),
        floor_zip.to_string(),
        format!("{:.2}", floor_zip as f64 / 1e6),
        "1".into(),
        format!("{:.2}", floor_binary as f64 / 1e6),
    ]);
    let mut verdicts = Vec::new();
    let mut raw = serde_json::Map::new();
    raw.insert(
        "hello-floor".into(),
        json!({"zip": floor_zip, "bootstrap": floor_binary}),
    );
    for name in FUNCTIONS {
        let zip = size(&zip_path(ctx, name))?;
        let binary = size(&lambda_dir(ctx).join(name).join("bootstrap"))?;
        let ratio = zip as f64 / floor_zip as f64;
        table.row(vec![
            name.to_owned(),
            zip.to_string(),
            format!("{:.2}", zip as f64 / 1e6),
            format!("{ratio:.1}"),
            format!("{:.2}", binary as f64 / 1e6),
        ]);
        verdicts.push(Verdict::new(
            format!("Release zip, {name} (x86_64)"),
            "≤ 4 MB",
            format!(
                "{:.2} MB ({ratio:.1}× hello-floor){}",
                zip as f64 / 1e6,
                if zip <= AIM_BYTES {
                    ", within the 3 MB aim"
                } else {
                    ""
                }
            ),
            Some(zip <= TARGET_BYTES),
        ));
        raw.insert(name.into(), json!({"zip": zip, "bootstrap": binary}));
    }
    let mut md = String::new();
    let _ = writeln!(
        md,
        "`scripts/build` (`cargo lambda build --release --output-format zip --x86-64`: the \
         workspace's release profile, which sets every option cargo-lambda would otherwise add, \
         plus cargo-lambda's `-C target-cpu=haswell`) for the three functions, and the same command \
         for `hello-floor`. MB = 10^6 bytes.\n"
    );
    md.push_str(&table.render());
    let _ = writeln!(
        md,
        "\narm64 (Graviton, the template's default) cannot be built here: the aarch64 standard \
         library is not installable on this machine, so `scripts/build --arch arm64` fails before \
         compiling. The x86_64 zips stand in for it; both builds compile the same code with the same \
         profile.\n\nTarget: every zip ≤ 4 MB, aiming for 3 MB ({}).",
        mark(Some(verdicts.iter().all(|v| v.met == Some(true))))
    );
    Ok(SectionResult {
        section: "artifacts".into(),
        machine,
        finished_at: now_rfc3339(),
        load_average_after: load_average(),
        quick: ctx.quick,
        verdicts,
        markdown: md,
        raw: serde_json::Value::Object(raw),
    })
}
