//! Every example in `openapi/api.yaml` is valid against the schema it illustrates, and the streamed
//! export examples have the shape the export function writes.

use rill_api_contract::examples::{collect, unreferenced_component_examples};
use rill_api_contract::schema::SchemaSet;
use rill_api_contract::spec::ApiSpec;
use serde_json::{Value, json};

fn spec() -> ApiSpec {
    ApiSpec::load(&rill_api_contract::api_definition_path()).expect("openapi/api.yaml loads")
}

#[test]
fn every_example_in_the_definition_validates_against_its_schema() {
    // Given every example, wherever it sits, with the schema beside it
    let spec = spec();
    let schemas = SchemaSet::from_document(spec.document());
    let cases = collect(spec.document()).expect("examples are well formed");
    // Schemas carry none (API Gateway refuses a model with `example`), so they sit beside them: in
    // media types, parameters and headers.
    assert!(cases.len() > 40, "only {} examples found", cases.len());

    // When each is validated
    let mut failures = Vec::new();
    for case in &cases {
        let violations = schemas
            .violations(&case.schema, &case.value)
            .expect("schema compiles");
        if !violations.is_empty() {
            failures.push(format!("{}:\n  {}", case.location, violations.join("\n  ")));
        }
    }

    // Then none breaks its schema
    assert!(
        failures.is_empty(),
        "invalid examples:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_named_example_is_used_somewhere() {
    let spec = spec();
    assert_eq!(
        unreferenced_component_examples(spec.document()),
        Vec::<String>::new()
    );
}

#[test]
fn every_json_body_of_every_operation_has_an_example() {
    // Given every request and response body in a JSON media type
    let spec = spec();
    let mut missing = Vec::new();
    for operation in spec.operations() {
        let mut bodies = Vec::new();
        if let Some(body) = operation.body.get("requestBody") {
            bodies.push(("request".to_owned(), spec.resolve(body).unwrap()));
        }
        for (status, response) in operation.body["responses"].as_object().unwrap() {
            bodies.push((status.clone(), spec.resolve(response).unwrap()));
        }
        // Then each carries at least one example
        for (which, body) in bodies {
            for (media_type, media) in body
                .get("content")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                if media.get("example").is_none() && media.get("examples").is_none() {
                    missing.push(format!("{} {which} {media_type}", operation.label()));
                }
            }
        }
    }
    assert!(missing.is_empty(), "bodies without examples: {missing:#?}");
}

#[test]
fn the_schemas_accept_what_the_code_accepts_at_each_bound_and_refuse_one_past_it() {
    // Given the request schemas and bodies at the edges of the domain rules in rill-core
    let spec = spec();
    let schemas = SchemaSet::from_document(spec.document());
    let valid = |name: &str, value: Value| {
        let schema = json!({"$ref": format!("#/components/schemas/{name}")});
        schemas.violations(&schema, &value).unwrap().is_empty()
    };
    let user = "0190a5e2-7c1b-7a3e-9f1d-2b4c6d8e0a11";
    let order = |sku: &str, quantity: i64, unit_price: i64, lines: usize| {
        json!({
            "userId": user,
            "currency": "EUR",
            "items": vec![json!({"sku": sku, "quantity": quantity, "unitPrice": unit_price}); lines],
        })
    };

    // Then each bound is where the code puts it
    assert!(valid(
        "NewUser",
        json!({"email": "a@b.co", "name": "é".repeat(200)})
    ));
    assert!(!valid(
        "NewUser",
        json!({"email": "a@b.co", "name": "é".repeat(201)})
    ));
    assert!(!valid("NewUser", json!({"email": "a@b.co", "name": ""})));
    // 254 characters: the longest local part (64), `@`, and three 61-character labels and `com`.
    let label = "d".repeat(61);
    let long_email = format!("{}@{label}.{label}.{label}.com", "a".repeat(64));
    assert_eq!(long_email.chars().count(), 254);
    assert!(valid("NewUser", json!({"email": long_email, "name": "A"})));
    assert!(!valid(
        "NewUser",
        json!({"email": format!("{long_email}x"), "name": "A"})
    ));
    assert!(!valid(
        "NewUser",
        json!({"email": format!("a{}@example.com", "a".repeat(64)), "name": "A"})
    ));
    assert!(!valid(
        "NewUser",
        json!({"email": "a@b.co", "name": "A", "admin": true})
    ));
    assert!(!valid("UserPatch", json!({})));
    assert!(valid("UserPatch", json!({"name": "B"})));

    assert!(valid(
        "NewOrder",
        order(&"A".repeat(64), 10_000, 1_000_000_000_000, 100)
    ));
    assert!(valid("NewOrder", order("a.b_c-D9", 1, 0, 1)));
    assert!(!valid("NewOrder", order(&"A".repeat(65), 1, 1, 1)));
    assert!(!valid("NewOrder", order("", 1, 1, 1)));
    assert!(!valid("NewOrder", order("A B", 1, 1, 1)));
    assert!(!valid("NewOrder", order("A", 0, 1, 1)));
    assert!(!valid("NewOrder", order("A", 10_001, 1, 1)));
    assert!(!valid("NewOrder", order("A", 1, -1, 1)));
    assert!(!valid("NewOrder", order("A", 1, 1_000_000_000_001, 1)));
    assert!(!valid("NewOrder", order("A", 1, 1, 0)));
    assert!(!valid("NewOrder", order("A", 1, 1, 101)));
    assert!(!valid(
        "NewOrder",
        json!({"userId": user, "currency": "eur", "items": [{"sku": "A", "quantity": 1, "unitPrice": 1}]})
    ));
    assert!(!valid(
        "NewOrder",
        json!({"userId": user.to_uppercase(), "currency": "EUR", "items": [{"sku": "A", "quantity": 1, "unitPrice": 1}]})
    ));
    assert!(!valid(
        "NewOrder",
        json!({"userId": user, "currency": "EUR", "total": 1, "items": [{"sku": "A", "quantity": 1, "unitPrice": 1}]})
    ));

    for status in ["pending", "paid", "shipped", "delivered", "cancelled"] {
        assert!(valid("OrderPatch", json!({"status": status})));
    }
    assert!(!valid("OrderPatch", json!({"status": "refunded"})));
}

#[test]
fn the_status_enum_lists_exactly_the_statuses_of_the_domain() {
    let spec = spec();
    let listed: Vec<&str> = spec.document()["components"]["schemas"]["OrderStatus"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let domain: Vec<&str> = rill_core::OrderStatus::ALL
        .iter()
        .map(|s| s.as_str())
        .collect();
    assert_eq!(listed, domain);
}

#[test]
fn ndjson_export_examples_are_records_then_one_trailer_that_counts_them() {
    // Given the NDJSON examples of both exports and the line schemas documented beside them
    let spec = spec();
    let schemas = SchemaSet::from_document(spec.document());
    let end = json!({"$ref": "#/components/schemas/ExportEnd"});
    let next = json!({"$ref": "#/components/schemas/ExportNext"});
    let mut trailers_seen = Vec::new();
    for response in ["OrdersExport", "UsersExport"] {
        let media = &spec.document()["components"]["responses"][response]["content"]["application/x-ndjson"];
        let [record, end_schema, next_schema] = media["x-ndjson-line-schema"]["oneOf"]
            .as_array()
            .and_then(|alternatives| <[Value; 3]>::try_from(alternatives.clone()).ok())
            .expect("a record schema and the two trailer schemas");
        assert_eq!((&end_schema, &next_schema), (&end, &next));
        let examples = media["examples"].as_object().expect("named examples");
        for (name, example) in examples {
            let lines: Vec<Value> = example["value"]
                .as_str()
                .expect("an NDJSON text")
                .lines()
                .map(|line| serde_json::from_str(line).expect("each line is one JSON value"))
                .collect();

            // Then every line but the last is a record and no trailer, and the last is a trailer
            // whose count is the number of records before it
            let (trailer, records) = lines.split_last().expect("at least the trailer");
            assert!(!records.is_empty(), "{response}/{name} shows no record");
            for line in records {
                assert_eq!(
                    schemas.violations(&record, line).unwrap(),
                    Vec::<String>::new()
                );
                assert!(
                    line.get("type").is_none(),
                    "{response}/{name}: a record has `type`"
                );
            }
            let kind = trailer["type"].as_str().expect("a trailer type");
            let schema = if kind == "end" { &end } else { &next };
            assert_eq!(
                schemas.violations(schema, trailer).unwrap(),
                Vec::<String>::new(),
                "{response}/{name}"
            );
            assert_eq!(trailer["count"], json!(records.len()), "{response}/{name}");
            if kind == "next" {
                let query = trailer["next"].as_str().unwrap();
                let cursor = trailer["cursor"].as_str().unwrap();
                // The link carries the cursor and is in SigV4's canonical order, as the export
                // writes it, so that a client signing it verbatim gets a valid signature.
                let pairs: Vec<(&str, &str)> = query
                    .strip_prefix('?')
                    .unwrap_or_else(|| panic!("{query} is not a query"))
                    .split('&')
                    .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
                    .collect();
                assert!(pairs.contains(&("cursor", cursor)), "{query}");
                assert!(pairs.windows(2).all(|w| w[0].0 < w[1].0), "{query}");
            }
            trailers_seen.push(kind.to_owned());
        }
    }
    assert!(trailers_seen.iter().any(|t| t == "end"));
    assert!(trailers_seen.iter().any(|t| t == "next"));
}

#[test]
fn csv_export_examples_have_the_export_functions_columns_and_one_row_per_line_item() {
    // Given the CSV examples, and the header rows the export function writes
    let spec = spec();
    let example = |response: &str| {
        spec.document()["components"]["responses"][response]["content"]["text/csv"]["example"]
            .as_str()
            .expect("a CSV example")
            .to_owned()
    };
    let orders = example("OrdersExport");
    let mut rows = orders.lines().map(|l| l.split(',').collect::<Vec<_>>());

    // Then the header is the function's, the documented column list is the same, and an order of
    // two line items is two rows numbered 1 and 2
    assert_eq!(rows.next().unwrap(), export::encode::ORDER_COLUMNS);
    let description = spec.document()["components"]["responses"]["OrdersExport"]["description"]
        .as_str()
        .unwrap();
    assert!(description.contains(&export::encode::ORDER_COLUMNS.join(",")));
    let rows: Vec<Vec<&str>> = rows.collect();
    assert_eq!(rows.len(), 2, "the example order has two line items");
    assert!(
        rows.iter()
            .all(|r| r.len() == export::encode::ORDER_COLUMNS.len())
    );
    assert_eq!(rows[0][7], "1");
    assert_eq!(rows[1][7], "2");

    let users = example("UsersExport");
    assert_eq!(
        users.lines().next().unwrap().split(',').collect::<Vec<_>>(),
        export::encode::USER_COLUMNS
    );
    let description = spec.document()["components"]["responses"]["UsersExport"]["description"]
        .as_str()
        .unwrap();
    assert!(description.contains(&export::encode::USER_COLUMNS.join(",")));
}
