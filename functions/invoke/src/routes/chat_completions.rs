//! `POST /v1/chat/completions`: OpenAI's Chat Completions API, mapped onto a Converse call (and
//! back) by `quarry::openai`; `stream: true` answers as `chat.completion.chunk` events ending in
//! `data: [DONE]`.
//!
//! quarry's extension: `"quarry": {"rag": {"k": 5, "filter": {…}}}` grounds the answer in the
//! indexed documents. The last user message is the question; the retrieved sources go into the
//! conversation as quarry's RAG prompt puts them (its system prompt before the caller's, the
//! numbered sources before the question), and the answer gains a non-standard `quarry` object
//! (`citations`, `invalid_citations`, `sources`, `dropped_sources`) that OpenAI clients ignore.
//! Streamed, that object comes in one last extra chunk (`choices: []`) before `[DONE]`. When no
//! indexed chunk matches, no model is called and the answer says so, as `/v1/rag` does.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Extension;
use axum::extract::State;
use axum::response::sse::Event;
use axum::response::{IntoResponse, Response};
use quarry::chat::{StreamAccumulator, StreamEvent, collect_events};
use quarry::openai::{
    ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, ChunkEncoder, CompletionMeta,
};
use quarry::retrieval::{
    DEFAULT_ANSWER_TOKENS, Grounding, RagReport, Search, SearchOptions, budget_for,
    conversation_question, no_match_events,
};
use serde::{Deserialize, Serialize};

use super::invoke::record_failure;
use crate::chat_call::{Api, PreparedCall};
use crate::error::ApiError;
use crate::extract::{CallBudget, LimitedBody};
use crate::observe::{CallRecord, RequestId, log_prompt};
use crate::retrieval::{invalid_search, prompt_error, replay, retrieval, search};
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
    let rag = extension(completion.quarry.as_ref())?;
    let (model, request, delivery) = completion.to_chat_request()?;
    let requested = (!model.is_empty()).then_some(model.as_str());
    let mut call = PreparedCall::new(&state, requested, request, Api::Converse)?;
    let meta = CompletionMeta::new(&request_id, unix_now(), call.model.id.to_string());
    let mut grounding = None;
    if let Some(rag) = rag {
        let retrieval = retrieval(&state)?;
        let question =
            conversation_question(&call.request).map_err(|e| prompt_error(e, "messages"))?;
        let question = Search::new(question, &rag, state.settings().embedding.model)
            .map_err(|e| invalid_search(&e, "messages", "quarry.rag."))?;
        let hits = search(&state, retrieval, &request_id, ROUTE, &question, &options).await?;
        if hits.is_empty() {
            let encoder = OpenAiEncoder::new(meta.clone(), delivery.include_usage, Some(None));
            if delivery.stream {
                return Ok(replay(encoder, &no_match_events()));
            }
            let response = collect_events(&no_match_events());
            let completion = ChatCompletion::from_response(&meta, &response);
            return Ok(with_quarry(&completion, RagReport::default()));
        }
        let reserved = call.request.max_tokens.unwrap_or(DEFAULT_ANSWER_TOKENS);
        let budget = budget_for(&call.model.id, reserved);
        let (request, grounded) =
            Grounding::for_conversation(&retrieval.templates, call.request, hits, &budget)
                .map_err(|e| prompt_error(e, "messages"))?;
        call = PreparedCall::new(&state, Some(&call.model.id.to_string()), request, Api::Converse)?;
        grounding = Some(grounded);
    }
    log_prompt(state.settings().log_prompts, &request_id, &call.request);
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
        let rag = grounding.map(Some);
        let encoder = OpenAiEncoder::new(meta, delivery.include_usage, rag);
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
    let completion = ChatCompletion::from_response(&meta, &response);
    Ok(match grounding {
        Some(grounding) => with_quarry(&completion, grounding.report(&response.text())),
        None => axum::Json(completion).into_response(),
    })
}

/// The `quarry` object of a request: what quarry does beyond OpenAI's API.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuarryExtension {
    /// Ground the answer in the indexed documents.
    #[serde(default)]
    rag: Option<SearchOptions>,
}

/// The retrieval a request's `quarry` object asks for; errors name the field (`quarry.rag.k`).
fn extension(value: Option<&serde_json::Value>) -> Result<Option<SearchOptions>, ApiError> {
    let Some(value) = value else { return Ok(None) };
    let extension: QuarryExtension = serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let param = if path == "." { "quarry".to_owned() } else { format!("quarry.{path}") };
        ApiError::bad_request(format!("{param}: {}", error.into_inner()))
            .with_param(param)
            .with_code("invalid_quarry_extension")
    })?;
    Ok(extension.rag)
}

/// An OpenAI object (a completion or a chunk) with quarry's extension object.
#[derive(Debug, Serialize)]
struct WithQuarry<'a, T> {
    #[serde(flatten)]
    openai: &'a T,
    quarry: RagReport,
}

fn with_quarry(completion: &ChatCompletion, report: RagReport) -> Response {
    axum::Json(WithQuarry { openai: completion, quarry: report }).into_response()
}

/// OpenAI's stream: `chat.completion.chunk` events, `data: [DONE]` at the end, and on failure a
/// `data: {"error": …}` event (what OpenAI sends) with no `[DONE]`. A grounded answer ends with
/// one more chunk, `choices: []`, carrying the `quarry` object of the whole answer.
struct OpenAiEncoder {
    chunks: ChunkEncoder,
    meta: CompletionMeta,
    /// For a grounded answer: the answer so far and what it rests on (`None`: no sources).
    rag: Option<(StreamAccumulator, Option<Grounding>)>,
}

impl OpenAiEncoder {
    fn new(meta: CompletionMeta, include_usage: bool, rag: Option<Option<Grounding>>) -> Self {
        OpenAiEncoder {
            chunks: ChunkEncoder::new(meta.clone(), include_usage),
            meta,
            rag: rag.map(|grounding| (StreamAccumulator::new(), grounding)),
        }
    }
}

impl SseEncoder for OpenAiEncoder {
    fn event(&mut self, event: &StreamEvent) -> Vec<Event> {
        if let Some((answer, _)) = &mut self.rag {
            answer.push(event);
        }
        self.chunks.push(event).iter().filter_map(json_event).collect()
    }

    fn finish(&mut self) -> Vec<Event> {
        if !self.chunks.is_finished() {
            return self.error(ApiError::new(
                axum::http::StatusCode::BAD_GATEWAY,
                "the model's stream ended before it said why it stopped",
            ));
        }
        let mut events: Vec<Event> = self.chunks.finish().iter().filter_map(json_event).collect();
        if let Some((answer, grounding)) = &mut self.rag {
            let answer = std::mem::take(answer).finish().text();
            let report = grounding.as_ref().map(|g| g.report(&answer)).unwrap_or_default();
            let chunk = ChatCompletionChunk {
                id: self.meta.id.clone(),
                object: "chat.completion.chunk".to_owned(),
                created: self.meta.created,
                model: self.meta.model.clone(),
                choices: Vec::new(),
                usage: None,
            };
            events.extend(json_event(&WithQuarry { openai: &chunk, quarry: report }));
        }
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
