//! Turning records into the bytes of an export body.
//!
//! An [`Encoder`] appends records to an internal buffer and hands the bytes out in chunks whenever the
//! streaming pipeline asks ([`Encoder::take`]). The pipeline takes a chunk whenever the buffer passes
//! [`CHUNK_BYTES`] and at the end of every store page, so memory stays bounded by one page however large
//! the export is. The encoders know nothing about stores, HTTP or limits: the same code serves the
//! function and the in-process benchmark floor ([`crate::floor`]).
//!
//! How an export ends is part of its format: an NDJSON body ends with a trailer record, a CSV body simply
//! ends (its completeness is the completeness of the transfer, see the crate docs).

mod csv;
mod ndjson;

pub use self::csv::{CsvEncoder, ORDER_COLUMNS, USER_COLUMNS, defuse};
pub use self::ndjson::NdjsonEncoder;

use bytes::Bytes;
use rill_core::{Order, User};
use thiserror::Error;

use crate::format::Format;

/// The size of the chunks an export body is sent in: large enough that per-chunk overhead (a channel
/// hop, an HTTP chunk header) is noise, small enough that the first bytes leave quickly.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// Where a partial export continues: an opaque cursor, and a relative URI reference (a query only, so it
/// resolves against whatever URL the client used, stage and custom domain included) that fetches the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Continuation {
    pub cursor: String,
    pub next: String,
}

/// A record could not be encoded. Writing into memory cannot fail for the types here, so this exists to
/// carry the libraries' error types rather than to be expected.
#[derive(Debug, Error)]
pub enum EncodeError {
    #[error("could not write JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Writes records of type `T` in one format.
pub trait Encoder<T>: Send + 'static {
    /// Starts the body: the CSV header row; nothing for NDJSON.
    fn begin(&mut self) -> Result<(), EncodeError>;

    /// Appends one record (an order may become several CSV rows).
    fn record(&mut self, item: &T) -> Result<(), EncodeError>;

    /// Ends a complete export of `count` records.
    fn end(&mut self, count: u64) -> Result<(), EncodeError>;

    /// Ends a partial export of `count` records with the way to fetch the rest, and returns `true`; or
    /// returns `false` without writing anything when the format has no place for it (CSV).
    fn continuation(&mut self, count: u64, next: &Continuation) -> Result<bool, EncodeError>;

    /// Bytes appended and not yet taken (CSV may hold a few KiB more inside its writer).
    fn buffered(&self) -> usize;

    /// Takes every byte appended so far.
    fn take(&mut self) -> Result<Bytes, EncodeError>;
}

/// The encoder for orders in `format`.
pub fn orders_encoder(format: Format) -> Box<dyn Encoder<Order>> {
    match format {
        Format::Csv => Box::new(CsvEncoder::new()),
        Format::Ndjson => Box::new(NdjsonEncoder::new()),
    }
}

/// The encoder for users in `format`.
pub fn users_encoder(format: Format) -> Box<dyn Encoder<User>> {
    match format {
        Format::Csv => Box::new(CsvEncoder::new()),
        Format::Ndjson => Box::new(NdjsonEncoder::new()),
    }
}

impl<T, E: Encoder<T> + ?Sized> Encoder<T> for Box<E> {
    fn begin(&mut self) -> Result<(), EncodeError> {
        (**self).begin()
    }
    fn record(&mut self, item: &T) -> Result<(), EncodeError> {
        (**self).record(item)
    }
    fn end(&mut self, count: u64) -> Result<(), EncodeError> {
        (**self).end(count)
    }
    fn continuation(&mut self, count: u64, next: &Continuation) -> Result<bool, EncodeError> {
        (**self).continuation(count, next)
    }
    fn buffered(&self) -> usize {
        (**self).buffered()
    }
    fn take(&mut self) -> Result<Bytes, EncodeError> {
        (**self).take()
    }
}
