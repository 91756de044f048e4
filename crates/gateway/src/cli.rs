//! Command-line flags of `rill-gateway`, turned into [`Settings`].

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::integration::{Bandwidth, StreamLimits};
use crate::settings::{
    DEFAULT_CONCURRENCY, DEFAULT_PORT, DEFAULT_REGION, LOCAL_ACCESS_KEY_ID,
    LOCAL_SECRET_ACCESS_KEY, Settings, StoreKind,
};
use crate::sigv4::LocalCredentials;

/// Runs a SAM template's REST API locally: API Gateway (REST v1 events, response streaming) in front
/// of the real function binaries, each run over the Lambda Runtime API. No Docker.
#[derive(Debug, Parser)]
#[command(name = "rill-gateway", version)]
pub struct Cli {
    /// The SAM template.
    #[arg(long, default_value = "template.yaml")]
    pub template: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub host: IpAddr,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Directory with the function binaries named by Metadata.BuildProperties.Binary.
    #[arg(long, env = "RILL_BIN_DIR", default_value = "target/debug")]
    pub bin_dir: PathBuf,
    /// Store the functions use.
    #[arg(long, value_enum, default_value_t = Store::Sqlite)]
    pub store: Store,
    /// Directory for local data (the SQLite database).
    #[arg(long, default_value = ".local")]
    pub data_dir: PathBuf,
    /// Environment overrides, in the JSON format of `sam local --env-vars`.
    #[arg(long, value_name = "FILE")]
    pub env_vars: Option<PathBuf>,
    /// Template parameter values, as KEY=VALUE (repeatable).
    #[arg(long, value_name = "KEY=VALUE", num_args = 1.., value_parser = parse_key_value)]
    pub parameter_overrides: Vec<(String, String)>,
    /// Stage to serve instead of the API's StageName.
    #[arg(long)]
    pub stage: Option<String>,
    /// Logical id of the API to serve, when the template has several.
    #[arg(long)]
    pub api: Option<String>,
    /// Maximum instances of one function running at once (ReservedConcurrentExecutions lowers it).
    #[arg(long, default_value_t = DEFAULT_CONCURRENCY, value_parser = clap::value_parser!(u32).range(1..))]
    pub concurrency: u32,
    /// How long a request waits for a busy function before a 429, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub queue_timeout_ms: u64,
    /// AWS_REGION of the functions and AWS::Region of the template.
    #[arg(long, default_value = DEFAULT_REGION)]
    pub region: String,
    /// RILL_CURSOR_KEY for the functions, when neither the template nor --env-vars sets one.
    #[arg(long, env = "RILL_CURSOR_KEY", hide_env_values = true)]
    pub cursor_key: Option<String>,
    /// Access key id that SigV4 signatures must use.
    #[arg(long, env = "RILL_ACCESS_KEY_ID", default_value = LOCAL_ACCESS_KEY_ID)]
    pub access_key_id: String,
    /// Secret access key that SigV4 signatures are verified with.
    #[arg(
        long,
        env = "RILL_SECRET_ACCESS_KEY",
        hide_env_values = true,
        hide_default_value = true,
        default_value = LOCAL_SECRET_ACCESS_KEY
    )]
    pub secret_access_key: String,
    /// Session token every signed request must carry (as temporary credentials require).
    #[arg(long, env = "RILL_SESSION_TOKEN", hide_env_values = true)]
    pub session_token: Option<String>,
    /// Do not verify SigV4: every request is let in. For local tinkering only; never expose the
    /// port.
    #[arg(long)]
    pub no_auth: bool,
    /// Reload the API when the template, its OpenAPI file or the --env-vars file change (an edit
    /// that does not load is logged and the previous API keeps serving), and rebuild a function
    /// (`cargo build`, in the profile of --bin-dir) when its sources or the workspace crates it
    /// uses change, then serve the new binary; requests in flight finish on what they started
    /// with.
    #[arg(long)]
    pub watch: bool,
    /// Cut a streamed response after this many seconds, as API Gateway does after 15 minutes.
    #[arg(long, value_name = "SECONDS", default_value_t = StreamLimits::MAX_DURATION.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub stream_max_duration: u64,
    /// Cut a streamed response that sends nothing for this many seconds, as API Gateway does
    /// after 5 minutes (Regional endpoint; 30 s for edge-optimized).
    #[arg(long, value_name = "SECONDS", default_value_t = StreamLimits::IDLE_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub stream_idle_timeout: u64,
    /// Limit streamed responses to 2 MB/s after their first 10 MB, as API Gateway does. Off by
    /// default so that local exports stay fast.
    #[arg(long)]
    pub aws_bandwidth: bool,
    /// Read the template, print the routes and problems, and exit.
    #[arg(long)]
    pub check: bool,
}

/// `--store`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Store {
    /// Embedded SQLite in --data-dir.
    Sqlite,
    /// DynamoDB (set AWS_ENDPOINT_URL for DynamoDB Local).
    Dynamodb,
}

impl Cli {
    /// The settings these flags describe.
    pub fn settings(&self) -> Settings {
        let mut settings = Settings::new(&self.template, &self.bin_dir, &self.data_dir);
        settings.host = self.host;
        settings.port = self.port;
        settings.store = match self.store {
            Store::Sqlite => StoreKind::Sqlite,
            Store::Dynamodb => StoreKind::Dynamodb,
        };
        settings.env_vars = self.env_vars.clone();
        settings.parameter_overrides = self
            .parameter_overrides
            .iter()
            .cloned()
            .collect::<BTreeMap<_, _>>();
        settings.stage = self.stage.clone();
        settings.api = self.api.clone();
        settings.concurrency = self.concurrency;
        settings.queue_timeout = Duration::from_millis(self.queue_timeout_ms);
        settings.region = self.region.clone();
        settings.cursor_key = self.cursor_key.clone();
        let credentials = LocalCredentials::new(&self.access_key_id, &self.secret_access_key);
        settings.credentials = match &self.session_token {
            Some(token) => credentials.with_session_token(token),
            None => credentials,
        };
        settings.no_auth = self.no_auth;
        settings.watch = self.watch;
        settings.stream_limits = StreamLimits {
            max_duration: Duration::from_secs(self.stream_max_duration),
            idle_timeout: Duration::from_secs(self.stream_idle_timeout),
            bandwidth: self.aws_bandwidth.then_some(Bandwidth::AWS),
        };
        settings
    }
}

fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("`{text}` is not KEY=VALUE")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documentation() {
        let cli = Cli::try_parse_from(["rill-gateway"]).unwrap();
        let settings = cli.settings();
        assert_eq!(settings.port, 3000);
        assert_eq!(settings.host.to_string(), "127.0.0.1");
        assert_eq!(settings.store, StoreKind::Sqlite);
        assert_eq!(settings.data_dir, PathBuf::from(".local"));
        assert_eq!(settings.concurrency, 4);
        assert_eq!(settings.template, PathBuf::from("template.yaml"));
        assert_eq!(settings.credentials, LocalCredentials::default());
        assert!(
            !settings.no_auth,
            "SigV4 is verified unless --no-auth is given"
        );
        assert_eq!(
            settings.stream_limits,
            StreamLimits {
                max_duration: Duration::from_secs(900),
                idle_timeout: Duration::from_secs(300),
                bandwidth: None,
            },
            "AWS's duration and idle limits hold by default, the bandwidth limit does not"
        );
    }

    #[test]
    fn stream_limit_flags_reach_the_settings() {
        let cli = Cli::try_parse_from([
            "rill-gateway",
            "--stream-max-duration",
            "2",
            "--stream-idle-timeout",
            "1",
            "--aws-bandwidth",
        ])
        .unwrap();
        let limits = cli.settings().stream_limits;
        assert_eq!(limits.max_duration, Duration::from_secs(2));
        assert_eq!(limits.idle_timeout, Duration::from_secs(1));
        assert_eq!(limits.bandwidth, Some(Bandwidth::AWS));
    }

    #[test]
    fn credential_auth_and_watch_flags_reach_the_settings() {
        let cli = Cli::try_parse_from([
            "rill-gateway",
            "--access-key-id",
            "AKIDOTHER",
            "--secret-access-key",
            "other-secret",
            "--session-token",
            "token",
            "--no-auth",
            "--watch",
        ])
        .unwrap();
        let settings = cli.settings();
        assert!(settings.watch);
        assert_eq!(
            settings.credentials,
            LocalCredentials::new("AKIDOTHER", "other-secret").with_session_token("token")
        );
        assert!(settings.no_auth);
    }

    #[test]
    fn overrides_parse() {
        let cli = Cli::try_parse_from([
            "rill-gateway",
            "--store",
            "dynamodb",
            "--parameter-overrides",
            "StageName=prod",
            "Architecture=x86_64",
            "--stage",
            "test",
            "--concurrency",
            "2",
        ])
        .unwrap();
        let settings = cli.settings();
        assert_eq!(settings.store, StoreKind::Dynamodb);
        assert_eq!(settings.parameter_overrides["StageName"], "prod");
        assert_eq!(settings.parameter_overrides["Architecture"], "x86_64");
        assert_eq!(settings.stage.as_deref(), Some("test"));
        assert_eq!(settings.concurrency, 2);
    }

    #[test]
    fn bad_values_are_rejected() {
        assert!(Cli::try_parse_from(["rill-gateway", "--parameter-overrides", "novalue"]).is_err());
        assert!(Cli::try_parse_from(["rill-gateway", "--concurrency", "0"]).is_err());
        assert!(Cli::try_parse_from(["rill-gateway", "--store", "postgres"]).is_err());
        assert!(Cli::try_parse_from(["rill-gateway", "--stream-idle-timeout", "0"]).is_err());
        assert!(Cli::try_parse_from(["rill-gateway", "--stream-max-duration", "x"]).is_err());
    }
}
