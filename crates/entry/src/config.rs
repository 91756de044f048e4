//! Which store a function uses, read from the environment once at start.
//!
//! Every variable name is a constant of `rill-function-env`, so the SAM template, the local gateway
//! and the functions name the same things. A bad value fails at start-up with a message that names the variable,
//! rather than as a 500 on the first request.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

use rill_cursor_key::CursorKeys;
pub use rill_cursor_key::MIN_CURSOR_KEY_LEN;

pub use rill_function_env::{
    RILL_CURSOR_KEY, RILL_CURSOR_KEY_SECRET_ARN, RILL_IDEMPOTENCY_TABLE, RILL_ORDERS_TABLE,
    RILL_SQLITE_PATH, RILL_STORE, RILL_USERS_TABLE,
};

/// The SQLite database used when [`RILL_SQLITE_PATH`] is unset, relative to the working directory.
pub const DEFAULT_SQLITE_PATH: &str = ".local/rill.db";
/// Signs cursors when a local SQLite store runs without [`RILL_CURSOR_KEY`]. It is public, so a
/// deployment must set its own key; DynamoDB refuses to start without one.
const DEVELOPMENT_CURSOR_KEY: &[u8] = b"rill-local-development-cursor-key";

/// A kind of store, as `RILL_STORE` names it and as a Cargo feature builds it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Sqlite,
    DynamoDb,
}

impl StoreKind {
    /// The value of [`RILL_STORE`] and the name of the Cargo feature that builds this store in.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => rill_function_env::SQLITE,
            Self::DynamoDb => rill_function_env::DYNAMODB,
        }
    }
}

/// The stores this binary was built with. Deployed functions carry only DynamoDB, so a Lambda
/// binary never links SQLite; local builds and tests add SQLite with the `sqlite` feature.
pub const BUILT_STORES: &[StoreKind] = &[
    #[cfg(feature = "sqlite")]
    StoreKind::Sqlite,
    #[cfg(feature = "dynamodb")]
    StoreKind::DynamoDb,
];

/// Where the data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreBackend {
    /// An embedded SQLite file, for local development and tests.
    Sqlite { path: PathBuf },
    /// Amazon DynamoDB (or DynamoDB Local through `AWS_ENDPOINT_URL`), with the three tables.
    DynamoDb {
        users_table: String,
        orders_table: String,
        idempotency_table: String,
    },
}

impl StoreBackend {
    /// Which kind of store this is.
    pub fn kind(&self) -> StoreKind {
        match self {
            Self::Sqlite { .. } => StoreKind::Sqlite,
            Self::DynamoDb { .. } => StoreKind::DynamoDb,
        }
    }
}

/// Where the key that signs cursors comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum CursorKeySetting {
    /// This key, from [`RILL_CURSOR_KEY`] or the development key.
    Fixed(Vec<u8>),
    /// The secret with this ARN, read at run time.
    Secret { arn: String },
}

impl fmt::Debug for CursorKeySetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Fixed(_) => f.write_str("Fixed(<redacted>)"),
            Self::Secret { arn } => f.debug_struct("Secret").field("arn", arn).finish(),
        }
    }
}

/// The store to open and the key that signs its cursors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    backend: StoreBackend,
    cursor_key: CursorKeySetting,
}

/// A store configuration that cannot work. The message names the variable to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{RILL_STORE} is {value:?}; expected `sqlite` or `dynamodb`")]
    UnknownStore { value: String },
    #[error("{name} must be set when {RILL_STORE}=dynamodb")]
    MissingForDynamoDb { name: &'static str },
    #[error(
        "{RILL_CURSOR_KEY_SECRET_ARN} (or {RILL_CURSOR_KEY}) must be set when {RILL_STORE}=dynamodb"
    )]
    NoCursorKeyForDynamoDb,
    #[error("{name} is set but empty")]
    Empty { name: &'static str },
    #[error("{name} is not valid UTF-8")]
    NotUnicode { name: &'static str },
    #[error("{RILL_CURSOR_KEY} must be at least {MIN_CURSOR_KEY_LEN} bytes long")]
    CursorKeyTooShort,
    #[error(
        "{name} is not set: this binary is a Lambda function; run it in AWS Lambda or behind the local gateway"
    )]
    NotInLambda { name: &'static str },
    #[error("{name} must be a whole number")]
    NotANumber { name: &'static str },
    #[error(
        "{RILL_STORE} names the {} store, but this binary was built without it (Cargo feature `{}`); \
         deployed builds carry only the DynamoDB store",
        .store.name(),
        .store.name()
    )]
    StoreNotBuilt { store: StoreKind },
}

/// The variables the Lambda runtime sets and lambda_runtime requires (it panics without them).
const LAMBDA_RUNTIME_VARS: [&str; 4] = [
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
];

/// Checks that the process runs where a Lambda runtime API is, so a binary started by hand stops
/// with a message naming the missing variable instead of a panic inside lambda_runtime.
pub fn check_lambda_environment() -> Result<(), ConfigError> {
    check_lambda_environment_in(|name| std::env::var_os(name))
}

fn check_lambda_environment_in(
    lookup: impl Fn(&str) -> Option<OsString>,
) -> Result<(), ConfigError> {
    for name in LAMBDA_RUNTIME_VARS {
        if lookup(name).is_none_or(|v| v.is_empty()) {
            return Err(ConfigError::NotInLambda { name });
        }
    }
    let memory = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE";
    let parses = lookup(memory)
        .and_then(|v| v.into_string().ok())
        .is_some_and(|v| v.parse::<i32>().is_ok());
    if parses {
        Ok(())
    } else {
        Err(ConfigError::NotANumber { name: memory })
    }
}

impl StoreConfig {
    /// Reads the store configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var_os(name))
    }

    /// Reads the store configuration through `lookup`, which returns a variable's value if it is set.
    /// Tests pass a map here instead of changing the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<OsString>) -> Result<Self, ConfigError> {
        Self::from_lookup_built_with(lookup, BUILT_STORES)
    }

    /// As [`StoreConfig::from_lookup`], for a binary built with the stores in `built`: naming any
    /// other store is refused by name, before anything starts.
    pub fn from_lookup_built_with(
        lookup: impl Fn(&str) -> Option<OsString>,
        built: &[StoreKind],
    ) -> Result<Self, ConfigError> {
        let config = Self::parse(lookup)?;
        let store = config.backend.kind();
        if built.contains(&store) {
            Ok(config)
        } else {
            Err(ConfigError::StoreNotBuilt { store })
        }
    }

    fn parse(lookup: impl Fn(&str) -> Option<OsString>) -> Result<Self, ConfigError> {
        let text = |name: &'static str| -> Result<Option<String>, ConfigError> {
            match lookup(name) {
                None => Ok(None),
                Some(value) if value.is_empty() => Err(ConfigError::Empty { name }),
                Some(value) => value
                    .into_string()
                    .map(Some)
                    .map_err(|_| ConfigError::NotUnicode { name }),
            }
        };
        let cursor_key = match (text(RILL_CURSOR_KEY)?, text(RILL_CURSOR_KEY_SECRET_ARN)?) {
            (Some(key), _) if key.len() < MIN_CURSOR_KEY_LEN => {
                return Err(ConfigError::CursorKeyTooShort);
            }
            (Some(key), _) => Some(CursorKeySetting::Fixed(key.into_bytes())),
            (None, Some(arn)) => Some(CursorKeySetting::Secret { arn }),
            (None, None) => None,
        };
        let store = text(RILL_STORE)?;
        match store.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some(rill_function_env::SQLITE) => {
                let path = match lookup(RILL_SQLITE_PATH) {
                    None => PathBuf::from(DEFAULT_SQLITE_PATH),
                    Some(path) if path.is_empty() => {
                        return Err(ConfigError::Empty {
                            name: RILL_SQLITE_PATH,
                        });
                    }
                    Some(path) => PathBuf::from(path),
                };
                Ok(Self {
                    backend: StoreBackend::Sqlite { path },
                    cursor_key: cursor_key.unwrap_or_else(|| {
                        CursorKeySetting::Fixed(DEVELOPMENT_CURSOR_KEY.to_vec())
                    }),
                })
            }
            Some(rill_function_env::DYNAMODB) => {
                let required = |name: &'static str| {
                    text(name)?.ok_or(ConfigError::MissingForDynamoDb { name })
                };
                let backend = StoreBackend::DynamoDb {
                    users_table: required(RILL_USERS_TABLE)?,
                    orders_table: required(RILL_ORDERS_TABLE)?,
                    idempotency_table: required(RILL_IDEMPOTENCY_TABLE)?,
                };
                let cursor_key = cursor_key.ok_or(ConfigError::NoCursorKeyForDynamoDb)?;
                Ok(Self {
                    backend,
                    cursor_key,
                })
            }
            Some(_) => Err(ConfigError::UnknownStore {
                value: store.unwrap_or_default(),
            }),
        }
    }

    /// A SQLite store at `path` with the development cursor key: what tests and local tools use.
    pub fn sqlite(path: impl Into<PathBuf>) -> Self {
        Self {
            backend: StoreBackend::Sqlite { path: path.into() },
            cursor_key: CursorKeySetting::Fixed(DEVELOPMENT_CURSOR_KEY.to_vec()),
        }
    }

    /// Where the data lives.
    pub fn backend(&self) -> &StoreBackend {
        &self.backend
    }

    /// Where the cursor key comes from.
    pub fn cursor_key(&self) -> &CursorKeySetting {
        &self.cursor_key
    }

    /// The signer source for this deployment's pagination cursors. A secret is not read here, but
    /// on the first request that needs it.
    pub fn cursor_keys(&self) -> CursorKeys {
        match &self.cursor_key {
            CursorKeySetting::Fixed(key) => CursorKeys::fixed(key.clone()),
            CursorKeySetting::Secret { arn } => CursorKeys::from_secret(arn.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const BOTH_STORES: &[StoreKind] = &[StoreKind::Sqlite, StoreKind::DynamoDb];

    fn config(vars: &[(&str, &str)]) -> Result<StoreConfig, ConfigError> {
        config_built_with(vars, BOTH_STORES)
    }

    fn config_built_with(
        vars: &[(&str, &str)],
        built: &[StoreKind],
    ) -> Result<StoreConfig, ConfigError> {
        let vars: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        StoreConfig::from_lookup_built_with(|name| vars.get(name).cloned(), built)
    }

    #[test]
    fn a_binary_built_with_only_dynamodb_refuses_sqlite_by_name() {
        let deployed = &[StoreKind::DynamoDb];
        for vars in [&[][..], &[(RILL_STORE, "sqlite")][..]] {
            let err = config_built_with(vars, deployed).unwrap_err();
            assert_eq!(
                err,
                ConfigError::StoreNotBuilt {
                    store: StoreKind::Sqlite
                }
            );
            assert_eq!(
                err.to_string(),
                "RILL_STORE names the sqlite store, but this binary was built without it (Cargo \
                 feature `sqlite`); deployed builds carry only the DynamoDB store"
            );
        }
        let mut vars = TABLES.to_vec();
        vars.extend([
            (RILL_STORE, "dynamodb"),
            (RILL_CURSOR_KEY, "0123456789abcdef"),
        ]);
        assert!(config_built_with(&vars, deployed).is_ok());
        assert_eq!(
            config_built_with(&vars, &[StoreKind::Sqlite]).unwrap_err(),
            ConfigError::StoreNotBuilt {
                store: StoreKind::DynamoDb
            }
        );
    }

    const TABLES: [(&str, &str); 3] = [
        (RILL_USERS_TABLE, "users"),
        (RILL_ORDERS_TABLE, "orders"),
        (RILL_IDEMPOTENCY_TABLE, "idempotency"),
    ];

    #[test]
    fn with_nothing_set_the_store_is_sqlite_at_the_default_path() {
        let config = config(&[]).unwrap();
        assert_eq!(
            config.backend(),
            &StoreBackend::Sqlite {
                path: PathBuf::from(DEFAULT_SQLITE_PATH)
            }
        );
    }

    #[test]
    fn dynamodb_takes_the_three_table_names_and_the_cursor_key() {
        let mut vars = TABLES.to_vec();
        vars.extend([
            (RILL_STORE, "dynamodb"),
            (RILL_CURSOR_KEY, "0123456789abcdef"),
        ]);
        let config = config(&vars).unwrap();
        assert_eq!(
            config.backend(),
            &StoreBackend::DynamoDb {
                users_table: "users".into(),
                orders_table: "orders".into(),
                idempotency_table: "idempotency".into(),
            }
        );
    }

    #[test]
    fn dynamodb_reads_the_cursor_key_from_its_secret_unless_a_plain_key_is_set() {
        let arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rill-cursor-AbCdEf";
        let mut vars = TABLES.to_vec();
        vars.extend([(RILL_STORE, "dynamodb"), (RILL_CURSOR_KEY_SECRET_ARN, arn)]);
        assert_eq!(
            config(&vars).unwrap().cursor_key(),
            &CursorKeySetting::Secret { arn: arn.into() }
        );
        vars.push((RILL_CURSOR_KEY, "0123456789abcdef"));
        assert_eq!(
            config(&vars).unwrap().cursor_key(),
            &CursorKeySetting::Fixed(b"0123456789abcdef".to_vec())
        );
    }

    #[test]
    fn dynamodb_without_any_cursor_key_names_both_variables() {
        let mut vars = TABLES.to_vec();
        vars.push((RILL_STORE, "dynamodb"));
        let err = config(&vars).unwrap_err();
        assert_eq!(err, ConfigError::NoCursorKeyForDynamoDb);
        let message = err.to_string();
        assert!(message.contains(RILL_CURSOR_KEY_SECRET_ARN), "{message}");
        assert!(message.contains(RILL_CURSOR_KEY), "{message}");
    }

    #[test]
    fn dynamodb_without_a_table_names_the_missing_variable() {
        for missing in [RILL_USERS_TABLE, RILL_ORDERS_TABLE, RILL_IDEMPOTENCY_TABLE] {
            let mut vars = TABLES.to_vec();
            vars.extend([
                (RILL_STORE, "dynamodb"),
                (RILL_CURSOR_KEY, "0123456789abcdef"),
            ]);
            vars.retain(|(name, _)| *name != missing);
            let err = config(&vars).unwrap_err();
            assert_eq!(err, ConfigError::MissingForDynamoDb { name: missing });
            assert!(err.to_string().contains(missing));
        }
    }

    #[test]
    fn an_unknown_store_is_refused_by_name() {
        let err = config(&[(RILL_STORE, "postgres")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "RILL_STORE is \"postgres\"; expected `sqlite` or `dynamodb`"
        );
    }

    #[test]
    fn empty_values_and_short_cursor_keys_are_refused() {
        assert_eq!(
            config(&[(RILL_STORE, "")]).unwrap_err(),
            ConfigError::Empty { name: RILL_STORE }
        );
        assert_eq!(
            config(&[(RILL_SQLITE_PATH, "")]).unwrap_err(),
            ConfigError::Empty {
                name: RILL_SQLITE_PATH
            }
        );
        assert_eq!(
            config(&[(RILL_CURSOR_KEY, "short")]).unwrap_err(),
            ConfigError::CursorKeyTooShort
        );
    }

    #[tokio::test]
    async fn cursors_signed_under_one_key_do_not_open_under_another() {
        let local = config(&[]).unwrap().cursor_keys().signer().await.unwrap();
        let deployed = config(&[(RILL_CURSOR_KEY, "a-deployment-secret-key")])
            .unwrap()
            .cursor_keys()
            .signer()
            .await
            .unwrap();
        let cursor = local.seal("users", b"position");
        assert!(local.open("users", &cursor).is_ok());
        assert!(deployed.open("users", &cursor).is_err());
    }

    #[test]
    fn outside_lambda_the_missing_runtime_variable_is_named() {
        fn check(vars: &[(&str, &str)]) -> Result<(), ConfigError> {
            let vars: HashMap<String, OsString> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), OsString::from(v)))
                .collect();
            check_lambda_environment_in(|name| vars.get(name).cloned())
        }
        let lambda = [
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
            ("AWS_LAMBDA_FUNCTION_NAME", "users"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"),
        ];
        assert_eq!(check(&lambda), Ok(()));
        let err = check(&lambda[1..]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("AWS_LAMBDA_RUNTIME_API is not set"),
            "{err}"
        );
        let mut bad_memory = lambda;
        bad_memory[3].1 = "lots";
        assert_eq!(
            check(&bad_memory),
            Err(ConfigError::NotANumber {
                name: "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
            })
        );
    }

    #[test]
    fn the_debug_form_never_shows_the_cursor_key() {
        let config = config(&[(RILL_CURSOR_KEY, "a-deployment-secret-key")]).unwrap();
        assert!(!format!("{config:?}").contains("a-deployment-secret-key"));
    }
}
