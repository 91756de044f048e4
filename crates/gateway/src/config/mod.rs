//! The API as the gateway serves it: a typed model read from a SAM template and the OpenAPI
//! definition it includes, once at start and again on each `--watch` reload (the same [`load`]). Each route carries its method, resource path, function,
//! integration (transfer mode, timeout), authorization and compiled request validator; the API
//! carries its stage, binary media types and gateway responses. Routing, the guards, the proxy
//! event and the banner read this model, never the definition's JSON.
//!
//! Loading reports every problem at once (a list of errors and a list of warnings) instead of
//! stopping at the first, because a template is usually fixed in one sitting. Errors are things that
//! would also break in AWS or make the local run meaningless (an integration URI naming an unknown
//! function, STREAM mode with a buffered URI); warnings are things that only matter locally (an
//! environment variable that comes from Secrets Manager).

mod api;
mod authorization;
mod diagnostics;
mod env_vars;
mod functions;
mod media_types;
mod proxy_integration;
mod routes;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

pub use diagnostics::ConfigError;
pub use env_vars::{EnvOverrides, EnvOverridesError};
pub use functions::{
    DEFAULT_FUNCTION_TIMEOUT, DEFAULT_MEMORY_MB, FunctionSpec, LOCAL_CURSOR_KEY, RILL_CURSOR_KEY,
    RILL_SQLITE_PATH, RILL_STORE, sqlite_path, store_environment,
};
pub use media_types::media_type_matches;
pub use proxy_integration::{
    DEFAULT_TIMEOUT as DEFAULT_INTEGRATION_TIMEOUT, Integration, TransferMode,
};
pub use routes::{Authorization, ResourcePathError, Route, RouteMatch, RouteMethod, RouteTable};

use crate::response::GatewayResponses;
use crate::settings::Settings;
use crate::template::intrinsics::{Evaluator, PseudoParameters};
use crate::validation::{OPERATION_KEYS, RequestValidator, operation_pointer};
use diagnostics::{Diagnostics, invalid};

/// The API to serve.
#[derive(Debug)]
pub struct ApiConfig {
    /// The template it came from.
    pub template_path: PathBuf,
    /// Every file it was read from: the template, the OpenAPI file it names (`DefinitionUri`,
    /// or `DefinitionBody` through `AWS::Include`) and the `--env-vars` file. `--watch` reloads the
    /// model when one of them changes.
    pub source_files: Vec<PathBuf>,
    /// Logical id of the `AWS::Serverless::Api`.
    pub api_logical_id: String,
    /// A stable stand-in for the REST API id (10 lowercase letters and digits, like AWS's).
    pub api_id: String,
    /// The stage served (`/{stage}/...`).
    pub stage: String,
    /// Resources and methods.
    pub routes: RouteTable,
    /// Every function of the template, by logical id.
    pub functions: BTreeMap<String, Arc<FunctionSpec>>,
    /// `binaryMediaTypes` of the API.
    pub binary_media_types: Vec<String>,
    /// The definition's `x-amazon-apigateway-gateway-responses`.
    pub gateway_responses: GatewayResponses,
    /// Problems that do not stop the gateway.
    pub warnings: Vec<String>,
}

/// Reads the template named in `settings` and everything it refers to.
pub fn load(settings: &Settings) -> Result<ApiConfig, ConfigError> {
    let template_path = settings.template.clone();
    let template = diagnostics::read_yaml(&template_path)?.0;
    let overrides = match &settings.env_vars {
        Some(path) => EnvOverrides::load(path)?,
        None => EnvOverrides::default(),
    };
    let pseudo = PseudoParameters {
        region: settings.region.clone(),
        ..PseudoParameters::default()
    };
    let evaluator = Evaluator::new(&template, &settings.parameter_overrides, pseudo);
    let mut diagnostics = Diagnostics::default();
    warn_unknown_parameter_overrides(&template, settings, &mut diagnostics);

    let globals = template
        .pointer("/Globals/Function")
        .cloned()
        .unwrap_or(Value::Null);
    let functions =
        functions::read_functions(&evaluator, &globals, settings, &overrides, &mut diagnostics);
    for unknown in overrides.unknown_functions(&functions) {
        diagnostics.warn(format!("--env-vars section `{unknown}` names no function"));
    }

    let base_dir = template_path
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let api = api::read_api(&evaluator, settings, &base_dir, &mut diagnostics);
    let Some(api) = api else {
        return Err(invalid(&template_path, diagnostics));
    };

    let by_name: BTreeMap<String, String> = functions
        .values()
        .map(|f| (f.name.clone(), f.logical_id.clone()))
        .collect();
    let routes = read_routes(&api.definition, &by_name, &mut diagnostics);
    let gateway_responses = GatewayResponses::from_spec(&api.definition).unwrap_or_else(|e| {
        diagnostics.error(format!("x-amazon-apigateway-gateway-responses: {e}"));
        GatewayResponses::default()
    });
    check_route_binaries(&routes, &functions, &mut diagnostics);
    let table = match RouteTable::new(routes) {
        Ok(table) => table,
        Err(e) => {
            diagnostics.error(e.to_string());
            RouteTable::default()
        }
    };
    if diagnostics.has_errors() {
        return Err(invalid(&template_path, diagnostics));
    }
    let warnings = diagnostics.into_warnings();
    let source_files = [
        Some(template_path.clone()),
        api.file,
        settings.env_vars.clone(),
    ]
    .into_iter()
    .flatten()
    .collect();
    Ok(ApiConfig {
        template_path,
        source_files,
        api_id: api_id(&api.logical_id),
        api_logical_id: api.logical_id,
        stage: api.stage,
        routes: table,
        functions: functions
            .into_iter()
            .map(|(k, v)| (k, Arc::new(v)))
            .collect(),
        binary_media_types: api.binary_media_types,
        gateway_responses,
        warnings,
    })
}

/// Warns about each `--parameter-overrides` name the template does not declare.
fn warn_unknown_parameter_overrides(
    template: &Value,
    settings: &Settings,
    diagnostics: &mut Diagnostics,
) {
    let declared = template.get("Parameters").and_then(Value::as_object);
    for name in settings.parameter_overrides.keys() {
        if !declared.is_some_and(|d| d.contains_key(name)) {
            diagnostics.warn(format!(
                "parameter override `{name}` names no template parameter"
            ));
        }
    }
}

/// A served route's function must name a binary (an error otherwise); the binary need not be
/// built yet (a warning).
fn check_route_binaries(
    routes: &[Route],
    functions: &BTreeMap<String, FunctionSpec>,
    diagnostics: &mut Diagnostics,
) {
    for route in routes {
        let function = &functions[&route.integration.function];
        match &function.executable {
            None => diagnostics.error(format!(
                "{} {}: function {} has no Metadata.BuildProperties.Binary, so no binary runs it",
                route.method, route.resource_path, function.logical_id
            )),
            Some(path) if !path.is_file() => diagnostics.warn(format!(
                "{}: binary {} does not exist yet (build it, or point --bin-dir at it)",
                function.logical_id,
                path.display()
            )),
            Some(_) => {}
        }
    }
}

/// Every `(path, method)` of the definition with a Lambda proxy integration.
fn read_routes(
    definition: &Value,
    functions: &BTreeMap<String, String>,
    diagnostics: &mut Diagnostics,
) -> Vec<Route> {
    let Some(paths) = definition.get("paths").and_then(Value::as_object) else {
        diagnostics.error("the API definition has no `paths`".to_owned());
        return Vec::new();
    };
    let mut routes = Vec::new();
    let mut inheriting = Vec::new();
    for (path, item) in paths {
        let item_value = item;
        let Some(item) = item.as_object() else {
            diagnostics.error(format!("paths.{path} must be an object"));
            continue;
        };
        for (key, operation) in item {
            let key_lower = key.to_ascii_lowercase();
            if !OPERATION_KEYS.contains(&key_lower.as_str()) {
                continue;
            }
            let method = if key_lower == "x-amazon-apigateway-any-method" {
                RouteMethod::Any
            } else {
                RouteMethod::Exact(
                    key_lower
                        .to_ascii_uppercase()
                        .parse()
                        .expect("known method names parse"),
                )
            };
            let label = format!("{method} {path}");
            if operation.get("security").is_none() && definition.get("security").is_some() {
                inheriting.push(label.clone());
            }
            // Every operation's validator is compiled, served or not: API Gateway refuses to
            // import a definition with a broken one.
            let validator =
                match RequestValidator::from_operation(definition, item_value, operation) {
                    Ok(validator) => validator,
                    Err(e) => {
                        diagnostics.error(format!("{label}: {e}"));
                        continue;
                    }
                };
            let Some(integration) = operation.get("x-amazon-apigateway-integration") else {
                diagnostics.warn(format!(
                    "{label}: no x-amazon-apigateway-integration; not served"
                ));
                continue;
            };
            match proxy_integration::parse(integration, functions) {
                Ok(proxy_integration::Parsed::Lambda(integration, warnings)) => {
                    for warning in warnings {
                        diagnostics.warn(format!("{label}: {warning}"));
                    }
                    let operation_pointer = operation_pointer(path, key);
                    routes.push(Route {
                        method,
                        resource_path: path.clone(),
                        authorization: authorization::authorization(definition, &operation_pointer),
                        operation_pointer,
                        integration,
                        validator: Arc::new(validator),
                    });
                }
                Ok(proxy_integration::Parsed::Unsupported(reason)) => {
                    diagnostics.warn(format!("{label}: {reason}; not served"));
                }
                Err(reason) => diagnostics.error(format!("{label}: {reason}")),
            }
        }
    }
    if !inheriting.is_empty() {
        diagnostics.error(inherited_security_message(&inheriting));
    }
    routes
}

/// Why an operation must declare its own `security`. API Gateway documents how an operation's
/// security requirement becomes its authorization type, and every import example declares it on
/// each operation
/// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-authtype.html>);
/// whether an import applies the document's top-level `security` is not documented. An inherited
/// requirement could deploy as authorization NONE while this gateway enforces it, so it is refused
/// rather than guessed at.
fn inherited_security_message(operations: &[String]) -> String {
    format!(
        "{} inherit the document's top-level `security` instead of declaring their own: {}. \
         API Gateway's import is documented only for a requirement on the operation itself, so \
         the deployed API might not require it; add `security: [{{sigv4: []}}]` (or `security: []` \
         for a public route) to each",
        if operations.len() == 1 {
            "1 operation"
        } else {
            "these operations"
        },
        operations.join(", ")
    )
}

/// A stable, AWS-shaped REST API id derived from the API's logical id.
fn api_id(logical_id: &str) -> String {
    // FNV-1a: stable across runs and platforms, unlike the std hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in logical_id.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..10)
        .map(|_| {
            let c = ALPHABET[(hash % 36) as usize] as char;
            hash /= 36;
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_ids_are_stable_and_aws_shaped() {
        let id = api_id("Api");
        assert_eq!(id, api_id("Api"));
        assert_ne!(id, api_id("OtherApi"));
        assert_eq!(id.len(), 10);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
    }
}
