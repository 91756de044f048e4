//! What the orders function builds once per process, from what the entry point wired.
//!
//! It has no settings of its own: the store and the cursor key come from the shared configuration
//! (`rill-entry`). It keeps only the port it uses, [`OrderStore`], as its IAM policy allows only
//! those calls.

use std::convert::Infallible;

use rill_core::OrderStore;
use rill_entry::Wiring;

/// What every request needs.
pub type Deps = rill_entry::Deps<dyn OrderStore>;

/// Keeps the orders port of the wired store.
pub fn deps(wiring: Wiring) -> Result<Deps, Infallible> {
    Ok(Deps {
        store: wiring.store,
        cursors: wiring.cursors,
    })
}
