//! InvokeModel bodies per provider family: each [`NativeFormat`] reads a model's native request
//! body, checks it as Bedrock does, runs a local model and answers in that family's response body
//! and stream chunks.
//!
//! Chat families ([`ChatFormat`]) read their body into quarry's unified [`ChatRequest`] and write
//! the extractive model's answer ([`chat::ChatAnswer`]) back in their own shapes, using the public
//! wire types of `quarry::adapters::<family>`, so quarry's own adapters read what the endpoint
//! writes: [`anthropic`], [`nova`], [`titan_text`], [`meta`], [`mistral`] (`[INST]` text and
//! chat-completion bodies), [`cohere_command`], [`ai21`], [`deepseek`], [`openai`] (the
//! chat-completion shape in [`chat_completion`]). Embedding bodies: [`titan_embed`],
//! [`cohere_embed`]. [`schema`] words validation errors like Bedrock's schema validator.

pub mod ai21;
pub mod anthropic;
pub mod chat;
pub mod chat_completion;
pub mod cohere_command;
pub mod cohere_embed;
pub mod deepseek;
pub mod meta;
pub mod mistral;
pub mod nova;
pub mod openai;
pub mod schema;
pub mod titan_embed;
pub mod titan_text;

use quarry::chat::ChatRequest;
use quarry::embed::EmbeddingModel;
use quarry::model::Family;
use serde_json::Value;

use self::chat::{AnswerStyle, ChatAnswer};
use super::model_id::{LOCAL_TEXT_MODEL, LocalModel, ModelRef};
use crate::aws_error::AwsError;
use crate::models::extractive::count_tokens;

/// A native request answered: the InvokeModel body, the InvokeModelWithResponseStream chunks, and
/// the token counts for the `x-amzn-bedrock-*-token-count` headers and invocation metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct NativeAnswer {
    pub body: Value,
    pub chunks: Vec<StreamChunk>,
    pub input_tokens: u32,
    pub output_tokens: u32,
}

/// One chunk of an InvokeModelWithResponseStream answer: the JSON the model emitted, and how many
/// output tokens it carries (for per-token latency).
#[derive(Debug, Clone, PartialEq)]
pub struct StreamChunk {
    pub json: Value,
    pub output_tokens: u32,
}

impl StreamChunk {
    /// A chunk carrying `text` of the answer.
    pub fn new(json: Value, text: &str) -> Self {
        StreamChunk { json, output_tokens: count_tokens(text) }
    }

    /// A chunk that carries no answer text (a start, a stop).
    pub fn framing(json: Value) -> Self {
        StreamChunk { json, output_tokens: 0 }
    }
}

/// A provider family's InvokeModel body format, served by a local model.
pub trait NativeFormat: Send + Sync + std::fmt::Debug {
    /// Checks `body` as Bedrock does (malformed bodies are ValidationExceptions worded like
    /// Bedrock's), runs the local model and writes its answer in the family's shapes.
    fn answer(&self, body: &[u8]) -> Result<NativeAnswer, AwsError>;
}

/// A chat family's native body: read into quarry's unified request, written from the extractive
/// model's unified answer.
pub trait ChatFormat: Send + Sync + std::fmt::Debug {
    /// How the family's answers look (reasoning shown, tool-use id prefix).
    fn style(&self) -> AnswerStyle {
        AnswerStyle::PLAIN
    }

    /// Checks and reads an InvokeModel body.
    fn parse(&self, body: &[u8]) -> Result<ChatRequest, AwsError>;

    /// The InvokeModel response body of `answer`.
    fn response_body(&self, answer: &ChatAnswer) -> Result<Value, AwsError>;

    /// The InvokeModelWithResponseStream chunks of `answer`, in order. The endpoint adds
    /// `amazon-bedrock-invocationMetrics` to the last one.
    fn stream_chunks(&self, answer: &ChatAnswer) -> Result<Vec<StreamChunk>, AwsError>;
}

/// Serves a chat family with the extractive model.
#[derive(Debug)]
pub struct ChatNative(pub Box<dyn ChatFormat>);

impl NativeFormat for ChatNative {
    fn answer(&self, body: &[u8]) -> Result<NativeAnswer, AwsError> {
        let request = self.0.parse(body)?;
        let answer = chat::answer(&request, self.0.style());
        let usage = answer.usage();
        Ok(NativeAnswer {
            body: self.0.response_body(&answer)?,
            chunks: self.0.stream_chunks(&answer)?,
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
        })
    }
}

/// The chat families whose native bodies the endpoint speaks, for error messages.
const CHAT_FAMILIES: &str = "Anthropic Claude (Messages), Amazon Nova (messages-v1), Amazon Titan Text, Meta Llama 3/4, Mistral (text and chat completion), Cohere Command R/R+, AI21 Jamba, DeepSeek-R1 and OpenAI gpt-oss";

/// The body format of `model`, or a ValidationException naming what the endpoint does speak.
pub fn format_for(model: &ModelRef) -> Result<Box<dyn NativeFormat>, AwsError> {
    let base = model.base_id.as_str();
    let chat = |format: Box<dyn ChatFormat>| -> Result<Box<dyn NativeFormat>, AwsError> {
        Ok(Box::new(ChatNative(format)))
    };
    match model.model {
        LocalModel::Chat(Family::Anthropic) => chat(Box::new(anthropic::Anthropic::new(base))),
        LocalModel::Chat(Family::AmazonNova) => chat(Box::new(nova::Nova)),
        LocalModel::Chat(Family::AmazonTitanText) => {
            chat(Box::new(titan_text::TitanText::for_model(base)))
        }
        LocalModel::Chat(Family::Meta) => chat(Box::new(meta::Llama::for_model(base))),
        LocalModel::Chat(Family::Mistral) => chat(mistral::for_model(base)),
        LocalModel::Chat(Family::CohereCommand) => chat(Box::new(cohere_command::CohereCommand)),
        LocalModel::Chat(Family::Ai21) => chat(Box::new(ai21::jamba(base))),
        LocalModel::Chat(Family::DeepSeek) => chat(Box::new(deepseek::DeepSeek)),
        LocalModel::Chat(Family::OpenAi) => chat(Box::new(openai::gpt_oss(base))),
        LocalModel::TitanEmbedV2 => Ok(Box::new(titan_embed::TitanEmbed::V2)),
        LocalModel::TitanEmbedG1 => Ok(Box::new(titan_embed::TitanEmbed::G1)),
        LocalModel::CohereEmbed(embedding) => Ok(Box::new(cohere_embed::CohereEmbed(embedding))),
        LocalModel::Chat(Family::AmazonTitanEmbed | Family::CohereEmbed)
        | LocalModel::OtherEmbedding => Err(AwsError::validation(format!(
            "The local Bedrock endpoint has no native InvokeModel body for {}; it embeds with {} and local.embed-v1.",
            model.requested,
            EmbeddingModel::supported_ids()
        ))),
        LocalModel::ConverseOnly => Err(AwsError::validation(format!(
            "The local Bedrock endpoint has no native InvokeModel body for {}; call it through Converse, or InvokeModel a model of a supported family: {CHAT_FAMILIES}, or {LOCAL_TEXT_MODEL} (Anthropic Messages body).",
            model.requested
        ))),
    }
}

/// Bedrock's wording for a body that does not fit the model's schema.
pub fn malformed(detail: &str) -> AwsError {
    AwsError::validation(format!(
        "Malformed input request: {detail}, please reformat your input and try again."
    ))
}

/// A ValidationException with the model's own message (checks Bedrock passes to the model).
pub fn invalid(message: impl Into<String>) -> AwsError {
    AwsError::validation(message)
}

/// A body the endpoint wrote could not be serialized (an internal error, never the caller's).
pub fn to_json(value: &impl serde::Serialize) -> Result<Value, AwsError> {
    serde_json::to_value(value)
        .map_err(|e| AwsError::internal(format!("could not write the response body: {e}")))
}

/// Seconds since the Unix epoch (the `created` field of chat-completion answers).
pub fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Test helper: `chunks` read back through `adapter`'s stream decoder, folded into one answer.
#[cfg(test)]
pub(crate) fn fold_chunks(
    adapter: &dyn quarry::adapters::NativeAdapter,
    chunks: &[StreamChunk],
) -> quarry::chat::ChatResponse {
    let mut decoder = adapter.stream_decoder();
    let events: Vec<_> = chunks
        .iter()
        .flat_map(|c| decoder.decode_chunk(c.json.to_string().as_bytes()).expect("decodes"))
        .collect();
    quarry::chat::collect_events(&events)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use quarry::chat::ToolSpec;
    use serde_json::json;

    use super::*;
    use crate::bedrock::model_id::AnyWellFormedId;

    /// A documented response or stream fixture of `shared` (see its README for the doc pages).
    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../shared/tests/fixtures/adapters/",
                $name
            ))
        };
    }

    /// The keys of a JSON object, without Bedrock's metrics.
    fn keys(value: &Value) -> BTreeSet<String> {
        value
            .as_object()
            .map(|o| o.keys().filter(|k| !k.starts_with("amazon-bedrock")).cloned().collect())
            .unwrap_or_default()
    }

    /// What tells one stream chunk's kind from another: its `type`, or its keys.
    fn chunk_kind(chunk: &Value) -> String {
        match chunk.get("type") {
            Some(kind) => kind.to_string(),
            None => keys(chunk).into_iter().collect::<Vec<_>>().join(","),
        }
    }

    fn answered(id: &str, request: &ChatRequest) -> NativeAnswer {
        let model = ModelRef::resolve(id, &AnyWellFormedId).expect("a well-formed id");
        let family = match model.model {
            LocalModel::Chat(family) => family,
            other => panic!("{id} is a chat model, not {other:?}"),
        };
        let body = quarry::adapters::adapter_for(family)
            .expect("an adapter")
            .request_body(&model.base_id, request)
            .expect("a body");
        format_for(&model).expect("a format").answer(body.to_string().as_bytes()).expect("answered")
    }

    /// The local answers have the top-level fields of the documented response bodies, and only
    /// the chunk kinds of the documented streams.
    #[test]
    fn local_answers_have_the_documented_shapes() {
        let mut tool_request =
            ChatRequest::from_user_text("What is the most popular song on WZPZ?");
        tool_request.tools = vec![ToolSpec {
            name: "top_song".into(),
            description: Some("Get the most popular song played on a radio station.".into()),
            input_schema: json!({"type": "object", "properties": {"sign": {"type": "string"}}, "required": ["sign"]}),
        }];
        let text_request = ChatRequest::from_user_text("What is the capital of France?");
        let cases = [
            (
                "anthropic.claude-3-5-sonnet-20240620-v1:0",
                &tool_request,
                fixture!("anthropic_response_tool_use.json"),
                fixture!("anthropic_stream_tool_use.jsonl"),
            ),
            (
                "amazon.nova-pro-v1:0",
                &tool_request,
                fixture!("nova_response_tool_use.json"),
                fixture!("nova_stream_tool_use.jsonl"),
            ),
            (
                "amazon.titan-text-express-v1",
                &text_request,
                fixture!("titan_text_response.json"),
                fixture!("titan_text_stream.jsonl"),
            ),
            (
                "meta.llama3-70b-instruct-v1:0",
                &text_request,
                fixture!("meta_llama_response.json"),
                fixture!("meta_llama_stream.jsonl"),
            ),
        ];
        for (id, request, response, stream) in cases {
            let answer = answered(id, request);
            let documented: Value = serde_json::from_str(response).expect("fixture JSON");
            assert_eq!(keys(&answer.body), keys(&documented), "{id}: {}", answer.body);
            let documented_kinds: BTreeSet<String> = stream
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| chunk_kind(&serde_json::from_str(l).expect("fixture chunk")))
                .collect();
            for chunk in &answer.chunks {
                let kind = chunk_kind(&chunk.json);
                assert!(
                    documented_kinds.contains(&kind),
                    "{id}: chunk kind {kind} of {}",
                    chunk.json
                );
            }
        }
    }

    fn format(id: &str) -> Result<Box<dyn NativeFormat>, AwsError> {
        format_for(&ModelRef::resolve(id, &AnyWellFormedId).expect("a well-formed id"))
    }

    #[test]
    fn every_chat_family_and_embedding_model_has_a_format() {
        for id in [
            "anthropic.claude-3-haiku-20240307-v1:0",
            "amazon.nova-lite-v1:0",
            "amazon.titan-text-express-v1",
            "meta.llama3-8b-instruct-v1:0",
            "mistral.mistral-7b-instruct-v0:2",
            "mistral.mistral-large-2407-v1:0",
            "cohere.command-r-v1:0",
            "ai21.jamba-1-5-mini-v1:0",
            "deepseek.r1-v1:0",
            "openai.gpt-oss-20b-1:0",
            "amazon.titan-embed-text-v2:0",
            "amazon.titan-embed-text-v1",
            "cohere.embed-english-v3",
            "cohere.embed-v4:0",
            LOCAL_TEXT_MODEL,
            "local.embed-v1",
        ] {
            assert!(format(id).is_ok(), "{id}");
        }
    }

    #[test]
    fn models_without_a_native_body_name_what_is_supported() {
        let chat = format("writer.palmyra-x5-v1:0").expect_err("no native body");
        assert_eq!(chat.code, "ValidationException");
        assert!(chat.message.contains("call it through Converse"), "{}", chat.message);
        assert!(chat.message.contains(LOCAL_TEXT_MODEL), "{}", chat.message);
        let embedding = format("amazon.titan-embed-image-v1").expect_err("no native body");
        assert!(embedding.message.contains("cohere.embed-v4:0"), "{}", embedding.message);
    }
}
