//! Chat Completions (`POST /v1/chat/completions`): the request and response bodies as the OpenAI
//! API reference defines them, and their mapping to quarry's [`ChatRequest`] / from [`ChatResponse`].
//!
//! How OpenAI's request maps onto Bedrock:
//! - `system` and `developer` messages, wherever they stand, become [`ChatRequest::system`] in order.
//! - Consecutive messages of the same Bedrock role are merged into one turn (Bedrock requires user
//!   and assistant to alternate); consecutive `tool` messages become one user turn of
//!   [`ContentBlock::ToolResult`]s, and a user message right after them joins that turn.
//! - Assistant `tool_calls` become [`ContentBlock::ToolUse`] blocks; their `arguments` string must
//!   hold a JSON object (an empty string counts as `{}`).
//! - Images must be data URLs (`data:image/png;base64,…`): Bedrock takes image bytes, not URLs.
//!   `detail` is ignored. Audio and file parts are refused.
//! - `tool_choice`: `auto` → auto, `required` → any tool, `{"type":"function",…}` → that tool,
//!   `none` → the tools are dropped from the request (Bedrock has no "none"). A conversation that
//!   already holds tool calls needs the tool definitions on Bedrock, so `none` is refused there.
//! - `max_completion_tokens` and the older `max_tokens` mean the same; setting both to different
//!   values is refused. `stop` may be a string or an array.
//! - Ignored, because they are hints that do not change what a valid answer is: `presence_penalty`,
//!   `frequency_penalty`, `seed` (OpenAI does not guarantee determinism either), `user`, `store`,
//!   `metadata`, `service_tier`, `prediction`, `prompt_cache_key`, `safety_identifier`, a message's
//!   `name`, `stream_options.include_obfuscation`, `image_url.detail`, and `function.strict` (tool
//!   arguments are not schema-guaranteed on Bedrock: validate them, as OpenAI advises anyway).
//! - Refused, because quarry cannot honour them: `n` other than 1, a non-empty `logit_bias`,
//!   `logprobs: true`, `top_logprobs` above 0, `response_format` `json_object` / `json_schema`,
//!   `modalities` other than text, `audio`, `web_search_options`, `reasoning_effort`,
//!   `parallel_tool_calls: false`, the deprecated `functions` / `function_call` (use `tools`), and
//!   any field OpenAI's API does not have (OpenAI refuses those too).
//! - `quarry` is quarry's own extension object, kept as JSON for the invoke function.
//!
//! On the way back, reasoning blocks are left out of `content` and exposed as the non-standard
//! message field `reasoning_content` (the name DeepSeek's and vLLM's OpenAI-compatible APIs use).

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::error::{OpenAiError, parse_body};
use crate::chat::types::json_kind;
use crate::chat::{
    ChatRequest, ChatResponse, ContentBlock, ImageFormat, Message, Role, StopReason, SystemBlock,
    ToolChoice, ToolResultContent, ToolSpec, Usage,
};

/// A `POST /v1/chat/completions` body.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatCompletionRequest {
    /// The model id or alias the client asked for.
    pub model: String,
    pub messages: Vec<ChatMessage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    /// Deprecated by OpenAI in favour of `max_completion_tokens`; both are accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Stop>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoiceOption>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptionsParam>,
    /// How many choices to generate; quarry generates one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// The end user's id; not sent to Bedrock (the invoke function may log it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logit_bias: Option<BTreeMap<String, f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_logprobs: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prediction: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_cache_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modalities: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_search_options: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<serde_json::Value>,
    /// Deprecated by OpenAI in favour of `tools`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub functions: Option<serde_json::Value>,
    /// Deprecated by OpenAI in favour of `tool_choice`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_call: Option<serde_json::Value>,
    /// quarry's extension object (e.g. retrieval options), interpreted by the invoke function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarry: Option<serde_json::Value>,
    /// Fields the OpenAI API does not define; any of them makes the request invalid.
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unrecognized: BTreeMap<String, serde_json::Value>,
}

/// The author of a message in an OpenAI conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageRole {
    System,
    Developer,
    User,
    Assistant,
    Tool,
}

/// One message of `messages`. The fields a role does not use are checked when mapping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: MessageRole,
    /// A string or an array of parts; `null` or absent on an assistant message with tool calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<MessageContent>,
    /// A participant name; Bedrock has no such field, so it is ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The calls an assistant message made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// The call a tool message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl ChatMessage {
    /// A message of `role` with plain-text content.
    pub fn text(role: MessageRole, text: impl Into<String>) -> Self {
        ChatMessage {
            role,
            content: Some(MessageContent::Text(text.into())),
            name: None,
            tool_calls: None,
            tool_call_id: None,
        }
    }
}

/// A message's content: a plain string or an array of typed parts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum MessageContent {
    Text(String),
    Parts(Vec<ContentPart>),
}

impl<'de> Deserialize<'de> for MessageContent {
    // By hand rather than `untagged`, so a bad part's error names its path (`content[1].type`).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ContentVisitor;
        impl<'de> Visitor<'de> for ContentVisitor {
            type Value = MessageContent;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of content parts")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                Ok(MessageContent::Text(text.to_owned()))
            }
            fn visit_string<E: de::Error>(self, text: String) -> Result<Self::Value, E> {
                Ok(MessageContent::Text(text))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut parts = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(part) = seq.next_element()? {
                    parts.push(part);
                }
                Ok(MessageContent::Parts(parts))
            }
        }
        deserializer.deserialize_any(ContentVisitor)
    }
}

/// The kind of a content part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentPartType {
    Text,
    ImageUrl,
    InputAudio,
    File,
    Refusal,
}

impl ContentPartType {
    fn as_str(self) -> &'static str {
        match self {
            ContentPartType::Text => "text",
            ContentPartType::ImageUrl => "image_url",
            ContentPartType::InputAudio => "input_audio",
            ContentPartType::File => "file",
            ContentPartType::Refusal => "refusal",
        }
    }
}

/// One part of an array content: `{"type":"text","text"}`, `{"type":"image_url","image_url":{…}}`,
/// `{"type":"refusal","refusal"}` (assistant), or audio and file parts, which quarry refuses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentPart {
    #[serde(rename = "type")]
    pub kind: ContentPartType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<ImageUrl>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
}

impl ContentPart {
    /// A `{"type":"text"}` part.
    pub fn text(text: impl Into<String>) -> Self {
        ContentPart {
            kind: ContentPartType::Text,
            text: Some(text.into()),
            image_url: None,
            refusal: None,
        }
    }

    /// An `{"type":"image_url"}` part.
    pub fn image_url(url: impl Into<String>) -> Self {
        ContentPart {
            kind: ContentPartType::ImageUrl,
            text: None,
            image_url: Some(ImageUrl { url: url.into(), detail: None }),
            refusal: None,
        }
    }
}

/// The image of an `image_url` part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageUrl {
    /// A data URL (`data:image/png;base64,…`); http(s) URLs are refused.
    pub url: String,
    /// `auto`, `low` or `high`; ignored on Bedrock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The only tool type quarry supports (OpenAI's `custom` tools have no Bedrock equivalent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolType {
    #[default]
    Function,
}

/// A function call made by the model: in an assistant message, or in a response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    #[serde(rename = "type", default)]
    pub kind: ToolType,
    pub function: FunctionCall,
}

/// The function a [`ToolCall`] calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionCall {
    pub name: String,
    /// The arguments as a JSON object serialized to a string.
    pub arguments: String,
}

/// A tool the model may call: `{"type":"function","function":{name, description, parameters}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    #[serde(rename = "type")]
    pub kind: ToolType,
    pub function: FunctionDefinition,
}

/// A function's name, description and JSON Schema of its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionDefinition {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments object; absent means no parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<serde_json::Value>,
    /// OpenAI's strict schema adherence; Bedrock cannot guarantee it, so it is ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// `tool_choice`: a mode string or a named function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    untagged,
    expecting = r#"expected "none", "auto", "required" or {"type": "function", "function": {"name": …}}"#
)]
pub enum ToolChoiceOption {
    Mode(ToolChoiceMode),
    Named(NamedToolChoice),
}

/// The string forms of `tool_choice`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolChoiceMode {
    None,
    Auto,
    Required,
}

/// `{"type":"function","function":{"name":…}}`: the model must call this function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedToolChoice {
    #[serde(rename = "type")]
    pub kind: ToolType,
    pub function: FunctionName,
}

/// A function named in [`NamedToolChoice`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionName {
    pub name: String,
}

/// `stop`: one sequence or several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged, expecting = "expected a string or an array of strings")]
pub enum Stop {
    One(String),
    Many(Vec<String>),
}

/// `response_format`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema { json_schema: serde_json::Value },
}

/// `stream_options` as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreamOptionsParam {
    /// Send one more chunk with `usage` (and `choices: []`) before `[DONE]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_usage: Option<bool>,
    /// OpenAI pads chunks against side channels; quarry never does, so this is ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_obfuscation: Option<bool>,
}

/// How the answer is to be delivered, decided from `stream` and `stream_options`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamOptions {
    /// Answer as server-sent `chat.completion.chunk` events.
    pub stream: bool,
    /// End the stream with a usage chunk (only when streaming).
    pub include_usage: bool,
}

impl ChatCompletionRequest {
    /// Parses a request body; a field of the wrong shape is an error naming its path.
    pub fn from_json(body: &[u8]) -> Result<Self, OpenAiError> {
        parse_body(body)
    }

    /// Maps the request onto quarry's: `(model, request, stream options)`. See the module docs for
    /// each rule; the result still goes through [`ChatRequest`] validation for the chosen model.
    pub fn to_chat_request(&self) -> Result<(String, ChatRequest, StreamOptions), OpenAiError> {
        self.check_parameters()?;
        let mut conversation = Conversation::default();
        for (index, message) in self.messages.iter().enumerate() {
            conversation.add(index, message)?;
        }
        let mut request = ChatRequest {
            system: conversation.system,
            messages: conversation.messages,
            max_tokens: self.max_output_tokens()?,
            temperature: self.temperature,
            top_p: self.top_p,
            top_k: None,
            stop_sequences: match &self.stop {
                None => Vec::new(),
                Some(Stop::One(stop)) => vec![stop.clone()],
                Some(Stop::Many(stops)) => stops.clone(),
            },
            tools: self.tools.iter().flatten().map(tool_spec).collect(),
            tool_choice: None,
            guardrail: None,
        };
        match &self.tool_choice {
            None | Some(ToolChoiceOption::Mode(ToolChoiceMode::Auto)) => {}
            Some(ToolChoiceOption::Mode(ToolChoiceMode::Required)) => {
                request.tool_choice = Some(ToolChoice::Any)
            }
            Some(ToolChoiceOption::Named(named)) => {
                request.tool_choice = Some(ToolChoice::Tool { name: named.function.name.clone() })
            }
            Some(ToolChoiceOption::Mode(ToolChoiceMode::None)) => {
                if has_tool_blocks(&request.messages) {
                    return Err(unsupported_value(
                        "tool_choice",
                        "`none` cannot be honoured in a conversation that already holds tool calls: \
                         Bedrock needs the tool definitions then and has no way to forbid calling \
                         them; use `auto`",
                    ));
                }
                request.tools.clear();
            }
        }
        let stream = self.stream.unwrap_or(false);
        let include_usage =
            stream && self.stream_options.and_then(|o| o.include_usage).unwrap_or(false);
        Ok((self.model.clone(), request, StreamOptions { stream, include_usage }))
    }

    /// Refuses fields quarry cannot honour (see the module docs for the list and the reasons).
    fn check_parameters(&self) -> Result<(), OpenAiError> {
        if let Some(param) = self.unrecognized.keys().next() {
            return Err(OpenAiError::UnrecognizedParameter { param: param.clone() });
        }
        if let Some(n) = self.n.filter(|&n| n != 1) {
            return Err(unsupported_value(
                "n",
                format!("quarry generates one choice, got n = {n}"),
            ));
        }
        if self.logit_bias.as_ref().is_some_and(|bias| !bias.is_empty()) {
            return Err(unsupported_value(
                "logit_bias",
                "Bedrock models take no token biases; send an empty object or leave it out",
            ));
        }
        if self.logprobs == Some(true) {
            return Err(unsupported_value("logprobs", "Bedrock returns no log probabilities"));
        }
        if self.top_logprobs.is_some_and(|n| n > 0) {
            return Err(unsupported_value("top_logprobs", "Bedrock returns no log probabilities"));
        }
        match &self.response_format {
            None | Some(ResponseFormat::Text) => {}
            Some(ResponseFormat::JsonObject) => {
                return Err(unsupported_value(
                    "response_format",
                    "`json_object` (JSON mode) cannot be guaranteed on Bedrock; ask for JSON in the \
                     prompt, or define a tool whose parameters are the JSON you want",
                ));
            }
            Some(ResponseFormat::JsonSchema { .. }) => {
                return Err(unsupported_value(
                    "response_format",
                    "`json_schema` (structured outputs) cannot be guaranteed on Bedrock; define a \
                     tool with that schema as its parameters and force it with tool_choice",
                ));
            }
        }
        if let Some(modality) =
            self.modalities.iter().flatten().find(|modality| modality.as_str() != "text")
        {
            return Err(unsupported_value(
                "modalities",
                format!("quarry answers in text only, not `{modality}`"),
            ));
        }
        if self.parallel_tool_calls == Some(false) {
            return Err(unsupported_value(
                "parallel_tool_calls",
                "Bedrock cannot be told to make at most one tool call; leave it out",
            ));
        }
        let unsupported = [
            ("audio", self.audio.is_some(), "quarry answers in text only"),
            (
                "web_search_options",
                self.web_search_options.is_some(),
                "Bedrock models have no built-in web search",
            ),
            (
                "reasoning_effort",
                self.reasoning_effort.is_some(),
                "reasoning is configured per model by quarry, not per request",
            ),
            ("functions", self.functions.is_some(), "it is deprecated; use `tools`"),
            ("function_call", self.function_call.is_some(), "it is deprecated; use `tool_choice`"),
        ];
        if let Some((param, _, reason)) = unsupported.into_iter().find(|(_, set, _)| *set) {
            return Err(OpenAiError::UnsupportedParameter {
                param: param.to_owned(),
                reason: reason.to_owned(),
            });
        }
        Ok(())
    }

    /// `max_completion_tokens`, or the older `max_tokens`; both set must agree.
    fn max_output_tokens(&self) -> Result<Option<u32>, OpenAiError> {
        match (self.max_completion_tokens, self.max_tokens) {
            (Some(new), Some(old)) if new != old => Err(OpenAiError::InvalidValue {
                param: "max_tokens".into(),
                reason: format!(
                    "max_tokens ({old}) and max_completion_tokens ({new}) disagree; set only max_completion_tokens"
                ),
            }),
            (new, old) => Ok(new.or(old)),
        }
    }
}

fn unsupported_value(param: &str, reason: impl Into<String>) -> OpenAiError {
    OpenAiError::UnsupportedValue { param: param.to_owned(), reason: reason.into() }
}

fn tool_spec(tool: &Tool) -> ToolSpec {
    let function = &tool.function;
    ToolSpec {
        name: function.name.clone(),
        description: function.description.clone(),
        input_schema: function
            .parameters
            .clone()
            .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}})),
    }
}

fn has_tool_blocks(messages: &[Message]) -> bool {
    messages.iter().flat_map(|m| &m.content).any(|block| {
        matches!(block, ContentBlock::ToolUse { .. } | ContentBlock::ToolResult { .. })
    })
}

/// The Bedrock conversation being built from OpenAI messages.
#[derive(Default)]
struct Conversation {
    system: Vec<SystemBlock>,
    messages: Vec<Message>,
}

impl Conversation {
    fn add(&mut self, index: usize, message: &ChatMessage) -> Result<(), OpenAiError> {
        let path = format!("messages[{index}]");
        self.check_fields(&path, message)?;
        match message.role {
            MessageRole::System | MessageRole::Developer => {
                for text in texts(&path, message, false)? {
                    if !text.is_empty() {
                        self.system.push(SystemBlock::Text { text });
                    }
                }
            }
            MessageRole::User => {
                let blocks = user_blocks(&path, message.content.as_ref())?;
                self.push(Role::User, blocks);
            }
            MessageRole::Assistant => {
                let mut blocks: Vec<ContentBlock> = texts(&path, message, true)?
                    .into_iter()
                    .filter(|text| !text.is_empty())
                    .map(ContentBlock::text)
                    .collect();
                for (j, call) in message.tool_calls.iter().flatten().enumerate() {
                    let param = format!("{path}.tool_calls[{j}].function.arguments");
                    blocks.push(ContentBlock::ToolUse {
                        id: call.id.clone(),
                        name: call.function.name.clone(),
                        input: tool_arguments(&param, &call.function.arguments)?,
                    });
                }
                if blocks.is_empty() {
                    return Err(OpenAiError::InvalidValue {
                        param: format!("{path}.content"),
                        reason: "an assistant message needs non-empty content or tool_calls".into(),
                    });
                }
                self.push(Role::Assistant, blocks);
            }
            MessageRole::Tool => {
                let tool_use_id = message.tool_call_id.clone().unwrap_or_default();
                let content = texts(&path, message, false)?
                    .into_iter()
                    .map(|text| ToolResultContent::Text { text })
                    .collect();
                self.push(
                    Role::User,
                    vec![ContentBlock::ToolResult { tool_use_id, content, status: None }],
                );
            }
        }
        Ok(())
    }

    /// Checks the fields that only some roles may (or must) have.
    fn check_fields(&self, path: &str, message: &ChatMessage) -> Result<(), OpenAiError> {
        let invalid = |field: &str, reason: &str| OpenAiError::InvalidValue {
            param: format!("{path}.{field}"),
            reason: reason.to_owned(),
        };
        let role = message.role;
        if message.tool_calls.is_some() && role != MessageRole::Assistant {
            return Err(invalid("tool_calls", "only assistant messages carry tool_calls"));
        }
        let has_call_id = message.tool_call_id.as_deref().is_some_and(|id| !id.is_empty());
        if role == MessageRole::Tool && !has_call_id {
            return Err(invalid(
                "tool_call_id",
                "a tool message needs the id of the tool call it answers",
            ));
        }
        if role != MessageRole::Tool && message.tool_call_id.is_some() {
            return Err(invalid("tool_call_id", "only tool messages carry tool_call_id"));
        }
        if role != MessageRole::Assistant && message.content.is_none() {
            return Err(invalid(
                "content",
                "expected a string or an array of content parts, got none",
            ));
        }
        Ok(())
    }

    /// Appends blocks to the last turn when it has the same role, else starts a new turn.
    fn push(&mut self, role: Role, blocks: Vec<ContentBlock>) {
        match self.messages.last_mut() {
            Some(last) if last.role == role => last.content.extend(blocks),
            _ => self.messages.push(Message { role, content: blocks }),
        }
    }
}

/// The texts of a message that may hold only text (`refusal` parts too when `refusals`).
fn texts(path: &str, message: &ChatMessage, refusals: bool) -> Result<Vec<String>, OpenAiError> {
    let role = message.role;
    match &message.content {
        None => Ok(Vec::new()),
        Some(MessageContent::Text(text)) => Ok(vec![text.clone()]),
        Some(MessageContent::Parts(parts)) => parts
            .iter()
            .enumerate()
            .map(|(i, part)| {
                let part_path = format!("{path}.content[{i}]");
                match part.kind {
                    ContentPartType::Text => part_text(&part_path, part),
                    ContentPartType::Refusal if refusals => {
                        part.refusal.clone().ok_or_else(|| missing(&part_path, "refusal"))
                    }
                    other => Err(OpenAiError::UnsupportedContentPart {
                        param: format!("{part_path}.type"),
                        reason: format!(
                            "{} messages take only text parts, not `{}`",
                            role_name(role),
                            other.as_str()
                        ),
                    }),
                }
            })
            .collect(),
    }
}

fn user_blocks(
    path: &str,
    content: Option<&MessageContent>,
) -> Result<Vec<ContentBlock>, OpenAiError> {
    match content {
        None => Ok(Vec::new()),
        Some(MessageContent::Text(text)) => Ok(vec![ContentBlock::text(text.clone())]),
        Some(MessageContent::Parts(parts)) => parts
            .iter()
            .enumerate()
            .map(|(i, part)| {
                let part_path = format!("{path}.content[{i}]");
                match part.kind {
                    ContentPartType::Text => part_text(&part_path, part).map(ContentBlock::text),
                    ContentPartType::ImageUrl => {
                        let image = part.image_url.as_ref().ok_or_else(|| missing(&part_path, "image_url"))?;
                        image_block(&format!("{part_path}.image_url.url"), &image.url)
                    }
                    ContentPartType::InputAudio | ContentPartType::File => {
                        Err(OpenAiError::UnsupportedContentPart {
                            param: format!("{part_path}.type"),
                            reason: format!(
                                "`{}` parts are not supported; quarry sends text and images to Bedrock",
                                part.kind.as_str()
                            ),
                        })
                    }
                    ContentPartType::Refusal => Err(OpenAiError::UnsupportedContentPart {
                        param: format!("{part_path}.type"),
                        reason: "`refusal` parts belong in assistant messages".into(),
                    }),
                }
            })
            .collect(),
    }
}

fn part_text(path: &str, part: &ContentPart) -> Result<String, OpenAiError> {
    part.text.clone().ok_or_else(|| missing(path, "text"))
}

fn missing(path: &str, field: &str) -> OpenAiError {
    OpenAiError::InvalidValue {
        param: format!("{path}.{field}"),
        reason: format!("a `{field}` part needs its `{field}` field"),
    }
}

fn role_name(role: MessageRole) -> &'static str {
    match role {
        MessageRole::System => "system",
        MessageRole::Developer => "developer",
        MessageRole::User => "user",
        MessageRole::Assistant => "assistant",
        MessageRole::Tool => "tool",
    }
}

/// An image block from a `data:image/<format>;base64,<data>` URL.
fn image_block(path: &str, url: &str) -> Result<ContentBlock, OpenAiError> {
    let invalid = |reason: String| OpenAiError::InvalidValue { param: path.to_owned(), reason };
    let Some(rest) = strip_prefix_ignore_case(url.trim_start(), "data:") else {
        let lower = url.trim_start().to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return Err(OpenAiError::RemoteImageUrl { param: path.to_owned() });
        }
        return Err(invalid("expected a data URL such as `data:image/png;base64,...`".to_owned()));
    };
    let Some((header, data)) = rest.split_once(',') else {
        return Err(invalid("a data URL needs a `,` before its data".to_owned()));
    };
    let mut params = header.split(';');
    let media_type = params.next().unwrap_or_default().trim();
    if !params.any(|p| p.trim().eq_ignore_ascii_case("base64")) {
        return Err(invalid("expected base64 data (`data:image/png;base64,...`)".to_owned()));
    }
    let format = ImageFormat::from_media_type(media_type)
        .filter(|_| media_type.to_ascii_lowercase().starts_with("image/"))
        .ok_or_else(|| {
            invalid(format!(
                "`{media_type}` is not an image type Bedrock accepts; use image/png, image/jpeg, image/gif or image/webp"
            ))
        })?;
    let cleaned: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cleaned.as_bytes())
        .map_err(|err| invalid(format!("the image data is not valid base64: {err}")))?;
    if bytes.is_empty() {
        return Err(invalid("the image data is empty".to_owned()));
    }
    Ok(ContentBlock::Image { format, data: bytes.into() })
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

/// Parses a tool call's `arguments` string into the JSON object Bedrock takes as tool input.
fn tool_arguments(path: &str, arguments: &str) -> Result<serde_json::Value, OpenAiError> {
    if arguments.trim().is_empty() {
        return Ok(serde_json::json!({}));
    }
    let invalid =
        |reason: String| OpenAiError::InvalidToolArguments { param: path.to_owned(), reason };
    match serde_json::from_str::<serde_json::Value>(arguments) {
        Ok(value @ serde_json::Value::Object(_)) => Ok(value),
        Ok(other) => Err(invalid(format!("got {}", json_kind(&other)))),
        Err(err) => Err(invalid(err.to_string())),
    }
}

/// What every response and chunk of one completion shares: id, creation time and model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletionMeta {
    /// `chatcmpl-<request id>`.
    pub id: String,
    /// Unix seconds.
    pub created: u64,
    /// The model as the client named it.
    pub model: String,
}

impl CompletionMeta {
    /// Meta for the completion of request `request_id` (prefixed `chatcmpl-` unless it already is).
    pub fn new(request_id: &str, created: u64, model: impl Into<String>) -> Self {
        let id = if request_id.starts_with("chatcmpl-") {
            request_id.to_owned()
        } else {
            format!("chatcmpl-{request_id}")
        };
        CompletionMeta { id, created, model: model.into() }
    }
}

/// Why a choice ended, in OpenAI's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    Stop,
    Length,
    ToolCalls,
    ContentFilter,
}

impl From<StopReason> for FinishReason {
    /// `end_turn`/`stop_sequence` → `stop`; `max_tokens` and a full context window → `length`;
    /// `tool_use` → `tool_calls`; guardrail or content filter → `content_filter`. Malformed output
    /// and reasons quarry does not know end as `stop`: OpenAI has no finish reason for them.
    fn from(reason: StopReason) -> Self {
        match reason {
            StopReason::EndTurn | StopReason::StopSequence => FinishReason::Stop,
            StopReason::MaxTokens | StopReason::ModelContextWindowExceeded => FinishReason::Length,
            StopReason::ToolUse => FinishReason::ToolCalls,
            StopReason::GuardrailIntervened | StopReason::ContentFiltered => {
                FinishReason::ContentFilter
            }
            StopReason::MalformedModelOutput
            | StopReason::MalformedToolUse
            | StopReason::Unknown => FinishReason::Stop,
        }
    }
}

/// The `usage` object of a completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletionUsage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub total_tokens: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens_details: Option<PromptTokensDetails>,
}

/// The breakdown of `prompt_tokens`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptTokensDetails {
    /// Prompt tokens read from the prompt cache.
    pub cached_tokens: u32,
}

impl From<&Usage> for CompletionUsage {
    /// OpenAI counts cached tokens inside `prompt_tokens`; Bedrock reports them beside
    /// `inputTokens`, so prompt tokens are input + cache reads + cache writes.
    fn from(usage: &Usage) -> Self {
        let cached = usage.cache_read_input_tokens.unwrap_or(0);
        let prompt = usage
            .input_tokens
            .saturating_add(cached)
            .saturating_add(usage.cache_write_input_tokens.unwrap_or(0));
        CompletionUsage {
            prompt_tokens: prompt,
            completion_tokens: usage.output_tokens,
            total_tokens: prompt.saturating_add(usage.output_tokens),
            prompt_tokens_details: Some(PromptTokensDetails { cached_tokens: cached }),
        }
    }
}

/// A `chat.completion` object: the non-streaming answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletion {
    pub id: String,
    /// Always `chat.completion`.
    pub object: String,
    pub created: u64,
    pub model: String,
    pub choices: Vec<Choice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<CompletionUsage>,
}

/// One choice of a [`ChatCompletion`]; quarry always answers with one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub index: u32,
    pub message: ResponseMessage,
    /// Always `null`: Bedrock returns no log probabilities.
    pub logprobs: Option<serde_json::Value>,
    pub finish_reason: FinishReason,
}

/// The assistant message of a [`Choice`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseMessage {
    /// Always `assistant`.
    pub role: String,
    /// The answer's text blocks joined with newlines; `null` when the answer is only tool calls.
    pub content: Option<String>,
    /// Always `null`: refusals come back as text or as `content_filter`.
    pub refusal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// Non-standard: the model's reasoning text, kept out of `content`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
}

impl ChatCompletion {
    /// The `chat.completion` for `response`.
    pub fn from_response(meta: &CompletionMeta, response: &ChatResponse) -> Self {
        let mut texts = Vec::new();
        let mut reasoning = Vec::new();
        let mut tool_calls = Vec::new();
        for block in &response.content {
            match block {
                ContentBlock::Text { text } => texts.push(text.as_str()),
                ContentBlock::Reasoning { text, .. } => reasoning.push(text.as_str()),
                ContentBlock::ToolUse { id, name, input } => tool_calls.push(ToolCall {
                    id: id.clone(),
                    kind: ToolType::Function,
                    function: FunctionCall { name: name.clone(), arguments: input.to_string() },
                }),
                _ => {}
            }
        }
        let content = (!texts.is_empty() || tool_calls.is_empty()).then(|| texts.join("\n"));
        let message = ResponseMessage {
            role: "assistant".to_owned(),
            content,
            refusal: None,
            tool_calls: (!tool_calls.is_empty()).then_some(tool_calls),
            reasoning_content: (!reasoning.is_empty()).then(|| reasoning.join("\n")),
        };
        ChatCompletion {
            id: meta.id.clone(),
            object: "chat.completion".to_owned(),
            created: meta.created,
            model: meta.model.clone(),
            choices: vec![Choice {
                index: 0,
                message,
                logprobs: None,
                finish_reason: response.stop_reason.into(),
            }],
            usage: Some(CompletionUsage::from(&response.usage)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::{ChatResponse, ToolResultStatus};
    use serde_json::json;

    fn parse(body: serde_json::Value) -> ChatCompletionRequest {
        ChatCompletionRequest::from_json(body.to_string().as_bytes()).expect("a valid request body")
    }

    fn map(body: serde_json::Value) -> Result<(String, ChatRequest, StreamOptions), OpenAiError> {
        parse(body).to_chat_request()
    }

    fn mapped(body: serde_json::Value) -> ChatRequest {
        map(body).expect("maps onto a ChatRequest").1
    }

    fn error(body: serde_json::Value) -> OpenAiError {
        match ChatCompletionRequest::from_json(body.to_string().as_bytes()) {
            Ok(request) => request.to_chat_request().expect_err("the request is refused"),
            Err(err) => err,
        }
    }

    /// A 1x1 PNG's first bytes, as a data URL.
    const PNG_DATA_URL: &str = "data:image/png;base64,iVBORw0KGgo=";
    const PNG_BYTES: [u8; 8] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

    /// The "Default" request example of the OpenAI API reference
    /// (https://platform.openai.com/docs/api-reference/chat/create).
    #[test]
    fn the_reference_default_request_maps_developer_text_to_system() {
        let (model, request, stream) = map(json!({
          "model": "gpt-4.1",
          "messages": [
            {"role": "developer", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Hello!"}
          ]
        }))
        .expect("maps");
        assert_eq!(model, "gpt-4.1");
        assert_eq!(
            request.system,
            vec![SystemBlock::Text { text: "You are a helpful assistant.".into() }]
        );
        assert_eq!(request.messages, vec![Message::user("Hello!")]);
        assert_eq!(stream, StreamOptions { stream: false, include_usage: false });
        assert_eq!(request.max_tokens, None);
        assert!(request.tools.is_empty() && request.tool_choice.is_none());
    }

    /// The "Functions" request example of the OpenAI API reference.
    #[test]
    fn the_reference_functions_request_maps_tools_and_auto_choice() {
        let request = mapped(json!({
          "model": "gpt-4.1",
          "messages": [{"role": "user", "content": "What is the weather like in Boston today?"}],
          "tools": [{
            "type": "function",
            "function": {
              "name": "get_current_weather",
              "description": "Get the current weather in a given location",
              "parameters": {
                "type": "object",
                "properties": {
                  "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                  "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}
                },
                "required": ["location"]
              }
            }
          }],
          "tool_choice": "auto"
        }));
        assert_eq!(request.tools.len(), 1);
        let tool = &request.tools[0];
        assert_eq!(tool.name, "get_current_weather");
        assert_eq!(
            tool.description.as_deref(),
            Some("Get the current weather in a given location")
        );
        assert_eq!(tool.input_schema["required"], json!(["location"]));
        assert_eq!(request.tool_choice, None, "auto is Bedrock's default");
    }

    /// The "Image input" request example of the OpenAI API reference uses an https URL: Bedrock
    /// needs the bytes, so quarry refuses it and names the field; the same image inline works.
    #[test]
    fn images_must_be_data_urls() {
        let mut body = json!({
          "model": "gpt-4.1",
          "messages": [{
            "role": "user",
            "content": [
              {"type": "text", "text": "What is in this image?"},
              {"type": "image_url", "image_url": {"url": "https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/Gfp-wisconsin-madison-the-nature-boardwalk.jpg/2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg"}}
            ]
          }],
          "max_tokens": 300
        });
        let err = error(body.clone());
        assert_eq!(
            err,
            OpenAiError::RemoteImageUrl { param: "messages[0].content[1].image_url.url".into() }
        );
        assert!(err.to_string().contains("only data URLs"), "{err}");

        body["messages"][0]["content"][1]["image_url"] =
            json!({"url": PNG_DATA_URL, "detail": "high"});
        let request = mapped(body);
        assert_eq!(request.max_tokens, Some(300));
        assert_eq!(
            request.messages[0].content,
            vec![
                ContentBlock::text("What is in this image?"),
                ContentBlock::Image { format: ImageFormat::Png, data: PNG_BYTES.to_vec().into() }
            ]
        );
    }

    #[test]
    fn malformed_data_urls_are_refused_with_the_reason() {
        let cases = [
            ("data:image/png,iVBORw0KGgo=", "base64"),
            ("data:image/png;base64", "`,`"),
            ("data:image/tiff;base64,iVBORw0KGgo=", "image/tiff"),
            ("data:text/plain;base64,aGVsbG8=", "text/plain"),
            ("data:image/png;base64,not base64!", "not valid base64"),
            ("data:image/png;base64,", "empty"),
            ("ftp://example.com/cat.png", "data URL"),
        ];
        for (url, reason) in cases {
            let err = error(json!({"model": "m", "messages": [
                {"role": "user", "content": "look"},
                {"role": "assistant", "content": "ok"},
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}
            ]}));
            assert_eq!(err.param(), Some("messages[2].content[0].image_url.url"), "{url}");
            assert!(err.to_string().contains(reason), "{url}: {err}");
        }
        // Upper-case scheme and JPEG aliases are fine.
        let request = mapped(json!({"model": "m", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "DATA:image/JPG;BASE64,iVBORw0KGgo="}}
        ]}]}));
        assert!(matches!(
            request.messages[0].content[0],
            ContentBlock::Image { format: ImageFormat::Jpeg, .. }
        ));
    }

    /// A tool round trip as the OpenAI function-calling guide sends it: two parallel calls, two
    /// tool messages, then a user message. Tool messages and the user text form one user turn.
    #[test]
    fn a_tool_round_trip_becomes_alternating_bedrock_turns() {
        let request = mapped(json!({
          "model": "m",
          "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris and Bogotá?"},
            {"role": "assistant", "content": null, "tool_calls": [
              {"id": "call_12345xyz", "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris, France\"}"}},
              {"id": "call_67890abc", "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\":\"Bogotá, Colombia\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_12345xyz", "content": "14"},
            {"role": "tool", "tool_call_id": "call_67890abc", "content": [{"type": "text", "text": "18"}]},
            {"role": "user", "content": "And in Kelvin?"}
          ],
          "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}}]
        }));
        assert_eq!(request.system_text().as_deref(), Some("Be brief."));
        let roles: Vec<Role> = request.messages.iter().map(|m| m.role).collect();
        assert_eq!(roles, [Role::User, Role::Assistant, Role::User]);
        assert_eq!(
            request.messages[1].content,
            vec![
                ContentBlock::ToolUse {
                    id: "call_12345xyz".into(),
                    name: "get_weather".into(),
                    input: json!({"location": "Paris, France"})
                },
                ContentBlock::ToolUse {
                    id: "call_67890abc".into(),
                    name: "get_weather".into(),
                    input: json!({"location": "Bogotá, Colombia"})
                },
            ]
        );
        let result = |id: &str, text: &str| ContentBlock::ToolResult {
            tool_use_id: id.into(),
            content: vec![ToolResultContent::Text { text: text.into() }],
            status: None::<ToolResultStatus>,
        };
        assert_eq!(
            request.messages[2].content,
            vec![
                result("call_12345xyz", "14"),
                result("call_67890abc", "18"),
                ContentBlock::text("And in Kelvin?")
            ]
        );
    }

    #[test]
    fn consecutive_same_role_messages_merge_and_system_text_is_hoisted() {
        let request = mapped(json!({"model": "m", "messages": [
            {"role": "system", "content": [{"type": "text", "text": "Rule one."}, {"type": "text", "text": "Rule two."}]},
            {"role": "user", "content": "first"},
            {"role": "user", "content": [{"type": "text", "text": "second"}]},
            {"role": "assistant", "content": "answer"},
            {"role": "assistant", "content": [{"type": "text", "text": "more"}, {"type": "refusal", "refusal": "no"}]},
            {"role": "developer", "content": "Late rule."},
            {"role": "user", "content": "third"}
        ]}));
        assert_eq!(
            request.system,
            ["Rule one.", "Rule two.", "Late rule."]
                .map(|t| SystemBlock::Text { text: t.into() })
                .to_vec()
        );
        assert_eq!(
            request.messages,
            vec![
                Message {
                    role: Role::User,
                    content: vec![ContentBlock::text("first"), ContentBlock::text("second")]
                },
                Message {
                    role: Role::Assistant,
                    content: vec![
                        ContentBlock::text("answer"),
                        ContentBlock::text("more"),
                        ContentBlock::text("no")
                    ]
                },
                Message::user("third"),
            ]
        );
    }

    #[test]
    fn empty_assistant_text_beside_tool_calls_is_dropped_and_empty_arguments_are_an_empty_object() {
        let request = mapped(json!({"model": "m", "messages": [
            {"role": "user", "content": "time?"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "now", "arguments": ""}}
            ]},
            {"role": "tool", "tool_call_id": "c1", "content": "12:00"}
        ], "tools": [{"type": "function", "function": {"name": "now"}}]}));
        assert_eq!(
            request.messages[1].content,
            vec![ContentBlock::ToolUse { id: "c1".into(), name: "now".into(), input: json!({}) }]
        );
        assert_eq!(request.tools[0].input_schema, json!({"type": "object", "properties": {}}));
    }

    #[test]
    fn tool_call_arguments_must_be_a_json_object_and_errors_name_the_call() {
        for (arguments, reason) in
            [("{\"city\": ", "EOF"), ("[1, 2]", "an array"), ("\"Paris\"", "a string")]
        {
            let err = error(json!({"model": "m", "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "tool_calls": [
                    {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                    {"id": "b", "type": "function", "function": {"name": "f", "arguments": arguments}}
                ]}
            ]}));
            assert!(matches!(err, OpenAiError::InvalidToolArguments { .. }), "{err:?}");
            assert_eq!(err.param(), Some("messages[1].tool_calls[1].function.arguments"));
            assert!(err.to_string().contains(reason), "{arguments}: {err}");
        }
    }

    #[test]
    fn tool_choice_maps_to_bedrocks_choices_and_none_drops_the_tools() {
        let body = |choice: serde_json::Value| {
            json!({
                "model": "m",
                "messages": [{"role": "user", "content": "hi"}],
                "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}],
                "tool_choice": choice
            })
        };
        assert_eq!(mapped(body(json!("required"))).tool_choice, Some(ToolChoice::Any));
        assert_eq!(
            mapped(body(json!({"type": "function", "function": {"name": "lookup"}}))).tool_choice,
            Some(ToolChoice::Tool { name: "lookup".into() })
        );
        let none = mapped(body(json!("none")));
        assert!(none.tools.is_empty() && none.tool_choice.is_none(), "{none:?}");

        let mut with_history = body(json!("none"));
        with_history["messages"] = json!([
            {"role": "user", "content": "hi"},
            {"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c", "content": "found"}
        ]);
        let err = error(with_history);
        assert_eq!(err.param(), Some("tool_choice"));
        assert!(err.to_string().contains("use `auto`"), "{err}");

        let err = error(body(json!("sometimes")));
        assert_eq!(err.param(), Some("tool_choice"));
        assert!(err.to_string().contains("\"required\""), "{err}");
    }

    #[test]
    fn sampling_limits_stop_and_stream_options_map() {
        let (_, request, stream) = map(json!({
            "model": "m",
            "messages": [{"role": "user", "content": "hi"}],
            "temperature": 0.2, "top_p": 0.9, "max_completion_tokens": 64, "max_tokens": 64,
            "stop": "\n\n", "stream": true, "stream_options": {"include_usage": true},
            "n": 1, "user": "user-1234", "seed": 7, "presence_penalty": 0.5, "frequency_penalty": 0.1,
            "logit_bias": {}, "logprobs": false, "response_format": {"type": "text"},
            "parallel_tool_calls": true, "modalities": ["text"], "store": false,
            "metadata": {"team": "search"}, "service_tier": "auto",
            "quarry": {"retrieval": {"top_k": 4}}
        }))
        .expect("maps");
        assert_eq!(request.temperature, Some(0.2));
        assert_eq!(request.top_p, Some(0.9));
        assert_eq!(request.max_tokens, Some(64));
        assert_eq!(request.stop_sequences, vec!["\n\n".to_string()]);
        assert_eq!(stream, StreamOptions { stream: true, include_usage: true });

        let (_, request, stream) = map(json!({
            "model": "m", "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 10, "stop": ["END", "STOP"], "stream_options": {"include_usage": true}
        }))
        .expect("maps");
        assert_eq!(request.max_tokens, Some(10));
        assert_eq!(request.stop_sequences, vec!["END".to_string(), "STOP".to_string()]);
        assert_eq!(
            stream,
            StreamOptions { stream: false, include_usage: false },
            "usage chunks only when streaming"
        );

        let err = error(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 10, "max_completion_tokens": 20}));
        assert_eq!(err.param(), Some("max_tokens"));
    }

    #[test]
    fn the_quarry_extension_is_kept_for_the_invoke_function() {
        let request = parse(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}],
            "quarry": {"retrieval": {"store": "docs", "top_k": 4}}}));
        assert_eq!(request.quarry, Some(json!({"retrieval": {"store": "docs", "top_k": 4}})));
    }

    #[test]
    fn parameters_that_change_the_answer_are_refused_naming_the_parameter() {
        let cases = [
            (json!({"n": 2}), "n"),
            (json!({"logit_bias": {"50256": -100}}), "logit_bias"),
            (json!({"logprobs": true}), "logprobs"),
            (json!({"top_logprobs": 3}), "top_logprobs"),
            (json!({"response_format": {"type": "json_object"}}), "response_format"),
            (
                json!({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}}),
                "response_format",
            ),
            (json!({"modalities": ["text", "audio"]}), "modalities"),
            (json!({"audio": {"voice": "alloy", "format": "wav"}}), "audio"),
            (json!({"web_search_options": {}}), "web_search_options"),
            (json!({"reasoning_effort": "high"}), "reasoning_effort"),
            (json!({"parallel_tool_calls": false}), "parallel_tool_calls"),
            (json!({"functions": [{"name": "f"}]}), "functions"),
            (json!({"function_call": "auto"}), "function_call"),
            (json!({"top_k": 5}), "top_k"),
        ];
        for (extra, param) in cases {
            let mut body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
            for (key, value) in extra.as_object().expect("an object") {
                body[key] = value.clone();
            }
            let err = error(body);
            assert_eq!(err.param(), Some(param), "{err}");
            assert!(err.to_string().starts_with(&format!("{param}: ")), "{err}");
        }
        let err = error(
            json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "temprature": 0.5}),
        );
        assert_eq!(err, OpenAiError::UnrecognizedParameter { param: "temprature".into() });
        assert_eq!(
            err.to_string(),
            "temprature: Unrecognized request argument supplied: temprature"
        );
        assert!(
            error(
                json!({"model": "m", "messages": [], "response_format": {"type": "json_object"}})
            )
            .to_string()
            .contains("tool")
        );
    }

    #[test]
    fn content_parts_quarry_cannot_send_are_refused_naming_the_part() {
        let cases = [
            (
                json!({"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "UklGR", "format": "wav"}}]}),
                "messages[0].content[0].type",
            ),
            (
                json!({"role": "user", "content": [{"type": "file", "file": {"file_id": "file-abc"}}]}),
                "messages[0].content[0].type",
            ),
            (
                json!({"role": "system", "content": [{"type": "image_url", "image_url": {"url": PNG_DATA_URL}}]}),
                "messages[0].content[0].type",
            ),
            (
                json!({"role": "tool", "tool_call_id": "c", "content": [{"type": "image_url", "image_url": {"url": PNG_DATA_URL}}]}),
                "messages[0].content[0].type",
            ),
            (
                json!({"role": "user", "content": [{"type": "refusal", "refusal": "no"}]}),
                "messages[0].content[0].type",
            ),
            (json!({"role": "user", "content": [{"type": "text"}]}), "messages[0].content[0].text"),
            (
                json!({"role": "user", "content": [{"type": "image_url"}]}),
                "messages[0].content[0].image_url",
            ),
        ];
        for (message, param) in cases {
            let err = error(json!({"model": "m", "messages": [message]}));
            assert_eq!(err.param(), Some(param), "{err}");
        }
    }

    #[test]
    fn role_specific_fields_are_checked() {
        let cases = [
            (json!({"role": "tool", "content": "orphan"}), "messages[0].tool_call_id"),
            (
                json!({"role": "user", "content": "hi", "tool_call_id": "c"}),
                "messages[0].tool_call_id",
            ),
            (json!({"role": "user", "content": "hi", "tool_calls": []}), "messages[0].tool_calls"),
            (json!({"role": "user"}), "messages[0].content"),
            (json!({"role": "assistant", "content": ""}), "messages[0].content"),
            (json!({"role": "assistant", "content": null}), "messages[0].content"),
        ];
        for (message, param) in cases {
            let err = error(json!({"model": "m", "messages": [message]}));
            assert_eq!(err.param(), Some(param), "{message}: {err}");
        }
    }

    #[test]
    fn malformed_bodies_name_the_path_of_the_bad_field() {
        let cases = [
            (
                json!({"model": "m", "messages": [{"role": "user", "content": "a"}, {"role": "function", "content": "b", "name": "f"}]}),
                "messages[1].role",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": ["hi"]}]}),
                "messages[0].content[0]",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "video"}]}]}),
                "messages[0].content[1].type",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": 42}]}),
                "messages[0].content",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"detail": "low"}}]}]}),
                "messages[0].content[0].image_url",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": "a"}], "tools": [{"type": "custom", "custom": {"name": "x"}}]}),
                "tools[0].type",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": "a"}], "stop": 3}),
                "stop",
            ),
            (json!({"model": "m", "messages": [{"role": "user", "content": "a"}], "n": -1}), "n"),
            (json!({"messages": [{"role": "user", "content": "a"}]}), "body"),
        ];
        for (body, param) in cases {
            let err = ChatCompletionRequest::from_json(body.to_string().as_bytes())
                .expect_err("malformed");
            assert!(matches!(err, OpenAiError::InvalidBody { .. }), "{err:?}");
            assert!(err.to_string().starts_with(&format!("{param}: ")), "{body}: {err}");
        }
        let err = ChatCompletionRequest::from_json(b"{\"model\": \"m\", \"messages\": [")
            .expect_err("cut JSON");
        assert_eq!(err.param(), None);
    }

    #[test]
    fn the_request_round_trips_through_json() {
        let body = json!({
            "model": "m",
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": PNG_DATA_URL, "detail": "low"}}]},
                {"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c", "content": "done"}
            ],
            "stop": ["x"],
            "tool_choice": {"type": "function", "function": {"name": "f"}},
            "stream": true,
            "stream_options": {"include_usage": true}
        });
        let request = parse(body.clone());
        assert_eq!(serde_json::to_value(&request).expect("serializable"), body);
    }

    fn meta() -> CompletionMeta {
        CompletionMeta::new("B9MBs8CjcvOU2jLn4n570S5qMJKcT", 1741569952, "gpt-4.1-2025-04-14")
    }

    fn response(content: Vec<ContentBlock>, stop_reason: StopReason, usage: Usage) -> ChatResponse {
        ChatResponse { content, stop_reason, usage, latency_ms: None, guardrail: None }
    }

    /// The "Default" response example of the OpenAI API reference, without the fields quarry does
    /// not produce (`service_tier`, `annotations`, `completion_tokens_details`, audio counts).
    #[test]
    fn a_text_answer_is_the_reference_default_response() {
        let answer = response(
            vec![ContentBlock::text("Hello! How can I assist you today?")],
            StopReason::EndTurn,
            Usage::new(19, 10),
        );
        let completion = ChatCompletion::from_response(&meta(), &answer);
        assert_eq!(
            serde_json::to_value(&completion).expect("serializable"),
            json!({
              "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
              "object": "chat.completion",
              "created": 1741569952,
              "model": "gpt-4.1-2025-04-14",
              "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": "Hello! How can I assist you today?", "refusal": null},
                "logprobs": null,
                "finish_reason": "stop"
              }],
              "usage": {"prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29, "prompt_tokens_details": {"cached_tokens": 0}}
            })
        );
        // OpenAI's own body, with every field it has, reads into the same types.
        let official: ChatCompletion = serde_json::from_value(json!({
          "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
          "object": "chat.completion",
          "created": 1741569952,
          "model": "gpt-4.1-2025-04-14",
          "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": "Hello! How can I assist you today?", "refusal": null, "annotations": []},
            "logprobs": null,
            "finish_reason": "stop"
          }],
          "usage": {
            "prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
          },
          "service_tier": "default"
        }))
        .expect("the reference response parses");
        assert_eq!(official, completion);
    }

    /// The "Functions" response example of the OpenAI API reference.
    #[test]
    fn a_tool_call_answer_is_the_reference_functions_response() {
        let answer = response(
            vec![ContentBlock::ToolUse {
                id: "call_abc123".into(),
                name: "get_current_weather".into(),
                input: json!({"location": "Boston, MA"}),
            }],
            StopReason::ToolUse,
            Usage::new(82, 17),
        );
        let completion = ChatCompletion::from_response(
            &CompletionMeta::new("chatcmpl-abc123", 1699896916, "gpt-4o-mini"),
            &answer,
        );
        let value = serde_json::to_value(&completion).expect("serializable");
        assert_eq!(value["id"], "chatcmpl-abc123", "an id already prefixed is kept");
        assert_eq!(value["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(value["choices"][0]["message"]["content"], serde_json::Value::Null);
        assert_eq!(
            value["choices"][0]["message"]["tool_calls"],
            json!([{"id": "call_abc123", "type": "function", "function": {"name": "get_current_weather", "arguments": "{\"location\":\"Boston, MA\"}"}}])
        );
        assert_eq!(value["usage"]["total_tokens"], 99);

        let official: ChatCompletion = serde_json::from_value(json!({
          "id": "chatcmpl-abc123",
          "object": "chat.completion",
          "created": 1699896916,
          "model": "gpt-4o-mini",
          "choices": [{
            "index": 0,
            "message": {
              "role": "assistant",
              "content": null,
              "tool_calls": [{"id": "call_abc123", "type": "function", "function": {"name": "get_current_weather", "arguments": "{\n\"location\": \"Boston, MA\"\n}"}}]
            },
            "logprobs": null,
            "finish_reason": "tool_calls"
          }],
          "usage": {"prompt_tokens": 82, "completion_tokens": 17, "total_tokens": 99,
                    "completion_tokens_details": {"reasoning_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}
        }))
        .expect("the reference response parses");
        let official_call =
            &official.choices[0].message.tool_calls.as_ref().expect("tool calls")[0];
        let ours = &completion.choices[0].message.tool_calls.as_ref().expect("tool calls")[0];
        assert_eq!(
            (&official_call.id, &official_call.function.name),
            (&ours.id, &ours.function.name)
        );
        let parse_args = |call: &ToolCall| {
            serde_json::from_str::<serde_json::Value>(&call.function.arguments)
                .expect("JSON arguments")
        };
        assert_eq!(parse_args(official_call), parse_args(ours));
    }

    #[test]
    fn text_beside_tool_calls_reasoning_and_cached_tokens_are_reported() {
        let mut usage = Usage::new(100, 40);
        usage.cache_read_input_tokens = Some(1000);
        usage.cache_write_input_tokens = Some(24);
        let answer = response(
            vec![
                ContentBlock::Reasoning {
                    text: "The user wants weather.".into(),
                    signature: Some("sig".into()),
                },
                ContentBlock::text("Let me check."),
                ContentBlock::ToolUse {
                    id: "t1".into(),
                    name: "weather".into(),
                    input: json!({"city": "Oslo"}),
                },
                ContentBlock::text("One moment."),
            ],
            StopReason::ToolUse,
            usage,
        );
        let value = serde_json::to_value(ChatCompletion::from_response(&meta(), &answer))
            .expect("serializable");
        let message = &value["choices"][0]["message"];
        assert_eq!(message["content"], "Let me check.\nOne moment.");
        assert_eq!(message["reasoning_content"], "The user wants weather.");
        assert_eq!(message["tool_calls"][0]["function"]["arguments"], "{\"city\":\"Oslo\"}");
        assert_eq!(
            value["usage"],
            json!({"prompt_tokens": 1124, "completion_tokens": 40, "total_tokens": 1164, "prompt_tokens_details": {"cached_tokens": 1000}})
        );
        let empty = response(Vec::new(), StopReason::GuardrailIntervened, Usage::new(5, 0));
        let value = serde_json::to_value(ChatCompletion::from_response(&meta(), &empty))
            .expect("serializable");
        assert_eq!(value["choices"][0]["message"]["content"], "");
        assert_eq!(value["choices"][0]["finish_reason"], "content_filter");
        assert!(value["choices"][0]["message"].get("reasoning_content").is_none());
    }

    #[test]
    fn every_stop_reason_has_an_openai_finish_reason() {
        let cases = [
            (StopReason::EndTurn, "stop"),
            (StopReason::StopSequence, "stop"),
            (StopReason::MaxTokens, "length"),
            (StopReason::ModelContextWindowExceeded, "length"),
            (StopReason::ToolUse, "tool_calls"),
            (StopReason::GuardrailIntervened, "content_filter"),
            (StopReason::ContentFiltered, "content_filter"),
            (StopReason::MalformedModelOutput, "stop"),
            (StopReason::MalformedToolUse, "stop"),
            (StopReason::Unknown, "stop"),
        ];
        for (reason, expected) in cases {
            assert_eq!(
                serde_json::to_value(FinishReason::from(reason)).expect("serializable"),
                expected,
                "{reason:?}"
            );
        }
    }
}
