//! The data the benchmark reads: SQLite databases seeded by `scripts/seed` (10k, 100k and 1M
//! orders over 1,000 users, deterministic), ids picked from them, a small data set in DynamoDB Local,
//! and the exact REST event the gateway sends for a request (for the in-process floor).

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use aws_config::BehaviorVersion;
use http::{HeaderMap, HeaderValue, Method};
use rill_core::{OrderFilter, OrderReader, PageRequest, UserReader};
use rill_gateway::event::{self, EventInput};
use rill_gateway::request::{CallerIdentity, Query, RoutedRequest};
use rill_gateway::settings::{LOCAL_ACCESS_KEY_ID, Settings};
use rill_store_dynamodb::{DynamoStore, TableNames, create_tables};
use rill_store_sqlite::SqliteStore;

use crate::Context;

/// The export sizes, by label.
pub const EXPORT_SIZES: [(&str, u64); 3] = [("10k", 10_000), ("100k", 100_000), ("1m", 1_000_000)];

/// The data set every request-path section uses.
pub const DEFAULT_DATASET: &str = "10k";

/// The gateway's `--data-dir` for a seeded data set (the database is `rill.db` inside).
pub fn data_dir(ctx: &Context, label: &str) -> PathBuf {
    ctx.datasets_dir.join(format!("orders-{label}"))
}

/// The database of a seeded data set, which must exist.
pub fn database(ctx: &Context, label: &str) -> anyhow::Result<PathBuf> {
    let db = data_dir(ctx, label).join("rill.db");
    if !db.is_file() {
        bail!(
            "{} is missing: scripts/bench seeds it (scripts/seed --orders ... --db {})",
            db.display(),
            db.display()
        );
    }
    Ok(db)
}

/// Ids that exist in a data set.
#[derive(Debug, Clone)]
pub struct Ids {
    pub user: String,
    pub order: String,
    pub orders: u64,
}

/// The first user and order of the SQLite database at `db`, and the number of orders.
pub async fn sqlite_ids(db: &Path) -> anyhow::Result<Ids> {
    let store = SqliteStore::open(db).with_context(|| format!("opening {}", db.display()))?;
    let user = store
        .list_users(PageRequest::first(1))
        .await?
        .items
        .into_iter()
        .next()
        .context("the data set has no users")?;
    let order = store
        .list_orders(&OrderFilter::default(), PageRequest::first(1))
        .await?
        .items
        .into_iter()
        .next()
        .context("the data set has no orders")?;
    let orders = count_orders(db)?;
    Ok(Ids {
        user: user.id.to_string(),
        order: order.id.to_string(),
        orders,
    })
}

fn count_orders(db: &Path) -> anyhow::Result<u64> {
    // The stores have no count; the seed stamp records it.
    let stamp = db.with_file_name("seeded");
    let text = std::fs::read_to_string(&stamp)
        .with_context(|| format!("{} is missing; reseed the data set", stamp.display()))?;
    text.split_whitespace()
        .find_map(|word| word.strip_prefix("orders=")?.parse().ok())
        .with_context(|| format!("{} names no orders=N", stamp.display()))
}

/// The table names the gateway gives functions for the workspace template (`Ref` of a table without
/// a `TableName` is its logical id).
pub fn template_tables() -> TableNames {
    TableNames {
        users: "UsersTable".to_owned(),
        orders: "OrdersTable".to_owned(),
        idempotency: "IdempotencyTable".to_owned(),
    }
}

/// Creates the template's tables in DynamoDB Local (if missing) and a few seeded users and orders;
/// returns ids that exist there.
pub async fn dynamodb_fixture() -> anyhow::Result<Ids> {
    use rill_core::{OrderWriter as _, UserWriter as _};

    let config = rill_store_dynamodb::configure(aws_config::defaults(BehaviorVersion::latest()))
        .load()
        .await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let tables = template_tables();
    let existing = client
        .list_tables()
        .send()
        .await
        .context("DynamoDB Local does not answer")?;
    if !existing.table_names().contains(&tables.users) {
        create_tables(&client, &tables).await?;
    }
    let store = DynamoStore::new(client, tables);
    let plan = rill_seed::SeedPlan {
        users: 3,
        orders: 3,
        seed: 7,
    };
    let users = rill_seed::users(&plan);
    for user in &users {
        match store.create_user(user).await {
            Ok(()) | Err(rill_core::DomainError::Conflict { .. }) => {}
            Err(error) => return Err(error.into()),
        }
    }
    let orders: Vec<_> = rill_seed::OrderBatches::new(&plan, &users, 3)
        .flatten()
        .collect();
    for order in &orders {
        store.create_order(order, None).await?;
    }
    let order = orders.first().context("the plan has orders")?;
    Ok(Ids {
        user: order.user_id.to_string(),
        order: order.id.to_string(),
        orders: orders.len() as u64,
    })
}

/// The REST v1 event the gateway builds for a signed GET of `path` (after the stage) on `template`,
/// with `headers` as the client sent them.
pub fn rest_event(
    template: &Path,
    path: &str,
    headers: &[(String, String)],
) -> anyhow::Result<Vec<u8>> {
    let settings = Settings::new(template, ".", ".");
    let config = rill_gateway::config::load(&settings)?;
    let found = config
        .routes
        .find(&Method::GET, path)
        .with_context(|| format!("no route for GET {path}"))?;
    let mut header_map = HeaderMap::new();
    for (name, value) in headers {
        header_map.insert(
            http::HeaderName::from_bytes(name.as_bytes())?,
            HeaderValue::from_str(value)?,
        );
    }
    // What the gateway adds on the way to the function.
    for (name, value) in [
        ("x-forwarded-for", "127.0.0.1"),
        ("x-forwarded-port", "3000"),
        ("x-forwarded-proto", "http"),
        (
            "x-amzn-trace-id",
            "Root=1-6740a1b2-0123456789abcdef01234567",
        ),
    ] {
        header_map.insert(name, HeaderValue::from_static(value));
    }
    let identity = CallerIdentity {
        access_key: Some(LOCAL_ACCESS_KEY_ID.to_owned()),
        ..CallerIdentity::default()
    };
    let request = RoutedRequest {
        method: Method::GET,
        raw_path: format!("/{}{path}", config.stage),
        path: path.to_owned(),
        path_parameters: found.path_parameters.clone(),
        query: Query::default(),
        headers: header_map,
        body: Default::default(),
    };
    let event = event::build(&EventInput {
        route: found.route,
        request: &request,
        stage: &config.stage,
        api_id: &config.api_id,
        request_id: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        source_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        received_at: time::OffsetDateTime::now_utc(),
        identity: &identity,
        binary_media_types: &config.binary_media_types,
    });
    Ok(serde_json::to_vec(&event)?)
}
