//! Pages over HTTP: the `limit` and `cursor` query parameters in, `{items, nextCursor}` out.
//!
//! The cursor is opaque to the client and to this module: the use case opens it with the
//! deployment's [`rill_core::CursorSigner`], which refuses one that was edited or issued for another
//! query (a 400 on `cursor`).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use rill_core::{DomainError, FieldError, Listing, PageLimit};
use serde::Serialize;

use crate::{Problem, json_response, request};

/// The query parameters of every listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageQuery {
    pub limit: PageLimit,
    pub cursor: Option<String>,
}

impl PageQuery {
    /// Reads `limit` (1–100, 20 by default) and `cursor`. Both are reported when both are wrong.
    pub fn from_request(request: &Request) -> Result<Self, Problem> {
        let mut errors: Vec<FieldError> = Vec::new();
        let mut keep = |problem: Problem| errors.extend(problem.errors().iter().cloned());
        let limit = request::query_param(request, "limit")
            .and_then(|text| PageLimit::parse(text).map_err(Problem::from))
            .map_err(&mut keep)
            .ok();
        let cursor = request::query_param(request, "cursor")
            .map_err(&mut keep)
            .ok()
            .flatten();
        match (limit, errors.is_empty()) {
            (Some(limit), true) => Ok(Self {
                limit,
                cursor: cursor.map(str::to_owned),
            }),
            _ => Err(Problem::from(DomainError::Validation(errors))),
        }
    }

    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }
}

/// The body of every listing.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PageBody<'a, T> {
    pub items: &'a [T],
    /// `null` on the last page.
    pub next_cursor: Option<&'a str>,
}

impl<'a, T> From<&'a Listing<T>> for PageBody<'a, T> {
    fn from(listing: &'a Listing<T>) -> Self {
        Self {
            items: &listing.items,
            next_cursor: listing.next_cursor.as_deref(),
        }
    }
}

/// A 200 with one page of a listing.
pub fn page_response<T: Serialize>(listing: &Listing<T>) -> Response<Body> {
    json_response(StatusCode::OK, &PageBody::from(listing))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use lambda_http::RequestExt;
    use serde_json::{Value, json};

    use super::*;

    fn request(query: &[(&str, &str)]) -> Request {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in query {
            map.entry(k.to_string()).or_default().push(v.to_string());
        }
        lambda_http::http::Request::new(Body::Empty).with_query_string_parameters(map)
    }

    #[test]
    fn without_parameters_the_first_page_has_the_default_size() {
        let query = PageQuery::from_request(&request(&[])).unwrap();
        assert_eq!(query.limit.get(), PageLimit::DEFAULT);
        assert_eq!(query.cursor(), None);
    }

    #[test]
    fn limit_and_cursor_are_read() {
        let query =
            PageQuery::from_request(&request(&[("limit", "5"), ("cursor", "abc")])).unwrap();
        assert_eq!(query.limit.get(), 5);
        assert_eq!(query.cursor(), Some("abc"));
    }

    #[test]
    fn a_limit_out_of_range_or_not_a_number_is_a_400_on_limit() {
        for limit in ["0", "101", "-1", "ten", "", "1e2"] {
            let problem = PageQuery::from_request(&request(&[("limit", limit)])).unwrap_err();
            assert_eq!(problem.status(), StatusCode::BAD_REQUEST);
            assert_eq!(problem.errors()[0].field, "limit", "{limit}");
        }
    }

    #[test]
    fn repeated_parameters_are_each_reported() {
        let problem = PageQuery::from_request(&request(&[
            ("limit", "1"),
            ("limit", "2"),
            ("cursor", "a"),
            ("cursor", "b"),
        ]))
        .unwrap_err();
        let fields: Vec<&str> = problem.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["limit", "cursor"]);
    }

    #[test]
    fn a_page_renders_items_and_a_null_next_cursor_on_the_last_page() {
        let response = page_response(&Listing {
            items: vec![1, 2],
            next_cursor: None,
        });
        let Body::Text(text) = response.body() else {
            panic!("expected text");
        };
        let body: Value = serde_json::from_str(text).unwrap();
        assert_eq!(body, json!({"items": [1, 2], "nextCursor": null}));
    }
}
