//! `rill-gateway`: serves a SAM template's REST API locally. See `rill-gateway --help`.

use std::process::ExitCode;

use clap::Parser as _;
use rill_gateway::cli::Cli;
use rill_gateway::{Gateway, GatewayOptions, banner, config, watch};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("RILL_GATEWAY_LOG")
                .unwrap_or_else(|_| EnvFilter::new("rill_gateway=info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    // One thread: a request's stages (listener, invocation, Runtime API) hand off to each other
    // without waking another thread, which on a small machine shared with the client and the
    // function processes cost more than the work itself (docs/benchmark-gaps.md).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = cli.settings();
    let config = config::load(&settings)?;
    if settings.store == rill_gateway::settings::StoreKind::Sqlite {
        std::fs::create_dir_all(&settings.data_dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", settings.data_dir.display()))?;
    }
    let gateway = Gateway::bind(config, &settings, GatewayOptions::for_settings(&settings))
        .await
        .map_err(|e| {
            anyhow::anyhow!("cannot listen on {}:{}: {e}", settings.host, settings.port)
        })?;
    if let Some(warning) = banner::no_auth_warning(&settings, gateway.local_addr()) {
        eprint!("\n{warning}\n");
        tracing::warn!("--no-auth: SigV4 is NOT verified; any request is let in");
    }
    print!("{}", banner::render(&gateway, &settings));
    if cli.check {
        return Ok(());
    }
    // Dropping the watcher stops it, so it lives as long as the server.
    let _watcher = if settings.watch {
        Some(watch::start(
            gateway.handle(),
            &gateway.config(),
            &settings,
        )?)
    } else {
        None
    };
    println!(
        "\nListening on {} (Ctrl-C stops the gateway and every function)",
        gateway.url()
    );
    gateway.serve(shutdown_signal()).await?;
    Ok(())
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM.
async fn shutdown_signal() {
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops the gateway");
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
