//! Folding a stream of [`StreamEvent`]s back into the [`ChatResponse`] it describes.

use std::collections::BTreeMap;

use super::types::{BlockStart, ChatResponse, ContentBlock, Delta, StopReason, StreamEvent, Usage};

/// Collects stream events into a complete answer, in block-index order.
///
/// Tool-use input arrives as JSON fragments; they are parsed when the answer is finished, and a
/// fragment sequence that is not valid JSON keeps the raw text as a JSON string so nothing is lost.
/// A block index that receives redacted-reasoning data becomes a redacted-reasoning block (whatever
/// the index held before), because the model needs that data back unchanged. Its pieces are
/// concatenated; padded base64 pieces (one per ConverseStream blob) join as the base64 of all
/// their bytes.
#[derive(Debug, Default)]
pub struct StreamAccumulator {
    blocks: BTreeMap<u32, PartialBlock>,
    stop_reason: Option<StopReason>,
    usage: Option<Usage>,
    latency_ms: Option<u64>,
}

#[derive(Debug)]
enum PartialBlock {
    Text(String),
    Reasoning { text: String, signature: Option<String> },
    RedactedReasoning(String),
    ToolUse { id: String, name: String, json: String },
}

impl StreamAccumulator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one event.
    pub fn push(&mut self, event: &StreamEvent) {
        match event {
            StreamEvent::MessageStart { .. } | StreamEvent::ContentBlockStop { .. } => {}
            StreamEvent::ContentBlockStart { index, start } => match start {
                BlockStart::ToolUse { id, name } => {
                    self.blocks.insert(
                        *index,
                        PartialBlock::ToolUse {
                            id: id.clone(),
                            name: name.clone(),
                            json: String::new(),
                        },
                    );
                }
            },
            StreamEvent::ContentBlockDelta { index, delta } => self.push_delta(*index, delta),
            StreamEvent::MessageStop { stop_reason } => self.stop_reason = Some(*stop_reason),
            StreamEvent::Metadata { usage, latency_ms } => {
                self.usage = Some(*usage);
                self.latency_ms = *latency_ms;
            }
        }
    }

    fn push_delta(&mut self, index: u32, delta: &Delta) {
        let block = self.blocks.entry(index).or_insert_with(|| match delta {
            Delta::Reasoning { .. } | Delta::ReasoningSignature { .. } => {
                PartialBlock::Reasoning { text: String::new(), signature: None }
            }
            Delta::ToolInput { .. } => PartialBlock::ToolUse {
                id: String::new(),
                name: String::new(),
                json: String::new(),
            },
            Delta::RedactedReasoning { .. } => PartialBlock::RedactedReasoning(String::new()),
            Delta::Text { .. } => PartialBlock::Text(String::new()),
        });
        if matches!(delta, Delta::RedactedReasoning { .. })
            && !matches!(block, PartialBlock::RedactedReasoning(_))
        {
            *block = PartialBlock::RedactedReasoning(String::new());
        }
        match (block, delta) {
            (PartialBlock::Text(buf), Delta::Text { text }) => buf.push_str(text),
            (PartialBlock::Reasoning { text: buf, .. }, Delta::Reasoning { text }) => {
                buf.push_str(text)
            }
            (
                PartialBlock::Reasoning { signature, .. },
                Delta::ReasoningSignature { signature: s },
            ) => signature.get_or_insert_with(String::new).push_str(s),
            (PartialBlock::ToolUse { json, .. }, Delta::ToolInput { json: fragment }) => {
                json.push_str(fragment)
            }
            (PartialBlock::RedactedReasoning(buf), Delta::RedactedReasoning { data }) => {
                append_redacted(buf, data)
            }
            // A delta of another kind than its block: keep its text rather than drop it.
            (
                PartialBlock::Text(buf),
                Delta::Reasoning { text } | Delta::ToolInput { json: text },
            ) => buf.push_str(text),
            _ => {}
        }
    }

    /// True once the stream said why it stopped.
    pub fn is_finished(&self) -> bool {
        self.stop_reason.is_some()
    }

    /// The answer so far. A stream that never said why it stopped reports `StopReason::Unknown`.
    pub fn finish(self) -> ChatResponse {
        let content = self
            .blocks
            .into_values()
            .map(|block| match block {
                PartialBlock::Text(text) => ContentBlock::Text { text },
                PartialBlock::Reasoning { text, signature } => {
                    ContentBlock::Reasoning { text, signature }
                }
                PartialBlock::RedactedReasoning(data) => ContentBlock::RedactedReasoning { data },
                PartialBlock::ToolUse { id, name, json } => {
                    let input = if json.trim().is_empty() {
                        serde_json::Value::Object(serde_json::Map::new())
                    } else {
                        serde_json::from_str(&json).unwrap_or(serde_json::Value::String(json))
                    };
                    ContentBlock::ToolUse { id, name, input }
                }
            })
            .collect();
        ChatResponse {
            content,
            stop_reason: self.stop_reason.unwrap_or(StopReason::Unknown),
            usage: self.usage.unwrap_or_default(),
            latency_ms: self.latency_ms,
            guardrail: None,
        }
    }
}

/// Appends a piece of redacted-reasoning data to `data`. The pieces are concatenated, except that
/// when both are standard base64 and `data` ends in padding (ConverseStream sends one blob per
/// delta, and a blob's base64 is padded unless its length is a multiple of 3), the bytes are joined
/// and encoded again: the result is the base64 of the whole blob, as the non-streamed answer has it.
fn append_redacted(data: &mut String, piece: &str) {
    use base64::Engine as _;
    let engine = &base64::engine::general_purpose::STANDARD;
    if data.ends_with('=')
        && let (Ok(mut bytes), Ok(more)) = (engine.decode(data.as_str()), engine.decode(piece))
    {
        bytes.extend(more);
        *data = engine.encode(bytes);
        return;
    }
    data.push_str(piece);
}

/// Folds a whole event sequence into a response.
pub fn collect_events<'a>(events: impl IntoIterator<Item = &'a StreamEvent>) -> ChatResponse {
    let mut acc = StreamAccumulator::new();
    for event in events {
        acc.push(event);
    }
    acc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::converse::tests::REDACTED_DATA;
    use crate::chat::types::Role;

    #[test]
    fn text_and_tool_use_blocks_are_rebuilt_in_index_order() {
        let events = vec![
            StreamEvent::MessageStart { role: Role::Assistant },
            StreamEvent::ContentBlockDelta {
                index: 0,
                delta: Delta::Text { text: "Let me ".into() },
            },
            StreamEvent::ContentBlockDelta {
                index: 0,
                delta: Delta::Text { text: "check.".into() },
            },
            StreamEvent::ContentBlockStop { index: 0 },
            StreamEvent::ContentBlockStart {
                index: 1,
                start: BlockStart::ToolUse { id: "t1".into(), name: "weather".into() },
            },
            StreamEvent::ContentBlockDelta {
                index: 1,
                delta: Delta::ToolInput { json: "{\"city\":".into() },
            },
            StreamEvent::ContentBlockDelta {
                index: 1,
                delta: Delta::ToolInput { json: "\"Paris\"}".into() },
            },
            StreamEvent::ContentBlockStop { index: 1 },
            StreamEvent::MessageStop { stop_reason: StopReason::ToolUse },
            StreamEvent::Metadata { usage: Usage::new(10, 5), latency_ms: Some(42) },
        ];
        let response = collect_events(&events);
        assert_eq!(response.text(), "Let me check.");
        assert_eq!(
            response.content[1],
            ContentBlock::ToolUse {
                id: "t1".into(),
                name: "weather".into(),
                input: serde_json::json!({"city": "Paris"})
            }
        );
        assert_eq!(response.stop_reason, StopReason::ToolUse);
        assert_eq!(response.usage.total_tokens, 15);
        assert_eq!(response.latency_ms, Some(42));
    }

    fn delta(index: u32, delta: Delta) -> StreamEvent {
        StreamEvent::ContentBlockDelta { index, delta }
    }

    #[test]
    fn redacted_reasoning_pieces_fold_into_one_block_between_its_neighbours() {
        let (head, tail) = REDACTED_DATA.split_at(20);
        let events = vec![
            StreamEvent::MessageStart { role: Role::Assistant },
            delta(0, Delta::Reasoning { text: "Let me think.".into() }),
            delta(0, Delta::ReasoningSignature { signature: "EqQBCgIYAhIM".into() }),
            StreamEvent::ContentBlockStop { index: 0 },
            delta(1, Delta::RedactedReasoning { data: head.into() }),
            delta(1, Delta::RedactedReasoning { data: tail.into() }),
            StreamEvent::ContentBlockStop { index: 1 },
            delta(2, Delta::Text { text: "27 * 453 = 12,231".into() }),
            StreamEvent::MessageStop { stop_reason: StopReason::EndTurn },
        ];
        let response = collect_events(&events);
        assert_eq!(
            response.content,
            vec![
                ContentBlock::Reasoning {
                    text: "Let me think.".into(),
                    signature: Some("EqQBCgIYAhIM".into())
                },
                ContentBlock::RedactedReasoning { data: REDACTED_DATA.into() },
                ContentBlock::text("27 * 453 = 12,231"),
            ]
        );
        assert_eq!(response.text(), "27 * 453 = 12,231", "redacted data is never answer text");
    }

    #[test]
    fn padded_redacted_pieces_join_as_the_base64_of_all_their_bytes() {
        // Base64 of the blobs [0x01], [0x02, 0x03] and [0x04]: the first two end in padding.
        let events = ["AQ==", "AgM=", "BA=="]
            .map(|piece| delta(0, Delta::RedactedReasoning { data: piece.into() }));
        assert_eq!(
            collect_events(&events).content,
            vec![ContentBlock::RedactedReasoning { data: "AQIDBA==".into() }]
        );
    }

    #[test]
    fn a_block_that_receives_redacted_data_becomes_a_redacted_block() {
        let events = [
            delta(0, Delta::Reasoning { text: String::new() }),
            delta(0, Delta::RedactedReasoning { data: REDACTED_DATA.into() }),
            // Readable reasoning after the data cannot be sent back with it; the data stays whole.
            delta(0, Delta::Reasoning { text: "late".into() }),
        ];
        assert_eq!(
            collect_events(&events).content,
            vec![ContentBlock::RedactedReasoning { data: REDACTED_DATA.into() }]
        );
    }

    #[test]
    fn a_stream_cut_before_its_stop_is_reported_as_unknown() {
        let events = [StreamEvent::ContentBlockDelta {
            index: 0,
            delta: Delta::Text { text: "par".into() },
        }];
        let mut acc = StreamAccumulator::new();
        acc.push(&events[0]);
        assert!(!acc.is_finished());
        let response = acc.finish();
        assert_eq!(response.stop_reason, StopReason::Unknown);
        assert_eq!(response.text(), "par");
    }
}
