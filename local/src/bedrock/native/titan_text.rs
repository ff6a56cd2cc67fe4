//! The Amazon Titan Text body (`inputText` + `textGenerationConfig`), its `results` response and
//! its `outputText` stream chunks, in the wire types of [`quarry::adapters::titan_text`]
//! (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-titan-text.html).
//!
//! Checks: `inputText` required and the only other key `textGenerationConfig`; `temperature` and
//! `topP` in 0..=1; `maxTokenCount` in 0..=4,096 (Lite), 8,192 (Express) or 3,072 (Premier). The
//! prompt is read back into turns the way the page writes conversations: an optional instruction
//! paragraph, then `User: …` / `Bot: …` lines ending with an open `Bot:`; a prompt without those
//! markers is one user turn.

use quarry::adapters::titan_text::{
    TitanTextRequest, TitanTextResponse, TitanTextResult, TitanTextStreamChunk,
};
use quarry::chat::{ChatRequest, Delta, Message, Role, StopReason, StreamEvent, SystemBlock};
use serde_json::Value;

use super::chat::ChatAnswer;
use super::schema::BodyCheck;
use super::{ChatFormat, StreamChunk, to_json};
use crate::aws_error::AwsError;

/// Titan Text's body for one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TitanText {
    /// The model's `maxTokenCount` limit.
    max_tokens: i64,
}

impl TitanText {
    /// The body of `base_model_id`, with its output limit.
    pub fn for_model(base_model_id: &str) -> Self {
        let max_tokens = if base_model_id.contains("titan-text-lite") {
            4_096
        } else if base_model_id.contains("titan-text-premier") {
            3_072
        } else {
            8_192
        };
        TitanText { max_tokens }
    }
}

impl ChatFormat for TitanText {
    fn parse(&self, body: &[u8]) -> Result<ChatRequest, AwsError> {
        let mut check = BodyCheck::parse(body)?;
        check
            .required(&["inputText"])
            .allowed(&["inputText", "textGenerationConfig"])
            .string("inputText")
            .object("textGenerationConfig")
            .number("textGenerationConfig/temperature", Some(0.0), Some(1.0))
            .number("textGenerationConfig/topP", Some(0.0), Some(1.0))
            .integer("textGenerationConfig/maxTokenCount", Some(0), Some(self.max_tokens))
            .array("textGenerationConfig/stopSequences");
        let request: TitanTextRequest = check.into_wire()?;
        let (system, messages) = turns_of(&request.input_text);
        let config = request.text_generation_config.unwrap_or_default();
        Ok(ChatRequest {
            system: system.map(|text| vec![SystemBlock::Text { text }]).unwrap_or_default(),
            messages,
            max_tokens: config.max_token_count,
            temperature: config.temperature.map(|t| t as f32),
            top_p: config.top_p.map(|p| p as f32),
            stop_sequences: config.stop_sequences,
            ..ChatRequest::default()
        })
    }

    fn response_body(&self, answer: &ChatAnswer) -> Result<Value, AwsError> {
        let usage = answer.usage();
        to_json(&TitanTextResponse {
            input_text_token_count: usage.input_tokens,
            results: vec![TitanTextResult {
                token_count: usage.output_tokens,
                output_text: answer.text(),
                completion_reason: Some(completion_reason(answer.response.stop_reason).to_owned()),
            }],
        })
    }

    fn stream_chunks(&self, answer: &ChatAnswer) -> Result<Vec<StreamChunk>, AwsError> {
        let pieces = text_chunk_pieces(&answer.events);
        let usage = answer.usage();
        let reason = completion_reason(answer.response.stop_reason);
        let mut chunks = Vec::new();
        let mut total = 0;
        let last = pieces.len().saturating_sub(1);
        for (i, piece) in pieces.into_iter().enumerate() {
            let chunk = StreamChunk::new(Value::Null, piece);
            total += chunk.output_tokens;
            let mut json = to_json(&TitanTextStreamChunk {
                output_text: piece.to_owned(),
                index: Some(0),
                total_output_text_token_count: Some(if i == last {
                    usage.output_tokens
                } else {
                    total
                }),
                completion_reason: (i == last).then(|| reason.to_owned()),
                input_text_token_count: (i == 0).then_some(usage.input_tokens),
                invocation_metrics: None,
            })?;
            // Titan sends `"inputTextTokenCount": null` after the first chunk.
            if let Some(fields) = json.as_object_mut() {
                fields.entry("inputTextTokenCount").or_insert(Value::Null);
            }
            chunks.push(StreamChunk { json, ..chunk });
        }
        Ok(chunks)
    }
}

/// The text deltas of an answer's events, in order.
pub(crate) fn text_deltas(events: &[StreamEvent]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|event| match event {
            StreamEvent::ContentBlockDelta { delta: Delta::Text { text }, .. } => {
                Some(text.as_str())
            }
            _ => None,
        })
        .collect()
}

/// The text of an answer's stream chunks, one per text delta; a text-less answer still sends one
/// (empty) chunk to carry the stop reason.
pub(crate) fn text_chunk_pieces(events: &[StreamEvent]) -> Vec<&str> {
    let pieces = text_deltas(events);
    if pieces.is_empty() { vec![""] } else { pieces }
}

/// Titan's `completionReason` for quarry's stop reason (the service sends `FINISH`).
fn completion_reason(reason: StopReason) -> &'static str {
    match reason {
        StopReason::MaxTokens => "LENGTH",
        StopReason::StopSequence => "STOP_CRITERIA_MET",
        _ => "FINISH",
    }
}

/// A Titan prompt's instruction paragraph and turns: lines starting `User:` or `Bot:` open a turn
/// (which runs until the next such line), text before the first is the instruction, and a last
/// `Bot:` with nothing after it is where Titan answers. No markers: the prompt is one user turn.
pub fn turns_of(input_text: &str) -> (Option<String>, Vec<Message>) {
    let mut preamble: Vec<&str> = Vec::new();
    let mut turns: Vec<(Role, Vec<&str>)> = Vec::new();
    for line in input_text.lines() {
        let marker = [("User:", Role::User), ("Bot:", Role::Assistant)]
            .into_iter()
            .find_map(|(marker, role)| line.strip_prefix(marker).map(|rest| (role, rest)));
        match (marker, turns.last_mut()) {
            (Some((role, rest)), _) => turns.push((role, vec![rest.trim_start()])),
            (None, Some((_, lines))) => lines.push(line),
            (None, None) => preamble.push(line),
        }
    }
    if turns.is_empty() {
        return (None, vec![Message::user(input_text.trim())]);
    }
    let mut messages: Vec<Message> = turns
        .into_iter()
        .map(|(role, lines)| Message {
            role,
            content: vec![quarry::chat::ContentBlock::text(lines.join("\n").trim())],
        })
        .collect();
    if messages.last().is_some_and(|m| m.role == Role::Assistant && m.text().is_empty()) {
        messages.pop();
    }
    let preamble = preamble.join("\n").trim().to_owned();
    ((!preamble.is_empty()).then_some(preamble), messages)
}

#[cfg(test)]
mod tests {
    use quarry::adapters::NativeAdapter;
    use quarry::adapters::text_turns::TextConversation;
    use quarry::adapters::titan_text::{TitanTextAdapter, input_text};
    use serde_json::json;

    use super::*;
    use crate::bedrock::native::chat::answer;
    use crate::bedrock::native::fold_chunks;

    fn express() -> TitanText {
        TitanText::for_model("amazon.titan-text-express-v1")
    }

    #[test]
    fn the_prompt_quarry_writes_reads_back_into_the_same_turns() {
        let mut request = ChatRequest::from_user_text("Hi");
        request.system =
            vec![SystemBlock::Text { text: "Be brief.\nAnswer from the sources.".into() }];
        request.messages.push(Message::assistant("Hello! How can I help?"));
        request.messages.push(Message::user("When does the office open?\nIt matters."));
        let conversation =
            TextConversation::from_request(quarry::model::Family::AmazonTitanText, &request)
                .expect("text only");
        let (system, messages) = turns_of(&input_text(&conversation));
        assert_eq!(system.as_deref(), Some("Be brief.\nAnswer from the sources."));
        assert_eq!(messages, request.messages);
    }

    /// The conversational format of the Titan Text page: `"User: <theUserPrompt>\nBot:"`.
    #[test]
    fn the_documented_prompt_format_and_plain_prompts() {
        assert_eq!(
            turns_of("User: What is Amazon Bedrock?\nBot:"),
            (None, vec![Message::user("What is Amazon Bedrock?")])
        );
        assert_eq!(
            turns_of("Summarise this text."),
            (None, vec![Message::user("Summarise this text.")])
        );
    }

    #[test]
    fn bodies_bedrock_rejects_are_validation_exceptions() {
        let cases = [
            (json!({"textGenerationConfig": {}}), "#: required key [inputText] not found"),
            (
                json!({"inputText": "hi", "prompt": "hi"}),
                "#: extraneous key [prompt] is not permitted",
            ),
            (
                json!({"inputText": "hi", "textGenerationConfig": {"maxTokenCount": 9000}}),
                "#/textGenerationConfig/maxTokenCount: 9000 is not less or equal to 8192",
            ),
            (
                json!({"inputText": "hi", "textGenerationConfig": {"topP": 1.5}}),
                "#/textGenerationConfig/topP: 1.5 is not less or equal to 1",
            ),
        ];
        for (body, expected) in cases {
            let error = express().parse(body.to_string().as_bytes()).expect_err("rejected");
            assert!(error.message.contains(expected), "{body}: {}", error.message);
        }
        let premier = TitanText::for_model("amazon.titan-text-premier-v1:0");
        let body = json!({"inputText": "hi", "textGenerationConfig": {"maxTokenCount": 4000}});
        assert!(premier.parse(body.to_string().as_bytes()).is_err(), "Premier allows 3,072");
    }

    #[test]
    fn the_answer_reads_back_through_quarrys_adapter_whole_and_streamed() {
        let body = json!({
            "inputText": "The office opens at 9am. Parking is free.\n\nUser: When does the office open?\nBot:",
            "textGenerationConfig": {"maxTokenCount": 512}
        });
        let request = express().parse(body.to_string().as_bytes()).expect("valid");
        let answer = answer(&request, express().style());
        let parsed = TitanTextAdapter
            .parse_response(express().response_body(&answer).expect("body").to_string().as_bytes())
            .expect("parses");
        assert_eq!(parsed, answer.response);
        assert!(parsed.text().contains("The office opens at 9am."));
        let chunks = express().stream_chunks(&answer).expect("chunks");
        assert!(chunks.len() > 1);
        assert_eq!(
            chunks.last().map(|c| c.json["completionReason"].clone()),
            Some(json!("FINISH"))
        );
        let streamed = fold_chunks(&TitanTextAdapter, &chunks);
        assert_eq!(streamed, answer.response);
    }
}
