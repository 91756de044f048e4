//! What an error body must never contain: traces of how the service is built. A client learns
//! from an error what was wrong with its request, never which database, SDK, file, table or
//! process answered it.
//!
//! [`assert_clean`] runs on every error answer the suites receive ([`crate::Api`] calls it), so the
//! whole suite doubles as a leak scan over every kind of error the API can produce.

use crate::Answer;

/// Text that betrays an internal: a panic or backtrace, Rust source paths, SQL and SQLite, the AWS
/// SDK and DynamoDB, the stores' key layouts, machine paths, and the gateway's own process names.
/// Matched case-insensitively.
pub const LEAK_MARKERS: &[&str] = &[
    // Panics, backtraces, Rust internals.
    "panicked",
    "stack backtrace",
    "rust_backtrace",
    "thread '",
    ".rs:",
    "src/",
    "called `result::unwrap()`",
    "called `option::unwrap()`",
    "os { code",
    "kind: ",
    // SQL and SQLite.
    "sqlite",
    "rusqlite",
    "select ",
    "insert into",
    "update orders",
    "update users",
    "delete from",
    "constraint failed",
    "no such table",
    "database is locked",
    // The AWS SDK and DynamoDB.
    "dynamodb",
    "aws-sdk",
    "aws_sdk",
    "smithy",
    "dispatchfailure",
    "dispatch failure",
    "servicerror",
    "service error",
    "conditionalcheckfailed",
    "transactioncanceled",
    "resourcenotfound",
    "provisionedthroughput",
    "connection refused",
    "aws_endpoint_url",
    // Key layouts of the stores.
    "user#",
    "email#",
    "order#",
    "idem#",
    "email_key",
    "createdkey",
    "rill-test-",
    "userstable",
    "orderstable",
    "idempotencytable",
    // Machine paths and process internals.
    "/work/",
    "/tmp/",
    "/root/",
    "/home/",
    "target/debug",
    "rill.db",
    "usersfunction#",
    "ordersfunction#",
    "exportfunction#",
    "runtime.exiterror",
];

/// Panics, naming the marker, when an error answer (status 400 or above) carries one of
/// [`LEAK_MARKERS`]. Success bodies are data the client asked for and are not scanned.
pub fn assert_clean(answer: &Answer) {
    if answer.status < 400 {
        return;
    }
    if let Some(marker) = leak_in(&answer.text()) {
        panic!(
            "a {} error body leaks internals ({marker:?}): {}",
            answer.status,
            answer.text()
        );
    }
    for (name, value) in &answer.headers {
        if name.starts_with("x-amzn") || name == "content-type" {
            continue;
        }
        if let Some(marker) = leak_in(value) {
            panic!(
                "a {} answer's {name} header leaks internals ({marker:?}): {value}",
                answer.status
            );
        }
    }
}

/// The first marker `text` contains, if any.
pub fn leak_in(text: &str) -> Option<&'static str> {
    let lower = text.to_lowercase();
    LEAK_MARKERS
        .iter()
        .copied()
        .find(|marker| lower.contains(marker))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_document_is_clean() {
        let body = r#"{"type":"urn:rill:problem:unavailable","title":"The service is temporarily unavailable","status":503,"detail":"The service is temporarily unavailable; retry shortly."}"#;
        assert_eq!(leak_in(body), None);
    }

    #[test]
    fn sdk_sql_and_panic_text_is_caught() {
        for text in [
            "dispatch failure: io error: Connection refused (os error 111)",
            "UNIQUE constraint failed: users.email_key",
            "thread 'main' panicked at src/main.rs:3:5",
            "TransactionCanceledException: ConditionalCheckFailed",
            "item USER#0190a5e2 is corrupt",
        ] {
            assert!(leak_in(text).is_some(), "{text}");
        }
    }
}
