//! Figure 4b: end-to-end ingestion, documents per second through `quarry::ingest::handle_batch` —
//! GetObject from the local S3, extract, chunk, embed with the local embedding model at a fixed
//! 50 ms per call, write to the SQLite store — at `ingest.max_concurrency` 1, 4 and 16, against
//! the ideal.
//!
//! Everything runs in this process, over real HTTP on loopback: the local S3 (its event
//! notifications go to its durable queue, from which the batches are received as Lambda's SQS
//! event source would), the local Bedrock endpoint, and a SQLite store with `quarry.toml`'s
//! settings (Titan Text Embeddings v2 at 1,024 dimensions, 2,000-character chunks). The documents
//! are markdown, each cut into [`CHUNKS_PER_DOCUMENT`] chunks; Titan embeds one text per call.
//!
//! The ideal: a document's calls run `concurrency` at a time, each taking the latency, so a
//! document takes at least ⌈chunks / concurrency⌉ × latency; documents are processed one after
//! another (the pipeline's design: one writer per document), so ideal documents/s = 1 / that.
//! Only the `handle_batch` calls are timed, not the uploads or the queue.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use quarry::bedrock::CallOptions;
use quarry::config::{QuarryConfig, StackResources};
use quarry::ingest::{IngestContext, QueueMessage, RecordOutcome, handle_batch};
use quarry::text::{S3Object, chunk, extract};
use quarry::vector::SqliteStore;
use quarry_local::BedrockConfig;
use quarry_local::s3::{NotificationConfig, S3Options};
use serde::{Deserialize, Serialize};

use crate::corpus;
use crate::error::{BenchError, Result};
use crate::setup::Setup;

/// `ingest.max_concurrency` values measured.
pub const CONCURRENCY: [u32; 3] = [1, 4, 16];
/// The simulated embedding latency.
pub const LATENCY_MS: u64 = 50;
/// Chunks each generated document is cut into.
pub const CHUNKS_PER_DOCUMENT: usize = 16;
/// About how long each measured configuration runs, at the ideal rate.
const TARGET_SECONDS: f64 = 6.0;
/// SQS's largest batch.
const BATCH: usize = 10;
const BUCKET: &str = "bench-documents";

/// One configuration's throughput.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestRun {
    pub concurrency: u32,
    pub latency_ms: u64,
    pub documents: usize,
    pub chunks: usize,
    pub seconds: f64,
    pub documents_per_s: f64,
    /// 1 / (⌈chunks per document / concurrency⌉ × latency); `None` at zero latency.
    pub ideal_documents_per_s: Option<f64>,
}

/// Figure 4b.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestResults {
    pub chunks_per_document: usize,
    pub document_bytes: usize,
    pub dimensions: u32,
    pub runs: Vec<IngestRun>,
}

/// A markdown document of exactly [`CHUNKS_PER_DOCUMENT`] chunks under `settings`. Sizes are
/// tried upwards from a first guess (a document grows a section at a time, so a count can be
/// skipped); a seed that skips it is followed by the next.
fn document_of_chunks(seed: u64, settings: &quarry::text::ChunkSettings) -> Result<Vec<u8>> {
    for attempt in 0..32 {
        let seed = seed * 32 + attempt;
        for bytes in (16_000..80_000).step_by(500) {
            let text = corpus::markdown(seed, bytes);
            let object = S3Object {
                source: quarry::text::DocumentRef::new(BUCKET, "probe.md"),
                content_type: Some("text/markdown".into()),
                user_metadata: Default::default(),
                body: text.clone().into_bytes(),
            };
            let count = extract(&object, u64::MAX)
                .ok()
                .and_then(|document| chunk(&document, settings).ok())
                .map_or(0, |chunks| chunks.len());
            match count.cmp(&CHUNKS_PER_DOCUMENT) {
                std::cmp::Ordering::Equal => return Ok(text.into_bytes()),
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Greater => break,
            }
        }
    }
    Err(BenchError::Unexpected {
        what: "a generated markdown document".into(),
        expected: format!("{CHUNKS_PER_DOCUMENT} chunks"),
        got: "no size of 32 seeds that chunks to that".into(),
    })
}

/// Runs figure 4b.
pub fn run(setup: &Setup) -> Result<IngestResults> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(BenchError::io("building the Tokio runtime"))?;
    runtime.block_on(run_async(setup))
}

async fn run_async(setup: &Setup) -> Result<IngestResults> {
    let dir = setup.scratch("ingest")?;
    let config = QuarryConfig::from_path(&setup.quarry_toml())
        .map_err(|e| BenchError::Local(e.to_string()))?;
    let resources =
        StackResources { catalog_bucket: "unused".into(), vector_bucket: "unused".into() };
    let base_settings = config.ingest_settings(&resources);
    let chunk_settings = crate::extract::settings()?;

    let mut options = S3Options::new(dir.join("s3"));
    options.buckets = vec![BUCKET.to_owned()];
    options.notifications = vec![NotificationConfig::all_events(BUCKET, "quarry-ingest")];
    let s3 =
        quarry_local::s3::serve(options).await.map_err(|e| BenchError::Local(e.to_string()))?;
    let credentials = Credentials::new("test", "test", None, None, "quarry-bench");
    let s3_client = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(s3.url())
            .force_path_style(true)
            .region(Region::new("us-east-1"))
            .credentials_provider(credentials)
            .build(),
    );
    // The queue starts with the s3:TestEvent; handle_batch acknowledges it like any batch would.
    let mut results = IngestResults {
        chunks_per_document: CHUNKS_PER_DOCUMENT,
        document_bytes: 0,
        dimensions: base_settings.embedding.dimensions,
        runs: Vec::new(),
    };
    let plan: Vec<(u32, u64)> =
        CONCURRENCY.iter().map(|&c| (c, LATENCY_MS)).chain(std::iter::once((16, 0))).collect();
    for (round, (concurrency, latency_ms)) in plan.into_iter().enumerate() {
        let faults = format!("latency_ms={latency_ms}")
            .parse()
            .map_err(|e: quarry_local::faults::FaultSpecError| BenchError::Local(e.to_string()))?;
        let bedrock = quarry_local::serve(BedrockConfig { port: 0, faults, ..Default::default() })
            .await
            .map_err(|e| BenchError::Local(e.to_string()))?;
        let store = Arc::new(SqliteStore::open(
            dir.join(format!("vectors-{round}.sqlite3")),
            base_settings.embedding.dimensions as usize,
        )?);
        let mut settings = base_settings.clone();
        settings.limits.max_concurrency = concurrency;
        let context = IngestContext {
            s3: s3_client.clone(),
            bedrock: quarry_local::stack::clients::bedrock_runtime(bedrock.url(), "us-east-1"),
            store,
            settings,
        };
        let rounds = CHUNKS_PER_DOCUMENT.div_ceil(concurrency as usize) as f64;
        let ideal = (latency_ms > 0).then(|| 1.0 / (rounds * latency_ms as f64 / 1e3));
        let documents = match ideal {
            Some(per_s) => ((TARGET_SECONDS * per_s).round() as usize).max(5),
            None => 40,
        };
        for i in 0..documents {
            let body = document_of_chunks((round * 1000 + i) as u64, &chunk_settings)?;
            results.document_bytes = body.len();
            s3_client
                .put_object()
                .bucket(BUCKET)
                .key(format!("run-{round}/doc-{i:04}.md"))
                .content_type("text/markdown")
                .body(ByteStream::from(body))
                .send()
                .await
                .map_err(|e| BenchError::Local(format!("PutObject: {e:?}")))?;
        }
        // Every notification of this round (and the test event, in the first).
        let mut messages = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while messages.iter().filter(|m: &&QueueMessage| m.body.contains("ObjectCreated")).count()
            < documents
        {
            if Instant::now() > deadline {
                return Err(BenchError::Local(format!(
                    "only {} of {documents} notifications arrived",
                    messages.len()
                )));
            }
            let received = s3
                .notifications()
                .receive_wait(BATCH, Duration::from_millis(200))
                .await
                .map_err(|e| BenchError::Local(e.to_string()))?;
            for message in received {
                if let Some(handle) = message.receipt_handle.as_deref() {
                    s3.notifications()
                        .delete(handle)
                        .await
                        .map_err(|e| BenchError::Local(e.to_string()))?;
                }
                messages.push(QueueMessage {
                    message_id: message.message_id.clone().unwrap_or_default(),
                    body: message.body.clone().unwrap_or_default(),
                });
            }
        }
        let started = Instant::now();
        let mut ingested = 0;
        let mut chunks = 0;
        for batch in messages.chunks(BATCH) {
            let outcome = handle_batch(batch, &context, CallOptions::default()).await;
            for report in &outcome.records {
                match &report.outcome {
                    RecordOutcome::Ingested { chunks: n } => {
                        ingested += 1;
                        chunks += n;
                    }
                    RecordOutcome::Skipped { .. } => {}
                    other => {
                        return Err(BenchError::Unexpected {
                            what: format!("ingesting {:?}", report.source),
                            expected: "Ingested".into(),
                            got: format!("{other:?}"),
                        });
                    }
                }
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let run = IngestRun {
            concurrency,
            latency_ms,
            documents: ingested,
            chunks,
            seconds,
            documents_per_s: ingested as f64 / seconds,
            ideal_documents_per_s: ideal,
        };
        eprintln!("ingest c={concurrency} latency={latency_ms}ms: {run:?}");
        results.runs.push(run);
        bedrock.shutdown().await.map_err(|e| BenchError::Local(e.to_string()))?;
    }
    s3.shutdown().await.map_err(|e| BenchError::Local(e.to_string()))?;
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_documents_cut_into_the_chunk_count_the_ideal_assumes() {
        let settings = crate::extract::settings().expect("settings");
        for seed in 0..3 {
            let body = document_of_chunks(seed, &settings).expect("a document");
            let object = S3Object {
                source: quarry::text::DocumentRef::new(BUCKET, "doc.md"),
                content_type: Some("text/markdown".into()),
                user_metadata: Default::default(),
                body,
            };
            let document = extract(&object, u64::MAX).expect("extract");
            assert_eq!(chunk(&document, &settings).expect("chunk").len(), CHUNKS_PER_DOCUMENT);
        }
    }
}
