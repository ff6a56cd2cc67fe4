//! Mistral AI's two bodies, chosen by model as [`quarry::adapters::mistral::uses_text_completion`]
//! does: the `[INST]` text-completion body of Mistral 7B Instruct, Mixtral 8x7B, Mistral Large
//! (24.02) and Mistral Small, and the chat-completion body of Mistral Large 2 and later
//! ([`super::chat_completion`]).
//!
//! Text completion (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-mistral-text-completion.html):
//! `prompt` required; no keys beyond `prompt`, `max_tokens`, `stop`, `temperature`, `top_p`,
//! `top_k`; `max_tokens` in 1..=8,192 (Mixtral 8x7B: 4,096); at most 10 stop sequences;
//! `temperature` and `top_p` in 0..=1. The answer is `outputs[0].text` with `stop_reason` `stop` or
//! `length`; each stream chunk has the same shape. The prompt is read back by its `[INST]` tags:
//! text inside is the user's, text after `[/INST]` (up to `</s>`) the assistant's; a prompt without
//! tags is one user turn.

use quarry::adapters::mistral::{
    MistralOutput, MistralTextChunk, MistralTextRequest, MistralTextResponse, uses_text_completion,
};
use quarry::chat::{ChatRequest, Message, StopReason};
use serde_json::Value;

use super::chat::ChatAnswer;
use super::chat_completion::{ChatCompletion, ChunkShape};
use super::schema::BodyCheck;
use super::titan_text::text_chunk_pieces;
use super::{ChatFormat, StreamChunk, to_json};
use crate::aws_error::AwsError;

/// The body of `base_model_id`: text completion for the `[INST]` models, chat completion for the
/// others.
pub fn for_model(base_model_id: &str) -> Box<dyn ChatFormat> {
    if uses_text_completion(base_model_id) {
        let max_tokens =
            if base_model_id.starts_with("mistral.mixtral-8x7b") { 4_096 } else { 8_192 };
        Box::new(MistralText { max_tokens })
    } else {
        Box::new(ChatCompletion {
            model: base_model_id.to_owned(),
            shape: ChunkShape::Message,
            max_temperature: 1.0,
            max_output_tokens: None,
            typed_tool_calls: false,
            reasoning_tags: false,
            envelope: false,
            short_tool_ids: true,
        })
    }
}

/// The `[INST]` text-completion body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MistralText {
    /// The model's `max_tokens` limit.
    max_tokens: i64,
}

impl ChatFormat for MistralText {
    fn parse(&self, body: &[u8]) -> Result<ChatRequest, AwsError> {
        let mut check = BodyCheck::parse(body)?;
        check
            .required(&["prompt"])
            .allowed(&["prompt", "max_tokens", "stop", "temperature", "top_p", "top_k"])
            .string("prompt")
            .integer("max_tokens", Some(1), Some(self.max_tokens))
            .array("stop")
            .items("stop", None, Some(10))
            .number("temperature", Some(0.0), Some(1.0))
            .number("top_p", Some(0.0), Some(1.0))
            .integer("top_k", Some(0), None);
        let request: MistralTextRequest = check.into_wire()?;
        Ok(ChatRequest {
            messages: turns_of(&request.prompt),
            max_tokens: request.max_tokens,
            temperature: request.temperature.map(|t| t as f32),
            top_p: request.top_p.map(|p| p as f32),
            top_k: request.top_k,
            stop_sequences: request.stop,
            ..ChatRequest::default()
        })
    }

    fn response_body(&self, answer: &ChatAnswer) -> Result<Value, AwsError> {
        to_json(&MistralTextResponse {
            outputs: vec![MistralOutput {
                text: answer.text(),
                stop_reason: Some(stop_reason(answer.response.stop_reason).to_owned()),
            }],
            invocation_metrics: None,
        })
    }

    fn stream_chunks(&self, answer: &ChatAnswer) -> Result<Vec<StreamChunk>, AwsError> {
        let pieces = text_chunk_pieces(&answer.events);
        let last = pieces.len().saturating_sub(1);
        pieces
            .into_iter()
            .enumerate()
            .map(|(i, piece)| {
                let chunk = MistralTextChunk {
                    outputs: vec![MistralOutput {
                        text: piece.to_owned(),
                        stop_reason: (i == last)
                            .then(|| stop_reason(answer.response.stop_reason).to_owned()),
                    }],
                    invocation_metrics: None,
                };
                Ok(StreamChunk::new(to_json(&chunk)?, piece))
            })
            .collect()
    }
}

/// Mistral's `stop_reason` for quarry's.
fn stop_reason(reason: StopReason) -> &'static str {
    match reason {
        StopReason::MaxTokens => "length",
        _ => "stop",
    }
}

/// The turns of an `[INST]` prompt: `<s>[INST] user [/INST] assistant</s> [INST] user [/INST]`.
/// System text, which Mistral writes at the start of the first user turn, stays there.
pub fn turns_of(prompt: &str) -> Vec<Message> {
    let body = prompt.trim().trim_start_matches("<s>");
    if !body.contains("[INST]") {
        return vec![Message::user(body.trim())];
    }
    let mut messages = Vec::new();
    for segment in body.split("[INST]").skip(1) {
        let (user, assistant) = segment.split_once("[/INST]").unwrap_or((segment, ""));
        messages.push(Message::user(user.trim()));
        let assistant = assistant.split("</s>").next().unwrap_or_default().trim();
        if !assistant.is_empty() {
            messages.push(Message::assistant(assistant));
        }
    }
    messages
}

#[cfg(test)]
mod tests {
    use quarry::adapters::NativeAdapter;
    use quarry::adapters::mistral::MistralAdapter;
    use quarry::chat::SystemBlock;
    use serde_json::json;

    use super::*;
    use crate::bedrock::native::chat::answer;
    use crate::bedrock::native::fold_chunks;

    const SEVEN_B: &str = "mistral.mistral-7b-instruct-v0:2";
    const LARGE_2: &str = "mistral.mistral-large-2407-v1:0";

    /// The multi-turn prompt example of the Mistral AI text completion page.
    #[test]
    fn the_documented_multi_turn_prompt_reads_into_turns() {
        let prompt = "<s>[INST] What is your favourite condiment? [/INST] Well, I'm quite partial to a good squeeze of fresh lemon juice. It adds just the right amount of zesty flavour to whatever I'm cooking up in the kitchen!</s> [INST] Do you have mayonnaise recipes? [/INST]";
        let messages = turns_of(prompt);
        assert_eq!(messages.len(), 3);
        assert_eq!(messages[0], Message::user("What is your favourite condiment?"));
        assert!(messages[1].text().starts_with("Well, I'm quite partial"));
        assert_eq!(messages[2], Message::user("Do you have mayonnaise recipes?"));
        assert_eq!(turns_of("Tell me a joke."), [Message::user("Tell me a joke.")]);
    }

    #[test]
    fn the_prompt_quarry_writes_reads_back_and_is_answered() {
        let request = ChatRequest {
            system: vec![SystemBlock::Text {
                text: "The office opens at 9am. Parking is free.".into(),
            }],
            ..ChatRequest::from_user_text("When does the office open?")
        };
        let body = MistralAdapter.request_body(SEVEN_B, &request).expect("body");
        let format = for_model(SEVEN_B);
        let read = format.parse(body.to_string().as_bytes()).expect("valid");
        let answer = answer(&read, format.style());
        assert!(answer.text().contains("The office opens at 9am."), "{}", answer.text());
        let parsed = MistralAdapter
            .parse_response(format.response_body(&answer).expect("body").to_string().as_bytes())
            .expect("parses");
        assert_eq!(parsed.text(), answer.text());
        let chunks = format.stream_chunks(&answer).expect("chunks");
        let streamed = fold_chunks(&MistralAdapter, &chunks);
        assert_eq!(streamed.text(), answer.text());
    }

    #[test]
    fn bodies_bedrock_rejects_are_validation_exceptions() {
        let text = for_model(SEVEN_B);
        let mixtral = for_model("mistral.mixtral-8x7b-instruct-v0:1");
        let chat = for_model(LARGE_2);
        let cases: [(&dyn ChatFormat, Value, &str); 5] = [
            (text.as_ref(), json!({"max_tokens": 10}), "#: required key [prompt] not found"),
            (
                text.as_ref(),
                json!({"prompt": "hi", "messages": []}),
                "#: extraneous key [messages] is not permitted",
            ),
            (
                mixtral.as_ref(),
                json!({"prompt": "hi", "max_tokens": 5000}),
                "#/max_tokens: 5000 is not less or equal to 4096",
            ),
            (
                text.as_ref(),
                json!({"prompt": "hi", "stop": ["a","b","c","d","e","f","g","h","i","j","k"]}),
                "#/stop: expected maximum item count: 10, found: 11",
            ),
            (chat.as_ref(), json!({"prompt": "hi"}), "#: required key [messages] not found"),
        ];
        for (format, body, expected) in cases {
            let error = format.parse(body.to_string().as_bytes()).expect_err("rejected");
            assert!(error.message.contains(expected), "{body}: {}", error.message);
        }
    }

    #[test]
    fn mistral_large_2_calls_tools_with_nine_character_ids_whole_and_streamed() {
        let mut request = ChatRequest::from_user_text("What is the weather in Paris today?");
        request.tools = vec![quarry::chat::ToolSpec {
            name: "get_weather".into(),
            description: Some("Current weather for a city".into()),
            input_schema: json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        }];
        let body = MistralAdapter.request_body(LARGE_2, &request).expect("body");
        let format = for_model(LARGE_2);
        let answer =
            answer(&format.parse(body.to_string().as_bytes()).expect("valid"), format.style());
        let body = format.response_body(&answer).expect("body");
        assert_eq!(body["choices"][0]["stop_reason"], "tool_calls");
        let parsed = MistralAdapter.parse_response(body.to_string().as_bytes()).expect("parses");
        let Some(quarry::chat::ContentBlock::ToolUse { id, name, input }) = parsed.content.first()
        else {
            panic!("a tool use: {parsed:?}")
        };
        assert_eq!((id.len(), name.as_str()), (9, "get_weather"));
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()), "{id}");
        assert_eq!(input, &json!({"city": "Paris"}));
        let chunks = format.stream_chunks(&answer).expect("chunks");
        let streamed = fold_chunks(&MistralAdapter, &chunks);
        assert_eq!(streamed.content, parsed.content);
        assert_eq!(streamed.stop_reason, parsed.stop_reason);
    }
}
