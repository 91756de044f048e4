//! Reading templates: the fixture, the workspace's real template, and configuration errors.

use std::process::Command;

use rill_gateway::Settings;
use rill_gateway::config::{self, ConfigError, RouteMethod, TransferMode};

use crate::support::{
    check_fixture, fixture_bin_dir, fixture_template, gateway_binary, workspace_dir,
};

fn fixture_settings() -> Settings {
    Settings::new(fixture_template(), fixture_bin_dir(), std::env::temp_dir())
}

#[test]
fn the_fixture_template_loads_with_its_routes_and_warnings() {
    let config = config::load(&fixture_settings()).unwrap();
    assert_eq!(config.stage, "test");
    assert_eq!(config.api_logical_id, "Api");
    let routes = config.routes.routes();
    assert!(routes.iter().any(
        |r| r.resource_path == "/stream" && r.integration.transfer_mode == TransferMode::Stream
    ));
    let any = routes
        .iter()
        .find(|r| r.resource_path == "/files/{proxy+}")
        .unwrap();
    assert_eq!(any.method, RouteMethod::Any);
    assert_eq!(
        any.operation_pointer,
        "/paths/~1files~1{proxy+}/x-amazon-apigateway-any-method"
    );
    assert_eq!(
        config.binary_media_types,
        ["application/octet-stream", "image/*"]
    );
    let slow = &config.functions["SlowFunction"];
    assert_eq!(slow.timeout.as_secs(), 1);
    assert_eq!(slow.memory_mb, 256);
    assert_eq!(
        config.functions["ReservedFunction"].reserved_concurrency,
        Some(1)
    );
    let warnings = config.warnings.join("\n");
    assert!(
        warnings.contains("GET /mock: integration type `mock` is not run locally"),
        "{warnings}"
    );
    assert!(
        warnings.contains("FROM_SECRETS_MANAGER is not set locally"),
        "{warnings}"
    );
    assert!(
        warnings.contains("SECRET_PARAMETER is not set locally"),
        "{warnings}"
    );
    assert!(
        !warnings.contains("short-form"),
        "the fixture's OpenAPI uses long forms: {warnings}"
    );
}

#[test]
fn the_workspace_template_serves_every_conventional_route() {
    // Given the product's template and OpenAPI definition
    let settings = Settings::new(
        workspace_dir().join("template.yaml"),
        fixture_bin_dir(),
        std::env::temp_dir(),
    );
    let config = config::load(&settings).unwrap_or_else(|e| panic!("{e}"));
    // Then every agreed route is served by the agreed function, in the agreed mode
    assert_eq!(config.stage, "dev");
    let expected = [
        ("POST", "/users", "UsersFunction"),
        ("GET", "/users", "UsersFunction"),
        ("GET", "/users/{userId}", "UsersFunction"),
        ("PATCH", "/users/{userId}", "UsersFunction"),
        ("DELETE", "/users/{userId}", "UsersFunction"),
        ("GET", "/users/{userId}/orders", "UsersFunction"),
        ("POST", "/orders", "OrdersFunction"),
        ("GET", "/orders", "OrdersFunction"),
        ("GET", "/orders/{orderId}", "OrdersFunction"),
        ("PATCH", "/orders/{orderId}", "OrdersFunction"),
        ("GET", "/exports/orders", "ExportFunction"),
        ("GET", "/exports/users", "ExportFunction"),
    ];
    let routes = config.routes.routes();
    for (method, path, function) in expected {
        let route = routes
            .iter()
            .find(|r| r.method.to_string() == method && r.resource_path == path)
            .unwrap_or_else(|| panic!("{method} {path} is not served"));
        assert_eq!(route.integration.function, function, "{method} {path}");
        let mode = if path.starts_with("/exports") {
            TransferMode::Stream
        } else {
            TransferMode::Buffered
        };
        assert_eq!(route.integration.transfer_mode, mode, "{method} {path}");
    }
    for (function, binary) in [
        ("UsersFunction", "users"),
        ("OrdersFunction", "orders"),
        ("ExportFunction", "export"),
    ] {
        assert_eq!(config.functions[function].binary.as_deref(), Some(binary));
    }
}

#[test]
fn a_stream_mode_that_contradicts_the_uri_fails_at_startup() {
    // Given a copy of the fixture whose /stream route keeps STREAM but calls the buffered API
    let dir = tempfile::tempdir().unwrap();
    let fixtures = fixture_template().parent().unwrap().to_path_buf();
    std::fs::copy(fixture_template(), dir.path().join("template.yaml")).unwrap();
    let openapi = std::fs::read_to_string(fixtures.join("openapi.yaml")).unwrap();
    let broken = openapi.replacen(
        "2021-11-15/functions/${FixtureFunction.Arn}/response-streaming-invocations",
        "2015-03-31/functions/${FixtureFunction.Arn}/invocations",
        1,
    );
    assert_ne!(openapi, broken);
    std::fs::write(dir.path().join("openapi.yaml"), broken).unwrap();
    // When it is loaded
    let settings = Settings::new(
        dir.path().join("template.yaml"),
        fixture_bin_dir(),
        dir.path(),
    );
    let error = config::load(&settings).unwrap_err();
    // Then the error names the route and the fix
    let ConfigError::Invalid { errors, .. } = &error else {
        panic!("{error}")
    };
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with(
            "GET /stream: responseTransferMode is STREAM but the uri calls the buffered Invoke API"
        ),
        "{}",
        errors[0]
    );
}

#[test]
fn check_mode_prints_the_banner_and_exits() {
    let output = check_fixture(&[], &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("stage `test`"), "{stdout}");
    assert!(stdout.contains("AKIDLOCALRILL0000000"), "{stdout}");
    assert!(stdout.contains("Store      sqlite"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("GET") && l.contains("/test/stream") && l.contains("STREAM")),
        "{stdout}"
    );
    assert!(stdout.contains("Warnings:"), "{stdout}");
}

/// Runs `rill-gateway --check` on `template`, asserts that it refuses to start, and returns what it
/// printed on stderr.
fn refused_check(template: &std::path::Path) -> String {
    let output = Command::new(gateway_binary())
        .args(["--template", template.to_str().unwrap(), "--check"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_broken_template_exits_with_every_error_listed() {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("template.yaml");
    std::fs::write(
        &template,
        "Resources:\n  Api:\n    Type: AWS::Serverless::Api\n    Properties:\n      StageName: dev\n      DefinitionBody:\n        paths:\n          /a:\n            get:\n              x-amazon-apigateway-integration:\n                type: aws_proxy\n                httpMethod: POST\n                uri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Ghost.Arn}/invocations\n",
    )
    .unwrap();
    let stderr = refused_check(&template);
    assert!(stderr.contains("configuration error"), "{stderr}");
    assert!(stderr.contains("Ghost"), "{stderr}");
}

#[test]
fn operations_that_inherit_the_top_level_security_are_refused_by_name() {
    // Given a definition whose SigV4 requirement is declared at the top, and on one operation only
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("template.yaml");
    let integration = "x-amazon-apigateway-integration: {type: aws_proxy, httpMethod: POST, \
        uri: !Sub 'arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}/invocations'}";
    std::fs::write(
        &template,
        format!(
            "Resources:
  Fn:
    Type: AWS::Serverless::Function
    Metadata: {{BuildMethod: rust-cargolambda, BuildProperties: {{Binary: fn}}}}
    Properties: {{Handler: bootstrap, Runtime: provided.al2023, CodeUri: fn}}
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: dev
      DefinitionBody:
        security: [{{sigv4: []}}]
        components:
          securitySchemes:
            sigv4: {{type: apiKey, name: Authorization, in: header, x-amazon-apigateway-authtype: awsSigv4}}
        paths:
          /a:
            get:
              security: [{{sigv4: []}}]
              {integration}
            post:
              {integration}
          /b:
            delete:
              {integration}
"
        ),
    )
    .unwrap();
    // When the gateway checks it, then it refuses to start, naming each inheriting operation and
    // not the one that declares its own requirement
    let stderr = refused_check(&template);
    assert!(stderr.contains("POST /a"), "{stderr}");
    assert!(stderr.contains("DELETE /b"), "{stderr}");
    assert!(!stderr.contains("GET /a"), "{stderr}");
    assert!(stderr.contains("top-level `security`"), "{stderr}");
}

#[test]
fn a_variable_the_env_vars_file_provides_is_not_reported_as_missing() {
    // Given an --env-vars file that supplies the Secrets Manager value
    let dir = tempfile::tempdir().unwrap();
    let env_vars = dir.path().join("env.json");
    std::fs::write(
        &env_vars,
        r#"{"FixtureFunction": {"FROM_SECRETS_MANAGER": "local"}}"#,
    )
    .unwrap();
    let mut settings = fixture_settings();
    settings.env_vars = Some(env_vars);
    // When the template is loaded
    let config = config::load(&settings).unwrap();
    // Then only the still-missing variable is reported
    let warnings = config.warnings.join("\n");
    assert!(!warnings.contains("FROM_SECRETS_MANAGER"), "{warnings}");
    assert!(
        warnings.contains("SECRET_PARAMETER is not set locally"),
        "{warnings}"
    );
    assert_eq!(
        config.functions["FixtureFunction"].environment["FROM_SECRETS_MANAGER"],
        "local"
    );
}
