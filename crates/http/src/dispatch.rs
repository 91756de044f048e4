//! The routes a function serves, declared once.
//!
//! A function lists its `(method, resource path)` pairs in a [`RouteTable`], matches on what
//! [`RouteTable::resolve`] returns, and exposes [`RouteTable::routes`] so a test can check them
//! against the OpenAPI file. Behind API Gateway only declared routes arrive; locally, an unknown
//! path is a 404 and a known path with another method a 405 with `Allow`.

use lambda_http::Request;

use crate::{Problem, request};

/// `(method, resource path)`, as API Gateway spells them: `("GET", "/users/{userId}")`.
pub type Route = (&'static str, &'static str);

/// The routes of one function.
#[derive(Debug, Clone, Copy)]
pub struct RouteTable {
    routes: &'static [Route],
}

impl RouteTable {
    pub const fn new(routes: &'static [Route]) -> Self {
        Self { routes }
    }

    /// Every route, in declaration order.
    pub fn routes(&self) -> &'static [Route] {
        self.routes
    }

    /// The declared route this request was sent to.
    pub fn resolve(&self, request: &Request) -> Result<Route, Problem> {
        let not_found = || Problem::not_found("There is no resource at this path.");
        let (method, resource) = request::route(request).ok_or_else(not_found)?;
        if let Some(route) = self
            .routes
            .iter()
            .find(|(m, r)| *r == resource && m.eq_ignore_ascii_case(method))
        {
            return Ok(*route);
        }
        let allowed: Vec<&str> = self
            .routes
            .iter()
            .filter(|(_, r)| *r == resource)
            .map(|(m, _)| *m)
            .collect();
        if allowed.is_empty() {
            Err(not_found())
        } else {
            Err(Problem::method_not_allowed(method, &allowed))
        }
    }
}

#[cfg(test)]
mod tests {
    use lambda_http::http::StatusCode;
    use lambda_http::http::header::ALLOW;

    use super::*;

    const TABLE: RouteTable = RouteTable::new(&[
        ("GET", "/things"),
        ("POST", "/things"),
        ("GET", "/things/{thingId}"),
    ]);

    fn event(method: &str, resource: &str) -> Request {
        let json = serde_json::json!({
            "resource": resource,
            "path": "/things",
            "httpMethod": method,
            "headers": null,
            "multiValueHeaders": null,
            "queryStringParameters": null,
            "multiValueQueryStringParameters": null,
            "pathParameters": null,
            "stageVariables": null,
            "requestContext": {
                "resourcePath": resource,
                "httpMethod": method,
                "path": "/dev/things",
                "stage": "dev",
                "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
                "identity": {"sourceIp": "127.0.0.1"}
            },
            "body": null,
            "isBase64Encoded": false
        });
        lambda_http::request::from_str(&json.to_string()).unwrap()
    }

    #[test]
    fn a_declared_route_resolves_to_itself() {
        assert_eq!(
            TABLE.resolve(&event("GET", "/things/{thingId}")).unwrap(),
            ("GET", "/things/{thingId}")
        );
        assert_eq!(
            TABLE.resolve(&event("POST", "/things")).unwrap(),
            ("POST", "/things")
        );
    }

    #[test]
    fn another_method_on_a_known_resource_is_a_405_listing_the_allowed_ones() {
        let problem = TABLE.resolve(&event("DELETE", "/things")).unwrap_err();
        assert_eq!(problem.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(problem.headers()[ALLOW], "GET, POST");
    }

    #[test]
    fn an_unknown_resource_is_a_404() {
        let problem = TABLE.resolve(&event("GET", "/nothing")).unwrap_err();
        assert_eq!(problem.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn a_request_that_is_not_a_rest_api_event_is_a_404() {
        let request = lambda_http::http::Request::new(lambda_http::Body::Empty);
        assert_eq!(
            TABLE.resolve(&request).unwrap_err().status(),
            StatusCode::NOT_FOUND
        );
    }
}
