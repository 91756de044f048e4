//! The checks, in the order a stage is proved: API Gateway refuses what is not signed right, the
//! API's writes and reads work with their guarantees (ETags, idempotency, problem documents), the
//! export streams, and what the smoke test created is removed again.
//!
//! Everything it creates is marked with the run id: the user's email is `smoke-<run>@smoke.invalid`
//! (`.invalid` is reserved by RFC 2606 and can never be a real address) and the order's SKU is
//! `SMOKE-<run>`. The API can delete a user but not an order, so the order is cancelled and stays:
//! a stage that was smoke-tested keeps one cancelled `SMOKE-...` order per run.

use anyhow::{Context as _, bail, ensure};
use http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::client::{Answer, Signing, Stage};
use crate::export;

/// A passed check's value and what it saw.
pub type Outcome<T> = anyhow::Result<(T, String)>;

/// The user the checks create.
#[derive(Debug, Clone)]
pub struct SmokeUser {
    pub id: String,
    pub email: String,
    pub etag: String,
}

/// API Gateway's refusal: 403 with a JSON `message` (its own error body, not a problem document).
fn gateway_refusal(answer: &Answer) -> anyhow::Result<String> {
    ensure!(
        answer.status == StatusCode::FORBIDDEN,
        "status {}, expected 403 (is SigV4 checked at all?)",
        answer.status
    );
    let body = answer.json()?;
    let message = body
        .get("message")
        .and_then(Value::as_str)
        .context("403 without a JSON `message`")?;
    // API Gateway's signature message goes on to quote the canonical request: its first line is enough.
    let first_line = message.lines().next().unwrap_or_default();
    let shown: String = first_line.chars().take(100).collect();
    Ok(format!("403 {shown:?}"))
}

pub async fn unsigned_is_refused(stage: &Stage) -> Outcome<()> {
    let answer = stage
        .call(Method::GET, "/users?limit=1", &[], None, Signing::Unsigned)
        .await?;
    Ok(((), gateway_refusal(&answer)?))
}

pub async fn wrong_secret_is_refused(stage: &Stage) -> Outcome<()> {
    let wrong = stage.credentials().with_wrong_secret();
    let answer = stage
        .call(
            Method::GET,
            "/users?limit=1",
            &[],
            None,
            Signing::With(&wrong),
        )
        .await?;
    Ok(((), gateway_refusal(&answer)?))
}

fn signed(stage: &Stage) -> Signing<'_> {
    Signing::With(stage.credentials())
}

fn expect_status(answer: &Answer, expected: StatusCode) -> anyhow::Result<()> {
    if answer.status != expected {
        bail!(
            "status {}, expected {expected}: {}",
            answer.status,
            String::from_utf8_lossy(&answer.body[..answer.body.len().min(300)])
        );
    }
    Ok(())
}

fn etag(answer: &Answer) -> anyhow::Result<String> {
    answer
        .header("etag")
        .map(str::to_owned)
        .context("no ETag header")
}

fn text<'a>(body: &'a Value, field: &str) -> anyhow::Result<&'a str> {
    body.get(field)
        .and_then(Value::as_str)
        .with_context(|| format!("no string `{field}` in {body}"))
}

pub async fn create_user(stage: &Stage, run: &str) -> Outcome<SmokeUser> {
    let email = format!("smoke-{run}@smoke.invalid");
    let answer = stage
        .call(
            Method::POST,
            "/users",
            &[],
            Some(&json!({"email": email, "name": format!("Rill smoke {run}")})),
            signed(stage),
        )
        .await?;
    expect_status(&answer, StatusCode::CREATED)?;
    let body = answer.json()?;
    let id = text(&body, "id")?.to_owned();
    ensure!(
        text(&body, "email")? == email,
        "the stored email differs: {body}"
    );
    let user = SmokeUser {
        id,
        email,
        etag: etag(&answer)?,
    };
    let detail = format!("201, {} ({}), ETag {}", user.id, user.email, user.etag);
    Ok((user, detail))
}

pub async fn read_user(stage: &Stage, user: &SmokeUser) -> Outcome<()> {
    let answer = stage.get(&format!("/users/{}", user.id)).await?;
    expect_status(&answer, StatusCode::OK)?;
    let body = answer.json()?;
    ensure!(
        text(&body, "id")? == user.id,
        "another user came back: {body}"
    );
    ensure!(
        text(&body, "email")? == user.email,
        "another email came back: {body}"
    );
    ensure!(
        etag(&answer)? == user.etag,
        "the ETag changed without a write"
    );
    Ok(((), format!("200, ETag {}", user.etag)))
}

/// Renames the user with `If-Match`; returns the new ETag.
pub async fn update_user(stage: &Stage, user: &SmokeUser, run: &str) -> Outcome<String> {
    let name = format!("Rill smoke {run} renamed");
    let answer = stage
        .call(
            Method::PATCH,
            &format!("/users/{}", user.id),
            &[("if-match", &user.etag)],
            Some(&json!({"name": name})),
            signed(stage),
        )
        .await?;
    expect_status(&answer, StatusCode::OK)?;
    let body = answer.json()?;
    ensure!(
        text(&body, "name")? == name,
        "the name did not change: {body}"
    );
    let new_etag = etag(&answer)?;
    ensure!(
        new_etag != user.etag,
        "the ETag did not change with the write"
    );
    let detail = format!("200, ETag {} -> {new_etag}", user.etag);
    Ok((new_etag, detail))
}

/// The problem document of a 4xx from the service (not from API Gateway).
fn problem(answer: &Answer, expected: StatusCode, slug: &str) -> anyhow::Result<String> {
    expect_status(answer, expected)?;
    let media_type = answer.media_type();
    ensure!(
        media_type == "application/problem+json",
        "Content-Type {media_type:?}, expected application/problem+json"
    );
    let body = answer.json()?;
    let kind = text(&body, "type")?;
    ensure!(
        kind == format!("urn:rill:problem:{slug}"),
        "problem type {kind}, expected urn:rill:problem:{slug}"
    );
    Ok(format!("{expected} problem+json {kind}"))
}

pub async fn stale_if_match_is_refused(
    stage: &Stage,
    user: &SmokeUser,
    stale_etag: &str,
) -> Outcome<()> {
    let answer = stage
        .call(
            Method::PATCH,
            &format!("/users/{}", user.id),
            &[("if-match", stale_etag)],
            Some(&json!({"name": "Never stored"})),
            signed(stage),
        )
        .await?;
    Ok((
        (),
        problem(
            &answer,
            StatusCode::PRECONDITION_FAILED,
            "precondition-failed",
        )?,
    ))
}

/// A body that passes the schema (which API Gateway checks first) but not the domain's rules: a
/// name of 200 U+FB2C characters, which NFC turns into 600 (`UserName` in openapi/api.yaml).
pub async fn bad_body_is_refused(stage: &Stage, run: &str) -> Outcome<()> {
    let answer = stage
        .call(
            Method::POST,
            "/users",
            &[],
            Some(&json!({
                "email": format!("smoke-{run}-refused@smoke.invalid"),
                "name": "\u{FB2C}".repeat(200),
            })),
            signed(stage),
        )
        .await?;
    if answer.status == StatusCode::CREATED {
        // Not what should happen; leave nothing behind.
        if let Ok(id) = answer.json().and_then(|b| Ok(text(&b, "id")?.to_owned())) {
            let _ = stage
                .call(
                    Method::DELETE,
                    &format!("/users/{id}"),
                    &[],
                    None,
                    signed(stage),
                )
                .await;
        }
    }
    let verdict = problem(&answer, StatusCode::BAD_REQUEST, "validation-error")?;
    let body = answer.json()?;
    ensure!(
        body.to_string().contains("\"name\""),
        "the problem does not name the field `name`: {body}"
    );
    Ok(((), verdict))
}

/// Places the same order twice with one `Idempotency-Key`; returns the order id.
pub async fn create_order_once(stage: &Stage, user: &SmokeUser, run: &str) -> Outcome<String> {
    let key = format!("smoke-{run}");
    let order = json!({
        "userId": user.id,
        "currency": "EUR",
        "items": [{"sku": format!("SMOKE-{run}"), "quantity": 1, "unitPrice": 100}],
    });
    let mut ids = Vec::new();
    let mut replayed = None;
    for _ in 0..2 {
        let answer = stage
            .call(
                Method::POST,
                "/orders",
                &[("idempotency-key", &key)],
                Some(&order),
                signed(stage),
            )
            .await?;
        expect_status(&answer, StatusCode::CREATED)?;
        ids.push(text(&answer.json()?, "id")?.to_owned());
        replayed = answer.header("idempotent-replayed").map(str::to_owned);
    }
    ensure!(
        ids[0] == ids[1],
        "two orders for one Idempotency-Key: {} and {}",
        ids[0],
        ids[1]
    );
    ensure!(
        replayed.as_deref() == Some("true"),
        "the second answer lacks Idempotent-Replayed: true"
    );
    let id = ids.swap_remove(0);
    let detail = format!("201 twice, one order {id}, the second replayed");
    Ok((id, detail))
}

pub async fn list_has_the_order_once(stage: &Stage, user: &SmokeUser, order: &str) -> Outcome<()> {
    let answer = stage
        .get(&format!("/users/{}/orders?limit=10", user.id))
        .await?;
    expect_status(&answer, StatusCode::OK)?;
    let body = answer.json()?;
    let ids: Vec<&str> = body
        .get("items")
        .and_then(Value::as_array)
        .context("no `items` array")?
        .iter()
        .filter_map(|item| item.get("id").and_then(Value::as_str))
        .collect();
    ensure!(
        ids == [order],
        "the user's orders are {ids:?}, expected [{order}]"
    );
    Ok(((), "200, exactly the one order".to_owned()))
}

pub async fn user_export_is_whole(stage: &Stage, user: &SmokeUser, order: &str) -> Outcome<()> {
    // The query in SigV4's canonical order, as a client that signs it as written must send it.
    let streamed = stage
        .stream(&format!("/exports/orders?format=ndjson&userId={}", user.id))
        .await?;
    let verdict = export::judge(&streamed, false).map_err(anyhow::Error::msg)?;
    let body = String::from_utf8_lossy(&streamed.tail);
    let records: Vec<Value> = body
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line.get("type").is_none())
        .collect();
    ensure!(
        records.len() == 1 && records[0].get("id").and_then(Value::as_str) == Some(order),
        "expected exactly the order {order}, got {} records",
        records.len()
    );
    Ok(((), verdict))
}

pub async fn export_streams(stage: &Stage, large: bool) -> Outcome<()> {
    let streamed = stage.stream("/exports/orders?format=ndjson").await?;
    let verdict = export::judge(&streamed, large).map_err(anyhow::Error::msg)?;
    Ok(((), verdict))
}

/// Cancels the smoke test's order (orders cannot be deleted through the API).
pub async fn cancel_order(stage: &Stage, order: &str) -> Outcome<()> {
    let answer = stage
        .call(
            Method::PATCH,
            &format!("/orders/{order}"),
            &[],
            Some(&json!({"status": "cancelled"})),
            signed(stage),
        )
        .await?;
    expect_status(&answer, StatusCode::OK)?;
    Ok((
        (),
        format!("200, {order} cancelled (it stays: the API deletes no orders)"),
    ))
}

pub async fn delete_user(stage: &Stage, user: &SmokeUser) -> Outcome<()> {
    let path = format!("/users/{}", user.id);
    let answer = stage
        .call(Method::DELETE, &path, &[], None, signed(stage))
        .await?;
    expect_status(&answer, StatusCode::NO_CONTENT)?;
    let gone = stage.get(&path).await?;
    problem(&gone, StatusCode::NOT_FOUND, "not-found")?;
    Ok(((), "204, then 404".to_owned()))
}
