//! `seed`: fills the embedded SQLite store with N users and M orders, deterministically and fast.
//!
//! ```text
//! scripts/seed --users 1000 --orders 1000000 [--db .local/rill.db] [--seed 42] [--replace]
//! ```
//!
//! Orders are generated on one thread and inserted on another, in batches of `--batch` (one
//! transaction each, through the store's bulk insert), so generation and SQLite overlap on two cores.
//! A database that already holds data is left alone unless `--replace` is given, in which case the file
//! is deleted first: seeding the same seed twice would otherwise collide on ids.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Parser;
use rill_core::{OrderFilter, OrderReader, PageRequest, UserReader};
use rill_seed::{OrderBatches, SeedPlan, users};
use rill_store_sqlite::SqliteStore;

/// Fill the local SQLite store with realistic users and orders.
#[derive(Debug, Parser)]
#[command(name = "seed", version)]
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
    /// Delete the database first if it exists.
    #[arg(long)]
    replace: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.orders > 0 && args.users == 0 {
        bail!("--orders needs at least one user (--users)");
    }
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
        let mut inserted = 0usize;
        let mut next_report = plan.orders / 10;
        for orders in batches_rx {
            store
                .bulk_insert_orders(&orders)
                .context("inserting orders")?;
            inserted += orders.len();
            if inserted >= next_report && inserted < plan.orders {
                eprintln!(
                    "  {inserted} of {} orders ({:.1} s)",
                    plan.orders,
                    started.elapsed().as_secs_f64()
                );
                next_report += plan.orders / 10;
            }
        }
        Ok(inserted)
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
