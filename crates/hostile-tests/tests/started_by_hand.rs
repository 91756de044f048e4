//! Each function binary started outside Lambda, or asked for a store it cannot open, stops at
//! start with a log line that names what to fix and a non-zero exit: the shared entry point checks
//! the Lambda environment and the configuration before lambda_runtime could panic on them.

use std::process::{Command, Output};

use rill_gateway::testing::function_bin_dir;

const FUNCTIONS: [&str; 3] = ["users", "orders", "export"];

/// Runs `binary` with only `vars` (and PATH) in its environment.
fn run(binary: &str, vars: &[(&str, &str)]) -> Output {
    Command::new(function_bin_dir().join(binary))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(vars.iter().copied())
        .output()
        .expect("the function binary runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn a_function_started_outside_lambda_names_the_missing_runtime_variable_and_fails() {
    for function in FUNCTIONS {
        // Given no Lambda Runtime API in the environment
        // When the function is started by hand
        let output = run(function, &[]);

        // Then it stops with the variable to set, without a panic
        let text = text(&output);
        assert!(!output.status.success(), "{function} started: {text}");
        assert!(
            text.contains("AWS_LAMBDA_RUNTIME_API is not set"),
            "{function}: {text}"
        );
        assert!(!text.contains("panicked"), "{function}: {text}");
    }
}

#[test]
fn a_function_given_an_unusable_store_configuration_names_the_variable_and_fails() {
    let lambda = [
        ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9"),
        ("AWS_LAMBDA_FUNCTION_NAME", "by-hand"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
    ];
    for function in FUNCTIONS {
        // Given a Lambda environment that names DynamoDB without its tables
        let mut vars = lambda.to_vec();
        vars.push(("RILL_STORE", "dynamodb"));

        // When the function starts
        let output = run(function, &vars);

        // Then it stops before serving, naming the missing table variable
        let text = text(&output);
        assert!(!output.status.success(), "{function} started: {text}");
        assert!(
            text.contains("RILL_USERS_TABLE must be set when RILL_STORE=dynamodb"),
            "{function}: {text}"
        );
        assert!(!text.contains("panicked"), "{function}: {text}");
    }
}
