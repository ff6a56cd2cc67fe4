//! Figure 4a: extract + chunk throughput per format, with criterion. The same benchmark function
//! runs under `cargo bench -p quarry-bench --bench extract_chunk` and inside the release
//! `quarry-bench` binary (which then reads criterion's estimates back for the report), so one
//! release build serves both.
//!
//! Each iteration extracts and chunks every document of one format's corpus (4 generated documents
//! of 256 KiB; PDFs of about 100 pages) with `quarry.toml`'s default chunking (2,000 characters,
//! 200 of overlap, Titan Text Embeddings v2's limits).

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use quarry::config::IngestLimits;
use quarry::embed::EmbeddingModel;
use quarry::text::{ChunkSettings, S3Object, chunk, extract};
use serde::{Deserialize, Serialize};

use crate::corpus::{self, Kind};
use crate::error::{BenchError, Result};

/// The criterion group name.
pub const GROUP: &str = "extract_chunk";
/// Documents per format.
pub const DOCUMENTS: usize = 4;
/// Bytes per document.
pub const DOCUMENT_BYTES: usize = 256 * 1024;

/// One format's corpus, checked to extract and chunk.
#[derive(Debug)]
pub struct Corpus {
    pub kind: Kind,
    pub objects: Vec<S3Object>,
    /// Input bytes.
    pub bytes: u64,
    /// Characters of extracted text.
    pub text_chars: u64,
    /// Chunks made.
    pub chunks: u64,
}

/// The chunk settings of `quarry.toml`'s defaults for Titan Text Embeddings v2.
pub fn settings() -> Result<ChunkSettings> {
    ChunkSettings::for_model(EmbeddingModel::TitanTextV2, &IngestLimits::default()).map_err(|e| {
        BenchError::Unexpected {
            what: "the default chunk settings".into(),
            expected: "valid settings".into(),
            got: e.to_string(),
        }
    })
}

/// Generates `kind`'s corpus and checks that every document extracts and chunks.
pub fn corpus(kind: Kind) -> Result<Corpus> {
    let objects = corpus::documents(kind, DOCUMENTS, DOCUMENT_BYTES)?;
    let settings = settings()?;
    let (mut text_chars, mut chunks) = (0, 0);
    for object in &objects {
        let failed = |reason: String| BenchError::Unexpected {
            what: format!("extracting and chunking {}", object.source.key),
            expected: "text in chunks".into(),
            got: reason,
        };
        let document = extract(object, u64::MAX).map_err(|e| failed(e.to_string()))?;
        text_chars += document.text.chars().count() as u64;
        chunks += chunk(&document, &settings).map_err(|e| failed(e.to_string()))?.len() as u64;
    }
    let bytes = objects.iter().map(|o| o.body.len() as u64).sum();
    Ok(Corpus { kind, objects, bytes, text_chars, chunks })
}

/// The criterion benchmarks: one per format, throughput in input bytes.
pub fn benchmarks(c: &mut Criterion) {
    let settings = match settings() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("{error}");
            return;
        }
    };
    let mut group = c.benchmark_group(GROUP);
    for kind in Kind::ALL {
        let corpus = match corpus(kind) {
            Ok(corpus) => corpus,
            Err(error) => {
                eprintln!("skipping {}: {error}", kind.name());
                continue;
            }
        };
        group.throughput(Throughput::Bytes(corpus.bytes));
        group.bench_function(kind.name(), |b| {
            b.iter(|| {
                for object in &corpus.objects {
                    let chunks = extract(black_box(object), u64::MAX)
                        .map(|document| chunk(&document, &settings).map(|chunks| chunks.len()));
                    black_box(chunks.ok());
                }
            });
        });
    }
    group.finish();
}

/// A criterion configured for the harness: short warm-up, 20 samples of about 5 s in all, results
/// under `output`.
pub fn criterion(output: &Path) -> Criterion {
    Criterion::default()
        .output_directory(output)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .sample_size(20)
}

/// One format's throughput.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormatThroughput {
    pub format: String,
    pub documents: usize,
    pub bytes: u64,
    pub text_chars: u64,
    pub chunks: u64,
    /// Criterion's median time of one iteration (the whole corpus), nanoseconds.
    pub median_ns: f64,
    /// Its 95% confidence interval of the mean, nanoseconds.
    pub mean_low_ns: f64,
    pub mean_high_ns: f64,
}

impl FormatThroughput {
    /// Input megabytes (10^6 bytes) per second at the median.
    pub fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / (self.median_ns / 1e9) / 1e6
    }
}

/// Runs the benchmarks with criterion into `output` and reads the estimates back.
pub fn run(output: &Path) -> Result<Vec<FormatThroughput>> {
    let mut c = criterion(output);
    benchmarks(&mut c);
    c.final_summary();
    let mut results = Vec::new();
    for kind in Kind::ALL {
        let corpus = corpus(kind)?;
        let path = output.join(GROUP).join(kind.name()).join("new").join("estimates.json");
        let text = std::fs::read_to_string(&path).map_err(BenchError::at("reading", &path))?;
        let estimates: serde_json::Value =
            serde_json::from_str(&text).map_err(BenchError::json(path.display().to_string()))?;
        let number = |pointer: &str| {
            estimates.pointer(pointer).and_then(serde_json::Value::as_f64).ok_or_else(|| {
                BenchError::Unexpected {
                    what: path.display().to_string(),
                    expected: format!("a number at {pointer}"),
                    got: "none".into(),
                }
            })
        };
        results.push(FormatThroughput {
            format: kind.name().to_owned(),
            documents: corpus.objects.len(),
            bytes: corpus.bytes,
            text_chars: corpus.text_chars,
            chunks: corpus.chunks,
            median_ns: number("/median/point_estimate")?,
            mean_low_ns: number("/mean/confidence_interval/lower_bound")?,
            mean_high_ns: number("/mean/confidence_interval/upper_bound")?,
        });
    }
    Ok(results)
}
