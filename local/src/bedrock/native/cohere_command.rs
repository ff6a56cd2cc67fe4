//! The Cohere Command R / R+ body, its response and its `event_type` stream, in the wire types of
//! [`quarry::adapters::cohere_command`]
//! (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-cohere-command-r-plus.html).
//!
//! Checks: `message` required (it may be empty when `tool_results` answer the last turn);
//! `temperature` in 0..=1, `p` in 0.01..=0.99, `k` in 0..=500, `max_tokens` ≥ 1. The body reads
//! into a unified request: `preamble` is the system prompt, `chat_history` the earlier turns
//! (`CHATBOT` tool calls and `TOOL` results included), `documents` text documents of the last turn,
//! `tools` function tools whose JSON Schema is rebuilt from `parameter_definitions`. Tool calls are
//! answered as `tool_calls` with `finish_reason: COMPLETE`; the stream is `stream-start`,
//! `text-generation` pieces, `tool-calls-generation`, and `stream-end` carrying the whole response
//! (and Bedrock's metrics).

use quarry::adapters::cohere_command::{
    CohereChatRequest, CohereChatResponse, CohereMeta, CohereParameterDefinition, CohereRole,
    CohereStreamEvent, CohereTokens, CohereTool, CohereToolCall, CohereToolResult,
};
use quarry::chat::{
    ChatRequest, ContentBlock, DocumentFormat, Message, Role, StopReason, SystemBlock,
    ToolResultContent, ToolSpec,
};
use serde_json::{Map, Value, json};

use super::chat::ChatAnswer;
use super::schema::BodyCheck;
use super::titan_text::text_deltas;
use super::{ChatFormat, StreamChunk, to_json};
use crate::aws_error::AwsError;

/// The Command R / R+ body.
#[derive(Debug, Clone, Copy, Default)]
pub struct CohereCommand;

impl ChatFormat for CohereCommand {
    fn parse(&self, body: &[u8]) -> Result<ChatRequest, AwsError> {
        let mut check = BodyCheck::parse(body)?;
        check
            .required(&["message"])
            .string("message")
            .array("chat_history")
            .array("documents")
            .array("tools")
            .array("tool_results")
            .string("preamble")
            .integer("max_tokens", Some(1), None)
            .number("temperature", Some(0.0), Some(1.0))
            .number("p", Some(0.01), Some(0.99))
            .number("k", Some(0.0), Some(500.0))
            .array("stop_sequences");
        let request: CohereChatRequest = check.into_wire()?;
        Ok(to_chat(request))
    }

    fn response_body(&self, answer: &ChatAnswer) -> Result<Value, AwsError> {
        to_json(&self.response(answer))
    }

    fn stream_chunks(&self, answer: &ChatAnswer) -> Result<Vec<StreamChunk>, AwsError> {
        let response = self.response(answer);
        let event = |event_type: &str| CohereStreamEvent {
            event_type: event_type.to_owned(),
            ..CohereStreamEvent::default()
        };
        let mut chunks = vec![StreamChunk::framing(to_json(&CohereStreamEvent {
            generation_id: response.generation_id.clone(),
            ..event("stream-start")
        })?)];
        for piece in text_deltas(&answer.events) {
            let json = to_json(&CohereStreamEvent {
                text: Some(piece.to_owned()),
                ..event("text-generation")
            })?;
            chunks.push(StreamChunk::new(json, piece));
        }
        if let Some(calls) = &response.tool_calls {
            let json = to_json(&CohereStreamEvent {
                text: Some(String::new()),
                tool_calls: Some(calls.clone()),
                ..event("tool-calls-generation")
            })?;
            chunks.push(StreamChunk::new(json, &to_json(calls)?.to_string()));
        }
        chunks.push(StreamChunk::framing(to_json(&CohereStreamEvent {
            is_finished: true,
            finish_reason: response.finish_reason.clone(),
            response: Some(response),
            ..event("stream-end")
        })?));
        Ok(chunks)
    }
}

impl CohereCommand {
    /// The whole response of `answer` (also the `response` of the `stream-end` event).
    fn response(&self, answer: &ChatAnswer) -> CohereChatResponse {
        let usage = answer.usage();
        let tool_calls = answer.tool_use().map(|(_, name, input)| {
            vec![CohereToolCall {
                name: name.to_owned(),
                parameters: input.as_object().cloned().unwrap_or_default(),
            }]
        });
        CohereChatResponse {
            response_id: Some(format!("resp-{}", answer.id)),
            text: Some(answer.text()),
            generation_id: Some(format!("gen-{}", answer.id)),
            finish_reason: Some(finish_reason(answer.response.stop_reason).to_owned()),
            tool_calls,
            meta: Some(CohereMeta {
                api_version: Some(json!({"version": "1"})),
                billed_units: Some(CohereTokens {
                    input_tokens: f64::from(usage.input_tokens),
                    output_tokens: f64::from(usage.output_tokens),
                }),
                tokens: None,
            }),
            ..CohereChatResponse::default()
        }
    }
}

/// Cohere's `finish_reason` for quarry's (a stop sequence completes the generation).
fn finish_reason(reason: StopReason) -> &'static str {
    match reason {
        StopReason::MaxTokens => "MAX_TOKENS",
        _ => "COMPLETE",
    }
}

/// A Command R body as quarry's unified request.
fn to_chat(request: CohereChatRequest) -> ChatRequest {
    let mut system: Vec<SystemBlock> =
        request.preamble.into_iter().map(|text| SystemBlock::Text { text }).collect();
    let mut messages: Vec<Message> = Vec::new();
    let mut calls = 0;
    for turn in request.chat_history {
        let text = turn.message.unwrap_or_default();
        match turn.role {
            CohereRole::System => system.push(SystemBlock::Text { text }),
            CohereRole::User => messages.push(Message::user(text)),
            CohereRole::Chatbot => {
                let mut content = Vec::new();
                if !text.is_empty() {
                    content.push(ContentBlock::Text { text });
                }
                for call in turn.tool_calls.unwrap_or_default() {
                    content.push(ContentBlock::ToolUse {
                        id: format!("call-{calls}"),
                        name: call.name,
                        input: Value::Object(call.parameters),
                    });
                    calls += 1;
                }
                messages.push(Message { role: Role::Assistant, content });
            }
            CohereRole::Tool => messages.push(Message {
                role: Role::User,
                content: turn
                    .tool_results
                    .unwrap_or_default()
                    .into_iter()
                    .map(tool_result)
                    .collect(),
            }),
        }
    }
    let mut last: Vec<ContentBlock> = request
        .documents
        .into_iter()
        .map(|document| ContentBlock::Document {
            format: DocumentFormat::Txt,
            name: document.title,
            data: document.snippet.into_bytes().into(),
        })
        .collect();
    last.extend(request.tool_results.into_iter().map(tool_result));
    if !request.message.is_empty() {
        last.push(ContentBlock::Text { text: request.message });
    }
    messages.push(Message { role: Role::User, content: last });
    ChatRequest {
        system,
        messages,
        max_tokens: request.max_tokens,
        temperature: request.temperature.map(|t| t as f32),
        top_p: request.p.map(|p| p as f32),
        top_k: request.k,
        stop_sequences: request.stop_sequences,
        tools: request.tools.into_iter().map(tool_spec).collect(),
        tool_choice: None,
        guardrail: None,
    }
}

/// A tool's answer as a unified tool result (its outputs as JSON parts).
fn tool_result(result: CohereToolResult) -> ContentBlock {
    ContentBlock::ToolResult {
        tool_use_id: result.call.name,
        content: result
            .outputs
            .into_iter()
            .map(|output| ToolResultContent::Json { json: Value::Object(output) })
            .collect(),
        status: None,
    }
}

/// A Cohere tool as a unified tool: its parameter definitions as a JSON Schema object.
fn tool_spec(tool: CohereTool) -> ToolSpec {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for (name, definition) in tool.parameter_definitions {
        if definition.required {
            required.push(Value::String(name.clone()));
        }
        properties.insert(name, property(&definition));
    }
    ToolSpec {
        name: tool.name,
        description: (!tool.description.is_empty()).then_some(tool.description),
        input_schema: json!({"type": "object", "properties": properties, "required": required}),
    }
}

/// A parameter's Python type name as a JSON Schema.
fn property(definition: &CohereParameterDefinition) -> Value {
    let mut schema = json_type(&definition.kind);
    if let (Some(description), Value::Object(fields)) = (&definition.description, &mut schema) {
        fields.insert("description".into(), Value::String(description.clone()));
    }
    schema
}

fn json_type(python: &str) -> Value {
    let python = python.trim();
    match python {
        "str" => json!({"type": "string"}),
        "int" => json!({"type": "integer"}),
        "float" => json!({"type": "number"}),
        "bool" => json!({"type": "boolean"}),
        "dict" => json!({"type": "object"}),
        "list" => json!({"type": "array"}),
        _ => match python.strip_prefix("List[").and_then(|rest| rest.strip_suffix(']')) {
            Some(items) => json!({"type": "array", "items": json_type(items)}),
            None => json!({}),
        },
    }
}

#[cfg(test)]
mod tests {
    use quarry::adapters::NativeAdapter;
    use quarry::adapters::cohere_command::CohereCommandAdapter;

    use super::*;
    use crate::bedrock::native::chat::answer;
    use crate::bedrock::native::fold_chunks;

    fn weather_request() -> ChatRequest {
        let mut request = ChatRequest::from_user_text("What is the weather in Paris today?");
        request.tools = vec![ToolSpec {
            name: "get_weather".into(),
            description: Some("Current weather for a city".into()),
            input_schema: json!({"type": "object", "properties": {"city": {"type": "string", "description": "The city"}}, "required": ["city"]}),
        }];
        request
    }

    /// The request fields of the Command R / R+ page (message, chat_history, documents, preamble,
    /// max_tokens, temperature, p, k); the values are ours.
    #[test]
    fn the_documented_fields_read_into_a_unified_request() {
        let request = CohereCommand
            .parse(json!({
                "message": "When does the pool open?",
                "chat_history": [{"role": "USER", "message": "Hi"}, {"role": "CHATBOT", "message": "Hello!"}],
                "documents": [{"title": "hours", "snippet": "The pool opens in June."}],
                "preamble": "Answer from the documents.",
                "max_tokens": 100, "temperature": 0.3, "p": 0.75, "k": 0
            }).to_string().as_bytes())
            .expect("documented body");
        assert_eq!(request.system_text().as_deref(), Some("Answer from the documents."));
        assert_eq!(request.messages.len(), 3);
        let answer = answer(&request, CohereCommand.style());
        assert!(answer.text().contains("The pool opens in June."), "{}", answer.text());
    }

    #[test]
    fn tools_round_trip_through_parameter_definitions_and_calls_read_back() {
        let body = CohereCommandAdapter
            .request_body("cohere.command-r-v1:0", &weather_request())
            .expect("body");
        let request = CohereCommand.parse(body.to_string().as_bytes()).expect("valid");
        assert_eq!(
            request.tools[0].input_schema,
            json!({"type": "object", "properties": {"city": {"type": "string", "description": "The city"}}, "required": ["city"]})
        );
        let answer = answer(&request, CohereCommand.style());
        let body = CohereCommand.response_body(&answer).expect("body");
        assert_eq!(
            body["tool_calls"],
            json!([{"name": "get_weather", "parameters": {"city": "Paris"}}])
        );
        let parsed =
            CohereCommandAdapter.parse_response(body.to_string().as_bytes()).expect("parses");
        assert_eq!(parsed.stop_reason, StopReason::ToolUse);
        let chunks = CohereCommand.stream_chunks(&answer).expect("chunks");
        let streamed = fold_chunks(&CohereCommandAdapter, &chunks);
        assert_eq!((streamed.content, streamed.stop_reason), (parsed.content, parsed.stop_reason));
    }

    #[test]
    fn a_message_of_tool_results_is_answered_from_them() {
        let mut request = weather_request();
        request.messages.push(Message {
            role: Role::Assistant,
            content: vec![ContentBlock::ToolUse {
                id: "c1".into(),
                name: "get_weather".into(),
                input: json!({"city": "Paris"}),
            }],
        });
        request.messages.push(Message {
            role: Role::User,
            content: vec![ContentBlock::ToolResult {
                tool_use_id: "c1".into(),
                content: vec![ToolResultContent::Json {
                    json: json!({"forecast": "Sunny weather, 24 degrees."}),
                }],
                status: None,
            }],
        });
        let body =
            CohereCommandAdapter.request_body("cohere.command-r-v1:0", &request).expect("body");
        assert_eq!(body["message"], "");
        let read = CohereCommand.parse(body.to_string().as_bytes()).expect("valid");
        let answer = answer(&read, CohereCommand.style());
        assert!(answer.tool_use().is_none());
        assert!(answer.text().contains("24 degrees"), "{}", answer.text());
    }

    #[test]
    fn bodies_bedrock_rejects_are_validation_exceptions() {
        for (body, expected) in [
            (json!({"chat_history": []}), "#: required key [message] not found"),
            (json!({"message": "hi", "p": 1.0}), "#/p: 1.0 is not less or equal to 0.99"),
            (
                json!({"message": "hi", "temperature": -1}),
                "#/temperature: -1 is not greater or equal to 0",
            ),
        ] {
            let error = CohereCommand.parse(body.to_string().as_bytes()).expect_err("rejected");
            assert!(error.message.contains(expected), "{body}: {}", error.message);
        }
    }
}
