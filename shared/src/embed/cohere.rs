//! Cohere Embed v3 / v4 on InvokeModel: the wire types (a `texts` array of up to 96 per call).
//!
//! Sources: <https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-embed-v3.html> and
//! <https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-embed-v4.html>. quarry embeds
//! text only; the `images` / `inputs` fields of the request are not modelled.

use serde::{Deserialize, Serialize};

use super::{EmbedError, EmbedRequest, EmbeddingModel, InputType, ParsedResponse};

/// The request body: `{"texts", "input_type", "truncate"?, "embedding_types"?, "output_dimension"?, "max_tokens"?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CohereEmbedRequest {
    /// The texts to embed (≤ 96; v3: ≤ 2,048 characters each).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub texts: Vec<String>,
    /// What the vectors are for.
    pub input_type: InputType,
    /// How over-long inputs are cut (v3: NONE/START/END, v4: NONE/LEFT/RIGHT; default NONE = error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncate: Option<CohereTruncate>,
    /// Which vector encodings to return (default: float only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding_types: Option<Vec<CohereEmbeddingType>>,
    /// v4 only: 256, 512, 1024 or 1536 (default 1536).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_dimension: Option<u32>,
    /// v4 only: truncation budget per input, up to ~128,000 tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
}

/// Cohere's `truncate` values (v3 uses START/END, v4 LEFT/RIGHT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum CohereTruncate {
    /// Error when an input is too long (the default).
    None,
    /// v3: drop the start of the input.
    Start,
    /// v3: drop the end of the input.
    End,
    /// v4: drop tokens from the start.
    Left,
    /// v4: drop tokens from the end.
    Right,
}

/// Cohere's `embedding_types` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CohereEmbeddingType {
    /// 32-bit floats.
    Float,
    /// Signed 8-bit integers.
    Int8,
    /// Unsigned 8-bit integers.
    Uint8,
    /// Signed packed bits.
    Binary,
    /// Unsigned packed bits.
    Ubinary,
}

/// The response body: `{"id"?, "response_type", "embeddings", "texts"?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CohereEmbedResponse {
    /// An identifier for the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `embeddings_floats` or `embeddings_by_type`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_type: Option<CohereResponseType>,
    /// One vector per text, in request order.
    pub embeddings: CohereEmbeddings,
    /// The texts the vectors are for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub texts: Option<Vec<String>>,
}

/// Cohere's `response_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CohereResponseType {
    /// `embeddings` is an array of float vectors.
    EmbeddingsFloats,
    /// `embeddings` is an object keyed by embedding type.
    EmbeddingsByType,
}

/// The two shapes of `embeddings`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CohereEmbeddings {
    /// `[[float, …], …]` (`embeddings_floats`).
    Floats(Vec<Vec<f32>>),
    /// `{"float": [[…]], "int8": [[…]], …}` (`embeddings_by_type`).
    ByType(CohereEmbeddingsByType),
}

/// `embeddings` keyed by type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CohereEmbeddingsByType {
    /// Float vectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub float: Option<Vec<Vec<f32>>>,
    /// Signed int8 vectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int8: Option<Vec<Vec<i8>>>,
    /// Unsigned int8 vectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uint8: Option<Vec<Vec<u8>>>,
    /// Signed packed-bit vectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<Vec<Vec<i8>>>,
    /// Unsigned packed-bit vectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ubinary: Option<Vec<Vec<u8>>>,
}

/// The request body embedding `texts` with `model`: the input type always, `truncate` END (v3) /
/// RIGHT (v4), and for v4 `embedding_types: ["float"]` plus `output_dimension` when requested.
pub(super) fn request(
    model: EmbeddingModel,
    texts: &[String],
    request: &EmbedRequest,
) -> CohereEmbedRequest {
    let v4 = model == EmbeddingModel::CohereV4;
    CohereEmbedRequest {
        texts: texts.to_vec(),
        input_type: request.input_type,
        truncate: Some(if v4 { CohereTruncate::Right } else { CohereTruncate::End }),
        embedding_types: v4.then(|| vec![CohereEmbeddingType::Float]),
        output_dimension: request.dimensions.filter(|_| model.has_dimensions_parameter()),
        max_tokens: None,
    }
}

/// Parses a Cohere response body (either `embeddings` shape) into its float vectors.
pub(super) fn parse(model: EmbeddingModel, body: &[u8]) -> Result<ParsedResponse, EmbedError> {
    let invalid = |reason: String| EmbedError::InvalidResponse { model, reason };
    let response: CohereEmbedResponse = serde_json::from_slice(body)
        .map_err(|err| invalid(format!("not a Cohere embeddings body: {err}")))?;
    let vectors = match response.embeddings {
        CohereEmbeddings::Floats(vectors) => vectors,
        CohereEmbeddings::ByType(by_type) => by_type
            .float
            .ok_or_else(|| invalid("`embeddings` has no `float` vectors".to_string()))?,
    };
    Ok(ParsedResponse { vectors, input_tokens: None })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::{call_body, parse_response};
    use serde_json::json;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|text| text.to_string()).collect()
    }

    #[test]
    fn v3_body_has_texts_input_type_and_truncate_end() {
        let request = EmbedRequest::documents(strings(&["hello world", "this is a test"]));
        for model in [EmbeddingModel::CohereEnglishV3, EmbeddingModel::CohereMultilingualV3] {
            let body = call_body(model, &request).expect("valid v3 request");
            assert_eq!(
                body,
                json!({
                    "texts": ["hello world", "this is a test"],
                    "input_type": "search_document",
                    "truncate": "END"
                })
            );
        }
    }

    #[test]
    fn the_input_type_reaches_the_body() {
        let cases = [
            (InputType::SearchDocument, "search_document"),
            (InputType::SearchQuery, "search_query"),
            (InputType::Classification, "classification"),
            (InputType::Clustering, "clustering"),
        ];
        for model in [EmbeddingModel::CohereEnglishV3, EmbeddingModel::CohereV4] {
            for (input_type, wire) in cases {
                let request = EmbedRequest::new(strings(&["text"]), input_type);
                let body = call_body(model, &request).expect("valid request");
                assert_eq!(body["input_type"], json!(wire), "{model}");
            }
            let query = call_body(model, &EmbedRequest::query("who wrote it?")).expect("query");
            assert_eq!(query["input_type"], json!("search_query"));
        }
    }

    #[test]
    fn v4_body_extends_the_documented_text_only_request() {
        // "B) Text-only corpus indexing" request on the v4 page, plus what quarry always sends.
        let request = EmbedRequest::documents(strings(&[
            "RAG system design patterns for insurance claims",
            "Actuarial loss triangles and reserving primer",
        ]));
        let body = call_body(EmbeddingModel::CohereV4, &request).expect("valid v4 request");
        assert_eq!(
            body,
            json!({
                "input_type": "search_document",
                "texts": [
                    "RAG system design patterns for insurance claims",
                    "Actuarial loss triangles and reserving primer"
                ],
                "truncate": "RIGHT",
                "embedding_types": ["float"]
            })
        );
        let mut smaller = request.clone();
        smaller.dimensions = Some(512);
        let body = call_body(EmbeddingModel::CohereV4, &smaller).expect("512 is a v4 size");
        assert_eq!(body["output_dimension"], json!(512));
        let v3 = call_body(EmbeddingModel::CohereEnglishV3, &request).expect("valid v3 request");
        assert!(v3.get("output_dimension").is_none() && v3.get("embedding_types").is_none());
    }

    #[test]
    fn documented_v4_request_reads_into_the_wire_type() {
        // "A) Interleaved page" request on the v4 page (its `inputs` are not modelled).
        let doc = json!({
            "input_type": "search_document",
            "inputs": [{"content": [
                {"type": "text", "text": "Quarterly ARR growth chart; outlier in Q3."},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,{{BASE64_PAGE_IMG}}"}}
            ]}],
            "embedding_types": ["int8"],
            "output_dimension": 512,
            "truncate": "RIGHT",
            "max_tokens": 128000
        });
        let read: CohereEmbedRequest = serde_json::from_value(doc).expect("doc request");
        assert!(read.texts.is_empty());
        assert_eq!(read.embedding_types, Some(vec![CohereEmbeddingType::Int8]));
        assert_eq!((read.output_dimension, read.max_tokens), (Some(512), Some(128_000)));
        assert_eq!(read.truncate, Some(CohereTruncate::Right));
    }

    #[test]
    fn parses_the_documented_v3_response() {
        // v3 Response: `{"embeddings": [[<1024 floats>]], "id", "response_type": "embeddings_floats", "texts"}`.
        let body = br#"{
            "embeddings": [[0.0135, -0.0272, 0.0411], [0.0047, 0.0189, -0.0033]],
            "id": "a0ea8c63-4a5f-4e1d-9a6a-1d1e3c6b2f10",
            "response_type": "embeddings_floats",
            "texts": ["hello world", "this is a test"]
        }"#;
        let parsed = parse_response(EmbeddingModel::CohereEnglishV3, body).expect("doc response");
        assert_eq!(
            parsed.vectors,
            vec![vec![0.0135, -0.0272, 0.0411], vec![0.0047, 0.0189, -0.0033]]
        );
        assert_eq!(parsed.input_tokens, None);
    }

    #[test]
    fn parses_both_documented_v4_response_shapes() {
        // "B) Text-only corpus indexing" sample response (no id, no texts).
        let floats = br#"{
            "response_type": "embeddings_floats",
            "embeddings": [[0.0135, -0.0272], [0.0047, 0.0189]]
        }"#;
        let parsed = parse_response(EmbeddingModel::CohereV4, floats).expect("doc response");
        assert_eq!(parsed.vectors, vec![vec![0.0135, -0.0272], vec![0.0047, 0.0189]]);

        // "If you requested multiple embedding types": embeddings keyed by type.
        let by_type = br#"{
            "id": "836a33cc-61ec-4e65-afaf-c4628171a315",
            "embeddings": {"float": [[0.5, -0.25]], "int8": [[7, -3]]},
            "response_type": "embeddings_by_type",
            "texts": ["hello world"]
        }"#;
        let parsed = parse_response(EmbeddingModel::CohereV4, by_type).expect("doc response");
        assert_eq!(parsed.vectors, vec![vec![0.5, -0.25]]);
        let read: CohereEmbedResponse = serde_json::from_slice(by_type).expect("wire type");
        assert_eq!(read.response_type, Some(CohereResponseType::EmbeddingsByType));
    }

    #[test]
    fn a_response_without_float_vectors_is_an_error() {
        // "A) Interleaved page" response on the v4 page: int8 only.
        let int8_only = br#"{
            "id": "836a33cc-61ec-4e65-afaf-c4628171a315",
            "embeddings": { "int8": [[ 7, -3 ]] },
            "response_type": "embeddings_by_type"
        }"#;
        let err = parse_response(EmbeddingModel::CohereV4, int8_only).expect_err("no floats");
        assert!(err.to_string().contains("no `float` vectors"), "{err}");
        let strings_for_floats =
            br#"{"embeddings": [["0.1", "0.2"]], "response_type": "embeddings_floats"}"#;
        assert!(matches!(
            parse_response(EmbeddingModel::CohereEnglishV3, strings_for_floats),
            Err(EmbedError::InvalidResponse { .. })
        ));
    }
}
