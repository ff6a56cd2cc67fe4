//! `POST /v1/rag`: a question answered from the indexed documents. The question is searched
//! (as `/v1/retrieve` does), the best chunks that fit the model's token budget become the numbered
//! sources of quarry's RAG prompt, the model answers citing them as `[n]`, and the answer comes
//! back with its citations resolved to the documents. `"stream": true` streams the answer as
//! `/v1/invoke` does, then a `citations` event, then `data: [DONE]`.
//!
//! When no indexed chunk matches, no model is called: the answer says so
//! ([`NO_MATCH_ANSWER`](quarry::retrieval::NO_MATCH_ANSWER)), with no sources and zero usage — a
//! prompt without sources could only make the model say it does not know, at a cost.

use std::time::Instant;

use axum::Extension;
use axum::extract::State;
use axum::response::sse::Event;
use axum::response::{IntoResponse, Response};
use quarry::chat::{
    ChatRequest, ChatResponse, StopReason, StreamAccumulator, StreamEvent, Usage, collect_events,
};
use quarry::retrieval::{
    DEFAULT_ANSWER_TOKENS, Grounding, RagReport, Search, SearchFilter, SearchOptions, budget_for,
    no_match_events,
};
use serde::{Deserialize, Serialize};

use super::invoke::record_failure;
use crate::chat_call::{Api, PreparedCall};
use crate::error::ApiError;
use crate::extract::{CallBudget, LimitedBody, parse_json};
use crate::observe::{CallRecord, RequestId, log_prompt};
use crate::retrieval::{invalid_search, prompt_error, replay, retrieval, search};
use crate::sse::{NativeEncoder, SseEncoder, StreamRecord, json_event, sse_response};
use crate::state::AppState;

const ROUTE: &str = "/v1/rag";

/// The body of `POST /v1/rag`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RagRequest {
    question: String,
    /// An allowed model id or alias; the default model when absent.
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    k: Option<usize>,
    #[serde(default)]
    filter: Option<SearchFilter>,
    #[serde(default)]
    stream: bool,
    /// The longest answer, tokens; also what the prompt keeps free. 1,024 when absent.
    #[serde(default)]
    max_tokens: Option<u32>,
    #[serde(default)]
    temperature: Option<f32>,
}

/// The answer of `POST /v1/rag`.
#[derive(Debug, Serialize)]
struct RagAnswer {
    id: String,
    model: String,
    answer: String,
    #[serde(flatten)]
    report: RagReport,
    usage: Usage,
    stop_reason: StopReason,
}

pub async fn rag(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    CallBudget(options): CallBudget,
    LimitedBody(body): LimitedBody,
) -> Result<Response, ApiError> {
    let retrieval = retrieval(&state)?;
    let body: RagRequest = parse_json(&body)?;
    let asked = SearchOptions { k: body.k, filter: body.filter.clone() };
    let question = Search::new(body.question.clone(), &asked, state.settings().embedding.model)
        .map_err(|e| invalid_search(&e, "question", ""))?;
    // The model, guardrail and parameters are checked before the embedding call is paid for.
    let reserved = body.max_tokens.unwrap_or(DEFAULT_ANSWER_TOKENS);
    let checked = ChatRequest {
        max_tokens: Some(reserved),
        temperature: body.temperature,
        ..ChatRequest::from_user_text(body.question.clone())
    };
    let checked = PreparedCall::new(&state, body.model.as_deref(), checked, Api::Converse)?;
    let model = checked.model.id.to_string();
    let hits = search(&state, retrieval, &request_id, ROUTE, &question, &options).await?;

    if hits.is_empty() {
        if body.stream {
            return Ok(replay(RagEncoder::new(None), &no_match_events()));
        }
        let response = collect_events(&no_match_events());
        return Ok(answer(request_id, model, &response, RagReport::default()));
    }

    let budget = budget_for(&checked.model.id, reserved);
    let grounding = Grounding::new(&retrieval.templates, &body.question, hits, &budget)
        .map_err(|e| prompt_error(e.into(), "question"))?;
    let request = ChatRequest {
        temperature: body.temperature,
        guardrail: checked.request.guardrail.clone(),
        ..grounding.prompt.request.clone()
    };
    let call = PreparedCall::new(&state, Some(&model), request, Api::Converse)?;
    log_prompt(state.settings().log_prompts, &request_id, &call.request);
    let record = StreamRecord {
        request_id: request_id.clone(),
        route: ROUTE,
        model: call.model.id.clone(),
        started: Instant::now(),
    };
    if body.stream {
        let stream = call.stream(&state, &options).await.map_err(|error| {
            record_failure(&record, error.http_status());
            ApiError::from_call(&error, &call.model.id)
        })?;
        return Ok(sse_response(stream, RagEncoder::new(Some(grounding)), record));
    }
    let result = call.send(&state, &options).await;
    CallRecord {
        request_id: &request_id,
        route: ROUTE,
        model: model.clone(),
        usage: result.as_ref().ok().map(|r| r.usage),
        latency: record.started.elapsed(),
        status: result.as_ref().map_or_else(|e| e.http_status(), |_| 200),
    }
    .emit();
    let response = result.map_err(|e| ApiError::from_call(&e, &call.model.id))?;
    let report = grounding.report(&response.text());
    Ok(answer(request_id, model, &response, report))
}

fn answer(id: String, model: String, response: &ChatResponse, report: RagReport) -> Response {
    let answer = RagAnswer {
        id,
        model,
        answer: response.text(),
        report,
        usage: response.usage,
        stop_reason: response.stop_reason,
    };
    axum::Json(answer).into_response()
}

/// quarry's native stream ([`NativeEncoder`]) with, before `[DONE]`, a `citations` event: the
/// [`RagReport`] of the whole answer as streamed.
struct RagEncoder {
    native: NativeEncoder,
    answer: StreamAccumulator,
    /// `None` when the answer rests on no sources.
    grounding: Option<Grounding>,
}

impl RagEncoder {
    fn new(grounding: Option<Grounding>) -> Self {
        RagEncoder { native: NativeEncoder::default(), answer: StreamAccumulator::new(), grounding }
    }
}

impl SseEncoder for RagEncoder {
    fn event(&mut self, event: &StreamEvent) -> Vec<Event> {
        self.answer.push(event);
        self.native.event(event)
    }

    fn finish(&mut self) -> Vec<Event> {
        let mut events = self.native.finish();
        if self.answer.is_finished() {
            let answer = std::mem::take(&mut self.answer).finish().text();
            let report = self.grounding.as_ref().map(|g| g.report(&answer)).unwrap_or_default();
            let citations = json_event(&report).map(|e| e.event("citations"));
            events.splice(0..0, citations);
        }
        events
    }

    fn error(&mut self, error: ApiError) -> Vec<Event> {
        self.native.error(error)
    }
}
