//! The servers under test, as child processes: the local gateway (release build, run exactly as
//! `rill-gateway` runs for a developer) and cargo-lambda's emulator with function processes
//! attached to it.
//!
//! Each is stopped when dropped: SIGTERM first (the gateway then stops and reaps its function
//! instances itself), SIGKILL if it has not exited within a few seconds. Only processes started here
//! are ever signalled, by their own pid.

use std::fs::File;
use std::io::{BufRead as _, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use rustix::process::{Pid, Signal, kill_process};

/// How long a stopped process gets to exit before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// A free loopback port (bound, read and released; the caller binds it again right away).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("no free port")?;
    Ok(listener.local_addr()?.port())
}

/// Sends `signal` to a child started here, unless it has already exited.
fn signal(child: &mut Child, signal: Signal) {
    if matches!(child.try_wait(), Ok(None))
        && let Some(pid) = Pid::from_raw(child.id() as i32)
    {
        let _ = kill_process(pid, signal);
    }
}

/// SIGTERM, a grace period, then SIGKILL; always reaps.
fn stop_child(child: &mut Child) {
    signal(child, Signal::TERM);
    let deadline = Instant::now() + STOP_GRACE;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    signal(child, Signal::KILL);
    let _ = child.wait();
}

/// The numbers of one `REPORT` line the gateway printed for a function instance.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportLine {
    /// The instance label, e.g. `UsersFunction#1`.
    pub instance: String,
    pub duration_ms: f64,
    pub max_memory_used_mb: Option<u64>,
    /// Present on an instance's first invocation (a cold start).
    pub init_duration_ms: Option<f64>,
}

impl ReportLine {
    /// Parses `UsersFunction#1 | REPORT RequestId: ...\tDuration: 1.00 ms\t...`.
    pub fn parse(line: &str) -> Option<Self> {
        let (instance, rest) = line.split_once(" | ")?;
        let rest = rest.strip_prefix("REPORT ")?;
        let mut report = Self {
            instance: instance.trim().to_owned(),
            duration_ms: f64::NAN,
            max_memory_used_mb: None,
            init_duration_ms: None,
        };
        for field in rest.split('\t') {
            let Some((name, value)) = field.split_once(": ") else {
                continue;
            };
            let number = value.split_whitespace().next().unwrap_or("");
            match name {
                "Duration" => report.duration_ms = number.parse().ok()?,
                "Max Memory Used" => report.max_memory_used_mb = number.parse().ok(),
                "Init Duration" => report.init_duration_ms = number.parse().ok(),
                _ => {}
            }
        }
        Some(report)
    }
}

/// What the gateway's stdout reader has seen.
#[derive(Debug, Default)]
struct Seen {
    url: Option<String>,
    checks: Option<String>,
    reports: Vec<ReportLine>,
    lines: u64,
    closed: bool,
}

#[derive(Debug, Default)]
struct Watch {
    seen: Mutex<Seen>,
    changed: Condvar,
}

impl Watch {
    fn wait_for<T>(
        &self,
        timeout: Duration,
        mut found: impl FnMut(&Seen) -> Option<T>,
    ) -> Option<T> {
        let deadline = Instant::now() + timeout;
        let mut seen = self.seen.lock().expect("watch lock");
        loop {
            if let Some(value) = found(&seen) {
                return Some(value);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || seen.closed {
                return None;
            }
            seen = self.changed.wait_timeout(seen, left).expect("watch lock").0;
        }
    }
}

/// Which store the gateway's functions use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Sqlite,
    Dynamodb,
}

impl Store {
    /// The `--store` value.
    pub fn flag(self) -> &'static str {
        match self {
            Store::Sqlite => "sqlite",
            Store::Dynamodb => "dynamodb",
        }
    }
}

/// How to start a gateway.
#[derive(Debug, Clone)]
pub struct GatewaySpec {
    /// The `rill-gateway` binary.
    pub binary: PathBuf,
    pub template: PathBuf,
    /// Where the function binaries are.
    pub bin_dir: PathBuf,
    /// The SQLite data directory (`rill.db` inside).
    pub data_dir: PathBuf,
    pub store: Store,
    /// Instances per function.
    pub concurrency: u32,
    /// 0 picks a free port (read back from the banner).
    pub port: u16,
    /// Where the gateway's own log (stderr) goes.
    pub log: PathBuf,
    /// Working directory (the workspace root).
    pub cwd: PathBuf,
}

/// A running `rill-gateway`.
#[derive(Debug)]
pub struct GatewayProcess {
    child: Child,
    /// `http://127.0.0.1:PORT/dev`.
    pub base_url: String,
    watch: Arc<Watch>,
}

/// A cursor key for DynamoDB runs (required there; the local default covers SQLite).
const BENCH_CURSOR_KEY: &str = "rill-bench-cursor-key-0123456789";

impl GatewayProcess {
    /// Spawns the gateway without waiting for it.
    pub fn spawn(spec: &GatewaySpec) -> anyhow::Result<Self> {
        let log = File::options()
            .create(true)
            .append(true)
            .open(&spec.log)
            .with_context(|| format!("cannot open {}", spec.log.display()))?;
        let mut command = Command::new(&spec.binary);
        command
            .arg("--template")
            .arg(&spec.template)
            .arg("--bin-dir")
            .arg(&spec.bin_dir)
            .arg("--data-dir")
            .arg(&spec.data_dir)
            .args(["--store", spec.store.flag()])
            .args(["--concurrency", &spec.concurrency.to_string()])
            .args(["--port", &spec.port.to_string()])
            .args(["--cursor-key", BENCH_CURSOR_KEY])
            .current_dir(&spec.cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {}", spec.binary.display()))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let watch = Arc::new(Watch::default());
        let reader = watch.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let mut seen = reader.seen.lock().expect("watch lock");
                seen.lines += 1;
                if seen.url.is_none()
                    && let Some(url) = line.trim().strip_prefix("URL")
                {
                    seen.url = Some(url.trim().to_owned());
                } else if seen.checks.is_none()
                    && let Some(checks) = line.trim().strip_prefix("Checks")
                {
                    seen.checks = Some(checks.trim().to_owned());
                } else if let Some(report) = ReportLine::parse(&line) {
                    seen.reports.push(report);
                } else {
                    continue;
                }
                reader.changed.notify_all();
            }
            reader.seen.lock().expect("watch lock").closed = true;
            reader.changed.notify_all();
        });
        Ok(Self {
            child,
            base_url: String::new(),
            watch,
        })
    }

    /// Spawns the gateway and waits until it has printed its URL (it is then listening).
    pub fn start(spec: &GatewaySpec) -> anyhow::Result<Self> {
        let mut gateway = Self::spawn(spec)?;
        let url = gateway
            .watch
            .wait_for(Duration::from_secs(30), |seen| seen.url.clone());
        match url {
            Some(url) => gateway.base_url = url,
            None => bail!(
                "rill-gateway did not start; see {} (template {})",
                spec.log.display(),
                spec.template.display()
            ),
        }
        Ok(gateway)
    }

    /// The `n`th REPORT line (0-based) of instances whose label starts with `function`, waiting up
    /// to `timeout` for it.
    pub fn report(&self, function: &str, n: usize, timeout: Duration) -> Option<ReportLine> {
        let prefix = format!("{function}#");
        self.watch.wait_for(timeout, |seen| {
            seen.reports
                .iter()
                .filter(|r| r.instance.starts_with(&prefix))
                .nth(n)
                .cloned()
        })
    }

    /// The banner's `Checks` line: the request guards in use (SigV4, validation).
    pub fn checks(&self) -> String {
        self.watch
            .seen
            .lock()
            .expect("watch lock")
            .checks
            .clone()
            .unwrap_or_else(|| "unknown".to_owned())
    }

    /// The gateway's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Lines the gateway has printed so far.
    pub fn lines(&self) -> u64 {
        self.watch.seen.lock().expect("watch lock").lines
    }

    /// Stops the gateway and every function instance it runs.
    pub fn stop(mut self) {
        stop_child(&mut self.child);
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        stop_child(&mut self.child);
    }
}

/// cargo-lambda's emulator (`cargo lambda watch --only-lambda-apis`) with function processes
/// attached, serving function URL (payload 2.0) invocations at `base_url`.
#[derive(Debug)]
pub struct CargoLambda {
    emulator: Child,
    functions: Vec<Child>,
    port: u16,
    /// `http://127.0.0.1:PORT/lambda-url/_`: append the request path.
    pub base_url: String,
}

/// How to run functions under cargo-lambda.
#[derive(Debug, Clone)]
pub struct CargoLambdaSpec {
    /// The `cargo-lambda` executable (from the pip package).
    pub cargo_lambda: PathBuf,
    /// The workspace root (cargo-lambda reads its metadata).
    pub cwd: PathBuf,
    /// The function binary, the same file the gateway runs.
    pub function: PathBuf,
    /// Extra environment for the function processes.
    pub env: Vec<(String, String)>,
    /// How many function processes take invocations.
    pub instances: usize,
    /// Where all their output goes.
    pub log: PathBuf,
}

impl CargoLambda {
    /// Starts the emulator and waits until it accepts connections.
    pub fn start_emulator(spec: &CargoLambdaSpec) -> anyhow::Result<Self> {
        let port = free_port()?;
        let log = File::options().create(true).append(true).open(&spec.log)?;
        let emulator = Command::new(&spec.cargo_lambda)
            .args(["lambda", "watch", "--only-lambda-apis", "--quiet"])
            .args(["--invoke-address", "127.0.0.1"])
            .args(["--invoke-port", &port.to_string()])
            .current_dir(&spec.cwd)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", spec.cargo_lambda.display()))?;
        let mut peer = Self {
            emulator,
            functions: Vec::new(),
            port,
            base_url: format!("http://127.0.0.1:{port}/lambda-url/_"),
        };
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
            if Instant::now() > deadline || !matches!(peer.emulator.try_wait(), Ok(None)) {
                bail!(
                    "cargo lambda watch did not start; see {}",
                    spec.log.display()
                );
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        Ok(peer)
    }

    /// Starts the function processes, attached to the emulator's Runtime API.
    pub fn attach_functions(&mut self, spec: &CargoLambdaSpec) -> anyhow::Result<()> {
        for _ in 0..spec.instances {
            let log = File::options().create(true).append(true).open(&spec.log)?;
            let child = Command::new(&spec.function)
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                // What `cargo lambda watch --only-lambda-apis` tells a function to set.
                .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
                .env(
                    "AWS_LAMBDA_RUNTIME_API",
                    format!("http://127.0.0.1:{}/.rt", self.port),
                )
                .env("AWS_LAMBDA_FUNCTION_NAME", "_")
                .env("AWS_REGION", "us-east-1")
                .envs(spec.env.iter().map(|(k, v)| (k, v)))
                .current_dir(&spec.cwd)
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()
                .with_context(|| format!("cannot start {}", spec.function.display()))?;
            self.functions.push(child);
        }
        Ok(())
    }

    /// The emulator and `spec.instances` functions, started.
    pub fn start(spec: &CargoLambdaSpec) -> anyhow::Result<Self> {
        let mut peer = Self::start_emulator(spec)?;
        peer.attach_functions(spec)?;
        Ok(peer)
    }

    /// Stops the functions and the emulator.
    pub fn stop(mut self) {
        self.stop_all();
    }

    fn stop_all(&mut self) {
        for function in &mut self.functions {
            stop_child(function);
        }
        self.functions.clear();
        stop_child(&mut self.emulator);
    }
}

impl Drop for CargoLambda {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// The peak resident memory (`VmHWM`) of this process, in KiB.
pub fn own_peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `VmHWM` of process `pid` in KiB, while it runs.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The children of `parent` whose command name is `name`.
pub fn children_named(parent: u32, name: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            // /proc/PID/stat: `pid (comm) state ppid ...`; comm may hold spaces, so split at the last ')'.
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    let (head, tail) = stat.rsplit_once(')')?;
                    let comm = head.split_once('(')?.1;
                    let ppid: u32 = tail.split_whitespace().nth(1)?.parse().ok()?;
                    Some(comm == name && ppid == parent)
                })
                .unwrap_or(false)
        })
        .collect()
}

/// Samples the peak RSS of a process until stopped, so the peak is known even if the process exits
/// before anyone asks (an export that is cut short ends its process on purpose).
#[derive(Debug)]
pub struct PeakSampler {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<u64>,
}

impl PeakSampler {
    /// Polls `VmHWM` of `pid` every `interval`.
    pub fn start(pid: u32, interval: Duration) -> Self {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut peak = 0;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some(kib) = peak_rss_kib(pid) {
                    peak = peak.max(kib);
                }
                std::thread::sleep(interval);
            }
            peak_rss_kib(pid).map_or(peak, |kib| peak.max(kib))
        });
        Self { stop, thread }
    }

    /// Stops sampling; the highest `VmHWM` seen, in KiB (0 if the process was never seen).
    pub fn finish(self) -> u64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap_or(0)
    }
}

/// `path` made absolute against the current directory.
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cold_start_report_line_gives_its_instance_duration_memory_and_init() {
        let line = "UsersFunction#3 | REPORT RequestId: r-1\tDuration: 12.35 ms\tBilled Duration: 59 ms\t\
                    Memory Size: 128 MB\tMax Memory Used: 20 MB\tInit Duration: 45.67 ms";
        assert_eq!(
            ReportLine::parse(line),
            Some(ReportLine {
                instance: "UsersFunction#3".to_owned(),
                duration_ms: 12.35,
                max_memory_used_mb: Some(20),
                init_duration_ms: Some(45.67),
            })
        );
    }

    #[test]
    fn a_warm_report_has_no_init_and_may_lack_memory() {
        let line = "ExportFunction#1 | REPORT RequestId: r-2\tDuration: 1000.00 ms\tBilled Duration: 1000 ms\t\
                    Memory Size: 512 MB\tMax Memory Used: ? MB\tStatus: timeout";
        let report = ReportLine::parse(line).unwrap();
        assert_eq!(report.init_duration_ms, None);
        assert_eq!(report.max_memory_used_mb, None);
        assert_eq!(report.duration_ms, 1000.0);
    }

    #[test]
    fn this_process_is_its_parents_child_and_has_a_peak() {
        let me = std::process::id();
        let parent = rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get() as u32);
        let comm = std::fs::read_to_string("/proc/self/comm").unwrap();
        assert!(children_named(parent, comm.trim()).contains(&me));
        let sampler = PeakSampler::start(me, Duration::from_millis(1));
        assert!(sampler.finish() > 0);
    }

    #[test]
    fn other_lines_are_not_reports() {
        assert_eq!(
            ReportLine::parse("UsersFunction#1 | START RequestId: r-1"),
            None
        );
        assert_eq!(ReportLine::parse("REPORT without a source"), None);
    }
}
