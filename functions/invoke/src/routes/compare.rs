//! `POST /v1/compare`: one prompt sent concurrently to several allowed models (up to
//! `limits.max_compare_models`, 4 by default), answered side by side with each model's text,
//! latency, usage and estimated cost — "find the best FM for your app". One model failing does not
//! fail the others: its entry carries the error instead.

use std::time::Instant;

use axum::Extension;
use axum::extract::State;
use quarry::chat::{ChatRequest, Message, StopReason, Usage};
use serde::Serialize;

use crate::chat_call::{Api, PreparedCall};
use crate::error::ApiError;
use crate::extract::{CallBudget, LimitedBody, parse_json, parse_value};
use crate::observe::{CallRecord, RequestId, log_prompt};
use crate::state::AppState;

const ROUTE: &str = "/v1/compare";

/// One model's side of the comparison.
#[derive(Debug, Serialize)]
pub struct ModelResult {
    model: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop_reason: Option<StopReason>,
    latency_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<Usage>,
    /// USD, from the prices in quarry.toml; `null` when the model has no configured price.
    estimated_cost_usd: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<quarry::openai::ErrorDetail>,
}

/// The answer of `POST /v1/compare`: one result per model, in request order.
#[derive(Debug, Serialize)]
pub struct CompareAnswer {
    id: String,
    results: Vec<ModelResult>,
}

pub async fn compare(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    CallBudget(options): CallBudget,
    LimitedBody(body): LimitedBody,
) -> Result<axum::Json<CompareAnswer>, ApiError> {
    // The body is a `ChatRequest` plus `models`, with `prompt` allowed in place of `messages`.
    let mut fields: serde_json::Map<String, serde_json::Value> = parse_json(&body)?;
    let models: Vec<String> = take_field(&mut fields, "models")?.unwrap_or_default();
    let prompt: Option<String> = take_field(&mut fields, "prompt")?;
    if let Some(prompt) = prompt {
        if fields.contains_key("messages") {
            return Err(ApiError::bad_request("give either `prompt` or `messages`, not both")
                .with_param("prompt"));
        }
        fields.insert("messages".into(), serde_json::json!([Message::user(prompt)]));
    }
    let request: ChatRequest = parse_value(serde_json::Value::Object(fields))?;
    let limit = usize::try_from(state.settings().limits.max_compare_models).unwrap_or(usize::MAX);
    if models.is_empty() || models.len() > limit {
        return Err(ApiError::bad_request(format!(
            "models: name between 1 and {limit} models to compare, got {}",
            models.len()
        ))
        .with_param("models"));
    }
    // Every model is resolved and the request validated for it before anything is sent.
    let calls = models
        .iter()
        .enumerate()
        .map(|(i, model)| {
            PreparedCall::new(&state, Some(model), request.clone(), Api::Converse)
                .map_err(|e| e.with_param(format!("models[{i}]")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    for (i, call) in calls.iter().enumerate() {
        if calls[..i].iter().any(|earlier| earlier.model.id == call.model.id) {
            return Err(ApiError::bad_request(format!(
                "models[{i}]: `{}` is already compared",
                call.model.id
            ))
            .with_param(format!("models[{i}]")));
        }
    }
    log_prompt(state.settings().log_prompts, &request_id, &request);
    let results = futures_util::future::join_all(calls.iter().map(|call| {
        let (state, request_id) = (&state, &request_id);
        async move {
            let started = Instant::now();
            let result = call.send(state, &options).await;
            let latency = started.elapsed();
            CallRecord {
                request_id,
                route: ROUTE,
                model: call.model.id.to_string(),
                usage: result.as_ref().ok().map(|r| r.usage),
                latency,
                status: result.as_ref().map_or_else(|e| e.http_status(), |_| 200),
            }
            .emit();
            let price = state.settings().models.price(&call.model.id);
            let latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
            match result {
                Ok(response) => ModelResult {
                    model: call.model.id.to_string(),
                    text: Some(response.text()),
                    stop_reason: Some(response.stop_reason),
                    latency_ms,
                    estimated_cost_usd: price.map(|p| {
                        p.cost_usd(
                            u64::from(response.usage.input_tokens),
                            u64::from(response.usage.output_tokens),
                        )
                    }),
                    usage: Some(response.usage),
                    error: None,
                },
                Err(error) => ModelResult {
                    model: call.model.id.to_string(),
                    text: None,
                    stop_reason: None,
                    latency_ms,
                    usage: None,
                    estimated_cost_usd: None,
                    error: Some(ApiError::from_call(&error, &call.model.id).body.error),
                },
            }
        }
    }))
    .await;
    Ok(axum::Json(CompareAnswer { id: request_id, results }))
}

/// Removes `name` from `fields` and deserializes it; errors name the field.
fn take_field<T: serde::de::DeserializeOwned>(
    fields: &mut serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Result<Option<T>, ApiError> {
    fields
        .remove(name)
        .map(|value| {
            serde_json::from_value(value).map_err(|e| {
                ApiError::bad_request(format!("{name}: {e}")).with_param(name.to_owned())
            })
        })
        .transpose()
}
