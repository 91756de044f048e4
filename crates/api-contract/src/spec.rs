//! The API definition's operations and the Lambda integration each one names.

use std::path::Path;

use serde_json::Value;

use crate::ContractError;

/// The HTTP methods an OpenAPI path item may hold, as its keys spell them.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The Lambda API path of a buffered (`Invoke`) integration.
pub const BUFFERED_INVOCATION: &str = "lambda:path/2015-03-31/functions/";
/// The Lambda API path of a streaming (`InvokeWithResponseStream`) integration.
pub const STREAMING_INVOCATION: &str = "lambda:path/2021-11-15/functions/";

/// An OpenAPI document, as JSON.
#[derive(Debug, Clone)]
pub struct ApiSpec {
    document: Value,
}

/// One operation: a method on a resource path.
#[derive(Debug, Clone, Copy)]
pub struct Operation<'a> {
    /// Upper case, as in an HTTP request line (`GET`).
    pub method: &'static str,
    /// The resource path template (`/users/{userId}`).
    pub path: &'a str,
    /// The operation object.
    pub body: &'a Value,
}

/// What `x-amazon-apigateway-integration` says about one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Integration {
    /// `type` (`aws_proxy`).
    pub kind: String,
    /// `httpMethod`: how API Gateway calls Lambda (always `POST`).
    pub http_method: String,
    /// The `uri` template (the text inside `Fn::Sub`).
    pub uri: String,
    /// The logical id of the function the uri calls, named as `${Name.Arn}` or through the alias
    /// SAM generates for its `AutoPublishAlias` (`${NameAlias<alias>}`).
    pub function: String,
    /// The alias the uri calls, if it names one.
    pub alias: Option<String>,
    /// `responseTransferMode` (`BUFFERED` or `STREAM`).
    pub transfer_mode: String,
    /// `timeoutInMillis`.
    pub timeout_ms: u64,
    /// `credentials`, as written.
    pub credentials: Value,
}

impl Integration {
    /// Whether the uri calls `InvokeWithResponseStream` rather than `Invoke`.
    pub fn uses_streaming_uri(&self) -> bool {
        self.uri.contains(STREAMING_INVOCATION)
            && self.uri.ends_with("/response-streaming-invocations")
    }

    /// Whether the uri calls the buffered `Invoke`.
    pub fn uses_buffered_uri(&self) -> bool {
        self.uri.contains(BUFFERED_INVOCATION) && self.uri.ends_with("/invocations")
    }
}

impl ApiSpec {
    /// Loads `openapi/api.yaml` (or another definition).
    pub fn load(path: &Path) -> Result<Self, ContractError> {
        Ok(Self::from_value(crate::yaml::read_as_json(path)?))
    }

    pub fn from_value(document: Value) -> Self {
        Self { document }
    }

    pub fn document(&self) -> &Value {
        &self.document
    }

    /// Every operation, in the order the paths list them.
    pub fn operations(&self) -> Vec<Operation<'_>> {
        let mut operations = Vec::new();
        let Some(paths) = self.document.get("paths").and_then(Value::as_object) else {
            return operations;
        };
        for (path, item) in paths {
            for method in METHODS {
                if let Some(body) = item.get(method) {
                    operations.push(Operation {
                        method: upper(method),
                        path,
                        body,
                    });
                }
            }
        }
        operations
    }

    /// Follows a local `$ref` (`#/components/responses/X`) to what it names. Values that are not
    /// references come back as they are.
    pub fn resolve<'a>(&'a self, value: &'a Value) -> Result<&'a Value, ContractError> {
        resolve(&self.document, value)
    }
}

/// Follows local `$ref`s, however many, to a value that is not one.
pub fn resolve<'a>(document: &'a Value, value: &'a Value) -> Result<&'a Value, ContractError> {
    let mut current = value;
    for _ in 0..32 {
        let Some(reference) = current.get("$ref").and_then(Value::as_str) else {
            return Ok(current);
        };
        let pointer = reference.strip_prefix('#').ok_or_else(|| {
            ContractError::shape(format!("{reference} is not a reference into this document"))
        })?;
        current = document
            .pointer(pointer)
            .ok_or_else(|| ContractError::shape(format!("{reference} points at nothing")))?;
    }
    Err(ContractError::shape("a $ref chain loops"))
}

impl Operation<'_> {
    /// `operationId`.
    pub fn id(&self) -> Option<&str> {
        self.body.get("operationId").and_then(Value::as_str)
    }

    /// `METHOD /path`, for messages.
    pub fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The operation's Lambda integration.
    pub fn integration(&self) -> Result<Integration, ContractError> {
        let label = self.label();
        let integration = self
            .body
            .get("x-amazon-apigateway-integration")
            .ok_or_else(|| ContractError::shape(format!("{label} has no integration")))?;
        let text = |key: &str| {
            integration
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| {
                    ContractError::shape(format!("{label}: the integration has no `{key}` text"))
                })
        };
        let uri = match integration.get("uri") {
            Some(Value::String(uri)) => uri.clone(),
            Some(Value::Object(sub)) => sub
                .get("Fn::Sub")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| {
                    ContractError::shape(format!("{label}: the uri must be a string or `Fn::Sub`"))
                })?,
            _ => return Err(ContractError::shape(format!("{label}: no integration uri"))),
        };
        let FunctionRef { function, alias } = function_in_uri(&uri).ok_or_else(|| {
            ContractError::shape(format!(
                "{label}: the uri {uri} names no function as `${{Name.Arn}}` or `${{NameAlias<alias>}}` after `/functions/`"
            ))
        })?;
        let timeout_ms = integration
            .get("timeoutInMillis")
            .and_then(Value::as_u64)
            .ok_or_else(|| ContractError::shape(format!("{label}: no timeoutInMillis")))?;
        Ok(Integration {
            kind: text("type")?,
            http_method: text("httpMethod")?,
            function,
            alias,
            transfer_mode: text("responseTransferMode")?,
            timeout_ms,
            credentials: integration
                .get("credentials")
                .cloned()
                .unwrap_or(Value::Null),
            uri,
        })
    }
}

/// The function an integration uri calls, and through which alias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRef {
    /// The function's logical id.
    pub function: String,
    /// The alias, when the uri names SAM's generated alias instead of the function's ARN.
    pub alias: Option<String>,
}

/// The function in `.../functions/${UsersFunction.Arn}/...`, or in
/// `.../functions/${UsersFunctionAliaslive}/...`: `Ref` of the `AWS::Lambda::Alias` that SAM generates
/// for `AutoPublishAlias: live` and names `<function>Alias<alias>`
/// (<https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-specification-generated-resources-function.html>),
/// which is the alias ARN.
pub fn function_in_uri(uri: &str) -> Option<FunctionRef> {
    let after = uri.split_once("/functions/${")?.1;
    let name = after.split_once('}')?.0;
    let logical_id = |id: &str| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric());
    if let Some(function) = name.strip_suffix(".Arn") {
        return logical_id(function).then(|| FunctionRef {
            function: function.to_owned(),
            alias: None,
        });
    }
    let (function, alias) = name.rsplit_once("Alias")?;
    (logical_id(function) && logical_id(alias)).then(|| FunctionRef {
        function: function.to_owned(),
        alias: Some(alias.to_owned()),
    })
}

fn upper(method: &str) -> &'static str {
    match method {
        "get" => "GET",
        "put" => "PUT",
        "post" => "POST",
        "delete" => "DELETE",
        "options" => "OPTIONS",
        "head" => "HEAD",
        "patch" => "PATCH",
        _ => "TRACE",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn unqualified(function: &str) -> Option<FunctionRef> {
        Some(FunctionRef {
            function: function.into(),
            alias: None,
        })
    }

    fn through_alias(function: &str, alias: &str) -> Option<FunctionRef> {
        Some(FunctionRef {
            function: function.into(),
            alias: Some(alias.into()),
        })
    }

    #[test]
    fn the_function_is_read_from_either_invocation_uri() {
        assert_eq!(
            function_in_uri(
                "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${UsersFunction.Arn}/invocations"
            ),
            unqualified("UsersFunction")
        );
        assert_eq!(
            function_in_uri(
                "arn:aws:apigateway:${AWS::Region}:lambda:path/2021-11-15/functions/${ExportFunction.Arn}/response-streaming-invocations"
            ),
            unqualified("ExportFunction")
        );
        assert_eq!(
            function_in_uri("arn:aws:lambda:us-east-1:1:function:f"),
            None
        );
    }

    #[test]
    fn the_function_and_alias_are_read_from_a_generated_alias_reference() {
        assert_eq!(
            function_in_uri(
                "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${UsersFunctionAliaslive}/invocations"
            ),
            through_alias("UsersFunction", "live")
        );
        assert_eq!(
            function_in_uri(
                "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2021-11-15/functions/${ExportFunctionAliaslive}/response-streaming-invocations"
            ),
            through_alias("ExportFunction", "live")
        );
        // A reference that is neither an ARN nor a generated alias names no function.
        for uri in [
            "/functions/${UsersFunction}/invocations",
            "/functions/${UsersFunctionAlias}/invocations",
            "/functions/${Users-FunctionAliaslive}/invocations",
            "/functions/${UsersFunction.Arn:live}/invocations",
        ] {
            assert_eq!(function_in_uri(uri), None, "{uri}");
        }
    }

    #[test]
    fn an_operation_without_an_integration_is_reported_by_its_route() {
        let spec = ApiSpec::from_value(json!({"paths": {"/a": {"get": {}}}}));
        let err = spec.operations()[0].integration().unwrap_err();
        assert!(err.to_string().contains("GET /a"), "{err}");
    }

    #[test]
    fn references_are_followed_to_their_target() {
        let doc = json!({"components": {"responses": {"A": {"$ref": "#/components/responses/B"}, "B": {"description": "b"}}}});
        let value = json!({"$ref": "#/components/responses/A"});
        assert_eq!(resolve(&doc, &value).unwrap(), &json!({"description": "b"}));
        assert!(resolve(&doc, &json!({"$ref": "#/nope"})).is_err());
    }
}
