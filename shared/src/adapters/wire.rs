//! Wire pieces the native families share: Bedrock's invocation metrics, JSON body helpers, the
//! reasoning/answer split of reasoning models, and the builder that turns native stream chunks into
//! a well-formed quarry event sequence.

use std::fmt::Display;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::AdapterError;
use crate::chat::types::json_kind;
use crate::chat::{BlockStart, ContentBlock, Delta, Role, StopReason, StreamEvent, ToolChoice};
use crate::model::Family;

pub use super::stream_metrics::{INVOCATION_METRICS_KEY, InvocationMetrics};

/// Serializes a typed request body into the JSON value [`super::NativeAdapter::request_body`] returns.
pub(crate) fn to_body<T: Serialize>(
    family: Family,
    body: &T,
) -> Result<serde_json::Value, AdapterError> {
    serde_json::to_value(body).map_err(|e| AdapterError::InvalidRequest {
        family,
        reason: format!("the request body cannot be written as JSON: {e}"),
    })
}

/// Parses a response body or stream chunk, which must be a JSON object; `shape` names what was
/// expected, for the error.
pub(crate) fn parse_body<T: DeserializeOwned>(
    family: Family,
    shape: &str,
    bytes: &[u8],
) -> Result<T, AdapterError> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| invalid_response(family, format!("{shape} is not JSON: {e}")))?;
    if !value.is_object() {
        return Err(invalid_response(
            family,
            format!(
                "{shape} is not the documented shape: expected a JSON object, found {}",
                json_kind(&value)
            ),
        ));
    }
    serde_json::from_value(value)
        .map_err(|e| invalid_response(family, format!("{shape} is not the documented shape: {e}")))
}

/// An [`AdapterError::Unsupported`] for `feature`.
pub(crate) fn unsupported(family: Family, feature: impl Into<String>) -> AdapterError {
    AdapterError::Unsupported { family, feature: feature.into() }
}

/// An [`AdapterError::InvalidRequest`].
pub(crate) fn invalid_request(family: Family, reason: impl Display) -> AdapterError {
    AdapterError::InvalidRequest { family, reason: reason.to_string() }
}

/// An [`AdapterError::InvalidResponse`].
pub(crate) fn invalid_response(family: Family, reason: impl Display) -> AdapterError {
    AdapterError::InvalidResponse { family, reason: reason.to_string() }
}

/// Refuses `top_k`, tools, and a tool choice that forces a call, for families that document
/// neither (`auto` without tools asks for nothing, so it passes).
pub(crate) fn refuse_top_k_and_tools(
    family: Family,
    request: &crate::chat::ChatRequest,
) -> Result<(), AdapterError> {
    if request.top_k.is_some() {
        return Err(unsupported(family, "top_k"));
    }
    if !request.tools.is_empty()
        || matches!(request.tool_choice, Some(ToolChoice::Any | ToolChoice::Tool { .. }))
    {
        return Err(unsupported(family, "tools"));
    }
    Ok(())
}

/// The request's system text (text blocks joined with newlines); cache points are rejected because
/// these families have no prompt caching.
pub(crate) fn system_text(
    family: Family,
    request: &crate::chat::ChatRequest,
) -> Result<Option<String>, AdapterError> {
    if request.system.iter().any(|b| matches!(b, crate::chat::SystemBlock::CachePoint)) {
        return Err(unsupported(family, CACHE_POINTS));
    }
    Ok(request.system_text())
}

/// The feature name of prompt-caching markers.
pub(crate) const CACHE_POINTS: &str = "prompt caching (cache points)";

/// The feature a content block stands for, for [`AdapterError::Unsupported`] messages.
pub(crate) fn block_feature(block: &ContentBlock) -> &'static str {
    match block {
        ContentBlock::Text { .. } => "text blocks",
        ContentBlock::Image { .. } => "image input",
        ContentBlock::Document { .. } => "document blocks",
        ContentBlock::ToolUse { .. } => "tool use blocks",
        ContentBlock::ToolResult { .. } => "tool result blocks",
        ContentBlock::Reasoning { .. } => "reasoning blocks in the conversation",
        ContentBlock::RedactedReasoning { .. } => "redacted reasoning blocks in the conversation",
        ContentBlock::CachePoint => CACHE_POINTS,
    }
}

/// A tool call's input: the arguments JSON parsed, or kept as a JSON string when it is not valid
/// JSON (the same rule [`crate::chat::StreamAccumulator`] applies, so streamed and whole answers agree).
pub(crate) fn tool_input_from_arguments(arguments: &str) -> serde_json::Value {
    if arguments.trim().is_empty() {
        return serde_json::Value::Object(serde_json::Map::new());
    }
    serde_json::from_str(arguments).unwrap_or_else(|_| serde_json::Value::String(arguments.into()))
}

/// One piece of model output after separating reasoning from the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Reasoning(String),
    Text(String),
}

/// Folds pieces into content blocks, merging neighbours of the same kind.
pub(crate) fn pieces_to_blocks(pieces: Vec<Piece>) -> Vec<ContentBlock> {
    let mut blocks: Vec<ContentBlock> = Vec::new();
    for piece in pieces {
        if let (Piece::Reasoning(more), Some(ContentBlock::Reasoning { text, .. }))
        | (Piece::Text(more), Some(ContentBlock::Text { text })) = (&piece, blocks.last_mut())
        {
            text.push_str(more);
            continue;
        }
        blocks.push(match piece {
            Piece::Reasoning(text) => ContentBlock::Reasoning { text, signature: None },
            Piece::Text(text) => ContentBlock::Text { text },
        });
    }
    blocks
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SplitState {
    /// Waiting to see whether the output opens with the reasoning tag.
    Opening,
    Reasoning,
    Answer,
}

/// Splits text that carries the model's reasoning inside tags (DeepSeek-R1's `…</think>`, gpt-oss's
/// `<reasoning>…</reasoning>`) into reasoning and answer pieces, incrementally.
///
/// Each part is trimmed of surrounding whitespace. Whitespace at the end of what has been pushed so
/// far, and a tail that may be the start of a tag, are held back until the next push shows what they
/// are, so splitting a text in one push or in many yields the same pieces.
#[derive(Debug, Clone)]
pub(crate) struct ReasoningSplitter {
    open_tag: &'static str,
    close_tag: &'static str,
    state: SplitState,
    /// Text not yet emitted.
    pending: String,
    /// Whether the current part has emitted anything (leading whitespace is dropped until it has).
    part_started: bool,
}

impl ReasoningSplitter {
    /// For output that starts inside the reasoning (the prompt already opened it), ended by `close_tag`.
    pub(crate) fn starting_in_reasoning(close_tag: &'static str) -> Self {
        ReasoningSplitter {
            open_tag: "",
            close_tag,
            state: SplitState::Reasoning,
            pending: String::new(),
            part_started: false,
        }
    }

    /// For output that may open with `open_tag … close_tag` before the answer.
    pub(crate) fn with_leading_tags(open_tag: &'static str, close_tag: &'static str) -> Self {
        ReasoningSplitter {
            open_tag,
            close_tag,
            state: SplitState::Opening,
            pending: String::new(),
            part_started: false,
        }
    }

    /// Splits a whole text at once.
    pub(crate) fn split_all(mut self, text: &str) -> Vec<Piece> {
        let mut pieces = self.push(text);
        pieces.extend(self.finish());
        pieces
    }

    /// Feeds more output; returns the pieces that are now certain.
    pub(crate) fn push(&mut self, text: &str) -> Vec<Piece> {
        self.pending.push_str(text);
        let mut pieces = Vec::new();
        loop {
            match self.state {
                SplitState::Opening => {
                    let trimmed = self.pending.trim_start();
                    if trimmed.is_empty() {
                        self.pending.clear();
                        return pieces;
                    }
                    if let Some(rest) = trimmed.strip_prefix(self.open_tag) {
                        self.pending = rest.to_string();
                        self.enter(SplitState::Reasoning);
                    } else if self.open_tag.starts_with(trimmed) {
                        self.pending = trimmed.to_string();
                        return pieces;
                    } else {
                        self.enter(SplitState::Answer);
                    }
                }
                SplitState::Reasoning => match self.pending.find(self.close_tag) {
                    Some(at) => {
                        let rest = self.pending[at + self.close_tag.len()..].to_string();
                        let part = self.pending[..at].trim_end().to_string();
                        self.emit(&part, &mut pieces);
                        self.pending = rest;
                        self.enter(SplitState::Answer);
                    }
                    None => {
                        let held = held_tail(&self.pending, self.close_tag);
                        self.emit_before(held, &mut pieces);
                        return pieces;
                    }
                },
                SplitState::Answer => {
                    let held = self.pending.len() - self.pending.trim_end().len();
                    self.emit_before(held, &mut pieces);
                    return pieces;
                }
            }
        }
    }

    /// Ends the output: emits what was held back, trimmed, and starts a fresh answer part (text that
    /// arrives afterwards is answer text).
    pub(crate) fn finish(&mut self) -> Vec<Piece> {
        let mut pieces = Vec::new();
        let rest = std::mem::take(&mut self.pending);
        if self.state == SplitState::Opening {
            self.state = SplitState::Answer;
        }
        self.emit(rest.trim_end(), &mut pieces);
        self.enter(SplitState::Answer);
        pieces
    }

    fn enter(&mut self, state: SplitState) {
        self.state = state;
        self.part_started = false;
    }

    /// Emits all pending text except its last `held` bytes.
    fn emit_before(&mut self, held: usize, pieces: &mut Vec<Piece>) {
        let cut = self.pending.len() - held;
        let ready = self.pending[..cut].to_string();
        self.pending.replace_range(..cut, "");
        self.emit(&ready, pieces);
    }

    fn emit(&mut self, text: &str, pieces: &mut Vec<Piece>) {
        let text = if self.part_started { text } else { text.trim_start() };
        if text.is_empty() {
            return;
        }
        self.part_started = true;
        pieces.push(match self.state {
            SplitState::Reasoning => Piece::Reasoning(text.to_string()),
            SplitState::Opening | SplitState::Answer => Piece::Text(text.to_string()),
        });
    }
}

/// How many bytes at the end of `text` must wait: trailing whitespace plus any tail that could be the
/// beginning of `tag`.
fn held_tail(text: &str, tag: &str) -> usize {
    let partial = (1..tag.len()).rev().find(|&n| text.ends_with(&tag[..n])).unwrap_or(0);
    let before = &text[..text.len() - partial];
    partial + (before.len() - before.trim_end().len())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpenBlock {
    Text,
    Reasoning,
    ToolUse,
}

/// Builds a well-formed event sequence from what a decoder learns chunk by chunk: `MessageStart`
/// once, content blocks numbered in order and closed before the next opens, `MessageStop` once.
#[derive(Debug, Default)]
pub(crate) struct EventBuilder {
    events: Vec<StreamEvent>,
    started: bool,
    stopped: bool,
    open: Option<(u32, OpenBlock)>,
    next_index: u32,
}

impl EventBuilder {
    /// The events built since the last call.
    pub(crate) fn take(&mut self) -> Vec<StreamEvent> {
        std::mem::take(&mut self.events)
    }

    /// Emits `MessageStart` unless it was already emitted.
    pub(crate) fn start(&mut self) {
        if !self.started {
            self.started = true;
            self.events.push(StreamEvent::MessageStart { role: Role::Assistant });
        }
    }

    /// Appends answer text (empty text emits nothing).
    pub(crate) fn text(&mut self, text: &str) {
        if !text.is_empty() {
            let index = self.block(OpenBlock::Text);
            self.events.push(StreamEvent::ContentBlockDelta {
                index,
                delta: Delta::Text { text: text.to_string() },
            });
        }
    }

    /// Appends reasoning text (empty text emits nothing).
    pub(crate) fn reasoning(&mut self, text: &str) {
        if !text.is_empty() {
            let index = self.block(OpenBlock::Reasoning);
            self.events.push(StreamEvent::ContentBlockDelta {
                index,
                delta: Delta::Reasoning { text: text.to_string() },
            });
        }
    }

    /// Appends split pieces.
    pub(crate) fn pieces(&mut self, pieces: Vec<Piece>) {
        for piece in pieces {
            match piece {
                Piece::Reasoning(text) => self.reasoning(&text),
                Piece::Text(text) => self.text(&text),
            }
        }
    }

    /// Opens a tool-use block and returns its index.
    pub(crate) fn open_tool(&mut self, id: &str, name: &str) -> u32 {
        self.start();
        self.close_open_block();
        let index = self.next_index;
        self.next_index += 1;
        self.open = Some((index, OpenBlock::ToolUse));
        self.events.push(StreamEvent::ContentBlockStart {
            index,
            start: BlockStart::ToolUse { id: id.to_string(), name: name.to_string() },
        });
        index
    }

    /// Appends a fragment of a tool call's input JSON to the tool block at `index`.
    pub(crate) fn tool_input(&mut self, index: u32, json: &str) {
        if !json.is_empty() {
            self.events.push(StreamEvent::ContentBlockDelta {
                index,
                delta: Delta::ToolInput { json: json.to_string() },
            });
        }
    }

    /// A whole tool call in one go.
    pub(crate) fn tool_use(&mut self, id: &str, name: &str, input_json: &str) {
        let index = self.open_tool(id, name);
        self.tool_input(index, input_json);
    }

    /// Closes the open block and emits `MessageStop` (only the first stop counts).
    pub(crate) fn stop(&mut self, stop_reason: StopReason) {
        if self.stopped {
            return;
        }
        self.start();
        self.close_open_block();
        self.stopped = true;
        self.events.push(StreamEvent::MessageStop { stop_reason });
    }

    /// Emits the metadata event of Bedrock's invocation metrics.
    pub(crate) fn metrics(&mut self, metrics: &InvocationMetrics) {
        self.start();
        self.events.push(StreamEvent::Metadata {
            usage: metrics.usage(None),
            latency_ms: metrics.invocation_latency,
        });
    }

    /// The index of an open block of `kind`, opening one (and closing another) when needed.
    fn block(&mut self, kind: OpenBlock) -> u32 {
        self.start();
        match self.open {
            Some((index, open)) if open == kind => index,
            _ => {
                self.close_open_block();
                let index = self.next_index;
                self.next_index += 1;
                self.open = Some((index, kind));
                index
            }
        }
    }

    fn close_open_block(&mut self) {
        if let Some((index, _)) = self.open.take() {
            self.events.push(StreamEvent::ContentBlockStop { index });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_in_pieces(splitter: &ReasoningSplitter, text: &str, size: usize) -> Vec<Piece> {
        let mut splitter = splitter.clone();
        let chars: Vec<char> = text.chars().collect();
        let mut pieces = Vec::new();
        for chunk in chars.chunks(size) {
            pieces.extend(splitter.push(&chunk.iter().collect::<String>()));
        }
        pieces.extend(splitter.finish());
        pieces
    }

    #[test]
    fn think_output_splits_the_same_whole_or_in_any_chunking() {
        let text = "Okay, the user greets me.\n</think>\n\nHello! How can I help?\n";
        let splitter = ReasoningSplitter::starting_in_reasoning("</think>");
        let whole = pieces_to_blocks(splitter.clone().split_all(text));
        assert_eq!(
            whole,
            vec![
                ContentBlock::Reasoning {
                    text: "Okay, the user greets me.".into(),
                    signature: None
                },
                ContentBlock::text("Hello! How can I help?"),
            ]
        );
        for size in 1..=9 {
            assert_eq!(pieces_to_blocks(split_in_pieces(&splitter, text, size)), whole, "{size}");
        }
    }

    #[test]
    fn reasoning_tags_are_optional_and_only_recognised_at_the_start() {
        let splitter = ReasoningSplitter::with_leading_tags("<reasoning>", "</reasoning>");
        let tagged = "<reasoning>Simple sum.</reasoning>2 + 2 = 4";
        let expected = vec![
            ContentBlock::Reasoning { text: "Simple sum.".into(), signature: None },
            ContentBlock::text("2 + 2 = 4"),
        ];
        for size in 1..=12 {
            assert_eq!(pieces_to_blocks(split_in_pieces(&splitter, tagged, size)), expected);
        }
        let plain = "The tag <reasoning> appears mid-answer.";
        assert_eq!(
            pieces_to_blocks(splitter.clone().split_all(plain)),
            vec![ContentBlock::text(plain)]
        );
        assert_eq!(
            pieces_to_blocks(splitter.split_all("<reas")),
            vec![ContentBlock::text("<reas")]
        );
    }

    #[test]
    fn an_unclosed_reasoning_stays_reasoning() {
        let splitter = ReasoningSplitter::starting_in_reasoning("</think>");
        assert_eq!(
            pieces_to_blocks(splitter.split_all("Still thinking </thi")),
            vec![ContentBlock::Reasoning { text: "Still thinking </thi".into(), signature: None }]
        );
    }

    #[test]
    fn builder_numbers_blocks_and_stops_once() {
        let mut builder = EventBuilder::default();
        builder.reasoning("hm");
        builder.text("Hi");
        builder.tool_use("t1", "weather", "{}");
        builder.stop(StopReason::ToolUse);
        builder.stop(StopReason::EndTurn);
        let events = builder.take();
        assert_eq!(events.first(), Some(&StreamEvent::MessageStart { role: Role::Assistant }));
        let stops: Vec<_> =
            events.iter().filter(|e| matches!(e, StreamEvent::MessageStop { .. })).collect();
        assert_eq!(stops, vec![&StreamEvent::MessageStop { stop_reason: StopReason::ToolUse }]);
        let closed: Vec<u32> = events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::ContentBlockStop { index } => Some(*index),
                _ => None,
            })
            .collect();
        assert_eq!(closed, vec![0, 1, 2]);
    }

    #[test]
    fn no_truncation_or_byte_noise_panics_any_decoder() {
        use crate::adapters::NativeAdapter;
        let adapters: [&dyn NativeAdapter; 5] = [
            &super::super::mistral::MistralAdapter,
            &super::super::cohere_command::CohereCommandAdapter,
            &super::super::ai21::Ai21Adapter,
            &super::super::deepseek::DeepSeekAdapter,
            &super::super::openai::OpenAiAdapter,
        ];
        let bodies = [
            r#"{"outputs":[{"text":"Hi ✓","stop_reason":"stop"}]}"#,
            r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"<reasoning>ok</reasoning>Hi ✓","tool_calls":[{"id":"c","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}"#,
            r#"{"choices":[{"text":"hm</think>Hi ✓","stop_reason":"stop"}]}"#,
            r#"{"text":"Hi ✓","generation_id":"g","finish_reason":"COMPLETE","tool_calls":[{"name":"f","parameters":{}}]}"#,
            r#"{"event_type":"stream-end","finish_reason":"COMPLETE","amazon-bedrock-invocationMetrics":{"inputTokenCount":1,"outputTokenCount":2,"invocationLatency":3,"firstByteLatency":4}}"#,
        ];
        for adapter in adapters {
            for body in bodies {
                let bytes = body.as_bytes();
                for cut in 0..bytes.len() {
                    let prefix = &bytes[..cut];
                    assert!(
                        adapter.parse_response(prefix).is_err(),
                        "{:?} {cut}",
                        adapter.family()
                    );
                    assert!(adapter.stream_decoder().decode_chunk(prefix).is_err());
                }
                let mut noisy = bytes.to_vec();
                for (i, byte) in noisy.iter_mut().enumerate().step_by(7) {
                    *byte ^= (i % 251) as u8;
                }
                let _ = adapter.parse_response(&noisy);
                let _ = adapter.stream_decoder().decode_chunk(&noisy);
            }
        }
    }
}
