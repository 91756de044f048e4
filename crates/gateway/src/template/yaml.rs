//! Reads CloudFormation YAML (or JSON) into a `serde_json::Value`, turning the short-form intrinsic
//! tags (`!Ref X`, `!Sub "..."`, `!GetAtt A.B` ...) into their long forms (`{"Ref": "X"}`,
//! `{"Fn::Sub": "..."}`, `{"Fn::GetAtt": ["A", "B"]}`).
//!
//! After this step the rest of the gateway sees one representation, exactly the one CloudFormation
//! itself documents for JSON templates, so the evaluator handles every intrinsic once.

use serde_json::{Map, Number, Value};
use serde_yaml_ng::Value as Yaml;

/// Why a YAML document could not be read as a template.
#[derive(Debug, thiserror::Error)]
pub enum YamlError {
    /// The text is not YAML.
    #[error("invalid YAML: {0}")]
    Syntax(#[from] serde_yaml_ng::Error),
    /// A `!Tag` that CloudFormation does not define.
    #[error("unknown tag `!{tag}` at {path}")]
    UnknownTag { tag: String, path: String },
    /// A number YAML accepts but JSON cannot hold (NaN, infinity).
    #[error("number {value} at {path} cannot be represented")]
    Number { value: String, path: String },
}

/// Parses `text` and converts it to JSON with long-form intrinsics.
pub fn parse(text: &str) -> Result<Value, YamlError> {
    let yaml: Yaml = serde_yaml_ng::from_str(text)?;
    let mut short_forms = 0;
    to_json(yaml, "$", &mut short_forms)
}

/// Like [`parse`], and also reports how many short-form tags the text used. `AWS::Include` does not
/// accept short forms in the included file, so the caller warns when this is not zero.
pub fn parse_counting_short_forms(text: &str) -> Result<(Value, usize), YamlError> {
    let yaml: Yaml = serde_yaml_ng::from_str(text)?;
    let mut short_forms = 0;
    let json = to_json(yaml, "$", &mut short_forms)?;
    Ok((json, short_forms))
}

fn to_json(yaml: Yaml, path: &str, short_forms: &mut usize) -> Result<Value, YamlError> {
    Ok(match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => number(&n, path)?,
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| to_json(item, &format!("{path}[{i}]"), short_forms))
                .collect::<Result<_, _>>()?,
        ),
        Yaml::Mapping(mapping) => {
            let mut object = Map::new();
            for (key, value) in mapping {
                let key = scalar_key(key);
                let child = format!("{path}.{key}");
                object.insert(key, to_json(value, &child, short_forms)?);
            }
            Value::Object(object)
        }
        Yaml::Tagged(tagged) => {
            *short_forms += 1;
            let tag = tagged.tag.to_string();
            let tag = tag.trim_start_matches('!').to_owned();
            let inner = to_json(tagged.value, path, short_forms)?;
            long_form(&tag, inner).ok_or_else(|| YamlError::UnknownTag {
                tag,
                path: path.to_owned(),
            })?
        }
    })
}

/// Maps a short-form tag to its long form, or `None` when the tag is not an intrinsic.
fn long_form(tag: &str, inner: Value) -> Option<Value> {
    let key = match tag {
        "Ref" => "Ref",
        "Condition" => "Condition",
        "GetAtt" => {
            // `!GetAtt Resource.Attribute` splits at the first dot; attributes may contain dots
            // (`Endpoint.Address`).
            let inner = match inner {
                Value::String(s) => match s.split_once('.') {
                    Some((resource, attribute)) => {
                        Value::Array(vec![resource.into(), attribute.into()])
                    }
                    None => Value::String(s),
                },
                other => other,
            };
            return Some(single("Fn::GetAtt", inner));
        }
        "Sub" | "Join" | "Select" | "Split" | "If" | "Equals" | "Not" | "And" | "Or"
        | "FindInMap" | "Base64" | "GetAZs" | "ImportValue" | "Cidr" | "Transform" | "Length"
        | "ToJsonString" => {
            return Some(single(&format!("Fn::{tag}"), inner));
        }
        _ => return None,
    };
    Some(single(key, inner))
}

fn single(key: &str, value: Value) -> Value {
    let mut object = Map::new();
    object.insert(key.to_owned(), value);
    Value::Object(object)
}

fn number(n: &serde_yaml_ng::Number, path: &str) -> Result<Value, YamlError> {
    if let Some(i) = n.as_i64() {
        return Ok(Value::Number(i.into()));
    }
    if let Some(u) = n.as_u64() {
        return Ok(Value::Number(u.into()));
    }
    n.as_f64()
        .and_then(Number::from_f64)
        .map(Value::Number)
        .ok_or_else(|| YamlError::Number {
            value: n.to_string(),
            path: path.to_owned(),
        })
}

/// Mapping keys are strings in CloudFormation; YAML lets `200:` or `true:` through as other
/// scalars, which OpenAPI response maps do use (`responses: {200: ...}`).
fn scalar_key(key: Yaml) -> String {
    match key {
        Yaml::String(s) => s,
        Yaml::Number(n) => n.to_string(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Null => "null".to_owned(),
        other => serde_yaml_ng::to_string(&other)
            .map(|s| s.trim().to_owned())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_form_tags_become_long_form_intrinsics() {
        let text = r#"
a: !Ref StageName
b: !Sub "arn:${AWS::Region}"
c: !GetAtt UsersFunction.Arn
d: !Join [",", [x, !Ref Y]]
e: !If [IsProd, 1, 2]
f: !Select [0, !GetAZs ""]
g: !GetAtt Db.Endpoint.Address
"#;
        let (value, short_forms) = parse_counting_short_forms(text).unwrap();
        assert_eq!(
            value,
            json!({
                "a": {"Ref": "StageName"},
                "b": {"Fn::Sub": "arn:${AWS::Region}"},
                "c": {"Fn::GetAtt": ["UsersFunction", "Arn"]},
                "d": {"Fn::Join": [",", ["x", {"Ref": "Y"}]]},
                "e": {"Fn::If": ["IsProd", 1, 2]},
                "f": {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
                "g": {"Fn::GetAtt": ["Db", "Endpoint.Address"]},
            })
        );
        assert_eq!(short_forms, 9);
    }

    #[test]
    fn long_forms_pass_through_unchanged() {
        let text = "uri:\n  Fn::Sub: arn:aws:apigateway:${AWS::Region}\n";
        let (value, short_forms) = parse_counting_short_forms(text).unwrap();
        assert_eq!(
            value,
            json!({"uri": {"Fn::Sub": "arn:aws:apigateway:${AWS::Region}"}})
        );
        assert_eq!(short_forms, 0);
    }

    #[test]
    fn numeric_mapping_keys_become_strings() {
        let value = parse("responses:\n  200:\n    description: ok\n").unwrap();
        assert_eq!(value, json!({"responses": {"200": {"description": "ok"}}}));
    }

    #[test]
    fn an_unknown_tag_is_an_error_naming_the_tag() {
        let err = parse("a: !Bogus x\n").unwrap_err();
        assert!(err.to_string().contains("!Bogus"), "{err}");
    }
}
