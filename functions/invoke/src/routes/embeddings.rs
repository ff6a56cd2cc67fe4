//! `POST /v1/embeddings`: OpenAI's Embeddings API on the configured Bedrock embedding model, through
//! quarry's embedding bodies and batching planner (Cohere's `input_type` from the `input_type`
//! field, `search_query` by default).

use std::time::Instant;

use axum::Extension;
use axum::extract::State;
use quarry::bedrock::{self, DEFAULT_EMBED_CONCURRENCY, EmbedOptions};
use quarry::openai::{EmbeddingRequest, EmbeddingResponse};

use crate::error::ApiError;
use crate::extract::{CallBudget, LimitedBody};
use crate::observe::{CallRecord, RequestId};
use crate::state::AppState;

const ROUTE: &str = "/v1/embeddings";

pub async fn embeddings(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    CallBudget(call): CallBudget,
    LimitedBody(body): LimitedBody,
) -> Result<axum::Json<EmbeddingResponse>, ApiError> {
    let request = EmbeddingRequest::from_json(&body)?;
    let format = request.encoding_format();
    let (requested, mut embed) = request.to_embed_request()?;
    let model = state.embedding_models().resolve(&requested, |id| state.knows_model(id))?;
    // Without `dimensions`, vectors have the configured size: the size the documents are indexed at.
    embed.dimensions = embed.dimensions.or(Some(state.settings().embedding.dimensions));
    embed
        .validate(state.settings().embedding.model)
        .map_err(|e| ApiError::bad_request(e.to_string()).with_code("invalid_embedding_request"))?;
    let started = Instant::now();
    let options = EmbedOptions { concurrency: DEFAULT_EMBED_CONCURRENCY, call };
    let result = bedrock::embed(state.bedrock(), &model.id, &embed, &options).await;
    CallRecord {
        request_id: &request_id,
        route: ROUTE,
        model: model.id.to_string(),
        usage: result.as_ref().ok().map(|e| {
            let tokens = u32::try_from(e.input_tokens.unwrap_or(0)).unwrap_or(u32::MAX);
            quarry::chat::Usage::new(tokens, 0)
        }),
        latency: started.elapsed(),
        status: result.as_ref().map_or_else(|e| e.http_status(), |_| 200),
    }
    .emit();
    let embeddings = result.map_err(|e| ApiError::from_call(&e, &model.id))?;
    Ok(axum::Json(EmbeddingResponse::from_embeddings(&model.id.to_string(), &embeddings, format)))
}
