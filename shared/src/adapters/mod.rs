//! Native InvokeModel adapters: one module per provider family, each turning a [`ChatRequest`] into
//! the family's JSON body, and the family's response body and stream chunks back into quarry's types.
//!
//! Every family module also exposes its wire types (`Serialize + Deserialize` structs that mirror
//! the AWS "Inference request parameters and response fields" pages), so the local Bedrock endpoint
//! can read and write exactly the same shapes.
//!
//! Token counts: where a family's response body carries no token counts, [`NativeAdapter::parse_response`]
//! returns zero usage and callers take it from the `x-amzn-bedrock-input-token-count` /
//! `x-amzn-bedrock-output-token-count` headers. In streams, every family's last chunk carries
//! `amazon-bedrock-invocationMetrics`, which decoders turn into a [`StreamEvent::Metadata`].
//!
//! Guardrails never travel in a native body: InvokeModel takes them as the `guardrailIdentifier` /
//! `guardrailVersion` parameters (headers), so callers move [`ChatRequest::guardrail`] there and
//! clear it before asking an adapter for the body; adapters reject a request that still has one.
//!
//! Families ([`adapter_for`] picks the adapter of a family):
//! - [`anthropic`]: Anthropic Claude, Messages API.
//! - [`nova`]: Amazon Nova understanding models, `messages-v1`.
//! - [`titan_text`]: Amazon Titan Text, `inputText` prompt.
//! - [`meta`]: Meta Llama 3.x / 4, header-token prompt string.
//!
//! Shared helpers: [`stream_metrics`] (the invocation metrics of the last stream chunk) and
//! [`text_turns`] (a conversation as plain-text turns, for prompt-string families).

pub mod anthropic;
pub mod meta;
pub mod nova;
pub mod stream_metrics;
pub mod text_turns;
pub mod titan_text;

pub mod ai21;
pub mod cohere_command;
pub mod deepseek;
pub mod mistral;
pub mod openai;
pub mod wire;

use crate::chat::{ChatRequest, ChatResponse, StreamEvent};
use crate::model::Family;

/// What can go wrong turning quarry's types into a native body or a native body back.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AdapterError {
    /// The request uses something this family's native API cannot express.
    #[error(
        "{family} native API does not support {feature}; use the Converse API (\"api\": \"converse\")"
    )]
    Unsupported { family: Family, feature: String },
    /// The request cannot be expressed for this model (e.g. a parameter out of the family's range).
    #[error("invalid request for {family}: {reason}")]
    InvalidRequest { family: Family, reason: String },
    /// The model's response body or stream chunk is not the documented shape.
    #[error("unexpected {family} response: {reason}")]
    InvalidResponse { family: Family, reason: String },
    /// quarry has no native adapter for this model.
    #[error(
        "no native InvokeModel adapter for model `{model}`; call it through the Converse API (\"api\": \"converse\"), which supports every Bedrock chat model"
    )]
    NoAdapter { model: String },
}

/// A provider family's native InvokeModel format.
pub trait NativeAdapter: Send + Sync + std::fmt::Debug {
    /// The family this adapter speaks.
    fn family(&self) -> Family;

    /// The InvokeModel JSON body for `request` sent to `base_model_id` (the base model id, with any
    /// inference-profile prefix removed; some families pick a body variant by model).
    fn request_body(
        &self,
        base_model_id: &str,
        request: &ChatRequest,
    ) -> Result<serde_json::Value, AdapterError>;

    /// Parses an InvokeModel response body.
    fn parse_response(&self, body: &[u8]) -> Result<ChatResponse, AdapterError>;

    /// A decoder for one InvokeModelWithResponseStream answer (decoders keep per-stream state).
    fn stream_decoder(&self) -> Box<dyn StreamDecoder>;
}

/// Turns the `chunk.bytes` payloads of one InvokeModelWithResponseStream answer into stream events.
pub trait StreamDecoder: Send + std::fmt::Debug {
    /// Decodes one chunk's bytes (the JSON document the model emitted) into zero or more events.
    fn decode_chunk(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError>;
}

/// The native adapter of `family`, `None` for families without one (embeddings, or families whose
/// adapter is not written yet: call those through the Converse API).
pub fn adapter_for(family: Family) -> Option<&'static dyn NativeAdapter> {
    match family {
        Family::Anthropic => Some(&anthropic::AnthropicAdapter),
        Family::AmazonNova => Some(&nova::NovaAdapter),
        Family::AmazonTitanText => Some(&titan_text::TitanTextAdapter),
        Family::Meta => Some(&meta::MetaLlamaAdapter),
        Family::Mistral => Some(&mistral::MistralAdapter),
        Family::CohereCommand => Some(&cohere_command::CohereCommandAdapter),
        Family::Ai21 => Some(&ai21::Ai21Adapter),
        Family::DeepSeek => Some(&deepseek::DeepSeekAdapter),
        Family::OpenAi => Some(&openai::OpenAiAdapter),
        // Embedding families speak the bodies of `crate::embed`, not chat.
        Family::AmazonTitanEmbed | Family::CohereEmbed => None,
    }
}

/// Checks what every native body needs: at least one message, and no guardrail (which goes in the
/// InvokeModel parameters, never in the body).
pub(crate) fn check_body_request(
    family: Family,
    request: &ChatRequest,
) -> Result<(), AdapterError> {
    if request.guardrail.is_some() {
        return Err(AdapterError::Unsupported {
            family,
            feature: "a guardrail in the request body (InvokeModel takes it as the \
                      guardrailIdentifier/guardrailVersion parameters: send it there and clear \
                      `guardrail` before building the body)"
                .into(),
        });
    }
    if request.messages.is_empty() {
        return Err(AdapterError::InvalidRequest {
            family,
            reason: "the request has no messages; at least one user message is required".into(),
        });
    }
    Ok(())
}

/// An `f32` parameter as the `f64` JSON number it reads as (`0.7`, not `0.699999988079071`).
pub(crate) fn json_number(value: f32) -> f64 {
    value.to_string().parse().unwrap_or(f64::from(value))
}

/// Decodes a `.jsonl` fixture (one chunk per line) through `adapter`'s stream decoder.
#[cfg(test)]
pub(crate) fn decode_jsonl(adapter: &dyn NativeAdapter, jsonl: &str) -> Vec<StreamEvent> {
    let mut decoder = adapter.stream_decoder();
    jsonl
        .lines()
        .filter(|line| !line.trim().is_empty())
        .flat_map(|line| decoder.decode_chunk(line.as_bytes()).expect("documented chunk decodes"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every chat family: each must have a native adapter.
    const FAMILIES: [Family; 9] = [
        Family::Anthropic,
        Family::AmazonNova,
        Family::AmazonTitanText,
        Family::Meta,
        Family::Mistral,
        Family::CohereCommand,
        Family::Ai21,
        Family::DeepSeek,
        Family::OpenAi,
    ];

    #[test]
    fn every_chat_family_has_its_adapter() {
        let chat_families: Vec<Family> =
            Family::ALL.into_iter().filter(|f| !f.is_embedding()).collect();
        assert_eq!(chat_families, FAMILIES);
        for family in FAMILIES {
            let adapter = adapter_for(family).expect("adapter");
            assert_eq!(adapter.family(), family);
        }
        assert!(adapter_for(Family::AmazonTitanEmbed).is_none());
        assert!(adapter_for(Family::CohereEmbed).is_none());
    }

    #[test]
    fn float_parameters_keep_their_decimal_value() {
        assert_eq!(json_number(0.7), 0.7);
        assert_eq!(json_number(0.9), 0.9);
        assert_eq!(json_number(1.0), 1.0);
    }

    #[test]
    fn a_guardrail_left_in_the_request_is_rejected_not_dropped() {
        let mut request = ChatRequest::from_user_text("hi");
        request.guardrail = Some(crate::chat::GuardrailConfig {
            identifier: "gr-1".into(),
            version: "1".into(),
            trace: false,
        });
        for family in FAMILIES {
            let adapter = adapter_for(family).expect("adapter");
            let err = adapter.request_body("any.model-v1:0", &request).expect_err("guardrail");
            assert!(matches!(err, AdapterError::Unsupported { .. }), "{family}: {err:?}");
            assert!(err.to_string().contains("guardrailIdentifier"), "{family}: {err}");
        }
    }

    #[test]
    fn malformed_bodies_and_chunks_are_invalid_responses_with_a_reason() {
        let inputs: [&[u8]; 9] = [
            b"",
            b"not json",
            b"{",
            b"[]",
            b"null",
            b"{}",
            &[0xff, 0xfe, 0x00, 0x7b],
            br#"{"content": 5, "output": "x", "results": {}, "generation": 1}"#,
            br#"{"type": "no_such_event", "messageStart": 3}"#,
        ];
        for family in FAMILIES {
            let adapter = adapter_for(family).expect("adapter");
            for input in inputs {
                let shown = String::from_utf8_lossy(input);
                for err in [
                    adapter.parse_response(input).expect_err("malformed body"),
                    adapter
                        .stream_decoder()
                        .decode_chunk(input)
                        .map(|events| format!("{family} on {shown:?}: {events:?}"))
                        .expect_err("malformed chunk"),
                ] {
                    let AdapterError::InvalidResponse { family: reported, reason } = &err else {
                        panic!("{family} on {shown:?}: expected InvalidResponse, got {err:?}");
                    };
                    assert_eq!(*reported, family);
                    assert!(reason.len() > 20, "{family} on {shown:?}: vague reason {reason:?}");
                }
            }
        }
    }

    /// Redacted reasoning in the history: Claude and Nova get it back unchanged, DeepSeek-R1 and
    /// gpt-oss drop it with the rest of earlier reasoning, and every other family refuses it by name.
    #[test]
    fn redacted_reasoning_in_the_history_is_sent_back_dropped_or_refused_by_name() {
        // The `data` of the `redacted_thinking` example of Anthropic's extended-thinking guide.
        const DATA: &str = "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP";
        let request = ChatRequest {
            messages: vec![
                crate::chat::Message::user("2+2?"),
                crate::chat::Message {
                    role: crate::chat::Role::Assistant,
                    content: vec![
                        crate::chat::ContentBlock::RedactedReasoning { data: DATA.into() },
                        crate::chat::ContentBlock::text("4"),
                    ],
                },
                crate::chat::Message::user("Times 3?"),
            ],
            ..ChatRequest::default()
        };
        let models = [
            (Family::Anthropic, "anthropic.claude-3-7-sonnet-20250219-v1:0"),
            (Family::AmazonNova, "amazon.nova-pro-v1:0"),
            (Family::AmazonTitanText, "amazon.titan-text-express-v1"),
            (Family::Meta, "meta.llama3-1-70b-instruct-v1:0"),
            (Family::Mistral, "mistral.mistral-large-2407-v1:0"),
            (Family::CohereCommand, "cohere.command-r-plus-v1:0"),
            (Family::Ai21, "ai21.jamba-1-5-large-v1:0"),
            (Family::DeepSeek, "deepseek.r1-v1:0"),
            (Family::OpenAi, "openai.gpt-oss-20b-1:0"),
        ];
        assert_eq!(models.map(|(family, _)| family), FAMILIES);
        for (family, model) in models {
            let result = adapter_for(family).expect("adapter").request_body(model, &request);
            match family {
                Family::Anthropic | Family::AmazonNova => {
                    let body = result.expect("sent back").to_string();
                    assert!(body.contains(DATA), "{family}: {body}");
                }
                Family::DeepSeek | Family::OpenAi => {
                    let body = result.expect("dropped").to_string();
                    assert!(!body.contains(DATA), "{family}: {body}");
                    assert!(body.contains("Times 3?"), "{family}: {body}");
                }
                _ => {
                    let err = result.expect_err("refused");
                    assert!(
                        matches!(&err, AdapterError::Unsupported { family: f, feature }
                            if *f == family && feature.starts_with("redacted reasoning blocks")),
                        "{family}: {err:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn truncated_fixture_bodies_never_panic() {
        let bodies = [
            (
                Family::Anthropic,
                include_str!("../../tests/fixtures/adapters/anthropic_response_tool_use.json"),
            ),
            (
                Family::AmazonNova,
                include_str!("../../tests/fixtures/adapters/nova_response_tool_use.json"),
            ),
            (
                Family::AmazonTitanText,
                include_str!("../../tests/fixtures/adapters/titan_text_response.json"),
            ),
            (Family::Meta, include_str!("../../tests/fixtures/adapters/meta_llama_response.json")),
        ];
        for (family, body) in bodies {
            let adapter = adapter_for(family).expect("adapter");
            let bytes = body.trim().as_bytes();
            assert!(adapter.parse_response(bytes).is_ok(), "{family}: whole fixture parses");
            for end in 0..bytes.len() {
                // Any prefix is either a complete document or an error: never a panic.
                let _ = adapter.parse_response(&bytes[..end]);
                let _ = adapter.stream_decoder().decode_chunk(&bytes[..end]);
            }
            assert!(adapter.parse_response(&bytes[..bytes.len() - 1]).is_err(), "{family}");
        }
    }
}
