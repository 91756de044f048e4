//! What the export's integration tests share: a SQLite store filled with seed data plus users whose
//! names and emails exercise every CSV edge case the domain allows, and a reader that undoes the CSV
//! encoding so an export can be compared with the store field by field.

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use rill_core::{
    NewUser, Order, OrderFilter, OrderId, OrderReader, PageRequest, Timestamp, User, UserReader,
};
use rill_seed::{OrderBatches, SeedPlan};
use rill_store_sqlite::SqliteStore;

/// Names and emails that need quoting, defusing or more than ASCII. The domain refuses control
/// characters (so no CR, LF or TAB can reach a cell) and whitespace in emails; everything else is here.
pub const EDGE_USERS: &[(&str, &str)] = &[
    ("ann,comma@example.com", "Ann, \"The\" Admin"),
    ("\"quoted\"@example.com", "\"Quoted\" at the start"),
    ("=cmd@example.com", "=1+1"),
    ("+tag@example.com", "+31 6 12345678"),
    ("-dash@example.com", "-minus"),
    ("at.sign@example.com", "@SUM(A1:A9)"),
    ("'apostrophe@example.com", "'Tis the season"),
    ("double@example.com", "''double"),
    (
        "hyperlink@example.com",
        "=HYPERLINK(\"http://example.com/x\",\"click, here\")",
    ),
    ("zoë@exämple.de", "Zoë \"Z\" Brontë, 山田 太郎 😀"),
];

/// A store in `dir` with the edge users, `users` seed users and `orders` seed orders.
pub async fn seeded_store(dir: &Path, users: usize, orders: usize) -> Arc<SqliteStore> {
    let store = SqliteStore::open(&dir.join("rill.db")).unwrap();
    let plan = SeedPlan {
        users,
        orders,
        seed: 7,
    };
    let mut all = rill_seed::users(&plan);
    for (i, (email, name)) in EDGE_USERS.iter().enumerate() {
        let user = NewUser::parse(email, name)
            .unwrap_or_else(|e| panic!("{email} / {name}: {e:?}"))
            .into_user(Timestamp::from_millis(1_700_000_000_000 + i as i64));
        all.push(user);
    }
    let writer = store.clone();
    tokio::task::spawn_blocking(move || {
        writer.bulk_insert_users(&all).unwrap();
        let seed_users = rill_seed::users(&plan);
        for batch in OrderBatches::new(&plan, &seed_users, 5_000) {
            writer.bulk_insert_orders(&batch).unwrap();
        }
    })
    .await
    .unwrap();
    Arc::new(store)
}

/// Breaks the stored line items of order `id` in the store that [`seeded_store`] made in `dir`, so
/// that reading its page fails as a corrupt row would.
pub fn corrupt_order_items(dir: &Path, id: OrderId) {
    let connection = rusqlite::Connection::open(dir.join("rill.db")).unwrap();
    let changed = connection
        .execute(
            "UPDATE orders SET items = 'not a list of items' WHERE id = ?1",
            [id.to_string()],
        )
        .unwrap();
    assert_eq!(changed, 1, "order {id} is in the store");
}

/// Every order the store lists for `filter`, in its order.
pub async fn all_orders(store: &SqliteStore, filter: &OrderFilter) -> Vec<Order> {
    let mut orders = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_orders(
                filter,
                PageRequest {
                    limit: 1_000,
                    after,
                },
            )
            .await
            .unwrap();
        orders.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return orders,
        }
    }
}

/// Every user, in the store's order.
pub async fn all_users(store: &SqliteStore) -> Vec<User> {
    let mut users = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_users(PageRequest {
                limit: 1_000,
                after,
            })
            .await
            .unwrap();
        users.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return users,
        }
    }
}

/// A text cell as it was before defusing: the documented rule is "drop one leading `'`".
pub fn undefuse(cell: &str) -> &str {
    cell.strip_prefix('\'').unwrap_or(cell)
}

/// The rows (header included) of a CSV body, parsed by the csv crate with RFC 4180 rules.
pub fn csv_rows(body: &[u8]) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body);
    reader
        .records()
        .map(|record| record.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// The data rows of an orders CSV body (header left out), with the `sku` cell undefused, so that they
/// compare equal to [`expected_order_rows`].
pub fn order_rows_as_stored(body: &[u8]) -> Vec<Vec<String>> {
    csv_rows(body)
        .into_iter()
        .skip(1)
        .map(|mut row| {
            row[8] = undefuse(&row[8]).to_owned();
            row
        })
        .collect()
}

/// The CSV rows an order must become, built from the order itself (not by the encoder under test),
/// with text cells as stored (compare after [`undefuse`]).
pub fn expected_order_rows(order: &Order) -> Vec<Vec<String>> {
    order
        .items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            vec![
                order.id.to_string(),
                order.user_id.to_string(),
                order.status.to_string(),
                order.currency.to_string(),
                order.total.get().to_string(),
                order.created_at.to_rfc3339(),
                order.updated_at.to_rfc3339(),
                (index + 1).to_string(),
                item.sku.as_str().to_owned(),
                item.quantity.get().to_string(),
                item.unit_price.get().to_string(),
            ]
        })
        .collect()
}

/// The CSV row a user must become, text cells as stored.
pub fn expected_user_row(user: &User) -> Vec<String> {
    vec![
        user.id.to_string(),
        user.email.as_str().to_owned(),
        user.name.as_str().to_owned(),
        user.created_at.to_rfc3339(),
        user.updated_at.to_rfc3339(),
        user.version.to_string(),
    ]
}
