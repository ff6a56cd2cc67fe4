//! Ingestion's CloudWatch metrics: a batch's outcomes counted, as one embedded-metric-format
//! (EMF) document in namespace `quarry` with the dimension `Service = ingest`.
//!
//! Metrics (unit Count): `DocumentsIngested`, `DocumentsDeleted`, `DocumentsSkipped`,
//! `DocumentsFailed` (every failed record, including messages that are not notifications),
//! `ChunksWritten`, `MessagesFailed`. EMF rules: the Amazon CloudWatch User Guide, "Specification:
//! Embedded metric format" (CloudWatch_Embedded_Metric_Format_Specification).

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use super::{BatchOutcome, RecordOutcome};

/// The CloudWatch namespace of quarry's metrics.
pub const NAMESPACE: &str = "quarry";
/// The `Service` dimension of ingestion's metrics.
pub const SERVICE: &str = "ingest";

/// A batch's outcomes, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestCounts {
    /// Documents whose content was written.
    pub documents_ingested: u64,
    /// Documents removed.
    pub documents_deleted: u64,
    /// Events acknowledged without a change (test events, stale, superseded, duplicate…).
    pub documents_skipped: u64,
    /// Records that failed (their messages are redelivered).
    pub documents_failed: u64,
    /// Chunks written for the ingested documents.
    pub chunks_written: u64,
    /// Messages reported failed.
    pub messages_failed: u64,
}

impl BatchOutcome {
    /// The counts of this batch.
    pub fn counts(&self) -> IngestCounts {
        let mut counts = IngestCounts {
            messages_failed: self.failed_message_ids.len() as u64,
            ..IngestCounts::default()
        };
        for report in &self.records {
            match &report.outcome {
                RecordOutcome::Ingested { chunks } => {
                    counts.documents_ingested += 1;
                    counts.chunks_written += *chunks as u64;
                }
                RecordOutcome::Deleted => counts.documents_deleted += 1,
                RecordOutcome::Skipped { .. } => counts.documents_skipped += 1,
                RecordOutcome::Failed { .. } => counts.documents_failed += 1,
            }
        }
        counts
    }
}

/// The EMF document of `counts` at `now`: one JSON log line CloudWatch turns into metrics.
pub fn emf(counts: &IngestCounts, now: SystemTime) -> Value {
    let values = [
        ("DocumentsIngested", counts.documents_ingested),
        ("DocumentsDeleted", counts.documents_deleted),
        ("DocumentsSkipped", counts.documents_skipped),
        ("DocumentsFailed", counts.documents_failed),
        ("ChunksWritten", counts.chunks_written),
        ("MessagesFailed", counts.messages_failed),
    ];
    let declared: Vec<Value> =
        values.iter().map(|(name, _)| json!({"Name": name, "Unit": "Count"})).collect();
    let millis = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let mut document = Map::new();
    document.insert(
        "_aws".to_owned(),
        json!({
            "Timestamp": u64::try_from(millis).unwrap_or(u64::MAX),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Service"]],
                "Metrics": declared,
            }]
        }),
    );
    document.insert("Service".to_owned(), json!(SERVICE));
    for (name, value) in values {
        document.insert(name.to_owned(), json!(value));
    }
    Value::Object(document)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::ingest::{IngestError, RecordReport, SkipReason};
    use crate::text::{DocumentRef, ExtractError, Format};

    fn report(message_id: &str, outcome: RecordOutcome) -> RecordReport {
        RecordReport {
            message_id: message_id.to_owned(),
            event_name: Some("ObjectCreated:Put".to_owned()),
            source: Some(DocumentRef::new("docs", message_id)),
            sequencer: None,
            outcome,
        }
    }

    #[test]
    fn a_batch_is_counted_and_every_declared_metric_has_a_value() {
        let corrupt = IngestError::Extract(ExtractError::Corrupt {
            format: Format::Pdf,
            reason: "no xref table".to_owned(),
        });
        let outcome = BatchOutcome {
            failed_message_ids: vec!["m3".to_owned()],
            records: vec![
                report("m1", RecordOutcome::Ingested { chunks: 3 }),
                report("m2", RecordOutcome::Ingested { chunks: 4 }),
                report("m3", corrupt.into()),
                report("m4", RecordOutcome::Deleted),
                report("m5", RecordOutcome::Skipped { reason: SkipReason::TestEvent }),
            ],
        };
        let counts = outcome.counts();
        assert_eq!(
            counts,
            IngestCounts {
                documents_ingested: 2,
                documents_deleted: 1,
                documents_skipped: 1,
                documents_failed: 1,
                chunks_written: 7,
                messages_failed: 1,
            }
        );
        let document = emf(&counts, UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        assert_eq!(document["_aws"]["Timestamp"], 1_700_000_000_000_u64);
        let declared = &document["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], "quarry");
        assert_eq!(declared["Dimensions"], json!([["Service"]]));
        assert_eq!(document["Service"], "ingest");
        let metrics = declared["Metrics"].as_array().expect("metrics");
        assert_eq!(metrics.len(), 6);
        for metric in metrics {
            let name = metric["Name"].as_str().expect("a name");
            assert!(document[name].is_u64(), "{name} is declared without a value");
            assert_eq!(metric["Unit"], "Count");
        }
        assert_eq!(document["DocumentsFailed"], 1);
        assert_eq!(document["ChunksWritten"], 7);
    }
}
