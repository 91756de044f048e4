//! What the gateway prints when it starts: where it listens, which store the functions use, the
//! local SigV4 credentials, and the route table, so that a developer can copy a URL and go.

use std::fmt::Write as _;

use crate::config::{ApiConfig, sqlite_path};
use crate::server::Gateway;
use crate::settings::{LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY, Settings, StoreKind};

/// The startup text.
pub fn render(gateway: &Gateway, settings: &Settings) -> String {
    let config = gateway.config();
    let mut out = String::new();
    let url = gateway.url();
    let _ = writeln!(out, "Rill local API Gateway");
    let _ = writeln!(
        out,
        "  API        {} (REST) from {}, stage `{}`",
        config.api_logical_id,
        config.template_path.display(),
        config.stage
    );
    let _ = writeln!(out, "  URL        {url}");
    let store = match settings.store {
        StoreKind::Sqlite => format!("sqlite ({})", sqlite_path(&settings.data_dir).display()),
        StoreKind::Dynamodb => format!(
            "dynamodb (endpoint: {})",
            std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
                .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
                .unwrap_or_else(|_| "AWS default".to_owned())
        ),
    };
    let _ = writeln!(out, "  Store      {store}");
    let _ = writeln!(
        out,
        "  Functions  binaries from {}, up to {} instance(s) each",
        settings.bin_dir.display(),
        settings.concurrency
    );
    let guards: Vec<&str> = gateway.guards().iter().map(|g| g.name()).collect();
    let _ = writeln!(
        out,
        "  Checks     {}",
        if guards.is_empty() {
            "none (requests are not authenticated)".to_owned()
        } else {
            guards.join(", ")
        }
    );
    let _ = writeln!(
        out,
        "  SigV4      access key {LOCAL_ACCESS_KEY_ID}, secret key {LOCAL_SECRET_ACCESS_KEY}, region {}, service execute-api",
        settings.region
    );
    out.push_str(&routes_table(config, gateway));
    if !config.warnings.is_empty() {
        let _ = writeln!(out, "\nWarnings:");
        for warning in &config.warnings {
            let _ = writeln!(out, "  - {warning}");
        }
    }
    out
}

/// The route table: method, path with stage, function, transfer mode, integration timeout.
pub fn routes_table(config: &ApiConfig, gateway: &Gateway) -> String {
    let rows: Vec<[String; 5]> = config
        .routes
        .routes()
        .into_iter()
        .map(|route| {
            let function = &route.integration.function;
            let binary = config.functions[function].binary.as_deref().unwrap_or("?");
            let concurrency = gateway.concurrency(function).unwrap_or(0);
            [
                route.method.to_string(),
                format!(
                    "/{}{}",
                    config.stage,
                    route.resource_path.trim_end_matches('/')
                ),
                format!("{function} ({binary}, max {concurrency})"),
                route.integration.transfer_mode.as_str().to_owned(),
                format!("{} ms", route.integration.timeout.as_millis()),
            ]
        })
        .collect();
    let header = ["METHOD", "PATH", "FUNCTION", "MODE", "TIMEOUT"].map(str::to_owned);
    let mut widths = [0; 5];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let mut out = String::from("\n");
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        let _ = writeln!(out, "  {}", line.join("  ").trim_end());
    }
    out
}
