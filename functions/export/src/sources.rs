//! The two things an export reads, as [`PageSource`]s over the read-only store ports
//! ([`rill_core::ExportReader`] is both).

use std::sync::Arc;

use async_trait::async_trait;
use rill_core::{
    DomainError, Order, OrderFilter, OrderReader, Page, PageRequest, User, UserReader,
};

use crate::pipeline::PageSource;

/// The orders that match a filter, in the store's order.
#[derive(Debug)]
pub struct OrderPages<S: ?Sized> {
    pub store: Arc<S>,
    pub filter: OrderFilter,
    pub page_size: usize,
}

#[async_trait]
impl<S: OrderReader + ?Sized + 'static> PageSource for OrderPages<S> {
    type Item = Order;

    async fn page(&self, after: Option<Vec<u8>>) -> Result<Page<Order>, DomainError> {
        let request = PageRequest {
            limit: self.page_size,
            after,
        };
        self.store.list_orders(&self.filter, request).await
    }
}

/// Every user, in the store's order.
#[derive(Debug)]
pub struct UserPages<S: ?Sized> {
    pub store: Arc<S>,
    pub page_size: usize,
}

#[async_trait]
impl<S: UserReader + ?Sized + 'static> PageSource for UserPages<S> {
    type Item = User;

    async fn page(&self, after: Option<Vec<u8>>) -> Result<Page<User>, DomainError> {
        let request = PageRequest {
            limit: self.page_size,
            after,
        };
        self.store.list_users(request).await
    }
}
