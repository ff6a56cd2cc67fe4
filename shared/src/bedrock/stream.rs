//! Streamed chat answers: ConverseStream, and InvokeModelWithResponseStream through a family's
//! stream decoder, both as one [`ChatStream`] of quarry [`StreamEvent`]s.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::primitives::event_stream::EventReceiver;
use aws_sdk_bedrockruntime::types::error::{ConverseStreamOutputError, ResponseStreamError};
use aws_sdk_bedrockruntime::types::{ConverseStreamOutput, ResponseStream};
use futures_util::stream::{self, BoxStream, Stream, StreamExt};

use super::chat::{JSON, NativeCall};
use super::deadline::{CallBudget, until};
use super::native_guardrail;
use super::{CallError, CallOptions};
use crate::adapters::StreamDecoder;
use crate::chat::{
    ChatRequest, ChatResponse, ConverseParts, ConverseStreamDecoder, GuardrailOutcome, StopReason,
    StreamAccumulator, StreamEvent,
};
use crate::model::ModelId;

/// A streamed answer: quarry [`StreamEvent`]s in order, or the [`CallError`] that ended the
/// stream (a stream exception such as `ModelStreamErrorException` or throttling mid-stream, a
/// dropped connection, an unreadable chunk, or the deadline). Nothing follows an error.
pub struct ChatStream {
    events: BoxStream<'static, Result<StreamEvent, CallError>>,
    guardrail: GuardrailHandle,
}

impl ChatStream {
    fn new(
        events: impl Stream<Item = Result<StreamEvent, CallError>> + Send + 'static,
        guardrail: GuardrailHandle,
    ) -> Self {
        ChatStream { events: events.boxed(), guardrail }
    }

    /// A handle on the stream's guardrail outcome, readable after the stream ends (keep it
    /// before handing the stream to a consumer that takes it).
    pub fn guardrail(&self) -> GuardrailHandle {
        self.guardrail.clone()
    }

    /// Reads the whole stream and folds it into one answer, with its guardrail outcome.
    pub async fn into_response(mut self) -> Result<ChatResponse, CallError> {
        let mut answer = StreamAccumulator::new();
        while let Some(event) = self.events.next().await {
            answer.push(&event?);
        }
        let mut response = answer.finish();
        response.guardrail = self.guardrail.get();
        Ok(response)
    }
}

impl Stream for ChatStream {
    type Item = Result<StreamEvent, CallError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.events.as_mut().poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.events.size_hint()
    }
}

impl std::fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatStream").field("guardrail", &self.guardrail.get()).finish_non_exhaustive()
    }
}

/// What the guardrail of one stream did, filled in as the stream is read (complete once it has
/// ended). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct GuardrailHandle {
    outcome: Arc<Mutex<Option<GuardrailOutcome>>>,
}

impl GuardrailHandle {
    /// The outcome so far: `None` when no guardrail ran (or it reported nothing yet).
    pub fn get(&self) -> Option<GuardrailOutcome> {
        self.lock().clone()
    }

    fn set(&self, outcome: Option<GuardrailOutcome>) {
        *self.lock() = outcome;
    }

    fn merge(&self, outcome: GuardrailOutcome) {
        let mut slot = self.lock();
        *slot = Some(native_guardrail::merge(slot.take(), outcome));
    }

    fn intervened(&self) -> bool {
        self.lock().as_ref().is_some_and(|outcome| outcome.intervened)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<GuardrailOutcome>> {
        // Plain data, always consistent: a panic elsewhere cannot leave it half-written.
        self.outcome.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Streams `request` from `model` through ConverseStream.
///
/// Mapped like [`super::converse`]; the guardrail runs in Bedrock's default (synchronous) stream
/// mode, and its outcome (from the stop reason and the metadata event's trace) is on
/// [`ChatStream::guardrail`] once the stream has ended.
pub async fn converse_stream(
    client: &Client,
    model: &ModelId,
    request: &ChatRequest,
    options: &CallOptions,
) -> Result<ChatStream, CallError> {
    let parts = ConverseParts::from_request(request, model.family().ok())
        .map_err(CallError::Converse)?;
    let budget = CallBudget::start(client, options)?;
    let call = parts
        .apply_to_converse_stream(client.converse_stream().model_id(model.to_string()))
        .customize();
    let output = budget.apply(call).send().await.map_err(|error| budget.error(&error))?;
    let guardrail = GuardrailHandle::default();
    let state = ConverseState {
        events: output.stream,
        decoder: ConverseStreamDecoder::new(),
        budget,
        guardrail: guardrail.clone(),
        finished: false,
    };
    Ok(ChatStream::new(stream::unfold(state, ConverseState::next), guardrail))
}

struct ConverseState {
    events: EventReceiver<ConverseStreamOutput, ConverseStreamOutputError>,
    decoder: ConverseStreamDecoder,
    budget: CallBudget,
    guardrail: GuardrailHandle,
    finished: bool,
}

impl ConverseState {
    async fn next(mut self) -> Option<(Result<StreamEvent, CallError>, Self)> {
        while !self.finished {
            let received = match until(self.budget.deadline(), self.events.recv()).await {
                Ok(received) => received,
                Err(deadline) => return Some(self.fail(deadline)),
            };
            match received {
                Ok(Some(event)) => match self.decoder.decode(&event) {
                    Ok(Some(event)) => {
                        if matches!(
                            event,
                            StreamEvent::MessageStop { .. } | StreamEvent::Metadata { .. }
                        ) {
                            self.guardrail.set(self.decoder.guardrail());
                        }
                        return Some((Ok(event), self));
                    }
                    Ok(None) => {}
                    Err(error) => return Some(self.fail(CallError::ConverseAnswer(error))),
                },
                Ok(None) => {
                    self.guardrail.set(self.decoder.guardrail());
                    self.finished = true;
                }
                Err(error) => {
                    let error = self.budget.error(&error);
                    return Some(self.fail(error));
                }
            }
        }
        None
    }

    fn fail(mut self, error: CallError) -> (Result<StreamEvent, CallError>, Self) {
        self.finished = true;
        (Err(error), self)
    }
}

/// Streams `request` from `model` through InvokeModelWithResponseStream with the native body of
/// the model's family, each chunk's bytes decoded by the family's [`StreamDecoder`].
///
/// Prepared like [`super::invoke_native`] (same adapter choice and guardrail parameters). A chunk
/// carrying `amazon-bedrock-guardrailAction` fills [`ChatStream::guardrail`]; once it says
/// `INTERVENED`, the stream's stop reason is [`StopReason::GuardrailIntervened`].
pub async fn invoke_native_stream(
    client: &Client,
    model: &ModelId,
    request: &ChatRequest,
    options: &CallOptions,
) -> Result<ChatStream, CallError> {
    let native = NativeCall::prepare(model, request)?;
    let budget = CallBudget::start(client, options)?;
    let call = client
        .invoke_model_with_response_stream()
        .model_id(model.to_string())
        .content_type(JSON)
        .accept(JSON)
        .body(Blob::new(native.body))
        .set_guardrail_identifier(native.guardrail.identifier)
        .set_guardrail_version(native.guardrail.version)
        .set_trace(native.guardrail.trace)
        .customize();
    let output = budget.apply(call).send().await.map_err(|error| budget.error(&error))?;
    let guardrail = GuardrailHandle::default();
    let state = NativeState {
        events: output.body,
        decoder: native.adapter.stream_decoder(),
        pending: VecDeque::new(),
        budget,
        guardrail: guardrail.clone(),
        finished: false,
    };
    Ok(ChatStream::new(stream::unfold(state, NativeState::next), guardrail))
}

struct NativeState {
    events: EventReceiver<ResponseStream, ResponseStreamError>,
    decoder: Box<dyn StreamDecoder>,
    /// Events decoded from the last chunk, not yet handed out (a chunk may hold several).
    pending: VecDeque<StreamEvent>,
    budget: CallBudget,
    guardrail: GuardrailHandle,
    finished: bool,
}

impl NativeState {
    async fn next(mut self) -> Option<(Result<StreamEvent, CallError>, Self)> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some((Ok(event), self));
            }
            if self.finished {
                return None;
            }
            let received = match until(self.budget.deadline(), self.events.recv()).await {
                Ok(received) => received,
                Err(deadline) => return Some(self.fail(deadline)),
            };
            match received {
                Ok(Some(ResponseStream::Chunk(part))) => {
                    let Some(bytes) = part.bytes else { continue };
                    if let Err(error) = self.decode(bytes.as_ref()) {
                        return Some(self.fail(error));
                    }
                }
                // Event types this SDK version does not know.
                Ok(Some(_)) => {}
                Ok(None) => self.finished = true,
                Err(error) => {
                    let error = self.budget.error(&error);
                    return Some(self.fail(error));
                }
            }
        }
    }

    /// Decodes one chunk into `pending`, noting a guardrail action it carries.
    fn decode(&mut self, chunk: &[u8]) -> Result<(), CallError> {
        if let Some(outcome) = native_guardrail::outcome_in(chunk) {
            self.guardrail.merge(outcome);
        }
        let intervened = self.guardrail.intervened();
        for event in self.decoder.decode_chunk(chunk)? {
            self.pending.push_back(match event {
                StreamEvent::MessageStop { .. } if intervened => {
                    StreamEvent::MessageStop { stop_reason: StopReason::GuardrailIntervened }
                }
                event => event,
            });
        }
        Ok(())
    }

    fn fail(mut self, error: CallError) -> (Result<StreamEvent, CallError>, Self) {
        self.finished = true;
        self.pending.clear();
        (Err(error), self)
    }
}
