//! The sync's result: what was listed, what happened to the stored catalog, the diff, the
//! allowlisted models that are retiring — the Lambda result as a small JSON document.

use serde::{Serialize, Serializer};

use quarry::catalog::{CatalogDiff, RetiringModel, SkippedEntry};

use crate::SyncError;

/// What happened to the stored catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The listing differed from the stored catalog (or there was none): it was written.
    Written,
    /// The listing equals the stored catalog: nothing was written.
    Unchanged,
    /// Another sync wrote the catalog between this sync's read and write; this one wrote nothing.
    Conflict,
    /// Bedrock or S3 failed, or Bedrock listed no models: nothing was written and the stored
    /// catalog is kept.
    Failed,
}

/// The result of one sync.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncReport {
    pub outcome: Outcome,
    /// The region listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Foundation models listed.
    pub models: usize,
    /// Inference profiles listed.
    pub profiles: usize,
    /// The content hash of the listing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
    /// The content hash of the catalog stored before the sync.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_hash: Option<String>,
    /// The content hash of the catalog stored after the sync (another sync's on a conflict).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored_hash: Option<String>,
    /// The stored object's ETag after the sync.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Changes from the stored catalog to the listing.
    pub diff: CatalogDiff,
    /// Allowlisted models that are LEGACY or gone.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub retiring: Vec<RetiringModel>,
    /// Listed entries left out of the catalog.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedEntry>,
    /// Why the sync failed.
    #[serde(serialize_with = "message", skip_serializing_if = "Option::is_none")]
    pub error: Option<SyncError>,
}

impl SyncReport {
    /// An empty report, failed until the sync says otherwise.
    pub(crate) fn new() -> Self {
        SyncReport {
            outcome: Outcome::Failed,
            region: None,
            models: 0,
            profiles: 0,
            content_hash: None,
            previous_hash: None,
            stored_hash: None,
            etag: None,
            diff: CatalogDiff::default(),
            retiring: Vec::new(),
            skipped: Vec::new(),
            error: None,
        }
    }

    /// Whether the sync failed (Lambda should count an error).
    pub fn failed(&self) -> bool {
        self.outcome == Outcome::Failed
    }
}

fn message<S: Serializer>(error: &Option<SyncError>, serializer: S) -> Result<S::Ok, S::Error> {
    match error {
        Some(error) => serializer.serialize_str(&error.to_string()),
        None => serializer.serialize_none(),
    }
}
