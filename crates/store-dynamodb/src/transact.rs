//! Running `TransactWriteItems`, and telling why one was cancelled.
//!
//! DynamoDB cancels a transaction for two very different reasons. A failed condition
//! (`ConditionalCheckFailed`) is an answer: the email is taken, the version moved on, the key was
//! used. A `TransactionConflict` is not: another transaction held one of the items for a moment, and
//! the outcome of ours is unknown until it is tried again. So conflicts are retried here with jittered
//! backoff, and only cancellations that carry a failed condition reach the caller.
//!
//! Every call carries a `ClientRequestToken`, fresh for each call and therefore the same across the
//! SDK's own retries of it (the SDK serialises the input once and resends those bytes). Without one,
//! a transaction that DynamoDB applied but whose answer was lost (a timeout, a dropped connection, a
//! `500` after the commit) would be sent again by the SDK and refused by its own conditions: a new
//! user's email "taken" by that very user, a version "moved on" by that very write, and the API
//! would answer a wrong `409`/`412`. With the token, DynamoDB recognises the retry for 10 minutes and
//! answers it as it answered the first. (The SDK fills in a random token itself when none is given;
//! setting it here makes the guarantee this crate's, not a detail of generated code, and puts the
//! token in the logs of a failed write.) Retries of this module's own, after a cancellation, take a
//! new token: a cancelled transaction applied nothing, and the next try is a new write.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::Duration;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{CancellationReason, TransactWriteItem};
use rill_core::DomainError;

use crate::attributes::Item;
use crate::error::sdk_failure;
use crate::{DynamoError, DynamoStore};

/// Tries of one write that keeps meeting concurrent transactions.
pub(crate) const MAX_CONFLICT_ATTEMPTS: u32 = 8;

const CONDITION_FAILED: &str = "ConditionalCheckFailed";
const TRANSACTION_CONFLICT: &str = "TransactionConflict";

/// What became of a transaction that DynamoDB answered.
#[derive(Debug)]
pub(crate) enum Transacted {
    /// Every write was applied.
    Applied,
    /// No write was applied because at least one condition failed. One reason per item, in order.
    Refused(Refusal),
}

/// The per-item reasons of a refused transaction.
#[derive(Debug)]
pub(crate) struct Refusal(Vec<CancellationReason>);

impl Refusal {
    /// Whether the condition of item `index` failed.
    pub(crate) fn failed(&self, index: usize) -> bool {
        self.0
            .get(index)
            .is_some_and(|r| r.code() == Some(CONDITION_FAILED))
    }

    /// The stored item whose condition failed, when the write asked for it
    /// (`ReturnValuesOnConditionCheckFailure::AllOld`). `None` also means there was no such item.
    pub(crate) fn old_item(&mut self, index: usize) -> Option<Item> {
        self.0.get_mut(index).and_then(|r| r.item.take())
    }

    /// The reason codes, for logs.
    pub(crate) fn describe(&self) -> String {
        describe(&self.0)
    }
}

fn describe(reasons: &[CancellationReason]) -> String {
    reasons
        .iter()
        .map(|r| r.code().unwrap_or("?"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl DynamoStore {
    /// Runs a transaction, retrying it while it only loses to concurrent transactions.
    pub(crate) async fn transact(
        &self,
        operation: &'static str,
        items: Vec<TransactWriteItem>,
    ) -> Result<Transacted, DomainError> {
        for attempt in 0..MAX_CONFLICT_ATTEMPTS {
            let token = client_request_token();
            let result = self
                .client()
                .await
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .client_request_token(&token)
                .send()
                .await;
            let error = match result {
                Ok(_) => return Ok(Transacted::Applied),
                Err(error) => error,
            };
            tracing::debug!(operation, token, attempt, "transaction not applied");
            let reasons = match &error {
                SdkError::ServiceError(service) => match service.err() {
                    TransactWriteItemsError::TransactionCanceledException(cancelled) => {
                        cancelled.cancellation_reasons().to_vec()
                    }
                    _ => return Err(sdk_failure(operation, error)),
                },
                _ => return Err(sdk_failure(operation, error)),
            };
            let code = |r: &CancellationReason| r.code().unwrap_or("None").to_owned();
            if reasons.iter().any(|r| code(r) == CONDITION_FAILED) {
                return Ok(Transacted::Refused(Refusal(reasons)));
            }
            let only_conflicts = reasons
                .iter()
                .all(|r| matches!(code(r).as_str(), "None" | TRANSACTION_CONFLICT));
            if !only_conflicts {
                return Err(DynamoError::Cancelled {
                    operation,
                    reasons: describe(&reasons),
                }
                .into());
            }
            contention_pause(attempt).await;
        }
        Err(DynamoError::Contention { operation }.into())
    }
}

/// A new `ClientRequestToken`: a random UUID, 36 characters (DynamoDB takes 1 to 36), unique to
/// one logical write so that only the SDK's retries of that write share it.
pub(crate) fn client_request_token() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

/// Waits before try `attempt + 1` of a write that lost to a concurrent one: exponential from 10 ms,
/// capped at 400 ms, with full jitter so the losers do not collide again in step.
pub(crate) async fn contention_pause(attempt: u32) {
    let ceiling_ms = (10u64 << attempt.min(6)).min(400);
    let jitter = RandomState::new().hash_one(attempt) % (ceiling_ms + 1);
    tokio::time::sleep(Duration::from_millis(jitter.max(1))).await;
}
