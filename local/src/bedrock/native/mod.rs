//! InvokeModel bodies per provider family: each [`NativeFormat`] turns a model's native request
//! body into work for a local model, and the local model's answer back into that family's response
//! body and stream chunks.
//!
//! Today the endpoint speaks the Amazon Titan text embedding bodies ([`titan_embed`]). Chat
//! families plug in by implementing [`NativeFormat`] with [`NativeRequest::Generate`] and adding
//! their ids to [`format_for`].

pub mod titan_embed;

use serde_json::Value;

use super::model_id::{LocalModel, ModelRef};
use crate::aws_error::AwsError;
use crate::models::extractive::{Conversation, Generation, GenerationParams};

/// What a native request asks of the local models.
#[derive(Debug, Clone, PartialEq)]
pub enum NativeRequest {
    /// Embed one text.
    Embed(EmbedRequest),
    /// Answer a conversation with the extractive text model.
    Generate { conversation: Conversation, params: GenerationParams },
}

/// One text to embed and how the caller wants the vector.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbedRequest {
    pub text: String,
    pub dimensions: usize,
    /// The caller asked for a unit vector (local vectors always are).
    pub normalize: bool,
    /// Embedding types asked for (`float`, `binary`).
    pub types: Vec<String>,
}

/// What the local model answered.
#[derive(Debug, Clone, PartialEq)]
pub enum NativeOutput {
    Embedding { request: EmbedRequest, vector: Vec<f32>, input_tokens: u32 },
    Generation(Generation),
}

impl NativeOutput {
    pub fn input_tokens(&self) -> u32 {
        match self {
            NativeOutput::Embedding { input_tokens, .. } => *input_tokens,
            NativeOutput::Generation(generation) => generation.input_tokens,
        }
    }

    pub fn output_tokens(&self) -> u32 {
        match self {
            NativeOutput::Embedding { .. } => 0,
            NativeOutput::Generation(generation) => generation.output_tokens(),
        }
    }
}

/// One chunk of an InvokeModelWithResponseStream answer: the JSON the model emitted, and how many
/// output tokens it carries (for per-token latency).
#[derive(Debug, Clone, PartialEq)]
pub struct StreamChunk {
    pub json: Value,
    pub output_tokens: u32,
}

/// A provider family's InvokeModel body format.
pub trait NativeFormat: Send + Sync + std::fmt::Debug {
    /// Parses an InvokeModel body; malformed bodies are ValidationExceptions worded like Bedrock's.
    fn parse_request(&self, body: &[u8]) -> Result<NativeRequest, AwsError>;

    /// The InvokeModel response body for `output`.
    fn response_body(&self, output: &NativeOutput) -> Result<Value, AwsError>;

    /// The chunks of an InvokeModelWithResponseStream answer, in order. The endpoint adds
    /// `amazon-bedrock-invocationMetrics` to the last one.
    fn stream_chunks(&self, output: &NativeOutput) -> Result<Vec<StreamChunk>, AwsError>;
}

/// The body format of `model`, or `None` when the endpoint does not speak its native API yet.
pub fn format_for(model: &ModelRef) -> Option<Box<dyn NativeFormat>> {
    match model.model {
        LocalModel::TitanEmbedV2 => Some(Box::new(titan_embed::TitanEmbed::V2)),
        LocalModel::TitanEmbedG1 => Some(Box::new(titan_embed::TitanEmbed::G1)),
        // Chat families (Anthropic Messages, Llama, Mistral, Nova, Titan Text, …) plug in here.
        LocalModel::Text | LocalModel::OtherEmbedding => None,
    }
}

/// Bedrock's wording for a body that does not fit the model's schema.
pub fn malformed(detail: &str) -> AwsError {
    AwsError::validation(format!(
        "Malformed input request: {detail}, please reformat your input and try again."
    ))
}
