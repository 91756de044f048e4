//! Throughput of bulk loading and of large pages, the two things the seed script and the export
//! function lean on.
//!
//! `cargo bench -p rill-store-sqlite --bench bulk_insert` loads 1 000 000 orders (set
//! `RILL_BENCH_ORDERS` for another count) for 10 000 users into a new file with `synchronous = FULL`,
//! in batches of 50 000 (`RILL_BENCH_BATCH`), then pages through them as the export function does (1 000 a page) with and
//! without a filter, and through every user's orders as `GET /users/{id}/orders` does (100 a page).
//! It prints one line per step with its rate, wall-clock and CPU time (from `/proc/self/stat`, so the
//! work can be judged on a busy machine too).

use std::time::{Duration, Instant};

use rill_core::{
    NewLineItem, NewOrder, NewUser, Order, OrderFilter, OrderReader, OrderStatus, PageRequest,
    Timestamp, User,
};
use rill_store_sqlite::SqliteStore;

const USERS: usize = 10_000;

fn main() {
    let orders: usize = std::env::var("RILL_BENCH_ORDERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let batch_size: usize = std::env::var("RILL_BENCH_BATCH")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(50_000);
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::open(&dir.path().join("bench.db")).expect("open");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");

    let users: Vec<User> = (0..USERS)
        .map(|i| {
            NewUser::parse(&format!("user{i}@example.com"), "Bench User")
                .expect("user")
                .into_user(Timestamp::from_millis(1_700_000_000_000))
        })
        .collect();
    let started = Timer::start();
    for batch in users.chunks(batch_size) {
        store.bulk_insert_users(batch).expect("insert users");
    }
    started.report("bulk_insert_users", USERS);

    // Orders are built batch by batch, as a seed tool streaming them would.
    let statuses = OrderStatus::ALL;
    let mut built = 0;
    let started = Timer::start();
    while built < orders {
        let batch: Vec<Order> = (built..(built + batch_size).min(orders))
            .map(|i| order(&users[i % USERS], i, statuses[i % statuses.len()]))
            .collect();
        built += batch.len();
        store.bulk_insert_orders(&batch).expect("insert orders");
    }
    started.report(
        &format!("bulk_insert_orders, batches of {batch_size} (build + insert)"),
        orders,
    );

    let page_all = |filter: OrderFilter, limit: usize| {
        let started = Timer::start();
        let (mut rows, mut pages) = (0, 0);
        let mut page = PageRequest::first(limit);
        loop {
            let got = runtime
                .block_on(store.list_orders(&filter, page.clone()))
                .expect("list orders");
            rows += got.items.len();
            pages += 1;
            match got.next {
                Some(next) => page.after = Some(next),
                None => break,
            }
        }
        (rows, pages, started)
    };

    let (rows, pages, took) = page_all(OrderFilter::default(), 1_000);
    assert_eq!(rows, orders);
    took.report(&format!("list_orders, all, {pages} pages of 1000"), rows);

    let paid = OrderFilter {
        status: Some(OrderStatus::Paid),
        ..OrderFilter::default()
    };
    let (rows, pages, took) = page_all(paid, 1_000);
    took.report(
        &format!("list_orders, status=paid, {pages} pages of 1000"),
        rows,
    );

    let started = Timer::start();
    let (mut rows, mut pages) = (0, 0);
    for user in users.iter().take(1_000) {
        let mine = OrderFilter {
            user_id: Some(user.id),
            ..OrderFilter::default()
        };
        let (r, p, _) = page_all(mine, 100);
        (rows, pages) = (rows + r, pages + p);
    }
    started.report(
        &format!("list_orders, 1000 users, {pages} pages of up to 100"),
        rows,
    );
    let size = std::fs::metadata(dir.path().join("bench.db"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!("database file: {} MiB", size / (1024 * 1024));
}

fn order(user: &User, i: usize, status: OrderStatus) -> Order {
    let sku = format!("SKU-{}", i % 5_000);
    let placed = NewOrder::parse(
        &user.id.to_string(),
        "EUR",
        &[
            NewLineItem {
                sku: &sku,
                quantity: 1 + (i % 5) as i64,
                unit_price: 1_999,
            },
            NewLineItem {
                sku: "GIFT-WRAP",
                quantity: 1,
                unit_price: 300,
            },
        ],
    )
    .expect("order")
    .into_order(Timestamp::from_millis(1_700_000_000_000 + i as i64 * 1_000));
    Order { status, ..placed }
}

/// Wall-clock and CPU time since a start.
struct Timer {
    wall: Instant,
    cpu: Option<Duration>,
}

impl Timer {
    fn start() -> Self {
        Self {
            wall: Instant::now(),
            cpu: process_cpu_time(),
        }
    }

    fn report(&self, step: &str, rows: usize) {
        let wall = self.wall.elapsed();
        let cpu = match (self.cpu, process_cpu_time()) {
            (Some(start), Some(now)) => format!("{:.2} s", (now - start).as_secs_f64()),
            _ => "n/a".to_owned(),
        };
        let rate = rows as f64 / wall.as_secs_f64().max(f64::EPSILON);
        println!(
            "{step}: {rows} rows in {:.2} s wall, {cpu} CPU ({rate:.0} rows/s)",
            wall.as_secs_f64()
        );
    }
}

/// User + system time of this process so far, from `/proc/self/stat` (Linux; clock ticks of 10 ms).
fn process_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th of them.
    let after_name = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}
