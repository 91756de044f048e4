//! The sections of the benchmark, each a figure of `docs/benchmarks.md` with its comparison.
//!
//! A section returns a [`SectionResult`]: its verdicts against the targets, its Markdown (tables,
//! how it was measured, and why a missed target was missed) and the raw numbers.

pub mod artifacts;
pub mod cold_start;
pub mod export;
pub mod scaling;
pub mod startup;
pub mod warm;

use std::fmt::Write as _;
use std::path::Path;

use crate::procs::{GatewaySpec, Store};
use crate::{Context, SectionResult};

/// The sections, in the order of the document.
pub const ALL: [&str; 6] = [
    "cold-start",
    "warm",
    "export",
    "startup",
    "artifacts",
    "scaling",
];

/// Runs one section by its command name.
pub async fn run(ctx: &Context, section: &str) -> anyhow::Result<SectionResult> {
    match section {
        "cold-start" => cold_start::run(ctx).await,
        "warm" => warm::run(ctx).await,
        "export" => export::run(ctx).await,
        "startup" => startup::run(ctx).await,
        "artifacts" => artifacts::run(ctx).await,
        "scaling" => scaling::run(ctx).await,
        other => anyhow::bail!("unknown section {other}; one of {}", ALL.join(", ")),
    }
}

/// The section's title in the document.
pub fn title(section: &str) -> &'static str {
    match section {
        "cold-start" => "Cold start",
        "warm" => "Warm request path",
        "export" => "Export",
        "startup" => "Gateway startup",
        "artifacts" => "Artifacts",
        "scaling" => "Scaling",
        _ => "Unknown section",
    }
}

/// A gateway on `template` with the release binaries, logging to the section's log.
pub fn gateway_spec(
    ctx: &Context,
    template: &Path,
    data_dir: &Path,
    store: Store,
    concurrency: u32,
    log: &str,
) -> GatewaySpec {
    GatewaySpec {
        binary: ctx.binary("rill-gateway"),
        template: template.to_path_buf(),
        bin_dir: ctx.release_dir.clone(),
        data_dir: data_dir.to_path_buf(),
        store,
        concurrency,
        port: 0,
        log: ctx.log(log),
        cwd: ctx.workspace.clone(),
    }
}

/// A Markdown table.
#[derive(Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "| {} |", self.header.join(" | "));
        let _ = writeln!(
            out,
            "|{}",
            self.header.iter().map(|_| "---|").collect::<String>()
        );
        for row in &self.rows {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        out
    }
}

/// `✅ met`, `❌ missed` or `– not measured`.
pub fn mark(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "**missed**",
        None => "not measured",
    }
}

/// Ratios of paired runs: `a[i] / b[i]`.
pub fn paired_ratios(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter()
        .zip(b)
        .filter(|(_, b)| **b > 0.0)
        .map(|(a, b)| a / b)
        .collect()
}

/// Differences of paired runs: `a[i] - b[i]`.
pub fn paired_differences(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(a, b)| a - b).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_renders_as_markdown() {
        let mut table = Table::new(&["a", "b"]);
        table.row(vec!["1".into(), "2".into()]);
        assert_eq!(table.render(), "| a | b |\n|---|---|\n| 1 | 2 |\n");
    }

    #[test]
    fn paired_ratios_skip_a_zero_denominator() {
        assert_eq!(paired_ratios(&[4.0, 3.0], &[2.0, 0.0]), vec![2.0]);
        assert_eq!(paired_differences(&[4.0, 3.0], &[1.0, 1.0]), vec![3.0, 2.0]);
    }
}
