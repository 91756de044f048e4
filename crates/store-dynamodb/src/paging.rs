//! Filling a page from `Query` or `Scan` calls.
//!
//! DynamoDB's `Limit` counts the items it *evaluates*, before a `FilterExpression` drops any, so one
//! call can return fewer matches than asked for, or none, and still have more to read. A page here
//! is always full unless the data ends: calls repeat from each `LastEvaluatedKey` until `limit`
//! items matched. When a call returns more matches than the page needs, the rest are not skipped:
//! the page's position is the key of its last *returned* item, and the next page starts right
//! after it.
//!
//! With a filter, each further call evaluates twice as many items as the one before (up to
//! [`MAX_EVALUATED`]), so a selective filter costs a few round trips rather than one per item.

use std::future::Future;

use rill_core::DomainError;

use crate::DynamoError;
use crate::attributes::Item;

/// The most items one call is asked to evaluate. DynamoDB also stops at 1 MB of data.
const MAX_EVALUATED: usize = 1_000;

/// What one `Query` or `Scan` call returned.
#[derive(Debug)]
pub(crate) struct Batch {
    pub(crate) items: Vec<Item>,
    pub(crate) last_evaluated_key: Option<Item>,
}

/// Up to `limit` matching items, and the key to continue after when there may be more.
#[derive(Debug)]
pub(crate) struct FilledPage {
    pub(crate) items: Vec<Item>,
    pub(crate) next: Option<Item>,
}

/// How a listing reads: whether a filter may drop items, and which attributes make up a position.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Listing<'a> {
    pub(crate) filtered: bool,
    pub(crate) key_names: &'a [&'a str],
}

/// Calls `fetch(exclusive_start_key, evaluate_limit)` until `limit` items matched or the data ended.
pub(crate) async fn fill_page<F, Fut>(
    listing: Listing<'_>,
    limit: usize,
    start: Option<Item>,
    mut fetch: F,
) -> Result<FilledPage, DomainError>
where
    F: FnMut(Option<Item>, i32) -> Fut,
    Fut: Future<Output = Result<Batch, DomainError>>,
{
    let limit = limit.clamp(1, MAX_EVALUATED);
    let mut items: Vec<Item> = Vec::with_capacity(limit);
    let mut start = start;
    // One more than needed, so a page that ends exactly at the data's end is known to be the last.
    let mut evaluate = if listing.filtered {
        2 * (limit + 1)
    } else {
        limit + 1
    };
    loop {
        evaluate = evaluate.clamp(1, MAX_EVALUATED);
        let batch = fetch(start.take(), evaluate as i32).await?;
        let mut fetched = batch.items.into_iter();
        for item in fetched.by_ref() {
            items.push(item);
            if items.len() == limit {
                break;
            }
        }
        if items.len() == limit {
            let more = fetched.next().is_some() || batch.last_evaluated_key.is_some();
            let next = match (more, items.last()) {
                (true, Some(last)) => Some(key_of(last, listing.key_names)?),
                _ => None,
            };
            return Ok(FilledPage { items, next });
        }
        match batch.last_evaluated_key {
            None => return Ok(FilledPage { items, next: None }),
            Some(key) => start = Some(key),
        }
        let remaining = limit - items.len() + 1;
        evaluate = if listing.filtered {
            (evaluate * 2).max(remaining)
        } else {
            remaining
        };
    }
}

/// The key attributes `names` of an item, as an `ExclusiveStartKey`.
fn key_of(item: &Item, names: &[&str]) -> Result<Item, DomainError> {
    names
        .iter()
        .map(|&name| {
            item.get(name)
                .map(|value| (name.to_owned(), value.clone()))
                .ok_or_else(|| {
                    DynamoError::Position(format!("a listed item has no {name} attribute")).into()
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::attributes::{get_n, n, s};

    /// A fake table of `size` items keyed 0.., where items with `keep(i)` pass the filter, read the
    /// way DynamoDB does: `evaluate` items from after the start key, then filtered.
    fn table(
        size: usize,
        keep: fn(usize) -> bool,
        calls: &Mutex<Vec<i32>>,
    ) -> impl FnMut(Option<Item>, i32) -> std::future::Ready<Result<Batch, DomainError>> + '_ {
        move |start, evaluate| {
            calls.lock().unwrap().push(evaluate);
            let from = start.map_or(0, |k| get_n::<usize>(&k, "pk").unwrap() + 1);
            let to = (from + evaluate as usize).min(size);
            let items = (from..to)
                .filter(|&i| keep(i))
                .map(|i| Item::from([("pk".to_owned(), n(i)), ("v".to_owned(), s("x"))]))
                .collect();
            let last_evaluated_key = (to < size || to == from + evaluate as usize)
                .then(|| Item::from([("pk".to_owned(), n(to - 1))]));
            std::future::ready(Ok(Batch {
                items,
                last_evaluated_key,
            }))
        }
    }

    async fn read_all(
        size: usize,
        keep: fn(usize) -> bool,
        filtered: bool,
        limit: usize,
    ) -> (Vec<Vec<usize>>, usize) {
        let calls = Mutex::new(Vec::new());
        let listing = Listing {
            filtered,
            key_names: &["pk"],
        };
        let mut pages = Vec::new();
        let mut start = None;
        loop {
            let page = fill_page(listing, limit, start, table(size, keep, &calls))
                .await
                .unwrap();
            pages.push(
                page.items
                    .iter()
                    .map(|i| get_n::<usize>(i, "pk").unwrap())
                    .collect(),
            );
            match page.next {
                Some(next) => start = Some(next),
                None => break,
            }
        }
        let calls = calls.lock().unwrap().len();
        (pages, calls)
    }

    #[tokio::test]
    async fn filtered_pages_are_full_until_the_last_and_resume_after_their_last_item() {
        let keep = |i: usize| i % 7 == 3;
        let (pages, _) = read_all(200, keep, true, 4).await;
        let want: Vec<usize> = (0..200).filter(|&i| keep(i)).collect();
        let got: Vec<usize> = pages.iter().flatten().copied().collect();
        assert_eq!(got, want);
        for page in &pages[..pages.len() - 1] {
            assert_eq!(page.len(), 4, "{pages:?}");
        }
    }

    #[tokio::test]
    async fn an_unfiltered_listing_that_ends_on_a_page_boundary_has_no_empty_last_page() {
        let (pages, calls) = read_all(12, |_| true, false, 4).await;
        assert_eq!(
            pages,
            vec![vec![0, 1, 2, 3], vec![4, 5, 6, 7], vec![8, 9, 10, 11]]
        );
        assert_eq!(calls, 3);
    }

    #[tokio::test]
    async fn a_selective_filter_widens_each_call_instead_of_crawling() {
        let (pages, calls) = read_all(5_000, |i| i == 4_321, true, 10).await;
        assert_eq!(pages, vec![vec![4_321]]);
        assert!(calls <= 10, "{calls} calls");
    }

    #[tokio::test]
    async fn an_empty_table_gives_one_empty_last_page() {
        let (pages, _) = read_all(0, |_| true, true, 5).await;
        assert_eq!(pages, vec![Vec::<usize>::new()]);
    }
}
