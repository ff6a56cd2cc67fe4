//! Where the benchmarks find things and keep what they measured: the repository, the release
//! binaries, the tools (oha, LiteLLM's proxy, cargo-lambda), a scratch directory, and the results
//! directory (one JSON file per figure, read back by the report).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{BenchError, Result};

/// The paths and settings every figure uses.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The repository root (holds `quarry.toml`).
    pub root: PathBuf,
    /// Cargo's target directory, whose `release/` holds the binaries under test.
    pub target_dir: PathBuf,
    /// Where each figure's results are written as `<figure>.json`.
    pub results: PathBuf,
    /// Scratch space: logs, configs, stores.
    pub work: PathBuf,
    /// The oha binary.
    pub oha: PathBuf,
    /// The Python of the venv that holds LiteLLM's proxy (`bench/run` makes it).
    pub python: PathBuf,
    /// How long each load run lasts.
    pub duration: Duration,
}

impl Setup {
    /// A release binary of the workspace.
    pub fn release_bin(&self, name: &str) -> PathBuf {
        self.target_dir.join("release").join(name)
    }

    /// The repository's `quarry.toml`.
    pub fn quarry_toml(&self) -> PathBuf {
        self.root.join("quarry.toml")
    }

    /// Writes a figure's results.
    pub fn save<T: Serialize>(&self, figure: &str, value: &T) -> Result<()> {
        std::fs::create_dir_all(&self.results)
            .map_err(BenchError::at("creating", &self.results))?;
        let path = self.results.join(format!("{figure}.json"));
        let text = serde_json::to_string_pretty(value).map_err(BenchError::json(figure))?;
        std::fs::write(&path, text).map_err(BenchError::at("writing", &path))
    }

    /// Reads a figure's results, `None` if that figure has not been run.
    pub fn load<T: DeserializeOwned>(&self, figure: &str) -> Result<Option<T>> {
        let path = self.results.join(format!("{figure}.json"));
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map(Some).map_err(BenchError::json(figure)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(BenchError::at("reading", &path)(error)),
        }
    }

    /// A fresh scratch subdirectory.
    pub fn scratch(&self, name: &str) -> Result<PathBuf> {
        let dir = self.work.join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(BenchError::at("clearing", &dir))?;
        }
        std::fs::create_dir_all(&dir).map_err(BenchError::at("creating", &dir))?;
        Ok(dir)
    }

    /// Fails with a clear message when a binary the figure needs is missing.
    pub fn require(&self, path: &Path, how: &str) -> Result<()> {
        if path.is_file() {
            Ok(())
        } else {
            Err(BenchError::Unexpected {
                what: "a required binary".to_owned(),
                expected: format!("{} ({how})", path.display()),
                got: "no such file".to_owned(),
            })
        }
    }
}

/// The first line `program args…` prints (its version, say), or why it could not run.
pub fn first_line(program: &Path, args: &[&str]) -> String {
    match Command::new(program).args(args).output() {
        Ok(output) => {
            let text = if output.stdout.is_empty() { output.stderr } else { output.stdout };
            String::from_utf8_lossy(&text).lines().next().unwrap_or("").trim().to_owned()
        }
        Err(error) => format!("unavailable: {error}"),
    }
}

/// A free loopback port (bound, read and released: another process may take it in between,
/// which on a quiet machine it does not).
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(BenchError::io("binding a free port"))?;
    Ok(listener.local_addr().map_err(BenchError::io("reading a bound port"))?.port())
}

/// The median of `values` (0 when empty).
pub fn median(values: &[f64]) -> f64 {
    percentile(values, 50.0)
}

/// The nearest-rank `p`th percentile of `values` (0 when empty).
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), 50.0);
        assert_eq!(percentile(&values, 99.0), 99.0);
        assert_eq!(percentile(&values, 100.0), 100.0);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[]), 0.0);
    }
}
