//! The two ways validation can fail: the API definition cannot be turned into validators (a
//! start-up error, [`SpecError`]), or a request breaks the rules (a `400`, [`ValidationFailure`]).

use http::StatusCode;

/// The API definition cannot be turned into request validators. Raised when the validators are
/// built, so a broken definition stops the gateway at start-up instead of failing requests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// An operation names a validator that `x-amazon-apigateway-request-validators` lacks.
    #[error("request validator '{name}' is not defined in x-amazon-apigateway-request-validators")]
    UnknownValidator {
        /// The validator name.
        name: String,
    },
    /// A `$ref` does not point at anything in this document.
    #[error("reference '{reference}' does not resolve within the API definition")]
    UnresolvedReference {
        /// The `$ref` value.
        reference: String,
    },
    /// A part of the definition does not have the shape OpenAPI requires.
    #[error("{location}: {problem}")]
    Malformed {
        /// A JSON pointer into the definition.
        location: String,
        /// What is wrong.
        problem: String,
    },
    /// A request body schema is not a valid JSON Schema (draft 4).
    #[error("{location}: the schema is not valid JSON Schema draft 4: {problem}")]
    InvalidSchema {
        /// A JSON pointer into the definition.
        location: String,
        /// What the schema compiler reported.
        problem: String,
    },
}

impl SpecError {
    pub(crate) fn malformed(location: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Malformed {
            location: location.into(),
            problem: problem.into(),
        }
    }
}

/// A request that API Gateway's request validator would refuse, with everything needed to answer
/// it the way API Gateway does.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValidationFailure {
    /// Required parameters are absent or blank (`BAD_REQUEST_PARAMETERS`).
    MissingParameters {
        /// Parameter names in API Gateway's order: headers, then path, then query string, each
        /// sorted by name.
        names: Vec<String>,
    },
    /// The body is not JSON, or does not match the operation's schema (`BAD_REQUEST_BODY`).
    InvalidBody {
        /// One line per problem, in the wording of the validator API Gateway runs (see
        /// [`validation_error_string`](Self::validation_error_string)).
        problems: Vec<String>,
    },
}

impl ValidationFailure {
    /// Always `400 Bad Request`.
    pub fn status(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }

    /// `$context.error.message`: `Missing required request parameters: [a, b]` or
    /// `Invalid request body`.
    pub fn message(&self) -> String {
        match self {
            Self::MissingParameters { names } => {
                format!(
                    "Missing required request parameters: [{}]",
                    names.join(", ")
                )
            }
            Self::InvalidBody { .. } => "Invalid request body".to_owned(),
        }
    }

    /// `$context.error.validationErrorString`: the problems as a bracketed list, with double quotes
    /// backslash-escaped so that the string can sit inside a JSON string in a template, as API
    /// Gateway's does (`[object has missing required properties ([\"name\"])]`). For missing
    /// parameters it is the message itself.
    pub fn validation_error_string(&self) -> String {
        match self {
            Self::MissingParameters { .. } => self.message(),
            Self::InvalidBody { problems } => {
                let joined = format!("[{}]", problems.join(", "));
                let quoted = serde_json::to_string(&joined).expect("strings serialise");
                quoted[1..quoted.len() - 1].to_owned()
            }
        }
    }

    /// The gateway response type that renders this failure.
    pub fn response_type(&self) -> &'static str {
        match self {
            Self::MissingParameters { .. } => "BAD_REQUEST_PARAMETERS",
            Self::InvalidBody { .. } => "BAD_REQUEST_BODY",
        }
    }

    /// The `x-amzn-ErrorType` header value.
    pub fn error_type(&self) -> &'static str {
        "BadRequestException"
    }

    /// The default response body, `{"message":"..."}`.
    pub fn body(&self) -> String {
        serde_json::json!({ "message": self.message() }).to_string()
    }
}

impl std::fmt::Display for ValidationFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for ValidationFailure {}
