//! The benchmark behind `scripts/bench`: Rill measured against its floors and its peers, in one run.
//!
//! Each section of the benchmark measures one figure of `docs/benchmarks.md` and always measures its
//! comparison in the same run, interleaved with it, because the machine is shared and noisy: a
//! number on its own would say more about the neighbours than about Rill.
//!
//! | section | figure | compared with |
//! |---|---|---|
//! | [`sections::cold_start`] | Init Duration from the gateway's `REPORT` lines | `hello-floor`, a bare `lambda_runtime` function, through the same gateway |
//! | [`sections::warm`] | p50/p99 and req/s of a signed `GET /users/{id}` | cargo-lambda's emulator running the same binary; the handler called in process |
//! | [`sections::export`] | TTFB, MB/s and peak RSS of CSV exports of 10k–1M orders | a plain read-and-encode loop, and the export pipeline, in process |
//! | [`sections::startup`] | gateway start to first answer | cargo-lambda's emulator; SAM CLI (cannot start without Docker) |
//! | [`sections::artifacts`] | release zip per function | `hello-floor`'s zip |
//! | [`sections::scaling`] | req/s for 1–8 clients and 1–4 instances | one client on one instance |
//!
//! Sections write their results as JSON ([`SectionResult`]) into `docs/benchmark-results/`, which is
//! committed beside the document; [`report`] renders every stored result into the Markdown document, so
//! one section can be run again on its own, from any clone, and the others keep their last figures.

pub mod client;
pub mod datasets;
pub mod floors;
pub mod machine;
pub mod procs;
pub mod report;
pub mod sections;
pub mod sign;
pub mod stats;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::machine::Machine;

/// Where everything is, and which optional tools this machine has.
#[derive(Debug, Clone)]
pub struct Context {
    /// The workspace root (the gateway and cargo-lambda run from here).
    pub workspace: PathBuf,
    /// The release binaries: `rill-gateway`, `users`, `orders`, `export`, `hello-floor`,
    /// `rill-bench`.
    pub release_dir: PathBuf,
    /// Scratch space and logs (under `target/`).
    pub work_dir: PathBuf,
    /// The stored section results (`docs/benchmark-results/`, committed beside the document).
    pub results_dir: PathBuf,
    /// The seeded SQLite databases (under `.local/`).
    pub datasets_dir: PathBuf,
    /// `cargo-lambda` from the pip package, when installed.
    pub cargo_lambda: Option<PathBuf>,
    /// `wrk`, when installed.
    pub wrk: Option<PathBuf>,
    /// SAM CLI, when installed.
    pub sam: Option<PathBuf>,
    /// Whether DynamoDB Local is running (`AWS_ENDPOINT_URL_DYNAMODB` is set).
    pub dynamodb: bool,
    /// Fewer repetitions, for a smoke run; the results say so.
    pub quick: bool,
}

impl Context {
    /// A release binary by name.
    pub fn binary(&self, name: &str) -> PathBuf {
        self.release_dir.join(name)
    }

    /// The workspace's SAM template.
    pub fn template(&self) -> PathBuf {
        self.workspace.join("template.yaml")
    }

    /// The floor's template.
    pub fn hello_template(&self) -> PathBuf {
        self.workspace.join("crates/bench/templates/hello.yaml")
    }

    /// A log file for one server of one section.
    pub fn log(&self, name: &str) -> PathBuf {
        self.work_dir.join("logs").join(format!("{name}.log"))
    }

    /// Scratch directory `name`, created.
    pub fn scratch(&self, name: &str) -> std::io::Result<PathBuf> {
        let dir = self.work_dir.join("scratch").join(name);
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    /// `full` repetitions, or `quick` in a smoke run.
    pub fn reps(&self, full: usize, quick: usize) -> usize {
        if self.quick { quick } else { full }
    }
}

/// One figure against its target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub figure: String,
    pub target: String,
    pub measured: String,
    /// `None` when the figure could not be measured here.
    pub met: Option<bool>,
}

impl Verdict {
    pub fn new(
        figure: impl Into<String>,
        target: impl Into<String>,
        measured: impl Into<String>,
        met: Option<bool>,
    ) -> Self {
        Self {
            figure: figure.into(),
            target: target.into(),
            measured: measured.into(),
            met,
        }
    }
}

/// What one section measured, as stored between runs and rendered into the document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SectionResult {
    /// The section's command name (`cold-start`).
    pub section: String,
    /// The machine and when the section started.
    pub machine: Machine,
    /// When it finished.
    pub finished_at: String,
    /// The load average when it finished.
    pub load_average_after: String,
    /// Whether this was a smoke run with fewer repetitions.
    pub quick: bool,
    /// The section's figures against their targets.
    pub verdicts: Vec<Verdict>,
    /// The section's part of the document (tables, method, analysis).
    pub markdown: String,
    /// Every number behind the tables.
    pub raw: serde_json::Value,
}

impl SectionResult {
    /// The stored result of `section` in `dir`.
    pub fn path(dir: &Path, section: &str) -> PathBuf {
        dir.join(format!("{section}.json"))
    }
}
