//! The streaming core on its own: paging, prefetching, bounded memory, limits and failure, with a
//! scripted page source and (for deadlines) Tokio's paused clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use export::ExportBody;
use export::encode::{Continuation, CsvEncoder, Encoder, NdjsonEncoder};
use export::pipeline::{self, ContinuationFn, Export, ExportFailure, Limits, PageSource};
use http_body_util::BodyExt;
use rill_core::{DomainError, NewUser, Page, Timestamp, User};
use serde_json::{Value, json};

/// Pages over a fixed list. A position is the index of the next item, as 8 bytes.
struct ListPages<T> {
    items: Vec<T>,
    page_size: usize,
    /// The page read with this number (0-based, counting every read) fails.
    fail_on_read: Option<usize>,
    delay: Duration,
    reads: AtomicUsize,
}

impl<T> ListPages<T> {
    fn new(items: Vec<T>, page_size: usize) -> Self {
        Self {
            items,
            page_size,
            fail_on_read: None,
            delay: Duration::ZERO,
            reads: AtomicUsize::new(0),
        }
    }

    fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
}

fn position(index: usize) -> Vec<u8> {
    (index as u64).to_be_bytes().to_vec()
}

fn index(position: &[u8]) -> usize {
    u64::from_be_bytes(position.try_into().unwrap()) as usize
}

#[async_trait]
impl<T: Clone + Send + Sync + 'static> PageSource for ListPages<T> {
    type Item = T;

    async fn page(&self, after: Option<Vec<u8>>) -> Result<Page<T>, DomainError> {
        let read = self.reads.fetch_add(1, Ordering::SeqCst);
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        if self.fail_on_read == Some(read) {
            return Err(DomainError::unavailable("disk I/O error"));
        }
        let start = after.as_deref().map_or(0, index);
        let end = (start + self.page_size).min(self.items.len());
        Ok(Page {
            items: self.items[start..end].to_vec(),
            next: (end < self.items.len()).then(|| position(end)),
        })
    }
}

fn unlimited() -> Limits {
    Limits {
        max_bytes: u64::MAX,
        stop_at: None,
    }
}

/// A continuation whose cursor is the decimal index of the first record not sent.
fn by_index() -> Option<ContinuationFn> {
    Some(Box::new(|position: &[u8]| {
        let cursor = index(position).to_string();
        Continuation {
            next: format!("?cursor={cursor}"),
            cursor,
        }
    }))
}

async fn start<T, E>(
    source: Arc<ListPages<T>>,
    encoder: E,
    after: Option<Vec<u8>>,
    limits: Limits,
    continuation: Option<ContinuationFn>,
) -> ExportBody
where
    T: Clone + Send + Sync + 'static,
    E: Encoder<T>,
{
    let first = pipeline::first_page(source.as_ref(), after).await.unwrap();
    pipeline::start(Export {
        source,
        encoder,
        first,
        limits,
        continuation,
    })
}

/// Every byte of a body, and how it ended.
async fn read_all(mut body: ExportBody) -> (Vec<u8>, Result<(), ExportFailure>) {
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => bytes.extend_from_slice(&frame.into_data().unwrap()),
            Err(failure) => return (bytes, Err(failure)),
        }
    }
    (bytes, Ok(()))
}

fn json_lines(bytes: &[u8]) -> Vec<Value> {
    std::str::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn numbers(count: u64) -> Vec<u64> {
    (0..count).collect()
}

fn users(count: usize) -> Vec<User> {
    (0..count)
        .map(|i| {
            NewUser::parse(
                &format!("user{i}@example.com"),
                &format!("User, number {i}"),
            )
            .unwrap()
            .into_user(Timestamp::from_millis(i as i64))
        })
        .collect()
}

#[tokio::test]
async fn given_many_pages_when_exported_then_every_record_arrives_once_in_order_with_the_end_trailer()
 {
    let source = Arc::new(ListPages::new(numbers(1_000), 7));
    let body = start(
        source.clone(),
        NdjsonEncoder::new(),
        None,
        unlimited(),
        by_index(),
    )
    .await;
    let (bytes, end) = read_all(body).await;
    end.unwrap();
    let lines = json_lines(&bytes);
    assert_eq!(lines.len(), 1_001);
    for (i, line) in lines[..1_000].iter().enumerate() {
        assert_eq!(line, &json!(i));
    }
    assert_eq!(lines[1_000], json!({"type": "end", "count": 1000}));
    assert_eq!(source.reads(), 1_000usize.div_ceil(7));
}

#[tokio::test]
async fn given_an_empty_store_when_exported_then_the_body_is_just_the_end_trailer_or_the_header() {
    let source = Arc::new(ListPages::<u64>::new(Vec::new(), 10));
    let body = start(source, NdjsonEncoder::new(), None, unlimited(), by_index()).await;
    assert_eq!(read_all(body).await.0, b"{\"type\":\"end\",\"count\":0}\n");

    let source = Arc::new(ListPages::<User>::new(Vec::new(), 10));
    let body = start(source, CsvEncoder::new(), None, unlimited(), None).await;
    assert_eq!(
        read_all(body).await.0,
        b"id,email,name,created_at,updated_at,version\r\n"
    );
}

#[tokio::test]
async fn given_a_reader_that_stalls_when_exporting_then_only_a_bounded_number_of_pages_is_read_ahead()
 {
    // Pages of ~100 KiB each, so each one fills the body channel on its own.
    let big: Vec<String> = (0..2_000).map(|i| format!("{i:0>1000}")).collect();
    let source = Arc::new(ListPages::new(big, 100));
    let mut body = start(
        source.clone(),
        NdjsonEncoder::new(),
        None,
        unlimited(),
        by_index(),
    )
    .await;
    let first = body.frame().await.unwrap().unwrap();
    assert!(!first.into_data().unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(200)).await;
    // At most: the pages in the 4-chunk body channel (two of these), the page the writer holds, the one
    // queued for it and the one being read. The other fifteen wait for the reader.
    let read_while_stalled = source.reads();
    assert!(
        read_while_stalled <= 5,
        "{read_while_stalled} of 20 pages were read while nobody was reading the body"
    );
    let (rest, end) = read_all(body).await;
    end.unwrap();
    assert!(rest.ends_with(b"{\"type\":\"end\",\"count\":2000}\n"));
    assert_eq!(source.reads(), 20);
}

#[tokio::test]
async fn given_a_reader_that_goes_away_when_exporting_then_the_store_is_no_longer_read() {
    let big: Vec<String> = (0..5_000).map(|i| format!("{i:0>1000}")).collect();
    let source = Arc::new(ListPages::new(big, 100));
    let mut body = start(
        source.clone(),
        NdjsonEncoder::new(),
        None,
        unlimited(),
        by_index(),
    )
    .await;
    body.frame().await.unwrap().unwrap();
    drop(body);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let reads = source.reads();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        source.reads(),
        reads,
        "reads went on after the body was dropped"
    );
    assert!(reads <= 5, "{reads} of 50 pages were read");
}

#[tokio::test]
async fn given_a_store_failure_mid_export_then_the_body_ends_with_an_error_and_no_trailer() {
    let mut source = ListPages::new(numbers(100), 10);
    source.fail_on_read = Some(4);
    let source = Arc::new(source);
    let body = start(source, NdjsonEncoder::new(), None, unlimited(), by_index()).await;
    let (bytes, end) = read_all(body).await;
    assert!(matches!(end, Err(ExportFailure::Store { .. })), "{end:?}");
    let text = String::from_utf8(bytes).unwrap();
    assert!(!text.contains("\"type\""), "a trailer was written: {text}");
}

#[tokio::test]
async fn given_an_ndjson_export_larger_than_the_cap_then_it_stops_on_a_page_boundary_with_a_continuation_that_resumes_exactly()
 {
    let all = numbers(500);
    let max_bytes = 9 * 1024;
    let mut received = Vec::new();
    let mut after = None;
    let mut responses = 0;
    loop {
        responses += 1;
        let source = Arc::new(ListPages::new(all.clone(), 50));
        let limits = Limits {
            max_bytes,
            stop_at: None,
        };
        let body = start(
            source,
            NdjsonEncoder::new(),
            after.clone(),
            limits,
            by_index(),
        )
        .await;
        let (bytes, end) = read_all(body).await;
        end.unwrap();
        assert!(bytes.len() as u64 <= max_bytes);
        let mut lines = json_lines(&bytes);
        let trailer = lines.pop().unwrap();
        let count = trailer["count"].as_u64().unwrap();
        assert_eq!(count, lines.len() as u64);
        received.extend(lines.iter().map(|v| v.as_u64().unwrap()));
        match trailer["type"].as_str().unwrap() {
            "end" => break,
            "next" => {
                let next: usize = trailer["cursor"].as_str().unwrap().parse().unwrap();
                assert_eq!(next, received.len());
                assert_eq!(trailer["next"], format!("?cursor={next}"));
                after = Some(position(next));
            }
            other => panic!("unexpected trailer {other}"),
        }
    }
    assert_eq!(received, all);
    assert!(responses > 1, "the cap was never reached");
}

#[tokio::test]
async fn given_a_csv_export_larger_than_the_cap_then_the_transfer_fails_instead_of_ending_short() {
    let source = Arc::new(ListPages::new(users(300), 20));
    let limits = Limits {
        max_bytes: 16 * 1024,
        stop_at: None,
    };
    let body = start(source, CsvEncoder::new(), None, limits, by_index()).await;
    let (bytes, end) = read_all(body).await;
    assert!(matches!(end, Err(ExportFailure::SizeCap { .. })), "{end:?}");
    assert!(bytes.len() <= 16 * 1024);
}

#[tokio::test]
async fn given_a_cap_smaller_than_one_page_then_each_response_still_carries_a_page() {
    let source = Arc::new(ListPages::new(numbers(100), 100));
    let limits = Limits {
        max_bytes: 10,
        stop_at: None,
    };
    let body = start(source, NdjsonEncoder::new(), None, limits, by_index()).await;
    let (bytes, end) = read_all(body).await;
    end.unwrap();
    let lines = json_lines(&bytes);
    assert_eq!(lines.len(), 101);
    assert_eq!(lines[100], json!({"type": "end", "count": 100}));
}

#[tokio::test(start_paused = true)]
async fn given_a_slow_store_and_a_near_deadline_then_ndjson_ends_with_a_continuation_before_it() {
    let mut source = ListPages::new(numbers(100), 10);
    source.delay = Duration::from_secs(1);
    let source = Arc::new(source);
    let limits = Limits {
        max_bytes: u64::MAX,
        stop_at: Some(tokio::time::Instant::now() + Duration::from_millis(3_500)),
    };
    let body = start(source, NdjsonEncoder::new(), None, limits, by_index()).await;
    let (bytes, end) = read_all(body).await;
    end.unwrap();
    let lines = json_lines(&bytes);
    let trailer = lines.last().unwrap();
    assert_eq!(trailer["type"], "next");
    let sent = trailer["count"].as_u64().unwrap();
    assert!(
        (20..=40).contains(&sent),
        "{sent} records before the deadline"
    );
    assert_eq!(trailer["cursor"], sent.to_string());
}

#[tokio::test(start_paused = true)]
async fn given_a_slow_store_and_a_near_deadline_then_csv_fails_the_transfer() {
    let mut source = ListPages::new(users(100), 10);
    source.delay = Duration::from_secs(1);
    let source = Arc::new(source);
    let limits = Limits {
        max_bytes: u64::MAX,
        stop_at: Some(tokio::time::Instant::now() + Duration::from_millis(3_500)),
    };
    let body = start(source, CsvEncoder::new(), None, limits, by_index()).await;
    let (_, end) = read_all(body).await;
    assert!(
        matches!(end, Err(ExportFailure::Deadline { .. })),
        "{end:?}"
    );
}

#[tokio::test]
async fn chunks_are_about_64_kib_so_the_first_bytes_leave_before_a_large_page_is_done() {
    let big: Vec<String> = (0..1_000).map(|i| format!("{i:0>1000}")).collect();
    let source = Arc::new(ListPages::new(big, 1_000));
    let mut body = start(source, NdjsonEncoder::new(), None, unlimited(), by_index()).await;
    let mut sizes = Vec::new();
    while let Some(frame) = body.frame().await {
        let data: Bytes = frame.unwrap().into_data().unwrap();
        sizes.push(data.len());
    }
    let (last, full) = sizes.split_last().unwrap();
    assert!(full.len() >= 14, "{sizes:?}");
    for size in &full[..full.len() - 1] {
        assert!((64 * 1024..64 * 1024 + 1_100).contains(size), "{sizes:?}");
    }
    assert!(*last < 64 * 1024);
}
