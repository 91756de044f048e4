//! The export function: `GET /exports/orders` and `GET /exports/users`, streamed as CSV or NDJSON
//! through API Gateway REST response streaming (`lambda_http::run_with_streaming_response`).
//!
//! # Shape
//!
//! ```text
//! main.rs ─▶ rill-entry ─▶ handler (params, Accept, cursor, first page: 400/406/503 before streaming)
//!              └─▶ pipeline (prefetch task ─pages─▶ writer task ─64 KiB chunks─▶ ExportBody)
//!                     └─▶ encode (CSV via the csv crate, NDJSON via serde_json)
//!          ExportBody ─▶ truncate::TruncateOnFailure ─▶ lambda_runtime ─▶ Runtime API
//! ```
//!
//! * [`routes`] are its part of the API; [`handler`] translates HTTP, matching them exhaustively on
//!   the REST resource path, never on `uri().path()`; [`config`] is what it builds once per process.
//!   These are the files every function has.
//! * [`params`] and [`format`] check every parameter and negotiate the format before the first byte.
//! * [`pipeline`] pages through the store with one page prefetched, in constant memory, and applies
//!   the size and time limits.
//! * [`encode`] writes the formats: CSV per RFC 4180 with formula-injection defusing, NDJSON with a
//!   closing trailer record.
//! * [`body`] carries a stream that ends either cleanly or with an error, never ambiguously.
//! * [`truncate`] turns that error into an unfinished response at the Runtime API, which is the only
//!   way a failed stream can reach the client as a failed transfer under lambda_runtime 1.5.
//! * `floor` (with the `floor` feature, which only crates/bench enables) runs the same pipeline in
//!   process, for benchmarks.
//!
//! # Completeness, as a client sees it
//!
//! | what happened | CSV | NDJSON |
//! |---|---|---|
//! | every record sent | body ends normally | last line `{"type":"end","count":N}` |
//! | size cap or time limit reached | transfer fails (no terminating chunk; `curl` exit 18) | last line `{"type":"next",...}` with a cursor, body ends normally |
//! | store failure mid-stream | transfer fails | transfer fails |
//! | bad request, store down at start | 4xx/503 problem+json, nothing streamed | same |
//!
//! A CSV download that completes is therefore the whole export; an NDJSON body is whole exactly when
//! its last line is the `end` trailer. `docs/export.md` has the same in prose for API users.

pub mod body;
pub mod config;
pub mod encode;
#[cfg(feature = "floor")]
pub mod floor;
pub mod format;
pub mod handler;
pub mod params;
pub mod pipeline;
pub mod routes;
pub mod sources;
pub mod truncate;

use std::convert::Infallible;

use lambda_http::{Request, Response};
use rill_http::Routes;

pub use body::ExportBody;
pub use config::{Deps, ExportConfig};
pub use handler::ExportService;
pub use pipeline::ExportFailure;
pub use routes::Route;
use truncate::TruncateOnFailure;

/// The routes this function serves, `(method, resource path)`, as declared in `openapi/api.yaml`.
pub fn routes() -> &'static [rill_http::Route] {
    Route::TABLE
}

/// Handles one API Gateway request with a streamed response. Every failure before the first byte
/// is an HTTP response; one after it ends the process, so the client sees a failed transfer (see
/// [`truncate`]: lambda_runtime 1.5 would otherwise finish a failed stream as if it were complete).
pub async fn handler(
    deps: &Deps,
    request: Request,
) -> Result<Response<TruncateOnFailure<ExportBody>>, Infallible> {
    let response = deps.handle(request).await;
    Ok(response.map(TruncateOnFailure::ending_the_process))
}
