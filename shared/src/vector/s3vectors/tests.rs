//! The S3 Vectors store against the stateful fake index: the shared contract, plus what only
//! this store has — call batching, the wire shapes, writes interrupted midway, euclidean scores.

use serde_json::json;

use super::fake::FakeIndex;
use super::*;
use crate::config::{DistanceMetric, VectorIndex};
use crate::vector::contract::{DIMENSION, axis, chunks, contract_tests, document, seq};

pub(super) struct Fixture {
    pub store: S3VectorsStore,
    pub index: FakeIndex,
}

fn fixture_with(metric: DistanceMetric) -> Fixture {
    let index = FakeIndex::new(DIMENSION, metric);
    let config =
        VectorIndex { bucket: "quarry-vectors".into(), index_name: "quarry-docs".into(), metric };
    Fixture { store: S3VectorsStore::new(index.client(), &config, DIMENSION), index }
}

fn fixture() -> Fixture {
    fixture_with(DistanceMetric::Cosine)
}

contract_tests!(crate::vector::s3vectors::tests::fixture());

/// Keys of stored chunk vectors (not manifests).
fn chunk_keys(index: &FakeIndex) -> Vec<String> {
    index
        .vectors()
        .into_iter()
        .filter(|(_, v)| v.metadata["kind"] == "chunk")
        .map(|(key, _)| key)
        .collect()
}

fn batch_sizes(index: &FakeIndex, operation: &str, field: &str) -> Vec<usize> {
    index
        .requests(operation)
        .iter()
        .map(|body| body[field].as_array().map_or(0, Vec::len))
        .collect()
}

#[tokio::test]
async fn writes_go_out_in_batches_of_at_most_500() {
    let Fixture { store, index } = fixture();
    let big = document("docs", "big.txt", "01");
    store.replace_document(&big, chunks(&big, 1_201, 0)).await.expect("replace");
    // The manifest claim, then the chunks in three calls (the bound equals the new count).
    assert_eq!(batch_sizes(&index, "PutVectors", "vectors"), [1, 500, 500, 201]);
    assert_eq!(chunk_keys(&index).len(), 1_201);

    let small = document("docs", "big.txt", "02");
    store.replace_document(&small, chunks(&small, 10, 0)).await.expect("shrink");
    assert_eq!(batch_sizes(&index, "DeleteVectors", "keys"), [500, 500, 191]);
    let deleted = index.requests("DeleteVectors");
    assert_eq!(deleted[0]["keys"][0], json!(small.source.chunk_id(10)));
    assert_eq!(deleted[2]["keys"][190], json!(small.source.chunk_id(1_200)));
    assert_eq!(chunk_keys(&index), (0..10).map(|i| small.source.chunk_id(i)).collect::<Vec<_>>());
    let manifest = &index.vectors()[small.source.document_id().as_str()];
    assert_eq!(manifest.metadata["chunk_count"], json!(10));
    assert_eq!(manifest.metadata["sequencer"], json!("02"));
}

#[tokio::test]
async fn requests_have_the_documented_shapes() {
    let Fixture { store, index } = fixture();
    let mut doc = document("docs", "guides/setup/intro.md", "0055AED6DCD90281E5");
    doc.metadata.insert("owner".into(), "dana".into());
    store.replace_document(&doc, chunks(&doc, 1, 0)).await.expect("replace");
    // PutVectors: `{vectorBucketName, indexName, vectors: [{key, data: {float32}, metadata}]}`
    // (S3 Vectors API reference, PutVectors); every metadata key is one infra declares or filters.
    let put = &index.requests("PutVectors")[1];
    assert_eq!(put["vectorBucketName"], "quarry-vectors");
    assert_eq!(put["indexName"], "quarry-docs");
    let vector = &put["vectors"][0];
    assert_eq!(vector["key"], json!(doc.source.chunk_id(0)));
    assert_eq!(vector["data"]["float32"].as_array().map(Vec::len), Some(DIMENSION));
    let metadata = vector["metadata"].as_object().expect("metadata object");
    for key in metadata.keys() {
        assert!(
            FILTERABLE_METADATA_KEYS.contains(&key.as_str())
                || NON_FILTERABLE_METADATA_KEYS.contains(&key.as_str()),
            "undeclared metadata key {key}"
        );
    }
    assert_eq!(metadata["key_dirs"], json!(["guides/", "guides/setup/"]));
    assert_eq!(metadata["content_type"], "text/markdown");
    assert_eq!(metadata["document_metadata"], json!(r#"{"owner":"dana","team":"docs"}"#));

    let filter = Filter {
        key_prefix: Some("guides/setup/".into()),
        content_type: Some("text/markdown".into()),
        bucket: Some("docs".into()),
    };
    let hits = store.query(&axis(0, 0.0), 7, &filter).await.expect("query");
    assert_eq!(hits.len(), 1);
    // QueryVectors with the filter syntax of the S3 user guide's "Metadata filtering".
    let query = &index.requests("QueryVectors")[0];
    assert_eq!(query["topK"], 7);
    assert_eq!(query["returnMetadata"], true);
    assert_eq!(query["returnDistance"], true);
    assert_eq!(
        query["filter"],
        json!({"$and": [
            {"kind": {"$eq": "chunk"}},
            {"bucket": {"$eq": "docs"}},
            {"content_type": {"$eq": "text/markdown"}},
            {"key_dirs": {"$eq": "guides/setup/"}}
        ]})
    );
    // Cosine distance 1 - cos, turned back into a similarity.
    let expected = 1.0 / (1.0f32 + 0.01).sqrt();
    assert!((hits[0].score - expected).abs() < 1e-5, "{}", hits[0].score);
}

#[tokio::test]
async fn a_prefix_past_a_directory_is_finished_here_from_the_top_100() {
    let Fixture { store, index } = fixture();
    for key in ["guides/setup.md", "guides/security.md", "guides/faq.md"] {
        let doc = document("docs", key, "01");
        store.replace_document(&doc, chunks(&doc, 1, 0)).await.expect("replace");
    }
    let filter = Filter { key_prefix: Some("guides/se".into()), ..Filter::default() };
    let hits = store.query(&axis(0, 0.0), 1, &filter).await.expect("query");
    assert_eq!(hits.len(), 1);
    assert!(hits[0].source.key.starts_with("guides/se"), "{:?}", hits[0].source);
    let query = &index.requests("QueryVectors")[0];
    assert_eq!(query["topK"], 100);
    assert_eq!(query["filter"]["$and"][1], json!({"key_dirs": {"$eq": "guides/"}}));
}

#[test]
fn deep_keys_list_the_directories_that_fit_and_filters_use_the_deepest_listed() {
    let deep: String = (0..200).map(|i| format!("level-{i:03}/")).collect();
    let dirs = key_dirs(&format!("{deep}file.md"));
    assert!(dirs.iter().map(String::len).sum::<usize>() <= KEY_DIRS_BUDGET);
    assert!(dirs.len() >= 10, "{} levels", dirs.len());
    let plan = QueryPlan::new(&Filter { key_prefix: Some(deep.clone()), ..Filter::default() });
    assert!(plan.post_filter);
    let deepest = dirs.last().expect("some levels");
    assert_eq!(plan.filter["$and"][1], json!({"key_dirs": {"$eq": deepest}}));

    let plan = QueryPlan::new(&Filter { key_prefix: Some("a/b/".into()), ..Filter::default() });
    assert!(!plan.post_filter);
    let plan = QueryPlan::new(&Filter { key_prefix: Some(String::new()), ..Filter::default() });
    assert_eq!((plan.filter, plan.post_filter), (json!({"kind": {"$eq": "chunk"}}), false));
    assert!(NON_FILTERABLE_METADATA_KEYS.len() <= 10, "S3 Vectors allows 10 per index");
}

#[tokio::test]
async fn a_replace_cut_short_leaves_no_orphans_for_the_next_write() {
    let Fixture { store, index } = fixture();
    let v1 = document("docs", "manual.txt", "01");
    store.replace_document(&v1, chunks(&v1, 3, 0)).await.expect("v1");
    // v2 has 700 chunks: claim, 500, 200. The second chunk batch fails.
    let v2 = document("docs", "manual.txt", "02");
    index.fail_call("PutVectors", 3);
    let err = store.replace_document(&v2, chunks(&v2, 700, 0)).await.expect_err("cut short");
    assert!(err.is_retryable(), "{err}");
    assert!(
        matches!(&err, VectorError::Backend { code: Some(code), .. } if code == "ServiceUnavailableException"),
        "{err}"
    );
    assert_eq!(chunk_keys(&index).len(), 500);
    // The claim raised the bound first, so a later delete finds every id written.
    store.delete_document(&v1.source, &seq("03")).await.expect("delete");
    assert!(chunk_keys(&index).is_empty(), "orphans: {:?}", chunk_keys(&index).len());
    let state = store.document_state(&v1.source).await.expect("state").expect("tombstone");
    assert_eq!((state.deleted, state.chunks), (true, 0));
}

#[tokio::test]
async fn a_shrink_cut_short_converges_when_retried() {
    let Fixture { store, index } = fixture();
    let v1 = document("docs", "manual.txt", "01");
    store.replace_document(&v1, chunks(&v1, 8, 0)).await.expect("v1");
    let v2 = document("docs", "manual.txt", "02");
    index.fail_call("DeleteVectors", 1);
    store.replace_document(&v2, chunks(&v2, 2, 0)).await.expect_err("stale ids not deleted");
    assert_eq!(chunk_keys(&index).len(), 8);
    // SQS delivers the event again: the equal sequencer is applied and the stale ids go.
    assert_eq!(
        store.replace_document(&v2, chunks(&v2, 2, 0)).await.expect("retry"),
        WriteOutcome::Applied
    );
    assert_eq!(chunk_keys(&index), [v2.source.chunk_id(0), v2.source.chunk_id(1)]);
}

#[tokio::test]
async fn euclidean_indexes_score_by_exact_cosine() {
    let Fixture { store, index } = fixture_with(DistanceMetric::Euclidean);
    let doc = document("docs", "scaled.txt", "01");
    let mut scaled = chunks(&doc, 2, 0);
    scaled[0].vector = axis(0, 0.5).iter().map(|v| v * 10.0).collect();
    store.replace_document(&doc, scaled).await.expect("replace");
    let hits = store.query(&axis(0, 0.0), 2, &Filter::default()).await.expect("query");
    let expected = 1.0 / (1.0f32 + 0.25).sqrt();
    let first = hits.iter().find(|h| h.id == doc.source.chunk_id(0)).expect("chunk 0");
    assert!((first.score - expected).abs() < 1e-5, "{}", first.score);
    assert_eq!(index.requests("GetVectors").last().expect("read back")["returnData"], true);
}

#[tokio::test]
async fn oversized_metadata_and_backend_failures_are_errors() {
    let Fixture { store, index } = fixture();
    let doc = document("docs", "huge.txt", "01");
    let mut huge = chunks(&doc, 1, 0);
    huge[0].text = "x".repeat(41 * 1024);
    let err = store.replace_document(&doc, huge).await.expect_err("too large");
    assert!(matches!(err, VectorError::InvalidChunk { .. }), "{err}");
    assert!(index.requests("PutVectors").is_empty(), "refused before any call");

    index.fail_call("QueryVectors", 1);
    let err = store.query(&axis(0, 0.0), 3, &Filter::default()).await.expect_err("503");
    assert!(err.is_retryable());
    assert!(
        err.to_string().starts_with("S3 Vectors QueryVectors failed (ServiceUnavailableException)"),
        "{err}"
    );
}
