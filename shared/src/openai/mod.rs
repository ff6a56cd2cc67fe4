//! OpenAI-compatible wire types and their mapping to quarry's chat and embedding types, so any
//! OpenAI client (the official SDKs, LangChain, …) can call Bedrock models through quarry.
//!
//! - [`chat`]: `POST /v1/chat/completions` request → [`ChatRequest`](crate::chat::ChatRequest),
//!   [`ChatResponse`](crate::chat::ChatResponse) → `chat.completion`.
//! - [`stream`]: `chat.completion.chunk`s from [`StreamEvent`](crate::chat::StreamEvent)s, SSE lines.
//! - [`embeddings`]: `POST /v1/embeddings` ↔ [`EmbedRequest`](crate::embed::EmbedRequest) /
//!   [`Embeddings`](crate::embed::Embeddings), float or base64 vectors.
//! - [`models`]: the `GET /v1/models` list.
//! - [`error`]: OpenAI's error body and [`OpenAiError`], the mapping failures (each naming its field).
//!
//! Shapes follow the OpenAI API reference (https://platform.openai.com/docs/api-reference) and the
//! official `openai-python` SDK's types. The HTTP side (routes, status codes) is the invoke
//! function's.

pub mod chat;
pub mod embeddings;
pub mod error;
pub mod models;
pub mod stream;

pub use chat::{
    ChatCompletion, ChatCompletionRequest, ChatMessage, CompletionMeta, CompletionUsage,
    FinishReason, MessageContent, MessageRole, StreamOptions,
};
pub use embeddings::{EmbeddingRequest, EmbeddingResponse, EmbeddingVector, EncodingFormat};
pub use error::{ErrorDetail, ErrorResponse, ErrorType, OpenAiError};
pub use models::{Model, ModelList};
pub use stream::{ChatCompletionChunk, ChunkEncoder, SSE_DONE, sse_data};
