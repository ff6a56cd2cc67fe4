//! Many documents through the local S3's notification queue while the local Bedrock endpoint
//! throttles 30 % of calls (and takes 25 ms a call): the queue is consumed as Lambda's event source
//! does — batches of ten, each with 300 ms to run (so later records of a batch run out of time),
//! successes deleted, failures redelivered after the visibility timeout — until it is empty, and
//! then every document is in the index exactly once, at its newest version.

use std::collections::BTreeMap;
use std::time::Duration;

use quarry::text::{ChunkSettings, DocumentRef, S3Object, chunk, extract};

use quarry_local::s3::QueueConfig;

use crate::support::{BUCKET, settings, start_with};

const ROCKS: [&str; 12] = [
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
    "obsidian",
    "pumice",
];
const PLACES: [&str; 6] = ["north", "south", "east", "west", "upper", "lower"];

/// Document `i`: four paragraphs about one rock in one place, so it makes several chunks and a
/// question about its rock and place finds it.
fn document(i: usize, version: u32) -> (String, String) {
    let (rock, place) = (ROCKS[i % ROCKS.len()], PLACES[i / ROCKS.len()]);
    let key = format!("sites/{place}/{rock}.md");
    let text = format!(
        "# The {place} {rock} pit (revision {version})\n\n\
         The {place} {rock} pit employs {i} cutters who split {rock} blocks along the bedding planes \
         and stack them on pallets beside the {place} road.\n\n\
         Every {rock} block from the {place} pit is weighed, numbered and photographed before it \
         leaves; buyers can trace each {place} {rock} slab back to its bench.\n\n\
         Noise from the {place} {rock} saws is limited to daytime hours, and dust is kept down with \
         water sprays on every {rock} conveyor in the {place} pit.\n\n\
         Visitors to the {place} {rock} pit wear helmets and stay behind the yellow line while \
         {rock} is blasted at the {place} face on Wednesday afternoons."
    );
    (key, text)
}

/// How many chunks `text` makes under the test settings, computed without the pipeline.
fn expected_chunks(key: &str, text: &str) -> usize {
    let settings = settings();
    let object = S3Object {
        source: DocumentRef::new(BUCKET, key),
        content_type: None,
        user_metadata: BTreeMap::new(),
        body: text.as_bytes().to_vec(),
    };
    let document = extract(&object, settings.limits.max_document_bytes).expect("extracts");
    let chunk_settings =
        ChunkSettings::for_model(settings.embedding.model, &settings.limits).expect("settings");
    chunk(&document, &chunk_settings).expect("chunks").len()
}

#[tokio::test]
async fn thirty_percent_throttling_loses_nothing_and_duplicates_nothing() {
    let queue = QueueConfig {
        visibility_timeout: Duration::from_secs(1),
        max_receive_count: 20,
        ..QueueConfig::default()
    };
    let stack = start_with("throttle_rate=0.3,seed=7,latency_ms=25", queue).await;
    let mut expected: BTreeMap<String, (String, usize)> = BTreeMap::new();
    // 36 documents; every third is written twice (an overwrite) and every seventh deleted.
    for i in 0..36 {
        let (key, text) = document(i, 1);
        stack.put(&key, text.clone()).await;
        expected.insert(key, (text, 0));
    }
    for i in (0..36).step_by(3) {
        let (key, text) = document(i, 2);
        stack.put(&key, text.clone()).await;
        expected.insert(key, (text, 0));
    }
    let mut deleted = Vec::new();
    for i in (0..36).step_by(7) {
        let (key, _) = document(i, 1);
        stack.delete(&key).await;
        expected.remove(&key);
        deleted.push(key);
    }
    for (key, (text, chunks)) in expected.iter_mut() {
        *chunks = expected_chunks(key, text);
    }
    let total_chunks: usize = expected.values().map(|(_, chunks)| chunks).sum();
    assert!(total_chunks >= 2 * expected.len(), "documents make two chunks or more each");

    let drained = stack.drain(10, Some(Duration::from_millis(300)), Duration::from_secs(180)).await;
    assert!(drained.failures > 0, "some records ran out of time and were redelivered");

    let dead = stack.s3.notifications().dead_letters().await.expect("dead letters");
    assert!(dead.is_empty(), "nothing dead-lettered: {dead:?}");
    // Titan embeds one chunk per call: every call beyond the chunks written was throttled and
    // retried (30 % throttling costs about 1/0.7 = 1.43 calls per chunk).
    let calls = stack.bedrock.faults().calls();
    assert!(
        calls as f64 > 1.1 * drained.chunks_written as f64,
        "throttled calls were retried: {calls} calls for {} chunks written",
        drained.chunks_written
    );
    for (key, (text, chunks)) in &expected {
        let state = stack.state(key).await.unwrap_or_else(|| panic!("{key} was lost"));
        assert_eq!(state.chunks, *chunks, "{key}: exactly its chunks, no duplicates or orphans");
        let stored = stack.chunks_of(key).await;
        let ids: Vec<String> = stored.iter().map(|hit| hit.id.clone()).collect();
        let expected_ids: Vec<String> =
            (0..*chunks).map(|i| DocumentRef::new(BUCKET, key).chunk_id(i)).collect();
        assert_eq!(ids, expected_ids, "{key}");
        let revision = if text.contains("revision 2") { "revision 2" } else { "revision 1" };
        assert!(stored[0].text.contains(revision), "{key} holds its newest version");
    }
    for key in &deleted {
        assert!(stack.chunks_of(key).await.is_empty(), "{key} was deleted");
    }
    // Every document answers a question about its own pit first.
    for key in expected.keys() {
        let (place, rock) = key
            .trim_start_matches("sites/")
            .trim_end_matches(".md")
            .split_once('/')
            .expect("sites/<place>/<rock>.md");
        let question = format!("Who works in the {place} {rock} pit?");
        let hits = stack.search(&question, 1).await;
        assert_eq!(&hits[0].source.key, key, "{question}");
    }
    eprintln!(
        "drained in {} batches, {} deliveries, {} failures, {calls} Bedrock calls for {} chunks \
         written ({total_chunks} kept)",
        drained.batches, drained.deliveries, drained.failures, drained.chunks_written
    );
}
