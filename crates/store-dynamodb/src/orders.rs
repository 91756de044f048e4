//! Orders on the orders and idempotency tables.
//!
//! Creating an order is one transaction: the order (only if its id is new), a check that its user
//! exists, and with an `Idempotency-Key` the key's record (only if the key is unseen or expired).
//! When the record's condition fails, the record that made it fail comes back with the cancellation,
//! and tells a retry of the same request (answer with the first order) from a reuse of the key
//! (refuse).
//!
//! Listing with a user id queries the `byUser` index newest first, with the time range in the key
//! condition and the status as a filter. Listing without one scans the table with a filter: it reads
//! every order, so it is for exports and small tables (see `docs/data-model.md`).

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    ConditionCheck, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use rill_core::{
    CreateOrderOutcome, DomainError, IdempotentOrderCreate, Order, OrderFilter, OrderId,
    OrderReader, OrderWriter, Page, PageRequest,
};

use crate::attributes::{Item, get_s, key_text, n, s};
use crate::error::{corrupt_item, sdk_failure, unbuildable};
use crate::idempotency_item::{
    IdempotencyRecord, epoch_seconds_floor, record_from_item, record_item,
};
use crate::order_item::{
    CREATED_AT, MAX_CREATED_MILLIS, STATUS, created_bound, order_from_item, order_item,
};
use crate::paging::{Batch, FilledPage, Listing, fill_page};
use crate::position::invalid_cursor;
use crate::schema::{BY_USER_INDEX, CREATED_KEY, EXPIRES_AT, PK, USER_ID};
use crate::transact::Transacted;
use crate::user_item::user_pk;
use crate::{DynamoError, DynamoStore, position};

/// Items of the create transaction, by index in `TransactItems` and `CancellationReasons`.
const ORDER: usize = 0;
const USER_CHECK: usize = 1;
const RECORD: usize = 2;

/// How often a create retries when the key's record vanished (expired or deleted) between the
/// cancelled write and the read that looked at it.
const MAX_RECORD_RACES: usize = 3;
/// Reads of a replayed order before giving up. The order was written in the same transaction as
/// the record that names it, so a strongly consistent read finds it at once; the retries only ride
/// out a transient miss.
const REPLAY_READS: u32 = 3;

const SCAN_KEY: &[&str] = &[PK];
const BY_USER_KEY: &[&str] = &[PK, USER_ID, CREATED_KEY];

/// The bounds of a filter's creation-time range as `createdKey` prefixes (lower inclusive, upper
/// exclusive), or `None` when no order can match.
fn created_key_range(filter: &OrderFilter) -> Option<(Option<String>, Option<String>)> {
    let from = filter
        .created_from
        .map(|t| t.as_millis())
        .filter(|&f| f > 0);
    let to = filter
        .created_to
        .map(|t| t.as_millis())
        .filter(|&t| t <= MAX_CREATED_MILLIS);
    if from.is_some_and(|f| f > MAX_CREATED_MILLIS) || to.is_some_and(|t| t <= 0) {
        return None;
    }
    if let (Some(from), Some(to)) = (from, to)
        && from >= to
    {
        return None;
    }
    Some((from.map(created_bound), to.map(created_bound)))
}

impl DynamoStore {
    fn order_from(&self, item: &Item) -> Result<Order, DomainError> {
        order_from_item(item)
            .map_err(|problem| corrupt_item(&self.tables.orders, key_text(item), problem))
    }

    fn record_from(&self, item: &Item) -> Result<IdempotencyRecord, DomainError> {
        record_from_item(item)
            .map_err(|problem| corrupt_item(&self.tables.idempotency, key_text(item), problem))
    }

    async fn read_order(&self, id: OrderId) -> Result<Option<Order>, DomainError> {
        let output = self
            .client()
            .await
            .get_item()
            .table_name(&self.tables.orders)
            .key(PK, s(id.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_failure("GetItem", e))?;
        output
            .item
            .as_ref()
            .map(|item| self.order_from(item))
            .transpose()
    }

    /// The record of an idempotency key, read strongly consistently.
    async fn read_record(
        &self,
        idempotency: &IdempotentOrderCreate,
    ) -> Result<Option<IdempotencyRecord>, DomainError> {
        let output = self
            .client()
            .await
            .get_item()
            .table_name(&self.tables.idempotency)
            .key(PK, s(idempotency.key.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_failure("GetItem", e))?;
        output
            .item
            .as_ref()
            .map(|item| self.record_from(item))
            .transpose()
    }

    /// The order a live record names, for a replay.
    async fn replayed(&self, record: &IdempotencyRecord) -> Result<Order, DomainError> {
        for attempt in 0..REPLAY_READS {
            if let Some(order) = self.read_order(record.order_id).await? {
                return Ok(order);
            }
            tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
        }
        Err(corrupt_item(
            &self.tables.orders,
            &record.order_id.to_string(),
            "an idempotency record names an order that does not exist",
        ))
    }

    fn create_items(
        &self,
        order: &Order,
        idempotency: Option<&IdempotentOrderCreate>,
    ) -> Result<Vec<TransactWriteItem>, DomainError> {
        let put_order = Put::builder()
            .table_name(&self.tables.orders)
            .set_item(Some(order_item(order)?))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .build()
            .map_err(|e| unbuildable("TransactWriteItems", e))?;
        let user_exists = ConditionCheck::builder()
            .table_name(&self.tables.users)
            .key(PK, s(user_pk(order.user_id)))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .build()
            .map_err(|e| unbuildable("TransactWriteItems", e))?;
        let mut items = vec![
            TransactWriteItem::builder().put(put_order).build(),
            TransactWriteItem::builder()
                .condition_check(user_exists)
                .build(),
        ];
        if let Some(idempotency) = idempotency {
            // The order's creation time is the request's "now": a record that expired by then is
            // treated as never written, whether or not TTL has deleted it yet.
            let put_record = Put::builder()
                .table_name(&self.tables.idempotency)
                .set_item(Some(record_item(idempotency, order.id)))
                .condition_expression("attribute_not_exists(#pk) OR #expiresAt <= :now")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#expiresAt", EXPIRES_AT)
                .expression_attribute_values(":now", n(epoch_seconds_floor(order.created_at)))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .build()
                .map_err(|e| unbuildable("TransactWriteItems", e))?;
            items.push(TransactWriteItem::builder().put(put_record).build());
        }
        Ok(items)
    }

    async fn query_by_user(
        &self,
        filter: &OrderFilter,
        page: &PageRequest,
        range: (Option<String>, Option<String>),
    ) -> Result<FilledPage, DomainError> {
        let Some(user_id) = filter.user_id else {
            return Err(invalid_cursor());
        };
        let user_id = user_id.to_string();
        let start = page
            .after
            .as_deref()
            .map(|bytes| position::decode(bytes, BY_USER_KEY))
            .transpose()?;
        if let Some(start) = &start
            && get_s(start, USER_ID) != Ok(user_id.as_str())
        {
            return Err(invalid_cursor());
        }
        let mut key_condition = String::from("#userId = :userId");
        match &range {
            (Some(_), Some(_)) => key_condition.push_str(" AND #createdKey BETWEEN :from AND :to"),
            (Some(_), None) => key_condition.push_str(" AND #createdKey >= :from"),
            (None, Some(_)) => key_condition.push_str(" AND #createdKey < :to"),
            (None, None) => {}
        }
        let listing = Listing {
            filtered: filter.status.is_some(),
            key_names: BY_USER_KEY,
        };
        let client = self.client().await;
        fill_page(listing, page.limit, start, |start, limit| {
            let mut query = client
                .query()
                .table_name(&self.tables.orders)
                .index_name(BY_USER_INDEX)
                .key_condition_expression(&key_condition)
                .expression_attribute_names("#userId", USER_ID)
                .expression_attribute_values(":userId", s(&user_id))
                .scan_index_forward(false)
                .set_exclusive_start_key(start)
                .limit(limit);
            if range.0.is_some() || range.1.is_some() {
                query = query.expression_attribute_names("#createdKey", CREATED_KEY);
            }
            if let Some(from) = &range.0 {
                query = query.expression_attribute_values(":from", s(from));
            }
            if let Some(to) = &range.1 {
                // BETWEEN is inclusive, but no key equals a bare prefix, so `:to` still excludes
                // every order created at that instant.
                query = query.expression_attribute_values(":to", s(to));
            }
            if let Some(status) = filter.status {
                query = query
                    .filter_expression("#status = :status")
                    .expression_attribute_names("#status", STATUS)
                    .expression_attribute_values(":status", s(status.as_str()));
            }
            async move {
                let output = query.send().await.map_err(|e| sdk_failure("Query", e))?;
                Ok(Batch {
                    items: output.items.unwrap_or_default(),
                    last_evaluated_key: output.last_evaluated_key,
                })
            }
        })
        .await
    }

    async fn scan_orders(
        &self,
        filter: &OrderFilter,
        page: &PageRequest,
    ) -> Result<FilledPage, DomainError> {
        let start = page
            .after
            .as_deref()
            .map(|bytes| position::decode(bytes, SCAN_KEY))
            .transpose()?;
        let mut conditions = Vec::new();
        if filter.status.is_some() {
            conditions.push("#status = :status");
        }
        if filter.created_from.is_some() {
            conditions.push("#createdAt >= :from");
        }
        if filter.created_to.is_some() {
            conditions.push("#createdAt < :to");
        }
        let filter_expression = conditions.join(" AND ");
        let listing = Listing {
            filtered: !conditions.is_empty(),
            key_names: SCAN_KEY,
        };
        let client = self.client().await;
        fill_page(listing, page.limit, start, |start, limit| {
            let mut scan = client
                .scan()
                .table_name(&self.tables.orders)
                .set_exclusive_start_key(start)
                .limit(limit);
            if !filter_expression.is_empty() {
                scan = scan.filter_expression(&filter_expression);
            }
            if let Some(status) = filter.status {
                scan = scan
                    .expression_attribute_names("#status", STATUS)
                    .expression_attribute_values(":status", s(status.as_str()));
            }
            if filter.created_from.is_some() || filter.created_to.is_some() {
                scan = scan.expression_attribute_names("#createdAt", CREATED_AT);
            }
            if let Some(from) = filter.created_from {
                scan = scan.expression_attribute_values(":from", n(from.as_millis()));
            }
            if let Some(to) = filter.created_to {
                scan = scan.expression_attribute_values(":to", n(to.as_millis()));
            }
            async move {
                let output = scan.send().await.map_err(|e| sdk_failure("Scan", e))?;
                Ok(Batch {
                    items: output.items.unwrap_or_default(),
                    last_evaluated_key: output.last_evaluated_key,
                })
            }
        })
        .await
    }
}

#[async_trait]
impl OrderReader for DynamoStore {
    async fn get_order(&self, id: OrderId) -> Result<Order, DomainError> {
        self.read_order(id)
            .await?
            .ok_or(DomainError::NotFound { entity: "order" })
    }

    async fn list_orders(
        &self,
        filter: &OrderFilter,
        page: PageRequest,
    ) -> Result<Page<Order>, DomainError> {
        let filled = if filter.user_id.is_some() {
            match created_key_range(filter) {
                Some(range) => self.query_by_user(filter, &page, range).await?,
                None => FilledPage {
                    items: Vec::new(),
                    next: None,
                },
            }
        } else {
            self.scan_orders(filter, &page).await?
        };
        let items = filled
            .items
            .iter()
            .map(|item| self.order_from(item))
            .collect::<Result<_, _>>()?;
        let next = filled.next.as_ref().map(position::encode).transpose()?;
        Ok(Page { items, next })
    }
}

#[async_trait]
impl OrderWriter for DynamoStore {
    async fn create_order(
        &self,
        order: &Order,
        idempotency: Option<&IdempotentOrderCreate>,
    ) -> Result<CreateOrderOutcome, DomainError> {
        let items = self.create_items(order, idempotency)?;
        for _ in 0..MAX_RECORD_RACES {
            let mut refusal = match self.transact("TransactWriteItems", items.clone()).await? {
                Transacted::Applied => return Ok(CreateOrderOutcome::Created(order.clone())),
                Transacted::Refused(refusal) => refusal,
            };
            if let Some(idempotency) = idempotency
                && refusal.failed(RECORD)
            {
                let record = match refusal.old_item(RECORD) {
                    Some(item) => Some(self.record_from(&item)?),
                    None => self.read_record(idempotency).await?,
                };
                let Some(record) = record.filter(|r| r.is_live(order.created_at)) else {
                    // Gone or expired since the write looked: try again.
                    continue;
                };
                if record.fingerprint != idempotency.fingerprint {
                    return Err(DomainError::IdempotencyKeyReused);
                }
                return Ok(CreateOrderOutcome::Replayed(self.replayed(&record).await?));
            }
            if refusal.failed(USER_CHECK) {
                return Err(DomainError::invalid("userId", "no user has this id"));
            }
            if refusal.failed(ORDER) {
                return Err(DomainError::Conflict(
                    "an order with this id already exists".to_owned(),
                ));
            }
            return Err(DynamoError::Cancelled {
                operation: "TransactWriteItems",
                reasons: refusal.describe(),
            }
            .into());
        }
        Err(DynamoError::Contention {
            operation: "TransactWriteItems",
        }
        .into())
    }

    async fn update_order(&self, order: &Order) -> Result<(), DomainError> {
        let Some(previous) = order.version.checked_sub(1) else {
            return Err(DomainError::PreconditionFailed);
        };
        self.replace_if_version(&self.tables.orders, order_item(order)?, previous, "order")
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rill_core::Timestamp;

    fn range(from: Option<i64>, to: Option<i64>) -> Option<(Option<String>, Option<String>)> {
        created_key_range(&OrderFilter {
            created_from: from.map(Timestamp::from_millis),
            created_to: to.map(Timestamp::from_millis),
            ..OrderFilter::default()
        })
    }

    #[test]
    fn a_time_range_becomes_created_key_bounds() {
        assert_eq!(range(None, None), Some((None, None)));
        assert_eq!(
            range(Some(1_000), Some(2_000)),
            Some((
                Some("000000000001000".into()),
                Some("000000000002000".into())
            ))
        );
    }

    #[test]
    fn bounds_outside_what_keys_hold_are_dropped_or_make_the_range_empty() {
        assert_eq!(range(Some(-5), None), Some((None, None)));
        assert_eq!(
            range(None, Some(MAX_CREATED_MILLIS + 1)),
            Some((None, None))
        );
        assert_eq!(range(None, Some(0)), None);
        assert_eq!(range(Some(MAX_CREATED_MILLIS + 1), None), None);
        assert_eq!(range(Some(2_000), Some(2_000)), None);
        assert_eq!(range(Some(3_000), Some(2_000)), None);
    }
}
