//! Where function output and the per-invocation `START` / `END` / `REPORT` lines go.
//!
//! Every line is tagged with its source, the instance label (`UsersFunction#2`), like
//! `docker compose` tags container output, so interleaved logs of concurrent instances stay
//! readable. The sink is a trait so that tests can capture lines and assert on them.

use std::fmt;
use std::io::Write as _;
use std::time::Duration;

/// Receives function log lines.
pub trait LogSink: Send + Sync + fmt::Debug + 'static {
    /// One line (without its newline) from `source`.
    fn line(&self, source: &str, line: &str);
}

/// Writes `source | line` to standard output.
#[derive(Debug, Default, Clone, Copy)]
pub struct StdoutSink;

impl LogSink for StdoutSink {
    fn line(&self, source: &str, line: &str) {
        let mut out = std::io::stdout().lock();
        // A closed stdout (piped into `head`) must not take the gateway down.
        let _ = writeln!(out, "{source} | {line}");
    }
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

/// Peak resident memory (`VmHWM`) of a process in MB, rounded up; `None` where `/proc` is missing.
pub fn max_memory_used_mb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.div_ceil(1024))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn this_process_has_a_peak_memory() {
        let mb = max_memory_used_mb(std::process::id());
        if cfg!(target_os = "linux") {
            assert!(mb.is_some_and(|m| m > 0));
        }
    }
}
