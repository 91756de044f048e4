//! Rebuilding a function when its sources change, and serving the new binary.
//!
//! The sources of a function are its crate and the local crates it depends on (see
//! [`super::workspace`]). A batch of changes to them starts one `cargo build`, in the profile of
//! `--bin-dir` (`target/debug`: dev, `target/release`: `--release`), which compiles the affected
//! functions only. It names every watched function package (`-p users -p orders -p export`), not
//! just the affected ones: cargo leaves the others untouched since their inputs did not change,
//! and the set of packages stays the one `scripts/dev` builds, so cargo's feature unification, and
//! with it every dependency's artifact, is the same from one build to the next instead of being
//! rebuilt whenever the set of affected functions changes. When the build succeeds each affected
//! function is reloaded ([`crate::lambda::pool::FunctionPool::reload`]): new requests go to fresh
//! instances of the new binary while invocations in flight finish on the old ones. When it fails,
//! cargo's errors are on the terminal, the log says so, and the old binary keeps serving.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::watch_error::WatchError;
use super::workspace::{BinarySources, WorkspaceGraph};
use crate::config::ApiConfig;
use crate::server::GatewayHandle;
use crate::settings::Settings;

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

/// Turns batches of changed source files into builds and reloads.
#[derive(Debug)]
pub struct FunctionBuilder {
    graph: WorkspaceGraph,
    functions: Vec<WatchedFunction>,
    profile: Profile,
    target_dir: PathBuf,
}

impl FunctionBuilder {
    /// A builder for the functions of `config` that a package of the cargo workspace around the
    /// template builds. Functions built elsewhere are served as they are, with a warning.
    pub fn new(config: &ApiConfig, settings: &Settings) -> Result<Self, WatchError> {
        let profile = Profile::of_bin_dir(&settings.bin_dir)
            .ok_or_else(|| WatchError::NotAProfileDirectory(settings.bin_dir.clone()))?;
        let template_dir = match config.template_path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let graph = WorkspaceGraph::load(&template_dir)?;
        let target_dir = std::path::absolute(&settings.bin_dir)
            .map_err(|_| WatchError::NotAProfileDirectory(settings.bin_dir.clone()))?
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let mut builder = Self {
            graph,
            functions: Vec::new(),
            profile,
            target_dir,
        };
        builder.follow(config);
        Ok(builder)
    }

    /// Rebuilds the functions of `config` from now on (after the template was reloaded: a
    /// function may have been added, removed or pointed at another binary).
    pub fn follow(&mut self, config: &ApiConfig) {
        self.functions.clear();
        for (logical_id, spec) in &config.functions {
            let (Some(binary), Some(executable)) = (&spec.binary, &spec.executable) else {
                continue;
            };
            match self.graph.sources_of(binary) {
                Some(sources) => self.functions.push(WatchedFunction {
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
    }

    /// How many functions are rebuilt.
    pub fn function_count(&self) -> usize {
        self.functions.len()
    }

    /// The directories to watch, recursively.
    pub fn directories(&self) -> Vec<PathBuf> {
        let sources: Vec<&BinarySources> = self.functions.iter().map(|f| &f.sources).collect();
        self.graph.directories(&sources)
    }

    /// Builds and reloads the functions `changed` affects, if any.
    pub async fn on_change(&self, gateway: &GatewayHandle, changed: &BTreeSet<PathBuf>) {
        let affected: Vec<&WatchedFunction> = self
            .functions
            .iter()
            .filter(|f| changed.iter().any(|p| self.graph.affects(p, &f.sources)))
            .collect();
        if !affected.is_empty() {
            self.rebuild(gateway, &affected, changed).await;
        }
    }

    async fn rebuild(
        &self,
        gateway: &GatewayHandle,
        affected: &[&WatchedFunction],
        changed: &BTreeSet<PathBuf>,
    ) {
        let affected_packages: BTreeSet<&str> = affected
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
        let started = tokio::time::Instant::now();
        match self.cargo_build().status().await {
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
            if let Some(count) = gateway
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

    /// `cargo build` of every watched function package, in the profile of `--bin-dir`, with the
    /// local store built in.
    fn cargo_build(&self) -> tokio::process::Command {
        let packages: BTreeSet<&str> = self
            .functions
            .iter()
            .map(|f| f.sources.package.as_str())
            .collect();
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
        command
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
