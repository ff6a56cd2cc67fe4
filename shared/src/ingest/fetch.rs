//! Fetching a document: GetObject of the object's current version, its body streamed into memory
//! and refused past the size limit, with its content type and user metadata.
//!
//! The current version, not the event's: the ingest role is granted `s3:GetObject` (reading a
//! named version would need `s3:GetObjectVersion`), and the newest content is what the index
//! should hold — an older event that reads newer content stores it under its older sequencer, and
//! the newer event rewrites the same content. The stored [`DocumentRef`] names the version and
//! ETag actually read.

use std::collections::BTreeMap;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectError;

use super::IngestError;
use crate::text::{DocumentRef, ExtractError, S3Object};

/// S3 error codes worth retrying besides 5xx answers.
const RETRYABLE_CODES: &[&str] = &["SlowDown", "RequestTimeout", "RequestTimeTooSkewed"];

/// Reads the current version of `document`, at most `max_bytes` of it. `Ok(None)` when the key
/// does not exist (any more).
pub(crate) async fn fetch(
    s3: &Client,
    document: &DocumentRef,
    max_bytes: u64,
) -> Result<Option<S3Object>, IngestError> {
    let output = match s3.get_object().bucket(&document.bucket).key(&document.key).send().await {
        Ok(output) => output,
        Err(SdkError::ServiceError(service)) if service.err().is_no_such_key() => return Ok(None),
        Err(error) => return Err(fetch_error(document, &error)),
    };
    let declared = output.content_length().and_then(|length| u64::try_from(length).ok());
    if let Some(size) = declared
        && size > max_bytes
    {
        return Err(IngestError::Extract(ExtractError::TooLarge {
            what: "object",
            size,
            max: max_bytes,
        }));
    }
    let source = DocumentRef {
        bucket: document.bucket.clone(),
        key: document.key.clone(),
        version_id: output.version_id().map(str::to_owned).or_else(|| document.version_id.clone()),
        etag: output
            .e_tag()
            .map(|etag| etag.trim_matches('"').to_owned())
            .or_else(|| document.etag.clone()),
    };
    let content_type = output.content_type().map(str::to_owned);
    let user_metadata: BTreeMap<String, String> =
        output.metadata().map(|m| m.clone().into_iter().collect()).unwrap_or_default();
    let capacity = declared.unwrap_or(0).min(max_bytes);
    let mut body = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
    let mut stream = output.body;
    while let Some(piece) = stream.try_next().await.map_err(|error| IngestError::Fetch {
        bucket: document.bucket.clone(),
        key: document.key.clone(),
        reason: format!("the body broke off after {} bytes: {error}", body.len()),
        retryable: true,
    })? {
        let size = (body.len() + piece.len()) as u64;
        if size > max_bytes {
            return Err(IngestError::Extract(ExtractError::TooLarge {
                what: "object",
                size,
                max: max_bytes,
            }));
        }
        body.extend_from_slice(&piece);
    }
    Ok(Some(S3Object { source, content_type, user_metadata, body }))
}

/// The [`IngestError::Fetch`] of a failed GetObject: 5xx, throttling and transport failures are
/// retryable; other answers (403, 400…) are not.
fn fetch_error(
    document: &DocumentRef,
    error: &SdkError<GetObjectError, HttpResponse>,
) -> IngestError {
    let (reason, retryable) = match error {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("no error code");
            let message = service.err().message().unwrap_or("no message");
            let status = service.raw().status().as_u16();
            let retryable = status >= 500 || RETRYABLE_CODES.contains(&code);
            let hint = if status == 403 {
                "; the function's role needs s3:GetObject on the documents bucket (and without \
                 s3:ListBucket S3 answers 403, not 404, for a key that was deleted meanwhile)"
            } else {
                ""
            };
            (format!("{code} (HTTP {status}): {message}{hint}"), retryable)
        }
        SdkError::ConstructionFailure(_) => (DisplayErrorContext(error).to_string(), false),
        _ => (DisplayErrorContext(error).to_string(), true),
    };
    IngestError::Fetch {
        bucket: document.bucket.clone(),
        key: document.key.clone(),
        reason,
        retryable,
    }
}
