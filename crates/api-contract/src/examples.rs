//! Every example in an OpenAPI document, paired with the schema it illustrates.
//!
//! Examples are what people copy, so a wrong one does more harm than none. This walks every place
//! OpenAPI 3.0 allows one: schemas (`example`), parameters and headers (`example`, `examples`), and
//! media types of request bodies and responses (`example`, `examples`, with `$ref`s into
//! `components/examples` followed). Component parameters, headers and responses are visited where they
//! are defined, so an example is checked even before an operation uses it.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::ContractError;
use crate::spec::{METHODS, resolve};

/// One example and the schema it must satisfy.
#[derive(Debug, Clone, PartialEq)]
pub struct ExampleCase {
    /// Where the example sits, as a JSON pointer into the document (`#/paths/~1users/post/...`).
    pub location: String,
    /// The media type, for examples of request and response bodies.
    pub media_type: Option<String>,
    pub schema: Value,
    pub value: Value,
}

/// Every example in the document.
pub fn collect(document: &Value) -> Result<Vec<ExampleCase>, ContractError> {
    let mut walk = Walk {
        document,
        cases: Vec::new(),
    };
    if let Some(schemas) = document
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for (name, schema) in schemas {
            walk.schema(&format!("#/components/schemas/{}", escape(name)), schema);
        }
    }
    for kind in ["parameters", "headers", "responses", "requestBodies"] {
        let items = document
            .pointer(&format!("/components/{kind}"))
            .and_then(Value::as_object);
        for (name, item) in items.into_iter().flatten() {
            let at = format!("#/components/{kind}/{}", escape(name));
            match kind {
                "responses" => walk.response(&at, item)?,
                "requestBodies" => walk.request_body(&at, item)?,
                _ => walk.parameter(&at, item)?,
            }
        }
    }
    if let Some(paths) = document.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            let at = format!("#/paths/{}", escape(path));
            walk.parameters(&format!("{at}/parameters"), item.get("parameters"))?;
            for method in METHODS {
                let Some(operation) = item.get(method) else {
                    continue;
                };
                let at = format!("{at}/{method}");
                walk.parameters(&format!("{at}/parameters"), operation.get("parameters"))?;
                if let Some(body) = operation.get("requestBody") {
                    walk.request_body(&format!("{at}/requestBody"), body)?;
                }
                if let Some(responses) = operation.get("responses").and_then(Value::as_object) {
                    for (status, response) in responses {
                        walk.response(&format!("{at}/responses/{status}"), response)?;
                    }
                }
            }
        }
    }
    Ok(walk.cases)
}

/// The names under `components/examples` that no `$ref` in the document points at.
pub fn unreferenced_component_examples(document: &Value) -> Vec<String> {
    let mut referenced = BTreeSet::new();
    collect_refs(document, &mut referenced);
    document
        .pointer("/components/examples")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, _)| name.clone())
        .filter(|name| !referenced.contains(&format!("#/components/examples/{}", escape(name))))
        .collect()
}

fn collect_refs(value: &Value, into: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                into.insert(target.clone());
            }
            map.values().for_each(|v| collect_refs(v, into));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, into)),
        _ => {}
    }
}

struct Walk<'a> {
    document: &'a Value,
    cases: Vec<ExampleCase>,
}

impl Walk<'_> {
    /// A schema's own `example`, then those of the schemas inside it.
    fn schema(&mut self, at: &str, schema: &Value) {
        if schema.get("$ref").is_some() {
            return;
        }
        if let Some(example) = schema.get("example") {
            self.cases.push(ExampleCase {
                location: format!("{at}/example"),
                media_type: None,
                schema: schema.clone(),
                value: example.clone(),
            });
        }
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            for (name, child) in properties {
                self.schema(&format!("{at}/properties/{}", escape(name)), child);
            }
        }
        for key in ["items", "additionalProperties", "not"] {
            if let Some(child) = schema.get(key).filter(|c| c.is_object()) {
                self.schema(&format!("{at}/{key}"), child);
            }
        }
        for key in ["allOf", "anyOf", "oneOf"] {
            if let Some(children) = schema.get(key).and_then(Value::as_array) {
                for (i, child) in children.iter().enumerate() {
                    self.schema(&format!("{at}/{key}/{i}"), child);
                }
            }
        }
    }

    fn parameters(&mut self, at: &str, list: Option<&Value>) -> Result<(), ContractError> {
        for (i, parameter) in list
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            self.parameter(&format!("{at}/{i}"), parameter)?;
        }
        Ok(())
    }

    /// A parameter or a header: `schema` with `example` or `examples` beside it.
    fn parameter(&mut self, at: &str, parameter: &Value) -> Result<(), ContractError> {
        if parameter.get("$ref").is_some() {
            return Ok(());
        }
        let Some(schema) = parameter.get("schema") else {
            return self.content(at, parameter.get("content"));
        };
        self.schema(&format!("{at}/schema"), schema);
        self.examples_beside(at, None, schema, parameter)
    }

    fn request_body(&mut self, at: &str, body: &Value) -> Result<(), ContractError> {
        if body.get("$ref").is_some() {
            return Ok(());
        }
        self.content(at, body.get("content"))
    }

    fn response(&mut self, at: &str, response: &Value) -> Result<(), ContractError> {
        if response.get("$ref").is_some() {
            return Ok(());
        }
        if let Some(headers) = response.get("headers").and_then(Value::as_object) {
            for (name, header) in headers {
                self.parameter(&format!("{at}/headers/{}", escape(name)), header)?;
            }
        }
        self.content(at, response.get("content"))
    }

    fn content(&mut self, at: &str, content: Option<&Value>) -> Result<(), ContractError> {
        for (media_type, media) in content.and_then(Value::as_object).into_iter().flatten() {
            let at = format!("{at}/content/{}", escape(media_type));
            let Some(schema) = media.get("schema") else {
                if media.get("example").is_some() || media.get("examples").is_some() {
                    return Err(ContractError::shape(format!(
                        "{at} has examples but no schema to check them against"
                    )));
                }
                continue;
            };
            self.schema(&format!("{at}/schema"), schema);
            self.examples_beside(&at, Some(media_type), schema, media)?;
        }
        Ok(())
    }

    /// `example` and each entry of `examples` next to a schema.
    fn examples_beside(
        &mut self,
        at: &str,
        media_type: Option<&str>,
        schema: &Value,
        holder: &Value,
    ) -> Result<(), ContractError> {
        if let Some(example) = holder.get("example") {
            self.cases.push(ExampleCase {
                location: format!("{at}/example"),
                media_type: media_type.map(str::to_owned),
                schema: schema.clone(),
                value: example.clone(),
            });
        }
        for (name, example) in holder
            .get("examples")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let location = format!("{at}/examples/{}", escape(name));
            let example = resolve(self.document, example)?;
            let value = example.get("value").ok_or_else(|| {
                ContractError::shape(format!(
                    "{location} has no `value` (external examples cannot be checked)"
                ))
            })?;
            self.cases.push(ExampleCase {
                location,
                media_type: media_type.map(str::to_owned),
                schema: schema.clone(),
                value: value.clone(),
            });
        }
        Ok(())
    }
}

/// Escapes a key for a JSON pointer (RFC 6901).
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn examples_are_found_in_schemas_parameters_headers_and_bodies() {
        let document = json!({
            "paths": {"/a/{id}": {
                "parameters": [{"name": "id", "in": "path", "schema": {"type": "string"}, "example": "x"}],
                "post": {
                    "requestBody": {"content": {"application/json": {
                        "schema": {"type": "object"},
                        "examples": {"one": {"$ref": "#/components/examples/One"}}
                    }}},
                    "responses": {"201": {
                        "description": "",
                        "headers": {"ETag": {"schema": {"type": "string"}, "example": "\"1\""}},
                        "content": {"application/json": {"schema": {"type": "integer", "example": 3}, "example": 4}}
                    }}
                }
            }},
            "components": {"examples": {"One": {"value": {"a": 1}}}}
        });
        let cases = collect(&document).unwrap();
        let values: Vec<&Value> = cases.iter().map(|c| &c.value).collect();
        assert_eq!(
            values,
            vec![
                &json!("x"),
                &json!({"a": 1}),
                &json!("\"1\""),
                &json!(3),
                &json!(4)
            ]
        );
        assert_eq!(
            cases[1].location,
            "#/paths/~1a~1{id}/post/requestBody/content/application~1json/examples/one"
        );
        assert!(unreferenced_component_examples(&document).is_empty());
    }

    #[test]
    fn a_component_example_nothing_uses_is_reported() {
        let document = json!({"components": {"examples": {"Orphan": {"value": 1}}}});
        assert_eq!(unreferenced_component_examples(&document), vec!["Orphan"]);
    }
}
