//! `hello-floor`: the smallest function the Rust Lambda runtime can run, the floor that Rill's
//! functions are measured against.
//!
//! It is a bare `lambda_runtime` hello world: no HTTP adapter, no logging, no store, no
//! configuration. It answers every event with a fixed proxy response in the shape its caller wants:
//! API Gateway REST (payload 1.0, as the local gateway sends) rejects a `cookies` member, and
//! cargo-lambda's function URLs (payload 2.0) reject a response without one. Whatever a Rill function
//! spends beyond this, at init or per request, is the cost of what Rill adds.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        let mut response = json!({
            "statusCode": 200,
            "headers": {"content-type": "text/plain"},
            "body": "hello",
            "isBase64Encoded": false
        });
        if event.payload.get("version").and_then(Value::as_str) == Some("2.0") {
            response["cookies"] = json!([]);
        }
        Ok::<_, Error>(response)
    }))
    .await
}
