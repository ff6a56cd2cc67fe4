//! `POST /v1/retrieve`: `{query, k, filter}` → the indexed chunks most similar to the query (its
//! text embedded as a `search_query` by the configured embedding model), best first, with their
//! text, score and source document.

use axum::Extension;
use axum::extract::State;
use quarry::retrieval::{RetrievedChunk, Search, SearchFilter, SearchOptions};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::extract::{CallBudget, LimitedBody, parse_json};
use crate::observe::RequestId;
use crate::retrieval::{invalid_search, retrieval, search};
use crate::state::AppState;

const ROUTE: &str = "/v1/retrieve";

/// The body of `POST /v1/retrieve`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RetrieveRequest {
    /// The text to search for.
    query: String,
    /// 1 to 100 chunks; 5 when absent.
    #[serde(default)]
    k: Option<usize>,
    #[serde(default)]
    filter: Option<SearchFilter>,
}

/// The answer of `POST /v1/retrieve`.
#[derive(Debug, Serialize)]
pub struct RetrieveAnswer {
    id: String,
    /// Best first.
    chunks: Vec<RetrievedChunk>,
}

pub async fn retrieve(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    CallBudget(options): CallBudget,
    LimitedBody(body): LimitedBody,
) -> Result<axum::Json<RetrieveAnswer>, ApiError> {
    let retrieval = retrieval(&state)?;
    let body: RetrieveRequest = parse_json(&body)?;
    let options_asked = SearchOptions { k: body.k, filter: body.filter };
    let query = Search::new(body.query, &options_asked, state.settings().embedding.model)
        .map_err(|e| invalid_search(&e, "query", ""))?;
    let hits = search(&state, retrieval, &request_id, ROUTE, &query, &options).await?;
    let chunks = hits.into_iter().map(RetrievedChunk::from).collect();
    Ok(axum::Json(RetrieveAnswer { id: request_id, chunks }))
}
