//! quarry-catalog-sync: keeps the model catalog in S3 in step with what Bedrock offers.
//!
//! [`sync`] lists every foundation model and inference profile ([`fetch`]), normalises them into
//! `quarry::catalog`, reads the stored catalog with its ETag ([`store`]), and writes the listing
//! only when its content hash differs — conditionally (`If-Match` / `If-None-Match: *`), so
//! concurrent syncs never interleave. When Bedrock or S3 fails, or Bedrock lists nothing, nothing
//! is written: the last good catalog stays. Every run logs its diff, warns about allowlisted
//! models that are LEGACY or gone, writes EMF [`metrics`], and returns a [`SyncReport`]. `main`
//! runs it under lambda_runtime for a scheduled event ([`event::Trigger`]).

pub mod event;
pub mod fetch;
pub mod metrics;
pub mod report;
pub mod store;

use std::time::SystemTime;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use quarry::catalog::{Catalog, CatalogDiff, Normalised, retiring_models};
use quarry::config::CatalogSyncSettings;

pub use event::Trigger;
pub use fetch::{FetchError, fetch_catalog};
pub use report::{Outcome, SyncReport};
pub use store::StoreError;

use store::{Expect, StoredCatalog, WriteOutcome};

/// Why a sync wrote nothing and failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Bedrock could not be listed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// Bedrock listed no foundation models: an empty catalog is never written.
    #[error(
        "Bedrock listed no foundation models; an empty catalog is never written, the stored one is kept"
    )]
    EmptyListing,
    /// S3 could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Runs one sync with prebuilt clients; never panics, and always reports — a failure is in the
/// report's `error` (and logged, and counted in CatalogSyncErrors) with the stored catalog kept.
pub async fn sync(
    bedrock: &aws_sdk_bedrock::Client,
    s3: &aws_sdk_s3::Client,
    settings: &CatalogSyncSettings,
) -> SyncReport {
    let report = sync_without_metrics(bedrock, s3, settings).await;
    metrics::emit(&report);
    report
}

/// [`sync`] without the EMF metrics line on stdout: for hosts whose stdout is not a log stream
/// (the local stack prints its banner there). The run is logged all the same.
pub async fn sync_without_metrics(
    bedrock: &aws_sdk_bedrock::Client,
    s3: &aws_sdk_s3::Client,
    settings: &CatalogSyncSettings,
) -> SyncReport {
    let mut report = SyncReport::new();
    match run(bedrock, s3, settings, &mut report).await {
        Ok(outcome) => report.outcome = outcome,
        Err(error) => {
            report.outcome = Outcome::Failed;
            report.error = Some(error);
        }
    }
    log(&report);
    report
}

/// The Lambda handler's work: logs what triggered the sync, runs it, and turns a failed sync into
/// an error (after it was logged) so Lambda counts it.
pub async fn handle(
    trigger: &Trigger,
    bedrock: &aws_sdk_bedrock::Client,
    s3: &aws_sdk_s3::Client,
    settings: &CatalogSyncSettings,
) -> Result<SyncReport, SyncError> {
    tracing::info!(trigger = %trigger, "catalog sync triggered");
    let mut report = sync(bedrock, s3, settings).await;
    match report.error.take() {
        Some(error) => Err(error),
        None => Ok(report),
    }
}

async fn run(
    bedrock: &aws_sdk_bedrock::Client,
    s3: &aws_sdk_s3::Client,
    settings: &CatalogSyncSettings,
    report: &mut SyncReport,
) -> Result<Outcome, SyncError> {
    let Normalised { mut catalog, skipped } = fetch_catalog(bedrock, None).await?;
    report.region = Some(catalog.region.clone());
    report.skipped = skipped;
    if catalog.models.is_empty() {
        return Err(SyncError::EmptyListing);
    }
    report.models = catalog.models.len();
    report.profiles = catalog.profiles.len();
    let hash = catalog.content_hash();
    report.content_hash = Some(hash.clone());

    let stored = store::read(s3, &settings.catalog).await?;
    let (previous, expect) = match &stored {
        None => (None, Expect::Absent),
        Some(StoredCatalog { etag, catalog: Ok(previous) }) => (Some(previous), Expect::Etag(etag)),
        Some(StoredCatalog { etag, catalog: Err(error) }) => {
            tracing::warn!(%error, "the stored catalog cannot be read; replacing it");
            (None, Expect::Etag(etag.as_str()))
        }
    };
    report.previous_hash = previous.map(Catalog::content_hash);
    report.diff = CatalogDiff::between(previous, &catalog);
    report.retiring = retiring_models(&settings.watched_models(), previous, &catalog);
    if report.previous_hash.as_ref() == Some(&hash) {
        report.stored_hash = Some(hash);
        report.etag = stored.map(|s| s.etag);
        return Ok(Outcome::Unchanged);
    }

    catalog.synced_at = DateTime::from(SystemTime::now()).fmt(Format::DateTime).ok();
    match store::write(s3, &settings.catalog, &catalog, expect).await? {
        WriteOutcome::Written { etag } => {
            report.stored_hash = Some(hash);
            report.etag = etag;
            Ok(Outcome::Written)
        }
        WriteOutcome::ConditionFailed => {
            // Another sync wrote first: report what is stored now, never overwrite it.
            match store::read(s3, &settings.catalog).await {
                Ok(Some(StoredCatalog { etag, catalog })) => {
                    report.etag = Some(etag);
                    report.stored_hash = catalog.ok().map(|c| c.content_hash());
                }
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, "re-reading the catalog after a conflict"),
            }
            Ok(Outcome::Conflict)
        }
    }
}

/// One line for the run, one per retiring allowlisted model (WARN) and per skipped entry.
fn log(report: &SyncReport) {
    if let Some(error) = &report.error {
        tracing::error!(%error, "catalog sync failed; the stored catalog is kept");
        return;
    }
    tracing::info!(
        outcome = ?report.outcome,
        models = report.models,
        profiles = report.profiles,
        content_hash = report.content_hash.as_deref().unwrap_or_default(),
        diff = %serde_json::to_string(&report.diff).unwrap_or_default(),
        "catalog synced"
    );
    if report.outcome == Outcome::Conflict {
        tracing::warn!(
            stored_hash = report.stored_hash.as_deref().unwrap_or_default(),
            "another sync wrote the catalog first; this sync wrote nothing"
        );
    }
    for retiring in &report.retiring {
        tracing::warn!(model = %retiring.allowed, newly = retiring.newly, "{retiring}");
    }
    for skipped in &report.skipped {
        tracing::warn!(id = %skipped.id, reason = %skipped.reason, "listed entry left out of the catalog");
    }
}
