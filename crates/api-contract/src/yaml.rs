//! YAML in, JSON values out, with CloudFormation's short-form tags spelled out.
//!
//! A SAM template writes `!GetAtt UsersTable.Arn` where the API definition (brought in with
//! `AWS::Include`, which cannot use tags) writes `Fn::GetAtt: [UsersTable, Arn]`. Converting every tag to
//! its long form here means the rest of the crate only ever sees the long form, whichever file it reads.

use std::path::Path;

use serde_json::{Map, Value};
use serde_yaml_ng::Value as Yaml;

use crate::ContractError;

/// Reads a YAML file as it is, tags and key order kept.
pub fn read_yaml(path: &Path) -> Result<Yaml, ContractError> {
    let text = std::fs::read_to_string(path).map_err(|source| ContractError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    serde_yaml_ng::from_str(&text).map_err(|source| ContractError::Yaml {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads a YAML file as JSON, with CloudFormation short tags in long form.
pub fn read_as_json(path: &Path) -> Result<Value, ContractError> {
    to_json(read_yaml(path)?)
}

/// Converts a YAML value to JSON. Mapping keys that are numbers or booleans (`200:` unquoted) become
/// their text; a key that is a sequence or a mapping is an error.
pub fn to_json(value: Yaml) -> Result<Value, ContractError> {
    Ok(match value {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => number(&n)?,
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => {
            Value::Array(items.into_iter().map(to_json).collect::<Result<_, _>>()?)
        }
        Yaml::Mapping(mapping) => {
            let mut map = Map::with_capacity(mapping.len());
            for (key, value) in mapping {
                map.insert(key_text(key)?, to_json(value)?);
            }
            Value::Object(map)
        }
        Yaml::Tagged(tagged) => {
            let name = tagged.tag.to_string();
            let name = name.trim_start_matches('!');
            long_form(name, to_json(tagged.value)?)
        }
    })
}

/// `!Ref x` → `{"Ref": x}`, `!GetAtt A.B` → `{"Fn::GetAtt": ["A", "B"]}`, `!Condition c` →
/// `{"Condition": c}`, any other `!Name x` → `{"Fn::Name": x}`.
fn long_form(name: &str, value: Value) -> Value {
    let (key, value) = match name {
        "Ref" | "Condition" => (name.to_owned(), value),
        "GetAtt" => {
            let value = match value {
                Value::String(text) => match text.split_once('.') {
                    Some((resource, attribute)) => Value::Array(vec![
                        Value::String(resource.to_owned()),
                        Value::String(attribute.to_owned()),
                    ]),
                    None => Value::String(text),
                },
                other => other,
            };
            ("Fn::GetAtt".to_owned(), value)
        }
        other => (format!("Fn::{other}"), value),
    };
    let mut map = Map::with_capacity(1);
    map.insert(key, value);
    Value::Object(map)
}

fn number(n: &serde_yaml_ng::Number) -> Result<Value, ContractError> {
    if let Some(i) = n.as_i64() {
        return Ok(Value::from(i));
    }
    if let Some(u) = n.as_u64() {
        return Ok(Value::from(u));
    }
    n.as_f64()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .ok_or_else(|| ContractError::shape(format!("{n} is not a finite number")))
}

fn key_text(key: Yaml) -> Result<String, ContractError> {
    match key {
        Yaml::String(s) => Ok(s),
        Yaml::Number(n) => Ok(n.to_string()),
        Yaml::Bool(b) => Ok(b.to_string()),
        Yaml::Null => Ok("null".to_owned()),
        other => Err(ContractError::shape(format!(
            "a mapping key must be a scalar, found {other:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(text: &str) -> Value {
        to_json(serde_yaml_ng::from_str(text).unwrap()).unwrap()
    }

    #[test]
    fn short_tags_become_the_long_form_that_an_included_file_uses() {
        let value = parse(
            "a: !Ref Stage\nb: !Sub 'x-${Stage}'\nc: !GetAtt Table.Arn\nd: !GetAtt [Table, StreamArn]\ne: !If [c, 1, 2]\n",
        );
        assert_eq!(
            value,
            json!({
                "a": {"Ref": "Stage"},
                "b": {"Fn::Sub": "x-${Stage}"},
                "c": {"Fn::GetAtt": ["Table", "Arn"]},
                "d": {"Fn::GetAtt": ["Table", "StreamArn"]},
                "e": {"Fn::If": ["c", 1, 2]},
            })
        );
    }

    #[test]
    fn unquoted_status_code_keys_are_read_as_text() {
        assert_eq!(
            parse("200: ok\ntrue: yes\n"),
            json!({"200": "ok", "true": "yes"})
        );
    }

    #[test]
    fn a_mapping_used_as_a_key_is_an_error() {
        let yaml: Yaml = serde_yaml_ng::from_str("? {a: 1}\n: x\n").unwrap();
        assert!(to_json(yaml).is_err());
    }
}
