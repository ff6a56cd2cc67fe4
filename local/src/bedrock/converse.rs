//! Converse and ConverseStream, answered by the local extractive text model.
//!
//! A request maps onto the model's [`Conversation`]: the question is the last user turn that has
//! text (its last paragraph); the system prompt, earlier turns, text documents and tool results are
//! the context; tools and `toolChoice` become tool offers; `maxTokens` and `stopSequences` limit the
//! answer. `temperature` and `topP` are validated and otherwise have no effect (the model is
//! deterministic); images, video, audio and binary documents are accepted and not read.
//!
//! With `guardrailConfig`, the local guardrail checks the conversation's text (only the
//! `guardContent` blocks when there are any) before the model runs, and the answer after: when it
//! blocks, the answer is its blocked message and the stop reason `guardrail_intervened`.

use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::converse_wire::*;
use super::event_stream;
use super::guardrail::{LocalGuardrail, Source, Verdict};
use super::model_id::ModelRef;
use super::native::chat::{
    ConversationBuilder, PIECES_PER_DELTA, Part, TOOL_INPUT_CHARS_PER_DELTA, Turn, tool_use_id,
};
use super::{BedrockState, PlannedMessage, Timing, pause, stream_body};
use crate::aws_error::AwsError;
use crate::models::extractive::{
    Conversation, Finish, Generation, GenerationParams, ToolOffer, count_tokens, generate,
};

pub(crate) const FIRST_MESSAGE_NOT_USER: &str = "A conversation must start with a user message. Try again with a conversation that starts with a user message.";
pub(crate) const ROLES_DO_NOT_ALTERNATE: &str = "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.";
const TOOLS_WITHOUT_TOOL_CONFIG: &str =
    "The toolConfig field must be defined when using toolUse and toolResult content blocks.";
const NOT_A_TEXT_MODEL: &str = "This action doesn't support the model that you provided. Try again with a supported text or chat model.";

/// The model's answer to one Converse request, before it is written as a response or a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The answer text in pieces (empty for a bare tool call).
    pub pieces: Vec<String>,
    pub tool_use: Option<ToolUseBlock>,
    pub stop_reason: StopReason,
    pub usage: TokenUsage,
    pub trace: Option<ConverseTrace>,
}

impl Answer {
    /// The assistant message content blocks.
    pub fn content(&self) -> Vec<ContentBlock> {
        let text = self.pieces.concat();
        let text = (!text.is_empty()).then_some(ContentBlock::Text(text));
        text.into_iter().chain(self.tool_use.clone().map(ContentBlock::ToolUse)).collect()
    }

    /// The Converse response body.
    pub fn response(&self, latency_ms: u64) -> ConverseResponse {
        ConverseResponse {
            output: ConverseOutput::Message(Message {
                role: Role::Assistant,
                content: self.content(),
            }),
            stop_reason: self.stop_reason,
            usage: self.usage,
            metrics: ConverseMetrics { latency_ms },
            trace: self.trace.clone(),
        }
    }
}

/// Parses a Converse / ConverseStream body.
pub fn parse_request(body: &[u8]) -> Result<ConverseRequest, AwsError> {
    serde_json::from_slice(body).map_err(|e| {
        AwsError::validation(format!(
            "Malformed input request: {e}, please reformat your input and try again."
        ))
    })
}

/// Checks what Bedrock checks before invoking the model.
pub fn validate(request: &ConverseRequest) -> Result<(), AwsError> {
    let Some(first) = request.messages.first() else {
        return Err(AwsError::validation(
            "1 validation error detected: Value '[]' at 'messages' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    };
    if first.role != Role::User {
        return Err(AwsError::validation(FIRST_MESSAGE_NOT_USER));
    }
    if request.messages.windows(2).any(|pair| pair[0].role == pair[1].role) {
        return Err(AwsError::validation(ROLES_DO_NOT_ALTERNATE));
    }
    if let Some(i) = request.messages.iter().position(|m| m.content.is_empty()) {
        return Err(AwsError::validation(format!(
            "The content field in the Message object at messages.{i} is empty. Add a ContentBlock object to the content field and try again."
        )));
    }
    let uses_tools = request
        .messages
        .iter()
        .flat_map(|m| &m.content)
        .any(|block| matches!(block, ContentBlock::ToolUse(_) | ContentBlock::ToolResult(_)));
    if uses_tools && request.tool_config.is_none() {
        return Err(AwsError::validation(TOOLS_WITHOUT_TOOL_CONFIG));
    }
    if let Some(config) = &request.inference_config {
        if let Some(max) = config.max_tokens
            && max < 1
        {
            return Err(constraint(
                &max.to_string(),
                "inferenceConfig.maxTokens",
                "greater than or equal to 1",
            ));
        }
        for (name, value) in [("temperature", config.temperature), ("topP", config.top_p)] {
            match value {
                Some(v) if v < 0.0 => {
                    return Err(constraint(
                        &v.to_string(),
                        &format!("inferenceConfig.{name}"),
                        "greater than or equal to 0",
                    ));
                }
                Some(v) if v > 1.0 => {
                    return Err(constraint(
                        &v.to_string(),
                        &format!("inferenceConfig.{name}"),
                        "less than or equal to 1",
                    ));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

fn constraint(value: &str, at: &str, bound: &str) -> AwsError {
    AwsError::validation(format!(
        "1 validation error detected: Value '{value}' at '{at}' failed to satisfy constraint: Member must have value {bound}"
    ))
}

/// Maps a (validated) request onto the extractive model's conversation and limits.
pub fn conversation_of(request: &ConverseRequest) -> (Conversation, GenerationParams) {
    let system = request
        .system
        .iter()
        .filter_map(|block| match block {
            SystemContentBlock::Text(text) => Some(text.clone()),
            SystemContentBlock::GuardContent(GuardrailConverseContentBlock::Text(t)) => {
                Some(t.text.clone())
            }
            SystemContentBlock::GuardContent(_) | SystemContentBlock::CachePoint(_) => None,
        })
        .collect();
    let turns = request
        .messages
        .iter()
        .map(|message| Turn {
            role: match message.role {
                Role::User => quarry::chat::Role::User,
                Role::Assistant => quarry::chat::Role::Assistant,
            },
            parts: message.content.iter().filter_map(part_of).collect(),
        })
        .collect();
    let mut builder = ConversationBuilder { system, turns, ..ConversationBuilder::default() };
    if let Some(tools) = &request.tool_config {
        builder.tools = tools
            .tools
            .iter()
            .filter_map(|tool| match tool {
                Tool::ToolSpec(spec) => {
                    let ToolInputSchema::Json(schema) = &spec.input_schema;
                    Some(ToolOffer {
                        name: spec.name.clone(),
                        description: spec.description.clone().unwrap_or_default(),
                        input_schema: schema.clone(),
                    })
                }
                Tool::SystemTool(_) | Tool::CachePoint(_) => None,
            })
            .collect();
        builder.required_tool = match &tools.tool_choice {
            None | Some(ToolChoice::Auto(_)) => None,
            Some(ToolChoice::Any(_)) => Some(None),
            Some(ToolChoice::Tool(choice)) => Some(Some(choice.name.clone())),
        };
    }
    let config = request.inference_config.clone().unwrap_or_default();
    let params = GenerationParams {
        max_tokens: config.max_tokens.and_then(|m| u32::try_from(m).ok()),
        stop_sequences: config.stop_sequences.unwrap_or_default(),
    };
    (builder.build(), params)
}

/// What a block gives the model: text (the question, in the question turn), a text document, or
/// a tool result.
fn part_of(block: &ContentBlock) -> Option<Part> {
    match block {
        ContentBlock::Text(text) => Some(Part::Text(text.clone())),
        ContentBlock::GuardContent(GuardrailConverseContentBlock::Text(t)) => {
            Some(Part::Text(t.text.clone()))
        }
        ContentBlock::Document(document) => document_text(document).map(Part::Context),
        ContentBlock::ToolResult(result) => Some(Part::ToolResult(
            result
                .content
                .iter()
                .filter_map(|block| match block {
                    ToolResultContentBlock::Json(value) => Some(value.to_string()),
                    ToolResultContentBlock::Text(text) => Some(text.clone()),
                    ToolResultContentBlock::Document(document) => document_text(document),
                    _ => None,
                })
                .collect(),
        )),
        _ => None,
    }
}

/// The text of a document in a text format (`txt`, `md`, `html`, `csv`), or given as text.
fn document_text(document: &DocumentBlock) -> Option<String> {
    let text_format =
        matches!(document.format.as_deref(), None | Some("txt" | "md" | "html" | "csv"));
    match &document.source {
        DocumentSource::Text(text) => Some(text.clone()),
        DocumentSource::Content(blocks) => Some(
            blocks
                .iter()
                .map(|DocumentContentBlock::Text(t)| t.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        DocumentSource::Bytes(bytes) if text_format => {
            Some(String::from_utf8_lossy(&bytes.0).into_owned())
        }
        DocumentSource::Bytes(_) | DocumentSource::S3Location(_) => None,
    }
}

/// The guardrail a request names, found among the endpoint's guardrails.
fn guardrail_of<'a>(
    request: &ConverseRequest,
    state: &'a BedrockState,
) -> Result<Option<(&'a LocalGuardrail, bool)>, AwsError> {
    let Some(config) = &request.guardrail_config else { return Ok(None) };
    let guardrail =
        state.guardrails.find(&config.guardrail_identifier, &config.guardrail_version)?;
    let trace = matches!(config.trace.as_deref(), Some("enabled" | "enabled_full"));
    Ok(Some((guardrail, trace)))
}

/// The texts the guardrail checks: the `guardContent` blocks if any, else every message's text.
fn guarded_texts(request: &ConverseRequest) -> Vec<&str> {
    let guard_content: Vec<&str> = request
        .messages
        .iter()
        .flat_map(|m| &m.content)
        .filter_map(|block| match block {
            ContentBlock::GuardContent(GuardrailConverseContentBlock::Text(t)) => {
                Some(t.text.as_str())
            }
            _ => None,
        })
        .collect();
    if !guard_content.is_empty() {
        return guard_content;
    }
    request
        .messages
        .iter()
        .flat_map(|m| &m.content)
        .filter_map(|block| match block {
            ContentBlock::Text(text) => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

/// Answers a validated request: guardrail on the input, the model, guardrail on the output.
pub fn answer(request: &ConverseRequest, guardrail: Option<(&LocalGuardrail, bool)>) -> Answer {
    let (conversation, params) = conversation_of(request);
    let input_tokens = conversation
        .context
        .iter()
        .map(|c| count_tokens(c))
        .fold(count_tokens(&conversation.question), u32::saturating_add);
    let mut trace = guardrail
        .and_then(|(g, on)| on.then(|| (g.id.clone(), GuardrailTraceAssessment::default())));

    if let Some((guardrail, _)) = guardrail {
        let verdict = guardrail.check(guarded_texts(request));
        if let Some((id, assessment)) = &mut trace {
            assessment.input_assessment = Some(assessment_map(id, verdict.assessment()));
        }
        if verdict.intervened() {
            return blocked(guardrail, Source::Input, TokenUsage::new(input_tokens, 0), trace);
        }
    }

    let generation = generate(&conversation, &params);
    let usage = TokenUsage::new(generation.input_tokens, generation.output_tokens());
    if let Some((guardrail, _)) = guardrail {
        let text = generation.text();
        let verdict: Verdict = guardrail.check([text.as_str()]);
        if let Some((id, assessment)) = &mut trace {
            assessment.output_assessments = Some(assessment_map(id, json!([verdict.assessment()])));
            if verdict.intervened() {
                assessment.model_output = Some(vec![text.clone()]);
            }
        }
        if verdict.intervened() {
            return blocked(guardrail, Source::Output, usage, trace);
        }
    }
    from_generation(&conversation, generation, usage, trace)
}

fn assessment_map(id: &str, assessment: Value) -> Map<String, Value> {
    Map::from_iter([(id.to_owned(), assessment)])
}

fn blocked(
    guardrail: &LocalGuardrail,
    source: Source,
    usage: TokenUsage,
    trace: Option<(String, GuardrailTraceAssessment)>,
) -> Answer {
    Answer {
        pieces: guardrail.blocked_message(source).split_inclusive(' ').map(str::to_owned).collect(),
        tool_use: None,
        stop_reason: StopReason::GuardrailIntervened,
        usage,
        trace: trace.map(|(_, guardrail)| ConverseTrace { guardrail }),
    }
}

fn from_generation(
    conversation: &Conversation,
    generation: Generation,
    usage: TokenUsage,
    trace: Option<(String, GuardrailTraceAssessment)>,
) -> Answer {
    let stop_reason = match generation.finish {
        Finish::EndTurn => StopReason::EndTurn,
        Finish::MaxTokens => StopReason::MaxTokens,
        Finish::StopSequence(_) => StopReason::StopSequence,
        Finish::ToolUse => StopReason::ToolUse,
    };
    let tool_use = generation.tool_call.map(|call| ToolUseBlock {
        tool_use_id: tool_use_id("tooluse_", &call.name, &call.input, &conversation.question),
        name: call.name,
        input: call.input,
        kind: None,
    });
    Answer {
        pieces: generation.pieces,
        tool_use,
        stop_reason,
        usage,
        trace: trace.map(|(_, guardrail)| ConverseTrace { guardrail }),
    }
}

/// The ConverseStream messages of an answer: text in deltas of a few pieces, a tool use as a
/// block start and input deltas, then `messageStop` and `metadata`.
pub fn stream_messages(answer: &Answer, per_token: std::time::Duration) -> Vec<PlannedMessage> {
    let mut messages = vec![PlannedMessage::ready(event(
        "messageStart",
        &MessageStartEvent { role: Role::Assistant },
    ))];
    let mut index = 0;
    if !answer.pieces.is_empty() {
        for chunk in answer.pieces.chunks(PIECES_PER_DELTA) {
            let delta = ContentBlockDeltaEvent {
                content_block_index: index,
                delta: ContentBlockDelta::Text(chunk.concat()),
            };
            let tokens = u32::try_from(chunk.len()).unwrap_or(u32::MAX);
            messages.push(PlannedMessage::after(
                per_token * tokens,
                event("contentBlockDelta", &delta),
            ));
        }
        let stop = ContentBlockStopEvent { content_block_index: index };
        messages.push(PlannedMessage::ready(event("contentBlockStop", &stop)));
        index += 1;
    }
    if let Some(tool_use) = &answer.tool_use {
        let start = ContentBlockStartEvent {
            content_block_index: index,
            start: ContentBlockStart::ToolUse(ToolUseBlockStart {
                tool_use_id: tool_use.tool_use_id.clone(),
                name: tool_use.name.clone(),
            }),
        };
        messages.push(PlannedMessage::ready(event("contentBlockStart", &start)));
        let input: Vec<char> = tool_use.input.to_string().chars().collect();
        for chunk in input.chunks(TOOL_INPUT_CHARS_PER_DELTA) {
            let chunk: String = chunk.iter().collect();
            let tokens = count_tokens(&chunk);
            let delta = ContentBlockDeltaEvent {
                content_block_index: index,
                delta: ContentBlockDelta::ToolUse(ToolUseBlockDelta { input: chunk }),
            };
            messages.push(PlannedMessage::after(
                per_token * tokens,
                event("contentBlockDelta", &delta),
            ));
        }
        let stop = ContentBlockStopEvent { content_block_index: index };
        messages.push(PlannedMessage::ready(event("contentBlockStop", &stop)));
    }
    let stop = MessageStopEvent { stop_reason: answer.stop_reason };
    messages.push(PlannedMessage::ready(event("messageStop", &stop)));
    let usage = answer.usage;
    let trace = answer.trace.clone();
    messages.push(PlannedMessage::lazy(move |timing: Timing| {
        let metadata = ConverseStreamMetadataEvent {
            usage,
            metrics: ConverseMetrics { latency_ms: millis(timing.elapsed) },
            trace,
        };
        event_stream::event("metadata", &metadata)
    }));
    messages
}

fn event(event_type: &'static str, payload: &impl serde::Serialize) -> Result<Bytes, AwsError> {
    event_stream::event(event_type, payload)
}

pub(super) fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Checks the path's model, parses and validates the body, and answers it.
fn prepare(state: &BedrockState, model_id: &str, body: &[u8]) -> Result<Answer, AwsError> {
    let model = ModelRef::resolve(model_id, state.models.as_ref())?;
    if !model.model.converses() {
        return Err(AwsError::validation(NOT_A_TEXT_MODEL));
    }
    let request = parse_request(body)?;
    validate(&request)?;
    let guardrail = guardrail_of(&request, state)?;
    Ok(answer(&request, guardrail))
}

/// `POST /model/{modelId}/converse`.
pub(super) async fn converse(
    State(state): State<BedrockState>,
    Path(model_id): Path<String>,
    body: Bytes,
) -> Result<Response, AwsError> {
    let started = Instant::now();
    let plan = state.faults.on_call()?;
    let answer = prepare(&state, &model_id, &body)?;
    pause(plan.latency + plan.per_token * answer.usage.output_tokens).await;
    let response = answer.response(millis(started.elapsed()));
    Ok(axum::Json(response).into_response())
}

/// `POST /model/{modelId}/converse-stream`.
pub(super) async fn converse_stream(
    State(state): State<BedrockState>,
    Path(model_id): Path<String>,
    body: Bytes,
) -> Result<Response, AwsError> {
    let started = Instant::now();
    let plan = state.faults.on_call()?;
    let answer = prepare(&state, &model_id, &body)?;
    pause(plan.latency).await;
    let messages = stream_messages(&answer, plan.per_token);
    let body: Body = stream_body(messages, plan.cut_stream, started);
    Ok(([(header::CONTENT_TYPE, event_stream::CONTENT_TYPE)], body).into_response())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::bedrock::guardrail::LocalGuardrail;

    fn request(body: Value) -> ConverseRequest {
        let request = parse_request(body.to_string().as_bytes()).expect("valid JSON");
        validate(&request).expect("valid request");
        request
    }

    fn user(text: &str) -> Value {
        json!({"role": "user", "content": [{"text": text}]})
    }

    #[test]
    fn the_last_user_turn_is_the_question_and_the_rest_is_context() {
        let request = request(json!({
            "system": [{"text": "The office opens at 9am. Parking is free."}],
            "messages": [user("Hi"), {"role": "assistant", "content": [{"text": "Hello!"}]}, user("When does the office open?")]
        }));
        let (conversation, _) = conversation_of(&request);
        assert_eq!(conversation.question, "When does the office open?");
        assert_eq!(
            conversation.context,
            ["The office opens at 9am. Parking is free.", "Hi", "Hello!"]
        );
        let answer = answer(&request, None);
        assert_eq!(answer.stop_reason, StopReason::EndTurn);
        assert!(answer.pieces.concat().contains("The office opens at 9am."), "{:?}", answer.pieces);
    }

    #[test]
    fn text_documents_are_context_and_binary_ones_are_not_read() {
        let request = request(json!({"messages": [{"role": "user", "content": [
            {"document": {"format": "txt", "name": "hours", "source": {"bytes": "VGhlIHBvb2wgb3BlbnMgaW4gSnVuZS4="}}},
            {"document": {"format": "pdf", "name": "scan", "source": {"bytes": "JVBERi0="}}},
            {"text": "When does the pool open?"}
        ]}]}));
        let (conversation, _) = conversation_of(&request);
        assert_eq!(conversation.context, ["The pool opens in June."]);
    }

    #[test]
    fn inference_config_maps_to_limits_and_tool_choice_to_a_required_tool() {
        let request = request(json!({
            "messages": [user("Weather in Paris?")],
            "inferenceConfig": {"maxTokens": 5, "stopSequences": ["END"], "temperature": 0.2},
            "toolConfig": {"tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {"type": "object"}}}}], "toolChoice": {"any": {}}}
        }));
        let (conversation, params) = conversation_of(&request);
        assert_eq!(
            params,
            GenerationParams { max_tokens: Some(5), stop_sequences: vec!["END".into()] }
        );
        assert_eq!(conversation.required_tool, Some(None));
        assert_eq!(conversation.tools[0].name, "get_weather");
    }

    /// The documented round trip of "Call a tool with the Converse API"
    /// (https://docs.aws.amazon.com/bedrock/latest/userguide/tool-use-inference-call.html).
    #[test]
    fn the_documented_tool_round_trip_calls_top_song_then_answers_from_its_result() {
        let tools = json!({"tools": [{"toolSpec": {
            "name": "top_song",
            "description": "Get the most popular song played on a radio station.",
            "inputSchema": {"json": {"type": "object", "properties": {"sign": {"type": "string"}}, "required": ["sign"]}}
        }}]});
        let first = request(
            json!({"messages": [user("What is the most popular song on WZPZ?")], "toolConfig": tools}),
        );
        let call = answer(&first, None);
        assert_eq!(call.stop_reason, StopReason::ToolUse);
        let tool_use = call.tool_use.clone().expect("a tool use");
        assert_eq!(
            (tool_use.name.as_str(), &tool_use.input),
            ("top_song", &json!({"sign": "WZPZ"}))
        );
        assert!(tool_use.tool_use_id.starts_with("tooluse_") && tool_use.tool_use_id.len() == 30);

        let second = request(json!({"messages": [
            user("What is the most popular song on WZPZ?"),
            {"role": "assistant", "content": [{"toolUse": tool_use}]},
            {"role": "user", "content": [{"toolResult": {"toolUseId": tool_use.tool_use_id, "content": [{"json": {"song": "Elemental Hotel", "artist": "8 Storey Hike"}}]}}]}
        ], "toolConfig": tools}));
        let (conversation, _) = conversation_of(&second);
        assert_eq!(conversation.question, "What is the most popular song on WZPZ?");
        assert!(conversation.answers_tool_call);
        let reply = answer(&second, None);
        assert_eq!(reply.stop_reason, StopReason::EndTurn);
        assert!(reply.pieces.concat().contains("Elemental Hotel"), "{:?}", reply.pieces.concat());
    }

    #[test]
    fn validation_errors_use_bedrock_wording() {
        let cases = [
            (json!({"messages": []}), "at 'messages' failed to satisfy constraint"),
            (
                json!({"messages": [{"role": "assistant", "content": [{"text": "hi"}]}]}),
                FIRST_MESSAGE_NOT_USER,
            ),
            (json!({"messages": [user("a"), user("b")]}), ROLES_DO_NOT_ALTERNATE),
            (
                json!({"messages": [{"role": "user", "content": []}]}),
                "Message object at messages.0 is empty",
            ),
            (
                json!({"messages": [user("a")], "inferenceConfig": {"maxTokens": 0}}),
                "Value '0' at 'inferenceConfig.maxTokens'",
            ),
            (
                json!({"messages": [user("a")], "inferenceConfig": {"temperature": 1.5}}),
                "Value '1.5' at 'inferenceConfig.temperature' failed to satisfy constraint: Member must have value less than or equal to 1",
            ),
            (
                json!({"messages": [user("a")], "inferenceConfig": {"topP": -0.1}}),
                "greater than or equal to 0",
            ),
            (
                json!({"messages": [{"role": "user", "content": [{"toolResult": {"toolUseId": "t", "content": []}}]}]}),
                TOOLS_WITHOUT_TOOL_CONFIG,
            ),
        ];
        for (body, expected) in cases {
            let request = parse_request(body.to_string().as_bytes()).expect("json");
            let error = validate(&request).expect_err("invalid");
            assert_eq!(error.code, "ValidationException");
            assert!(error.message.contains(expected), "{body}: {}", error.message);
        }
        let malformed = parse_request(b"{\"messages\": [").expect_err("malformed");
        assert!(malformed.message.starts_with("Malformed input request"), "{}", malformed.message);
        let bad_role =
            parse_request(br#"{"messages":[{"role":"system","content":[{"text":"x"}]}]}"#)
                .expect_err("role");
        assert!(bad_role.message.contains("unknown variant `system`"), "{}", bad_role.message);
    }

    #[test]
    fn the_guardrail_blocks_input_and_traces_it_when_asked() {
        let request = request(json!({
            "messages": [user("Which stocks should I buy?")],
            "guardrailConfig": {"guardrailIdentifier": "quarrydemo", "guardrailVersion": "DRAFT", "trace": "enabled"}
        }));
        let guardrail = LocalGuardrail::demo();
        let answer = answer(&request, Some((&guardrail, true)));
        assert_eq!(answer.stop_reason, StopReason::GuardrailIntervened);
        assert_eq!(answer.pieces.concat(), guardrail.blocked_input_message);
        let trace = answer.trace.expect("trace");
        let input = trace.guardrail.input_assessment.expect("input assessment");
        assert_eq!(input["quarrydemo"]["topicPolicy"]["topics"][0]["name"], "Investment advice");
    }

    #[test]
    fn the_guardrail_blocks_an_answer_that_quotes_a_blocked_word() {
        let request = request(json!({
            "system": [{"text": "The launch date is classified."}],
            "messages": [{"role": "user", "content": [{"guardContent": {"text": {"text": "What is the launch date?"}}}]}],
            "guardrailConfig": {"guardrailIdentifier": "quarrydemo", "guardrailVersion": "1"}
        }));
        let guardrail = LocalGuardrail::demo();
        let answer = answer(&request, Some((&guardrail, false)));
        assert_eq!(answer.stop_reason, StopReason::GuardrailIntervened);
        assert_eq!(answer.pieces.concat(), guardrail.blocked_output_message);
        assert!(answer.usage.output_tokens > 0, "the model ran before the output was blocked");
        assert!(answer.trace.is_none());
    }

    #[test]
    fn stream_messages_split_text_into_deltas_of_a_few_pieces() {
        let answer = Answer {
            pieces: ["From ", "the ", "context", ": ", "Yes", "."].map(str::to_owned).to_vec(),
            tool_use: None,
            stop_reason: StopReason::EndTurn,
            usage: TokenUsage::new(10, 6),
            trace: None,
        };
        let messages = stream_messages(&answer, std::time::Duration::ZERO);
        // messageStart, 2 deltas, contentBlockStop, messageStop, metadata
        assert_eq!(messages.len(), 6);
    }
}
