//! One database file shared the way the local gateway shares it: by several stores, and by several
//! processes (each running one function), one of which may be killed at any moment.
//!
//! The multi-process tests start copies of this test binary as child processes, running the ignored
//! test `child_process` with instructions in environment variables.

mod support;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use rill_core::{
    CreateOrderOutcome, DomainError, IdempotencyKey, IdempotentOrderCreate, OrderFilter, OrderId,
    OrderReader, OrderWriter, PageRequest, RequestFingerprint, Timestamp, UserId, UserReader,
    UserWriter,
};
use rill_store_sqlite::SqliteStore;
use support::{db_path, idempotent, new_order, order, user};

const CHILD_TASK: &str = "RILL_SQLITE_TEST_CHILD_TASK";
const CHILD_DB: &str = "RILL_SQLITE_TEST_CHILD_DB";
const CHILD_USER_ID: &str = "RILL_SQLITE_TEST_CHILD_USER_ID";
const CHILD_EMAIL: &str = "RILL_SQLITE_TEST_CHILD_EMAIL";
const RACE_KEYS: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_file_keep_emails_unique_and_idempotency_keys_single_use() {
    // Given two stores opened separately on one file, as two function processes would
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(dir.path());
    let stores = [
        Arc::new(SqliteStore::open(&path).unwrap()),
        Arc::new(SqliteStore::open(&path).unwrap()),
    ];

    // When both race to create users with one email, in different cases
    let mut creates = Vec::new();
    for i in 0..16 {
        let store = Arc::clone(&stores[i % 2]);
        let email = if i % 2 == 0 {
            "race@example.com"
        } else {
            "RACE@Example.com"
        };
        let racer = user(email, 1_000);
        creates.push(tokio::spawn(async move { store.create_user(&racer).await }));
    }
    let mut winners = 0;
    for create in creates {
        match create.await.unwrap() {
            Ok(()) => winners += 1,
            Err(DomainError::Conflict(_)) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    // Then exactly one user exists, seen the same from both stores
    assert_eq!(winners, 1);
    let seen_by_first = stores[0].list_users(PageRequest::first(50)).await.unwrap();
    let seen_by_second = stores[1].list_users(PageRequest::first(50)).await.unwrap();
    assert_eq!(seen_by_first.items.len(), 1);
    assert_eq!(seen_by_first, seen_by_second);
    let owner = seen_by_first.items[0].clone();

    // When both race to create an order under one idempotency key
    let mut orders = Vec::new();
    for i in 0..16 {
        let store = Arc::clone(&stores[i % 2]);
        let attempt = order(&owner, "SAME", 2_000 + i as i64);
        orders.push(tokio::spawn(async move {
            let key = idempotent(&attempt, "shared", 2_000 + 86_400_000);
            store.create_order(&attempt, Some(&key)).await
        }));
    }
    let mut created = 0;
    let mut named = HashSet::new();
    for outcome in orders {
        let outcome = outcome.await.unwrap().expect("created or replayed");
        created += usize::from(matches!(outcome, CreateOrderOutcome::Created(_)));
        named.insert(outcome.order().id);
    }

    // Then one order was created and every answer names it
    assert_eq!(created, 1);
    assert_eq!(named.len(), 1);
    let listed = stores[1]
        .list_orders(&OrderFilter::default(), PageRequest::first(50))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
}

#[test]
fn an_acknowledged_write_survives_the_process_being_killed() {
    // Given a child process that creates a user and an order, reports them, then is SIGKILLed
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(dir.path());
    let output = child(&path, "write-then-die")
        .env(CHILD_EMAIL, "survivor@example.com")
        .output()
        .unwrap();
    let acks = lines_starting(&output, "ACK ");
    assert_eq!(acks.len(), 1, "{}", describe(&output));

    // Then the child did not exit cleanly (SIGKILL, or SIGABRT if `kill` was missing), and its last
    // connection never checkpointed the log
    use std::os::unix::process::ExitStatusExt;
    assert!(
        matches!(output.status.signal(), Some(9 | 6)),
        "{}",
        describe(&output)
    );
    let wal = path.with_file_name("rill.db-wal");
    assert!(
        std::fs::metadata(&wal)
            .map(|m| m.len() > 0)
            .unwrap_or(false),
        "the write-ahead log should still hold the commits"
    );

    // When the database is opened again
    let fields: Vec<&str> = acks[0].split(' ').collect();
    let user_id = UserId::parse("user", fields[0]).unwrap();
    let order_id = OrderId::parse("order", fields[1]).unwrap();
    let store = SqliteStore::open(&path).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();

    // Then both acknowledged writes are there
    let survivor = runtime.block_on(store.get_user(user_id)).unwrap();
    assert_eq!(survivor.email.as_str(), "survivor@example.com");
    let order = runtime.block_on(store.get_order(order_id)).unwrap();
    assert_eq!(order.user_id, user_id);
}

#[test]
fn processes_that_share_a_new_file_migrate_it_once_and_create_each_keyed_order_once() {
    // Given four processes that start together on a file that does not exist yet, each creating the
    // same user and then retrying the same ten keyed orders
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(dir.path());
    let user_id = UserId::generate();
    let children: Vec<_> = ["race@example.com", "RACE@example.com"]
        .iter()
        .cycle()
        .take(4)
        .map(|email| {
            child(&path, "race")
                .env(CHILD_USER_ID, user_id.to_string())
                .env(CHILD_EMAIL, email)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for output in &outputs {
        assert!(output.status.success(), "{}", describe(output));
    }

    // Then one process created the user, and each key created one order that every process named
    let user_creations: usize = outputs
        .iter()
        .map(|o| lines_starting(o, "USER created").len())
        .sum();
    assert_eq!(user_creations, 1);
    let mut created: HashMap<String, usize> = HashMap::new();
    let mut named: HashMap<String, HashSet<String>> = HashMap::new();
    for output in &outputs {
        for line in lines_starting(output, "ORDER ") {
            let [outcome, key, id] = line.split(' ').collect::<Vec<_>>()[..] else {
                panic!("unexpected line {line}");
            };
            *created.entry(key.to_owned()).or_default() += usize::from(outcome == "created");
            named
                .entry(key.to_owned())
                .or_default()
                .insert(id.to_owned());
        }
    }
    assert_eq!(created.len(), RACE_KEYS);
    assert!(created.values().all(|&n| n == 1), "{created:?}");
    assert!(named.values().all(|ids| ids.len() == 1), "{named:?}");

    // And the file holds exactly that: one user, ten orders, one row per migration
    let store = SqliteStore::open(&path).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let users = runtime
        .block_on(store.list_users(PageRequest::first(10)))
        .unwrap();
    assert_eq!(users.items.len(), 1);
    let orders = runtime
        .block_on(store.list_orders(&OrderFilter::default(), PageRequest::first(100)))
        .unwrap();
    assert_eq!(orders.items.len(), RACE_KEYS);
    let migrations: i64 = support::raw(&path)
        .query_row("SELECT count(*) FROM schema_migrations", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(migrations, i64::from(rill_store_sqlite::SCHEMA_VERSION));
}

/// The entry point of the child processes. It does nothing unless a test above started it.
#[test]
#[ignore = "run as a child process by the other tests in this file"]
fn child_process() {
    let Ok(task) = std::env::var(CHILD_TASK) else {
        return;
    };
    let path = std::path::PathBuf::from(std::env::var(CHILD_DB).unwrap());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open(&path).expect("child opens the store");
        match task.as_str() {
            "write-then-die" => write_then_die(&store).await,
            "race" => race(&store).await,
            other => panic!("unknown child task {other}"),
        }
    });
}

async fn write_then_die(store: &SqliteStore) {
    let email = std::env::var(CHILD_EMAIL).unwrap();
    let survivor = user(&email, Timestamp::now().as_millis());
    store.create_user(&survivor).await.unwrap();
    let placed = order(&survivor, "KEEP", Timestamp::now().as_millis());
    store.create_order(&placed, None).await.unwrap();
    println!("ACK {} {}", survivor.id, placed.id);
    // SIGKILL: no destructor, no clean close, no checkpoint; the store is still open.
    let _ = Command::new("kill")
        .args(["-KILL", &std::process::id().to_string()])
        .status();
    std::process::abort();
}

async fn race(store: &SqliteStore) {
    let user_id = UserId::parse("id", &std::env::var(CHILD_USER_ID).unwrap()).unwrap();
    let email = std::env::var(CHILD_EMAIL).unwrap();
    let mut racer = user(&email, 1_000);
    racer.id = user_id;
    // A conflict means another process committed this user (same id, same email key).
    match store.create_user(&racer).await {
        Ok(()) => println!("USER created"),
        Err(DomainError::Conflict(_)) => println!("USER exists"),
        Err(other) => panic!("unexpected {other:?}"),
    }
    for k in 0..RACE_KEYS {
        let request = new_order(user_id, "SAME");
        let now = Timestamp::now();
        let key = IdempotentOrderCreate {
            key: IdempotencyKey::parse(&format!("key-{k}")).unwrap(),
            fingerprint: RequestFingerprint::of_new_order(&request),
            expires_at: Timestamp::from_millis(now.as_millis() + 86_400_000),
        };
        let outcome = store
            .create_order(&request.into_order(now), Some(&key))
            .await
            .unwrap();
        let word = match outcome {
            CreateOrderOutcome::Created(_) => "created",
            CreateOrderOutcome::Replayed(_) => "replayed",
        };
        println!("ORDER {word} key-{k} {}", outcome.order().id);
    }
}

/// This test binary, set to run only `child_process` with `task` on the database at `path`.
fn child(path: &Path, task: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "child_process", "--ignored", "--nocapture"])
        .env(CHILD_TASK, task)
        .env(CHILD_DB, path);
    command
}

fn lines_starting(output: &Output, prefix: &str) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.strip_prefix(prefix).map(str::to_owned))
        .collect()
}

fn describe(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
