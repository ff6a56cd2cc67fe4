//! What can go wrong running the benchmarks: a tool or server that fails, output that cannot be
//! read, a store or corpus error. Every message says what was being done.

use std::path::Path;

use crate::corpus::CorpusError;

/// A failed benchmark step.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("`{command}` failed ({status}): {output}")]
    Command { command: String, status: String, output: String },
    #[error("{what} did not become ready within {seconds} s; its log ends with:\n{log}")]
    NotReady { what: String, seconds: u64, log: String },
    #[error("{what}: expected {expected}, got {got}")]
    Unexpected { what: String, expected: String, got: String },
    #[error("could not read {what} as JSON: {source}")]
    Json { what: String, source: serde_json::Error },
    #[error(transparent)]
    Corpus(#[from] CorpusError),
    #[error("the vector store: {0}")]
    Vector(#[from] quarry::vector::VectorError),
    #[error("the local stack: {0}")]
    Local(String),
}

impl BenchError {
    /// An I/O error while doing `what`.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BenchError {
        let what = what.into();
        move |source| BenchError::Io { what, source }
    }

    /// An I/O error on `path` while doing `doing`.
    pub fn at(doing: &str, path: &Path) -> impl FnOnce(std::io::Error) -> BenchError {
        BenchError::io(format!("{doing} {}", path.display()))
    }

    /// Output that is not the JSON expected of `what`.
    pub fn json(what: impl Into<String>) -> impl FnOnce(serde_json::Error) -> BenchError {
        let what = what.into();
        move |source| BenchError::Json { what, source }
    }
}

/// The benchmarks' result type.
pub type Result<T, E = BenchError> = std::result::Result<T, E>;
