//! The local S3's admin routes, beside the S3 API on the same port (bucket names cannot start with
//! `_`, so they never shadow a bucket): what the notification queue holds and what it gave up on.
//!
//! - `GET /_quarry/health` → `{"status": "ok"}`.
//! - `GET /_quarry/queue` → a [`QueueReport`]: the queue's settings and counts, the messages still
//!   waiting or in flight (at most [`PENDING_LIMIT`], oldest first) and every dead letter, each
//!   with the objects its S3 event is about (decoded keys).
//! - `POST /_quarry/queue/redrive` → `{"moved": N}`: every dead letter back on the queue with a
//!   fresh receive count (SQS's dead-letter queue redrive).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use quarry::ingest::{Notification, parse_message};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::queue::{NotificationQueue, QueueError};

/// The path of the queue report.
pub const QUEUE_PATH: &str = "/_quarry/queue";

/// At most this many waiting messages are listed (the counts cover all of them).
pub const PENDING_LIMIT: usize = 1000;

/// What `GET /_quarry/queue` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueReport {
    /// The queue's name.
    pub queue: String,
    /// The queue's ARN (each message's `eventSourceARN`).
    pub arn: String,
    /// How long a received message stays hidden before it is delivered again.
    pub visibility_timeout_ms: u64,
    /// Deliveries before an undeleted message moves to the dead-letter list.
    pub max_receive_count: u32,
    /// Messages ready to be received.
    pub visible: u64,
    /// Messages received and not yet deleted (being processed, or failed and waiting to return).
    pub in_flight: u64,
    /// Messages in the dead-letter list.
    pub dead: u64,
    /// The messages still in the queue, oldest first (at most [`PENDING_LIMIT`]).
    pub pending: Vec<PendingEntry>,
    /// The dead-letter list, oldest first.
    pub dead_letters: Vec<DeadLetterEntry>,
}

/// A message still in the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingEntry {
    pub message_id: String,
    /// The objects its event is about (none for the `s3:TestEvent`).
    pub objects: Vec<EventObject>,
    /// Deliveries so far.
    pub receives: u32,
    /// Held by a consumer (or failed and waiting for its visibility timeout).
    pub in_flight: bool,
}

/// A message in the dead-letter list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetterEntry {
    pub message_id: String,
    /// The objects its event is about.
    pub objects: Vec<EventObject>,
    /// Deliveries before it was moved.
    pub receives: u32,
    /// When it was moved, in milliseconds since the Unix epoch.
    pub dead_lettered_at_ms: u64,
}

/// One S3 event record: which event, on which object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventObject {
    /// `ObjectCreated:Put`, `ObjectRemoved:Delete`, …
    pub event: String,
    pub bucket: String,
    /// The decoded key.
    pub key: String,
}

/// The objects the S3 event message `body` is about.
pub fn event_objects(body: &str) -> Vec<EventObject> {
    match parse_message(body) {
        Ok(Notification::Records(records)) => records
            .into_iter()
            .flatten()
            .map(|event| EventObject {
                event: event.name,
                bucket: event.source.bucket,
                key: event.source.key,
            })
            .collect(),
        Ok(Notification::Test { .. }) | Err(_) => Vec::new(),
    }
}

/// The admin routes over `queue`.
pub fn router(queue: NotificationQueue) -> Router {
    Router::new()
        .route("/_quarry/health", get(|| async { axum::Json(json!({"status": "ok"})) }))
        .route(QUEUE_PATH, get(queue_report))
        .route("/_quarry/queue/redrive", post(redrive))
        .with_state(queue)
}

/// The report of `queue` as it is now.
pub async fn report(queue: &NotificationQueue) -> Result<QueueReport, QueueError> {
    let stats = queue.stats().await?;
    let pending = queue
        .messages(PENDING_LIMIT)
        .await?
        .into_iter()
        .map(|message| PendingEntry {
            objects: event_objects(&message.body),
            message_id: message.message_id,
            receives: message.receive_count,
            in_flight: !message.visible,
        })
        .collect();
    let dead_letters = queue
        .dead_letters()
        .await?
        .into_iter()
        .map(|dead| DeadLetterEntry {
            objects: event_objects(dead.message.body.as_deref().unwrap_or_default()),
            message_id: dead.message.message_id.clone().unwrap_or_default(),
            receives: dead
                .message
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|count| count.parse().ok())
                .unwrap_or(0),
            dead_lettered_at_ms: dead.dead_lettered_at_ms,
        })
        .collect();
    let config = queue.config();
    Ok(QueueReport {
        queue: config.name.clone(),
        arn: queue.arn().to_owned(),
        visibility_timeout_ms: u64::try_from(config.visibility_timeout.as_millis())
            .unwrap_or(u64::MAX),
        max_receive_count: config.max_receive_count,
        visible: stats.visible,
        in_flight: stats.in_flight,
        dead: stats.dead,
        pending,
        dead_letters,
    })
}

async fn queue_report(State(queue): State<NotificationQueue>) -> Response {
    match report(&queue).await {
        Ok(report) => axum::Json(report).into_response(),
        Err(error) => failure(&error),
    }
}

async fn redrive(State(queue): State<NotificationQueue>) -> Response {
    match queue.redrive_dead_letters().await {
        Ok(moved) => {
            tracing::info!(moved, "dead letters moved back to the notification queue");
            axum::Json(json!({"moved": moved})).into_response()
        }
        Err(error) => failure(&error),
    }
}

fn failure(error: &QueueError) -> Response {
    let body = json!({"error": {"message": error.to_string()}});
    (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
}
