//! One function's child process: spawning it with Lambda's environment, forwarding its output, and
//! making sure it (and anything it started) dies with its instance.
//!
//! Each child leads its own process group, so a kill reaches grandchildren too, and a terminal's
//! Ctrl-C reaches only the gateway, which then stops every instance itself. The process is reaped by
//! a waiter task; [`FunctionProcess`] kills the group when dropped, and tokio's `kill_on_drop` is a
//! second line of defence, so no path leaves an orphan behind.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::process::{Pid, Signal, kill_process_group};
use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::watch;

use super::logs::LogSink;
use crate::config::FunctionSpec;

/// Variables passed from the gateway's environment to functions (real Lambda has none of these, but
/// they are how a developer turns on logs or points the SDK at DynamoDB Local).
const PASSED_THROUGH: [&str; 10] = [
    "PATH",
    "RUST_LOG",
    "RUST_BACKTRACE",
    "AWS_LAMBDA_LOG_LEVEL",
    "AWS_LAMBDA_LOG_FORMAT",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_EC2_METADATA_DISABLED",
    "NO_COLOR",
    "TMPDIR",
];
/// Credentials passed through when the gateway has them; otherwise functions get placeholders, as
/// the AWS SDK refuses to start without any.
const CREDENTIALS: [&str; 3] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];
const PLACEHOLDER_CREDENTIALS: [(&str, &str); 3] = [
    ("AWS_ACCESS_KEY_ID", "ASIALOCALFUNCTION000"),
    (
        "AWS_SECRET_ACCESS_KEY",
        "rill-local-function-secret-not-a-secret",
    ),
    ("AWS_SESSION_TOKEN", "rill-local-function-session"),
];

/// What the child is told about where it runs.
#[derive(Debug)]
pub struct Launch<'a> {
    /// The function.
    pub spec: &'a FunctionSpec,
    /// Its Runtime API listener.
    pub runtime_api: SocketAddr,
    /// Instance label for log lines (`UsersFunction#2`).
    pub label: &'a str,
    /// Region for `AWS_REGION`.
    pub region: &'a str,
    /// Working directory (the template's directory, where relative paths make sense).
    pub working_dir: &'a Path,
    /// Log stream name for `AWS_LAMBDA_LOG_STREAM_NAME`.
    pub log_stream: &'a str,
}

/// A running function process.
#[derive(Debug)]
pub struct FunctionProcess {
    pid: u32,
    exit: watch::Receiver<Option<ExitStatus>>,
    killed: Arc<AtomicBool>,
}

impl FunctionProcess {
    /// Spawns the function's binary with Lambda's environment and forwards its output to `logs`.
    pub fn spawn(launch: &Launch<'_>, logs: Arc<dyn LogSink>) -> std::io::Result<Self> {
        let spec = launch.spec;
        let executable = spec.executable.as_deref().ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("function {} names no binary", spec.logical_id),
            )
        })?;
        let mut command = Command::new(executable);
        command
            .env_clear()
            .envs(environment(launch))
            .current_dir(launch.working_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0);
        let mut child = command.spawn().map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot start {}: {e}", executable.display()),
            )
        })?;
        let pid = child.id().expect("a just-spawned child has a pid");
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(forward_lines(stdout, launch.label.to_owned(), logs.clone()));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(forward_lines(stderr, launch.label.to_owned(), logs));
        }
        let (exit_tx, exit) = watch::channel(None);
        let killed = Arc::new(AtomicBool::new(false));
        tokio::spawn(async move {
            let status = child.wait().await;
            // The leader is gone; take down whatever it left in its group.
            kill_group(pid);
            let status =
                status.unwrap_or_else(|_| std::os::unix::process::ExitStatusExt::from_raw(-1));
            let _ = exit_tx.send(Some(status));
        });
        Ok(Self { pid, exit, killed })
    }

    /// The process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Whether the process has exited (and been reaped).
    pub fn has_exited(&self) -> bool {
        self.exit.borrow().is_some()
    }

    /// Whether [`FunctionProcess::kill`] was called.
    pub fn was_killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }

    /// Sends SIGKILL to the process group. Does nothing once the process has been reaped, so a
    /// recycled pid is never hit.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        if !self.has_exited() {
            kill_group(self.pid);
        }
    }

    /// Waits until the process has exited and been reaped.
    pub async fn exited(&self) -> ExitStatus {
        let mut exit = self.exit.clone();
        loop {
            if let Some(status) = *exit.borrow_and_update() {
                return status;
            }
            if exit.changed().await.is_err() {
                // The waiter task is gone (runtime shutting down): report a kill.
                return std::os::unix::process::ExitStatusExt::from_raw(9);
            }
        }
    }

    /// Kills the process group and waits until the process is reaped.
    pub async fn kill_and_wait(&self) -> ExitStatus {
        self.kill();
        self.exited().await
    }
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        if !self.has_exited() {
            kill_group(self.pid);
        }
    }
}

fn kill_group(pid: u32) {
    if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        // ESRCH (already gone) is the common, harmless case.
        let _ = kill_process_group(pid, Signal::KILL);
    }
}

/// The child's environment: passed-through variables, then the function's configuration, then the
/// variables Lambda reserves (which a template cannot override in AWS either).
fn environment(launch: &Launch<'_>) -> BTreeMap<String, String> {
    let spec = launch.spec;
    let mut env = BTreeMap::new();
    for name in PASSED_THROUGH {
        if let Ok(value) = std::env::var(name) {
            env.insert(name.to_owned(), value);
        }
    }
    env.entry("PATH".to_owned())
        .or_insert_with(|| "/usr/local/bin:/usr/bin:/bin".to_owned());
    if CREDENTIALS[..2]
        .iter()
        .all(|name| std::env::var(name).is_ok())
    {
        for name in CREDENTIALS {
            if let Ok(value) = std::env::var(name) {
                env.insert(name.to_owned(), value);
            }
        }
    } else {
        for (name, value) in PLACEHOLDER_CREDENTIALS {
            env.insert(name.to_owned(), value.to_owned());
        }
    }
    env.extend(spec.environment.clone());
    let task_root = spec
        .executable
        .as_deref()
        .and_then(Path::parent)
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let reserved = [
        ("AWS_LAMBDA_RUNTIME_API", launch.runtime_api.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", spec.name.clone()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            spec.memory_mb.to_string(),
        ),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", spec.name),
        ),
        ("AWS_LAMBDA_LOG_STREAM_NAME", launch.log_stream.to_owned()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
        ("AWS_REGION", launch.region.to_owned()),
        ("AWS_DEFAULT_REGION", launch.region.to_owned()),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_rust".to_owned()),
        ("LAMBDA_TASK_ROOT", task_root.clone()),
        ("LAMBDA_RUNTIME_DIR", task_root),
        ("_HANDLER", "bootstrap".to_owned()),
        ("TZ", ":UTC".to_owned()),
        ("LANG", "en_US.UTF-8".to_owned()),
    ];
    env.extend(reserved.into_iter().map(|(k, v)| (k.to_owned(), v)));
    env
}

async fn forward_lines(stream: impl AsyncRead + Unpin, label: String, logs: Arc<dyn LogSink>) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                logs.line(&label, text.trim_end_matches(['\n', '\r']));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::time::Duration;

    fn spec() -> FunctionSpec {
        FunctionSpec {
            logical_id: "UsersFunction".to_owned(),
            name: "UsersFunction".to_owned(),
            arn: "arn:aws:lambda:us-east-1:123456789012:function:UsersFunction".to_owned(),
            binary: Some("users".to_owned()),
            executable: Some(PathBuf::from("/opt/bin/users")),
            timeout: Duration::from_secs(3),
            memory_mb: 256,
            reserved_concurrency: None,
            environment: BTreeMap::from([
                ("RILL_STORE".to_owned(), "sqlite".to_owned()),
                ("AWS_REGION".to_owned(), "eu-west-1".to_owned()),
            ]),
        }
    }

    #[test]
    fn the_child_gets_lambdas_reserved_variables_over_the_templates() {
        let spec = spec();
        let env = environment(&Launch {
            spec: &spec,
            runtime_api: "127.0.0.1:4567".parse().unwrap(),
            label: "UsersFunction#1",
            region: "us-east-1",
            working_dir: Path::new("."),
            log_stream: "2026/01/01/[$LATEST]abc",
        });
        assert_eq!(env["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:4567");
        assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "UsersFunction");
        assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
        assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
        assert_eq!(
            env["AWS_LAMBDA_LOG_GROUP_NAME"],
            "/aws/lambda/UsersFunction"
        );
        assert_eq!(env["AWS_REGION"], "us-east-1");
        assert_eq!(env["RILL_STORE"], "sqlite");
        assert_eq!(env["LAMBDA_TASK_ROOT"], "/opt/bin");
        assert!(env.contains_key("AWS_ACCESS_KEY_ID"));
        assert!(env.contains_key("PATH"));
    }
}
