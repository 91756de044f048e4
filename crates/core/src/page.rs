//! Pagination: a bounded page size, and pages that carry the store's position after their last item.

use crate::DomainError;

/// A client-chosen page size: 1–100, 20 when not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimit(usize);

impl PageLimit {
    pub const DEFAULT: usize = 20;
    pub const MAX: usize = 100;

    pub fn parse(text: Option<&str>) -> Result<Self, DomainError> {
        let Some(text) = text else {
            return Ok(Self(Self::DEFAULT));
        };
        match text.parse::<usize>() {
            Ok(n) if (1..=Self::MAX).contains(&n) => Ok(Self(n)),
            _ => Err(DomainError::invalid(
                "limit",
                "must be a whole number from 1 to 100",
            )),
        }
    }

    pub fn get(self) -> usize {
        self.0
    }
}

impl Default for PageLimit {
    fn default() -> Self {
        Self(Self::DEFAULT)
    }
}

/// What a store is asked for: up to `limit` items after `after` (a position the store itself
/// returned earlier, already checked by [`crate::CursorSigner`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: usize,
    pub after: Option<Vec<u8>>,
}

impl PageRequest {
    pub fn first(limit: usize) -> Self {
        Self { limit, after: None }
    }
}

/// Up to `limit` items, and the position to continue from when there may be more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Vec<u8>>,
}

/// One page of a listing as a client sees it: the items, and the sealed cursor for the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}
