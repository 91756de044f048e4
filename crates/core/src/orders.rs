//! Use cases on orders.

use crate::fingerprint::IDEMPOTENCY_WINDOW_MILLIS;
use crate::{
    CreateOrderOutcome, CursorSigner, DomainError, IdempotencyKey, IdempotentOrderCreate, Listing,
    NewOrder, Order, OrderFilter, OrderId, OrderReader, OrderStatus, OrderWriter, PageLimit,
    PageRequest, RequestFingerprint, Timestamp,
};

const MAX_RACE_RETRIES: usize = 5;

/// Creates an order. With an idempotency key, a retry of the same request returns the order the first
/// attempt created, and a different request under the same key is refused.
pub async fn create<S: OrderWriter + ?Sized>(
    store: &S,
    input: NewOrder,
    key: Option<IdempotencyKey>,
    now: Timestamp,
) -> Result<CreateOrderOutcome, DomainError> {
    let idempotency = key.map(|key| IdempotentOrderCreate {
        key,
        fingerprint: RequestFingerprint::of_new_order(&input),
        expires_at: Timestamp::from_millis(
            now.as_millis().saturating_add(IDEMPOTENCY_WINDOW_MILLIS),
        ),
    });
    let order = input.into_order(now);
    store.create_order(&order, idempotency.as_ref()).await
}

pub async fn get<S: OrderReader + ?Sized>(store: &S, id: OrderId) -> Result<Order, DomainError> {
    store.get_order(id).await
}

pub async fn list<S: OrderReader + ?Sized>(
    store: &S,
    signer: &CursorSigner,
    filter: &OrderFilter,
    limit: PageLimit,
    cursor: Option<&str>,
) -> Result<Listing<Order>, DomainError> {
    let scope = filter.scope();
    let after = cursor.map(|c| signer.open(&scope, c)).transpose()?;
    let page = store
        .list_orders(
            filter,
            PageRequest {
                limit: limit.get(),
                after,
            },
        )
        .await?;
    Ok(Listing {
        items: page.items,
        next_cursor: page.next.map(|p| signer.seal(&scope, &p)),
    })
}

/// Moves an order to `next`. With `if_match`, only from that version. Without it, a lost race is
/// retried on the fresh state, where the move may then be a conflict.
pub async fn transition<S: OrderReader + OrderWriter + ?Sized>(
    store: &S,
    id: OrderId,
    next: OrderStatus,
    if_match: Option<u64>,
    now: Timestamp,
) -> Result<Order, DomainError> {
    for _ in 0..MAX_RACE_RETRIES {
        let current = store.get_order(id).await?;
        if if_match.is_some_and(|v| v != current.version) {
            return Err(DomainError::PreconditionFailed);
        }
        let updated = current.transition(next, now)?;
        match store.update_order(&updated).await {
            Err(DomainError::PreconditionFailed) if if_match.is_none() => continue,
            other => return other.map(|()| updated),
        }
    }
    Err(DomainError::Conflict(
        "the order is being changed by other requests; retry".into(),
    ))
}
