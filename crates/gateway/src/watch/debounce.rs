//! One batch of changed paths per edit.
//!
//! An editor's save is several file events (a temporary file, a rename, a metadata change) and a
//! `git checkout` is hundreds, so the watcher acts once the files have been quiet for
//! [`DEBOUNCE`], on every path that changed meanwhile. Rebuilding a function and reloading the API
//! model both take their batches from here.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;

/// How long the files must stay quiet before the watcher acts.
pub const DEBOUNCE: Duration = Duration::from_millis(300);

/// Waits for a changed path, then collects every path that changes until nothing has for
/// [`DEBOUNCE`]. `None` once the file watcher is gone.
pub async fn next_batch(
    changes: &mut mpsc::UnboundedReceiver<PathBuf>,
) -> Option<BTreeSet<PathBuf>> {
    let first = changes.recv().await?;
    let mut changed = BTreeSet::from([first]);
    while let Ok(Some(path)) = tokio::time::timeout(DEBOUNCE, changes.recv()).await {
        changed.insert(path);
    }
    Some(changed)
}
