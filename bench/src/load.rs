//! Load from oha (a well-kept HTTP load generator, `cargo install oha`): a fixed number of
//! connections sending the same POST for a fixed time, every request waited for, read back from
//! oha's JSON summary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{BenchError, Result};

/// One load run.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// The full URL.
    pub url: String,
    /// The JSON body, written to a file oha reads.
    pub body: String,
    /// Extra headers, `Name: value`.
    pub headers: Vec<String>,
    /// Connections kept busy at once.
    pub concurrency: usize,
    /// How long the load runs (requests in flight at the end are waited for).
    pub duration: Duration,
}

/// What one load run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadResult {
    /// Requests completed.
    pub requests: u64,
    /// Completed requests per second.
    pub rps: f64,
    /// Latency of the whole response (last byte), milliseconds.
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Time to the first byte of the response, milliseconds.
    pub first_byte_p50_ms: f64,
    /// Fraction of requests that got any response.
    pub success_rate: f64,
    /// Responses by status code.
    pub statuses: BTreeMap<String, u64>,
    /// Failed requests by error.
    pub errors: BTreeMap<String, u64>,
}

impl LoadResult {
    /// Requests that did not get a 200: other statuses and errors (`requests` counts both).
    pub fn failed(&self) -> u64 {
        let ok = self.statuses.get("200").copied().unwrap_or(0);
        self.requests.saturating_sub(ok)
    }
}

/// Runs `spec` with the oha binary at `oha`, the body file kept in `work_dir`.
pub fn run(oha: &Path, spec: &LoadSpec, work_dir: &Path) -> Result<LoadResult> {
    let body_file: PathBuf = work_dir.join("load-body.json");
    std::fs::write(&body_file, &spec.body).map_err(BenchError::at("writing", &body_file))?;
    let mut command = Command::new(oha);
    command
        .args(["--no-tui", "--output-format", "json", "-w", "-m", "POST", "-T", "application/json"])
        .arg("-z")
        .arg(format!("{}ms", spec.duration.as_millis()))
        .arg("-c")
        .arg(spec.concurrency.to_string())
        .arg("-D")
        .arg(&body_file);
    for header in &spec.headers {
        command.arg("-H").arg(header);
    }
    command.arg(&spec.url);
    let output = command.output().map_err(BenchError::io(format!("running {}", oha.display())))?;
    if !output.status.success() {
        return Err(BenchError::Command {
            command: format!("{command:?}"),
            status: output.status.to_string(),
            output: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    let summary: Value =
        serde_json::from_slice(&output.stdout).map_err(BenchError::json("oha's output"))?;
    parse_summary(&summary)
}

/// Reads oha's JSON summary (durations in seconds).
pub fn parse_summary(summary: &Value) -> Result<LoadResult> {
    let number = |pointer: &str| {
        summary.pointer(pointer).and_then(Value::as_f64).ok_or_else(|| BenchError::Unexpected {
            what: "oha's JSON summary".to_owned(),
            expected: format!("a number at {pointer}"),
            got: summary.pointer(pointer).map_or("nothing".to_owned(), Value::to_string),
        })
    };
    let counts = |pointer: &str| -> BTreeMap<String, u64> {
        summary
            .pointer(pointer)
            .and_then(Value::as_object)
            .map(|map| map.iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0))).collect())
            .unwrap_or_default()
    };
    let statuses = counts("/statusCodeDistribution");
    let errors = counts("/errorDistribution");
    let requests = statuses.values().sum::<u64>() + errors.values().sum::<u64>();
    Ok(LoadResult {
        requests,
        rps: number("/summary/requestsPerSec")?,
        p50_ms: number("/latencyPercentiles/p50")? * 1e3,
        p99_ms: number("/latencyPercentiles/p99")? * 1e3,
        first_byte_p50_ms: number("/firstBytePercentiles/p50").unwrap_or(f64::NAN) * 1e3,
        success_rate: number("/summary/successRate")?,
        statuses,
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ohas_summary_is_read_in_milliseconds() {
        // The shape oha 1.16 prints with `--output-format json` (trimmed).
        let summary: Value = serde_json::from_str(
            r#"{"summary": {"successRate": 1.0, "total": 2.0026, "requestsPerSec": 3931.81},
                "latencyPercentiles": {"p50": 0.000767772, "p99": 0.006665774},
                "firstBytePercentiles": {"p50": 0.000767482, "p99": 0.006665694},
                "statusCodeDistribution": {"200": 7870, "429": 4},
                "errorDistribution": {"aborted due to deadline": 2}}"#,
        )
        .expect("json");
        let result = parse_summary(&summary).expect("parse");
        assert_eq!(result.requests, 7876);
        assert!((result.p50_ms - 0.767772).abs() < 1e-9);
        assert!((result.p99_ms - 6.665774).abs() < 1e-9);
        assert_eq!(result.failed(), 6);
        let mut broken = summary.clone();
        broken["summary"]["requestsPerSec"] = Value::Null;
        assert!(parse_summary(&broken).is_err());
    }
}
