//! A file dropped into the local stack's S3, end to end: uploaded with the AWS SDK, ingested by the
//! ingest handler from the S3 event notification, searchable through `/v1/retrieve`, cited by
//! `/v1/rag`, gone from both once deleted; kept across a restart and a shutdown in the middle of
//! ingestion; dead-lettered, not dropped, when it cannot be ingested; uploaded by `quarry-local put`.

use std::time::Duration;

use hyper::{Method, StatusCode};
use quarry_e2e::quarry_local::faults::FaultConfig;
use quarry_e2e::quarry_local::put;
use quarry_e2e::quarry_local::s3::{self, NotificationQueue, QueueConfig, admin};
use quarry_e2e::quarry_local::stack::{self, StackOptions};
use quarry_e2e::{
    INGEST_WAIT, call, data_dir, delete_document, options, put_document, retrieved_keys, start,
    wait_searchable, wait_until,
};
use serde_json::{Value, json};

const PARKING_KEY: &str = "handbook/parking.md";
const PARKING: &str = "# Parking\n\nVisitors park for free in the north garage. The garage \
                       closes at 10pm and visitors show their badge at the gate.";
const OFFICE_KEY: &str = "handbook/office.md";
const OFFICE: &str = "# Office hours\n\nThe office opens at 9am and closes at 6pm on weekdays. \
                      On Saturdays the office is closed.";
const PARKING_QUESTION: &str = "Where do visitors park?";

/// The object keys the citations of a `/v1/rag` answer name.
fn cited_keys(answer: &Value) -> Vec<String> {
    answer["citations"]
        .as_array()
        .expect("a citations array")
        .iter()
        .map(|citation| citation["source"]["key"].as_str().expect("a cited key").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_document_is_searchable_cited_and_gone_once_deleted() {
    let (_guard, dir) = data_dir();
    let stack = start(options(&dir)).await;
    put_document(&stack, PARKING_KEY, PARKING).await;
    put_document(&stack, OFFICE_KEY, OFFICE).await;
    wait_searchable(&stack, PARKING_QUESTION, PARKING_KEY).await;
    wait_searchable(&stack, "When does the office open?", OFFICE_KEY).await;
    assert_eq!(
        retrieved_keys(&stack, PARKING_QUESTION, 1).await,
        [PARKING_KEY],
        "best match first"
    );

    let rag =
        call(&stack, Method::POST, "/v1/rag", Some(json!({"question": PARKING_QUESTION}))).await;
    assert_eq!(rag.status, StatusCode::OK, "{}", rag.body);
    let cited = cited_keys(&rag.body);
    assert!(cited.iter().any(|key| key == PARKING_KEY), "citations: {cited:?}");
    let answer = rag.body["answer"].as_str().expect("an answer");
    assert!(answer.contains("north garage"), "the answer comes from the document: {answer}");
    assert!(answer.contains("[1]"), "the answer cites its source: {answer}");

    delete_document(&stack, PARKING_KEY).await;
    wait_until("the deleted document leaves the index", INGEST_WAIT, || async {
        !retrieved_keys(&stack, PARKING_QUESTION, 10).await.iter().any(|key| key == PARKING_KEY)
    })
    .await;
    let rag =
        call(&stack, Method::POST, "/v1/rag", Some(json!({"question": PARKING_QUESTION}))).await;
    assert_eq!(rag.status, StatusCode::OK, "{}", rag.body);
    assert!(!cited_keys(&rag.body).iter().any(|key| key == PARKING_KEY), "{}", rag.body);
    assert_eq!(retrieved_keys(&stack, "office hours", 10).await, [OFFICE_KEY], "the other stays");
    stack.shutdown().await.expect("a clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_stack_finds_its_index_intact() {
    let (_guard, dir) = data_dir();
    let first = start(options(&dir)).await;
    put_document(&first, PARKING_KEY, PARKING).await;
    wait_searchable(&first, PARKING_QUESTION, PARKING_KEY).await;
    let before = retrieved_keys(&first, PARKING_QUESTION, 10).await;
    let first_api = first.api_url().to_owned();
    first.shutdown().await.expect("a clean shutdown");

    let second = start(options(&dir)).await;
    assert_ne!(second.api_url(), first_api, "a new process on new ports");
    // Searched at once: nothing is re-ingested, the index on disk is what answers.
    assert_eq!(retrieved_keys(&second, PARKING_QUESTION, 10).await, before);
    let stats = second.notifications().stats().await.expect("queue stats");
    assert_eq!((stats.visible, stats.in_flight, stats.dead), (0, 0, 0), "{stats:?}");
    let object = second
        .s3_client()
        .get_object()
        .bucket(stack::DOCUMENTS_BUCKET)
        .key(PARKING_KEY)
        .send()
        .await
        .expect("the object survived the restart too");
    let body = object.body.collect().await.expect("its body").into_bytes();
    assert_eq!(body.as_ref(), PARKING.as_bytes());
    second.shutdown().await.expect("a clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_down_mid_ingestion_loses_no_acknowledged_document() {
    let (_guard, dir) = data_dir();
    // Every Bedrock call takes 400 ms and the batch in flight gets 100 ms at shutdown: the
    // shutdown below always cuts ingestion short.
    let slow = StackOptions {
        faults: FaultConfig { latency_ms: 400, ..FaultConfig::default() },
        shutdown_grace: Duration::from_millis(100),
        ..options(&dir)
    };
    let first = start(slow).await;
    let keys: Vec<String> = (0..5).map(|i| format!("notes/meeting-{i}.md")).collect();
    for (i, key) in keys.iter().enumerate() {
        let text = format!("# Meeting {i}\n\nMeeting number {i} decided to order {i} new chairs.");
        put_document(&first, key, &text).await;
    }
    first.shutdown().await.expect("a shutdown");
    // What the shutdown cut short is still queued, not lost and not half-acknowledged.
    let queue = NotificationQueue::open(
        &s3::queue_path(&dir.join(stack::S3_DIR)),
        "us-east-1",
        QueueConfig::default(),
    )
    .expect("the queue on disk");
    let left = queue.stats().await.expect("queue stats");
    assert!(left.visible > 0, "the shutdown interrupted ingestion: {left:?}");
    assert_eq!(left.in_flight, 0, "abandoned messages are visible again at once: {left:?}");
    drop(queue);

    let second = start(options(&dir)).await;
    for (i, key) in keys.iter().enumerate() {
        wait_searchable(&second, &format!("meeting number {i} chairs"), key).await;
    }
    wait_until("the queue is drained", INGEST_WAIT, || async {
        let stats = second.notifications().stats().await.expect("queue stats");
        stats.visible + stats.in_flight == 0
    })
    .await;
    assert_eq!(second.notifications().stats().await.expect("queue stats").dead, 0);
    second.shutdown().await.expect("a clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_that_cannot_be_ingested_is_dead_lettered_and_listed() {
    let (_guard, dir) = data_dir();
    let quick_retries = StackOptions {
        queue: QueueConfig {
            visibility_timeout: Duration::from_millis(200),
            max_receive_count: 2,
            ..QueueConfig::default()
        },
        ..options(&dir)
    };
    let stack = start(quick_retries).await;
    put_document(&stack, "broken/report.pdf", "this is not a PDF, whatever its name says").await;
    put_document(&stack, PARKING_KEY, PARKING).await;
    wait_searchable(&stack, PARKING_QUESTION, PARKING_KEY).await;
    wait_until("the broken document is dead-lettered", INGEST_WAIT, || async {
        stack.notifications().stats().await.expect("queue stats").dead == 1
    })
    .await;
    let report = admin::report(stack.notifications()).await.expect("the queue report");
    assert_eq!(report.dead_letters.len(), 1, "{report:?}");
    let dead = &report.dead_letters[0];
    assert_eq!(dead.receives, 2, "delivered max_receive_count times");
    assert_eq!(dead.objects.len(), 1);
    assert_eq!(
        (dead.objects[0].bucket.as_str(), dead.objects[0].key.as_str()),
        ("documents", "broken/report.pdf")
    );
    assert!(report.pending.is_empty(), "{report:?}");
    stack.shutdown().await.expect("a clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_uploads_a_folder_and_waits_until_it_is_ingested() {
    let (guard, dir) = data_dir();
    let stack = start(options(&dir)).await;
    let folder = guard.path().join("handbook");
    std::fs::create_dir_all(folder.join("rooms")).expect("folders");
    std::fs::write(folder.join("parking.md"), PARKING).expect("file");
    std::fs::write(folder.join("rooms/office.md"), OFFICE).expect("file");
    std::fs::write(folder.join(".notes.md"), "hidden files stay home").expect("file");

    let uploads = put::plan(std::slice::from_ref(&folder), Some("handbook")).expect("planned");
    let keys: Vec<String> = uploads.iter().map(|upload| upload.key.clone()).collect();
    assert_eq!(keys, [PARKING_KEY, "handbook/rooms/office.md"]);
    let known_dead = put::dead_letter_ids(stack.s3_url()).await.expect("the queue report");
    let mut stored = Vec::new();
    put::upload(stack.s3_client(), stack::DOCUMENTS_BUCKET, &uploads, |upload| {
        stored.push(upload.key.clone());
    })
    .await
    .expect("uploaded");
    stored.sort();
    assert_eq!(stored, keys, "progress is reported once per file");
    let result = put::wait_until_ingested(
        stack.s3_url(),
        stack::DOCUMENTS_BUCKET,
        &keys,
        &known_dead,
        INGEST_WAIT,
        |_| {},
    )
    .await
    .expect("ingested in time");
    assert!(result.dead_lettered.is_empty(), "{result:?}");
    // Once the wait returns, both are searchable without polling.
    assert!(retrieved_keys(&stack, PARKING_QUESTION, 10).await.contains(&PARKING_KEY.to_owned()));
    let office = retrieved_keys(&stack, "When does the office open?", 10).await;
    assert!(office.contains(&"handbook/rooms/office.md".to_owned()), "{office:?}");
    stack.shutdown().await.expect("a clean shutdown");
}
