//! The pipeline over the local stack, fed by the local S3's own notifications: what a user sees
//! in the index after putting, overwriting and deleting documents, however the events arrive.

use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::SqsMessage;
use quarry::bedrock::CallOptions;
use quarry::ingest::{
    BatchOutcome, IngestError, Notification, QueueMessage, RecordOutcome, SkipReason, handle_batch,
    parse_message,
};
use quarry::text::{DocumentRef, ExtractError, Format};
use quarry_local::s3::QueueConfig;

use crate::support::{BUCKET, Stack, fixture_bytes, queue_messages, start, start_with};

const ESPRESSO: &str = "# Espresso machine guide\n\n\
## Setup\n\nFill the water tank with fresh cold water, slide the drip tray into place and switch the \
machine on. The boiler heats up in about ninety seconds; the green lamp stays lit when it is ready.\n\n\
## Cleaning\n\nDescale the boiler every month with citric acid. Rinse the portafilter and the steam \
wand after every use, and empty the grounds drawer before it overflows.\n\n\
## Warranty\n\nThe warranty on the espresso machine lasts two years from the date of purchase. Keep \
the receipt; repairs outside the warranty are charged at cost.";

const OFFICE: &str = "Office hours. The office opens at 9am on weekdays and at 10am on Saturdays. \
It is closed on Sundays and public holidays. Visitors sign in at the front desk.";

/// Ten paragraphs, each with words of its own, so the document makes several chunks.
fn long_document() -> String {
    let topics = [
        "granite",
        "basalt",
        "limestone",
        "marble",
        "sandstone",
        "slate",
        "quartzite",
        "gneiss",
        "dolomite",
        "travertine",
    ];
    topics
        .iter()
        .map(|rock| {
            format!(
                "The {rock} section of the quarry opens its {rock} face every spring. Crews cut \
                 {rock} blocks, grade the {rock} by colour and grain, and ship polished {rock} \
                 slabs to builders. Safety inspectors walk the {rock} benches each morning."
            )
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The decoded key of a notification message.
fn key_of(message: &SqsMessage) -> String {
    match parse_message(message.body.as_deref().expect("a body")) {
        Ok(Notification::Records(records)) => {
            records[0].as_ref().expect("a valid record").source.key.clone()
        }
        other => panic!("expected a record, got {other:?}"),
    }
}

async fn batch(stack: &Stack, messages: &[SqsMessage]) -> BatchOutcome {
    handle_batch(&queue_messages(messages), &stack.context, CallOptions::default()).await
}

fn outcomes(outcome: &BatchOutcome) -> Vec<&RecordOutcome> {
    outcome.records.iter().map(|record| &record.outcome).collect()
}

#[tokio::test]
async fn put_documents_become_searchable_with_the_right_one_first() {
    let stack = start("").await;
    stack.skip_test_event().await;
    stack.put_typed("guides/espresso.md", ESPRESSO, "text/markdown").await;
    stack.put("notes/office.txt", OFFICE).await;
    stack.put("handbook.pdf", fixture_bytes("handbook.pdf")).await;
    let failed = stack.handle(stack.receive(3).await).await;
    assert!(failed.is_empty(), "{failed:?}");

    for (question, key, passage) in [
        (
            "How long does the espresso machine warranty last?",
            "guides/espresso.md",
            "The warranty on the espresso machine lasts two years",
        ),
        ("When does the office open on Saturdays?", "notes/office.txt", "at 10am on Saturdays"),
        (
            "When are expenses reimbursed?",
            "handbook.pdf",
            "Expenses are reimbursed within 30 days.",
        ),
    ] {
        let hits = stack.search(question, 5).await;
        assert_eq!(hits[0].source.key, key, "{question}: {hits:#?}");
        assert!(hits[0].text.contains(passage), "{question}: {}", hits[0].text);
    }
    let espresso = stack.state("guides/espresso.md").await.expect("stored");
    assert!(espresso.chunks >= 2, "a 700-character guide makes several 400-character chunks");
    for key in ["guides/espresso.md", "notes/office.txt", "handbook.pdf"] {
        let state = stack.state(key).await.expect("stored");
        let chunks = stack.chunks_of(key).await;
        let ids: Vec<String> = chunks.iter().map(|hit| hit.id.clone()).collect();
        let expected: Vec<String> =
            (0..state.chunks).map(|i| DocumentRef::new(BUCKET, key).chunk_id(i)).collect();
        assert_eq!(ids, expected, "{key}");
    }
    let handbook = &stack.chunks_of("handbook.pdf").await[0];
    assert_eq!(handbook.title, "Quarry Handbook — 2024");
    assert_eq!(handbook.content_type, "application/pdf");
}

#[tokio::test]
async fn an_overwrite_with_a_shorter_document_leaves_no_orphans() {
    let stack = start("").await;
    stack.skip_test_event().await;
    stack.put("site/rocks.txt", long_document()).await;
    assert!(stack.handle(stack.receive(1).await).await.is_empty());
    let before = stack.state("site/rocks.txt").await.expect("stored").chunks;
    assert!(before >= 5, "the long version has many chunks, got {before}");

    stack.put("site/rocks.txt", "The quarry is closed for maintenance until March.").await;
    assert!(stack.handle(stack.receive(1).await).await.is_empty());
    let chunks = stack.chunks_of("site/rocks.txt").await;
    assert_eq!(chunks.len(), 1, "{chunks:#?}");
    assert_eq!(chunks[0].text, "The quarry is closed for maintenance until March.");
    assert_eq!(stack.state("site/rocks.txt").await.expect("stored").chunks, 1);
    for hit in stack.search("travertine blocks graded by colour", 10).await {
        assert!(!hit.text.contains("travertine"), "an old chunk survived: {hit:#?}");
    }
}

#[tokio::test]
async fn a_delete_removes_everything_of_the_document() {
    let stack = start("").await;
    stack.skip_test_event().await;
    stack.put("site/rocks.txt", long_document()).await;
    stack.put("notes/office.txt", OFFICE).await;
    stack.delete("site/rocks.txt").await;
    let outcome = batch(&stack, &stack.receive(3).await).await;
    assert!(outcome.failed_message_ids.is_empty(), "{outcome:#?}");
    // The put of rocks.txt is superseded by its delete in the same batch.
    assert!(matches!(
        outcomes(&outcome)[..],
        [
            RecordOutcome::Skipped { reason: SkipReason::Superseded { .. } },
            RecordOutcome::Ingested { chunks: 1 },
            RecordOutcome::Deleted
        ]
    ));
    assert!(stack.chunks_of("site/rocks.txt").await.is_empty());
    let state = stack.state("site/rocks.txt").await.expect("a tombstone");
    assert!(state.deleted && state.chunks == 0);
    assert!(
        stack
            .search("granite limestone marble slate", 20)
            .await
            .iter()
            .all(|hit| hit.source.key == "notes/office.txt")
    );

    // Put again and deleted in separate batches: the chunks go too.
    stack.put("site/rocks.txt", long_document()).await;
    assert!(stack.handle(stack.receive(1).await).await.is_empty());
    assert!(!stack.chunks_of("site/rocks.txt").await.is_empty());
    stack.delete("site/rocks.txt").await;
    assert!(stack.handle(stack.receive(1).await).await.is_empty());
    assert!(stack.chunks_of("site/rocks.txt").await.is_empty());
}

#[tokio::test]
async fn duplicate_deliveries_write_no_duplicates() {
    let stack = start("").await;
    stack.skip_test_event().await;
    stack.put("site/rocks.txt", long_document()).await;
    let message = stack.receive(1).await.remove(0);
    // S3 delivers at least once: the same event in two SQS messages of one batch.
    let mut copy = message.clone();
    copy.message_id = Some("a-second-delivery".to_owned());
    let outcome = batch(&stack, &[message.clone(), copy]).await;
    let RecordOutcome::Ingested { chunks } = outcome.records[0].outcome else {
        panic!("the first delivery is ingested: {outcome:#?}");
    };
    assert_eq!(
        outcome.records[1].outcome,
        RecordOutcome::Skipped { reason: SkipReason::Duplicate }
    );
    // And again in a later batch: an identical rewrite.
    let outcome = batch(&stack, std::slice::from_ref(&message)).await;
    assert_eq!(outcomes(&outcome), [&RecordOutcome::Ingested { chunks }]);
    let stored = stack.chunks_of("site/rocks.txt").await;
    assert_eq!(stored.len(), chunks);
    let mut ids: Vec<&str> = stored.iter().map(|hit| hit.id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), chunks, "no chunk is stored twice");

    // A delete delivered twice is a no-op the second time.
    stack.delete("site/rocks.txt").await;
    let delete = stack.receive(1).await;
    assert_eq!(outcomes(&batch(&stack, &delete).await), [&RecordOutcome::Deleted]);
    assert_eq!(
        outcomes(&batch(&stack, &delete).await),
        [&RecordOutcome::Skipped { reason: SkipReason::Duplicate }]
    );
}

#[tokio::test]
async fn out_of_order_deliveries_never_resurrect_or_overwrite() {
    let stack = start("").await;
    stack.skip_test_event().await;
    stack.put("memo.txt", "First memo: the crusher is serviced on Mondays.").await;
    stack.delete("memo.txt").await;
    stack.put("memo.txt", "Second memo: the crusher is serviced on Thursdays.").await;
    let events = stack.receive(3).await;
    let (create_1, delete_2, create_3) = (&events[0], &events[1], &events[2]);
    assert!(events.iter().all(|event| key_of(event) == "memo.txt"));

    // The delete arrives first: a tombstone.
    assert_eq!(
        outcomes(&batch(&stack, std::slice::from_ref(delete_2)).await),
        [&RecordOutcome::Deleted]
    );
    // Then the older create: it must not bring the memo back.
    let outcome = batch(&stack, std::slice::from_ref(create_1)).await;
    assert!(
        matches!(
            outcomes(&outcome)[..],
            [RecordOutcome::Skipped { reason: SkipReason::Stale { .. } }]
        ),
        "{outcome:#?}"
    );
    assert!(stack.chunks_of("memo.txt").await.is_empty());
    // The newest create applies.
    assert_eq!(
        outcomes(&batch(&stack, std::slice::from_ref(create_3)).await),
        [&RecordOutcome::Ingested { chunks: 1 }]
    );
    // Late redeliveries of the older create and of the delete change nothing.
    for late in [create_1, delete_2] {
        let outcome = batch(&stack, std::slice::from_ref(late)).await;
        assert!(
            matches!(
                outcomes(&outcome)[..],
                [RecordOutcome::Skipped { reason: SkipReason::Stale { .. } }]
            ),
            "{outcome:#?}"
        );
    }
    let chunks = stack.chunks_of("memo.txt").await;
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].text, "Second memo: the crusher is serviced on Thursdays.");
}

#[tokio::test]
async fn documents_that_cannot_be_indexed_fail_alone_and_end_in_the_dead_letter_queue() {
    let queue = QueueConfig {
        visibility_timeout: Duration::from_millis(500),
        max_receive_count: 2,
        ..QueueConfig::default()
    };
    let stack = start_with("", queue).await;
    stack.skip_test_event().await;
    stack.put("guides/espresso.md", ESPRESSO).await;
    stack.put("scans/contract.pdf", fixture_bytes("corrupt.pdf")).await;
    stack.put("data/blob.txt", b"\x00\x01\x02binary\xff\xfe".to_vec()).await;
    stack.put("huge.txt", "x".repeat(100 * 1024)).await;
    stack.put("handbook.pdf", fixture_bytes("handbook.pdf")).await;
    let messages = stack.receive(5).await;
    let keys: Vec<String> = messages.iter().map(key_of).collect();

    let outcome = batch(&stack, &messages).await;
    let failed_keys: Vec<&str> = outcome
        .failed_message_ids
        .iter()
        .map(|id| {
            let at =
                messages.iter().position(|m| m.message_id.as_deref() == Some(id)).expect("ours");
            keys[at].as_str()
        })
        .collect();
    assert_eq!(failed_keys, ["scans/contract.pdf", "data/blob.txt", "huge.txt"]);
    let reason = |key: &str| match &outcome.of_key(key).expect("reported").outcome {
        RecordOutcome::Failed { reason, retryable: false } => reason.clone(),
        other => panic!("{key}: expected a permanent failure, got {other:?}"),
    };
    assert!(matches!(
        reason("scans/contract.pdf"),
        IngestError::Extract(ExtractError::Corrupt { format: Format::Pdf, .. })
    ));
    assert!(matches!(reason("data/blob.txt"), IngestError::Extract(ExtractError::Binary { .. })));
    assert_eq!(
        reason("huge.txt"),
        IngestError::Extract(ExtractError::TooLarge { what: "object", size: 102_400, max: 65_536 })
    );
    assert_eq!(outcome.counts().documents_failed, 3);
    assert_eq!(outcome.counts().documents_ingested, 2);
    for key in ["guides/espresso.md", "handbook.pdf"] {
        assert!(!stack.chunks_of(key).await.is_empty(), "{key} is ingested");
    }
    for key in ["scans/contract.pdf", "data/blob.txt", "huge.txt"] {
        assert_eq!(stack.state(key).await, None, "{key} has nothing stored");
    }

    // As Lambda's event source: successes deleted, failures redelivered until dead-lettered.
    let done: Vec<SqsMessage> = messages
        .iter()
        .filter(|m| !outcome.failed_message_ids.contains(m.message_id.as_ref().expect("id")))
        .cloned()
        .collect();
    stack.ack(&done).await;
    stack.drain(10, None, Duration::from_secs(20)).await;
    let mut dead: Vec<String> = stack
        .s3
        .notifications()
        .dead_letters()
        .await
        .expect("dead letters")
        .iter()
        .map(|letter| key_of(&letter.message))
        .collect();
    dead.sort();
    assert_eq!(dead, ["data/blob.txt", "huge.txt", "scans/contract.pdf"]);
}

#[tokio::test]
async fn a_new_version_that_cannot_be_indexed_takes_the_old_chunks_with_it() {
    let stack = start("").await;
    stack.skip_test_event().await;
    stack.put("report.pdf", fixture_bytes("handbook.pdf")).await;
    assert!(stack.handle(stack.receive(1).await).await.is_empty());
    assert_eq!(stack.chunks_of("report.pdf").await.len(), 1);

    stack.put("report.pdf", fixture_bytes("corrupt.pdf")).await;
    let failed = stack.handle(stack.receive(1).await).await;
    assert_eq!(failed.len(), 1, "the corrupt version fails its message");
    assert!(stack.chunks_of("report.pdf").await.is_empty(), "no answer cites the old handbook");
}

#[tokio::test]
async fn a_deadline_too_short_fails_retryably_and_a_later_delivery_succeeds() {
    let stack = start("latency_ms=400").await;
    stack.skip_test_event().await;
    stack.put("notes/office.txt", OFFICE).await;
    let message = stack.receive(1).await;

    // A deadline that has passed: nothing is attempted.
    let passed = CallOptions { deadline: Some(Instant::now()) };
    let outcome = handle_batch(&queue_messages(&message), &stack.context, passed).await;
    assert_eq!(
        outcomes(&outcome),
        [&RecordOutcome::Failed {
            reason: IngestError::DeadlineExceeded { stage: "reading the document's state" },
            retryable: true
        }]
    );
    assert_eq!(stack.bedrock.faults().calls(), 0, "nothing reached Bedrock");

    // A deadline shorter than the embedding call: given up in time, retryable, message failed.
    let started = Instant::now();
    let failed =
        stack.handle_within(message.clone(), CallOptions::within(Duration::from_millis(150))).await;
    assert_eq!(failed, [message[0].message_id.clone().expect("an id")]);
    assert!(started.elapsed() < Duration::from_millis(1_000), "{:?}", started.elapsed());
    assert_eq!(stack.state("notes/office.txt").await, None);
    let outcome = handle_batch(
        &queue_messages(&message),
        &stack.context,
        CallOptions::within(Duration::from_millis(150)),
    )
    .await;
    assert_eq!(
        outcomes(&outcome),
        [&RecordOutcome::Failed {
            reason: IngestError::DeadlineExceeded { stage: "embedding the chunks" },
            retryable: true
        }]
    );

    // The redelivery, with time enough, succeeds.
    let redelivered = stack.receive(1).await;
    assert_eq!(key_of(&redelivered[0]), "notes/office.txt");
    assert!(
        stack
            .handle_within(redelivered, CallOptions::within(Duration::from_secs(10)))
            .await
            .is_empty()
    );
    assert_eq!(stack.state("notes/office.txt").await.map(|s| s.chunks), Some(1));
}

#[tokio::test]
async fn removing_one_version_reindexes_the_current_object_or_deletes_the_document() {
    let stack = start("").await;
    stack.skip_test_event().await;
    stack.put("memo.txt", "Current memo: the crusher is serviced on Thursdays.").await;
    assert!(stack.handle(stack.receive(1).await).await.is_empty());
    // `ObjectRemoved:Delete` with a `versionId`: one version of a versioned object was removed.
    // (The local S3 is unversioned, so the event is written here as S3 sends it for such a bucket.)
    let version_removed = |sequencer: &str| {
        QueueMessage {
        message_id: format!("version-removed-{sequencer}"),
        body: serde_json::json!({"Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "eventTime": "2024-05-01T12:00:00.000Z",
            "eventName": "ObjectRemoved:Delete",
            "s3": {
                "bucket": {"name": BUCKET},
                "object": {"key": "memo.txt", "versionId": "3HL4kqtJlcpXroDTDmJ", "sequencer": sequencer}
            }
        }]})
        .to_string(),
    }
    };
    // The key still has a current version: it is read and indexed again.
    let outcome =
        handle_batch(&[version_removed("F0")], &stack.context, CallOptions::default()).await;
    assert_eq!(outcomes(&outcome), [&RecordOutcome::Ingested { chunks: 1 }]);
    assert_eq!(stack.state("memo.txt").await.expect("stored").sequencer.as_str(), "F0");
    assert_eq!(stack.chunks_of("memo.txt").await.len(), 1);
    // The last version is gone: the document is deleted.
    stack.delete("memo.txt").await;
    let outcome =
        handle_batch(&[version_removed("F1")], &stack.context, CallOptions::default()).await;
    assert_eq!(outcomes(&outcome), [&RecordOutcome::Deleted]);
    assert!(stack.chunks_of("memo.txt").await.is_empty());
}
