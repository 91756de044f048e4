//! `--watch`: serve what the developer just saved without a restart.
//!
//! Two kinds of files are watched, through one file watcher and one loop:
//!
//! - the files the API model was read from (the template, its OpenAPI file, the `--env-vars`
//!   file): a change reads the model again, through the same [`crate::config::load`] as at start,
//!   and serves it when it loads ([`api_reload`]);
//! - the sources of the functions, the function crates and the local crates they depend on (see
//!   [`workspace`]): a change rebuilds the affected functions with cargo and serves the new
//!   binaries ([`function_builds`]).
//!
//! Both act on batches of changes, each taken once the files have been quiet for a moment
//! ([`debounce`]). When a batch touches both, the model is reloaded first, so that a function the
//! edit added is also rebuilt. Rebuilding needs the cargo workspace around the template and a
//! `--bin-dir` that is a cargo profile directory; without them the gateway says why and still
//! reloads the API model.

mod api_reload;
mod debounce;
mod function_builds;
mod watch_error;
pub mod workspace;

use std::collections::BTreeSet;
use std::path::PathBuf;

use notify::{RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

use crate::config::ApiConfig;
use crate::server::GatewayHandle;
use crate::settings::Settings;
use api_reload::ApiReloader;
pub use debounce::DEBOUNCE;
use function_builds::FunctionBuilder;
pub use function_builds::Profile;
pub use watch_error::WatchError;

/// A running `--watch`: stops watching when dropped.
#[derive(Debug)]
pub struct SourceWatcher {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SourceWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts watching the files `config` was read from and the sources of every function of it that
/// a package of the cargo workspace around the template builds.
pub fn start(
    gateway: GatewayHandle,
    config: &ApiConfig,
    settings: &Settings,
) -> Result<SourceWatcher, WatchError> {
    let (events, changes) = mpsc::unbounded_channel();
    let watcher =
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
            path: config.template_path.clone(),
            source,
        })?;
    let builder = match FunctionBuilder::new(config, settings) {
        Ok(builder) => Some(builder),
        Err(error) => {
            tracing::warn!(
                "--watch: functions are not rebuilt ({error}); the template and its OpenAPI file \
                 still reload"
            );
            None
        }
    };
    let mut watch = WatchLoop {
        gateway,
        watcher,
        watched: BTreeSet::new(),
        api: ApiReloader::new(config, settings),
        builder,
    };
    watch.watch_new_directories()?;
    tracing::info!(
        directories = watch.watched.len(),
        functions = watch
            .builder
            .as_ref()
            .map_or(0, FunctionBuilder::function_count),
        "--watch: reloading the API when the template or its OpenAPI file changes, rebuilding \
         functions when their sources change"
    );
    let task = tokio::spawn(watch.run(changes));
    Ok(SourceWatcher { task })
}

/// The file watcher and what it drives.
struct WatchLoop {
    gateway: GatewayHandle,
    watcher: notify::RecommendedWatcher,
    /// Directories being watched, with whether recursively.
    watched: BTreeSet<(PathBuf, bool)>,
    api: ApiReloader,
    builder: Option<FunctionBuilder>,
}

impl WatchLoop {
    async fn run(mut self, mut changes: mpsc::UnboundedReceiver<PathBuf>) {
        while let Some(changed) = debounce::next_batch(&mut changes).await {
            if self.api.is_affected(&changed)
                && let Some(config) = self.api.reload(&self.gateway, &changed).await
            {
                if let Some(builder) = &mut self.builder {
                    builder.follow(&config);
                }
                if let Err(error) = self.watch_new_directories() {
                    tracing::warn!(%error, "--watch: a new directory is not watched");
                }
            }
            if let Some(builder) = &self.builder {
                builder.on_change(&self.gateway, &changed).await;
            }
        }
    }

    /// Watches the directories of the API's files and of the functions' sources not watched yet.
    fn watch_new_directories(&mut self) -> Result<(), WatchError> {
        let sources = self
            .builder
            .as_ref()
            .map(FunctionBuilder::directories)
            .unwrap_or_default();
        // A directory inside a source directory is already watched, recursively.
        let api = self
            .api
            .directories()
            .into_iter()
            .filter(|dir| !sources.iter().any(|source| dir.starts_with(source)));
        let wanted = sources
            .iter()
            .cloned()
            .map(|dir| (dir, true))
            .chain(api.map(|dir| (dir, false)))
            .collect::<Vec<_>>();
        for (dir, recursive) in wanted {
            if self.watched.contains(&(dir.clone(), recursive)) {
                continue;
            }
            let mode = if recursive {
                RecursiveMode::Recursive
            } else {
                RecursiveMode::NonRecursive
            };
            self.watcher
                .watch(&dir, mode)
                .map_err(|source| WatchError::Notify {
                    path: dir.clone(),
                    source,
                })?;
            self.watched.insert((dir, recursive));
        }
        Ok(())
    }
}
