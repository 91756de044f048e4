//! The gateway's own settings: everything that is local and not in the template (where to listen,
//! where the function binaries are, which store the functions use, overrides).
//!
//! `cli` fills this from flags; tests build it directly. Keeping it a plain struct means the
//! template reader and the server never see clap.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use crate::credentials::LocalCredentials;

/// Where the functions keep their data locally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// The embedded SQLite store: `RILL_STORE=sqlite`, `RILL_SQLITE_PATH=<data dir>/rill.db`.
    Sqlite,
    /// DynamoDB (DynamoDB Local when `AWS_ENDPOINT_URL` points at it): `RILL_STORE=dynamodb`, table
    /// names from the template.
    Dynamodb,
}

impl StoreKind {
    /// The value of `RILL_STORE`.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::Sqlite => "sqlite",
            StoreKind::Dynamodb => "dynamodb",
        }
    }
}

/// Default number of instances per function that may run at once.
pub const DEFAULT_CONCURRENCY: u32 = 4;
/// Default time a request waits for a free instance before it is throttled (429).
pub const DEFAULT_QUEUE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default port, the one `sam local start-api` uses.
pub const DEFAULT_PORT: u16 = 3000;
/// The Region functions are told they run in.
pub const DEFAULT_REGION: &str = "us-east-1";
/// Access key id of the local SigV4 credentials (documented; printed at start).
pub const LOCAL_ACCESS_KEY_ID: &str = LocalCredentials::DEFAULT_ACCESS_KEY_ID;
/// Secret access key of the local SigV4 credentials. Not a secret: it only opens the local gateway.
pub const LOCAL_SECRET_ACCESS_KEY: &str = LocalCredentials::DEFAULT_SECRET_ACCESS_KEY;
/// The SQLite file inside the data directory.
pub const SQLITE_FILE_NAME: &str = "rill.db";

/// Everything the gateway needs besides the template.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The SAM template.
    pub template: PathBuf,
    /// Address to listen on.
    pub host: IpAddr,
    /// Port to listen on; 0 picks a free one.
    pub port: u16,
    /// Directory holding the function binaries (`Metadata.BuildProperties.Binary`).
    pub bin_dir: PathBuf,
    /// Which store the functions use.
    pub store: StoreKind,
    /// Directory for local data (the SQLite database).
    pub data_dir: PathBuf,
    /// Environment variables in SAM's `--env-vars` format.
    pub env_vars: Option<PathBuf>,
    /// Template parameter values that replace the defaults.
    pub parameter_overrides: BTreeMap<String, String>,
    /// Stage to serve instead of the template's `StageName`.
    pub stage: Option<String>,
    /// Which `AWS::Serverless::Api` to serve when the template has several.
    pub api: Option<String>,
    /// Maximum instances per function running at once (a function's `ReservedConcurrentExecutions`
    /// lowers it).
    pub concurrency: u32,
    /// How long a request waits for a free instance before a 429.
    pub queue_timeout: Duration,
    /// `AWS_REGION` for the functions and `AWS::Region` in the template.
    pub region: String,
    /// `RILL_CURSOR_KEY` for the functions when neither the template nor `env_vars` sets one.
    pub cursor_key: Option<String>,
    /// The credentials SigV4 signatures are verified against (the documented local ones by
    /// default).
    pub credentials: LocalCredentials,
    /// Lets every request in without verifying SigV4 (`--no-auth`). A valid signature still
    /// fills in `requestContext.identity`; anything else reaches the function as an anonymous
    /// caller.
    pub no_auth: bool,
    /// Reloads the API when its files change, rebuilds a function when its sources change and
    /// serves the new binary (`--watch`).
    pub watch: bool,
    /// API Gateway's limits on streamed responses: duration and idle timeout (AWS's by default),
    /// bandwidth (off by default).
    pub stream_limits: StreamLimits,
}

impl Settings {
    /// Settings with the documented defaults for `template`, binaries in `bin_dir` and data in
    /// `data_dir`.
    pub fn new(
        template: impl Into<PathBuf>,
        bin_dir: impl Into<PathBuf>,
        data_dir: impl Into<PathBuf>,
    ) -> Self {
        Self {
            template: template.into(),
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            bin_dir: bin_dir.into(),
            store: StoreKind::Sqlite,
            data_dir: data_dir.into(),
            env_vars: None,
            parameter_overrides: BTreeMap::new(),
            stage: None,
            api: None,
            concurrency: DEFAULT_CONCURRENCY,
            queue_timeout: DEFAULT_QUEUE_TIMEOUT,
            region: DEFAULT_REGION.to_owned(),
            cursor_key: None,
            credentials: LocalCredentials::default(),
            no_auth: false,
            watch: false,
            stream_limits: StreamLimits::default(),
        }
    }
}

/// The limits on one streamed response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamLimits {
    /// How long a stream may last from its first byte.
    pub max_duration: Duration,
    /// How long a stream may send nothing to the client.
    pub idle_timeout: Duration,
    /// The bandwidth limit, when it is emulated.
    pub bandwidth: Option<Bandwidth>,
}

impl StreamLimits {
    /// "You can stream your response for up to 15 minutes."
    pub const MAX_DURATION: Duration = Duration::from_secs(15 * 60);
    /// The idle timeout of a Regional (or private) endpoint: 5 minutes.
    pub const IDLE_TIMEOUT: Duration = Duration::from_secs(5 * 60);
}

impl Default for StreamLimits {
    /// AWS's duration and idle limits; no bandwidth limit.
    fn default() -> Self {
        Self {
            max_duration: Self::MAX_DURATION,
            idle_timeout: Self::IDLE_TIMEOUT,
            bandwidth: None,
        }
    }
}

/// A bandwidth limit: the first bytes go as fast as they can, the rest at a fixed rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bandwidth {
    /// Bytes sent without restriction.
    pub unthrottled_bytes: u64,
    /// The rate after them, in bytes per second.
    pub bytes_per_second: u64,
}

impl Bandwidth {
    /// API Gateway's: 10 MB unrestricted, then 2 MB/s (MB taken as 10^6 bytes, the stricter
    /// reading).
    pub const AWS: Bandwidth = Bandwidth {
        unthrottled_bytes: 10_000_000,
        bytes_per_second: 2_000_000,
    };
}
