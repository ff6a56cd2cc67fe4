//! Anthropic Claude on InvokeModel: the Messages API body (`anthropic_version: bedrock-2023-05-31`),
//! its response and its stream events.
//!
//! Shapes follow the AWS Bedrock user guide page "Anthropic Claude Messages API — Request and
//! Response" (`model-parameters-anthropic-claude-messages-request-response`) and the Anthropic
//! Messages and streaming references it points to. Mapping notes:
//! - Claude requires `max_tokens`; a request without one gets [`DEFAULT_MAX_TOKENS`].
//! - A cache point becomes `cache_control: {"type": "ephemeral"}` on the block before it.
//! - Reasoning blocks are `thinking` blocks; Claude takes them back only with their signature.
//! - Documents: pdf (base64 source) and txt/md (plain-text source); other formats are unsupported.
//! - `redacted_thinking` blocks are redacted-reasoning blocks, both ways, their `data` unchanged
//!   (Claude needs them back in the next turn); in a stream they arrive whole in a
//!   `content_block_start`, which becomes one redacted-reasoning delta.

use serde::{Deserialize, Deserializer, Serialize};

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

/// The only `anthropic_version` Bedrock accepts.
pub const ANTHROPIC_VERSION: &str = "bedrock-2023-05-31";

/// `max_tokens` sent when the request sets none (Claude requires the field).
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// The Anthropic Claude Messages API adapter.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnthropicAdapter;

/// InvokeModel request body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnthropicRequest {
    pub anthropic_version: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub anthropic_beta: Vec<String>,
    pub max_tokens: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<AnthropicContent>,
    pub messages: Vec<AnthropicMessage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop_sequences: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<AnthropicTool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<AnthropicToolChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<AnthropicThinkingConfig>,
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnthropicMessage {
    pub role: Role,
    pub content: AnthropicContent,
}

/// Content Claude accepts either as a plain string or as an array of blocks (messages, system,
/// tool results).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AnthropicContent {
    Text(String),
    Blocks(Vec<AnthropicContentBlock>),
}

impl AnthropicContent {
    /// The content as blocks (a plain string is one text block).
    pub fn into_blocks(self) -> Vec<AnthropicContentBlock> {
        match self {
            AnthropicContent::Text(text) => {
                vec![AnthropicContentBlock::Text { text, cache_control: None }]
            }
            AnthropicContent::Blocks(blocks) => blocks,
        }
    }
}

impl<'de> Deserialize<'de> for AnthropicContent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        // Untagged errors only say "did not match any variant"; try the two shapes explicitly.
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(text) => Ok(AnthropicContent::Text(text)),
            value @ serde_json::Value::Array(_) => Vec::<AnthropicContentBlock>::deserialize(value)
                .map(AnthropicContent::Blocks)
                .map_err(D::Error::custom),
            _ => Err(D::Error::custom("content must be a string or an array of content blocks")),
        }
    }
}

/// A content block, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AnthropicContentBlock {
    Text {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<AnthropicCacheControl>,
    },
    Image {
        source: AnthropicSource,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<AnthropicCacheControl>,
    },
    Document {
        source: AnthropicSource,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<AnthropicCacheControl>,
    },
    ToolUse {
        id: String,
        name: String,
        input: serde_json::Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<AnthropicCacheControl>,
    },
    ToolResult {
        tool_use_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content: Option<AnthropicContent>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        is_error: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<AnthropicCacheControl>,
    },
    /// Extended thinking; the signature must come back with the block.
    Thinking {
        thinking: String,
        #[serde(default)]
        signature: String,
    },
    /// Thinking the safety systems encrypted; only its opaque `data` is visible.
    RedactedThinking { data: String },
}

impl AnthropicContentBlock {
    fn kind(&self) -> &'static str {
        match self {
            AnthropicContentBlock::Text { .. } => "text",
            AnthropicContentBlock::Image { .. } => "image",
            AnthropicContentBlock::Document { .. } => "document",
            AnthropicContentBlock::ToolUse { .. } => "tool_use",
            AnthropicContentBlock::ToolResult { .. } => "tool_result",
            AnthropicContentBlock::Thinking { .. } => "thinking",
            AnthropicContentBlock::RedactedThinking { .. } => "redacted_thinking",
        }
    }

    fn cache_control_mut(&mut self) -> Option<&mut Option<AnthropicCacheControl>> {
        match self {
            AnthropicContentBlock::Text { cache_control, .. }
            | AnthropicContentBlock::Image { cache_control, .. }
            | AnthropicContentBlock::Document { cache_control, .. }
            | AnthropicContentBlock::ToolUse { cache_control, .. }
            | AnthropicContentBlock::ToolResult { cache_control, .. } => Some(cache_control),
            AnthropicContentBlock::Thinking { .. }
            | AnthropicContentBlock::RedactedThinking { .. } => None,
        }
    }
}

/// Where an image's or document's bytes are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AnthropicSource {
    Base64 {
        media_type: String,
        data: Base64Bytes,
    },
    /// A plain-text document (`media_type: text/plain`).
    Text {
        media_type: String,
        data: String,
    },
}

/// Prompt-caching marker: the prefix up to and including this block is cached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnthropicCacheControl {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
}

impl AnthropicCacheControl {
    /// The default cache marker, `{"type": "ephemeral"}`.
    pub fn ephemeral() -> Self {
        AnthropicCacheControl { kind: "ephemeral".into(), ttl: None }
    }
}

/// A tool definition (`type: custom` for client tools).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnthropicTool {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub input_schema: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<AnthropicCacheControl>,
}

/// How Claude must use the tools.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AnthropicToolChoice {
    Auto,
    Any,
    Tool { name: String },
    None,
}

/// Extended-thinking switch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AnthropicThinkingConfig {
    Enabled { budget_tokens: u32 },
    Disabled,
}

/// InvokeModel response body (also the `message` of a stream's `message_start`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnthropicResponse {
    #[serde(default)]
    pub id: String,
    #[serde(rename = "type", default = "message_kind")]
    pub kind: String,
    #[serde(default = "assistant")]
    pub role: Role,
    #[serde(default)]
    pub model: String,
    pub content: Vec<AnthropicContentBlock>,
    #[serde(default)]
    pub stop_reason: Option<String>,
    #[serde(default)]
    pub stop_sequence: Option<String>,
    /// Missing from some documented `message_start` events.
    #[serde(default)]
    pub usage: AnthropicUsage,
}

fn message_kind() -> String {
    "message".into()
}

fn assistant() -> Role {
    Role::Assistant
}

/// Token counts Claude reports (cache counts only when prompt caching was used).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AnthropicUsage {
    #[serde(default)]
    pub input_tokens: u32,
    #[serde(default)]
    pub output_tokens: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u32>,
}

impl AnthropicUsage {
    fn to_usage(self) -> Usage {
        let mut usage = Usage::new(self.input_tokens, self.output_tokens);
        usage.cache_read_input_tokens = self.cache_read_input_tokens;
        usage.cache_write_input_tokens = self.cache_creation_input_tokens;
        usage
    }
}

/// One InvokeModelWithResponseStream chunk: a Messages API stream event, plus Bedrock's metrics on
/// the last one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnthropicStreamChunk {
    #[serde(flatten)]
    pub event: AnthropicStreamEvent,
    #[serde(
        rename = "amazon-bedrock-invocationMetrics",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub invocation_metrics: Option<InvocationMetrics>,
}

/// A Messages API stream event, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AnthropicStreamEvent {
    MessageStart {
        message: AnthropicResponse,
    },
    ContentBlockStart {
        index: u32,
        content_block: AnthropicContentBlock,
    },
    ContentBlockDelta {
        index: u32,
        delta: AnthropicDelta,
    },
    ContentBlockStop {
        index: u32,
    },
    MessageDelta {
        delta: AnthropicMessageDelta,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        usage: Option<AnthropicDeltaUsage>,
    },
    MessageStop,
    Ping,
    Error {
        error: serde_json::Value,
    },
}

/// A piece of a content block, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AnthropicDelta {
    TextDelta { text: String },
    InputJsonDelta { partial_json: String },
    ThinkingDelta { thinking: String },
    SignatureDelta { signature: String },
}

/// The message-level change of a `message_delta` event.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AnthropicMessageDelta {
    #[serde(default)]
    pub stop_reason: Option<String>,
    #[serde(default)]
    pub stop_sequence: Option<String>,
}

/// The counts a `message_delta` event updates (usually only `output_tokens`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AnthropicDeltaUsage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u32>,
}

/// Maps Claude's `stop_reason` to quarry's.
pub fn stop_reason_of(reason: &str) -> StopReason {
    match reason {
        "end_turn" => StopReason::EndTurn,
        "max_tokens" => StopReason::MaxTokens,
        "stop_sequence" => StopReason::StopSequence,
        "tool_use" => StopReason::ToolUse,
        "refusal" => StopReason::ContentFiltered,
        "model_context_window_exceeded" => StopReason::ModelContextWindowExceeded,
        _ => StopReason::Unknown,
    }
}

fn invalid_request(reason: impl Into<String>) -> AdapterError {
    AdapterError::InvalidRequest { family: Family::Anthropic, reason: reason.into() }
}

fn invalid_response(reason: impl Into<String>) -> AdapterError {
    AdapterError::InvalidResponse { family: Family::Anthropic, reason: reason.into() }
}

impl AnthropicRequest {
    /// The Messages API body for `request`.
    pub fn from_chat(request: &ChatRequest) -> Result<Self, AdapterError> {
        check_body_request(Family::Anthropic, request)?;
        if request.tool_choice.is_some() && request.tools.is_empty() {
            return Err(invalid_request("tool_choice is set but the request has no tools"));
        }
        let messages = request
            .messages
            .iter()
            .map(|message| {
                Ok(AnthropicMessage {
                    role: message.role,
                    content: AnthropicContent::Blocks(blocks_of(&message.content)?),
                })
            })
            .collect::<Result<Vec<_>, AdapterError>>()?;
        let tools = request
            .tools
            .iter()
            .map(|tool| AnthropicTool {
                kind: Some("custom".into()),
                name: tool.name.clone(),
                description: tool.description.clone(),
                input_schema: tool.input_schema.clone(),
                cache_control: None,
            })
            .collect();
        let tool_choice = request.tool_choice.as_ref().map(|choice| match choice {
            ToolChoice::Auto => AnthropicToolChoice::Auto,
            ToolChoice::Any => AnthropicToolChoice::Any,
            ToolChoice::Tool { name } => AnthropicToolChoice::Tool { name: name.clone() },
        });
        Ok(AnthropicRequest {
            anthropic_version: ANTHROPIC_VERSION.into(),
            anthropic_beta: Vec::new(),
            max_tokens: request.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
            system: system_of(&request.system)?,
            messages,
            temperature: request.temperature.map(json_number),
            top_p: request.top_p.map(json_number),
            top_k: request.top_k,
            stop_sequences: request.stop_sequences.clone(),
            tools,
            tool_choice,
            thinking: None,
        })
    }
}

/// The system prompt: a plain string when it is one text block, blocks when it has cache points.
fn system_of(system: &[SystemBlock]) -> Result<Option<AnthropicContent>, AdapterError> {
    match system {
        [] => Ok(None),
        [SystemBlock::Text { text }] => Ok(Some(AnthropicContent::Text(text.clone()))),
        blocks => {
            let mut out: Vec<AnthropicContentBlock> = Vec::with_capacity(blocks.len());
            for block in blocks {
                match block {
                    SystemBlock::Text { text } => out.push(AnthropicContentBlock::Text {
                        text: text.clone(),
                        cache_control: None,
                    }),
                    SystemBlock::CachePoint => mark_cached(&mut out, "the system prompt")?,
                }
            }
            Ok(Some(AnthropicContent::Blocks(out)))
        }
    }
}

/// Puts the cache marker on the last block of `blocks` (what a cache point follows).
fn mark_cached(blocks: &mut [AnthropicContentBlock], place: &str) -> Result<(), AdapterError> {
    let Some(last) = blocks.last_mut() else {
        return Err(invalid_request(format!(
            "a cache point in {place} must follow a content block; it is the first block"
        )));
    };
    let kind = last.kind();
    match last.cache_control_mut() {
        Some(slot) => {
            *slot = Some(AnthropicCacheControl::ephemeral());
            Ok(())
        }
        None => Err(invalid_request(format!(
            "a cache point in {place} follows a {kind} block, which Claude cannot cache"
        ))),
    }
}

fn blocks_of(content: &[ContentBlock]) -> Result<Vec<AnthropicContentBlock>, AdapterError> {
    let mut out: Vec<AnthropicContentBlock> = Vec::with_capacity(content.len());
    for block in content {
        let block = match block {
            ContentBlock::Text { text } => {
                AnthropicContentBlock::Text { text: text.clone(), cache_control: None }
            }
            ContentBlock::Image { format, data } => AnthropicContentBlock::Image {
                source: image_source(*format, data),
                cache_control: None,
            },
            ContentBlock::Document { format, name, data } => AnthropicContentBlock::Document {
                source: document_source(*format, data)?,
                title: Some(name.clone()),
                cache_control: None,
            },
            ContentBlock::ToolUse { id, name, input } => AnthropicContentBlock::ToolUse {
                id: id.clone(),
                name: name.clone(),
                input: input.clone(),
                cache_control: None,
            },
            ContentBlock::ToolResult { tool_use_id, content, status } => {
                AnthropicContentBlock::ToolResult {
                    tool_use_id: tool_use_id.clone(),
                    content: Some(AnthropicContent::Blocks(
                        content.iter().map(tool_result_block).collect(),
                    )),
                    is_error: (*status == Some(ToolResultStatus::Error)).then_some(true),
                    cache_control: None,
                }
            }
            ContentBlock::Reasoning { text, signature } => {
                let Some(signature) = signature else {
                    return Err(invalid_request(
                        "a reasoning block has no signature; Claude only accepts its thinking \
                         back with the signature it was returned with",
                    ));
                };
                AnthropicContentBlock::Thinking {
                    thinking: text.clone(),
                    signature: signature.clone(),
                }
            }
            ContentBlock::RedactedReasoning { data } => {
                AnthropicContentBlock::RedactedThinking { data: data.clone() }
            }
            ContentBlock::CachePoint => {
                mark_cached(&mut out, "a message")?;
                continue;
            }
        };
        out.push(block);
    }
    Ok(out)
}

fn image_source(format: ImageFormat, data: &Base64Bytes) -> AnthropicSource {
    AnthropicSource::Base64 { media_type: format.media_type().into(), data: data.clone() }
}

fn document_source(
    format: DocumentFormat,
    data: &Base64Bytes,
) -> Result<AnthropicSource, AdapterError> {
    match format {
        DocumentFormat::Pdf => {
            Ok(AnthropicSource::Base64 { media_type: "application/pdf".into(), data: data.clone() })
        }
        DocumentFormat::Txt | DocumentFormat::Md => {
            let text = String::from_utf8(data.0.clone()).map_err(|e| {
                invalid_request(format!(
                    "a {} document is not valid UTF-8 text: {e}",
                    format.as_str()
                ))
            })?;
            Ok(AnthropicSource::Text { media_type: "text/plain".into(), data: text })
        }
        other => Err(AdapterError::Unsupported {
            family: Family::Anthropic,
            feature: format!(
                "{} documents (Claude reads pdf, txt and md documents)",
                other.as_str()
            ),
        }),
    }
}

fn tool_result_block(content: &ToolResultContent) -> AnthropicContentBlock {
    match content {
        ToolResultContent::Text { text } => {
            AnthropicContentBlock::Text { text: text.clone(), cache_control: None }
        }
        ToolResultContent::Json { json } => {
            AnthropicContentBlock::Text { text: json.to_string(), cache_control: None }
        }
        ToolResultContent::Image { format, data } => AnthropicContentBlock::Image {
            source: image_source(*format, data),
            cache_control: None,
        },
    }
}

/// An answer's block as a quarry block.
fn answer_block(block: AnthropicContentBlock) -> Result<ContentBlock, AdapterError> {
    Ok(match block {
        AnthropicContentBlock::Text { text, .. } => ContentBlock::Text { text },
        AnthropicContentBlock::ToolUse { id, name, input, .. } => {
            ContentBlock::ToolUse { id, name, input }
        }
        AnthropicContentBlock::Thinking { thinking, signature } => ContentBlock::Reasoning {
            text: thinking,
            signature: (!signature.is_empty()).then_some(signature),
        },
        AnthropicContentBlock::RedactedThinking { data } => {
            ContentBlock::RedactedReasoning { data }
        }
        other => {
            return Err(invalid_response(format!(
                "the answer contains a `{}` block, which Claude does not produce",
                other.kind()
            )));
        }
    })
}

impl AnthropicResponse {
    /// The response as quarry's answer.
    pub fn into_chat(self) -> Result<ChatResponse, AdapterError> {
        let content = self.content.into_iter().map(answer_block).collect::<Result<_, _>>()?;
        Ok(ChatResponse {
            content,
            stop_reason: self.stop_reason.as_deref().map_or(StopReason::Unknown, stop_reason_of),
            usage: self.usage.to_usage(),
            latency_ms: None,
            guardrail: None,
        })
    }
}

impl NativeAdapter for AnthropicAdapter {
    fn family(&self) -> Family {
        Family::Anthropic
    }

    fn request_body(
        &self,
        _base_model_id: &str,
        request: &ChatRequest,
    ) -> Result<serde_json::Value, AdapterError> {
        to_body(Family::Anthropic, &AnthropicRequest::from_chat(request)?)
    }

    fn parse_response(&self, body: &[u8]) -> Result<ChatResponse, AdapterError> {
        let response: AnthropicResponse = serde_json::from_slice(body).map_err(|e| {
            invalid_response(format!("the body is not a Messages API response: {e}"))
        })?;
        response.into_chat()
    }

    fn stream_decoder(&self) -> Box<dyn StreamDecoder> {
        Box::new(AnthropicStreamDecoder::default())
    }
}

/// Decodes Claude's stream events; usage comes from `message_start` and `message_delta`, and is
/// replaced by Bedrock's invocation metrics on the last chunk.
#[derive(Debug, Default)]
pub struct AnthropicStreamDecoder {
    progress: StreamProgress,
    usage: Option<AnthropicUsage>,
    stop_reason: Option<StopReason>,
}

impl AnthropicStreamDecoder {
    fn record_delta_usage(&mut self, delta: AnthropicDeltaUsage) {
        let usage = self.usage.get_or_insert_with(AnthropicUsage::default);
        if let Some(n) = delta.input_tokens {
            usage.input_tokens = n;
        }
        if let Some(n) = delta.output_tokens {
            usage.output_tokens = n;
        }
        if let Some(n) = delta.cache_creation_input_tokens {
            usage.cache_creation_input_tokens = Some(n);
        }
        if let Some(n) = delta.cache_read_input_tokens {
            usage.cache_read_input_tokens = Some(n);
        }
    }
}

impl StreamDecoder for AnthropicStreamDecoder {
    fn decode_chunk(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError> {
        let chunk: AnthropicStreamChunk = serde_json::from_slice(chunk).map_err(|e| {
            invalid_response(format!("the stream chunk is not a Messages API stream event: {e}"))
        })?;
        let mut events = Vec::new();
        self.progress.start(&mut events);
        let mut ended = false;
        match chunk.event {
            AnthropicStreamEvent::MessageStart { message } => self.usage = Some(message.usage),
            AnthropicStreamEvent::ContentBlockStart { index, content_block } => {
                block_start_events(index, content_block, &mut events)?;
            }
            AnthropicStreamEvent::ContentBlockDelta { index, delta } => {
                let delta = match delta {
                    AnthropicDelta::TextDelta { text } => Delta::Text { text },
                    AnthropicDelta::InputJsonDelta { partial_json } => {
                        Delta::ToolInput { json: partial_json }
                    }
                    AnthropicDelta::ThinkingDelta { thinking } => {
                        Delta::Reasoning { text: thinking }
                    }
                    AnthropicDelta::SignatureDelta { signature } => {
                        Delta::ReasoningSignature { signature }
                    }
                };
                events.push(StreamEvent::ContentBlockDelta { index, delta });
            }
            AnthropicStreamEvent::ContentBlockStop { index } => {
                events.push(StreamEvent::ContentBlockStop { index });
            }
            AnthropicStreamEvent::MessageDelta { delta, usage } => {
                if let Some(reason) = delta.stop_reason {
                    self.stop_reason = Some(stop_reason_of(&reason));
                }
                if let Some(usage) = usage {
                    self.record_delta_usage(usage);
                }
            }
            AnthropicStreamEvent::MessageStop => {
                ended = true;
                events.push(StreamEvent::MessageStop {
                    stop_reason: self.stop_reason.unwrap_or(StopReason::Unknown),
                });
            }
            AnthropicStreamEvent::Ping => {}
            AnthropicStreamEvent::Error { error } => {
                return Err(invalid_response(format!("the stream reported an error: {error}")));
            }
        }
        let usage = self.usage.map(AnthropicUsage::to_usage);
        self.progress.finish_chunk(&mut events, chunk.invocation_metrics.as_ref(), ended, usage);
        Ok(events)
    }
}

/// The events a `content_block_start` stands for (text starts empty; tool use needs its id;
/// redacted thinking arrives whole, as one redacted-reasoning delta).
fn block_start_events(
    index: u32,
    block: AnthropicContentBlock,
    events: &mut Vec<StreamEvent>,
) -> Result<(), AdapterError> {
    let delta = |delta: Delta| StreamEvent::ContentBlockDelta { index, delta };
    match block {
        AnthropicContentBlock::Text { text, .. } if !text.is_empty() => {
            events.push(delta(Delta::Text { text }));
        }
        AnthropicContentBlock::Text { .. } => {}
        AnthropicContentBlock::RedactedThinking { data } => {
            events.push(delta(Delta::RedactedReasoning { data }));
        }
        AnthropicContentBlock::Thinking { thinking, signature } => {
            if !thinking.is_empty() {
                events.push(delta(Delta::Reasoning { text: thinking }));
            }
            if !signature.is_empty() {
                events.push(delta(Delta::ReasoningSignature { signature }));
            }
        }
        AnthropicContentBlock::ToolUse { id, name, input, .. } => {
            events.push(StreamEvent::ContentBlockStart {
                index,
                start: BlockStart::ToolUse { id, name },
            });
            if input.as_object().is_some_and(|o| !o.is_empty()) {
                events.push(delta(Delta::ToolInput { json: input.to_string() }));
            }
        }
        other => {
            return Err(invalid_response(format!(
                "the stream started a `{}` block, which Claude does not produce",
                other.kind()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::adapters::decode_jsonl;
    use crate::chat::{Message, ToolSpec, collect_events};

    const MODEL: &str = "anthropic.claude-3-5-sonnet-20240620-v1:0";

    fn body(request: &ChatRequest) -> serde_json::Value {
        AnthropicAdapter.request_body(MODEL, request).expect("request body")
    }

    fn weather_tool() -> ToolSpec {
        ToolSpec {
            name: "get_weather".into(),
            description: Some("Get the current weather in a given location".into()),
            input_schema: json!({
                "type": "object",
                "properties": {"location": {"type": "string"}},
                "required": ["location"]
            }),
        }
    }

    /// The request schema of the AWS page "Anthropic Claude Messages API — Request and Response":
    /// `anthropic_version`, `max_tokens`, `system` (string), `messages` with an image block
    /// (`source.type: base64`, `media_type`, `data`) and a text block, `temperature`, `top_p`,
    /// `top_k`, `tools` (`type: custom`, `name`, `description`, `input_schema`), `tool_choice`
    /// (`type`, `name`) and `stop_sequences`; values are ours.
    #[test]
    fn request_matches_the_documented_body() {
        let request = ChatRequest {
            system: vec![SystemBlock::Text { text: "You are a weather assistant.".into() }],
            messages: vec![Message {
                role: Role::User,
                content: vec![
                    ContentBlock::Image {
                        format: ImageFormat::Jpeg,
                        data: vec![0xff, 0xd8, 0xff, 0xe0].into(),
                    },
                    ContentBlock::text("What is the weather in this city?"),
                ],
            }],
            max_tokens: Some(1024),
            temperature: Some(0.5),
            top_p: Some(0.9),
            top_k: Some(250),
            stop_sequences: vec!["\n\nHuman:".into()],
            tools: vec![weather_tool()],
            tool_choice: Some(ToolChoice::Tool { name: "get_weather".into() }),
            guardrail: None,
        };
        assert_eq!(
            body(&request),
            json!({
                "anthropic_version": "bedrock-2023-05-31",
                "max_tokens": 1024,
                "system": "You are a weather assistant.",
                "messages": [{
                    "role": "user",
                    "content": [
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4A=="}
                        },
                        {"type": "text", "text": "What is the weather in this city?"}
                    ]
                }],
                "temperature": 0.5,
                "top_p": 0.9,
                "top_k": 250,
                "tools": [{
                    "type": "custom",
                    "name": "get_weather",
                    "description": "Get the current weather in a given location",
                    "input_schema": {
                        "type": "object",
                        "properties": {"location": {"type": "string"}},
                        "required": ["location"]
                    }
                }],
                "tool_choice": {"type": "tool", "name": "get_weather"},
                "stop_sequences": ["\n\nHuman:"]
            })
        );
    }

    #[test]
    fn max_tokens_defaults_because_claude_requires_it() {
        let value = body(&ChatRequest::from_user_text("Hello"));
        assert_eq!(
            value,
            json!({
                "anthropic_version": "bedrock-2023-05-31",
                "max_tokens": DEFAULT_MAX_TOKENS,
                "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}]
            })
        );
    }

    #[test]
    fn tool_turns_thinking_and_cache_points_map_to_claude_blocks() {
        let request = ChatRequest {
            system: vec![
                SystemBlock::Text { text: "Long instructions".into() },
                SystemBlock::CachePoint,
            ],
            messages: vec![
                Message {
                    role: Role::User,
                    content: vec![
                        ContentBlock::text("Weather in Paris?"),
                        ContentBlock::CachePoint,
                    ],
                },
                Message {
                    role: Role::Assistant,
                    content: vec![
                        ContentBlock::Reasoning {
                            text: "I should call the tool.".into(),
                            signature: Some("sig-1".into()),
                        },
                        ContentBlock::ToolUse {
                            id: "toolu_1".into(),
                            name: "get_weather".into(),
                            input: json!({"location": "Paris"}),
                        },
                    ],
                },
                Message {
                    role: Role::User,
                    content: vec![ContentBlock::ToolResult {
                        tool_use_id: "toolu_1".into(),
                        content: vec![ToolResultContent::Json {
                            json: json!({"error": "offline"}),
                        }],
                        status: Some(ToolResultStatus::Error),
                    }],
                },
            ],
            tools: vec![weather_tool()],
            tool_choice: Some(ToolChoice::Auto),
            ..ChatRequest::default()
        };
        let value = body(&request);
        assert_eq!(
            value["system"],
            json!([{"type": "text", "text": "Long instructions", "cache_control": {"type": "ephemeral"}}])
        );
        assert_eq!(
            value["messages"],
            json!([
                {"role": "user", "content": [
                    {"type": "text", "text": "Weather in Paris?", "cache_control": {"type": "ephemeral"}}
                ]},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "I should call the tool.", "signature": "sig-1"},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"location": "Paris"}}
                ]},
                {"role": "user", "content": [{
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "content": [{"type": "text", "text": "{\"error\":\"offline\"}"}],
                    "is_error": true
                }]}
            ])
        );
        assert_eq!(value["tool_choice"], json!({"type": "auto"}));
    }

    #[test]
    fn pdf_and_text_documents_are_claude_document_blocks() {
        let mut request = ChatRequest::from_user_text("Summarize");
        request.messages[0].content.push(ContentBlock::Document {
            format: DocumentFormat::Pdf,
            name: "Report".into(),
            data: b"%PDF".to_vec().into(),
        });
        request.messages[0].content.push(ContentBlock::Document {
            format: DocumentFormat::Txt,
            name: "Notes".into(),
            data: b"plain notes".to_vec().into(),
        });
        assert_eq!(
            body(&request)["messages"][0]["content"],
            json!([
                {"type": "text", "text": "Summarize"},
                {"type": "document", "title": "Report",
                 "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERg=="}},
                {"type": "document", "title": "Notes",
                 "source": {"type": "text", "media_type": "text/plain", "data": "plain notes"}}
            ])
        );
    }

    #[test]
    fn requests_claude_cannot_take_are_refused_with_the_reason() {
        let mut docx = ChatRequest::from_user_text("Read");
        docx.messages[0].content.push(ContentBlock::Document {
            format: DocumentFormat::Docx,
            name: "Spec".into(),
            data: vec![1].into(),
        });
        let err = AnthropicAdapter.request_body(MODEL, &docx).expect_err("docx");
        assert!(
            matches!(&err, AdapterError::Unsupported { feature, .. } if feature.starts_with("docx documents")),
            "{err}"
        );

        let mut unsigned = ChatRequest::from_user_text("Hi");
        unsigned.messages.push(Message {
            role: Role::Assistant,
            content: vec![ContentBlock::Reasoning { text: "hmm".into(), signature: None }],
        });
        let err = AnthropicAdapter.request_body(MODEL, &unsigned).expect_err("unsigned thinking");
        assert!(
            matches!(&err, AdapterError::InvalidRequest { reason, .. } if reason.contains("signature")),
            "{err}"
        );

        let mut leading_cache = ChatRequest::from_user_text("Hi");
        leading_cache.messages[0].content.insert(0, ContentBlock::CachePoint);
        let err = AnthropicAdapter.request_body(MODEL, &leading_cache).expect_err("cache first");
        assert!(
            matches!(&err, AdapterError::InvalidRequest { reason, .. } if reason.contains("cache point")),
            "{err}"
        );

        let mut choice_only = ChatRequest::from_user_text("Hi");
        choice_only.tool_choice = Some(ToolChoice::Any);
        let err = AnthropicAdapter.request_body(MODEL, &choice_only).expect_err("no tools");
        assert!(matches!(err, AdapterError::InvalidRequest { .. }));
    }

    fn documented_answer() -> ChatResponse {
        ChatResponse {
            content: vec![
                ContentBlock::text(
                    "<thinking>I need to use the get_weather, and the user wants SF, which is \
                     likely San Francisco, CA.</thinking>",
                ),
                ContentBlock::ToolUse {
                    id: "toolu_01A09q90qw90lq917835lq9".into(),
                    name: "get_weather".into(),
                    input: json!({"location": "San Francisco, CA", "unit": "celsius"}),
                },
            ],
            stop_reason: StopReason::ToolUse,
            usage: Usage::new(472, 89),
            latency_ms: None,
            guardrail: None,
        }
    }

    #[test]
    fn documented_tool_use_response_parses() {
        let body = include_str!("../../tests/fixtures/adapters/anthropic_response_tool_use.json");
        let response =
            AnthropicAdapter.parse_response(body.as_bytes()).expect("documented response");
        assert_eq!(response, documented_answer());
    }

    #[test]
    fn documented_tool_use_stream_folds_to_the_same_answer() {
        let events = decode_jsonl(
            &AnthropicAdapter,
            include_str!("../../tests/fixtures/adapters/anthropic_stream_tool_use.jsonl"),
        );
        assert_eq!(events[0], StreamEvent::MessageStart { role: Role::Assistant });
        let starts = events.iter().filter(|e| matches!(e, StreamEvent::MessageStart { .. }));
        assert_eq!(starts.count(), 1);
        let metadata: Vec<_> =
            events.iter().filter(|e| matches!(e, StreamEvent::Metadata { .. })).collect();
        assert_eq!(metadata.len(), 1, "{events:?}");
        let folded = collect_events(&events);
        assert_eq!(folded, ChatResponse { latency_ms: Some(2143), ..documented_answer() });
    }

    #[test]
    fn documented_thinking_stream_keeps_the_signature() {
        let events = decode_jsonl(
            &AnthropicAdapter,
            include_str!("../../tests/fixtures/adapters/anthropic_stream_thinking.jsonl"),
        );
        let folded = collect_events(&events);
        let thinking = ContentBlock::Reasoning {
            text: "Let me solve this step by step:\n\n1. First break down 27 * 453\n2. 453 = 400 + 50 + 3"
                .into(),
            signature: Some("EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds...".into()),
        };
        assert_eq!(folded.content, vec![thinking.clone(), ContentBlock::text("27 * 453 = 12,231")]);
        assert_eq!(folded.stop_reason, StopReason::EndTurn);
        assert_eq!(folded.usage, Usage::new(48, 120));

        // The same answer, not streamed, parses to the same blocks.
        let mut body = redacted_thinking_answer();
        body["content"].as_array_mut().expect("content blocks").remove(1);
        let parsed =
            AnthropicAdapter.parse_response(body.to_string().as_bytes()).expect("thinking");
        assert_eq!(parsed.content, folded.content);
        assert_eq!(parsed.usage.cache_read_input_tokens, Some(0));
    }

    /// The `data` of the `redacted_thinking` example in Anthropic's extended-thinking guide.
    const REDACTED_DATA: &str = "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP";

    /// The extended-thinking answer of Anthropic's streaming example, not streamed, with the
    /// guide's `redacted_thinking` example between the thinking and the text.
    fn redacted_thinking_answer() -> serde_json::Value {
        json!({
            "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-3-7-sonnet-20250219",
            "content": [
                {"type": "thinking", "thinking": "Let me solve this step by step:\n\n1. First break down 27 * 453\n2. 453 = 400 + 50 + 3",
                 "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds..."},
                {"type": "redacted_thinking", "data": REDACTED_DATA},
                {"type": "text", "text": "27 * 453 = 12,231"}
            ],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 48, "output_tokens": 120, "cache_read_input_tokens": 0}
        })
    }

    #[test]
    fn redacted_thinking_is_kept_from_answers_and_streams_and_sent_back_unchanged() {
        let body = redacted_thinking_answer();
        let parsed = AnthropicAdapter.parse_response(body.to_string().as_bytes()).expect("body");
        assert_eq!(
            parsed.content[1],
            ContentBlock::RedactedReasoning { data: REDACTED_DATA.into() }
        );
        assert_eq!(parsed.text(), "27 * 453 = 12,231");

        let events = decode_jsonl(
            &AnthropicAdapter,
            include_str!("../../tests/fixtures/adapters/anthropic_stream_redacted_thinking.jsonl"),
        );
        assert!(
            events.contains(&StreamEvent::ContentBlockDelta {
                index: 1,
                delta: Delta::RedactedReasoning { data: REDACTED_DATA.into() }
            }),
            "{events:?}"
        );
        assert_eq!(collect_events(&events).content, parsed.content);

        // The next turn carries the answer back: Claude gets its blocks exactly as it sent them.
        let request = ChatRequest {
            messages: vec![
                Message::user("What is 27 * 453?"),
                Message { role: Role::Assistant, content: parsed.content },
                Message::user("And 27 * 454?"),
            ],
            ..ChatRequest::default()
        };
        assert_eq!(self::body(&request)["messages"][1]["content"], body["content"]);
        let wire: AnthropicRequest =
            serde_json::from_value(self::body(&request)).expect("the body reads back");
        assert_eq!(
            wire.messages[1].content.clone().into_blocks()[1],
            AnthropicContentBlock::RedactedThinking { data: REDACTED_DATA.into() }
        );
    }

    #[test]
    fn stop_reasons_and_cache_usage_map_to_quarry() {
        for (claude, quarry) in [
            ("end_turn", StopReason::EndTurn),
            ("max_tokens", StopReason::MaxTokens),
            ("stop_sequence", StopReason::StopSequence),
            ("tool_use", StopReason::ToolUse),
            ("refusal", StopReason::ContentFiltered),
            ("pause_turn", StopReason::Unknown),
        ] {
            let body = json!({
                "content": [], "stop_reason": claude,
                "usage": {"input_tokens": 3, "output_tokens": 4,
                          "cache_creation_input_tokens": 1500, "cache_read_input_tokens": 20}
            });
            let response =
                AnthropicAdapter.parse_response(body.to_string().as_bytes()).expect("body");
            assert_eq!(response.stop_reason, quarry, "{claude}");
            assert_eq!(response.usage.cache_write_input_tokens, Some(1500));
            assert_eq!(response.usage.cache_read_input_tokens, Some(20));
        }
    }

    #[test]
    fn a_stream_without_metrics_reports_claudes_own_usage() {
        let chunks = [
            r#"{"type":"message_start","message":{"content":[],"usage":{"input_tokens":10,"output_tokens":1,"cache_read_input_tokens":7}}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":5}}"#,
            r#"{"type":"message_stop"}"#,
        ];
        let events = decode_jsonl(&AnthropicAdapter, &chunks.join("\n"));
        let folded = collect_events(&events);
        assert_eq!(folded.stop_reason, StopReason::MaxTokens);
        let mut usage = Usage::new(10, 5);
        usage.cache_read_input_tokens = Some(7);
        assert_eq!(folded.usage, usage);
        assert_eq!(folded.latency_ms, None);
    }

    #[test]
    fn stream_errors_and_unknown_events_are_invalid_responses() {
        let mut decoder = AnthropicAdapter.stream_decoder();
        let err = decoder
            .decode_chunk(
                br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            )
            .expect_err("error event");
        assert!(err.to_string().contains("Overloaded"), "{err}");
        let err = decoder.decode_chunk(br#"{"type":"surprise"}"#).expect_err("unknown event");
        assert!(err.to_string().contains("surprise"), "{err}");
    }

    #[test]
    fn documented_request_shapes_parse_into_the_wire_types() {
        // As the local endpoint receives them: `content` as a plain string or as blocks.
        let body = json!({
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 512,
            "system": "You are terse.",
            "messages": [
                {"role": "user", "content": "Hello there."},
                {"role": "assistant", "content": [{"type": "text", "text": "Hi."}]}
            ],
            "temperature": 1.0,
            "thinking": {"type": "enabled", "budget_tokens": 1024}
        });
        let request: AnthropicRequest = serde_json::from_value(body.clone()).expect("wire request");
        assert_eq!(request.messages[0].content, AnthropicContent::Text("Hello there.".into()));
        assert_eq!(
            request.thinking,
            Some(AnthropicThinkingConfig::Enabled { budget_tokens: 1024 })
        );
        assert_eq!(serde_json::to_value(&request).expect("serialize"), body);

        let err = serde_json::from_value::<AnthropicRequest>(json!({
            "anthropic_version": "bedrock-2023-05-31", "max_tokens": 1,
            "messages": [{"role": "user", "content": 42}]
        }))
        .expect_err("numeric content");
        assert!(err.to_string().contains("string or an array"), "{err}");
    }
}
