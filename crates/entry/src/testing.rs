//! What the functions' handler tests share: a function wired as [`crate::run_buffered`] wires it,
//! through the function's own dependency builder, but on a SQLite store in a temporary directory
//! (or on a store that is down), with a fixed cursor key. Tests then call the handler directly with
//! real API Gateway events.

use std::fmt::Debug;
use std::sync::Arc;

use rill_http::testing::UnavailableStore;
use tempfile::TempDir;

use crate::{CursorKeys, SharedStore, StoreConfig, Wiring, open_store};

/// The key that signs the cursors of every handler test.
const TEST_CURSOR_KEY: &[u8] = b"function-handler-test-key";

/// A function's dependencies, wired on a fresh SQLite store that lives as long as this value.
pub struct WiredOnSqlite<D> {
    /// What the function built from the wiring.
    pub deps: D,
    /// The same store with every port, for setting up what the function itself cannot write.
    pub store: SharedStore,
    _dir: TempDir,
}

impl<D> Debug for WiredOnSqlite<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WiredOnSqlite").finish_non_exhaustive()
    }
}

impl<D> WiredOnSqlite<D> {
    /// Wires the function with `deps` (its `config::deps`) on a new, empty SQLite store.
    pub async fn start<E: Debug>(deps: impl FnOnce(Wiring) -> Result<D, E>) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = open_store(&StoreConfig::sqlite(dir.path().join("rill.db")))
            .await
            .expect("a SQLite store in a temporary directory");
        let deps = deps(wiring(store.clone())).expect("the function's dependencies");
        Self {
            deps,
            store,
            _dir: dir,
        }
    }
}

/// Wires the function with `deps` on a store that is down ([`UnavailableStore`]).
pub fn wired_on_unavailable_store<D, E: Debug>(deps: impl FnOnce(Wiring) -> Result<D, E>) -> D {
    deps(wiring(Arc::new(UnavailableStore))).expect("the function's dependencies")
}

fn wiring(store: SharedStore) -> Wiring {
    Wiring {
        store,
        cursors: CursorKeys::fixed(TEST_CURSOR_KEY.to_vec()),
    }
}
