//! DeepSeek-R1 on Bedrock: a `prompt` string in DeepSeek's chat template; the answer's reasoning
//! (the text before `</think>`) becomes a reasoning block ahead of the answer text.
//!
//! Source: AWS Bedrock user guide, "DeepSeek models" (model-parameters-deepseek): request
//! `{"prompt", "temperature", "top_p", "max_tokens", "stop"}`, response
//! `{"choices": [{"text", "stop_reason"}]}` with `stop_reason` `stop` or `length`. The page's code
//! example formats the prompt as `<｜begin▁of▁sentence｜><｜User｜>{prompt}<｜Assistant｜><think>\n`,
//! so the model's output starts inside its reasoning.

use serde::{Deserialize, Serialize};

use super::wire::{
    EventBuilder, InvocationMetrics, ReasoningSplitter, block_feature, invalid_request,
    invalid_response, parse_body, pieces_to_blocks, refuse_top_k_and_tools, system_text, to_body,
    unsupported,
};
use super::{AdapterError, NativeAdapter, StreamDecoder};
use super::{check_body_request, json_number};
use crate::chat::{ChatRequest, ChatResponse, ContentBlock, Role, StopReason, StreamEvent};
use crate::model::Family;

const FAMILY: Family = Family::DeepSeek;

const BEGIN_OF_SENTENCE: &str = "<｜begin▁of▁sentence｜>";
const END_OF_SENTENCE: &str = "<｜end▁of▁sentence｜>";
const USER: &str = "<｜User｜>";
const ASSISTANT: &str = "<｜Assistant｜>";
/// Where the prompt leaves the model: at the start of its reasoning.
const THINK: &str = "<think>\n";
const END_THINK: &str = "</think>";

/// The DeepSeek-R1 request body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeepSeekRequest {
    /// The conversation in DeepSeek's chat template, ending with `<｜Assistant｜><think>\n`.
    pub prompt: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// At most 10 stop sequences.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
}

/// The DeepSeek-R1 response body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeepSeekResponse {
    pub choices: Vec<DeepSeekChoice>,
}

/// One completion: the generated text (reasoning, `</think>`, answer) and why it stopped.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DeepSeekChoice {
    #[serde(default)]
    pub text: String,
    /// `stop` or `length`; `null` in stream chunks before the last.
    #[serde(default)]
    pub stop_reason: Option<String>,
}

/// A DeepSeek-R1 stream chunk: the documented `choices` shape, or the Llama-style
/// `generation` / `stop_reason` fields some streams carry instead; the last chunk also carries
/// Bedrock's invocation metrics.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DeepSeekChunk {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<DeepSeekChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
    #[serde(
        rename = "amazon-bedrock-invocationMetrics",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub invocation_metrics: Option<InvocationMetrics>,
}

/// DeepSeek-R1 (`deepseek.r1-v1:0`).
///
/// Earlier reasoning blocks in the history (readable or redacted) are left out of the prompt, as
/// DeepSeek's chat template does: only final answers are carried from turn to turn.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeepSeekAdapter;

impl NativeAdapter for DeepSeekAdapter {
    fn family(&self) -> Family {
        FAMILY
    }

    fn request_body(
        &self,
        _base_model_id: &str,
        request: &ChatRequest,
    ) -> Result<serde_json::Value, AdapterError> {
        check_body_request(FAMILY, request)?;
        refuse_top_k_and_tools(FAMILY, request)?;
        let body = DeepSeekRequest {
            prompt: prompt(request)?,
            temperature: request.temperature.map(json_number),
            top_p: request.top_p.map(json_number),
            max_tokens: request.max_tokens,
            stop: request.stop_sequences.clone(),
        };
        to_body(FAMILY, &body)
    }

    fn parse_response(&self, body: &[u8]) -> Result<ChatResponse, AdapterError> {
        let response: DeepSeekResponse = parse_body(FAMILY, "the DeepSeek response body", body)?;
        let Some(choice) = response.choices.first() else {
            return Err(invalid_response(FAMILY, "the response has an empty `choices` list"));
        };
        Ok(ChatResponse {
            content: pieces_to_blocks(splitter().split_all(&choice.text)),
            stop_reason: choice.stop_reason.as_deref().map_or(StopReason::Unknown, stop_reason),
            usage: Default::default(),
            latency_ms: None,
            guardrail: None,
        })
    }

    fn stream_decoder(&self) -> Box<dyn StreamDecoder> {
        Box::new(DeepSeekDecoder { events: EventBuilder::default(), splitter: splitter() })
    }
}

/// The model's output begins inside its reasoning, which `</think>` closes.
fn splitter() -> ReasoningSplitter {
    ReasoningSplitter::starting_in_reasoning(END_THINK)
}

/// Maps DeepSeek's `stop_reason`.
fn stop_reason(reason: &str) -> StopReason {
    match reason {
        "stop" => StopReason::EndTurn,
        "length" => StopReason::MaxTokens,
        _ => StopReason::Unknown,
    }
}

/// The conversation in DeepSeek's chat template: system text right after the begin token, each
/// user turn after `<｜User｜>`, each assistant answer after `<｜Assistant｜>` closed by the end
/// token, and an open `<｜Assistant｜><think>\n` for the model to continue.
fn prompt(request: &ChatRequest) -> Result<String, AdapterError> {
    match request.messages.last() {
        None => return Err(invalid_request(FAMILY, "the request has no messages")),
        Some(last) if last.role != Role::User => {
            return Err(invalid_request(FAMILY, "DeepSeek-R1 prompts must end with a user turn"));
        }
        Some(_) => {}
    }
    let mut prompt = String::from(BEGIN_OF_SENTENCE);
    if let Some(system) = system_text(FAMILY, request)? {
        prompt.push_str(&system);
    }
    for message in &request.messages {
        let mut texts = Vec::new();
        for block in &message.content {
            match (message.role, block) {
                (_, ContentBlock::Text { text }) => texts.push(text.as_str()),
                (
                    Role::Assistant,
                    ContentBlock::Reasoning { .. } | ContentBlock::RedactedReasoning { .. },
                ) => {}
                (_, other) => return Err(unsupported(FAMILY, block_feature(other))),
            }
        }
        let text = texts.join("\n");
        match message.role {
            Role::User => {
                prompt.push_str(USER);
                prompt.push_str(&text);
            }
            Role::Assistant => {
                prompt.push_str(ASSISTANT);
                prompt.push_str(&text);
                prompt.push_str(END_OF_SENTENCE);
            }
        }
    }
    prompt.push_str(ASSISTANT);
    prompt.push_str(THINK);
    Ok(prompt)
}

#[derive(Debug)]
struct DeepSeekDecoder {
    events: EventBuilder,
    splitter: ReasoningSplitter,
}

impl StreamDecoder for DeepSeekDecoder {
    fn decode_chunk(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError> {
        let chunk: DeepSeekChunk = parse_body(FAMILY, "the DeepSeek stream chunk", chunk)?;
        if chunk == DeepSeekChunk::default() {
            return Err(invalid_response(
                FAMILY,
                "the stream chunk has none of `choices`, `generation`, `stop_reason` or \
                 `amazon-bedrock-invocationMetrics`",
            ));
        }
        self.events.start();
        let (text, reason) = match chunk.choices.first() {
            Some(choice) => (Some(choice.text.as_str()), choice.stop_reason.as_deref()),
            None => (chunk.generation.as_deref(), chunk.stop_reason.as_deref()),
        };
        if let Some(text) = text {
            self.events.pieces(self.splitter.push(text));
        }
        if let Some(reason) = reason {
            self.events.pieces(self.splitter.finish());
            self.events.stop(stop_reason(reason));
        }
        if let Some(metrics) = &chunk.invocation_metrics {
            self.events.pieces(self.splitter.finish());
            self.events.metrics(metrics);
        }
        Ok(self.events.take())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::chat::{Message, SystemBlock, Usage, collect_events};

    const R1: &str = "deepseek.r1-v1:0";

    #[test]
    fn request_uses_the_documented_template_and_fields() {
        // model-parameters-deepseek: the page's example formats one user prompt this way and
        // documents temperature, top_p, max_tokens and stop.
        let request = ChatRequest {
            messages: vec![Message::user(
                "Describe the purpose of a 'hello world' program in one line.",
            )],
            max_tokens: Some(512),
            temperature: Some(0.5),
            top_p: Some(0.9),
            stop_sequences: vec!["<｜end▁of▁sentence｜>".into()],
            ..ChatRequest::default()
        };
        let body = DeepSeekAdapter.request_body(R1, &request).expect("body");
        assert_eq!(
            body,
            json!({
                "prompt": "<｜begin▁of▁sentence｜><｜User｜>Describe the purpose of a 'hello world' program in one line.<｜Assistant｜><think>\n",
                "temperature": 0.5,
                "top_p": 0.9,
                "max_tokens": 512,
                "stop": ["<｜end▁of▁sentence｜>"]
            })
        );
    }

    #[test]
    fn system_and_history_follow_the_chat_template_without_old_reasoning() {
        let request = ChatRequest {
            system: vec![SystemBlock::Text { text: "Be concise.".into() }],
            messages: vec![
                Message::user("2+2?"),
                Message {
                    role: Role::Assistant,
                    content: vec![
                        ContentBlock::Reasoning { text: "Add them.".into(), signature: None },
                        ContentBlock::RedactedReasoning {
                            data:
                                "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"
                                    .into(),
                        },
                        ContentBlock::text("4"),
                    ],
                },
                Message::user("Times 3?"),
            ],
            ..ChatRequest::default()
        };
        let body = DeepSeekAdapter.request_body(R1, &request).expect("body");
        assert_eq!(
            body["prompt"],
            "<｜begin▁of▁sentence｜>Be concise.<｜User｜>2+2?<｜Assistant｜>4<｜end▁of▁sentence｜><｜User｜>Times 3?<｜Assistant｜><think>\n"
        );
    }

    #[test]
    fn what_r1_cannot_express_is_refused() {
        let mut request = ChatRequest::from_user_text("Hi");
        request.top_k = Some(10);
        assert_eq!(
            DeepSeekAdapter.request_body(R1, &request),
            Err(AdapterError::Unsupported { family: Family::DeepSeek, feature: "top_k".into() })
        );
        let mut request = ChatRequest::from_user_text("Hi");
        request.tools = vec![crate::chat::ToolSpec {
            name: "t".into(),
            description: None,
            input_schema: json!({"type": "object"}),
        }];
        assert_eq!(
            DeepSeekAdapter.request_body(R1, &request),
            Err(AdapterError::Unsupported { family: Family::DeepSeek, feature: "tools".into() })
        );
        let document = ChatRequest {
            messages: vec![Message {
                role: Role::User,
                content: vec![ContentBlock::Document {
                    format: crate::chat::DocumentFormat::Pdf,
                    name: "report".into(),
                    data: vec![1].into(),
                }],
            }],
            ..ChatRequest::default()
        };
        assert_eq!(
            DeepSeekAdapter.request_body(R1, &document),
            Err(AdapterError::Unsupported {
                family: Family::DeepSeek,
                feature: "document blocks".into()
            })
        );
        let prefill = ChatRequest {
            messages: vec![Message::user("Hi"), Message::assistant("Hel")],
            ..ChatRequest::default()
        };
        assert!(matches!(
            DeepSeekAdapter.request_body(R1, &prefill),
            Err(AdapterError::InvalidRequest { reason, .. }) if reason.contains("end with a user turn")
        ));
    }

    /// The documented response shape: one choice whose text holds the reasoning, `</think>`, and
    /// the answer.
    fn documented_response() -> serde_json::Value {
        json!({"choices": [{
            "text": "Okay, the user wants a one-line purpose of a hello world program. It shows the basic syntax and that the toolchain works.\n</think>\n\nA \"Hello, World!\" program demonstrates a language's basic syntax and verifies that the development environment works.",
            "stop_reason": "stop"
        }]})
    }

    #[test]
    fn documented_response_yields_reasoning_then_answer() {
        let response = DeepSeekAdapter
            .parse_response(documented_response().to_string().as_bytes())
            .expect("parses");
        assert_eq!(
            response.content,
            vec![
                ContentBlock::Reasoning {
                    text: "Okay, the user wants a one-line purpose of a hello world program. It shows the basic syntax and that the toolchain works.".into(),
                    signature: None
                },
                ContentBlock::text("A \"Hello, World!\" program demonstrates a language's basic syntax and verifies that the development environment works."),
            ]
        );
        assert_eq!(response.stop_reason, StopReason::EndTurn);
        assert_eq!(response.usage, Usage::default());

        let cut =
            json!({"choices": [{"text": "Let me think about this care", "stop_reason": "length"}]});
        let cut = DeepSeekAdapter.parse_response(cut.to_string().as_bytes()).expect("parses");
        assert_eq!(
            cut.content,
            vec![ContentBlock::Reasoning {
                text: "Let me think about this care".into(),
                signature: None
            }]
        );
        assert_eq!(cut.stop_reason, StopReason::MaxTokens);
    }

    #[test]
    fn stream_chunks_fold_to_the_same_answer() {
        let text = documented_response()["choices"][0]["text"].as_str().expect("text").to_string();
        let pieces: Vec<String> =
            text.split_inclusive([' ', '\n', '/']).map(str::to_string).collect();
        let mut chunks: Vec<serde_json::Value> = pieces
            .iter()
            .map(|piece| json!({"choices": [{"text": piece, "stop_reason": null}]}))
            .collect();
        chunks.push(json!({"choices": [{"text": "", "stop_reason": "stop"}],
            "amazon-bedrock-invocationMetrics": {"inputTokenCount": 21, "outputTokenCount": 64, "invocationLatency": 2310, "firstByteLatency": 402}}));
        let mut decoder = DeepSeekAdapter.stream_decoder();
        let events: Vec<StreamEvent> = chunks
            .iter()
            .flat_map(|c| decoder.decode_chunk(c.to_string().as_bytes()).expect("decodes"))
            .collect();
        let folded = collect_events(&events);
        let whole = DeepSeekAdapter
            .parse_response(documented_response().to_string().as_bytes())
            .expect("parses");
        assert_eq!(folded.content, whole.content);
        assert_eq!(folded.stop_reason, StopReason::EndTurn);
        assert_eq!(folded.usage, Usage::new(21, 64));
        assert_eq!(folded.latency_ms, Some(2310));

        // Llama-style chunks (`generation`) fold the same way.
        let mut decoder = DeepSeekAdapter.stream_decoder();
        let mut events = Vec::new();
        for (i, piece) in pieces.iter().enumerate() {
            let reason = if i + 1 == pieces.len() { json!("stop") } else { json!(null) };
            let chunk = json!({"generation": piece, "stop_reason": reason});
            events.extend(decoder.decode_chunk(chunk.to_string().as_bytes()).expect("decodes"));
        }
        assert_eq!(collect_events(&events).content, whole.content);
    }

    #[test]
    fn malformed_bodies_are_invalid_responses() {
        for body in [
            &b""[..],
            b"{\"choices\": []}",
            b"{\"choices\": [{\"text\": []}]}",
            b"{\"text\": \"x\"}",
            b"\xc3\x28",
        ] {
            let error = DeepSeekAdapter.parse_response(body).expect_err("malformed");
            assert!(
                matches!(error, AdapterError::InvalidResponse { family: Family::DeepSeek, .. }),
                "{error}"
            );
        }
        let mut decoder = DeepSeekAdapter.stream_decoder();
        assert!(decoder.decode_chunk(b"{\"choices\": [{\"text\": 1}]}").is_err());
        assert!(decoder.decode_chunk(b"[1, 2]").is_err());
    }
}
