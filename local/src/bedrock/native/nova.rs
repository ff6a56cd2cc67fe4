//! The Amazon Nova `messages-v1` body, its response and its stream chunks, in the wire types of
//! [`quarry::adapters::nova`] (Amazon Nova user guide, "Complete request schema" and "Response
//! structure highlights").
//!
//! Checks: `messages` required, `schemaVersion` only `messages-v1`, `inferenceConfig.maxTokens`
//! ≥ 1, `temperature` and `topP` in 0..=1; then the conversation rules Nova shares with Converse
//! (it starts with a user message, roles alternate). Streams carry one event per chunk —
//! `messageStart`, `contentBlockStart` (tool use), `contentBlockDelta`, `contentBlockStop`,
//! `messageStop`, `metadata` — and Bedrock's metrics ride on the `metadata` chunk.

use quarry::adapters::nova::{
    NovaBlockStart, NovaContentBlock, NovaContentBlockDelta, NovaContentBlockStart,
    NovaContentBlockStop, NovaDelta, NovaMessage, NovaMessageStart, NovaMessageStop, NovaOutput,
    NovaReasoningContent, NovaReasoningDelta, NovaRequest, NovaResponse, NovaStreamChunk,
    NovaStreamMetadata, NovaSystemBlock, NovaToolChoice, NovaToolResultContent, NovaToolUse,
    NovaToolUseDelta, NovaToolUseStart, NovaUsage, SCHEMA_VERSION,
};
use quarry::chat::{
    BlockStart, ChatRequest, ContentBlock, Delta, Message, Role, StopReason, StreamEvent,
    SystemBlock, ToolChoice, ToolResultContent, ToolSpec, Usage,
};
use serde_json::Value;

use super::chat::ChatAnswer;
use super::schema::BodyCheck;
use super::{ChatFormat, StreamChunk, invalid, to_json};
use crate::aws_error::AwsError;
use crate::bedrock::converse::{FIRST_MESSAGE_NOT_USER, ROLES_DO_NOT_ALTERNATE};

/// The Amazon Nova understanding models' body.
#[derive(Debug, Clone, Copy, Default)]
pub struct Nova;

impl ChatFormat for Nova {
    fn parse(&self, body: &[u8]) -> Result<ChatRequest, AwsError> {
        let mut check = BodyCheck::parse(body)?;
        check
            .required(&["messages"])
            .one_of("schemaVersion", &[SCHEMA_VERSION])
            .array("messages")
            .items("messages", Some(1), None)
            .array("system")
            .object("inferenceConfig")
            .integer("inferenceConfig/maxTokens", Some(1), None)
            .integer("inferenceConfig/max_new_tokens", Some(1), None)
            .number("inferenceConfig/temperature", Some(0.0), Some(1.0))
            .number("inferenceConfig/topP", Some(0.0), Some(1.0))
            .number("inferenceConfig/top_p", Some(0.0), Some(1.0))
            .object("toolConfig");
        let request: NovaRequest = check.into_wire()?;
        if request.messages.first().is_some_and(|m| m.role != Role::User) {
            return Err(invalid(FIRST_MESSAGE_NOT_USER));
        }
        if request.messages.windows(2).any(|pair| pair[0].role == pair[1].role) {
            return Err(invalid(ROLES_DO_NOT_ALTERNATE));
        }
        Ok(to_chat(request))
    }

    fn response_body(&self, answer: &ChatAnswer) -> Result<Value, AwsError> {
        let content = answer
            .response
            .content
            .iter()
            .filter_map(|block| match block {
                ContentBlock::Text { text } => Some(NovaContentBlock::Text(text.clone())),
                ContentBlock::ToolUse { id, name, input } => {
                    Some(NovaContentBlock::ToolUse(NovaToolUse {
                        tool_use_id: id.clone(),
                        name: name.clone(),
                        input: input.clone(),
                    }))
                }
                _ => None,
            })
            .collect();
        to_json(&NovaResponse {
            output: NovaOutput { message: NovaMessage { role: Role::Assistant, content } },
            stop_reason: stop_reason(answer.response.stop_reason).to_owned(),
            usage: Some(usage(answer.usage())),
            metrics: None,
        })
    }

    fn stream_chunks(&self, answer: &ChatAnswer) -> Result<Vec<StreamChunk>, AwsError> {
        answer
            .events
            .iter()
            .map(|event| {
                let mut text = "";
                let chunk = match event {
                    StreamEvent::MessageStart { role } => NovaStreamChunk {
                        message_start: Some(NovaMessageStart { role: *role }),
                        ..NovaStreamChunk::default()
                    },
                    StreamEvent::ContentBlockStart {
                        index,
                        start: BlockStart::ToolUse { id, name },
                    } => NovaStreamChunk {
                        content_block_start: Some(NovaContentBlockStart {
                            start: NovaBlockStart::ToolUse(NovaToolUseStart {
                                tool_use_id: id.clone(),
                                name: name.clone(),
                            }),
                            content_block_index: *index,
                        }),
                        ..NovaStreamChunk::default()
                    },
                    StreamEvent::ContentBlockDelta { index, delta } => {
                        let delta = match delta {
                            Delta::Text { text: piece } => {
                                text = piece;
                                NovaDelta::Text(piece.clone())
                            }
                            Delta::ToolInput { json } => {
                                text = json;
                                NovaDelta::ToolUse(NovaToolUseDelta { input: json.clone() })
                            }
                            Delta::Reasoning { text: piece } => {
                                text = piece;
                                NovaDelta::ReasoningContent(NovaReasoningDelta::Text(piece.clone()))
                            }
                            Delta::ReasoningSignature { signature } => NovaDelta::ReasoningContent(
                                NovaReasoningDelta::Signature(signature.clone()),
                            ),
                            Delta::RedactedReasoning { data } => NovaDelta::ReasoningContent(
                                NovaReasoningDelta::RedactedContent(data.clone()),
                            ),
                        };
                        NovaStreamChunk {
                            content_block_delta: Some(NovaContentBlockDelta {
                                delta,
                                content_block_index: *index,
                            }),
                            ..NovaStreamChunk::default()
                        }
                    }
                    StreamEvent::ContentBlockStop { index } => NovaStreamChunk {
                        content_block_stop: Some(NovaContentBlockStop {
                            content_block_index: *index,
                        }),
                        ..NovaStreamChunk::default()
                    },
                    StreamEvent::MessageStop { stop_reason: reason } => NovaStreamChunk {
                        message_stop: Some(NovaMessageStop {
                            stop_reason: stop_reason(*reason).to_owned(),
                            additional_model_response_fields: None,
                        }),
                        ..NovaStreamChunk::default()
                    },
                    StreamEvent::Metadata { usage: totals, .. } => NovaStreamChunk {
                        metadata: Some(NovaStreamMetadata {
                            usage: Some(usage(*totals)),
                            ..NovaStreamMetadata::default()
                        }),
                        ..NovaStreamChunk::default()
                    },
                };
                Ok(StreamChunk::new(to_json(&chunk)?, text))
            })
            .collect()
    }
}

fn usage(usage: Usage) -> NovaUsage {
    NovaUsage {
        input_tokens: usage.input_tokens,
        output_tokens: usage.output_tokens,
        total_tokens: Some(usage.total_tokens),
        cache_read_input_token_count: None,
        cache_write_input_token_count: None,
    }
}

/// Nova's `stopReason` for quarry's.
fn stop_reason(reason: StopReason) -> &'static str {
    match reason {
        StopReason::MaxTokens => "max_tokens",
        StopReason::StopSequence => "stop_sequence",
        StopReason::ToolUse => "tool_use",
        _ => "end_turn",
    }
}

/// The `messages-v1` body as quarry's unified request.
fn to_chat(request: NovaRequest) -> ChatRequest {
    let system = request
        .system
        .into_iter()
        .map(|block| match block {
            NovaSystemBlock::Text(text) => SystemBlock::Text { text },
            NovaSystemBlock::CachePoint(_) => SystemBlock::CachePoint,
        })
        .collect();
    let messages = request
        .messages
        .into_iter()
        .map(|message| Message {
            role: message.role,
            content: message.content.into_iter().filter_map(content_block).collect(),
        })
        .collect();
    let config = request.inference_config.unwrap_or_default();
    let (tools, tool_choice) = match request.tool_config {
        None => (Vec::new(), None),
        Some(config) => (
            config
                .tools
                .into_iter()
                .map(|tool| ToolSpec {
                    name: tool.tool_spec.name,
                    description: tool.tool_spec.description,
                    input_schema: tool.tool_spec.input_schema.json,
                })
                .collect(),
            config.tool_choice.map(|choice| match choice {
                NovaToolChoice::Auto(_) => ToolChoice::Auto,
                NovaToolChoice::Any(_) => ToolChoice::Any,
                NovaToolChoice::Tool(tool) => ToolChoice::Tool { name: tool.name },
            }),
        ),
    };
    ChatRequest {
        system,
        messages,
        max_tokens: config.max_tokens,
        temperature: config.temperature.map(|t| t as f32),
        top_p: config.top_p.map(|p| p as f32),
        top_k: config.top_k,
        stop_sequences: config.stop_sequences,
        tools,
        tool_choice,
        guardrail: None,
    }
}

/// A Nova content block as a unified block (`None` for what the unified request does not carry:
/// videos, S3 sources, redacted reasoning).
fn content_block(block: NovaContentBlock) -> Option<ContentBlock> {
    match block {
        NovaContentBlock::Text(text) => Some(ContentBlock::Text { text }),
        NovaContentBlock::Image(image) => {
            Some(ContentBlock::Image { format: image.format, data: image.source.bytes? })
        }
        NovaContentBlock::Document(document) => Some(ContentBlock::Document {
            format: document.format,
            name: document.name,
            data: document.source.bytes?,
        }),
        NovaContentBlock::ToolUse(tool) => {
            Some(ContentBlock::ToolUse { id: tool.tool_use_id, name: tool.name, input: tool.input })
        }
        NovaContentBlock::ToolResult(result) => Some(ContentBlock::ToolResult {
            tool_use_id: result.tool_use_id,
            content: result
                .content
                .into_iter()
                .filter_map(|piece| match piece {
                    NovaToolResultContent::Text(text) => Some(ToolResultContent::Text { text }),
                    NovaToolResultContent::Json(json) => Some(ToolResultContent::Json { json }),
                    NovaToolResultContent::Image(_) | NovaToolResultContent::Document(_) => None,
                })
                .collect(),
            status: result.status,
        }),
        NovaContentBlock::ReasoningContent(NovaReasoningContent::ReasoningText(reasoning)) => {
            Some(ContentBlock::Reasoning { text: reasoning.text, signature: reasoning.signature })
        }
        NovaContentBlock::CachePoint(_) => Some(ContentBlock::CachePoint),
        NovaContentBlock::ReasoningContent(NovaReasoningContent::RedactedContent(_))
        | NovaContentBlock::Video(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use quarry::adapters::NativeAdapter;
    use quarry::adapters::nova::NovaAdapter;
    use serde_json::json;

    use super::*;
    use crate::bedrock::native::chat::answer;
    use crate::bedrock::native::fold_chunks;

    fn parse(body: Value) -> Result<ChatRequest, AwsError> {
        Nova.parse(body.to_string().as_bytes())
    }

    /// The request body of the Nova user guide page "Using the Invoke API"
    /// (https://docs.aws.amazon.com/nova/latest/nova2-userguide/using-invoke-api.html), with the
    /// `schemaVersion` and `system` of "Complete request schema".
    #[test]
    fn the_documented_request_reads_into_a_unified_request() {
        let request = parse(json!({
            "schemaVersion": "messages-v1",
            "system": [{"text": "You are a helpful assistant."}],
            "messages": [{"role": "user", "content": [{"text": "What is machine learning?"}]}],
            "inferenceConfig": {"maxTokens": 512, "temperature": 0.7}
        }))
        .expect("documented body");
        assert_eq!(request.system_text().as_deref(), Some("You are a helpful assistant."));
        assert_eq!(request.messages, [Message::user("What is machine learning?")]);
        assert_eq!((request.max_tokens, request.temperature), (Some(512), Some(0.7)));
    }

    #[test]
    fn bodies_bedrock_rejects_are_validation_exceptions() {
        let cases = [
            (json!({"system": []}), "#: required key [messages] not found"),
            (json!({"messages": []}), "#/messages: expected minimum item count: 1, found: 0"),
            (
                json!({"schemaVersion": "messages-v2", "messages": [{"role": "user", "content": [{"text": "hi"}]}]}),
                "#/schemaVersion: \"messages-v2\" is not a valid enum value",
            ),
            (
                json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}], "inferenceConfig": {"temperature": 2}}),
                "#/inferenceConfig/temperature: 2 is not less or equal to 1",
            ),
            (
                json!({"messages": [{"role": "assistant", "content": [{"text": "hi"}]}]}),
                FIRST_MESSAGE_NOT_USER,
            ),
            (
                json!({"messages": [{"role": "user", "content": [{"text": "a"}]}, {"role": "user", "content": [{"text": "b"}]}]}),
                ROLES_DO_NOT_ALTERNATE,
            ),
        ];
        for (body, expected) in cases {
            let error = parse(body.clone()).expect_err("rejected");
            assert_eq!(error.code, "ValidationException");
            assert!(error.message.contains(expected), "{body}: {}", error.message);
        }
    }

    #[test]
    fn a_tool_call_reads_back_through_quarrys_adapter_whole_and_streamed() {
        let request = parse(json!({
            "messages": [{"role": "user", "content": [{"text": "What is the weather in Paris?"}]}],
            "toolConfig": {"tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}}]}
        }))
        .expect("valid");
        let answer = answer(&request, Nova.style());
        let body = Nova.response_body(&answer).expect("body");
        assert_eq!(body["stopReason"], "tool_use");
        let parsed = NovaAdapter.parse_response(body.to_string().as_bytes()).expect("parses");
        assert_eq!(parsed, answer.response);
        let chunks = Nova.stream_chunks(&answer).expect("chunks");
        let streamed = fold_chunks(&NovaAdapter, &chunks);
        assert_eq!(streamed, answer.response);
    }
}
