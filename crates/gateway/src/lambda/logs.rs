//! Where function output and the per-invocation `START` / `END` / `REPORT` lines go.
//!
//! Every line is tagged with its source, the instance label (`UsersFunction#2`), like
//! `docker compose` tags container output, so interleaved logs of concurrent instances stay
//! readable. The sink is a trait so that tests can capture lines and assert on them.
//!
//! [`StdoutSink`] gathers lines for a few milliseconds and writes them with one `write`: a warm
//! invocation has at least four lines (`START`, the function's own, `END`, `REPORT`), and written one
//! by one, each was a system call that also woke whatever reads the gateway's output, on a machine
//! where that reader, the client, the gateway and the functions share the cores (see
//! docs/benchmark-gaps.md). A person reading the terminal cannot tell 5 ms apart.
//!
//! [`PeakMemory`] reads an instance's peak memory for `REPORT` through a `/proc` handle opened once.

use std::fmt;
use std::fs::File;
use std::io::Write as _;
use std::os::unix::fs::FileExt as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Receives function log lines.
pub trait LogSink: Send + Sync + fmt::Debug + 'static {
    /// One line (without its newline) from `source`.
    fn line(&self, source: &str, line: &str);

    /// Writes out any line still held back (the gateway calls it when it stops).
    fn flush(&self) {}
}

/// How long a line may wait before it is written.
const FLUSH_DELAY: Duration = Duration::from_millis(5);
/// Lines held back at most, in bytes, before they are written at once.
const FLUSH_AT: usize = 64 * 1024;

/// Writes `source | line` to standard output, a few milliseconds' worth of lines at a time.
#[derive(Debug, Default, Clone)]
pub struct StdoutSink {
    pending: Arc<PendingLines>,
}

#[derive(Debug)]
struct PendingLines {
    state: Mutex<Pending>,
    /// Where the lines go: standard output, except in tests.
    out: fn(&[u8]),
}

impl Default for PendingLines {
    fn default() -> Self {
        Self {
            state: Mutex::default(),
            out: write_stdout,
        }
    }
}

#[derive(Debug, Default)]
struct Pending {
    text: Vec<u8>,
    /// A flush is scheduled for the text held back.
    scheduled: bool,
}

impl LogSink for StdoutSink {
    fn line(&self, source: &str, line: &str) {
        let mut pending = self.pending.state.lock().expect("log buffer lock");
        let _ = writeln!(pending.text, "{source} | {line}");
        if pending.scheduled && pending.text.len() < FLUSH_AT {
            return;
        }
        // Outside a runtime (or when the buffer is full) there is no one to flush later: write now.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) if pending.text.len() < FLUSH_AT => {
                pending.scheduled = true;
                let lines = self.pending.clone();
                runtime.spawn(async move {
                    tokio::time::sleep(FLUSH_DELAY).await;
                    lines.flush();
                });
            }
            _ => write_out(&mut pending, self.pending.out),
        }
    }

    fn flush(&self) {
        self.pending.flush();
    }
}

impl PendingLines {
    fn flush(&self) {
        write_out(&mut self.state.lock().expect("log buffer lock"), self.out);
    }
}

impl Drop for PendingLines {
    fn drop(&mut self) {
        let out = self.out;
        if let Ok(pending) = self.state.get_mut() {
            write_out(pending, out);
        }
    }
}

fn write_out(pending: &mut Pending, out: fn(&[u8])) {
    pending.scheduled = false;
    if !pending.text.is_empty() {
        out(&pending.text);
        pending.text.clear();
    }
}

fn write_stdout(text: &[u8]) {
    // One write for all the lines (standard output writes a whole-lines buffer at once). A closed
    // stdout (piped into `head`) must not take the gateway down.
    let _ = std::io::stdout().lock().write_all(text);
}

/// The peak resident memory (`VmHWM`) of one process, as `REPORT`'s `Max Memory Used` shows it.
///
/// `/proc/<pid>/status` is opened once and read again from its start each time, so a read is one
/// system call. Once the process is gone the last value read stands.
#[derive(Debug)]
pub struct PeakMemory {
    status: Option<File>,
    /// The highest value read so far, in MB (0: none yet).
    peak_mb: AtomicU64,
}

impl PeakMemory {
    /// Opens the status file of `pid` (none where `/proc` is missing).
    pub fn of(pid: u32) -> Self {
        Self {
            status: File::open(format!("/proc/{pid}/status")).ok(),
            peak_mb: AtomicU64::new(0),
        }
    }

    /// Reads the peak now (while the process runs) and returns the highest value known, in MB,
    /// rounded up; `None` when it was never readable.
    pub fn read(&self) -> Option<u64> {
        if let Some(current) = self.status.as_ref().and_then(read_vm_hwm_mb) {
            self.peak_mb.fetch_max(current, Ordering::Relaxed);
        }
        Some(self.peak_mb.load(Ordering::Relaxed)).filter(|mb| *mb > 0)
    }
}

fn read_vm_hwm_mb(status: &File) -> Option<u64> {
    let mut buffer = [0u8; 4096];
    let read = status.read_at(&mut buffer, 0).ok()?;
    let text = std::str::from_utf8(&buffer[..read]).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.div_ceil(1024))
}

/// The numbers of one `REPORT` line.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    /// The invocation's request id.
    pub request_id: &'a str,
    /// From dispatch to the end of the response.
    pub duration: Duration,
    /// The function's `MemorySize`.
    pub memory_size_mb: u32,
    /// Peak resident memory of the instance so far, when known.
    pub max_memory_used_mb: Option<u64>,
    /// Set on the first invocation of an instance (a cold start).
    pub init_duration: Option<Duration>,
    /// `timeout` or `error` when the invocation did not end normally.
    pub status: Option<&'a str>,
}

impl fmt::Display for Report<'_> {
    /// Formats like Lambda's CloudWatch line, including its tabs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = |d: Duration| d.as_secs_f64() * 1000.0;
        // Billing rounds up to the next millisecond; since 2025 the init phase is billed too.
        let billed = (millis(self.duration) + self.init_duration.map_or(0.0, millis)).ceil() as u64;
        write!(
            f,
            "REPORT RequestId: {}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {}",
            self.request_id,
            millis(self.duration),
            billed.max(1),
            self.memory_size_mb,
            self.max_memory_used_mb
                .map_or_else(|| "? MB".to_owned(), |m| format!("{m} MB")),
        )?;
        if let Some(init) = self.init_duration {
            write!(f, "\tInit Duration: {:.2} ms", millis(init))?;
        }
        if let Some(status) = self.status {
            write!(f, "\tStatus: {status}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A log of the writes of one test's sink, one entry per write, and the function that fills it.
    macro_rules! recording {
        ($writes:ident, $record:ident) => {
            static $writes: Mutex<Vec<String>> = Mutex::new(Vec::new());
            fn $record(text: &[u8]) {
                $writes
                    .lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(text).into_owned());
            }
        };
    }
    recording!(BATCHED, record_batched);
    recording!(IMMEDIATE, record_immediate);
    recording!(FULL, record_full);
    recording!(FLUSHED, record_flushed);
    recording!(DROPPED, record_dropped);

    fn sink_into(out: fn(&[u8])) -> StdoutSink {
        StdoutSink {
            pending: Arc::new(PendingLines {
                state: Mutex::default(),
                out,
            }),
        }
    }

    #[tokio::test]
    async fn lines_close_together_go_out_in_one_write_in_order() {
        // Given a sink inside the runtime
        let sink = sink_into(record_batched);
        // When an invocation's lines arrive
        sink.line("F#1", "START RequestId: r-1 Version: $LATEST");
        sink.line("F#1", "INFO request handled");
        sink.line("F#1", "END RequestId: r-1");
        // Then none is written yet, and the scheduled flush writes them all at once, in order
        assert!(BATCHED.lock().unwrap().is_empty());
        let waited = std::time::Instant::now();
        while BATCHED.lock().unwrap().is_empty() && waited.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(
            *BATCHED.lock().unwrap(),
            [
                "F#1 | START RequestId: r-1 Version: $LATEST\nF#1 | INFO request handled\nF#1 | END RequestId: r-1\n"
            ]
        );
        // And a later line schedules a new write
        sink.line("F#1", "REPORT RequestId: r-1");
        sink.flush();
        assert_eq!(BATCHED.lock().unwrap().len(), 2);
        assert_eq!(BATCHED.lock().unwrap()[1], "F#1 | REPORT RequestId: r-1\n");
    }

    #[test]
    fn outside_a_runtime_each_line_is_written_at_once() {
        let sink = sink_into(record_immediate);
        sink.line("F#1", "one");
        sink.line("F#1", "two");
        assert_eq!(*IMMEDIATE.lock().unwrap(), ["F#1 | one\n", "F#1 | two\n"]);
    }

    #[tokio::test]
    async fn a_full_buffer_is_written_without_waiting() {
        let sink = sink_into(record_full);
        let long = "x".repeat(FLUSH_AT);
        sink.line("F#1", "first");
        sink.line("F#1", &long);
        let writes = FULL.lock().unwrap();
        assert_eq!(writes.len(), 1);
        assert!(writes[0].starts_with("F#1 | first\nF#1 | xxx"));
    }

    #[tokio::test]
    async fn lines_held_back_are_written_when_the_sink_is_flushed_or_dropped() {
        let sink = sink_into(record_flushed);
        sink.line("F#1", "flushed");
        sink.flush();
        assert_eq!(*FLUSHED.lock().unwrap(), ["F#1 | flushed\n"]);
        // Lines still held when the last handle on them goes (the runtime dropped the scheduled
        // flush) are written then.
        let other = sink_into(record_dropped);
        let pending = Arc::into_inner(other.pending).expect("no flush scheduled yet");
        pending.state.lock().unwrap().text = b"F#1 | dropped\n".to_vec();
        drop(pending);
        assert_eq!(*DROPPED.lock().unwrap(), ["F#1 | dropped\n"]);
    }

    #[test]
    fn a_cold_start_report_has_lambdas_fields_in_order() {
        let report = Report {
            request_id: "r-1",
            duration: Duration::from_micros(12_345),
            memory_size_mb: 128,
            max_memory_used_mb: Some(20),
            init_duration: Some(Duration::from_micros(45_670)),
            status: None,
        };
        assert_eq!(
            report.to_string(),
            "REPORT RequestId: r-1\tDuration: 12.35 ms\tBilled Duration: 59 ms\tMemory Size: 128 MB\t\
             Max Memory Used: 20 MB\tInit Duration: 45.67 ms"
        );
    }

    #[test]
    fn a_warm_timed_out_report_has_a_status_and_no_init() {
        let report = Report {
            request_id: "r-2",
            duration: Duration::from_millis(1000),
            memory_size_mb: 256,
            max_memory_used_mb: None,
            init_duration: None,
            status: Some("timeout"),
        };
        assert_eq!(
            report.to_string(),
            "REPORT RequestId: r-2\tDuration: 1000.00 ms\tBilled Duration: 1000 ms\tMemory Size: 256 MB\t\
             Max Memory Used: ? MB\tStatus: timeout"
        );
    }

    #[test]
    fn this_process_has_a_peak_memory_on_every_read() {
        // Given the peak memory of this (running) process
        let peak = PeakMemory::of(std::process::id());
        if cfg!(target_os = "linux") {
            // When its handle is read more than once
            let status = peak.status.as_ref().expect("/proc is mounted");
            let first = read_vm_hwm_mb(status);
            let second = read_vm_hwm_mb(status);
            // Then each read sees the whole file again, and the peak never goes down
            assert!(first.is_some_and(|m| m > 0), "{first:?}");
            assert!(second >= first, "{second:?} < {first:?}");
            assert!(peak.read() >= second);
        }
    }

    #[test]
    fn a_process_that_is_gone_keeps_its_last_peak() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("sleep runs");
        let peak = PeakMemory::of(child.id());
        let running = peak.read();
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(peak.read(), running);
        if cfg!(target_os = "linux") {
            assert!(running.is_some_and(|m| m > 0), "{running:?}");
        }
    }

    #[test]
    fn an_unknown_process_has_no_peak() {
        assert_eq!(PeakMemory::of(u32::MAX).read(), None);
    }
}
