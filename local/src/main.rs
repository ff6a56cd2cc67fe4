//! `quarry-local`: runs quarry's local stand-ins for AWS on this machine.
//!
//! `quarry-local` (no subcommand) runs the local stack ([`quarry_local::stack`]) on 127.0.0.1, set
//! up from `quarry.toml` (`--config`): quarry's API on `--api-port` (default 3000), the local S3
//! on `--s3-port` (default 3001) whose `documents` bucket is ingested, the local Bedrock endpoint
//! (`--bedrock-port`, default a free port), the ingest and catalog-sync handlers, and the SQLite
//! vector store, all state under `--data-dir` (default `.quarry/`). It prints the URLs, the API key
//! (`--api-key` / `QUARRY_API_KEY`, else one generated for the run) and examples; ctrl-c or
//! SIGTERM stops it without losing an acknowledged document. `--port-file <path>` writes the API
//! URL to a file once it listens.
//!
//! `quarry-local put <files or folders>` uploads files to the running stack's documents bucket
//! (found through `<data-dir>/stack.json`) with a progress bar; `--wait` waits until they are
//! ingested and names those that failed.
//!
//! `quarry-local bedrock --port <PORT>` serves the Bedrock-compatible endpoint (bedrock-runtime and
//! the bedrock control plane on one port) alone on 127.0.0.1 and prints one line
//! `quarry local bedrock endpoint: http://127.0.0.1:PORT`; ctrl-c or SIGTERM stops it.
//! `--region` and `--catalog <file>` choose the catalog; `--port-file <path>` also writes the URL to
//! a file once the port is bound (for scripts that start it on port 0).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use quarry::config::{ConfigError, QuarryConfig};
use quarry_local::bedrock::CatalogSource;
use quarry_local::bedrock::guardrail::LocalGuardrail;
use quarry_local::catalog::Catalog;
use quarry_local::faults::{FAULTS_ENV, FaultConfig};
use quarry_local::put;
use quarry_local::stack::state::StackState;
use quarry_local::stack::{self, StackOptions, clients};
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
    /// The local S3's port on 127.0.0.1 (0 picks a free port).
    #[arg(long, default_value_t = stack::DEFAULT_S3_PORT)]
    s3_port: u16,
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
    /// Upload files or folders to the running stack's documents bucket, to be ingested.
    Put(PutArgs),
}

#[derive(Debug, Args)]
struct PutArgs {
    /// Files, or folders (uploaded recursively, hidden files skipped; keys are paths below them).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// The data directory of the running stack (where its stack.json is).
    #[arg(long, value_name = "DIR", default_value = stack::DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
    /// The local S3 to upload to, instead of the one the data directory's stack runs.
    #[arg(long, value_name = "URL")]
    s3_url: Option<String>,
    /// The bucket to upload to.
    #[arg(long, default_value = stack::DOCUMENTS_BUCKET)]
    bucket: String,
    /// A key prefix for every upload, e.g. `handbook/`.
    #[arg(long)]
    prefix: Option<String>,
    /// Wait until every file is ingested (or dead-lettered), then say how it went.
    #[arg(long)]
    wait: bool,
    /// How long --wait waits, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    wait_timeout: u64,
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
        Some(Command::Put(args)) => run_put(args).await,
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
        s3_port: args.s3_port,
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

async fn run_put(args: PutArgs) -> Result<(), String> {
    let (s3_url, region) = match args.s3_url {
        Some(url) => (url, Catalog::DEFAULT_REGION.to_owned()),
        None => {
            let state = StackState::of_running(&args.data_dir).map_err(|e| e.to_string())?;
            (state.s3_url, state.region)
        }
    };
    let uploads = put::plan(&args.paths, args.prefix.as_deref()).map_err(|e| e.to_string())?;
    let total_bytes: u64 = uploads.iter().map(|u| u.bytes).sum();
    let s3 = clients::s3(&s3_url, &region);
    let known_dead = if args.wait {
        put::dead_letter_ids(&s3_url).await.map_err(|e| e.to_string())?
    } else {
        Default::default()
    };
    let bar = ProgressBar::new(total_bytes).with_style(
        ProgressStyle::with_template(
            "{msg:>10} files [{bar:30}] {binary_bytes}/{binary_total_bytes}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message("uploading");
    let mut stored = 0usize;
    let count = uploads.len();
    put::upload(&s3, &args.bucket, &uploads, |upload| {
        stored += 1;
        bar.inc(upload.bytes);
        bar.set_message(format!("{stored}/{count}"));
    })
    .await
    .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    tracing::info!(files = count, bytes = total_bytes, bucket = %args.bucket, "uploaded");
    if !args.wait {
        return Ok(());
    }
    let keys: Vec<String> = uploads.iter().map(|u| u.key.clone()).collect();
    let waiting = ProgressBar::new(count as u64).with_style(
        ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len} ingested")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    waiting.set_message("ingesting");
    let result = put::wait_until_ingested(
        &s3_url,
        &args.bucket,
        &keys,
        &known_dead,
        Duration::from_secs(args.wait_timeout),
        |left| waiting.set_position((count - left.min(count)) as u64),
    )
    .await
    .map_err(|e| e.to_string())?;
    waiting.finish_and_clear();
    if result.dead_lettered.is_empty() {
        tracing::info!(
            files = count,
            "every file was processed (the stack's log has each outcome)"
        );
        Ok(())
    } else {
        Err(format!(
            "{} of {count} file(s) could not be ingested and went to the dead-letter list: {} (the stack's log says why; GET {s3_url}/_quarry/queue lists them)",
            result.dead_lettered.len(),
            result.dead_lettered.join(", ")
        ))
    }
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
