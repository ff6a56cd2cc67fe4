//! The event payloads the function meets: AWS's examples, our own fixtures for what real delivery
//! does (encoded keys, deletes, the test event, SQS wrapping, moto and MinIO omissions), and the
//! repository's `events/` files for `cargo lambda invoke`.

use aws_lambda_events::event::sqs::SqsEvent;
use quarry::bedrock::CallOptions;
use quarry::ingest::{EventAction, Notification, OrderedBy, parse_message};
use quarry_ingest::{DirectOutcome, IngestFailed, handle, handle_payload};
use serde_json::{Value, json};

use crate::support::{event_file, fixture, sqs_event, start};

fn json_fixture(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).expect("a JSON fixture")
}

/// The one notification inside an SQS event file's only message.
fn only_body(event: &str) -> Notification {
    let event: SqsEvent = serde_json::from_str(event).expect("an SQS event");
    assert_eq!(event.records.len(), 1);
    let body = event.records[0].body.as_deref().expect("a body");
    parse_message(body).expect("an S3 notification")
}

#[test]
fn the_repository_events_are_sqs_events_holding_one_put_and_one_delete() {
    let mut sequencers = Vec::new();
    for (file, action, name) in [
        ("sqs-s3-put.json", EventAction::Created, "ObjectCreated:Put"),
        ("sqs-s3-delete.json", EventAction::Removed, "ObjectRemoved:DeleteMarkerCreated"),
    ] {
        let Notification::Records(records) = only_body(&event_file(file)) else {
            panic!("{file}: expected records");
        };
        assert_eq!(records.len(), 1, "{file}");
        let event = records[0].as_ref().expect("a valid record");
        assert_eq!(event.action, action, "{file}");
        assert_eq!(event.name, name, "{file}");
        assert_eq!(event.source.bucket, "quarry-docs-123456789012-us-east-1", "{file}");
        assert_eq!(event.source.key, "guides/getting started.md", "{file}");
        assert!(event.source.version_id.is_some(), "{file}: the documents bucket is versioned");
        assert_eq!(event.ordered_by, OrderedBy::Sequencer, "{file}");
        sequencers.push(event.sequencer.clone());
    }
    assert!(sequencers[1] > sequencers[0], "the delete comes after the put");
}

#[tokio::test]
async fn a_batch_answers_with_the_documented_partial_batch_response() {
    let stack = start("").await;
    stack.put("reports/my report(2024).md", "# Report\n\nRevenue grew in 2024.").await;
    // Four messages: the test event, a body that is no S3 event (the aws_lambda_events example
    // message), a valid put, and a put whose key is badly encoded.
    let test = serde_json::from_str::<SqsEvent>(&fixture("sqs-s3-test-event.json")).expect("sqs");
    let bad = serde_json::from_str::<SqsEvent>(&fixture("example-sqs-event.json")).expect("sqs");
    let put =
        serde_json::from_str::<SqsEvent>(&fixture("sqs-s3-put-encoded-key.json")).expect("sqs");
    let mut bad_key = put.records[0].clone();
    let body = bad_key.body.as_deref().expect("a body").replace("%282024%29", "%2x2024%29");
    bad_key.body = Some(body);
    let mut messages =
        vec![test.records[0].clone(), bad.records[0].clone(), put.records[0].clone(), bad_key];
    for (index, message) in messages.iter_mut().enumerate() {
        message.message_id = Some(format!("id{}", index + 1));
    }
    let response = handle(sqs_event(messages), &stack.context, CallOptions::default()).await;
    assert_eq!(
        serde_json::to_value(&response).expect("serializes"),
        json_fixture("example-sqs-batch-response.json"),
        "only the message that is no S3 event and the badly encoded key fail"
    );
    assert_eq!(stack.state("reports/my report(2024).md").await.map(|s| s.chunks), Some(1));
}

#[tokio::test]
async fn encoded_keys_are_decoded_from_put_to_delete() {
    let stack = start("").await;
    let key = "reports/my report(2024).md";
    stack
        .put(key, "# Annual report\n\nThe quarry shipped forty thousand tonnes of granite in 2024.")
        .await;
    let answer = handle_payload(
        json_fixture("sqs-s3-put-encoded-key.json"),
        &stack.context,
        CallOptions::default(),
    )
    .await
    .expect("an SQS batch is answered");
    assert_eq!(answer, json!({"batchItemFailures": []}));
    let state = stack.state(key).await.expect("the document is stored");
    assert_eq!(
        (state.sequencer.as_str(), state.chunks, state.deleted),
        ("0055AED6DCD90281E5", 1, false)
    );
    let hits = stack.search("How much granite did the quarry ship in 2024?", 1).await;
    assert_eq!(hits[0].source.key, key);
    assert_eq!(hits[0].title, "Annual report");

    // The direct S3 delete of the same encoded key, with a later sequencer.
    let answer = handle_payload(
        json_fixture("s3-delete-encoded-key.json"),
        &stack.context,
        CallOptions::default(),
    )
    .await
    .expect("the delete succeeds");
    let deleted = DirectOutcome {
        documents_ingested: 0,
        documents_deleted: 1,
        documents_skipped: 0,
        chunks_written: 0,
    };
    assert_eq!(answer, serde_json::to_value(deleted).expect("serializes"));
    assert!(stack.chunks_of(key).await.is_empty());
    let state = stack.state(key).await.expect("a tombstone");
    assert_eq!((state.sequencer.as_str(), state.deleted), ("0055AED6DCD90281F0", true));
}

#[tokio::test]
async fn the_test_event_is_acknowledged_and_changes_nothing() {
    let stack = start("").await;
    let answer = handle_payload(
        json_fixture("sqs-s3-test-event.json"),
        &stack.context,
        CallOptions::default(),
    )
    .await
    .expect("answered");
    assert_eq!(answer, json!({"batchItemFailures": []}));
    assert!(stack.search("anything", 10).await.is_empty());
}

#[tokio::test]
async fn moto_and_minio_style_records_are_ingested() {
    let stack = start("").await;
    stack.put("moto/notes.txt", "Moto notes: the crusher is serviced every Tuesday.").await;
    stack.put("minio/guide.md", "# Guide\n\nThe conveyor belt stops at noon.").await;

    let answer =
        handle_payload(json_fixture("s3-moto-put.json"), &stack.context, CallOptions::default())
            .await
            .expect("a moto record without optional fields is ingested");
    assert_eq!(answer["documentsIngested"], 1);
    let state = stack.state("moto/notes.txt").await.expect("stored");
    // Ordered by its eventTime, 2024-05-01T12:00:00.123456 read as UTC.
    assert_eq!(state.sequencer.as_str(), format!("{:016X}", 1_714_564_800_123_456_u64));

    let answer =
        handle_payload(json_fixture("sqs-minio-put.json"), &stack.context, CallOptions::default())
            .await
            .expect("answered");
    assert_eq!(answer, json!({"batchItemFailures": []}));
    assert_eq!(stack.state("minio/guide.md").await.map(|s| s.chunks), Some(1));
    assert_eq!(
        stack.search("When does the conveyor belt stop?", 1).await[0].source.key,
        "minio/guide.md"
    );
    assert_eq!(
        stack.search("When is the crusher serviced?", 1).await[0].source.key,
        "moto/notes.txt"
    );
}

#[tokio::test]
async fn the_aws_s3_example_is_decoded_and_its_image_fails_the_invocation() {
    let stack = start("").await;
    stack.client.create_bucket().bucket("sourcebucket").send().await.expect("CreateBucket");
    stack
        .client
        .put_object()
        .bucket("sourcebucket")
        .key("Happy Face.jpg")
        .body(b"\xFF\xD8\xFF\xE0\0\x10JFIF\0".to_vec().into())
        .send()
        .await
        .expect("PutObject");
    let error = handle_payload(
        json_fixture("example-s3-event.json"),
        &stack.context,
        CallOptions::default(),
    )
    .await
    .expect_err("an image cannot be indexed: the direct invocation is an error");
    let IngestFailed::Records { failed, total, details } = &error else {
        panic!("expected failed records, got {error}");
    };
    assert_eq!((*failed, *total), (1, 1));
    assert!(
        details.starts_with("s3://sourcebucket/Happy Face.jpg: unsupported document type"),
        "{details}"
    );

    // `urlDecodedKey` (the crate's own field) agrees with our decoding of `key`.
    let with_decoded = json_fixture("example-s3-event-with-decoded.json");
    let Notification::Records(records) = parse_message(&with_decoded.to_string()).expect("parses")
    else {
        panic!("expected records");
    };
    let event = records[0].as_ref().expect("valid");
    assert_eq!(
        Some(event.source.key.as_str()),
        with_decoded["Records"][0]["s3"]["object"]["urlDecodedKey"].as_str()
    );
    // Its sequencer is not hexadecimal: the record is ordered by its eventTime instead.
    assert_eq!(event.ordered_by, OrderedBy::EventTime);
}
