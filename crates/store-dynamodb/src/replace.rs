//! Replacing an item only if its stored version is the one the writer read: the optimistic
//! concurrency behind `PATCH /users/{userId}` (when the email key stays) and `PATCH /orders/{orderId}`.
//!
//! One conditional `PutItem` does it, and two things make its answer trustworthy, both learnt from
//! races that each table once got wrong on its own:
//! - the put carries a fresh write token ([`with_write_token`]), so when the SDK retries a put that
//!   DynamoDB had already applied, the failed condition's stored item equals ours and the write is
//!   reported as done, while two clients writing equal values in one millisecond still differ;
//! - a `TransactionConflictException` (a transaction held the item for a moment) is not an answer:
//!   it is retried with the same jittered backoff as transactions, up to [`MAX_CONFLICT_ATTEMPTS`].

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use rill_core::DomainError;

use crate::attributes::{Item, n, with_write_token};
use crate::error::sdk_failure;
use crate::transact::{MAX_CONFLICT_ATTEMPTS, contention_pause};
use crate::user_item::VERSION;
use crate::{DynamoError, DynamoStore};

impl DynamoStore {
    /// Puts `item` into `table` if the stored item's version is `previous`. `NotFound { entity }`
    /// when the item is gone, `PreconditionFailed` when its version moved on.
    pub(crate) async fn replace_if_version(
        &self,
        table: &str,
        item: Item,
        previous: u64,
        entity: &'static str,
    ) -> Result<(), DomainError> {
        let item = with_write_token(item);
        for attempt in 0..MAX_CONFLICT_ATTEMPTS {
            let result = self
                .client()
                .await
                .put_item()
                .table_name(table)
                .set_item(Some(item.clone()))
                .condition_expression("#version = :previous")
                .expression_attribute_names("#version", VERSION)
                .expression_attribute_values(":previous", n(previous))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .send()
                .await;
            let error = match result {
                Ok(_) => return Ok(()),
                Err(error) => error,
            };
            match error.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    return match &failed.item {
                        // The SDK retried a put that had already been applied: the item, token
                        // included, is ours.
                        Some(old) if *old == item => Ok(()),
                        Some(_) => Err(DomainError::PreconditionFailed),
                        None => Err(DomainError::NotFound { entity }),
                    };
                }
                Some(PutItemError::TransactionConflictException(_)) => {
                    contention_pause(attempt).await;
                }
                _ => return Err(sdk_failure("PutItem", error)),
            }
        }
        Err(DynamoError::Contention {
            operation: "PutItem",
        }
        .into())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn users_and_orders_keep_their_version_in_the_same_attribute() {
        assert_eq!(crate::user_item::VERSION, crate::order_item::VERSION);
    }
}
