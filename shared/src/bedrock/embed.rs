//! Embedding a batch of texts: [`crate::embed::plan`] splits it into InvokeModel calls, the calls
//! go out with bounded concurrency, and the [`Assembler`](crate::embed::Assembler) puts the
//! vectors back in input order.

use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::primitives::Blob;
use futures_util::stream::{self, StreamExt, TryStreamExt};

use super::chat::JSON;
use super::deadline::CallBudget;
use super::headers::TokenCountHeaders;
use super::{CallError, CallOptions};
use crate::embed::{EmbedCall, EmbedError, EmbedRequest, EmbeddingModel, Embeddings, plan};
use crate::model::ModelId;

/// Calls in flight at once when [`EmbedOptions::concurrency`] is left at its default.
pub const DEFAULT_EMBED_CONCURRENCY: usize = 4;

/// How a batch of embedding calls is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbedOptions {
    /// At most this many InvokeModel calls in flight at once (0 counts as 1). Keep it below the
    /// account's requests-per-minute quota share of one function instance.
    pub concurrency: usize,
    /// The deadline every call must meet (see [`CallOptions`]).
    pub call: CallOptions,
}

impl Default for EmbedOptions {
    fn default() -> Self {
        EmbedOptions { concurrency: DEFAULT_EMBED_CONCURRENCY, call: CallOptions::default() }
    }
}

/// Embeds `request.texts` with `model_id` (a base model id, inference profile or ARN of a
/// supported embedding model): one vector per text, in input order.
///
/// The request is validated and planned before anything is sent. Calls go out at most
/// `options.concurrency` at a time, each bounded by the deadline; the first failure stops the
/// batch (calls still in flight are dropped) and is returned. Input tokens are summed from the
/// bodies, or from the `x-amzn-bedrock-input-token-count` header for models whose bodies have
/// none (Cohere).
pub async fn embed(
    client: &Client,
    model_id: &ModelId,
    request: &EmbedRequest,
    options: &EmbedOptions,
) -> Result<Embeddings, CallError> {
    let model = EmbeddingModel::from_model_id(&model_id.to_string())?;
    let plan = plan(model, request)?;
    // Fail fast on a passed deadline, before the first call; each call checks it again.
    CallBudget::start(client, &options.call)?;
    let model_id = model_id.to_string();
    // The futures are built up front (not in a `map` closure over borrowed calls) so the whole
    // future stays `Send` for callers that spawn it, such as an axum handler.
    let calls: Vec<_> = plan
        .calls()
        .iter()
        .enumerate()
        .map(|(index, call)| send(client, &model_id, model, index, call, &options.call))
        .collect();
    let mut answers = stream::iter(calls).buffer_unordered(options.concurrency.max(1));
    let mut assembler = plan.assembler();
    while let Some((index, body, input_tokens)) = answers.try_next().await? {
        assembler.add(index, &body, input_tokens)?;
    }
    Ok(assembler.finish()?)
}

/// Sends call number `index` of a plan; its answer's body and header input-token count.
async fn send(
    client: &Client,
    model_id: &str,
    model: EmbeddingModel,
    index: usize,
    call: &EmbedCall,
    options: &CallOptions,
) -> Result<(usize, Vec<u8>, Option<u32>), CallError> {
    let body = serde_json::to_vec(&call.body)
        .map_err(|error| EmbedError::Body { model, reason: error.to_string() })?;
    let budget = CallBudget::start(client, options)?;
    let headers = TokenCountHeaders::default();
    let operation = client
        .invoke_model()
        .model_id(model_id)
        .content_type(JSON)
        .accept(JSON)
        .body(Blob::new(body))
        .customize()
        .interceptor(headers.clone());
    let output = budget.apply(operation).send().await.map_err(|error| budget.error(&error))?;
    Ok((index, output.body.into_inner(), headers.counts().input))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use aws_sdk_bedrockruntime::config::retry::RetryConfig;
    use serde_json::json;

    use super::*;
    use crate::bedrock::test_support::{StubBedrock, client, local, model};
    use crate::error::BedrockErrorKind;

    const TITAN_V2: &str = "amazon.titan-embed-text-v2:0";

    fn five_texts() -> Vec<String> {
        [
            "The warranty lasts two years.",
            "Returns are accepted within 30 days.",
            "The office opens at 9am.",
            "Parking is free for visitors.",
            "The cafeteria serves lunch from noon.",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    fn request_256() -> EmbedRequest {
        EmbedRequest { dimensions: Some(256), ..EmbedRequest::documents(five_texts()) }
    }

    #[tokio::test]
    async fn titan_v2_vectors_come_back_in_input_order() {
        let server = local("").await;
        let client = client(&server, RetryConfig::disabled());
        let options = EmbedOptions { concurrency: 2, ..EmbedOptions::default() };
        let embeddings = embed(&client, &model(TITAN_V2), &request_256(), &options)
            .await
            .expect("the local endpoint embeds");
        assert_eq!(embeddings.dimension, 256);
        let expected: Vec<Vec<f32>> = five_texts()
            .iter()
            .map(|text| quarry_local::models::embedding::embed(text, 256))
            .collect();
        assert_eq!(embeddings.vectors, expected);
        assert!(embeddings.input_tokens.is_some_and(|n| n >= 5), "{:?}", embeddings.input_tokens);
        assert_eq!(server.faults().calls(), 5, "Titan embeds one text per call");
    }

    #[tokio::test]
    async fn no_more_calls_are_in_flight_than_the_concurrency() {
        // Every call waits 300 ms: five calls two at a time take three rounds, not one and not five.
        let server = local("latency_ms=300").await;
        let client = client(&server, RetryConfig::disabled());
        let options = EmbedOptions { concurrency: 2, ..EmbedOptions::default() };
        let started = Instant::now();
        let embeddings =
            embed(&client, &model(TITAN_V2), &request_256(), &options).await.expect("embeds");
        let elapsed = started.elapsed();
        assert_eq!(embeddings.vectors.len(), 5);
        assert!(elapsed >= Duration::from_millis(900), "bounded: {elapsed:?}");
        assert!(elapsed < Duration::from_millis(1_500), "concurrent: {elapsed:?}");
    }

    #[tokio::test]
    async fn a_failed_call_fails_the_batch_with_its_classification() {
        let server = local("throttle_every=3").await;
        let client = client(&server, RetryConfig::disabled());
        let options = EmbedOptions { concurrency: 1, ..EmbedOptions::default() };
        let error = embed(&client, &model(TITAN_V2), &request_256(), &options)
            .await
            .expect_err("the third call is throttled");
        assert_eq!(error.as_bedrock().map(|e| e.kind), Some(BedrockErrorKind::Throttling));
        assert_eq!(server.faults().calls(), 3, "the batch stops at the first failure");
    }

    #[tokio::test]
    async fn invalid_requests_are_refused_before_any_call() {
        let server = local("").await;
        let client = client(&server, RetryConfig::disabled());
        let options = EmbedOptions::default();
        let unknown = embed(
            &client,
            &model("anthropic.claude-3-haiku-20240307-v1:0"),
            &request_256(),
            &options,
        )
        .await
        .expect_err("not an embedding model");
        assert!(
            matches!(unknown, CallError::Embed(EmbedError::UnknownModel { .. })),
            "{unknown:?}"
        );
        let too_big = EmbedRequest { dimensions: Some(300), ..request_256() };
        let error =
            embed(&client, &model(TITAN_V2), &too_big, &options).await.expect_err("no 300 dims");
        assert!(matches!(error, CallError::Embed(EmbedError::UnsupportedDimensions { .. })));
        assert_eq!(error.http_status(), 400);
        assert_eq!(server.faults().calls(), 0);
    }

    #[tokio::test]
    async fn cohere_input_tokens_come_from_the_header() {
        // The `embeddings_floats` response of the AWS page "Cohere Embed models"
        // (model-parameters-embed): `embeddings`, `id`, `response_type`, `texts`; no token count.
        let texts = ["The warranty lasts two years.", "Returns are accepted within 30 days."];
        let body = json!({
            "embeddings": [vec![0.018_f32; 1024], vec![-0.021_f32; 1024]],
            "id": "f3c5d5e0-8c1b-4a1e-9a3d-2b7c4e6f8a90",
            "response_type": "embeddings_floats",
            "texts": texts,
        });
        let bedrock = StubBedrock::answering(
            serde_json::to_vec(&body).expect("body"),
            &[("content-type", "application/json"), ("x-amzn-bedrock-input-token-count", "14")],
        );
        let request = EmbedRequest::documents(texts.map(str::to_owned).to_vec());
        let embeddings = embed(
            &bedrock.client(),
            &model("cohere.embed-english-v3"),
            &request,
            &EmbedOptions::default(),
        )
        .await
        .expect("embeds");
        assert_eq!(embeddings.vectors.len(), 2);
        assert_eq!(embeddings.vectors[1][0], -0.021);
        assert_eq!(embeddings.input_tokens, Some(14));
        let sent = bedrock.requests();
        assert_eq!(sent.len(), 1, "Cohere takes both texts in one call");
        assert_eq!(sent[0].json()["texts"], json!(texts));
        assert_eq!(sent[0].json()["input_type"], "search_document");
    }
}
