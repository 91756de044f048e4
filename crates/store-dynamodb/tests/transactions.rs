//! Transactions whose answer is lost: DynamoDB applied them, the client never heard, and the SDK sends
//! them again. Each `TransactWriteItems` carries a `ClientRequestToken`, so DynamoDB (and DynamoDB
//! Local, checked here) recognises the retry and answers it as it answered the first call, instead of
//! refusing it on its own conditions (the email "taken" by the user just created, the version "moved
//! on" by the very write being retried).
//!
//! A small HTTP proxy sits between the store and DynamoDB Local. It forwards every request and, when
//! armed, throws away the answer to the next `TransactWriteItems` and answers `500` instead, exactly
//! what a client sees when a connection breaks after the commit. The SDK retries a `500`.

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, Put,
    ScalarAttributeType, TransactWriteItem, Update,
};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rill_core::{DomainError, NewUser, Timestamp, User, UserReader, UserWriter};
use rill_store_dynamodb::{DynamoStore, create_tables};
use support::{fresh_store, local_endpoint, store_at, unique_tables};

const TRANSACT_TARGET: &str = "DynamoDB_20120810.TransactWriteItems";

fn user(email: &str) -> User {
    NewUser::parse(email, "Grace Hopper")
        .expect("valid user")
        .into_user(Timestamp::from_millis(1_000))
}

/// What the proxy saw and does, shared with its connection tasks.
#[derive(Debug, Default)]
struct ProxyState {
    /// Lose the answer to the next `TransactWriteItems`.
    armed: AtomicBool,
    /// The `ClientRequestToken` of every `TransactWriteItems` forwarded, in order.
    tokens: Mutex<Vec<Option<String>>>,
}

/// A proxy to DynamoDB Local that can lose one transaction's answer.
#[derive(Debug)]
struct LossyProxy {
    addr: SocketAddr,
    state: Arc<ProxyState>,
}

impl LossyProxy {
    async fn start(upstream: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let addr = listener.local_addr().expect("the proxy's address");
        let state = Arc::new(ProxyState::default());
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (state, client, upstream) =
                    (Arc::clone(&shared), client.clone(), upstream.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        forward(
                            request,
                            Arc::clone(&state),
                            client.clone(),
                            upstream.clone(),
                        )
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, state }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn lose_next_transaction_answer(&self) {
        self.state.armed.store(true, Ordering::SeqCst);
    }

    fn tokens(&self) -> Vec<Option<String>> {
        self.state.tokens.lock().expect("tokens").clone()
    }
}

async fn forward(
    request: Request<Incoming>,
    state: Arc<ProxyState>,
    client: Client<HttpConnector, Full<Bytes>>,
    upstream: String,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (mut parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let is_transaction = parts
        .headers
        .get("x-amz-target")
        .is_some_and(|target| target == TRANSACT_TARGET);
    if is_transaction {
        let input: serde_json::Value = serde_json::from_slice(&body).expect("a JSON request");
        let token = input["ClientRequestToken"].as_str().map(str::to_owned);
        state.tokens.lock().expect("tokens").push(token);
    }
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    parts.uri = format!("{upstream}{path}")
        .parse()
        .expect("an upstream URI");
    let answer = client
        .request(Request::from_parts(parts, Full::new(body)))
        .await
        .expect("DynamoDB Local answers");
    let (parts, body) = answer.into_parts();
    let body = body.collect().await.expect("the answer's body").to_bytes();
    if is_transaction && state.armed.swap(false, Ordering::SeqCst) {
        // Applied upstream; the client is told the server failed.
        let lost = Response::builder()
            .status(500)
            .header("content-type", "application/x-amz-json-1.0")
            .body(Full::new(Bytes::from_static(
                br#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"the answer was lost"}"#,
            )))
            .expect("a 500 answer");
        return Ok(lost);
    }
    Ok(Response::from_parts(parts, Full::new(body)))
}

/// A store on fresh tables that talks to DynamoDB Local through a [`LossyProxy`].
async fn store_behind_proxy() -> (DynamoStore, LossyProxy) {
    let tables = unique_tables();
    let direct = store_at(&local_endpoint(), tables.clone()).await;
    create_tables(direct.client().await, &tables)
        .await
        .expect("create the test tables in DynamoDB Local");
    let proxy = LossyProxy::start(local_endpoint()).await;
    (store_at(&proxy.url(), tables).await, proxy)
}

fn assert_one_token_sent_twice(tokens: &[Option<String>]) {
    assert_eq!(tokens.len(), 2, "the SDK retried once: {tokens:?}");
    let token = tokens[0]
        .as_deref()
        .expect("the transaction carries a token");
    assert_eq!(token.len(), 36, "a UUID: {token}");
    assert_eq!(
        tokens[1].as_deref(),
        Some(token),
        "the retry reuses the token"
    );
}

#[tokio::test]
async fn the_same_transaction_sent_twice_with_one_token_is_applied_once() {
    // Given a table, and a transaction that creates an item only if it is absent and counts how
    // often it was applied.
    let store = fresh_store().await;
    let table = format!("{}-tokens", unique_tables().users);
    store
        .client()
        .await
        .create_table()
        .table_name(&table)
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .expect("a key"),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("an attribute"),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create the table");
    let put = Put::builder()
        .table_name(&table)
        .item("pk", AttributeValue::S("USER#token-test".into()))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .expect("a put");
    let count = Update::builder()
        .table_name(&table)
        .key("pk", AttributeValue::S("COUNTER#token-test".into()))
        .update_expression("ADD applied :one")
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .build()
        .expect("an update");
    let items = vec![
        TransactWriteItem::builder().put(put).build(),
        TransactWriteItem::builder().update(count).build(),
    ];
    let client = store.client().await;
    let send = |token: String| {
        client
            .transact_write_items()
            .set_transact_items(Some(items.clone()))
            .client_request_token(token)
            .send()
    };
    let token = uuid::Uuid::new_v4().to_string();
    // When it is sent twice with one token, then both calls succeed.
    send(token.clone()).await.expect("the first call applies");
    send(token).await.expect("the second call is recognised");
    // And it was applied once.
    let counter = store
        .client()
        .await
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S("COUNTER#token-test".into()))
        .send()
        .await
        .expect("read the counter");
    let applied = counter.item().and_then(|item| item.get("applied")).cloned();
    assert_eq!(applied, Some(AttributeValue::N("1".into())));
    // While with another token it is a new transaction, which its condition refuses.
    let error = send(uuid::Uuid::new_v4().to_string())
        .await
        .expect_err("a new token is a new write");
    assert!(
        format!("{:?}", error).contains("TransactionCanceled"),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_new_user_whose_answer_was_lost_is_created_once_when_the_sdk_retries() {
    // Given a store whose next transaction is applied but its answer lost.
    let (store, proxy) = store_behind_proxy().await;
    let grace = user("grace@example.com");
    proxy.lose_next_transaction_answer();
    // When the user is created, then the SDK's retry succeeds instead of finding the email taken.
    store
        .create_user(&grace)
        .await
        .expect("the retry is the same transaction");
    assert_one_token_sent_twice(&proxy.tokens());
    // And the user exists once, holding the address.
    assert_eq!(store.get_user(grace.id).await.expect("the user"), grace);
    let twin = user("grace@example.com");
    assert!(matches!(
        store.create_user(&twin).await,
        Err(DomainError::Conflict(_))
    ));
}

#[tokio::test]
async fn a_change_of_email_whose_answer_was_lost_is_applied_once_when_the_sdk_retries() {
    // Given a user, and a store whose next transaction is applied but its answer lost.
    let (store, proxy) = store_behind_proxy().await;
    let grace = user("grace@example.com");
    store.create_user(&grace).await.expect("create the user");
    let moved = User {
        email: rill_core::Email::parse("hopper@example.com").expect("an email"),
        version: grace.version + 1,
        updated_at: Timestamp::from_millis(2_000),
        ..grace.clone()
    };
    proxy.lose_next_transaction_answer();
    // When the email changes, then the retry succeeds instead of finding the version moved on.
    store
        .update_user(&moved)
        .await
        .expect("the retry is the same transaction");
    let tokens = proxy.tokens();
    assert_one_token_sent_twice(&tokens[1..]);
    // And the user is one version on, with the new address and the old one free again.
    assert_eq!(store.get_user(grace.id).await.expect("the user"), moved);
    store
        .create_user(&user("grace@example.com"))
        .await
        .expect("the old address is free");
}
