//! `POST /v1/invoke`: quarry's native chat request (the unified `ChatRequest`), sent through
//! Converse (`"api": "converse"`, the default) or the model family's native body (`"native"`);
//! `"stream": true` answers as server-sent events, one `StreamEvent` per event.

use std::time::Instant;

use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use quarry::chat::{ChatRequest, ChatResponse};
use serde::{Deserialize, Serialize};

use crate::chat_call::{Api, PreparedCall};
use crate::error::ApiError;
use crate::extract::{CallBudget, LimitedBody, parse_json, parse_value};
use crate::observe::{CallRecord, RequestId, log_prompt};
use crate::sse::{NativeEncoder, StreamRecord, sse_response};
use crate::state::AppState;

const ROUTE: &str = "/v1/invoke";

/// How to send the `ChatRequest` of a `POST /v1/invoke` body: the body's other fields.
///
/// Read from the same JSON as the request rather than `#[serde(flatten)]`-ing the request into it:
/// flatten buffers the fields, which loses the path of a field error (`messages[0].content`).
#[derive(Debug, Deserialize)]
struct InvokeOptions {
    /// An allowed model id or alias; the default model when absent.
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    api: Api,
    #[serde(default)]
    stream: bool,
}

/// The answer of `POST /v1/invoke`: the `ChatResponse` with the request id and model called.
#[derive(Debug, Serialize)]
struct InvokeAnswer<'a> {
    id: &'a str,
    model: String,
    api: Api,
    #[serde(flatten)]
    response: ChatResponse,
}

pub async fn invoke(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    CallBudget(options): CallBudget,
    LimitedBody(body): LimitedBody,
) -> Result<Response, ApiError> {
    let fields: serde_json::Value = parse_json(&body)?;
    let body: InvokeOptions = parse_value(fields.clone())?;
    let request: ChatRequest = parse_value(fields)?;
    let call = PreparedCall::new(&state, body.model.as_deref(), request, body.api)?;
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
        return Ok(sse_response(stream, NativeEncoder::default(), record));
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
    let answer =
        InvokeAnswer { id: &request_id, model: call.model.id.to_string(), api: body.api, response };
    Ok(axum::Json(answer).into_response())
}

/// Meters a call that failed before its stream started.
pub(crate) fn record_failure(record: &StreamRecord, status: u16) {
    CallRecord {
        request_id: &record.request_id,
        route: record.route,
        model: record.model.to_string(),
        usage: None,
        latency: record.started.elapsed(),
        status,
    }
    .emit();
}
