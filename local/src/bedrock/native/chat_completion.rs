//! The OpenAI chat-completion shape three families speak on Bedrock — Mistral Large 2 and later
//! (`mistral.mistral-large-2407-v1:0`), AI21 Jamba and OpenAI gpt-oss — in the wire types of
//! [`quarry::adapters::openai`]; a [`ChatCompletion`] holds what differs between them.
//!
//! Requests: `messages` (system/developer, user, assistant with `tool_calls`, tool with
//! `tool_call_id`), `max_tokens` / `max_completion_tokens`, `temperature`, `top_p`, `stop`,
//! function `tools` and `tool_choice` (`auto`, `any`/`required`, `none`, or a named function).
//! Answers: `choices[0].message` with its stop reason; streams send the answer in pieces —
//! `choices[0].delta` (OpenAI, Jamba) or `choices[0].message` (Bedrock's Mistral stream) — and
//! end with the stop reason, on which Bedrock's metrics ride.

use quarry::adapters::openai::{
    ChatChoice, ChatChunkChoice, ChatCompletionChunk, ChatCompletionRequest,
    ChatCompletionResponse, ChatFunctionCall, ChatFunctionDelta, ChatMessage, ChatMessageDelta,
    ChatRole, ChatToolCall, ChatToolCallDelta, ChatToolChoice, ChatUsage,
};
use quarry::chat::{
    BlockStart, ChatRequest, ContentBlock, Delta, Message, Role, StopReason, StreamEvent,
    SystemBlock, ToolChoice, ToolResultContent, ToolSpec,
};
use serde_json::Value;

use super::chat::{AnswerStyle, ChatAnswer};
use super::schema::BodyCheck;
use super::{ChatFormat, StreamChunk, to_json, unix_seconds};
use crate::aws_error::AwsError;

/// Where a stream chunk puts the new piece of the answer, and what the stop reason is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkShape {
    /// `choices[0].delta` and `finish_reason` (OpenAI, Jamba).
    Delta,
    /// `choices[0].message` and `stop_reason` (Bedrock's Mistral chat stream and answer).
    Message,
}

/// One family's chat-completion dialect.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatCompletion {
    /// The base model id answers name.
    pub model: String,
    pub shape: ChunkShape,
    /// The largest `temperature` the family accepts.
    pub max_temperature: f64,
    /// The largest `max_tokens` / `max_completion_tokens`, where the family documents one.
    pub max_output_tokens: Option<i64>,
    /// Tool calls carry `"type": "function"`.
    pub typed_tool_calls: bool,
    /// Answers start with the model's reasoning inside `<reasoning>` tags (gpt-oss).
    pub reasoning_tags: bool,
    /// Answers carry `id`, `object`, `created`, `model` and `usage`.
    pub envelope: bool,
    /// Tool-call ids are Mistral's nine alphanumerics rather than `call_…`.
    pub short_tool_ids: bool,
}

impl ChatFormat for ChatCompletion {
    fn style(&self) -> AnswerStyle {
        AnswerStyle { reasoning: self.reasoning_tags, tool_id_prefix: "call_" }
    }

    fn parse(&self, body: &[u8]) -> Result<ChatRequest, AwsError> {
        let mut check = BodyCheck::parse(body)?;
        check
            .required(&["messages"])
            .array("messages")
            .items("messages", Some(1), None)
            .integer("max_tokens", Some(1), self.max_output_tokens)
            .integer("max_completion_tokens", Some(1), self.max_output_tokens)
            .number("temperature", Some(0.0), Some(self.max_temperature))
            .number("top_p", Some(0.0), Some(1.0))
            .integer("n", Some(1), Some(16))
            .array("tools");
        let request: ChatCompletionRequest = check.into_wire()?;
        Ok(to_chat(request))
    }

    fn response_body(&self, answer: &ChatAnswer) -> Result<Value, AwsError> {
        let content = self.content(answer.reasoning(), &answer.text());
        let tool_calls = answer.tool_use().map(|(id, name, input)| {
            vec![ChatToolCall {
                id: self.tool_id(id),
                kind: self.typed_tool_calls.then(|| "function".to_owned()),
                function: ChatFunctionCall { name: name.to_owned(), arguments: input.to_string() },
            }]
        });
        let reason = stop_reason(answer.response.stop_reason).to_owned();
        let (finish_reason, stop_reason) = match self.shape {
            ChunkShape::Delta => (Some(reason), None),
            ChunkShape::Message => (None, Some(Value::String(reason))),
        };
        let usage = answer.usage();
        let envelope = self.envelope;
        to_json(&ChatCompletionResponse {
            id: envelope.then(|| format!("chatcmpl-{}", answer.id)),
            object: envelope.then(|| "chat.completion".to_owned()),
            created: envelope.then(unix_seconds),
            model: envelope.then(|| self.model.clone()),
            choices: vec![ChatChoice {
                index: 0,
                message: ChatMessage {
                    role: ChatRole::Assistant,
                    content: Some(content),
                    reasoning_content: None,
                    tool_calls,
                    tool_call_id: None,
                },
                finish_reason,
                stop_reason,
            }],
            usage: envelope.then_some(ChatUsage {
                prompt_tokens: usage.input_tokens,
                completion_tokens: usage.output_tokens,
                total_tokens: usage.total_tokens,
            }),
        })
    }

    fn stream_chunks(&self, answer: &ChatAnswer) -> Result<Vec<StreamChunk>, AwsError> {
        let mut chunks = Vec::new();
        let mut in_reasoning = false;
        for event in &answer.events {
            match event {
                StreamEvent::MessageStart { .. } => {
                    let delta = ChatMessageDelta {
                        role: Some(ChatRole::Assistant),
                        content: Some(String::new()),
                        ..ChatMessageDelta::default()
                    };
                    chunks.push(StreamChunk::framing(self.chunk(answer, delta, None)?));
                }
                StreamEvent::ContentBlockStart {
                    start: BlockStart::ToolUse { id, name }, ..
                } => {
                    let call = ChatToolCallDelta {
                        index: Some(0),
                        id: Some(self.tool_id(id)),
                        kind: self.typed_tool_calls.then(|| "function".to_owned()),
                        function: Some(ChatFunctionDelta {
                            name: Some(name.clone()),
                            arguments: Some(String::new()),
                        }),
                    };
                    let delta =
                        ChatMessageDelta { tool_calls: Some(vec![call]), ..Default::default() };
                    chunks.push(StreamChunk::framing(self.chunk(answer, delta, None)?));
                }
                StreamEvent::ContentBlockDelta { delta, .. } => {
                    let (content, tool_calls, text) = match delta {
                        Delta::Reasoning { text } => {
                            let opening = if in_reasoning { "" } else { "<reasoning>" };
                            in_reasoning = true;
                            (Some(format!("{opening}{text}")), None, text)
                        }
                        Delta::Text { text } => (Some(text.clone()), None, text),
                        Delta::ToolInput { json } => {
                            let call = ChatToolCallDelta {
                                index: Some(0),
                                function: Some(ChatFunctionDelta {
                                    name: None,
                                    arguments: Some(json.clone()),
                                }),
                                ..ChatToolCallDelta::default()
                            };
                            (None, Some(vec![call]), json)
                        }
                        Delta::ReasoningSignature { .. } | Delta::RedactedReasoning { .. } => {
                            continue;
                        }
                    };
                    let delta = ChatMessageDelta { content, tool_calls, ..Default::default() };
                    chunks.push(StreamChunk::new(self.chunk(answer, delta, None)?, text));
                }
                StreamEvent::ContentBlockStop { .. } if in_reasoning => {
                    in_reasoning = false;
                    let delta = ChatMessageDelta {
                        content: Some("</reasoning>".to_owned()),
                        ..ChatMessageDelta::default()
                    };
                    chunks.push(StreamChunk::framing(self.chunk(answer, delta, None)?));
                }
                StreamEvent::ContentBlockStop { .. } | StreamEvent::Metadata { .. } => {}
                StreamEvent::MessageStop { stop_reason: reason } => {
                    let json = self.chunk(answer, ChatMessageDelta::default(), Some(*reason))?;
                    chunks.push(StreamChunk::framing(json));
                }
            }
        }
        Ok(chunks)
    }
}

impl ChatCompletion {
    /// The answer's `content`: its text, after its reasoning in tags when the family shows it.
    fn content(&self, reasoning: Option<&str>, text: &str) -> String {
        match reasoning {
            Some(reasoning) if self.reasoning_tags => {
                format!("<reasoning>{reasoning}</reasoning>{text}")
            }
            _ => text.to_owned(),
        }
    }

    /// The family's form of a tool-use id.
    fn tool_id(&self, id: &str) -> String {
        if !self.short_tool_ids {
            return id.to_owned();
        }
        let unique = id.strip_prefix("call_").unwrap_or(id);
        let mut short: String =
            unique.chars().filter(char::is_ascii_alphanumeric).take(9).collect();
        while short.len() < 9 {
            short.push('0');
        }
        short
    }

    /// One stream chunk carrying `delta`, and the stop reason on the last.
    fn chunk(
        &self,
        answer: &ChatAnswer,
        delta: ChatMessageDelta,
        stop: Option<StopReason>,
    ) -> Result<Value, AwsError> {
        let reason = stop.map(|r| stop_reason(r).to_owned());
        let choice = match self.shape {
            ChunkShape::Delta => ChatChunkChoice {
                index: 0,
                delta: Some(delta),
                message: None,
                finish_reason: reason,
                stop_reason: None,
            },
            ChunkShape::Message => ChatChunkChoice {
                index: 0,
                delta: None,
                message: Some(delta),
                finish_reason: None,
                stop_reason: reason.map(Value::String),
            },
        };
        let envelope = self.envelope;
        to_json(&ChatCompletionChunk {
            id: envelope.then(|| format!("chatcmpl-{}", answer.id)),
            object: envelope.then(|| "chat.completion.chunk".to_owned()),
            created: envelope.then(unix_seconds),
            model: envelope.then(|| self.model.clone()),
            choices: vec![choice],
            usage: None,
            invocation_metrics: None,
        })
    }
}

/// The chat-completion stop reason of quarry's.
fn stop_reason(reason: StopReason) -> &'static str {
    match reason {
        StopReason::MaxTokens => "length",
        StopReason::ToolUse => "tool_calls",
        _ => "stop",
    }
}

/// A chat-completion body as quarry's unified request: system and developer messages are the
/// system prompt, consecutive `tool` messages one user turn of tool results.
pub fn to_chat(request: ChatCompletionRequest) -> ChatRequest {
    let mut system = Vec::new();
    let mut messages: Vec<Message> = Vec::new();
    for message in request.messages {
        let text = message.content.unwrap_or_default();
        match message.role {
            ChatRole::System | ChatRole::Developer => system.push(SystemBlock::Text { text }),
            ChatRole::User => messages.push(Message::user(text)),
            ChatRole::Assistant => {
                let mut content = Vec::new();
                if !text.is_empty() {
                    content.push(ContentBlock::Text { text });
                }
                for call in message.tool_calls.unwrap_or_default() {
                    let input = serde_json::from_str(&call.function.arguments)
                        .unwrap_or(Value::String(call.function.arguments));
                    content.push(ContentBlock::ToolUse {
                        id: call.id,
                        name: call.function.name,
                        input,
                    });
                }
                messages.push(Message { role: Role::Assistant, content });
            }
            ChatRole::Tool => {
                let result = ContentBlock::ToolResult {
                    tool_use_id: message.tool_call_id.unwrap_or_default(),
                    content: vec![ToolResultContent::Text { text }],
                    status: None,
                };
                match messages.last_mut() {
                    Some(last)
                        if last.role == Role::User
                            && last
                                .content
                                .iter()
                                .all(|b| matches!(b, ContentBlock::ToolResult { .. })) =>
                    {
                        last.content.push(result)
                    }
                    _ => messages.push(Message { role: Role::User, content: vec![result] }),
                }
            }
        }
    }
    let offered_none =
        matches!(&request.tool_choice, Some(ChatToolChoice::Mode(mode)) if mode == "none");
    let tools = if offered_none {
        Vec::new()
    } else {
        request
            .tools
            .into_iter()
            .map(|tool| ToolSpec {
                name: tool.function.name,
                description: tool.function.description,
                input_schema: tool.function.parameters,
            })
            .collect()
    };
    let tool_choice = match request.tool_choice {
        Some(ChatToolChoice::Mode(mode)) => match mode.as_str() {
            "any" | "required" => Some(ToolChoice::Any),
            _ => None,
        },
        Some(ChatToolChoice::Function { function, .. }) => {
            Some(ToolChoice::Tool { name: function.name })
        }
        None => None,
    };
    ChatRequest {
        system,
        messages,
        max_tokens: request.max_tokens.or(request.max_completion_tokens),
        temperature: request.temperature.map(|t| t as f32),
        top_p: request.top_p.map(|p| p as f32),
        top_k: None,
        stop_sequences: request.stop,
        tools,
        tool_choice,
        guardrail: None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tool_messages_become_one_user_turn_of_results_and_calls_keep_their_input() {
        let request: ChatCompletionRequest = serde_json::from_value(json!({
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Weather in Paris and Rome?"},
                {"role": "assistant", "content": "", "tool_calls": [
                    {"id": "a", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                    {"id": "b", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "a", "content": "Sunny"},
                {"role": "tool", "tool_call_id": "b", "content": "Rain"}
            ],
            "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
            "tool_choice": "required",
            "max_completion_tokens": 100
        }))
        .expect("chat-completion body");
        let chat = to_chat(request);
        assert_eq!(chat.system_text().as_deref(), Some("Be brief."));
        assert_eq!(chat.messages.len(), 3);
        assert_eq!(
            chat.messages[1].content[0],
            ContentBlock::ToolUse {
                id: "a".into(),
                name: "get_weather".into(),
                input: json!({"city": "Paris"})
            }
        );
        assert_eq!(chat.messages[2].content.len(), 2);
        assert_eq!((chat.tool_choice, chat.max_tokens), (Some(ToolChoice::Any), Some(100)));
    }

    #[test]
    fn tool_choice_none_offers_no_tools() {
        let request: ChatCompletionRequest = serde_json::from_value(json!({
            "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "function", "function": {"name": "t", "parameters": {}}}],
            "tool_choice": "none"
        }))
        .expect("body");
        assert!(to_chat(request).tools.is_empty());
    }
}
