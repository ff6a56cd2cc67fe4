//! Vector stores: the [`VectorStore`] contract the ingest pipeline writes through and retrieval
//! queries, and its stores — [`S3VectorsStore`] (Amazon S3 Vectors, in AWS) and `SqliteStore`
//! (embedded SQLite in one file, for the local stack; cargo feature `sqlite`).
//!
//! # The contract
//!
//! A store holds documents (S3 objects, identified by bucket and key), each as an ordered list of
//! chunks with their embedding vectors, plus the S3 event [`Sequencer`] of the event that last
//! wrote or deleted it.
//!
//! - **Replace.** [`VectorStore::replace_document`] makes `chunks` the document's whole content:
//!   every chunk of an earlier version that is not among them is removed, also when the new
//!   version has fewer chunks (no orphans). Chunk ids are [`DocumentRef::chunk_id`] of their
//!   index, in order (`<document id>-00000`, `-00001`, …); anything else is
//!   [`VectorError::ChunkId`]. Atomic where the store allows (SQLite); elsewhere new chunks are
//!   written before stale ones are removed, so a reader never finds the document missing.
//! - **Delete.** [`VectorStore::delete_document`] removes every chunk and leaves a tombstone that
//!   keeps the sequencer, so a late, older create cannot bring the document back.
//! - **Version guard.** A replace or delete whose sequencer is older than the stored one (live or
//!   tombstone) changes nothing and answers [`WriteOutcome::Stale`]; an equal one is applied again
//!   (a duplicate delivery, or the retry of a write that failed midway, converges).
//! - **Query.** [`VectorStore::query`] returns at most `k` (capped at [`MAX_K`]) chunks matching
//!   the [`Filter`], best first, scored by cosine similarity (higher is more similar; ties by id).
//! - **Vectors** have the store's dimension, finite values and a non-zero length.
//!
//! Stores are `Send + Sync` and their methods return boxed futures, so a function holds an
//! `Arc<dyn VectorStore>` and picks the store from its configuration.

#[cfg(test)]
mod contract;
mod s3vectors;
mod sequencer;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::collections::BTreeMap;
use std::fmt;

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::text::{Chunk, Document, DocumentRef};

pub use s3vectors::{FILTERABLE_METADATA_KEYS, NON_FILTERABLE_METADATA_KEYS, S3VectorsStore};
pub use sequencer::Sequencer;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

/// The most hits one query returns (S3 Vectors' `topK` limit; every store applies it).
pub const MAX_K: usize = 100;

/// A document as a store keeps it, without its chunks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredDocument {
    /// The S3 object (and the version its chunks come from).
    pub source: DocumentRef,
    /// The sequencer of the S3 event this content comes from.
    pub sequencer: Sequencer,
    /// The media type the text was extracted as (filterable).
    pub content_type: String,
    /// The document's title.
    pub title: String,
    /// The object's user metadata.
    pub metadata: BTreeMap<String, String>,
}

impl StoredDocument {
    /// The stored form of an extracted `document` written by the S3 event at `sequencer`.
    pub fn new(document: &Document, sequencer: Sequencer) -> Self {
        StoredDocument {
            source: document.source.clone(),
            sequencer,
            content_type: document.content_type.clone(),
            title: document.title.clone(),
            metadata: document.user_metadata.clone(),
        }
    }
}

/// One chunk to store: its id, text, embedding and metadata of its own (a page, a heading).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredChunk {
    /// `DocumentRef::chunk_id(index)`.
    pub id: String,
    /// The chunk's text, returned with hits.
    pub text: String,
    /// The embedding.
    pub vector: Vec<f32>,
    /// Metadata of this chunk.
    pub metadata: BTreeMap<String, String>,
}

impl StoredChunk {
    /// The stored form of `chunk` with its embedding (no metadata of its own).
    pub fn new(chunk: Chunk, vector: Vec<f32>) -> Self {
        StoredChunk { id: chunk.id, text: chunk.text, vector, metadata: BTreeMap::new() }
    }
}

/// Which chunks a query may return: all set conditions must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    /// The source key starts with this (`docs/`, `docs/guide`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_prefix: Option<String>,
    /// The document's content type equals this (`text/markdown`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The source bucket equals this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
}

impl Filter {
    /// True when a chunk of `document` with `content_type` passes the filter.
    pub fn matches(&self, document: &DocumentRef, content_type: &str) -> bool {
        self.key_prefix.as_deref().is_none_or(|prefix| document.key.starts_with(prefix))
            && self.content_type.as_deref().is_none_or(|wanted| wanted == content_type)
            && self.bucket.as_deref().is_none_or(|bucket| bucket == document.bucket)
    }
}

/// A chunk found by a query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hit {
    /// The chunk id.
    pub id: String,
    /// The chunk's text.
    pub text: String,
    /// The document it belongs to.
    pub source: DocumentRef,
    /// The document's title.
    pub title: String,
    /// The document's content type.
    pub content_type: String,
    /// Cosine similarity to the query vector, -1 to 1; higher is more similar.
    pub score: f32,
    /// The chunk's own metadata.
    pub metadata: BTreeMap<String, String>,
    /// The document's user metadata.
    pub document_metadata: BTreeMap<String, String>,
}

/// What a replace or delete did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The write is in the store.
    Applied,
    /// The store holds a newer version (live or deleted); nothing changed.
    Stale {
        /// The sequencer the store holds.
        stored: Sequencer,
    },
}

/// What a store holds for a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentState {
    /// The sequencer of the last write or delete applied.
    pub sequencer: Sequencer,
    /// How many chunks the document has (0 when deleted).
    pub chunks: usize,
    /// True when the last applied write was a delete (a tombstone).
    pub deleted: bool,
}

/// What can go wrong with a vector store.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VectorError {
    /// Not an S3 sequencer.
    #[error("`{value}` is not an S3 event sequencer: expected hexadecimal digits")]
    InvalidSequencer { value: String },
    /// A chunk id is not the document's chunk id for its position.
    #[error(
        "chunk {index} of {document} has id `{got}`, expected `{expected}`: chunk ids are the \
         document id and the chunk index, in order"
    )]
    ChunkId { document: String, index: usize, expected: String, got: String },
    /// A vector the store cannot hold or compare.
    #[error("vector of {id}: {reason}")]
    InvalidVector { id: String, reason: String },
    /// A chunk the store cannot hold (its metadata is too large).
    #[error("chunk {id}: {reason}")]
    InvalidChunk { id: String, reason: String },
    /// The store's backend failed.
    #[error("{store} {operation} failed{}: {message}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Backend {
        store: &'static str,
        operation: &'static str,
        code: Option<String>,
        message: String,
        retryable: bool,
    },
    /// The store holds data that is not what quarry writes.
    #[error("{store} holds data quarry cannot read: {reason}")]
    Corrupt { store: &'static str, reason: String },
}

impl VectorError {
    /// True when the same call may succeed later (throttling, timeouts, unavailable backend).
    pub fn is_retryable(&self) -> bool {
        matches!(self, VectorError::Backend { retryable: true, .. })
    }
}

/// A store of document chunks and their vectors; see the [module docs](self) for the contract.
pub trait VectorStore: Send + Sync + fmt::Debug {
    /// Makes `chunks` the whole content of `document`, unless the store holds a newer sequencer.
    fn replace_document<'a>(
        &'a self,
        document: &'a StoredDocument,
        chunks: Vec<StoredChunk>,
    ) -> BoxFuture<'a, Result<WriteOutcome, VectorError>>;

    /// Removes every chunk of `document` and leaves a tombstone at `sequencer`, unless the store
    /// holds a newer sequencer.
    fn delete_document<'a>(
        &'a self,
        document: &'a DocumentRef,
        sequencer: &'a Sequencer,
    ) -> BoxFuture<'a, Result<WriteOutcome, VectorError>>;

    /// The at most `k` chunks most similar to `vector` that pass `filter`, best first.
    fn query<'a>(
        &'a self,
        vector: &'a [f32],
        k: usize,
        filter: &'a Filter,
    ) -> BoxFuture<'a, Result<Vec<Hit>, VectorError>>;

    /// What the store holds for `document` (`None` if it never saw it), for callers that skip
    /// work for stale events and for inspection.
    fn document_state<'a>(
        &'a self,
        document: &'a DocumentRef,
    ) -> BoxFuture<'a, Result<Option<DocumentState>, VectorError>>;
}

/// Checks a write against the contract: ids in order, vectors of `dimension`, finite, non-zero.
fn check_chunks(
    document: &DocumentRef,
    chunks: &[StoredChunk],
    dimension: usize,
) -> Result<(), VectorError> {
    let id = document.document_id();
    for (index, chunk) in chunks.iter().enumerate() {
        let expected = id.chunk_id(index);
        if chunk.id != expected {
            return Err(VectorError::ChunkId {
                document: document.to_string(),
                index,
                expected,
                got: chunk.id.clone(),
            });
        }
        check_vector(&chunk.id, &chunk.vector, dimension)?;
    }
    Ok(())
}

/// Checks one vector: `dimension` values, all finite, not all zero.
fn check_vector(id: &str, vector: &[f32], dimension: usize) -> Result<(), VectorError> {
    let invalid = |reason: String| VectorError::InvalidVector { id: id.to_owned(), reason };
    if vector.len() != dimension {
        return Err(invalid(format!(
            "has {} dimensions; the store holds {dimension}-dimensional vectors",
            vector.len()
        )));
    }
    if let Some(at) = vector.iter().position(|v| !v.is_finite()) {
        return Err(invalid(format!("value {at} is not a finite number")));
    }
    if norm(vector) == 0.0 {
        return Err(invalid("is all zeros: cosine similarity needs a non-zero vector".to_owned()));
    }
    Ok(())
}

/// The Euclidean length of `vector`.
fn norm(vector: &[f32]) -> f32 {
    vector.iter().map(|v| v * v).sum::<f32>().sqrt()
}

/// Cosine similarity of two vectors of equal length with the given norms (both non-zero).
fn cosine(a: &[f32], a_norm: f32, b: &[f32], b_norm: f32) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    (dot / (a_norm * b_norm)).clamp(-1.0, 1.0)
}

/// Sorts hits best first (score descending, then id) and keeps `k`.
fn rank(hits: &mut Vec<Hit>, k: usize) {
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    hits.truncate(k);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_combine_prefix_content_type_and_bucket() {
        let doc = DocumentRef::new("docs", "guides/setup.md");
        assert!(Filter::default().matches(&doc, "text/markdown"));
        let filter = Filter {
            key_prefix: Some("guides/se".into()),
            content_type: Some("text/markdown".into()),
            bucket: Some("docs".into()),
        };
        assert!(filter.matches(&doc, "text/markdown"));
        assert!(!filter.matches(&doc, "text/plain"));
        assert!(!filter.matches(&DocumentRef::new("other", "guides/setup.md"), "text/markdown"));
        assert!(!filter.matches(&DocumentRef::new("docs", "notes/setup.md"), "text/markdown"));
    }

    #[test]
    fn writes_are_checked_against_the_contract() {
        let doc = DocumentRef::new("docs", "a.txt");
        let chunk = |id: String, vector: Vec<f32>| StoredChunk {
            id,
            text: "t".into(),
            vector,
            metadata: BTreeMap::new(),
        };
        let good =
            vec![chunk(doc.chunk_id(0), vec![1.0, 0.0]), chunk(doc.chunk_id(1), vec![0.0, 2.0])];
        assert_eq!(check_chunks(&doc, &good, 2), Ok(()));
        let skipped =
            vec![chunk(doc.chunk_id(0), vec![1.0, 0.0]), chunk(doc.chunk_id(2), vec![1.0, 0.0])];
        assert!(matches!(
            check_chunks(&doc, &skipped, 2),
            Err(VectorError::ChunkId { index: 1, .. })
        ));
        for (vector, reason) in [
            (vec![1.0], "has 1 dimensions"),
            (vec![f32::NAN, 1.0], "value 0 is not a finite number"),
            (vec![0.0, 0.0], "all zeros"),
        ] {
            let err = check_chunks(&doc, &[chunk(doc.chunk_id(0), vector)], 2).expect_err(reason);
            assert!(err.to_string().contains(reason), "{err}");
        }
    }

    #[test]
    fn extracted_documents_and_chunks_become_their_stored_forms() {
        let object = crate::text::S3Object {
            source: DocumentRef::new("docs", "guide.md"),
            content_type: None,
            user_metadata: BTreeMap::from([("team".to_owned(), "docs".to_owned())]),
            body: b"# Guide\n\nRead me.".to_vec(),
        };
        let document = crate::text::extract(&object, 1024).expect("markdown");
        let settings = crate::text::ChunkSettings::new(100, 10).expect("settings");
        let chunk = crate::text::chunk(&document, &settings).expect("chunks").remove(0);
        let stored = StoredDocument::new(&document, Sequencer::new("0A").expect("hex"));
        assert_eq!(stored.content_type, "text/markdown");
        assert_eq!(stored.title, "Guide");
        assert_eq!(stored.metadata["team"], "docs");
        let stored_chunk = StoredChunk::new(chunk.clone(), vec![1.0, 0.0]);
        assert_eq!(stored_chunk.id, document.source.chunk_id(0));
        assert_eq!(stored_chunk.text, chunk.text);
        assert_eq!(check_chunks(&stored.source, &[stored_chunk], 2), Ok(()));
    }

    #[test]
    fn cosine_similarity_is_scale_free() {
        let a = [1.0, 2.0, 3.0];
        let b = [2.0, 4.0, 6.0];
        assert!((cosine(&a, norm(&a), &b, norm(&b)) - 1.0).abs() < 1e-6);
        let c = [-1.0, -2.0, -3.0];
        assert!((cosine(&a, norm(&a), &c, norm(&c)) + 1.0).abs() < 1e-6);
        let d = [3.0, 0.0, -1.0];
        assert!(cosine(&a, norm(&a), &d, norm(&d)).abs() < 1e-6);
    }
}
