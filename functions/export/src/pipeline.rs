//! The streaming core: reads the store page by page and writes each page as soon as it is encoded, in
//! constant memory, ending the body in a way that tells the client whether it got everything.
//!
//! Two tasks and two bounded channels:
//!
//! ```text
//!  prefetch task ──pages (cap 1)──▶ writer task ──64 KiB chunks (cap 4)──▶ ExportBody ──▶ runtime
//!  (store reads)                    (encode, limits)
//! ```
//!
//! The prefetch task reads page *n + 1* while the writer encodes and sends page *n*, so store latency and
//! transfer time overlap instead of adding up. Both channels are bounded, so a slow client slows the
//! writer, which slows the reads: at any moment the function holds at most about three pages and four
//! chunks, whatever the size of the export. When the body is dropped (the runtime stopped reading), the
//! writer's next send fails and both tasks stop reading the store.
//!
//! # Limits
//!
//! Before sending a page the writer checks two limits, so that a response always ends on a record
//! boundary and on the function's own terms:
//!
//! * **size**: the page would take the body past [`Limits::max_bytes`] (below Lambda's 200 MB cap);
//! * **time**: the invocation deadline minus a margin has passed.
//!
//! Every response sends at least one page, so a client that follows continuations always progresses.
//! When a limit is reached, an NDJSON export ends cleanly with a `next` trailer holding a cursor to the
//! first record not sent; a CSV export, which has no place for one, fails the transfer. A store error
//! mid-stream also fails the transfer. A failed transfer is an [`ExportFailure`] at the end of the body,
//! never a clean end of a shorter file.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use rill_core::{DomainError, Page};
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::Instrument;

use crate::body::ExportBody;
use crate::encode::{CHUNK_BYTES, Continuation, EncodeError, Encoder};

/// Pages read ahead of the one being written.
const PREFETCH_PAGES: usize = 1;
/// Chunks queued between the writer and the body.
const BODY_CHUNKS: usize = 4;
/// Room kept under the size cap for the closing record (a `next` trailer holds a cursor twice).
pub const TRAILER_RESERVE: u64 = 8 * 1024;

/// Reads one kind of record from the store, a page at a time.
#[async_trait]
pub trait PageSource: Send + Sync + 'static {
    type Item: Send + Sync + 'static;

    /// The page after `after` (a position an earlier page returned), or the first page.
    async fn page(&self, after: Option<Vec<u8>>) -> Result<Page<Self::Item>, DomainError>;
}

/// A page and the position it was read from (`None` for the very first page).
#[derive(Debug)]
pub struct FirstPage<T> {
    pub after: Option<Vec<u8>>,
    pub page: Page<T>,
}

/// Reads the first page. The handler does this before answering, so that a store that is down gets a
/// normal 503 instead of a stream that fails at its first byte.
pub async fn first_page<S: PageSource>(
    source: &S,
    after: Option<Vec<u8>>,
) -> Result<FirstPage<S::Item>, DomainError> {
    let page = source.page(after.clone()).await?;
    Ok(FirstPage { after, page })
}

/// When a response must stop.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The most body bytes one response may carry.
    pub max_bytes: u64,
    /// The instant to stop by (deadline minus margin); `None` when there is no deadline.
    pub stop_at: Option<Instant>,
}

/// Builds the continuation of a partial export from the store position of the first record not sent.
pub type ContinuationFn = Box<dyn Fn(&[u8]) -> Continuation + Send + Sync>;

/// Everything a running export needs.
pub struct Export<S: PageSource, E> {
    pub source: Arc<S>,
    pub encoder: E,
    pub first: FirstPage<S::Item>,
    pub limits: Limits,
    /// How to point at the rest of a partial export; `None` when continuing is not offered.
    pub continuation: Option<ContinuationFn>,
}

impl<S: PageSource, E> std::fmt::Debug for Export<S, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Export")
            .field("limits", &self.limits)
            .field("first_page_items", &self.first.page.items.len())
            .finish_non_exhaustive()
    }
}

/// Why a transfer failed. The client sees none of this text (its download simply fails); it is for the
/// logs.
#[derive(Debug, Error)]
pub enum ExportFailure {
    #[error("the store failed after {records} records were sent")]
    Store {
        records: u64,
        #[source]
        source: DomainError,
    },
    #[error(
        "the export reached the response size cap of {max_bytes} bytes after {records} records, and CSV cannot carry a continuation"
    )]
    SizeCap { max_bytes: u64, records: u64 },
    #[error("the invocation deadline is near; stopped after {records} records")]
    Deadline { records: u64 },
    #[error("a record could not be encoded")]
    Encode(#[from] EncodeError),
    #[error("the export stopped without reporting a result")]
    Abandoned,
}

/// How an export that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every record was sent and the body closed.
    Complete { records: u64, bytes: u64 },
    /// A limit was reached; the body ends with a continuation.
    Continued { records: u64, bytes: u64 },
    /// The body was dropped before the end: nobody is reading any more.
    ReaderGone { records: u64, bytes: u64 },
}

/// Starts the export on the current runtime and returns the body that carries it. The tasks run in the
/// current tracing span.
pub fn start<S, E>(export: Export<S, E>) -> ExportBody
where
    S: PageSource,
    E: Encoder<S::Item>,
{
    let (data_tx, data_rx) = mpsc::channel(BODY_CHUNKS);
    let (outcome_tx, outcome_rx) = oneshot::channel();
    let span = tracing::Span::current();
    tokio::spawn(
        async move {
            let started = std::time::Instant::now();
            let result = write(export, data_tx).await;
            let elapsed_ms = started.elapsed().as_millis() as u64;
            match &result {
                Ok(outcome) => tracing::info!(?outcome, elapsed_ms, "export ended"),
                Err(failure) => tracing::error!(
                    error = %rill_http::problem::error_chain(failure),
                    elapsed_ms,
                    "export failed; the transfer will be cut short"
                ),
            }
            let _ = outcome_tx.send(result.map(|_| ()));
        }
        .instrument(span),
    );
    ExportBody::streaming(data_rx, outcome_rx)
}

/// A page the prefetch task read, and where it was read from.
struct Fetched<T> {
    after: Vec<u8>,
    result: Result<Page<T>, DomainError>,
}

async fn prefetch<S: PageSource>(
    source: Arc<S>,
    mut after: Vec<u8>,
    pages: mpsc::Sender<Fetched<S::Item>>,
) {
    loop {
        let result = source.page(Some(after.clone())).await;
        let next = result.as_ref().ok().and_then(|page| page.next.clone());
        if pages.send(Fetched { after, result }).await.is_err() {
            return;
        }
        match next {
            Some(position) => after = position,
            None => return,
        }
    }
}

/// Aborts a task when dropped, so the prefetcher never outlives the writer.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Why a response stops before the end of the export.
#[derive(Debug, Clone, Copy)]
enum Stop {
    Size,
    Time,
}

struct Writer<E> {
    encoder: E,
    data: mpsc::Sender<Bytes>,
    limits: Limits,
    records: u64,
    bytes: u64,
}

/// Whether a send reached the body.
enum Sent {
    Yes,
    ReaderGone,
}

impl<E> Writer<E> {
    async fn send(&mut self, chunk: Bytes) -> Result<Sent, ExportFailure> {
        let len = chunk.len() as u64;
        let send = self.data.send(chunk);
        let result =
            match self.limits.stop_at {
                Some(at) => tokio::time::timeout_at(at, send).await.map_err(|_| {
                    ExportFailure::Deadline {
                        records: self.records,
                    }
                })?,
                None => send.await,
            };
        match result {
            Ok(()) => {
                self.bytes += len;
                Ok(Sent::Yes)
            }
            Err(_) => Ok(Sent::ReaderGone),
        }
    }

    fn time_is_up(&self) -> bool {
        self.limits.stop_at.is_some_and(|at| Instant::now() >= at)
    }

    fn complete(&self) -> Outcome {
        Outcome::Complete {
            records: self.records,
            bytes: self.bytes,
        }
    }

    fn continued(&self) -> Outcome {
        Outcome::Continued {
            records: self.records,
            bytes: self.bytes,
        }
    }

    fn reader_gone(&self) -> Outcome {
        Outcome::ReaderGone {
            records: self.records,
            bytes: self.bytes,
        }
    }
}

/// Encodes a page into chunks of about [`CHUNK_BYTES`].
fn encode_page<T>(encoder: &mut impl Encoder<T>, items: &[T]) -> Result<Vec<Bytes>, EncodeError> {
    let mut chunks = Vec::new();
    for item in items {
        encoder.record(item)?;
        if encoder.buffered() >= CHUNK_BYTES {
            chunks.push(encoder.take()?);
        }
    }
    let rest = encoder.take()?;
    if !rest.is_empty() {
        chunks.push(rest);
    }
    Ok(chunks)
}

async fn write<S, E>(
    export: Export<S, E>,
    data: mpsc::Sender<Bytes>,
) -> Result<Outcome, ExportFailure>
where
    S: PageSource,
    E: Encoder<S::Item>,
{
    let Export {
        source,
        encoder,
        first,
        limits,
        continuation,
    } = export;
    let (pages_tx, mut pages) = mpsc::channel(PREFETCH_PAGES);
    let _prefetch = first.page.next.clone().map(|after| {
        AbortOnDrop(
            tokio::spawn(prefetch(source, after, pages_tx).in_current_span()).abort_handle(),
        )
    });

    let mut writer = Writer {
        encoder,
        data,
        limits,
        records: 0,
        bytes: 0,
    };
    writer.encoder.begin()?;
    let mut pages_sent = 0u64;
    let mut from = first.after;
    let mut page = first.page;
    loop {
        if pages_sent > 0 && writer.time_is_up() {
            return stop_early(&mut writer, from, Stop::Time, continuation.as_ref()).await;
        }
        let chunks = encode_page(&mut writer.encoder, &page.items)?;
        let page_bytes: u64 = chunks.iter().map(|c| c.len() as u64).sum();
        if pages_sent > 0 && writer.bytes + page_bytes + TRAILER_RESERVE > limits.max_bytes {
            return stop_early(&mut writer, from, Stop::Size, continuation.as_ref()).await;
        }
        for chunk in chunks {
            if let Sent::ReaderGone = writer.send(chunk).await? {
                return Ok(writer.reader_gone());
            }
        }
        writer.records += page.items.len() as u64;
        pages_sent += 1;

        let Some(next) = page.next else { break };
        let fetched = match limits.stop_at {
            Some(at) => match tokio::time::timeout_at(at, pages.recv()).await {
                Ok(fetched) => fetched,
                Err(_) => {
                    return stop_early(&mut writer, Some(next), Stop::Time, continuation.as_ref())
                        .await;
                }
            },
            None => pages.recv().await,
        };
        match fetched {
            Some(Fetched {
                after,
                result: Ok(next_page),
            }) => {
                from = Some(after);
                page = next_page;
            }
            Some(Fetched {
                result: Err(source),
                ..
            }) => {
                return Err(ExportFailure::Store {
                    records: writer.records,
                    source,
                });
            }
            // The prefetcher ends only after a last page or a failure, both of which it sends first.
            None => return Err(ExportFailure::Abandoned),
        }
    }
    writer.encoder.end(writer.records)?;
    let tail = writer.encoder.take()?;
    if let Sent::ReaderGone = writer.send(tail).await? {
        return Ok(writer.reader_gone());
    }
    Ok(writer.complete())
}

/// Ends a response before the end of the export: with a continuation when the format and the handler
/// offer one, otherwise by failing the transfer.
async fn stop_early<E: Encoder<T>, T>(
    writer: &mut Writer<E>,
    position: Option<Vec<u8>>,
    stop: Stop,
    continuation: Option<&ContinuationFn>,
) -> Result<Outcome, ExportFailure> {
    if let (Some(build), Some(position)) = (continuation, position.as_deref()) {
        let next = build(position);
        if writer.encoder.continuation(writer.records, &next)? {
            // A trailer that cannot be queued by the stop time fails the transfer like any late chunk.
            let tail = writer.encoder.take()?;
            return Ok(match writer.send(tail).await? {
                Sent::Yes => writer.continued(),
                Sent::ReaderGone => writer.reader_gone(),
            });
        }
    }
    Err(match stop {
        Stop::Size => ExportFailure::SizeCap {
            max_bytes: writer.limits.max_bytes,
            records: writer.records,
        },
        Stop::Time => ExportFailure::Deadline {
            records: writer.records,
        },
    })
}
