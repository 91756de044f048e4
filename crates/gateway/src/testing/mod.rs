//! Test harness for end-to-end tests through the local gateway, shared by every crate that tests
//! the API over HTTP (behind the `testing` feature): starts a real gateway in-process on a random
//! port with a temporary data directory, running real function binaries, and gives tests a client
//! for it.
//!
//! - [`spawn_gateway`] / [`real_gateway`]: the workspace's `template.yaml` with the real `users`,
//!   `orders` and `export` binaries (built once per test run, or taken from `RILL_BIN_DIR`).
//! - [`GatewayBuilder::new`]: any template and binaries directory (the gateway's own tests use it
//!   for their fixture function).
//!
//! Requests go through [`ApiClient`], which signs them with the documented local SigV4 credentials
//! when [`SIGN_REQUESTS`] is on: the one place to switch signing. [`raw_http`] reads responses
//! off the socket, for what ordinary clients hide.

pub mod raw_http;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use tempfile::TempDir;
use tokio::sync::oneshot;

use crate::lambda::LogSink;
use crate::sigv4::LocalCredentials;
use crate::{Gateway, GatewayHandle, GatewayOptions, Settings, config};

/// Whether [`ApiClient`] signs requests (SigV4, local credentials). Signing is harmless for routes
/// without IAM authorization, so it is on for every suite.
pub const SIGN_REQUESTS: bool = true;

/// The gateway crate's directory.
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The workspace root.
pub fn workspace_dir() -> PathBuf {
    crate_dir()
        .join("../..")
        .canonicalize()
        .expect("the workspace root exists")
}

/// The cargo profile directory the running test was built into (`target/debug`): test binaries
/// live in its `deps/` folder.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary has a path");
    let deps = exe.parent().expect("binaries live in a directory");
    let dir = if deps.file_name().is_some_and(|n| n == "deps") {
        deps.parent().expect("deps/ has a parent")
    } else {
        deps
    };
    dir.to_path_buf()
}

/// The directory holding the `users`, `orders` and `export` binaries: `RILL_BIN_DIR` when set,
/// otherwise they are built once per test run with the same cargo, profile and target directory
/// as this test.
pub fn function_bin_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os("RILL_BIN_DIR") {
            return PathBuf::from(dir);
        }
        let profile_dir = profile_dir();
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let target_dir = profile_dir
            .parent()
            .expect("a profile directory has a parent")
            .to_path_buf();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = std::process::Command::new(cargo);
        command
            .args([
                "build",
                "--quiet",
                "-p",
                "users",
                "-p",
                "orders",
                "-p",
                "export",
                // The functions build only DynamoDB by default (what is deployed); the tests
                // run them on SQLite too.
                "--features",
                "users/sqlite,orders/sqlite,export/sqlite",
            ])
            .env("CARGO_TARGET_DIR", &target_dir)
            .current_dir(workspace_dir());
        if release {
            command.arg("--release");
        }
        let status = command.status().expect("cargo runs");
        assert!(status.success(), "building the function binaries failed");
        profile_dir
    })
    .clone()
}

/// Function log lines captured in memory, with the time each arrived.
#[derive(Debug, Default)]
pub struct CapturedLogs {
    lines: Mutex<Vec<(Instant, String, String)>>,
}

impl LogSink for CapturedLogs {
    fn line(&self, source: &str, line: &str) {
        self.lines
            .lock()
            .unwrap()
            .push((Instant::now(), source.to_owned(), line.to_owned()));
    }
}

impl CapturedLogs {
    /// Every line as `source | line`.
    pub fn lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .map(|(_, source, line)| format!("{source} | {line}"))
            .collect()
    }

    /// Lines containing `needle`.
    pub fn matching(&self, needle: &str) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|l| l.contains(needle))
            .collect()
    }

    /// When the first line containing `needle` arrived.
    pub fn arrival_of(&self, needle: &str) -> Option<Instant> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .find(|(_, _, line)| line.contains(needle))
            .map(|(at, _, _)| *at)
    }

    /// Waits up to `timeout` until `count` lines contain `needle`.
    pub async fn wait_for_count(&self, needle: &str, count: usize, timeout: Duration) {
        let start = Instant::now();
        while self.matching(needle).len() < count {
            if start.elapsed() > timeout {
                panic!(
                    "fewer than {count} lines containing {needle:?}; lines:\n{}",
                    self.lines().join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits up to `timeout` for a line containing `needle`; panics with every line otherwise.
    pub async fn wait_for(&self, needle: &str, timeout: Duration) -> String {
        let start = Instant::now();
        loop {
            if let Some(line) = self.matching(needle).into_iter().next() {
                return line;
            }
            if start.elapsed() > timeout {
                panic!(
                    "no log line containing {needle:?} within {timeout:?}; lines:\n{}",
                    self.lines().join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Builds a gateway for a test.
#[derive(Debug)]
pub struct GatewayBuilder {
    settings: Settings,
    env_vars: BTreeMap<String, BTreeMap<String, String>>,
    data_dir: TempDir,
}

/// The real API: the workspace template, real function binaries, SQLite in a temp directory.
pub async fn spawn_gateway() -> TestGateway {
    real_gateway().spawn().await
}

/// A builder for the real API.
pub fn real_gateway() -> GatewayBuilder {
    GatewayBuilder::new(workspace_dir().join("template.yaml"), function_bin_dir())
}

impl GatewayBuilder {
    /// A gateway serving `template` with the function binaries in `bin_dir`, on a free port, with a
    /// fresh temporary data directory.
    pub fn new(template: PathBuf, bin_dir: PathBuf) -> Self {
        let data_dir = tempfile::tempdir().expect("a temporary directory");
        let mut settings = Settings::new(template, bin_dir, data_dir.path());
        settings.port = 0;
        settings.queue_timeout = Duration::from_secs(5);
        Self {
            settings,
            env_vars: BTreeMap::new(),
            data_dir,
        }
    }

    /// Changes the settings.
    pub fn settings(mut self, change: impl FnOnce(&mut Settings)) -> Self {
        change(&mut self.settings);
        self
    }

    /// Sets an environment variable for one function (through an `--env-vars` file).
    pub fn env_var(mut self, function: &str, name: &str, value: &str) -> Self {
        self.env_vars
            .entry(function.to_owned())
            .or_default()
            .insert(name.to_owned(), value.to_owned());
        self
    }

    /// The temporary data directory.
    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// Starts the gateway.
    pub async fn spawn(mut self) -> TestGateway {
        if !self.env_vars.is_empty() {
            let path = self.data_dir.path().join("env-vars.json");
            std::fs::write(&path, serde_json::to_vec(&self.env_vars).unwrap()).unwrap();
            self.settings.env_vars = Some(path);
        }
        let config = config::load(&self.settings).unwrap_or_else(|e| panic!("{e}"));
        let logs = Arc::new(CapturedLogs::default());
        let options = GatewayOptions {
            logs: logs.clone(),
            ..GatewayOptions::for_settings(&self.settings)
        };
        let gateway = Gateway::bind(config, &self.settings, options)
            .await
            .expect("the gateway binds");
        let addr = gateway.local_addr();
        let url = gateway.url();
        let handle = gateway.handle();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(gateway.serve(async {
            let _ = stopped.await;
        }));
        TestGateway {
            client: ApiClient::new(&url),
            url,
            addr,
            logs,
            handle,
            stop: Some(stop),
            task: Some(task),
            data_dir: self.data_dir,
        }
    }
}

/// A running gateway.
#[derive(Debug)]
pub struct TestGateway {
    /// `http://127.0.0.1:PORT/{stage}`.
    pub url: String,
    /// The listener's address.
    pub addr: SocketAddr,
    /// Captured function logs (START/END/REPORT and function output).
    pub logs: Arc<CapturedLogs>,
    /// Access to the running gateway's instances.
    pub handle: GatewayHandle,
    /// A client for the API.
    pub client: ApiClient,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    data_dir: TempDir,
}

impl TestGateway {
    /// Stops the gateway and waits until every function process is reaped.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("the gateway task ends")
                .expect("the gateway shuts down cleanly");
        }
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// `host:port` for raw HTTP clients.
    pub fn authority(&self) -> String {
        self.addr.to_string()
    }
}

/// An HTTP client for the gateway, signing requests when [`SIGN_REQUESTS`] is on.
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    sign: bool,
    credentials: LocalCredentials,
}

impl ApiClient {
    /// A client for the stage at `base` (`http://127.0.0.1:PORT/stage`).
    pub fn new(base: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .expect("a client"),
            base: base.trim_end_matches('/').to_owned(),
            sign: SIGN_REQUESTS,
            credentials: LocalCredentials::default(),
        }
    }

    /// The same client, signing with `credentials` instead of the documented local ones.
    pub fn with_credentials(&self, credentials: LocalCredentials) -> Self {
        Self {
            sign: true,
            credentials,
            ..self.clone()
        }
    }

    /// The same client without signing.
    pub fn unsigned(&self) -> Self {
        Self {
            sign: false,
            ..self.clone()
        }
    }

    /// The full URL of `path` (which starts with `/` and may carry a query).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request builder for `path`.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path))
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.send(self.request(reqwest::Method::GET, path)).await
    }

    /// `method path` with a JSON body.
    pub async fn json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        self.send(
            self.request(method, path)
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
        .await
    }

    /// The exact bytes of a body-less request for `path`, signed when signing is on, for
    /// [`raw_http::send`] (which shows what ordinary clients hide, such as a missing terminating
    /// chunk).
    pub fn raw_request(&self, method: reqwest::Method, path: &str) -> Vec<u8> {
        let mut request = self.request(method, path).build().expect("a valid request");
        if self.sign {
            sign(&mut request, &self.credentials);
        }
        let url = request.url();
        let target = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let mut bytes = format!("{} {target} HTTP/1.1\r\n", request.method()).into_bytes();
        if !request.headers().contains_key("host") {
            let host = format!(
                "{}:{}",
                url.host_str().unwrap_or("localhost"),
                url.port().unwrap_or(80)
            );
            bytes.extend_from_slice(format!("host: {host}\r\n").as_bytes());
        }
        for (name, value) in request.headers() {
            bytes.extend_from_slice(name.as_str().as_bytes());
            bytes.extend_from_slice(b": ");
            bytes.extend_from_slice(value.as_bytes());
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"\r\n");
        bytes
    }

    /// Sends a request, signing it first when signing is on.
    pub async fn send(&self, builder: reqwest::RequestBuilder) -> reqwest::Response {
        let mut request = builder.build().expect("a valid request");
        if self.sign {
            sign(&mut request, &self.credentials);
        }
        self.http
            .execute(request)
            .await
            .expect("the gateway answers")
    }
}

/// Signs `request` with SigV4 for `execute-api` with `credentials`.
fn sign(request: &mut reqwest::Request, credentials: &LocalCredentials) {
    use aws_credential_types::Credentials;
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;

    let host = {
        let url = request.url();
        match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or("localhost")),
            None => url.host_str().unwrap_or("localhost").to_owned(),
        }
    };
    request
        .headers_mut()
        .insert("host", host.parse().expect("a host header"));
    let body = request
        .body()
        .and_then(|b| b.as_bytes())
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    let identity = Credentials::new(
        &credentials.access_key_id,
        &credentials.secret_access_key,
        credentials.session_token.clone(),
        None,
        "rill-tests",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("execute-api")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .expect("complete signing parameters")
        .into();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let signable = SignableRequest::new(
        request.method().as_str(),
        request.url().as_str(),
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(&body),
    )
    .expect("a signable request");
    let (instructions, _signature) = sign(signable, &params)
        .expect("signing succeeds")
        .into_parts();
    for (name, value) in instructions.headers() {
        request.headers_mut().insert(
            reqwest::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
}

/// Epoch milliseconds now.
pub fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Whether process `pid` is gone (or a zombie nobody will run again).
pub fn process_is_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state == "Z" || state == "X"),
    }
}

/// Waits until every pid is gone; returns those still alive after `timeout`.
pub async fn wait_until_gone(pids: &[u32], timeout: Duration) -> Vec<u32> {
    let start = Instant::now();
    loop {
        let alive: Vec<u32> = pids
            .iter()
            .copied()
            .filter(|p| !process_is_gone(*p))
            .collect();
        if alive.is_empty() || start.elapsed() > timeout {
            return alive;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
