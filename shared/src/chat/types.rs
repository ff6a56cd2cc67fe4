//! The unified chat types: one request, one response and one stream-event vocabulary for every model.
//!
//! These are quarry's own wire types too (`POST /v1/invoke` takes a [`ChatRequest`] as JSON), so
//! they are serde types with a small, explicit JSON shape: content blocks are tagged by `"type"`,
//! binary sources are base64 strings, and a message's `content` may be a plain string.

use serde::{Deserialize, Deserializer, Serialize};

/// Who said a message. System text is not a message: it lives in [`ChatRequest::system`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// A block of system prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SystemBlock {
    Text {
        text: String,
    },
    /// Marks the end of a cacheable prefix (prompt caching).
    CachePoint,
}

/// Image encodings Bedrock accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageFormat {
    Png,
    Jpeg,
    Gif,
    Webp,
}

impl ImageFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ImageFormat::Png => "png",
            ImageFormat::Jpeg => "jpeg",
            ImageFormat::Gif => "gif",
            ImageFormat::Webp => "webp",
        }
    }

    /// The IANA media type, e.g. `image/png`.
    pub fn media_type(self) -> &'static str {
        match self {
            ImageFormat::Png => "image/png",
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Gif => "image/gif",
            ImageFormat::Webp => "image/webp",
        }
    }

    /// Parses a media type (`image/png`) or a bare format name (`png`, `jpg`).
    pub fn from_media_type(value: &str) -> Option<Self> {
        let name = value.strip_prefix("image/").unwrap_or(value);
        match name.to_ascii_lowercase().as_str() {
            "png" => Some(ImageFormat::Png),
            "jpeg" | "jpg" => Some(ImageFormat::Jpeg),
            "gif" => Some(ImageFormat::Gif),
            "webp" => Some(ImageFormat::Webp),
            _ => None,
        }
    }
}

/// Document encodings Bedrock accepts in a document block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentFormat {
    Pdf,
    Csv,
    Doc,
    Docx,
    Xls,
    Xlsx,
    Html,
    Txt,
    Md,
}

impl DocumentFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentFormat::Pdf => "pdf",
            DocumentFormat::Csv => "csv",
            DocumentFormat::Doc => "doc",
            DocumentFormat::Docx => "docx",
            DocumentFormat::Xls => "xls",
            DocumentFormat::Xlsx => "xlsx",
            DocumentFormat::Html => "html",
            DocumentFormat::Txt => "txt",
            DocumentFormat::Md => "md",
        }
    }
}

/// Bytes that travel as a base64 string in JSON.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Base64Bytes(pub Vec<u8>);

impl std::fmt::Debug for Base64Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Base64Bytes({} bytes)", self.0.len())
    }
}

impl Serialize for Base64Bytes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use base64::Engine as _;
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Base64Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use base64::Engine as _;
        let text = String::deserialize(deserializer)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map(Base64Bytes)
            .map_err(|e| serde::de::Error::custom(format!("invalid base64: {e}")))
    }
}

impl From<Vec<u8>> for Base64Bytes {
    fn from(bytes: Vec<u8>) -> Self {
        Base64Bytes(bytes)
    }
}

/// Whether a tool ran successfully.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolResultStatus {
    Success,
    Error,
}

/// One piece of a tool's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToolResultContent {
    Text { text: String },
    Json { json: serde_json::Value },
    Image { format: ImageFormat, data: Base64Bytes },
}

/// One block of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    Text {
        text: String,
    },
    Image {
        format: ImageFormat,
        data: Base64Bytes,
    },
    Document {
        format: DocumentFormat,
        /// Bedrock requires a name: alphanumerics, single spaces, hyphens, parentheses, brackets.
        name: String,
        data: Base64Bytes,
    },
    /// The model asks to call a tool.
    ToolUse {
        id: String,
        name: String,
        input: serde_json::Value,
    },
    /// The caller answers a [`ContentBlock::ToolUse`].
    ToolResult {
        tool_use_id: String,
        content: Vec<ToolResultContent>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<ToolResultStatus>,
    },
    /// The model's visible reasoning (Claude extended thinking, DeepSeek R1, gpt-oss).
    Reasoning {
        text: String,
        /// Opaque signature some models require when reasoning is sent back.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<String>,
    },
    /// Opaque encrypted reasoning (Claude's `redacted_thinking`): it must be sent back unchanged
    /// in the next turn. In Converse it is a blob, carried here base64-encoded (standard
    /// alphabet); native Anthropic and Nova bodies carry it as their own string.
    RedactedReasoning {
        data: String,
    },
    /// Marks the end of a cacheable prefix (prompt caching).
    CachePoint,
}

impl ContentBlock {
    pub fn text(text: impl Into<String>) -> Self {
        ContentBlock::Text { text: text.into() }
    }

    /// The text of a text block, `None` for any other block.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            ContentBlock::Text { text } => Some(text),
            _ => None,
        }
    }
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    /// In JSON either an array of blocks or a plain string (one text block).
    #[serde(deserialize_with = "content_string_or_blocks")]
    pub content: Vec<ContentBlock>,
}

impl Message {
    pub fn user(text: impl Into<String>) -> Self {
        Message { role: Role::User, content: vec![ContentBlock::text(text)] }
    }

    pub fn assistant(text: impl Into<String>) -> Self {
        Message { role: Role::Assistant, content: vec![ContentBlock::text(text)] }
    }

    /// All text blocks of the message joined with newlines.
    pub fn text(&self) -> String {
        join_text(&self.content)
    }
}

/// Joins the text blocks among `blocks` with newlines, skipping every other block.
pub fn join_text(blocks: &[ContentBlock]) -> String {
    let texts: Vec<&str> = blocks.iter().filter_map(ContentBlock::as_text).collect();
    texts.join("\n")
}

fn content_string_or_blocks<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<ContentBlock>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Content {
        Text(String),
        Blocks(Vec<ContentBlock>),
    }
    // Untagged errors are vague ("did not match any variant"); try the precise shapes in turn.
    let value = serde_json::Value::deserialize(deserializer)?;
    match value {
        serde_json::Value::String(text) => Ok(vec![ContentBlock::Text { text }]),
        serde_json::Value::Array(_) => {
            Content::deserialize(value).map_err(serde::de::Error::custom).map(|c| match c {
                Content::Text(text) => vec![ContentBlock::Text { text }],
                Content::Blocks(blocks) => blocks,
            })
        }
        other => Err(serde::de::Error::custom(format!(
            "content must be a string or an array of content blocks, not {}",
            json_kind(&other)
        ))),
    }
}

/// How a JSON value is named in an error message ("a string", "an array", …).
pub(crate) fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// A tool the model may call, described by a JSON Schema of its input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the tool's input object.
    pub input_schema: serde_json::Value,
}

/// How the model must use the tools.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToolChoice {
    /// The model decides whether to call a tool.
    Auto,
    /// The model must call some tool.
    Any,
    /// The model must call this tool.
    Tool { name: String },
}

/// A Bedrock guardrail to apply to the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardrailConfig {
    /// Guardrail id or ARN.
    pub identifier: String,
    /// A version number or `DRAFT`.
    pub version: String,
    /// Ask Bedrock for the guardrail's trace (which policies fired).
    #[serde(default)]
    pub trace: bool,
}

/// A chat request to any model, independent of the API used to send it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatRequest {
    /// System prompt blocks; in JSON also a plain string.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "system_string_or_blocks"
    )]
    pub system: Vec<SystemBlock>,
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop_sequences: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardrail: Option<GuardrailConfig>,
}

impl ChatRequest {
    /// A one-turn request: a user message of plain text.
    pub fn from_user_text(text: impl Into<String>) -> Self {
        ChatRequest { messages: vec![Message::user(text)], ..ChatRequest::default() }
    }

    /// The system prompt's text blocks joined with newlines (`None` when there is no system text).
    pub fn system_text(&self) -> Option<String> {
        let texts: Vec<&str> = self
            .system
            .iter()
            .filter_map(|b| match b {
                SystemBlock::Text { text } => Some(text.as_str()),
                SystemBlock::CachePoint => None,
            })
            .collect();
        if texts.is_empty() { None } else { Some(texts.join("\n")) }
    }
}

fn system_string_or_blocks<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<SystemBlock>, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    match value {
        serde_json::Value::Null => Ok(Vec::new()),
        serde_json::Value::String(text) => Ok(vec![SystemBlock::Text { text }]),
        serde_json::Value::Array(_) => {
            Vec::<SystemBlock>::deserialize(value).map_err(serde::de::Error::custom)
        }
        other => Err(serde::de::Error::custom(format!(
            "system must be a string or an array of system blocks, not {}",
            json_kind(&other)
        ))),
    }
}

/// Why the model stopped generating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    EndTurn,
    ToolUse,
    MaxTokens,
    StopSequence,
    GuardrailIntervened,
    ContentFiltered,
    ModelContextWindowExceeded,
    MalformedModelOutput,
    MalformedToolUse,
    /// A reason this version of quarry does not know.
    #[serde(other)]
    Unknown,
}

/// Token counts of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u32,
    pub output_tokens: u32,
    pub total_tokens: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_input_tokens: Option<u32>,
}

impl Usage {
    /// Usage with `total_tokens` computed from input and output.
    pub fn new(input_tokens: u32, output_tokens: u32) -> Self {
        Usage {
            input_tokens,
            output_tokens,
            total_tokens: input_tokens.saturating_add(output_tokens),
            cache_read_input_tokens: None,
            cache_write_input_tokens: None,
        }
    }
}

/// What a guardrail did to a request or its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuardrailOutcome {
    /// True when the guardrail blocked or masked content.
    pub intervened: bool,
    /// The raw trace Bedrock returned, when tracing was on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<serde_json::Value>,
}

/// A model's complete answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// The assistant message's blocks.
    pub content: Vec<ContentBlock>,
    pub stop_reason: StopReason,
    pub usage: Usage,
    /// Model latency as Bedrock reports it (Converse `metrics.latencyMs`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardrail: Option<GuardrailOutcome>,
}

impl ChatResponse {
    /// All text blocks of the answer joined with newlines.
    pub fn text(&self) -> String {
        join_text(&self.content)
    }
}

/// How a content block begins in a stream (text and reasoning blocks, redacted or not, need no
/// start).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BlockStart {
    ToolUse { id: String, name: String },
}

/// A piece of a content block in a stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Delta {
    Text {
        text: String,
    },
    /// A fragment of a tool call's input JSON; the fragments of a block concatenate to the JSON.
    ToolInput {
        json: String,
    },
    Reasoning {
        text: String,
    },
    ReasoningSignature {
        signature: String,
    },
    /// A piece of redacted reasoning's opaque data (see [`ContentBlock::RedactedReasoning`]);
    /// [`crate::chat::StreamAccumulator`] joins the pieces of a block into its data.
    RedactedReasoning {
        data: String,
    },
}

/// One event of a streamed answer; the same vocabulary as ConverseStream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    MessageStart {
        role: Role,
    },
    ContentBlockStart {
        index: u32,
        start: BlockStart,
    },
    ContentBlockDelta {
        index: u32,
        delta: Delta,
    },
    ContentBlockStop {
        index: u32,
    },
    MessageStop {
        stop_reason: StopReason,
    },
    Metadata {
        usage: Usage,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        latency_ms: Option<u64>,
    },
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn redacted_reasoning_travels_in_quarrys_json_as_a_tagged_block_and_delta() {
        // The `data` of the `redacted_thinking` example of Anthropic's extended-thinking guide.
        let data = "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP";
        let message: Message = serde_json::from_value(json!({
            "role": "assistant",
            "content": [{ "type": "redacted_reasoning", "data": data }, { "type": "text", "text": "4" }]
        }))
        .expect("a redacted reasoning block");
        assert_eq!(message.content[0], ContentBlock::RedactedReasoning { data: data.into() });
        assert_eq!(message.text(), "4", "redacted data is not text");
        assert_eq!(
            serde_json::to_value(&message.content[0]).expect("serialize"),
            json!({ "type": "redacted_reasoning", "data": data })
        );

        let event = StreamEvent::ContentBlockDelta {
            index: 1,
            delta: Delta::RedactedReasoning { data: data.into() },
        };
        let wire = json!({
            "type": "content_block_delta", "index": 1,
            "delta": { "type": "redacted_reasoning", "data": data }
        });
        assert_eq!(serde_json::to_value(&event).expect("serialize"), wire);
        assert_eq!(serde_json::from_value::<StreamEvent>(wire).expect("parse"), event);

        let err = serde_json::from_value::<ContentBlock>(json!({ "type": "redacted_reasoning" }))
            .expect_err("data is required");
        assert!(err.to_string().contains("data"), "{err}");
    }
}
