//! AI21 Labs Jamba on Bedrock: OpenAI-style `messages` with `max_tokens`, `temperature`, `top_p`,
//! `stop` and `n`.
//!
//! Source: AWS Bedrock user guide, "AI21 Labs Jamba models" (model-parameters-jamba): `messages`
//! with roles `system`, `user`, `assistant`; inference parameters `temperature`, `top_p`,
//! `max_tokens`, `stop`, `n`, `frequency_penalty`, `presence_penalty`; the response is
//! `choices[].message` with `finish_reason` (`stop`, `length`) and `usage` (`prompt_tokens`,
//! `completion_tokens`, `total_tokens`). The page documents no tools, so tool use is refused.

use super::openai::{
    ChatCompletionChunk, ChatCompletionDecoder, ChatCompletionRequest, ChatCompletionResponse,
    ChatDialect, ChatRole, chat_messages, parse_chat_completion,
};
use super::wire::{refuse_top_k_and_tools, to_body};
use super::{AdapterError, NativeAdapter, StreamDecoder};
use super::{check_body_request, json_number};
use crate::chat::{ChatRequest, ChatResponse};
use crate::model::Family;

const FAMILY: Family = Family::Ai21;

/// The Jamba request body.
pub type JambaRequest = ChatCompletionRequest;
/// The Jamba response body.
pub type JambaResponse = ChatCompletionResponse;
/// A Jamba stream chunk (`choices[0].delta`).
pub type JambaChunk = ChatCompletionChunk;

const JAMBA: ChatDialect = ChatDialect {
    family: FAMILY,
    system_role: ChatRole::System,
    typed_tool_calls: true,
    tools: false,
    drop_history_reasoning: false,
    reasoning_tags: false,
};

/// AI21 Labs Jamba 1.5 Large / Mini (`ai21.jamba-1-5-large-v1:0`, `ai21.jamba-1-5-mini-v1:0`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Ai21Adapter;

impl NativeAdapter for Ai21Adapter {
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
        let body = ChatCompletionRequest {
            messages: chat_messages(&JAMBA, request)?,
            max_tokens: request.max_tokens,
            temperature: request.temperature.map(json_number),
            top_p: request.top_p.map(json_number),
            stop: request.stop_sequences.clone(),
            n: Some(1),
            ..ChatCompletionRequest::default()
        };
        to_body(FAMILY, &body)
    }

    fn parse_response(&self, body: &[u8]) -> Result<ChatResponse, AdapterError> {
        parse_chat_completion(&JAMBA, body)
    }

    fn stream_decoder(&self) -> Box<dyn StreamDecoder> {
        Box::new(ChatCompletionDecoder::new(JAMBA))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::chat::{
        ContentBlock, Message, Role, StopReason, StreamEvent, SystemBlock, ToolSpec, Usage,
        collect_events,
    };

    const JAMBA_LARGE: &str = "ai21.jamba-1-5-large-v1:0";

    #[test]
    fn request_matches_the_documented_body() {
        // model-parameters-jamba: the system prompt example of the page, one user question, and
        // the documented parameters max_tokens, temperature, top_p, stop, n.
        let request = ChatRequest {
            system: vec![SystemBlock::Text {
                text: "You are a helpful chatbot with a background in earth sciences and a charming French accent.".into(),
            }],
            messages: vec![Message::user("What are the main causes of earthquakes?")],
            max_tokens: Some(512),
            temperature: Some(0.6),
            top_p: Some(1.0),
            stop_sequences: vec!["###".into()],
            ..ChatRequest::default()
        };
        let body = Ai21Adapter.request_body(JAMBA_LARGE, &request).expect("body");
        assert_eq!(
            body,
            json!({
                "messages": [
                    {"role": "system", "content": "You are a helpful chatbot with a background in earth sciences and a charming French accent."},
                    {"role": "user", "content": "What are the main causes of earthquakes?"}
                ],
                "max_tokens": 512,
                "temperature": 0.6,
                "top_p": 1.0,
                "stop": ["###"],
                "n": 1
            })
        );
    }

    #[test]
    fn multi_turn_history_keeps_roles_in_order() {
        let request = ChatRequest {
            messages: vec![
                Message::user("Name a volcano."),
                Message::assistant("Mount Etna."),
                Message::user("Where is it?"),
            ],
            ..ChatRequest::default()
        };
        let body = Ai21Adapter.request_body(JAMBA_LARGE, &request).expect("body");
        let roles: Vec<&str> = body["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .filter_map(|m| m["role"].as_str())
            .collect();
        assert_eq!(roles, ["user", "assistant", "user"]);
    }

    #[test]
    fn undocumented_features_are_refused_by_name() {
        let mut request = ChatRequest::from_user_text("Hi");
        request.tools = vec![ToolSpec {
            name: "t".into(),
            description: None,
            input_schema: json!({"type": "object"}),
        }];
        assert_eq!(
            Ai21Adapter.request_body(JAMBA_LARGE, &request),
            Err(AdapterError::Unsupported { family: Family::Ai21, feature: "tools".into() })
        );
        let mut request = ChatRequest::from_user_text("Hi");
        request.top_k = Some(1);
        assert_eq!(
            Ai21Adapter.request_body(JAMBA_LARGE, &request),
            Err(AdapterError::Unsupported { family: Family::Ai21, feature: "top_k".into() })
        );
        let tool_turn = ChatRequest {
            messages: vec![Message {
                role: Role::Assistant,
                content: vec![ContentBlock::ToolUse {
                    id: "1".into(),
                    name: "t".into(),
                    input: json!({}),
                }],
            }],
            ..ChatRequest::default()
        };
        assert_eq!(
            Ai21Adapter.request_body(JAMBA_LARGE, &tool_turn),
            Err(AdapterError::Unsupported {
                family: Family::Ai21,
                feature: "tool use blocks".into()
            })
        );
    }

    /// A response with the fields the Jamba page documents (`choices[].message`, `finish_reason`,
    /// `usage`).
    fn documented_response() -> serde_json::Value {
        json!({
            "id": "chatcmpl-8a3c6e1f0b2d4f7a",
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Earthquakes are mainly caused by the sudden movement of tectonic plates along faults, mon ami.",
                    "tool_calls": null
                },
                "finish_reason": "stop"
            }],
            "usage": {"prompt_tokens": 45, "completion_tokens": 22, "total_tokens": 67},
            "meta": {"requestDurationMillis": 412},
            "model": "jamba-1.5-large"
        })
    }

    #[test]
    fn documented_response_parses_with_usage() {
        let response = Ai21Adapter
            .parse_response(documented_response().to_string().as_bytes())
            .expect("parses");
        assert_eq!(
            response.text(),
            "Earthquakes are mainly caused by the sudden movement of tectonic plates along faults, mon ami."
        );
        assert_eq!(response.stop_reason, StopReason::EndTurn);
        assert_eq!(response.usage, Usage::new(45, 22));
        let mut cut = documented_response();
        cut["choices"][0]["finish_reason"] = json!("length");
        let cut = Ai21Adapter.parse_response(cut.to_string().as_bytes()).expect("parses");
        assert_eq!(cut.stop_reason, StopReason::MaxTokens);
    }

    #[test]
    fn stream_chunks_fold_to_the_documented_answer() {
        let chunk = |delta: serde_json::Value, finish: serde_json::Value| json!({"id": "chatcmpl-8a3c6e1f0b2d4f7a", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
        let mut last = chunk(json!({}), json!("stop"));
        last["usage"] = json!({"prompt_tokens": 45, "completion_tokens": 22, "total_tokens": 67});
        last["amazon-bedrock-invocationMetrics"] = json!({"inputTokenCount": 45, "outputTokenCount": 22, "invocationLatency": 530, "firstByteLatency": 141});
        let chunks = [
            chunk(json!({"role": "assistant", "content": ""}), json!(null)),
            chunk(
                json!({"content": "Earthquakes are mainly caused by the sudden movement"}),
                json!(null),
            ),
            chunk(json!({"content": " of tectonic plates along faults, mon ami."}), json!(null)),
            last,
        ];
        let mut decoder = Ai21Adapter.stream_decoder();
        let events: Vec<StreamEvent> = chunks
            .iter()
            .flat_map(|c| decoder.decode_chunk(c.to_string().as_bytes()).expect("decodes"))
            .collect();
        let folded = collect_events(&events);
        let whole = Ai21Adapter
            .parse_response(documented_response().to_string().as_bytes())
            .expect("parses");
        assert_eq!(folded.content, whole.content);
        assert_eq!(folded.stop_reason, whole.stop_reason);
        assert_eq!(folded.usage, whole.usage);
        assert_eq!(folded.latency_ms, Some(530));
    }

    #[test]
    fn malformed_bodies_are_invalid_responses() {
        for body in [
            &b"garbage"[..],
            b"17",
            b"{\"choices\": [{}]}",
            b"{\"choices\": [{\"message\": {\"role\": \"robot\"}}]}",
        ] {
            let error = Ai21Adapter.parse_response(body).expect_err("malformed");
            assert!(
                matches!(error, AdapterError::InvalidResponse { family: Family::Ai21, .. }),
                "{error}"
            );
        }
        let mut decoder = Ai21Adapter.stream_decoder();
        for chunk in
            [&b"garbage"[..], b"17", b"{\"choices\": [{\"delta\": {\"role\": \"robot\"}}]}"]
        {
            assert!(decoder.decode_chunk(chunk).is_err());
        }
    }
}
