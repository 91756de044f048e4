//! The consumer-facing API definition: the same routes, schemas and examples, without how they are
//! wired inside AWS.
//!
//! `openapi/api.yaml` carries `x-amazon-apigateway-*` extensions whose values hold CloudFormation
//! functions (`Fn::Sub` of function ARNs, the invoke role). Those mean nothing to a client, leak the
//! stack's internals, and confuse code generators. The public copy drops every `x-amazon-*` key at any
//! depth, refuses to emit anything if a CloudFormation function is left after that, and points
//! `servers` at the deployed stage.

use serde_yaml_ng::{Mapping, Value};

use crate::ContractError;

/// Where the public definition says the API is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Server {
    /// A known base URL, stage included (`https://abc.execute-api.us-east-1.amazonaws.com/dev`).
    Url(String),
    /// The execute-api URL pattern with `apiId`, `region` and `stage` variables, for a definition
    /// published before (or apart from) a deployment.
    Template { stage: String, region: String },
}

/// The public definition made from the private one.
pub fn public_definition(private: &Value, server: &Server) -> Result<Value, ContractError> {
    let Value::Mapping(root) = strip_aws(private) else {
        return Err(ContractError::shape("the API definition is not a mapping"));
    };
    if let Some(path) = find_cloudformation(&Value::Mapping(root.clone()), "#") {
        return Err(ContractError::shape(format!(
            "a CloudFormation function is left at {path} after removing the x-amazon-* extensions"
        )));
    }
    let mut out = Mapping::with_capacity(root.len() + 1);
    for (key, value) in root {
        if key.as_str() == Some("servers") {
            continue;
        }
        let after_info = key.as_str() == Some("info");
        out.insert(key, value);
        if after_info {
            out.insert(Value::from("servers"), servers(server));
        }
    }
    if !out.contains_key("servers") {
        out.insert(Value::from("servers"), servers(server));
    }
    Ok(Value::Mapping(out))
}

fn servers(server: &Server) -> Value {
    let mut entry = Mapping::new();
    match server {
        Server::Url(url) => {
            entry.insert("url".into(), url.trim_end_matches('/').into());
            entry.insert("description".into(), "The deployed stage.".into());
        }
        Server::Template { stage, region } => {
            entry.insert(
                "url".into(),
                "https://{apiId}.execute-api.{region}.amazonaws.com/{stage}".into(),
            );
            entry.insert(
                "description".into(),
                "A deployed stage; `apiId` is the ApiId output of the stack.".into(),
            );
            let mut variables = Mapping::new();
            for (name, default, description) in [
                (
                    "apiId",
                    "abcdef1234",
                    "The REST API id (stack output ApiId).",
                ),
                ("region", region.as_str(), "The AWS Region of the stack."),
                ("stage", stage.as_str(), "The stage name."),
            ] {
                let mut variable = Mapping::new();
                variable.insert("default".into(), default.into());
                variable.insert("description".into(), description.into());
                variables.insert(name.into(), Value::Mapping(variable));
            }
            entry.insert("variables".into(), Value::Mapping(variables));
        }
    }
    Value::Sequence(vec![Value::Mapping(entry)])
}

/// The value without any `x-amazon-*` key, at any depth.
pub fn strip_aws(value: &Value) -> Value {
    match value {
        Value::Mapping(map) => Value::Mapping(
            map.iter()
                .filter(|(key, _)| !key.as_str().is_some_and(|k| k.starts_with("x-amazon-")))
                .map(|(key, value)| (key.clone(), strip_aws(value)))
                .collect(),
        ),
        Value::Sequence(items) => Value::Sequence(items.iter().map(strip_aws).collect()),
        other => other.clone(),
    }
}

/// Where the first CloudFormation function (`Fn::*`, `Ref`, or a `!Tag`) sits, if any.
fn find_cloudformation(value: &Value, at: &str) -> Option<String> {
    match value {
        Value::Tagged(tagged) => Some(format!("{at} ({})", tagged.tag)),
        Value::Mapping(map) => map.iter().find_map(|(key, value)| {
            let name = key.as_str().unwrap_or_default();
            if map.len() == 1 && (name.starts_with("Fn::") || name == "Ref") {
                return Some(format!("{at}/{name}"));
            }
            find_cloudformation(value, &format!("{at}/{}", name.replace('/', "~1")))
        }),
        Value::Sequence(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| find_cloudformation(item, &format!("{at}/{i}"))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        serde_yaml_ng::from_str(text).unwrap()
    }

    #[test]
    fn aws_extensions_are_dropped_at_every_depth_and_servers_follow_info() {
        let private = yaml(
            "openapi: 3.0.3\ninfo: {title: t, version: '1'}\nx-amazon-apigateway-gateway-responses: {}\npaths:\n  /a:\n    get:\n      x-amazon-apigateway-integration: {uri: {Fn::Sub: x}}\n      responses: {'200': {description: ok}}\n",
        );
        let public = public_definition(
            &private,
            &Server::Url("https://api.example.com/dev/".into()),
        )
        .unwrap();
        let text = serde_yaml_ng::to_string(&public).unwrap();
        assert!(!text.contains("x-amazon"), "{text}");
        assert!(!text.contains("Fn::"), "{text}");
        let keys: Vec<&str> = public
            .as_mapping()
            .unwrap()
            .keys()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(keys, vec!["openapi", "info", "servers", "paths"]);
        assert_eq!(
            public["servers"][0]["url"].as_str(),
            Some("https://api.example.com/dev")
        );
    }

    #[test]
    fn a_cloudformation_function_outside_the_extensions_stops_the_export() {
        let private = yaml(
            "openapi: 3.0.3\ninfo: {title: t, version: '1', description: {Fn::Sub: x}}\npaths: {}\n",
        );
        let err = public_definition(
            &private,
            &Server::Template {
                stage: "dev".into(),
                region: "us-east-1".into(),
            },
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("#/info/description/Fn::Sub"),
            "{err}"
        );
    }

    #[test]
    fn without_a_url_the_server_is_the_execute_api_pattern() {
        let private = yaml("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n");
        let public = public_definition(
            &private,
            &Server::Template {
                stage: "prod".into(),
                region: "eu-west-1".into(),
            },
        )
        .unwrap();
        let server = &public["servers"][0];
        assert_eq!(
            server["url"].as_str(),
            Some("https://{apiId}.execute-api.{region}.amazonaws.com/{stage}")
        );
        assert_eq!(
            server["variables"]["stage"]["default"].as_str(),
            Some("prod")
        );
        assert_eq!(
            server["variables"]["region"]["default"].as_str(),
            Some("eu-west-1")
        );
    }
}
