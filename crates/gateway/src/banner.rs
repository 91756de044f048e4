//! What the gateway prints when it starts: where it listens, which store the functions use, the
//! local SigV4 credentials, and the route table, so that a developer can copy a URL and go.
//!
//! With `--no-auth` it also prints [`no_auth_warning`], a box on stderr that cannot be missed:
//! a gateway that lets every request in must never be mistaken for one that does not.

use std::fmt::Write as _;
use std::net::SocketAddr;

use crate::config::{ApiConfig, sqlite_path};
use crate::server::Gateway;
use crate::settings::{Settings, StoreKind};
use crate::sigv4::LocalCredentials;

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
        "  Functions  binaries from {}, up to {} instance(s) each{}",
        settings.bin_dir.display(),
        settings.concurrency,
        if settings.watch {
            "; rebuilt and reloaded when their sources change, the API when its files do (--watch)"
        } else {
            ""
        }
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
    let _ = writeln!(out, "  SigV4      {}", sigv4_line(settings));
    out.push_str(&routes_table(&config, gateway));
    if !config.warnings.is_empty() {
        let _ = writeln!(out, "\nWarnings:");
        for warning in &config.warnings {
            let _ = writeln!(out, "  - {warning}");
        }
    }
    out
}

/// What the banner says about SigV4: off, or the credentials to sign with. The documented
/// defaults are printed in full (they open nothing but this gateway); a secret given on the command
/// line or in the environment is not.
fn sigv4_line(settings: &Settings) -> String {
    if settings.no_auth {
        return "OFF (--no-auth): signatures are NOT verified; any request is let in".to_owned();
    }
    let credentials = &settings.credentials;
    let secret = if credentials.secret_access_key == LocalCredentials::DEFAULT_SECRET_ACCESS_KEY {
        format!("secret key {}", credentials.secret_access_key)
    } else {
        "secret key as configured (not shown)".to_owned()
    };
    let token = if credentials.session_token.is_some() {
        ", session token required"
    } else {
        ""
    };
    format!(
        "access key {}, {secret}{token}, region {}, service execute-api",
        credentials.access_key_id, settings.region
    )
}

/// The warning `--no-auth` prints on stderr at startup for a gateway listening on `address`, or
/// `None` when SigV4 is verified.
pub fn no_auth_warning(settings: &Settings, address: SocketAddr) -> Option<String> {
    if !settings.no_auth {
        return None;
    }
    let lines = [
        "WARNING: --no-auth: SigV4 is NOT verified; any request is let in.".to_owned(),
        format!("Anyone who can reach {address} can call every route as if signed."),
        "Never expose this port. Drop --no-auth to test what AWS will enforce.".to_owned(),
    ];
    let width = lines.iter().map(String::len).max().unwrap_or(0);
    let rule = "!".repeat(width + 6);
    let mut out = format!("{rule}\n");
    for line in &lines {
        let _ = writeln!(out, "!! {line:<width$} !!");
    }
    let _ = writeln!(out, "{rule}");
    Some(out)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_auth_warning_is_a_box_that_says_signatures_are_not_verified() {
        let mut settings = Settings::new("template.yaml", "target/debug", ".local");
        let address: SocketAddr = "127.0.0.1:3000".parse().unwrap();
        assert_eq!(no_auth_warning(&settings, address), None);
        settings.no_auth = true;
        let warning = no_auth_warning(&settings, address).unwrap();
        assert!(
            warning.contains("WARNING: --no-auth: SigV4 is NOT verified; any request is let in.")
        );
        assert!(warning.contains("Never expose this port."));
        assert!(warning.contains("127.0.0.1:3000"));
        let widths: Vec<usize> = warning.lines().map(str::len).collect();
        assert!(widths.len() >= 5, "{warning}");
        assert!(widths.iter().all(|w| *w == widths[0]), "{warning}");
    }

    #[test]
    fn the_sigv4_line_shows_auth_off_or_the_credentials_without_a_configured_secret() {
        let mut settings = Settings::new("template.yaml", "target/debug", ".local");
        let line = sigv4_line(&settings);
        assert!(
            line.contains(LocalCredentials::DEFAULT_ACCESS_KEY_ID),
            "{line}"
        );
        assert!(
            line.contains(LocalCredentials::DEFAULT_SECRET_ACCESS_KEY),
            "{line}"
        );
        settings.credentials = LocalCredentials::new("AKIDOTHER", "s3cret").with_session_token("t");
        let line = sigv4_line(&settings);
        assert!(line.contains("AKIDOTHER"), "{line}");
        assert!(!line.contains("s3cret"), "{line}");
        assert!(line.contains("session token required"), "{line}");
        settings.no_auth = true;
        assert!(sigv4_line(&settings).starts_with("OFF (--no-auth)"));
    }
}
