//! In-process entry points for benchmarks: the export pipeline without Lambda or HTTP.
//!
//! [`encode_all_orders`] runs exactly what the function runs for `GET /exports/orders` (prefetching
//! reads, 64 KiB chunks, bounded channels, the same encoders) and drains the body, counting bytes. Its
//! throughput is the floor that the deployed or locally served export is compared with: whatever the
//! function loses against it is spent in the runtime, the gateway and the network. Its peak memory is
//! the pipeline's own, and must not grow with the number of orders.
//!
//! ```no_run
//! # async fn run(store: std::sync::Arc<rill_store_sqlite::SqliteStore>) {
//! let bytes = export::floor::encode_all_orders_csv(store).await.unwrap();
//! # }
//! ```

use std::sync::Arc;

use http_body::Body;
use rill_core::{OrderFilter, OrderReader, UserReader};

use crate::config::DEFAULT_PAGE_SIZE;
use crate::encode::{orders_encoder, users_encoder};
use crate::format::Format;
use crate::pipeline::{self, Export, ExportFailure, Limits};
use crate::sources::{OrderPages, UserPages};

/// Bytes of every order in the store encoded as CSV, with the function's default page size.
pub async fn encode_all_orders_csv<S>(store: Arc<S>) -> Result<u64, ExportFailure>
where
    S: OrderReader + ?Sized + 'static,
{
    encode_all_orders(store, Format::Csv, DEFAULT_PAGE_SIZE).await
}

/// Bytes of every order in the store encoded in `format`, read `page_size` orders at a time.
pub async fn encode_all_orders<S>(
    store: Arc<S>,
    format: Format,
    page_size: usize,
) -> Result<u64, ExportFailure>
where
    S: OrderReader + ?Sized + 'static,
{
    let source = Arc::new(OrderPages {
        store,
        filter: OrderFilter::default(),
        page_size,
    });
    let first = pipeline::first_page(source.as_ref(), None)
        .await
        .map_err(|source| ExportFailure::Store { records: 0, source })?;
    drain(pipeline::start(Export {
        source,
        encoder: orders_encoder(format),
        first,
        limits: unlimited(),
        continuation: None,
    }))
    .await
}

/// Bytes of every user in the store encoded in `format`.
pub async fn encode_all_users<S>(
    store: Arc<S>,
    format: Format,
    page_size: usize,
) -> Result<u64, ExportFailure>
where
    S: UserReader + ?Sized + 'static,
{
    let source = Arc::new(UserPages { store, page_size });
    let first = pipeline::first_page(source.as_ref(), None)
        .await
        .map_err(|source| ExportFailure::Store { records: 0, source })?;
    drain(pipeline::start(Export {
        source,
        encoder: users_encoder(format),
        first,
        limits: unlimited(),
        continuation: None,
    }))
    .await
}

fn unlimited() -> Limits {
    Limits {
        max_bytes: u64::MAX,
        stop_at: None,
    }
}

async fn drain(mut body: crate::body::ExportBody) -> Result<u64, ExportFailure> {
    let mut bytes = 0u64;
    while let Some(frame) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
    {
        if let Ok(data) = frame?.into_data() {
            bytes += data.len() as u64;
        }
    }
    Ok(bytes)
}
