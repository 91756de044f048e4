//! Translation only: each route reads what it needs from the request, calls one use case in
//! `rill_core::orders`, and writes the outcome as a response. Every error is a
//! [`Problem`](rill_http::Problem); the mapping from domain errors to status codes lives in rill-http.

use lambda_http::http::header::{IF_MATCH, LOCATION};
use lambda_http::http::{HeaderName, HeaderValue, StatusCode};
use lambda_http::{Body, Request, Response};
use rill_core::{
    CreateOrderOutcome, FieldError, IdempotencyKey, NewLineItem, NewOrder, Order, OrderFilter,
    OrderId, OrderStatus, Timestamp, UserId, orders,
};
use rill_http::{
    PageQuery, Problem, Routes, check_accepts_json, json_response, page_response, parse_if_match,
    parse_json, request, with_etag,
};

use crate::dto::{CreateOrder, PatchOrder};
use crate::{Deps, Route};

/// The request header that makes `POST /orders` safe to retry.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
/// The response header that marks a replayed `POST /orders`: the order was created by an earlier
/// request with the same key and body.
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// Answers one request: its route, then that route's use case.
pub async fn respond(deps: &Deps, request: Request) -> Result<Response<Body>, Problem> {
    let request = &request;
    let route = Route::resolve(request)?;
    check_accepts_json(request)?;
    match route {
        Route::Create => create(deps, request).await,
        Route::List => list(deps, request).await,
        Route::Get => get(deps, request).await,
        Route::Transition => transition(deps, request).await,
    }
}

/// `POST /orders` with an optional `Idempotency-Key` → 201 with the order, its `ETag` and
/// `Location`. A retry with the same key and body answers the same order with
/// `Idempotent-Replayed: true`; the same key with another body is a 422.
async fn create(deps: &Deps, request: &Request) -> Result<Response<Body>, Problem> {
    let key = request::header(request, IDEMPOTENCY_KEY)?
        .map(IdempotencyKey::parse)
        .transpose()?;
    let body: CreateOrder = parse_json(request)?;
    let items: Vec<NewLineItem<'_>> = body.items.iter().map(|item| item.as_new()).collect();
    let input = NewOrder::parse(&body.user_id, &body.currency, &items)?;
    let outcome = orders::create(&*deps.store, input, key, Timestamp::now()).await?;
    let (order, replayed) = match &outcome {
        CreateOrderOutcome::Created(order) => (order, false),
        CreateOrderOutcome::Replayed(order) => (order, true),
    };
    let mut response = single(StatusCode::CREATED, order);
    if let Ok(location) = HeaderValue::from_str(&request::location(request, order.id)) {
        response.headers_mut().insert(LOCATION, location);
    }
    if replayed {
        response
            .headers_mut()
            .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// `GET /orders?userId&status&limit&cursor` → 200 with one page. Every bad parameter is reported.
async fn list(deps: &Deps, request: &Request) -> Result<Response<Body>, Problem> {
    let mut errors = Vec::new();
    let user_id = keep(
        &mut errors,
        query(request, "userId", |text| UserId::parse("userId", text)),
    );
    let status = keep(
        &mut errors,
        query(request, "status", |text| OrderStatus::parse("status", text)),
    );
    let page = keep(&mut errors, PageQuery::from_request(request));
    let (Some(user_id), Some(status), Some(page)) = (user_id, status, page) else {
        return Err(Problem::validation(errors));
    };
    let filter = OrderFilter {
        user_id,
        status,
        ..OrderFilter::default()
    };
    let (filter, page) = (&filter, &page);
    let listing = deps
        .cursors
        .with_signer(|signer| async move {
            orders::list(&*deps.store, &signer, filter, page.limit, page.cursor()).await
        })
        .await?;
    Ok(page_response(&listing))
}

/// `GET /orders/{orderId}` → 200 with the order and its `ETag`.
async fn get(deps: &Deps, request: &Request) -> Result<Response<Body>, Problem> {
    let id = order_id(request)?;
    let order = orders::get(&*deps.store, id).await?;
    Ok(single(StatusCode::OK, &order))
}

/// `PATCH /orders/{orderId}` with `{status}` and an optional `If-Match` → 200 with the order. A move
/// the status machine forbids is a 409; a stale `If-Match` a 412.
async fn transition(deps: &Deps, request: &Request) -> Result<Response<Body>, Problem> {
    let id = order_id(request)?;
    let if_match = parse_if_match(request.headers().get(IF_MATCH))?;
    let body: PatchOrder = parse_json(request)?;
    let next = OrderStatus::parse("status", &body.status)?;
    let order = orders::transition(&*deps.store, id, next, if_match, Timestamp::now()).await?;
    Ok(single(StatusCode::OK, &order))
}

/// One order with its `ETag`.
fn single(status: StatusCode, order: &Order) -> Response<Body> {
    with_etag(json_response(status, order), order.version)
}

/// The `{orderId}` path parameter. A malformed id is a 400 rather than a 404.
fn order_id(request: &Request) -> Result<OrderId, Problem> {
    let text = request::path_param(request, "orderId").unwrap_or_default();
    Ok(OrderId::parse("orderId", text)?)
}

/// An optional query parameter, parsed.
fn query<T>(
    request: &Request,
    name: &str,
    parse: impl FnOnce(&str) -> Result<T, rill_core::DomainError>,
) -> Result<Option<T>, Problem> {
    request::query_param(request, name)?
        .map(parse)
        .transpose()
        .map_err(Problem::from)
}

/// The value, or its field errors added to `errors`.
fn keep<T>(errors: &mut Vec<FieldError>, result: Result<T, Problem>) -> Option<T> {
    result
        .map_err(|problem| match problem.errors() {
            [] => errors.push(FieldError::new("", problem.detail())),
            fields => errors.extend(fields.iter().cloned()),
        })
        .ok()
}
