//! The Cohere Embed v3 / v4 bodies, served by the local embedding model, in the wire types of
//! [`quarry::embed::cohere`]
//! (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-embed-v3.html,
//! https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-embed-v4.html).
//!
//! Checks: `input_type` required (`search_document`, `search_query`, `classification`,
//! `clustering`), `texts` at most 96 per call, each at most 2,048 characters for v3; `truncate`
//! `NONE`/`START`/`END` (v3) or `NONE`/`LEFT`/`RIGHT` (v4); `embedding_types` from `float`, `int8`,
//! `uint8`, `binary`, `ubinary`; v4's `output_dimension` 256, 512, 1024 or 1536 (default 1536) and
//! `max_tokens` ≤ 128,000. v3 vectors have 1024 dimensions. The local model embeds text only:
//! `images` / `inputs` bodies are refused.
//!
//! The answer is `embeddings_floats` (`embeddings: [[…]]`) when `embedding_types` is absent, else
//! `embeddings_by_type` with every type asked for: `int8` / `uint8` scale the unit vector to
//! −127..=127 / 0..=255, `binary` / `ubinary` pack one sign bit per dimension (eight per byte, the
//! first dimension in the highest bit), signed bytes offset by −128. Cohere bodies carry no token
//! count: the `x-amzn-bedrock-input-token-count` header does. Bedrock does not stream Cohere
//! Embed; as for Titan, the local stream is one chunk holding the whole body.

use quarry::embed::EmbeddingModel;
use quarry::embed::cohere::{
    CohereEmbedRequest, CohereEmbedResponse, CohereEmbeddingType, CohereEmbeddings,
    CohereEmbeddingsByType, CohereResponseType,
};
use serde_json::Value;

use super::chat::stable_id;
use super::schema::BodyCheck;
use super::{NativeAnswer, NativeFormat, StreamChunk, malformed, to_json};
use crate::aws_error::AwsError;
use crate::models::embedding::embed;
use crate::models::extractive::count_tokens;

/// Texts one call may carry.
const MAX_TEXTS: usize = 96;
/// Characters per text for v3.
const V3_MAX_CHARS: usize = 2_048;

const INPUT_TYPES: &[&str] = &["search_document", "search_query", "classification", "clustering"];
const EMBEDDING_TYPES: &[&str] = &["float", "int8", "uint8", "binary", "ubinary"];

/// The body of one Cohere embedding model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CohereEmbed(pub EmbeddingModel);

impl CohereEmbed {
    fn is_v4(self) -> bool {
        self.0 == EmbeddingModel::CohereV4
    }

    /// Checks and reads a request body.
    pub fn parse_request(self, body: &[u8]) -> Result<CohereEmbedRequest, AwsError> {
        let mut check = BodyCheck::parse(body)?;
        let v4_keys = ["output_dimension", "max_tokens", "inputs"];
        let mut keys = vec!["texts", "images", "input_type", "truncate", "embedding_types"];
        if self.is_v4() {
            keys.extend(v4_keys);
        }
        check
            .required(&["input_type"])
            .allowed(&keys)
            .one_of("input_type", INPUT_TYPES)
            .array("texts")
            .items("texts", None, Some(MAX_TEXTS))
            .array("embedding_types")
            .items("embedding_types", Some(1), None);
        let truncations: &[&str] =
            if self.is_v4() { &["NONE", "LEFT", "RIGHT"] } else { &["NONE", "START", "END"] };
        check.one_of("truncate", truncations);
        let texts = check.get("texts").and_then(Value::as_array).map_or(0, Vec::len);
        for i in 0..texts {
            let at = format!("texts/{i}");
            check.string(&at);
            if !self.is_v4() {
                check.length(&at, None, Some(V3_MAX_CHARS));
            }
        }
        let types = check.get("embedding_types").and_then(Value::as_array).map_or(0, Vec::len);
        for i in 0..types {
            check.one_of(&format!("embedding_types/{i}"), EMBEDDING_TYPES);
        }
        if self.is_v4() {
            check.integer("max_tokens", Some(1), Some(128_000));
            if let Some(dimension) = check.get("output_dimension").cloned()
                && !matches!(dimension.as_u64(), Some(256 | 512 | 1024 | 1536))
            {
                check.fail("output_dimension", format!("{dimension} is not a valid enum value"));
            }
        }
        check.check()?;
        if !check.fields().contains_key("texts") {
            return Err(malformed(
                "#: required key [texts] not found (the local embedding model embeds text only; images and inputs are not supported)",
            ));
        }
        if ["images", "inputs"].iter().any(|key| check.fields().contains_key(*key)) {
            return Err(malformed(
                "#: only one of texts, images and inputs may be given, and the local embedding model embeds text only",
            ));
        }
        check.into_wire()
    }

    /// The vector length a request gets.
    fn dimension(self, request: &CohereEmbedRequest) -> usize {
        let dimension = if self.is_v4() {
            request.output_dimension.unwrap_or_else(|| self.0.default_dimension())
        } else {
            self.0.default_dimension()
        };
        usize::try_from(dimension).unwrap_or_default()
    }

    /// The response body of `vectors` for `request`.
    pub fn response_body(
        self,
        request: &CohereEmbedRequest,
        vectors: Vec<Vec<f32>>,
    ) -> Result<Value, AwsError> {
        let id = stable_id(&request.texts.join("\u{0}"));
        let (response_type, embeddings) = match &request.embedding_types {
            None => (CohereResponseType::EmbeddingsFloats, CohereEmbeddings::Floats(vectors)),
            Some(types) => {
                let mut by_type = CohereEmbeddingsByType::default();
                for kind in types {
                    match kind {
                        CohereEmbeddingType::Float => by_type.float = Some(vectors.clone()),
                        CohereEmbeddingType::Int8 => {
                            by_type.int8 = Some(vectors.iter().map(|v| int8(v)).collect());
                        }
                        CohereEmbeddingType::Uint8 => {
                            by_type.uint8 = Some(vectors.iter().map(|v| uint8(v)).collect());
                        }
                        CohereEmbeddingType::Binary => {
                            by_type.binary = Some(vectors.iter().map(|v| binary(v)).collect());
                        }
                        CohereEmbeddingType::Ubinary => {
                            by_type.ubinary = Some(vectors.iter().map(|v| ubinary(v)).collect());
                        }
                    }
                }
                (CohereResponseType::EmbeddingsByType, CohereEmbeddings::ByType(by_type))
            }
        };
        to_json(&CohereEmbedResponse {
            id: Some(id),
            response_type: Some(response_type),
            embeddings,
            texts: Some(request.texts.clone()),
        })
    }
}

impl NativeFormat for CohereEmbed {
    fn answer(&self, body: &[u8]) -> Result<NativeAnswer, AwsError> {
        let request = self.parse_request(body)?;
        let dimension = self.dimension(&request);
        let vectors: Vec<Vec<f32>> = request.texts.iter().map(|t| embed(t, dimension)).collect();
        let input_tokens =
            request.texts.iter().map(|t| count_tokens(t)).fold(0, u32::saturating_add);
        let body = self.response_body(&request, vectors)?;
        Ok(NativeAnswer {
            chunks: vec![StreamChunk::framing(body.clone())],
            body,
            input_tokens,
            output_tokens: 0,
        })
    }
}

/// Each dimension of a unit vector scaled to −127..=127.
fn int8(vector: &[f32]) -> Vec<i8> {
    vector.iter().map(|x| (x * 127.0).round().clamp(-127.0, 127.0) as i8).collect()
}

/// Each dimension of a unit vector scaled to 0..=255.
fn uint8(vector: &[f32]) -> Vec<u8> {
    vector.iter().map(|x| ((x + 1.0) * 127.5).round().clamp(0.0, 255.0) as u8).collect()
}

/// One bit per dimension (set when positive), eight to a byte, the first dimension highest.
fn ubinary(vector: &[f32]) -> Vec<u8> {
    vector
        .chunks(8)
        .map(|bits| {
            bits.iter()
                .enumerate()
                .fold(0_u8, |byte, (i, x)| if *x > 0.0 { byte | (0x80 >> i) } else { byte })
        })
        .collect()
}

/// [`ubinary`] as signed bytes (offset by −128).
fn binary(vector: &[f32]) -> Vec<i8> {
    ubinary(vector).into_iter().map(|b| (i16::from(b) - 128) as i8).collect()
}

#[cfg(test)]
mod tests {
    use quarry::embed::{EmbedRequest, InputType, call_body, parse_response};
    use serde_json::json;

    use super::*;

    const V3: CohereEmbed = CohereEmbed(EmbeddingModel::CohereEnglishV3);
    const V4: CohereEmbed = CohereEmbed(EmbeddingModel::CohereV4);

    fn answer(format: CohereEmbed, body: Value) -> Result<NativeAnswer, AwsError> {
        format.answer(body.to_string().as_bytes())
    }

    /// The v3 request fields of "Cohere Embed v3" (texts, input_type, truncate); the texts are ours.
    #[test]
    fn the_documented_v3_request_gets_1024_dimension_float_vectors() {
        let texts = ["The warranty lasts two years.", "Returns are free."];
        let answer =
            answer(V3, json!({"texts": texts, "input_type": "search_document", "truncate": "END"}))
                .expect("documented body");
        assert_eq!(answer.body["response_type"], "embeddings_floats");
        let parsed =
            parse_response(EmbeddingModel::CohereEnglishV3, answer.body.to_string().as_bytes())
                .expect("quarry reads it");
        assert_eq!(parsed.vectors, texts.map(|t| embed(t, 1024)));
        assert_eq!(answer.input_tokens, 10);
        assert_eq!(answer.chunks.len(), 1);
    }

    #[test]
    fn the_body_quarry_writes_for_v4_is_answered_in_the_asked_dimension() {
        let mut request = EmbedRequest::query("How long is the warranty?");
        request.dimensions = Some(512);
        let body = call_body(EmbeddingModel::CohereV4, &request).expect("body");
        assert_eq!(body["input_type"], json!(InputType::SearchQuery));
        let answer = V4.answer(body.to_string().as_bytes()).expect("answer");
        assert_eq!(answer.body["response_type"], "embeddings_by_type");
        let parsed = parse_response(EmbeddingModel::CohereV4, answer.body.to_string().as_bytes())
            .expect("quarry reads it");
        assert_eq!(parsed.vectors, [embed("How long is the warranty?", 512)]);
        let default = answer_v4_default();
        assert_eq!(default["embeddings"][0].as_array().map(Vec::len), Some(1536));
    }

    fn answer_v4_default() -> Value {
        answer(V4, json!({"texts": ["hi"], "input_type": "clustering"})).expect("answer").body
    }

    #[test]
    fn every_embedding_type_is_answered() {
        let body = json!({"texts": ["The warranty lasts two years."], "input_type": "classification", "embedding_types": ["float", "int8", "uint8", "binary", "ubinary"]});
        let answer = answer(V3, body).expect("answer");
        let embeddings = &answer.body["embeddings"];
        let float: Vec<f32> =
            serde_json::from_value(embeddings["float"][0].clone()).expect("floats");
        let int8: Vec<i8> = serde_json::from_value(embeddings["int8"][0].clone()).expect("int8");
        let uint8: Vec<u8> = serde_json::from_value(embeddings["uint8"][0].clone()).expect("uint8");
        let binary: Vec<i8> =
            serde_json::from_value(embeddings["binary"][0].clone()).expect("binary");
        let ubinary: Vec<u8> =
            serde_json::from_value(embeddings["ubinary"][0].clone()).expect("ubinary");
        assert_eq!((float.len(), int8.len(), uint8.len()), (1024, 1024, 1024));
        assert_eq!((binary.len(), ubinary.len()), (128, 128));
        let strongest = float
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i)
            .expect("dims");
        assert!(int8[strongest] > 0 && uint8[strongest] > 128);
        assert_eq!(ubinary[strongest / 8] & (0x80 >> (strongest % 8)), 0x80 >> (strongest % 8));
        assert_eq!(i16::from(binary[0]), i16::from(ubinary[0]) - 128);
    }

    #[test]
    fn bodies_bedrock_rejects_are_validation_exceptions() {
        let many: Vec<String> = (0..97).map(|i| format!("text {i}")).collect();
        let long = "a".repeat(2_049);
        let cases = [
            (V3, json!({"texts": ["hi"]}), "#: required key [input_type] not found"),
            (
                V3,
                json!({"texts": many, "input_type": "search_document"}),
                "#/texts: expected maximum item count: 96, found: 97",
            ),
            (
                V3,
                json!({"texts": ["ok", long], "input_type": "search_document"}),
                "#/texts/1: expected maxLength: 2048, actual: 2049",
            ),
            (
                V3,
                json!({"texts": ["hi"], "input_type": "search"}),
                "#/input_type: \"search\" is not a valid enum value",
            ),
            (
                V3,
                json!({"texts": ["hi"], "input_type": "search_query", "truncate": "RIGHT"}),
                "#/truncate: \"RIGHT\" is not a valid enum value",
            ),
            (
                V3,
                json!({"texts": ["hi"], "input_type": "search_query", "output_dimension": 512}),
                "#: extraneous key [output_dimension] is not permitted",
            ),
            (
                V4,
                json!({"texts": ["hi"], "input_type": "search_query", "output_dimension": 300}),
                "#/output_dimension: 300 is not a valid enum value",
            ),
            (
                V4,
                json!({"texts": ["hi"], "input_type": "search_query", "embedding_types": ["int4"]}),
                "#/embedding_types/0: \"int4\" is not a valid enum value",
            ),
            (
                V4,
                json!({"images": ["data:image/png;base64,AAAA"], "input_type": "search_query"}),
                "required key [texts] not found",
            ),
        ];
        for (format, body, expected) in cases {
            let error = answer(format, body.clone()).expect_err("rejected");
            assert_eq!(error.code, "ValidationException");
            assert!(error.message.contains(expected), "{body}: {}", error.message);
        }
        let long_v4 =
            answer(V4, json!({"texts": ["word ".repeat(600)], "input_type": "search_document"}));
        assert!(long_v4.is_ok(), "v4 has no character limit");
    }
}
