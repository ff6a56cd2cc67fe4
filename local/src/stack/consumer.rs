//! The ingest function's handler, fed from the local S3's notification queue the way Lambda's SQS
//! event source feeds the deployed function.
//!
//! One task loops: receive up to [`BATCH_SIZE`] messages (long polling), run
//! `quarry::ingest::handle_batch` on them within the function's timeout less
//! [`quarry_ingest::SAFETY_MARGIN`], and delete exactly the messages that did not fail. A failed
//! message stays: it comes back after the queue's visibility timeout, and after
//! `max_receive_count` deliveries the queue moves it to its dead-letter list. While a batch runs
//! its messages' visibility is extended, so a long batch is never handed out twice. Every record's
//! outcome is logged by the handler, every batch by the loop.
//!
//! Stopping ([`IngestConsumer::stop`]) lets the batch in flight finish — its documents stored, its
//! messages deleted — for up to the shutdown grace; a batch still running then is abandoned and
//! its messages made visible again at once, so the next start processes them. A message is only
//! ever deleted after its document was stored, so stopping never loses an acknowledged upload.

use std::time::Duration;

use aws_lambda_events::event::sqs::SqsMessage;
use quarry::bedrock::CallOptions;
use quarry::ingest::{BatchOutcome, IngestContext, QueueMessage, handle_batch};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::s3::NotificationQueue;

/// Messages per batch: the documents bucket's event source mapping takes batches of 10.
pub const BATCH_SIZE: usize = 10;

/// How long one receive waits for a message; also how soon an idle consumer sees a stop.
const POLL: Duration = Duration::from_millis(500);

/// How long the loop pauses after the queue itself failed.
const QUEUE_RETRY: Duration = Duration::from_secs(1);

/// How the consumer runs.
#[derive(Debug, Clone, Copy)]
pub struct ConsumerSettings {
    /// Each batch must be done within this (the ingest function's timeout less its margin).
    pub batch_timeout: Duration,
    /// At stop, how long the batch in flight may still run before it is abandoned.
    pub shutdown_grace: Duration,
}

/// The running consumer.
#[derive(Debug)]
pub struct IngestConsumer {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl IngestConsumer {
    /// Starts consuming `queue` with `context`, in the background of the current runtime.
    pub fn spawn(
        queue: NotificationQueue,
        context: IngestContext,
        settings: ConsumerSettings,
    ) -> Self {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(queue, context, settings, stopped));
        IngestConsumer { stop, task }
    }

    /// Stops after the batch in flight (see the module docs) and waits for the loop to end.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.task.await {
            tracing::error!(%error, "the ingest consumer ended abnormally");
        }
    }
}

async fn run(
    queue: NotificationQueue,
    context: IngestContext,
    settings: ConsumerSettings,
    mut stop: watch::Receiver<bool>,
) {
    tracing::info!(
        queue = queue.arn(),
        batch_size = BATCH_SIZE,
        visibility_timeout_s = queue.config().visibility_timeout.as_secs_f64(),
        max_receive_count = queue.config().max_receive_count,
        "ingest consumer started"
    );
    loop {
        if *stop.borrow_and_update() {
            break;
        }
        // Not raced against the stop signal: a receive cut short could leave messages hidden
        // until their timeout. POLL bounds how long a stop waits here.
        let batch = match queue.receive_wait(BATCH_SIZE, POLL).await {
            Ok(batch) => batch,
            Err(error) => {
                tracing::error!(%error, "receiving from the ingest queue failed; trying again");
                let _ = tokio::time::timeout(QUEUE_RETRY, stop.changed()).await;
                continue;
            }
        };
        if batch.is_empty() {
            continue;
        }
        if !process(&queue, &context, settings, batch, &mut stop).await {
            break;
        }
    }
    tracing::info!("ingest consumer stopped");
}

/// Handles one batch; false when it was abandoned at stop.
async fn process(
    queue: &NotificationQueue,
    context: &IngestContext,
    settings: ConsumerSettings,
    batch: Vec<SqsMessage>,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    let messages: Vec<QueueMessage> = batch
        .iter()
        .map(|message| QueueMessage {
            message_id: message.message_id.clone().unwrap_or_default(),
            body: message.body.clone().unwrap_or_default(),
        })
        .collect();
    let handles: Vec<&str> =
        batch.iter().filter_map(|message| message.receipt_handle.as_deref()).collect();
    let visibility = queue.config().visibility_timeout;
    let work = handle_batch(&messages, context, CallOptions::within(settings.batch_timeout));
    tokio::pin!(work);
    let mut heartbeat = tokio::time::interval_at(Instant::now() + visibility / 2, visibility / 2);
    let grace_end = |grace: Duration| Some(Instant::now() + grace);
    let mut abandon_at = if *stop.borrow() { grace_end(settings.shutdown_grace) } else { None };
    let outcome = loop {
        tokio::select! {
            outcome = &mut work => break Some(outcome),
            _ = heartbeat.tick() => {
                for handle in &handles {
                    if let Err(error) = queue.change_visibility(handle, visibility).await {
                        tracing::warn!(%error, "could not extend a message's visibility");
                    }
                }
            }
            _ = stop.changed(), if abandon_at.is_none() => {
                tracing::info!(
                    messages = messages.len(),
                    grace_s = settings.shutdown_grace.as_secs_f64(),
                    "stopping: waiting for the ingest batch in flight"
                );
                abandon_at = grace_end(settings.shutdown_grace);
            }
            () = sleep_until(abandon_at), if abandon_at.is_some() => break None,
        }
    };
    match outcome {
        Some(outcome) => {
            settle(queue, &batch, &outcome).await;
            true
        }
        None => {
            for handle in &handles {
                let _ = queue.change_visibility(handle, Duration::ZERO).await;
            }
            tracing::warn!(
                messages = messages.len(),
                "the ingest batch in flight did not finish within the shutdown grace; its messages \
                 stay in the queue and are processed at the next start"
            );
            false
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Deletes the messages that did not fail and says what happens to those that did.
async fn settle(queue: &NotificationQueue, batch: &[SqsMessage], outcome: &BatchOutcome) {
    let config = queue.config();
    let mut deleted = 0usize;
    for message in batch {
        let id = message.message_id.as_deref().unwrap_or_default();
        let handle = message.receipt_handle.as_deref().unwrap_or_default();
        if !outcome.failed_message_ids.iter().any(|failed| failed == id) {
            match queue.delete(handle).await {
                Ok(_) => deleted += 1,
                Err(error) => tracing::error!(
                    message_id = id,
                    %error,
                    "could not delete a processed message; it will be processed again"
                ),
            }
            continue;
        }
        let receives: u32 = message
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|count| count.parse().ok())
            .unwrap_or(1);
        let objects: Vec<String> = outcome
            .of_message(id)
            .filter_map(|report| report.source.as_ref())
            .map(|source| format!("s3://{}/{}", source.bucket, source.key))
            .collect();
        if receives >= config.max_receive_count {
            tracing::error!(
                message_id = id,
                objects = %objects.join(" "),
                receives,
                "ingest failed on the last allowed delivery; the message moves to the dead-letter \
                 list (GET /_quarry/queue on the local S3 lists it)"
            );
        } else {
            tracing::warn!(
                message_id = id,
                objects = %objects.join(" "),
                receives,
                max_receive_count = config.max_receive_count,
                retry_in_s = config.visibility_timeout.as_secs_f64(),
                "ingest failed; the message comes back after the visibility timeout"
            );
        }
    }
    let counts = outcome.counts();
    tracing::info!(
        messages = batch.len(),
        deleted,
        failed = outcome.failed_message_ids.len(),
        documents_ingested = counts.documents_ingested,
        documents_deleted = counts.documents_deleted,
        documents_skipped = counts.documents_skipped,
        documents_failed = counts.documents_failed,
        chunks_written = counts.chunks_written,
        "ingest batch done"
    );
}
