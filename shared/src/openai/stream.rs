//! Streaming Chat Completions: `chat.completion.chunk` objects, the [`ChunkEncoder`] that turns
//! quarry's [`StreamEvent`]s into them in the order OpenAI streams them, and the SSE framing.
//!
//! The order a client sees: a first chunk with `delta: {"role":"assistant","content":""}`; text as
//! `delta.content`; each tool call as `delta.tool_calls[{index, id, type, function:{name,
//! arguments:""}}]` when it starts, then `{index, function:{arguments: fragment}}`; a chunk with an
//! empty delta and the `finish_reason`; with `include_usage`, one more chunk with `choices: []` and
//! the `usage` (every earlier chunk then carries `"usage": null`, as OpenAI's do); then
//! `data: [DONE]`. Reasoning streams as the non-standard `delta.reasoning_content`. Text of
//! separate content blocks is joined with a newline, as in the non-streaming answer.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use super::chat::{CompletionMeta, CompletionUsage, FinishReason, ToolType};
use crate::chat::{BlockStart, Delta, StreamEvent, Usage};

/// The line that ends an OpenAI event stream.
pub const SSE_DONE: &str = "data: [DONE]\n\n";

/// One server-sent event carrying `value` as JSON: `data: {json}\n\n`.
///
/// Serializing quarry's wire types cannot fail; were it to, the event carries an OpenAI error body
/// instead, which is what OpenAI sends when a stream fails midway.
pub fn sse_data<T: Serialize>(value: &T) -> String {
    let json = serde_json::to_string(value).unwrap_or_else(|err| {
        let body = serde_json::json!({"error": {
            "message": format!("quarry could not encode a stream chunk: {err}"),
            "type": "server_error",
            "param": null,
            "code": null
        }});
        body.to_string()
    });
    format!("data: {json}\n\n")
}

/// A `chat.completion.chunk` object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletionChunk {
    /// The same for every chunk of a completion.
    pub id: String,
    /// Always `chat.completion.chunk`.
    pub object: String,
    pub created: u64,
    pub model: String,
    /// One choice, or none in the final usage chunk.
    pub choices: Vec<ChunkChoice>,
    /// Absent without `include_usage`; with it, `null` on every chunk but the last.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_or_null"
    )]
    pub usage: Option<Option<CompletionUsage>>,
}

impl ChatCompletionChunk {
    /// The chunk as one server-sent event.
    pub fn to_sse(&self) -> String {
        sse_data(self)
    }
}

fn present_or_null<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<CompletionUsage>>, D::Error> {
    Option::<CompletionUsage>::deserialize(deserializer).map(Some)
}

/// The choice of a chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkChoice {
    pub index: u32,
    pub delta: ChunkDelta,
    /// Always `null`.
    pub logprobs: Option<serde_json::Value>,
    /// `null` until the chunk that ends the choice.
    pub finish_reason: Option<FinishReason>,
}

/// What a chunk adds to the message; absent fields add nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChunkDelta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Non-standard: a piece of the model's reasoning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCallChunk>>,
}

/// A piece of a tool call; `index` identifies the call across chunks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCallChunk {
    pub index: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ToolType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionCallChunk>,
}

/// A piece of a tool call's function: the name once, then fragments of the arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionCallChunk {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
}

/// Turns one completion's [`StreamEvent`]s into `chat.completion.chunk`s, in OpenAI's order.
///
/// Feed every event to [`push`](Self::push), then call [`finish`](Self::finish) when the upstream
/// stream ends, and send `data: [DONE]` ([`SSE_DONE`]). If the upstream ended without a stop
/// ([`is_finished`](Self::is_finished) is false) the answer is cut: send an error event instead.
#[derive(Debug)]
pub struct ChunkEncoder {
    meta: CompletionMeta,
    include_usage: bool,
    started: bool,
    /// Tool-call index (0, 1, …) of each content block that is a tool call.
    tool_calls: BTreeMap<u32, u32>,
    last_text_block: Option<u32>,
    last_reasoning_block: Option<u32>,
    finished: bool,
    usage: Option<Usage>,
    usage_sent: bool,
}

impl ChunkEncoder {
    /// An encoder for the completion `meta`; `include_usage` as the request's `stream_options`.
    pub fn new(meta: CompletionMeta, include_usage: bool) -> Self {
        ChunkEncoder {
            meta,
            include_usage,
            started: false,
            tool_calls: BTreeMap::new(),
            last_text_block: None,
            last_reasoning_block: None,
            finished: false,
            usage: None,
            usage_sent: false,
        }
    }

    /// The chunks `event` produces (none, one, or two when the first chunk is still due).
    pub fn push(&mut self, event: &StreamEvent) -> Vec<ChatCompletionChunk> {
        let mut chunks = Vec::new();
        match event {
            StreamEvent::MessageStart { .. } => self.start(&mut chunks),
            StreamEvent::ContentBlockStart { index, start: BlockStart::ToolUse { id, name } } => {
                self.start(&mut chunks);
                let call = self.tool_call_index(*index);
                chunks.push(self.delta_chunk(ChunkDelta {
                    tool_calls: Some(vec![ToolCallChunk {
                        index: call,
                        id: Some(id.clone()),
                        kind: Some(ToolType::Function),
                        function: Some(FunctionCallChunk {
                            name: Some(name.clone()),
                            arguments: Some(String::new()),
                        }),
                    }]),
                    ..ChunkDelta::default()
                }));
            }
            StreamEvent::ContentBlockDelta { index, delta } => {
                self.start(&mut chunks);
                if let Some(delta) = self.delta(*index, delta) {
                    chunks.push(self.delta_chunk(delta));
                }
            }
            StreamEvent::ContentBlockStop { .. } => {}
            StreamEvent::MessageStop { stop_reason } => {
                if !self.finished {
                    self.start(&mut chunks);
                    self.finished = true;
                    chunks.push(self.chunk(vec![ChunkChoice {
                        index: 0,
                        delta: ChunkDelta::default(),
                        logprobs: None,
                        finish_reason: Some((*stop_reason).into()),
                    }]));
                    self.usage_chunk(&mut chunks);
                }
            }
            StreamEvent::Metadata { usage, .. } => {
                self.usage = Some(*usage);
                if self.finished {
                    self.usage_chunk(&mut chunks);
                }
            }
        }
        chunks
    }

    /// The chunks still due when the upstream stream has ended: the usage chunk, if it is asked
    /// for, known, and not yet sent.
    pub fn finish(&mut self) -> Vec<ChatCompletionChunk> {
        let mut chunks = Vec::new();
        if self.finished {
            self.usage_chunk(&mut chunks);
        }
        chunks
    }

    /// Whether the chunk with the `finish_reason` has been produced.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    fn start(&mut self, chunks: &mut Vec<ChatCompletionChunk>) {
        if !self.started {
            self.started = true;
            chunks.push(self.delta_chunk(ChunkDelta {
                role: Some("assistant".to_owned()),
                content: Some(String::new()),
                ..ChunkDelta::default()
            }));
        }
    }

    fn tool_call_index(&mut self, block: u32) -> u32 {
        let next = u32::try_from(self.tool_calls.len()).unwrap_or(u32::MAX);
        *self.tool_calls.entry(block).or_insert(next)
    }

    fn delta(&mut self, block: u32, delta: &Delta) -> Option<ChunkDelta> {
        match delta {
            Delta::Text { text } if !text.is_empty() => Some(ChunkDelta {
                content: Some(joined(&mut self.last_text_block, block, text)),
                ..ChunkDelta::default()
            }),
            Delta::Reasoning { text } if !text.is_empty() => Some(ChunkDelta {
                reasoning_content: Some(joined(&mut self.last_reasoning_block, block, text)),
                ..ChunkDelta::default()
            }),
            Delta::ToolInput { json } if !json.is_empty() => Some(ChunkDelta {
                tool_calls: Some(vec![ToolCallChunk {
                    index: self.tool_call_index(block),
                    id: None,
                    kind: None,
                    function: Some(FunctionCallChunk { name: None, arguments: Some(json.clone()) }),
                }]),
                ..ChunkDelta::default()
            }),
            _ => None,
        }
    }

    fn usage_chunk(&mut self, chunks: &mut Vec<ChatCompletionChunk>) {
        if let (true, false, Some(usage)) = (self.include_usage, self.usage_sent, self.usage) {
            self.usage_sent = true;
            let mut chunk = self.chunk(Vec::new());
            chunk.usage = Some(Some(CompletionUsage::from(&usage)));
            chunks.push(chunk);
        }
    }

    fn delta_chunk(&self, delta: ChunkDelta) -> ChatCompletionChunk {
        self.chunk(vec![ChunkChoice { index: 0, delta, logprobs: None, finish_reason: None }])
    }

    fn chunk(&self, choices: Vec<ChunkChoice>) -> ChatCompletionChunk {
        ChatCompletionChunk {
            id: self.meta.id.clone(),
            object: "chat.completion.chunk".to_owned(),
            created: self.meta.created,
            model: self.meta.model.clone(),
            choices,
            usage: self.include_usage.then_some(None),
        }
    }
}

/// `text`, preceded by a newline when it starts a block other than the last one of its kind.
fn joined(last_block: &mut Option<u32>, block: u32, text: &str) -> String {
    let separate = last_block.is_some_and(|last| last != block);
    *last_block = Some(block);
    if separate { format!("\n{text}") } else { text.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::{ContentBlock, Role, StopReason, collect_events};
    use crate::openai::chat::ChatCompletion;
    use serde_json::json;

    fn text(index: u32, text: &str) -> StreamEvent {
        StreamEvent::ContentBlockDelta { index, delta: Delta::Text { text: text.into() } }
    }

    fn tool_start(index: u32, id: &str, name: &str) -> StreamEvent {
        StreamEvent::ContentBlockStart {
            index,
            start: BlockStart::ToolUse { id: id.into(), name: name.into() },
        }
    }

    fn tool_input(index: u32, json: &str) -> StreamEvent {
        StreamEvent::ContentBlockDelta { index, delta: Delta::ToolInput { json: json.into() } }
    }

    fn encode_chunks(
        encoder: &mut ChunkEncoder,
        events: &[StreamEvent],
    ) -> Vec<ChatCompletionChunk> {
        let mut chunks: Vec<ChatCompletionChunk> =
            events.iter().flat_map(|e| encoder.push(e)).collect();
        chunks.extend(encoder.finish());
        chunks
    }

    fn encode_all(encoder: &mut ChunkEncoder, events: &[StreamEvent]) -> Vec<serde_json::Value> {
        let chunks = encode_chunks(encoder, events);
        chunks.iter().map(|c| serde_json::to_value(c).expect("serializable")).collect()
    }

    /// The "Streaming" response example of the OpenAI API reference
    /// (https://platform.openai.com/docs/api-reference/chat/create), without `system_fingerprint`.
    #[test]
    fn a_text_stream_is_the_reference_streaming_example() {
        let mut encoder =
            ChunkEncoder::new(CompletionMeta::new("123", 1694268190, "gpt-4o-mini"), false);
        let events = [
            StreamEvent::MessageStart { role: Role::Assistant },
            text(0, "Hello"),
            text(0, "!"),
            StreamEvent::ContentBlockStop { index: 0 },
            StreamEvent::MessageStop { stop_reason: StopReason::EndTurn },
            StreamEvent::Metadata { usage: Usage::new(9, 2), latency_ms: Some(120) },
        ];
        let chunk = |delta: serde_json::Value, finish: serde_json::Value| {
            json!({
                "id": "chatcmpl-123", "object": "chat.completion.chunk", "created": 1694268190, "model": "gpt-4o-mini",
                "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]
            })
        };
        assert_eq!(
            encode_all(&mut encoder, &events),
            vec![
                chunk(json!({"role": "assistant", "content": ""}), json!(null)),
                chunk(json!({"content": "Hello"}), json!(null)),
                chunk(json!({"content": "!"}), json!(null)),
                chunk(json!({}), json!("stop")),
            ]
        );
        assert!(encoder.is_finished());
    }

    /// A Converse tool-use stream (text block 0, tool block 1) with `include_usage`, encoded as
    /// OpenAI streams a tool call: id and name first with empty arguments, then argument fragments,
    /// the finish chunk, and the usage chunk with no choices.
    #[test]
    fn a_tool_call_stream_with_usage_follows_openais_sequence() {
        let mut encoder =
            ChunkEncoder::new(CompletionMeta::new("tool1", 1716644530, "claude"), true);
        let events = [
            StreamEvent::MessageStart { role: Role::Assistant },
            text(0, "Let me check."),
            StreamEvent::ContentBlockStop { index: 0 },
            tool_start(1, "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "get_weather"),
            tool_input(1, "{\"location\":"),
            tool_input(1, " \"Paris\"}"),
            StreamEvent::ContentBlockStop { index: 1 },
            StreamEvent::MessageStop { stop_reason: StopReason::ToolUse },
            StreamEvent::Metadata { usage: Usage::new(12, 7), latency_ms: None },
        ];
        let chunk = |delta: serde_json::Value, finish: serde_json::Value| {
            json!({
                "id": "chatcmpl-tool1", "object": "chat.completion.chunk", "created": 1716644530, "model": "claude",
                "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
                "usage": null
            })
        };
        assert_eq!(
            encode_all(&mut encoder, &events),
            vec![
                chunk(json!({"role": "assistant", "content": ""}), json!(null)),
                chunk(json!({"content": "Let me check."}), json!(null)),
                chunk(
                    json!({"tool_calls": [{"index": 0, "id": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}),
                    json!(null)
                ),
                chunk(
                    json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"location\":"}}]}),
                    json!(null)
                ),
                chunk(
                    json!({"tool_calls": [{"index": 0, "function": {"arguments": " \"Paris\"}"}}]}),
                    json!(null)
                ),
                chunk(json!({}), json!("tool_calls")),
                json!({
                    "id": "chatcmpl-tool1", "object": "chat.completion.chunk", "created": 1716644530, "model": "claude",
                    "choices": [],
                    "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19, "prompt_tokens_details": {"cached_tokens": 0}}
                }),
            ]
        );
    }

    #[test]
    fn chunks_render_as_sse_lines_ending_with_done() {
        let mut encoder = ChunkEncoder::new(CompletionMeta::new("1", 1, "m"), false);
        let mut stream: String =
            [StreamEvent::MessageStart { role: Role::Assistant }, text(0, "Hi")]
                .iter()
                .flat_map(|e| encoder.push(e))
                .map(|chunk| chunk.to_sse())
                .collect();
        stream.push_str(SSE_DONE);
        assert_eq!(
            stream,
            "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n\
             data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n\
             data: [DONE]\n\n"
        );
        // Every event is one `data:` line of JSON and a blank line.
        for event in stream.split_terminator("\n\n") {
            let data = event.strip_prefix("data: ").expect("a data line");
            assert!(
                data == "[DONE]" || serde_json::from_str::<ChatCompletionChunk>(data).is_ok(),
                "{data}"
            );
        }
    }

    /// What an OpenAI client rebuilds from the chunks (the SDK's stream accumulator) must equal the
    /// non-streaming answer quarry gives for the same events.
    #[test]
    fn the_chunks_add_up_to_the_non_streaming_answer() {
        let mut usage = Usage::new(30, 12);
        usage.cache_read_input_tokens = Some(100);
        let events = vec![
            StreamEvent::MessageStart { role: Role::Assistant },
            StreamEvent::ContentBlockDelta {
                index: 0,
                delta: Delta::Reasoning { text: "Two cities, ".into() },
            },
            StreamEvent::ContentBlockDelta {
                index: 0,
                delta: Delta::Reasoning { text: "two calls.".into() },
            },
            StreamEvent::ContentBlockDelta {
                index: 0,
                delta: Delta::ReasoningSignature { signature: "c2ln".into() },
            },
            text(1, "Checking "),
            text(1, "both."),
            tool_start(2, "t-paris", "weather"),
            tool_input(2, "{\"city\": "),
            tool_input(2, "\"Paris\"}"),
            text(3, "Almost there."),
            tool_start(4, "t-oslo", "weather"),
            tool_input(4, ""),
            tool_input(4, "{\"city\": \"Oslo\"}"),
            StreamEvent::MessageStop { stop_reason: StopReason::ToolUse },
            StreamEvent::Metadata { usage, latency_ms: Some(900) },
        ];
        let meta = CompletionMeta::new("same", 7, "m");
        let mut encoder = ChunkEncoder::new(meta.clone(), true);
        let chunks = encode_chunks(&mut encoder, &events);

        let (mut content, mut reasoning, mut finish, mut final_usage) =
            (String::new(), String::new(), None, None);
        let mut calls: BTreeMap<u32, (String, String, String)> = BTreeMap::new();
        for chunk in &chunks {
            assert_eq!(
                (chunk.id.as_str(), chunk.created, chunk.model.as_str()),
                ("chatcmpl-same", 7, "m")
            );
            if let Some(Some(usage)) = chunk.usage {
                final_usage = Some(usage);
            }
            for choice in &chunk.choices {
                content.push_str(choice.delta.content.as_deref().unwrap_or_default());
                reasoning.push_str(choice.delta.reasoning_content.as_deref().unwrap_or_default());
                finish = finish.or(choice.finish_reason);
                for call in choice.delta.tool_calls.iter().flatten() {
                    let entry = calls.entry(call.index).or_default();
                    if let Some(id) = &call.id {
                        entry.0 = id.clone();
                    }
                    if let Some(function) = &call.function {
                        entry.1.push_str(function.name.as_deref().unwrap_or_default());
                        entry.2.push_str(function.arguments.as_deref().unwrap_or_default());
                    }
                }
            }
        }
        let whole = ChatCompletion::from_response(&meta, &collect_events(&events));
        let message = &whole.choices[0].message;
        assert_eq!(Some(content), message.content);
        assert_eq!(Some(reasoning), message.reasoning_content);
        assert_eq!(finish, Some(whole.choices[0].finish_reason));
        assert_eq!(final_usage, whole.usage);
        let whole_calls = message.tool_calls.as_ref().expect("tool calls");
        assert_eq!(calls.len(), whole_calls.len());
        for ((index, (id, name, arguments)), call) in calls.iter().zip(whole_calls) {
            assert_eq!((id, name), (&call.id, &call.function.name), "call {index}");
            let parse = |text: &str| {
                serde_json::from_str::<serde_json::Value>(text).expect("JSON arguments")
            };
            assert_eq!(parse(arguments), parse(&call.function.arguments), "call {index}");
        }
        assert!(matches!(collect_events(&events).content[0], ContentBlock::Reasoning { .. }));
    }

    #[test]
    fn usage_reported_before_the_stop_still_comes_after_the_finish_chunk() {
        let mut encoder = ChunkEncoder::new(CompletionMeta::new("u", 1, "m"), true);
        assert!(
            encoder
                .push(&StreamEvent::Metadata { usage: Usage::new(3, 4), latency_ms: None })
                .iter()
                .all(|chunk| chunk.usage == Some(None))
        );
        let chunks = encoder.push(&StreamEvent::MessageStop { stop_reason: StopReason::MaxTokens });
        let kinds: Vec<(usize, Option<FinishReason>, bool)> = chunks
            .iter()
            .map(|c| {
                (
                    c.choices.len(),
                    c.choices.first().and_then(|ch| ch.finish_reason),
                    matches!(c.usage, Some(Some(_))),
                )
            })
            .collect();
        // The first chunk is still due (no MessageStart was seen), then the finish, then usage.
        assert_eq!(
            kinds,
            [(1, None, false), (1, Some(FinishReason::Length), false), (0, None, true)]
        );
        assert!(encoder.finish().is_empty(), "the usage chunk is sent once");
    }

    #[test]
    fn a_stream_cut_before_its_stop_is_not_finished_and_sends_no_usage() {
        let mut encoder = ChunkEncoder::new(CompletionMeta::new("cut", 1, "m"), true);
        let chunks: Vec<_> = [StreamEvent::MessageStart { role: Role::Assistant }, text(0, "Hal")]
            .iter()
            .flat_map(|e| encoder.push(e))
            .collect();
        assert_eq!(chunks.len(), 2);
        assert!(!encoder.is_finished());
        assert!(encoder.finish().is_empty());
        // Without include_usage, chunks carry no usage field at all.
        let mut plain = ChunkEncoder::new(CompletionMeta::new("p", 1, "m"), false);
        let value = serde_json::to_value(
            &plain.push(&StreamEvent::MessageStart { role: Role::Assistant })[0],
        )
        .expect("serializable");
        assert!(value.get("usage").is_none(), "{value}");
        plain.push(&StreamEvent::MessageStop { stop_reason: StopReason::EndTurn });
        assert!(
            plain
                .push(&StreamEvent::Metadata { usage: Usage::new(1, 1), latency_ms: None })
                .is_empty()
        );
        assert!(plain.finish().is_empty());
    }

    #[test]
    fn a_failed_encoding_would_become_an_openai_error_event() {
        struct Unencodable;
        impl Serialize for Unencodable {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("boom"))
            }
        }
        let line = sse_data(&Unencodable);
        let data =
            line.strip_prefix("data: ").and_then(|l| l.strip_suffix("\n\n")).expect("an SSE line");
        let body: crate::openai::ErrorResponse =
            serde_json::from_str(data).expect("an OpenAI error body");
        assert!(body.error.message.contains("boom"));
    }
}
