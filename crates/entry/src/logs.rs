//! Logs: one subscriber for every function, set up once per process before anything else runs.
//!
//! The subscriber follows Lambda's advanced logging controls: `AWS_LAMBDA_LOG_FORMAT=JSON` writes one
//! JSON object per line (CloudWatch Logs Insights can query its fields), and `AWS_LAMBDA_LOG_LEVEL`
//! sets the level, else `RUST_LOG` (full `EnvFilter` directives), else `info`. The span around each
//! request is `rill_http::traced`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

/// Lambda's log format variable: `JSON` or `Text`.
pub const AWS_LAMBDA_LOG_FORMAT: &str = "AWS_LAMBDA_LOG_FORMAT";
/// Lambda's log level variable: `TRACE`, `DEBUG`, `INFO`, `WARN`, `ERROR` or `FATAL`.
pub const AWS_LAMBDA_LOG_LEVEL: &str = "AWS_LAMBDA_LOG_LEVEL";

/// Installs the process-wide subscriber, writing to stdout. Call once, first thing in `main`; a
/// second call leaves the first subscriber in place.
pub fn init_tracing() {
    let filter = log_filter(
        std::env::var(AWS_LAMBDA_LOG_LEVEL).ok().as_deref(),
        std::env::var(EnvFilter::DEFAULT_ENV).ok().as_deref(),
    );
    let json = std::env::var(AWS_LAMBDA_LOG_FORMAT).is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        // Colours only for a person at a terminal: CloudWatch and the local gateway get plain text.
        .with_ansi(std::io::stdout().is_terminal())
        .with_writer(std::io::stdout);
    // A subscriber set earlier (by a test harness, say) wins; that is not an error worth stopping for.
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.without_time().try_init()
    };
}

/// The filter from Lambda's level, else from `RUST_LOG` directives, else `info`.
fn log_filter(lambda_level: Option<&str>, rust_log: Option<&str>) -> EnvFilter {
    let level = lambda_level.map(|level| match level.trim().to_ascii_lowercase().as_str() {
        "trace" => LevelFilter::TRACE,
        "debug" => LevelFilter::DEBUG,
        "warn" => LevelFilter::WARN,
        "error" | "fatal" => LevelFilter::ERROR,
        _ => LevelFilter::INFO,
    });
    match (level, rust_log) {
        (Some(level), _) => EnvFilter::default().add_directive(level.into()),
        (None, Some(directives)) => EnvFilter::builder()
            .with_default_directive(LevelFilter::INFO.into())
            .parse_lossy(directives),
        (None, None) => EnvFilter::default().add_directive(LevelFilter::INFO.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lambda_log_level_wins_over_rust_log() {
        let filter = log_filter(Some("WARN"), Some("debug"));
        assert_eq!(filter.max_level_hint(), Some(LevelFilter::WARN));
    }

    #[test]
    fn fatal_is_error_and_an_unknown_level_is_info() {
        assert_eq!(
            log_filter(Some("FATAL"), None).max_level_hint(),
            Some(LevelFilter::ERROR)
        );
        assert_eq!(
            log_filter(Some("loud"), None).max_level_hint(),
            Some(LevelFilter::INFO)
        );
    }

    #[test]
    fn rust_log_directives_apply_without_a_lambda_level() {
        assert_eq!(
            log_filter(None, Some("debug")).max_level_hint(),
            Some(LevelFilter::DEBUG)
        );
        assert_eq!(
            log_filter(None, None).max_level_hint(),
            Some(LevelFilter::INFO)
        );
    }
}
