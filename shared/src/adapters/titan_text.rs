//! Amazon Titan Text on InvokeModel: an `inputText` prompt with `textGenerationConfig`, its
//! `results` response and its `outputText` stream chunks.
//!
//! Shapes follow the AWS Bedrock user guide page "Amazon Titan Text models"
//! (`model-parameters-titan-text`). The conversation is written the way that page recommends for
//! conversational answers: `User: …` and `Bot: …` lines ending with `Bot:`; the system text, when
//! there is one, comes first as an instruction paragraph. Titan takes no images, documents, tools,
//! cache points or `top_k`: those are unsupported. Answer text is kept verbatim (Titan usually
//! starts it with a newline or a space).

use serde::{Deserialize, Serialize};

use crate::adapters::stream_metrics::{InvocationMetrics, TextBlockStream};
use crate::adapters::text_turns::TextConversation;
use crate::adapters::wire::to_body;
use crate::adapters::{
    AdapterError, NativeAdapter, StreamDecoder, check_body_request, json_number,
};
use crate::chat::{ChatRequest, ChatResponse, ContentBlock, Role, StopReason, StreamEvent, Usage};
use crate::model::Family;

/// The Amazon Titan Text adapter.
#[derive(Debug, Clone, Copy, Default)]
pub struct TitanTextAdapter;

/// InvokeModel request body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TitanTextRequest {
    pub input_text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_generation_config: Option<TitanTextGenerationConfig>,
}

/// Inference parameters; every field is optional.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TitanTextGenerationConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_token_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop_sequences: Vec<String>,
}

/// InvokeModel response body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TitanTextResponse {
    pub input_text_token_count: u32,
    pub results: Vec<TitanTextResult>,
}

/// The (single) generated result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TitanTextResult {
    pub token_count: u32,
    pub output_text: String,
    #[serde(default)]
    pub completion_reason: Option<String>,
}

/// One InvokeModelWithResponseStream chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TitanTextStreamChunk {
    pub output_text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_output_text_token_count: Option<u32>,
    /// `null` until the last chunk.
    #[serde(default)]
    pub completion_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_text_token_count: Option<u32>,
    #[serde(
        rename = "amazon-bedrock-invocationMetrics",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub invocation_metrics: Option<InvocationMetrics>,
}

/// Maps Titan's `completionReason` to quarry's (the page lists `FINISHED`; the service sends
/// `FINISH`).
pub fn stop_reason_of(reason: &str) -> StopReason {
    match reason {
        "FINISH" | "FINISHED" => StopReason::EndTurn,
        "LENGTH" => StopReason::MaxTokens,
        "STOP_CRITERIA_MET" => StopReason::StopSequence,
        "CONTENT_FILTERED" => StopReason::ContentFiltered,
        _ => StopReason::Unknown,
    }
}

fn invalid_response(reason: impl Into<String>) -> AdapterError {
    AdapterError::InvalidResponse { family: Family::AmazonTitanText, reason: reason.into() }
}

/// The conversation as Titan's `inputText`: `User:`/`Bot:` lines, ending with `Bot:` for Titan to
/// answer (or with the assistant's own unfinished turn, which Titan continues).
pub fn input_text(conversation: &TextConversation) -> String {
    let mut prompt = String::new();
    if let Some(system) = &conversation.system {
        prompt.push_str(system);
        prompt.push_str("\n\n");
    }
    let lines: Vec<String> = conversation
        .turns
        .iter()
        .map(|turn| match turn.role {
            Role::User => format!("User: {}", turn.text),
            Role::Assistant => format!("Bot: {}", turn.text),
        })
        .collect();
    prompt.push_str(&lines.join("\n"));
    if !conversation.ends_with_assistant() {
        prompt.push_str("\nBot:");
    }
    prompt
}

impl TitanTextRequest {
    /// The Titan Text body for `request`.
    pub fn from_chat(request: &ChatRequest) -> Result<Self, AdapterError> {
        check_body_request(Family::AmazonTitanText, request)?;
        if request.top_k.is_some() {
            return Err(AdapterError::Unsupported {
                family: Family::AmazonTitanText,
                feature: "top_k".into(),
            });
        }
        let conversation = TextConversation::from_request(Family::AmazonTitanText, request)?;
        let config = TitanTextGenerationConfig {
            temperature: request.temperature.map(json_number),
            top_p: request.top_p.map(json_number),
            max_token_count: request.max_tokens,
            stop_sequences: request.stop_sequences.clone(),
        };
        Ok(TitanTextRequest {
            input_text: input_text(&conversation),
            text_generation_config: (config != TitanTextGenerationConfig::default())
                .then_some(config),
        })
    }
}

impl TitanTextResponse {
    /// The response as quarry's answer (its first and only result).
    pub fn into_chat(self) -> Result<ChatResponse, AdapterError> {
        let Some(result) = self.results.into_iter().next() else {
            return Err(invalid_response("`results` is empty; expected one result"));
        };
        let content = if result.output_text.is_empty() {
            Vec::new()
        } else {
            vec![ContentBlock::Text { text: result.output_text }]
        };
        Ok(ChatResponse {
            content,
            stop_reason: result
                .completion_reason
                .as_deref()
                .map_or(StopReason::Unknown, stop_reason_of),
            usage: Usage::new(self.input_text_token_count, result.token_count),
            latency_ms: None,
            guardrail: None,
        })
    }
}

impl NativeAdapter for TitanTextAdapter {
    fn family(&self) -> Family {
        Family::AmazonTitanText
    }

    fn request_body(
        &self,
        _base_model_id: &str,
        request: &ChatRequest,
    ) -> Result<serde_json::Value, AdapterError> {
        to_body(Family::AmazonTitanText, &TitanTextRequest::from_chat(request)?)
    }

    fn parse_response(&self, body: &[u8]) -> Result<ChatResponse, AdapterError> {
        let response: TitanTextResponse = serde_json::from_slice(body)
            .map_err(|e| invalid_response(format!("the body is not a Titan Text response: {e}")))?;
        response.into_chat()
    }

    fn stream_decoder(&self) -> Box<dyn StreamDecoder> {
        Box::new(TitanTextStreamDecoder::default())
    }
}

/// Decodes Titan's `outputText` chunks into one text block (index 0).
#[derive(Debug, Default)]
pub struct TitanTextStreamDecoder {
    text: TextBlockStream,
    input_tokens: Option<u32>,
    output_tokens: Option<u32>,
}

impl StreamDecoder for TitanTextStreamDecoder {
    fn decode_chunk(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError> {
        let chunk: TitanTextStreamChunk = serde_json::from_slice(chunk).map_err(|e| {
            invalid_response(format!("the stream chunk is not a Titan Text chunk: {e}"))
        })?;
        self.input_tokens = chunk.input_text_token_count.or(self.input_tokens);
        self.output_tokens = chunk.total_output_text_token_count.or(self.output_tokens);
        let usage = self.input_tokens.zip(self.output_tokens).map(|(i, o)| Usage::new(i, o));
        Ok(self.text.chunk(
            chunk.output_text,
            chunk.completion_reason.as_deref().map(stop_reason_of),
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

    const MODEL: &str = "amazon.titan-text-express-v1";

    fn body(request: &ChatRequest) -> serde_json::Value {
        TitanTextAdapter.request_body(MODEL, request).expect("request body")
    }

    /// "Amazon Titan Text models": `inputText` in the conversational `User: …\nBot:` format and
    /// `textGenerationConfig` (`temperature`, `topP`, `maxTokenCount`, `stopSequences`).
    #[test]
    fn request_matches_the_documented_body() {
        let request = ChatRequest {
            max_tokens: Some(512),
            temperature: Some(0.7),
            top_p: Some(0.9),
            stop_sequences: vec!["User:".into()],
            ..ChatRequest::from_user_text("What is the capital of France?")
        };
        assert_eq!(
            body(&request),
            json!({
                "inputText": "User: What is the capital of France?\nBot:",
                "textGenerationConfig": {
                    "temperature": 0.7,
                    "topP": 0.9,
                    "maxTokenCount": 512,
                    "stopSequences": ["User:"]
                }
            })
        );
    }

    #[test]
    fn conversation_keeps_turns_and_system_and_omits_an_empty_config() {
        let request = ChatRequest {
            system: vec![SystemBlock::Text { text: "Answer in one word.".into() }],
            messages: vec![
                Message::user("Capital of France?"),
                Message::assistant("Paris."),
                Message::user("And of Italy?"),
            ],
            ..ChatRequest::default()
        };
        assert_eq!(
            body(&request),
            json!({
                "inputText": "Answer in one word.\n\nUser: Capital of France?\nBot: Paris.\nUser: And of Italy?\nBot:"
            })
        );
        // An assistant's last turn is continued, not answered.
        let prefill = ChatRequest {
            messages: vec![Message::user("Count to three."), Message::assistant("One,")],
            ..ChatRequest::default()
        };
        assert_eq!(body(&prefill)["inputText"], "User: Count to three.\nBot: One,");
    }

    #[test]
    fn what_titan_cannot_express_is_unsupported() {
        let top_k = ChatRequest { top_k: Some(5), ..ChatRequest::from_user_text("Hi") };
        let mut image = ChatRequest::from_user_text("Look");
        image.messages[0]
            .content
            .push(ContentBlock::Image { format: ImageFormat::Jpeg, data: vec![1].into() });
        for (request, feature) in [(top_k, "top_k"), (image, "images")] {
            let err = TitanTextAdapter.request_body(MODEL, &request).expect_err(feature);
            assert_eq!(
                err,
                AdapterError::Unsupported {
                    family: Family::AmazonTitanText,
                    feature: feature.into()
                }
            );
        }
    }

    fn documented_answer() -> ChatResponse {
        ChatResponse {
            content: vec![ContentBlock::text("\nThe capital of France is Paris.\n")],
            stop_reason: StopReason::EndTurn,
            usage: Usage::new(9, 12),
            latency_ms: None,
            guardrail: None,
        }
    }

    #[test]
    fn documented_response_parses() {
        let body = include_str!("../../tests/fixtures/adapters/titan_text_response.json");
        let response =
            TitanTextAdapter.parse_response(body.as_bytes()).expect("documented response");
        assert_eq!(response, documented_answer());
    }

    #[test]
    fn documented_stream_folds_to_the_same_answer() {
        let events = decode_jsonl(
            &TitanTextAdapter,
            include_str!("../../tests/fixtures/adapters/titan_text_stream.jsonl"),
        );
        let starts = events.iter().filter(|e| matches!(e, StreamEvent::MessageStart { .. }));
        assert_eq!(starts.count(), 1);
        assert_eq!(
            collect_events(&events),
            ChatResponse { latency_ms: Some(873), ..documented_answer() }
        );
    }

    #[test]
    fn completion_reasons_map_to_stop_reasons() {
        for (titan, quarry) in [
            ("FINISHED", StopReason::EndTurn),
            ("LENGTH", StopReason::MaxTokens),
            ("STOP_CRITERIA_MET", StopReason::StopSequence),
            ("CONTENT_FILTERED", StopReason::ContentFiltered),
            ("RAG_QUERY_WHEN_RAG_DISABLED", StopReason::Unknown),
        ] {
            let body = json!({"inputTextTokenCount": 3, "results": [
                {"tokenCount": 1, "outputText": "x", "completionReason": titan}
            ]});
            let response =
                TitanTextAdapter.parse_response(body.to_string().as_bytes()).expect("body");
            assert_eq!(response.stop_reason, quarry, "{titan}");
        }
    }

    #[test]
    fn a_response_without_results_is_invalid() {
        let err = TitanTextAdapter
            .parse_response(br#"{"inputTextTokenCount": 3, "results": []}"#)
            .expect_err("no results");
        assert!(err.to_string().contains("results"), "{err}");
    }
}
