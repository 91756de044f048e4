//! The export function's routes, one variant each. [`crate::handler`] matches them exhaustively, so
//! a route declared here without a handler does not compile; the contract tests check this list
//! against the routes `openapi/api.yaml` sends to the function.

rill_http::routes! {
    /// A route of the export function.
    pub enum Route {
        Orders = ("GET", "/exports/orders"),
        Users = ("GET", "/exports/users"),
    }
}
