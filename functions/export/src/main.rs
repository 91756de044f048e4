//! The composition root of the export function: read the configuration once, open the store once, and
//! serve streaming responses until Lambda stops the process.

use std::convert::Infallible;
use std::sync::Arc;

use export::truncate::TruncateOnFailure;
use export::{ExportConfig, ExportService};
use lambda_http::{Error, Request, run_with_streaming_response, service_fn};
use rill_http::{StoreConfig, init_tracing, open_store};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let store_config = StoreConfig::from_env()?;
    let export_config = ExportConfig::from_env()?;
    let store = open_store(&store_config).await?;
    tracing::info!(?export_config, "export function ready");
    let service = Arc::new(ExportService::new(
        store,
        store_config.cursor_keys(),
        export_config,
    ));
    run_with_streaming_response(service_fn(move |request: Request| {
        let service = service.clone();
        async move {
            let response = service.handle(request).await;
            // lambda_runtime 1.5 would finish a failed stream as if it were complete; see `truncate`.
            Ok::<_, Infallible>(response.map(TruncateOnFailure::ending_the_process))
        }
    }))
    .await
}
