//! A durable local queue with SQS's delivery semantics, where the local S3 puts its notifications.
//!
//! At-least-once delivery as SQS does it: [`NotificationQueue::receive`] hands out up to `max`
//! visible messages in send order and hides them for the visibility timeout; a consumer
//! [`delete`](NotificationQueue::delete)s what it processed (with the receipt handle of its latest
//! receive); what it does not delete comes back with `ApproximateReceiveCount` one higher. A message
//! received `max_receive_count` times and still not deleted is moved, on the next receive, to the
//! dead-letter list ([`NotificationQueue::dead_letters`]) — SQS's redrive policy.
//!
//! Messages are [`SqsMessage`]s exactly as Lambda's SQS event source delivers them (`messageId`,
//! `receiptHandle`, `body`, `md5OfBody`, the `attributes`, `eventSource` `aws:sqs`,
//! `eventSourceARN`, `awsRegion`), so a batch is ready to wrap in an `SqsEvent`.
//!
//! Everything lives in one SQLite database (WAL, `synchronous=FULL`): a send returns only once the
//! message is on disk, a delete only once it is gone, and a crash or restart loses nothing — a
//! message in flight when the process stopped becomes visible again when its timeout runs out.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_lambda_events::event::sqs::SqsMessage;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use s3s::crypto::{Checksum, Md5};
use tokio::sync::Notify;

use super::event::unix_millis;

/// The account id in the local queue's ARN (the same one the other local services use).
pub const LOCAL_ACCOUNT_ID: &str = "000000000000";

/// Who the messages say sent them (`SenderId`).
pub const SENDER_ID: &str = "quarry-local-s3";

/// How the queue behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueConfig {
    /// The queue name, the last part of its ARN.
    pub name: String,
    /// How long a received message stays hidden before it is delivered again (SQS default 30 s).
    pub visibility_timeout: Duration,
    /// Deliveries before an undeleted message moves to the dead-letter list (`maxReceiveCount`).
    pub max_receive_count: u32,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            name: "quarry-ingest".to_owned(),
            visibility_timeout: Duration::from_secs(30),
            max_receive_count: 5,
        }
    }
}

/// What can go wrong with the queue.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("could not open the notification queue database {path}: {source}")]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error("the notification queue database failed: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("max_receive_count must be at least 1, got 0")]
    MaxReceiveCount,
    #[error("the queue name must be 1 to 80 letters, digits, '-' or '_', got {0:?}")]
    Name(String),
    #[error("a previous queue operation panicked; the queue is unusable")]
    Poisoned,
    #[error("the queue worker thread failed: {0}")]
    Worker(#[from] tokio::task::JoinError),
}

/// A message moved to the dead-letter list: its last delivery and when it was moved.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// The message as last delivered (its receive count is the number of deliveries).
    pub message: SqsMessage,
    /// When it was moved, in milliseconds since the Unix epoch.
    pub dead_lettered_at_ms: u64,
}

/// How many messages are where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueStats {
    /// Ready to be received.
    pub visible: u64,
    /// Received and hidden until their visibility timeout runs out.
    pub in_flight: u64,
    /// In the dead-letter list.
    pub dead: u64,
}

/// A message waiting in the queue or being processed, as [`NotificationQueue::messages`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMessage {
    pub message_id: String,
    pub body: String,
    /// Deliveries so far (0: never received).
    pub receive_count: u32,
    /// False while a consumer holds it (in flight, hidden until its visibility timeout runs out).
    pub visible: bool,
}

/// The local queue. Cheap to clone; every clone is the same queue.
#[derive(Debug, Clone)]
pub struct NotificationQueue {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: QueueConfig,
    region: String,
    arn: String,
    conn: Mutex<Connection>,
    sent: Notify,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS messages (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id       TEXT NOT NULL UNIQUE,
    body             TEXT NOT NULL,
    sent_ms          INTEGER NOT NULL,
    receive_count    INTEGER NOT NULL DEFAULT 0,
    first_receive_ms INTEGER,
    visible_at_ms    INTEGER NOT NULL,
    receipt_handle   TEXT UNIQUE
);
CREATE INDEX IF NOT EXISTS messages_by_visibility ON messages (visible_at_ms, seq);
CREATE TABLE IF NOT EXISTS dead_letters (
    seq                INTEGER PRIMARY KEY,
    message_id         TEXT NOT NULL,
    body               TEXT NOT NULL,
    sent_ms            INTEGER NOT NULL,
    receive_count      INTEGER NOT NULL,
    first_receive_ms   INTEGER,
    receipt_handle     TEXT,
    dead_lettered_ms   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sent_once (marker TEXT PRIMARY KEY, sent_ms INTEGER NOT NULL);
";

/// One stored message row.
struct Row {
    seq: i64,
    message_id: String,
    body: String,
    sent_ms: i64,
    receive_count: i64,
    first_receive_ms: Option<i64>,
    receipt_handle: Option<String>,
}

impl NotificationQueue {
    /// Opens (or creates) the queue stored in the SQLite file `path`; `region` goes into its ARN and
    /// each message's `awsRegion`.
    pub fn open(path: &Path, region: &str, config: QueueConfig) -> Result<Self, QueueError> {
        if config.max_receive_count == 0 {
            return Err(QueueError::MaxReceiveCount);
        }
        let name_ok = (1..=80).contains(&config.name.len())
            && config.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            return Err(QueueError::Name(config.name));
        }
        let open_error = |source| QueueError::Open { path: path.to_owned(), source };
        let conn = Connection::open(path).map_err(open_error)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(open_error)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(open_error)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(open_error)?;
        conn.execute_batch(SCHEMA).map_err(open_error)?;
        let arn = format!("arn:aws:sqs:{region}:{LOCAL_ACCOUNT_ID}:{}", config.name);
        let region = region.to_owned();
        Ok(NotificationQueue {
            inner: Arc::new(Inner {
                config,
                region,
                arn,
                conn: Mutex::new(conn),
                sent: Notify::new(),
            }),
        })
    }

    /// The queue's ARN, `arn:aws:sqs:<region>:000000000000:<name>` (each message's `eventSourceARN`).
    pub fn arn(&self) -> &str {
        &self.inner.arn
    }

    pub fn config(&self) -> &QueueConfig {
        &self.inner.config
    }

    /// Sends one message; returns its message id once it is stored.
    pub async fn send(&self, body: String) -> Result<String, QueueError> {
        let ids = self.transaction(move |tx, now| Ok(vec![insert(tx, &body, now)?])).await?;
        self.inner.sent.notify_waiters();
        Ok(ids.into_iter().next().unwrap_or_default())
    }

    /// Sends `body` unless a message was already sent under `marker` (ever, across restarts).
    /// Returns whether it was sent.
    pub async fn send_once(&self, marker: String, body: String) -> Result<bool, QueueError> {
        let sent = self
            .transaction(move |tx, now| {
                let fresh = tx.execute(
                    "INSERT OR IGNORE INTO sent_once (marker, sent_ms) VALUES (?1, ?2)",
                    params![marker, now],
                )? == 1;
                if fresh {
                    insert(tx, &body, now)?;
                }
                Ok(fresh)
            })
            .await?;
        if sent {
            self.inner.sent.notify_waiters();
        }
        Ok(sent)
    }

    /// Takes the next value of the durable counter `counter` (never repeating, never going back,
    /// and at least `floor`) and sends the bodies `make` builds from it, all in one transaction.
    pub async fn send_counted<F>(
        &self,
        counter: &str,
        floor: u64,
        make: F,
    ) -> Result<u64, QueueError>
    where
        F: FnOnce(u64) -> Vec<String> + Send + 'static,
    {
        let counter = counter.to_owned();
        let (value, sent) = self
            .transaction(move |tx, now| {
                let last: Option<i64> = tx
                    .query_row("SELECT value FROM counters WHERE name = ?1", [&counter], |r| {
                        r.get(0)
                    })
                    .optional()?;
                let last = last.map_or(0, |v| u64::try_from(v).unwrap_or(0));
                let value = last.saturating_add(1).max(floor).min(i64::MAX as u64);
                tx.execute(
                    "INSERT INTO counters (name, value) VALUES (?1, ?2)
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    params![counter, value as i64],
                )?;
                let bodies = make(value);
                for body in &bodies {
                    insert(tx, body, now)?;
                }
                Ok((value, !bodies.is_empty()))
            })
            .await?;
        if sent {
            self.inner.sent.notify_waiters();
        }
        Ok(value)
    }

    /// Receives up to `max` (at least 1) visible messages, oldest first, and hides them for the
    /// visibility timeout. Messages already delivered `max_receive_count` times are moved to the
    /// dead-letter list instead. Returns at once, possibly with nothing.
    pub async fn receive(&self, max: usize) -> Result<Vec<SqsMessage>, QueueError> {
        let max = max.max(1);
        let arn = self.inner.arn.clone();
        let region = self.inner.region.clone();
        let visibility_ms = millis(self.inner.config.visibility_timeout);
        let max_receives = i64::from(self.inner.config.max_receive_count);
        self.transaction(move |tx, now| {
            let mut out = Vec::new();
            while out.len() < max {
                let rows = visible_rows(tx, now, max - out.len())?;
                if rows.is_empty() {
                    break;
                }
                for mut row in rows {
                    if row.receive_count >= max_receives {
                        move_to_dead_letters(tx, &row, now)?;
                        continue;
                    }
                    row.receive_count += 1;
                    row.first_receive_ms = row.first_receive_ms.or(Some(now));
                    let receipt = new_receipt_handle();
                    tx.execute(
                        "UPDATE messages SET receive_count = ?1, first_receive_ms = ?2,
                             visible_at_ms = ?3, receipt_handle = ?4 WHERE seq = ?5",
                        params![
                            row.receive_count,
                            row.first_receive_ms,
                            now.saturating_add(visibility_ms),
                            receipt,
                            row.seq
                        ],
                    )?;
                    row.receipt_handle = Some(receipt);
                    out.push(to_sqs_message(&row, &arn, &region));
                }
            }
            Ok(out)
        })
        .await
    }

    /// Like [`receive`](Self::receive), but waits up to `wait` for a message to become available
    /// (SQS long polling). Returns as soon as there is at least one.
    pub async fn receive_wait(
        &self,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<SqsMessage>, QueueError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Registered before looking, so a send between the look and the wait is not missed.
            let sent = self.inner.sent.notified();
            tokio::pin!(sent);
            sent.as_mut().enable();
            let messages = self.receive(max).await?;
            let now = tokio::time::Instant::now();
            if !messages.is_empty() || now >= deadline {
                return Ok(messages);
            }
            // In-flight messages reappear without a send: look again at least every 50 ms.
            let nap = (deadline - now).min(Duration::from_millis(50));
            let _ = tokio::time::timeout(nap, sent).await;
        }
    }

    /// Deletes the message last received with `receipt_handle`. Returns whether a message was
    /// deleted: `false` for an unknown handle or one superseded by a later receive (as on SQS, where
    /// such a delete succeeds but may not delete anything).
    pub async fn delete(&self, receipt_handle: &str) -> Result<bool, QueueError> {
        let receipt = receipt_handle.to_owned();
        self.transaction(move |tx, _| {
            Ok(tx.execute("DELETE FROM messages WHERE receipt_handle = ?1", [receipt])? == 1)
        })
        .await
    }

    /// Hides the message last received with `receipt_handle` for `timeout` from now (zero makes it
    /// visible at once). Returns whether the handle named a message.
    pub async fn change_visibility(
        &self,
        receipt_handle: &str,
        timeout: Duration,
    ) -> Result<bool, QueueError> {
        let receipt = receipt_handle.to_owned();
        let changed = self
            .transaction(move |tx, now| {
                Ok(tx.execute(
                    "UPDATE messages SET visible_at_ms = ?1 WHERE receipt_handle = ?2",
                    params![now.saturating_add(millis(timeout)), receipt],
                )? == 1)
            })
            .await?;
        if changed && timeout.is_zero() {
            self.inner.sent.notify_waiters();
        }
        Ok(changed)
    }

    /// The dead-letter list, oldest message first.
    pub async fn dead_letters(&self) -> Result<Vec<DeadLetter>, QueueError> {
        let arn = self.inner.arn.clone();
        let region = self.inner.region.clone();
        self.transaction(move |tx, _| {
            let mut stmt = tx.prepare(
                "SELECT seq, message_id, body, sent_ms, receive_count, first_receive_ms,
                        receipt_handle, dead_lettered_ms
                 FROM dead_letters ORDER BY seq",
            )?;
            let letters = stmt
                .query_map([], |r| {
                    let row = Row {
                        seq: r.get(0)?,
                        message_id: r.get(1)?,
                        body: r.get(2)?,
                        sent_ms: r.get(3)?,
                        receive_count: r.get(4)?,
                        first_receive_ms: r.get(5)?,
                        receipt_handle: r.get(6)?,
                    };
                    let moved: i64 = r.get(7)?;
                    Ok(DeadLetter {
                        message: to_sqs_message(&row, &arn, &region),
                        dead_lettered_at_ms: u64::try_from(moved).unwrap_or(0),
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(letters)
        })
        .await
    }

    /// Moves every dead letter back onto the queue, visible now, with its receive count reset (SQS's
    /// "start DLQ redrive"). Returns how many were moved.
    pub async fn redrive_dead_letters(&self) -> Result<u64, QueueError> {
        let moved = self
            .transaction(|tx, now| {
                let moved = tx.execute(
                    "INSERT INTO messages (seq, message_id, body, sent_ms, receive_count, visible_at_ms)
                     SELECT seq, message_id, body, sent_ms, 0, ?1 FROM dead_letters ORDER BY seq",
                    [now],
                )?;
                tx.execute("DELETE FROM dead_letters", [])?;
                Ok(moved as u64)
            })
            .await?;
        if moved > 0 {
            self.inner.sent.notify_waiters();
        }
        Ok(moved)
    }

    /// Up to `limit` messages still in the queue (visible or in flight), oldest first.
    pub async fn messages(&self, limit: usize) -> Result<Vec<QueuedMessage>, QueueError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.transaction(move |tx, now| {
            let mut stmt = tx.prepare(
                "SELECT message_id, body, receive_count, visible_at_ms FROM messages
                 ORDER BY seq LIMIT ?1",
            )?;
            let messages = stmt
                .query_map([limit], |r| {
                    let visible_at: i64 = r.get(3)?;
                    Ok(QueuedMessage {
                        message_id: r.get(0)?,
                        body: r.get(1)?,
                        receive_count: u32::try_from(r.get::<_, i64>(2)?).unwrap_or(u32::MAX),
                        visible: visible_at <= now,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(messages)
        })
        .await
    }

    /// How many messages are visible, in flight and dead.
    pub async fn stats(&self) -> Result<QueueStats, QueueError> {
        self.transaction(|tx, now| {
            let count = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> rusqlite::Result<u64> {
                tx.query_row(sql, p, |r| r.get::<_, i64>(0)).map(|n| u64::try_from(n).unwrap_or(0))
            };
            Ok(QueueStats {
                visible: count("SELECT COUNT(*) FROM messages WHERE visible_at_ms <= ?1", &[&now])?,
                in_flight: count(
                    "SELECT COUNT(*) FROM messages WHERE visible_at_ms > ?1",
                    &[&now],
                )?,
                dead: count("SELECT COUNT(*) FROM dead_letters", &[])?,
            })
        })
        .await
    }

    /// Runs `work` in one immediate transaction on a blocking thread, with the current time in ms.
    async fn transaction<T, F>(&self, work: F) -> Result<T, QueueError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>, i64) -> Result<T, QueueError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut conn = inner.conn.lock().map_err(|_| QueueError::Poisoned)?;
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let now = i64::try_from(unix_millis(SystemTime::now())).unwrap_or(i64::MAX);
            let out = work(&tx, now)?;
            tx.commit()?;
            Ok(out)
        })
        .await?
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn new_receipt_handle() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

fn insert(tx: &Transaction<'_>, body: &str, now: i64) -> Result<String, QueueError> {
    let message_id = uuid::Uuid::new_v4().to_string();
    tx.execute(
        "INSERT INTO messages (message_id, body, sent_ms, visible_at_ms) VALUES (?1, ?2, ?3, ?3)",
        params![message_id, body, now],
    )?;
    Ok(message_id)
}

fn visible_rows(tx: &Transaction<'_>, now: i64, limit: usize) -> Result<Vec<Row>, QueueError> {
    let mut stmt = tx.prepare_cached(
        "SELECT seq, message_id, body, sent_ms, receive_count, first_receive_ms, receipt_handle
         FROM messages WHERE visible_at_ms <= ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![now, i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            Ok(Row {
                seq: r.get(0)?,
                message_id: r.get(1)?,
                body: r.get(2)?,
                sent_ms: r.get(3)?,
                receive_count: r.get(4)?,
                first_receive_ms: r.get(5)?,
                receipt_handle: r.get(6)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

fn move_to_dead_letters(tx: &Transaction<'_>, row: &Row, now: i64) -> Result<(), QueueError> {
    tx.execute(
        "INSERT INTO dead_letters (seq, message_id, body, sent_ms, receive_count, first_receive_ms,
                                   receipt_handle, dead_lettered_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            row.seq,
            row.message_id,
            row.body,
            row.sent_ms,
            row.receive_count,
            row.first_receive_ms,
            row.receipt_handle,
            now
        ],
    )?;
    tx.execute("DELETE FROM messages WHERE seq = ?1", [row.seq])?;
    tracing::warn!(
        message_id = %row.message_id,
        receives = row.receive_count,
        objects = %objects_of(&row.body),
        "notification moved to the dead-letter list after {} deliveries",
        row.receive_count
    );
    Ok(())
}

/// The objects an S3 event message is about, `s3://bucket/key` (decoded keys), for log lines.
fn objects_of(body: &str) -> String {
    let objects = super::admin::event_objects(body);
    if objects.is_empty() {
        return "(no object)".to_owned();
    }
    let named: Vec<String> =
        objects.iter().map(|object| format!("s3://{}/{}", object.bucket, object.key)).collect();
    named.join(" ")
}

fn to_sqs_message(row: &Row, arn: &str, region: &str) -> SqsMessage {
    let mut attributes = HashMap::new();
    attributes.insert("ApproximateReceiveCount".to_owned(), row.receive_count.to_string());
    attributes.insert("SentTimestamp".to_owned(), row.sent_ms.to_string());
    attributes.insert("SenderId".to_owned(), SENDER_ID.to_owned());
    if let Some(first) = row.first_receive_ms {
        attributes.insert("ApproximateFirstReceiveTimestamp".to_owned(), first.to_string());
    }
    let mut message = SqsMessage::default();
    message.message_id = Some(row.message_id.clone());
    message.receipt_handle = row.receipt_handle.clone();
    message.md5_of_body = Some(md5_hex(&row.body));
    message.body = Some(row.body.clone());
    message.attributes = attributes;
    message.event_source = Some("aws:sqs".to_owned());
    message.event_source_arn = Some(arn.to_owned());
    message.aws_region = Some(region.to_owned());
    message
}

fn md5_hex(body: &str) -> String {
    Md5::checksum(body.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(dir: &Path, visibility_ms: u64, max_receive_count: u32) -> NotificationQueue {
        NotificationQueue::open(
            &dir.join("queue.sqlite3"),
            "us-east-1",
            QueueConfig {
                visibility_timeout: Duration::from_millis(visibility_ms),
                max_receive_count,
                ..QueueConfig::default()
            },
        )
        .expect("queue opens")
    }

    fn attr(m: &SqsMessage, name: &str) -> String {
        m.attributes.get(name).cloned().unwrap_or_default()
    }

    #[tokio::test]
    async fn messages_come_out_in_send_order_with_the_sqs_envelope() {
        let dir = tempfile::tempdir().expect("temp dir");
        let q = queue(dir.path(), 30_000, 5);
        let first = q.send("one".to_owned()).await.expect("sent");
        q.send("two".to_owned()).await.expect("sent");
        let got = q.receive(10).await.expect("received");
        let bodies: Vec<_> = got.iter().map(|m| m.body.clone().unwrap_or_default()).collect();
        assert_eq!(bodies, ["one", "two"]);
        let m = &got[0];
        assert_eq!(m.message_id.as_deref(), Some(first.as_str()));
        // md5 of "one", as `md5sum` prints it.
        assert_eq!(m.md5_of_body.as_deref(), Some("f97c5d29941bfb1b2fdab0874906ab82"));
        assert_eq!(m.event_source.as_deref(), Some("aws:sqs"));
        assert_eq!(
            m.event_source_arn.as_deref(),
            Some("arn:aws:sqs:us-east-1:000000000000:quarry-ingest")
        );
        assert_eq!(m.aws_region.as_deref(), Some("us-east-1"));
        assert_eq!(attr(m, "ApproximateReceiveCount"), "1");
        assert!(!attr(m, "SentTimestamp").is_empty());
        assert!(!attr(m, "ApproximateFirstReceiveTimestamp").is_empty());
        // Hidden now: nothing more to receive.
        assert!(q.receive(10).await.expect("received").is_empty());
    }

    #[tokio::test]
    async fn a_batch_is_at_most_max_and_the_rest_follows() {
        let dir = tempfile::tempdir().expect("temp dir");
        let q = queue(dir.path(), 30_000, 5);
        for i in 0..5 {
            q.send(format!("m{i}")).await.expect("sent");
        }
        assert_eq!(q.receive(2).await.expect("received").len(), 2);
        let rest = q.receive(10).await.expect("received");
        assert_eq!(
            rest.iter().map(|m| m.body.clone().unwrap_or_default()).collect::<Vec<_>>(),
            ["m2", "m3", "m4"]
        );
    }

    #[tokio::test]
    async fn a_stale_receipt_handle_deletes_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let q = queue(dir.path(), 1, 5);
        q.send("x".to_owned()).await.expect("sent");
        let first = q.receive(1).await.expect("received");
        tokio::time::sleep(Duration::from_millis(5)).await;
        let second = q.receive(1).await.expect("received");
        assert_eq!(attr(&second[0], "ApproximateReceiveCount"), "2");
        let old = first[0].receipt_handle.clone().expect("handle");
        assert!(!q.delete(&old).await.expect("delete"));
        let new = second[0].receipt_handle.clone().expect("handle");
        assert!(q.delete(&new).await.expect("delete"));
        assert_eq!(q.stats().await.expect("stats"), QueueStats::default());
    }

    #[tokio::test]
    async fn change_visibility_zero_makes_a_message_receivable_at_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let q = queue(dir.path(), 60_000, 5);
        q.send("x".to_owned()).await.expect("sent");
        let got = q.receive(1).await.expect("received");
        let handle = got[0].receipt_handle.clone().expect("handle");
        assert!(q.change_visibility(&handle, Duration::ZERO).await.expect("changed"));
        let again = q.receive(1).await.expect("received");
        assert_eq!(attr(&again[0], "ApproximateReceiveCount"), "2");
    }

    #[tokio::test]
    async fn send_once_sends_once_per_marker_even_after_reopening() {
        let dir = tempfile::tempdir().expect("temp dir");
        let q = queue(dir.path(), 30_000, 5);
        assert!(q.send_once("test:docs".to_owned(), "t".to_owned()).await.expect("sent"));
        assert!(!q.send_once("test:docs".to_owned(), "t".to_owned()).await.expect("sent"));
        drop(q);
        let q = queue(dir.path(), 30_000, 5);
        assert!(!q.send_once("test:docs".to_owned(), "t".to_owned()).await.expect("sent"));
        assert_eq!(q.receive(10).await.expect("received").len(), 1);
    }

    #[tokio::test]
    async fn counters_increase_across_reopening_and_respect_the_floor() {
        let dir = tempfile::tempdir().expect("temp dir");
        let q = queue(dir.path(), 30_000, 5);
        assert_eq!(q.send_counted("seq", 0, |_| Vec::new()).await.expect("counted"), 1);
        assert_eq!(q.send_counted("seq", 0, |n| vec![n.to_string()]).await.expect("counted"), 2);
        drop(q);
        let q = queue(dir.path(), 30_000, 5);
        assert_eq!(q.send_counted("seq", 0, |_| Vec::new()).await.expect("counted"), 3);
        assert_eq!(q.send_counted("seq", 100, |_| Vec::new()).await.expect("counted"), 100);
        assert_eq!(q.send_counted("seq", 50, |_| Vec::new()).await.expect("counted"), 101);
        let got = q.receive(10).await.expect("received");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].body.as_deref(), Some("2"));
    }

    #[tokio::test]
    async fn redrive_puts_dead_letters_back_with_a_fresh_count() {
        let dir = tempfile::tempdir().expect("temp dir");
        let q = queue(dir.path(), 1, 1);
        q.send("poison".to_owned()).await.expect("sent");
        assert_eq!(q.receive(1).await.expect("received").len(), 1);
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(q.receive(1).await.expect("received").is_empty());
        assert_eq!(q.dead_letters().await.expect("dead letters").len(), 1);
        assert_eq!(q.redrive_dead_letters().await.expect("redriven"), 1);
        let got = q.receive(1).await.expect("received");
        assert_eq!(got[0].body.as_deref(), Some("poison"));
        assert_eq!(attr(&got[0], "ApproximateReceiveCount"), "1");
        assert!(q.dead_letters().await.expect("dead letters").is_empty());
    }

    #[tokio::test]
    async fn messages_lists_what_is_waiting_and_what_is_in_flight() {
        let dir = tempfile::tempdir().expect("temp dir");
        let q = queue(dir.path(), 30_000, 5);
        q.send("first".to_owned()).await.expect("sent");
        q.send("second".to_owned()).await.expect("sent");
        let taken = q.receive(1).await.expect("received");
        let listed = q.messages(10).await.expect("listed");
        let summary: Vec<(&str, u32, bool)> =
            listed.iter().map(|m| (m.body.as_str(), m.receive_count, m.visible)).collect();
        assert_eq!(summary, [("first", 1, false), ("second", 0, true)]);
        assert_eq!(Some(&listed[0].message_id), taken[0].message_id.as_ref());
        assert_eq!(q.messages(1).await.expect("listed").len(), 1, "at most the limit");
        q.delete(taken[0].receipt_handle.as_deref().expect("handle")).await.expect("deleted");
        assert_eq!(q.messages(10).await.expect("listed").len(), 1);
    }

    #[test]
    fn dead_letter_log_lines_name_the_objects() {
        let body = r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"documents"},"object":{"key":"guides/getting+started.md","sequencer":"0A1B2C3D4E5F678901"}}}]}"#;
        assert_eq!(objects_of(body), "s3://documents/guides/getting started.md");
        assert_eq!(objects_of(r#"{"Event":"s3:TestEvent","Bucket":"documents"}"#), "(no object)");
        assert_eq!(objects_of("not json"), "(no object)");
    }

    #[tokio::test]
    async fn long_polling_returns_when_a_message_arrives() {
        let dir = tempfile::tempdir().expect("temp dir");
        let q = queue(dir.path(), 30_000, 5);
        let sender = q.clone();
        let send = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            sender.send("late".to_owned()).await.expect("sent");
        });
        let started = std::time::Instant::now();
        let got = q.receive_wait(1, Duration::from_secs(10)).await.expect("received");
        assert_eq!(got[0].body.as_deref(), Some("late"));
        assert!(started.elapsed() < Duration::from_secs(5));
        send.await.expect("sender finished");
        // And an empty queue answers empty once the wait is over.
        assert!(q.receive_wait(1, Duration::from_millis(50)).await.expect("received").is_empty());
    }

    #[test]
    fn bad_settings_are_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("q.sqlite3");
        let zero = QueueConfig { max_receive_count: 0, ..QueueConfig::default() };
        assert!(matches!(
            NotificationQueue::open(&path, "us-east-1", zero),
            Err(QueueError::MaxReceiveCount)
        ));
        let bad_name = QueueConfig { name: "no spaces".to_owned(), ..QueueConfig::default() };
        assert!(matches!(
            NotificationQueue::open(&path, "us-east-1", bad_name),
            Err(QueueError::Name(_))
        ));
    }
}
