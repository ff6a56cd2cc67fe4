//! quarry-invoke: the HTTP API behind API Gateway. [`app`] builds the one axum Router; `main`
//! serves it under lambda_http's streaming runner, and the local stack serves the same Router on
//! localhost.
//!
//! Routes (all but `/health` need credentials, see [`auth`]):
//! - `POST /v1/invoke` — quarry's native chat request, Converse or native body, optional SSE stream
//! - `POST /v1/chat/completions` — OpenAI-compatible chat, streaming with `data: [DONE]`
//! - `POST /v1/embeddings` — OpenAI-compatible embeddings on the configured embedding model
//! - `GET /v1/models` — the models callers may use, with name, lifecycle and regions from the
//!   model catalog ([`catalog`]) when one is loaded
//! - `POST /v1/compare` — one prompt, up to 4 models side by side with latency, usage and cost
//! - `POST /v1/retrieve` — the indexed chunks most similar to a query, with their sources
//! - `POST /v1/rag` — a question answered from the indexed documents, with citations; also as
//!   the `quarry.rag` extension of `/v1/chat/completions` (see [`retrieval`])
//! - `GET /health`

pub mod auth;
pub mod catalog;
pub mod chat_call;
pub mod error;
pub mod extract;
pub mod lambda;
pub mod observe;
pub mod retrieval;
pub mod routes;
pub mod sse;
pub mod state;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware;
use axum::routing::{get, post};

pub use auth::{Authenticator, IamCaller};
pub use catalog::{CatalogCache, CatalogSource};
pub use error::ApiError;
pub use extract::Deadline;
pub use observe::RequestId;
pub use state::{AppState, Retrieval};

/// The API's Router over `state`.
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .route("/v1/invoke", post(routes::invoke::invoke))
        .route("/v1/chat/completions", post(routes::chat_completions::chat_completions))
        .route("/v1/embeddings", post(routes::embeddings::embeddings))
        .route("/v1/models", get(routes::models::models))
        .route("/v1/compare", post(routes::compare::compare))
        .route("/v1/retrieve", post(routes::retrieve::retrieve))
        .route("/v1/rag", post(routes::rag::rag))
        .route_layer(middleware::from_fn_with_state(state.clone(), catalog::refresh))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::require_auth));
    Router::new()
        .merge(api)
        .route("/health", get(routes::health))
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        // Bodies are read by `LimitedBody`, which answers 413 as JSON with the configured limit.
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn(observe::observe))
        .with_state(state)
}

async fn no_route(request: Request) -> ApiError {
    ApiError::no_route(request.method().as_str(), request.uri().path())
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        format!("{} is not allowed on {}", request.method(), request.uri().path()),
    )
    .with_code("method_not_allowed")
}
