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
    let mut answers = stream::iter(plan.calls().iter().enumerate())
        .map(|(index, call)| send(client, &model_id, model, index, call, &options.call))
        .buffer_unordered(options.concurrency.max(1));
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
