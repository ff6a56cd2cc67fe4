//! The Converse / ConverseStream JSON wire shapes, member for member as the AWS SDKs serialise and
//! parse them (Bedrock runtime API reference: Converse, ConverseStream, Message, ContentBlock, …).
//!
//! Smithy unions (one member set per object) are externally tagged enums; blobs travel as base64
//! strings ([`Base64Bytes`]); documents (tool input, JSON schemas, tool results) are JSON values.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// Bytes carried as a base64 string (Smithy `blob` in REST-JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base64Bytes(pub Vec<u8>);

impl Serialize for Base64Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Base64Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        STANDARD
            .decode(text.as_bytes())
            .map(Base64Bytes)
            .map_err(|e| serde::de::Error::custom(format!("expected base64-encoded bytes ({e})")))
    }
}

/// The Converse and ConverseStream request body (the model id travels in the path).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConverseRequest {
    #[serde(default)]
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub system: Vec<SystemContentBlock>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inference_config: Option<InferenceConfiguration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_config: Option<ToolConfiguration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guardrail_config: Option<GuardrailConfiguration>,
    /// Model-specific request fields; accepted, not used by the local models.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_model_request_fields: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_model_response_field_paths: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_variables: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_metadata: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub performance_config: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_config: Option<Value>,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: Vec<ContentBlock>,
}

/// A block of message content (a union: exactly one member).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ContentBlock {
    Text(String),
    Image(ImageBlock),
    Document(DocumentBlock),
    Video(Value),
    Audio(Value),
    ToolUse(ToolUseBlock),
    ToolResult(ToolResultBlock),
    GuardContent(GuardrailConverseContentBlock),
    CachePoint(Value),
    ReasoningContent(ReasoningContentBlock),
    CitationsContent(Value),
    SearchResult(Value),
}

/// A system prompt block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SystemContentBlock {
    Text(String),
    GuardContent(GuardrailConverseContentBlock),
    CachePoint(Value),
}

/// An image: its format (`png`, `jpeg`, `gif`, `webp`) and source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageBlock {
    pub format: String,
    pub source: MediaSource,
}

/// Where image or document bytes come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MediaSource {
    Bytes(Base64Bytes),
    S3Location(Value),
}

/// A document attached to a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentBlock {
    /// `pdf`, `csv`, `doc`, `docx`, `xls`, `xlsx`, `html`, `txt` or `md`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    pub name: String,
    pub source: DocumentSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citations: Option<Value>,
}

/// Where a document's content comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DocumentSource {
    Bytes(Base64Bytes),
    S3Location(Value),
    Text(String),
    Content(Vec<DocumentContentBlock>),
}

/// A piece of structured document content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DocumentContentBlock {
    Text(String),
}

/// The model asks the caller to run a tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolUseBlock {
    pub tool_use_id: String,
    pub name: String,
    pub input: Value,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// The caller's answer to a tool use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolResultBlock {
    pub tool_use_id: String,
    pub content: Vec<ToolResultContentBlock>,
    /// `success` or `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// A block of a tool result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ToolResultContentBlock {
    Json(Value),
    Text(String),
    Image(ImageBlock),
    Document(DocumentBlock),
    Video(Value),
    SearchResult(Value),
}

/// Content the guardrail evaluates (Converse `guardContent`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum GuardrailConverseContentBlock {
    Text(GuardrailConverseTextBlock),
    Image(Value),
}

/// Text for the guardrail, optionally qualified (`grounding_source`, `query`, `guard_content`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuardrailConverseTextBlock {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualifiers: Option<Vec<String>>,
}

/// A model's reasoning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ReasoningContentBlock {
    ReasoningText(ReasoningTextBlock),
    RedactedContent(Base64Bytes),
}

/// Reasoning text and its signature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReasoningTextBlock {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// `inferenceConfig`. Numbers are read wide so out-of-range values get a validation message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InferenceConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
}

/// `toolConfig`: the tools offered and how the model must choose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolConfiguration {
    pub tools: Vec<Tool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
}

/// One entry of `toolConfig.tools`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Tool {
    ToolSpec(ToolSpecification),
    SystemTool(Value),
    CachePoint(Value),
}

/// A tool's name, description and input schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolSpecification {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub input_schema: ToolInputSchema,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// A tool's input schema (a union with one member, `json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ToolInputSchema {
    Json(Value),
}

/// `toolChoice`: `{"auto":{}}`, `{"any":{}}` or `{"tool":{"name":...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ToolChoice {
    Auto(Value),
    Any(Value),
    Tool(SpecificToolChoice),
}

/// The tool the model must call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecificToolChoice {
    pub name: String,
}

/// `guardrailConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GuardrailConfiguration {
    pub guardrail_identifier: String,
    pub guardrail_version: String,
    /// `enabled`, `disabled` or `enabled_full`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    /// ConverseStream only: `sync` or `async`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_processing_mode: Option<String>,
}

/// Why the model stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    EndTurn,
    ToolUse,
    MaxTokens,
    StopSequence,
    GuardrailIntervened,
    ContentFiltered,
}

/// Token counts of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenUsage {
    pub input_tokens: u32,
    pub output_tokens: u32,
    pub total_tokens: u32,
}

impl TokenUsage {
    pub fn new(input_tokens: u32, output_tokens: u32) -> Self {
        TokenUsage {
            input_tokens,
            output_tokens,
            total_tokens: input_tokens.saturating_add(output_tokens),
        }
    }
}

/// Call metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConverseMetrics {
    pub latency_ms: u64,
}

/// The Converse response body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConverseResponse {
    pub output: ConverseOutput,
    pub stop_reason: StopReason,
    pub usage: TokenUsage,
    pub metrics: ConverseMetrics,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<ConverseTrace>,
}

/// `output`: a union whose one member is the assistant message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ConverseOutput {
    Message(Message),
}

/// `trace`: what the guardrail assessed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConverseTrace {
    pub guardrail: GuardrailTraceAssessment,
}

/// The guardrail's trace: assessments of the input (by guardrail id) and of the output.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GuardrailTraceAssessment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_output: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_assessment: Option<serde_json::Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_assessments: Option<serde_json::Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_reason: Option<String>,
}

/// ConverseStream `messageStart`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageStartEvent {
    pub role: Role,
}

/// ConverseStream `contentBlockStart`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentBlockStartEvent {
    pub content_block_index: u32,
    pub start: ContentBlockStart,
}

/// What kind of block starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ContentBlockStart {
    ToolUse(ToolUseBlockStart),
}

/// The start of a tool use block: its id and tool name (the input follows in deltas).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolUseBlockStart {
    pub tool_use_id: String,
    pub name: String,
}

/// ConverseStream `contentBlockDelta`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentBlockDeltaEvent {
    pub content_block_index: u32,
    pub delta: ContentBlockDelta,
}

/// A piece of a block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ContentBlockDelta {
    Text(String),
    ToolUse(ToolUseBlockDelta),
}

/// A piece of a tool use's input JSON text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolUseBlockDelta {
    pub input: String,
}

/// ConverseStream `contentBlockStop`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentBlockStopEvent {
    pub content_block_index: u32,
}

/// ConverseStream `messageStop`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageStopEvent {
    pub stop_reason: StopReason,
}

/// ConverseStream `metadata`: usage and metrics, last event of the stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConverseStreamMetadataEvent {
    pub usage: TokenUsage,
    pub metrics: ConverseMetrics,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<ConverseTrace>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The tool definition and question of "Call a tool with the Converse API"
    /// (https://docs.aws.amazon.com/bedrock/latest/userguide/tool-use-inference-call.html),
    /// forcing the tool as that page shows.
    #[test]
    fn parses_the_documented_tool_use_request() {
        let body = json!({
            "messages": [{"role": "user", "content": [{"text": "What is the most popular song on WZPZ?"}]}],
            "toolConfig": {
                "tools": [{"toolSpec": {
                    "name": "top_song",
                    "description": "Get the most popular song played on a radio station.",
                    "inputSchema": {"json": {
                        "type": "object",
                        "properties": {"sign": {"type": "string", "description": "The call sign for the radio station for which you want the most popular song. Example calls signs are WZPZ and WKRP."}},
                        "required": ["sign"]
                    }}
                }}],
                "toolChoice": {"tool": {"name": "top_song"}}
            }
        });
        let request: ConverseRequest = serde_json::from_value(body).expect("documented request");
        assert_eq!(request.messages[0].role, Role::User);
        assert_eq!(
            request.messages[0].content,
            [ContentBlock::Text("What is the most popular song on WZPZ?".into())]
        );
        let tools = request.tool_config.expect("tool config");
        let Tool::ToolSpec(spec) = &tools.tools[0] else { panic!("a toolSpec") };
        assert_eq!(spec.name, "top_song");
        let ToolInputSchema::Json(schema) = &spec.input_schema;
        assert_eq!(schema["required"], json!(["sign"]));
        assert_eq!(
            tools.tool_choice,
            Some(ToolChoice::Tool(SpecificToolChoice { name: "top_song".into() }))
        );
    }

    /// The assistant's tool use and the caller's tool result from the same page.
    #[test]
    fn parses_the_documented_tool_use_and_tool_result_turns() {
        let turns = json!([
            {"role": "assistant", "content": [{"toolUse": {
                "toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "name": "top_song", "input": {"sign": "WZPZ"}
            }}]},
            {"role": "user", "content": [{"toolResult": {
                "toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q",
                "content": [{"json": {"song": "Elemental Hotel", "artist": "8 Storey Hike"}}]
            }}]}
        ]);
        let messages: Vec<Message> = serde_json::from_value(turns).expect("documented turns");
        let ContentBlock::ToolUse(call) = &messages[0].content[0] else { panic!("toolUse") };
        assert_eq!(call.input, json!({"sign": "WZPZ"}));
        let ContentBlock::ToolResult(result) = &messages[1].content[0] else {
            panic!("toolResult")
        };
        assert_eq!(result.tool_use_id, call.tool_use_id);
        assert_eq!(
            result.content,
            [ToolResultContentBlock::Json(
                json!({"song": "Elemental Hotel", "artist": "8 Storey Hike"})
            )]
        );
    }

    #[test]
    fn document_and_image_bytes_travel_as_base64() {
        let block = json!({"document": {"format": "txt", "name": "notes", "source": {"bytes": "aGVsbG8="}}});
        let parsed: ContentBlock = serde_json::from_value(block.clone()).expect("document");
        let ContentBlock::Document(doc) = &parsed else { panic!("document") };
        assert_eq!(doc.source, DocumentSource::Bytes(Base64Bytes(b"hello".to_vec())));
        assert_eq!(serde_json::to_value(&parsed).expect("serialise"), block);
        let bad = json!({"image": {"format": "png", "source": {"bytes": "not base64!"}}});
        let error = serde_json::from_value::<ContentBlock>(bad).expect_err("invalid base64");
        assert!(error.to_string().contains("base64"), "{error}");
    }

    #[test]
    fn a_response_serialises_with_the_sdk_member_names() {
        let response = ConverseResponse {
            output: ConverseOutput::Message(Message {
                role: Role::Assistant,
                content: vec![ContentBlock::Text("Hi".into())],
            }),
            stop_reason: StopReason::EndTurn,
            usage: TokenUsage::new(3, 1),
            metrics: ConverseMetrics { latency_ms: 5 },
            trace: None,
        };
        assert_eq!(
            serde_json::to_value(&response).expect("serialise"),
            json!({
                "output": {"message": {"role": "assistant", "content": [{"text": "Hi"}]}},
                "stopReason": "end_turn",
                "usage": {"inputTokens": 3, "outputTokens": 1, "totalTokens": 4},
                "metrics": {"latencyMs": 5}
            })
        );
    }

    #[test]
    fn stream_events_serialise_with_the_sdk_member_names() {
        let start = ContentBlockStartEvent {
            content_block_index: 1,
            start: ContentBlockStart::ToolUse(ToolUseBlockStart {
                tool_use_id: "t1".into(),
                name: "f".into(),
            }),
        };
        assert_eq!(
            serde_json::to_value(&start).expect("serialise"),
            json!({"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "t1", "name": "f"}}})
        );
        let delta = ContentBlockDeltaEvent {
            content_block_index: 1,
            delta: ContentBlockDelta::ToolUse(ToolUseBlockDelta { input: "{\"a\"".into() }),
        };
        assert_eq!(
            serde_json::to_value(&delta).expect("serialise"),
            json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "{\"a\""}}})
        );
        let stop = MessageStopEvent { stop_reason: StopReason::GuardrailIntervened };
        assert_eq!(
            serde_json::to_value(&stop).expect("serialise"),
            json!({"stopReason": "guardrail_intervened"})
        );
    }
}
