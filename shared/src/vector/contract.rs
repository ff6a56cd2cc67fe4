//! The [`VectorStore`] contract as tests, written once and run against every store: each store's
//! test module calls [`contract_tests!`] with an expression that makes a fresh, empty store.
//!
//! Vectors are 8-dimensional: chunk `i` of a test document points mostly along axis `i % 8`, so
//! a query along an axis has a known nearest chunk.

use std::collections::BTreeMap;

use super::{
    DocumentState, Filter, Hit, Sequencer, StoredChunk, StoredDocument, VectorError, VectorStore,
    WriteOutcome,
};
use crate::text::DocumentRef;

/// The dimension of the contract's vectors.
pub(crate) const DIMENSION: usize = 8;

pub(crate) fn seq(value: &str) -> Sequencer {
    Sequencer::new(value).expect("a hex sequencer")
}

/// A vector along `axis` with a small tilt by `tilt` towards the next axis.
pub(crate) fn axis(axis: usize, tilt: f32) -> Vec<f32> {
    let mut vector = vec![0.0; DIMENSION];
    vector[axis % DIMENSION] = 1.0;
    vector[(axis + 1) % DIMENSION] = tilt;
    vector
}

pub(crate) fn document(bucket: &str, key: &str, sequencer: &str) -> StoredDocument {
    StoredDocument {
        source: DocumentRef {
            bucket: bucket.into(),
            key: key.into(),
            version_id: Some(format!("v-{sequencer}")),
            etag: Some(format!("etag-{sequencer}")),
        },
        sequencer: seq(sequencer),
        content_type: if key.ends_with(".md") { "text/markdown" } else { "text/plain" }.into(),
        title: format!("Title of {key}"),
        metadata: BTreeMap::from([("team".to_owned(), "docs".to_owned())]),
    }
}

/// `count` chunks of `document`, chunk `i` along axis `first_axis + i`, text naming the version.
pub(crate) fn chunks(
    document: &StoredDocument,
    count: usize,
    first_axis: usize,
) -> Vec<StoredChunk> {
    (0..count)
        .map(|index| StoredChunk {
            id: document.source.chunk_id(index),
            text: format!(
                "{} chunk {index} of version {}",
                document.source.key, document.sequencer
            ),
            vector: axis(first_axis + index, 0.1),
            metadata: BTreeMap::from([("chunk_index".to_owned(), index.to_string())]),
        })
        .collect()
}

fn in_bucket(bucket: &str) -> Filter {
    Filter { bucket: Some(bucket.into()), ..Filter::default() }
}

async fn all_hits(store: &dyn VectorStore, filter: &Filter) -> Vec<Hit> {
    let mut hits = Vec::new();
    for direction in 0..DIMENSION {
        for hit in store.query(&axis(direction, 0.0), 100, filter).await.expect("query") {
            if !hits.iter().any(|h: &Hit| h.id == hit.id) {
                hits.push(hit);
            }
        }
    }
    hits.sort_by(|a, b| a.id.cmp(&b.id));
    hits
}

async fn replace(
    store: &dyn VectorStore,
    document: &StoredDocument,
    chunks: Vec<StoredChunk>,
) -> WriteOutcome {
    store.replace_document(document, chunks).await.expect("replace")
}

pub(crate) async fn replace_then_query_finds_it_first(store: &dyn VectorStore) {
    let guide = document("b-first", "docs/guide.md", "0A");
    let faq = document("b-first", "docs/faq.txt", "0B");
    assert_eq!(replace(store, &guide, chunks(&guide, 3, 0)).await, WriteOutcome::Applied);
    assert_eq!(replace(store, &faq, chunks(&faq, 2, 4)).await, WriteOutcome::Applied);

    let hits = store.query(&axis(1, 0.05), 5, &in_bucket("b-first")).await.expect("query");
    assert_eq!(hits.len(), 5);
    let best = &hits[0];
    assert_eq!(best.id, guide.source.chunk_id(1));
    assert_eq!(best.text, "docs/guide.md chunk 1 of version 0A");
    assert_eq!(best.source, guide.source, "the source keeps bucket, key, version id and etag");
    assert_eq!(best.title, "Title of docs/guide.md");
    assert_eq!(best.content_type, "text/markdown");
    assert_eq!(best.metadata["chunk_index"], "1");
    assert_eq!(best.document_metadata["team"], "docs");
    assert!(best.score > 0.99, "near-identical vectors score about 1, got {}", best.score);
    for pair in hits.windows(2) {
        assert!(pair[0].score >= pair[1].score, "hits are best first: {pair:?}");
    }
    // Chunk 0 is along axis 0 tilted towards axis 1; orthogonal chunks score about 0.
    assert_eq!(hits[1].id, guide.source.chunk_id(0));
    assert!(hits.last().expect("hits").score < 0.2);
}

pub(crate) async fn overwrite_with_fewer_chunks_leaves_no_orphans(store: &dyn VectorStore) {
    let v1 = document("b-overwrite", "report.txt", "0055AED6DCD90281E5");
    assert_eq!(replace(store, &v1, chunks(&v1, 5, 0)).await, WriteOutcome::Applied);
    let v2 = document("b-overwrite", "report.txt", "0055AED6DCD90281F0");
    assert_eq!(replace(store, &v2, chunks(&v2, 2, 3)).await, WriteOutcome::Applied);

    let hits = all_hits(store, &in_bucket("b-overwrite")).await;
    let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids, [v2.source.chunk_id(0), v2.source.chunk_id(1)]);
    for hit in &hits {
        assert!(hit.text.ends_with("of version 0055AED6DCD90281F0"), "{}", hit.text);
        assert_eq!(hit.source.version_id.as_deref(), Some("v-0055AED6DCD90281F0"));
    }
    let state = store.document_state(&v2.source).await.expect("state").expect("known document");
    assert_eq!(state, DocumentState { sequencer: v2.sequencer.clone(), chunks: 2, deleted: false });

    // Growing again reuses the ids in place.
    let v3 = document("b-overwrite", "report.txt", "0055AED6DCD90281F1");
    assert_eq!(replace(store, &v3, chunks(&v3, 4, 0)).await, WriteOutcome::Applied);
    assert_eq!(all_hits(store, &in_bucket("b-overwrite")).await.len(), 4);
}

pub(crate) async fn delete_removes_everything(store: &dyn VectorStore) {
    let gone = document("b-delete", "old/manual.md", "10");
    let kept = document("b-delete", "new/manual.md", "10");
    replace(store, &gone, chunks(&gone, 3, 0)).await;
    replace(store, &kept, chunks(&kept, 2, 0)).await;
    let outcome = store.delete_document(&gone.source, &seq("11")).await.expect("delete");
    assert_eq!(outcome, WriteOutcome::Applied);

    let hits = all_hits(store, &in_bucket("b-delete")).await;
    assert!(hits.iter().all(|h| h.source.key == "new/manual.md"), "{hits:?}");
    assert_eq!(hits.len(), 2);
    let state = store.document_state(&gone.source).await.expect("state").expect("a tombstone");
    assert_eq!(state, DocumentState { sequencer: seq("11"), chunks: 0, deleted: true });
    // Deleting again (a duplicate delivery) is harmless.
    assert_eq!(
        store.delete_document(&gone.source, &seq("11")).await.expect("delete"),
        WriteOutcome::Applied
    );
}

pub(crate) async fn stale_replace_and_delete_are_no_ops(store: &dyn VectorStore) {
    let current = document("b-stale", "price-list.csv", "0055AED6DCD90281E5");
    replace(store, &current, chunks(&current, 3, 0)).await;
    // Shorter but lexicographically later once padded: "…E4FF" < "…E5" (right-padded "…E500").
    let older = document("b-stale", "price-list.csv", "0055AED6DCD90281E4FF");
    let outcome = replace(store, &older, chunks(&older, 1, 5)).await;
    assert_eq!(outcome, WriteOutcome::Stale { stored: current.sequencer.clone() });
    let outcome = store.delete_document(&older.source, &older.sequencer).await.expect("delete");
    assert_eq!(outcome, WriteOutcome::Stale { stored: current.sequencer.clone() });

    let hits = all_hits(store, &in_bucket("b-stale")).await;
    assert_eq!(hits.len(), 3);
    assert!(hits.iter().all(|h| h.text.ends_with("version 0055AED6DCD90281E5")), "{hits:?}");

    // The same sequencer again (a duplicate delivery, or a retry) is applied.
    assert_eq!(replace(store, &current, chunks(&current, 2, 0)).await, WriteOutcome::Applied);
    assert_eq!(all_hits(store, &in_bucket("b-stale")).await.len(), 2);
}

pub(crate) async fn tombstone_prevents_resurrection(store: &dyn VectorStore) {
    let doc = document("b-tombstone", "memo.txt", "20");
    replace(store, &doc, chunks(&doc, 2, 0)).await;
    store.delete_document(&doc.source, &seq("30")).await.expect("delete");
    // The create of version 20 is delivered again, late: it must not bring the document back.
    assert_eq!(
        replace(store, &doc, chunks(&doc, 2, 0)).await,
        WriteOutcome::Stale { stored: seq("30") }
    );
    assert!(all_hits(store, &in_bucket("b-tombstone")).await.is_empty());

    // A delete of a document never seen also leaves a tombstone.
    let never = document("b-tombstone", "never-created.txt", "40");
    assert_eq!(
        store.delete_document(&never.source, &seq("50")).await.expect("delete"),
        WriteOutcome::Applied
    );
    assert_eq!(
        replace(store, &never, chunks(&never, 1, 0)).await,
        WriteOutcome::Stale { stored: seq("50") }
    );

    // A newer create does bring it back.
    let newer = document("b-tombstone", "memo.txt", "31");
    assert_eq!(replace(store, &newer, chunks(&newer, 1, 0)).await, WriteOutcome::Applied);
    let hits = all_hits(store, &in_bucket("b-tombstone")).await;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].text, "memo.txt chunk 0 of version 31");
}

pub(crate) async fn filters_select_by_key_prefix_content_type_and_bucket(store: &dyn VectorStore) {
    let docs = [
        document("b-filter", "guides/setup.md", "01"),
        document("b-filter", "guides/faq.txt", "01"),
        document("b-filter", "guides/deep/nested/setup.md", "01"),
        document("b-filter", "guides-old/setup.md", "01"),
        document("b-filter", "notes/setup.md", "01"),
        document("b-filter-2", "guides/setup.md", "01"),
    ];
    for doc in &docs {
        replace(store, doc, chunks(doc, 2, 0)).await;
    }
    let keys = |hits: Vec<Hit>| {
        let mut keys: Vec<String> =
            hits.into_iter().map(|h| format!("{}/{}", h.source.bucket, h.source.key)).collect();
        keys.sort();
        keys.dedup();
        keys
    };
    let filter = |prefix: Option<&str>, content_type: Option<&str>, bucket: Option<&str>| Filter {
        key_prefix: prefix.map(str::to_owned),
        content_type: content_type.map(str::to_owned),
        bucket: bucket.map(str::to_owned),
    };
    let found = keys(all_hits(store, &filter(Some("guides/"), None, Some("b-filter"))).await);
    assert_eq!(
        found,
        [
            "b-filter/guides/deep/nested/setup.md",
            "b-filter/guides/faq.txt",
            "b-filter/guides/setup.md"
        ]
    );
    let found = keys(all_hits(store, &filter(Some("guides/deep/nested/"), None, None)).await);
    assert_eq!(found, ["b-filter/guides/deep/nested/setup.md"]);
    // A prefix that does not end at a directory.
    let found = keys(all_hits(store, &filter(Some("guides/se"), None, None)).await);
    assert_eq!(found, ["b-filter-2/guides/setup.md", "b-filter/guides/setup.md"]);
    let found = keys(
        all_hits(store, &filter(Some("guides"), Some("text/markdown"), Some("b-filter"))).await,
    );
    assert_eq!(
        found,
        [
            "b-filter/guides-old/setup.md",
            "b-filter/guides/deep/nested/setup.md",
            "b-filter/guides/setup.md"
        ]
    );
    let found = keys(all_hits(store, &filter(None, Some("text/plain"), None)).await);
    assert!(
        found.contains(&"b-filter/guides/faq.txt".to_owned())
            && found.iter().all(|k| k.ends_with(".txt")),
        "{found:?}"
    );
    let found = keys(all_hits(store, &filter(None, None, Some("b-filter-2"))).await);
    assert_eq!(found, ["b-filter-2/guides/setup.md"]);
    assert!(all_hits(store, &filter(Some("nothing/"), None, None)).await.is_empty());
}

pub(crate) async fn k_larger_than_the_corpus_returns_everything(store: &dyn VectorStore) {
    let doc = document("b-small", "tiny.txt", "01");
    replace(store, &doc, chunks(&doc, 3, 0)).await;
    let hits = store.query(&axis(0, 0.0), 50, &in_bucket("b-small")).await.expect("query");
    assert_eq!(hits.len(), 3);
    let capped = store.query(&axis(0, 0.0), 10_000, &in_bucket("b-small")).await.expect("query");
    assert_eq!(capped.len(), 3);
    assert!(store.query(&axis(0, 0.0), 0, &in_bucket("b-small")).await.expect("query").is_empty());
    assert!(store.query(&axis(0, 0.0), 5, &in_bucket("b-empty")).await.expect("query").is_empty());
}

pub(crate) async fn invalid_writes_and_queries_are_refused(store: &dyn VectorStore) {
    let doc = document("b-invalid", "a.txt", "01");
    let mut wrong_ids = chunks(&doc, 2, 0);
    wrong_ids.swap(0, 1);
    let err = store.replace_document(&doc, wrong_ids).await.expect_err("ids out of order");
    assert!(matches!(err, VectorError::ChunkId { index: 0, .. }), "{err}");
    let mut short = chunks(&doc, 1, 0);
    short[0].vector.pop();
    let err = store.replace_document(&doc, short).await.expect_err("wrong dimension");
    assert!(matches!(err, VectorError::InvalidVector { .. }), "{err}");
    assert_eq!(
        store.document_state(&doc.source).await.expect("state"),
        None,
        "nothing was written"
    );
    let err = store.query(&[0.0; DIMENSION], 3, &Filter::default()).await.expect_err("zero query");
    assert!(matches!(err, VectorError::InvalidVector { .. }), "{err}");
}

/// One `#[tokio::test]` per contract check, each on a fresh store made by `$make`.
macro_rules! contract_tests {
    ($make:expr) => {
        contract_tests!(@each $make;
            replace_then_query_finds_it_first,
            overwrite_with_fewer_chunks_leaves_no_orphans,
            delete_removes_everything,
            stale_replace_and_delete_are_no_ops,
            tombstone_prevents_resurrection,
            filters_select_by_key_prefix_content_type_and_bucket,
            k_larger_than_the_corpus_returns_everything,
            invalid_writes_and_queries_are_refused,
        );
    };
    (@each $make:expr; $($check:ident),+ $(,)?) => {
        mod contract {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test]
                async fn $check() {
                    let store = $make;
                    $crate::vector::contract::$check(&store.store).await;
                }
            )+
        }
    };
}

pub(crate) use contract_tests;
