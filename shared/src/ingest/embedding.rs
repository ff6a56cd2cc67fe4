//! Embedding a document's chunks: the planner's calls sent at most `concurrency` at a time, each
//! retried on its own, so a throttled call costs one call again, not the document's.
//!
//! Each call first gets the SDK's standard retries (configured on the client: exponential backoff
//! with jitter, bounded by its attempts and retry quota). When those are spent on a retryable
//! error (throttling, 5xx, timeouts), the call waits and is sent again, up to
//! [`EMBED_RETRY_ROUNDS`] times, waiting [`FIRST_BACKOFF`] doubling up to [`MAX_BACKOFF`] with
//! jitter — unless the wait would end past the deadline: then the record fails retryable and its
//! message is redelivered later, rather than the invocation being killed mid-wait.

use std::ops::Range;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_bedrockruntime::Client;
use futures_util::stream::{self, StreamExt, TryStreamExt};

use super::IngestError;
use crate::bedrock::{self, CallError, CallOptions, EmbedOptions};
use crate::config::EmbeddingConfig;
use crate::embed::{EmbedRequest, InputType, plan};
use crate::model::ModelId;

/// Rounds of our own backoff after the SDK's retries of one call are spent.
pub const EMBED_RETRY_ROUNDS: u32 = 4;
/// The first wait before a round; each further round waits twice as long.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// The longest wait before a round.
pub const MAX_BACKOFF: Duration = Duration::from_secs(4);

const STAGE: &str = "embedding the chunks";

/// One vector per text, in order, embedded as `search_document` with `embedding`'s model and
/// dimensions.
pub(crate) async fn embed_documents(
    bedrock: &Client,
    embedding: &EmbeddingConfig,
    texts: Vec<String>,
    concurrency: usize,
    call: CallOptions,
) -> Result<Vec<Vec<f32>>, IngestError> {
    let request = EmbedRequest {
        texts,
        input_type: InputType::SearchDocument,
        dimensions: Some(embedding.dimensions),
        normalize: None,
    };
    let plan = plan(embedding.model, &request)
        .map_err(|error| IngestError::Embed { reason: error.to_string(), retryable: false })?;
    let calls: Vec<_> = plan
        .calls()
        .iter()
        .map(|planned| {
            let inputs = planned.inputs.clone();
            let part = EmbedRequest {
                texts: request.texts[inputs.clone()].to_vec(),
                input_type: request.input_type,
                dimensions: request.dimensions,
                normalize: request.normalize,
            };
            embed_call(bedrock, &embedding.model_id, part, inputs, call)
        })
        .collect();
    let mut vectors = vec![Vec::new(); request.texts.len()];
    let mut answers = stream::iter(calls).buffer_unordered(concurrency.max(1));
    while let Some((inputs, got)) = answers.try_next().await? {
        for (slot, vector) in vectors[inputs].iter_mut().zip(got) {
            *slot = vector;
        }
    }
    Ok(vectors)
}

/// One planned call, with our rounds of backoff; its vectors and the inputs they belong to.
async fn embed_call(
    bedrock: &Client,
    model_id: &ModelId,
    request: EmbedRequest,
    inputs: Range<usize>,
    call: CallOptions,
) -> Result<(Range<usize>, Vec<Vec<f32>>), IngestError> {
    let options = EmbedOptions { concurrency: 1, call };
    let mut round = 0;
    loop {
        let error = match bedrock::embed(bedrock, model_id, &request, &options).await {
            Ok(embeddings) => return Ok((inputs, embeddings.vectors)),
            Err(CallError::DeadlineExceeded) => {
                return Err(IngestError::DeadlineExceeded { stage: STAGE });
            }
            Err(error) => error,
        };
        if !error.is_retryable() || round >= EMBED_RETRY_ROUNDS {
            return Err(IngestError::Embed {
                reason: format!("texts {inputs:?} after {} rounds: {error}", round + 1),
                retryable: error.is_retryable(),
            });
        }
        let wait = backoff(round);
        if call.deadline.is_some_and(|deadline| Instant::now() + wait >= deadline) {
            return Err(IngestError::DeadlineExceeded { stage: STAGE });
        }
        tracing::warn!(texts = ?inputs, round = round + 1, wait_ms = wait.as_millis() as u64, %error, "embedding call failed after the SDK's retries; backing off");
        tokio::time::sleep(wait).await;
        round += 1;
    }
}

/// The wait before round `round + 1`: half of [`FIRST_BACKOFF`]·2^round (capped at
/// [`MAX_BACKOFF`]) plus a jitter of up to the other half, so throttled callers spread out.
fn backoff(round: u32) -> Duration {
    let full = FIRST_BACKOFF.saturating_mul(1 << round.min(16)).min(MAX_BACKOFF);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let half = full / 2;
    half + half.mul_f64(f64::from(nanos % 1_000) / 1_000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_its_bounds() {
        for round in 0..10 {
            let full = FIRST_BACKOFF.saturating_mul(1 << round).min(MAX_BACKOFF);
            let wait = backoff(round);
            assert!(wait >= full / 2 && wait <= full, "round {round}: {wait:?} of {full:?}");
        }
        assert!(backoff(30) <= MAX_BACKOFF);
    }
}
