//! The routes in `openapi/api.yaml` and the routes the functions serve are the same, function by
//! function: a route the definition sends to a function that does not list it would answer 405 in
//! production, and a route a function lists but the definition lacks can never be reached.

use std::collections::{BTreeMap, BTreeSet};

use rill_api_contract::spec::ApiSpec;
use rill_api_contract::template::SamTemplate;

type Routes = BTreeSet<(String, String)>;

/// What each binary says it serves, from its own crate.
fn served_by_binaries() -> BTreeMap<&'static str, Routes> {
    let routes = |list: &'static [(&'static str, &'static str)]| -> Routes {
        list.iter()
            .map(|(method, path)| (method.to_ascii_uppercase(), (*path).to_owned()))
            .collect()
    };
    BTreeMap::from([
        ("users", routes(users::routes())),
        ("orders", routes(orders::routes())),
        ("export", routes(export::routes())),
    ])
}

/// What the definition sends to each binary, through the function its integration names.
fn routed_by_definition() -> BTreeMap<String, Routes> {
    let spec = ApiSpec::load(&rill_api_contract::api_definition_path()).expect("openapi/api.yaml");
    let template = SamTemplate::load(&rill_api_contract::template_path()).expect("template.yaml");
    let mut routed: BTreeMap<String, Routes> = BTreeMap::new();
    for operation in spec.operations() {
        let integration = operation.integration().expect("an integration");
        let function = template
            .function(&integration.function)
            .unwrap_or_else(|| panic!("{} names a missing function", operation.label()));
        let binary = function
            .binary
            .unwrap_or_else(|| panic!("{} has no Binary", function.logical_id));
        routed
            .entry(binary.to_owned())
            .or_default()
            .insert((operation.method.to_owned(), operation.path.to_owned()));
    }
    routed
}

#[test]
fn each_function_serves_exactly_the_routes_the_definition_sends_it() {
    // Given the routes per binary on both sides
    let served = served_by_binaries();
    let routed = routed_by_definition();

    // Then the binaries are the same, and so is each one's set of routes
    assert_eq!(
        routed.keys().map(String::as_str).collect::<Vec<_>>(),
        served.keys().copied().collect::<Vec<_>>(),
        "the template's binaries and the function crates differ"
    );
    for (binary, served) in &served {
        let routed = &routed[*binary];
        let unserved: Vec<_> = routed.difference(served).collect();
        let unreachable: Vec<_> = served.difference(routed).collect();
        assert!(
            unserved.is_empty() && unreachable.is_empty(),
            "{binary}: routed by openapi/api.yaml but not in {binary}::routes(): {unserved:?}; \
             in {binary}::routes() but not routed to it: {unreachable:?}"
        );
    }
}

#[test]
fn no_function_lists_a_route_twice() {
    for (binary, list) in [
        ("users", users::routes()),
        ("orders", orders::routes()),
        ("export", export::routes()),
    ] {
        let unique: BTreeSet<_> = list.iter().collect();
        assert_eq!(unique.len(), list.len(), "{binary} lists a route twice");
    }
}
