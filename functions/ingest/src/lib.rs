//! quarry-ingest: the Lambda function that keeps the vector index in step with the documents
//! bucket. S3 sends ObjectCreated / ObjectRemoved notifications to the ingest queue; Lambda's SQS
//! event source hands them over in batches; [`handle`] runs `quarry::ingest::handle_batch` and
//! answers with a partial batch response naming only the failed messages, which SQS redelivers
//! and, after the queue's receive limit, moves to the dead-letter queue.
//!
//! S3 may also invoke the function directly with an S3 event ([`handle_s3`]): then any failed
//! record makes the invocation an error, so Lambda's asynchronous retries (and its on-failure
//! destination, if configured) take over. [`handle_payload`] tells the two apart.
//!
//! Every batch writes one EMF metrics line (`DocumentsIngested`, `DocumentsFailed`,
//! `ChunksWritten`, …, namespace `quarry`) to stdout, where Lambda's log agent picks it up.

use std::io::Write as _;
use std::time::{Duration, SystemTime};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use quarry::bedrock::CallOptions;
use quarry::ingest::{BatchOutcome, IngestCounts, QueueMessage, RecordOutcome, emf, handle_batch};
use serde::Serialize;
use serde_json::Value;

pub use quarry::ingest::IngestContext;

/// Time kept free before the invocation's deadline: enough to answer the batch response (and
/// write the last log lines) after the work in progress has been given up.
pub const SAFETY_MARGIN: Duration = Duration::from_secs(10);

/// The message id a direct S3 invocation's records are reported under.
pub const DIRECT_EVENT_ID: &str = "direct-s3-event";

/// Why an invocation is an error.
#[derive(Debug, thiserror::Error)]
pub enum IngestFailed {
    /// The payload is neither an SQS event nor an S3 event.
    #[error("the invocation payload is not an SQS event or an S3 event notification: {0}")]
    Payload(String),
    /// Records of a direct S3 event failed (SQS batches report failures per message instead).
    #[error("{failed} of {total} S3 event records failed: {details}")]
    Records { failed: usize, total: usize, details: String },
}

/// What a direct S3 invocation did, as the function's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectOutcome {
    /// Documents written.
    pub documents_ingested: u64,
    /// Documents removed.
    pub documents_deleted: u64,
    /// Events that changed nothing.
    pub documents_skipped: u64,
    /// Chunks written.
    pub chunks_written: u64,
}

/// Handles one SQS batch of S3 event notifications: the failed messages' ids, and only those.
///
/// A message without an id (Lambda always sends one) that fails is reported with an empty
/// identifier, which Lambda treats as a failure of the whole batch (AWS Lambda Developer Guide,
/// "Handling errors for an SQS event source in Lambda", services-sqs-errorhandling): every
/// message is redelivered rather than one being lost.
pub async fn handle(
    event: SqsEvent,
    context: &IngestContext,
    call: CallOptions,
) -> SqsBatchResponse {
    let messages: Vec<QueueMessage> = event
        .records
        .into_iter()
        .map(|message| QueueMessage {
            message_id: message.message_id.unwrap_or_default(),
            body: message.body.unwrap_or_default(),
        })
        .collect();
    let outcome = handle_batch(&messages, context, call).await;
    report(&outcome, messages.len());
    let mut response = SqsBatchResponse::default();
    response.set_failures(outcome.failed_message_ids);
    response
}

/// Handles an S3 event notification that invoked the function directly: an error when any
/// record failed, so Lambda retries the invocation.
pub async fn handle_s3(
    event: &Value,
    context: &IngestContext,
    call: CallOptions,
) -> Result<DirectOutcome, IngestFailed> {
    let message = QueueMessage { message_id: DIRECT_EVENT_ID.to_owned(), body: event.to_string() };
    let outcome = handle_batch(std::slice::from_ref(&message), context, call).await;
    report(&outcome, 1);
    let failures: Vec<String> = outcome
        .records
        .iter()
        .filter_map(|record| match &record.outcome {
            RecordOutcome::Failed { reason, .. } => Some(match &record.source {
                Some(source) => format!("{source}: {reason}"),
                None => reason.to_string(),
            }),
            _ => None,
        })
        .collect();
    if !failures.is_empty() {
        return Err(IngestFailed::Records {
            failed: failures.len(),
            total: outcome.records.len(),
            details: failures.join("; "),
        });
    }
    let counts = outcome.counts();
    Ok(DirectOutcome {
        documents_ingested: counts.documents_ingested,
        documents_deleted: counts.documents_deleted,
        documents_skipped: counts.documents_skipped,
        chunks_written: counts.chunks_written,
    })
}

/// Handles whatever invoked the function: an SQS batch (records with `eventSource` `aws:sqs`)
/// gets its partial batch response; anything else is handled as a direct S3 event.
pub async fn handle_payload(
    payload: Value,
    context: &IngestContext,
    call: CallOptions,
) -> Result<Value, IngestFailed> {
    let from_sqs = payload
        .get("Records")
        .and_then(Value::as_array)
        .and_then(|records| records.first())
        .and_then(|record| record.get("eventSource"))
        .and_then(Value::as_str)
        == Some("aws:sqs");
    let answer = if from_sqs {
        let event: SqsEvent = serde_json::from_value(payload).map_err(|error| {
            IngestFailed::Payload(format!("an SQS event that does not parse: {error}"))
        })?;
        serde_json::to_value(handle(event, context, call).await)
    } else {
        serde_json::to_value(handle_s3(&payload, context, call).await?)
    };
    answer.map_err(|error| IngestFailed::Payload(format!("the answer does not serialize: {error}")))
}

/// Logs the batch's summary and writes its EMF metrics line.
fn report(outcome: &BatchOutcome, messages: usize) {
    let counts = outcome.counts();
    let IngestCounts {
        documents_ingested,
        documents_deleted,
        documents_skipped,
        documents_failed,
        chunks_written,
        messages_failed,
    } = counts;
    tracing::info!(
        messages,
        documents_ingested,
        documents_deleted,
        documents_skipped,
        documents_failed,
        chunks_written,
        messages_failed,
        "batch done"
    );
    let line = emf(&counts, SystemTime::now());
    // A metrics line lost to a closed stdout is not worth failing the batch over.
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}
