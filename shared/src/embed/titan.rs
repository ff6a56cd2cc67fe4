//! Amazon Titan Text Embeddings v1/v2 on InvokeModel: the wire types (one `inputText` per call).
//!
//! Source: <https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-titan-embed-text.html>

use serde::{Deserialize, Serialize};

use super::{EmbedError, EmbedRequest, EmbeddingModel, ParsedResponse};

/// The request body: `{"inputText", "dimensions"?, "normalize"?, "embeddingTypes"?}` (v1: `inputText` only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TitanEmbedRequest {
    /// The text to embed.
    pub input_text: String,
    /// v2 only: 256, 512 or 1024 (default 1024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
    /// v2 only: normalize the vector (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalize: Option<bool>,
    /// v2 only: `float`, `binary` or both (default `float`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding_types: Option<Vec<TitanEmbeddingType>>,
}

/// A Titan v2 embedding type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TitanEmbeddingType {
    /// 32-bit float vector.
    Float,
    /// Binary vector (0/1 values).
    Binary,
}

/// The response body: `{"embedding", "inputTextTokenCount", "embeddingsByType"?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TitanEmbedResponse {
    /// The float vector (v2 puts it here as well as in `embeddingsByType.float`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding: Option<Vec<f32>>,
    /// Tokens in the input text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_text_token_count: Option<u32>,
    /// v2: the vectors by embedding type (always present there, with at least `float` by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embeddings_by_type: Option<TitanEmbeddingsByType>,
}

/// Titan v2's `embeddingsByType`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TitanEmbeddingsByType {
    /// The float vector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub float: Option<Vec<f32>>,
    /// The binary vector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<Vec<u8>>,
}

/// The request body embedding `text` with `model` (v1 gets `inputText` alone).
pub(super) fn request(
    model: EmbeddingModel,
    text: &str,
    request: &EmbedRequest,
) -> TitanEmbedRequest {
    let dimensions = request.dimensions.filter(|_| model.has_dimensions_parameter());
    TitanEmbedRequest {
        input_text: text.to_string(),
        dimensions,
        normalize: request.normalize.filter(|_| model.supports_normalize()),
        embedding_types: None,
    }
}

/// Parses a Titan response body into its one float vector and token count.
pub(super) fn parse(model: EmbeddingModel, body: &[u8]) -> Result<ParsedResponse, EmbedError> {
    let invalid = |reason: String| EmbedError::InvalidResponse { model, reason };
    let response: TitanEmbedResponse = serde_json::from_slice(body)
        .map_err(|err| invalid(format!("not a Titan embeddings body: {err}")))?;
    let vector = response
        .embedding
        .or(response.embeddings_by_type.and_then(|by_type| by_type.float))
        .ok_or_else(|| invalid("no float `embedding` in the body".to_string()))?;
    Ok(ParsedResponse { vectors: vec![vector], input_tokens: response.input_text_token_count })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::{InputType, call_body, parse_response};
    use serde_json::json;

    #[test]
    fn v1_body_is_input_text_only() {
        // G1 Request on the doc page: `{ "inputText": string }`.
        for input_type in [InputType::SearchDocument, InputType::SearchQuery] {
            let request = EmbedRequest::new(vec!["What is Amazon Bedrock?".into()], input_type);
            let body = call_body(EmbeddingModel::TitanTextV1, &request).expect("valid v1 request");
            assert_eq!(body, json!({ "inputText": "What is Amazon Bedrock?" }));
        }
    }

    #[test]
    fn v2_body_carries_dimensions_and_normalize_when_set() {
        // V2 Request on the doc page: `{ "inputText", "dimensions": int, "normalize": boolean, ... }`.
        let mut request = EmbedRequest::documents(vec!["What is Amazon Bedrock?".into()]);
        let plain = call_body(EmbeddingModel::TitanTextV2, &request).expect("valid v2 request");
        assert_eq!(plain, json!({ "inputText": "What is Amazon Bedrock?" }));

        request.dimensions = Some(512);
        request.normalize = Some(true);
        let body = call_body(EmbeddingModel::TitanTextV2, &request).expect("valid v2 request");
        assert_eq!(
            body,
            json!({ "inputText": "What is Amazon Bedrock?", "dimensions": 512, "normalize": true })
        );
        let read: TitanEmbedRequest = serde_json::from_value(body).expect("wire type reads it");
        assert_eq!(read.dimensions, Some(512));
    }

    #[test]
    fn documented_request_with_embedding_types_reads_into_the_wire_type() {
        let doc = json!({
            "inputText": "Hello world",
            "dimensions": 256,
            "normalize": false,
            "embeddingTypes": ["float", "binary"]
        });
        let read: TitanEmbedRequest = serde_json::from_value(doc.clone()).expect("doc request");
        assert_eq!(
            read.embedding_types,
            Some(vec![TitanEmbeddingType::Float, TitanEmbeddingType::Binary])
        );
        assert_eq!(serde_json::to_value(&read).expect("serializable"), doc);
    }

    #[test]
    fn parses_the_documented_g1_response() {
        // G1 Response: `{ "embedding": [float, float, ...], "inputTextTokenCount": int }`.
        let body =
            br#"{"embedding": [0.41796875, -0.08203125, 0.5546875], "inputTextTokenCount": 6}"#;
        let parsed = parse_response(EmbeddingModel::TitanTextV1, body).expect("doc response");
        assert_eq!(parsed.vectors, vec![vec![0.417_968_75, -0.082_031_25, 0.554_687_5]]);
        assert_eq!(parsed.input_tokens, Some(6));
    }

    #[test]
    fn parses_the_documented_v2_response_with_embeddings_by_type() {
        // V2 Response: `{ "embedding": [...], "inputTextTokenCount": int,
        //                 "embeddingsByType": {"binary": [int,..], "float": [float,...]} }`.
        let body = br#"{
            "embedding": [0.25, -0.5, 0.75],
            "inputTextTokenCount": 4,
            "embeddingsByType": {"binary": [1, 0, 1], "float": [0.25, -0.5, 0.75]}
        }"#;
        let parsed = parse_response(EmbeddingModel::TitanTextV2, body).expect("doc response");
        assert_eq!(parsed.vectors, vec![vec![0.25, -0.5, 0.75]]);
        assert_eq!(parsed.input_tokens, Some(4));

        let by_type_only =
            br#"{"inputTextTokenCount": 4, "embeddingsByType": {"float": [1.0, 2.0]}}"#;
        let parsed = parse_response(EmbeddingModel::TitanTextV2, by_type_only).expect("float");
        assert_eq!(parsed.vectors, vec![vec![1.0, 2.0]]);
    }

    #[test]
    fn a_binary_only_or_malformed_body_is_an_error() {
        let binary_only = br#"{"inputTextTokenCount": 4, "embeddingsByType": {"binary": [1, 0]}}"#;
        let err = parse_response(EmbeddingModel::TitanTextV2, binary_only).expect_err("no float");
        assert!(err.to_string().contains("no float `embedding`"), "{err}");
        for body in [&br#"{"embedding": "0.1,0.2"}"#[..], br#"{"embedding": [0.1, null]}"#] {
            assert!(matches!(
                parse_response(EmbeddingModel::TitanTextV1, body),
                Err(EmbedError::InvalidResponse { .. })
            ));
        }
    }
}
