//! Bulk loading for seed data: users with their email claims, and orders, written with
//! `BatchWriteItem` in the same items the API's own writes store.
//!
//! A batch put has no conditions, so it must only go where nothing can collide: `scripts/seed`
//! refuses a users table that holds any user (then no email is claimed), and seeded ids are UUIDv7 of
//! seeded times, which no id the API mints can equal. Putting the same seed again writes the same
//! items again. DynamoDB may leave part of a batch unprocessed under load; those items are sent again
//! with a growing pause, as the API reference asks
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html>).

use std::time::Duration;

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use rill_core::{Order, User};
use tokio::task::JoinSet;

use crate::attributes::Item;
use crate::order_item::order_item;
use crate::user_item::{claim_item, user_item};
use crate::{DynamoError, DynamoStore};

/// Items per `BatchWriteItem`: DynamoDB's maximum.
const BATCH_ITEMS: usize = 25;
/// Batches in flight at once.
const BATCHES_IN_FLIGHT: usize = 8;
/// Tries of one batch whose items keep coming back unprocessed.
const MAX_BATCH_TRIES: u32 = 8;

impl DynamoStore {
    /// Puts each user and its email claim.
    pub async fn bulk_put_users(&self, users: &[User]) -> Result<(), DynamoError> {
        let items = users
            .iter()
            .flat_map(|user| [user_item(user), claim_item(user)])
            .collect();
        self.batch_put(self.tables.users.clone(), items).await
    }

    /// Puts each order.
    pub async fn bulk_put_orders(&self, orders: &[Order]) -> Result<(), DynamoError> {
        let items = orders
            .iter()
            .map(|order| {
                order_item(order).map_err(|error| DynamoError::CorruptItem {
                    table: self.tables.orders.clone(),
                    key: order.id.to_string(),
                    problem: error.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.batch_put(self.tables.orders.clone(), items).await
    }

    async fn batch_put(&self, table: String, items: Vec<Item>) -> Result<(), DynamoError> {
        let mut batches = items.chunks(BATCH_ITEMS).map(<[Item]>::to_vec);
        let mut in_flight = JoinSet::new();
        loop {
            while in_flight.len() < BATCHES_IN_FLIGHT {
                let Some(batch) = batches.next() else { break };
                let store = self.clone();
                let table = table.clone();
                in_flight.spawn(async move { store.put_batch(&table, batch).await });
            }
            match in_flight.join_next().await {
                Some(Ok(Ok(()))) => {}
                Some(Ok(Err(error))) => return Err(error),
                Some(Err(panicked)) => {
                    return Err(DynamoError::Sdk {
                        operation: "BatchWriteItem",
                        source: Box::new(panicked),
                    });
                }
                None => return Ok(()),
            }
        }
    }

    /// One `BatchWriteItem` of at most 25 puts, sent again while items come back unprocessed.
    async fn put_batch(&self, table: &str, batch: Vec<Item>) -> Result<(), DynamoError> {
        let mut requests = batch
            .into_iter()
            .map(|item| {
                let put = PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map_err(|e| sdk_error(Box::new(e)))?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<Vec<_>, DynamoError>>()?;
        for attempt in 0..MAX_BATCH_TRIES {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(50 << attempt.min(5))).await;
            }
            let output = self
                .client()
                .await
                .batch_write_item()
                .request_items(table, requests)
                .send()
                .await
                .map_err(|e| sdk_error(Box::new(e)))?;
            requests = output
                .unprocessed_items
                .and_then(|mut left| left.remove(table))
                .unwrap_or_default();
            if requests.is_empty() {
                return Ok(());
            }
        }
        Err(DynamoError::Sdk {
            operation: "BatchWriteItem",
            source: format!(
                "{} items still unprocessed after {MAX_BATCH_TRIES} tries",
                requests.len()
            )
            .into(),
        })
    }
}

fn sdk_error(source: Box<dyn std::error::Error + Send + Sync>) -> DynamoError {
    DynamoError::Sdk {
        operation: "BatchWriteItem",
        source,
    }
}
