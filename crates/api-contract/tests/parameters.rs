//! The query parameters the definition documents for the exports are exactly those the export function
//! accepts: it answers any other parameter with a 400, so a documented one it does not know would
//! break every client that uses it.

use std::collections::BTreeSet;

use rill_api_contract::spec::ApiSpec;
use serde_json::Value;

fn query_parameters(spec: &ApiSpec, path: &str) -> BTreeSet<String> {
    let operation = spec
        .operations()
        .into_iter()
        .find(|op| op.method == "GET" && op.path == path)
        .unwrap_or_else(|| panic!("no GET {path}"));
    operation.body["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|parameter| spec.resolve(parameter).expect("a resolvable parameter"))
        .filter(|parameter| parameter["in"] == "query")
        .filter_map(|parameter| parameter["name"].as_str().map(str::to_owned))
        .collect()
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|name| (*name).to_owned()).collect()
}

#[test]
fn each_export_documents_exactly_the_query_parameters_the_function_accepts() {
    // Given the definition and the export function's own parameter lists
    let spec = ApiSpec::load(&rill_api_contract::api_definition_path()).unwrap();

    // Then both sides name the same parameters
    assert_eq!(
        query_parameters(&spec, "/exports/orders"),
        names(export::params::ORDERS_PARAMS)
    );
    assert_eq!(
        query_parameters(&spec, "/exports/users"),
        names(export::params::USERS_PARAMS)
    );
}

#[test]
fn every_documented_parameter_has_a_schema_and_a_description() {
    let spec = ApiSpec::load(&rill_api_contract::api_definition_path()).unwrap();
    let parameters = spec.document()["components"]["parameters"]
        .as_object()
        .unwrap();
    for (name, parameter) in parameters {
        assert!(
            parameter.get("schema").is_some_and(Value::is_object),
            "{name}"
        );
        assert!(
            parameter.get("description").is_some_and(Value::is_string),
            "{name}"
        );
    }
}
