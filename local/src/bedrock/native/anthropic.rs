//! The Anthropic Claude Messages body (`anthropic_version: bedrock-2023-05-31`), its response and
//! its stream events, in the wire types of [`quarry::adapters::anthropic`]
//! (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages-request-response.html).
//!
//! Checks, as Bedrock makes them: the body's schema (`anthropic_version` — only
//! `bedrock-2023-05-31` — `max_tokens` and `messages` required, no keys outside the Messages API,
//! `max_tokens` ≥ 1, `temperature` and `top_p` in 0..=1, `top_k` in 0..=500), then Claude's own
//! rules: at least one message, the first from the user, roles alternating. Streams carry
//! `message_start`, `content_block_start` / `_delta` / `_stop`, `message_delta` (stop reason and
//! output tokens) and `message_stop`, which Bedrock's metrics ride on.

use quarry::adapters::anthropic::{
    ANTHROPIC_VERSION, AnthropicContent, AnthropicContentBlock, AnthropicDelta,
    AnthropicDeltaUsage, AnthropicMessageDelta, AnthropicRequest, AnthropicResponse,
    AnthropicSource, AnthropicStreamChunk, AnthropicStreamEvent, AnthropicToolChoice,
    AnthropicUsage,
};
use quarry::chat::{
    BlockStart, ChatRequest, ContentBlock, Delta, DocumentFormat, ImageFormat, Message, Role,
    StopReason, StreamEvent, SystemBlock, ToolChoice, ToolResultContent, ToolResultStatus,
    ToolSpec,
};
use serde_json::Value;

use super::chat::{AnswerStyle, ChatAnswer};
use super::schema::BodyCheck;
use super::{ChatFormat, StreamChunk, invalid, to_json};
use crate::aws_error::AwsError;

/// The top-level keys of a Messages API body on Bedrock.
const KEYS: &[&str] = &[
    "anthropic_version",
    "anthropic_beta",
    "max_tokens",
    "system",
    "messages",
    "temperature",
    "top_p",
    "top_k",
    "stop_sequences",
    "tools",
    "tool_choice",
    "thinking",
    "metadata",
];

const NO_MESSAGES: &str = "messages: at least one message is required";
const FIRST_NOT_USER: &str = "messages: first message must use the \"user\" role";

/// Claude's Messages body for one model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anthropic {
    /// The model name Claude reports (`claude-3-haiku-20240307` for
    /// `anthropic.claude-3-haiku-20240307-v1:0`).
    model: String,
}

impl Anthropic {
    /// The body of `base_model_id`.
    pub fn new(base_model_id: &str) -> Self {
        let name = base_model_id.strip_prefix("anthropic.").unwrap_or(base_model_id);
        let name = match name.rsplit_once("-v") {
            Some((stem, version)) if version.contains(':') => stem,
            _ => name,
        };
        Anthropic { model: name.to_owned() }
    }
}

impl ChatFormat for Anthropic {
    fn style(&self) -> AnswerStyle {
        AnswerStyle { reasoning: false, tool_id_prefix: "toolu_bdrk_" }
    }

    fn parse(&self, body: &[u8]) -> Result<ChatRequest, AwsError> {
        let mut check = BodyCheck::parse(body)?;
        check
            .required(&["anthropic_version", "max_tokens", "messages"])
            .allowed(KEYS)
            .one_of("anthropic_version", &[ANTHROPIC_VERSION])
            .integer("max_tokens", Some(1), None)
            .array("messages")
            .number("temperature", Some(0.0), Some(1.0))
            .number("top_p", Some(0.0), Some(1.0))
            .integer("top_k", Some(0), Some(500))
            .array("stop_sequences")
            .array("tools");
        let request: AnthropicRequest = check.into_wire()?;
        check_turns(&request)?;
        to_chat(request)
    }

    fn response_body(&self, answer: &ChatAnswer) -> Result<Value, AwsError> {
        let content = answer
            .response
            .content
            .iter()
            .filter_map(|block| match block {
                ContentBlock::Text { text } => {
                    Some(AnthropicContentBlock::Text { text: text.clone(), cache_control: None })
                }
                ContentBlock::ToolUse { id, name, input } => Some(AnthropicContentBlock::ToolUse {
                    id: id.clone(),
                    name: name.clone(),
                    input: input.clone(),
                    cache_control: None,
                }),
                _ => None,
            })
            .collect();
        let usage = answer.usage();
        to_json(&AnthropicResponse {
            content,
            stop_reason: Some(stop_reason(answer.response.stop_reason).to_owned()),
            stop_sequence: answer.stop_sequence.clone(),
            usage: AnthropicUsage {
                input_tokens: usage.input_tokens,
                output_tokens: usage.output_tokens,
                ..AnthropicUsage::default()
            },
            ..self.message(answer)
        })
    }

    fn stream_chunks(&self, answer: &ChatAnswer) -> Result<Vec<StreamChunk>, AwsError> {
        let usage = answer.usage();
        let mut chunks = Vec::new();
        let mut open: Option<u32> = None;
        let chunk = |event: AnthropicStreamEvent, text: &str| -> Result<StreamChunk, AwsError> {
            Ok(StreamChunk::new(
                to_json(&AnthropicStreamChunk { event, invocation_metrics: None })?,
                text,
            ))
        };
        for event in &answer.events {
            match event {
                StreamEvent::MessageStart { .. } => {
                    let message = AnthropicResponse {
                        usage: AnthropicUsage {
                            input_tokens: usage.input_tokens,
                            output_tokens: 1,
                            ..AnthropicUsage::default()
                        },
                        ..self.message(answer)
                    };
                    chunks.push(chunk(AnthropicStreamEvent::MessageStart { message }, "")?);
                }
                StreamEvent::ContentBlockStart {
                    index,
                    start: BlockStart::ToolUse { id, name },
                } => {
                    open = Some(*index);
                    let content_block = AnthropicContentBlock::ToolUse {
                        id: id.clone(),
                        name: name.clone(),
                        input: Value::Object(serde_json::Map::new()),
                        cache_control: None,
                    };
                    let start =
                        AnthropicStreamEvent::ContentBlockStart { index: *index, content_block };
                    chunks.push(chunk(start, "")?);
                }
                StreamEvent::ContentBlockDelta { index, delta } => {
                    if open != Some(*index) {
                        open = Some(*index);
                        let content_block = match delta {
                            Delta::Reasoning { .. } | Delta::ReasoningSignature { .. } => {
                                AnthropicContentBlock::Thinking {
                                    thinking: String::new(),
                                    signature: String::new(),
                                }
                            }
                            Delta::Text { .. } | Delta::ToolInput { .. } => {
                                AnthropicContentBlock::Text {
                                    text: String::new(),
                                    cache_control: None,
                                }
                            }
                            // Anthropic has no delta for redacted thinking: it arrives whole
                            // in its block start.
                            Delta::RedactedReasoning { data } => {
                                AnthropicContentBlock::RedactedThinking { data: data.clone() }
                            }
                        };
                        let start = AnthropicStreamEvent::ContentBlockStart {
                            index: *index,
                            content_block,
                        };
                        chunks.push(chunk(start, "")?);
                    }
                    let (delta, text) = match delta {
                        Delta::Text { text } => {
                            (AnthropicDelta::TextDelta { text: text.clone() }, text)
                        }
                        Delta::ToolInput { json } => {
                            (AnthropicDelta::InputJsonDelta { partial_json: json.clone() }, json)
                        }
                        Delta::Reasoning { text } => {
                            (AnthropicDelta::ThinkingDelta { thinking: text.clone() }, text)
                        }
                        Delta::ReasoningSignature { signature } => (
                            AnthropicDelta::SignatureDelta { signature: signature.clone() },
                            signature,
                        ),
                        Delta::RedactedReasoning { .. } => continue,
                    };
                    let event = AnthropicStreamEvent::ContentBlockDelta { index: *index, delta };
                    chunks.push(chunk(event, text)?);
                }
                StreamEvent::ContentBlockStop { index } => {
                    chunks
                        .push(chunk(AnthropicStreamEvent::ContentBlockStop { index: *index }, "")?);
                }
                StreamEvent::MessageStop { stop_reason: reason } => {
                    let delta = AnthropicStreamEvent::MessageDelta {
                        delta: AnthropicMessageDelta {
                            stop_reason: Some(stop_reason(*reason).to_owned()),
                            stop_sequence: answer.stop_sequence.clone(),
                        },
                        usage: Some(AnthropicDeltaUsage {
                            output_tokens: Some(usage.output_tokens),
                            ..AnthropicDeltaUsage::default()
                        }),
                    };
                    chunks.push(chunk(delta, "")?);
                    chunks.push(chunk(AnthropicStreamEvent::MessageStop, "")?);
                }
                // The usage went out in message_start / message_delta; Bedrock's metrics follow
                // on message_stop.
                StreamEvent::Metadata { .. } => {}
            }
        }
        Ok(chunks)
    }
}

impl Anthropic {
    /// An empty assistant message of this answer (the `message_start` payload).
    fn message(&self, answer: &ChatAnswer) -> AnthropicResponse {
        AnthropicResponse {
            id: format!("msg_bdrk_{}", answer.id),
            kind: "message".into(),
            role: Role::Assistant,
            model: self.model.clone(),
            content: Vec::new(),
            stop_reason: None,
            stop_sequence: None,
            usage: AnthropicUsage::default(),
        }
    }
}

/// Claude's `stop_reason` for quarry's.
fn stop_reason(reason: StopReason) -> &'static str {
    match reason {
        StopReason::MaxTokens => "max_tokens",
        StopReason::StopSequence => "stop_sequence",
        StopReason::ToolUse => "tool_use",
        _ => "end_turn",
    }
}

/// Claude's rules for the turns: at least one, the first from the user, roles alternating.
fn check_turns(request: &AnthropicRequest) -> Result<(), AwsError> {
    let Some(first) = request.messages.first() else { return Err(invalid(NO_MESSAGES)) };
    if first.role != Role::User {
        return Err(invalid(FIRST_NOT_USER));
    }
    if let Some(pair) = request.messages.windows(2).find(|pair| pair[0].role == pair[1].role) {
        return Err(invalid(format!(
            "messages: roles must alternate between \"user\" and \"assistant\", but found multiple \"{}\" roles in a row",
            pair[0].role.as_str()
        )));
    }
    Ok(())
}

/// The Messages body as quarry's unified request.
fn to_chat(request: AnthropicRequest) -> Result<ChatRequest, AwsError> {
    let system = request
        .system
        .map(AnthropicContent::into_blocks)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|block| match block {
            AnthropicContentBlock::Text { text, .. } => Some(SystemBlock::Text { text }),
            _ => None,
        })
        .collect();
    let messages = request
        .messages
        .into_iter()
        .enumerate()
        .map(|(i, message)| {
            let content = message
                .content
                .into_blocks()
                .into_iter()
                .enumerate()
                .filter_map(|(j, block)| {
                    content_block(block, &format!("messages.{i}.content.{j}")).transpose()
                })
                .collect::<Result<_, _>>()?;
            Ok(Message { role: message.role, content })
        })
        .collect::<Result<_, AwsError>>()?;
    let (tools, tool_choice) = match request.tool_choice {
        // `none`: the tools are described but Claude may not call them.
        Some(AnthropicToolChoice::None) => (Vec::new(), None),
        choice => (
            request
                .tools
                .into_iter()
                .map(|tool| ToolSpec {
                    name: tool.name,
                    description: tool.description,
                    input_schema: tool.input_schema,
                })
                .collect(),
            choice.map(|choice| match choice {
                AnthropicToolChoice::Any => ToolChoice::Any,
                AnthropicToolChoice::Tool { name } => ToolChoice::Tool { name },
                AnthropicToolChoice::Auto | AnthropicToolChoice::None => ToolChoice::Auto,
            }),
        ),
    };
    Ok(ChatRequest {
        system,
        messages,
        max_tokens: Some(request.max_tokens),
        temperature: request.temperature.map(|t| t as f32),
        top_p: request.top_p.map(|p| p as f32),
        top_k: request.top_k,
        stop_sequences: request.stop_sequences,
        tools,
        tool_choice,
        guardrail: None,
    })
}

/// A Messages content block as a unified block (`None` for redacted thinking).
fn content_block(block: AnthropicContentBlock, at: &str) -> Result<Option<ContentBlock>, AwsError> {
    Ok(match block {
        AnthropicContentBlock::Text { text, .. } => Some(ContentBlock::Text { text }),
        AnthropicContentBlock::Image { source, .. } => match source {
            AnthropicSource::Base64 { media_type, data } => {
                let format = ImageFormat::from_media_type(&media_type).ok_or_else(|| {
                    invalid(format!(
                        "{at}.image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'"
                    ))
                })?;
                Some(ContentBlock::Image { format, data })
            }
            AnthropicSource::Text { .. } => {
                return Err(invalid(format!("{at}.image.source: an image source must be base64")));
            }
        },
        AnthropicContentBlock::Document { source, title, .. } => {
            let name = title.unwrap_or_else(|| "document".into());
            Some(match source {
                AnthropicSource::Text { data, .. } => ContentBlock::Document {
                    format: DocumentFormat::Txt,
                    name,
                    data: data.into_bytes().into(),
                },
                AnthropicSource::Base64 { data, .. } => {
                    ContentBlock::Document { format: DocumentFormat::Pdf, name, data }
                }
            })
        }
        AnthropicContentBlock::ToolUse { id, name, input, .. } => {
            Some(ContentBlock::ToolUse { id, name, input })
        }
        AnthropicContentBlock::ToolResult { tool_use_id, content, is_error, .. } => {
            let content = content
                .map(AnthropicContent::into_blocks)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|block| match block {
                    AnthropicContentBlock::Text { text, .. } => {
                        Some(ToolResultContent::Text { text })
                    }
                    _ => None,
                })
                .collect();
            let status = is_error.map(|error| {
                if error { ToolResultStatus::Error } else { ToolResultStatus::Success }
            });
            Some(ContentBlock::ToolResult { tool_use_id, content, status })
        }
        AnthropicContentBlock::Thinking { thinking, signature } => Some(ContentBlock::Reasoning {
            text: thinking,
            signature: (!signature.is_empty()).then_some(signature),
        }),
        AnthropicContentBlock::RedactedThinking { .. } => None,
    })
}

#[cfg(test)]
mod tests {
    use quarry::adapters::NativeAdapter;
    use quarry::adapters::anthropic::AnthropicAdapter;
    use serde_json::json;

    use super::*;
    use crate::bedrock::native::chat::answer;
    use crate::bedrock::native::fold_chunks;

    fn haiku() -> Anthropic {
        Anthropic::new("anthropic.claude-3-haiku-20240307-v1:0")
    }

    fn parse(body: Value) -> Result<ChatRequest, AwsError> {
        haiku().parse(body.to_string().as_bytes())
    }

    /// The native request of the AWS code example "Invoke Anthropic Claude on Amazon Bedrock using
    /// the Invoke Model API"
    /// (https://docs.aws.amazon.com/bedrock/latest/userguide/bedrock-runtime_example_bedrock-runtime_InvokeModel_AnthropicClaude_section.html).
    #[test]
    fn the_documented_request_reads_into_a_unified_request() {
        let prompt = "Describe the purpose of a 'hello world' program in one line.";
        let request = parse(json!({
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 512,
            "temperature": 0.5,
            "messages": [{"role": "user", "content": [{"type": "text", "text": prompt}]}]
        }))
        .expect("documented body");
        assert_eq!((request.max_tokens, request.temperature), (Some(512), Some(0.5)));
        assert_eq!(request.messages, [Message::user(prompt)]);
    }

    #[test]
    fn bodies_bedrock_rejects_are_validation_exceptions_in_its_words() {
        let hello = json!([{"role": "user", "content": "Hello"}]);
        let cases = [
            (
                json!({"max_tokens": 10, "messages": hello}),
                "#: required key [anthropic_version] not found",
            ),
            (
                json!({"anthropic_version": "bedrock-2023-05-31", "messages": hello}),
                "#: required key [max_tokens] not found",
            ),
            (
                json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "messages": hello, "inferenceConfig": {}}),
                "#: extraneous key [inferenceConfig] is not permitted",
            ),
            (
                json!({"anthropic_version": "2023-06-01", "max_tokens": 10, "messages": hello}),
                "#/anthropic_version: \"2023-06-01\" is not a valid enum value",
            ),
            (
                json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 0, "messages": hello}),
                "#/max_tokens: 0 is not greater or equal to 1",
            ),
            (
                json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "messages": []}),
                NO_MESSAGES,
            ),
            (
                json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "messages": [{"role": "assistant", "content": "Hi"}]}),
                FIRST_NOT_USER,
            ),
            (
                json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}),
                "found multiple \"user\" roles in a row",
            ),
        ];
        for (body, expected) in cases {
            let error = parse(body.clone()).expect_err("rejected");
            assert_eq!(error.code, "ValidationException");
            assert!(error.message.contains(expected), "{body}: {}", error.message);
        }
    }

    #[test]
    fn the_answer_reads_back_through_quarrys_adapter_whole_and_streamed() {
        let request = parse(json!({
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 200,
            "system": "The office opens at 9am. Parking is free for visitors.",
            "messages": [{"role": "user", "content": "When does the office open?"}]
        }))
        .expect("valid");
        let answer = answer(&request, haiku().style());
        let body = haiku().response_body(&answer).expect("body");
        assert_eq!(body["model"], "claude-3-haiku-20240307");
        assert!(body["id"].as_str().is_some_and(|id| id.starts_with("msg_bdrk_")));
        let parsed = AnthropicAdapter.parse_response(body.to_string().as_bytes()).expect("parses");
        assert_eq!(parsed, answer.response);
        let chunks = haiku().stream_chunks(&answer).expect("chunks");
        assert_eq!(chunks.last().map(|c| c.json["type"].clone()), Some(json!("message_stop")));
        let streamed = fold_chunks(&AnthropicAdapter, &chunks);
        assert_eq!(streamed.text(), answer.text());
        assert_eq!(streamed.stop_reason, StopReason::EndTurn);
    }

    #[test]
    fn tools_and_tool_choice_read_into_the_unified_request() {
        let request = parse(json!({
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 200,
            "tools": [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object"}}],
            "tool_choice": {"type": "any"},
            "messages": [
                {"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "Sunny", "is_error": false}]}
            ]
        }))
        .expect("valid");
        assert_eq!(request.tool_choice, Some(ToolChoice::Any));
        assert_eq!(request.tools[0].name, "get_weather");
        assert_eq!(
            request.messages[2].content[0],
            ContentBlock::ToolResult {
                tool_use_id: "toolu_1".into(),
                content: vec![ToolResultContent::Text { text: "Sunny".into() }],
                status: Some(ToolResultStatus::Success),
            }
        );
        let none = parse(json!({
            "anthropic_version": "bedrock-2023-05-31", "max_tokens": 10,
            "tools": [{"name": "t", "input_schema": {"type": "object"}}], "tool_choice": {"type": "none"},
            "messages": [{"role": "user", "content": "hi"}]
        }))
        .expect("valid");
        assert!(none.tools.is_empty(), "tool_choice none offers no tools");
    }
}
