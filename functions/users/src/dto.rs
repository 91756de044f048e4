//! The request bodies, as clients send them. Strict (`deny_unknown_fields`) and plain: the domain's
//! `parse` functions check the values.

use serde::Deserialize;

/// `POST /users`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateUser {
    pub email: String,
    pub name: String,
}

/// `PATCH /users/{userId}`: each field may be absent, but not `null`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PatchUser {
    #[serde(default, deserialize_with = "rill_http::json::non_null")]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "rill_http::json::non_null")]
    pub name: Option<String>,
}
