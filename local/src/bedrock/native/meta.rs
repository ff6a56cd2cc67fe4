//! The Meta Llama 3.x / 4 body (`prompt`, `temperature`, `top_p`, `max_gen_len`), its `generation`
//! response and stream chunks, in the wire types of [`quarry::adapters::meta`]
//! (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-meta.html).
//!
//! Checks: `prompt` required; no keys beyond `prompt`, `temperature`, `top_p`, `max_gen_len` and
//! `images`; `temperature` and `top_p` in 0..=1; `max_gen_len` in 1..=2048 (Bedrock's own message
//! for an over-long one is `#/max_gen_len: 8192 is not less or equal to 2048`). The prompt is read
//! back into turns by Meta's header tokens — Llama 3 (`<|start_header_id|>role<|end_header_id|>`
//! … `<|eot_id|>`) or Llama 4 (`<|header_start|>role<|header_end|>` … `<|eot|>`); a prompt without
//! them is one user turn.

use quarry::adapters::meta::{LlamaRequest, LlamaResponse, LlamaStreamChunk};
use quarry::chat::{ChatRequest, Message, Role, StopReason, SystemBlock};
use serde_json::Value;

use super::chat::ChatAnswer;
use super::schema::BodyCheck;
use super::titan_text::text_chunk_pieces;
use super::{ChatFormat, StreamChunk, to_json};
use crate::aws_error::AwsError;

/// The most tokens `max_gen_len` may ask for.
const MAX_GEN_LEN: i64 = 2048;

/// The special tokens of one Llama chat format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tokens {
    header_start: &'static str,
    header_end: &'static str,
    end_of_turn: &'static str,
}

const LLAMA3: Tokens = Tokens {
    header_start: "<|start_header_id|>",
    header_end: "<|end_header_id|>",
    end_of_turn: "<|eot_id|>",
};

const LLAMA4: Tokens = Tokens {
    header_start: "<|header_start|>",
    header_end: "<|header_end|>",
    end_of_turn: "<|eot|>",
};

/// The Llama body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Llama;

impl Llama {
    /// The body of `base_model_id` (one shape for Llama 3.x and 4; prompts are read in either
    /// token set).
    pub fn for_model(_base_model_id: &str) -> Self {
        Llama
    }
}

impl ChatFormat for Llama {
    fn parse(&self, body: &[u8]) -> Result<ChatRequest, AwsError> {
        let mut check = BodyCheck::parse(body)?;
        check
            .required(&["prompt"])
            .allowed(&["prompt", "temperature", "top_p", "max_gen_len", "images"])
            .string("prompt")
            .number("temperature", Some(0.0), Some(1.0))
            .number("top_p", Some(0.0), Some(1.0))
            .integer("max_gen_len", Some(1), Some(MAX_GEN_LEN))
            .array("images");
        let request: LlamaRequest = check.into_wire()?;
        let (system, messages) = turns_of(&request.prompt);
        Ok(ChatRequest {
            system: system.map(|text| vec![SystemBlock::Text { text }]).unwrap_or_default(),
            messages,
            max_tokens: request.max_gen_len,
            temperature: request.temperature.map(|t| t as f32),
            top_p: request.top_p.map(|p| p as f32),
            ..ChatRequest::default()
        })
    }

    fn response_body(&self, answer: &ChatAnswer) -> Result<Value, AwsError> {
        let usage = answer.usage();
        to_json(&LlamaResponse {
            generation: answer.text(),
            prompt_token_count: Some(usage.input_tokens),
            generation_token_count: Some(usage.output_tokens),
            stop_reason: Some(stop_reason(answer.response.stop_reason).to_owned()),
        })
    }

    fn stream_chunks(&self, answer: &ChatAnswer) -> Result<Vec<StreamChunk>, AwsError> {
        let usage = answer.usage();
        let pieces = text_chunk_pieces(&answer.events);
        let last = pieces.len().saturating_sub(1);
        let mut generated = 0;
        pieces
            .into_iter()
            .enumerate()
            .map(|(i, piece)| {
                let chunk = StreamChunk::new(Value::Null, piece);
                generated += chunk.output_tokens;
                let json = to_json(&LlamaStreamChunk {
                    generation: piece.to_owned(),
                    prompt_token_count: (i == 0).then_some(usage.input_tokens),
                    generation_token_count: Some(if i == last {
                        usage.output_tokens
                    } else {
                        generated
                    }),
                    stop_reason: (i == last)
                        .then(|| stop_reason(answer.response.stop_reason).to_owned()),
                    invocation_metrics: None,
                })?;
                Ok(StreamChunk { json, ..chunk })
            })
            .collect()
    }
}

/// Llama's `stop_reason` for quarry's.
fn stop_reason(reason: StopReason) -> &'static str {
    match reason {
        StopReason::MaxTokens => "length",
        _ => "stop",
    }
}

/// A Llama prompt's system text and turns. The last, empty assistant header is where Llama
/// answers; roles other than system and assistant (`user`, `ipython`) are read as user turns.
pub fn turns_of(prompt: &str) -> (Option<String>, Vec<Message>) {
    let tokens = [LLAMA3, LLAMA4].into_iter().find(|t| prompt.contains(t.header_start));
    let Some(tokens) = tokens else {
        let text = prompt.trim_start_matches("<|begin_of_text|>").trim();
        return (None, vec![Message::user(text)]);
    };
    let mut system: Vec<String> = Vec::new();
    let mut messages: Vec<Message> = Vec::new();
    for segment in prompt.split(tokens.header_start).skip(1) {
        let (role, rest) = segment.split_once(tokens.header_end).unwrap_or(("user", segment));
        let text = rest.split(tokens.end_of_turn).next().unwrap_or_default().trim();
        match role.trim() {
            "system" => system.push(text.to_owned()),
            "assistant" => messages.push(Message::assistant(text)),
            _ => messages.push(Message::user(text)),
        }
    }
    if messages.last().is_some_and(|m| m.role == Role::Assistant && m.text().is_empty()) {
        messages.pop();
    }
    let system = system.join("\n");
    ((!system.is_empty()).then_some(system), messages)
}

#[cfg(test)]
mod tests {
    use quarry::adapters::NativeAdapter;
    use quarry::adapters::meta::{MetaLlamaAdapter, prompt};
    use quarry::adapters::text_turns::TextConversation;
    use quarry::model::Family;
    use serde_json::json;

    use super::*;
    use crate::bedrock::native::chat::answer;
    use crate::bedrock::native::fold_chunks;

    fn conversation() -> ChatRequest {
        ChatRequest {
            system: vec![SystemBlock::Text { text: "The office opens at 9am.".into() }],
            messages: vec![
                Message::user("Hi"),
                Message::assistant("Hello!"),
                Message::user("When does the office open?"),
            ],
            ..ChatRequest::default()
        }
    }

    #[test]
    fn llama_3_and_4_prompts_quarry_writes_read_back_into_the_same_turns() {
        let request = conversation();
        let text = TextConversation::from_request(Family::Meta, &request).expect("text");
        for model in ["meta.llama3-1-8b-instruct-v1:0", "meta.llama4-scout-17b-instruct-v1:0"] {
            let (system, messages) = turns_of(&prompt(model, &text));
            assert_eq!(system.as_deref(), Some("The office opens at 9am."), "{model}");
            assert_eq!(messages, request.messages, "{model}");
        }
    }

    /// The prompt template of the Meta Llama page, and a plain prompt.
    #[test]
    fn the_documented_template_and_plain_prompts() {
        let documented = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\nWhat is the capital of France?<|eot_id|><|start_header_id|>assistant<|end_header_id|>";
        assert_eq!(
            turns_of(documented),
            (None, vec![Message::user("What is the capital of France?")])
        );
        assert_eq!(turns_of("Tell me a joke."), (None, vec![Message::user("Tell me a joke.")]));
    }

    #[test]
    fn bodies_bedrock_rejects_are_validation_exceptions() {
        let cases = [
            (json!({"max_gen_len": 10}), "#: required key [prompt] not found"),
            (
                json!({"prompt": "hi", "max_gen_len": 8192}),
                "#/max_gen_len: 8192 is not less or equal to 2048",
            ),
            (
                json!({"prompt": "hi", "max_tokens": 10}),
                "#: extraneous key [max_tokens] is not permitted",
            ),
            (json!({"prompt": 7}), "#/prompt: expected type: String, found: Number"),
        ];
        for (body, expected) in cases {
            let error = Llama.parse(body.to_string().as_bytes()).expect_err("rejected");
            assert!(error.message.contains(expected), "{body}: {}", error.message);
        }
    }

    #[test]
    fn the_answer_reads_back_through_quarrys_adapter_whole_and_streamed() {
        let text = TextConversation::from_request(Family::Meta, &conversation()).expect("text");
        let body =
            json!({"prompt": prompt("meta.llama3-8b-instruct-v1:0", &text), "max_gen_len": 512});
        let request = Llama.parse(body.to_string().as_bytes()).expect("valid");
        let answer = answer(&request, Llama.style());
        assert!(answer.text().contains("The office opens at 9am."), "{}", answer.text());
        let body = Llama.response_body(&answer).expect("body");
        let parsed = MetaLlamaAdapter.parse_response(body.to_string().as_bytes()).expect("parses");
        assert_eq!(parsed, answer.response);
        let chunks = Llama.stream_chunks(&answer).expect("chunks");
        let streamed = fold_chunks(&MetaLlamaAdapter, &chunks);
        assert_eq!(streamed, answer.response);
    }
}
