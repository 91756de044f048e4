//! OpenAPI 3.0 schemas as JSON Schema validators.
//!
//! An OpenAPI 3.0 schema object is close to JSON Schema draft 4/5 but not the same: `nullable: true`
//! stands for "or null", and `example` is not a keyword. Schemas are translated where they sit (only in
//! schema positions, never inside `example`, `enum` or `default` data), and every validator carries
//! the translated `components.schemas` so a `$ref: '#/components/schemas/X'` resolves exactly as it
//! does in the definition.

use serde_json::{Map, Value};

use crate::ContractError;

/// A compiled schema.
pub type Validator = jsonschema::Validator;

/// Builds validators for schemas of one OpenAPI document.
#[derive(Debug, Clone)]
pub struct SchemaSet {
    components: Value,
}

impl SchemaSet {
    /// Collects and translates the document's `components.schemas`.
    pub fn from_document(document: &Value) -> Self {
        let schemas = document
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .map(|schemas| {
                schemas
                    .iter()
                    .map(|(name, schema)| (name.clone(), translate(schema)))
                    .collect::<Map<_, _>>()
            })
            .unwrap_or_default();
        let mut components = Map::new();
        components.insert("schemas".to_owned(), Value::Object(schemas));
        Self {
            components: Value::Object(components),
        }
    }

    /// A validator for an OpenAPI schema of this document (inline, or a `$ref` into components).
    pub fn validator(&self, schema: &Value) -> Result<Validator, ContractError> {
        let mut root = match translate(schema) {
            Value::Object(map) => map,
            Value::Bool(true) => Map::new(),
            other => {
                return Err(ContractError::shape(format!(
                    "{other} is not a schema object"
                )));
            }
        };
        root.insert("components".to_owned(), self.components.clone());
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .should_validate_formats(true)
            .build(&Value::Object(root))
            .map_err(|e| ContractError::shape(format!("schema {schema} does not compile: {e}")))
    }

    /// Every way `instance` breaks `schema`, as readable lines; empty when it is valid.
    pub fn violations(
        &self,
        schema: &Value,
        instance: &Value,
    ) -> Result<Vec<String>, ContractError> {
        let validator = self.validator(schema)?;
        Ok(validator
            .iter_errors(instance)
            .map(|e| format!("at `{}`: {e}", e.instance_path()))
            .collect())
    }
}

/// Translates one OpenAPI 3.0 schema object to JSON Schema.
pub fn translate(schema: &Value) -> Value {
    let Value::Object(map) = schema else {
        return schema.clone();
    };
    let mut out = Map::with_capacity(map.len());
    for (key, value) in map {
        let translated = match key.as_str() {
            "properties" | "patternProperties" | "definitions" => match value {
                Value::Object(children) => Value::Object(
                    children
                        .iter()
                        .map(|(name, child)| (name.clone(), translate(child)))
                        .collect(),
                ),
                other => other.clone(),
            },
            "items" | "additionalProperties" | "not" => translate(value),
            "allOf" | "anyOf" | "oneOf" => match value {
                Value::Array(children) => Value::Array(children.iter().map(translate).collect()),
                other => other.clone(),
            },
            // Data, or OpenAPI-only annotations: kept as they are, never translated.
            _ => value.clone(),
        };
        out.insert(key.clone(), translated);
    }
    if out.remove("nullable") == Some(Value::Bool(true)) {
        if let Some(Value::String(kind)) = out.get("type").cloned() {
            out.insert(
                "type".to_owned(),
                Value::Array(vec![Value::String(kind), Value::String("null".to_owned())]),
            );
        }
        if let Some(Value::Array(values)) = out.get_mut("enum")
            && !values.contains(&Value::Null)
        {
            values.push(Value::Null);
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn set() -> SchemaSet {
        SchemaSet::from_document(&json!({"components": {"schemas": {
            "Cursor": {"type": "string", "nullable": true, "minLength": 1},
            "Page": {
                "type": "object",
                "required": ["next"],
                "properties": {"next": {"$ref": "#/components/schemas/Cursor"}},
                "example": {"nullable": "data, not a keyword"}
            },
            "Status": {"type": "string", "enum": ["a", "b"], "nullable": true}
        }}}))
    }

    #[test]
    fn nullable_allows_null_and_nothing_else_new() {
        let set = set();
        let page = json!({"$ref": "#/components/schemas/Page"});
        assert!(
            set.violations(&page, &json!({"next": null}))
                .unwrap()
                .is_empty()
        );
        assert!(
            set.violations(&page, &json!({"next": "abc"}))
                .unwrap()
                .is_empty()
        );
        assert!(
            !set.violations(&page, &json!({"next": 3}))
                .unwrap()
                .is_empty()
        );
        assert!(
            !set.violations(&page, &json!({"next": ""}))
                .unwrap()
                .is_empty()
        );
        assert!(!set.violations(&page, &json!({})).unwrap().is_empty());
    }

    #[test]
    fn a_nullable_enum_accepts_null() {
        let status = json!({"$ref": "#/components/schemas/Status"});
        assert!(set().violations(&status, &json!(null)).unwrap().is_empty());
        assert!(!set().violations(&status, &json!("c")).unwrap().is_empty());
    }

    #[test]
    fn examples_are_data_and_are_not_translated() {
        let translated = translate(&json!({"type": "object", "example": {"nullable": true}}));
        assert_eq!(translated["example"], json!({"nullable": true}));
    }

    #[test]
    fn formats_are_checked() {
        let schema = json!({"type": "string", "format": "date-time"});
        assert!(
            set()
                .violations(&schema, &json!("2026-11-22T02:19:13.123Z"))
                .unwrap()
                .is_empty()
        );
        assert!(
            !set()
                .violations(&schema, &json!("yesterday"))
                .unwrap()
                .is_empty()
        );
    }
}
