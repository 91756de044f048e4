//! Behaviour of the SQLite store beyond the shared contract: idempotency key expiry, page positions,
//! corrupt rows, page sizes, and bulk loading.

mod support;

use rill_core::{
    CreateOrderOutcome, DomainError, OrderFilter, OrderReader, OrderStatus, OrderWriter,
    PageRequest, UserReader, UserWriter,
};
use rill_store_sqlite::{MAX_PAGE_ROWS, SqliteError};

const _: () = assert!(
    MAX_PAGE_ROWS >= 1_000,
    "the export function reads pages of 1 000"
);
use support::{idempotent, open_fresh_store, order, raw, user, validation_fields};

const DAY: i64 = 86_400_000;

fn stored_keys(path: &std::path::Path) -> i64 {
    raw(path)
        .query_row("SELECT count(*) FROM idempotency_keys", [], |row| {
            row.get(0)
        })
        .unwrap()
}

#[tokio::test]
async fn an_idempotency_key_past_its_expiry_is_treated_as_unseen() {
    // Given an order created with a key that expires at 2 000
    let store = open_fresh_store();
    let ada = user("ada@example.com", 0);
    store.create_user(&ada).await.unwrap();
    let first = order(&ada, "BOOK", 1_000);
    store
        .create_order(&first, Some(&idempotent(&first, "key-1", 2_000)))
        .await
        .unwrap();

    // When a different request reuses the key at the moment it expires
    let later = order(&ada, "OTHER-BOOK", 2_000);
    let outcome = store
        .create_order(&later, Some(&idempotent(&later, "key-1", 2_000 + DAY)))
        .await
        .expect("an expired key is free");

    // Then it creates a new order, and the key now belongs to that order
    assert_eq!(outcome, CreateOrderOutcome::Created(later.clone()));
    let retry = order(&ada, "OTHER-BOOK", 3_000);
    let replay = store
        .create_order(&retry, Some(&idempotent(&retry, "key-1", 3_000 + DAY)))
        .await
        .unwrap();
    assert_eq!(replay, CreateOrderOutcome::Replayed(later));
    assert_eq!(store.get_order(first.id).await.unwrap(), first);
}

#[tokio::test]
async fn a_key_one_millisecond_before_its_expiry_still_replays() {
    // Given an order created with a key that expires at 2 000
    let store = open_fresh_store();
    let ada = user("ada@example.com", 0);
    store.create_user(&ada).await.unwrap();
    let first = order(&ada, "BOOK", 1_000);
    store
        .create_order(&first, Some(&idempotent(&first, "key-1", 2_000)))
        .await
        .unwrap();

    // When the same request is retried at 1 999
    let retry = order(&ada, "BOOK", 1_999);
    let outcome = store
        .create_order(&retry, Some(&idempotent(&retry, "key-1", 1_999 + DAY)))
        .await
        .unwrap();

    // Then it replays the first order
    assert_eq!(outcome, CreateOrderOutcome::Replayed(first));
}

#[tokio::test]
async fn later_order_writes_purge_expired_keys_and_keep_live_ones() {
    // Given three keys, two of which expire at 1 500
    let store = open_fresh_store();
    let ada = user("ada@example.com", 0);
    store.create_user(&ada).await.unwrap();
    for (key, expires_at) in [("old-1", 1_500), ("old-2", 1_500), ("live", 10_000)] {
        let created = order(&ada, "A", 1_000);
        store
            .create_order(&created, Some(&idempotent(&created, key, expires_at)))
            .await
            .unwrap();
    }
    assert_eq!(stored_keys(&store.path()), 3);

    // When an order without a key is created after they expired
    store
        .create_order(&order(&ada, "B", 2_000), None)
        .await
        .unwrap();

    // Then only the live key remains
    assert_eq!(stored_keys(&store.path()), 1);
}

#[tokio::test]
async fn a_position_that_is_not_one_this_store_returned_is_a_cursor_error() {
    // Given a store with a user and an order
    let store = open_fresh_store();
    let ada = user("ada@example.com", 0);
    store.create_user(&ada).await.unwrap();
    store
        .create_order(&order(&ada, "A", 1), None)
        .await
        .unwrap();
    let users_position = store.list_users(PageRequest::first(1)).await.unwrap().next;
    assert!(users_position.is_none(), "one user fits one page");

    // When pages are asked for after garbage, or after a position of the other listing
    let user_page = |after: Vec<u8>| PageRequest {
        limit: 5,
        after: Some(after),
    };
    let garbage = [
        vec![],
        vec![0xff; 3],
        b"not a position".to_vec(),
        vec![1; 40],
    ];
    for after in garbage {
        let on_users = store
            .list_users(user_page(after.clone()))
            .await
            .unwrap_err();
        let on_orders = store
            .list_orders(&OrderFilter::default(), user_page(after))
            .await
            .unwrap_err();

        // Then each is a validation error on the cursor, not an outage
        assert_eq!(validation_fields(on_users), ["cursor"]);
        assert_eq!(validation_fields(on_orders), ["cursor"]);
    }
}

#[tokio::test]
async fn a_corrupt_row_is_unavailable_not_a_panic_and_other_rows_still_read() {
    // Given two users, one of which was damaged outside the store
    let store = open_fresh_store();
    let ada = user("ada@example.com", 0);
    let bob = user("bob@example.com", 0);
    store.create_user(&ada).await.unwrap();
    store.create_user(&bob).await.unwrap();
    let broken = order(&bob, "A", 1);
    store.create_order(&broken, None).await.unwrap();
    let connection = raw(&store.path());
    connection
        .execute(
            "UPDATE users SET email = 'no at sign' WHERE id = ?1",
            [bob.id.to_string()],
        )
        .unwrap();
    connection
        .execute(
            "UPDATE orders SET items = '[{\"sku\":\"A\"}]' WHERE id = ?1",
            [broken.id.to_string()],
        )
        .unwrap();

    // When they are read
    let user_error = store.get_user(bob.id).await.unwrap_err();
    let list_error = store.list_users(PageRequest::first(10)).await.unwrap_err();
    let order_error = store.get_order(broken.id).await.unwrap_err();

    // Then each read of a broken row is Unavailable whose cause names the row, and the client text
    // is generic
    for error in [user_error, list_error, order_error] {
        let DomainError::Unavailable { source } = &error else {
            panic!("expected Unavailable, got {error:?}");
        };
        let cause = source.downcast_ref::<SqliteError>().expect("a SqliteError");
        assert!(matches!(cause, SqliteError::CorruptRow { .. }), "{cause:?}");
        assert_eq!(error.to_string(), "the service is temporarily unavailable");
    }
    assert_eq!(store.get_user(ada.id).await.unwrap(), ada);
}

#[tokio::test]
async fn a_page_of_zero_is_refused_and_a_page_of_a_thousand_is_served_whole() {
    // Given 1 500 orders
    let store = open_fresh_store();
    let ada = user("ada@example.com", 0);
    store
        .store
        .bulk_insert_users(std::slice::from_ref(&ada))
        .unwrap();
    let orders: Vec<_> = (0..1_500).map(|i| order(&ada, "A", 10_000 + i)).collect();
    store.store.bulk_insert_orders(&orders).unwrap();

    // When pages of 0 and of 1 000 are asked for
    let zero = store
        .list_orders(&OrderFilter::default(), PageRequest::first(0))
        .await
        .unwrap_err();
    let first = store
        .list_orders(&OrderFilter::default(), PageRequest::first(1_000))
        .await
        .unwrap();
    let second = store
        .list_orders(
            &OrderFilter::default(),
            PageRequest {
                limit: 1_000,
                after: first.next.clone(),
            },
        )
        .await
        .unwrap();

    // Then zero is a validation error on the limit, and the orders come oldest first, 1 000 then 500
    assert_eq!(validation_fields(zero), ["limit"]);
    assert_eq!(first.items.len(), 1_000);
    assert_eq!(second.items.len(), 500);
    assert!(second.next.is_none());
    let listed: Vec<_> = first.items.into_iter().chain(second.items).collect();
    assert_eq!(listed, orders);
}

#[tokio::test]
async fn a_bulk_batch_is_written_whole_or_not_at_all() {
    // Given a store with one user
    let store = open_fresh_store();
    let ada = user("ada@example.com", 0);
    store
        .store
        .bulk_insert_users(std::slice::from_ref(&ada))
        .unwrap();

    // When a batch of users repeats an email in another case
    let batch = [
        user("bob@example.com", 0),
        user("cy@example.com", 0),
        user("BOB@example.com", 0),
    ];
    let error = store.store.bulk_insert_users(&batch).unwrap_err();

    // Then the batch is refused at the repeat, and none of it was written
    assert!(
        matches!(&error, SqliteError::BatchRejected { index: 2, reason } if reason.contains("email")),
        "{error:?}"
    );
    assert_eq!(
        store
            .list_users(PageRequest::first(10))
            .await
            .unwrap()
            .items,
        std::slice::from_ref(&ada)
    );

    // When a batch of orders has one whose user does not exist
    let ghost = user("ghost@example.com", 0);
    let orders = [order(&ada, "A", 1), order(&ghost, "B", 2)];
    let error = store.store.bulk_insert_orders(&orders).unwrap_err();

    // Then it is refused at that order, naming the field, and nothing was written
    assert!(
        matches!(&error, SqliteError::BatchRejected { index: 1, reason } if reason.starts_with("userId")),
        "{error:?}"
    );
    assert!(matches!(
        store.get_order(orders[0].id).await,
        Err(DomainError::NotFound { .. })
    ));
}

#[tokio::test]
async fn bulk_loaded_records_read_back_through_the_ports_like_any_other() {
    // Given users and orders written by bulk insert, some orders already paid
    let store = open_fresh_store();
    let users: Vec<_> = (0..50)
        .map(|i| user(&format!("user{i}@example.com"), i))
        .collect();
    store.store.bulk_insert_users(&users).unwrap();
    let orders: Vec<_> = (0..200)
        .map(|i| {
            let placed = order(&users[i % 50], "SKU-1", 1_000 + i as i64);
            if i % 4 == 0 {
                placed
                    .transition(OrderStatus::Paid, rill_core::Timestamp::from_millis(5_000))
                    .unwrap()
            } else {
                placed
            }
        })
        .collect();
    store.store.bulk_insert_orders(&orders).unwrap();

    // When one user's paid orders are listed, and an order is then updated through the port
    let filter = OrderFilter {
        user_id: Some(users[0].id),
        status: Some(OrderStatus::Paid),
        ..OrderFilter::default()
    };
    let page = store
        .list_orders(&filter, PageRequest::first(100))
        .await
        .unwrap();
    let shipped = page.items[0]
        .transition(
            OrderStatus::Shipped,
            rill_core::Timestamp::from_millis(6_000),
        )
        .unwrap();
    store.update_order(&shipped).await.unwrap();

    // Then the listing holds exactly that user's paid orders, newest first, and the update stuck
    let mut expected: Vec<_> = orders
        .iter()
        .filter(|o| filter.matches(o))
        .cloned()
        .collect();
    expected.reverse();
    assert_eq!(page.items, expected);
    assert_eq!(store.get_order(shipped.id).await.unwrap(), shipped);
}
