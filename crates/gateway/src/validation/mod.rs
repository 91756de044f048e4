//! API Gateway's request validation, driven by the OpenAPI definition, so that a request the
//! deployed API refuses with a `400` is refused locally with the same `400`.
//!
//! In AWS the definition says, per operation, which *request validator* applies
//! (`x-amazon-apigateway-request-validator`, defaulting to the document-level one) and the
//! validators say what they check (`x-amazon-apigateway-request-validators`, each with
//! `validateRequestParameters` and `validateRequestBody`). API Gateway then:
//!
//! * checks that every required parameter (path, query string, header) is present and not blank,
//!   and nothing more: no types, no formats. A failure answers
//!   `{"message": "Missing required request parameters: [x-header, userId, limit]"}` listing
//!   headers, then path parameters, then query parameters;
//! * validates the body against the JSON Schema (draft 4) model of the request's content type
//!   (`application/json` when the request has none; no model for that type means no check). An
//!   empty body is validated as `{}`; a body that is not JSON fails. A failure answers
//!   `{"message": "Invalid request body"}`;
//! * renders either failure through the definition's `x-amazon-apigateway-gateway-responses`
//!   (`BAD_REQUEST_PARAMETERS`, `BAD_REQUEST_BODY`, falling back to `DEFAULT_4XX`).
//!
//! Parameters are checked before the body. The wording, the ordering and the empty-body rule are
//! those recorded from AWS by LocalStack's snapshot tests and API Gateway's documentation.
//!
//! Compiling JSON Schemas is the expensive part, so each operation's [`RequestValidator`] is built
//! once, when the API model is loaded (`config`), and stored on its route; a definition the
//! validators cannot use is a start-up error ([`SpecError`]), never a failed request.
//! [`OperationValidators`] compiles every operation of a definition at once, for checking
//! validation on its own.

mod failures;
mod messages;
mod schema;
mod spec;

use std::collections::HashMap;

use serde_json::Value;

pub use failures::{SpecError, ValidationFailure};
pub use schema::NullableKeyword;
pub use spec::{OPERATION_KEYS, operation_pointer};

use crate::request::RoutedRequest;
use schema::BodySchema;
use spec::{ParameterLocation, RequiredParameter};

/// Choices that change how a definition is read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValidationOptions {
    /// How `nullable: true` is treated (default: ignored, like API Gateway).
    pub nullable: NullableKeyword,
}

impl ValidationOptions {
    /// Options that translate `nullable: true` into draft 4 instead of ignoring it.
    pub fn allowing_null_for_nullable() -> Self {
        Self {
            nullable: NullableKeyword::AllowNull,
        }
    }
}

/// The request validation of one operation.
#[derive(Debug)]
pub struct RequestValidator {
    validator_name: Option<String>,
    required_parameters: Vec<RequiredParameter>,
    /// `(media type, model)`, empty when bodies are not validated.
    bodies: Vec<(String, BodySchema)>,
}

impl RequestValidator {
    /// The validation of an operation no request validator applies to: it checks nothing.
    pub fn disabled() -> Self {
        Self {
            validator_name: None,
            required_parameters: Vec::new(),
            bodies: Vec::new(),
        }
    }

    /// Builds the validation of `operation` (an OpenAPI operation object) found in `path_item` of
    /// `spec` (the whole definition, as JSON), with default [`ValidationOptions`].
    pub fn from_operation(
        spec: &Value,
        path_item: &Value,
        operation: &Value,
    ) -> Result<Self, SpecError> {
        Self::from_operation_with(spec, path_item, operation, ValidationOptions::default())
    }

    /// [`from_operation`](Self::from_operation) with explicit options.
    pub fn from_operation_with(
        spec: &Value,
        path_item: &Value,
        operation: &Value,
        options: ValidationOptions,
    ) -> Result<Self, SpecError> {
        let Some(settings) = spec::validator_settings(spec, operation)? else {
            return Ok(Self::disabled());
        };
        let required_parameters = if settings.validate_request_parameters {
            spec::required_parameters(spec, path_item, operation)?
        } else {
            Vec::new()
        };
        let mut bodies = Vec::new();
        if settings.validate_request_body {
            for (media_type, schema) in spec::body_schemas(spec, operation)? {
                let location = format!("requestBody/content/{media_type}/schema");
                let compiled = schema::compile(spec, schema, &location, options.nullable)?;
                bodies.push((media_type.to_ascii_lowercase(), compiled));
            }
        }
        Ok(Self {
            validator_name: Some(settings.name),
            required_parameters,
            bodies,
        })
    }

    /// The name of the request validator in force, if any.
    pub fn validator_name(&self) -> Option<&str> {
        self.validator_name.as_deref()
    }

    /// Whether this operation validates anything at all.
    pub fn is_enabled(&self) -> bool {
        !self.required_parameters.is_empty() || !self.bodies.is_empty()
    }

    /// Validates a routed request: required parameters first, then the body.
    pub fn validate(&self, request: &RoutedRequest) -> Result<(), ValidationFailure> {
        let missing: Vec<String> = self
            .required_parameters
            .iter()
            .filter(|parameter| !has_parameter(request, parameter))
            .map(|parameter| parameter.name.clone())
            .collect();
        if !missing.is_empty() {
            return Err(ValidationFailure::MissingParameters { names: missing });
        }
        let Some(model) = self.model_for(&request.headers) else {
            return Ok(());
        };
        let body = if request.body.is_empty() {
            Value::Object(serde_json::Map::new())
        } else {
            serde_json::from_slice(&request.body).map_err(|error| {
                ValidationFailure::InvalidBody {
                    problems: vec![format!("Invalid JSON: {error}")],
                }
            })?
        };
        let errors: Vec<_> = model.validator.iter_errors(&body).collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ValidationFailure::InvalidBody {
                problems: messages::describe_all(errors),
            })
        }
    }

    /// The model for the request's content type (`application/json` when absent), else the
    /// `$default` model, else none.
    fn model_for(&self, headers: &http::HeaderMap) -> Option<&BodySchema> {
        let content_type = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map_or("application/json".to_owned(), |value| {
                value
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            });
        self.bodies
            .iter()
            .find(|(media_type, _)| *media_type == content_type)
            .or_else(|| {
                self.bodies
                    .iter()
                    .find(|(media_type, _)| media_type == "$default")
            })
            .map(|(_, model)| model)
    }
}

/// Whether `parameter` is present with a non-blank value: API Gateway's rule for a required
/// parameter is "included and not blank"; its type or format is never checked (that is the
/// function's job).
fn has_parameter(request: &RoutedRequest, parameter: &RequiredParameter) -> bool {
    let name = parameter.name.as_str();
    match parameter.location {
        ParameterLocation::Header => request
            .headers
            .get_all(name)
            .iter()
            .any(|value| !value.as_bytes().trim_ascii().is_empty()),
        ParameterLocation::Path => request
            .path_parameters
            .get(name)
            .is_some_and(|value| !value.trim().is_empty()),
        ParameterLocation::QueryString => request.query.parameters().iter().any(|parameter| {
            parameter.name == name.as_bytes() && !parameter.value_text().trim().is_empty()
        }),
    }
}

/// The request validation of every operation in a definition, keyed like API Gateway's methods:
/// upper-case HTTP method (`ANY` for `x-amazon-apigateway-any-method`) and resource path
/// (`/users/{userId}`).
#[derive(Debug, Default)]
pub struct OperationValidators {
    validators: HashMap<(String, String), RequestValidator>,
    /// JSON pointer of each operation (`/paths/~1users/get`) to its key in `validators`.
    pointers: HashMap<String, (String, String)>,
}

impl OperationValidators {
    /// Builds the validation of every operation of `spec` with default options.
    pub fn from_spec(spec: &Value) -> Result<Self, SpecError> {
        Self::from_spec_with(spec, ValidationOptions::default())
    }

    /// [`from_spec`](Self::from_spec) with explicit options.
    pub fn from_spec_with(spec: &Value, options: ValidationOptions) -> Result<Self, SpecError> {
        let mut validators = HashMap::new();
        let mut pointers = HashMap::new();
        let Some(paths) = spec.get("paths") else {
            return Ok(Self {
                validators,
                pointers,
            });
        };
        let paths = paths
            .as_object()
            .ok_or_else(|| SpecError::malformed("/paths", "must be a map"))?;
        for (resource_path, path_item) in paths {
            let path_item = spec::resolve(spec, path_item)?;
            for method in OPERATION_KEYS {
                let Some(operation) = path_item.get(method) else {
                    continue;
                };
                let validator =
                    RequestValidator::from_operation_with(spec, path_item, operation, options)
                        .map_err(|error| match error {
                            SpecError::Malformed { location, problem } => SpecError::Malformed {
                                location: format!("{method} {resource_path}: {location}"),
                                problem,
                            },
                            SpecError::InvalidSchema { location, problem } => {
                                SpecError::InvalidSchema {
                                    location: format!("{method} {resource_path}: {location}"),
                                    problem,
                                }
                            }
                            other => other,
                        })?;
                let key = (
                    if method == "x-amazon-apigateway-any-method" {
                        "ANY".to_owned()
                    } else {
                        method.to_ascii_uppercase()
                    },
                    resource_path.clone(),
                );
                pointers.insert(spec::operation_pointer(resource_path, method), key.clone());
                validators.insert(key, validator);
            }
        }
        Ok(Self {
            validators,
            pointers,
        })
    }

    /// The validation of `method` on `resource_path`, if the definition has that operation.
    pub fn get(&self, method: &str, resource_path: &str) -> Option<&RequestValidator> {
        self.validators
            .get(&(method.to_ascii_uppercase(), resource_path.to_owned()))
    }

    /// The validation of the operation at `operation_pointer`, a JSON pointer into the definition
    /// such as `/paths/~1users~1{userId}/get`.
    pub fn get_by_pointer(&self, operation_pointer: &str) -> Option<&RequestValidator> {
        self.pointers
            .get(operation_pointer)
            .and_then(|key| self.validators.get(key))
    }

    /// How many operations the definition has.
    pub fn len(&self) -> usize {
        self.validators.len()
    }

    /// Whether the definition has no operations.
    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
    }
}
