//! The `orders` and `idempotency_keys` tables: the statements behind [`rill_core::OrderReader`] and
//! [`rill_core::OrderWriter`].
//!
//! Listings are keyset pages over `(created_at, id)`: newest first for one user (index
//! `orders_by_user_newest`), oldest first otherwise (`orders_by_status_created` with a status,
//! `orders_by_created` without). Every filter shape is read from an index in the listing's order,
//! starting at the page's position, so no page sorts and a page costs the same at any depth.

use rill_core::{
    CreateOrderOutcome, DomainError, IdempotentOrderCreate, Order, OrderFilter, Page, PageRequest,
};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension};

use crate::error::{Failure, SqliteError, unique_violation};
use crate::rows::{items_json, order_columns, read_order};
use crate::{position, users};

/// How many expired idempotency keys one write purges at most, so a write never stalls on a backlog.
const PURGE_BATCH: i64 = 100;

/// The order with this id.
pub(crate) fn get(connection: &Connection, id: &str) -> Result<Order, Failure> {
    let mut statement = connection.prepare_cached(concat!(
        "SELECT ",
        order_columns!(),
        " FROM orders WHERE id = ?1"
    ))?;
    let mut rows = statement.query([id])?;
    match rows.next()? {
        Some(row) => Ok(read_order(row)?),
        None => Err(DomainError::NotFound { entity: "order" }.into()),
    }
}

/// One page of the orders that match `filter`.
pub(crate) fn list(
    connection: &Connection,
    filter: &OrderFilter,
    page: &PageRequest,
) -> Result<Page<Order>, Failure> {
    let rows = position::page_rows(page.limit)?;
    let after = page
        .after
        .as_deref()
        .map(position::decode_order)
        .transpose()?;
    let (sql, mut params) = list_query(filter, after);
    params.push(Value::Integer(i64::try_from(rows + 1).unwrap_or(i64::MAX)));

    let mut statement = connection.prepare_cached(&sql)?;
    let mut found = statement.query(rusqlite::params_from_iter(params))?;
    let mut orders = Vec::with_capacity(rows + 1);
    while let Some(row) = found.next()? {
        orders.push(read_order(row)?);
    }
    let next = if orders.len() > rows {
        orders.truncate(rows);
        orders
            .last()
            .map(|last| position::encode_order(last.created_at, last.id))
    } else {
        None
    };
    Ok(Page {
        items: orders,
        next,
    })
}

/// The SQL and parameters of one listing page, without the trailing `LIMIT` value.
///
/// The time filter and the page position are merged into at most one exclusive lower and one
/// exclusive upper bound on `(created_at, id)`: `created_from = t` is `> (t, '')` and
/// `created_to = t` is `< (t, '')` (every id sorts after the empty string), and the position tightens
/// the bound on the side the listing moves towards. SQLite seeks row-value bounds in the index, so a
/// page starts right at its position however deep it is and however wide the time range. The index is
/// named with `INDEXED BY` rather than left to the planner, which without statistics may prefer the
/// status index for one user's orders and scan every order of that status.
///
/// The SQL has 16 shapes (user, status, lower and upper bound each present or not), each a stable
/// string, so each is prepared once per connection and then taken from the statement cache.
fn list_query(filter: &OrderFilter, after: Option<(i64, String)>) -> (String, Vec<Value>) {
    let newest_first = filter.user_id.is_some();
    let mut lower = filter.created_from.map(|t| (t.as_millis(), String::new()));
    let mut upper = filter.created_to.map(|t| (t.as_millis(), String::new()));
    if let Some(position) = after {
        let bound = if newest_first { &mut upper } else { &mut lower };
        *bound = Some(match bound.take() {
            Some(current) if newest_first => current.min(position),
            Some(current) => current.max(position),
            None => position,
        });
    }

    let index = match (filter.user_id, filter.status) {
        (Some(_), _) => "orders_by_user_newest",
        (None, Some(_)) => "orders_by_status_created",
        (None, None) => "orders_by_created",
    };
    let mut sql = format!(
        concat!(
            "SELECT ",
            order_columns!(),
            " FROM orders INDEXED BY {} WHERE TRUE"
        ),
        index
    );
    let mut params = Vec::with_capacity(7);
    if let Some(user_id) = filter.user_id {
        sql.push_str(" AND user_id = ?");
        params.push(Value::Text(user_id.to_string()));
    }
    if let Some(status) = filter.status {
        sql.push_str(" AND status = ?");
        params.push(Value::Text(status.as_str().to_owned()));
    }
    for (bound, operator) in [(lower, ">"), (upper, "<")] {
        if let Some((created_at, id)) = bound {
            sql.push_str(" AND (created_at, id) ");
            sql.push_str(operator);
            sql.push_str(" (?, ?)");
            params.push(Value::Integer(created_at));
            params.push(Value::Text(id));
        }
    }
    sql.push_str(if newest_first {
        " ORDER BY created_at DESC, id DESC LIMIT ?"
    } else {
        " ORDER BY created_at, id LIMIT ?"
    });
    (sql, params)
}

/// Creates an order, or replays the one its idempotency key created. Runs inside the caller's
/// `BEGIN IMMEDIATE` transaction, which serialises it against every other writer of the file.
///
/// The order's `created_at` is "now" for the key: a key whose `expires_at` is at or before it counts
/// as unseen. Use cases stamp `created_at` from the clock, so this is the request's time, and tests
/// that control the clock control expiry too.
pub(crate) fn create(
    connection: &Connection,
    order: &Order,
    idempotency: Option<&IdempotentOrderCreate>,
) -> Result<CreateOrderOutcome, Failure> {
    let now = order.created_at.as_millis();
    purge_expired_keys(connection, now)?;
    if let Some(idempotency) = idempotency
        && let Some(earlier) = replay(connection, idempotency, now)?
    {
        return Ok(CreateOrderOutcome::Replayed(earlier));
    }
    insert(connection, order)?;
    if let Some(idempotency) = idempotency {
        let mut statement = connection.prepare_cached(
            "INSERT INTO idempotency_keys (key, fingerprint, order_id, expires_at) \
             VALUES (?1, ?2, ?3, ?4)",
        )?;
        statement.execute((
            idempotency.key.as_str(),
            idempotency.fingerprint.as_str(),
            order.id.to_string(),
            idempotency.expires_at.as_millis(),
        ))?;
    }
    Ok(CreateOrderOutcome::Created(order.clone()))
}

/// The order a live key created, if the key was seen with the same fingerprint;
/// `IdempotencyKeyReused` if with another; `None` if the key is unseen or expired (then removed).
fn replay(
    connection: &Connection,
    idempotency: &IdempotentOrderCreate,
    now: i64,
) -> Result<Option<Order>, Failure> {
    let key = idempotency.key.as_str();
    let mut statement = connection.prepare_cached(
        "SELECT fingerprint, order_id, expires_at FROM idempotency_keys WHERE key = ?1",
    )?;
    let seen: Option<(String, String, i64)> = statement
        .query_row([key], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()?;
    let Some((fingerprint, order_id, expires_at)) = seen else {
        return Ok(None);
    };
    if expires_at <= now {
        let mut forget =
            connection.prepare_cached("DELETE FROM idempotency_keys WHERE key = ?1")?;
        forget.execute([key])?;
        return Ok(None);
    }
    if fingerprint != idempotency.fingerprint.as_str() {
        return Err(DomainError::IdempotencyKeyReused.into());
    }
    match get(connection, &order_id) {
        Ok(order) => Ok(Some(order)),
        // The foreign key makes this impossible short of a damaged file.
        Err(Failure::Domain(DomainError::NotFound { .. })) => Err(SqliteError::corrupt(
            "idempotency key for order",
            &order_id,
            "the order it created is missing",
        )
        .into()),
        Err(other) => Err(other),
    }
}

/// Deletes up to [`PURGE_BATCH`] keys that expired at or before `now`, oldest first.
fn purge_expired_keys(connection: &Connection, now: i64) -> Result<(), Failure> {
    let mut statement = connection.prepare_cached(
        "DELETE FROM idempotency_keys WHERE key IN \
         (SELECT key FROM idempotency_keys WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)",
    )?;
    statement.execute((now, PURGE_BATCH))?;
    Ok(())
}

/// Inserts a new order after checking, in the caller's transaction, that its user exists.
pub(crate) fn insert(connection: &Connection, order: &Order) -> Result<(), Failure> {
    if !users::exists(connection, order.user_id)? {
        return Err(DomainError::invalid("userId", "no user has this id").into());
    }
    let mut statement = connection.prepare_cached(
        "INSERT INTO orders \
         (id, user_id, currency, total, status, items, created_at, updated_at, version) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    statement
        .execute((
            order.id.to_string(),
            order.user_id.to_string(),
            order.currency.code(),
            order.total.get(),
            order.status.as_str(),
            items_json(order)?,
            order.created_at.as_millis(),
            order.updated_at.as_millis(),
            order.version,
        ))
        .map_err(conflict)?;
    Ok(())
}

/// Replaces the order stored at `order.version - 1`.
pub(crate) fn update(connection: &Connection, order: &Order) -> Result<(), Failure> {
    let id = order.id.to_string();
    let mut current = connection.prepare_cached("SELECT version FROM orders WHERE id = ?1")?;
    let stored: Option<i64> = current.query_row([&id], |row| row.get(0)).optional()?;
    match stored {
        None => return Err(DomainError::NotFound { entity: "order" }.into()),
        Some(stored) if i64::try_from(order.version.saturating_sub(1)) != Ok(stored) => {
            return Err(DomainError::PreconditionFailed.into());
        }
        Some(_) => {}
    }
    let mut statement = connection.prepare_cached(
        "UPDATE orders SET user_id = ?2, currency = ?3, total = ?4, status = ?5, items = ?6, \
         created_at = ?7, updated_at = ?8, version = ?9 WHERE id = ?1",
    )?;
    statement.execute((
        &id,
        order.user_id.to_string(),
        order.currency.code(),
        order.total.get(),
        order.status.as_str(),
        items_json(order)?,
        order.created_at.as_millis(),
        order.updated_at.as_millis(),
        order.version,
    ))?;
    Ok(())
}

fn conflict(error: rusqlite::Error) -> Failure {
    match unique_violation(&error) {
        Some("orders.id") => {
            DomainError::Conflict("an order with this id already exists".to_owned()).into()
        }
        _ => error.into(),
    }
}

#[cfg(test)]
mod tests {
    use rill_core::{NewLineItem, NewOrder, OrderStatus, Timestamp, User, UserId};
    use rusqlite::StatementStatus;

    use super::*;
    use crate::SqliteStore;

    const FROM: i64 = 1_000;
    const TO: i64 = 1_000_000;

    /// Every filter shape, with and without a position inside the filter.
    fn every_query_shape(user_id: UserId) -> Vec<(OrderFilter, bool)> {
        (0..32u8)
            .map(|bits| {
                let filter = OrderFilter {
                    user_id: (bits & 1 != 0).then_some(user_id),
                    status: (bits & 2 != 0).then_some(OrderStatus::Pending),
                    created_from: (bits & 4 != 0).then(|| Timestamp::from_millis(FROM)),
                    created_to: (bits & 8 != 0).then(|| Timestamp::from_millis(TO)),
                };
                (filter, bits & 16 != 0)
            })
            .collect()
    }

    /// A store holding `count` pending orders of one user, one per millisecond from `FROM`.
    fn store_with_orders(dir: &std::path::Path, count: i64) -> (SqliteStore, UserId) {
        let store = SqliteStore::open(&dir.join("orders.db")).unwrap();
        let user = rill_core::NewUser::parse("plan@example.com", "Plan")
            .unwrap()
            .into_user(Timestamp::from_millis(0));
        store
            .bulk_insert_users(std::slice::from_ref(&user))
            .unwrap();
        let orders: Vec<_> = (0..count).map(|i| order_of(&user, FROM + i)).collect();
        store.bulk_insert_orders(&orders).unwrap();
        (store, user.id)
    }

    fn order_of(user: &User, at: i64) -> Order {
        NewOrder::parse(
            &user.id.to_string(),
            "EUR",
            &[NewLineItem {
                sku: "PLAN",
                quantity: 1,
                unit_price: 1,
            }],
        )
        .unwrap()
        .into_order(Timestamp::from_millis(at))
    }

    /// The position of the order at `at`, as a page ending there would return it.
    fn position_at(connection: &Connection, at: i64) -> (i64, String) {
        connection
            .query_row(
                "SELECT created_at, id FROM orders WHERE created_at = ?1",
                [at],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap()
    }

    #[test]
    fn every_listing_shape_seeks_its_index_in_order_without_sorting() {
        let dir = tempfile::tempdir().unwrap();
        let (store, user_id) = store_with_orders(dir.path(), 10);
        let connection = store.connections().writer();
        for (filter, paged) in every_query_shape(user_id) {
            let after = paged.then(|| position_at(&connection, FROM + 5));
            let (sql, mut params) = list_query(&filter, after);
            params.push(Value::Integer(10));
            let mut explain = connection
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap();
            let plan: Vec<String> = explain
                .query_map(rusqlite::params_from_iter(params), |row| row.get(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let plan = plan.join(" / ");
            let index = match (filter.user_id, filter.status) {
                (Some(_), _) => "orders_by_user_newest",
                (None, Some(_)) => "orders_by_status_created",
                (None, None) => "orders_by_created",
            };
            assert!(plan.contains(index), "{sql}\n  not on {index}: {plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{sql}\n  sorts: {plan}");
            let bounded = paged || filter.created_from.is_some() || filter.created_to.is_some();
            assert_eq!(
                plan.contains("(created_at,id)"),
                bounded,
                "{sql}\n  does not seek its bound: {plan}"
            );
        }
    }

    #[test]
    fn a_deep_page_costs_what_the_first_page_costs() {
        let dir = tempfile::tempdir().unwrap();
        let (store, user_id) = store_with_orders(dir.path(), 3_000);
        let connection = store.connections().writer();
        for (filter, _) in every_query_shape(user_id) {
            // Newest-first listings start at the end, so their deep page is near the beginning.
            let deep_at = if filter.user_id.is_some() {
                FROM + 10
            } else {
                FROM + 2_980
            };
            let first_at = if filter.user_id.is_some() {
                FROM + 2_990
            } else {
                FROM
            };
            let steps = |at: i64| {
                let (sql, mut params) = list_query(&filter, Some(position_at(&connection, at)));
                params.push(Value::Integer(10));
                let mut statement = connection.prepare(&sql).unwrap();
                let rows = statement
                    .query_map(rusqlite::params_from_iter(params), |_| Ok(()))
                    .unwrap()
                    .count();
                assert_eq!(rows, 10, "{sql}");
                statement.get_status(StatementStatus::VmStep)
            };
            let (first, deep) = (steps(first_at), steps(deep_at));
            assert!(
                deep <= first * 2,
                "{filter:?}: the first page took {first} steps, a deep one {deep}"
            );
        }
    }

    #[test]
    fn paging_reuses_each_prepared_listing_without_preparing_it_again() {
        let dir = tempfile::tempdir().unwrap();
        let (store, user_id) = store_with_orders(dir.path(), 40);
        let connection = store.connections().writer();
        for (filter, _) in every_query_shape(user_id) {
            let mut page = PageRequest {
                limit: 3,
                after: None,
            };
            let mut pages = 0;
            loop {
                let listed = list(&connection, &filter, &page).unwrap();
                pages += 1;
                match listed.next {
                    Some(next) if pages < 5 => page.after = Some(next),
                    _ => break,
                }
            }
            // The shape with a position is the one every page after the first ran.
            let position = page.after.as_deref().map(position::decode_order);
            let (sql, _) = list_query(&filter, position.transpose().unwrap());
            let statement = connection.prepare_cached(&sql).unwrap();
            assert_eq!(
                statement.get_status(StatementStatus::RePrepare),
                0,
                "{filter:?}: re-prepared while paging"
            );
        }
    }
}
