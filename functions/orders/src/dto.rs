//! The request bodies, as clients send them. Strict (`deny_unknown_fields`) and plain: the domain's
//! `parse` functions check the values. Amounts are integers in minor units; a client never sends
//! the total, which is computed from the items.

use rill_core::NewLineItem;
use serde::Deserialize;

/// `POST /orders`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct CreateOrder {
    pub user_id: String,
    pub currency: String,
    pub items: Vec<LineItemBody>,
}

/// One line of `POST /orders`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct LineItemBody {
    pub sku: String,
    pub quantity: i64,
    pub unit_price: i64,
}

impl LineItemBody {
    pub fn as_new(&self) -> NewLineItem<'_> {
        NewLineItem {
            sku: &self.sku,
            quantity: self.quantity,
            unit_price: self.unit_price,
        }
    }
}

/// `PATCH /orders/{orderId}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PatchOrder {
    pub status: String,
}
