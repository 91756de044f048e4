//! The `users` table: the statements behind [`rill_core::UserReader`] and [`rill_core::UserWriter`].
//!
//! Each function is one step run on a connection or inside a transaction that the caller opened;
//! [`crate::SqliteStore`] decides where the transaction boundaries are. Email uniqueness is the UNIQUE
//! index on `email_key`: a violation of it is the `Conflict` the port promises, with no separate
//! "is it taken?" query that another writer could race.

use rill_core::{DomainError, Page, PageRequest, User, UserId};
use rusqlite::{Connection, OptionalExtension};

use crate::error::{Failure, unique_violation};
use crate::position;
use crate::rows::{read_user, user_columns};

/// The user with this id.
pub(crate) fn get(connection: &Connection, id: &str) -> Result<User, Failure> {
    let mut statement = connection.prepare_cached(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE id = ?1"
    ))?;
    let mut rows = statement.query([id])?;
    match rows.next()? {
        Some(row) => Ok(read_user(row)?),
        None => Err(DomainError::NotFound { entity: "user" }.into()),
    }
}

/// Whether a user with this id exists.
pub(crate) fn exists(connection: &Connection, id: UserId) -> Result<bool, Failure> {
    let mut statement = connection.prepare_cached("SELECT 1 FROM users WHERE id = ?1")?;
    Ok(statement.exists([id.to_string()])?)
}

/// One page of users in id order.
pub(crate) fn list(connection: &Connection, page: &PageRequest) -> Result<Page<User>, Failure> {
    let rows = position::page_rows(page.limit)?;
    let after = page
        .after
        .as_deref()
        .map(position::decode_user)
        .transpose()?;
    // One row more than the page says whether another page follows.
    let fetch = i64::try_from(rows + 1).unwrap_or(i64::MAX);
    let mut users = Vec::with_capacity(rows + 1);
    match after {
        Some(after) => {
            let mut statement = connection.prepare_cached(concat!(
                "SELECT ",
                user_columns!(),
                " FROM users WHERE id > ?1 ORDER BY id LIMIT ?2"
            ))?;
            let mut found = statement.query((after, fetch))?;
            while let Some(row) = found.next()? {
                users.push(read_user(row)?);
            }
        }
        None => {
            let mut statement = connection.prepare_cached(concat!(
                "SELECT ",
                user_columns!(),
                " FROM users ORDER BY id LIMIT ?1"
            ))?;
            let mut found = statement.query([fetch])?;
            while let Some(row) = found.next()? {
                users.push(read_user(row)?);
            }
        }
    }
    let next = if users.len() > rows {
        users.truncate(rows);
        users.last().map(|last| position::encode_user(last.id))
    } else {
        None
    };
    Ok(Page { items: users, next })
}

/// Inserts a new user. `Conflict` when the email key or the id is taken.
pub(crate) fn insert(connection: &Connection, user: &User) -> Result<(), Failure> {
    let mut statement = connection.prepare_cached(
        "INSERT INTO users (id, email, email_key, name, created_at, updated_at, version) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    statement
        .execute((
            user.id.to_string(),
            user.email.as_str(),
            user.email.key(),
            user.name.as_str(),
            user.created_at.as_millis(),
            user.updated_at.as_millis(),
            user.version,
        ))
        .map_err(conflict)?;
    Ok(())
}

/// Replaces the user stored at `user.version - 1`.
pub(crate) fn update(connection: &Connection, user: &User) -> Result<(), Failure> {
    let id = user.id.to_string();
    expect_version(connection, &id, Some(user.version.saturating_sub(1)))?;
    let mut statement = connection.prepare_cached(
        "UPDATE users SET email = ?2, email_key = ?3, name = ?4, created_at = ?5, \
         updated_at = ?6, version = ?7 WHERE id = ?1",
    )?;
    statement
        .execute((
            &id,
            user.email.as_str(),
            user.email.key(),
            user.name.as_str(),
            user.created_at.as_millis(),
            user.updated_at.as_millis(),
            user.version,
        ))
        .map_err(conflict)?;
    Ok(())
}

/// Deletes the user, at `expected_version` if one is given. Its email key goes with the row.
pub(crate) fn delete(
    connection: &Connection,
    id: UserId,
    expected_version: Option<u64>,
) -> Result<(), Failure> {
    let id = id.to_string();
    expect_version(connection, &id, expected_version)?;
    let mut statement = connection.prepare_cached("DELETE FROM users WHERE id = ?1")?;
    statement.execute([&id])?;
    Ok(())
}

/// `NotFound` when there is no such user, `PreconditionFailed` when its version is not `expected`.
fn expect_version(connection: &Connection, id: &str, expected: Option<u64>) -> Result<(), Failure> {
    let mut statement = connection.prepare_cached("SELECT version FROM users WHERE id = ?1")?;
    let stored: Option<i64> = statement.query_row([id], |row| row.get(0)).optional()?;
    match stored {
        None => Err(DomainError::NotFound { entity: "user" }.into()),
        Some(stored) if expected.is_some_and(|e| i64::try_from(e) != Ok(stored)) => {
            Err(DomainError::PreconditionFailed.into())
        }
        Some(_) => Ok(()),
    }
}

/// A UNIQUE violation on `users` as the client should hear it; any other error as a store fault.
fn conflict(error: rusqlite::Error) -> Failure {
    match unique_violation(&error) {
        Some("users.email_key") => {
            DomainError::Conflict("another user already has this email".to_owned()).into()
        }
        Some("users.id") => {
            DomainError::Conflict("a user with this id already exists".to_owned()).into()
        }
        _ => error.into(),
    }
}
