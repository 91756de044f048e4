//! Turns the template's function resources into [`FunctionSpec`]s: which binary runs each one, its
//! timeout, memory and environment, as the deployed function would have them.
//!
//! The environment is layered like this, later layers winning:
//! 1. `Globals.Function.Environment.Variables`, then the function's own `Environment.Variables`,
//!    each value evaluated separately (one `{{resolve:...}}` only drops that variable, with a warning);
//! 2. the `--env-vars` file (`Parameters` for all functions, then the function's own section);
//! 3. the local store choice (`RILL_STORE`, `RILL_SQLITE_PATH`);
//! 4. `RILL_CURSOR_KEY` from `--cursor-key`, or a fixed local key when nothing set one.
//!
//! The Lambda-reserved variables (`AWS_LAMBDA_*`, `AWS_REGION`...) are added when an instance is
//! spawned, since some of them (`AWS_LAMBDA_RUNTIME_API`) differ per instance.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::diagnostics::Diagnostics;
use super::env_vars::EnvOverrides;
use crate::settings::{SQLITE_FILE_NAME, Settings, StoreKind};
use crate::template::intrinsics::{EvalError, Evaluator};

/// The variables the gateway sets, named where the functions read them.
pub use rill_function_env::{RILL_CURSOR_KEY, RILL_SQLITE_PATH, RILL_STORE};
/// The cursor key functions get locally when nothing else provides one. Public on purpose: it only
/// protects local data.
pub const LOCAL_CURSOR_KEY: &str = "rill-local-cursor-key-not-a-secret";

/// Lambda's default function timeout.
pub const DEFAULT_FUNCTION_TIMEOUT: Duration = Duration::from_secs(3);
/// Lambda's default memory size, in MB.
pub const DEFAULT_MEMORY_MB: u32 = 128;

/// One Lambda function as the gateway runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSpec {
    /// Logical id in the template (`UsersFunction`).
    pub logical_id: String,
    /// Function name (`FunctionName`, else the logical id).
    pub name: String,
    /// The function's ARN as the local account would have it.
    pub arn: String,
    /// `Metadata.BuildProperties.Binary`, when set.
    pub binary: Option<String>,
    /// The executable in the binaries directory.
    pub executable: Option<PathBuf>,
    /// `Timeout`.
    pub timeout: Duration,
    /// `MemorySize`, in MB.
    pub memory_mb: u32,
    /// `ReservedConcurrentExecutions`.
    pub reserved_concurrency: Option<u32>,
    /// The environment from the template and the local overrides (see the module docs).
    pub environment: BTreeMap<String, String>,
}

/// Reads every enabled `AWS::Serverless::Function` and `AWS::Lambda::Function`.
pub(super) fn read_functions(
    evaluator: &Evaluator<'_>,
    globals: &Value,
    settings: &Settings,
    overrides: &EnvOverrides,
    diagnostics: &mut Diagnostics,
) -> BTreeMap<String, FunctionSpec> {
    let mut functions = BTreeMap::new();
    for (logical_id, resource) in evaluator.resources() {
        let kind = resource.get("Type").and_then(Value::as_str);
        let serverless = match kind {
            Some("AWS::Serverless::Function") => true,
            Some("AWS::Lambda::Function") => false,
            _ => continue,
        };
        match evaluator.resource_enabled(logical_id) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                diagnostics.error(format!("{logical_id}: condition: {e}"));
                continue;
            }
        }
        let no_globals = Value::Null;
        let globals = if serverless { globals } else { &no_globals };
        let spec = read_function(
            evaluator,
            logical_id,
            resource,
            globals,
            settings,
            overrides,
            diagnostics,
        );
        functions.insert(logical_id.clone(), spec);
    }
    functions
}

fn read_function(
    evaluator: &Evaluator<'_>,
    logical_id: &str,
    resource: &Value,
    globals: &Value,
    settings: &Settings,
    overrides: &EnvOverrides,
    diagnostics: &mut Diagnostics,
) -> FunctionSpec {
    let property = |name: &str| {
        resource
            .get("Properties")
            .and_then(|p| p.get(name))
            .or_else(|| globals.get(name))
    };
    let mut number = |name: &str| -> Option<u64> {
        let value = property(name)?;
        match evaluator.eval(value) {
            Ok(Value::Number(n)) if n.as_u64().is_some() => n.as_u64(),
            Ok(Value::String(s)) if s.parse::<u64>().is_ok() => s.parse().ok(),
            Ok(other) => {
                diagnostics.error(format!(
                    "{logical_id}: {name} must be a whole number, found {other}"
                ));
                None
            }
            Err(e) => {
                diagnostics.error(format!("{logical_id}: {name}: {e}"));
                None
            }
        }
    };
    let timeout = number("Timeout").map_or(DEFAULT_FUNCTION_TIMEOUT, Duration::from_secs);
    let memory_mb = number("MemorySize")
        .and_then(|m| u32::try_from(m).ok())
        .unwrap_or(DEFAULT_MEMORY_MB);
    let reserved_concurrency =
        number("ReservedConcurrentExecutions").and_then(|r| u32::try_from(r).ok());

    let name = evaluator.resource_name(logical_id).unwrap_or_else(|e| {
        diagnostics.error(format!("{logical_id}: FunctionName: {e}"));
        logical_id.to_owned()
    });
    let arn = evaluator
        .attribute(logical_id, "Arn")
        .unwrap_or_else(|_| logical_id.to_owned());

    let binary = resource
        .pointer("/Metadata/BuildProperties/Binary")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let executable = binary.as_ref().map(|b| settings.bin_dir.join(b));

    let environment = environment(
        evaluator,
        logical_id,
        resource,
        globals,
        settings,
        overrides,
        diagnostics,
    );

    FunctionSpec {
        logical_id: logical_id.to_owned(),
        name,
        arn,
        binary,
        executable,
        timeout,
        memory_mb,
        reserved_concurrency,
        environment,
    }
}

/// The function's environment, layered as the module docs say.
fn environment(
    evaluator: &Evaluator<'_>,
    logical_id: &str,
    resource: &Value,
    globals: &Value,
    settings: &Settings,
    overrides: &EnvOverrides,
    diagnostics: &mut Diagnostics,
) -> BTreeMap<String, String> {
    let (mut environment, unresolved) =
        template_environment(evaluator, logical_id, resource, globals, diagnostics);
    environment.extend(overrides.for_function(logical_id));
    environment.extend(store_environment(settings));
    if let Some(key) = &settings.cursor_key {
        environment.insert(RILL_CURSOR_KEY.to_owned(), key.clone());
    }
    environment
        .entry(RILL_CURSOR_KEY.to_owned())
        .or_insert_with(|| LOCAL_CURSOR_KEY.to_owned());
    // Only what no local layer provided is worth a warning.
    for (key, reason) in unresolved {
        if !environment.contains_key(&key) {
            diagnostics.warn(format!(
                "{logical_id}: {key} is not set locally ({reason}); provide it with --env-vars"
            ));
        }
    }
    environment
}

/// `Globals.Function.Environment.Variables`, then the function's own, each value evaluated
/// separately; with the variables that cannot be resolved locally and why.
fn template_environment(
    evaluator: &Evaluator<'_>,
    logical_id: &str,
    resource: &Value,
    globals: &Value,
    diagnostics: &mut Diagnostics,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut environment = BTreeMap::new();
    let mut unresolved = BTreeMap::new();
    let variables = [
        globals.pointer("/Environment/Variables"),
        resource.pointer("/Properties/Environment/Variables"),
    ];
    for variables in variables.into_iter().flatten() {
        let Some(variables) = variables.as_object() else {
            diagnostics.error(format!("{logical_id}: Environment.Variables must be a map"));
            continue;
        };
        for (key, value) in variables {
            match evaluator.eval_string(value) {
                Ok(value) => {
                    environment.insert(key.clone(), value);
                }
                Err(EvalError::NoValue) => {
                    environment.remove(key);
                }
                Err(EvalError::Unresolved(reason)) => {
                    environment.remove(key);
                    unresolved.insert(key.clone(), reason);
                }
                Err(e @ EvalError::Invalid(_)) => {
                    diagnostics.error(format!("{logical_id}: {key}: {e}"))
                }
            }
        }
    }
    (environment, unresolved)
}

/// The variables that point the functions at the local store.
pub fn store_environment(settings: &Settings) -> Vec<(String, String)> {
    let mut variables = vec![(RILL_STORE.to_owned(), settings.store.as_str().to_owned())];
    if settings.store == StoreKind::Sqlite {
        variables.push((
            RILL_SQLITE_PATH.to_owned(),
            sqlite_path(&settings.data_dir).display().to_string(),
        ));
    }
    variables
}

/// The SQLite database inside the data directory, made absolute so that it does not depend on the
/// functions' working directory.
pub fn sqlite_path(data_dir: &Path) -> PathBuf {
    let path = data_dir.join(SQLITE_FILE_NAME);
    std::path::absolute(&path).unwrap_or(path)
}
