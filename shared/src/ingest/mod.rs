//! Document ingestion: S3 event notifications, delivered through SQS, turned into the vector
//! index's content — fetch, extract, chunk, embed, store — over prebuilt clients and a store.
//!
//! [`handle_batch`] takes the messages of one SQS batch and answers, in a [`BatchOutcome`], which
//! messages failed (for Lambda's partial batch response) and what happened to every record.
//!
//! - **Messages** are read leniently ([`parse_message`]): S3 event notifications, the
//!   `s3:TestEvent` (acknowledged, nothing done), SNS-wrapped notifications; each record alone,
//!   its key URL-decoded. A body or record that cannot be read fails its message.
//! - **Order.** Within a batch only the newest event of each key is processed (the others are
//!   [`SkipReason::Superseded`] or [`SkipReason::Duplicate`]): S3 Vectors has no conditional
//!   writes, so one writer per document. Across batches the store's sequencer guard decides: an
//!   event older than what the store holds is [`SkipReason::Stale`] (checked before any work, and
//!   again by the write itself); an equal one is processed again, an identical rewrite.
//! - **Created** (`ObjectCreated:*`): GetObject of the current version, streamed and refused past
//!   `ingest.max_document_bytes`; [`crate::text::extract`]; [`crate::text::chunk`] sized for the
//!   embedding model; embedded as `search_document` (the planner's calls, at most
//!   `ingest.max_concurrency` in flight, each retried on its own — the SDK's standard retries,
//!   then up to [`EMBED_RETRY_ROUNDS`] rounds of backoff of ours); then
//!   [`VectorStore::replace_document`] at the event's sequencer. A key that no longer exists is
//!   [`SkipReason::ObjectGone`]: its removal event orders the index.
//! - **Removed** (`ObjectRemoved:*`): [`VectorStore::delete_document`] at the event's sequencer,
//!   which leaves a tombstone. The removal of one version of a versioned object
//!   (`ObjectRemoved:Delete` with a `versionId`) re-reads the key: the current version, if any, is
//!   ingested, else the document is deleted.
//! - **Failures.** A document that cannot be indexed (unsupported, empty, binary, corrupt, too
//!   large) is logged with its key and reason, counted in `DocumentsFailed`, and fails its
//!   message, so SQS redelivers it and finally dead-letters it; the chunks of its previous
//!   version are removed, so the index never answers from content the object no longer has.
//!   Other records of the batch are unaffected. Nothing is dropped without a log line and an
//!   outcome.
//! - **Deadline.** Every stage runs within the caller's [`CallOptions`] deadline; past it the
//!   record fails with [`IngestError::DeadlineExceeded`] (retryable) and its message comes back.
//!
//! Records are processed one after another; each document's embedding calls run concurrently.

mod batch;
mod embedding;
mod event;
mod fetch;
mod metrics;
mod record;

use std::fmt;
use std::sync::Arc;

use crate::bedrock::CallOptions;
use crate::config::IngestSettings;
use crate::text::{ChunkError, DocumentRef, ExtractError};
use crate::vector::{Sequencer, VectorError, VectorStore};

pub use batch::handle_batch;
pub use embedding::{EMBED_RETRY_ROUNDS, FIRST_BACKOFF, MAX_BACKOFF};
pub use event::{
    EventAction, Notification, ObjectEvent, OrderedBy, decode_key, parse_message, parse_record,
};
pub use metrics::{IngestCounts, NAMESPACE, SERVICE, emf};

/// One queue message: its id (what a partial batch response names) and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    /// The SQS message id.
    pub message_id: String,
    /// The body: an S3 event notification, an `s3:TestEvent`, or either wrapped by SNS.
    pub body: String,
}

/// What ingestion works with, built once per function instance.
#[derive(Debug, Clone)]
pub struct IngestContext {
    /// Reads the documents.
    pub s3: aws_sdk_s3::Client,
    /// Embeds the chunks (configure the SDK's standard retry mode on it).
    pub bedrock: aws_sdk_bedrockruntime::Client,
    /// Holds the chunks and their vectors.
    pub store: Arc<dyn VectorStore>,
    /// The embedding model, the index and the limits.
    pub settings: IngestSettings,
}

/// Why an event was acknowledged without changing the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// The `s3:TestEvent` S3 sends when a notification configuration is saved.
    TestEvent,
    /// The store holds a newer event of the document (a late, out-of-order delivery).
    Stale {
        /// The sequencer the store holds.
        stored: Sequencer,
    },
    /// A newer event of the same object is in the same batch and is processed instead.
    Superseded {
        /// The newer event's sequencer.
        by: Sequencer,
    },
    /// The same event is in the batch twice, or the deletion it asks for is already applied.
    Duplicate,
    /// The object no longer exists; its removal event updates the index.
    ObjectGone,
    /// The event does not change the object's content (tagging, ACL, restore…).
    NotContentEvent {
        /// The event's name.
        event_name: String,
    },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::TestEvent => f.write_str("s3:TestEvent"),
            SkipReason::Stale { stored } => write!(f, "stale: the store holds sequencer {stored}"),
            SkipReason::Superseded { by } => {
                write!(f, "superseded by the newer event {by} in the same batch")
            }
            SkipReason::Duplicate => f.write_str("duplicate delivery"),
            SkipReason::ObjectGone => f.write_str("the object no longer exists"),
            SkipReason::NotContentEvent { event_name } => {
                write!(f, "{event_name} does not change the object's content")
            }
        }
    }
}

/// What happened to one record (or to a message that holds none).
#[derive(Debug, Clone, PartialEq)]
pub enum RecordOutcome {
    /// The document's content is in the store, in this many chunks.
    Ingested {
        /// Chunks written.
        chunks: usize,
    },
    /// The document was removed from the store (a tombstone keeps the sequencer).
    Deleted,
    /// Acknowledged without changing the store.
    Skipped {
        /// Why.
        reason: SkipReason,
    },
    /// The record failed; its message is reported failed and SQS redelivers it.
    Failed {
        /// What went wrong.
        reason: IngestError,
        /// True when a redelivery may succeed (throttling, timeouts, the deadline); false when the
        /// document itself is the problem and the message will end in the dead-letter queue.
        retryable: bool,
    },
}

/// One record's outcome with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordReport {
    /// The message the record came in.
    pub message_id: String,
    /// The event name, when the record could be read.
    pub event_name: Option<String>,
    /// The object, when the record could be read.
    pub source: Option<DocumentRef>,
    /// The event's sequencer, when the record could be read.
    pub sequencer: Option<Sequencer>,
    /// What happened.
    pub outcome: RecordOutcome,
}

/// What one batch did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchOutcome {
    /// The messages with at least one failed record, in batch order, each once.
    pub failed_message_ids: Vec<String>,
    /// Every record's outcome, in batch order (a message that is not a notification, or is the
    /// test event, has one report without a source).
    pub records: Vec<RecordReport>,
}

impl BatchOutcome {
    /// The reports of the message `message_id`.
    pub fn of_message<'a>(&'a self, message_id: &'a str) -> impl Iterator<Item = &'a RecordReport> {
        self.records.iter().filter(move |report| report.message_id == message_id)
    }

    /// The report of the record about `key`, the first if there are several.
    pub fn of_key(&self, key: &str) -> Option<&RecordReport> {
        self.records.iter().find(|report| report.source.as_ref().is_some_and(|s| s.key == key))
    }
}

/// Why a record failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IngestError {
    /// The message body is not an S3 event notification.
    #[error("the message is not an S3 event notification: {reason}")]
    Message { reason: String },
    /// A record of the notification cannot be read.
    #[error("the S3 event record cannot be read: {reason}")]
    Record { reason: String },
    /// GetObject failed.
    #[error("reading s3://{bucket}/{key} failed: {reason}")]
    Fetch { bucket: String, key: String, reason: String, retryable: bool },
    /// The object yields no text to index: unsupported, empty, binary, corrupt, or too large.
    #[error(transparent)]
    Extract(ExtractError),
    /// The chunk settings are unusable for the embedding model.
    #[error(transparent)]
    Chunk(ChunkError),
    /// Embedding the chunks failed.
    #[error("embedding the chunks failed: {reason}")]
    Embed { reason: String, retryable: bool },
    /// The vector store failed.
    #[error(transparent)]
    Store(VectorError),
    /// The invocation's deadline passed before the record was done.
    #[error("the invocation's deadline passed while {stage}; the event is left for a redelivery")]
    DeadlineExceeded { stage: &'static str },
    /// Extraction stopped abnormally (a panic in a document parser).
    #[error("extracting the document stopped abnormally: {reason}")]
    Internal { reason: String },
}

impl IngestError {
    /// True when processing the record again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            IngestError::Fetch { retryable, .. } | IngestError::Embed { retryable, .. } => {
                *retryable
            }
            IngestError::Store(error) => error.is_retryable(),
            IngestError::DeadlineExceeded { .. } => true,
            IngestError::Message { .. }
            | IngestError::Record { .. }
            | IngestError::Extract(_)
            | IngestError::Chunk(_)
            | IngestError::Internal { .. } => false,
        }
    }
}

impl From<IngestError> for RecordOutcome {
    fn from(error: IngestError) -> Self {
        RecordOutcome::Failed { retryable: error.is_retryable(), reason: error }
    }
}

/// Runs `work` until `call`'s deadline; past it (or if it has passed already, without starting
/// `work`), [`IngestError::DeadlineExceeded`] in `stage`.
async fn within<F: Future>(
    call: &CallOptions,
    stage: &'static str,
    work: F,
) -> Result<F::Output, IngestError> {
    match call.deadline {
        Some(deadline) if std::time::Instant::now() >= deadline => {
            Err(IngestError::DeadlineExceeded { stage })
        }
        Some(deadline) => tokio::time::timeout_at(deadline.into(), work)
            .await
            .map_err(|_| IngestError::DeadlineExceeded { stage }),
        None => Ok(work.await),
    }
}
