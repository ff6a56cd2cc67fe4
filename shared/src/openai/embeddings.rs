//! Embeddings (`POST /v1/embeddings`): the request and response bodies as the OpenAI API reference
//! defines them, mapped to quarry's [`EmbedRequest`] and from its [`Embeddings`].
//!
//! - `input` is a string or an array of strings; token-id arrays are refused (Bedrock takes text).
//! - `encoding_format` `float` (the default) or `base64`: the little-endian bytes of the `f32`
//!   vector, base64-encoded, exactly as OpenAI sends them. The official Python SDK asks for
//!   `base64` whenever the caller does not choose, so both must work.
//! - `input_type` is quarry's extension for Cohere models (`search_query` unless set; use
//!   `search_document` for texts to be stored). Titan ignores it.
//! - `user` is ignored; `dimensions` is checked per model by [`EmbedRequest::validate`].
//! - Fields OpenAI's API does not define are refused, as OpenAI does.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::error::{OpenAiError, parse_body};
use crate::embed::{EmbedRequest, Embeddings, InputType};

/// A `POST /v1/embeddings` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingRequest {
    /// The model id or alias the client asked for.
    pub model: String,
    pub input: EmbeddingInput,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding_format: Option<EncodingFormat>,
    /// The end user's id; not sent to Bedrock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// quarry's extension: what the texts are for (Cohere's `input_type`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_type: Option<InputType>,
    /// Fields the OpenAI API does not define; any of them makes the request invalid.
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unrecognized: BTreeMap<String, serde_json::Value>,
}

/// `input`: text, or token ids (which quarry refuses when mapping).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    untagged,
    expecting = "expected a string, an array of strings, an array of token ids, or an array of token-id arrays"
)]
pub enum EmbeddingInput {
    Text(String),
    Texts(Vec<String>),
    Tokens(Vec<u32>),
    TokenArrays(Vec<Vec<u32>>),
}

/// How the vectors are written in the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EncodingFormat {
    /// A JSON array of numbers.
    #[default]
    Float,
    /// Base64 of the little-endian `f32` bytes.
    Base64,
}

impl EmbeddingRequest {
    /// Parses a request body; a field of the wrong shape is an error naming its path.
    pub fn from_json(body: &[u8]) -> Result<Self, OpenAiError> {
        parse_body(body)
    }

    /// The format the response is to use (`float` unless asked otherwise).
    pub fn encoding_format(&self) -> EncodingFormat {
        self.encoding_format.unwrap_or_default()
    }

    /// Maps the request onto quarry's: `(model, request)`. Model limits (text length, dimensions)
    /// are checked later by [`EmbedRequest::validate`].
    pub fn to_embed_request(&self) -> Result<(String, EmbedRequest), OpenAiError> {
        if let Some(param) = self.unrecognized.keys().next() {
            return Err(OpenAiError::UnrecognizedParameter { param: param.clone() });
        }
        let texts = match &self.input {
            EmbeddingInput::Text(text) => vec![text.clone()],
            EmbeddingInput::Texts(texts) => texts.clone(),
            EmbeddingInput::Tokens(_) | EmbeddingInput::TokenArrays(_) => {
                return Err(OpenAiError::TokenInput { param: "input".into() });
            }
        };
        if texts.is_empty() {
            return Err(OpenAiError::InvalidValue {
                param: "input".into(),
                reason: "expected at least one text to embed, got an empty array".into(),
            });
        }
        if let Some(index) = texts.iter().position(|text| text.trim().is_empty()) {
            let param = match self.input {
                EmbeddingInput::Text(_) => "input".to_owned(),
                _ => format!("input[{index}]"),
            };
            return Err(OpenAiError::InvalidValue {
                param,
                reason: "expected a non-empty text (not only whitespace)".into(),
            });
        }
        let input_type = self.input_type.unwrap_or(InputType::SearchQuery);
        let mut request = EmbedRequest::new(texts, input_type);
        request.dimensions = self.dimensions;
        Ok((self.model.clone(), request))
    }
}

/// The `POST /v1/embeddings` response: `{object: "list", data, model, usage}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingResponse {
    /// Always `list`.
    pub object: String,
    pub data: Vec<Embedding>,
    pub model: String,
    pub usage: EmbeddingUsage,
}

/// One vector of an [`EmbeddingResponse`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Embedding {
    /// Always `embedding`.
    pub object: String,
    /// The position of its text in `input`.
    pub index: u32,
    pub embedding: EmbeddingVector,
}

/// A vector as numbers, or as base64 of its little-endian `f32` bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingVector {
    Float(Vec<f32>),
    Base64(String),
}

impl EmbeddingVector {
    /// `vector` written in `format`.
    pub fn encode(vector: &[f32], format: EncodingFormat) -> Self {
        match format {
            EncodingFormat::Float => EmbeddingVector::Float(vector.to_vec()),
            EncodingFormat::Base64 => {
                let bytes: Vec<u8> = vector.iter().flat_map(|value| value.to_le_bytes()).collect();
                EmbeddingVector::Base64(base64::engine::general_purpose::STANDARD.encode(bytes))
            }
        }
    }

    /// The numbers, decoding base64; `None` when the base64 is invalid or not whole `f32`s.
    pub fn to_floats(&self) -> Option<Vec<f32>> {
        match self {
            EmbeddingVector::Float(values) => Some(values.clone()),
            EmbeddingVector::Base64(text) => {
                let bytes = base64::engine::general_purpose::STANDARD.decode(text).ok()?;
                if bytes.len() % 4 != 0 {
                    return None;
                }
                let floats = bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                Some(floats)
            }
        }
    }
}

/// Token counts of an embeddings call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbeddingUsage {
    pub prompt_tokens: u64,
    pub total_tokens: u64,
}

impl EmbeddingResponse {
    /// The response for `embeddings` of the model the client named `model`. Tokens are 0 when
    /// Bedrock did not report them for every call.
    pub fn from_embeddings(model: &str, embeddings: &Embeddings, format: EncodingFormat) -> Self {
        let data = embeddings
            .vectors
            .iter()
            .enumerate()
            .map(|(index, vector)| Embedding {
                object: "embedding".to_owned(),
                index: u32::try_from(index).unwrap_or(u32::MAX),
                embedding: EmbeddingVector::encode(vector, format),
            })
            .collect();
        let tokens = embeddings.input_tokens.unwrap_or(0);
        EmbeddingResponse {
            object: "list".to_owned(),
            data,
            model: model.to_owned(),
            usage: EmbeddingUsage { prompt_tokens: tokens, total_tokens: tokens },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(body: serde_json::Value) -> EmbeddingRequest {
        EmbeddingRequest::from_json(body.to_string().as_bytes()).expect("a valid request body")
    }

    fn refused(body: serde_json::Value) -> OpenAiError {
        match EmbeddingRequest::from_json(body.to_string().as_bytes()) {
            Ok(request) => request.to_embed_request().expect_err("the request is refused"),
            Err(err) => err,
        }
    }

    /// The request example of the OpenAI API reference
    /// (https://platform.openai.com/docs/api-reference/embeddings/create).
    #[test]
    fn the_reference_request_maps_to_one_search_query() {
        let request = request(json!({
          "input": "The food was delicious and the waiter...",
          "model": "text-embedding-ada-002",
          "encoding_format": "float"
        }));
        assert_eq!(request.encoding_format(), EncodingFormat::Float);
        let (model, embed) = request.to_embed_request().expect("maps");
        assert_eq!(model, "text-embedding-ada-002");
        assert_eq!(embed, EmbedRequest::query("The food was delicious and the waiter..."));
    }

    #[test]
    fn arrays_dimensions_and_the_input_type_extension_map() {
        let request = request(json!({
            "model": "cohere.embed-english-v3",
            "input": ["first chunk", "second chunk"],
            "dimensions": 1024,
            "user": "user-1",
            "input_type": "search_document"
        }));
        assert_eq!(request.encoding_format(), EncodingFormat::Float, "float is OpenAI's default");
        let (_, embed) = request.to_embed_request().expect("maps");
        assert_eq!(embed.texts, vec!["first chunk".to_string(), "second chunk".to_string()]);
        assert_eq!(embed.input_type, InputType::SearchDocument);
        assert_eq!(embed.dimensions, Some(1024));
        assert_eq!(embed.normalize, None);
    }

    #[test]
    fn token_inputs_empty_inputs_and_unknown_fields_are_refused() {
        let body = |input: serde_json::Value| json!({"model": "m", "input": input});
        for tokens in [json!([1212, 318, 257, 1332]), json!([[1212, 318], [257]])] {
            assert_eq!(refused(body(tokens)), OpenAiError::TokenInput { param: "input".into() });
        }
        assert_eq!(refused(body(json!([]))).param(), Some("input"));
        assert_eq!(refused(body(json!("  "))).param(), Some("input"));
        assert_eq!(refused(body(json!(["ok", "", "fine"]))).param(), Some("input[1]"));
        let err = refused(json!({"model": "m", "input": "x", "encoding": "float"}));
        assert_eq!(err, OpenAiError::UnrecognizedParameter { param: "encoding".into() });
        let err = refused(json!({"model": "m", "input": "x", "encoding_format": "int8"}));
        assert_eq!(err.param(), Some("encoding_format"));
        let err = refused(json!({"model": "m", "input": "x", "input_type": "query"}));
        assert_eq!(err.param(), Some("input_type"));
        let err = refused(body(json!({"text": "x"})));
        assert!(
            err.to_string().starts_with("input: expected a string, an array of strings"),
            "{err}"
        );
    }

    fn embeddings(vectors: Vec<Vec<f32>>, input_tokens: Option<u64>) -> Embeddings {
        let dimension = vectors.first().map_or(0, |v| u32::try_from(v.len()).unwrap_or(0));
        Embeddings { vectors, dimension, input_tokens }
    }

    /// The response example of the OpenAI API reference, with its vector cut to the three numbers
    /// the page shows.
    #[test]
    fn a_float_response_is_the_reference_response() {
        let result = embeddings(vec![vec![0.0023064255, -0.009327292, -0.0028842222]], Some(8));
        let response = EmbeddingResponse::from_embeddings(
            "text-embedding-ada-002",
            &result,
            EncodingFormat::Float,
        );
        let expected = r#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.0023064255,-0.009327292,-0.0028842222]}],"model":"text-embedding-ada-002","usage":{"prompt_tokens":8,"total_tokens":8}}"#;
        assert_eq!(serde_json::to_string(&response).expect("serializable"), expected);
        let official: EmbeddingResponse = serde_json::from_value(json!({
          "object": "list",
          "data": [{"object": "embedding", "embedding": [0.0023064255, -0.009327292, -0.0028842222], "index": 0}],
          "model": "text-embedding-ada-002",
          "usage": {"prompt_tokens": 8, "total_tokens": 8}
        }))
        .expect("the reference response parses");
        assert_eq!(official, response);
    }

    /// base64 is the vector's little-endian f32 bytes; the expected string was computed with
    /// Python's `base64.b64encode(struct.pack('<3f', ...))`, which the OpenAI SDK's
    /// `np.frombuffer(base64.b64decode(data), dtype="float32")` reverses.
    #[test]
    fn a_base64_response_decodes_back_to_the_same_floats() {
        let vector = vec![0.0023064255_f32, -0.009327292, -0.0028842222];
        let result = embeddings(vec![vector.clone(), vec![1.0, -0.5, 0.25]], None);
        let response = EmbeddingResponse::from_embeddings(
            "amazon.titan-embed-text-v2:0",
            &result,
            EncodingFormat::Base64,
        );
        let value = serde_json::to_value(&response).expect("serializable");
        assert_eq!(value["data"][0]["embedding"], "ZicXO4DRGLw4BT27");
        assert_eq!(value["data"][1]["index"], 1);
        assert_eq!(
            value["usage"],
            json!({"prompt_tokens": 0, "total_tokens": 0}),
            "unknown counts are 0"
        );
        let parsed: EmbeddingResponse = serde_json::from_value(value).expect("parses back");
        let decoded: Vec<Vec<f32>> =
            parsed.data.iter().map(|d| d.embedding.to_floats().expect("valid base64")).collect();
        assert_eq!(decoded, result.vectors);
        assert_eq!(EmbeddingVector::Base64("AAAA=".into()).to_floats(), None);
        assert_eq!(
            EmbeddingVector::Base64("AAAAAAA=".into()).to_floats(),
            None,
            "5 bytes are not whole f32s"
        );
    }
}
