//! This adapter's own failures. None of them is the client's fault, so each one reaches the domain as
//! [`DomainError::Unavailable`] with a [`DynamoError`] as its source: the HTTP layer answers a generic
//! `503` and logs the source chain, which names the operation and the SDK's error.

use std::error::Error as StdError;
use std::fmt::Debug;

use aws_sdk_dynamodb::error::SdkError;
use rill_core::DomainError;

/// Why a DynamoDB call could not give the domain an answer.
#[derive(Debug, thiserror::Error)]
pub enum DynamoError {
    /// The SDK call failed: no connection, a timeout, throttling after the SDK's retries, a 5xx, or a
    /// request DynamoDB refused.
    #[error("DynamoDB {operation} failed")]
    Sdk {
        operation: &'static str,
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },

    /// A transaction was cancelled for a reason other than a failed condition (throttling inside the
    /// transaction, a validation error).
    #[error("DynamoDB {operation} was cancelled: {reasons}")]
    Cancelled {
        operation: &'static str,
        reasons: String,
    },

    /// Concurrent transactions on the same items kept winning after every retry.
    #[error("DynamoDB {operation} kept conflicting with concurrent transactions")]
    Contention { operation: &'static str },

    /// An item that does not hold a valid domain value.
    #[error("item {key} in table {table} is corrupt: {problem}")]
    CorruptItem {
        table: String,
        key: String,
        problem: String,
    },

    /// A position this store could not encode (an index key that is not a string).
    #[error("cannot page from this key: {0}")]
    Position(String),
}

impl From<DynamoError> for DomainError {
    fn from(error: DynamoError) -> Self {
        DomainError::unavailable(error)
    }
}

/// The domain error for an SDK call that failed for any reason the caller did not handle itself.
pub(crate) fn sdk_failure<E, R>(operation: &'static str, error: SdkError<E, R>) -> DomainError
where
    E: StdError + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    DynamoError::Sdk {
        operation,
        source: Box::new(error),
    }
    .into()
}

/// The domain error for a request this crate composed but the SDK's builder refused (a required field
/// left unset): a bug, reported like an outage rather than a panic.
pub(crate) fn unbuildable(
    operation: &'static str,
    error: impl StdError + Send + Sync + 'static,
) -> DomainError {
    DynamoError::Sdk {
        operation,
        source: Box::new(error),
    }
    .into()
}

/// The domain error for an item that cannot be read as a domain value. Logged here, because the
/// item's key is what an operator needs to find and repair it.
pub(crate) fn corrupt_item(table: &str, key: &str, problem: impl Into<String>) -> DomainError {
    let problem = problem.into();
    tracing::error!(table, key, problem = %problem, "corrupt DynamoDB item");
    DynamoError::CorruptItem {
        table: table.to_owned(),
        key: key.to_owned(),
        problem,
    }
    .into()
}
