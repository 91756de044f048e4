//! Turning an OpenAPI 3.0 schema into the JSON Schema draft 4 model API Gateway validates with.
//!
//! API Gateway models are JSON Schema draft 4, and an imported OpenAPI schema is used as draft 4
//! as it stands: `$ref`s to `#/components/schemas/X` point at other models, OpenAPI-only keywords
//! mean nothing. To get the same behaviour locally, each request body schema becomes the root of a
//! draft 4 document that also carries the definition's `components` (so `#/components/schemas/…`
//! references resolve unchanged), with the OpenAPI-only keywords dropped: `example`, `x-*`
//! extensions, `discriminator`, `readOnly`, `writeOnly`, `xml`, `externalDocs`, `deprecated`.
//!
//! `nullable: true` is the one keyword that changes what is valid. API Gateway ignores it on
//! import (a `nullable` string still rejects `null` in AWS), so by default it is dropped here too;
//! [`NullableKeyword::AllowNull`] translates it into draft 4 (`"type": [T, "null"]`, and `null`
//! added to an `enum`) for teams that want the OpenAPI meaning locally and accept the difference.
//!
//! Formats are checked as draft 4 defines them (`date-time`, `email`, `hostname`, `ipv4`, `ipv6`,
//! `uri`, plus `date`, `time` and `regex`); OpenAPI's own formats (`int32`, `int64`, `float`,
//! `double`, `byte`, `binary`, `password`) and others such as `uuid` are unknown to draft 4 and
//! ignored, as in API Gateway.

use serde_json::{Map, Value};

use super::failures::SpecError;

/// How `nullable: true` is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NullableKeyword {
    /// Ignore it, as API Gateway does (`null` is only valid where the draft 4 schema allows it).
    #[default]
    IgnoreLikeApiGateway,
    /// Translate it to draft 4, so `null` is valid wherever OpenAPI says it is.
    AllowNull,
}

/// Keywords that only OpenAPI understands, dropped from schema objects.
const OPENAPI_ONLY: [&str; 7] = [
    "example",
    "discriminator",
    "readOnly",
    "writeOnly",
    "xml",
    "externalDocs",
    "deprecated",
];

/// Keywords whose value is one schema.
const SCHEMA_VALUED: [&str; 3] = ["not", "additionalProperties", "additionalItems"];
/// Keywords whose value is a list of schemas.
const SCHEMA_LISTS: [&str; 3] = ["allOf", "anyOf", "oneOf"];
/// Keywords whose value maps names to schemas.
const SCHEMA_MAPS: [&str; 3] = ["properties", "patternProperties", "definitions"];

/// Converts one OpenAPI schema (or a map of them, via the callers) into draft 4, recursively.
pub(crate) fn to_draft4(schema: &Value, nullable: NullableKeyword) -> Value {
    let Value::Object(object) = schema else {
        return schema.clone();
    };
    let mut out = Map::with_capacity(object.len());
    for (key, value) in object {
        if key.starts_with("x-") || OPENAPI_ONLY.contains(&key.as_str()) || key == "nullable" {
            continue;
        }
        let converted = if SCHEMA_VALUED.contains(&key.as_str()) {
            to_draft4(value, nullable)
        } else if SCHEMA_LISTS.contains(&key.as_str()) {
            match value {
                Value::Array(items) => {
                    Value::Array(items.iter().map(|item| to_draft4(item, nullable)).collect())
                }
                other => other.clone(),
            }
        } else if SCHEMA_MAPS.contains(&key.as_str()) {
            match value {
                Value::Object(map) => Value::Object(
                    map.iter()
                        .map(|(name, item)| (name.clone(), to_draft4(item, nullable)))
                        .collect(),
                ),
                other => other.clone(),
            }
        } else if key == "items" {
            match value {
                Value::Array(items) => {
                    Value::Array(items.iter().map(|item| to_draft4(item, nullable)).collect())
                }
                other => to_draft4(other, nullable),
            }
        } else {
            value.clone()
        };
        out.insert(key.clone(), converted);
    }
    let is_nullable = object.get("nullable") == Some(&Value::Bool(true));
    if nullable == NullableKeyword::AllowNull && is_nullable && !object.contains_key("$ref") {
        allow_null(&mut out);
    }
    Value::Object(out)
}

fn allow_null(schema: &mut Map<String, Value>) {
    match schema.get_mut("type") {
        Some(Value::String(single)) if single != "null" => {
            let single = single.clone();
            schema.insert(
                "type".to_owned(),
                Value::Array(vec![
                    Value::String(single),
                    Value::String("null".to_owned()),
                ]),
            );
        }
        Some(Value::Array(types)) if !types.contains(&Value::from("null")) => {
            types.push(Value::from("null"));
        }
        _ => {}
    }
    if let Some(Value::Array(options)) = schema.get_mut("enum")
        && !options.contains(&Value::Null)
    {
        options.push(Value::Null);
    }
}

/// A compiled request body model.
#[derive(Debug)]
pub(crate) struct BodySchema {
    pub(crate) validator: jsonschema::Validator,
}

/// Compiles `schema` (found at `location`) as the root of a draft 4 document that also holds the
/// definition's converted `components`.
pub(crate) fn compile(
    spec: &Value,
    schema: &Value,
    location: &str,
    nullable: NullableKeyword,
) -> Result<BodySchema, SpecError> {
    let mut root = match to_draft4(schema, nullable) {
        Value::Object(map) => map,
        Value::Bool(_) | Value::Null | Value::Number(_) | Value::String(_) | Value::Array(_) => {
            return Err(SpecError::InvalidSchema {
                location: location.to_owned(),
                problem: "a schema must be an object".to_owned(),
            });
        }
    };
    if root.contains_key("components") {
        return Err(SpecError::InvalidSchema {
            location: location.to_owned(),
            problem: "a request schema may not define a `components` keyword".to_owned(),
        });
    }
    if let Some(Value::Object(schemas)) = spec.pointer("/components/schemas") {
        let converted: Map<String, Value> = schemas
            .iter()
            .map(|(name, item)| (name.clone(), to_draft4(item, nullable)))
            .collect();
        root.insert(
            "components".to_owned(),
            serde_json::json!({ "schemas": converted }),
        );
    }
    root.insert(
        "$schema".to_owned(),
        Value::from("http://json-schema.org/draft-04/schema#"),
    );
    let document = Value::Object(root);
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&document)
        .map_err(|error| SpecError::InvalidSchema {
            location: location.to_owned(),
            problem: error.to_string(),
        })?;
    Ok(BodySchema { validator })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn openapi_only_keywords_are_dropped_but_properties_named_like_them_are_kept() {
        let schema = json!({
            "type": "object",
            "example": {"x-note": 1},
            "x-amazon-apigateway-thing": true,
            "properties": {
                "x-note": {"type": "string", "readOnly": true, "example": "a"},
                "example": {"type": "integer"}
            }
        });
        assert_eq!(
            to_draft4(&schema, NullableKeyword::IgnoreLikeApiGateway),
            json!({
                "type": "object",
                "properties": {
                    "x-note": {"type": "string"},
                    "example": {"type": "integer"}
                }
            })
        );
    }

    #[test]
    fn nullable_is_ignored_like_api_gateway_by_default() {
        let schema = json!({"type": "string", "nullable": true});
        assert_eq!(
            to_draft4(&schema, NullableKeyword::IgnoreLikeApiGateway),
            json!({"type": "string"})
        );
    }

    #[test]
    fn nullable_can_be_translated_into_a_null_type_and_enum_member() {
        let schema = json!({
            "type": "object",
            "properties": {
                "status": {"type": "string", "enum": ["a", "b"], "nullable": true},
                "items": {"type": "array", "items": {"type": "integer", "nullable": true}}
            }
        });
        assert_eq!(
            to_draft4(&schema, NullableKeyword::AllowNull),
            json!({
                "type": "object",
                "properties": {
                    "status": {"type": ["string", "null"], "enum": ["a", "b", null]},
                    "items": {"type": "array", "items": {"type": ["integer", "null"]}}
                }
            })
        );
    }
}
