//! OpenAI gpt-oss on Bedrock, and the OpenAI chat-completion wire shape it speaks (Mistral Large 2
//! and AI21 Jamba speak the same shape, so their modules reuse these types and converters).
//!
//! Source: AWS Bedrock user guide, "OpenAI models" (model-parameters-openai). The request body is
//! OpenAI's *Create chat completion*: `messages` (system text as a `developer` message),
//! `max_completion_tokens`, `stop`, `temperature`, `top_p`, function `tools`; `model` and `stream`
//! may be left out and Bedrock fills them from the call. The response is a chat completion object
//! and, with InvokeModel, the model's reasoning comes first in the text, inside `<reasoning>` tags.
//! Streams carry `chat.completion.chunk` objects (`choices[0].delta`).

use std::collections::HashMap;

use serde::{Deserialize, Deserializer, Serialize};

use super::wire::{
    EventBuilder, InvocationMetrics, Piece, ReasoningSplitter, block_feature, invalid_request,
    invalid_response, parse_body, pieces_to_blocks, system_text, to_body,
    tool_input_from_arguments, unsupported,
};
use super::{AdapterError, NativeAdapter, StreamDecoder};
use super::{check_body_request, json_number};
use crate::chat::{
    ChatRequest, ChatResponse, ContentBlock, Role, StopReason, StreamEvent, ToolChoice,
    ToolResultContent, ToolResultStatus, ToolSpec, Usage,
};
use crate::model::Family;

/// The author of a chat-completion message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatRole {
    System,
    /// OpenAI's name for system instructions (gpt-oss).
    Developer,
    User,
    Assistant,
    Tool,
}

/// A chat-completion request body (`messages` plus sampling and tool fields).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatCompletionRequest {
    /// Filled by Bedrock from the model id when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub messages: Vec<ChatMessage>,
    /// Mistral and Jamba's output limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// gpt-oss's output limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Stop sequences; in JSON also a single string.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "string_or_strings"
    )]
    pub stop: Vec<String>,
    /// Number of answers (Jamba documents `n`; quarry always asks for 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ChatTool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ChatToolChoice>,
    /// Must match the API used (false for InvokeModel); filled by Bedrock when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
}

/// One message of a chat-completion conversation (also the answer's `message`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: ChatRole,
    /// Text content; in JSON also `null` or an array of `{"type": "text", "text": …}` parts.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "text_content")]
    pub content: Option<String>,
    /// Reasoning text, where an OpenAI-compatible server returns it separately from `content`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    /// The tool calls of an assistant message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ChatToolCall>>,
    /// The call a `tool` message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl ChatMessage {
    /// A message of plain text.
    pub fn text(role: ChatRole, text: impl Into<String>) -> Self {
        ChatMessage {
            role,
            content: Some(text.into()),
            reasoning_content: None,
            tool_calls: None,
            tool_call_id: None,
        }
    }
}

/// A tool call of an assistant message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatToolCall {
    #[serde(default)]
    pub id: String,
    /// `"function"` (OpenAI, Jamba); Mistral's documented shape leaves it out.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub function: ChatFunctionCall,
}

/// The function a tool call invokes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatFunctionCall {
    pub name: String,
    /// The input as a JSON document in a string.
    #[serde(default)]
    pub arguments: String,
}

/// A tool offered to the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatTool {
    /// Always `"function"`.
    #[serde(rename = "type")]
    pub kind: String,
    pub function: ChatFunction,
}

/// A function tool: name, description and JSON Schema of its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatFunction {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub parameters: serde_json::Value,
}

/// `tool_choice`: a mode (`"auto"`, `"none"`, `"required"`, Mistral's `"any"`) or a named function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ChatToolChoice {
    Mode(String),
    Function {
        #[serde(rename = "type")]
        kind: String,
        function: ChatToolChoiceFunction,
    },
}

/// The function a `tool_choice` forces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatToolChoiceFunction {
    pub name: String,
}

/// A chat-completion response body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletionResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub choices: Vec<ChatChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<ChatUsage>,
}

/// One answer of a chat-completion response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatChoice {
    #[serde(default)]
    pub index: u32,
    pub message: ChatMessage,
    /// Why generation stopped (OpenAI, Jamba).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    /// Why generation stopped, under the name the Bedrock Mistral page uses. Some servers put a
    /// token id here instead, so any JSON value is accepted and only a string is read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<serde_json::Value>,
}

impl ChatChoice {
    /// The stop reason under either name.
    pub fn reason(&self) -> Option<&str> {
        self.finish_reason.as_deref().or_else(|| self.stop_reason.as_ref()?.as_str())
    }
}

/// Token counts of a chat-completion response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChatUsage {
    #[serde(default)]
    pub prompt_tokens: u32,
    #[serde(default)]
    pub completion_tokens: u32,
    #[serde(default)]
    pub total_tokens: u32,
}

impl From<ChatUsage> for Usage {
    fn from(usage: ChatUsage) -> Self {
        let mut quarry = Usage::new(usage.prompt_tokens, usage.completion_tokens);
        if usage.total_tokens > 0 {
            quarry.total_tokens = usage.total_tokens;
        }
        quarry
    }
}

/// One chunk of a streamed chat completion.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatCompletionChunk {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Always present (empty on a usage-only chunk): a chunk without it is not a chat chunk.
    pub choices: Vec<ChatChunkChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<ChatUsage>,
    /// Bedrock's metrics, on the last chunk.
    #[serde(
        rename = "amazon-bedrock-invocationMetrics",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub invocation_metrics: Option<InvocationMetrics>,
}

/// One answer's piece in a stream chunk: OpenAI and Jamba send `delta`, Bedrock's Mistral chat
/// stream sends `message`; both are read the same way.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatChunkChoice {
    #[serde(default)]
    pub index: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<ChatMessageDelta>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<ChatMessageDelta>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    /// As in [`ChatChoice::stop_reason`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<serde_json::Value>,
}

impl ChatChunkChoice {
    /// The stop reason under either name.
    pub fn reason(&self) -> Option<&str> {
        self.finish_reason.as_deref().or_else(|| self.stop_reason.as_ref()?.as_str())
    }
}

/// The new part of the answer in a stream chunk.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatMessageDelta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<ChatRole>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "text_content")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ChatToolCallDelta>>,
}

/// A fragment of a tool call: the first fragment of a call carries its id and name, the following
/// ones (same `index`) more of its arguments.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatToolCallDelta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<ChatFunctionDelta>,
}

/// A fragment of a tool call's function.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatFunctionDelta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
}

fn string_or_strings<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stop {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<Stop>::deserialize(deserializer)? {
        None => Vec::new(),
        Some(Stop::One(stop)) => vec![stop],
        Some(Stop::Many(stops)) => stops,
    })
}

fn text_content<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    struct Part {
        #[serde(rename = "type")]
        kind: String,
        #[serde(default)]
        text: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Content {
        Text(String),
        Parts(Vec<Part>),
    }
    match Option::<Content>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Content::Text(text)) => Ok(Some(text)),
        Some(Content::Parts(parts)) => {
            let mut text = String::new();
            for part in parts {
                match (part.kind.as_str(), part.text) {
                    ("text", Some(t)) => text.push_str(&t),
                    (kind, _) => {
                        return Err(serde::de::Error::custom(format!(
                            "content part of type `{kind}` is not text"
                        )));
                    }
                }
            }
            Ok(Some(text))
        }
    }
}

/// How one family writes and reads the chat-completion shape.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChatDialect {
    pub family: Family,
    /// The role system text travels under.
    pub system_role: ChatRole,
    /// Whether tool calls carry `"type": "function"`.
    pub typed_tool_calls: bool,
    /// Whether the family documents tools (tool blocks are refused otherwise).
    pub tools: bool,
    /// Whether the model's earlier reasoning is left out of the history it is sent (the model
    /// makers' own guidance) rather than refused.
    pub drop_history_reasoning: bool,
    /// Whether answers carry reasoning inside leading `<reasoning>` tags.
    pub reasoning_tags: bool,
}

impl ChatDialect {
    fn splitter(&self) -> Option<ReasoningSplitter> {
        self.reasoning_tags
            .then(|| ReasoningSplitter::with_leading_tags("<reasoning>", "</reasoning>"))
    }
}

/// The conversation as chat-completion messages: system text first, tool results as `tool`
/// messages right after the assistant message that called the tools.
pub(crate) fn chat_messages(
    dialect: &ChatDialect,
    request: &ChatRequest,
) -> Result<Vec<ChatMessage>, AdapterError> {
    let family = dialect.family;
    if request.messages.is_empty() {
        return Err(invalid_request(family, "the request has no messages"));
    }
    let mut messages = Vec::new();
    if let Some(system) = system_text(family, request)? {
        messages.push(ChatMessage::text(dialect.system_role, system));
    }
    for message in &request.messages {
        let mut texts: Vec<&str> = Vec::new();
        let mut tool_calls = Vec::new();
        for block in &message.content {
            match (message.role, block) {
                (_, ContentBlock::Text { text }) => texts.push(text),
                (Role::User, ContentBlock::ToolResult { tool_use_id, content, status })
                    if dialect.tools =>
                {
                    messages.push(ChatMessage {
                        tool_call_id: Some(tool_use_id.clone()),
                        ..ChatMessage::text(
                            ChatRole::Tool,
                            tool_result_text(family, content, *status)?,
                        )
                    });
                }
                (Role::Assistant, ContentBlock::ToolUse { id, name, input }) if dialect.tools => {
                    tool_calls.push(ChatToolCall {
                        id: id.clone(),
                        kind: dialect.typed_tool_calls.then(|| "function".to_string()),
                        function: ChatFunctionCall {
                            name: name.clone(),
                            arguments: input.to_string(),
                        },
                    });
                }
                (
                    Role::Assistant,
                    ContentBlock::Reasoning { .. } | ContentBlock::RedactedReasoning { .. },
                ) if dialect.drop_history_reasoning => {}
                (Role::User, ContentBlock::ToolUse { .. })
                | (Role::Assistant, ContentBlock::ToolResult { .. }) => {
                    return Err(invalid_request(
                        family,
                        format!(
                            "a {} message cannot hold {}",
                            message.role.as_str(),
                            block_feature(block)
                        ),
                    ));
                }
                (_, other) => return Err(unsupported(family, block_feature(other))),
            }
        }
        let role = match message.role {
            Role::User => ChatRole::User,
            Role::Assistant => ChatRole::Assistant,
        };
        if !texts.is_empty() || !tool_calls.is_empty() {
            messages.push(ChatMessage {
                tool_calls: (!tool_calls.is_empty()).then_some(tool_calls),
                ..ChatMessage::text(role, texts.join("\n"))
            });
        } else if message.content.is_empty() {
            return Err(invalid_request(
                family,
                format!("a {} message has no content", message.role.as_str()),
            ));
        }
    }
    Ok(messages)
}

/// A tool result as the text of a `tool` message: text parts as they are, JSON parts serialized,
/// one per line; a failed tool's text starts with `Error: ` (the shape has no error flag).
fn tool_result_text(
    family: Family,
    content: &[ToolResultContent],
    status: Option<ToolResultStatus>,
) -> Result<String, AdapterError> {
    let mut parts = Vec::new();
    for part in content {
        match part {
            ToolResultContent::Text { text } => parts.push(text.clone()),
            ToolResultContent::Json { json } => parts.push(json.to_string()),
            ToolResultContent::Image { .. } => {
                return Err(unsupported(family, "images in tool results"));
            }
        }
    }
    let text = parts.join("\n");
    Ok(match status {
        Some(ToolResultStatus::Error) => format!("Error: {text}"),
        _ => text,
    })
}

/// The request's tools as function tools.
pub(crate) fn chat_tools(tools: &[ToolSpec]) -> Vec<ChatTool> {
    tools
        .iter()
        .map(|tool| ChatTool {
            kind: "function".into(),
            function: ChatFunction {
                name: tool.name.clone(),
                description: tool.description.clone(),
                parameters: tool.input_schema.clone(),
            },
        })
        .collect()
}

/// Maps a chat-completion stop reason (`stop`, `length`, `tool_calls`, …).
pub(crate) fn chat_stop_reason(reason: &str) -> StopReason {
    match reason {
        "stop" | "end_turn" | "eos" => StopReason::EndTurn,
        "length" => StopReason::MaxTokens,
        "tool_calls" | "function_call" => StopReason::ToolUse,
        "content_filter" => StopReason::ContentFiltered,
        "model_length" => StopReason::ModelContextWindowExceeded,
        _ => StopReason::Unknown,
    }
}

/// The id quarry gives a tool call that arrived without one.
fn fallback_tool_id(index: u32) -> String {
    format!("call_{index}")
}

/// Parses a chat-completion response body.
pub(crate) fn parse_chat_completion(
    dialect: &ChatDialect,
    body: &[u8],
) -> Result<ChatResponse, AdapterError> {
    let family = dialect.family;
    let response: ChatCompletionResponse =
        parse_body(family, "the chat completion response body", body)?;
    let Some(choice) = response.choices.first() else {
        return Err(invalid_response(family, "the response has an empty `choices` list"));
    };
    let message = &choice.message;
    let mut pieces = Vec::new();
    if let Some(reasoning) = message.reasoning_content.as_deref().filter(|r| !r.is_empty()) {
        pieces.push(Piece::Reasoning(reasoning.to_string()));
    }
    if let Some(text) = &message.content {
        match dialect.splitter() {
            Some(splitter) => pieces.extend(splitter.split_all(text)),
            None if !text.is_empty() => pieces.push(Piece::Text(text.clone())),
            None => {}
        }
    }
    let mut content = pieces_to_blocks(pieces);
    for (position, call) in message.tool_calls.iter().flatten().enumerate() {
        let id = if call.id.is_empty() {
            fallback_tool_id(u32::try_from(position).unwrap_or(u32::MAX))
        } else {
            call.id.clone()
        };
        content.push(ContentBlock::ToolUse {
            id,
            name: call.function.name.clone(),
            input: tool_input_from_arguments(&call.function.arguments),
        });
    }
    Ok(ChatResponse {
        content,
        stop_reason: choice.reason().map_or(StopReason::Unknown, chat_stop_reason),
        usage: response.usage.map(Usage::from).unwrap_or_default(),
        latency_ms: None,
        guardrail: None,
    })
}

/// Decodes a stream of chat-completion chunks.
#[derive(Debug)]
pub(crate) struct ChatCompletionDecoder {
    dialect: ChatDialect,
    events: EventBuilder,
    splitter: Option<ReasoningSplitter>,
    /// Tool-call index in the chunks → content-block index.
    tool_blocks: HashMap<u32, u32>,
}

impl ChatCompletionDecoder {
    pub(crate) fn new(dialect: ChatDialect) -> Self {
        ChatCompletionDecoder {
            dialect,
            events: EventBuilder::default(),
            splitter: dialect.splitter(),
            tool_blocks: HashMap::new(),
        }
    }

    /// Decodes an already parsed chunk.
    pub(crate) fn decode(
        &mut self,
        chunk: &ChatCompletionChunk,
    ) -> Result<Vec<StreamEvent>, AdapterError> {
        self.events.start();
        if let Some(choice) = chunk.choices.first() {
            for delta in [&choice.delta, &choice.message].into_iter().flatten() {
                self.delta(delta)?;
            }
            if let Some(reason) = choice.reason() {
                self.flush_text();
                self.events.stop(chat_stop_reason(reason));
            }
        }
        if let Some(metrics) = &chunk.invocation_metrics {
            self.flush_text();
            self.events.metrics(metrics);
        }
        Ok(self.events.take())
    }

    fn delta(&mut self, delta: &ChatMessageDelta) -> Result<(), AdapterError> {
        if let Some(reasoning) = &delta.reasoning_content {
            self.events.reasoning(reasoning);
        }
        if let Some(text) = &delta.content {
            match &mut self.splitter {
                Some(splitter) => self.events.pieces(splitter.push(text)),
                None => self.events.text(text),
            }
        }
        for (position, call) in delta.tool_calls.iter().flatten().enumerate() {
            self.flush_text();
            let index = call.index.unwrap_or(u32::try_from(position).unwrap_or(u32::MAX));
            let function = call.function.clone().unwrap_or_default();
            let starts_call = call.id.as_deref().is_some_and(|id| !id.is_empty())
                || function.name.as_deref().is_some_and(|name| !name.is_empty());
            let block = if starts_call {
                let id = call.id.clone().filter(|id| !id.is_empty());
                let block = self.events.open_tool(
                    &id.unwrap_or_else(|| fallback_tool_id(index)),
                    function.name.as_deref().unwrap_or_default(),
                );
                self.tool_blocks.insert(index, block);
                block
            } else {
                *self.tool_blocks.get(&index).ok_or_else(|| {
                    invalid_response(
                        self.dialect.family,
                        format!("tool call fragment {index} arrived before the call's id and name"),
                    )
                })?
            };
            self.events.tool_input(block, function.arguments.as_deref().unwrap_or_default());
        }
        Ok(())
    }

    /// Ends the text part: text held back by the reasoning splitter is emitted.
    fn flush_text(&mut self) {
        if let Some(splitter) = &mut self.splitter {
            self.events.pieces(splitter.finish());
        }
    }
}

impl StreamDecoder for ChatCompletionDecoder {
    fn decode_chunk(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError> {
        let chunk: ChatCompletionChunk =
            parse_body(self.dialect.family, "the chat completion stream chunk", chunk)?;
        self.decode(&chunk)
    }
}

const GPT_OSS: ChatDialect = ChatDialect {
    family: Family::OpenAi,
    system_role: ChatRole::Developer,
    typed_tool_calls: true,
    tools: true,
    drop_history_reasoning: true,
    reasoning_tags: true,
};

/// OpenAI gpt-oss (`openai.gpt-oss-20b-1:0`, `openai.gpt-oss-120b-1:0`).
///
/// Earlier reasoning in the history (readable or redacted) is left out of the request, as OpenAI
/// advises for gpt-oss.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenAiAdapter;

impl NativeAdapter for OpenAiAdapter {
    fn family(&self) -> Family {
        Family::OpenAi
    }

    fn request_body(
        &self,
        _base_model_id: &str,
        request: &ChatRequest,
    ) -> Result<serde_json::Value, AdapterError> {
        check_body_request(Family::OpenAi, request)?;
        let family = Family::OpenAi;
        if request.top_k.is_some() {
            return Err(unsupported(family, "top_k"));
        }
        let tools = chat_tools(&request.tools);
        let tool_choice = match &request.tool_choice {
            None => None,
            Some(_) if tools.is_empty() => {
                return Err(invalid_request(family, "tool_choice needs at least one tool"));
            }
            Some(ToolChoice::Auto) => Some(ChatToolChoice::Mode("auto".into())),
            Some(ToolChoice::Any) => Some(ChatToolChoice::Mode("required".into())),
            Some(ToolChoice::Tool { name }) => Some(ChatToolChoice::Function {
                kind: "function".into(),
                function: ChatToolChoiceFunction { name: name.clone() },
            }),
        };
        let body = ChatCompletionRequest {
            messages: chat_messages(&GPT_OSS, request)?,
            max_completion_tokens: request.max_tokens,
            temperature: request.temperature.map(json_number),
            top_p: request.top_p.map(json_number),
            stop: request.stop_sequences.clone(),
            tools,
            tool_choice,
            ..ChatCompletionRequest::default()
        };
        to_body(family, &body)
    }

    fn parse_response(&self, body: &[u8]) -> Result<ChatResponse, AdapterError> {
        parse_chat_completion(&GPT_OSS, body)
    }

    fn stream_decoder(&self) -> Box<dyn StreamDecoder> {
        Box::new(ChatCompletionDecoder::new(GPT_OSS))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::chat::{Message, SystemBlock, collect_events};

    fn decode_all(adapter: &dyn NativeAdapter, chunks: &[serde_json::Value]) -> Vec<StreamEvent> {
        let mut decoder = adapter.stream_decoder();
        chunks
            .iter()
            .flat_map(|chunk| {
                decoder
                    .decode_chunk(chunk.to_string().as_bytes())
                    .expect("documented chunk decodes")
            })
            .collect()
    }

    #[test]
    fn request_follows_the_documented_chat_completion_body() {
        // model-parameters-openai: InvokeModel takes OpenAI's Create chat completion body; system
        // instructions are a `developer` message; max_completion_tokens ↔ maxTokens, stop,
        // temperature, top_p; `model` and `stream` may be omitted.
        let request = ChatRequest {
            system: vec![SystemBlock::Text { text: "You are a helpful assistant.".into() }],
            messages: vec![Message::user("Hello! How are you today?")],
            max_tokens: Some(150),
            temperature: Some(0.7),
            top_p: Some(0.9),
            stop_sequences: vec!["###".into()],
            ..ChatRequest::default()
        };
        let body = OpenAiAdapter.request_body("openai.gpt-oss-20b-1:0", &request).expect("body");
        assert_eq!(
            body,
            json!({
                "messages": [
                    {"role": "developer", "content": "You are a helpful assistant."},
                    {"role": "user", "content": "Hello! How are you today?"}
                ],
                "max_completion_tokens": 150,
                "temperature": 0.7,
                "top_p": 0.9,
                "stop": ["###"]
            })
        );
        let parsed: ChatCompletionRequest = serde_json::from_value(body).expect("round trip");
        assert_eq!(parsed.max_completion_tokens, Some(150));
    }

    #[test]
    fn tools_calls_and_results_use_openai_function_shapes() {
        let request = ChatRequest {
            messages: vec![
                Message::user("Weather in Paris?"),
                Message {
                    role: Role::Assistant,
                    content: vec![
                        ContentBlock::Reasoning { text: "Need the tool.".into(), signature: None },
                        ContentBlock::RedactedReasoning {
                            data:
                                "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"
                                    .into(),
                        },
                        ContentBlock::ToolUse {
                            id: "call_1".into(),
                            name: "get_weather".into(),
                            input: json!({"city": "Paris"}),
                        },
                    ],
                },
                Message {
                    role: Role::User,
                    content: vec![ContentBlock::ToolResult {
                        tool_use_id: "call_1".into(),
                        content: vec![ToolResultContent::Json { json: json!({"temp_c": 21}) }],
                        status: None,
                    }],
                },
            ],
            tools: vec![ToolSpec {
                name: "get_weather".into(),
                description: Some("Current weather".into()),
                input_schema: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
            }],
            tool_choice: Some(ToolChoice::Tool { name: "get_weather".into() }),
            ..ChatRequest::default()
        };
        let body = OpenAiAdapter.request_body("openai.gpt-oss-120b-1:0", &request).expect("body");
        assert_eq!(
            body["messages"][1],
            json!({"role": "assistant", "content": "", "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
            ]})
        );
        assert_eq!(
            body["messages"][2],
            json!({"role": "tool", "content": "{\"temp_c\":21}", "tool_call_id": "call_1"})
        );
        assert_eq!(body["tools"][0]["type"], "function");
        assert_eq!(body["tools"][0]["function"]["name"], "get_weather");
        assert_eq!(
            body["tool_choice"],
            json!({"type": "function", "function": {"name": "get_weather"}})
        );
    }

    #[test]
    fn what_gpt_oss_cannot_express_is_refused_by_name() {
        let mut request = ChatRequest::from_user_text("Hi");
        request.top_k = Some(5);
        assert_eq!(
            OpenAiAdapter.request_body("openai.gpt-oss-20b-1:0", &request),
            Err(AdapterError::Unsupported { family: Family::OpenAi, feature: "top_k".into() })
        );
        let image = ChatRequest {
            messages: vec![Message {
                role: Role::User,
                content: vec![ContentBlock::Image {
                    format: crate::chat::ImageFormat::Png,
                    data: vec![1, 2, 3].into(),
                }],
            }],
            ..ChatRequest::default()
        };
        assert_eq!(
            OpenAiAdapter.request_body("openai.gpt-oss-20b-1:0", &image),
            Err(AdapterError::Unsupported {
                family: Family::OpenAi,
                feature: "image input".into()
            })
        );
        let cached = ChatRequest {
            system: vec![SystemBlock::Text { text: "Be brief.".into() }, SystemBlock::CachePoint],
            ..ChatRequest::from_user_text("Hi")
        };
        assert!(matches!(
            OpenAiAdapter.request_body("openai.gpt-oss-20b-1:0", &cached),
            Err(AdapterError::Unsupported { feature, .. }) if feature.contains("cache points")
        ));
    }

    /// A chat completion object as the OpenAI page describes it for InvokeModel: reasoning inside
    /// `<reasoning>` tags before the answer, usage in the body.
    fn documented_response() -> serde_json::Value {
        json!({
            "id": "chatcmpl-6f2a9c1e",
            "object": "chat.completion",
            "created": 1754400000,
            "model": "openai.gpt-oss-20b-1:0",
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "<reasoning>The user greets me. Respond politely.</reasoning>Hello! I'm doing well, thanks. How can I help you today?"
                },
                "finish_reason": "stop"
            }],
            "usage": {"prompt_tokens": 28, "completion_tokens": 31, "total_tokens": 59}
        })
    }

    #[test]
    fn documented_response_splits_reasoning_from_the_answer() {
        let response = OpenAiAdapter
            .parse_response(documented_response().to_string().as_bytes())
            .expect("documented body parses");
        assert_eq!(
            response.content,
            vec![
                ContentBlock::Reasoning {
                    text: "The user greets me. Respond politely.".into(),
                    signature: None
                },
                ContentBlock::text("Hello! I'm doing well, thanks. How can I help you today?"),
            ]
        );
        assert_eq!(response.stop_reason, StopReason::EndTurn);
        assert_eq!(response.usage, Usage::new(28, 31));
    }

    #[test]
    fn streamed_chunks_fold_to_the_same_answer() {
        let chunk = |delta: serde_json::Value, finish: serde_json::Value| {
            json!({"id": "chatcmpl-6f2a9c1e", "object": "chat.completion.chunk", "created": 1754400000,
                   "model": "openai.gpt-oss-20b-1:0",
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        };
        let mut last = chunk(json!({}), json!("stop"));
        last["amazon-bedrock-invocationMetrics"] = json!({
            "inputTokenCount": 28, "outputTokenCount": 31, "invocationLatency": 812, "firstByteLatency": 240
        });
        let chunks = [
            chunk(json!({"role": "assistant", "content": ""}), json!(null)),
            chunk(json!({"content": "<reason"}), json!(null)),
            chunk(json!({"content": "ing>The user greets me. "}), json!(null)),
            chunk(json!({"content": "Respond politely.</reas"}), json!(null)),
            chunk(json!({"content": "oning>Hello! I'm doing well, thanks. "}), json!(null)),
            chunk(json!({"content": "How can I help you today?"}), json!(null)),
            last,
        ];
        let events = decode_all(&OpenAiAdapter, &chunks);
        let folded = collect_events(&events);
        let whole = OpenAiAdapter
            .parse_response(documented_response().to_string().as_bytes())
            .expect("parses");
        assert_eq!(folded.content, whole.content);
        assert_eq!(folded.stop_reason, whole.stop_reason);
        assert_eq!(folded.usage, Usage::new(28, 31));
        assert_eq!(folded.latency_ms, Some(812));
        assert_eq!(events.first(), Some(&StreamEvent::MessageStart { role: Role::Assistant }));
        assert_eq!(
            events.iter().filter(|e| matches!(e, StreamEvent::MessageStart { .. })).count(),
            1
        );
    }

    #[test]
    fn streamed_tool_call_fragments_rebuild_the_call() {
        let chunks = [
            json!({"choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [
                {"index": 0, "id": "call_9", "type": "function",
                 "function": {"name": "get_weather", "arguments": ""}}]}}]}),
            json!({"choices": [{"index": 0, "delta": {"tool_calls": [
                {"index": 0, "function": {"arguments": "{\"city\": "}}]}}]}),
            json!({"choices": [{"index": 0, "delta": {"tool_calls": [
                {"index": 0, "function": {"arguments": "\"Paris\"}"}}]}, "finish_reason": "tool_calls"}]}),
        ];
        let folded = collect_events(&decode_all(&OpenAiAdapter, &chunks));
        assert_eq!(
            folded.content,
            vec![ContentBlock::ToolUse {
                id: "call_9".into(),
                name: "get_weather".into(),
                input: json!({"city": "Paris"})
            }]
        );
        assert_eq!(folded.stop_reason, StopReason::ToolUse);

        let mut decoder = OpenAiAdapter.stream_decoder();
        let orphan = json!({"choices": [{"delta": {"tool_calls": [{"index": 3, "function": {"arguments": "{}"}}]}}]});
        assert!(matches!(
            decoder.decode_chunk(orphan.to_string().as_bytes()),
            Err(AdapterError::InvalidResponse { reason, .. }) if reason.contains("fragment 3")
        ));
    }

    #[test]
    fn malformed_bodies_are_invalid_responses_not_panics() {
        for body in
            [&b""[..], b"{", b"null", b"[]", b"{\"choices\": 3}", b"\xff\xfe", b"{\"choices\": []}"]
        {
            let error = OpenAiAdapter.parse_response(body).expect_err("malformed body");
            assert!(matches!(error, AdapterError::InvalidResponse { family: Family::OpenAi, .. }));
            let mut decoder = OpenAiAdapter.stream_decoder();
            if body != b"{\"choices\": []}" {
                assert!(decoder.decode_chunk(body).is_err());
            }
        }
        let error = OpenAiAdapter.parse_response(b"{\"choices\": []}").expect_err("empty choices");
        assert!(error.to_string().contains("empty `choices`"), "{error}");
        let error = OpenAiAdapter.parse_response(b"{\"id\": 1}").expect_err("wrong shape");
        assert!(error.to_string().contains("not the documented shape"), "{error}");
    }
}
