//! The retrieval step the routes share (`/v1/retrieve`, `/v1/rag`, `quarry.rag` on chat
//! completions): the configured store or a 503, the search with its embedding call metered, and
//! retrieval and prompt failures as API errors naming the field at fault.

use std::convert::Infallible;
use std::time::Instant;

use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use quarry::bedrock::CallOptions;
use quarry::chat::{StreamEvent, Usage};
use quarry::prompt::PromptError;
use quarry::retrieval::{GroundingError, InvalidSearch, RetrievalError, Retriever, Search};
use quarry::vector::{Hit, VectorError};

use crate::error::ApiError;
use crate::observe::CallRecord;
use crate::sse::SseEncoder;
use crate::state::{AppState, Retrieval};

/// Seconds a caller should wait after the vector store said it was busy or unavailable.
const STORE_RETRY_AFTER_SECS: u32 = 1;

/// The store and templates, or 503 `retrieval_unavailable` when this deployment has none.
pub fn retrieval(state: &AppState) -> Result<&Retrieval, ApiError> {
    state.retrieval().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "retrieval is not available: this API has no vector store to search (the invoke \
             function builds one from the configured vector index at start-up; a local or \
             embedded API must be given one)",
        )
        .with_code("retrieval_unavailable")
    })
}

/// Runs `search` on `retrieval`'s store, metering the embedding call as a Bedrock call of `route`.
pub async fn search(
    state: &AppState,
    retrieval: &Retrieval,
    request_id: &str,
    route: &'static str,
    search: &Search,
    options: &CallOptions,
) -> Result<Vec<Hit>, ApiError> {
    let embedding = &state.settings().embedding;
    let retriever =
        Retriever { bedrock: state.bedrock(), embedding, store: retrieval.store.as_ref() };
    let started = Instant::now();
    let result = retriever.search(search, options).await;
    let (usage, status) = match &result {
        Ok(found) => {
            let tokens = found.embedding_tokens.map(|n| u32::try_from(n).unwrap_or(u32::MAX));
            (tokens.map(|n| Usage::new(n, 0)), 200)
        }
        Err(RetrievalError::Embed { source, .. }) => (None, source.http_status()),
        // The embedding call succeeded; the store failed after it.
        Err(RetrievalError::Store(_)) => (None, 200),
    };
    CallRecord {
        request_id,
        route,
        model: embedding.model_id.to_string(),
        usage,
        latency: started.elapsed(),
        status,
    }
    .emit();
    result.map(|found| found.hits).map_err(|error| retrieval_error(request_id, error))
}

/// A failed search as the caller gets it: an embedding failure as every Bedrock failure (a
/// throttle is 429 with `Retry-After`); a store that is busy or unavailable is 503 with
/// `Retry-After`, one that failed otherwise 502, and a store that does not fit the embedding
/// model (or holds unreadable data) a 500.
fn retrieval_error(request_id: &str, error: RetrievalError) -> ApiError {
    match error {
        RetrievalError::Embed { model, source } => ApiError::from_call(&source, &model),
        RetrievalError::Store(error) => {
            tracing::error!(request_id, error = %error, "vector store query failed");
            let message = format!("searching the vector index failed: {error}");
            match error {
                VectorError::Backend { retryable: true, .. } => {
                    let mut error = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message)
                        .with_code("vector_store_unavailable");
                    error.retry_after_secs = Some(STORE_RETRY_AFTER_SECS);
                    error
                }
                VectorError::Backend { .. } => {
                    ApiError::new(StatusCode::BAD_GATEWAY, message).with_code("vector_store_failed")
                }
                _ => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
                    .with_code("vector_store_misconfigured"),
            }
        }
    }
}

/// A search the caller must fix: 400 naming the field (`text_field` for the text; `k`,
/// `filter.<field>` after `prefix`).
pub fn invalid_search(error: &InvalidSearch, text_field: &str, prefix: &str) -> ApiError {
    let param = error.param(text_field, prefix);
    ApiError::bad_request(format!("{param}: {error}"))
        .with_param(param)
        .with_code("invalid_retrieval_request")
}

/// A prompt that cannot be built: the question (at `param`) too long for the model is the
/// caller's 400; a broken template is quarry's 500.
pub fn prompt_error(error: GroundingError, param: &str) -> ApiError {
    match error {
        GroundingError::Prompt(PromptError::PromptTooLong { .. })
        | GroundingError::NoQuestion { .. } => ApiError::bad_request(format!("{param}: {error}"))
            .with_param(param)
            .with_code("invalid_retrieval_request"),
        GroundingError::Prompt(error) => {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("the RAG prompt: {error}"))
                .with_code("prompt_template_error")
        }
    }
}

/// Sends `events` (an answer quarry gives without a model call) through `encoder` as a finished
/// server-sent-event stream.
pub fn replay<E: SseEncoder>(mut encoder: E, events: &[StreamEvent]) -> Response {
    let mut sse: Vec<Event> = events.iter().flat_map(|event| encoder.event(event)).collect();
    sse.extend(encoder.finish());
    let stream = futures_util::stream::iter(sse.into_iter().map(Ok::<Event, Infallible>));
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}
