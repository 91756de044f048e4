//! The SAM template's functions, roles and tables, and what their IAM statements allow.

use std::path::Path;

use serde_json::Value;

use crate::ContractError;

/// A SAM template, as JSON with short tags in long form.
#[derive(Debug, Clone)]
pub struct SamTemplate {
    document: Value,
}

/// One `AWS::Serverless::Function`.
#[derive(Debug, Clone)]
pub struct Function<'a> {
    pub logical_id: &'a str,
    /// `Metadata.BuildProperties.Binary`: the Cargo binary the function runs.
    pub binary: Option<&'a str>,
    /// `Timeout` in seconds, from the function or `Globals.Function`.
    pub timeout_seconds: Option<u64>,
    /// `AutoPublishAlias`, from the function or `Globals.Function`: the alias every deployment
    /// points at its new version. SAM names the alias resource `<logical id>Alias<alias>`.
    pub auto_publish_alias: Option<&'a str>,
    /// `Properties.Policies`, as written.
    pub policies: Option<&'a Value>,
    pub properties: &'a Value,
}

/// One IAM policy statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub effect: String,
    pub actions: Vec<String>,
    pub resources: Vec<Value>,
}

/// What a statement's `Resource` entry points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceTarget {
    /// `!GetAtt X.Arn`.
    Arn(String),
    /// `!Sub '${X.Arn}/index/NAME'`.
    Index { table: String, index: String },
    /// `!Ref X`: for a Secrets Manager secret, its ARN.
    Ref(String),
    /// Anything else, as text.
    Other(String),
}

impl SamTemplate {
    pub fn load(path: &Path) -> Result<Self, ContractError> {
        Ok(Self::from_value(crate::yaml::read_as_json(path)?))
    }

    pub fn from_value(document: Value) -> Self {
        Self { document }
    }

    pub fn document(&self) -> &Value {
        &self.document
    }

    /// Every resource, by logical id.
    pub fn resources(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.document
            .get("Resources")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(id, resource)| (id.as_str(), resource))
    }

    pub fn resource(&self, logical_id: &str) -> Option<&Value> {
        self.document.get("Resources")?.get(logical_id)
    }

    /// The `Type` of a resource.
    pub fn resource_type(&self, logical_id: &str) -> Option<&str> {
        self.resource(logical_id)?.get("Type")?.as_str()
    }

    /// The logical ids of every resource of this type.
    pub fn of_type<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.resources()
            .filter(move |(_, r)| r.get("Type").and_then(Value::as_str) == Some(kind))
            .map(|(id, _)| id)
    }

    /// Every `AWS::Serverless::Function`.
    pub fn functions(&self) -> Vec<Function<'_>> {
        let global_timeout = self
            .document
            .pointer("/Globals/Function/Timeout")
            .and_then(Value::as_u64);
        let global_alias = self
            .document
            .pointer("/Globals/Function/AutoPublishAlias")
            .and_then(Value::as_str);
        self.resources()
            .filter(|(_, r)| {
                r.get("Type").and_then(Value::as_str) == Some("AWS::Serverless::Function")
            })
            .map(|(logical_id, resource)| {
                let properties = resource.get("Properties").unwrap_or(&Value::Null);
                Function {
                    logical_id,
                    binary: resource
                        .pointer("/Metadata/BuildProperties/Binary")
                        .and_then(Value::as_str),
                    timeout_seconds: properties
                        .get("Timeout")
                        .and_then(Value::as_u64)
                        .or(global_timeout),
                    auto_publish_alias: properties
                        .get("AutoPublishAlias")
                        .and_then(Value::as_str)
                        .or(global_alias),
                    policies: properties.get("Policies"),
                    properties,
                }
            })
            .collect()
    }

    /// The function with this logical id.
    pub fn function(&self, logical_id: &str) -> Option<Function<'_>> {
        self.functions()
            .into_iter()
            .find(|f| f.logical_id == logical_id)
    }
}

impl Function<'_> {
    /// The logical id of the alias SAM generates for `AutoPublishAlias`, if the function has one.
    /// https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-specification-generated-resources-function.html
    pub fn alias_logical_id(&self) -> Option<String> {
        self.auto_publish_alias
            .map(|alias| format!("{}Alias{alias}", self.logical_id))
    }

    /// The statements of the function's inline policies. Anything else in `Policies` (a managed policy
    /// name or ARN, a SAM policy template) is an error: it cannot be checked here, and the point of
    /// writing statements is that they say exactly what the code does.
    pub fn statements(&self) -> Result<Vec<Statement>, ContractError> {
        let Some(policies) = self.policies else {
            return Ok(Vec::new());
        };
        let entries: Vec<&Value> = match policies {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        let mut statements = Vec::new();
        for entry in entries {
            let Some(list) = entry.get("Statement") else {
                return Err(ContractError::shape(format!(
                    "{}: policy {entry} is not an inline statement list",
                    self.logical_id
                )));
            };
            statements.extend(parse_statements(list)?);
        }
        Ok(statements)
    }
}

/// Parses a policy document's `Statement` (one statement or a list).
pub fn parse_statements(list: &Value) -> Result<Vec<Statement>, ContractError> {
    let items: Vec<&Value> = match list {
        Value::Array(items) => items.iter().collect(),
        one => vec![one],
    };
    items.into_iter().map(parse_statement).collect()
}

fn parse_statement(statement: &Value) -> Result<Statement, ContractError> {
    let effect = statement
        .get("Effect")
        .and_then(Value::as_str)
        .ok_or_else(|| ContractError::shape(format!("statement {statement} has no Effect")))?
        .to_owned();
    if statement.get("NotAction").is_some() || statement.get("NotResource").is_some() {
        return Err(ContractError::shape(format!(
            "statement {statement} uses NotAction or NotResource, which grant everything else"
        )));
    }
    let actions = match statement.get("Action") {
        Some(Value::String(action)) => vec![action.clone()],
        Some(Value::Array(actions)) => actions
            .iter()
            .map(|a| {
                a.as_str().map(str::to_owned).ok_or_else(|| {
                    ContractError::shape(format!("action {a} in {statement} is not text"))
                })
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(ContractError::shape(format!(
                "statement {statement} has no Action"
            )));
        }
    };
    let resources = match statement.get("Resource") {
        Some(Value::Array(resources)) => resources.clone(),
        Some(one) => vec![one.clone()],
        None => {
            return Err(ContractError::shape(format!(
                "statement {statement} has no Resource"
            )));
        }
    };
    Ok(Statement {
        effect,
        actions,
        resources,
    })
}

/// What a `Resource` entry names: a resource's ARN, a table index, or something else.
pub fn resource_target(resource: &Value) -> ResourceTarget {
    if let Some(get_att) = resource.get("Fn::GetAtt").and_then(Value::as_array)
        && let [Value::String(id), Value::String(attribute)] = get_att.as_slice()
        && attribute == "Arn"
    {
        return ResourceTarget::Arn(id.clone());
    }
    if let Some(id) = resource.get("Ref").and_then(Value::as_str)
        && resource.as_object().is_some_and(|map| map.len() == 1)
    {
        return ResourceTarget::Ref(id.to_owned());
    }
    if let Some(sub) = resource.get("Fn::Sub").and_then(Value::as_str)
        && let Some(rest) = sub.strip_prefix("${")
        && let Some((table, tail)) = rest.split_once(".Arn}")
        && let Some(index) = tail.strip_prefix("/index/")
    {
        return ResourceTarget::Index {
            table: table.to_owned(),
            index: index.to_owned(),
        };
    }
    ResourceTarget::Other(resource.to_string())
}

/// The `IndexName`s of a table's global and local secondary indexes.
pub fn table_indexes(table: &Value) -> Vec<String> {
    ["GlobalSecondaryIndexes", "LocalSecondaryIndexes"]
        .iter()
        .filter_map(|key| table.pointer(&format!("/Properties/{key}")))
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|index| index.get("IndexName").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn resource_entries_are_classified_by_what_they_point_at() {
        assert_eq!(
            resource_target(&json!({"Fn::GetAtt": ["UsersTable", "Arn"]})),
            ResourceTarget::Arn("UsersTable".into())
        );
        assert_eq!(
            resource_target(&json!({"Fn::Sub": "${OrdersTable.Arn}/index/byUser"})),
            ResourceTarget::Index {
                table: "OrdersTable".into(),
                index: "byUser".into()
            }
        );
        assert_eq!(
            resource_target(&json!({"Ref": "CursorKeySecret"})),
            ResourceTarget::Ref("CursorKeySecret".into())
        );
        assert!(matches!(
            resource_target(&json!("*")),
            ResourceTarget::Other(_)
        ));
        assert!(matches!(
            resource_target(&json!({"Fn::Sub": "${OrdersTable.Arn}/*"})),
            ResourceTarget::Other(_)
        ));
    }

    #[test]
    fn a_policy_template_or_managed_policy_is_refused() {
        let template = SamTemplate::from_value(json!({"Resources": {"F": {
            "Type": "AWS::Serverless::Function",
            "Properties": {"Policies": [{"DynamoDBCrudPolicy": {"TableName": "t"}}]}
        }}}));
        assert!(template.functions()[0].statements().is_err());
    }

    #[test]
    fn not_action_is_refused_because_it_grants_everything_else() {
        let list = json!([{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]);
        assert!(parse_statements(&list).is_err());
    }

    #[test]
    fn a_function_without_its_own_timeout_takes_the_global_one() {
        let template = SamTemplate::from_value(json!({
            "Globals": {"Function": {"Timeout": 7}},
            "Resources": {"F": {"Type": "AWS::Serverless::Function", "Properties": {}}}
        }));
        assert_eq!(template.functions()[0].timeout_seconds, Some(7));
    }
}
