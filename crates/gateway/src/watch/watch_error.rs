//! Why `--watch` cannot start.

use std::path::PathBuf;

/// Why `--watch` cannot start.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// `cargo metadata` failed or said something unexpected.
    #[error("--watch needs the cargo workspace of the functions: {0}")]
    Metadata(String),
    /// `--bin-dir` is not a cargo profile directory, so a build would not land there.
    #[error(
        "--watch builds into --bin-dir, so it must be a cargo profile directory (.../debug or \
         .../release), not {0}"
    )]
    NotAProfileDirectory(PathBuf),
    /// The file watcher could not be set up.
    #[error("cannot watch {path}: {source}")]
    Notify {
        /// The directory.
        path: PathBuf,
        /// What the watcher said.
        #[source]
        source: notify::Error,
    },
}
