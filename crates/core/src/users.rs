//! Use cases on users. Each takes the narrowest port it needs and the current time, so handlers stay
//! translation only and tests control the clock.

use crate::{
    CursorSigner, DomainError, Listing, NewUser, Order, OrderFilter, OrderReader, PageLimit,
    PageRequest, Timestamp, User, UserId, UserPatch, UserReader, UserWriter,
};

/// How many times a write without `If-Match` re-reads and retries after losing a race.
const MAX_RACE_RETRIES: usize = 5;

/// The scope that binds a users cursor to the users listing.
pub const USERS_SCOPE: &str = "users";

pub async fn create<S: UserWriter + ?Sized>(
    store: &S,
    input: NewUser,
    now: Timestamp,
) -> Result<User, DomainError> {
    let user = input.into_user(now);
    store.create_user(&user).await?;
    Ok(user)
}

pub async fn get<S: UserReader + ?Sized>(store: &S, id: UserId) -> Result<User, DomainError> {
    store.get_user(id).await
}

pub async fn list<S: UserReader + ?Sized>(
    store: &S,
    signer: &CursorSigner,
    limit: PageLimit,
    cursor: Option<&str>,
) -> Result<Listing<User>, DomainError> {
    let after = cursor.map(|c| signer.open(USERS_SCOPE, c)).transpose()?;
    let page = store
        .list_users(PageRequest {
            limit: limit.get(),
            after,
        })
        .await?;
    Ok(Listing {
        items: page.items,
        next_cursor: page.next.map(|p| signer.seal(USERS_SCOPE, &p)),
    })
}

/// Applies a patch. With `if_match`, only to that version; without, to whatever is current, retrying
/// when a concurrent write wins. A patch that changes nothing returns the user as it is.
pub async fn update<S: UserReader + UserWriter + ?Sized>(
    store: &S,
    id: UserId,
    patch: &UserPatch,
    if_match: Option<u64>,
    now: Timestamp,
) -> Result<User, DomainError> {
    for _ in 0..MAX_RACE_RETRIES {
        let current = store.get_user(id).await?;
        if if_match.is_some_and(|v| v != current.version) {
            return Err(DomainError::PreconditionFailed);
        }
        let Some(updated) = patch.apply(&current, now) else {
            return Ok(current);
        };
        match store.update_user(&updated).await {
            Err(DomainError::PreconditionFailed) if if_match.is_none() => continue,
            other => return other.map(|()| updated),
        }
    }
    Err(DomainError::Conflict(
        "the user is being changed by other requests; retry".into(),
    ))
}

pub async fn delete<S: UserWriter + ?Sized>(
    store: &S,
    id: UserId,
    if_match: Option<u64>,
) -> Result<(), DomainError> {
    store.delete_user(id, if_match).await
}

/// One page of a user's orders, newest first. `NotFound` when the user does not exist.
pub async fn list_orders<U: UserReader + ?Sized, O: OrderReader + ?Sized>(
    users: &U,
    orders: &O,
    signer: &CursorSigner,
    id: UserId,
    limit: PageLimit,
    cursor: Option<&str>,
) -> Result<Listing<Order>, DomainError> {
    users.get_user(id).await?;
    let filter = OrderFilter {
        user_id: Some(id),
        ..OrderFilter::default()
    };
    crate::orders::list(orders, signer, &filter, limit, cursor).await
}
