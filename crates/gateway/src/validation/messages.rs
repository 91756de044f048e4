//! Body validation problems worded the way API Gateway words them.
//!
//! API Gateway validates models with the Java `json-schema-validator` library (draft 4) and exposes
//! its reports in `$context.error.validationErrorString` and the execution log, e.g.
//! `[object has missing required properties (["body","subject","to"])]`. The common reports are
//! reproduced here from that library's message catalogue so that templates and logs read the same
//! locally; anything rarer falls back to the Rust validator's own description. Missing required
//! properties and unexpected properties of one object are reported together, as that library does.

use jsonschema::ValidationError;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

/// Describes every problem of one validation run, in report order.
pub(crate) fn describe_all(errors: Vec<ValidationError<'_>>) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut missing: Vec<(String, Vec<String>, usize)> = Vec::new();
    for error in errors {
        if let ValidationErrorKind::Required { property } = error.kind() {
            let path = error.instance_path().as_str().to_owned();
            let name = property
                .as_str()
                .map_or_else(|| property.to_string(), str::to_owned);
            if let Some((_, names, _)) = missing.iter_mut().find(|(p, _, _)| *p == path) {
                names.push(name);
            } else {
                missing.push((path, vec![name], lines.len()));
                lines.push(String::new());
            }
            continue;
        }
        lines.push(describe(&error));
    }
    for (_, mut names, index) in missing {
        names.sort();
        names.dedup();
        lines[index] = format!(
            "object has missing required properties ({})",
            json_list(names.iter().map(String::as_str))
        );
    }
    lines
}

fn describe(error: &ValidationError<'_>) -> String {
    let instance = error.instance();
    let kind = error.kind();
    describe_value(kind, instance)
        .or_else(|| describe_size(kind, instance))
        .or_else(|| describe_composition(kind))
        .unwrap_or_else(|| error.to_string())
}

/// The instance's type, its properties, or its value is not one the schema allows.
fn describe_value(kind: &ValidationErrorKind, instance: &Value) -> Option<String> {
    let description = match kind {
        ValidationErrorKind::Type { kind } => {
            let allowed: Vec<&str> = match kind {
                TypeKind::Single(single) => vec![single.as_str()],
                TypeKind::Multiple(set) => set.iter().map(|t| t.as_str()).collect(),
            };
            format!(
                "instance type ({}) does not match any allowed primitive type (allowed: {})",
                type_name(instance),
                json_list(allowed.into_iter())
            )
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let mut names: Vec<&str> = unexpected.iter().map(String::as_str).collect();
            names.sort_unstable();
            format!(
                "object instance has properties which are not allowed by the schema: {}",
                json_list(names.into_iter())
            )
        }
        ValidationErrorKind::Enum { options } => {
            format!("instance value ({instance}) not found in enum (possible values: {options})")
        }
        ValidationErrorKind::Pattern { pattern } => {
            format!("ECMA 262 regex \"{pattern}\" does not match input string {instance}")
        }
        ValidationErrorKind::UniqueItems => "array must not contain duplicate elements".to_owned(),
        ValidationErrorKind::Format { format } => match format.as_str() {
            "email" => format!("string {instance} is not a valid email address"),
            "date-time" => format!(
                "string {instance} is invalid against requested date format(s) \
                 [yyyy-MM-dd'T'HH:mm:ssZ, yyyy-MM-dd'T'HH:mm:ss.[0-9]{{1,12}}Z]"
            ),
            "ipv4" => format!("string {instance} is not a valid IPv4 address"),
            "ipv6" => format!("string {instance} is not a valid IPv6 address"),
            "uri" => format!("string {instance} is not a valid URI"),
            "hostname" => format!("string {instance} is not a valid hostname"),
            other => format!("string {instance} is not a valid {other}"),
        },
        _ => return None,
    };
    Some(description)
}

/// The instance is too small or too large: a string's length, a number, an array's or an
/// object's size.
fn describe_size(kind: &ValidationErrorKind, instance: &Value) -> Option<String> {
    let description = match kind {
        ValidationErrorKind::MinLength { limit } => format!(
            "string {instance} is too short (length: {}, required minimum: {limit})",
            char_count(instance)
        ),
        ValidationErrorKind::MaxLength { limit } => format!(
            "string {instance} is too long (length: {}, maximum allowed: {limit})",
            char_count(instance)
        ),
        ValidationErrorKind::Minimum { limit } => format!(
            "numeric instance is lower than the required minimum (minimum: {limit}, found: \
             {instance})"
        ),
        ValidationErrorKind::ExclusiveMinimum { limit } => {
            format!("numeric instance is not strictly greater than the required minimum {limit}")
        }
        ValidationErrorKind::Maximum { limit } => format!(
            "numeric instance is greater than the required maximum (maximum: {limit}, found: \
             {instance})"
        ),
        ValidationErrorKind::ExclusiveMaximum { limit } => {
            format!("numeric instance is not strictly lower than the required maximum {limit}")
        }
        ValidationErrorKind::MultipleOf { multiple_of } => {
            format!("remainder of division is not zero ({instance} / {multiple_of})")
        }
        ValidationErrorKind::MinItems { limit } => format!(
            "array is too short: must have at least {limit} elements but instance has {} \
             elements",
            array_len(instance)
        ),
        ValidationErrorKind::MaxItems { limit } => format!(
            "array is too long: must have at most {limit} elements but instance has {} elements",
            array_len(instance)
        ),
        ValidationErrorKind::MinProperties { limit } => format!(
            "object has too few properties (found {} but schema requires at least {limit})",
            object_len(instance)
        ),
        ValidationErrorKind::MaxProperties { limit } => format!(
            "object has too many properties (found {} but schema requires at most {limit})",
            object_len(instance)
        ),
        _ => return None,
    };
    Some(description)
}

/// The instance does not match the schemas `anyOf`, `oneOf` or `not` combine.
fn describe_composition(kind: &ValidationErrorKind) -> Option<String> {
    let description = match kind {
        ValidationErrorKind::AnyOf { context } => format!(
            "instance failed to match at least one required schema among {}",
            context.len()
        ),
        ValidationErrorKind::OneOfNotValid { context } => format!(
            "instance failed to match exactly one schema (matched 0 out of {})",
            context.len()
        ),
        ValidationErrorKind::OneOfMultipleValid { context } => format!(
            "instance failed to match exactly one schema (matched {} out of {})",
            context
                .iter()
                .filter(|errors| errors.is_empty())
                .count()
                .max(2),
            context.len()
        ),
        ValidationErrorKind::Not { .. } => {
            "instance matched a schema which it should not have".to_owned()
        }
        _ => return None,
    };
    Some(description)
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(number) if number.is_i64() || number.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn json_list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = items.map(|item| Value::from(item).to_string()).collect();
    format!("[{}]", quoted.join(","))
}

fn char_count(value: &Value) -> usize {
    value.as_str().map_or(0, |text| text.chars().count())
}

fn array_len(value: &Value) -> usize {
    value.as_array().map_or(0, Vec::len)
}

fn object_len(value: &Value) -> usize {
    value.as_object().map_or(0, serde_json::Map::len)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn problems(schema: Value, instance: Value) -> Vec<String> {
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .should_validate_formats(true)
            .build(&schema)
            .expect("a valid schema");
        describe_all(validator.iter_errors(&instance).collect())
    }

    #[test]
    fn missing_properties_of_one_object_are_reported_together_and_sorted() {
        let schema = json!({"type": "object", "required": ["to", "body", "subject"]});
        assert_eq!(
            problems(schema, json!({})),
            vec![r#"object has missing required properties (["body","subject","to"])"#]
        );
    }

    #[test]
    fn type_and_additional_property_problems_use_the_library_wording() {
        let schema = json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {"quantity": {"type": "integer"}}
        });
        let mut found = problems(schema, json!({"quantity": "2", "zeta": 1, "alpha": 2}));
        found.sort();
        assert_eq!(
            found,
            vec![
                r#"instance type (string) does not match any allowed primitive type (allowed: ["integer"])"#,
                r#"object instance has properties which are not allowed by the schema: ["alpha","zeta"]"#,
            ]
        );
    }

    #[test]
    fn bounds_and_patterns_quote_the_offending_value() {
        let schema = json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "minLength": 3},
                "sku": {"type": "string", "pattern": "^[A-Z]+$"},
                "quantity": {"type": "integer", "maximum": 10}
            }
        });
        let mut found = problems(schema, json!({"name": "ab", "sku": "x1", "quantity": 11}));
        found.sort();
        assert_eq!(
            found,
            vec![
                r#"ECMA 262 regex "^[A-Z]+$" does not match input string "x1""#,
                "numeric instance is greater than the required maximum (maximum: 10, found: 11)",
                r#"string "ab" is too short (length: 2, required minimum: 3)"#,
            ]
        );
    }
}
