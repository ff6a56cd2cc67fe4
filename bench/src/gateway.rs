//! Figures 1 and 3: gateway overhead and memory under load. For each endpoint latency (0 and
//! 50 ms) one local Bedrock endpoint process is started; oha loads it directly (the baseline),
//! then quarry's gateway, then LiteLLM's proxy, both calling that endpoint, with
//! `POST /v1/chat/completions` non-streaming and streaming at each concurrency. Each gateway's
//! resident memory is read when it is ready (idle) and after its runs (peak, VmHWM). quarry's
//! gateway sets TCP_NODELAY, as LiteLLM's proxy does; its streams are also measured without it
//! (`axum::serve`'s default, which the local stack uses) to show the ~40 ms Nagle stall.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::load::{self, LoadResult, LoadSpec};
use crate::peers::{self, API_KEY};
use crate::process::Server;
use crate::setup::{Setup, first_line};

/// Concurrency levels of the issue: one caller, a few, many.
pub const CONCURRENCY: [usize; 3] = [1, 8, 64];
/// Endpoint latencies: none (pure gateway cost) and a fixed 50 ms (a fast model).
pub const LATENCIES_MS: [u64; 2] = [0, 50];

/// Who answered a load run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// The local Bedrock endpoint, called directly (Converse / ConverseStream).
    Endpoint,
    /// quarry's gateway.
    Quarry,
    /// LiteLLM's proxy.
    Litellm,
    /// quarry's gateway without TCP_NODELAY (`axum::serve`'s default), streaming only.
    QuarryNagle,
}

/// One load run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub target: Target,
    pub latency_ms: u64,
    pub stream: bool,
    pub concurrency: usize,
    pub load: LoadResult,
}

/// A gateway's resident memory at one endpoint latency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    pub target: Target,
    pub latency_ms: u64,
    /// Resident set once ready, before any request, KiB.
    pub idle_rss_kib: u64,
    /// Peak resident set (VmHWM) after all its load runs, KiB.
    pub peak_rss_kib: u64,
}

/// Figures 1 and 3.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GatewayResults {
    pub runs: Vec<Run>,
    pub memory: Vec<Memory>,
    pub duration_s: f64,
    pub oha_version: String,
    pub litellm_version: String,
    /// Why LiteLLM's proxy could not be measured, when it could not.
    pub litellm_error: Option<String>,
}

/// Runs figures 1 and 3.
pub fn run(setup: &Setup) -> Result<GatewayResults> {
    let dir = setup.scratch("gateway")?;
    let mut results = GatewayResults {
        runs: Vec::new(),
        memory: Vec::new(),
        duration_s: setup.duration.as_secs_f64(),
        oha_version: first_line(&setup.oha, &["--version"]),
        litellm_version: peers::litellm_version(setup),
        litellm_error: None,
    };
    for latency_ms in LATENCIES_MS {
        let endpoint = peers::start_endpoint(setup, &dir, latency_ms)?;
        let bedrock_url = endpoint.url().to_owned();
        eprintln!("endpoint at {latency_ms} ms: {bedrock_url}");
        let direct = |stream: bool, concurrency: usize| LoadSpec {
            url: format!("{bedrock_url}{}", peers::converse_path(stream)),
            body: peers::converse_body(),
            headers: Vec::new(),
            concurrency,
            duration: setup.duration,
        };
        load_all(setup, &dir, Target::Endpoint, latency_ms, &direct, &mut results.runs)?;

        let quarry = peers::start_quarry(setup, &dir, &bedrock_url, false)?;
        measure_gateway(setup, &dir, Target::Quarry, latency_ms, quarry, &mut results)?;

        let nagle = peers::start_quarry(setup, &dir, &bedrock_url, true)?;
        let url = nagle.url().to_owned();
        for concurrency in CONCURRENCY {
            let load = load::run(&setup.oha, &gateway_spec(&url, setup, true, concurrency), &dir)?;
            log_run(Target::QuarryNagle, latency_ms, true, concurrency, &load);
            let target = Target::QuarryNagle;
            results.runs.push(Run { target, latency_ms, stream: true, concurrency, load });
        }
        nagle.stop()?;

        match peers::start_litellm(setup, &dir, &bedrock_url) {
            Ok(litellm) => {
                measure_gateway(setup, &dir, Target::Litellm, latency_ms, litellm, &mut results)?;
            }
            Err(error) => {
                eprintln!("LiteLLM's proxy could not be measured: {error}");
                results.litellm_error = Some(error.to_string());
            }
        }
        endpoint.stop()?;
    }
    Ok(results)
}

fn gateway_spec(url: &str, setup: &Setup, stream: bool, concurrency: usize) -> LoadSpec {
    LoadSpec {
        url: format!("{url}/v1/chat/completions"),
        body: peers::chat_body(stream),
        headers: vec![format!("Authorization: Bearer {API_KEY}")],
        concurrency,
        duration: setup.duration,
    }
}

fn measure_gateway(
    setup: &Setup,
    dir: &std::path::Path,
    target: Target,
    latency_ms: u64,
    server: Server,
    results: &mut GatewayResults,
) -> Result<()> {
    let idle_rss_kib = server.rss_kib()?;
    let url = server.url().to_owned();
    eprintln!("{target:?} ready in {:?} at {url}", server.ready_after());
    // Warm-up: connections, lazy initialisation, the interpreter's caches.
    for stream in [false, true] {
        let warm =
            LoadSpec { duration: Duration::from_secs(2), ..gateway_spec(&url, setup, stream, 8) };
        load::run(&setup.oha, &warm, dir)?;
    }
    let spec = |stream: bool, concurrency: usize| gateway_spec(&url, setup, stream, concurrency);
    load_all(setup, dir, target, latency_ms, &spec, &mut results.runs)?;
    let peak_rss_kib = server.peak_rss_kib()?;
    results.memory.push(Memory { target, latency_ms, idle_rss_kib, peak_rss_kib });
    server.stop()
}

fn load_all(
    setup: &Setup,
    dir: &std::path::Path,
    target: Target,
    latency_ms: u64,
    spec: &dyn Fn(bool, usize) -> LoadSpec,
    runs: &mut Vec<Run>,
) -> Result<()> {
    for stream in [false, true] {
        for concurrency in CONCURRENCY {
            let load = load::run(&setup.oha, &spec(stream, concurrency), dir)?;
            log_run(target, latency_ms, stream, concurrency, &load);
            runs.push(Run { target, latency_ms, stream, concurrency, load });
        }
    }
    Ok(())
}

fn log_run(target: Target, latency_ms: u64, stream: bool, concurrency: usize, load: &LoadResult) {
    eprintln!(
        "{target:?} {latency_ms}ms stream={stream} c={concurrency}: {:.0} req/s p50 {:.2} ms p99 {:.2} ms ({} failed)",
        load.rps,
        load.p50_ms,
        load.p99_ms,
        load.failed()
    );
}

impl GatewayResults {
    /// The run of `target` at these settings.
    pub fn find(
        &self,
        target: Target,
        latency_ms: u64,
        stream: bool,
        concurrency: usize,
    ) -> Option<&Run> {
        self.runs.iter().find(|run| {
            run.target == target
                && run.latency_ms == latency_ms
                && run.stream == stream
                && run.concurrency == concurrency
        })
    }

    /// The highest peak resident set of `target` over every latency, KiB.
    pub fn peak_rss_kib(&self, target: Target) -> Option<u64> {
        self.memory.iter().filter(|m| m.target == target).map(|m| m.peak_rss_kib).max()
    }
}
