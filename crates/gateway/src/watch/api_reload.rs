//! Reloading the API model when the template, its OpenAPI file or the `--env-vars` file changes.
//!
//! The new model is read by [`crate::config::load`], the code that read the first one at start, so
//! an edit is judged exactly as a restart would judge it. When it loads, the gateway serves it for
//! the requests that arrive from then on ([`GatewayHandle::replace_api`]); requests in flight
//! finish on the model they started with, and functions whose definition changed start their new
//! configuration on their next cold start. When it does not (a YAML error, an operation without
//! `security`, a route naming no function), the log shows the error the gateway would have
//! printed at start, and the previous model keeps serving: never half a model.
//!
//! The files are watched through their directories, not one by one: editors save by writing a new
//! file and renaming it over the old one, which a watch on the old file would not see.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{self, ApiConfig};
use crate::server::GatewayHandle;
use crate::settings::Settings;

/// The files the served API model was read from, and how to read it again.
#[derive(Debug)]
pub struct ApiReloader {
    settings: Settings,
    /// Absolute, with their directory's symbolic links resolved, as the file watcher names them.
    files: BTreeSet<PathBuf>,
}

impl ApiReloader {
    /// Watches the files `config` was read from.
    pub fn new(config: &ApiConfig, settings: &Settings) -> Self {
        Self {
            settings: settings.clone(),
            files: watched_paths(config),
        }
    }

    /// The directories holding the files, to watch without recursion.
    pub fn directories(&self) -> BTreeSet<PathBuf> {
        self.files
            .iter()
            .filter_map(|file| file.parent().map(Path::to_path_buf))
            .collect()
    }

    /// Whether a file of the model is among `changed`.
    pub fn is_affected(&self, changed: &BTreeSet<PathBuf>) -> bool {
        changed.iter().any(|path| self.files.contains(path))
    }

    /// Reads the model again after the files in `changed` changed, and serves it when it loads;
    /// returns it then.
    pub async fn reload(
        &mut self,
        gateway: &GatewayHandle,
        changed: &BTreeSet<PathBuf>,
    ) -> Option<Arc<ApiConfig>> {
        let edited = file_names(changed.intersection(&self.files));
        let previous = gateway.config();
        let config = match config::load(&self.settings) {
            Ok(config) => config,
            Err(error) => {
                tracing::error!(
                    "--watch: {edited} changed but the API cannot be loaded; the previous one \
                     keeps serving. error: {error:#}"
                );
                return None;
            }
        };
        for warning in config
            .warnings
            .iter()
            .filter(|w| !previous.warnings.contains(w))
        {
            tracing::warn!("--watch: {warning}");
        }
        self.files = watched_paths(&config);
        let routes = config.routes.routes().len();
        let stage = config.stage.clone();
        let changes = gateway.replace_api(config).await;
        tracing::info!(
            routes,
            stage = %stage,
            added = ?changes.added,
            changed = ?changes.changed,
            removed = ?changes.removed,
            draining = changes.draining,
            "--watch: {edited} changed; reloaded the API"
        );
        Some(gateway.config())
    }
}

/// The files `config` was read from, named as the file watcher names them.
fn watched_paths(config: &ApiConfig) -> BTreeSet<PathBuf> {
    config
        .source_files
        .iter()
        .map(|file| {
            let absolute = std::path::absolute(file).unwrap_or_else(|_| file.clone());
            match (absolute.parent(), absolute.file_name()) {
                (Some(dir), Some(name)) => dir
                    .canonicalize()
                    .map(|dir| dir.join(name))
                    .unwrap_or(absolute.clone()),
                _ => absolute,
            }
        })
        .collect()
}

/// `template.yaml, api.yaml`.
fn file_names<'a>(files: impl IntoIterator<Item = &'a PathBuf>) -> String {
    files
        .into_iter()
        .filter_map(|f| f.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(", ")
}
