//! `hello-floor`: the smallest function the Rust Lambda runtime can run, the floor that Rill's
//! functions are measured against.
//!
//! It is a bare `lambda_runtime` hello world: no HTTP adapter, no logging, no store, no
//! configuration. It answers every event with a fixed API Gateway proxy response, which both the
//! local gateway (REST v1 events) and cargo-lambda (function URL v2 events) accept. Whatever a Rill
//! function spends beyond this, at init or per request, is the cost of what Rill adds.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|_event: LambdaEvent<Value>| async {
        Ok::<_, Error>(json!({
            "statusCode": 200,
            "headers": {"content-type": "text/plain"},
            "body": "hello",
            "isBase64Encoded": false
        }))
    }))
    .await
}
