//! The API's routes (one per method of each resource, with everything a request on it needs) and
//! the resource tree that matches request paths against them, as API Gateway REST does.
//!
//! A REST API is a tree of resources (`/users`, `/users/{userId}`, `/{proxy+}`) with methods on
//! each. API Gateway first picks the most specific resource whose path matches (a literal segment
//! beats `{param}`, which beats the greedy `{proxy+}`), then the method on that resource: the exact
//! one, else `x-amazon-apigateway-any-method`. Anything else is the famous 403
//! `Missing Authentication Token`, which the server produces when [`RouteTable::find`] says `None`.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use http::Method;

use super::proxy_integration::Integration;
use crate::request::decode;
use crate::validation::RequestValidator;

/// The method a route answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteMethod {
    /// `x-amazon-apigateway-any-method` (`ANY` in the console).
    Any,
    /// One HTTP method.
    Exact(Method),
}

impl fmt::Display for RouteMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteMethod::Any => f.write_str("ANY"),
            RouteMethod::Exact(method) => f.write_str(method.as_str()),
        }
    }
}

/// How a route is authorized, from the operation's own security requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authorization {
    /// `NONE`: anyone may call it.
    None,
    /// `AWS_IAM`: a SigV4 signature is required.
    Iam,
}

/// One method on one resource: the Lambda integration behind it, its authorization and its
/// compiled request validation.
#[derive(Debug, Clone)]
pub struct Route {
    /// The method.
    pub method: RouteMethod,
    /// The resource path as written in the API definition (`/users/{userId}`).
    pub resource_path: String,
    /// JSON pointer to the operation in the API definition (`/paths/~1users/get`), to name it in
    /// messages.
    pub operation_pointer: String,
    /// The Lambda function and how it is invoked.
    pub integration: Integration,
    /// SigV4 or nothing.
    pub authorization: Authorization,
    /// The operation's request validator, compiled.
    pub validator: Arc<RequestValidator>,
}

/// The result of a successful match.
#[derive(Debug, Clone)]
pub struct RouteMatch<'a> {
    /// The route.
    pub route: &'a Route,
    /// Decoded path parameter values by name (`{userId}` -> `userId`, `{proxy+}` -> `proxy`).
    pub path_parameters: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
    Greedy(String),
}

impl Segment {
    fn rank(&self) -> u8 {
        match self {
            Segment::Literal(_) => 0,
            Segment::Param(_) => 1,
            Segment::Greedy(_) => 2,
        }
    }
}

/// Why a resource path cannot be routed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("resource path `{path}`: {reason}")]
pub struct ResourcePathError {
    path: String,
    reason: String,
}

/// Splits a resource path from the API definition into segments, checking the shapes API Gateway
/// accepts.
fn parse_resource_path(path: &str) -> Result<Vec<Segment>, ResourcePathError> {
    let error = |reason: &str| ResourcePathError {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| error("must start with `/`"))?;
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    let raw: Vec<&str> = rest.split('/').collect();
    let mut segments = Vec::with_capacity(raw.len());
    let mut names = Vec::new();
    for (i, part) in raw.iter().enumerate() {
        let segment = if let Some(inner) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}'))
        {
            let (name, greedy) = match inner.strip_suffix('+') {
                Some(name) => (name, true),
                None => (inner, false),
            };
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
            {
                return Err(error(
                    "parameter names are letters, digits, `_`, `-` and `.`",
                ));
            }
            if names.contains(&name) {
                return Err(error("a parameter name appears twice"));
            }
            names.push(name);
            if greedy {
                if i + 1 != raw.len() {
                    return Err(error(
                        "a greedy `{name+}` parameter must be the last segment",
                    ));
                }
                Segment::Greedy(name.to_owned())
            } else {
                Segment::Param(name.to_owned())
            }
        } else if part.is_empty() {
            return Err(error("empty segment"));
        } else if part.contains(['{', '}']) {
            return Err(error("a segment is either a literal or a whole `{param}`"));
        } else {
            Segment::Literal((*part).to_owned())
        };
        segments.push(segment);
    }
    Ok(segments)
}

#[derive(Debug)]
struct Resource {
    segments: Vec<Segment>,
    routes: Vec<Route>,
}

impl Resource {
    /// Matches request segments (still percent-encoded), returning decoded parameters.
    fn matches(&self, request: &[&str]) -> Option<BTreeMap<String, String>> {
        let mut parameters = BTreeMap::new();
        for (i, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Greedy(name) => {
                    let rest = request.get(i..).filter(|rest| !rest.is_empty())?;
                    parameters.insert(name.clone(), decode(&rest.join("/")));
                    return Some(parameters);
                }
                Segment::Literal(literal) => {
                    if decode(request.get(i)?) != *literal {
                        return None;
                    }
                }
                Segment::Param(name) => {
                    parameters.insert(name.clone(), decode(request.get(i)?));
                }
            }
        }
        (request.len() == self.segments.len()).then_some(parameters)
    }

    fn specificity(&self, other: &Resource) -> Ordering {
        let ranks = |r: &Resource| r.segments.iter().map(Segment::rank).collect::<Vec<_>>();
        ranks(self).cmp(&ranks(other))
    }
}

/// Every resource of the API, ready to match requests.
#[derive(Debug, Default)]
pub struct RouteTable {
    resources: Vec<Resource>,
}

impl RouteTable {
    /// Builds the table. Fails on a malformed resource path or on the same method defined twice
    /// for one resource.
    pub fn new(routes: impl IntoIterator<Item = Route>) -> Result<Self, ResourcePathError> {
        let mut resources: Vec<Resource> = Vec::new();
        for route in routes {
            let segments = parse_resource_path(&route.resource_path)?;
            if let Some(other) = resources
                .iter()
                .find(|r| r.segments != segments && shape(&r.segments) == shape(&segments))
            {
                return Err(ResourcePathError {
                    path: route.resource_path.clone(),
                    reason: format!(
                        "conflicts with `{}`: parameters at the same place must have the same name",
                        other.routes[0].resource_path
                    ),
                });
            }
            match resources.iter_mut().find(|r| r.segments == segments) {
                Some(resource) => {
                    if resource.routes.iter().any(|r| r.method == route.method) {
                        return Err(ResourcePathError {
                            path: route.resource_path.clone(),
                            reason: format!("method {} is defined twice", route.method),
                        });
                    }
                    resource.routes.push(route);
                }
                None => resources.push(Resource {
                    segments,
                    routes: vec![route],
                }),
            }
        }
        Ok(Self { resources })
    }

    /// All routes, sorted by resource path then method, for the startup table.
    pub fn routes(&self) -> Vec<&Route> {
        let mut routes: Vec<&Route> = self
            .resources
            .iter()
            .flat_map(|r| r.routes.iter())
            .collect();
        routes.sort_by(|a, b| {
            a.resource_path
                .cmp(&b.resource_path)
                .then_with(|| a.method.to_string().cmp(&b.method.to_string()))
        });
        routes
    }

    /// Finds the route for `method` and `path` (the request path after the stage, still
    /// percent-encoded, starting with `/` or empty).
    pub fn find(&self, method: &Method, path: &str) -> Option<RouteMatch<'_>> {
        let segments = request_segments(path)?;
        let (resource, path_parameters) = self
            .resources
            .iter()
            .filter_map(|resource| resource.matches(&segments).map(|p| (resource, p)))
            .min_by(|(a, _), (b, _)| a.specificity(b))?;
        let route = resource
            .routes
            .iter()
            .find(|r| r.method == RouteMethod::Exact(method.clone()))
            .or_else(|| {
                resource
                    .routes
                    .iter()
                    .find(|r| r.method == RouteMethod::Any)
            })?;
        Some(RouteMatch {
            route,
            path_parameters,
        })
    }
}

/// A resource path with parameter names erased: `/a/{x}` and `/a/{y}` have the same shape, which
/// API Gateway rejects (one node of the resource tree cannot have two parameter names).
fn shape(segments: &[Segment]) -> Vec<(u8, &str)> {
    segments
        .iter()
        .map(|s| match s {
            Segment::Literal(literal) => (0, literal.as_str()),
            Segment::Param(_) => (1, ""),
            Segment::Greedy(_) => (2, ""),
        })
        .collect()
}

/// Splits a request path into segments; a single trailing slash is ignored, as API Gateway does.
/// Empty segments in the middle (`/a//b`) match nothing.
fn request_segments(path: &str) -> Option<Vec<&str>> {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    if trimmed.is_empty() {
        return Some(Vec::new());
    }
    let segments: Vec<&str> = trimmed.split('/').collect();
    segments.iter().all(|s| !s.is_empty()).then_some(segments)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TransferMode;
    use std::time::Duration;

    fn route(method: RouteMethod, path: &str) -> Route {
        Route {
            method,
            resource_path: path.to_owned(),
            operation_pointer: String::new(),
            integration: Integration {
                function: format!("fn{path}"),
                transfer_mode: TransferMode::Buffered,
                timeout: Duration::from_secs(29),
            },
            authorization: Authorization::None,
            validator: Arc::new(RequestValidator::disabled()),
        }
    }

    fn table() -> RouteTable {
        RouteTable::new([
            route(RouteMethod::Exact(Method::GET), "/"),
            route(RouteMethod::Exact(Method::GET), "/users"),
            route(RouteMethod::Exact(Method::POST), "/users"),
            route(RouteMethod::Exact(Method::GET), "/users/{userId}"),
            route(RouteMethod::Exact(Method::GET), "/users/me"),
            route(RouteMethod::Exact(Method::GET), "/users/{userId}/orders"),
            route(RouteMethod::Any, "/files/{proxy+}"),
            route(RouteMethod::Exact(Method::DELETE), "/files/{proxy+}"),
        ])
        .unwrap()
    }

    #[test]
    fn a_literal_segment_beats_a_parameter() {
        let table = table();
        let found = table.find(&Method::GET, "/users/me").unwrap();
        assert_eq!(found.route.resource_path, "/users/me");
        assert!(found.path_parameters.is_empty());
    }

    #[test]
    fn parameters_are_decoded_per_segment() {
        let table = table();
        let found = table.find(&Method::GET, "/users/a%2Fb%20c").unwrap();
        assert_eq!(found.route.resource_path, "/users/{userId}");
        assert_eq!(found.path_parameters["userId"], "a/b c");
        let nested = table.find(&Method::GET, "/users/42/orders").unwrap();
        assert_eq!(nested.path_parameters["userId"], "42");
    }

    #[test]
    fn a_greedy_parameter_takes_the_rest_of_the_path_but_not_nothing() {
        let table = table();
        let found = table.find(&Method::PUT, "/files/a/b/c.txt").unwrap();
        assert_eq!(found.route.method, RouteMethod::Any);
        assert_eq!(found.path_parameters["proxy"], "a/b/c.txt");
        assert!(table.find(&Method::PUT, "/files").is_none());
        assert!(table.find(&Method::PUT, "/files/").is_none());
    }

    #[test]
    fn an_exact_method_beats_any() {
        let table = table();
        let found = table.find(&Method::DELETE, "/files/x").unwrap();
        assert_eq!(found.route.method, RouteMethod::Exact(Method::DELETE));
    }

    #[test]
    fn an_undefined_method_on_a_known_resource_matches_nothing() {
        assert!(table().find(&Method::DELETE, "/users").is_none());
    }

    #[test]
    fn root_trailing_slashes_and_empty_segments() {
        let table = table();
        assert_eq!(
            table.find(&Method::GET, "").unwrap().route.resource_path,
            "/"
        );
        assert_eq!(
            table.find(&Method::GET, "/").unwrap().route.resource_path,
            "/"
        );
        assert_eq!(
            table
                .find(&Method::GET, "/users/")
                .unwrap()
                .route
                .resource_path,
            "/users"
        );
        assert!(table.find(&Method::GET, "/users//orders").is_none());
        assert!(table.find(&Method::GET, "/nope").is_none());
    }

    #[test]
    fn malformed_resource_paths_are_rejected() {
        for path in [
            "users",
            "/a/{proxy+}/b",
            "/a/{x}/{x}",
            "/a/x{y}",
            "/a//b",
            "/{}",
        ] {
            assert!(
                RouteTable::new([route(RouteMethod::Any, path)]).is_err(),
                "{path} should be rejected"
            );
        }
    }

    #[test]
    fn sibling_parameters_with_different_names_are_rejected() {
        let err = RouteTable::new([
            route(RouteMethod::Exact(Method::GET), "/users/{userId}"),
            route(RouteMethod::Exact(Method::DELETE), "/users/{id}"),
        ])
        .unwrap_err();
        assert!(
            err.to_string().contains("conflicts with `/users/{userId}`"),
            "{err}"
        );
    }

    #[test]
    fn a_method_defined_twice_on_one_resource_is_rejected() {
        let err = RouteTable::new([
            route(RouteMethod::Exact(Method::GET), "/a/{x}"),
            route(RouteMethod::Exact(Method::GET), "/a/{x}"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("defined twice"), "{err}");
    }
}
