//! The store contract: what every adapter of the ports must do, written once and run by each adapter's
//! own tests against a real backend (SQLite on disk, DynamoDB Local).
//!
//! An adapter's test file calls [`store_contract_tests!`] with an async expression that opens a fresh,
//! empty store; the macro expands to one named `#[tokio::test]` per rule.

use std::collections::HashSet;
use std::sync::Arc;

use crate::{
    CreateOrderOutcome, DomainError, IdempotencyKey, IdempotentOrderCreate, NewLineItem, NewOrder,
    NewUser, Order, OrderFilter, OrderId, OrderReader, OrderStatus, OrderWriter, PageRequest,
    RequestFingerprint, Timestamp, User, UserId, UserPatch, UserReader, UserWriter,
};

/// Everything a full store implements.
pub trait FullStore: UserReader + UserWriter + OrderReader + OrderWriter + 'static {}
impl<T: UserReader + UserWriter + OrderReader + OrderWriter + 'static> FullStore for T {}

fn new_user(email: &str, now: i64) -> User {
    NewUser::parse(email, "Ada Lovelace")
        .expect("valid user")
        .into_user(Timestamp::from_millis(now))
}

fn new_order(user: &User, sku: &str, now: i64) -> Order {
    NewOrder::parse(
        &user.id.to_string(),
        "EUR",
        &[
            NewLineItem {
                sku,
                quantity: 2,
                unit_price: 1_250,
            },
            NewLineItem {
                sku: "GIFT-WRAP",
                quantity: 1,
                unit_price: 300,
            },
        ],
    )
    .expect("valid order")
    .into_order(Timestamp::from_millis(now))
}

fn idempotent(order: &Order, key: &str) -> IdempotentOrderCreate {
    let request = NewOrder {
        user_id: order.user_id,
        items: order.items.clone(),
        currency: order.currency,
        total: order.total,
    };
    IdempotentOrderCreate {
        key: IdempotencyKey::parse(key).expect("valid key"),
        fingerprint: RequestFingerprint::of_new_order(&request),
        expires_at: Timestamp::from_millis(order.created_at.as_millis() + 86_400_000),
    }
}

async fn all_users<S: FullStore>(store: &S, limit: usize) -> Vec<User> {
    let mut out = Vec::new();
    let mut page = PageRequest::first(limit);
    loop {
        let got = store.list_users(page.clone()).await.expect("list users");
        assert!(got.items.len() <= limit, "a page holds more than its limit");
        out.extend(got.items);
        match got.next {
            Some(next) => page.after = Some(next),
            None => return out,
        }
    }
}

async fn all_orders<S: FullStore>(store: &S, filter: &OrderFilter, limit: usize) -> Vec<Order> {
    let mut out = Vec::new();
    let mut page = PageRequest::first(limit);
    loop {
        let got = store
            .list_orders(filter, page.clone())
            .await
            .expect("list orders");
        assert!(got.items.len() <= limit, "a page holds more than its limit");
        out.extend(got.items);
        match got.next {
            Some(next) => page.after = Some(next),
            None => return out,
        }
    }
}

pub async fn a_created_user_reads_back_equal<S: FullStore>(store: S) {
    let user = new_user("ada@example.com", 1_000);
    store.create_user(&user).await.expect("create");
    assert_eq!(store.get_user(user.id).await.expect("get"), user);
}

pub async fn a_missing_user_is_not_found<S: FullStore>(store: S) {
    let err = store.get_user(UserId::generate()).await.unwrap_err();
    assert!(
        matches!(err, DomainError::NotFound { entity: "user" }),
        "{err:?}"
    );
}

pub async fn an_email_is_unique_regardless_of_case<S: FullStore>(store: S) {
    let first = new_user("ada@example.com", 1_000);
    store.create_user(&first).await.expect("create");
    let twin = new_user("ADA@Example.com", 2_000);
    let err = store.create_user(&twin).await.unwrap_err();
    assert!(matches!(err, DomainError::Conflict(_)), "{err:?}");
    assert!(matches!(
        store.get_user(twin.id).await,
        Err(DomainError::NotFound { .. })
    ));
    assert_eq!(all_users(&store, 10).await, vec![first]);
}

pub async fn an_update_needs_the_current_version<S: FullStore>(store: S) {
    let user = new_user("ada@example.com", 1_000);
    store.create_user(&user).await.expect("create");
    let patch = UserPatch::parse(None, Some("Countess")).expect("patch");
    let v2 = patch
        .apply(&user, Timestamp::from_millis(2_000))
        .expect("changes");
    store.update_user(&v2).await.expect("update");
    assert_eq!(store.get_user(user.id).await.expect("get"), v2);

    // A second writer that read version 1 loses.
    let stale = UserPatch::parse(None, Some("Stale"))
        .expect("patch")
        .apply(&user, Timestamp::from_millis(3_000))
        .expect("changes");
    let err = store.update_user(&stale).await.unwrap_err();
    assert!(matches!(err, DomainError::PreconditionFailed), "{err:?}");
    assert_eq!(store.get_user(user.id).await.expect("get"), v2);

    let ghost = new_user("ghost@example.com", 1_000);
    let ghost_v2 = patch
        .apply(&ghost, Timestamp::from_millis(2_000))
        .expect("changes");
    let err = store.update_user(&ghost_v2).await.unwrap_err();
    assert!(matches!(err, DomainError::NotFound { .. }), "{err:?}");
}

pub async fn changing_an_email_moves_its_claim<S: FullStore>(store: S) {
    let ada = new_user("ada@example.com", 1_000);
    let bob = new_user("bob@example.com", 1_000);
    store.create_user(&ada).await.expect("create ada");
    store.create_user(&bob).await.expect("create bob");

    let taken = UserPatch::parse(Some("BOB@example.com"), None)
        .expect("patch")
        .apply(&ada, Timestamp::from_millis(2_000))
        .expect("changes");
    let err = store.update_user(&taken).await.unwrap_err();
    assert!(matches!(err, DomainError::Conflict(_)), "{err:?}");
    assert_eq!(store.get_user(ada.id).await.expect("get"), ada);

    let moved = UserPatch::parse(Some("countess@example.com"), None)
        .expect("patch")
        .apply(&ada, Timestamp::from_millis(2_000))
        .expect("changes");
    store.update_user(&moved).await.expect("move email");
    // The old address is free again; the new one is taken.
    store
        .create_user(&new_user("ada@example.com", 3_000))
        .await
        .expect("old email is free");
    let err = store
        .create_user(&new_user("Countess@example.com", 3_000))
        .await
        .unwrap_err();
    assert!(matches!(err, DomainError::Conflict(_)), "{err:?}");
}

pub async fn a_delete_releases_the_email_and_honours_the_version<S: FullStore>(store: S) {
    let user = new_user("ada@example.com", 1_000);
    store.create_user(&user).await.expect("create");
    let err = store.delete_user(user.id, Some(7)).await.unwrap_err();
    assert!(matches!(err, DomainError::PreconditionFailed), "{err:?}");
    store.delete_user(user.id, Some(1)).await.expect("delete");
    assert!(matches!(
        store.get_user(user.id).await,
        Err(DomainError::NotFound { .. })
    ));
    let err = store.delete_user(user.id, None).await.unwrap_err();
    assert!(matches!(err, DomainError::NotFound { .. }), "{err:?}");
    store
        .create_user(&new_user("ada@example.com", 2_000))
        .await
        .expect("email is free again");
}

pub async fn users_page_through_each_exactly_once<S: FullStore>(store: S) {
    let mut created = Vec::new();
    for i in 0..23 {
        let user = new_user(&format!("user{i}@example.com"), 1_000 + i);
        store.create_user(&user).await.expect("create");
        created.push(user);
    }
    let listed = all_users(&store, 5).await;
    assert_eq!(listed.len(), created.len());
    let ids: HashSet<_> = listed.iter().map(|u| u.id).collect();
    assert_eq!(ids.len(), created.len(), "a user was listed twice");
    for user in &created {
        assert!(listed.contains(user), "{} missing", user.email.as_str());
    }
}

pub async fn an_order_for_a_missing_user_is_refused_and_not_written<S: FullStore>(store: S) {
    let ghost = new_user("ghost@example.com", 1_000);
    let order = new_order(&ghost, "A-1", 2_000);
    let err = store.create_order(&order, None).await.unwrap_err();
    match err {
        DomainError::Validation(fields) => assert_eq!(fields[0].field, "userId"),
        other => panic!("expected a validation error on userId, got {other:?}"),
    }
    assert!(matches!(
        store.get_order(order.id).await,
        Err(DomainError::NotFound { entity: "order" })
    ));
    assert!(
        all_orders(&store, &OrderFilter::default(), 10)
            .await
            .is_empty()
    );
}

pub async fn a_created_order_reads_back_equal<S: FullStore>(store: S) {
    let user = new_user("ada@example.com", 1_000);
    store.create_user(&user).await.expect("create user");
    let order = new_order(&user, "BOOK-1", 2_000);
    let outcome = store
        .create_order(&order, None)
        .await
        .expect("create order");
    assert_eq!(outcome, CreateOrderOutcome::Created(order.clone()));
    assert_eq!(store.get_order(order.id).await.expect("get"), order);
    assert_eq!(order.total.get(), 2 * 1_250 + 300);
    let err = store.get_order(OrderId::generate()).await.unwrap_err();
    assert!(
        matches!(err, DomainError::NotFound { entity: "order" }),
        "{err:?}"
    );
}

pub async fn a_users_orders_list_newest_first_across_pages<S: FullStore>(store: S) {
    let ada = new_user("ada@example.com", 1_000);
    let bob = new_user("bob@example.com", 1_000);
    store.create_user(&ada).await.expect("create");
    store.create_user(&bob).await.expect("create");
    let mut expected = Vec::new();
    for i in 0..12 {
        // Two orders share each timestamp, so the id must break ties.
        let order = new_order(&ada, &format!("SKU-{i}"), 10_000 + (i / 2) * 10);
        store.create_order(&order, None).await.expect("create");
        expected.push(order);
        let other = new_order(&bob, "OTHER", 10_000 + i);
        store.create_order(&other, None).await.expect("create");
    }
    expected.sort_by_key(|o| std::cmp::Reverse((o.created_at, o.id)));
    let filter = OrderFilter {
        user_id: Some(ada.id),
        ..OrderFilter::default()
    };
    assert_eq!(all_orders(&store, &filter, 5).await, expected);
    assert_eq!(all_orders(&store, &filter, 100).await, expected);
}

pub async fn orders_filter_by_status_and_time_range<S: FullStore>(store: S) {
    let ada = new_user("ada@example.com", 1_000);
    let bob = new_user("bob@example.com", 1_000);
    store.create_user(&ada).await.expect("create");
    store.create_user(&bob).await.expect("create");
    let mut all = Vec::new();
    for i in 0..20i64 {
        let owner = if i % 2 == 0 { &ada } else { &bob };
        let mut order = new_order(owner, &format!("SKU-{i}"), 100_000 + i * 1_000);
        store.create_order(&order, None).await.expect("create");
        if i % 3 == 0 {
            order = order
                .transition(OrderStatus::Paid, Timestamp::from_millis(200_000 + i))
                .expect("pay");
            store.update_order(&order).await.expect("update");
        }
        all.push(order);
    }
    let filters = [
        OrderFilter::default(),
        OrderFilter {
            status: Some(OrderStatus::Paid),
            ..OrderFilter::default()
        },
        OrderFilter {
            created_from: Some(Timestamp::from_millis(105_000)),
            created_to: Some(Timestamp::from_millis(112_000)),
            ..OrderFilter::default()
        },
        OrderFilter {
            user_id: Some(bob.id),
            status: Some(OrderStatus::Pending),
            created_from: Some(Timestamp::from_millis(103_000)),
            ..OrderFilter::default()
        },
        OrderFilter {
            user_id: Some(ada.id),
            created_to: Some(Timestamp::from_millis(106_000)),
            ..OrderFilter::default()
        },
    ];
    for filter in filters {
        let mut want: Vec<_> = all.iter().filter(|o| filter.matches(o)).cloned().collect();
        let mut got = all_orders(&store, &filter, 3).await;
        if filter.user_id.is_some() {
            want.sort_by_key(|o| std::cmp::Reverse((o.created_at, o.id)));
        } else {
            want.sort_by_key(|o| o.id);
            got.sort_by_key(|o| o.id);
        }
        assert_eq!(got, want, "filter {filter:?}");
    }
}

pub async fn an_order_update_needs_the_current_version<S: FullStore>(store: S) {
    let user = new_user("ada@example.com", 1_000);
    store.create_user(&user).await.expect("create");
    let order = new_order(&user, "A", 2_000);
    store.create_order(&order, None).await.expect("create");
    let paid = order
        .transition(OrderStatus::Paid, Timestamp::from_millis(3_000))
        .expect("pay");
    store.update_order(&paid).await.expect("pay");
    let cancelled_from_stale = order
        .transition(OrderStatus::Cancelled, Timestamp::from_millis(4_000))
        .expect("cancel");
    let err = store.update_order(&cancelled_from_stale).await.unwrap_err();
    assert!(matches!(err, DomainError::PreconditionFailed), "{err:?}");
    assert_eq!(store.get_order(order.id).await.expect("get"), paid);

    let ghost = new_order(&user, "B", 2_000)
        .transition(OrderStatus::Paid, Timestamp::from_millis(3_000))
        .expect("pay");
    let err = store.update_order(&ghost).await.unwrap_err();
    assert!(matches!(err, DomainError::NotFound { .. }), "{err:?}");
}

pub async fn an_idempotency_key_replays_the_same_request_and_refuses_another<S: FullStore>(
    store: S,
) {
    let user = new_user("ada@example.com", 1_000);
    store.create_user(&user).await.expect("create");
    let order = new_order(&user, "A", 2_000);
    let key = idempotent(&order, "key-1");
    let first = store
        .create_order(&order, Some(&key))
        .await
        .expect("create");
    assert_eq!(first, CreateOrderOutcome::Created(order.clone()));

    // The retry builds a new order value (new id), as a handler would; the store answers with the first.
    let retry = new_order(&user, "A", 3_000);
    let again = store
        .create_order(&retry, Some(&idempotent(&retry, "key-1")))
        .await
        .expect("replay");
    assert_eq!(again, CreateOrderOutcome::Replayed(order.clone()));

    let different = new_order(&user, "B", 3_000);
    let err = store
        .create_order(&different, Some(&idempotent(&different, "key-1")))
        .await
        .unwrap_err();
    assert!(matches!(err, DomainError::IdempotencyKeyReused), "{err:?}");
    assert_eq!(
        all_orders(&store, &OrderFilter::default(), 10).await,
        vec![order]
    );
}

pub async fn concurrent_retries_with_one_key_create_one_order<S: FullStore>(store: S) {
    let store = Arc::new(store);
    let user = new_user("ada@example.com", 1_000);
    store.create_user(&user).await.expect("create");
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = Arc::clone(&store);
        let order = new_order(&user, "SAME", 2_000 + i);
        tasks.push(tokio::spawn(async move {
            let key = idempotent(&order, "shared-key");
            store.create_order(&order, Some(&key)).await
        }));
    }
    let mut created = 0;
    let mut ids = HashSet::new();
    for task in tasks {
        let outcome = task.await.expect("task").expect("create or replay");
        if matches!(outcome, CreateOrderOutcome::Created(_)) {
            created += 1;
        }
        ids.insert(outcome.order().id);
    }
    assert_eq!(created, 1);
    assert_eq!(ids.len(), 1, "every response must name the one order");
    assert_eq!(
        all_orders(&*store, &OrderFilter::default(), 100)
            .await
            .len(),
        1
    );
}

pub async fn concurrent_creates_with_one_email_let_one_win<S: FullStore>(store: S) {
    let store = Arc::new(store);
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = Arc::clone(&store);
        let user = new_user(
            if i % 2 == 0 {
                "race@example.com"
            } else {
                "RACE@example.com"
            },
            1_000,
        );
        tasks.push(tokio::spawn(async move { store.create_user(&user).await }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(()) => ok += 1,
            Err(DomainError::Conflict(_)) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(all_users(&*store, 100).await.len(), 1);
}

pub async fn concurrent_updates_from_one_version_let_one_win<S: FullStore>(store: S) {
    let store = Arc::new(store);
    let user = new_user("ada@example.com", 1_000);
    store.create_user(&user).await.expect("create");
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = Arc::clone(&store);
        let next = UserPatch::parse(None, Some(&format!("Writer {i}")))
            .expect("patch")
            .apply(&user, Timestamp::from_millis(2_000))
            .expect("changes");
        tasks.push(tokio::spawn(async move { store.update_user(&next).await }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(()) => ok += 1,
            Err(DomainError::PreconditionFailed) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(store.get_user(user.id).await.expect("get").version, 2);
}

/// Expands to one `#[tokio::test]` per contract rule. `$open` is an async expression that evaluates
/// to a fresh, empty store; it is evaluated once per test.
#[macro_export]
macro_rules! store_contract_tests {
    ($open:expr) => {
        $crate::store_contract_tests!(@each $open;
            a_created_user_reads_back_equal,
            a_missing_user_is_not_found,
            an_email_is_unique_regardless_of_case,
            an_update_needs_the_current_version,
            changing_an_email_moves_its_claim,
            a_delete_releases_the_email_and_honours_the_version,
            users_page_through_each_exactly_once,
            an_order_for_a_missing_user_is_refused_and_not_written,
            a_created_order_reads_back_equal,
            a_users_orders_list_newest_first_across_pages,
            orders_filter_by_status_and_time_range,
            an_order_update_needs_the_current_version,
            an_idempotency_key_replays_the_same_request_and_refuses_another,
            concurrent_retries_with_one_key_create_one_order,
            concurrent_creates_with_one_email_let_one_win,
            concurrent_updates_from_one_version_let_one_win,
        );
    };
    (@each $open:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let store = $open;
                $crate::testing::$name(store).await;
            }
        )*
    };
}
