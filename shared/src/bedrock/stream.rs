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
        f.debug_struct("ChatStream")
            .field("guardrail", &self.guardrail.get())
            .finish_non_exhaustive()
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
    let parts =
        ConverseParts::from_request(request, model.family().ok()).map_err(CallError::Converse)?;
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

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use aws_sdk_bedrockruntime::config::retry::RetryConfig;
    use serde_json::json;

    use super::*;
    use crate::adapters::adapter_for;
    use crate::bedrock::converse;
    use crate::bedrock::test_support::{
        HAIKU, StubBedrock, WARRANTY, chunk_stream, client, local, model, warranty_question,
    };
    use crate::chat::{GuardrailConfig, collect_events};
    use crate::error::BedrockErrorKind;
    use crate::model::Family;

    /// Every item of a stream, errors included.
    async fn items(stream: ChatStream) -> Vec<Result<StreamEvent, CallError>> {
        stream.collect().await
    }

    #[tokio::test]
    async fn a_converse_stream_folds_into_the_converse_answer() {
        let server = local("").await;
        let client = client(&server, RetryConfig::disabled());
        let (haiku, options) = (model(HAIKU), CallOptions::default());
        let direct = converse(&client, &haiku, &warranty_question(), &options)
            .await
            .expect("converse answers");
        let stream = converse_stream(&client, &haiku, &warranty_question(), &options)
            .await
            .expect("the stream starts");
        let events: Vec<StreamEvent> =
            items(stream).await.into_iter().collect::<Result<_, _>>().expect("no stream error");
        assert!(events.len() > 3, "{events:?}");
        let folded = collect_events(&events);
        assert!(folded.text().contains(WARRANTY), "{}", folded.text());
        assert_eq!(folded.content, direct.content);
        assert_eq!(folded.stop_reason, direct.stop_reason);
        assert_eq!(folded.usage, direct.usage);

        let whole = converse_stream(&client, &haiku, &warranty_question(), &options)
            .await
            .expect("the stream starts")
            .into_response()
            .await
            .expect("no stream error");
        assert_eq!(whole.content, direct.content);
        assert_eq!(whole.guardrail, None);
    }

    #[tokio::test]
    async fn a_streamed_guardrail_intervention_is_on_the_handle() {
        let server = local("").await;
        let client = client(&server, RetryConfig::disabled());
        let request = ChatRequest {
            guardrail: Some(GuardrailConfig {
                identifier: "quarrydemo".into(),
                version: "1".into(),
                trace: true,
            }),
            ..ChatRequest::from_user_text("Any stock tip for my crypto portfolio?")
        };
        let stream = converse_stream(&client, &model(HAIKU), &request, &CallOptions::default())
            .await
            .expect("the stream starts");
        let handle = stream.guardrail();
        assert_eq!(handle.get(), None, "nothing is known before the stream is read");
        let answer = stream.into_response().await.expect("no stream error");
        assert_eq!(answer.stop_reason, StopReason::GuardrailIntervened);
        assert!(handle.get().expect("an outcome").intervened);
        assert_eq!(answer.guardrail, handle.get());
    }

    #[tokio::test]
    async fn a_stream_exception_ends_the_stream_with_a_classified_error() {
        let server = local("cut_stream_after=2,cut_stream_with=exception").await;
        let client = client(&server, RetryConfig::disabled());
        let stream =
            converse_stream(&client, &model(HAIKU), &warranty_question(), &CallOptions::default())
                .await
                .expect("the stream starts");
        let items = items(stream).await;
        let (last, before) = items.split_last().expect("items");
        assert_eq!(before.len(), 2, "the two events before the cut: {items:?}");
        assert!(before.iter().all(Result::is_ok));
        let Err(error) = last else { panic!("the stream ends with an error: {items:?}") };
        assert_eq!(error.as_bedrock().map(|e| e.kind), Some(BedrockErrorKind::ModelStreamError));
        assert_eq!(error.http_status(), 502);
        assert!(error.is_retryable());
    }

    #[tokio::test]
    async fn a_dropped_connection_ends_the_stream_with_an_error_not_a_hang() {
        let server = local("cut_stream_after=3,cut_stream_with=abort").await;
        let client = client(&server, RetryConfig::disabled());
        let options = CallOptions::within(Duration::from_secs(10));
        let stream = converse_stream(&client, &model(HAIKU), &warranty_question(), &options)
            .await
            .expect("the stream starts");
        let items = items(stream).await;
        let last = items.last().expect("items");
        let error = last.as_ref().expect_err("the stream ends with an error");
        assert!(!matches!(error, CallError::DeadlineExceeded), "it failed before the deadline");
        assert!(error.as_bedrock().is_some(), "{error:?}");
    }

    #[tokio::test]
    async fn the_deadline_bounds_a_slow_stream() {
        let server = local("latency_per_token_ms=400").await;
        let client = client(&server, RetryConfig::disabled());
        let started = Instant::now();
        let options = CallOptions::within(Duration::from_millis(600));
        let stream = converse_stream(&client, &model(HAIKU), &warranty_question(), &options)
            .await
            .expect("the stream starts before the first token");
        let items = items(stream).await;
        assert!(items[0].is_ok(), "the first events arrive in time: {items:?}");
        assert!(
            matches!(items.last(), Some(Err(CallError::DeadlineExceeded))),
            "the deadline ends the stream: {items:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    }

    /// Anthropic's documented tool-use answer, streamed and whole (see the fixtures README).
    const ANTHROPIC_STREAM: &str =
        include_str!("../../tests/fixtures/adapters/anthropic_stream_tool_use.jsonl");
    const ANTHROPIC_RESPONSE: &str =
        include_str!("../../tests/fixtures/adapters/anthropic_response_tool_use.json");

    #[tokio::test]
    async fn a_native_stream_decodes_every_chunk_into_the_documented_answer() {
        let chunks: Vec<&str> = ANTHROPIC_STREAM.lines().filter(|l| !l.trim().is_empty()).collect();
        let bedrock = StubBedrock::answering(
            chunk_stream(&chunks),
            &[("content-type", "application/vnd.amazon.eventstream")],
        );
        let request = ChatRequest {
            guardrail: Some(GuardrailConfig {
                identifier: "gr1abc".into(),
                version: "DRAFT".into(),
                trace: false,
            }),
            ..ChatRequest::from_user_text("What is the weather like in San Francisco?")
        };
        let stream = invoke_native_stream(
            &bedrock.client(),
            &model(HAIKU),
            &request,
            &CallOptions::default(),
        )
        .await
        .expect("the stream starts");
        let answer = stream.into_response().await.expect("every chunk decodes");
        let documented = adapter_for(Family::Anthropic)
            .expect("adapter")
            .parse_response(ANTHROPIC_RESPONSE.as_bytes())
            .expect("the documented body parses");
        assert_eq!(answer.content, documented.content);
        assert_eq!(answer.stop_reason, StopReason::ToolUse);
        assert_eq!(answer.usage, documented.usage);
        assert_eq!(answer.guardrail, None, "the answer carried no guardrail action");

        let sent = bedrock.requests();
        assert_eq!(sent.len(), 1);
        assert!(sent[0].path.ends_with("/invoke-with-response-stream"), "{}", sent[0].path);
        assert_eq!(sent[0].header("x-amzn-bedrock-guardrailidentifier"), Some("gr1abc"));
        assert_eq!(sent[0].header("x-amzn-bedrock-guardrailversion"), Some("DRAFT"));
        assert_eq!(sent[0].header("x-amzn-bedrock-accept"), Some("application/json"));
        assert!(sent[0].json().get("guardrail").is_none());
    }

    #[tokio::test]
    async fn a_native_stream_guardrail_action_stops_the_answer_as_intervened() {
        // Bedrock adds `amazon-bedrock-guardrailAction` to the answer's JSON (InvokeModel API
        // reference, "Use a guardrail"); in Anthropic streams it rides in message_start.message.
        let message_start = json!({"type": "message_start", "message": {
            "id": "msg_01", "type": "message", "role": "assistant", "content": [],
            "model": "claude-3-haiku-20240307", "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 12, "output_tokens": 0},
            "amazon-bedrock-guardrailAction": "INTERVENED"}})
        .to_string();
        let chunks = [
            message_start.as_str(),
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Sorry, the model cannot answer this question."}}"#,
            r#"{"type":"content_block_stop","index":0}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":9}}"#,
            r#"{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":12,"outputTokenCount":9,"invocationLatency":301,"firstByteLatency":120}}"#,
        ];
        let bedrock = StubBedrock::answering(
            chunk_stream(&chunks),
            &[("content-type", "application/vnd.amazon.eventstream")],
        );
        let stream = invoke_native_stream(
            &bedrock.client(),
            &model(HAIKU),
            &ChatRequest::from_user_text("Which stocks should I buy?"),
            &CallOptions::default(),
        )
        .await
        .expect("the stream starts");
        let handle = stream.guardrail();
        let answer = stream.into_response().await.expect("decodes");
        assert_eq!(answer.text(), "Sorry, the model cannot answer this question.");
        assert_eq!(answer.stop_reason, StopReason::GuardrailIntervened);
        assert!(handle.get().expect("an outcome").intervened);
    }

    #[tokio::test]
    async fn a_chunk_the_decoder_cannot_read_ends_the_stream_with_a_502() {
        let bedrock = StubBedrock::answering(
            chunk_stream(&[r#"{"type":"message_start","message":"#]),
            &[("content-type", "application/vnd.amazon.eventstream")],
        );
        let stream = invoke_native_stream(
            &bedrock.client(),
            &model(HAIKU),
            &ChatRequest::from_user_text("Hello"),
            &CallOptions::default(),
        )
        .await
        .expect("the stream starts");
        let items = items(stream).await;
        assert_eq!(items.len(), 1, "{items:?}");
        let error = items[0].as_ref().expect_err("unreadable");
        assert_eq!(error.http_status(), 502);
    }
}
