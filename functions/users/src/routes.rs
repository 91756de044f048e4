//! The users function's routes, one variant each. [`crate::handler`] matches them exhaustively, so a
//! route declared here without a handler does not compile; the contract tests check this list
//! against the routes `openapi/api.yaml` sends to the function.

rill_http::routes! {
    /// A route of the users function.
    pub enum Route {
        Create = ("POST", "/users"),
        List = ("GET", "/users"),
        Get = ("GET", "/users/{userId}"),
        Update = ("PATCH", "/users/{userId}"),
        Delete = ("DELETE", "/users/{userId}"),
        ListOrders = ("GET", "/users/{userId}/orders"),
    }
}
