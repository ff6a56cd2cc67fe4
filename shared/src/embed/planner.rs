//! The batching planner: splits a batch of texts into InvokeModel calls within the model's limits,
//! and the assembler that puts each call's vectors back in input order, checking count and length.

use std::ops::Range;

use super::{EmbedError, EmbedRequest, EmbeddingModel, body_for, parse_response};

/// One InvokeModel call of a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbedCall {
    /// The input texts this call embeds (indices into the request's `texts`).
    pub inputs: Range<usize>,
    /// The JSON body to send.
    pub body: serde_json::Value,
}

/// The calls that embed one [`EmbedRequest`] with one model.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbedPlan {
    model: EmbeddingModel,
    dimension: u32,
    input_count: usize,
    calls: Vec<EmbedCall>,
}

/// The result of a plan: one vector per input text, in input order.
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    /// The vectors, `vectors[i]` for input text `i`.
    pub vectors: Vec<Vec<f32>>,
    /// The length of every vector.
    pub dimension: u32,
    /// Input tokens over all calls, when every call reported them (body or header).
    pub input_tokens: Option<u64>,
}

/// Validates `request` for `model` and splits it into calls: Titan one text per call; Cohere up to
/// 96 texts per call, and for Cohere v4 also at most [`EmbeddingModel::max_call_text_bytes`] of text
/// per call (a longer text goes alone). Calls cover the inputs in order, without gaps.
pub fn plan(model: EmbeddingModel, request: &EmbedRequest) -> Result<EmbedPlan, EmbedError> {
    let dimension = request.validate(model)?;
    let max_texts = model.max_texts_per_call();
    let max_bytes = model.max_call_text_bytes();
    let mut ranges = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (index, text) in request.texts.iter().enumerate() {
        let taken = index - start;
        let full = taken == max_texts || max_bytes.is_some_and(|max| bytes + text.len() > max);
        if taken > 0 && full {
            ranges.push(start..index);
            (start, bytes) = (index, 0);
        }
        bytes += text.len();
    }
    ranges.push(start..request.texts.len());
    let calls = ranges
        .into_iter()
        .map(|inputs| {
            let body = body_for(model, &request.texts[inputs.clone()], request)?;
            Ok(EmbedCall { inputs, body })
        })
        .collect::<Result<_, EmbedError>>()?;
    Ok(EmbedPlan { model, dimension, input_count: request.texts.len(), calls })
}

impl EmbedPlan {
    /// The model every call goes to.
    pub fn model(&self) -> EmbeddingModel {
        self.model
    }

    /// The vector length every call must return.
    pub fn dimension(&self) -> u32 {
        self.dimension
    }

    /// How many texts the plan embeds.
    pub fn input_count(&self) -> usize {
        self.input_count
    }

    /// The calls, in input order; a call's number is its index here.
    pub fn calls(&self) -> &[EmbedCall] {
        &self.calls
    }

    /// An assembler collecting this plan's responses, in any completion order.
    pub fn assembler(&self) -> Assembler {
        Assembler {
            model: self.model,
            dimension: self.dimension,
            inputs: self.calls.iter().map(|call| call.inputs.clone()).collect(),
            vectors: vec![None; self.input_count],
            answered: vec![false; self.calls.len()],
            input_tokens: Some(0),
        }
    }
}

/// Collects the responses of one plan's calls (in any order) into input-ordered vectors.
#[derive(Debug, Clone)]
pub struct Assembler {
    model: EmbeddingModel,
    dimension: u32,
    inputs: Vec<Range<usize>>,
    vectors: Vec<Option<Vec<f32>>>,
    answered: Vec<bool>,
    input_tokens: Option<u64>,
}

impl Assembler {
    /// Adds the response body of call number `call`. `header_input_tokens` is the call's
    /// `x-amzn-bedrock-input-token-count` header, used when the body has no token count (Cohere).
    ///
    /// Errors when the call is unknown or already answered, the body is malformed, or it holds a
    /// different number of vectors than the call's texts or a vector of the wrong length; the
    /// assembler is then unchanged, so the call can be retried.
    pub fn add(
        &mut self,
        call: usize,
        body: &[u8],
        header_input_tokens: Option<u32>,
    ) -> Result<(), EmbedError> {
        let calls = self.inputs.len();
        let inputs =
            self.inputs.get(call).cloned().ok_or(EmbedError::UnknownCall { call, calls })?;
        if self.answered[call] {
            return Err(EmbedError::DuplicateCall { call });
        }
        let parsed = parse_response(self.model, body)?;
        if parsed.vectors.len() != inputs.len() {
            return Err(EmbedError::WrongVectorCount {
                model: self.model,
                call,
                expected: inputs.len(),
                got: parsed.vectors.len(),
            });
        }
        let expected = self.dimension;
        if let Some((offset, vector)) =
            parsed.vectors.iter().enumerate().find(|(_, vector)| vector.len() != expected as usize)
        {
            return Err(EmbedError::WrongDimension {
                model: self.model,
                index: inputs.start + offset,
                expected,
                got: vector.len(),
            });
        }
        let tokens = parsed.input_tokens.or(header_input_tokens);
        self.input_tokens = self.input_tokens.zip(tokens).map(|(sum, n)| sum + u64::from(n));
        for (slot, vector) in self.vectors[inputs].iter_mut().zip(parsed.vectors) {
            *slot = Some(vector);
        }
        self.answered[call] = true;
        Ok(())
    }

    /// The vectors in input order, once every call is answered.
    pub fn finish(self) -> Result<Embeddings, EmbedError> {
        let missing: Vec<usize> =
            self.answered.iter().enumerate().filter(|(_, done)| !**done).map(|(i, _)| i).collect();
        let vectors: Option<Vec<Vec<f32>>> = self.vectors.into_iter().collect();
        match vectors {
            Some(vectors) if missing.is_empty() => Ok(Embeddings {
                vectors,
                dimension: self.dimension,
                input_tokens: self.input_tokens,
            }),
            _ => Err(EmbedError::MissingCalls { missing }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::InputType;
    use crate::embed::cohere::{CohereEmbedResponse, CohereEmbeddings, CohereEmbeddingsByType};
    use crate::embed::titan::TitanEmbedResponse;
    use serde_json::json;

    /// A vector whose first value names the input it belongs to.
    fn vector_for(index: usize, dimension: u32) -> Vec<f32> {
        let mut vector = vec![0.5; dimension as usize];
        vector[0] = index as f32;
        vector
    }

    /// A well-formed response body for `call`, written with the wire types (as Bedrock would).
    fn answer(plan: &EmbedPlan, call: usize) -> Vec<u8> {
        let inputs = plan.calls()[call].inputs.clone();
        let vectors: Vec<Vec<f32>> = inputs.map(|i| vector_for(i, plan.dimension())).collect();
        let body = if plan.model().is_cohere() {
            let embeddings = if plan.model() == EmbeddingModel::CohereV4 {
                CohereEmbeddings::ByType(CohereEmbeddingsByType {
                    float: Some(vectors),
                    ..Default::default()
                })
            } else {
                CohereEmbeddings::Floats(vectors)
            };
            serde_json::to_vec(&CohereEmbedResponse {
                id: Some(format!("call-{call}")),
                response_type: None,
                embeddings,
                texts: None,
            })
        } else {
            serde_json::to_vec(&TitanEmbedResponse {
                embedding: vectors.into_iter().next(),
                input_text_token_count: Some(3),
                embeddings_by_type: None,
            })
        };
        body.expect("test bodies serialize")
    }

    fn numbered(count: usize) -> Vec<String> {
        (0..count).map(|i| format!("text number {i}")).collect()
    }

    #[test]
    fn titan_gets_one_text_per_call_with_a_titan_body() {
        let request = EmbedRequest::documents(numbered(3));
        for model in [EmbeddingModel::TitanTextV1, EmbeddingModel::TitanTextV2] {
            let plan = plan(model, &request).expect("valid");
            assert_eq!(plan.calls().len(), 3);
            for (i, call) in plan.calls().iter().enumerate() {
                assert_eq!(call.inputs, i..i + 1);
                assert_eq!(call.body, json!({ "inputText": format!("text number {i}") }));
            }
        }
    }

    #[test]
    fn cohere_batches_up_to_96_texts_per_call_in_order() {
        let request = EmbedRequest::documents(numbered(200));
        for model in [EmbeddingModel::CohereEnglishV3, EmbeddingModel::CohereV4] {
            let plan = plan(model, &request).expect("valid");
            let ranges: Vec<_> = plan.calls().iter().map(|call| call.inputs.clone()).collect();
            assert_eq!(ranges, vec![0..96, 96..192, 192..200], "{model}");
            for call in plan.calls() {
                assert_eq!(call.body["texts"], json!(request.texts[call.inputs.clone()]));
                assert_eq!(call.body["input_type"], json!("search_document"));
                assert!(call.body.get("inputText").is_none());
            }
        }
    }

    #[test]
    fn cohere_v4_calls_stay_within_the_token_budget() {
        let big = "x".repeat(50_000);
        let request =
            EmbedRequest::documents(vec![big.clone(), big.clone(), big, "y".repeat(130_000)]);
        let plan = plan(EmbeddingModel::CohereV4, &request).expect("valid");
        let ranges: Vec<_> = plan.calls().iter().map(|call| call.inputs.clone()).collect();
        assert_eq!(ranges, vec![0..2, 2..3, 3..4]);
    }

    #[test]
    fn queries_and_documents_keep_their_input_type_through_the_planner() {
        let query =
            plan(EmbeddingModel::CohereMultilingualV3, &EmbedRequest::query("q?")).expect("valid");
        assert_eq!(query.calls()[0].body["input_type"], json!("search_query"));
        let docs = EmbedRequest::new(numbered(2), InputType::SearchDocument);
        let docs = plan(EmbeddingModel::CohereV4, &docs).expect("valid");
        assert_eq!(docs.calls()[0].body["input_type"], json!("search_document"));
    }

    #[test]
    fn n_texts_give_n_vectors_in_input_order_whatever_the_completion_order() {
        let cases = [
            (EmbeddingModel::TitanTextV2, 5, vec![4, 2, 0, 3, 1]),
            (EmbeddingModel::CohereEnglishV3, 200, vec![2, 0, 1]),
            (EmbeddingModel::CohereV4, 97, vec![1, 0]),
        ];
        for (model, count, order) in cases {
            let plan = plan(model, &EmbedRequest::documents(numbered(count))).expect("valid");
            assert_eq!(plan.calls().len(), order.len(), "{model}");
            let mut assembler = plan.assembler();
            for call in order {
                assembler.add(call, &answer(&plan, call), Some(7)).expect("well-formed answer");
            }
            let result = assembler.finish().expect("all answered");
            assert_eq!(result.vectors.len(), count, "{model}");
            for (i, vector) in result.vectors.iter().enumerate() {
                assert_eq!(vector, &vector_for(i, plan.dimension()), "{model} input {i}");
            }
        }
    }

    #[test]
    fn input_tokens_come_from_the_body_or_the_header() {
        let titan = plan(EmbeddingModel::TitanTextV1, &EmbedRequest::documents(numbered(2)))
            .expect("valid");
        let mut assembler = titan.assembler();
        for call in 0..2 {
            assembler.add(call, &answer(&titan, call), None).expect("answer");
        }
        assert_eq!(assembler.finish().expect("done").input_tokens, Some(6));

        let cohere = plan(EmbeddingModel::CohereEnglishV3, &EmbedRequest::documents(numbered(100)))
            .expect("valid");
        let mut with_headers = cohere.assembler();
        with_headers.add(0, &answer(&cohere, 0), Some(400)).expect("answer");
        with_headers.add(1, &answer(&cohere, 1), Some(20)).expect("answer");
        assert_eq!(with_headers.finish().expect("done").input_tokens, Some(420));
        let mut partial = cohere.assembler();
        partial.add(0, &answer(&cohere, 0), Some(400)).expect("answer");
        partial.add(1, &answer(&cohere, 1), None).expect("answer");
        assert_eq!(partial.finish().expect("done").input_tokens, None);
    }

    #[test]
    fn a_batch_answered_with_one_concatenated_vector_is_rejected() {
        let plan = plan(EmbeddingModel::CohereEnglishV3, &EmbedRequest::documents(numbered(2)))
            .expect("valid");
        let concatenated =
            json!({ "embeddings": [vec![0.5_f32; 2048]], "response_type": "embeddings_floats" });
        let mut assembler = plan.assembler();
        let err = assembler
            .add(0, concatenated.to_string().as_bytes(), None)
            .expect_err("one vector for two texts");
        assert_eq!(
            err,
            EmbedError::WrongVectorCount {
                model: EmbeddingModel::CohereEnglishV3,
                call: 0,
                expected: 2,
                got: 1
            }
        );
        // The failed answer left nothing behind: the retried call completes the plan.
        assembler.add(0, &answer(&plan, 0), None).expect("retry");
        assert_eq!(assembler.finish().expect("done").vectors.len(), 2);
    }

    #[test]
    fn vectors_of_the_wrong_length_are_rejected() {
        let mut request = EmbedRequest::documents(numbered(3));
        request.dimensions = Some(256);
        let plan = plan(EmbeddingModel::TitanTextV2, &request).expect("valid");
        let default_sized = json!({ "embedding": vec![0.1_f32; 1024], "inputTextTokenCount": 3 });
        let mut assembler = plan.assembler();
        assert_eq!(
            assembler.add(2, default_sized.to_string().as_bytes(), None),
            Err(EmbedError::WrongDimension {
                model: EmbeddingModel::TitanTextV2,
                index: 2,
                expected: 256,
                got: 1024
            })
        );
        let cohere = super::plan(EmbeddingModel::CohereV4, &EmbedRequest::documents(numbered(3)))
            .expect("valid");
        let ragged = json!({ "embeddings": { "float": [vec![0.1_f32; 1536], vec![0.1_f32; 1535], vec![0.1_f32; 1536]] } });
        let err =
            cohere.assembler().add(0, ragged.to_string().as_bytes(), None).expect_err("ragged");
        assert!(matches!(err, EmbedError::WrongDimension { index: 1, got: 1535, .. }), "{err}");
    }

    #[test]
    fn malformed_unknown_duplicate_and_missing_answers_are_errors() {
        let plan =
            plan(EmbeddingModel::CohereV4, &EmbedRequest::documents(numbered(100))).expect("valid");
        let mut assembler = plan.assembler();
        for body in [&b"not json"[..], b"{\"message\":\"Too many requests\"}", b""] {
            assert!(matches!(
                assembler.add(0, body, None),
                Err(EmbedError::InvalidResponse { .. })
            ));
        }
        assert_eq!(
            assembler.add(5, &answer(&plan, 0), None),
            Err(EmbedError::UnknownCall { call: 5, calls: 2 })
        );
        assembler.add(1, &answer(&plan, 1), None).expect("answer");
        assert_eq!(
            assembler.add(1, &answer(&plan, 1), None),
            Err(EmbedError::DuplicateCall { call: 1 })
        );
        assert_eq!(assembler.finish(), Err(EmbedError::MissingCalls { missing: vec![0] }));
    }

    #[test]
    fn invalid_requests_produce_no_plan() {
        let mut request = EmbedRequest::documents(numbered(2));
        request.dimensions = Some(768);
        for model in EmbeddingModel::ALL {
            assert!(plan(model, &request).is_err(), "{model}");
        }
        assert_eq!(
            plan(EmbeddingModel::TitanTextV1, &EmbedRequest::documents(Vec::new())),
            Err(EmbedError::NoTexts)
        );
    }
}
