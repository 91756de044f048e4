//! Finds the `AWS::Serverless::Api`, its stage and its OpenAPI definition.
//!
//! The definition comes from `DefinitionBody` (inline, or through
//! `Fn::Transform: {Name: AWS::Include, Parameters: {Location: file}}` with the file relative to the
//! template) or from `DefinitionUri` (a local file). As in AWS, intrinsics are evaluated in
//! `DefinitionBody` and in included files, but not in a `DefinitionUri` file. `AWS::Include` does not
//! accept short-form tags (`!Sub`) in the included file, so those get a warning: they work here but
//! would fail to deploy.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::diagnostics::{Diagnostics, read_yaml};
use crate::settings::Settings;
use crate::template::intrinsics::Evaluator;

/// The API resource, resolved.
#[derive(Debug)]
pub(super) struct ApiDefinition {
    pub logical_id: String,
    pub stage: String,
    pub definition: Value,
    /// The file the definition was read from, unless it is inline in the template.
    pub file: Option<PathBuf>,
    pub binary_media_types: Vec<String>,
}

/// The API to serve (the only `AWS::Serverless::Api`, or the one `--api` names), its stage, its
/// OpenAPI definition and its binary media types.
pub(super) fn read_api(
    evaluator: &Evaluator<'_>,
    settings: &Settings,
    base_dir: &Path,
    diagnostics: &mut Diagnostics,
) -> Option<ApiDefinition> {
    let logical_id = select_api(evaluator, settings, diagnostics)?;
    let resource = &evaluator.resources()[&logical_id];
    let properties = resource.get("Properties").cloned().unwrap_or(Value::Null);
    let stage = stage(evaluator, settings, &logical_id, &properties, diagnostics)?;
    let (definition, file) =
        definition(evaluator, &logical_id, &properties, base_dir, diagnostics)?;
    let binary_media_types = binary_media_types(
        evaluator,
        &logical_id,
        &properties,
        &definition,
        diagnostics,
    );
    Some(ApiDefinition {
        logical_id,
        stage,
        definition,
        file,
        binary_media_types,
    })
}

/// The logical id of the API: the one `--api` names, or the template's only one.
fn select_api(
    evaluator: &Evaluator<'_>,
    settings: &Settings,
    diagnostics: &mut Diagnostics,
) -> Option<String> {
    let apis: Vec<&String> = evaluator
        .resources()
        .iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some("AWS::Serverless::Api"))
        .map(|(id, _)| id)
        .filter(|id| evaluator.resource_enabled(id).unwrap_or(true))
        .collect();
    match (&settings.api, apis.as_slice()) {
        (Some(wanted), _) if apis.contains(&wanted) => Some(wanted.clone()),
        (Some(wanted), _) => {
            diagnostics.error(format!(
                "--api {wanted}: no AWS::Serverless::Api with that logical id"
            ));
            None
        }
        (None, [only]) => Some((*only).clone()),
        (None, []) => {
            diagnostics.error("the template has no AWS::Serverless::Api resource".to_owned());
            None
        }
        (None, many) => {
            let names: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
            diagnostics.error(format!(
                "the template has several APIs ({}); choose one with --api",
                names.join(", ")
            ));
            None
        }
    }
}

/// The stage served: `--stage`, else the API's `StageName`; letters, digits, `-` or `_`.
fn stage(
    evaluator: &Evaluator<'_>,
    settings: &Settings,
    logical_id: &str,
    properties: &Value,
    diagnostics: &mut Diagnostics,
) -> Option<String> {
    let stage = match (&settings.stage, properties.get("StageName")) {
        (Some(stage), _) => stage.clone(),
        (None, Some(value)) => match evaluator.eval_string(value) {
            Ok(stage) => stage,
            Err(e) => {
                diagnostics.error(format!("{logical_id}.StageName: {e}; pass --stage"));
                return None;
            }
        },
        (None, None) => {
            diagnostics.error(format!("{logical_id} has no StageName; pass --stage"));
            return None;
        }
    };
    if stage.is_empty()
        || !stage
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        diagnostics.error(format!(
            "stage `{stage}` must be letters, digits, `-` or `_`"
        ));
        return None;
    }
    Some(stage)
}

/// The OpenAPI definition, from `DefinitionBody` or `DefinitionUri`, with the file it came from
/// unless it is inline.
fn definition(
    evaluator: &Evaluator<'_>,
    logical_id: &str,
    properties: &Value,
    base_dir: &Path,
    diagnostics: &mut Diagnostics,
) -> Option<(Value, Option<PathBuf>)> {
    if let Some(body) = properties.get("DefinitionBody") {
        definition_body(evaluator, logical_id, body, base_dir, diagnostics)
    } else if let Some(uri) = properties.get("DefinitionUri") {
        let Some(location) = uri.as_str() else {
            diagnostics.error(format!(
                "{logical_id}.DefinitionUri: only a local file path is supported locally"
            ));
            return None;
        };
        let (definition, _, file) = local_file(logical_id, location, base_dir, diagnostics)?;
        Some((definition, Some(file)))
    } else {
        diagnostics.error(format!(
            "{logical_id} has neither DefinitionBody nor DefinitionUri; routes from function Events are not read"
        ));
        None
    }
}

/// The definition's `x-amazon-apigateway-binary-media-types`, then the API's `BinaryMediaTypes`.
fn binary_media_types(
    evaluator: &Evaluator<'_>,
    logical_id: &str,
    properties: &Value,
    definition: &Value,
    diagnostics: &mut Diagnostics,
) -> Vec<String> {
    let mut binary_media_types: Vec<String> = definition
        .get("x-amazon-apigateway-binary-media-types")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    if let Some(types) = properties.get("BinaryMediaTypes") {
        match evaluator.eval(types) {
            Ok(Value::Array(types)) => binary_media_types.extend(
                types
                    .iter()
                    .filter_map(Value::as_str)
                    // SAM escapes `/` as `~1` in BinaryMediaTypes.
                    .map(|t| t.replace("~1", "/")),
            ),
            Ok(other) => diagnostics.error(format!(
                "{logical_id}.BinaryMediaTypes must be a list, found {other}"
            )),
            Err(e) => diagnostics.error(format!("{logical_id}.BinaryMediaTypes: {e}")),
        }
    }
    binary_media_types
}

fn definition_body(
    evaluator: &Evaluator<'_>,
    logical_id: &str,
    body: &Value,
    base_dir: &Path,
    diagnostics: &mut Diagnostics,
) -> Option<(Value, Option<PathBuf>)> {
    let (document, origin, file) = match body.get("Fn::Transform") {
        Some(transform) => {
            if transform.get("Name").and_then(Value::as_str) != Some("AWS::Include") {
                diagnostics.error(format!(
                    "{logical_id}.DefinitionBody: only the AWS::Include transform is supported, found {}",
                    transform.get("Name").unwrap_or(&Value::Null)
                ));
                return None;
            }
            let location = transform
                .pointer("/Parameters/Location")
                .map(|l| evaluator.eval_string(l));
            let location = match location {
                Some(Ok(location)) => location,
                Some(Err(e)) => {
                    diagnostics.error(format!("{logical_id}: AWS::Include Location: {e}"));
                    return None;
                }
                None => {
                    diagnostics.error(format!(
                        "{logical_id}: AWS::Include needs Parameters.Location"
                    ));
                    return None;
                }
            };
            let (document, short_forms, file) =
                local_file(logical_id, &location, base_dir, diagnostics)?;
            if short_forms > 0 {
                diagnostics.warn(format!(
                    "{location} uses {short_forms} short-form tag(s) (like !Sub); AWS::Include accepts only the \
                     long form (Fn::Sub), so deploying would fail"
                ));
            }
            (document, location, Some(file))
        }
        None => (body.clone(), format!("{logical_id}.DefinitionBody"), None),
    };
    let mut problems = Vec::new();
    let evaluated = evaluator.eval_lenient(&document, "$", &mut problems);
    for (path, problem) in problems {
        diagnostics.warn(format!("{origin} {path}: {problem}"));
    }
    Some((evaluated, file))
}

fn local_file(
    logical_id: &str,
    location: &str,
    base_dir: &Path,
    diagnostics: &mut Diagnostics,
) -> Option<(Value, usize, PathBuf)> {
    if location.contains("://") {
        diagnostics.error(format!(
            "{logical_id}: definition location `{location}` is not a local file; only local paths are read"
        ));
        return None;
    }
    let path = base_dir.join(location);
    match read_yaml(&path) {
        Ok((document, short_forms)) => Some((document, short_forms, path)),
        Err(e) => {
            diagnostics.error(format!("{logical_id}: {e}"));
            None
        }
    }
}
