//! Embeddings on Bedrock: the request quarry validates per model, each provider's InvokeModel body,
//! response parsing, and a planner that splits a batch into calls and puts the vectors back in order.
//!
//! Choices, per the AWS Bedrock pages "model-parameters-titan-embed-text" and "model-parameters-embed":
//! - **Input type.** Cohere prepends special tokens per `input_type`, so documents and queries must
//!   be embedded as `search_document` and `search_query`; the request's [`InputType`] always reaches
//!   the Cohere body. Titan has no such field and embeds every text the same way.
//! - **Too-long texts.** Where the docs give a character limit (Titan v2: 50,000; Cohere v3: 2,048,
//!   which Bedrock enforces whatever `truncate` says) a longer text is a [`EmbedError::TextTooLong`]
//!   before any call, so the chunker upstream must respect [`EmbeddingModel::max_text_chars`]. Token
//!   overflow below that limit: Titan has no truncation parameter, so Bedrock answers with an error;
//!   Cohere is sent `truncate: END` (v3) / `RIGHT` (v4), so the end of an over-long text is dropped
//!   and every text still gets its vector.
//! - **Dimensions.** Titan v2 takes `dimensions` 256/512/1024, Cohere v4 `output_dimension`
//!   256/512/1024/1536. Fixed-size models (Titan v1: 1536, Cohere v3: 1024) accept a request for
//!   their own size and send nothing; any other size is an error. `normalize` exists on Titan v2 only.
//! - **Token counts.** Titan bodies carry `inputTextTokenCount`; Cohere bodies carry none, so callers
//!   pass the `x-amzn-bedrock-input-token-count` header to [`Assembler::add`].
//! - **Embedding types.** quarry asks for float vectors only (Titan's default; Cohere v4 is sent
//!   `embedding_types: ["float"]`). Both Cohere response shapes are read: `embeddings: [[…]]`
//!   (`embeddings_floats`) and `embeddings: {"float": [[…]]}` (`embeddings_by_type`).

pub mod cohere;
mod model;
mod planner;
pub mod titan;

use serde::{Deserialize, Serialize};

pub use model::EmbeddingModel;
pub use planner::{Assembler, EmbedCall, EmbedPlan, Embeddings, plan};

/// What the embedded texts are for (Cohere's `input_type`; Titan ignores it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputType {
    /// Documents stored in a vector index.
    SearchDocument,
    /// A query searched against stored documents.
    SearchQuery,
    /// Input to a text classifier.
    Classification,
    /// Texts to be clustered.
    Clustering,
}

/// A batch of texts to embed with one model, before it is split into calls.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbedRequest {
    /// The texts, each non-empty; the result has one vector per text, in this order.
    pub texts: Vec<String>,
    /// What the vectors are for.
    pub input_type: InputType,
    /// The vector length; `None` is the model's default.
    pub dimensions: Option<u32>,
    /// Titan v2's `normalize` flag (defaults to true there); other models reject it.
    pub normalize: Option<bool>,
}

impl EmbedRequest {
    /// A request for `texts` with the model's default dimensions.
    pub fn new(texts: Vec<String>, input_type: InputType) -> Self {
        EmbedRequest { texts, input_type, dimensions: None, normalize: None }
    }

    /// Documents to store in a vector index (`search_document`).
    pub fn documents(texts: Vec<String>) -> Self {
        Self::new(texts, InputType::SearchDocument)
    }

    /// One search query (`search_query`).
    pub fn query(text: impl Into<String>) -> Self {
        Self::new(vec![text.into()], InputType::SearchQuery)
    }

    /// Checks the request against `model`'s documented limits; returns the vector length it gets.
    pub fn validate(&self, model: EmbeddingModel) -> Result<u32, EmbedError> {
        if self.texts.is_empty() {
            return Err(EmbedError::NoTexts);
        }
        for (index, text) in self.texts.iter().enumerate() {
            if text.trim().is_empty() {
                return Err(EmbedError::EmptyText { index });
            }
            if let Some(max) = model.max_text_chars() {
                let chars = text.chars().count();
                if chars > max {
                    return Err(EmbedError::TextTooLong { model, index, chars, max });
                }
            }
        }
        if self.normalize.is_some() && !model.supports_normalize() {
            return Err(EmbedError::UnsupportedParameter { model, parameter: "normalize" });
        }
        model.dimension(self.dimensions)
    }
}

/// One InvokeModel response body, parsed: one vector per text sent, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedResponse {
    /// The float vectors.
    pub vectors: Vec<Vec<f32>>,
    /// Input tokens, where the body reports them (Titan's `inputTextTokenCount`).
    pub input_tokens: Option<u32>,
}

/// What can go wrong embedding texts with a Bedrock embedding model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EmbedError {
    /// The model id names no embedding model quarry supports.
    #[error(
        "`{model}` is not an embedding model quarry supports; use one of: {}",
        EmbeddingModel::supported_ids()
    )]
    UnknownModel { model: String },
    /// The request has no texts.
    #[error("no texts to embed; send at least one non-empty text")]
    NoTexts,
    /// A text is empty or whitespace only.
    #[error(
        "text {index} is empty; every text to embed needs at least one non-whitespace character"
    )]
    EmptyText { index: usize },
    /// A text is longer than the model's documented character limit.
    #[error(
        "text {index} has {chars} characters; {model} accepts at most {max} per text, so split it into smaller chunks"
    )]
    TextTooLong { model: EmbeddingModel, index: usize, chars: usize, max: usize },
    /// The model cannot produce vectors of the requested length.
    #[error("{model} cannot produce {requested}-dimensional embeddings; supported: {supported:?}")]
    UnsupportedDimensions { model: EmbeddingModel, requested: u32, supported: &'static [u32] },
    /// The request sets a parameter the model's body does not have.
    #[error("{model} has no `{parameter}` parameter; leave it unset for this model")]
    UnsupportedParameter { model: EmbeddingModel, parameter: &'static str },
    /// More texts than one call of this model carries.
    #[error(
        "{count} texts do not fit one {model} call (at most {max}); split them with `embed::plan`"
    )]
    TooManyTexts { model: EmbeddingModel, count: usize, max: usize },
    /// The request body could not be written.
    #[error("could not write the {model} request body: {reason}")]
    Body { model: EmbeddingModel, reason: String },
    /// A response body is not the documented shape (not JSON, missing fields, no float vectors).
    #[error("unexpected {model} response: {reason}")]
    InvalidResponse { model: EmbeddingModel, reason: String },
    /// A call returned a different number of vectors than it was sent texts.
    #[error("{model} call {call} returned {got} embeddings for the {expected} texts it was sent")]
    WrongVectorCount { model: EmbeddingModel, call: usize, expected: usize, got: usize },
    /// A vector has a different length than the request asked for.
    #[error("{model} returned a {got}-dimensional embedding for text {index}; expected {expected}")]
    WrongDimension { model: EmbeddingModel, index: usize, expected: u32, got: usize },
    /// A response was handed in for a call the plan does not have.
    #[error("the plan has no call {call} (it has {calls} calls)")]
    UnknownCall { call: usize, calls: usize },
    /// A call's response was handed in twice.
    #[error("call {call} was already answered")]
    DuplicateCall { call: usize },
    /// Some calls were never answered.
    #[error("calls {missing:?} were never answered")]
    MissingCalls { missing: Vec<usize> },
}

/// The InvokeModel JSON body for ONE call of `model` embedding all of `request.texts`.
///
/// Validates the request and that its texts fit one call; use [`plan`] for larger batches.
pub fn call_body(
    model: EmbeddingModel,
    request: &EmbedRequest,
) -> Result<serde_json::Value, EmbedError> {
    request.validate(model)?;
    let max = model.max_texts_per_call();
    if request.texts.len() > max {
        return Err(EmbedError::TooManyTexts { model, count: request.texts.len(), max });
    }
    body_for(model, &request.texts, request)
}

/// The body for `texts` (already validated and within one call), with `request`'s parameters.
fn body_for(
    model: EmbeddingModel,
    texts: &[String],
    request: &EmbedRequest,
) -> Result<serde_json::Value, EmbedError> {
    let body = if model.is_cohere() {
        serde_json::to_value(cohere::request(model, texts, request))
    } else {
        let text = texts.first().map(String::as_str).unwrap_or_default();
        serde_json::to_value(titan::request(model, text, request))
    };
    body.map_err(|err| EmbedError::Body { model, reason: err.to_string() })
}

/// Parses one InvokeModel response body of `model` into its float vectors (and token count).
///
/// Checks the shape only; [`Assembler::add`] also checks the vector count and length.
pub fn parse_response(model: EmbeddingModel, body: &[u8]) -> Result<ParsedResponse, EmbedError> {
    if model.is_cohere() { cohere::parse(model, body) } else { titan::parse(model, body) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn texts(items: &[&str]) -> Vec<String> {
        items.iter().map(|text| text.to_string()).collect()
    }

    #[test]
    fn empty_batches_and_blank_texts_are_rejected() {
        let empty = EmbedRequest::documents(Vec::new());
        assert_eq!(empty.validate(EmbeddingModel::CohereV4), Err(EmbedError::NoTexts));
        for blank in ["", "  \n\t"] {
            let request = EmbedRequest::documents(texts(&["fine", blank]));
            for model in EmbeddingModel::ALL {
                assert_eq!(request.validate(model), Err(EmbedError::EmptyText { index: 1 }));
                assert!(call_body(model, &EmbedRequest::query(blank)).is_err());
            }
        }
    }

    #[test]
    fn texts_over_the_documented_character_limits_are_rejected() {
        let cohere_limit = EmbedRequest::documents(vec!["é".repeat(2_048)]);
        assert_eq!(cohere_limit.validate(EmbeddingModel::CohereEnglishV3), Ok(1024));
        let over = EmbedRequest::documents(vec!["ok".into(), "x".repeat(2_049)]);
        assert_eq!(
            over.validate(EmbeddingModel::CohereMultilingualV3),
            Err(EmbedError::TextTooLong {
                model: EmbeddingModel::CohereMultilingualV3,
                index: 1,
                chars: 2_049,
                max: 2_048
            })
        );
        let titan = EmbedRequest::documents(vec!["x".repeat(50_001)]);
        assert!(matches!(
            titan.validate(EmbeddingModel::TitanTextV2),
            Err(EmbedError::TextTooLong { max: 50_000, .. })
        ));
        // Cohere v4 documents a token limit only: long texts are cut by `truncate: RIGHT`.
        assert_eq!(titan.validate(EmbeddingModel::CohereV4), Ok(1536));
    }

    #[test]
    fn dimensions_and_normalize_are_validated_per_model() {
        let mut request = EmbedRequest::query("what is quarry?");
        request.dimensions = Some(512);
        assert_eq!(request.validate(EmbeddingModel::TitanTextV2), Ok(512));
        assert_eq!(request.validate(EmbeddingModel::CohereV4), Ok(512));
        for model in [
            EmbeddingModel::TitanTextV1,
            EmbeddingModel::CohereEnglishV3,
            EmbeddingModel::CohereMultilingualV3,
        ] {
            assert!(
                matches!(
                    request.validate(model),
                    Err(EmbedError::UnsupportedDimensions { requested: 512, .. })
                ),
                "{model}"
            );
        }
        request.dimensions = Some(1536);
        assert_eq!(request.validate(EmbeddingModel::TitanTextV1), Ok(1536));
        assert!(request.validate(EmbeddingModel::TitanTextV2).is_err());

        let mut normalized = EmbedRequest::query("q");
        normalized.normalize = Some(false);
        assert_eq!(normalized.validate(EmbeddingModel::TitanTextV2), Ok(1024));
        for model in [EmbeddingModel::TitanTextV1, EmbeddingModel::CohereV4] {
            assert_eq!(
                normalized.validate(model),
                Err(EmbedError::UnsupportedParameter { model, parameter: "normalize" })
            );
        }
    }

    #[test]
    fn a_titan_body_is_never_sent_to_cohere_and_vice_versa() {
        let request = EmbedRequest::documents(texts(&["a document"]));
        for model in EmbeddingModel::ALL {
            let body = call_body(model, &request).expect("one text fits every model");
            if model.is_cohere() {
                assert_eq!(body["texts"], json!(["a document"]), "{model}");
                assert!(body.get("inputText").is_none(), "{model}: {body}");
            } else {
                assert_eq!(body["inputText"], json!("a document"), "{model}");
                assert!(body.get("texts").is_none(), "{model}: {body}");
                assert!(body.get("input_type").is_none(), "{model}: {body}");
            }
        }
    }

    #[test]
    fn one_call_bodies_refuse_batches_the_model_cannot_take_in_one_call() {
        let two = EmbedRequest::documents(texts(&["one", "two"]));
        assert_eq!(
            call_body(EmbeddingModel::TitanTextV2, &two),
            Err(EmbedError::TooManyTexts { model: EmbeddingModel::TitanTextV2, count: 2, max: 1 })
        );
        let many = EmbedRequest::documents(vec!["t".to_string(); 97]);
        assert!(matches!(
            call_body(EmbeddingModel::CohereV4, &many),
            Err(EmbedError::TooManyTexts { max: 96, .. })
        ));
        let full = EmbedRequest::documents(vec!["t".to_string(); 96]);
        let body = call_body(EmbeddingModel::CohereV4, &full).expect("96 texts fit one call");
        assert_eq!(body["texts"].as_array().map(Vec::len), Some(96));
    }

    #[test]
    fn malformed_bodies_are_errors_for_every_model() {
        for model in EmbeddingModel::ALL {
            for body in [&b"<html>502 Bad Gateway</html>"[..], b"", b"{}", b"[]", b"null"] {
                assert!(
                    matches!(parse_response(model, body), Err(EmbedError::InvalidResponse { .. })),
                    "{model}: {}",
                    String::from_utf8_lossy(body)
                );
            }
        }
    }
}
