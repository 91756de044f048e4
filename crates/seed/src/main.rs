//! `seed`: fills a store with N users and M orders, deterministically and fast: the embedded SQLite
//! store, or a stage's DynamoDB tables.
//!
//! ```text
//! scripts/seed --users 1000 --orders 1000000 [--db .local/rill.db] [--seed 42] [--replace]
//! scripts/seed --users-table T --orders-table T [--create-tables --idempotency-table T] ...
//! ```
//!
//! Orders are generated on one thread and inserted on another, in batches of `--batch` (one
//! transaction each, through the store's bulk insert), so generation and SQLite overlap on two cores.
//! A database that already holds data is left alone unless `--replace` is given, in which case the file
//! is deleted first: seeding the same seed twice would otherwise collide on ids.
//!
//! With table names the data goes to DynamoDB (the Region, credentials and any endpoint, such as
//! DynamoDB Local's, from the environment), through the DynamoDB store's batch puts. A users table
//! that holds any user is refused, as a non-empty database is: batch puts have no conditions, and
//! with no user there is no email a seeded user could take from someone. Orders that outlived their
//! users (the cancelled ones `scripts/smoke` leaves) cannot collide with seeded ids and do not count.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Parser;
use rill_core::{OrderFilter, OrderReader, PageRequest, UserReader};
use rill_seed::{OrderBatches, SeedPlan, users};
use rill_store_dynamodb::{DynamoStore, TableNames, create_tables};
use rill_store_sqlite::SqliteStore;

/// Fill the local SQLite store, or DynamoDB tables, with realistic users and orders.
#[derive(Debug, Parser)]
#[command(
    name = "seed",
    version,
    after_help = "scripts/seed also takes --stack NAME [--region R]: the tables of a deployed stack."
)]
struct Args {
    /// Users to create.
    #[arg(long, default_value_t = 1_000)]
    users: usize,
    /// Orders to create, spread over the users.
    #[arg(long, default_value_t = 10_000)]
    orders: usize,
    /// The SQLite database file.
    #[arg(long, env = "RILL_SQLITE_PATH", default_value = ".local/rill.db")]
    db: PathBuf,
    /// The same seed always gives the same data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Records per transaction.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    batch: u32,
    /// Delete the database first if it exists (SQLite only).
    #[arg(long)]
    replace: bool,
    /// Seed this DynamoDB users table instead of SQLite (with --orders-table).
    #[arg(long, requires = "orders_table", conflicts_with = "replace")]
    users_table: Option<String>,
    /// Seed this DynamoDB orders table instead of SQLite (with --users-table).
    #[arg(long, requires = "users_table")]
    orders_table: Option<String>,
    /// The idempotency table, for --create-tables.
    #[arg(long)]
    idempotency_table: Option<String>,
    /// Create the three tables first if they do not exist (DynamoDB Local only: a stage's tables come
    /// from its stack).
    #[arg(long, requires_all = ["users_table", "idempotency_table"])]
    create_tables: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.orders > 0 && args.users == 0 {
        bail!("--orders needs at least one user (--users)");
    }
    if let (Some(users), Some(orders)) = (&args.users_table, &args.orders_table) {
        let tables = TableNames {
            users: users.clone(),
            orders: orders.clone(),
            idempotency: args.idempotency_table.clone().unwrap_or_default(),
        };
        return seed_dynamodb(&args, tables);
    }
    seed_sqlite(&args)
}

fn seed_sqlite(args: &Args) -> anyhow::Result<()> {
    if args.replace {
        remove_database(&args.db)?;
    }
    let store =
        SqliteStore::open(&args.db).with_context(|| format!("opening {}", args.db.display()))?;
    if holds_data(&store)? {
        bail!(
            "{} already holds users or orders; pass --replace to start from an empty database",
            args.db.display()
        );
    }

    let plan = SeedPlan {
        users: args.users,
        orders: args.orders,
        seed: args.seed,
    };
    let batch = args.batch as usize;
    let started = Instant::now();

    let users = users(&plan);
    for chunk in users.chunks(batch) {
        store.bulk_insert_users(chunk).context("inserting users")?;
    }
    let users_done = started.elapsed();

    // Generation and insertion overlap: the generator runs at most two batches ahead.
    let inserted = std::thread::scope(|scope| -> anyhow::Result<usize> {
        let (batches_tx, batches_rx) = mpsc::sync_channel(2);
        let users = &users;
        scope.spawn(move || {
            for orders in OrderBatches::new(&plan, users, batch) {
                if batches_tx.send(orders).is_err() {
                    return;
                }
            }
        });
        let mut progress = Progress::new(plan.orders, started);
        for orders in batches_rx {
            store
                .bulk_insert_orders(&orders)
                .context("inserting orders")?;
            progress.add(orders.len());
        }
        Ok(progress.done)
    })?;

    let elapsed = started.elapsed().as_secs_f64();
    let orders_secs = (elapsed - users_done.as_secs_f64()).max(f64::EPSILON);
    println!(
        "seeded {} users and {inserted} orders into {} in {elapsed:.1} s ({:.0} orders/s), seed {}",
        users.len(),
        args.db.display(),
        inserted as f64 / orders_secs,
        args.seed
    );
    Ok(())
}

/// Seeds a stage's DynamoDB tables (or DynamoDB Local's) through the DynamoDB store's batch puts.
fn seed_dynamodb(args: &Args, tables: TableNames) -> anyhow::Result<()> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .ok();
    if args.create_tables && endpoint.is_none() {
        bail!(
            "--create-tables is for DynamoDB Local (AWS_ENDPOINT_URL_DYNAMODB); a stage's tables come from its stack"
        );
    }
    let plan = SeedPlan {
        users: args.users,
        orders: args.orders,
        seed: args.seed,
    };
    let batch = args.batch as usize;
    let where_to = format!(
        "DynamoDB tables {} and {}{}",
        tables.users,
        tables.orders,
        endpoint.map(|e| format!(" at {e}")).unwrap_or_default()
    );
    let runtime = tokio::runtime::Runtime::new().context("starting a runtime")?;
    runtime.block_on(async {
        let store = DynamoStore::from_env(tables.clone());
        if args.create_tables {
            create_tables(store.client().await, &tables)
                .await
                .context("creating the tables")?;
        }
        let existing = store
            .list_users(PageRequest::first(1))
            .await
            .with_context(|| format!("reading {where_to}"))?;
        if !existing.items.is_empty() {
            bail!(
                "{} already holds users; seed a stage whose users table is empty (batch puts could otherwise take an email from a user)",
                tables.users
            );
        }

        let started = Instant::now();
        let users = users(&plan);
        for chunk in users.chunks(batch) {
            store
                .bulk_put_users(chunk)
                .await
                .context("putting users")?;
        }
        let mut progress = Progress::new(plan.orders, started);
        for orders in OrderBatches::new(&plan, &users, batch) {
            store
                .bulk_put_orders(&orders)
                .await
                .context("putting orders")?;
            progress.add(orders.len());
        }
        let inserted = progress.done;
        println!(
            "seeded {} users and {inserted} orders into {where_to} in {:.1} s, seed {}",
            users.len(),
            started.elapsed().as_secs_f64(),
            args.seed
        );
        Ok(())
    })
}

/// Orders stored so far, reported on stderr at every tenth of the plan.
#[derive(Debug)]
struct Progress {
    planned: usize,
    done: usize,
    next_report: usize,
    started: Instant,
}

impl Progress {
    fn new(planned: usize, started: Instant) -> Self {
        Self {
            planned,
            done: 0,
            next_report: planned / 10,
            started,
        }
    }

    fn add(&mut self, stored: usize) {
        self.done += stored;
        if self.done >= self.next_report && self.done < self.planned {
            eprintln!(
                "  {} of {} orders ({:.1} s)",
                self.done,
                self.planned,
                self.started.elapsed().as_secs_f64()
            );
            self.next_report += self.planned / 10;
        }
    }
}

/// Deletes the database and its WAL files.
fn remove_database(db: &Path) -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let mut path = db.as_os_str().to_owned();
        path.push(suffix);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(error)
                    .with_context(|| format!("removing {}", Path::new(&path).display()));
            }
        }
    }
    Ok(())
}

/// Whether the store holds any user or order.
fn holds_data(store: &SqliteStore) -> anyhow::Result<bool> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting a runtime")?;
    runtime.block_on(async {
        let users = store.list_users(PageRequest::first(1)).await?;
        let orders = store
            .list_orders(&OrderFilter::default(), PageRequest::first(1))
            .await?;
        Ok::<bool, anyhow::Error>(!users.items.is_empty() || !orders.items.is_empty())
    })
}
