//! `rill-bench`: runs benchmark sections, renders `docs/benchmarks.md`, and hosts the in-process
//! floors as subcommands (so each floor runs in a process of its own). `scripts/bench` is the way
//! to run it: it installs the tools, builds the release binaries, seeds the data and then calls this.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use rill_bench::floors::{self, ExportMode};
use rill_bench::{Context, SectionResult, report, sections};

/// Where `run` stores and `report` reads the section results, next to the document.
const DEFAULT_RESULTS_DIR: &str = "docs/benchmark-results";

#[derive(Debug, Parser)]
#[command(
    name = "rill-bench",
    version,
    about = "Rill against its floors and peers, in one run"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs sections (all when none is named), stores their results and renders the document.
    Run {
        /// Sections to run: cold-start, warm, export, startup, artifacts, scaling.
        sections: Vec<String>,
        /// Fewer repetitions: a smoke run, marked as such in the document.
        #[arg(long)]
        quick: bool,
        /// The workspace root.
        #[arg(long, default_value = ".")]
        workspace: PathBuf,
        /// The release binaries.
        #[arg(long, default_value = "target/release")]
        release_dir: PathBuf,
        /// Logs and scratch data.
        #[arg(long, default_value = "target/bench")]
        work_dir: PathBuf,
        /// The stored result of each section, one JSON file each, which the document is rendered
        /// from (committed, so that running one section keeps the others' last results).
        #[arg(long, default_value = DEFAULT_RESULTS_DIR)]
        results_dir: PathBuf,
        /// The seeded databases.
        #[arg(long, default_value = ".local/bench")]
        datasets_dir: PathBuf,
        /// The document to render.
        #[arg(long, default_value = "docs/benchmarks.md")]
        doc: PathBuf,
    },
    /// Renders the document from the stored results without measuring anything.
    Report {
        #[arg(long, default_value = DEFAULT_RESULTS_DIR)]
        results_dir: PathBuf,
        #[arg(long, default_value = "docs/benchmarks.md")]
        doc: PathBuf,
    },
    /// An in-process floor (used by the sections; runs in its own process).
    #[command(subcommand)]
    Floor(Floor),
}

#[derive(Debug, Subcommand)]
enum Floor {
    /// Calls the users handler with a REST event, repeatedly.
    Handler {
        #[arg(long)]
        db: PathBuf,
        /// The event JSON, as the gateway sends it.
        #[arg(long)]
        event: PathBuf,
        #[arg(long, default_value_t = 100_000)]
        max_calls: u64,
        #[arg(long, default_value_t = 3)]
        max_seconds: u64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Encodes every order of a database as CSV.
    Export {
        #[arg(long)]
        db: PathBuf,
        #[arg(long, value_enum)]
        mode: ExportMode,
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run {
            sections: names,
            quick,
            workspace,
            release_dir,
            work_dir,
            results_dir,
            datasets_dir,
            doc,
        } => {
            let workspace = std::path::absolute(&workspace)?;
            let ctx = Context {
                cargo_lambda: existing(workspace.join(".cache/api-venv/bin/cargo-lambda")),
                sam: existing(workspace.join(".cache/api-venv/bin/sam")),
                wrk: on_path("wrk"),
                dynamodb: std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB").is_some(),
                release_dir: std::path::absolute(&release_dir)?,
                work_dir: std::path::absolute(&work_dir)?,
                results_dir: std::path::absolute(&results_dir)?,
                datasets_dir: std::path::absolute(&datasets_dir)?,
                workspace,
                quick,
            };
            std::fs::create_dir_all(&ctx.results_dir)?;
            std::fs::create_dir_all(ctx.work_dir.join("logs"))?;
            let names: Vec<String> = if names.is_empty() {
                sections::ALL.iter().map(|s| (*s).to_owned()).collect()
            } else {
                names
            };
            for name in &names {
                eprintln!("==> {name}");
                let result = sections::run(&ctx, name)
                    .await
                    .with_context(|| format!("section {name}"))?;
                for verdict in &result.verdicts {
                    eprintln!(
                        "    {}: {} (target {}) {}",
                        verdict.figure,
                        verdict.measured,
                        verdict.target,
                        sections::mark(verdict.met)
                    );
                }
                let path = SectionResult::path(&ctx.results_dir, name);
                std::fs::write(&path, serde_json::to_string_pretty(&result)?)?;
            }
            write_report(&ctx.results_dir, &doc)
        }
        Command::Report { results_dir, doc } => write_report(&results_dir, &doc),
        Command::Floor(Floor::Handler {
            db,
            event,
            max_calls,
            max_seconds,
            out,
        }) => {
            rill_entry::init_tracing();
            let event = std::fs::read(&event)?;
            let result = floors::handler_floor(
                &db,
                &event,
                1_000,
                max_calls,
                Duration::from_secs(max_seconds),
            )
            .await?;
            std::fs::write(out, serde_json::to_vec(&result)?)?;
            Ok(())
        }
        Command::Floor(Floor::Export { db, mode, out }) => {
            rill_entry::init_tracing();
            let result = floors::export_floor(&db, mode).await?;
            std::fs::write(out, serde_json::to_vec(&result)?)?;
            Ok(())
        }
    }
}

fn write_report(results_dir: &std::path::Path, doc: &std::path::Path) -> anyhow::Result<()> {
    let results = report::load(results_dir)?;
    std::fs::write(doc, report::render(&results))
        .with_context(|| format!("cannot write {}", doc.display()))?;
    eprintln!("wrote {}", doc.display());
    Ok(())
}

fn existing(path: PathBuf) -> Option<PathBuf> {
    path.is_file().then_some(path)
}

/// `name` on `PATH`, like `command -v`.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}
