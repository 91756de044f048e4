//! Reading the template's files and collecting what is wrong with them.
//!
//! Loading reports every problem at once (a list of errors and a list of warnings) instead of
//! stopping at the first, because a template is usually fixed in one sitting.

use std::path::Path;

use serde_json::Value;

use super::env_vars::EnvOverridesError;
use crate::template::yaml;

/// Why the API cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid YAML or JSON.
    #[error("{path}: {source}")]
    Syntax {
        path: String,
        #[source]
        source: yaml::YamlError,
    },
    /// The `--env-vars` file is unusable.
    #[error(transparent)]
    EnvVars(#[from] EnvOverridesError),
    /// The template has errors; each line names the resource or path.
    #[error("{}", invalid_message(.path, .errors, .warnings))]
    Invalid {
        path: String,
        errors: Vec<String>,
        warnings: Vec<String>,
    },
}

/// Collected errors and warnings.
#[derive(Debug, Default)]
pub(super) struct Diagnostics {
    errors: Vec<String>,
    warnings: Vec<String>,
}

impl Diagnostics {
    /// Whether any error was recorded.
    pub(super) fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// The warnings, each once in a row.
    pub(super) fn into_warnings(self) -> Vec<String> {
        let mut warnings = self.warnings;
        warnings.dedup();
        warnings
    }

    pub(super) fn error(&mut self, message: String) {
        self.errors.push(message);
    }

    pub(super) fn warn(&mut self, message: String) {
        self.warnings.push(message);
    }
}

pub(super) fn invalid(path: &Path, diagnostics: Diagnostics) -> ConfigError {
    ConfigError::Invalid {
        path: path.display().to_string(),
        errors: diagnostics.errors,
        warnings: diagnostics.warnings,
    }
}

fn invalid_message(path: &str, errors: &[String], warnings: &[String]) -> String {
    let mut message = format!(
        "{path} has {} configuration error(s):\n  - {}",
        errors.len(),
        errors.join("\n  - ")
    );
    if !warnings.is_empty() {
        message.push_str(&format!("\nwarnings:\n  - {}", warnings.join("\n  - ")));
    }
    message
}

/// Reads a YAML or JSON file; returns the value and the number of short-form tags it used.
pub(super) fn read_yaml(path: &Path) -> Result<(Value, usize), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    yaml::parse_counting_short_forms(&text).map_err(|source| ConfigError::Syntax {
        path: path.display().to_string(),
        source,
    })
}
