//! The export's own settings, read once from the environment at start-up, and what the function
//! builds from them and the wired store.
//!
//! Every setting has a default that is right for a deployed function; the variables exist so an operator
//! can tune them and so tests can make the limits small enough to reach. A value that does not parse stops
//! the function at start-up with a message naming the variable, rather than exporting with a guess.

use std::time::Duration;

use rill_core::ExportReader;
use rill_entry::Wiring;
use thiserror::Error;

use crate::ExportService;

/// What every request needs, built once per process: the store's read-only port, the cursor keys
/// and the [`ExportConfig`].
pub type Deps = ExportService<dyn ExportReader>;

impl ExportService<dyn ExportReader> {
    /// Reads the export's own settings and keeps the read-only port of the wired store.
    pub fn from_wiring(wiring: Wiring) -> Result<Self, ConfigError> {
        let config = ExportConfig::from_env()?;
        tracing::info!(?config, "export function ready");
        Ok(Self::new(wiring.store, wiring.cursors, config))
    }
}

/// Largest body, in bytes, one response may carry before the export stops (see [`ExportConfig::max_bytes`]).
pub const MAX_BYTES_VAR: &str = rill_function_env::RILL_EXPORT_MAX_BYTES;
/// Records read from the store per page.
pub const PAGE_SIZE_VAR: &str = rill_function_env::RILL_EXPORT_PAGE_SIZE;
/// How long before the invocation deadline the export stops, in milliseconds.
pub const DEADLINE_MARGIN_VAR: &str = rill_function_env::RILL_EXPORT_DEADLINE_MARGIN_MS;

/// Lambda ends a streamed response at 200 MB. The default stops 10 MB short of it, which leaves room for
/// the prelude and for any difference between MB and MiB in how the limit is counted.
pub const DEFAULT_MAX_BYTES: u64 = 190_000_000;
/// Below this, a response could not hold a page and its closing record.
pub const MIN_MAX_BYTES: u64 = 16 * 1024;
pub const DEFAULT_PAGE_SIZE: usize = 500;
pub const MAX_PAGE_SIZE: usize = 1_000;
pub const DEFAULT_DEADLINE_MARGIN: Duration = Duration::from_millis(2_000);

/// How the export paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportConfig {
    /// The most body bytes one response carries. The export checks it before each page, so a response
    /// never goes past it; see the crate docs for what the client gets when an export is larger.
    pub max_bytes: u64,
    /// Records per store page: the unit of prefetching, of memory, and of the size check.
    pub page_size: usize,
    /// The export stops this long before the invocation's deadline, so it ends on its own terms instead
    /// of being cut off mid-row by the runtime.
    pub deadline_margin: Duration,
}

impl Default for ExportConfig {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_BYTES,
            page_size: DEFAULT_PAGE_SIZE,
            deadline_margin: DEFAULT_DEADLINE_MARGIN,
        }
    }
}

/// A setting that is present but unusable.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{var} must be {expected}, got {value:?}")]
pub struct ConfigError {
    pub var: &'static str,
    pub expected: String,
    pub value: String,
}

impl ExportConfig {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|var| std::env::var(var).ok())
    }

    /// Reads the settings through `lookup`, which returns a variable's value when it is set.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let max_bytes = parse_bounded(
            &lookup,
            MAX_BYTES_VAR,
            defaults.max_bytes,
            MIN_MAX_BYTES..=DEFAULT_MAX_BYTES,
        )?;
        let page_size = parse_bounded(
            &lookup,
            PAGE_SIZE_VAR,
            defaults.page_size as u64,
            1..=MAX_PAGE_SIZE as u64,
        )? as usize;
        let margin_ms = parse_bounded(
            &lookup,
            DEADLINE_MARGIN_VAR,
            defaults.deadline_margin.as_millis() as u64,
            0..=60_000,
        )?;
        Ok(Self {
            max_bytes,
            page_size,
            deadline_margin: Duration::from_millis(margin_ms),
        })
    }
}

fn parse_bounded(
    lookup: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    let Some(value) = lookup(var) else {
        return Ok(default);
    };
    match value.trim().parse::<u64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(ConfigError {
            var,
            expected: format!("a whole number from {} to {}", range.start(), range.end()),
            value,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_variables_the_defaults_stay_under_lambdas_streaming_cap() {
        let config = ExportConfig::from_lookup(|_| None).unwrap();
        assert_eq!(config, ExportConfig::default());
        assert!(config.max_bytes < 200_000_000);
    }

    #[test]
    fn each_variable_overrides_its_setting() {
        let config = ExportConfig::from_lookup(|var| match var {
            MAX_BYTES_VAR => Some("20000".into()),
            PAGE_SIZE_VAR => Some("7".into()),
            DEADLINE_MARGIN_VAR => Some("250".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(config.max_bytes, 20_000);
        assert_eq!(config.page_size, 7);
        assert_eq!(config.deadline_margin, Duration::from_millis(250));
    }

    #[test]
    fn a_value_out_of_range_or_not_a_number_names_the_variable() {
        for (var, value) in [
            (MAX_BYTES_VAR, "300000000"),
            (MAX_BYTES_VAR, "100"),
            (PAGE_SIZE_VAR, "0"),
            (PAGE_SIZE_VAR, "1001"),
            (DEADLINE_MARGIN_VAR, "soon"),
        ] {
            let err =
                ExportConfig::from_lookup(|v| (v == var).then(|| value.to_string())).unwrap_err();
            assert_eq!(err.var, var);
            assert!(err.to_string().contains(var), "{err}");
        }
    }
}
