//! `quarry-bench-gateway`: quarry's API — the invoke function's axum Router, exactly as the Lambda
//! and the local stack serve it — on 127.0.0.1, calling the Bedrock endpoint at `--bedrock-url`.
//!
//! The local stack (`quarry-local`) runs its own Bedrock endpoint in the same process; for the
//! benchmarks the gateway must be a process of its own, calling the same endpoint process LiteLLM's
//! proxy calls, so that only the gateways differ. Settings come from `quarry.toml` (`--config`) as
//! the local stack reads them; the Bedrock client is the local stack's (dummy credentials, the
//! SDK's standard retries, nothing read from `~/.aws`). Callers send `Authorization: Bearer
//! <--api-key>`. The URL is written to `--port-file` once the port listens; SIGTERM or ctrl-c stop.
//! Accepted connections get TCP_NODELAY, as LiteLLM's proxy's do (asyncio sets it); `--nagle`
//! leaves it off, as `axum::serve` does, to show what that costs a stream.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::ExitCode;

use axum::serve::ListenerExt;
use clap::Parser;
use quarry::config::{AuthConfig, QuarryConfig, StackResources};
use quarry_invoke::auth::hash_api_key;
use quarry_invoke::{AppState, Authenticator};
use tracing_subscriber::EnvFilter;

/// quarry's API over an external Bedrock endpoint, for benchmarks.
#[derive(Debug, Parser)]
#[command(name = "quarry-bench-gateway")]
struct Args {
    /// The Bedrock runtime endpoint to call, e.g. `http://127.0.0.1:4010`.
    #[arg(long)]
    bedrock_url: String,
    /// The quarry.toml to serve.
    #[arg(long, default_value = "quarry.toml")]
    config: PathBuf,
    /// The API key callers send.
    #[arg(long, env = "QUARRY_API_KEY", hide_env_values = true)]
    api_key: String,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Write the URL to this file once the port listens.
    #[arg(long)]
    port_file: Option<PathBuf>,
    /// Leave Nagle's algorithm on (no TCP_NODELAY), as `axum::serve` does by default.
    #[arg(long)]
    nagle: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let config = QuarryConfig::from_path(&args.config).map_err(|e| e.to_string())?;
    let mut settings = config.invoke_settings(&StackResources {
        catalog_bucket: "quarry-bench-catalog".to_owned(),
        vector_bucket: "quarry-bench-vectors".to_owned(),
    });
    let key_hash = hash_api_key(args.api_key.trim());
    settings.auth = AuthConfig::ApiKeys { secret_name: None, key_sha256: vec![key_hash.clone()] };
    let auth = Authenticator::api_keys(&[key_hash]).map_err(|e| e.to_string())?;
    let client =
        quarry_local::stack::clients::bedrock_runtime(&args.bedrock_url, &config.stack.region);
    let router = quarry_invoke::app(AppState::new(client, settings, auth));

    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, args.port))
        .await
        .map_err(|e| format!("could not listen on 127.0.0.1:{}: {e}", args.port))?;
    let addr = listener.local_addr().map_err(|e| format!("no local address: {e}"))?;
    // TCP_NODELAY, as uvicorn (asyncio) sets for LiteLLM's proxy: without it a streamed answer's
    // small writes wait on the caller's delayed ACK (Nagle), about 40 ms per stream on Linux.
    let nodelay = !args.nagle;
    let listener = listener.tap_io(move |tcp| {
        if let Err(error) = tcp.set_nodelay(nodelay) {
            tracing::warn!("could not set TCP_NODELAY: {error}");
        }
    });
    if let Some(path) = &args.port_file {
        let temporary = path.with_extension("tmp");
        std::fs::write(&temporary, format!("http://{addr}\n"))
            .and_then(|()| std::fs::rename(&temporary, path))
            .map_err(|e| format!("could not write {}: {e}", path.display()))?;
    }
    tracing::info!(%addr, bedrock = args.bedrock_url, "quarry gateway listening");
    axum::serve(listener, router)
        .with_graceful_shutdown(stop_signal())
        .await
        .map_err(|e| format!("the server failed: {e}"))
}

/// Resolves on ctrl-c or SIGTERM.
async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        }
        Err(error) => {
            tracing::warn!("could not listen for SIGTERM ({error}); only ctrl-c stops");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
