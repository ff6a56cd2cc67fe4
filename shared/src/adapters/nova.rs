//! Amazon Nova understanding models on InvokeModel: the `messages-v1` body, its response and its
//! stream chunks.
//!
//! Shapes follow the Amazon Nova user guide pages "Complete request schema" and "Response structure
//! highlights" (`complete-request-schema`, `complete-request-schema-response`) and the Nova 2
//! "Streaming responses" page. The Invoke API writes binary data as base64 strings. Mapping notes:
//! - Content blocks are one-key objects (`{"text": …}`, `{"image": …}`, `{"toolUse": …}`, …).
//! - Cache points are `{"cachePoint": {"type": "default"}}` blocks, in `system` or in messages.
//! - Reasoning blocks are `reasoningContent.reasoningText`; redacted reasoning is
//!   `reasoningContent.redactedContent` (the blob as its base64 string, which is what quarry's
//!   `data` holds), both ways and in stream deltas, passed through unchanged.

use serde::{Deserialize, Serialize};

use crate::adapters::stream_metrics::{InvocationMetrics, StreamProgress};
use crate::adapters::wire::to_body;
use crate::adapters::{
    AdapterError, NativeAdapter, StreamDecoder, check_body_request, json_number,
};
use crate::chat::{
    Base64Bytes, BlockStart, ChatRequest, ChatResponse, ContentBlock, Delta, DocumentFormat,
    ImageFormat, Role, StopReason, StreamEvent, SystemBlock, ToolChoice, ToolResultContent,
    ToolResultStatus, Usage,
};
use crate::model::Family;

/// The schema version Nova's Invoke API takes.
pub const SCHEMA_VERSION: &str = "messages-v1";

/// The Amazon Nova adapter.
#[derive(Debug, Clone, Copy, Default)]
pub struct NovaAdapter;

/// InvokeModel request body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NovaRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub system: Vec<NovaSystemBlock>,
    pub messages: Vec<NovaMessage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inference_config: Option<NovaInferenceConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_config: Option<NovaToolConfig>,
    /// Nova 2 extended thinking (`{"type": "enabled", "maxReasoningEffort": "low"}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_config: Option<NovaReasoningConfig>,
}

/// A system prompt block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NovaSystemBlock {
    Text(String),
    CachePoint(NovaCachePoint),
}

/// Prompt-caching marker (`{"type": "default"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NovaCachePoint {
    #[serde(rename = "type")]
    pub kind: String,
}

impl Default for NovaCachePoint {
    fn default() -> Self {
        NovaCachePoint { kind: "default".into() }
    }
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NovaMessage {
    pub role: Role,
    pub content: Vec<NovaContentBlock>,
}

/// A content block: an object with exactly one key naming its kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NovaContentBlock {
    Text(String),
    Image(NovaImage),
    Video(NovaVideo),
    Document(NovaDocument),
    ToolUse(NovaToolUse),
    ToolResult(NovaToolResult),
    ReasoningContent(NovaReasoningContent),
    CachePoint(NovaCachePoint),
}

impl NovaContentBlock {
    fn kind(&self) -> &'static str {
        match self {
            NovaContentBlock::Text(_) => "text",
            NovaContentBlock::Image(_) => "image",
            NovaContentBlock::Video(_) => "video",
            NovaContentBlock::Document(_) => "document",
            NovaContentBlock::ToolUse(_) => "toolUse",
            NovaContentBlock::ToolResult(_) => "toolResult",
            NovaContentBlock::ReasoningContent(_) => "reasoningContent",
            NovaContentBlock::CachePoint(_) => "cachePoint",
        }
    }
}

/// Where a media block's bytes are: base64 `bytes`, or (video) an S3 object.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NovaSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<Base64Bytes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_location: Option<NovaS3Location>,
}

impl NovaSource {
    fn bytes(data: &Base64Bytes) -> Self {
        NovaSource { bytes: Some(data.clone()), s3_location: None }
    }
}

/// An S3 object a video is read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NovaS3Location {
    pub uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_owner: Option<String>,
}

/// An image (`jpeg`, `png`, `gif` or `webp`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NovaImage {
    pub format: ImageFormat,
    pub source: NovaSource,
}

/// A video (`mp4`, `mov`, …); quarry's requests carry none, but the shape is parsed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NovaVideo {
    pub format: String,
    pub source: NovaSource,
}

/// A document with the name Bedrock requires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NovaDocument {
    pub format: DocumentFormat,
    pub name: String,
    pub source: NovaSource,
}

/// The model's call of a tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NovaToolUse {
    pub tool_use_id: String,
    pub name: String,
    pub input: serde_json::Value,
}

/// The caller's answer to a tool use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NovaToolResult {
    pub tool_use_id: String,
    pub content: Vec<NovaToolResultContent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ToolResultStatus>,
}

/// One piece of a tool result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NovaToolResultContent {
    Text(String),
    Json(serde_json::Value),
    Image(NovaImage),
    Document(NovaDocument),
}

/// Reasoning: readable text (with an optional signature) or redacted bytes (base64).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NovaReasoningContent {
    ReasoningText(NovaReasoningText),
    RedactedContent(String),
}

/// Readable reasoning text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NovaReasoningText {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// Inference parameters (older Nova examples spell them `max_new_tokens`, `top_p`, `top_k`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NovaInferenceConfig {
    #[serde(default, alias = "max_new_tokens", skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, alias = "top_p", skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, alias = "top_k", skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    #[serde(default, alias = "stop_sequences", skip_serializing_if = "Vec::is_empty")]
    pub stop_sequences: Vec<String>,
}

/// Nova 2 reasoning switch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NovaReasoningConfig {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_reasoning_effort: Option<String>,
}

/// The tools and how the model must use them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NovaToolConfig {
    pub tools: Vec<NovaTool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<NovaToolChoice>,
}

/// A tool, wrapped as `{"toolSpec": …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NovaTool {
    pub tool_spec: NovaToolSpec,
}

/// A tool's name, description and input JSON Schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NovaToolSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub input_schema: NovaInputSchema,
}

/// `{"json": <JSON Schema>}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NovaInputSchema {
    pub json: serde_json::Value,
}

/// `{"auto": {}}`, `{"any": {}}` or `{"tool": {"name": …}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NovaToolChoice {
    Auto(NovaEmpty),
    Any(NovaEmpty),
    Tool(NovaNamedTool),
}

/// The empty object `{}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NovaEmpty {}

/// A tool named in a tool choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NovaNamedTool {
    pub name: String,
}

/// InvokeModel response body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NovaResponse {
    pub output: NovaOutput,
    pub stop_reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<NovaUsage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<NovaMetrics>,
}

/// The response's `output`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NovaOutput {
    pub message: NovaMessage,
}

/// Token counts (cache counts when prompt caching was used).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NovaUsage {
    pub input_tokens: u32,
    pub output_tokens: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_token_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_input_token_count: Option<u32>,
}

impl NovaUsage {
    fn to_usage(self) -> Usage {
        let mut usage = Usage::new(self.input_tokens, self.output_tokens);
        if let Some(total) = self.total_tokens {
            usage.total_tokens = total;
        }
        usage.cache_read_input_tokens = self.cache_read_input_token_count;
        usage.cache_write_input_tokens = self.cache_write_input_token_count;
        usage
    }
}

/// Latency the model reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NovaMetrics {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
}

/// One InvokeModelWithResponseStream chunk: one of the event keys, plus Bedrock's metrics on the
/// last chunk.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NovaStreamChunk {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_start: Option<NovaMessageStart>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_block_start: Option<NovaContentBlockStart>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_block_delta: Option<NovaContentBlockDelta>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_block_stop: Option<NovaContentBlockStop>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_stop: Option<NovaMessageStop>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<NovaStreamMetadata>,
    #[serde(
        rename = "amazon-bedrock-invocationMetrics",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub invocation_metrics: Option<InvocationMetrics>,
}

/// `messageStart`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NovaMessageStart {
    pub role: Role,
}

/// `contentBlockStart` (only tool-use blocks announce themselves).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NovaContentBlockStart {
    pub start: NovaBlockStart,
    pub content_block_index: u32,
}

/// What a started block is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NovaBlockStart {
    ToolUse(NovaToolUseStart),
}

/// The id and name of a tool use being streamed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NovaToolUseStart {
    pub tool_use_id: String,
    pub name: String,
}

/// `contentBlockDelta`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NovaContentBlockDelta {
    pub delta: NovaDelta,
    pub content_block_index: u32,
}

/// A piece of text, of a tool's input JSON, or of reasoning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NovaDelta {
    Text(String),
    ToolUse(NovaToolUseDelta),
    ReasoningContent(NovaReasoningDelta),
}

/// A fragment of a tool's input JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NovaToolUseDelta {
    pub input: String,
}

/// A piece of reasoning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NovaReasoningDelta {
    Text(String),
    Signature(String),
    RedactedContent(String),
}

/// `contentBlockStop`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NovaContentBlockStop {
    pub content_block_index: u32,
}

/// `messageStop`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NovaMessageStop {
    pub stop_reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_model_response_fields: Option<serde_json::Value>,
}

/// `metadata`: the model's usage and latency.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct NovaStreamMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<NovaUsage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<NovaMetrics>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<serde_json::Value>,
}

/// Maps Nova's `stopReason` to quarry's.
pub fn stop_reason_of(reason: &str) -> StopReason {
    match reason {
        "end_turn" => StopReason::EndTurn,
        "tool_use" => StopReason::ToolUse,
        "max_tokens" => StopReason::MaxTokens,
        "stop_sequence" => StopReason::StopSequence,
        "content_filtered" => StopReason::ContentFiltered,
        "guardrail_intervened" => StopReason::GuardrailIntervened,
        "malformed_model_output" => StopReason::MalformedModelOutput,
        "malformed_tool_use" => StopReason::MalformedToolUse,
        "model_context_window_exceeded" => StopReason::ModelContextWindowExceeded,
        _ => StopReason::Unknown,
    }
}

fn invalid_request(reason: impl Into<String>) -> AdapterError {
    AdapterError::InvalidRequest { family: Family::AmazonNova, reason: reason.into() }
}

fn invalid_response(reason: impl Into<String>) -> AdapterError {
    AdapterError::InvalidResponse { family: Family::AmazonNova, reason: reason.into() }
}

impl NovaRequest {
    /// The `messages-v1` body for `request`.
    pub fn from_chat(request: &ChatRequest) -> Result<Self, AdapterError> {
        check_body_request(Family::AmazonNova, request)?;
        if request.tool_choice.is_some() && request.tools.is_empty() {
            return Err(invalid_request("tool_choice is set but the request has no tools"));
        }
        let system = request
            .system
            .iter()
            .map(|block| match block {
                SystemBlock::Text { text } => NovaSystemBlock::Text(text.clone()),
                SystemBlock::CachePoint => NovaSystemBlock::CachePoint(NovaCachePoint::default()),
            })
            .collect();
        let messages = request
            .messages
            .iter()
            .map(|message| NovaMessage {
                role: message.role,
                content: message.content.iter().map(content_block).collect(),
            })
            .collect();
        let inference_config = NovaInferenceConfig {
            max_tokens: request.max_tokens,
            temperature: request.temperature.map(json_number),
            top_p: request.top_p.map(json_number),
            top_k: request.top_k,
            stop_sequences: request.stop_sequences.clone(),
        };
        let tool_config = (!request.tools.is_empty()).then(|| NovaToolConfig {
            tools: request
                .tools
                .iter()
                .map(|tool| NovaTool {
                    tool_spec: NovaToolSpec {
                        name: tool.name.clone(),
                        description: tool.description.clone(),
                        input_schema: NovaInputSchema { json: tool.input_schema.clone() },
                    },
                })
                .collect(),
            tool_choice: request.tool_choice.as_ref().map(|choice| match choice {
                ToolChoice::Auto => NovaToolChoice::Auto(NovaEmpty {}),
                ToolChoice::Any => NovaToolChoice::Any(NovaEmpty {}),
                ToolChoice::Tool { name } => {
                    NovaToolChoice::Tool(NovaNamedTool { name: name.clone() })
                }
            }),
        });
        Ok(NovaRequest {
            schema_version: Some(SCHEMA_VERSION.into()),
            system,
            messages,
            inference_config: (inference_config != NovaInferenceConfig::default())
                .then_some(inference_config),
            tool_config,
            reasoning_config: None,
        })
    }
}

fn content_block(block: &ContentBlock) -> NovaContentBlock {
    match block {
        ContentBlock::Text { text } => NovaContentBlock::Text(text.clone()),
        ContentBlock::Image { format, data } => {
            NovaContentBlock::Image(NovaImage { format: *format, source: NovaSource::bytes(data) })
        }
        ContentBlock::Document { format, name, data } => NovaContentBlock::Document(NovaDocument {
            format: *format,
            name: name.clone(),
            source: NovaSource::bytes(data),
        }),
        ContentBlock::ToolUse { id, name, input } => NovaContentBlock::ToolUse(NovaToolUse {
            tool_use_id: id.clone(),
            name: name.clone(),
            input: input.clone(),
        }),
        ContentBlock::ToolResult { tool_use_id, content, status } => {
            NovaContentBlock::ToolResult(NovaToolResult {
                tool_use_id: tool_use_id.clone(),
                content: content
                    .iter()
                    .map(|piece| match piece {
                        ToolResultContent::Text { text } => {
                            NovaToolResultContent::Text(text.clone())
                        }
                        ToolResultContent::Json { json } => {
                            NovaToolResultContent::Json(json.clone())
                        }
                        ToolResultContent::Image { format, data } => {
                            NovaToolResultContent::Image(NovaImage {
                                format: *format,
                                source: NovaSource::bytes(data),
                            })
                        }
                    })
                    .collect(),
                status: *status,
            })
        }
        ContentBlock::Reasoning { text, signature } => {
            NovaContentBlock::ReasoningContent(NovaReasoningContent::ReasoningText(
                NovaReasoningText { text: text.clone(), signature: signature.clone() },
            ))
        }
        ContentBlock::RedactedReasoning { data } => {
            NovaContentBlock::ReasoningContent(NovaReasoningContent::RedactedContent(data.clone()))
        }
        ContentBlock::CachePoint => NovaContentBlock::CachePoint(NovaCachePoint::default()),
    }
}

/// An answer's block as a quarry block.
fn answer_block(block: NovaContentBlock) -> Result<ContentBlock, AdapterError> {
    Ok(match block {
        NovaContentBlock::Text(text) => ContentBlock::Text { text },
        NovaContentBlock::ToolUse(NovaToolUse { tool_use_id, name, input }) => {
            ContentBlock::ToolUse { id: tool_use_id, name, input }
        }
        NovaContentBlock::ReasoningContent(NovaReasoningContent::ReasoningText(reasoning)) => {
            ContentBlock::Reasoning { text: reasoning.text, signature: reasoning.signature }
        }
        NovaContentBlock::ReasoningContent(NovaReasoningContent::RedactedContent(data)) => {
            ContentBlock::RedactedReasoning { data }
        }
        NovaContentBlock::Image(NovaImage { format, source }) => {
            let Some(data) = source.bytes else {
                return Err(invalid_response("an image in the answer has no `source.bytes`"));
            };
            ContentBlock::Image { format, data }
        }
        other => {
            return Err(invalid_response(format!(
                "the answer contains a `{}` block, which Nova does not produce",
                other.kind()
            )));
        }
    })
}

impl NovaResponse {
    /// The response as quarry's answer.
    pub fn into_chat(self) -> Result<ChatResponse, AdapterError> {
        let content =
            self.output.message.content.into_iter().map(answer_block).collect::<Result<_, _>>()?;
        Ok(ChatResponse {
            content,
            stop_reason: stop_reason_of(&self.stop_reason),
            usage: self.usage.map(NovaUsage::to_usage).unwrap_or_default(),
            latency_ms: self.metrics.and_then(|m| m.latency_ms),
            guardrail: None,
        })
    }
}

impl NativeAdapter for NovaAdapter {
    fn family(&self) -> Family {
        Family::AmazonNova
    }

    fn request_body(
        &self,
        _base_model_id: &str,
        request: &ChatRequest,
    ) -> Result<serde_json::Value, AdapterError> {
        to_body(Family::AmazonNova, &NovaRequest::from_chat(request)?)
    }

    fn parse_response(&self, body: &[u8]) -> Result<ChatResponse, AdapterError> {
        let response: NovaResponse = serde_json::from_slice(body)
            .map_err(|e| invalid_response(format!("the body is not a Nova response: {e}")))?;
        response.into_chat()
    }

    fn stream_decoder(&self) -> Box<dyn StreamDecoder> {
        Box::new(NovaStreamDecoder::default())
    }
}

/// Decodes Nova's stream chunks; usage comes from the `metadata` event and is replaced by
/// Bedrock's invocation metrics on the last chunk.
#[derive(Debug, Default)]
pub struct NovaStreamDecoder {
    progress: StreamProgress,
    usage: Option<Usage>,
}

impl StreamDecoder for NovaStreamDecoder {
    fn decode_chunk(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError> {
        let chunk: NovaStreamChunk = serde_json::from_slice(chunk)
            .map_err(|e| invalid_response(format!("the stream chunk is not a Nova event: {e}")))?;
        if chunk == NovaStreamChunk::default() {
            return Err(invalid_response(
                "the stream chunk has none of messageStart, contentBlockStart, contentBlockDelta, \
                 contentBlockStop, messageStop, metadata",
            ));
        }
        let mut events = Vec::new();
        self.progress.start(&mut events);
        if let Some(start) = chunk.content_block_start {
            let NovaBlockStart::ToolUse(tool) = start.start;
            events.push(StreamEvent::ContentBlockStart {
                index: start.content_block_index,
                start: BlockStart::ToolUse { id: tool.tool_use_id, name: tool.name },
            });
        }
        if let Some(NovaContentBlockDelta { delta, content_block_index: index }) =
            chunk.content_block_delta
        {
            let delta = match delta {
                NovaDelta::Text(text) => Delta::Text { text },
                NovaDelta::ToolUse(NovaToolUseDelta { input }) => Delta::ToolInput { json: input },
                NovaDelta::ReasoningContent(NovaReasoningDelta::Text(text)) => {
                    Delta::Reasoning { text }
                }
                NovaDelta::ReasoningContent(NovaReasoningDelta::Signature(signature)) => {
                    Delta::ReasoningSignature { signature }
                }
                NovaDelta::ReasoningContent(NovaReasoningDelta::RedactedContent(data)) => {
                    Delta::RedactedReasoning { data }
                }
            };
            events.push(StreamEvent::ContentBlockDelta { index, delta });
        }
        if let Some(stop) = chunk.content_block_stop {
            events.push(StreamEvent::ContentBlockStop { index: stop.content_block_index });
        }
        if let Some(stop) = chunk.message_stop {
            events
                .push(StreamEvent::MessageStop { stop_reason: stop_reason_of(&stop.stop_reason) });
        }
        let ended = chunk.metadata.is_some();
        if let Some(metadata) = chunk.metadata {
            self.usage = metadata.usage.map(NovaUsage::to_usage).or(self.usage);
        }
        self.progress.finish_chunk(
            &mut events,
            chunk.invocation_metrics.as_ref(),
            ended,
            self.usage,
        );
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::adapters::decode_jsonl;
    use crate::chat::{Message, ToolSpec, collect_events};

    const MODEL: &str = "amazon.nova-pro-v1:0";

    fn body(request: &ChatRequest) -> serde_json::Value {
        NovaAdapter.request_body(MODEL, request).expect("request body")
    }

    /// The Amazon Nova "Complete request schema": `schemaVersion`, `system` text blocks,
    /// `messages` whose content holds `text`, `image` (`format`, `source.bytes` as base64 on the
    /// Invoke API) and `document` blocks, `inferenceConfig` (`maxTokens`, `temperature`, `topP`,
    /// `topK`, `stopSequences`) and `toolConfig` (`tools[].toolSpec` with `inputSchema.json`,
    /// `toolChoice`); values are ours.
    #[test]
    fn request_matches_the_documented_schema() {
        let request = ChatRequest {
            system: vec![SystemBlock::Text { text: "You are a music expert.".into() }],
            messages: vec![Message {
                role: Role::User,
                content: vec![
                    ContentBlock::text("What is the most popular song on this station?"),
                    ContentBlock::Image {
                        format: ImageFormat::Png,
                        data: vec![0x89, 0x50, 0x4e, 0x47].into(),
                    },
                    ContentBlock::Document {
                        format: DocumentFormat::Pdf,
                        name: "Station list".into(),
                        data: b"%PDF".to_vec().into(),
                    },
                ],
            }],
            max_tokens: Some(300),
            temperature: Some(0.7),
            top_p: Some(0.9),
            top_k: Some(20),
            stop_sequences: vec!["END".into()],
            tools: vec![ToolSpec {
                name: "top_song".into(),
                description: Some("Get the most popular song played on a radio station.".into()),
                input_schema: json!({
                    "type": "object",
                    "properties": {"sign": {"type": "string", "description": "The call sign."}},
                    "required": ["sign"]
                }),
            }],
            tool_choice: Some(ToolChoice::Auto),
            guardrail: None,
        };
        assert_eq!(
            body(&request),
            json!({
                "schemaVersion": "messages-v1",
                "system": [{"text": "You are a music expert."}],
                "messages": [{
                    "role": "user",
                    "content": [
                        {"text": "What is the most popular song on this station?"},
                        {"image": {"format": "png", "source": {"bytes": "iVBORw=="}}},
                        {"document": {"format": "pdf", "name": "Station list", "source": {"bytes": "JVBERg=="}}}
                    ]
                }],
                "inferenceConfig": {
                    "maxTokens": 300,
                    "temperature": 0.7,
                    "topP": 0.9,
                    "topK": 20,
                    "stopSequences": ["END"]
                },
                "toolConfig": {
                    "tools": [{
                        "toolSpec": {
                            "name": "top_song",
                            "description": "Get the most popular song played on a radio station.",
                            "inputSchema": {"json": {
                                "type": "object",
                                "properties": {"sign": {"type": "string", "description": "The call sign."}},
                                "required": ["sign"]
                            }}
                        }
                    }],
                    "toolChoice": {"auto": {}}
                }
            })
        );
    }

    #[test]
    fn a_plain_request_has_no_inference_or_tool_config() {
        assert_eq!(
            body(&ChatRequest::from_user_text("Hi")),
            json!({"schemaVersion": "messages-v1", "messages": [{"role": "user", "content": [{"text": "Hi"}]}]})
        );
    }

    #[test]
    fn tool_turns_reasoning_and_cache_points_map_to_nova_blocks() {
        let request = ChatRequest {
            system: vec![SystemBlock::Text { text: "Rules".into() }, SystemBlock::CachePoint],
            messages: vec![
                Message {
                    role: Role::User,
                    content: vec![
                        ContentBlock::text("Top song on WZPZ?"),
                        ContentBlock::CachePoint,
                    ],
                },
                Message {
                    role: Role::Assistant,
                    content: vec![
                        ContentBlock::Reasoning { text: "[REDACTED]".into(), signature: None },
                        ContentBlock::ToolUse {
                            id: "tooluse_1".into(),
                            name: "top_song".into(),
                            input: json!({"sign": "WZPZ"}),
                        },
                    ],
                },
                Message {
                    role: Role::User,
                    content: vec![ContentBlock::ToolResult {
                        tool_use_id: "tooluse_1".into(),
                        content: vec![ToolResultContent::Json {
                            json: json!({"song": "Elemental Hotel", "artist": "8 Storey Hike"}),
                        }],
                        status: Some(ToolResultStatus::Success),
                    }],
                },
            ],
            tools: vec![ToolSpec {
                name: "top_song".into(),
                description: None,
                input_schema: json!({"type": "object"}),
            }],
            tool_choice: Some(ToolChoice::Tool { name: "top_song".into() }),
            ..ChatRequest::default()
        };
        let value = body(&request);
        assert_eq!(
            value["system"],
            json!([{"text": "Rules"}, {"cachePoint": {"type": "default"}}])
        );
        assert_eq!(
            value["messages"],
            json!([
                {"role": "user", "content": [{"text": "Top song on WZPZ?"}, {"cachePoint": {"type": "default"}}]},
                {"role": "assistant", "content": [
                    {"reasoningContent": {"reasoningText": {"text": "[REDACTED]"}}},
                    {"toolUse": {"toolUseId": "tooluse_1", "name": "top_song", "input": {"sign": "WZPZ"}}}
                ]},
                {"role": "user", "content": [{"toolResult": {
                    "toolUseId": "tooluse_1",
                    "content": [{"json": {"song": "Elemental Hotel", "artist": "8 Storey Hike"}}],
                    "status": "success"
                }}]}
            ])
        );
        assert_eq!(value["toolConfig"]["toolChoice"], json!({"tool": {"name": "top_song"}}));
    }

    #[test]
    fn tool_choice_without_tools_and_guardrails_in_the_body_are_refused() {
        let mut request = ChatRequest::from_user_text("Hi");
        request.tool_choice = Some(ToolChoice::Any);
        let err = NovaAdapter.request_body(MODEL, &request).expect_err("no tools");
        assert!(matches!(err, AdapterError::InvalidRequest { .. }), "{err}");
        let mut request = ChatRequest::from_user_text("Hi");
        request.guardrail = Some(crate::chat::GuardrailConfig {
            identifier: "gr".into(),
            version: "DRAFT".into(),
            trace: true,
        });
        let err = NovaAdapter.request_body(MODEL, &request).expect_err("guardrail");
        assert!(matches!(err, AdapterError::Unsupported { family: Family::AmazonNova, .. }));
    }

    fn documented_answer() -> ChatResponse {
        ChatResponse {
            content: vec![
                ContentBlock::text(
                    "<thinking>I need the most popular song on the radio station WZPZ. I will \
                     use the top_song tool.</thinking>",
                ),
                ContentBlock::ToolUse {
                    id: "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q".into(),
                    name: "top_song".into(),
                    input: json!({"sign": "WZPZ"}),
                },
            ],
            stop_reason: StopReason::ToolUse,
            usage: Usage {
                cache_read_input_tokens: Some(0),
                cache_write_input_tokens: Some(0),
                ..Usage::new(416, 46)
            },
            latency_ms: None,
            guardrail: None,
        }
    }

    #[test]
    fn documented_tool_use_response_parses() {
        let body = include_str!("../../tests/fixtures/adapters/nova_response_tool_use.json");
        let response = NovaAdapter.parse_response(body.as_bytes()).expect("documented response");
        assert_eq!(response, documented_answer());
    }

    #[test]
    fn documented_tool_use_stream_folds_to_the_same_answer() {
        let events = decode_jsonl(
            &NovaAdapter,
            include_str!("../../tests/fixtures/adapters/nova_stream_tool_use.jsonl"),
        );
        assert_eq!(events[0], StreamEvent::MessageStart { role: Role::Assistant });
        let starts = events.iter().filter(|e| matches!(e, StreamEvent::MessageStart { .. }));
        assert_eq!(starts.count(), 1);
        let folded = collect_events(&events);
        assert_eq!(folded, ChatResponse { latency_ms: Some(1260), ..documented_answer() });
    }

    #[test]
    fn stop_reasons_latency_and_reasoning_of_an_answer() {
        for (nova, quarry) in [
            ("end_turn", StopReason::EndTurn),
            ("max_tokens", StopReason::MaxTokens),
            ("content_filtered", StopReason::ContentFiltered),
            ("malformed_tool_use", StopReason::MalformedToolUse),
            ("guardrail_intervened", StopReason::GuardrailIntervened),
            ("something_new", StopReason::Unknown),
        ] {
            let body = json!({
                "output": {"message": {"role": "assistant", "content": [
                    {"reasoningContent": {"reasoningText": {"text": "[REDACTED]"}}},
                    {"text": "Paris."}
                ]}},
                "stopReason": nova,
                "usage": {"inputTokens": 5, "outputTokens": 2, "totalTokens": 7},
                "metrics": {"latencyMs": 321}
            });
            let response = NovaAdapter.parse_response(body.to_string().as_bytes()).expect("body");
            assert_eq!(response.stop_reason, quarry, "{nova}");
            assert_eq!(response.latency_ms, Some(321));
            assert_eq!(
                response.content,
                vec![
                    ContentBlock::Reasoning { text: "[REDACTED]".into(), signature: None },
                    ContentBlock::text("Paris.")
                ]
            );
        }
    }

    #[test]
    fn reasoning_deltas_stream_as_reasoning() {
        let chunks = [
            r#"{"messageStart":{"role":"assistant"}}"#,
            r#"{"contentBlockDelta":{"delta":{"reasoningContent":{"text":"[REDACTED]"}},"contentBlockIndex":0}}"#,
            r#"{"contentBlockStop":{"contentBlockIndex":0}}"#,
            r#"{"contentBlockDelta":{"delta":{"text":"Paris."},"contentBlockIndex":1}}"#,
            r#"{"messageStop":{"stopReason":"end_turn"}}"#,
            r#"{"metadata":{"usage":{"inputTokens":5,"outputTokens":2,"totalTokens":7}}}"#,
        ];
        let folded = collect_events(&decode_jsonl(&NovaAdapter, &chunks.join("\n")));
        assert_eq!(
            folded.content,
            vec![
                ContentBlock::Reasoning { text: "[REDACTED]".into(), signature: None },
                ContentBlock::text("Paris.")
            ]
        );
        assert_eq!(folded.stop_reason, StopReason::EndTurn);
        assert_eq!(folded.usage, Usage::new(5, 2), "metadata without Bedrock metrics");
    }

    /// Redacted reasoning in Nova's `reasoningContent` shape (the Invoke API writes the blob of
    /// the API reference's ReasoningContentBlock `redactedContent` as base64); the data is the
    /// `redacted_thinking` example of Anthropic's extended-thinking guide, which is base64.
    const REDACTED_DATA: &str = "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP";

    #[test]
    fn redacted_reasoning_is_kept_from_answers_and_streams_and_sent_back_unchanged() {
        let content = json!([
            {"reasoningContent": {"redactedContent": REDACTED_DATA}},
            {"text": "Paris."}
        ]);
        let answer_body = json!({
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 5, "outputTokens": 2, "totalTokens": 7}
        });
        let answer = NovaAdapter.parse_response(answer_body.to_string().as_bytes()).expect("body");
        let expected = vec![
            ContentBlock::RedactedReasoning { data: REDACTED_DATA.into() },
            ContentBlock::text("Paris."),
        ];
        assert_eq!(answer.content, expected);

        let (head, tail) = REDACTED_DATA.split_at(24);
        let delta = |data: &str| {
            json!({"contentBlockDelta": {"delta": {"reasoningContent": {"redactedContent": data}}, "contentBlockIndex": 0}})
                .to_string()
        };
        let chunks = [
            r#"{"messageStart":{"role":"assistant"}}"#.to_string(),
            delta(head),
            delta(tail),
            r#"{"contentBlockStop":{"contentBlockIndex":0}}"#.to_string(),
            r#"{"contentBlockDelta":{"delta":{"text":"Paris."},"contentBlockIndex":1}}"#
                .to_string(),
            r#"{"messageStop":{"stopReason":"end_turn"}}"#.to_string(),
        ];
        let events = decode_jsonl(&NovaAdapter, &chunks.join("\n"));
        assert!(
            events.contains(&StreamEvent::ContentBlockDelta {
                index: 0,
                delta: Delta::RedactedReasoning { data: head.into() }
            }),
            "{events:?}"
        );
        assert_eq!(collect_events(&events).content, expected);

        let request = ChatRequest {
            messages: vec![
                Message::user("Capital of France?"),
                Message { role: Role::Assistant, content: answer.content },
                Message::user("And of Italy?"),
            ],
            ..ChatRequest::default()
        };
        assert_eq!(body(&request)["messages"][1]["content"], content);
    }

    #[test]
    fn older_inference_parameter_spellings_parse() {
        let request: NovaRequest = serde_json::from_value(json!({
            "schemaVersion": "messages-v1",
            "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
            "inferenceConfig": {"max_new_tokens": 500, "top_p": 0.9, "top_k": 20, "temperature": 0.7}
        }))
        .expect("older spelling");
        let config = request.inference_config.expect("config");
        assert_eq!(
            (config.max_tokens, config.top_p, config.top_k),
            (Some(500), Some(0.9), Some(20))
        );
    }

    #[test]
    fn unknown_chunks_and_blocks_are_invalid_responses() {
        let err =
            NovaAdapter.stream_decoder().decode_chunk(br#"{"citation":{}}"#).expect_err("unknown");
        assert!(err.to_string().contains("messageStart"), "{err}");
        let body = json!({
            "output": {"message": {"role": "assistant", "content": [{"video": {"format": "mp4", "source": {}}}]}},
            "stopReason": "end_turn"
        });
        let err =
            NovaAdapter.parse_response(body.to_string().as_bytes()).expect_err("video answer");
        assert!(err.to_string().contains("video"), "{err}");
    }
}
