//! Reading what API Gateway imports from an OpenAPI 3.0 definition for request validation: which
//! validator an operation uses, its required parameters, and its request body schemas.
//!
//! These are the same facts API Gateway derives on import: an operation's
//! `x-amazon-apigateway-request-validator` (or the document-level default) names an entry of
//! `x-amazon-apigateway-request-validators`; every parameter with `required: true` becomes a
//! required `method.request.{path|querystring|header}.<name>`; each `requestBody` media type
//! becomes a request model.

use serde_json::Value;

use super::failures::SpecError;

/// The keys of an OpenAPI path item that are operations API Gateway imports: its HTTP methods,
/// and `x-amazon-apigateway-any-method` for `ANY`.
pub const OPERATION_KEYS: [&str; 8] = [
    "get",
    "put",
    "post",
    "delete",
    "options",
    "head",
    "patch",
    "x-amazon-apigateway-any-method",
];

/// The JSON pointer of an operation (`/paths/~1users~1{userId}/get`), escaping the path as RFC
/// 6901 requires.
pub fn operation_pointer(resource_path: &str, operation_key: &str) -> String {
    format!(
        "/paths/{}/{operation_key}",
        resource_path.replace('~', "~0").replace('/', "~1")
    )
}

const VALIDATOR_KEY: &str = "x-amazon-apigateway-request-validator";
const VALIDATORS_KEY: &str = "x-amazon-apigateway-request-validators";

/// What a request validator checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ValidatorSettings {
    pub(crate) name: String,
    pub(crate) validate_request_body: bool,
    pub(crate) validate_request_parameters: bool,
}

/// Where a parameter lives, in API Gateway's terms and its sort order (`header` < `path` <
/// `querystring`, the order of `method.request.*` keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum ParameterLocation {
    Header,
    Path,
    QueryString,
}

/// A parameter the request must carry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct RequiredParameter {
    pub(crate) location: ParameterLocation,
    pub(crate) name: String,
}

/// Follows `$ref`s (local JSON pointers only) until a non-reference object is reached.
pub(crate) fn resolve<'a>(spec: &'a Value, value: &'a Value) -> Result<&'a Value, SpecError> {
    let mut current = value;
    for _ in 0..32 {
        let Some(reference) = current.get("$ref").and_then(Value::as_str) else {
            return Ok(current);
        };
        current = pointer(spec, reference)?;
    }
    Err(SpecError::UnresolvedReference {
        reference: value
            .get("$ref")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    })
}

/// Resolves one local reference (`#/components/...`).
pub(crate) fn pointer<'a>(spec: &'a Value, reference: &str) -> Result<&'a Value, SpecError> {
    reference
        .strip_prefix('#')
        .and_then(|pointer| spec.pointer(pointer))
        .ok_or_else(|| SpecError::UnresolvedReference {
            reference: reference.to_owned(),
        })
}

/// The validator that applies to `operation`, if any: its own, else the document default.
pub(crate) fn validator_settings(
    spec: &Value,
    operation: &Value,
) -> Result<Option<ValidatorSettings>, SpecError> {
    let chosen = operation
        .get(VALIDATOR_KEY)
        .filter(|value| !value.is_null())
        .or_else(|| spec.get(VALIDATOR_KEY));
    let name = match chosen {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(name)) => name.clone(),
        Some(_) => {
            return Err(SpecError::malformed(
                VALIDATOR_KEY,
                "a validator is named by a string",
            ));
        }
    };
    let definition = spec
        .get(VALIDATORS_KEY)
        .and_then(|validators| validators.get(&name))
        .ok_or_else(|| SpecError::UnknownValidator { name: name.clone() })?;
    let flag = |key: &str| -> Result<bool, SpecError> {
        match definition.get(key) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(value)) => Ok(*value),
            Some(_) => Err(SpecError::malformed(
                format!("/{VALIDATORS_KEY}/{name}/{key}"),
                "must be a boolean",
            )),
        }
    };
    Ok(Some(ValidatorSettings {
        validate_request_body: flag("validateRequestBody")?,
        validate_request_parameters: flag("validateRequestParameters")?,
        name,
    }))
}

/// The required parameters of an operation: path-item parameters overridden by operation
/// parameters with the same name and location, sorted the way API Gateway lists them.
pub(crate) fn required_parameters(
    spec: &Value,
    path_item: &Value,
    operation: &Value,
) -> Result<Vec<RequiredParameter>, SpecError> {
    let mut merged: Vec<(ParameterLocation, String, bool)> = Vec::new();
    for parameters in [path_item.get("parameters"), operation.get("parameters")]
        .into_iter()
        .flatten()
    {
        let list = parameters
            .as_array()
            .ok_or_else(|| SpecError::malformed("parameters", "must be a list"))?;
        for parameter in list {
            let parameter = resolve(spec, parameter)?;
            let name = parameter
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| SpecError::malformed("parameters", "a parameter needs a name"))?;
            let location = match parameter.get("in").and_then(Value::as_str) {
                Some("path") => ParameterLocation::Path,
                Some("query") => ParameterLocation::QueryString,
                Some("header") => ParameterLocation::Header,
                // API Gateway imports no cookie parameters.
                Some("cookie") => continue,
                _ => {
                    return Err(SpecError::malformed(
                        format!("parameters/{name}"),
                        "`in` must be path, query, header or cookie",
                    ));
                }
            };
            if location == ParameterLocation::Header {
                http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                    SpecError::malformed(
                        format!("parameters/{name}"),
                        "not a valid HTTP header name",
                    )
                })?;
            }
            let required = parameter
                .get("required")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let same = |(l, n, _): &(ParameterLocation, String, bool)| {
                *l == location
                    && if location == ParameterLocation::Header {
                        n.eq_ignore_ascii_case(name)
                    } else {
                        n == name
                    }
            };
            merged.retain(|entry| !same(entry));
            merged.push((location, name.to_owned(), required));
        }
    }
    let mut required: Vec<RequiredParameter> = merged
        .into_iter()
        .filter(|(_, _, required)| *required)
        .map(|(location, name, _)| RequiredParameter { location, name })
        .collect();
    required.sort();
    Ok(required)
}

/// The request body schemas of an operation, by media type (as written in the definition).
pub(crate) fn body_schemas<'a>(
    spec: &'a Value,
    operation: &'a Value,
) -> Result<Vec<(String, &'a Value)>, SpecError> {
    let Some(request_body) = operation.get("requestBody") else {
        return Ok(Vec::new());
    };
    let request_body = resolve(spec, request_body)?;
    let Some(content) = request_body.get("content") else {
        return Ok(Vec::new());
    };
    let content = content
        .as_object()
        .ok_or_else(|| SpecError::malformed("requestBody/content", "must be a map"))?;
    let mut schemas = Vec::new();
    for (media_type, media) in content {
        if let Some(schema) = media.get("schema") {
            schemas.push((media_type.clone(), schema));
        }
    }
    Ok(schemas)
}
