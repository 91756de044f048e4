//! The environment variables that configure the functions, named once.
//!
//! Three parties spell these names: the functions that read them, the local gateway that sets them
//! for the functions it runs, and `template.yaml`, which sets them on AWS (the API contract tests
//! check the template against these constants). A name typed twice drifts; a constant cannot. This
//! crate has no dependencies, so the gateway takes it without taking anything a function links.

/// Which store a function opens: [`SQLITE`] (the default) or [`DYNAMODB`].
pub const RILL_STORE: &str = "RILL_STORE";
/// The value of [`RILL_STORE`] that names the embedded SQLite store.
pub const SQLITE: &str = "sqlite";
/// The value of [`RILL_STORE`] that names DynamoDB.
pub const DYNAMODB: &str = "dynamodb";

/// Where the SQLite database lives; `.local/rill.db` under the working directory when unset.
pub const RILL_SQLITE_PATH: &str = "RILL_SQLITE_PATH";
/// The DynamoDB table of users.
pub const RILL_USERS_TABLE: &str = "RILL_USERS_TABLE";
/// The DynamoDB table of orders.
pub const RILL_ORDERS_TABLE: &str = "RILL_ORDERS_TABLE";
/// The DynamoDB table of idempotency keys.
pub const RILL_IDEMPOTENCY_TABLE: &str = "RILL_IDEMPOTENCY_TABLE";

/// The secret that signs pagination cursors, as a plain value: for local runs, where it wins over
/// [`RILL_CURSOR_KEY_SECRET_ARN`].
pub const RILL_CURSOR_KEY: &str = "RILL_CURSOR_KEY";
/// The Secrets Manager secret that holds the cursor key, read at run time (what the deployed
/// functions use, so the key never appears in their configuration).
pub const RILL_CURSOR_KEY_SECRET_ARN: &str = "RILL_CURSOR_KEY_SECRET_ARN";

/// The export's largest response body, in bytes.
pub const RILL_EXPORT_MAX_BYTES: &str = "RILL_EXPORT_MAX_BYTES";
/// Records the export reads from the store per page.
pub const RILL_EXPORT_PAGE_SIZE: &str = "RILL_EXPORT_PAGE_SIZE";
/// How long before the invocation deadline the export stops, in milliseconds.
pub const RILL_EXPORT_DEADLINE_MARGIN_MS: &str = "RILL_EXPORT_DEADLINE_MARGIN_MS";
