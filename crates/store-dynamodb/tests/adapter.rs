//! What the DynamoDB store must do beyond the shared contract: full pages under filters, expired
//! idempotency records, corrupt items, foreign cursors, table creation, and outages that answer
//! `Unavailable` quickly instead of hanging or panicking.

mod support;

use std::collections::HashSet;
use std::error::Error as _;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, TimeToLiveStatus};
use rill_core::{
    CreateOrderOutcome, DomainError, IdempotencyKey, IdempotentOrderCreate, NewLineItem, NewOrder,
    NewUser, Order, OrderFilter, OrderReader, OrderStatus, OrderWriter, PageRequest,
    RequestFingerprint, Timestamp, User, UserId, UserName, UserReader, UserWriter,
};
use rill_store_dynamodb::{BY_USER_INDEX, DynamoError, DynamoStore, create_tables};
use support::{fresh_store, local_endpoint, store_at, unique_tables};

fn user(email: &str) -> User {
    NewUser::parse(email, "Grace Hopper")
        .expect("valid user")
        .into_user(Timestamp::from_millis(1_000))
}

fn request(user: &User, sku: &str) -> NewOrder {
    NewOrder::parse(
        &user.id.to_string(),
        "USD",
        &[NewLineItem {
            sku,
            quantity: 1,
            unit_price: 999,
        }],
    )
    .expect("valid order")
}

fn order_at(user: &User, sku: &str, millis: i64) -> Order {
    request(user, sku).into_order(Timestamp::from_millis(millis))
}

/// The idempotency part of a create at `now`, remembered for `window_ms`.
fn keyed(user: &User, sku: &str, key: &str, now: i64, window_ms: i64) -> IdempotentOrderCreate {
    IdempotentOrderCreate {
        key: IdempotencyKey::parse(key).expect("valid key"),
        fingerprint: RequestFingerprint::of_new_order(&request(user, sku)),
        expires_at: Timestamp::from_millis(now + window_ms),
    }
}

/// Every page of a listing, as the client would fetch them.
async fn pages(store: &DynamoStore, filter: &OrderFilter, limit: usize) -> Vec<Vec<Order>> {
    let mut pages = Vec::new();
    let mut page = PageRequest::first(limit);
    loop {
        let got = store
            .list_orders(filter, page.clone())
            .await
            .expect("list orders");
        pages.push(got.items);
        match got.next {
            Some(next) => page.after = Some(next),
            None => return pages,
        }
    }
}

fn assert_full_until_last<T: std::fmt::Debug>(pages: &[Vec<T>], limit: usize) {
    let (last, full) = pages.split_last().expect("at least one page");
    for page in full {
        assert_eq!(
            page.len(),
            limit,
            "a page before the last is short: {pages:?}"
        );
    }
    assert!(last.len() <= limit);
}

fn newest_first(orders: &mut [Order]) {
    orders.sort_by_key(|o| std::cmp::Reverse((o.created_at, o.id)));
}

fn assert_invalid_cursor(result: Result<impl std::fmt::Debug, DomainError>) {
    match result {
        Err(DomainError::Validation(fields)) => assert_eq!(fields[0].field, "cursor"),
        other => panic!("expected an invalid cursor, got {other:?}"),
    }
}

fn assert_unavailable_from_dynamo<T: std::fmt::Debug>(result: Result<T, DomainError>) -> String {
    let err = result.expect_err("the call should fail");
    assert!(matches!(err, DomainError::Unavailable { .. }), "{err:?}");
    assert_eq!(err.to_string(), "the service is temporarily unavailable");
    let source = err
        .source()
        .and_then(|s| s.downcast_ref::<DynamoError>())
        .expect("the source is the adapter's error");
    source.to_string()
}

#[tokio::test]
async fn filtered_listings_return_full_pages_and_resume_right_after_the_last_item() {
    // Given two users whose orders interleave in time, a third of them paid.
    let store = fresh_store().await;
    let ada = user("ada@example.com");
    let bob = user("bob@example.com");
    store.create_user(&ada).await.expect("create");
    store.create_user(&bob).await.expect("create");
    let mut all = Vec::new();
    for i in 0..36i64 {
        let owner = if i % 4 == 3 { &bob } else { &ada };
        let mut order = order_at(owner, &format!("SKU-{i}"), 1_000_000 + i * 1_000);
        store.create_order(&order, None).await.expect("create");
        if i % 3 == 0 {
            order = order
                .transition(OrderStatus::Paid, Timestamp::from_millis(2_000_000))
                .expect("pay");
            store.update_order(&order).await.expect("pay");
        }
        all.push(order);
    }

    let filters = [
        // byUser index, status filtered after the key condition.
        OrderFilter {
            user_id: Some(ada.id),
            status: Some(OrderStatus::Paid),
            ..OrderFilter::default()
        },
        // byUser index, time range in the key condition.
        OrderFilter {
            user_id: Some(ada.id),
            created_from: Some(Timestamp::from_millis(1_005_000)),
            created_to: Some(Timestamp::from_millis(1_030_000)),
            ..OrderFilter::default()
        },
        // Scan, status and time filtered.
        OrderFilter {
            status: Some(OrderStatus::Pending),
            created_from: Some(Timestamp::from_millis(1_003_000)),
            ..OrderFilter::default()
        },
    ];
    for filter in filters {
        let mut want: Vec<Order> = all.iter().filter(|o| filter.matches(o)).cloned().collect();
        for limit in [1, 4, 7] {
            // When every page is fetched from the previous page's position.
            let pages = pages(&store, &filter, limit).await;

            // Then every page but the last is full, and together they hold each match once.
            assert_full_until_last(&pages, limit);
            let mut got: Vec<Order> = pages.into_iter().flatten().collect();
            if filter.user_id.is_some() {
                newest_first(&mut want);
            } else {
                want.sort_by_key(|o| o.id);
                let ids: HashSet<_> = got.iter().map(|o| o.id).collect();
                assert_eq!(ids.len(), got.len(), "an order was listed twice");
                got.sort_by_key(|o| o.id);
            }
            assert_eq!(got, want, "filter {filter:?}, limit {limit}");
        }
    }
}

#[tokio::test]
async fn of_two_identical_moves_in_the_same_millisecond_only_the_first_wins() {
    // Given a pending order
    let store = fresh_store().await;
    let ada = user("ada@example.com");
    store.create_user(&ada).await.expect("create");
    let order = order_at(&ada, "SKU-1", 1_000_000);
    store.create_order(&order, None).await.expect("create");

    // When two clients move it to the same status at the same instant, writing equal items
    let paid = order
        .transition(OrderStatus::Paid, Timestamp::from_millis(2_000_000))
        .expect("pay");
    let first = store.update_order(&paid).await;
    let second = store.update_order(&paid).await;

    // Then the second is told that the order moved under it, not that it won too
    first.expect("the first move wins");
    assert!(
        matches!(second, Err(DomainError::PreconditionFailed)),
        "{second:?}"
    );
    assert_eq!(store.get_order(order.id).await.expect("get"), paid);
}

#[tokio::test]
async fn of_identical_renames_racing_in_the_same_millisecond_exactly_one_wins() {
    // Given a user
    let store = fresh_store().await;
    let grace = user("grace@example.com");
    store.create_user(&grace).await.expect("create");

    // When sixteen clients rename them to the same name at the same instant, writing equal items
    let renamed = User {
        name: UserName::parse("Grace Brewster Hopper").expect("a name"),
        updated_at: Timestamp::from_millis(2_000),
        version: grace.version + 1,
        ..grace.clone()
    };
    let mut racers = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (store, renamed) = (store.clone(), renamed.clone());
        racers.spawn(async move { store.update_user(&renamed).await });
    }
    let outcomes = racers.join_all().await;

    // Then one is told it won and every other that the user moved under it
    let wins = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
    assert_eq!(wins, 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|outcome| matches!(outcome, Ok(()) | Err(DomainError::PreconditionFailed))),
        "{outcomes:?}"
    );
    assert_eq!(store.get_user(grace.id).await.expect("get"), renamed);
}

#[tokio::test]
async fn a_filter_that_matches_one_old_order_returns_it_on_the_first_page() {
    // Given forty orders of which only the oldest is paid.
    let store = fresh_store().await;
    let ada = user("ada@example.com");
    store.create_user(&ada).await.expect("create");
    let mut oldest = None;
    for i in 0..40i64 {
        let order = order_at(&ada, "SKU", 1_000_000 + i);
        store.create_order(&order, None).await.expect("create");
        if i == 0 {
            let paid = order
                .transition(OrderStatus::Paid, Timestamp::from_millis(2_000_000))
                .expect("pay");
            store.update_order(&paid).await.expect("pay");
            oldest = Some(paid);
        }
    }
    // When the paid ones are listed, newest first, five per page.
    let filter = OrderFilter {
        user_id: Some(ada.id),
        status: Some(OrderStatus::Paid),
        ..OrderFilter::default()
    };
    let page = store
        .list_orders(&filter, PageRequest::first(5))
        .await
        .expect("list");
    // Then the first page already holds it, and says there is nothing after.
    assert_eq!(page.items, vec![oldest.expect("paid order")]);
    assert_eq!(page.next, None);
}

#[tokio::test]
async fn users_list_in_full_pages_without_their_email_claims() {
    // Given nine users (and so nine email claims in the same table).
    let store = fresh_store().await;
    let mut created = HashSet::new();
    for i in 0..9 {
        let user = user(&format!("user{i}@example.com"));
        store.create_user(&user).await.expect("create");
        created.insert(user.id);
    }
    // When they are listed four at a time.
    let mut sizes = Vec::new();
    let mut listed = HashSet::new();
    let mut page = PageRequest::first(4);
    loop {
        let got = store.list_users(page.clone()).await.expect("list");
        sizes.push(got.items.len());
        listed.extend(got.items.iter().map(|u| u.id));
        match got.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    // Then the pages hold 4, 4 and 1 users, every one of them once.
    assert_eq!(sizes, vec![4, 4, 1]);
    assert_eq!(listed, created);
}

#[tokio::test]
async fn an_expired_idempotency_record_is_treated_as_unseen_even_before_ttl_deletes_it() {
    // Given an order created with a key remembered for one second.
    let store = fresh_store().await;
    let ada = user("ada@example.com");
    store.create_user(&ada).await.expect("create");
    // The request clock runs a day ahead of the wall clock, so every record here expires by the
    // request clock while DynamoDB Local's TTL sweeper (wall clock, every few seconds) leaves it alone.
    let t0 = Timestamp::now().as_millis() + 86_400_000;
    let first = order_at(&ada, "BOOK", t0);
    let outcome = store
        .create_order(&first, Some(&keyed(&ada, "BOOK", "key-1", t0, 1_000)))
        .await
        .expect("create");
    assert_eq!(outcome, CreateOrderOutcome::Created(first.clone()));

    // When the same request is retried inside the window, then it is a replay of the first order.
    let retry = order_at(&ada, "BOOK", t0 + 400);
    let outcome = store
        .create_order(&retry, Some(&keyed(&ada, "BOOK", "key-1", t0 + 400, 1_000)))
        .await
        .expect("replay");
    assert_eq!(outcome, CreateOrderOutcome::Replayed(first.clone()));

    // When it is sent again after the window, then it creates a second order.
    let later = order_at(&ada, "BOOK", t0 + 5_000);
    let outcome = store
        .create_order(
            &later,
            Some(&keyed(&ada, "BOOK", "key-1", t0 + 5_000, 1_000)),
        )
        .await
        .expect("create again");
    assert_eq!(outcome, CreateOrderOutcome::Created(later.clone()));

    // And the key now belongs to the second order: a different request is refused...
    let other = order_at(&ada, "PEN", t0 + 5_500);
    let err = store
        .create_order(
            &other,
            Some(&keyed(&ada, "PEN", "key-1", t0 + 5_500, 1_000)),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, DomainError::IdempotencyKeyReused), "{err:?}");

    // ...until that record expires too, when any request may take the key.
    let much_later = order_at(&ada, "PEN", t0 + 60_000);
    let outcome = store
        .create_order(
            &much_later,
            Some(&keyed(&ada, "PEN", "key-1", t0 + 60_000, 1_000)),
        )
        .await
        .expect("create with an expired key");
    assert_eq!(outcome, CreateOrderOutcome::Created(much_later.clone()));
    for order in [first, later, much_later] {
        assert_eq!(store.get_order(order.id).await.expect("stored"), order);
    }
}

#[tokio::test]
async fn an_idempotent_create_for_a_missing_user_is_refused_without_keeping_the_key() {
    // Given a key first used for a user that does not exist.
    let store = fresh_store().await;
    let ghost = user("ghost@example.com");
    let order = order_at(&ghost, "BOOK", 5_000);
    let err = store
        .create_order(&order, Some(&keyed(&ghost, "BOOK", "key-2", 5_000, 60_000)))
        .await
        .unwrap_err();
    match err {
        DomainError::Validation(fields) => assert_eq!(fields[0].field, "userId"),
        other => panic!("expected a validation error on userId, got {other:?}"),
    }
    // When the user exists and the same key is used again, then the order is created: the refused
    // transaction wrote nothing.
    store.create_user(&ghost).await.expect("create");
    let outcome = store
        .create_order(&order, Some(&keyed(&ghost, "BOOK", "key-2", 5_000, 60_000)))
        .await
        .expect("create");
    assert_eq!(outcome, CreateOrderOutcome::Created(order));
}

#[tokio::test]
async fn an_email_whose_key_is_too_long_for_a_partition_key_is_still_unique() {
    // Given an address whose normalised key is far longer than the address itself.
    let store = fresh_store().await;
    let email = format!("a@{}.com", "\u{fdfa}".repeat(60));
    store.create_user(&user(&email)).await.expect("create");
    // When another user claims it, then it is taken.
    let err = store.create_user(&user(&email)).await.unwrap_err();
    assert!(matches!(err, DomainError::Conflict(_)), "{err:?}");
}

#[tokio::test]
async fn a_cursor_that_is_garbage_or_from_another_listing_is_a_validation_error() {
    let store = fresh_store().await;
    let ada = user("ada@example.com");
    let bob = user("bob@example.com");
    store.create_user(&ada).await.expect("create");
    store.create_user(&bob).await.expect("create");
    for i in 0..3 {
        for owner in [&ada, &bob] {
            let order = order_at(owner, "SKU", 10_000 + i);
            store.create_order(&order, None).await.expect("create");
        }
    }
    let by = |user: &User| OrderFilter {
        user_id: Some(user.id),
        ..OrderFilter::default()
    };
    let ada_position = store
        .list_orders(&by(&ada), PageRequest::first(1))
        .await
        .expect("list")
        .next
        .expect("more");
    let scan_position = store
        .list_orders(&OrderFilter::default(), PageRequest::first(1))
        .await
        .expect("list")
        .next
        .expect("more");
    let after = |bytes: &[u8]| PageRequest {
        limit: 5,
        after: Some(bytes.to_vec()),
    };

    assert_invalid_cursor(store.list_users(after(b"garbage")).await);
    assert_invalid_cursor(store.list_users(after(&ada_position)).await);
    assert_invalid_cursor(store.list_orders(&by(&bob), after(&ada_position)).await);
    assert_invalid_cursor(store.list_orders(&by(&ada), after(&scan_position)).await);
    assert_invalid_cursor(
        store
            .list_orders(&OrderFilter::default(), after(&ada_position))
            .await,
    );
    // The scan position does belong to the users' shape (one `pk`) but not to a user.
    assert_invalid_cursor(store.list_users(after(&scan_position)).await);
}

#[tokio::test]
async fn a_corrupt_item_is_unavailable_and_named_in_the_error_not_a_panic() {
    // Given a user item whose email was damaged outside the application.
    let store = fresh_store().await;
    let ada = user("ada@example.com");
    store.create_user(&ada).await.expect("create");
    store
        .client()
        .await
        .update_item()
        .table_name(&store.tables().users)
        .key("pk", AttributeValue::S(format!("USER#{}", ada.id)))
        .update_expression("SET email = :bad")
        .expression_attribute_values(":bad", AttributeValue::S("not an email".into()))
        .send()
        .await
        .expect("damage the item");
    // When it is read or listed, then the store is unavailable, and the cause names the item.
    let cause = assert_unavailable_from_dynamo(store.get_user(ada.id).await);
    assert!(cause.contains(&format!("USER#{}", ada.id)), "{cause}");
    assert!(cause.contains("email"), "{cause}");
    assert_unavailable_from_dynamo(store.list_users(PageRequest::first(10)).await);
}

#[tokio::test]
async fn create_tables_builds_the_index_and_ttl_and_is_safe_to_repeat() {
    // Given tables created twice under the same names.
    let tables = unique_tables();
    let store = store_at(&local_endpoint(), tables.clone()).await;
    create_tables(store.client().await, &tables)
        .await
        .expect("create");
    create_tables(store.client().await, &tables)
        .await
        .expect("create again");
    // Then the orders table has the byUser index and the idempotency table expires records.
    let orders = store
        .client()
        .await
        .describe_table()
        .table_name(&tables.orders)
        .send()
        .await
        .expect("describe");
    let indexes: Vec<_> = orders
        .table()
        .map(|t| t.global_secondary_indexes())
        .unwrap_or_default()
        .iter()
        .filter_map(|i| i.index_name())
        .collect();
    assert_eq!(indexes, vec![BY_USER_INDEX]);
    let ttl = store
        .client()
        .await
        .describe_time_to_live()
        .table_name(&tables.idempotency)
        .send()
        .await
        .expect("describe ttl");
    let description = ttl.time_to_live_description().expect("ttl description");
    assert_eq!(
        description.time_to_live_status(),
        Some(&TimeToLiveStatus::Enabled)
    );
    assert_eq!(description.attribute_name(), Some("expiresAt"));
}

#[tokio::test]
async fn from_env_reaches_the_endpoint_in_the_environment() {
    // Given the variables scripts/lib/dynamodb-local.sh exports.
    local_endpoint();
    for var in ["AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
        assert!(
            std::env::var_os(var).is_some(),
            "{var} is not set; dynamodb_local_start exports it"
        );
    }
    // When a store is built the way the functions build it, then it reads and writes there.
    let tables = unique_tables();
    let store = DynamoStore::from_env(tables.clone());
    create_tables(store.client().await, &tables)
        .await
        .expect("create");
    let ada = user("ada@example.com");
    store.create_user(&ada).await.expect("create");
    assert_eq!(store.get_user(ada.id).await.expect("get"), ada);
}

#[tokio::test]
async fn a_store_whose_endpoint_refuses_connections_answers_unavailable_within_seconds() {
    // Given an endpoint on a port nothing listens on.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let store = store_at(&format!("http://127.0.0.1:{port}"), unique_tables()).await;
    // When it is used, then every call fails as Unavailable, after the SDK's retries, promptly.
    let started = Instant::now();
    let cause = assert_unavailable_from_dynamo(store.get_user(UserId::generate()).await);
    assert!(cause.contains("GetItem"), "{cause}");
    assert_unavailable_from_dynamo(store.list_users(PageRequest::first(5)).await);
    let ada = user("ada@example.com");
    assert_unavailable_from_dynamo(store.create_user(&ada).await);
    assert_unavailable_from_dynamo(store.create_order(&order_at(&ada, "A", 5_000), None).await);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_store_whose_endpoint_never_answers_gives_up_at_the_operation_timeout() {
    // Given an endpoint that accepts connections and then says nothing.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let store = store_at(&format!("http://127.0.0.1:{port}"), unique_tables()).await;
    // When it is used, then the call ends as Unavailable at the operation timeout, not minutes later.
    let started = Instant::now();
    let cause = assert_unavailable_from_dynamo(store.get_user(UserId::generate()).await);
    assert!(cause.contains("GetItem"), "{cause}");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_secs(9),
        "took {waited:?}"
    );
    drop(listener);
}

#[tokio::test]
async fn bulk_puts_store_what_the_api_reads_with_every_email_claimed() {
    // Given 60 users and 130 orders (more than one 25-item batch of each) put in bulk.
    let store = fresh_store().await;
    let users: Vec<User> = (0..60)
        .map(|i| user(&format!("bulk-{i}@example.com")))
        .collect();
    let orders: Vec<Order> = (0..130)
        .map(|i| order_at(&users[i % 60], "BULK-1", 2_000 + i as i64))
        .collect();
    store.bulk_put_users(&users).await.expect("bulk users");
    store.bulk_put_orders(&orders).await.expect("bulk orders");

    // Then the API's reads find each of them.
    for user in &users {
        assert_eq!(store.get_user(user.id).await.expect("a seeded user"), *user);
    }
    let stored_orders = || async {
        let pages = pages(&store, &OrderFilter::default(), 100).await;
        pages.iter().map(Vec::len).sum::<usize>()
    };
    assert_eq!(stored_orders().await, orders.len());
    // And each email is claimed: a new user with a seeded address is refused.
    let again = store.create_user(&user("BULK-7@example.com")).await;
    assert!(matches!(again, Err(DomainError::Conflict(_))), "{again:?}");
    // And putting the same data again changes nothing.
    store
        .bulk_put_orders(&orders)
        .await
        .expect("bulk orders again");
    assert_eq!(stored_orders().await, orders.len());
}
