//! Native InvokeModel adapters: one module per provider family, each turning a [`ChatRequest`] into
//! the family's JSON body, and the family's response body and stream chunks back into quarry's types.
//!
//! Every family module also exposes its wire types (`Serialize + Deserialize` structs that mirror
//! the AWS "Inference request parameters and response fields" pages), so the local Bedrock endpoint
//! can read and write exactly the same shapes.
//!
//! Token counts: where a family's response body carries no token counts, [`NativeAdapter::parse_response`]
//! returns zero usage and callers take it from the `x-amzn-bedrock-input-token-count` /
//! `x-amzn-bedrock-output-token-count` headers. In streams, every family's last chunk carries
//! `amazon-bedrock-invocationMetrics`, which decoders turn into a [`StreamEvent::Metadata`].

pub mod ai21;
pub mod cohere_command;
pub mod deepseek;
pub mod mistral;
pub mod openai;
pub mod wire;

use crate::chat::{ChatRequest, ChatResponse, StreamEvent};
use crate::model::Family;

/// What can go wrong turning quarry's types into a native body or a native body back.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AdapterError {
    /// The request uses something this family's native API cannot express.
    #[error(
        "{family} native API does not support {feature}; use the Converse API (\"api\": \"converse\")"
    )]
    Unsupported { family: Family, feature: String },
    /// The request cannot be expressed for this model (e.g. a parameter out of the family's range).
    #[error("invalid request for {family}: {reason}")]
    InvalidRequest { family: Family, reason: String },
    /// The model's response body or stream chunk is not the documented shape.
    #[error("unexpected {family} response: {reason}")]
    InvalidResponse { family: Family, reason: String },
    /// quarry has no native adapter for this model.
    #[error(
        "no native InvokeModel adapter for model `{model}`; call it through the Converse API (\"api\": \"converse\"), which supports every Bedrock chat model"
    )]
    NoAdapter { model: String },
}

/// A provider family's native InvokeModel format.
pub trait NativeAdapter: Send + Sync + std::fmt::Debug {
    /// The family this adapter speaks.
    fn family(&self) -> Family;

    /// The InvokeModel JSON body for `request` sent to `base_model_id` (the base model id, with any
    /// inference-profile prefix removed; some families pick a body variant by model).
    fn request_body(
        &self,
        base_model_id: &str,
        request: &ChatRequest,
    ) -> Result<serde_json::Value, AdapterError>;

    /// Parses an InvokeModel response body.
    fn parse_response(&self, body: &[u8]) -> Result<ChatResponse, AdapterError>;

    /// A decoder for one InvokeModelWithResponseStream answer (decoders keep per-stream state).
    fn stream_decoder(&self) -> Box<dyn StreamDecoder>;
}

/// Turns the `chunk.bytes` payloads of one InvokeModelWithResponseStream answer into stream events.
pub trait StreamDecoder: Send + std::fmt::Debug {
    /// Decodes one chunk's bytes (the JSON document the model emitted) into zero or more events.
    fn decode_chunk(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError>;
}
