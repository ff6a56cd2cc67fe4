//! The Amazon S3 Vectors store: one vector index, each chunk a vector keyed by its chunk id.
//!
//! # Layout
//!
//! - **Chunk vectors** (`<document id>-00000`, …): float32 data; metadata `kind: "chunk"`,
//!   `bucket`, `content_type` and `key_dirs` (filterable) and `text`, `key`, `title`,
//!   `version_id`, `etag`, `metadata`, `document_metadata` (non-filterable; the last two hold
//!   JSON objects as strings, S3 Vectors metadata having no nested objects).
//! - **One manifest vector per document** (key: the bare document id): `kind: "document"` or
//!   `"deleted"` (a tombstone), `sequencer`, `chunk_count`. Its data is the unit vector `[1, 0, …]`
//!   (the index needs data of its dimension); every query filters on `kind = "chunk"`, so it is
//!   never a hit.
//!
//! # Why a manifest
//!
//! ListVectors has no filter, so a document's ids cannot be found by asking the index; and a
//! deleted document must keep its sequencer somewhere. Chunk ids are `<document id>-<index>`, so
//! knowing how many ids may exist is enough: `chunk_count` is an upper bound on the ids present,
//! raised *before* chunks are written and lowered only after the stale ones are deleted:
//!
//! - replace: read the manifest (older sequencer than stored → `Stale`); write the manifest with
//!   the new sequencer and `max(stored count, new count)`; PutVectors the chunks (≤ 500 a call;
//!   same ids overwrite in place, so readers see old or new chunks, never none); DeleteVectors
//!   ids from the new count up to the stored bound (≤ 500 a call); write the manifest with the
//!   new count.
//! - delete: read the manifest; write a tombstone with the new sequencer and the stored bound;
//!   delete ids below the bound; write the tombstone with count 0.
//!
//! A write that fails midway leaves the bound covering every id it may have written, so its
//! retry (an equal sequencer is applied again) or any later write removes them: no orphans.
//! S3 Vectors has no conditional writes, so the sequencer check is check-then-act: two writers of
//! the *same* document at the same moment can interleave. The ingest function should therefore
//! not process two events of one key concurrently (it can drop all but the newest event of a key
//! within a batch); a later event of the key repairs any interleaving.
//!
//! # Prefix filters
//!
//! S3 Vectors filters compare whole values (`$eq` on a list matches any element) and have no
//! prefix operator. So each chunk lists its key's directory prefixes in `key_dirs`
//! (`a/b/c.md` → `["a/", "a/b/"]`, as many as fit in [`KEY_DIRS_BUDGET`] bytes). A prefix filter
//! asks for its longest directory (`a/b/` of `a/b/c`) in `key_dirs` and, when the prefix goes on
//! past it, keeps only matching keys from [`MAX_K`] results — so a prefix that does not end in
//! `/` may return fewer than `k` hits when many closer chunks lie outside it.
//!
//! # Scores
//!
//! With a cosine index, QueryVectors' distance is the cosine distance and the score is
//! `1 - distance`. With a euclidean index, the hits' vectors are read back (GetVectors) and the
//! cosine similarity computed exactly; the order is still the index's.

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt::Debug;

use aws_sdk_s3vectors::Client;
use aws_sdk_s3vectors::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3vectors::types::{PutInputVector, VectorData};
use aws_smithy_types::Document;
use futures_util::future::BoxFuture;
use serde_json::{Map, Value, json};

use super::{
    DocumentState, Filter, Hit, MAX_K, Sequencer, StoredChunk, StoredDocument, VectorError,
    VectorStore, WriteOutcome, check_chunks, check_vector, cosine, norm, rank,
};
use crate::chat::converse::{document_to_json, json_to_document};
use crate::config::{DistanceMetric, VectorIndex};
use crate::text::{DocumentId, DocumentRef};

const STORE: &str = "S3 Vectors";

/// Metadata keys queries filter on (every key not declared non-filterable is filterable).
pub const FILTERABLE_METADATA_KEYS: [&str; 4] = ["kind", "bucket", "content_type", "key_dirs"];

/// Metadata keys the index must declare non-filterable (`metadataConfiguration.
/// nonFilterableMetadataKeys` at CreateIndex; S3 Vectors allows up to 10): large or
/// never-filtered values, kept out of the 2 KB filterable budget.
pub const NON_FILTERABLE_METADATA_KEYS: [&str; 9] = [
    "text",
    "key",
    "title",
    "version_id",
    "etag",
    "sequencer",
    "chunk_count",
    "metadata",
    "document_metadata",
];

/// Vectors per PutVectors and DeleteVectors call (the S3 Vectors limit).
pub const MAX_WRITE_BATCH: usize = 500;

/// Bytes of directory prefixes a chunk lists in `key_dirs` (of the 2 KB filterable metadata).
pub const KEY_DIRS_BUDGET: usize = 1024;

/// S3 Vectors' limit on all metadata of one vector.
const MAX_METADATA_BYTES: usize = 40 * 1024;

/// The longest title kept with each chunk, in bytes.
const MAX_TITLE_BYTES: usize = 512;

/// A [`super::VectorStore`] on an Amazon S3 Vectors index.
#[derive(Debug, Clone)]
pub struct S3VectorsStore {
    client: Client,
    bucket: String,
    index: String,
    dimension: usize,
    metric: DistanceMetric,
}

impl S3VectorsStore {
    /// The store on `index` (vector bucket, index name, metric) for vectors of `dimension`.
    pub fn new(client: Client, index: &VectorIndex, dimension: usize) -> Self {
        S3VectorsStore {
            client,
            bucket: index.bucket.clone(),
            index: index.index_name.clone(),
            dimension,
            metric: index.metric,
        }
    }

    async fn manifest(&self, id: &DocumentId) -> Result<Option<Manifest>, VectorError> {
        let output = self
            .client
            .get_vectors()
            .vector_bucket_name(&self.bucket)
            .index_name(&self.index)
            .keys(id.as_str())
            .return_metadata(true)
            .return_data(false)
            .send()
            .await
            .map_err(backend("GetVectors"))?;
        let Some(found) = output.vectors().iter().find(|v| v.key() == id.as_str()) else {
            return Ok(None);
        };
        let metadata = found.metadata().map(metadata_json).transpose()?.unwrap_or_default();
        Manifest::parse(id, &metadata).map(Some)
    }

    async fn put_manifest(
        &self,
        id: &DocumentId,
        manifest: &Manifest,
        source: &DocumentRef,
    ) -> Result<(), VectorError> {
        let mut unit = vec![0.0; self.dimension];
        if let Some(first) = unit.first_mut() {
            *first = 1.0;
        }
        let mut metadata = Map::new();
        metadata
            .insert("kind".into(), json!(if manifest.deleted { "deleted" } else { "document" }));
        metadata.insert("bucket".into(), json!(source.bucket));
        metadata.insert("key".into(), json!(source.key));
        metadata.insert("sequencer".into(), json!(manifest.sequencer.as_str()));
        metadata.insert("chunk_count".into(), json!(manifest.chunk_count));
        let vector = put_vector(id.as_str(), unit, metadata)?;
        self.put(vec![vector]).await
    }

    async fn put(&self, vectors: Vec<PutInputVector>) -> Result<(), VectorError> {
        self.client
            .put_vectors()
            .vector_bucket_name(&self.bucket)
            .index_name(&self.index)
            .set_vectors(Some(vectors))
            .send()
            .await
            .map_err(backend("PutVectors"))?;
        Ok(())
    }

    /// Deletes the chunk ids `from..to` of a document, in batches.
    async fn delete_chunks(
        &self,
        id: &DocumentId,
        from: usize,
        to: usize,
    ) -> Result<(), VectorError> {
        let mut start = from;
        while start < to {
            let end = to.min(start + MAX_WRITE_BATCH);
            self.client
                .delete_vectors()
                .vector_bucket_name(&self.bucket)
                .index_name(&self.index)
                .set_keys(Some((start..end).map(|index| id.chunk_id(index)).collect()))
                .send()
                .await
                .map_err(backend("DeleteVectors"))?;
            start = end;
        }
        Ok(())
    }

    async fn replace(
        &self,
        document: &StoredDocument,
        chunks: Vec<StoredChunk>,
    ) -> Result<WriteOutcome, VectorError> {
        check_chunks(&document.source, &chunks, self.dimension)?;
        let vectors = chunks
            .into_iter()
            .map(|chunk| {
                let metadata = chunk_metadata(document, &chunk)?;
                put_vector(&chunk.id, chunk.vector, metadata)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let id = document.source.document_id();
        let stored = self.manifest(&id).await?;
        if let Some(stored) = &stored
            && stored.sequencer > document.sequencer
        {
            return Ok(WriteOutcome::Stale { stored: stored.sequencer.clone() });
        }
        let new_count = vectors.len();
        let bound = stored.as_ref().map_or(0, |m| m.chunk_count).max(new_count);
        let claim =
            Manifest { sequencer: document.sequencer.clone(), chunk_count: bound, deleted: false };
        self.put_manifest(&id, &claim, &document.source).await?;
        let mut vectors = vectors;
        while !vectors.is_empty() {
            let rest = vectors.split_off(vectors.len().min(MAX_WRITE_BATCH));
            self.put(std::mem::replace(&mut vectors, rest)).await?;
        }
        self.delete_chunks(&id, new_count, bound).await?;
        if bound != new_count {
            let done = Manifest { chunk_count: new_count, ..claim };
            self.put_manifest(&id, &done, &document.source).await?;
        }
        Ok(WriteOutcome::Applied)
    }

    async fn delete(
        &self,
        document: &DocumentRef,
        sequencer: &Sequencer,
    ) -> Result<WriteOutcome, VectorError> {
        let id = document.document_id();
        let stored = self.manifest(&id).await?;
        if let Some(stored) = &stored
            && stored.sequencer > *sequencer
        {
            return Ok(WriteOutcome::Stale { stored: stored.sequencer.clone() });
        }
        let bound = stored.as_ref().map_or(0, |m| m.chunk_count);
        let claim = Manifest { sequencer: sequencer.clone(), chunk_count: bound, deleted: true };
        self.put_manifest(&id, &claim, document).await?;
        if bound > 0 {
            self.delete_chunks(&id, 0, bound).await?;
            let done = Manifest { chunk_count: 0, ..claim };
            self.put_manifest(&id, &done, document).await?;
        }
        Ok(WriteOutcome::Applied)
    }

    async fn search(
        &self,
        vector: &[f32],
        k: usize,
        filter: &Filter,
    ) -> Result<Vec<Hit>, VectorError> {
        check_vector("the query", vector, self.dimension)?;
        let k = k.min(MAX_K);
        if k == 0 {
            return Ok(Vec::new());
        }
        let plan = QueryPlan::new(filter);
        let top_k = if plan.post_filter { MAX_K } else { k };
        let output = self
            .client
            .query_vectors()
            .vector_bucket_name(&self.bucket)
            .index_name(&self.index)
            .top_k(i32::try_from(top_k).unwrap_or(i32::MAX))
            .query_vector(VectorData::Float32(vector.to_vec()))
            .filter(json_to_document(&plan.filter))
            .return_metadata(true)
            .return_distance(true)
            .send()
            .await
            .map_err(backend("QueryVectors"))?;
        let mut hits = Vec::new();
        for found in output.vectors() {
            let metadata = found.metadata().map(metadata_json).transpose()?.unwrap_or_default();
            let hit = hit_of(found.key(), found.distance(), &metadata)?;
            if filter.matches(&hit.source, &hit.content_type) {
                hits.push(hit);
            }
        }
        hits.truncate(k);
        if self.metric == DistanceMetric::Euclidean {
            self.exact_cosine(vector, &mut hits).await?;
        }
        rank(&mut hits, k);
        Ok(hits)
    }

    /// Sets each hit's score to its exact cosine similarity, reading the vectors back.
    async fn exact_cosine(&self, query: &[f32], hits: &mut [Hit]) -> Result<(), VectorError> {
        if hits.is_empty() {
            return Ok(());
        }
        let output = self
            .client
            .get_vectors()
            .vector_bucket_name(&self.bucket)
            .index_name(&self.index)
            .set_keys(Some(hits.iter().map(|hit| hit.id.clone()).collect()))
            .return_data(true)
            .return_metadata(false)
            .send()
            .await
            .map_err(backend("GetVectors"))?;
        let query_norm = norm(query);
        for hit in hits.iter_mut() {
            let data = output.vectors().iter().find(|v| v.key() == hit.id).and_then(|v| v.data());
            let Some(Ok(vector)) = data.map(VectorData::as_float32) else {
                return Err(corrupt(format!("vector {} has no float32 data", hit.id)));
            };
            hit.score = cosine(query, query_norm, vector, norm(vector));
        }
        Ok(())
    }

    async fn state(&self, document: &DocumentRef) -> Result<Option<DocumentState>, VectorError> {
        Ok(self.manifest(&document.document_id()).await?.map(|manifest| DocumentState {
            sequencer: manifest.sequencer,
            chunks: manifest.chunk_count,
            deleted: manifest.deleted,
        }))
    }
}

impl VectorStore for S3VectorsStore {
    fn replace_document<'a>(
        &'a self,
        document: &'a StoredDocument,
        chunks: Vec<StoredChunk>,
    ) -> BoxFuture<'a, Result<WriteOutcome, VectorError>> {
        Box::pin(self.replace(document, chunks))
    }

    fn delete_document<'a>(
        &'a self,
        document: &'a DocumentRef,
        sequencer: &'a Sequencer,
    ) -> BoxFuture<'a, Result<WriteOutcome, VectorError>> {
        Box::pin(self.delete(document, sequencer))
    }

    fn query<'a>(
        &'a self,
        vector: &'a [f32],
        k: usize,
        filter: &'a Filter,
    ) -> BoxFuture<'a, Result<Vec<Hit>, VectorError>> {
        Box::pin(self.search(vector, k, filter))
    }

    fn document_state<'a>(
        &'a self,
        document: &'a DocumentRef,
    ) -> BoxFuture<'a, Result<Option<DocumentState>, VectorError>> {
        Box::pin(self.state(document))
    }
}

/// A document's manifest vector.
#[derive(Debug, Clone, PartialEq)]
struct Manifest {
    sequencer: Sequencer,
    /// No chunk id at or past this index exists.
    chunk_count: usize,
    deleted: bool,
}

impl Manifest {
    fn parse(id: &DocumentId, metadata: &Map<String, Value>) -> Result<Self, VectorError> {
        let bad = |what: &str| corrupt(format!("the manifest of document {id} has {what}"));
        let deleted = match metadata.get("kind").and_then(Value::as_str) {
            Some("document") => false,
            Some("deleted") => true,
            _ => return Err(bad("no `kind` of `document` or `deleted`")),
        };
        let sequencer = metadata
            .get("sequencer")
            .and_then(Value::as_str)
            .and_then(|s| Sequencer::new(s).ok())
            .ok_or_else(|| bad("no valid `sequencer`"))?;
        let chunk_count = metadata
            .get("chunk_count")
            .and_then(Value::as_u64)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| bad("no `chunk_count`"))?;
        Ok(Manifest { sequencer, chunk_count, deleted })
    }
}

/// The filter to send, and whether results need the key prefix checked here.
#[derive(Debug, Clone, PartialEq)]
struct QueryPlan {
    filter: Value,
    post_filter: bool,
}

impl QueryPlan {
    fn new(filter: &Filter) -> Self {
        let mut conditions = vec![json!({"kind": {"$eq": "chunk"}})];
        if let Some(bucket) = &filter.bucket {
            conditions.push(json!({"bucket": {"$eq": bucket}}));
        }
        if let Some(content_type) = &filter.content_type {
            conditions.push(json!({"content_type": {"$eq": content_type}}));
        }
        let mut post_filter = false;
        if let Some(prefix) = filter.key_prefix.as_ref().filter(|prefix| !prefix.is_empty()) {
            // The longest directory of the prefix that chunks list in `key_dirs`.
            let dir = prefix.rfind('/').map_or("", |end| &prefix[..=end]);
            let listed = key_dirs(dir).pop();
            if let Some(listed) = &listed {
                conditions.push(json!({"key_dirs": {"$eq": listed}}));
            }
            post_filter = listed.as_deref() != Some(prefix.as_str());
        }
        let filter = if conditions.len() == 1 {
            conditions.remove(0)
        } else {
            json!({ "$and": conditions })
        };
        QueryPlan { filter, post_filter }
    }
}

/// The directory prefixes of `key` (`a/b/c.md` → `a/`, `a/b/`), shallowest first, while their
/// total length stays within [`KEY_DIRS_BUDGET`].
fn key_dirs(key: &str) -> Vec<String> {
    let mut dirs = Vec::new();
    let mut used = 0;
    for (end, _) in key.match_indices('/') {
        let dir = &key[..=end];
        used += dir.len();
        if used > KEY_DIRS_BUDGET {
            break;
        }
        dirs.push(dir.to_owned());
    }
    dirs
}

/// The metadata of a chunk vector.
fn chunk_metadata(
    document: &StoredDocument,
    chunk: &StoredChunk,
) -> Result<Map<String, Value>, VectorError> {
    let source = &document.source;
    let mut metadata = Map::new();
    metadata.insert("kind".into(), json!("chunk"));
    metadata.insert("bucket".into(), json!(source.bucket));
    metadata.insert("content_type".into(), json!(document.content_type));
    let dirs = key_dirs(&source.key);
    if !dirs.is_empty() {
        metadata.insert("key_dirs".into(), json!(dirs));
    }
    metadata.insert("text".into(), json!(chunk.text));
    metadata.insert("key".into(), json!(source.key));
    metadata.insert("title".into(), json!(truncate(&document.title, MAX_TITLE_BYTES)));
    if let Some(version_id) = &source.version_id {
        metadata.insert("version_id".into(), json!(version_id));
    }
    if let Some(etag) = &source.etag {
        metadata.insert("etag".into(), json!(etag));
    }
    for (name, map) in [("metadata", &chunk.metadata), ("document_metadata", &document.metadata)] {
        if !map.is_empty() {
            let text = serde_json::to_string(map).unwrap_or_default();
            metadata.insert(name.into(), json!(text));
        }
    }
    let size = Value::Object(metadata.clone()).to_string().len();
    if size > MAX_METADATA_BYTES {
        return Err(VectorError::InvalidChunk {
            id: chunk.id.clone(),
            reason: format!(
                "its text and metadata take {size} bytes; S3 Vectors stores at most \
                 {MAX_METADATA_BYTES} per vector, so use smaller chunks or less user metadata"
            ),
        });
    }
    Ok(metadata)
}

/// `text` cut to at most `max` bytes at a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn put_vector(
    key: &str,
    data: Vec<f32>,
    metadata: Map<String, Value>,
) -> Result<PutInputVector, VectorError> {
    PutInputVector::builder()
        .key(key)
        .data(VectorData::Float32(data))
        .metadata(json_to_document(&Value::Object(metadata)))
        .build()
        .map_err(|err| VectorError::InvalidChunk { id: key.to_owned(), reason: err.to_string() })
}

/// A query result as a [`Hit`]: metadata back to fields, distance to similarity.
fn hit_of(
    key: &str,
    distance: Option<f32>,
    metadata: &Map<String, Value>,
) -> Result<Hit, VectorError> {
    let text = |name: &str| metadata.get(name).and_then(Value::as_str).map(str::to_owned);
    let required = |name: &str| {
        text(name).ok_or_else(|| corrupt(format!("chunk {key} has no `{name}` metadata")))
    };
    let map = |name: &str| -> Result<BTreeMap<String, String>, VectorError> {
        text(name).map_or(Ok(BTreeMap::new()), |json| {
            serde_json::from_str(&json)
                .map_err(|err| corrupt(format!("chunk {key} `{name}`: {err}")))
        })
    };
    Ok(Hit {
        id: key.to_owned(),
        text: required("text")?,
        source: DocumentRef {
            bucket: required("bucket")?,
            key: required("key")?,
            version_id: text("version_id"),
            etag: text("etag"),
        },
        title: text("title").unwrap_or_default(),
        content_type: text("content_type").unwrap_or_default(),
        score: distance.map_or(0.0, |d| (1.0 - d).clamp(-1.0, 1.0)),
        metadata: map("metadata")?,
        document_metadata: map("document_metadata")?,
    })
}

fn metadata_json(document: &Document) -> Result<Map<String, Value>, VectorError> {
    match document_to_json(document) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(corrupt(format!("vector metadata is not an object: {other}"))),
        Err(err) => Err(corrupt(err.to_string())),
    }
}

fn corrupt(reason: String) -> VectorError {
    VectorError::Corrupt { store: STORE, reason }
}

/// Codes S3 Vectors answers when a later attempt may succeed.
const RETRYABLE_CODES: [&str; 4] = [
    "TooManyRequestsException",
    "ServiceUnavailableException",
    "InternalServerException",
    "RequestTimeoutException",
];

fn backend<E, R>(operation: &'static str) -> impl Fn(SdkError<E, R>) -> VectorError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: Debug + 'static,
{
    move |err| {
        let code = err.code().map(str::to_owned);
        let retryable = match &err {
            SdkError::TimeoutError(_)
            | SdkError::DispatchFailure(_)
            | SdkError::ResponseError(_) => true,
            _ => code.as_deref().is_some_and(|code| RETRYABLE_CODES.contains(&code)),
        };
        let message =
            err.message().map_or_else(|| DisplayErrorContext(&err).to_string(), str::to_owned);
        VectorError::Backend { store: STORE, operation, code, message, retryable }
    }
}
