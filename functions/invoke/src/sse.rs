//! Streaming answers as server-sent events: a Bedrock [`ChatStream`] driven through an encoder
//! (quarry's native events, or OpenAI chunks), each event sent as it arrives, the call's usage
//! logged and metered when the stream ends, and a broken stream ending in an error event.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Instant;

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use quarry::bedrock::ChatStream;
use quarry::chat::{StreamEvent, Usage};
use quarry::model::ModelId;

use crate::error::ApiError;
use crate::observe::CallRecord;

/// Turns stream events into SSE events in one wire format.
pub trait SseEncoder: Send + 'static {
    /// The SSE events for one stream event (possibly none).
    fn event(&mut self, event: &StreamEvent) -> Vec<Event>;
    /// The SSE events after the stream ended cleanly.
    fn finish(&mut self) -> Vec<Event>;
    /// The SSE events after the stream broke with `error`.
    fn error(&mut self, error: ApiError) -> Vec<Event>;
}

/// What the end of a stream is logged and metered as.
#[derive(Debug, Clone)]
pub struct StreamRecord {
    pub request_id: String,
    pub route: &'static str,
    pub model: ModelId,
    pub started: Instant,
}

impl StreamRecord {
    fn emit(&self, usage: Option<Usage>, status: u16) {
        CallRecord {
            request_id: &self.request_id,
            route: self.route,
            model: self.model.to_string(),
            usage,
            latency: self.started.elapsed(),
            status,
        }
        .emit();
    }
}

struct Drive<E> {
    stream: ChatStream,
    encoder: E,
    record: StreamRecord,
    usage: Option<Usage>,
    pending: VecDeque<Event>,
    done: bool,
}

/// The SSE response streaming `stream` through `encoder`.
pub fn sse_response<E: SseEncoder>(
    stream: ChatStream,
    encoder: E,
    record: StreamRecord,
) -> Response {
    let drive =
        Drive { stream, encoder, record, usage: None, pending: VecDeque::new(), done: false };
    let events = futures_util::stream::unfold(drive, |mut drive| async move {
        loop {
            if let Some(event) = drive.pending.pop_front() {
                return Some((Ok::<Event, Infallible>(event), drive));
            }
            if drive.done {
                return None;
            }
            match drive.stream.next().await {
                Some(Ok(event)) => {
                    if let StreamEvent::Metadata { usage, .. } = &event {
                        drive.usage = Some(*usage);
                    }
                    let encoded = drive.encoder.event(&event);
                    drive.pending.extend(encoded);
                }
                Some(Err(error)) => {
                    drive.record.emit(drive.usage, error.http_status());
                    let api_error = ApiError::from_call(&error, &drive.record.model);
                    let encoded = drive.encoder.error(api_error);
                    drive.pending.extend(encoded);
                    drive.done = true;
                }
                None => {
                    drive.record.emit(drive.usage, 200);
                    let encoded = drive.encoder.finish();
                    drive.pending.extend(encoded);
                    drive.done = true;
                }
            }
        }
    });
    Sse::new(events).keep_alive(KeepAlive::default()).into_response()
}

/// quarry's native stream: each event is a `StreamEvent` as JSON, named by its type; the stream
/// ends with `data: [DONE]`, or with an `error` event carrying the error body.
#[derive(Debug, Default)]
pub struct NativeEncoder {
    stopped: bool,
}

impl SseEncoder for NativeEncoder {
    fn event(&mut self, event: &StreamEvent) -> Vec<Event> {
        if matches!(event, StreamEvent::MessageStop { .. }) {
            self.stopped = true;
        }
        json_event(event).map(|e| e.event(event_name(event))).into_iter().collect()
    }

    fn finish(&mut self) -> Vec<Event> {
        if self.stopped {
            vec![Event::default().data("[DONE]")]
        } else {
            self.error(ApiError::new(
                axum::http::StatusCode::BAD_GATEWAY,
                "the model's stream ended before it said why it stopped",
            ))
        }
    }

    fn error(&mut self, error: ApiError) -> Vec<Event> {
        json_event(&error.body).map(|e| e.event("error")).into_iter().collect()
    }
}

fn event_name(event: &StreamEvent) -> &'static str {
    match event {
        StreamEvent::MessageStart { .. } => "message_start",
        StreamEvent::ContentBlockStart { .. } => "content_block_start",
        StreamEvent::ContentBlockDelta { .. } => "content_block_delta",
        StreamEvent::ContentBlockStop { .. } => "content_block_stop",
        StreamEvent::MessageStop { .. } => "message_stop",
        StreamEvent::Metadata { .. } => "metadata",
    }
}

/// An SSE event whose data is `value` as JSON (`None` only if it cannot be serialized).
pub fn json_event<T: serde::Serialize>(value: &T) -> Option<Event> {
    serde_json::to_string(value).ok().map(|json| Event::default().data(json))
}
