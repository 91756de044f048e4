//! One error type for the whole domain. Each variant is a kind of outcome that the HTTP layer maps to
//! exactly one status code, so adapters and use cases only have to pick the right kind.

use serde::Serialize;

/// A rule that one field of the input broke. `field` is a JSON pointer-like path into the request
/// (`email`, `items[2].quantity`), and `message` is safe to show to the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Everything a use case or a store can fail with.
///
/// The `Display` text of every variant but [`DomainError::Unavailable`]'s source is written for
/// clients. The source of `Unavailable` carries the adapter's own error for the logs only.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The addressed record does not exist.
    #[error("{entity} not found")]
    NotFound { entity: &'static str },

    /// The request is valid but contradicts the current state: a taken email, a forbidden status
    /// transition, a concurrent write that won.
    #[error("{0}")]
    Conflict(String),

    /// The input broke one or more rules.
    #[error("the request is invalid")]
    Validation(Vec<FieldError>),

    /// The client's `If-Match` does not name the current version.
    #[error("the resource has changed since it was read")]
    PreconditionFailed,

    /// An `Idempotency-Key` was reused with a different request.
    #[error("this Idempotency-Key was already used with a different request")]
    IdempotencyKeyReused,

    /// The store could not be reached, or kept throttling after retries. Safe to retry.
    #[error("the service is temporarily unavailable")]
    Unavailable {
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl DomainError {
    /// A validation error about a single field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// Wraps an adapter's error as a retryable outage.
    pub fn unavailable(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Unavailable {
            source: source.into(),
        }
    }
}

/// Collects field errors so a parser reports every broken rule at once instead of the first.
#[derive(Debug, Default)]
pub(crate) struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub(crate) fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// Records the error of a parse, keeping its value when it succeeded.
    pub(crate) fn take<T>(&mut self, result: Result<T, DomainError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(DomainError::Validation(errors)) => {
                self.0.extend(errors);
                None
            }
            Err(other) => {
                self.0.push(FieldError::new("", other.to_string()));
                None
            }
        }
    }

    /// Prefixes the field names of a nested parse (`items[2].` + `quantity`).
    pub(crate) fn take_nested<T>(
        &mut self,
        prefix: &str,
        result: Result<T, DomainError>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(DomainError::Validation(errors)) => {
                self.0.extend(errors.into_iter().map(|e| FieldError {
                    field: format!("{prefix}.{}", e.field),
                    message: e.message,
                }));
                None
            }
            Err(other) => {
                self.0.push(FieldError::new(prefix, other.to_string()));
                None
            }
        }
    }

    pub(crate) fn finish(self) -> Result<(), DomainError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Validation(self.0))
        }
    }
}
