//! The contract between the three places that describe the API: `openapi/api.yaml` (routes, schemas,
//! integrations), `template.yaml` (functions, roles, tables) and each function's `routes()`.
//!
//! None of them can be checked by its own tools against the others: `sam validate` and `cfn-lint` do
//! not read a file brought in with `AWS::Include`, and OpenAPI linters know nothing of Lambda. So this
//! crate loads both documents into plain JSON values and answers the questions the tests ask: which
//! function serves which route, what each role may do, whether every example fits its schema.
//!
//! - [`yaml`]: loads YAML, turning CloudFormation short tags (`!Ref`, `!Sub`, `!GetAtt`) into the long
//!   form so both documents read the same way;
//! - [`spec`]: the operations of the API definition and their Lambda integrations;
//! - [`template`]: the functions, roles and tables of the SAM template, and their policy statements;
//! - [`schema`]: OpenAPI 3.0 schemas as JSON Schema validators;
//! - [`examples`]: every example in the definition, with the schema it must satisfy;
//! - [`public`]: the consumer-facing copy of the definition, without AWS wiring.

pub mod examples;
pub mod public;
pub mod schema;
pub mod spec;
pub mod template;
pub mod yaml;

use std::path::{Path, PathBuf};

/// Anything that makes a document unreadable or not shaped as the contract expects.
#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not valid YAML: {source}")]
    Yaml {
        path: PathBuf,
        #[source]
        source: serde_yaml_ng::Error,
    },
    #[error("{0}")]
    Shape(String),
}

impl ContractError {
    pub(crate) fn shape(message: impl Into<String>) -> Self {
        Self::Shape(message.into())
    }
}

/// The root of the Cargo workspace, where `openapi/` and `template.yaml` live.
pub fn workspace_root() -> PathBuf {
    // This crate is `crates/api-contract`; the workspace root is two levels up.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// `openapi/api.yaml` in this workspace.
pub fn api_definition_path() -> PathBuf {
    workspace_root().join("openapi").join("api.yaml")
}

/// `template.yaml` in this workspace.
pub fn template_path() -> PathBuf {
    workspace_root().join("template.yaml")
}
