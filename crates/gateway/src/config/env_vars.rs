//! Reads environment overrides in the format of `sam local --env-vars`:
//!
//! ```json
//! { "Parameters": { "LOG_LEVEL": "debug" }, "UsersFunction": { "RILL_CURSOR_KEY": "..." } }
//! ```
//!
//! `Parameters` applies to every function, a function's logical id to that function only (it wins).
//! Values may be strings, numbers or booleans; anything else is rejected so a typo does not turn
//! into a silently missing variable.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::template::intrinsics::scalar_string;

/// Parsed `--env-vars` file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvOverrides {
    all: BTreeMap<String, String>,
    per_function: BTreeMap<String, BTreeMap<String, String>>,
}

/// Why an `--env-vars` file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum EnvOverridesError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The file is not the expected JSON shape.
    #[error("{path}: {reason}")]
    Shape { path: String, reason: String },
}

impl EnvOverrides {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Self, EnvOverridesError> {
        let text = std::fs::read_to_string(path).map_err(|source| EnvOverridesError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text).map_err(|reason| EnvOverridesError::Shape {
            path: path.display().to_string(),
            reason,
        })
    }

    /// Parses the JSON text of an `--env-vars` file.
    pub fn parse(text: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let object = value
            .as_object()
            .ok_or("expected a JSON object of objects")?;
        let mut overrides = Self::default();
        for (section, variables) in object {
            let variables = variables.as_object().ok_or_else(|| {
                format!("`{section}` must be an object of variable names to values")
            })?;
            let mut parsed = BTreeMap::new();
            for (name, value) in variables {
                let value = scalar_string(value).ok_or_else(|| {
                    format!("`{section}.{name}` must be a string, number or boolean")
                })?;
                parsed.insert(name.clone(), value);
            }
            if section == "Parameters" {
                overrides.all = parsed;
            } else {
                overrides.per_function.insert(section.clone(), parsed);
            }
        }
        Ok(overrides)
    }

    /// The variables for one function: `Parameters` first, the function's own section on top.
    pub fn for_function(&self, logical_id: &str) -> BTreeMap<String, String> {
        let mut variables = self.all.clone();
        if let Some(own) = self.per_function.get(logical_id) {
            variables.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        variables
    }

    /// Function sections that name no function, for a warning.
    pub fn unknown_functions<'a>(
        &'a self,
        known: &'a BTreeMap<String, impl Sized>,
    ) -> impl Iterator<Item = &'a str> {
        self.per_function
            .keys()
            .filter(move |name| !known.contains_key(*name))
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_function_section_wins_over_parameters() {
        let overrides = EnvOverrides::parse(
            r#"{"Parameters": {"A": "all", "B": 1}, "UsersFunction": {"A": "mine", "C": true}}"#,
        )
        .unwrap();
        let users = overrides.for_function("UsersFunction");
        assert_eq!(users["A"], "mine");
        assert_eq!(users["B"], "1");
        assert_eq!(users["C"], "true");
        assert_eq!(overrides.for_function("OrdersFunction")["A"], "all");
    }

    #[test]
    fn nested_values_are_rejected_with_their_path() {
        let err = EnvOverrides::parse(r#"{"UsersFunction": {"A": {"x": 1}}}"#).unwrap_err();
        assert!(err.contains("UsersFunction.A"), "{err}");
        assert!(EnvOverrides::parse("[]").is_err());
    }
}
