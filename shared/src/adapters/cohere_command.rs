//! Cohere Command R and Command R+ on Bedrock: the last user turn as `message`, earlier turns as
//! `chat_history`, system text as `preamble`, text documents as `documents`, tools with
//! `parameter_definitions` and their answers as `tool_results`.
//!
//! Source: AWS Bedrock user guide, "Cohere Command R and Command R+ models"
//! (model-parameters-cohere-command-r-plus): request fields `message`, `chat_history` (`USER` /
//! `CHATBOT`), `documents` (`title`, `snippet`), `preamble`, `max_tokens`, `temperature`, `p`, `k`,
//! `tools`, `tool_results`, `stop_sequences`, …; response fields `text`, `generation_id`,
//! `finish_reason` (`COMPLETE`, `MAX_TOKENS`, `ERROR`, `ERROR_TOXIC`, `ERROR_LIMIT`,
//! `USER_CANCEL`), `tool_calls`, `meta.billed_units`. Streams carry events tagged by `event_type`
//! (`stream-start`, `text-generation`, `tool-calls-generation`, …, `stream-end`).
//!
//! Tool calls and results before the last turn travel in `chat_history` as Cohere's chat API
//! defines them (a `CHATBOT` turn with `tool_calls`, a `TOOL` turn with `tool_results`).

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::wire::{
    EventBuilder, InvocationMetrics, block_feature, invalid_request, invalid_response, parse_body,
    system_text, to_body, unsupported,
};
use super::{AdapterError, NativeAdapter, StreamDecoder};
use super::{check_body_request, json_number};
use crate::chat::{
    ChatRequest, ChatResponse, ContentBlock, DocumentFormat, Message, Role, StopReason,
    StreamEvent, ToolChoice, ToolResultContent, ToolResultStatus, ToolSpec, Usage,
};
use crate::model::Family;

const FAMILY: Family = Family::CohereCommand;

/// The Command R / R+ request body.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CohereChatRequest {
    /// The text the model answers (the last user turn); may be empty when `tool_results` are given.
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chat_history: Vec<CohereChatTurn>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<CohereDocument>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_queries_only: Option<bool>,
    /// System instructions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preamble: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Top-p.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<f64>,
    /// Top-k (the page types it as a float; quarry writes whole numbers).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "whole_number")]
    pub k: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_truncation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_prompt: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<CohereTool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_results: Vec<CohereToolResult>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop_sequences: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_prompting: Option<bool>,
}

/// Who said a `chat_history` turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum CohereRole {
    User,
    Chatbot,
    System,
    Tool,
}

/// One earlier turn of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CohereChatTurn {
    pub role: CohereRole,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The tools a `CHATBOT` turn called.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<CohereToolCall>>,
    /// The answers a `TOOL` turn gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_results: Option<Vec<CohereToolResult>>,
}

/// A document the model may ground its answer in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CohereDocument {
    pub title: String,
    pub snippet: String,
}

/// A tool offered to the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CohereTool {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameter_definitions: BTreeMap<String, CohereParameterDefinition>,
}

/// One parameter of a tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CohereParameterDefinition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A Python type name: `str`, `int`, `float`, `bool`, `dict`, `List[str]`, …
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub required: bool,
}

/// A tool call: the tool's name and its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CohereToolCall {
    pub name: String,
    #[serde(default)]
    pub parameters: Map<String, Value>,
}

/// A tool's answer to one call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CohereToolResult {
    pub call: CohereToolCall,
    pub outputs: Vec<Map<String, Value>>,
}

/// The Command R / R+ response body (also the `response` of the `stream-end` event).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CohereChatResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_id: Option<String>,
    /// The answer text (`null` is read as empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_history: Option<Vec<CohereChatTurn>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<CohereToolCall>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<CohereMeta>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citations: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documents: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_queries: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_results: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_search_required: Option<bool>,
}

/// `meta`: the API version and the token counts billed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CohereMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billed_units: Option<CohereTokens>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<CohereTokens>,
}

/// Input and output token counts.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct CohereTokens {
    #[serde(default)]
    pub input_tokens: f64,
    #[serde(default)]
    pub output_tokens: f64,
}

/// One stream event; which fields are set depends on `event_type`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CohereStreamEvent {
    pub event_type: String,
    #[serde(default)]
    pub is_finished: bool,
    /// `stream-start`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation_id: Option<String>,
    /// `text-generation` (a piece of the answer) and `tool-calls-generation` (the tool plan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// `tool-calls-generation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<CohereToolCall>>,
    /// `stream-end`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    /// `stream-end`: the whole answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<CohereChatResponse>,
    #[serde(
        rename = "amazon-bedrock-invocationMetrics",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub invocation_metrics: Option<InvocationMetrics>,
}

fn whole_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    match Option::<f64>::deserialize(deserializer)? {
        None => Ok(None),
        Some(k) if k >= 0.0 && k.fract() == 0.0 && k <= f64::from(u32::MAX) => Ok(Some(k as u32)),
        Some(k) => Err(serde::de::Error::custom(format!("k must be a whole number, not {k}"))),
    }
}

/// Cohere Command R and R+ (`cohere.command-r-v1:0`, `cohere.command-r-plus-v1:0`).
#[derive(Debug, Clone, Copy, Default)]
pub struct CohereCommandAdapter;

impl NativeAdapter for CohereCommandAdapter {
    fn family(&self) -> Family {
        FAMILY
    }

    fn request_body(
        &self,
        _base_model_id: &str,
        request: &ChatRequest,
    ) -> Result<Value, AdapterError> {
        check_body_request(FAMILY, request)?;
        to_body(FAMILY, &chat_request(request)?)
    }

    fn parse_response(&self, body: &[u8]) -> Result<ChatResponse, AdapterError> {
        let response: CohereChatResponse = parse_body(FAMILY, "the Command R response body", body)?;
        let Some(reason) = response.finish_reason.as_deref() else {
            return Err(invalid_response(FAMILY, "the response has no `finish_reason`"));
        };
        let mut content = Vec::new();
        if let Some(text) = response.text.as_deref().filter(|t| !t.is_empty()) {
            content.push(ContentBlock::text(text));
        }
        let calls = response.tool_calls.as_deref().unwrap_or_default();
        for (index, call) in calls.iter().enumerate() {
            content.push(ContentBlock::ToolUse {
                id: tool_use_id(response.generation_id.as_deref(), index),
                name: call.name.clone(),
                input: Value::Object(call.parameters.clone()),
            });
        }
        let usage = response
            .meta
            .and_then(|meta| meta.billed_units)
            .map(|billed| Usage::new(billed.input_tokens as u32, billed.output_tokens as u32))
            .unwrap_or_default();
        Ok(ChatResponse {
            content,
            stop_reason: stop_reason(reason, !calls.is_empty()),
            usage,
            latency_ms: None,
            guardrail: None,
        })
    }

    fn stream_decoder(&self) -> Box<dyn StreamDecoder> {
        Box::new(CohereDecoder::default())
    }
}

/// The id quarry gives the `index`th tool call of a generation (Cohere's calls carry no id).
fn tool_use_id(generation_id: Option<&str>, index: usize) -> String {
    match generation_id {
        Some(generation) => format!("{generation}-call-{index}"),
        None => format!("call-{index}"),
    }
}

/// Maps Cohere's `finish_reason`; a complete generation that called tools stops for tool use.
fn stop_reason(reason: &str, called_tools: bool) -> StopReason {
    match reason {
        "COMPLETE" if called_tools => StopReason::ToolUse,
        "COMPLETE" => StopReason::EndTurn,
        "MAX_TOKENS" => StopReason::MaxTokens,
        "STOP_SEQUENCE" => StopReason::StopSequence,
        "ERROR_TOXIC" => StopReason::ContentFiltered,
        "ERROR_LIMIT" => StopReason::ModelContextWindowExceeded,
        _ => StopReason::Unknown,
    }
}

fn chat_request(request: &ChatRequest) -> Result<CohereChatRequest, AdapterError> {
    if matches!(request.tool_choice, Some(ToolChoice::Any | ToolChoice::Tool { .. })) {
        return Err(unsupported(FAMILY, "tool_choice forcing tool use"));
    }
    let Some((last, history)) = request.messages.split_last() else {
        return Err(invalid_request(FAMILY, "the request has no messages"));
    };
    if last.role != Role::User {
        return Err(invalid_request(FAMILY, "Command R conversations must end with a user turn"));
    }
    let mut documents = Vec::new();
    let mut chat_history = Vec::new();
    for (position, message) in history.iter().enumerate() {
        let turn = read_turn(&request.messages, position, &mut documents)?;
        match message.role {
            Role::User => {
                if !turn.tool_results.is_empty() {
                    chat_history.push(CohereChatTurn {
                        role: CohereRole::Tool,
                        message: None,
                        tool_calls: None,
                        tool_results: Some(turn.tool_results),
                    });
                    if turn.text.is_empty() {
                        continue;
                    }
                }
                chat_history.push(CohereChatTurn {
                    role: CohereRole::User,
                    message: Some(turn.text),
                    tool_calls: None,
                    tool_results: None,
                });
            }
            Role::Assistant => chat_history.push(CohereChatTurn {
                role: CohereRole::Chatbot,
                message: Some(turn.text),
                tool_calls: (!turn.tool_calls.is_empty()).then_some(turn.tool_calls),
                tool_results: None,
            }),
        }
    }
    let last_turn = read_turn(&request.messages, history.len(), &mut documents)?;
    Ok(CohereChatRequest {
        message: last_turn.text,
        chat_history,
        documents,
        preamble: system_text(FAMILY, request)?,
        max_tokens: request.max_tokens,
        temperature: request.temperature.map(json_number),
        p: request.top_p.map(json_number),
        k: request.top_k,
        tools: request.tools.iter().map(cohere_tool).collect::<Result<_, _>>()?,
        tool_results: last_turn.tool_results,
        stop_sequences: request.stop_sequences.clone(),
        ..CohereChatRequest::default()
    })
}

/// What one message contributes to a Cohere body.
#[derive(Debug, Default)]
struct Turn {
    text: String,
    tool_calls: Vec<CohereToolCall>,
    tool_results: Vec<CohereToolResult>,
}

/// Reads `messages[position]`; its documents are added to `documents`.
fn read_turn(
    messages: &[Message],
    position: usize,
    documents: &mut Vec<CohereDocument>,
) -> Result<Turn, AdapterError> {
    let message = &messages[position];
    let mut texts = Vec::new();
    let mut turn = Turn::default();
    for block in &message.content {
        match (message.role, block) {
            (_, ContentBlock::Text { text }) => texts.push(text.as_str()),
            (Role::User, ContentBlock::Document { format, name, data }) => {
                documents.push(cohere_document(*format, name, &data.0)?);
            }
            (Role::Assistant, ContentBlock::ToolUse { name, input, .. }) => {
                turn.tool_calls.push(CohereToolCall {
                    name: name.clone(),
                    parameters: tool_parameters(name, input)?,
                });
            }
            (Role::User, ContentBlock::ToolResult { tool_use_id, content, status }) => {
                turn.tool_results.push(CohereToolResult {
                    call: called_tool(&messages[..position], tool_use_id)?,
                    outputs: tool_outputs(content, *status)?,
                });
            }
            (Role::User, ContentBlock::ToolUse { .. })
            | (Role::Assistant, ContentBlock::ToolResult { .. } | ContentBlock::Document { .. }) => {
                return Err(invalid_request(
                    FAMILY,
                    format!(
                        "a {} message cannot hold {}",
                        message.role.as_str(),
                        block_feature(block)
                    ),
                ));
            }
            (_, other) => return Err(unsupported(FAMILY, block_feature(other))),
        }
    }
    turn.text = texts.join("\n");
    Ok(turn)
}

/// A document block as a Cohere document; only text formats have a snippet to give.
fn cohere_document(
    format: DocumentFormat,
    name: &str,
    data: &[u8],
) -> Result<CohereDocument, AdapterError> {
    match format {
        DocumentFormat::Txt | DocumentFormat::Md | DocumentFormat::Html | DocumentFormat::Csv => {
            let snippet = String::from_utf8(data.to_vec()).map_err(|e| {
                invalid_request(FAMILY, format!("document `{name}` is not UTF-8 text: {e}"))
            })?;
            Ok(CohereDocument { title: name.to_string(), snippet })
        }
        other => Err(unsupported(
            FAMILY,
            format!(
                "{} document blocks (only txt, md, html and csv documents map to Cohere documents)",
                other.as_str()
            ),
        )),
    }
}

/// A tool call's input as Cohere parameters (a JSON object).
fn tool_parameters(name: &str, input: &Value) -> Result<Map<String, Value>, AdapterError> {
    match input {
        Value::Object(parameters) => Ok(parameters.clone()),
        _ => Err(invalid_request(
            FAMILY,
            format!("the input of tool call `{name}` is not a JSON object"),
        )),
    }
}

/// The call a tool result answers: the latest earlier assistant tool use with that id.
fn called_tool(earlier: &[Message], tool_use_id: &str) -> Result<CohereToolCall, AdapterError> {
    earlier
        .iter()
        .rev()
        .filter(|m| m.role == Role::Assistant)
        .flat_map(|m| m.content.iter())
        .find_map(|block| match block {
            ContentBlock::ToolUse { id, name, input } if id == tool_use_id => {
                Some(tool_parameters(name, input).map(|parameters| CohereToolCall {
                    name: name.clone(),
                    parameters,
                }))
            }
            _ => None,
        })
        .unwrap_or_else(|| {
            Err(invalid_request(
                FAMILY,
                format!("tool result `{tool_use_id}` answers no earlier tool call (Cohere needs the call's name and parameters)"),
            ))
        })
}

/// A tool result's parts as Cohere outputs: text as `{"text": …}`, JSON objects as they are, other
/// JSON as `{"result": …}`; a failed tool's outputs are marked `"error": true`.
fn tool_outputs(
    content: &[ToolResultContent],
    status: Option<ToolResultStatus>,
) -> Result<Vec<Map<String, Value>>, AdapterError> {
    let mut outputs = Vec::new();
    for part in content {
        let mut output = Map::new();
        match part {
            ToolResultContent::Text { text } => {
                output.insert("text".into(), Value::String(text.clone()));
            }
            ToolResultContent::Json { json: Value::Object(object) } => output = object.clone(),
            ToolResultContent::Json { json } => {
                output.insert("result".into(), json.clone());
            }
            ToolResultContent::Image { .. } => {
                return Err(unsupported(FAMILY, "images in tool results"));
            }
        }
        outputs.push(output);
    }
    if status == Some(ToolResultStatus::Error) {
        if outputs.is_empty() {
            outputs.push(Map::new());
        }
        for output in &mut outputs {
            output.insert("error".into(), Value::Bool(true));
        }
    }
    Ok(outputs)
}

/// A tool as Cohere `parameter_definitions`: each top-level property of the input schema becomes
/// a parameter with a Python type name. What a type name cannot say (enums, nested objects,
/// formats) is kept by adding the property's JSON Schema to its description.
fn cohere_tool(tool: &ToolSpec) -> Result<CohereTool, AdapterError> {
    let schema = &tool.input_schema;
    if schema.get("type").is_some_and(|t| t != "object") {
        return Err(unsupported(
            FAMILY,
            format!("tool `{}`: input schemas that are not JSON objects", tool.name),
        ));
    }
    let required: HashSet<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut parameter_definitions = BTreeMap::new();
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            parameter_definitions.insert(
                name.clone(),
                CohereParameterDefinition {
                    description: parameter_description(property),
                    kind: python_type(property),
                    required: required.contains(name.as_str()),
                },
            );
        }
    }
    Ok(CohereTool {
        name: tool.name.clone(),
        description: tool.description.clone().unwrap_or_default(),
        parameter_definitions,
    })
}

fn python_type(property: &Value) -> String {
    match property.get("type").and_then(Value::as_str) {
        Some("string") => "str".into(),
        Some("integer") => "int".into(),
        Some("number") => "float".into(),
        Some("boolean") => "bool".into(),
        Some("object") => "dict".into(),
        Some("array") => match property.get("items") {
            Some(items) => format!("List[{}]", python_type(items)),
            None => "list".into(),
        },
        _ => "Any".into(),
    }
}

/// True when a schema is only a primitive type, which a Python type name says in full.
fn is_plain_type(schema: &Value) -> bool {
    schema.as_object().is_some_and(|s| {
        s.keys().all(|k| k == "type" || k == "description")
            && s.get("type").and_then(Value::as_str).is_some_and(|t| t != "object" && t != "array")
    })
}

fn parameter_description(property: &Value) -> Option<String> {
    let description = property.get("description").and_then(Value::as_str);
    let mut rest = property.as_object().cloned().unwrap_or_default();
    rest.remove("description");
    rest.remove("type");
    if rest.get("items").is_some_and(is_plain_type) {
        rest.remove("items");
    }
    if rest.is_empty() {
        return description.map(str::to_string);
    }
    let mut schema = property.as_object().cloned().unwrap_or_default();
    schema.remove("description");
    let schema = Value::Object(schema);
    Some(match description {
        Some(description) => format!("{description} JSON schema: {schema}"),
        None => format!("JSON schema: {schema}"),
    })
}

/// Decodes Cohere's `event_type` stream.
#[derive(Debug, Default)]
struct CohereDecoder {
    events: EventBuilder,
    generation_id: Option<String>,
    wrote_text: bool,
    called_tools: bool,
}

impl StreamDecoder for CohereDecoder {
    fn decode_chunk(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError> {
        let event: CohereStreamEvent = parse_body(FAMILY, "the Command R stream event", chunk)?;
        self.events.start();
        match event.event_type.as_str() {
            "stream-start" => self.generation_id = event.generation_id,
            "text-generation" => self.text(event.text.as_deref().unwrap_or_default()),
            "tool-calls-generation" => {
                // The tool plan, unless it already streamed as text.
                if !self.wrote_text {
                    self.text(event.text.as_deref().unwrap_or_default());
                }
                for (index, call) in event.tool_calls.iter().flatten().enumerate() {
                    let input = Value::Object(call.parameters.clone()).to_string();
                    self.events.tool_use(
                        &tool_use_id(self.generation_id.as_deref(), index),
                        &call.name,
                        &input,
                    );
                    self.called_tools = true;
                }
            }
            "stream-end" => {
                let response = event.response.as_ref();
                let reason = event
                    .finish_reason
                    .as_deref()
                    .or(response.and_then(|r| r.finish_reason.as_deref()));
                let Some(reason) = reason else {
                    return Err(invalid_response(
                        FAMILY,
                        "the stream-end event has no `finish_reason`",
                    ));
                };
                self.events.stop(stop_reason(reason, self.called_tools));
            }
            // search-queries-generation, search-results, citation-generation, tool-calls-chunk
            // (whose calls arrive whole in tool-calls-generation): nothing quarry carries.
            _ => {}
        }
        if let Some(metrics) = &event.invocation_metrics {
            self.events.metrics(metrics);
        }
        Ok(self.events.take())
    }
}

impl CohereDecoder {
    fn text(&mut self, text: &str) {
        self.wrote_text |= !text.is_empty();
        self.events.text(text);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::chat::{SystemBlock, collect_events};

    const COMMAND_R_PLUS: &str = "cohere.command-r-plus-v1:0";

    fn body(request: &ChatRequest) -> Result<Value, AdapterError> {
        CohereCommandAdapter.request_body(COMMAND_R_PLUS, request)
    }

    fn decode_all(chunks: &[Value]) -> Vec<StreamEvent> {
        let mut decoder = CohereCommandAdapter.stream_decoder();
        chunks
            .iter()
            .flat_map(|c| decoder.decode_chunk(c.to_string().as_bytes()).expect("event decodes"))
            .collect()
    }

    #[test]
    fn request_maps_history_preamble_and_sampling_as_documented() {
        // model-parameters-cohere-command-r-plus: the page's chat_history example.
        let request = ChatRequest {
            system: vec![SystemBlock::Text { text: "You are a physics tutor.".into() }],
            messages: vec![
                Message::user("Who discovered gravity?"),
                Message::assistant(
                    "The man who is widely credited with discovering gravity is Sir Isaac Newton",
                ),
                Message::user("What year was he born?"),
            ],
            max_tokens: Some(512),
            temperature: Some(0.3),
            top_p: Some(0.75),
            top_k: Some(50),
            stop_sequences: vec!["\n\n".into()],
            ..ChatRequest::default()
        };
        assert_eq!(
            body(&request).expect("body"),
            json!({
                "message": "What year was he born?",
                "chat_history": [
                    {"role": "USER", "message": "Who discovered gravity?"},
                    {"role": "CHATBOT", "message": "The man who is widely credited with discovering gravity is Sir Isaac Newton"}
                ],
                "preamble": "You are a physics tutor.",
                "max_tokens": 512,
                "temperature": 0.3,
                "p": 0.75,
                "k": 50,
                "stop_sequences": ["\n\n"]
            })
        );
    }

    fn top_song_tool() -> ToolSpec {
        ToolSpec {
            name: "top_song".into(),
            description: Some("Get the most popular song played on a radio station.".into()),
            input_schema: json!({
                "type": "object",
                "properties": {"sign": {"type": "string", "description": "The call sign for the radio station for which you want the most popular song. Example calls signs are WZPZ and WKRP."}},
                "required": ["sign"]
            }),
        }
    }

    #[test]
    fn tools_and_tool_results_use_the_documented_shapes() {
        let request = ChatRequest {
            messages: vec![
                Message::user("What is the most popular song on WZPZ?"),
                Message {
                    role: Role::Assistant,
                    content: vec![
                        ContentBlock::text("I will look up the most popular song on WZPZ."),
                        ContentBlock::ToolUse {
                            id: "gen-1-call-0".into(),
                            name: "top_song".into(),
                            input: json!({"sign": "WZPZ"}),
                        },
                    ],
                },
                Message {
                    role: Role::User,
                    content: vec![ContentBlock::ToolResult {
                        tool_use_id: "gen-1-call-0".into(),
                        content: vec![ToolResultContent::Json {
                            json: json!({"song": "Elemental Hotel", "artist": "8 Storey Hike"}),
                        }],
                        status: None,
                    }],
                },
            ],
            tools: vec![top_song_tool()],
            ..ChatRequest::default()
        };
        assert_eq!(
            body(&request).expect("body"),
            json!({
                "message": "",
                "chat_history": [
                    {"role": "USER", "message": "What is the most popular song on WZPZ?"},
                    {"role": "CHATBOT", "message": "I will look up the most popular song on WZPZ.",
                     "tool_calls": [{"name": "top_song", "parameters": {"sign": "WZPZ"}}]}
                ],
                "tools": [{
                    "name": "top_song",
                    "description": "Get the most popular song played on a radio station.",
                    "parameter_definitions": {"sign": {
                        "description": "The call sign for the radio station for which you want the most popular song. Example calls signs are WZPZ and WKRP.",
                        "type": "str",
                        "required": true
                    }}
                }],
                "tool_results": [{
                    "call": {"name": "top_song", "parameters": {"sign": "WZPZ"}},
                    "outputs": [{"song": "Elemental Hotel", "artist": "8 Storey Hike"}]
                }]
            })
        );
    }

    #[test]
    fn schema_details_a_type_name_cannot_hold_stay_in_the_description() {
        let tool = ToolSpec {
            name: "search".into(),
            description: None,
            input_schema: json!({"type": "object", "properties": {
                "tags": {"type": "array", "items": {"type": "string"}},
                "unit": {"type": "string", "enum": ["c", "f"], "description": "Unit."},
                "when": {"type": "object", "properties": {"from": {"type": "string"}}}
            }}),
        };
        let cohere = cohere_tool(&tool).expect("tool");
        let tags = &cohere.parameter_definitions["tags"];
        assert_eq!(
            (tags.kind.as_str(), tags.description.as_deref(), tags.required),
            ("List[str]", None, false)
        );
        let unit = &cohere.parameter_definitions["unit"];
        assert_eq!(unit.kind, "str");
        assert_eq!(
            unit.description.as_deref(),
            Some(r#"Unit. JSON schema: {"enum":["c","f"],"type":"string"}"#)
        );
        let when = &cohere.parameter_definitions["when"];
        assert_eq!(when.kind, "dict");
        assert!(when.description.as_deref().is_some_and(|d| d.contains(r#""from""#)));
    }

    #[test]
    fn text_documents_become_cohere_documents_and_others_are_refused() {
        let request = ChatRequest {
            messages: vec![Message {
                role: Role::User,
                content: vec![
                    ContentBlock::Document {
                        format: DocumentFormat::Txt,
                        name: "Tall penguins".into(),
                        data: b"Emperor penguins are the tallest.".to_vec().into(),
                    },
                    ContentBlock::text("What are the tallest penguins?"),
                ],
            }],
            ..ChatRequest::default()
        };
        let body_json = body(&request).expect("body");
        assert_eq!(
            body_json["documents"],
            json!([{"title": "Tall penguins", "snippet": "Emperor penguins are the tallest."}])
        );
        assert_eq!(body_json["message"], "What are the tallest penguins?");

        let pdf = ChatRequest {
            messages: vec![Message {
                role: Role::User,
                content: vec![ContentBlock::Document {
                    format: DocumentFormat::Pdf,
                    name: "report".into(),
                    data: vec![0x25, 0x50].into(),
                }],
            }],
            ..ChatRequest::default()
        };
        assert!(matches!(
            body(&pdf),
            Err(AdapterError::Unsupported { family: Family::CohereCommand, feature }) if feature.starts_with("pdf document blocks")
        ));
    }

    #[test]
    fn what_command_r_cannot_express_is_refused() {
        let mut forced = ChatRequest::from_user_text("Hi");
        forced.tools = vec![top_song_tool()];
        forced.tool_choice = Some(ToolChoice::Any);
        assert_eq!(
            body(&forced),
            Err(AdapterError::Unsupported {
                family: Family::CohereCommand,
                feature: "tool_choice forcing tool use".into()
            })
        );
        let image = ChatRequest {
            messages: vec![Message {
                role: Role::User,
                content: vec![ContentBlock::Image {
                    format: crate::chat::ImageFormat::Gif,
                    data: vec![7].into(),
                }],
            }],
            ..ChatRequest::default()
        };
        assert_eq!(
            body(&image),
            Err(AdapterError::Unsupported {
                family: Family::CohereCommand,
                feature: "image input".into()
            })
        );
        let orphan = ChatRequest {
            messages: vec![Message {
                role: Role::User,
                content: vec![ContentBlock::ToolResult {
                    tool_use_id: "nope".into(),
                    content: vec![ToolResultContent::Text { text: "x".into() }],
                    status: Some(ToolResultStatus::Error),
                }],
            }],
            ..ChatRequest::default()
        };
        assert!(matches!(
            body(&orphan),
            Err(AdapterError::InvalidRequest { reason, .. }) if reason.contains("answers no earlier tool call")
        ));
        let ends_with_assistant = ChatRequest {
            messages: vec![Message::user("Hi"), Message::assistant("Hello")],
            ..ChatRequest::default()
        };
        assert!(matches!(body(&ends_with_assistant), Err(AdapterError::InvalidRequest { .. })));
    }

    /// A response with the fields the Command R page documents.
    fn documented_response() -> Value {
        json!({
            "response_id": "2d7d9a4e-6c43-4b0e-9f0b-1f6a3f1c9d21",
            "text": "Sir Isaac Newton was born on 4 January 1643.",
            "generation_id": "c1e4a8f0-3b5d-4e2a-8d7c-9a0b1c2d3e4f",
            "chat_history": [
                {"role": "USER", "message": "What year was he born?"},
                {"role": "CHATBOT", "message": "Sir Isaac Newton was born on 4 January 1643."}
            ],
            "finish_reason": "COMPLETE",
            "meta": {"api_version": {"version": "1"}, "billed_units": {"input_tokens": 31, "output_tokens": 13}}
        })
    }

    #[test]
    fn documented_response_parses_with_billed_usage() {
        let response = CohereCommandAdapter
            .parse_response(documented_response().to_string().as_bytes())
            .expect("parses");
        assert_eq!(
            response.content,
            vec![ContentBlock::text("Sir Isaac Newton was born on 4 January 1643.")]
        );
        assert_eq!(response.stop_reason, StopReason::EndTurn);
        assert_eq!(response.usage, Usage::new(31, 13));
    }

    #[test]
    fn finish_reasons_map_to_stop_reasons() {
        for (reason, expected) in [
            ("COMPLETE", StopReason::EndTurn),
            ("MAX_TOKENS", StopReason::MaxTokens),
            ("ERROR_TOXIC", StopReason::ContentFiltered),
            ("ERROR_LIMIT", StopReason::ModelContextWindowExceeded),
            ("ERROR", StopReason::Unknown),
            ("USER_CANCEL", StopReason::Unknown),
        ] {
            let mut body = documented_response();
            body["finish_reason"] = json!(reason);
            let response =
                CohereCommandAdapter.parse_response(body.to_string().as_bytes()).expect("parses");
            assert_eq!(response.stop_reason, expected, "{reason}");
        }
    }

    #[test]
    fn text_stream_folds_to_the_documented_answer() {
        let chunks = [
            json!({"is_finished": false, "event_type": "stream-start", "generation_id": "c1e4a8f0-3b5d-4e2a-8d7c-9a0b1c2d3e4f"}),
            json!({"is_finished": false, "event_type": "text-generation", "text": "Sir Isaac Newton"}),
            json!({"is_finished": false, "event_type": "text-generation", "text": " was born on 4 January 1643."}),
            json!({"is_finished": true, "event_type": "stream-end", "finish_reason": "COMPLETE",
                   "response": documented_response(),
                   "amazon-bedrock-invocationMetrics": {"inputTokenCount": 31, "outputTokenCount": 13, "invocationLatency": 687, "firstByteLatency": 215}}),
        ];
        let folded = collect_events(&decode_all(&chunks));
        let whole = CohereCommandAdapter
            .parse_response(documented_response().to_string().as_bytes())
            .expect("parses");
        assert_eq!(folded.content, whole.content);
        assert_eq!(folded.stop_reason, whole.stop_reason);
        assert_eq!(folded.usage, whole.usage);
        assert_eq!(folded.latency_ms, Some(687));
    }

    #[test]
    fn tool_call_response_and_stream_agree() {
        let response = json!({
            "response_id": "r-2", "generation_id": "gen-2",
            "text": "I will look up the most popular song on WZPZ.",
            "tool_calls": [{"name": "top_song", "parameters": {"sign": "WZPZ"}}],
            "finish_reason": "COMPLETE"
        });
        let whole =
            CohereCommandAdapter.parse_response(response.to_string().as_bytes()).expect("parses");
        assert_eq!(
            whole.content[1],
            ContentBlock::ToolUse {
                id: "gen-2-call-0".into(),
                name: "top_song".into(),
                input: json!({"sign": "WZPZ"})
            }
        );
        assert_eq!(whole.stop_reason, StopReason::ToolUse);
        let chunks = [
            json!({"is_finished": false, "event_type": "stream-start", "generation_id": "gen-2"}),
            json!({"is_finished": false, "event_type": "tool-calls-chunk", "tool_call_delta": {"index": 0, "name": "top_song"}}),
            json!({"is_finished": false, "event_type": "tool-calls-generation",
                   "text": "I will look up the most popular song on WZPZ.",
                   "tool_calls": [{"name": "top_song", "parameters": {"sign": "WZPZ"}}]}),
            json!({"is_finished": true, "event_type": "stream-end", "finish_reason": "COMPLETE", "response": response}),
        ];
        let folded = collect_events(&decode_all(&chunks));
        assert_eq!(folded.content, whole.content);
        assert_eq!(folded.stop_reason, StopReason::ToolUse);
    }

    #[test]
    fn malformed_bodies_are_invalid_responses() {
        for body in [&b"<html>"[..], b"{\"text\": \"hi\"}", b"{\"finish_reason\": 3}", b"[]"] {
            let error = CohereCommandAdapter.parse_response(body).expect_err("malformed");
            assert!(
                matches!(
                    error,
                    AdapterError::InvalidResponse { family: Family::CohereCommand, .. }
                ),
                "{error}"
            );
        }
        let error =
            CohereCommandAdapter.parse_response(b"{\"text\": \"hi\"}").expect_err("no reason");
        assert!(error.to_string().contains("finish_reason"), "{error}");
        let mut decoder = CohereCommandAdapter.stream_decoder();
        assert!(decoder.decode_chunk(b"{\"text\": \"no event type\"}").is_err());
        assert!(decoder.decode_chunk(b"{\"event_type\": \"stream-end\"}").is_err());
        assert!(decoder.decode_chunk(b"\xff").is_err());
    }
}
