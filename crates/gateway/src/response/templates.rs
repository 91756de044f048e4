//! The definition's `x-amazon-apigateway-gateway-responses`, read once when the API is loaded, and
//! the rendering of a [`GatewayResponse`] through them.
//!
//! When API Gateway refuses a request itself (validation, authentication, throttling…) it answers
//! with the *gateway response* of that type: a status code, response headers (static values or
//! request parameters) and a body template per content type, in which `$context` variables are
//! substituted. A type the definition does not customise falls back to `DEFAULT_4XX` or
//! `DEFAULT_5XX` when those are defined, and otherwise to the built-in
//! `{"message":$context.error.messageString}` with the type's default status.
//!
//! Templates are Velocity (VTL) in AWS. Gateway response templates in practice only reference
//! variables, so this renders variable references and nothing else: `$context.error.message`,
//! `$context.error.messageString` (the message as a JSON string, quotes included),
//! `$context.error.responseType`, `$context.error.validationErrorString`, and any other
//! `$context.<name>` the caller supplies (e.g. `requestId`); formal (`${context.x}`) and quiet
//! (`$!context.x`) references work too. An unknown `$context` variable renders empty, as in AWS.
//! Directives (`#if`, `#set`) are not evaluated and would appear literally.

use std::collections::BTreeMap;

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use serde_json::Value;

use super::catalogue::GatewayResponse;
use crate::request::RoutedRequest;
use crate::validation::SpecError;

const KEY: &str = "x-amazon-apigateway-gateway-responses";
const HEADER_PREFIX: &str = "gatewayresponse.header.";

/// A gateway response ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedResponse {
    /// The status code.
    pub status: StatusCode,
    /// `Content-Type`, `x-amzn-ErrorType` and the definition's response parameters.
    pub headers: HeaderMap,
    /// The rendered body.
    pub body: String,
}

/// Where a response header's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HeaderSource {
    Static(HeaderValue),
    RequestHeader(String),
    RequestQuery(String),
    RequestPath(String),
    Context(String),
    StageVariable,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Definition {
    status: Option<StatusCode>,
    headers: Vec<(HeaderName, HeaderSource)>,
    /// Templates by content type, in a stable order.
    templates: BTreeMap<String, String>,
}

/// The gateway responses an API definition customises.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayResponses {
    definitions: BTreeMap<String, Definition>,
}

impl GatewayResponses {
    /// Reads `x-amazon-apigateway-gateway-responses` (absent means all defaults).
    pub fn from_spec(spec: &Value) -> Result<Self, SpecError> {
        let Some(responses) = spec.get(KEY) else {
            return Ok(Self::default());
        };
        let responses = responses
            .as_object()
            .ok_or_else(|| SpecError::malformed(KEY, "must be a map of response types"))?;
        let mut definitions = BTreeMap::new();
        for (response_type, definition) in responses {
            definitions.insert(
                response_type.clone(),
                parse_definition(&format!("/{KEY}/{response_type}"), definition)?,
            );
        }
        Ok(Self { definitions })
    }

    /// Renders `error` as API Gateway would: the type's own definition, else `DEFAULT_4XX` /
    /// `DEFAULT_5XX`, else the built-in default. `request` supplies `method.request.*` header
    /// values; `context` supplies extra `$context` variables such as `("requestId", "…")`.
    pub fn render(
        &self,
        error: &GatewayResponse,
        request: Option<&RoutedRequest>,
        context: &[(&str, &str)],
    ) -> RenderedResponse {
        let fallback = if error.status.is_server_error() {
            "DEFAULT_5XX"
        } else {
            "DEFAULT_4XX"
        };
        let definition = self
            .definitions
            .get(error.response_type)
            .or_else(|| self.definitions.get(fallback));

        let status = definition
            .and_then(|definition| definition.status)
            .unwrap_or(error.status);
        let (content_type, template) = definition
            .and_then(|definition| {
                definition
                    .templates
                    .get_key_value("application/json")
                    .or_else(|| definition.templates.iter().next())
            })
            .map_or(
                (
                    "application/json",
                    r#"{"message":$context.error.messageString}"#,
                ),
                |(content_type, template)| (content_type.as_str(), template.as_str()),
            );

        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(content_type) {
            headers.insert(header::CONTENT_TYPE, value);
        }
        if let Some(error_type) = error.error_type {
            headers.insert(
                HeaderName::from_static("x-amzn-errortype"),
                HeaderValue::from_static(error_type),
            );
        }
        for (name, source) in definition.map_or(&[][..], |d| d.headers.as_slice()) {
            if let Some(value) = header_value(source, request, context) {
                headers.insert(name.clone(), value);
            }
        }

        RenderedResponse {
            status,
            headers,
            body: render_template(template, error, context),
        }
    }
}

fn parse_definition(location: &str, definition: &Value) -> Result<Definition, SpecError> {
    let status = match definition.get("statusCode") {
        None | Some(Value::Null) => None,
        Some(code) => {
            let text = match code {
                Value::String(text) => text.clone(),
                Value::Number(number) => number.to_string(),
                _ => String::new(),
            };
            let status = text
                .parse::<u16>()
                .ok()
                .and_then(|code| StatusCode::from_u16(code).ok())
                .ok_or_else(|| {
                    SpecError::malformed(
                        format!("{location}/statusCode"),
                        "must be an HTTP status code",
                    )
                })?;
            Some(status)
        }
    };

    let mut headers = Vec::new();
    if let Some(parameters) = definition.get("responseParameters") {
        let parameters = parameters.as_object().ok_or_else(|| {
            SpecError::malformed(format!("{location}/responseParameters"), "must be a map")
        })?;
        for (key, value) in parameters {
            let here = format!("{location}/responseParameters/{key}");
            let name = key
                .strip_prefix(HEADER_PREFIX)
                .and_then(|name| HeaderName::from_bytes(name.as_bytes()).ok())
                .ok_or_else(|| {
                    SpecError::malformed(&here, "keys are gatewayresponse.header.<header name>")
                })?;
            let source = value.as_str().and_then(header_source).ok_or_else(|| {
                SpecError::malformed(
                    &here,
                    "values are a quoted literal ('value') or a method.request.*, context.* \
                         or stageVariables.* reference",
                )
            })?;
            headers.push((name, source));
        }
    }

    let mut templates = BTreeMap::new();
    if let Some(map) = definition.get("responseTemplates") {
        let map = map.as_object().ok_or_else(|| {
            SpecError::malformed(format!("{location}/responseTemplates"), "must be a map")
        })?;
        for (content_type, template) in map {
            let template = template.as_str().ok_or_else(|| {
                SpecError::malformed(
                    format!("{location}/responseTemplates/{content_type}"),
                    "must be a string",
                )
            })?;
            templates.insert(content_type.clone(), template.to_owned());
        }
    }
    Ok(Definition {
        status,
        headers,
        templates,
    })
}

fn header_source(value: &str) -> Option<HeaderSource> {
    if let Some(literal) = value
        .strip_prefix('\'')
        .and_then(|rest| rest.strip_suffix('\''))
    {
        return HeaderValue::from_str(literal)
            .ok()
            .map(HeaderSource::Static);
    }
    if let Some(name) = value.strip_prefix("method.request.header.") {
        return Some(HeaderSource::RequestHeader(name.to_owned()));
    }
    if let Some(name) = value.strip_prefix("method.request.querystring.") {
        return Some(HeaderSource::RequestQuery(name.to_owned()));
    }
    if let Some(name) = value.strip_prefix("method.request.path.") {
        return Some(HeaderSource::RequestPath(name.to_owned()));
    }
    if let Some(name) = value.strip_prefix("context.") {
        return Some(HeaderSource::Context(name.to_owned()));
    }
    if value.starts_with("stageVariables.") {
        return Some(HeaderSource::StageVariable);
    }
    None
}

fn header_value(
    source: &HeaderSource,
    request: Option<&RoutedRequest>,
    context: &[(&str, &str)],
) -> Option<HeaderValue> {
    let text = match source {
        HeaderSource::Static(value) => return Some(value.clone()),
        HeaderSource::RequestHeader(name) => {
            return request?.headers.get(name.as_str()).cloned();
        }
        HeaderSource::RequestQuery(name) => request?.query.first(name)?,
        HeaderSource::RequestPath(name) => request?.path_parameters.get(name)?.clone(),
        HeaderSource::Context(name) => context
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| (*value).to_owned())?,
        HeaderSource::StageVariable => return None,
    };
    HeaderValue::from_str(&text).ok()
}

/// Substitutes `$context` references in `template`.
fn render_template(template: &str, error: &GatewayResponse, context: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + error.message.len());
    let mut rest = template;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let after = after.strip_prefix('!').unwrap_or(after);
        let (name, consumed) = if let Some(formal) = after.strip_prefix("{context.") {
            match formal.find('}') {
                Some(end) => (Some(&formal[..end]), "{context.".len() + end + 1),
                None => (None, 0),
            }
        } else if let Some(plain) = after.strip_prefix("context.") {
            let length = plain
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
                .unwrap_or(plain.len());
            let name = plain[..length].trim_end_matches('.');
            (Some(name), "context.".len() + name.len())
        } else {
            (None, 0)
        };
        match name {
            Some(name) => {
                out.push_str(&context_variable(name, error, context));
                let bang = usize::from(rest[start + 1..].starts_with('!'));
                rest = &rest[start + 1 + bang + consumed..];
            }
            None => {
                out.push('$');
                rest = &rest[start + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn context_variable(name: &str, error: &GatewayResponse, context: &[(&str, &str)]) -> String {
    match name {
        "error.message" => error.message.clone(),
        "error.messageString" => serde_json::to_string(&error.message).expect("strings serialise"),
        "error.responseType" => error.response_type.to_owned(),
        "error.validationErrorString" => error.validation_error_string.clone(),
        other => context
            .iter()
            .find(|(key, _)| *key == other)
            .map(|(_, value)| (*value).to_owned())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error() -> GatewayResponse {
        GatewayResponse {
            response_type: "BAD_REQUEST_BODY",
            status: StatusCode::BAD_REQUEST,
            error_type: Some("BadRequestException"),
            message: "Invalid request body".to_owned(),
            validation_error_string: r#"[object has missing required properties ([\"name\"])]"#
                .to_owned(),
        }
    }

    #[test]
    fn templates_substitute_plain_formal_and_quiet_references() {
        let rendered = render_template(
            r#"{"m":$context.error.messageString,"t":"${context.error.responseType}","v":"$!context.error.validationErrorString","id":"$context.requestId","u":"$context.unknown."}"#,
            &error(),
            &[("requestId", "abc-123")],
        );
        assert_eq!(
            rendered,
            r#"{"m":"Invalid request body","t":"BAD_REQUEST_BODY","v":"[object has missing required properties ([\"name\"])]","id":"abc-123","u":"."}"#
        );
        let parsed: Value = serde_json::from_str(&rendered).expect("the output is JSON");
        assert_eq!(
            parsed["v"],
            r#"[object has missing required properties (["name"])]"#
        );
    }

    #[test]
    fn dollar_signs_that_are_not_context_references_are_kept() {
        assert_eq!(
            render_template("costs $5 and ${other}", &error(), &[]),
            "costs $5 and ${other}"
        );
    }
}
