//! The catalog object in S3: read with its ETag, written only under a condition — `If-Match` the
//! ETag read (or `If-None-Match: *` when there was none) — so two concurrent syncs cannot
//! interleave: the second write fails with 412 instead of overwriting.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::put_object::PutObjectError;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_types::error::display::DisplayErrorContext;
use quarry::catalog::{Catalog, CatalogError};
use quarry::config::CatalogLocation;

/// Why S3 could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// GetObject failed with something other than "no such key".
    #[error("reading s3://{bucket}/{key} failed: {message}")]
    Read { bucket: String, key: String, message: String },
    /// S3 answered GetObject without an ETag, so no conditional write can follow.
    #[error("s3://{bucket}/{key} came back without an ETag; a conditional write needs one")]
    NoEtag { bucket: String, key: String },
    /// PutObject failed with something other than a failed condition.
    #[error("writing s3://{bucket}/{key} failed: {message}")]
    Write { bucket: String, key: String, message: String },
}

/// The stored catalog object.
#[derive(Debug)]
pub struct StoredCatalog {
    /// Its ETag (quoted, as S3 sends it).
    pub etag: String,
    /// The document, or why it cannot be read (it is then replaced by the next write).
    pub catalog: Result<Catalog, CatalogError>,
}

/// What a conditional write expects to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect<'a> {
    /// No object yet: `If-None-Match: *`.
    Absent,
    /// The object read before: `If-Match: <etag>`.
    Etag(&'a str),
}

/// How a conditional write ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Written; the new ETag.
    Written { etag: Option<String> },
    /// The object changed since it was read (412 Precondition Failed, or 409 when another
    /// conditional write was in flight): someone else wrote first, nothing was written.
    ConditionFailed,
}

/// The catalog object, `None` when there is none yet.
pub async fn read(
    s3: &aws_sdk_s3::Client,
    location: &CatalogLocation,
) -> Result<Option<StoredCatalog>, StoreError> {
    let read_error = |message: String| StoreError::Read {
        bucket: location.bucket.clone(),
        key: location.key.clone(),
        message,
    };
    let output = match s3.get_object().bucket(&location.bucket).key(&location.key).send().await {
        Ok(output) => output,
        Err(SdkError::ServiceError(e)) if e.err().is_no_such_key() => return Ok(None),
        Err(e) => return Err(read_error(DisplayErrorContext(&e).to_string())),
    };
    let etag = output.e_tag().map(str::to_owned).ok_or_else(|| StoreError::NoEtag {
        bucket: location.bucket.clone(),
        key: location.key.clone(),
    })?;
    let body = output
        .body
        .collect()
        .await
        .map_err(|e| read_error(format!("the body could not be read: {e}")))?
        .into_bytes();
    Ok(Some(StoredCatalog { etag, catalog: Catalog::from_json(&body) }))
}

/// Writes `catalog` if the object is still as `expect` says.
pub async fn write(
    s3: &aws_sdk_s3::Client,
    location: &CatalogLocation,
    catalog: &Catalog,
    expect: Expect<'_>,
) -> Result<WriteOutcome, StoreError> {
    let request = s3
        .put_object()
        .bucket(&location.bucket)
        .key(&location.key)
        .content_type("application/json")
        .body(ByteStream::from(catalog.to_json()));
    let request = match expect {
        Expect::Absent => request.if_none_match("*"),
        Expect::Etag(etag) => request.if_match(etag),
    };
    match request.send().await {
        Ok(output) => Ok(WriteOutcome::Written { etag: output.e_tag().map(str::to_owned) }),
        Err(e) if condition_failed(&e) => Ok(WriteOutcome::ConditionFailed),
        Err(e) => Err(StoreError::Write {
            bucket: location.bucket.clone(),
            key: location.key.clone(),
            message: DisplayErrorContext(&e).to_string(),
        }),
    }
}

/// 412 Precondition Failed, or 409 ConditionalRequestConflict (S3 User Guide, "Conditional
/// writes": another conditional write to the same key was in flight).
fn condition_failed(error: &SdkError<PutObjectError, HttpResponse>) -> bool {
    let SdkError::ServiceError(service) = error else {
        return false;
    };
    service.raw().status().as_u16() == 412
        || matches!(service.err().code(), Some("PreconditionFailed" | "ConditionalRequestConflict"))
}
