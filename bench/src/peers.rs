//! The processes compared: the local Bedrock endpoint both gateways call, quarry's gateway
//! (`quarry-bench-gateway`, the invoke function's Router), the local stack (`quarry-local`), and
//! LiteLLM's proxy configured with one Bedrock model whose runtime endpoint is the local endpoint.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::error::{BenchError, Result};
use crate::process::{Ready, Server};
use crate::setup::{Setup, free_port};

/// The model both gateways are asked for: listed in `quarry.toml` and served by the local endpoint
/// (through Converse, by quarry and by LiteLLM alike).
pub const MODEL: &str = "amazon.nova-lite-v1:0";

/// The key callers send to either gateway.
pub const API_KEY: &str = "sk-quarry-bench";

const SYSTEM: &str = "The office opens at 9am. Parking is free for visitors.";
const QUESTION: &str = "When does the office open?";

/// The OpenAI chat completion request sent to both gateways.
pub fn chat_body(stream: bool) -> String {
    serde_json::json!({
        "model": MODEL,
        "stream": stream,
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": QUESTION},
        ],
    })
    .to_string()
}

/// The Converse request the gateways make of it, sent to the endpoint directly.
pub fn converse_body() -> String {
    serde_json::json!({
        "system": [{"text": SYSTEM}],
        "messages": [{"role": "user", "content": [{"text": QUESTION}]}],
    })
    .to_string()
}

/// The endpoint path of a direct Converse (or ConverseStream) call.
pub fn converse_path(stream: bool) -> String {
    format!("/model/{MODEL}/{}", if stream { "converse-stream" } else { "converse" })
}

/// Starts the release `quarry-local bedrock` on a free port, answering after `latency_ms`.
pub fn start_endpoint(setup: &Setup, dir: &Path, latency_ms: u64) -> Result<Server> {
    let binary = setup.release_bin("quarry-local");
    setup.require(&binary, "cargo build --release -p quarry-local")?;
    let port_file = dir.join(format!("bedrock-{latency_ms}.url"));
    let mut command = Command::new(binary);
    command.args(["bedrock", "--port", "0", "--port-file"]).arg(&port_file);
    if latency_ms > 0 {
        command.arg("--faults").arg(format!("latency_ms={latency_ms}"));
    }
    command.env("RUST_LOG", "warn");
    Server::start(
        &format!("bedrock-{latency_ms}ms"),
        command,
        dir,
        Ready::PortFile(port_file),
        Duration::from_secs(30),
    )
}

/// The command that starts quarry's gateway over `bedrock_url`, writing its URL to `port_file`
/// (with TCP_NODELAY, as LiteLLM's proxy has; `nagle` leaves it off).
pub fn quarry_command(
    setup: &Setup,
    bedrock_url: &str,
    port_file: &Path,
    nagle: bool,
) -> Result<Command> {
    let binary = setup.release_bin("quarry-bench-gateway");
    setup.require(&binary, "cargo build --release -p quarry-bench")?;
    let mut command = Command::new(binary);
    command
        .arg("--bedrock-url")
        .arg(bedrock_url)
        .arg("--config")
        .arg(setup.quarry_toml())
        .args(["--api-key", API_KEY, "--port", "0", "--port-file"])
        .arg(port_file);
    if nagle {
        command.arg("--nagle");
    }
    Ok(command)
}

/// Starts quarry's gateway over `bedrock_url` (`nagle`: without TCP_NODELAY).
pub fn start_quarry(setup: &Setup, dir: &Path, bedrock_url: &str, nagle: bool) -> Result<Server> {
    let name = if nagle { "quarry-nagle" } else { "quarry" };
    let port_file = dir.join(format!("{name}.url"));
    let _ = std::fs::remove_file(&port_file);
    let command = quarry_command(setup, bedrock_url, &port_file, nagle)?;
    Server::start(name, command, dir, Ready::PortFile(port_file), Duration::from_secs(30))
}

/// The command that starts the local stack (quarry's API and its own Bedrock endpoint in one
/// process), writing its API URL to `port_file`.
pub fn stack_command(setup: &Setup, data_dir: &Path, port_file: &Path) -> Result<Command> {
    let binary = setup.release_bin("quarry-local");
    setup.require(&binary, "cargo build --release -p quarry-local")?;
    let mut command = Command::new(binary);
    command
        .arg("--config")
        .arg(setup.quarry_toml())
        .args(["--api-port", "0", "--api-key", API_KEY, "--data-dir"])
        .arg(data_dir)
        .arg("--port-file")
        .arg(port_file);
    Ok(command)
}

/// Writes LiteLLM's proxy config: the one model, on Bedrock, with its runtime endpoint the local
/// endpoint (`aws_bedrock_runtime_endpoint`) and dummy credentials; the master key is the key
/// callers send. No database: keys are not stored.
pub fn litellm_config(dir: &Path, bedrock_url: &str) -> Result<PathBuf> {
    let path = dir.join("litellm.yaml");
    let text = format!(
        "model_list:\n  - model_name: {MODEL}\n    litellm_params:\n      model: bedrock/{MODEL}\n      \
         aws_region_name: us-east-1\n      aws_access_key_id: local\n      aws_secret_access_key: local\n      \
         aws_bedrock_runtime_endpoint: {bedrock_url}\ngeneral_settings:\n  master_key: {API_KEY}\n"
    );
    std::fs::write(&path, text).map_err(BenchError::at("writing", &path))?;
    Ok(path)
}

/// The command that starts LiteLLM's proxy with `config` on `port` (`python -m
/// litellm.proxy.proxy_cli`, what its `litellm` script runs): one worker (its default), the model
/// price map read from the package rather than fetched.
pub fn litellm_command(setup: &Setup, config: &Path, port: u16) -> Result<Command> {
    setup.require(&setup.python, "bench/run installs litellm[proxy] into a venv")?;
    let mut command = Command::new(&setup.python);
    command
        .args(["-m", "litellm.proxy.proxy_cli", "--config"])
        .arg(config)
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--num_workers", "1"])
        .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        .env("PYTHONUNBUFFERED", "1");
    Ok(command)
}

/// Starts LiteLLM's proxy over `bedrock_url` and waits for its liveness route (2 minutes at most).
pub fn start_litellm(setup: &Setup, dir: &Path, bedrock_url: &str) -> Result<Server> {
    let config = litellm_config(dir, bedrock_url)?;
    let port = free_port()?;
    let command = litellm_command(setup, &config, port)?;
    Server::start(
        "litellm",
        command,
        dir,
        Ready::Health {
            url: format!("http://127.0.0.1:{port}"),
            path: "/health/liveliness".into(),
        },
        Duration::from_secs(120),
    )
}

/// LiteLLM's version, from the venv's pip metadata.
pub fn litellm_version(setup: &Setup) -> String {
    let output = Command::new(&setup.python)
        .args(["-c", "import importlib.metadata as m; print(m.version('litellm'))"])
        .output();
    match output {
        Ok(output) if output.status.success() => {
            String::from_utf8_lossy(&output.stdout).trim().to_owned()
        }
        Ok(output) => format!("unknown ({})", String::from_utf8_lossy(&output.stderr).trim()),
        Err(error) => format!("unavailable: {error}"),
    }
}
