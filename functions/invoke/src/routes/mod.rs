//! The API's routes, one module each; handlers parse, call a domain function, and map the result.

pub mod chat_completions;
pub mod compare;
pub mod embeddings;
pub mod invoke;
pub mod models;
pub mod rag;
pub mod retrieve;

/// `GET /health`: answers while the function can serve (no authentication, no Bedrock call).
pub async fn health() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "status": "ok" }))
}
