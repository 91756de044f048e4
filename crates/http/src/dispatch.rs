//! The routes a function serves, declared once as an enum.
//!
//! A function declares its routes with [`routes!`](crate::routes): one enum variant per
//! `(method, resource path)`. The handler matches on the variant [`Routes::resolve`] returns, so a
//! variant without a handler does not compile, and there is no fall-through arm that could answer
//! 500 at run time. [`Routes::TABLE`] is the same list as strings, which the API contract tests
//! compare with the OpenAPI file: a route the file sends to a function that does not declare it
//! fails there. Behind API Gateway only declared routes arrive; locally, an unknown path is a 404
//! and a known path with another method a 405 with `Allow`.

use lambda_http::Request;

use crate::{Problem, request};

/// `(method, resource path)`, as API Gateway spells them: `("GET", "/users/{userId}")`.
pub type Route = (&'static str, &'static str);

/// A function's routes: an enum declared with [`routes!`](crate::routes).
pub trait Routes: Copy + 'static {
    /// Every route, in declaration order.
    const ALL: &'static [Self];
    /// `(method, resource path)` of every route, in the order of [`Routes::ALL`].
    const TABLE: &'static [Route];

    /// The declared route this request was sent to: 404 for an unknown resource, 405 (with
    /// `Allow`) for a known resource with another method.
    fn resolve(request: &Request) -> Result<Self, Problem> {
        let not_found = || Problem::not_found("There is no resource at this path.");
        let (method, resource) = request::route(request).ok_or_else(not_found)?;
        if let Some(index) = Self::TABLE
            .iter()
            .position(|(m, r)| *r == resource && m.eq_ignore_ascii_case(method))
        {
            return Ok(Self::ALL[index]);
        }
        let allowed: Vec<&str> = Self::TABLE
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

/// Declares a function's routes as an enum that implements [`Routes`]:
///
/// ```
/// rill_http::routes! {
///     /// The routes of the things function.
///     pub enum ThingRoute {
///         List = ("GET", "/things"),
///         Create = ("POST", "/things"),
///     }
/// }
/// ```
#[macro_export]
macro_rules! routes {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident = ($method:literal, $resource:literal)),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name {
            $($(#[$variant_meta])* $variant),+
        }

        impl $crate::dispatch::Routes for $name {
            const ALL: &'static [Self] = &[$(Self::$variant),+];
            const TABLE: &'static [$crate::dispatch::Route] = &[$(($method, $resource)),+];
        }
    };
}

#[cfg(test)]
mod tests {
    use lambda_http::http::StatusCode;
    use lambda_http::http::header::ALLOW;

    use super::*;

    crate::routes! {
        enum Thing {
            List = ("GET", "/things"),
            Create = ("POST", "/things"),
            Get = ("GET", "/things/{thingId}"),
        }
    }

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
            Thing::resolve(&event("GET", "/things/{thingId}")).unwrap(),
            Thing::Get
        );
        assert_eq!(
            Thing::resolve(&event("POST", "/things")).unwrap(),
            Thing::Create
        );
        assert_eq!(
            Thing::resolve(&event("get", "/things")).unwrap(),
            Thing::List
        );
    }

    #[test]
    fn another_method_on_a_known_resource_is_a_405_listing_the_allowed_ones() {
        let problem = Thing::resolve(&event("DELETE", "/things")).unwrap_err();
        assert_eq!(problem.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(problem.headers()[ALLOW], "GET, POST");
    }

    #[test]
    fn an_unknown_resource_is_a_404() {
        let problem = Thing::resolve(&event("GET", "/nothing")).unwrap_err();
        assert_eq!(problem.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn a_request_that_is_not_a_rest_api_event_is_a_404() {
        let request = lambda_http::http::Request::new(lambda_http::Body::Empty);
        assert_eq!(
            Thing::resolve(&request).unwrap_err().status(),
            StatusCode::NOT_FOUND
        );
    }
}
