//! One batch: every message read, the newest event per key chosen, the chosen events applied one
//! after another, every outcome logged, and the failed messages named.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use super::event::{EventAction, Notification, ObjectEvent, parse_message};
use super::record::apply;
use super::{BatchOutcome, IngestContext, QueueMessage, RecordOutcome, RecordReport, SkipReason};
use crate::bedrock::CallOptions;
use crate::vector::Sequencer;

/// One record of the batch on its way to a report.
struct Slot<'a> {
    message: &'a QueueMessage,
    event: Option<ObjectEvent>,
    outcome: Option<RecordOutcome>,
}

/// Processes one batch of queue messages within `call`'s deadline; see the [module docs](super).
///
/// Never fails as a whole: a message is failed when any of its records failed, and every record
/// has a report.
pub async fn handle_batch(
    messages: &[QueueMessage],
    context: &IngestContext,
    call: CallOptions,
) -> BatchOutcome {
    let mut slots = Vec::new();
    for message in messages {
        match parse_message(&message.body) {
            Ok(Notification::Test { .. }) => slots.push(Slot {
                message,
                event: None,
                outcome: Some(RecordOutcome::Skipped { reason: SkipReason::TestEvent }),
            }),
            Ok(Notification::Records(records)) => {
                for record in records {
                    slots.push(match record {
                        Ok(event) => Slot { message, event: Some(event), outcome: None },
                        Err(error) => Slot { message, event: None, outcome: Some(error.into()) },
                    });
                }
            }
            Err(error) => slots.push(Slot { message, event: None, outcome: Some(error.into()) }),
        }
    }
    supersede(&mut slots);
    for slot in &mut slots {
        if let (Some(event), None) = (&slot.event, &slot.outcome) {
            slot.outcome = Some(apply(event, context, &call).await);
        }
    }
    let mut outcome = BatchOutcome::default();
    for slot in slots {
        let Some(record_outcome) = slot.outcome else { continue };
        let report = RecordReport {
            message_id: slot.message.message_id.clone(),
            event_name: slot.event.as_ref().map(|event| event.name.clone()),
            source: slot.event.as_ref().map(|event| event.source.clone()),
            sequencer: slot.event.as_ref().map(|event| event.sequencer.clone()),
            outcome: record_outcome,
        };
        log(&report);
        if matches!(report.outcome, RecordOutcome::Failed { .. })
            && !outcome.failed_message_ids.contains(&report.message_id)
        {
            outcome.failed_message_ids.push(report.message_id.clone());
        }
        outcome.records.push(report);
    }
    outcome
}

/// Keeps one content event per object: the newest, the first of equals. The others are
/// `Superseded` (older) or `Duplicate` (the same sequencer).
fn supersede(slots: &mut [Slot<'_>]) {
    fn content_event<'s>(slot: &'s Slot<'_>) -> Option<(&'s ObjectEvent, (String, String))> {
        let event = slot.event.as_ref().filter(|e| e.action != EventAction::Other)?;
        Some((event, (event.source.bucket.clone(), event.source.key.clone())))
    }
    let mut newest: HashMap<(String, String), (usize, Sequencer)> = HashMap::new();
    for (index, slot) in slots.iter().enumerate() {
        let Some((event, object)) = content_event(slot) else { continue };
        match newest.entry(object) {
            Entry::Vacant(entry) => {
                entry.insert((index, event.sequencer.clone()));
            }
            Entry::Occupied(mut entry) if event.sequencer > entry.get().1 => {
                entry.insert((index, event.sequencer.clone()));
            }
            Entry::Occupied(_) => {}
        }
    }
    for (index, slot) in slots.iter_mut().enumerate() {
        let Some((event, object)) = content_event(slot) else { continue };
        let Some((winner, sequencer)) = newest.get(&object) else { continue };
        if *winner == index {
            continue;
        }
        let reason = if *sequencer == event.sequencer {
            SkipReason::Duplicate
        } else {
            SkipReason::Superseded { by: sequencer.clone() }
        };
        slot.outcome = Some(RecordOutcome::Skipped { reason });
    }
}

/// One log line per record: failures as errors with the key and reason.
fn log(report: &RecordReport) {
    let message_id = report.message_id.as_str();
    let bucket = report.source.as_ref().map_or("", |s| s.bucket.as_str());
    let key = report.source.as_ref().map_or("", |s| s.key.as_str());
    let event = report.event_name.as_deref().unwrap_or("");
    let sequencer = report.sequencer.as_ref().map_or("", |s| s.as_str());
    match &report.outcome {
        RecordOutcome::Ingested { chunks } => {
            tracing::info!(message_id, bucket, key, event, sequencer, chunks, "document ingested");
        }
        RecordOutcome::Deleted => {
            tracing::info!(message_id, bucket, key, event, sequencer, "document deleted");
        }
        RecordOutcome::Skipped { reason } => {
            tracing::info!(message_id, bucket, key, event, sequencer, %reason, "event skipped");
        }
        RecordOutcome::Failed { reason, retryable } => {
            tracing::error!(
                message_id, bucket, key, event, sequencer, retryable, %reason,
                "document failed; its message goes back to the queue"
            );
        }
    }
}
