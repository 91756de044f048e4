//! Translation only: each route reads what it needs from the request, calls one use case in
//! `rill_core::users`, and writes the outcome as a response. Every error is a
//! [`Problem`](rill_http::Problem); the mapping from domain errors to status codes lives in rill-http.

use lambda_http::http::HeaderValue;
use lambda_http::http::StatusCode;
use lambda_http::http::header::{IF_MATCH, LOCATION};
use lambda_http::{Body, Request, Response};
use rill_core::{NewUser, Timestamp, UserId, UserPatch, users};
use rill_http::{
    PageQuery, Problem, Routes, check_accepts_json, json_response, page_response, parse_if_match,
    parse_json, request, with_etag,
};

use crate::dto::{CreateUser, PatchUser};
use crate::{Deps, Route};

/// Answers one request: its route, then that route's use case.
pub async fn respond(deps: &Deps, request: Request) -> Result<Response<Body>, Problem> {
    let request = &request;
    let route = Route::resolve(request)?;
    if route != Route::Delete {
        check_accepts_json(request)?;
    }
    match route {
        Route::Create => create(deps, request).await,
        Route::List => list(deps, request).await,
        Route::Get => get(deps, request).await,
        Route::Update => update(deps, request).await,
        Route::Delete => delete(deps, request).await,
        Route::ListOrders => list_orders(deps, request).await,
    }
}

/// `POST /users` → 201 with the user, its `ETag` and `Location`.
async fn create(deps: &Deps, request: &Request) -> Result<Response<Body>, Problem> {
    let body: CreateUser = parse_json(request)?;
    let input = NewUser::parse(&body.email, &body.name)?;
    let user = users::create(&*deps.store, input, Timestamp::now()).await?;
    let mut response = with_etag(json_response(StatusCode::CREATED, &user), user.version);
    if let Ok(location) = HeaderValue::from_str(&request::location(request, user.id)) {
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(response)
}

/// `GET /users?limit&cursor` → 200 with one page.
async fn list(deps: &Deps, request: &Request) -> Result<Response<Body>, Problem> {
    let page = &PageQuery::from_request(request)?;
    let listing = deps
        .cursors
        .with_signer(|signer| async move {
            users::list(&*deps.store, &signer, page.limit, page.cursor()).await
        })
        .await?;
    Ok(page_response(&listing))
}

/// `GET /users/{userId}` → 200 with the user and its `ETag`.
async fn get(deps: &Deps, request: &Request) -> Result<Response<Body>, Problem> {
    let id = user_id(request)?;
    let user = users::get(&*deps.store, id).await?;
    Ok(with_etag(
        json_response(StatusCode::OK, &user),
        user.version,
    ))
}

/// `PATCH /users/{userId}` with `{email?, name?}` and an optional `If-Match` → 200 with the user.
async fn update(deps: &Deps, request: &Request) -> Result<Response<Body>, Problem> {
    let id = user_id(request)?;
    let if_match = parse_if_match(request.headers().get(IF_MATCH))?;
    let body: PatchUser = parse_json(request)?;
    let patch = UserPatch::parse(body.email.as_deref(), body.name.as_deref())?;
    let user = users::update(&*deps.store, id, &patch, if_match, Timestamp::now()).await?;
    Ok(with_etag(
        json_response(StatusCode::OK, &user),
        user.version,
    ))
}

/// `DELETE /users/{userId}` with an optional `If-Match` → 204.
async fn delete(deps: &Deps, request: &Request) -> Result<Response<Body>, Problem> {
    let id = user_id(request)?;
    let if_match = parse_if_match(request.headers().get(IF_MATCH))?;
    users::delete(&*deps.store, id, if_match).await?;
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}

/// `GET /users/{userId}/orders?limit&cursor` → 200 with one page of the user's orders, newest first.
async fn list_orders(deps: &Deps, request: &Request) -> Result<Response<Body>, Problem> {
    let id = user_id(request)?;
    let page = &PageQuery::from_request(request)?;
    let listing = deps
        .cursors
        .with_signer(|signer| async move {
            users::list_orders(
                &*deps.store,
                &*deps.store,
                &signer,
                id,
                page.limit,
                page.cursor(),
            )
            .await
        })
        .await?;
    Ok(page_response(&listing))
}

/// The `{userId}` path parameter. A malformed id is a 400 rather than a 404, so a client learns that
/// the id itself is wrong.
fn user_id(request: &Request) -> Result<UserId, Problem> {
    let text = request::path_param(request, "userId").unwrap_or_default();
    Ok(UserId::parse("userId", text)?)
}
