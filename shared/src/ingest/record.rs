//! One event applied to the index: a created object read, extracted, chunked, embedded and
//! stored; a removed object deleted; each guarded by the store's sequencer.

use super::embedding::embed_documents;
use super::event::{EventAction, ObjectEvent};
use super::fetch::fetch;
use super::{IngestContext, IngestError, RecordOutcome, SkipReason, within};
use crate::bedrock::CallOptions;
use crate::config::IngestLimits;
use crate::embed::EmbeddingModel;
use crate::text::{Chunk, ChunkSettings, Document, ExtractError, S3Object, chunk, extract};
use crate::vector::{DocumentState, StoredChunk, StoredDocument, WriteOutcome};

/// What a created-object path does when the key no longer exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WhenMissing {
    /// Skip: the key's removal event comes (or came) and orders the index.
    Skip,
    /// Delete the document: this event is that removal.
    Delete,
}

/// Applies `event`; never fails, every error is a [`RecordOutcome::Failed`].
///
/// The work is boxed: its future nests the fetch, the embedding calls and the store, deeper than
/// the compiler's default limit for the Lambda runtime future that holds it.
pub(crate) async fn apply(
    event: &ObjectEvent,
    context: &IngestContext,
    call: &CallOptions,
) -> RecordOutcome {
    let applied = match event.action {
        EventAction::Created => Box::pin(created(event, context, call, WhenMissing::Skip)).await,
        EventAction::VersionRemoved => {
            Box::pin(created(event, context, call, WhenMissing::Delete)).await
        }
        EventAction::Removed => Box::pin(removed(event, context, call)).await,
        EventAction::Other => Ok(RecordOutcome::Skipped {
            reason: SkipReason::NotContentEvent { event_name: event.name.clone() },
        }),
    };
    applied.unwrap_or_else(RecordOutcome::from)
}

async fn state(
    event: &ObjectEvent,
    context: &IngestContext,
    call: &CallOptions,
) -> Result<Option<DocumentState>, IngestError> {
    within(call, "reading the document's state", context.store.document_state(&event.source))
        .await?
        .map_err(IngestError::Store)
}

async fn created(
    event: &ObjectEvent,
    context: &IngestContext,
    call: &CallOptions,
    when_missing: WhenMissing,
) -> Result<RecordOutcome, IngestError> {
    let state = state(event, context, call).await?;
    if let Some(state) = &state
        && state.sequencer > event.sequencer
    {
        return Ok(stale(state));
    }
    let limits = context.settings.limits;
    let object = within(
        call,
        "reading the object",
        fetch(&context.s3, &event.source, limits.max_document_bytes),
    )
    .await?;
    let prepared = match object {
        Ok(Some(object)) => {
            let model = context.settings.embedding.model;
            let work = tokio::task::spawn_blocking(move || prepare(&object, model, &limits));
            within(call, "extracting the text", work)
                .await?
                .map_err(|error| IngestError::Internal { reason: error.to_string() })?
        }
        Ok(None) => {
            return match when_missing {
                WhenMissing::Skip => Ok(RecordOutcome::Skipped { reason: SkipReason::ObjectGone }),
                WhenMissing::Delete => delete(event, context, call).await,
            };
        }
        Err(error) => Err(error),
    };
    let (document, chunks) = match prepared {
        Ok(prepared) => prepared,
        Err(error @ IngestError::Extract(_)) => {
            drop_previous_version(event, context, call, state.as_ref(), &error).await;
            return Err(error);
        }
        Err(error) => return Err(error),
    };
    let texts = chunks.iter().map(|piece| piece.text.clone()).collect();
    let concurrency = usize::try_from(limits.max_concurrency).unwrap_or(1);
    let vectors =
        embed_documents(&context.bedrock, &context.settings.embedding, texts, concurrency, *call)
            .await?;
    let count = chunks.len();
    let stored = StoredDocument::new(&document, event.sequencer.clone());
    let chunks = chunks.into_iter().zip(vectors).map(|(c, v)| StoredChunk::new(c, v)).collect();
    let written = within(
        call,
        "writing to the vector store",
        context.store.replace_document(&stored, chunks),
    )
    .await?
    .map_err(IngestError::Store)?;
    Ok(match written {
        WriteOutcome::Applied => RecordOutcome::Ingested { chunks: count },
        WriteOutcome::Stale { stored } => {
            RecordOutcome::Skipped { reason: SkipReason::Stale { stored } }
        }
    })
}

/// Extracts and chunks `object` (CPU work, run off the async threads).
fn prepare(
    object: &S3Object,
    model: EmbeddingModel,
    limits: &IngestLimits,
) -> Result<(Document, Vec<Chunk>), IngestError> {
    let document = extract(object, limits.max_document_bytes).map_err(IngestError::Extract)?;
    let settings = ChunkSettings::for_model(model, limits).map_err(IngestError::Chunk)?;
    let chunks = chunk(&document, &settings).map_err(IngestError::Chunk)?;
    if chunks.is_empty() {
        return Err(IngestError::Extract(ExtractError::Empty { format: document.format }));
    }
    Ok((document, chunks))
}

/// The object's new content cannot be indexed: the chunks of its previous version go, so
/// answers never cite content the object no longer has. Best effort — the record fails anyway.
async fn drop_previous_version(
    event: &ObjectEvent,
    context: &IngestContext,
    call: &CallOptions,
    state: Option<&DocumentState>,
    why: &IngestError,
) {
    if !state.is_some_and(|state| !state.deleted && state.chunks > 0) {
        return;
    }
    let (bucket, key) = (&event.source.bucket, &event.source.key);
    match delete(event, context, call).await {
        Ok(RecordOutcome::Deleted) => tracing::warn!(
            %bucket, %key, reason = %why,
            "the new version cannot be indexed; removed the previous version's chunks"
        ),
        Ok(_) => {}
        Err(error) => tracing::warn!(
            %bucket, %key, %error,
            "the new version cannot be indexed, and removing the previous version's chunks failed"
        ),
    }
}

async fn removed(
    event: &ObjectEvent,
    context: &IngestContext,
    call: &CallOptions,
) -> Result<RecordOutcome, IngestError> {
    if let Some(state) = state(event, context, call).await? {
        if state.sequencer > event.sequencer {
            return Ok(stale(&state));
        }
        if state.sequencer == event.sequencer && state.deleted && state.chunks == 0 {
            return Ok(RecordOutcome::Skipped { reason: SkipReason::Duplicate });
        }
    }
    delete(event, context, call).await
}

async fn delete(
    event: &ObjectEvent,
    context: &IngestContext,
    call: &CallOptions,
) -> Result<RecordOutcome, IngestError> {
    let deleted = within(
        call,
        "deleting from the vector store",
        context.store.delete_document(&event.source, &event.sequencer),
    )
    .await?
    .map_err(IngestError::Store)?;
    Ok(match deleted {
        WriteOutcome::Applied => RecordOutcome::Deleted,
        WriteOutcome::Stale { stored } => {
            RecordOutcome::Skipped { reason: SkipReason::Stale { stored } }
        }
    })
}

fn stale(state: &DocumentState) -> RecordOutcome {
    RecordOutcome::Skipped { reason: SkipReason::Stale { stored: state.sequencer.clone() } }
}
