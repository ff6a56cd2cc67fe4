//! The DeepSeek-R1 body (`prompt`, `temperature`, `top_p`, `max_tokens`, `stop`), its `choices`
//! response and stream chunks, in the wire types of [`quarry::adapters::deepseek`]
//! (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-deepseek.html).
//!
//! Checks: `prompt` required; no other keys than the five; `temperature` and `top_p` in 0..=1;
//! `max_tokens` in 1..=32,768; at most 10 stop sequences. The prompt is read back by DeepSeek's chat
//! template (`<｜begin▁of▁sentence｜>system<｜User｜>…<｜Assistant｜>…<｜end▁of▁sentence｜>…
//! <｜Assistant｜><think>\n`); a prompt without it is one user turn. As the template leaves the
//! model inside its reasoning, the answer is the reasoning, `</think>`, then the answer text.

use quarry::adapters::deepseek::{
    DeepSeekChoice, DeepSeekChunk, DeepSeekRequest, DeepSeekResponse,
};
use quarry::chat::{ChatRequest, Delta, Message, StopReason, StreamEvent, SystemBlock};
use serde_json::Value;

use super::chat::{AnswerStyle, ChatAnswer};
use super::schema::BodyCheck;
use super::{ChatFormat, StreamChunk, to_json};
use crate::aws_error::AwsError;

const BEGIN_OF_SENTENCE: &str = "<｜begin▁of▁sentence｜>";
const END_OF_SENTENCE: &str = "<｜end▁of▁sentence｜>";
const USER: &str = "<｜User｜>";
const ASSISTANT: &str = "<｜Assistant｜>";
const THINK: &str = "<think>";
/// What closes the reasoning in the model's output.
const END_THINK: &str = "\n</think>\n\n";

/// The DeepSeek-R1 body.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeepSeek;

impl ChatFormat for DeepSeek {
    fn style(&self) -> AnswerStyle {
        AnswerStyle { reasoning: true, tool_id_prefix: "call_" }
    }

    fn parse(&self, body: &[u8]) -> Result<ChatRequest, AwsError> {
        let mut check = BodyCheck::parse(body)?;
        check
            .required(&["prompt"])
            .allowed(&["prompt", "temperature", "top_p", "max_tokens", "stop"])
            .string("prompt")
            .number("temperature", Some(0.0), Some(1.0))
            .number("top_p", Some(0.0), Some(1.0))
            .integer("max_tokens", Some(1), Some(32_768))
            .array("stop")
            .items("stop", None, Some(10));
        let request: DeepSeekRequest = check.into_wire()?;
        let (system, messages) = turns_of(&request.prompt);
        Ok(ChatRequest {
            system: system.map(|text| vec![SystemBlock::Text { text }]).unwrap_or_default(),
            messages,
            max_tokens: request.max_tokens,
            temperature: request.temperature.map(|t| t as f32),
            top_p: request.top_p.map(|p| p as f32),
            stop_sequences: request.stop,
            ..ChatRequest::default()
        })
    }

    fn response_body(&self, answer: &ChatAnswer) -> Result<Value, AwsError> {
        let text =
            format!("{}{END_THINK}{}", answer.reasoning().unwrap_or_default(), answer.text());
        to_json(&DeepSeekResponse {
            choices: vec![DeepSeekChoice {
                text,
                stop_reason: Some(stop_reason(answer.response.stop_reason).to_owned()),
            }],
        })
    }

    fn stream_chunks(&self, answer: &ChatAnswer) -> Result<Vec<StreamChunk>, AwsError> {
        // The reasoning pieces, the closing tag, then the answer pieces.
        let mut pieces: Vec<(String, bool)> = Vec::new();
        let mut reasoning_open = false;
        for event in &answer.events {
            match event {
                StreamEvent::ContentBlockDelta { delta: Delta::Reasoning { text }, .. } => {
                    reasoning_open = true;
                    pieces.push((text.clone(), true));
                }
                StreamEvent::ContentBlockDelta { delta: Delta::Text { text }, .. } => {
                    pieces.push((text.clone(), true));
                }
                StreamEvent::ContentBlockStop { .. } if reasoning_open => {
                    reasoning_open = false;
                    pieces.push((END_THINK.to_owned(), false));
                }
                _ => {}
            }
        }
        let last = pieces.len().saturating_sub(1);
        pieces
            .into_iter()
            .enumerate()
            .map(|(i, (piece, counted))| {
                let chunk = DeepSeekChunk {
                    choices: vec![DeepSeekChoice {
                        text: piece.clone(),
                        stop_reason: (i == last)
                            .then(|| stop_reason(answer.response.stop_reason).to_owned()),
                    }],
                    ..DeepSeekChunk::default()
                };
                let json = to_json(&chunk)?;
                Ok(if counted {
                    StreamChunk::new(json, &piece)
                } else {
                    StreamChunk::framing(json)
                })
            })
            .collect()
    }
}

/// DeepSeek's `stop_reason` for quarry's.
fn stop_reason(reason: StopReason) -> &'static str {
    match reason {
        StopReason::MaxTokens => "length",
        _ => "stop",
    }
}

/// A DeepSeek prompt's system text and turns.
pub fn turns_of(prompt: &str) -> (Option<String>, Vec<Message>) {
    let body = prompt.trim_start().trim_start_matches(BEGIN_OF_SENTENCE);
    // The open assistant turn the model answers in.
    let body = body.trim_end();
    let body = body.strip_suffix(THINK).map_or(body, str::trim_end);
    let body = body.strip_suffix(ASSISTANT).unwrap_or(body);
    let Some((system, turns)) = body.split_once(USER) else {
        return (None, vec![Message::user(body.trim())]);
    };
    let mut messages = Vec::new();
    for turn in turns.split(USER) {
        let (user, assistant) = turn.split_once(ASSISTANT).unwrap_or((turn, ""));
        messages.push(Message::user(user.trim()));
        let assistant = assistant.split(END_OF_SENTENCE).next().unwrap_or_default().trim();
        if !assistant.is_empty() {
            messages.push(Message::assistant(assistant));
        }
    }
    let system = system.trim();
    ((!system.is_empty()).then(|| system.to_owned()), messages)
}

#[cfg(test)]
mod tests {
    use quarry::adapters::NativeAdapter;
    use quarry::adapters::deepseek::DeepSeekAdapter;
    use quarry::chat::ContentBlock;
    use serde_json::json;

    use super::*;
    use crate::bedrock::native::chat::answer;
    use crate::bedrock::native::fold_chunks;

    fn conversation() -> ChatRequest {
        ChatRequest {
            system: vec![SystemBlock::Text {
                text: "The office opens at 9am. Parking is free.".into(),
            }],
            messages: vec![
                Message::user("Hi"),
                Message::assistant("Hello!"),
                Message::user("When does the office open?"),
            ],
            ..ChatRequest::default()
        }
    }

    #[test]
    fn the_prompt_quarry_writes_reads_back_into_the_same_turns() {
        let body = DeepSeekAdapter.request_body("deepseek.r1-v1:0", &conversation()).expect("body");
        let prompt = body["prompt"].as_str().expect("prompt");
        let (system, messages) = turns_of(prompt);
        assert_eq!(system.as_deref(), Some("The office opens at 9am. Parking is free."));
        assert_eq!(messages, conversation().messages);
    }

    /// The prompt format of the DeepSeek page's code example.
    #[test]
    fn the_documented_prompt_format_and_plain_prompts() {
        let documented = "<｜begin▁of▁sentence｜><｜User｜>Describe the purpose of a 'hello world' program in one line.<｜Assistant｜><think>\n";
        assert_eq!(
            turns_of(documented),
            (
                None,
                vec![Message::user("Describe the purpose of a 'hello world' program in one line.")]
            )
        );
        assert_eq!(turns_of("Tell me a joke."), (None, vec![Message::user("Tell me a joke.")]));
    }

    #[test]
    fn bodies_bedrock_rejects_are_validation_exceptions() {
        for (body, expected) in [
            (json!({"max_tokens": 10}), "#: required key [prompt] not found"),
            (
                json!({"prompt": "hi", "max_tokens": 40000}),
                "#/max_tokens: 40000 is not less or equal to 32768",
            ),
            (json!({"prompt": "hi", "top_k": 5}), "#: extraneous key [top_k] is not permitted"),
        ] {
            let error = DeepSeek.parse(body.to_string().as_bytes()).expect_err("rejected");
            assert!(error.message.contains(expected), "{body}: {}", error.message);
        }
    }

    #[test]
    fn the_reasoning_comes_before_think_and_the_answer_reads_back_whole_and_streamed() {
        let body = DeepSeekAdapter.request_body("deepseek.r1-v1:0", &conversation()).expect("body");
        let answer =
            answer(&DeepSeek.parse(body.to_string().as_bytes()).expect("valid"), DeepSeek.style());
        let body = DeepSeek.response_body(&answer).expect("body");
        assert!(body["choices"][0]["text"].as_str().is_some_and(|t| t.contains("</think>")));
        let parsed = DeepSeekAdapter.parse_response(body.to_string().as_bytes()).expect("parses");
        assert!(
            matches!(&parsed.content[0], ContentBlock::Reasoning { text, .. } if text.starts_with("The question is:"))
        );
        assert_eq!(parsed.text(), answer.text());
        assert!(parsed.text().contains("The office opens at 9am."));
        let chunks = DeepSeek.stream_chunks(&answer).expect("chunks");
        let streamed = fold_chunks(&DeepSeekAdapter, &chunks);
        assert_eq!(streamed.content, parsed.content);
    }
}
