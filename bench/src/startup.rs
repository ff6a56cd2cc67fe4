//! Figure 2: start-up, from spawning the process to the first chat completion it answers (200),
//! several runs each, median reported: quarry's gateway and the local stack (its release
//! binaries) against LiteLLM's proxy, all calling a local Bedrock endpoint with no added latency.
//! The probe sends `POST /v1/chat/completions` over a fresh connection every few milliseconds
//! until one is answered; connection refusals before the port opens cost microseconds.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{BenchError, Result};
use crate::http;
use crate::peers::{self, API_KEY};
use crate::setup::{Setup, free_port, median};

/// One process's start-up runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Startup {
    /// What was started.
    pub name: String,
    /// Spawn → first answered chat completion, per run, milliseconds.
    pub first_answer_ms: Vec<f64>,
}

impl Startup {
    /// The median run.
    pub fn median_ms(&self) -> f64 {
        median(&self.first_answer_ms)
    }
}

/// Figure 2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartupResults {
    pub quarry_gateway: Startup,
    pub quarry_stack: Startup,
    pub litellm: Option<Startup>,
    pub litellm_error: Option<String>,
}

/// Runs figure 2: `runs` starts of each quarry binary, `litellm_runs` of LiteLLM's proxy.
pub fn run(setup: &Setup, runs: usize, litellm_runs: usize) -> Result<StartupResults> {
    let dir = setup.scratch("startup")?;
    let endpoint = peers::start_endpoint(setup, &dir, 0)?;
    let bedrock_url = endpoint.url().to_owned();

    let mut gateway = Startup { name: "quarry gateway".into(), first_answer_ms: Vec::new() };
    let mut stack = Startup { name: "quarry-local stack".into(), first_answer_ms: Vec::new() };
    for i in 0..runs {
        let port_file = dir.join(format!("gateway-{i}.url"));
        let command = peers::quarry_command(setup, &bedrock_url, &port_file, false)?;
        gateway.first_answer_ms.push(time_first_answer(
            command,
            &Locate::PortFile(&port_file),
            &dir,
        )?);
        let port_file = dir.join(format!("stack-{i}.url"));
        let command =
            peers::stack_command(setup, &dir.join(format!("stack-data-{i}")), &port_file)?;
        stack.first_answer_ms.push(time_first_answer(
            command,
            &Locate::PortFile(&port_file),
            &dir,
        )?);
    }
    eprintln!("quarry gateway start-up: {:?} ms", gateway.first_answer_ms);
    eprintln!("quarry-local stack start-up: {:?} ms", stack.first_answer_ms);

    let mut results = StartupResults {
        quarry_gateway: gateway,
        quarry_stack: stack,
        litellm: None,
        litellm_error: None,
    };
    let config = peers::litellm_config(&dir, &bedrock_url)?;
    let mut litellm = Startup { name: "LiteLLM proxy".into(), first_answer_ms: Vec::new() };
    for _ in 0..litellm_runs {
        let port = free_port()?;
        let measured = peers::litellm_command(setup, &config, port)
            .and_then(|command| time_first_answer(command, &Locate::Port(port), &dir));
        match measured {
            Ok(ms) => litellm.first_answer_ms.push(ms),
            Err(error) => {
                results.litellm_error = Some(error.to_string());
                break;
            }
        }
    }
    eprintln!("LiteLLM start-up: {:?} ms", litellm.first_answer_ms);
    if !litellm.first_answer_ms.is_empty() {
        results.litellm = Some(litellm);
    }
    endpoint.stop()?;
    Ok(results)
}

/// Where the started process listens.
enum Locate<'a> {
    /// It writes its URL to this file.
    PortFile(&'a Path),
    /// On this loopback port.
    Port(u16),
}

/// Spawns `command`, sends chat completions until one is answered 200, stops the process; the
/// time from spawn to that answer in milliseconds (2 minutes at most).
fn time_first_answer(mut command: Command, locate: &Locate<'_>, dir: &Path) -> Result<f64> {
    let log = dir.join("startup-run.log");
    let out = std::fs::File::create(&log).map_err(BenchError::at("creating", &log))?;
    let err = out.try_clone().map_err(BenchError::at("opening", &log))?;
    let body = peers::chat_body(false);
    let auth = format!("Bearer {API_KEY}");
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(BenchError::io(format!("starting {command:?}")))?;
    let deadline = started + Duration::from_secs(120);
    let outcome = loop {
        let url = match locate {
            Locate::PortFile(path) => std::fs::read_to_string(path)
                .ok()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty()),
            Locate::Port(port) => Some(format!("http://127.0.0.1:{port}")),
        };
        if let Some(url) = url
            && let Ok(answer) = http::post_json(
                &url,
                "/v1/chat/completions",
                &[("Authorization", &auth)],
                &body,
                Duration::from_secs(10),
            )
            && answer.status == 200
        {
            break Ok(started.elapsed().as_secs_f64() * 1e3);
        }
        if matches!(child.try_wait(), Ok(Some(_))) || Instant::now() > deadline {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(20).collect();
            break Err(BenchError::NotReady {
                what: format!("{:?}", command.get_program()),
                seconds: 120,
                log: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
            });
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let stop_by = Instant::now() + Duration::from_secs(10);
    while Instant::now() < stop_by && matches!(child.try_wait(), Ok(None)) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    outcome
}
