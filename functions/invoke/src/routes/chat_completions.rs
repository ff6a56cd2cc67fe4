//! `POST /v1/chat/completions`: OpenAI's Chat Completions API, mapped onto a Converse call (and
//! back) by `quarry::openai`; `stream: true` answers as `chat.completion.chunk` events ending in
//! `data: [DONE]`.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Extension;
use axum::extract::State;
use axum::response::sse::Event;
use axum::response::{IntoResponse, Response};
use quarry::chat::StreamEvent;
use quarry::openai::{ChatCompletion, ChatCompletionRequest, ChunkEncoder, CompletionMeta};

use super::invoke::record_failure;
use crate::chat_call::{Api, PreparedCall};
use crate::error::ApiError;
use crate::extract::{CallBudget, LimitedBody};
use crate::observe::{CallRecord, RequestId, log_prompt};
use crate::sse::{SseEncoder, StreamRecord, json_event, sse_response};
use crate::state::AppState;

const ROUTE: &str = "/v1/chat/completions";

pub async fn chat_completions(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    CallBudget(options): CallBudget,
    LimitedBody(body): LimitedBody,
) -> Result<Response, ApiError> {
    let completion = ChatCompletionRequest::from_json(&body)?;
    if let Some(extension) = &completion.quarry {
        return Err(ApiError::bad_request(format!(
            "quarry: unknown extension {extension}; this route takes no quarry extension yet"
        ))
        .with_param("quarry"));
    }
    let (model, request, delivery) = completion.to_chat_request()?;
    let requested = (!model.is_empty()).then_some(model.as_str());
    let call = PreparedCall::new(&state, requested, request, Api::Converse)?;
    log_prompt(state.settings().log_prompts, &request_id, &call.request);
    let meta = CompletionMeta::new(&request_id, unix_now(), call.model.id.to_string());
    let record = StreamRecord {
        request_id: request_id.clone(),
        route: ROUTE,
        model: call.model.id.clone(),
        started: Instant::now(),
    };
    if delivery.stream {
        let stream = call.stream(&state, &options).await.map_err(|error| {
            record_failure(&record, error.http_status());
            ApiError::from_call(&error, &call.model.id)
        })?;
        let encoder = OpenAiEncoder(ChunkEncoder::new(meta, delivery.include_usage));
        return Ok(sse_response(stream, encoder, record));
    }
    let result = call.send(&state, &options).await;
    CallRecord {
        request_id: &request_id,
        route: ROUTE,
        model: call.model.id.to_string(),
        usage: result.as_ref().ok().map(|r| r.usage),
        latency: record.started.elapsed(),
        status: result.as_ref().map_or_else(|e| e.http_status(), |_| 200),
    }
    .emit();
    let response = result.map_err(|e| ApiError::from_call(&e, &call.model.id))?;
    Ok(axum::Json(ChatCompletion::from_response(&meta, &response)).into_response())
}

/// OpenAI's stream: `chat.completion.chunk` events, `data: [DONE]` at the end, and on failure a
/// `data: {"error": …}` event (what OpenAI sends) with no `[DONE]`.
struct OpenAiEncoder(ChunkEncoder);

impl SseEncoder for OpenAiEncoder {
    fn event(&mut self, event: &StreamEvent) -> Vec<Event> {
        self.0.push(event).iter().filter_map(json_event).collect()
    }

    fn finish(&mut self) -> Vec<Event> {
        if !self.0.is_finished() {
            return self.error(ApiError::new(
                axum::http::StatusCode::BAD_GATEWAY,
                "the model's stream ended before it said why it stopped",
            ));
        }
        let mut events: Vec<Event> = self.0.finish().iter().filter_map(json_event).collect();
        events.push(Event::default().data("[DONE]"));
        events
    }

    fn error(&mut self, error: ApiError) -> Vec<Event> {
        json_event(&error.body).into_iter().collect()
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
