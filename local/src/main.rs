//! `quarry-local`: runs quarry's local stand-ins for AWS on this machine.
//!
//! `quarry-local` (no subcommand) runs the local stack ([`quarry_local::stack`]): quarry's API on
//! `--api-port` (default 3000) and the local Bedrock endpoint it calls, both on 127.0.0.1, set up
//! from `quarry.toml` (`--config`). It prints the URLs, the API key (`--api-key` /
//! `QUARRY_API_KEY`, else one generated for the run) and examples; ctrl-c or SIGTERM stops both.
//! `--port-file <path>` writes the API URL to a file once it listens.
//!
//! `quarry-local bedrock --port <PORT>` serves the Bedrock-compatible endpoint (bedrock-runtime and
//! the bedrock control plane on one port) alone on 127.0.0.1 and prints one line
//! `quarry local bedrock endpoint: http://127.0.0.1:PORT`; ctrl-c or SIGTERM stops it.
//! `--region` and `--catalog <file>` choose the catalog; `--port-file <path>` also writes the URL to
//! a file once the port is bound (for scripts that start it on port 0).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use quarry::config::{ConfigError, QuarryConfig};
use quarry_local::bedrock::CatalogSource;
use quarry_local::bedrock::guardrail::LocalGuardrail;
use quarry_local::catalog::Catalog;
use quarry_local::faults::{FAULTS_ENV, FaultConfig};
use quarry_local::stack::{self, StackOptions};
use quarry_local::{BedrockConfig, serve};
use tracing_subscriber::EnvFilter;

/// quarry's local stand-ins for AWS. Without a subcommand: the local stack (quarry's API and the
/// local Bedrock endpoint it calls).
#[derive(Debug, Parser)]
#[command(name = "quarry-local", version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    stack: StackArgs,
}

/// The local stack's options (no subcommand).
#[derive(Debug, Args)]
struct StackArgs {
    /// The quarry.toml to run.
    #[arg(long, value_name = "PATH", default_value = "quarry.toml")]
    config: PathBuf,
    /// The API's port on 127.0.0.1 (0 picks a free port).
    #[arg(long, default_value_t = stack::DEFAULT_API_PORT)]
    api_port: u16,
    /// The local Bedrock endpoint's port on 127.0.0.1 (0 picks a free port).
    #[arg(long, default_value_t = 0)]
    bedrock_port: u16,
    /// The API key callers send (default: a random key generated for this run).
    #[arg(long, env = "QUARRY_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Where local state is kept (created if missing).
    #[arg(long, value_name = "DIR", default_value = stack::DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
    /// Write the API URL to this file once it listens.
    #[arg(long, value_name = "PATH")]
    port_file: Option<PathBuf>,
    /// Faults the local Bedrock endpoint starts with, e.g. `throttle_every=3,latency_ms=50`.
    #[arg(long, env = FAULTS_ENV, value_parser = parse_faults)]
    faults: Option<FaultConfig>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the Bedrock-compatible endpoint (bedrock-runtime and bedrock) alone.
    Bedrock(BedrockArgs),
}

#[derive(Debug, Args)]
struct BedrockArgs {
    /// Port on 127.0.0.1 (0 picks a free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Write the endpoint URL to this file once the port is bound.
    #[arg(long, value_name = "PATH")]
    port_file: Option<PathBuf>,
    /// The AWS Region the endpoint plays: which inference profiles it lists, and its ARNs.
    #[arg(long, env = "QUARRY_LOCAL_REGION", default_value = Catalog::DEFAULT_REGION)]
    region: String,
    /// A catalog data file (the shape of local/data/catalog.json) replacing the built-in catalog.
    #[arg(long = "catalog", env = "QUARRY_LOCAL_CATALOG", value_name = "FILE")]
    catalog_file: Option<PathBuf>,
    /// Faults to switch on, e.g. `throttle_every=3,latency_ms=50`.
    #[arg(long, env = FAULTS_ENV, value_parser = parse_faults)]
    faults: Option<FaultConfig>,
    /// Words the demo guardrail blocks (comma-separated), replacing its default list.
    #[arg(long, env = "QUARRY_LOCAL_BLOCKED_WORDS", value_delimiter = ',')]
    blocked_words: Option<Vec<String>>,
}

fn parse_faults(spec: &str) -> Result<FaultConfig, String> {
    spec.parse().map_err(|e: quarry_local::faults::FaultSpecError| e.to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Bedrock(args)) => run_bedrock(args).await,
        None => run_stack(cli.stack).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

async fn run_bedrock(args: BedrockArgs) -> Result<(), String> {
    let mut guardrail = LocalGuardrail::demo();
    if let Some(words) = args.blocked_words {
        guardrail.blocked_words =
            words.into_iter().map(|w| w.trim().to_owned()).filter(|w| !w.is_empty()).collect();
    }
    let config = BedrockConfig {
        port: args.port,
        faults: args.faults.unwrap_or_default(),
        guardrails: vec![guardrail],
        catalog: CatalogSource::new(args.region, args.catalog_file),
    };
    if config.faults.is_active() {
        tracing::warn!(faults = ?config.faults, "faults switched on");
    }
    let server = serve(config).await.map_err(|e| e.to_string())?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "quarry local bedrock endpoint: {}", server.url())
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("could not print the endpoint URL: {e}"))?;
    drop(stdout);
    if let Some(path) = &args.port_file {
        write_port_file(path, server.url())?;
    }
    wait_for_stop_signal().await?;
    tracing::info!("shutting down");
    server.shutdown().await.map_err(|e| e.to_string())
}

async fn run_stack(args: StackArgs) -> Result<(), String> {
    let config = QuarryConfig::from_path(&args.config).map_err(|error| match &error {
        ConfigError::Read { error: io, .. } if io.kind() == std::io::ErrorKind::NotFound => {
            format!("{error}: run from the directory holding quarry.toml, or pass --config <path>")
        }
        _ => error.to_string(),
    })?;
    let options = StackOptions {
        api_port: args.api_port,
        bedrock_port: args.bedrock_port,
        api_key: args.api_key,
        data_dir: args.data_dir,
        faults: args.faults.unwrap_or_default(),
        ..StackOptions::new(config)
    };
    if options.faults.is_active() {
        tracing::warn!(faults = ?options.faults, "faults switched on");
    }
    let running = stack::start(options).await.map_err(|e| e.to_string())?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", running.banner())
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("could not print the stack's URLs: {e}"))?;
    drop(stdout);
    if let Some(path) = &args.port_file {
        write_port_file(path, running.api_url())?;
    }
    wait_for_stop_signal().await?;
    tracing::info!("shutting down");
    running.shutdown().await.map_err(|e| e.to_string())
}

/// Writes `url` to `path` through a temporary file and a rename, so a reader polling for the file
/// never sees it half written.
fn write_port_file(path: &Path, url: &str) -> Result<(), String> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, format!("{url}\n"))
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|e| format!("could not write the endpoint URL to {}: {e}", path.display()))
}

/// Waits for ctrl-c, or SIGTERM on Unix (what `kill` and CI send).
async fn wait_for_stop_signal() -> Result<(), String> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate())
            .map_err(|e| format!("could not listen for SIGTERM: {e}"))?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result.map_err(|e| format!("could not wait for ctrl-c: {e}")),
            _ = terminate.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.map_err(|e| format!("could not wait for ctrl-c: {e}"))
    }
}
