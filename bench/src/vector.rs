//! Figure 6: query latency of the embedded SQLite vector store (`quarry::vector::SqliteStore`) at
//! 10,000 and 100,000 chunks of 1,024 dimensions — the local stack's store, searched by brute
//! force — p50 and p99 of `VectorStore::query` (k = 5, no filter) with random unit query vectors.
//!
//! The store is filled through `replace_document` (documents of [`CHUNKS_PER_DOCUMENT`] chunks
//! of random vectors and a short text), then queried: a few warm-up queries (the page cache), then
//! the timed ones, one at a time. There is no peer: LiteLLM's proxy keeps no vector store.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use quarry::text::DocumentRef;
use quarry::vector::{Filter, Sequencer, SqliteStore, StoredChunk, StoredDocument, VectorStore};
use serde::{Deserialize, Serialize};

use crate::corpus::Lcg;
use crate::error::{BenchError, Result};
use crate::setup::percentile;

/// Store sizes measured, in chunks.
pub const SIZES: [usize; 2] = [10_000, 100_000];
/// The embedding dimension (Titan Text Embeddings v2's largest, `quarry.toml`'s default).
pub const DIMENSIONS: usize = 1024;
/// Chunks written per document (one transaction each).
pub const CHUNKS_PER_DOCUMENT: usize = 500;
/// Results asked of each query (the RAG prompt's default number of sources).
pub const K: usize = 5;

/// One store size's query latencies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorRun {
    pub chunks: usize,
    pub dimensions: usize,
    pub queries: usize,
    /// Database size on disk (with its WAL), bytes.
    pub file_bytes: u64,
    /// Time to fill the store, seconds.
    pub fill_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Figure 6.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorResults {
    pub k: usize,
    pub runs: Vec<VectorRun>,
}

/// A random unit vector of `dimensions`.
pub fn unit_vector(rng: &mut Lcg, dimensions: usize) -> Vec<f32> {
    let mut vector: Vec<f32> = (0..dimensions).map(|_| rng.signed_unit()).collect();
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt().max(f32::MIN_POSITIVE);
    vector.iter_mut().for_each(|x| *x /= norm);
    vector
}

/// How many timed queries a store of `chunks` gets: enough for a p99 (at least 100), fewer on
/// the large store where each query scans everything.
pub fn queries_for(chunks: usize) -> usize {
    if chunks <= 10_000 { 400 } else { 100 }
}

/// Runs figure 6 with its stores under `dir`.
pub fn run(dir: &Path) -> Result<VectorResults> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(BenchError::io("building the Tokio runtime"))?;
    let mut runs = Vec::new();
    for chunks in SIZES {
        let run = runtime.block_on(measure(dir, chunks, queries_for(chunks)))?;
        eprintln!(
            "vector {chunks} chunks: p50 {:.2} ms p99 {:.2} ms ({} queries)",
            run.p50_ms, run.p99_ms, run.queries
        );
        runs.push(run);
    }
    Ok(VectorResults { k: K, runs })
}

async fn measure(dir: &Path, chunks: usize, queries: usize) -> Result<VectorRun> {
    let path = dir.join(format!("vectors-{chunks}.sqlite3"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let store = SqliteStore::open(&path, DIMENSIONS)?;
    let mut rng = Lcg::new(chunks as u64);
    let started = Instant::now();
    let sequencer = Sequencer::new("0055AED6DCD90281E5")?;
    for (document_index, first) in (0..chunks).step_by(CHUNKS_PER_DOCUMENT).enumerate() {
        let source = DocumentRef::new("bench-vectors", format!("doc-{document_index:05}.md"));
        let document = StoredDocument {
            source: source.clone(),
            sequencer: sequencer.clone(),
            content_type: "text/markdown".into(),
            title: format!("Document {document_index}"),
            metadata: BTreeMap::new(),
        };
        let count = CHUNKS_PER_DOCUMENT.min(chunks - first);
        let stored = (0..count)
            .map(|index| StoredChunk {
                id: source.chunk_id(index),
                text: rng.sentence(),
                vector: unit_vector(&mut rng, DIMENSIONS),
                metadata: BTreeMap::new(),
            })
            .collect();
        store.replace_document(&document, stored).await?;
    }
    let fill_s = started.elapsed().as_secs_f64();
    let filter = Filter::default();
    for _ in 0..3 {
        store.query(&unit_vector(&mut rng, DIMENSIONS), K, &filter).await?;
    }
    let mut latencies = Vec::with_capacity(queries);
    for _ in 0..queries {
        let vector = unit_vector(&mut rng, DIMENSIONS);
        let started = Instant::now();
        let hits = store.query(&vector, K, &filter).await?;
        latencies.push(started.elapsed().as_secs_f64() * 1e3);
        if hits.len() != K {
            return Err(BenchError::Unexpected {
                what: format!("a query of {chunks} chunks"),
                expected: format!("{K} hits"),
                got: hits.len().to_string(),
            });
        }
    }
    drop(store);
    let mut file_bytes = 0;
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{}{suffix}", path.display());
        file_bytes += std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
        let _ = std::fs::remove_file(file);
    }
    Ok(VectorRun {
        chunks,
        dimensions: DIMENSIONS,
        queries,
        file_bytes,
        fill_s,
        p50_ms: percentile(&latencies, 50.0),
        p99_ms: percentile(&latencies, 99.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_vectors_are_unit_length_and_differ() {
        let mut rng = Lcg::new(1);
        let a = unit_vector(&mut rng, DIMENSIONS);
        let b = unit_vector(&mut rng, DIMENSIONS);
        let length = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((length - 1.0).abs() < 1e-4, "{length}");
        assert_eq!(a.len(), DIMENSIONS);
        assert_ne!(a, b);
    }

    #[test]
    fn a_small_store_answers_k_hits_with_latencies_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let run = runtime.block_on(measure(dir.path(), 1_200, 20)).expect("measure");
        assert_eq!(run.chunks, 1_200);
        assert!(run.p50_ms > 0.0 && run.p50_ms <= run.p99_ms, "{run:?}");
        assert!(run.file_bytes > (1_200 * DIMENSIONS * 4) as u64, "{run:?}");
    }
}
