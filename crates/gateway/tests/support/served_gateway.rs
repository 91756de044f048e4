//! The `rill-gateway` binary serving on a free port, with its output collected: for tests of
//! what only the command does (its flags, its signals, `--watch`).

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process};

use super::raw_http::{self, RawResponse};
use super::{fixture_template, serve_command};

/// How long [`ServedGateway::wait_for`] waits for a line.
const LINE_TIMEOUT: Duration = Duration::from_secs(10);

/// The `rill-gateway` binary serving a template, with its output collected. Stopped (SIGTERM)
/// when dropped.
pub struct ServedGateway {
    child: Child,
    authority: String,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    _data: tempfile::TempDir,
}

/// Collects the lines of `pipe`; sends the authority of the `Listening on` line.
fn collect(
    pipe: impl std::io::Read + Send + 'static,
    lines: Arc<Mutex<Vec<String>>>,
    listening: Option<std::sync::mpsc::Sender<String>>,
) {
    std::thread::spawn(move || {
        let mut listening = listening;
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("Listening on ")
                && let Some(sender) = listening.take()
            {
                let url = url.split_whitespace().next().unwrap_or_default();
                let authority = url.trim_start_matches("http://").split('/').next();
                let _ = sender.send(authority.unwrap_or_default().to_owned());
            }
            lines.lock().unwrap().push(line);
        }
    });
}

impl ServedGateway {
    /// The fixture template, with `flags` added.
    pub fn fixture(flags: &[&str]) -> Self {
        Self::start(&fixture_template(), flags)
    }

    /// `template` (with the fixture function binaries), with `flags` added.
    pub fn start(template: &Path, flags: &[&str]) -> Self {
        let data = tempfile::tempdir().unwrap();
        let mut child = serve_command(template, data.path())
            .args(flags)
            .env("RILL_GATEWAY_LOG", "rill_gateway=info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the gateway binary starts");
        let (stdout, stderr) = (Arc::default(), Arc::default());
        let (sender, receiver) = std::sync::mpsc::channel();
        collect(
            child.stdout.take().unwrap(),
            Arc::clone(&stdout),
            Some(sender),
        );
        collect(child.stderr.take().unwrap(), Arc::clone(&stderr), None);
        let authority = receiver
            .recv_timeout(Duration::from_secs(20))
            .expect("the gateway prints its URL");
        Self {
            child,
            authority,
            stdout,
            stderr,
            _data: data,
        }
    }

    /// `GET /test{target}` (the fixture's stage).
    pub async fn get(&self, target: &str) -> RawResponse {
        raw_http::get(
            &self.authority,
            &format!("/test{target}"),
            Duration::from_secs(60),
        )
        .await
    }

    /// The gateway's log (stderr) so far.
    pub fn log(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// Waits for a line containing `needle` in the gateway's log (stderr) or the functions'
    /// output (stdout).
    pub async fn wait_for(&self, needle: &str) -> String {
        self.wait_for_count(needle, 1).await
    }

    /// Waits until `count` lines of the log or the output contain `needle`; returns the last.
    pub async fn wait_for_count(&self, needle: &str, count: usize) -> String {
        let start = Instant::now();
        loop {
            let found: Vec<String> = [&self.stderr, &self.stdout]
                .iter()
                .flat_map(|lines| lines.lock().unwrap().clone())
                .filter(|l| l.contains(needle))
                .collect();
            if found.len() >= count {
                return found[count - 1].clone();
            }
            assert!(
                start.elapsed() < LINE_TIMEOUT,
                "fewer than {count} lines containing {needle:?}; log:\n{}\noutput:\n{}",
                self.log(),
                self.stdout.lock().unwrap().join("\n"),
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for ServedGateway {
    fn drop(&mut self) {
        // SIGTERM: the gateway stops its function processes before it exits.
        if let Some(pid) = Pid::from_raw(self.child.id() as i32) {
            let _ = kill_process(pid, Signal::TERM);
        }
        let _ = self.child.wait();
    }
}
