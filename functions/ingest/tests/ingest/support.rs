//! The local stack for ingest tests, in process and over real HTTP: the local S3 (objects in a
//! temp directory, S3 event notifications on its durable queue), the local Bedrock endpoint (the
//! deterministic embedding model, faults switchable), and a SQLite vector store in a temp file.
//! The function's own [`quarry_ingest::handle`] consumes the queue as Lambda's SQS event source
//! would: receive a batch, handle it, delete what did not fail; failures come back after the
//! visibility timeout.

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use quarry::bedrock::CallOptions;
use quarry::config::{DistanceMetric, EmbeddingConfig, IngestLimits, IngestSettings, VectorIndex};
use quarry::embed::EmbeddingModel;
use quarry::ingest::{QueueMessage, handle_batch};
use quarry::text::DocumentRef;
use quarry::vector::{DocumentState, Filter, Hit, SqliteStore, VectorStore};
use quarry_ingest::IngestContext;
use quarry_local::faults::FaultConfig;
use quarry_local::s3::{NotificationConfig, QueueConfig, RunningS3, S3Options};
use quarry_local::{BedrockConfig, RunningServer};
use tempfile::TempDir;

pub const BUCKET: &str = "documents";
pub const DIMENSIONS: u32 = 256;
pub const TITAN_V2: &str = "amazon.titan-embed-text-v2:0";

/// The local stack and the ingest context pointing at it.
#[derive(Debug)]
pub struct Stack {
    pub s3: RunningS3,
    pub bedrock: RunningServer,
    pub client: aws_sdk_s3::Client,
    pub store: Arc<SqliteStore>,
    pub context: IngestContext,
    _dir: TempDir,
}

/// Ingest settings: Titan v2 at 256 dimensions, 400-character chunks.
pub fn settings() -> IngestSettings {
    IngestSettings {
        embedding: EmbeddingConfig {
            model_id: TITAN_V2.parse().expect("a model id"),
            model: EmbeddingModel::TitanTextV2,
            dimensions: DIMENSIONS,
        },
        vector_index: VectorIndex {
            bucket: "unused-locally".to_owned(),
            index_name: "quarry-docs".to_owned(),
            metric: DistanceMetric::Cosine,
        },
        limits: IngestLimits {
            max_document_bytes: 64 * 1024,
            chunk_chars: 400,
            chunk_overlap_chars: 40,
            max_concurrency: 4,
        },
    }
}

/// A stack whose Bedrock endpoint has `faults` (e.g. `throttle_rate=0.3,seed=7`) and whose queue
/// redelivers after a second, up to ten times.
pub async fn start(faults: &str) -> Stack {
    let queue = QueueConfig {
        visibility_timeout: Duration::from_secs(1),
        max_receive_count: 10,
        ..QueueConfig::default()
    };
    start_with(faults, queue).await
}

pub async fn start_with(faults: &str, queue: QueueConfig) -> Stack {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut options = S3Options::new(dir.path().join("s3"));
    options.buckets = vec![BUCKET.to_owned()];
    options.notifications = vec![NotificationConfig::all_events(BUCKET, "quarry-ingest")];
    options.queue = queue;
    let s3 = quarry_local::s3::serve(options).await.expect("the local S3 starts");
    let faults: FaultConfig = faults.parse().expect("a fault spec");
    let bedrock = quarry_local::serve(BedrockConfig { port: 0, faults, ..Default::default() })
        .await
        .expect("the local Bedrock endpoint starts");

    let credentials = Credentials::new("test", "test", None, None, "test");
    let client = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(s3.url())
            .force_path_style(true)
            .region(Region::new("us-east-1"))
            .credentials_provider(credentials.clone())
            .build(),
    );
    // The SDK's standard retry mode, as the function's client has it, with a short first backoff.
    let retry = RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(20));
    let bedrock_client = aws_sdk_bedrockruntime::Client::from_conf(
        aws_sdk_bedrockruntime::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(bedrock.url())
            .region(Region::new("us-east-1"))
            .credentials_provider(credentials)
            .retry_config(retry)
            .build(),
    );
    let store = Arc::new(
        SqliteStore::open(dir.path().join("vectors.sqlite3"), DIMENSIONS as usize)
            .expect("the SQLite store opens"),
    );
    let context = IngestContext {
        s3: client.clone(),
        bedrock: bedrock_client,
        store: store.clone(),
        settings: settings(),
    };
    Stack { s3, bedrock, client, store, context, _dir: dir }
}

/// What draining the queue took.
#[derive(Debug, Default)]
pub struct Drained {
    /// Batches handled.
    pub batches: usize,
    /// Messages handled, counting redeliveries.
    pub deliveries: usize,
    /// Messages reported failed, counting redeliveries.
    pub failures: usize,
    /// Chunks written, counting rewrites.
    pub chunks_written: u64,
}

impl Stack {
    pub async fn put(&self, key: &str, body: impl Into<Vec<u8>>) {
        self.client
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .body(ByteStream::from(body.into()))
            .send()
            .await
            .unwrap_or_else(|error| panic!("PutObject {key}: {error:?}"));
    }

    pub async fn put_typed(&self, key: &str, body: impl Into<Vec<u8>>, content_type: &str) {
        self.client
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body.into()))
            .send()
            .await
            .unwrap_or_else(|error| panic!("PutObject {key}: {error:?}"));
    }

    pub async fn delete(&self, key: &str) {
        self.client
            .delete_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|error| panic!("DeleteObject {key}: {error:?}"));
    }

    /// Waits for `n` notification messages (10 s at most) and returns them, not deleted.
    pub async fn receive(&self, n: usize) -> Vec<SqsMessage> {
        let mut got = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while got.len() < n && tokio::time::Instant::now() < deadline {
            let batch = self
                .s3
                .notifications()
                .receive_wait(n - got.len(), Duration::from_millis(200))
                .await
                .expect("receive");
            got.extend(batch);
        }
        assert_eq!(got.len(), n, "expected {n} notification messages");
        got
    }

    /// Takes the `s3:TestEvent` the local S3 sent at start-up off the queue.
    pub async fn skip_test_event(&self) {
        let first = self.receive(1).await;
        let body = first[0].body.as_deref().expect("a body");
        assert!(body.contains("s3:TestEvent"), "{body}");
        self.ack(&first).await;
    }

    /// Deletes `messages` from the queue.
    pub async fn ack(&self, messages: &[SqsMessage]) {
        for message in messages {
            let handle = message.receipt_handle.as_deref().expect("a receipt handle");
            self.s3.notifications().delete(handle).await.expect("delete");
        }
    }

    /// Handles `messages` as one batch without a deadline; acknowledges those not reported failed
    /// and returns the failed ids.
    pub async fn handle(&self, messages: Vec<SqsMessage>) -> Vec<String> {
        self.handle_within(messages, CallOptions::default()).await
    }

    pub async fn handle_within(&self, messages: Vec<SqsMessage>, call: CallOptions) -> Vec<String> {
        let event = sqs_event(messages.clone());
        let response = quarry_ingest::handle(event, &self.context, call).await;
        let failed: Vec<String> = response
            .batch_item_failures
            .iter()
            .map(|failure| failure.item_identifier.clone())
            .collect();
        let done: Vec<SqsMessage> = messages
            .into_iter()
            .filter(|m| !failed.contains(m.message_id.as_ref().expect("a message id")))
            .collect();
        self.ack(&done).await;
        failed
    }

    /// Consumes the queue as Lambda's event source does — batches of up to `batch_size`, handled
    /// (by `handle_batch`, whose failed ids `quarry_ingest::handle` answers with), successes
    /// deleted, failures left to reappear — until nothing is visible or in flight. Each batch has
    /// `per_batch` to finish, if given, as an invocation has its timeout.
    pub async fn drain(
        &self,
        batch_size: usize,
        per_batch: Option<Duration>,
        limit: Duration,
    ) -> Drained {
        let mut drained = Drained::default();
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let stats = self.s3.notifications().stats().await.expect("stats");
            if stats.visible == 0 && stats.in_flight == 0 {
                return drained;
            }
            assert!(tokio::time::Instant::now() < deadline, "the queue did not drain: {stats:?}");
            let batch = self
                .s3
                .notifications()
                .receive_wait(batch_size, Duration::from_millis(300))
                .await
                .expect("receive");
            if batch.is_empty() {
                continue;
            }
            drained.batches += 1;
            drained.deliveries += batch.len();
            let call = per_batch.map_or_else(CallOptions::default, CallOptions::within);
            let outcome = handle_batch(&queue_messages(&batch), &self.context, call).await;
            drained.failures += outcome.failed_message_ids.len();
            drained.chunks_written += outcome.counts().chunks_written;
            let done: Vec<SqsMessage> = batch
                .into_iter()
                .filter(|m| {
                    !outcome.failed_message_ids.contains(m.message_id.as_ref().expect("an id"))
                })
                .collect();
            self.ack(&done).await;
        }
    }

    /// What the store holds for `key`.
    pub async fn state(&self, key: &str) -> Option<DocumentState> {
        self.store.document_state(&DocumentRef::new(BUCKET, key)).await.expect("document state")
    }

    /// Every chunk stored for `key`, in chunk order.
    pub async fn chunks_of(&self, key: &str) -> Vec<Hit> {
        let filter = Filter {
            key_prefix: Some(key.to_owned()),
            bucket: Some(BUCKET.to_owned()),
            ..Filter::default()
        };
        let probe = quarry_local::models::embedding::embed("any words at all", DIMENSIONS as usize);
        let mut hits: Vec<Hit> = self
            .store
            .query(&probe, 100, &filter)
            .await
            .expect("query")
            .into_iter()
            .filter(|hit| hit.source.key == key)
            .collect();
        hits.sort_by(|a, b| a.id.cmp(&b.id));
        hits
    }

    /// The best `k` chunks for `question`, embedded as the local model embeds it.
    pub async fn search(&self, question: &str, k: usize) -> Vec<Hit> {
        let vector = quarry_local::models::embedding::embed(question, DIMENSIONS as usize);
        self.store.query(&vector, k, &Filter::default()).await.expect("query")
    }
}

/// The messages as `handle_batch` takes them.
pub fn queue_messages(messages: &[SqsMessage]) -> Vec<QueueMessage> {
    messages
        .iter()
        .map(|m| QueueMessage {
            message_id: m.message_id.clone().expect("a message id"),
            body: m.body.clone().expect("a body"),
        })
        .collect()
}

/// An SQS event of `messages`, as Lambda delivers them.
pub fn sqs_event(messages: Vec<SqsMessage>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages;
    event
}

/// A test fixture of this crate's `tests/fixtures/`, as bytes.
pub fn fixture_bytes(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A test fixture of this crate's `tests/fixtures/`, as text.
pub fn fixture(name: &str) -> String {
    String::from_utf8(fixture_bytes(name)).expect("a UTF-8 fixture")
}

/// A file of the repository's `events/`.
pub fn event_file(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
