//! HTTP translation for the two export routes: request in, streaming response out.
//!
//! Everything that can fail before the first byte is checked here, in this order, so that it can still
//! be answered with a status and a problem document: the route, the query parameters (400), the
//! `Accept` header (406), the cursor (400), and the first store page (503 when the store is down). Only
//! then does the response start, with status 200 and single-valued headers, and the pipeline takes over.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use lambda_http::http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, HeaderValue, VARY, X_CONTENT_TYPE_OPTIONS,
};
use lambda_http::http::{HeaderMap, StatusCode};
use lambda_http::{Request, RequestExt, Response};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rill_core::{CursorSigner, ExportReader, OrderFilter, Timestamp};
use rill_entry::CursorKeys;
use rill_http::{Problem, Routes, request};
use tokio::time::Instant;

use crate::body::ExportBody;
use crate::config::ExportConfig;
use crate::encode::{Continuation, orders_encoder, users_encoder};
use crate::format::{Format, negotiate};
use crate::params::{self, ExportQuery};
use crate::pipeline::{self, ContinuationFn, Export, Limits};
use crate::routes::Route;
use crate::sources::{OrderPages, UserPages};

/// What the export function needs for every request, built once per process (see
/// [`crate::config`]).
pub struct ExportService<S: ?Sized> {
    store: Arc<S>,
    cursors: CursorKeys,
    config: ExportConfig,
}

impl<S: ?Sized> std::fmt::Debug for ExportService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportService")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S: ExportReader + ?Sized + 'static> ExportService<S> {
    pub fn new(store: Arc<S>, cursors: CursorKeys, config: ExportConfig) -> Self {
        Self {
            store,
            cursors,
            config,
        }
    }

    /// Answers one request, inside a span that carries its ids and route.
    pub async fn handle(&self, request: Request) -> Response<ExportBody> {
        rill_http::traced(request, |request| {
            // Boxed with an explicit `Send`: without it rustc fails to prove `Send` for a closure's
            // future that borrows a `dyn` store ("implementation of `Send` is not general enough").
            let respond: Pin<Box<dyn Future<Output = Response<ExportBody>> + Send + '_>> =
                Box::pin(async move {
                    match self.route(&request).await {
                        Ok(response) => response,
                        Err(problem) => problem_response(&problem),
                    }
                });
            respond
        })
        .await
    }

    async fn route(&self, request: &Request) -> Result<Response<ExportBody>, Problem> {
        match Route::resolve(request)? {
            Route::Orders => self.export_orders(request).await,
            Route::Users => self.export_users(request).await,
        }
    }

    async fn export_orders(&self, request: &Request) -> Result<Response<ExportBody>, Problem> {
        let query = params::orders_query(&query_pairs(request))?;
        let format = choose_format(request, &query)?;
        let scope = orders_scope(&query.filter);
        let (signer, after) = self.open_cursor(&scope, &query).await?;
        let source = Arc::new(OrderPages {
            store: self.store.clone(),
            filter: query.filter.clone(),
            page_size: self.config.page_size,
        });
        let first = pipeline::first_page(source.as_ref(), after).await?;
        let body = pipeline::start(Export {
            source,
            encoder: orders_encoder(format),
            first,
            limits: self.limits(request),
            continuation: Some(continuation(signer, scope, format, &query.filter)),
        });
        Ok(streaming_response("orders", format, body))
    }

    async fn export_users(&self, request: &Request) -> Result<Response<ExportBody>, Problem> {
        let query = params::users_query(&query_pairs(request))?;
        let format = choose_format(request, &query)?;
        let scope = USERS_SCOPE.to_owned();
        let (signer, after) = self.open_cursor(&scope, &query).await?;
        let source = Arc::new(UserPages {
            store: self.store.clone(),
            page_size: self.config.page_size,
        });
        let first = pipeline::first_page(source.as_ref(), after).await?;
        let body = pipeline::start(Export {
            source,
            encoder: users_encoder(format),
            first,
            limits: self.limits(request),
            continuation: Some(continuation(signer, scope, format, &OrderFilter::default())),
        });
        Ok(streaming_response("users", format, body))
    }

    /// The signer this export seals its continuation with, and the position in the client's cursor
    /// when it sent one (opened with the current key, or with a newer one after a rotation).
    async fn open_cursor(
        &self,
        scope: &str,
        query: &ExportQuery,
    ) -> Result<(CursorSigner, Option<Vec<u8>>), Problem> {
        let opened = self
            .cursors
            .with_signer(|signer| {
                let position = query
                    .cursor
                    .as_deref()
                    .map(|cursor| signer.open(scope, cursor))
                    .transpose();
                async move { position.map(|position| (signer, position)) }
            })
            .await?;
        Ok(opened)
    }

    fn limits(&self, request: &Request) -> Limits {
        Limits {
            max_bytes: self.config.max_bytes,
            stop_at: stop_at(request, self.config.deadline_margin),
        }
    }
}

/// Seals the position of the first record not sent into a cursor, and a link that repeats this
/// export's filters with it, written in SigV4's canonical query form (see [`canonical_query`]).
fn continuation(
    signer: CursorSigner,
    scope: String,
    format: Format,
    filter: &OrderFilter,
) -> ContinuationFn {
    let mut filters = vec![("format", format.to_string())];
    if let Some(status) = filter.status {
        filters.push(("status", status.to_string()));
    }
    if let Some(user_id) = filter.user_id {
        filters.push(("userId", user_id.to_string()));
    }
    if let Some(from) = filter.created_from {
        filters.push(("from", from.to_string()));
    }
    if let Some(to) = filter.created_to {
        filters.push(("to", to.to_string()));
    }
    Box::new(move |position| {
        let cursor = signer.seal(&scope, position);
        let mut pairs = filters.clone();
        pairs.push(("cursor", cursor.clone()));
        let next = format!("?{}", canonical_query(pairs));
        Continuation { cursor, next }
    })
}

/// What SigV4 leaves unescaped in a query: RFC 3986's unreserved characters.
const SIGV4_QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A query in exactly the form SigV4 signs it: pairs sorted by name, values escaped as SigV4 escapes
/// them (a timestamp's `:` is `%3A`). A client that signs a query as written, rather than
/// canonicalising it (curl before 8.3 does this), can then follow a `next` link verbatim. The names
/// here are plain ASCII words and each is given once, so sorting by name is sorting the pairs.
fn canonical_query(mut pairs: Vec<(&str, String)>) -> String {
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    pairs
        .iter()
        .map(|(name, value)| format!("{name}={}", utf8_percent_encode(value, SIGV4_QUERY_VALUE)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The scope that binds an orders export cursor to its filters.
fn orders_scope(filter: &OrderFilter) -> String {
    format!("export:{}", filter.scope())
}

/// The scope of a users export cursor.
const USERS_SCOPE: &str = "export:users";

fn query_pairs(request: &Request) -> Vec<(&str, &str)> {
    request
        .query_string_parameters_ref()
        .map(|query| query.iter().collect())
        .unwrap_or_default()
}

fn choose_format(request: &Request, query: &ExportQuery) -> Result<Format, Problem> {
    let accept = request::header(request, "accept")?;
    negotiate(query.format, accept)
        .map_err(|_| Problem::not_acceptable("text/csv or application/x-ndjson"))
}

/// The instant to stop by: the invocation deadline minus the margin. `None` outside Lambda.
fn stop_at(request: &Request, margin: Duration) -> Option<Instant> {
    let context = request.lambda_context_ref()?;
    if context.deadline == 0 {
        return None;
    }
    let left = context
        .deadline()
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    Some(Instant::now() + left.saturating_sub(margin))
}

/// `20261122T021913Z`: an instant for a file name.
fn compact_utc(at: Timestamp) -> String {
    let text = at.to_rfc3339();
    let seconds = text.get(..19).unwrap_or(&text);
    let mut compact: String = seconds.chars().filter(|c| *c != '-' && *c != ':').collect();
    compact.push('Z');
    compact
}

/// The 200 that starts a stream. Each header has exactly one value: the streaming prelude puts repeated
/// headers in a JSON array, which API Gateway rejects.
fn streaming_response(what: &str, format: Format, body: ExportBody) -> Response<ExportBody> {
    let filename = format!(
        "{what}-{}.{}",
        compact_utc(Timestamp::now()),
        format.extension()
    );
    let mut headers = HeaderMap::with_capacity(5);
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    let disposition = format!("attachment; filename=\"{filename}\"");
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(CONTENT_DISPOSITION, value);
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(VARY, HeaderValue::from_static("Accept"));
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    *response.headers_mut() = headers;
    response
}

/// A problem answered before streaming: its status and headers in the prelude, its JSON as the body.
fn problem_response(problem: &Problem) -> Response<ExportBody> {
    let mut response = Response::new(ExportBody::full(problem.body_bytes()));
    *response.status_mut() = problem.status();
    *response.headers_mut() = problem.headers();
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_name_instant_is_compact_utc() {
        let at = Timestamp::parse_rfc3339("t", "2026-11-22T02:19:13.999Z").unwrap();
        assert_eq!(compact_utc(at), "20261122T021913Z");
    }

    #[test]
    fn a_next_link_query_is_sorted_by_name_and_escaped_as_sigv4_signs_it() {
        let query = canonical_query(vec![
            ("format", "ndjson".to_owned()),
            ("userId", "0190a1b2-0000-7000-8000-000000000001".to_owned()),
            ("to", "2026-01-01T00:00:00.000Z".to_owned()),
            ("status", "paid".to_owned()),
            ("from", "2025-06-01T12:30:00.000Z".to_owned()),
            ("cursor", "AZ-_09az".to_owned()),
        ]);
        assert_eq!(
            query,
            "cursor=AZ-_09az&format=ndjson&from=2025-06-01T12%3A30%3A00.000Z&status=paid\
             &to=2026-01-01T00%3A00%3A00.000Z&userId=0190a1b2-0000-7000-8000-000000000001"
        );
    }
}
