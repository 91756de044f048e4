//! Evaluates CloudFormation intrinsic functions the way a deployment would, with local stand-ins for
//! what only exists in AWS.
//!
//! A deployed stack knows its Region, its account, the generated name of every resource and the
//! value of every SSM parameter. Locally we know less, so every evaluation ends in one of three
//! ways: a value (parameter defaults and overrides, `Ref` of a resource = its logical id or its
//! explicit name, `Fn::GetAtt X.Arn` = an ARN built from the Region and a placeholder account),
//! [`EvalError::Unresolved`] for things that cannot be known offline (`{{resolve:...}}` dynamic
//! references, `Fn::ImportValue`, parameters without a default), or [`EvalError::Invalid`] for a
//! malformed template. Callers decide per field whether an unresolved value is fatal (an
//! integration URI) or only worth a warning (one environment variable).

use std::cell::RefCell;
use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{Map, Value};

/// The account id that stands in for the real one in ARNs built locally.
pub const LOCAL_ACCOUNT_ID: &str = "123456789012";

/// Why an expression has no local value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// `Ref: AWS::NoValue`: the enclosing property or list item disappears.
    #[error("AWS::NoValue")]
    NoValue,
    /// The value exists only in a deployed stack or in AWS.
    #[error("cannot be resolved locally: {0}")]
    Unresolved(String),
    /// The expression is malformed.
    #[error("invalid intrinsic function: {0}")]
    Invalid(String),
}

/// The stack-wide values intrinsics refer to (`AWS::Region`, `AWS::AccountId`, ...).
#[derive(Debug, Clone)]
pub struct PseudoParameters {
    /// `AWS::Region`.
    pub region: String,
    /// `AWS::AccountId`.
    pub account_id: String,
    /// `AWS::StackName`.
    pub stack_name: String,
}

impl Default for PseudoParameters {
    fn default() -> Self {
        Self {
            region: "us-east-1".to_owned(),
            account_id: LOCAL_ACCOUNT_ID.to_owned(),
            stack_name: "rill-local".to_owned(),
        }
    }
}

/// Evaluates intrinsic functions against one template.
#[derive(Debug)]
pub struct Evaluator<'t> {
    parameters: BTreeMap<String, Result<Value, EvalError>>,
    resources: &'t Map<String, Value>,
    mappings: &'t Map<String, Value>,
    conditions: &'t Map<String, Value>,
    /// `Globals.Function.AutoPublishAlias`, which every SAM function without its own inherits.
    global_alias: Option<&'t Value>,
    pseudo: PseudoParameters,
    /// Conditions being evaluated, to reject cycles instead of overflowing the stack.
    evaluating: RefCell<Vec<String>>,
}

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

impl<'t> Evaluator<'t> {
    /// Builds an evaluator for `template`, with parameter values taken from `overrides` first and
    /// the parameters' `Default` second.
    pub fn new(
        template: &'t Value,
        overrides: &BTreeMap<String, String>,
        pseudo: PseudoParameters,
    ) -> Self {
        let section = |name: &str| {
            template
                .get(name)
                .and_then(Value::as_object)
                .unwrap_or(&EMPTY)
        };
        let mut parameters = BTreeMap::new();
        for (name, declaration) in section("Parameters") {
            parameters.insert(
                name.clone(),
                parameter_value(name, declaration, overrides.get(name)),
            );
        }
        Self {
            parameters,
            resources: section("Resources"),
            mappings: section("Mappings"),
            conditions: section("Conditions"),
            global_alias: template.pointer("/Globals/Function/AutoPublishAlias"),
            pseudo,
            evaluating: RefCell::new(Vec::new()),
        }
    }

    /// The pseudo parameters in use.
    pub fn pseudo(&self) -> &PseudoParameters {
        &self.pseudo
    }

    /// The template's resources.
    pub fn resources(&self) -> &'t Map<String, Value> {
        self.resources
    }

    /// The type of a resource (`AWS::Serverless::Function`), if it exists.
    pub fn resource_type(&self, logical_id: &str) -> Option<&'t str> {
        self.resources.get(logical_id)?.get("Type")?.as_str()
    }

    /// Evaluates every intrinsic inside `value`. Object properties and list items that evaluate to
    /// `AWS::NoValue` are dropped.
    pub fn eval(&self, value: &Value) -> Result<Value, EvalError> {
        match value {
            Value::String(s) => check_dynamic_reference(s).map(|()| value.clone()),
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match self.eval(item) {
                        Ok(v) => out.push(v),
                        Err(EvalError::NoValue) => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(Value::Array(out))
            }
            Value::Object(object) => {
                if let Some((name, argument)) = intrinsic(object) {
                    return self.function(name, argument);
                }
                let mut out = Map::new();
                for (key, item) in object {
                    match self.eval(item) {
                        Ok(v) => {
                            out.insert(key.clone(), v);
                        }
                        Err(EvalError::NoValue) => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(Value::Object(out))
            }
            other => Ok(other.clone()),
        }
    }

    /// Evaluates `value` and requires a string (numbers and booleans are converted, as
    /// CloudFormation does for string properties).
    pub fn eval_string(&self, value: &Value) -> Result<String, EvalError> {
        let evaluated = self.eval(value)?;
        scalar_string(&evaluated)
            .ok_or_else(|| EvalError::Invalid(format!("expected a string, found {evaluated}")))
    }

    /// Evaluates everything it can and replaces what it cannot with `null`, reporting each
    /// replacement as `(json path, reason)`. Used for documents where one unresolved field must not
    /// hide the rest (an OpenAPI definition).
    pub fn eval_lenient(
        &self,
        value: &Value,
        path: &str,
        problems: &mut Vec<(String, EvalError)>,
    ) -> Value {
        match value {
            Value::Object(object) if intrinsic(object).is_some() => match self.eval(value) {
                Ok(v) => v,
                Err(e) => {
                    problems.push((path.to_owned(), e));
                    Value::Null
                }
            },
            Value::Object(object) => Value::Object(
                object
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            self.eval_lenient(v, &format!("{path}.{k}"), problems),
                        )
                    })
                    .collect(),
            ),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| self.eval_lenient(v, &format!("{path}[{i}]"), problems))
                    .collect(),
            ),
            Value::String(s) => match check_dynamic_reference(s) {
                Ok(()) => value.clone(),
                Err(e) => {
                    problems.push((path.to_owned(), e));
                    Value::Null
                }
            },
            other => other.clone(),
        }
    }

    /// Whether the named condition holds.
    pub fn condition(&self, name: &str) -> Result<bool, EvalError> {
        let definition = self
            .conditions
            .get(name)
            .ok_or_else(|| EvalError::Invalid(format!("unknown condition `{name}`")))?;
        if self.evaluating.borrow().iter().any(|n| n == name) {
            return Err(EvalError::Invalid(format!(
                "condition `{name}` refers to itself"
            )));
        }
        self.evaluating.borrow_mut().push(name.to_owned());
        let result = self.condition_expression(definition);
        self.evaluating.borrow_mut().pop();
        result
    }

    /// Whether a resource exists in this deployment: it has no `Condition`, or its condition holds.
    pub fn resource_enabled(&self, logical_id: &str) -> Result<bool, EvalError> {
        match self
            .resources
            .get(logical_id)
            .and_then(|r| r.get("Condition"))
        {
            None => Ok(true),
            Some(Value::String(condition)) => self.condition(condition),
            Some(other) => Err(EvalError::Invalid(format!(
                "resource condition must be a name, found {other}"
            ))),
        }
    }

    /// The value of `Ref: logical_id` for a resource: its explicit name property when it has one,
    /// otherwise the logical id (a deployed stack would generate a name from it).
    pub fn resource_name(&self, logical_id: &str) -> Result<String, EvalError> {
        let resource = self
            .resources
            .get(logical_id)
            .ok_or_else(|| EvalError::Invalid(format!("unknown resource `{logical_id}`")))?;
        let name_property = match resource.get("Type").and_then(Value::as_str) {
            Some("AWS::Serverless::Function" | "AWS::Lambda::Function") => Some("FunctionName"),
            Some("AWS::DynamoDB::Table" | "AWS::Serverless::SimpleTable") => Some("TableName"),
            Some("AWS::IAM::Role") => Some("RoleName"),
            Some("AWS::SQS::Queue") => Some("QueueName"),
            Some("AWS::SNS::Topic") => Some("TopicName"),
            Some("AWS::S3::Bucket") => Some("BucketName"),
            _ => None,
        };
        let explicit = name_property.and_then(|p| resource.get("Properties")?.get(p));
        match explicit {
            Some(name) => self.eval_string(name),
            None => Ok(logical_id.to_owned()),
        }
    }

    /// The value of `Fn::GetAtt [logical_id, attribute]`.
    pub fn attribute(&self, logical_id: &str, attribute: &str) -> Result<String, EvalError> {
        let kind = self.resource_type(logical_id).ok_or_else(|| {
            EvalError::Invalid(format!("Fn::GetAtt names unknown resource `{logical_id}`"))
        })?;
        let PseudoParameters {
            region, account_id, ..
        } = &self.pseudo;
        let name = self.resource_name(logical_id)?;
        let value = match (kind, attribute) {
            ("AWS::Serverless::Function" | "AWS::Lambda::Function", "Arn") => {
                format!("arn:aws:lambda:{region}:{account_id}:function:{name}")
            }
            // SAM's referenceable property `<function>.Alias`: the generated alias.
            ("AWS::Serverless::Function", "Alias") => {
                let alias = self.auto_publish_alias(logical_id).ok_or_else(|| {
                    EvalError::Invalid(format!(
                        "{logical_id}.Alias needs an AutoPublishAlias on {logical_id}"
                    ))
                })??;
                format!("arn:aws:lambda:{region}:{account_id}:function:{name}:{alias}")
            }
            ("AWS::IAM::Role", "Arn") => format!("arn:aws:iam::{account_id}:role/{name}"),
            ("AWS::IAM::Role", "RoleId") => format!("AROALOCAL{}", name.to_uppercase()),
            ("AWS::DynamoDB::Table" | "AWS::Serverless::SimpleTable", "Arn") => {
                format!("arn:aws:dynamodb:{region}:{account_id}:table/{name}")
            }
            ("AWS::DynamoDB::Table", "StreamArn") => {
                format!(
                    "arn:aws:dynamodb:{region}:{account_id}:table/{name}/stream/1970-01-01T00:00:00.000"
                )
            }
            ("AWS::SQS::Queue", "Arn") => format!("arn:aws:sqs:{region}:{account_id}:{name}"),
            ("AWS::SQS::Queue", "QueueName") => name,
            ("AWS::SNS::Topic", "TopicArn") => format!("arn:aws:sns:{region}:{account_id}:{name}"),
            ("AWS::S3::Bucket", "Arn") => format!("arn:aws:s3:::{name}"),
            ("AWS::Serverless::Api" | "AWS::ApiGateway::RestApi", "RootResourceId") => {
                "rootresource".to_owned()
            }
            _ => {
                return Err(EvalError::Unresolved(format!(
                    "Fn::GetAtt {logical_id}.{attribute} ({kind}) has no local value"
                )));
            }
        };
        Ok(value)
    }

    /// The alias a function's `AutoPublishAlias` makes SAM generate, as `Ref` of that alias returns
    /// it: the function ARN qualified by the alias name. SAM names the generated `AWS::Lambda::Alias`
    /// `<function logical id>Alias<alias name>`
    /// (<https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-specification-generated-resources-function.html>),
    /// so an integration uri can name it in `Fn::Sub` (`${UsersFunctionAliaslive}`) even though the
    /// resource exists only after the transform. `None` when no function generates `logical_id`.
    fn generated_alias(&self, logical_id: &str) -> Option<Result<String, EvalError>> {
        self.resources.keys().find_map(|function| {
            let rest = logical_id
                .strip_prefix(function.as_str())?
                .strip_prefix("Alias")?;
            let alias = self.auto_publish_alias(function)?;
            Some(alias.and_then(|alias| {
                if alias != rest {
                    return Err(EvalError::Invalid(format!(
                        "`{logical_id}` names alias `{rest}`, but {function} publishes `{alias}`"
                    )));
                }
                self.attribute(function, "Alias")
            }))
        })
    }

    /// A SAM function's `AutoPublishAlias`, its own or the one in `Globals.Function`, evaluated (SAM
    /// accepts a string or a `Ref` to a parameter). `None` when the resource is not a SAM function or
    /// publishes no alias.
    fn auto_publish_alias(&self, logical_id: &str) -> Option<Result<String, EvalError>> {
        let resource = self.resources.get(logical_id)?;
        if resource.get("Type").and_then(Value::as_str) != Some("AWS::Serverless::Function") {
            return None;
        }
        let own = resource
            .get("Properties")
            .and_then(|p| p.get("AutoPublishAlias"));
        let alias = own.or(self.global_alias)?;
        Some(self.eval_string(alias))
    }

    fn reference(&self, name: &str) -> Result<Value, EvalError> {
        let PseudoParameters {
            region,
            account_id,
            stack_name,
        } = &self.pseudo;
        let pseudo = match name {
            "AWS::Region" => Some(region.clone()),
            "AWS::AccountId" => Some(account_id.clone()),
            "AWS::StackName" => Some(stack_name.clone()),
            "AWS::StackId" => Some(format!(
                "arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/00000000-0000-0000-0000-000000000000"
            )),
            "AWS::Partition" => Some("aws".to_owned()),
            "AWS::URLSuffix" => Some("amazonaws.com".to_owned()),
            "AWS::NoValue" => return Err(EvalError::NoValue),
            "AWS::NotificationARNs" => return Ok(Value::Array(Vec::new())),
            _ => None,
        };
        if let Some(value) = pseudo {
            return Ok(Value::String(value));
        }
        if let Some(value) = self.parameters.get(name) {
            return value.clone();
        }
        if self.resources.contains_key(name) {
            return self.resource_name(name).map(Value::String);
        }
        if let Some(alias_arn) = self.generated_alias(name) {
            return alias_arn.map(Value::String);
        }
        Err(EvalError::Invalid(format!(
            "Ref to unknown parameter or resource `{name}`"
        )))
    }

    /// Evaluates the intrinsic function `name` applied to `argument`.
    fn function(&self, name: &str, argument: &Value) -> Result<Value, EvalError> {
        match name {
            "Ref" => self.ref_function(argument),
            "Fn::GetAtt" => self.get_att(argument),
            "Fn::Sub" => self.sub(argument).map(Value::String),
            "Fn::Join" => self.join(argument),
            "Fn::Select" => self.select(argument),
            "Fn::Split" => self.split(argument),
            "Fn::If" => self.if_function(argument),
            "Fn::FindInMap" => self.find_in_map(argument),
            "Fn::Base64" => {
                let text = self.eval_string(argument)?;
                Ok(Value::String(
                    base64::engine::general_purpose::STANDARD.encode(text),
                ))
            }
            "Fn::GetAZs" => {
                let region = &self.pseudo.region;
                Ok(Value::Array(
                    ["a", "b", "c"]
                        .iter()
                        .map(|z| Value::String(format!("{region}{z}")))
                        .collect(),
                ))
            }
            "Fn::Length" => Ok(Value::from(self.eval_list(argument)?.len())),
            "Fn::ToJsonString" => Ok(Value::String(self.eval(argument)?.to_string())),
            "Fn::Equals" | "Fn::And" | "Fn::Or" | "Fn::Not" => {
                let mut object = Map::new();
                object.insert(name.to_owned(), argument.clone());
                self.condition_expression(&Value::Object(object))
                    .map(Value::Bool)
            }
            "Fn::ImportValue" => Err(EvalError::Unresolved(format!(
                "Fn::ImportValue {} reads another stack's outputs",
                self.eval(argument)
                    .map(|v| v.to_string())
                    .unwrap_or_else(|_| argument.to_string())
            ))),
            other => Err(EvalError::Unresolved(format!(
                "{other} is not evaluated locally"
            ))),
        }
    }

    /// `Ref`: a parameter, a pseudo parameter or a resource.
    fn ref_function(&self, argument: &Value) -> Result<Value, EvalError> {
        let target = argument
            .as_str()
            .ok_or_else(|| EvalError::Invalid(format!("Ref takes a name, found {argument}")))?;
        self.reference(target)
    }

    /// `Fn::GetAtt`: `Resource.Attribute` or `[resource, attribute]`.
    fn get_att(&self, argument: &Value) -> Result<Value, EvalError> {
        let (resource, attribute) = match argument {
            Value::String(s) => s
                .split_once('.')
                .map(|(r, a)| (r.to_owned(), a.to_owned()))
                .ok_or_else(|| {
                    EvalError::Invalid(format!("Fn::GetAtt `{s}` lacks an attribute"))
                })?,
            Value::Array(parts) if parts.len() == 2 => {
                (self.eval_string(&parts[0])?, self.eval_string(&parts[1])?)
            }
            other => {
                return Err(EvalError::Invalid(format!(
                    "Fn::GetAtt takes [resource, attribute], found {other}"
                )));
            }
        };
        self.attribute(&resource, &attribute).map(Value::String)
    }

    /// `Fn::Join`: `[delimiter, [items]]`.
    fn join(&self, argument: &Value) -> Result<Value, EvalError> {
        let [delimiter, items] = pair(argument, "Fn::Join")?;
        let delimiter = self.eval_string(delimiter)?;
        let items = self.eval_list(items)?;
        let parts = items
            .iter()
            .map(|item| {
                scalar_string(item).ok_or_else(|| {
                    EvalError::Invalid(format!("Fn::Join item {item} is not a string"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Value::String(parts.join(&delimiter)))
    }

    /// `Fn::Select`: `[index, [items]]`.
    fn select(&self, argument: &Value) -> Result<Value, EvalError> {
        let [index, items] = pair(argument, "Fn::Select")?;
        let index = self.eval(index)?;
        let index = match &index {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
        .ok_or_else(|| EvalError::Invalid(format!("Fn::Select index {index} is not a number")))?;
        let items = self.eval_list(items)?;
        usize::try_from(index)
            .ok()
            .and_then(|i| items.get(i).cloned())
            .ok_or_else(|| EvalError::Invalid(format!("Fn::Select index {index} is out of range")))
    }

    /// `Fn::Split`: `[delimiter, source]`.
    fn split(&self, argument: &Value) -> Result<Value, EvalError> {
        let [delimiter, source] = pair(argument, "Fn::Split")?;
        let delimiter = self.eval_string(delimiter)?;
        let source = self.eval_string(source)?;
        if delimiter.is_empty() {
            return Err(EvalError::Invalid(
                "Fn::Split delimiter is empty".to_owned(),
            ));
        }
        Ok(Value::Array(
            source
                .split(&delimiter)
                .map(|s| Value::String(s.to_owned()))
                .collect(),
        ))
    }

    /// `Fn::If`: `[condition, then, else]`.
    fn if_function(&self, argument: &Value) -> Result<Value, EvalError> {
        let items = argument
            .as_array()
            .filter(|a| a.len() == 3)
            .ok_or_else(|| {
                EvalError::Invalid(format!(
                    "Fn::If takes [condition, then, else], found {argument}"
                ))
            })?;
        let condition = items[0]
            .as_str()
            .ok_or_else(|| EvalError::Invalid("Fn::If condition must be a name".to_owned()))?;
        if self.condition(condition)? {
            self.eval(&items[1])
        } else {
            self.eval(&items[2])
        }
    }

    /// `Fn::FindInMap`: `[map, top-level key, second-level key]`.
    fn find_in_map(&self, argument: &Value) -> Result<Value, EvalError> {
        let items = argument
            .as_array()
            .filter(|a| a.len() == 3)
            .ok_or_else(|| {
                EvalError::Invalid(format!(
                    "Fn::FindInMap takes [map, key, key], found {argument}"
                ))
            })?;
        let map = self.eval_string(&items[0])?;
        let top = self.eval_string(&items[1])?;
        let second = self.eval_string(&items[2])?;
        self.mappings
            .get(&map)
            .and_then(|m| m.get(&top))
            .and_then(|m| m.get(&second))
            .cloned()
            .ok_or_else(|| {
                EvalError::Invalid(format!(
                    "Fn::FindInMap found nothing at {map}.{top}.{second}"
                ))
            })
    }

    fn eval_list(&self, value: &Value) -> Result<Vec<Value>, EvalError> {
        match self.eval(value)? {
            Value::Array(items) => Ok(items),
            other => Err(EvalError::Invalid(format!(
                "expected a list, found {other}"
            ))),
        }
    }

    fn condition_expression(&self, value: &Value) -> Result<bool, EvalError> {
        let object = value.as_object().ok_or_else(|| {
            EvalError::Invalid(format!("a condition must be a function, found {value}"))
        })?;
        if let Some(Value::String(name)) = object.get("Condition").filter(|_| object.len() == 1) {
            return self.condition(name);
        }
        let (name, argument) = intrinsic(object).ok_or_else(|| {
            EvalError::Invalid(format!("a condition must be a function, found {value}"))
        })?;
        let operands = || {
            argument
                .as_array()
                .ok_or_else(|| EvalError::Invalid(format!("{name} takes a list, found {argument}")))
        };
        match name {
            "Fn::Equals" => {
                let [a, b] = pair(argument, "Fn::Equals")?;
                let (a, b) = (self.eval(a)?, self.eval(b)?);
                Ok(match (scalar_string(&a), scalar_string(&b)) {
                    (Some(a), Some(b)) => a == b,
                    _ => a == b,
                })
            }
            "Fn::Not" => {
                let items = operands()?;
                let [inner] = items.as_slice() else {
                    return Err(EvalError::Invalid("Fn::Not takes one condition".to_owned()));
                };
                Ok(!self.condition_expression(inner)?)
            }
            "Fn::And" => {
                for item in operands()? {
                    if !self.condition_expression(item)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            "Fn::Or" => {
                for item in operands()? {
                    if self.condition_expression(item)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            other => Err(EvalError::Invalid(format!(
                "{other} is not a condition function"
            ))),
        }
    }

    fn sub(&self, argument: &Value) -> Result<String, EvalError> {
        let (template, variables) = match argument {
            Value::String(s) => (s.as_str(), None),
            Value::Array(items) if items.len() == 2 => {
                let template = items[0].as_str().ok_or_else(|| {
                    EvalError::Invalid("Fn::Sub template must be a string".to_owned())
                })?;
                let variables = items[1].as_object().ok_or_else(|| {
                    EvalError::Invalid("Fn::Sub variables must be a map".to_owned())
                })?;
                (template, Some(variables))
            }
            other => {
                return Err(EvalError::Invalid(format!(
                    "Fn::Sub takes a string or [string, map], found {other}"
                )));
            }
        };
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or_else(|| {
                EvalError::Invalid(format!("Fn::Sub `{template}` has an unclosed ${{"))
            })?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else {
                out.push_str(&self.sub_variable(name.trim(), variables)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        check_dynamic_reference(&out)?;
        Ok(out)
    }

    fn sub_variable(
        &self,
        name: &str,
        variables: Option<&Map<String, Value>>,
    ) -> Result<String, EvalError> {
        if let Some(value) = variables.and_then(|v| v.get(name)) {
            return self.eval_string(value);
        }
        if let Some((resource, attribute)) = name.split_once('.')
            && self.resources.contains_key(resource)
        {
            return self.attribute(resource, attribute);
        }
        let value = self.reference(name)?;
        scalar_string(&value)
            .ok_or_else(|| EvalError::Invalid(format!("${{{name}}} is not a string")))
    }
}

fn parameter_value(
    name: &str,
    declaration: &Value,
    override_value: Option<&String>,
) -> Result<Value, EvalError> {
    let kind = declaration
        .get("Type")
        .and_then(Value::as_str)
        .unwrap_or("String");
    let raw = match (override_value, declaration.get("Default")) {
        (Some(value), _) => value.clone(),
        (None, Some(default)) => scalar_string(default).ok_or_else(|| {
            EvalError::Invalid(format!("parameter `{name}` has a non-scalar Default"))
        })?,
        (None, None) if kind.starts_with("AWS::SSM::Parameter::Value") => {
            return Err(EvalError::Unresolved(format!(
                "parameter `{name}` is read from SSM"
            )));
        }
        (None, None) => {
            return Err(EvalError::Unresolved(format!(
                "parameter `{name}` has no Default; pass --parameter-overrides {name}=VALUE"
            )));
        }
    };
    if kind.starts_with("AWS::SSM::Parameter::Value") && override_value.is_none() {
        return Err(EvalError::Unresolved(format!(
            "parameter `{name}` is read from SSM ({raw})"
        )));
    }
    if kind == "CommaDelimitedList" || kind.starts_with("List<") {
        return Ok(Value::Array(
            raw.split(',')
                .map(|s| Value::String(s.trim().to_owned()))
                .collect(),
        ));
    }
    Ok(Value::String(raw))
}

/// An object with exactly one key that names an intrinsic function.
fn intrinsic(object: &Map<String, Value>) -> Option<(&str, &Value)> {
    if object.len() != 1 {
        return None;
    }
    let (name, argument) = object.iter().next()?;
    (name == "Ref" || name.starts_with("Fn::")).then_some((name.as_str(), argument))
}

fn pair<'v>(argument: &'v Value, function: &str) -> Result<[&'v Value; 2], EvalError> {
    match argument.as_array().map(Vec::as_slice) {
        Some([a, b]) => Ok([a, b]),
        _ => Err(EvalError::Invalid(format!(
            "{function} takes two arguments, found {argument}"
        ))),
    }
}

/// Strings, numbers and booleans as CloudFormation stringifies them.
pub fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn check_dynamic_reference(s: &str) -> Result<(), EvalError> {
    match s.find("{{resolve:") {
        None => Ok(()),
        Some(start) => {
            let end = s[start..].find("}}").map_or(s.len(), |e| start + e + 2);
            Err(EvalError::Unresolved(format!(
                "dynamic reference {}",
                &s[start..end]
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template() -> Value {
        json!({
            "Parameters": {
                "StageName": {"Type": "String", "Default": "dev"},
                "Subnets": {"Type": "CommaDelimitedList", "Default": "a, b"},
                "Secret": {"Type": "String"},
                "Size": {"Type": "Number", "Default": 3}
            },
            "Conditions": {
                "IsProd": {"Fn::Equals": [{"Ref": "StageName"}, "prod"]},
                "NotProd": {"Fn::Not": [{"Condition": "IsProd"}]},
                "Loop": {"Condition": "Loop"}
            },
            "Mappings": {"Sizes": {"dev": {"Memory": 128}}},
            "Resources": {
                "UsersFunction": {"Type": "AWS::Serverless::Function", "Properties": {}},
                "LiveFunction": {"Type": "AWS::Serverless::Function", "Properties": {"AutoPublishAlias": "live"}},
                "NamedFunction": {"Type": "AWS::Serverless::Function", "Properties": {"FunctionName": {"Fn::Sub": "${AWS::StackName}-named"}}},
                "UsersTable": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
                "InvokeRole": {"Type": "AWS::IAM::Role", "Properties": {}},
                "ProdOnly": {"Type": "AWS::SQS::Queue", "Condition": "IsProd"}
            }
        })
    }

    fn eval(expression: Value) -> Result<Value, EvalError> {
        let template = template();
        let evaluator = Evaluator::new(&template, &BTreeMap::new(), PseudoParameters::default());
        evaluator.eval(&expression)
    }

    #[test]
    fn ref_resolves_parameters_pseudo_parameters_and_resources() {
        assert_eq!(eval(json!({"Ref": "StageName"})), Ok(json!("dev")));
        assert_eq!(eval(json!({"Ref": "Size"})), Ok(json!("3")));
        assert_eq!(eval(json!({"Ref": "Subnets"})), Ok(json!(["a", "b"])));
        assert_eq!(eval(json!({"Ref": "AWS::Region"})), Ok(json!("us-east-1")));
        assert_eq!(eval(json!({"Ref": "UsersTable"})), Ok(json!("UsersTable")));
        assert_eq!(
            eval(json!({"Ref": "NamedFunction"})),
            Ok(json!("rill-local-named"))
        );
    }

    #[test]
    fn a_parameter_override_wins_over_the_default() {
        let template = template();
        let overrides = BTreeMap::from([("StageName".to_owned(), "prod".to_owned())]);
        let evaluator = Evaluator::new(&template, &overrides, PseudoParameters::default());
        assert_eq!(
            evaluator.eval(&json!({"Ref": "StageName"})),
            Ok(json!("prod"))
        );
        assert_eq!(evaluator.condition("IsProd"), Ok(true));
        assert_eq!(evaluator.resource_enabled("ProdOnly"), Ok(true));
    }

    #[test]
    fn a_parameter_without_default_is_unresolved_with_a_hint() {
        let Err(EvalError::Unresolved(reason)) = eval(json!({"Ref": "Secret"})) else {
            panic!("expected unresolved");
        };
        assert!(reason.contains("--parameter-overrides Secret="), "{reason}");
    }

    #[test]
    fn sub_expands_arns_pseudo_parameters_and_escapes() {
        let uri = json!({"Fn::Sub": "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${UsersFunction.Arn}/invocations"});
        assert_eq!(
            eval(uri),
            Ok(json!(
                "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:UsersFunction/invocations"
            ))
        );
        assert_eq!(
            eval(json!({"Fn::Sub": "${!Literal}-${StageName}"})),
            Ok(json!("${Literal}-dev"))
        );
        assert_eq!(
            eval(json!({"Fn::Sub": ["${A}/${B}", {"A": "x", "B": {"Ref": "StageName"}}]})),
            Ok(json!("x/dev"))
        );
    }

    #[test]
    fn sub_resolves_the_alias_sam_generates_for_auto_publish_alias() {
        // Given a function with AutoPublishAlias: live, whose alias SAM names LiveFunctionAliaslive
        let uri = json!({"Fn::Sub": "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${LiveFunctionAliaslive}/invocations"});
        // Then the uri names the function ARN qualified by the alias
        assert_eq!(
            eval(uri),
            Ok(json!(
                "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:LiveFunction:live/invocations"
            ))
        );
        assert_eq!(
            eval(json!({"Ref": "LiveFunctionAliaslive"})),
            Ok(json!(
                "arn:aws:lambda:us-east-1:123456789012:function:LiveFunction:live"
            ))
        );
        assert_eq!(
            eval(json!({"Fn::Sub": "${LiveFunction.Alias}"})),
            Ok(json!(
                "arn:aws:lambda:us-east-1:123456789012:function:LiveFunction:live"
            ))
        );
        // And an alias the function does not publish, or a function without one, is an error
        assert!(matches!(
            eval(json!({"Ref": "LiveFunctionAliasstaging"})),
            Err(EvalError::Invalid(_))
        ));
        assert!(matches!(
            eval(json!({"Ref": "UsersFunctionAliaslive"})),
            Err(EvalError::Invalid(_))
        ));
        assert!(matches!(
            eval(json!({"Fn::Sub": "${UsersFunction.Alias}"})),
            Err(EvalError::Invalid(_))
        ));
    }

    #[test]
    fn a_function_publishes_the_alias_of_the_globals_unless_it_names_its_own() {
        // Given AutoPublishAlias in Globals, and one function that names another
        let template = json!({
            "Globals": {"Function": {"AutoPublishAlias": "live"}},
            "Resources": {
                "UsersFunction": {"Type": "AWS::Serverless::Function", "Properties": {}},
                "CanaryFunction": {"Type": "AWS::Serverless::Function", "Properties": {"AutoPublishAlias": "canary"}}
            }
        });
        let evaluator = Evaluator::new(&template, &BTreeMap::new(), PseudoParameters::default());
        // Then each alias resolves to its function's qualified ARN, and no other alias does
        assert_eq!(
            evaluator.eval(&json!({"Fn::Sub": "${UsersFunctionAliaslive}"})),
            Ok(json!(
                "arn:aws:lambda:us-east-1:123456789012:function:UsersFunction:live"
            ))
        );
        assert_eq!(
            evaluator.eval(&json!({"Ref": "CanaryFunctionAliascanary"})),
            Ok(json!(
                "arn:aws:lambda:us-east-1:123456789012:function:CanaryFunction:canary"
            ))
        );
        assert!(
            evaluator
                .eval(&json!({"Ref": "CanaryFunctionAliaslive"}))
                .is_err()
        );
    }

    #[test]
    fn get_att_builds_local_arns() {
        assert_eq!(
            eval(json!({"Fn::GetAtt": ["InvokeRole", "Arn"]})),
            Ok(json!("arn:aws:iam::123456789012:role/InvokeRole"))
        );
        assert_eq!(
            eval(json!({"Fn::GetAtt": "UsersTable.Arn"})),
            Ok(json!(
                "arn:aws:dynamodb:us-east-1:123456789012:table/UsersTable"
            ))
        );
        assert!(matches!(
            eval(json!({"Fn::GetAtt": ["UsersTable", "Nope"]})),
            Err(EvalError::Unresolved(_))
        ));
    }

    #[test]
    fn list_functions_compose() {
        assert_eq!(
            eval(json!({"Fn::Join": ["-", ["a", {"Ref": "StageName"}, 1]]})),
            Ok(json!("a-dev-1"))
        );
        assert_eq!(
            eval(json!({"Fn::Select": ["1", {"Fn::Split": [",", "x,y,z"]}]})),
            Ok(json!("y"))
        );
        assert_eq!(
            eval(json!({"Fn::Select": [0, {"Fn::GetAZs": ""}]})),
            Ok(json!("us-east-1a"))
        );
        assert_eq!(
            eval(json!({"Fn::FindInMap": ["Sizes", {"Ref": "StageName"}, "Memory"]})),
            Ok(json!(128))
        );
        assert_eq!(eval(json!({"Fn::Base64": "hi"})), Ok(json!("aGk=")));
    }

    #[test]
    fn if_picks_a_branch_and_no_value_removes_the_property() {
        assert_eq!(
            eval(json!({"Fn::If": ["NotProd", "debug", "info"]})),
            Ok(json!("debug"))
        );
        assert_eq!(
            eval(json!({"A": 1, "B": {"Fn::If": ["IsProd", 2, {"Ref": "AWS::NoValue"}]}})),
            Ok(json!({"A": 1}))
        );
    }

    #[test]
    fn dynamic_references_are_unresolved() {
        let Err(EvalError::Unresolved(reason)) = eval(json!(
            "{{resolve:secretsmanager:rill/cursor:SecretString:key}}"
        )) else {
            panic!("expected unresolved");
        };
        assert_eq!(
            reason,
            "dynamic reference {{resolve:secretsmanager:rill/cursor:SecretString:key}}"
        );
        assert!(matches!(
            eval(json!({"Fn::Sub": "{{resolve:ssm:/x}}"})),
            Err(EvalError::Unresolved(_))
        ));
    }

    #[test]
    fn cyclic_conditions_and_unknown_refs_are_invalid() {
        let template = template();
        let evaluator = Evaluator::new(&template, &BTreeMap::new(), PseudoParameters::default());
        assert!(matches!(
            evaluator.condition("Loop"),
            Err(EvalError::Invalid(_))
        ));
        assert!(matches!(
            eval(json!({"Ref": "Nope"})),
            Err(EvalError::Invalid(_))
        ));
    }

    #[test]
    fn lenient_evaluation_nulls_only_what_it_cannot_resolve() {
        let template = template();
        let evaluator = Evaluator::new(&template, &BTreeMap::new(), PseudoParameters::default());
        let mut problems = Vec::new();
        let value = evaluator.eval_lenient(
            &json!({"a": {"Ref": "StageName"}, "b": {"Fn::ImportValue": "x"}}),
            "$",
            &mut problems,
        );
        assert_eq!(value, json!({"a": "dev", "b": null}));
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].0, "$.b");
    }
}
