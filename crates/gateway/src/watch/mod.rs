//! `--watch`: rebuild a function when its sources change and serve the new binary without a
//! restart.
//!
//! The loop is: file events from the function crates and the local crates they depend on (see
//! [`workspace`]), quiet for [`DEBOUNCE`] (an editor's save is several events, a `git checkout` is
//! hundreds), then one `cargo build`, in the profile of `--bin-dir` (`target/debug`: dev,
//! `target/release`: `--release`), which compiles the affected functions only. It names every
//! watched function package (`-p users -p orders -p export`), not just the affected ones: cargo
//! leaves the others untouched since their inputs did not change, and the set of packages stays the
//! one `scripts/dev` builds, so cargo's feature unification, and with it every dependency's
//! artifact, is the same from one build to the next instead of being rebuilt whenever the set of
//! affected functions changes. When the build succeeds each
//! affected function is reloaded ([`crate::lambda::pool::FunctionPool::reload`]): new requests go
//! to fresh instances of the new binary while invocations in flight finish on the old ones. When it
//! fails, cargo's errors are on the terminal, the log says so, and the old binary keeps serving.

mod watch_error;
pub mod workspace;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

use crate::config::ApiConfig;
use crate::server::GatewayHandle;
use crate::settings::Settings;
pub use watch_error::WatchError;
use workspace::{BinarySources, WorkspaceGraph};

/// How long the sources must stay quiet before a build starts.
pub const DEBOUNCE: Duration = Duration::from_millis(300);

/// The cargo profile `--bin-dir` belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// `target/debug`: `cargo build`.
    Dev,
    /// `target/release`: `cargo build --release`.
    Release,
}

impl Profile {
    /// The profile of a binaries directory, from its name.
    pub fn of_bin_dir(bin_dir: &Path) -> Option<Self> {
        match bin_dir.file_name()?.to_str()? {
            "debug" => Some(Self::Dev),
            "release" => Some(Self::Release),
            _ => None,
        }
    }
}

/// A function the watcher rebuilds.
#[derive(Debug, Clone)]
struct WatchedFunction {
    logical_id: String,
    executable: PathBuf,
    sources: BinarySources,
}

/// A running `--watch`: stops watching when dropped.
#[derive(Debug)]
pub struct SourceWatcher {
    _watcher: notify::RecommendedWatcher,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SourceWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts watching the sources of every function of `config` that a package of the cargo workspace
/// around the template builds. Functions built elsewhere are served as they are, with a warning.
pub fn start(
    gateway: GatewayHandle,
    config: &ApiConfig,
    settings: &Settings,
) -> Result<SourceWatcher, WatchError> {
    let profile = Profile::of_bin_dir(&settings.bin_dir)
        .ok_or_else(|| WatchError::NotAProfileDirectory(settings.bin_dir.clone()))?;
    let template_dir = match config.template_path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let graph = WorkspaceGraph::load(&template_dir)?;
    let mut functions = Vec::new();
    for (logical_id, spec) in &config.functions {
        let (Some(binary), Some(executable)) = (&spec.binary, &spec.executable) else {
            continue;
        };
        match graph.sources_of(binary) {
            Some(sources) => functions.push(WatchedFunction {
                logical_id: logical_id.clone(),
                executable: executable.clone(),
                sources,
            }),
            None => tracing::warn!(
                function = %logical_id,
                binary = %binary,
                "--watch: no package of the workspace builds this binary; it is not rebuilt"
            ),
        }
    }
    let (events, changes) = mpsc::unbounded_channel();
    let mut watcher =
        notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
            Ok(event) if !event.kind.is_access() => {
                for path in event.paths {
                    let _ = events.send(path);
                }
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "--watch: file watcher error"),
        })
        .map_err(|source| WatchError::Notify {
            path: graph.root().to_path_buf(),
            source,
        })?;
    let sources: Vec<&BinarySources> = functions.iter().map(|f| &f.sources).collect();
    let directories = graph.directories(&sources);
    for dir in &directories {
        watcher
            .watch(dir, RecursiveMode::Recursive)
            .map_err(|source| WatchError::Notify {
                path: dir.clone(),
                source,
            })?;
    }
    tracing::info!(
        directories = directories.len(),
        functions = functions.len(),
        "--watch: rebuilding functions when their sources change"
    );
    let rebuilder = Rebuilder {
        gateway,
        graph,
        functions,
        profile,
        target_dir: std::path::absolute(&settings.bin_dir)
            .map_err(|_| WatchError::NotAProfileDirectory(settings.bin_dir.clone()))?
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
    };
    let task = tokio::spawn(rebuilder.run(changes));
    Ok(SourceWatcher {
        _watcher: watcher,
        task,
    })
}

/// Turns batches of changed paths into builds and reloads.
#[derive(Debug)]
struct Rebuilder {
    gateway: GatewayHandle,
    graph: WorkspaceGraph,
    functions: Vec<WatchedFunction>,
    profile: Profile,
    target_dir: PathBuf,
}

impl Rebuilder {
    async fn run(self, mut changes: mpsc::UnboundedReceiver<PathBuf>) {
        while let Some(first) = changes.recv().await {
            let mut changed = BTreeSet::from([first]);
            // Debounce: wait until nothing has changed for DEBOUNCE.
            while let Ok(Some(path)) = tokio::time::timeout(DEBOUNCE, changes.recv()).await {
                changed.insert(path);
            }
            let affected: Vec<&WatchedFunction> = self
                .functions
                .iter()
                .filter(|f| changed.iter().any(|p| self.graph.affects(p, &f.sources)))
                .collect();
            if affected.is_empty() {
                continue;
            }
            self.rebuild(&affected, &changed).await;
        }
    }

    async fn rebuild(&self, affected: &[&WatchedFunction], changed: &BTreeSet<PathBuf>) {
        let affected_packages: BTreeSet<&str> = affected
            .iter()
            .map(|f| f.sources.package.as_str())
            .collect();
        let packages: BTreeSet<&str> = self
            .functions
            .iter()
            .map(|f| f.sources.package.as_str())
            .collect();
        let first_change = changed
            .iter()
            .next()
            .map(|p| {
                p.strip_prefix(self.graph.root())
                    .unwrap_or(p)
                    .display()
                    .to_string()
            })
            .unwrap_or_default();
        tracing::info!(
            packages = ?affected_packages,
            changed = changed.len(),
            first = %first_change,
            "--watch: sources changed; building"
        );
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = tokio::process::Command::new(cargo);
        command
            .arg("build")
            .current_dir(self.graph.root())
            .env("CARGO_TARGET_DIR", &self.target_dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true);
        if self.profile == Profile::Release {
            command.arg("--release");
        }
        for package in &packages {
            command.args(["-p", package]);
        }
        let features: Vec<&str> = self
            .functions
            .iter()
            .filter_map(|f| f.sources.local_store_feature.as_deref())
            .collect();
        if !features.is_empty() {
            command.args(["--features", &features.join(",")]);
        }
        let started = tokio::time::Instant::now();
        match command.status().await {
            Ok(status) if status.success() => {}
            Ok(status) => {
                tracing::error!(
                    %status,
                    "--watch: the build failed (cargo's errors are above); the previous binaries keep serving"
                );
                return;
            }
            Err(error) => {
                tracing::error!(%error, "--watch: cannot run cargo; the previous binaries keep serving");
                return;
            }
        }
        let mut draining = BTreeMap::new();
        for function in affected {
            if let Some(count) = self
                .gateway
                .reload_function(&function.logical_id, function.executable.clone())
                .await
            {
                draining.insert(function.logical_id.as_str(), count);
            }
        }
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            reloaded = ?draining.keys().collect::<Vec<_>>(),
            draining = draining.values().sum::<usize>(),
            "--watch: built; new requests go to the new binaries"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profile_follows_the_binaries_directory() {
        assert_eq!(
            Profile::of_bin_dir(Path::new("target/debug")),
            Some(Profile::Dev)
        );
        assert_eq!(
            Profile::of_bin_dir(Path::new("/x/target/release")),
            Some(Profile::Release)
        );
        assert_eq!(Profile::of_bin_dir(Path::new("dist/bin")), None);
    }
}
