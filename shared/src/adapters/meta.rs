//! Meta Llama 3.x / 4 on InvokeModel: a `prompt` string in Llama's chat format with `max_gen_len`,
//! `temperature` and `top_p`, its `generation` response and stream chunks.
//!
//! Shapes follow the AWS Bedrock user guide page "Meta Llama models" (`model-parameters-meta`).
//! The prompt uses Meta's documented header tokens: Llama 3.x
//! (`<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n…<|eot_id|>`) and, for
//! `meta.llama4-*`, Llama 4's (`<|header_start|>…<|header_end|>\n\n…<|eot|>`); it ends with an open
//! assistant header, or with the assistant's own unfinished turn, which Llama continues.
//! The native body has no images field, tools, stop sequences, `top_k` or cache points: those are
//! unsupported (the Converse API carries images for the vision models).

use serde::{Deserialize, Serialize};

use crate::adapters::stream_metrics::{InvocationMetrics, TextBlockStream};
use crate::adapters::text_turns::TextConversation;
use crate::adapters::wire::to_body;
use crate::adapters::{
    AdapterError, NativeAdapter, StreamDecoder, check_body_request, json_number,
};
use crate::chat::{ChatRequest, ChatResponse, ContentBlock, StopReason, StreamEvent, Usage};
use crate::model::Family;

/// The Meta Llama adapter.
#[derive(Debug, Clone, Copy, Default)]
pub struct MetaLlamaAdapter;

/// InvokeModel request body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlamaRequest {
    pub prompt: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_gen_len: Option<u32>,
}

/// InvokeModel response body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlamaResponse {
    pub generation: String,
    #[serde(default)]
    pub prompt_token_count: Option<u32>,
    #[serde(default)]
    pub generation_token_count: Option<u32>,
    #[serde(default)]
    pub stop_reason: Option<String>,
}

/// One InvokeModelWithResponseStream chunk (`stop_reason` is `null` until the last one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlamaStreamChunk {
    pub generation: String,
    #[serde(default)]
    pub prompt_token_count: Option<u32>,
    #[serde(default)]
    pub generation_token_count: Option<u32>,
    #[serde(default)]
    pub stop_reason: Option<String>,
    #[serde(
        rename = "amazon-bedrock-invocationMetrics",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub invocation_metrics: Option<InvocationMetrics>,
}

/// Maps Llama's `stop_reason` to quarry's.
pub fn stop_reason_of(reason: &str) -> StopReason {
    match reason {
        "stop" => StopReason::EndTurn,
        "length" => StopReason::MaxTokens,
        _ => StopReason::Unknown,
    }
}

/// The special tokens of one Llama chat format.
struct PromptTokens {
    header_start: &'static str,
    header_end: &'static str,
    end_of_turn: &'static str,
}

const LLAMA3_TOKENS: PromptTokens = PromptTokens {
    header_start: "<|start_header_id|>",
    header_end: "<|end_header_id|>",
    end_of_turn: "<|eot_id|>",
};

const LLAMA4_TOKENS: PromptTokens = PromptTokens {
    header_start: "<|header_start|>",
    header_end: "<|header_end|>",
    end_of_turn: "<|eot|>",
};

/// The conversation as the Llama prompt of `base_model_id` (Llama 4 tokens for `meta.llama4-*`).
pub fn prompt(base_model_id: &str, conversation: &TextConversation) -> String {
    let tokens =
        if base_model_id.starts_with("meta.llama4") { &LLAMA4_TOKENS } else { &LLAMA3_TOKENS };
    let header = |role: &str| format!("{}{role}{}\n\n", tokens.header_start, tokens.header_end);
    let mut prompt = String::from("<|begin_of_text|>");
    if let Some(system) = &conversation.system {
        prompt.push_str(&header("system"));
        prompt.push_str(system);
        prompt.push_str(tokens.end_of_turn);
    }
    let last = conversation.turns.len().saturating_sub(1);
    for (i, turn) in conversation.turns.iter().enumerate() {
        prompt.push_str(&header(turn.role.as_str()));
        prompt.push_str(&turn.text);
        // An assistant's last turn stays open: Llama continues it.
        if !(i == last && conversation.ends_with_assistant()) {
            prompt.push_str(tokens.end_of_turn);
        }
    }
    if !conversation.ends_with_assistant() {
        prompt.push_str(&header("assistant"));
    }
    prompt
}

fn invalid_response(reason: impl Into<String>) -> AdapterError {
    AdapterError::InvalidResponse { family: Family::Meta, reason: reason.into() }
}

impl LlamaRequest {
    /// The Llama body for `request` sent to `base_model_id`.
    pub fn from_chat(base_model_id: &str, request: &ChatRequest) -> Result<Self, AdapterError> {
        check_body_request(Family::Meta, request)?;
        let unsupported = |feature: &str| AdapterError::Unsupported {
            family: Family::Meta,
            feature: feature.into(),
        };
        if request.top_k.is_some() {
            return Err(unsupported("top_k"));
        }
        if !request.stop_sequences.is_empty() {
            return Err(unsupported("stop sequences"));
        }
        let conversation = TextConversation::from_request(Family::Meta, request)?;
        Ok(LlamaRequest {
            prompt: prompt(base_model_id, &conversation),
            temperature: request.temperature.map(json_number),
            top_p: request.top_p.map(json_number),
            max_gen_len: request.max_tokens,
        })
    }
}

impl LlamaResponse {
    /// The response as quarry's answer.
    pub fn into_chat(self) -> ChatResponse {
        let content = if self.generation.is_empty() {
            Vec::new()
        } else {
            vec![ContentBlock::Text { text: self.generation }]
        };
        ChatResponse {
            content,
            stop_reason: self.stop_reason.as_deref().map_or(StopReason::Unknown, stop_reason_of),
            usage: Usage::new(
                self.prompt_token_count.unwrap_or(0),
                self.generation_token_count.unwrap_or(0),
            ),
            latency_ms: None,
            guardrail: None,
        }
    }
}

impl NativeAdapter for MetaLlamaAdapter {
    fn family(&self) -> Family {
        Family::Meta
    }

    fn request_body(
        &self,
        base_model_id: &str,
        request: &ChatRequest,
    ) -> Result<serde_json::Value, AdapterError> {
        to_body(Family::Meta, &LlamaRequest::from_chat(base_model_id, request)?)
    }

    fn parse_response(&self, body: &[u8]) -> Result<ChatResponse, AdapterError> {
        let response: LlamaResponse = serde_json::from_slice(body)
            .map_err(|e| invalid_response(format!("the body is not a Llama response: {e}")))?;
        Ok(response.into_chat())
    }

    fn stream_decoder(&self) -> Box<dyn StreamDecoder> {
        Box::new(LlamaStreamDecoder::default())
    }
}

/// Decodes Llama's `generation` chunks into one text block (index 0).
#[derive(Debug, Default)]
pub struct LlamaStreamDecoder {
    text: TextBlockStream,
    prompt_tokens: Option<u32>,
    generation_tokens: Option<u32>,
}

impl StreamDecoder for LlamaStreamDecoder {
    fn decode_chunk(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError> {
        let chunk: LlamaStreamChunk = serde_json::from_slice(chunk)
            .map_err(|e| invalid_response(format!("the stream chunk is not a Llama chunk: {e}")))?;
        self.prompt_tokens = chunk.prompt_token_count.or(self.prompt_tokens);
        self.generation_tokens = chunk.generation_token_count.or(self.generation_tokens);
        let usage = (self.prompt_tokens.is_some() || self.generation_tokens.is_some()).then(|| {
            Usage::new(self.prompt_tokens.unwrap_or(0), self.generation_tokens.unwrap_or(0))
        });
        Ok(self.text.chunk(
            chunk.generation,
            chunk.stop_reason.as_deref().map(stop_reason_of),
            chunk.invocation_metrics.as_ref(),
            usage,
        ))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::adapters::decode_jsonl;
    use crate::chat::{ImageFormat, Message, SystemBlock, collect_events};

    const LLAMA3: &str = "meta.llama3-1-70b-instruct-v1:0";

    fn body(model: &str, request: &ChatRequest) -> serde_json::Value {
        MetaLlamaAdapter.request_body(model, request).expect("request body")
    }

    /// "Meta Llama models": `prompt` in the Llama 3 instruct format, `temperature`, `top_p`,
    /// `max_gen_len`.
    #[test]
    fn request_matches_the_documented_llama3_prompt() {
        let request = ChatRequest {
            system: vec![SystemBlock::Text { text: "You are a helpful assistant.".into() }],
            max_tokens: Some(512),
            temperature: Some(0.5),
            top_p: Some(0.9),
            ..ChatRequest::from_user_text("What is the capital of France?")
        };
        assert_eq!(
            body(LLAMA3, &request),
            json!({
                "prompt": "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhat is the capital of France?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
                "temperature": 0.5,
                "top_p": 0.9,
                "max_gen_len": 512
            })
        );
    }

    #[test]
    fn llama4_models_get_llama4_header_tokens() {
        let request = ChatRequest {
            messages: vec![Message::user("Hi"), Message::assistant("Hello!"), Message::user("Bye")],
            ..ChatRequest::default()
        };
        assert_eq!(
            body("meta.llama4-scout-17b-instruct-v1:0", &request)["prompt"],
            "<|begin_of_text|><|header_start|>user<|header_end|>\n\nHi<|eot|><|header_start|>assistant<|header_end|>\n\nHello!<|eot|><|header_start|>user<|header_end|>\n\nBye<|eot|><|header_start|>assistant<|header_end|>\n\n"
        );
    }

    #[test]
    fn an_assistant_last_turn_is_left_open_for_llama_to_continue() {
        let request = ChatRequest {
            messages: vec![Message::user("Count to three."), Message::assistant("One,")],
            ..ChatRequest::default()
        };
        assert_eq!(
            body(LLAMA3, &request)["prompt"],
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nCount to three.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nOne,"
        );
    }

    #[test]
    fn what_the_llama_body_cannot_express_is_unsupported() {
        let stops =
            ChatRequest { stop_sequences: vec!["\n".into()], ..ChatRequest::from_user_text("Hi") };
        let top_k = ChatRequest { top_k: Some(40), ..ChatRequest::from_user_text("Hi") };
        let mut image = ChatRequest::from_user_text("Describe");
        image.messages[0]
            .content
            .push(ContentBlock::Image { format: ImageFormat::Png, data: vec![1].into() });
        for (request, feature) in [(stops, "stop sequences"), (top_k, "top_k"), (image, "images")] {
            let err = MetaLlamaAdapter
                .request_body("meta.llama3-2-11b-instruct-v1:0", &request)
                .expect_err(feature);
            assert_eq!(
                err,
                AdapterError::Unsupported { family: Family::Meta, feature: feature.into() }
            );
        }
    }

    fn documented_answer() -> ChatResponse {
        ChatResponse {
            content: vec![ContentBlock::text("The capital of France is Paris.")],
            stop_reason: StopReason::EndTurn,
            usage: Usage::new(31, 8),
            latency_ms: None,
            guardrail: None,
        }
    }

    #[test]
    fn documented_response_parses() {
        let body = include_str!("../../tests/fixtures/adapters/meta_llama_response.json");
        let response =
            MetaLlamaAdapter.parse_response(body.as_bytes()).expect("documented response");
        assert_eq!(response, documented_answer());
        let truncated = json!({"generation": "The", "prompt_token_count": 3, "generation_token_count": 1, "stop_reason": "length"});
        let response =
            MetaLlamaAdapter.parse_response(truncated.to_string().as_bytes()).expect("length");
        assert_eq!(response.stop_reason, StopReason::MaxTokens);
    }

    #[test]
    fn documented_stream_folds_to_the_same_answer() {
        let stream = include_str!("../../tests/fixtures/adapters/meta_llama_stream.jsonl");
        let events = decode_jsonl(&MetaLlamaAdapter, stream);
        assert_eq!(
            collect_events(&events),
            ChatResponse { latency_ms: Some(694), ..documented_answer() }
        );

        // Without Bedrock's metrics the stream still reports Llama's own token counts.
        let without_metrics: String = stream
            .lines()
            .map(|line| {
                let mut chunk: LlamaStreamChunk = serde_json::from_str(line).expect("chunk");
                chunk.invocation_metrics = None;
                serde_json::to_string(&chunk).expect("chunk json")
            })
            .collect::<Vec<_>>()
            .join("\n");
        let folded = collect_events(&decode_jsonl(&MetaLlamaAdapter, &without_metrics));
        assert_eq!(folded, documented_answer());
    }
}
