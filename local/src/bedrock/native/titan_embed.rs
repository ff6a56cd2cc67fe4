//! The Amazon Titan text embedding bodies, served by the local embedding model
//! (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-titan-embed-text.html).
//!
//! V2 (`amazon.titan-embed-text-v2:0`, and `local.embed-v1`): request
//! `{"inputText", "dimensions" (1024 | 512 | 256, default 1024), "normalize" (default true),
//! "embeddingTypes" (["float"] | ["binary"] | both)}`, response
//! `{"embedding": [float…], "embeddingsByType": {"float": […], "binary": [0|1…]}, "inputTextTokenCount"}`.
//! G1 (`amazon.titan-embed-text-v1`): request `{"inputText"}`, response
//! `{"embedding": [1536 floats], "inputTextTokenCount"}`.
//!
//! Local vectors are always unit length, so `"normalize": false` gives the same vector as `true`.
//! Titan embedding models do not stream on Bedrock; locally InvokeModelWithResponseStream answers
//! with one chunk holding the whole response body.

use serde_json::{Map, Value, json};

use super::{NativeAnswer, NativeFormat, StreamChunk, malformed};
use crate::aws_error::AwsError;
use crate::models::embedding::embed;
use crate::models::extractive::count_tokens;

/// Longest `inputText` Titan accepts, in characters.
const MAX_INPUT_CHARS: usize = 50_000;
/// G1's fixed vector size.
const G1_DIMENSIONS: usize = 1536;
/// V2's default vector size.
const V2_DEFAULT_DIMENSIONS: usize = 1024;

/// One text to embed and how the caller wants the vector.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbedRequest {
    pub text: String,
    pub dimensions: usize,
    /// The caller asked for a unit vector (local vectors always are).
    pub normalize: bool,
    /// Embedding types asked for (`float`, `binary`).
    pub types: Vec<String>,
}

/// Which Titan text embedding body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TitanEmbed {
    V2,
    G1,
}

impl TitanEmbed {
    fn allowed_keys(self) -> &'static [&'static str] {
        match self {
            TitanEmbed::V2 => &["inputText", "dimensions", "normalize", "embeddingTypes"],
            TitanEmbed::G1 => &["inputText"],
        }
    }
}

impl NativeFormat for TitanEmbed {
    fn answer(&self, body: &[u8]) -> Result<NativeAnswer, AwsError> {
        let request = self.parse_request(body)?;
        let vector = embed(&request.text, request.dimensions);
        let input_tokens = count_tokens(&request.text);
        let body = self.response_body(&request, &vector, input_tokens);
        Ok(NativeAnswer {
            chunks: vec![StreamChunk::framing(body.clone())],
            body,
            input_tokens,
            output_tokens: 0,
        })
    }
}

impl TitanEmbed {
    /// Checks and reads a request body.
    pub fn parse_request(&self, body: &[u8]) -> Result<EmbedRequest, AwsError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| malformed(&format!("expected a JSON object body ({e})")))?;
        let Value::Object(fields) = value else {
            return Err(malformed("#: expected type: JSONObject, found: JSONArray"));
        };
        if let Some(extra) = fields.keys().find(|k| !self.allowed_keys().contains(&k.as_str())) {
            return Err(malformed(&format!("#: extraneous key [{extra}] is not permitted")));
        }
        let text = match fields.get("inputText") {
            None => return Err(malformed("#: required key [inputText] not found")),
            Some(Value::String(text)) => text.clone(),
            Some(other) => return Err(type_error("inputText", "String", other)),
        };
        let length = text.chars().count();
        if length == 0 {
            return Err(malformed("#/inputText: expected minLength: 1, actual: 0"));
        }
        if length > MAX_INPUT_CHARS {
            return Err(malformed(&format!(
                "#/inputText: expected maxLength: {MAX_INPUT_CHARS}, actual: {length}"
            )));
        }
        if *self == TitanEmbed::G1 {
            return Ok(EmbedRequest {
                text,
                dimensions: G1_DIMENSIONS,
                normalize: true,
                types: vec!["float".to_owned()],
            });
        }
        Ok(EmbedRequest {
            text,
            dimensions: dimensions(&fields)?,
            normalize: match fields.get("normalize") {
                None => true,
                Some(Value::Bool(normalize)) => *normalize,
                Some(other) => return Err(type_error("normalize", "Boolean", other)),
            },
            types: embedding_types(&fields)?,
        })
    }

    /// The response body: `vector` of `request.text`, which has `input_tokens` tokens.
    pub fn response_body(
        &self,
        request: &EmbedRequest,
        vector: &[f32],
        input_tokens: u32,
    ) -> Value {
        if *self == TitanEmbed::G1 {
            return json!({"embedding": vector, "inputTextTokenCount": input_tokens});
        }
        let mut by_type = Map::new();
        for kind in &request.types {
            let values = match kind.as_str() {
                "binary" => json!(vector.iter().map(|x| u8::from(*x > 0.0)).collect::<Vec<u8>>()),
                _ => json!(vector),
            };
            by_type.insert(kind.clone(), values);
        }
        json!({
            "embedding": vector,
            "embeddingsByType": by_type,
            "inputTextTokenCount": input_tokens,
        })
    }
}

fn dimensions(fields: &Map<String, Value>) -> Result<usize, AwsError> {
    match fields.get("dimensions") {
        None => Ok(V2_DEFAULT_DIMENSIONS),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(d @ (256 | 512 | 1024)) => Ok(d as usize),
            _ => Err(malformed(&format!("#/dimensions: {n} is not a valid enum value"))),
        },
        Some(other) => Err(type_error("dimensions", "Integer", other)),
    }
}

fn embedding_types(fields: &Map<String, Value>) -> Result<Vec<String>, AwsError> {
    let Some(value) = fields.get("embeddingTypes") else { return Ok(vec!["float".to_owned()]) };
    let Value::Array(items) = value else {
        return Err(type_error("embeddingTypes", "JSONArray", value));
    };
    if items.is_empty() {
        return Err(malformed("#/embeddingTypes: expected minimum item count: 1, found: 0"));
    }
    let mut types: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.as_str() {
            Some(kind @ ("float" | "binary")) if !types.iter().any(|t| t == kind) => {
                types.push(kind.to_owned())
            }
            Some("float" | "binary") => {
                return Err(malformed("#/embeddingTypes: array items are not unique"));
            }
            _ => {
                return Err(malformed(&format!(
                    "#/embeddingTypes/{i}: {item} is not a valid enum value"
                )));
            }
        }
    }
    Ok(types)
}

fn type_error(key: &str, expected: &str, found: &Value) -> AwsError {
    let found = match found {
        Value::Null => "null",
        Value::Bool(_) => "Boolean",
        Value::Number(_) => "Number",
        Value::String(_) => "String",
        Value::Array(_) => "JSONArray",
        Value::Object(_) => "JSONObject",
    };
    malformed(&format!("#/{key}: expected type: {expected}, found: {found}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(format: TitanEmbed, body: Value) -> Result<EmbedRequest, AwsError> {
        format.parse_request(body.to_string().as_bytes())
    }

    /// The V2 request fields of the Titan embeddings page: inputText, dimensions, normalize,
    /// embeddingTypes.
    #[test]
    fn parses_the_documented_v2_request() {
        let request = parse(
            TitanEmbed::V2,
            json!({"inputText": "What are the different services that you offer?", "dimensions": 512, "normalize": true, "embeddingTypes": ["float", "binary"]}),
        )
        .expect("documented request");
        assert_eq!(request.dimensions, 512);
        assert_eq!(request.types, ["float", "binary"]);
    }

    #[test]
    fn v2_defaults_to_1024_float_dimensions() {
        let request =
            parse(TitanEmbed::V2, json!({"inputText": "hello"})).expect("minimal request");
        assert_eq!((request.dimensions, request.normalize), (1024, true));
        assert_eq!(request.types, ["float"]);
    }

    #[test]
    fn v2_response_has_embedding_by_type_and_token_count() {
        let request = parse(
            TitanEmbed::V2,
            json!({"inputText": "hi there", "dimensions": 256, "embeddingTypes": ["binary", "float"]}),
        )
        .expect("request");
        let vector = vec![0.5_f32, -0.5, 0.0, 0.25];
        let body = TitanEmbed::V2.response_body(&request, &vector, 2);
        assert_eq!(body["embedding"], json!(vector));
        assert_eq!(body["embeddingsByType"]["float"], json!(vector));
        assert_eq!(body["embeddingsByType"]["binary"], json!([1, 0, 0, 1]));
        assert_eq!(body["inputTextTokenCount"], 2);
    }

    #[test]
    fn an_answer_embeds_with_the_local_model_and_streams_as_one_chunk() {
        let body = json!({"inputText": "The warranty lasts two years.", "dimensions": 256});
        let answer = TitanEmbed::V2.answer(body.to_string().as_bytes()).expect("answer");
        let vector: Vec<f32> =
            serde_json::from_value(answer.body["embedding"].clone()).expect("floats");
        assert_eq!(vector, embed("The warranty lasts two years.", 256));
        assert_eq!((answer.input_tokens, answer.output_tokens), (6, 0));
        assert_eq!(answer.chunks, [StreamChunk::framing(answer.body.clone())]);
    }

    #[test]
    fn g1_takes_only_input_text_and_answers_1536_dimensions() {
        assert_eq!(parse(TitanEmbed::G1, json!({"inputText": "x"})).expect("g1").dimensions, 1536);
        let extra = parse(TitanEmbed::G1, json!({"inputText": "x", "dimensions": 256}))
            .expect_err("no dims");
        assert!(extra.message.contains("extraneous key [dimensions]"), "{}", extra.message);
    }

    #[test]
    fn invalid_bodies_are_malformed_input_requests() {
        let cases = [
            (
                json!({"inputText": "x", "dimensions": 300}),
                "#/dimensions: 300 is not a valid enum value",
            ),
            (json!({"dimensions": 256}), "#: required key [inputText] not found"),
            (json!({"inputText": ""}), "expected minLength: 1"),
            (json!({"inputText": 5}), "#/inputText: expected type: String, found: Number"),
            (json!({"inputText": "x", "normalize": "yes"}), "#/normalize: expected type: Boolean"),
            (json!({"inputText": "x", "embeddingTypes": ["int8"]}), "#/embeddingTypes/0"),
            (json!({"inputText": "x", "texts": []}), "extraneous key [texts]"),
            (json!(["inputText"]), "expected type: JSONObject"),
        ];
        for (body, expected) in cases {
            let error = parse(TitanEmbed::V2, body.clone()).expect_err("invalid body");
            assert_eq!(error.code, "ValidationException");
            assert!(error.message.starts_with("Malformed input request: "), "{}", error.message);
            assert!(error.message.contains(expected), "{body}: {}", error.message);
        }
        let not_json = TitanEmbed::V2.parse_request(b"{oops").expect_err("not json");
        assert!(not_json.message.starts_with("Malformed input request"), "{}", not_json.message);
    }
}
