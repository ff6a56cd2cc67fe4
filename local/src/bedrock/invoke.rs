//! InvokeModel and InvokeModelWithResponseStream: native model bodies, dispatched to the model's
//! [`NativeFormat`](super::native::NativeFormat) and answered by a local model.
//!
//! InvokeModel answers with the model's JSON body and the `x-amzn-bedrock-input-token-count`,
//! `x-amzn-bedrock-output-token-count` and `x-amzn-bedrock-invocation-latency` headers, for every
//! family. The stream answers with `chunk` events whose payload is
//! `{"bytes": "<base64 of the chunk JSON>"}`; the last chunk carries
//! `amazon-bedrock-invocationMetrics` at its top level, as on Bedrock, whatever the family's chunk
//! shape (every family's chunk is a JSON object that takes the key there).

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::converse::millis;
use super::event_stream;
use super::model_id::ModelRef;
use super::native::{NativeAnswer, NativeFormat, format_for};
use super::{BedrockState, PlannedMessage, Timing, pause, stream_body};
use crate::aws_error::AwsError;

/// The key under which Bedrock appends its metrics to the last chunk of a stream.
const INVOCATION_METRICS_KEY: &str = quarry::adapters::wire::INVOCATION_METRICS_KEY;

/// The body's format for the path's model, or a ValidationException naming what to do instead.
fn format_of(state: &BedrockState, model_id: &str) -> Result<Box<dyn NativeFormat>, AwsError> {
    format_for(&ModelRef::resolve(model_id, state.models.as_ref())?)
}

/// Checks that the caller accepts JSON (`Accept` / `X-Amzn-Bedrock-Accept`).
fn check_accept(headers: &HeaderMap, name: &str) -> Result<(), AwsError> {
    let Some(accept) = headers.get(name) else { return Ok(()) };
    let accept = accept.to_str().unwrap_or_default();
    let acceptable = accept
        .split(',')
        .map(|t| t.split(';').next().unwrap_or_default().trim())
        .any(|t| matches!(t, "application/json" | "application/*" | "*/*" | ""));
    if acceptable {
        Ok(())
    } else {
        Err(AwsError::validation(format!(
            "The requested response type {accept} is not supported; the model answers application/json."
        )))
    }
}

/// Checks the path's model and the accept header `accept`, then answers the body.
fn prepare(
    state: &BedrockState,
    model_id: &str,
    headers: &HeaderMap,
    accept: &str,
    body: &[u8],
) -> Result<NativeAnswer, AwsError> {
    let format = format_of(state, model_id)?;
    check_accept(headers, accept)?;
    format.answer(body)
}

fn header_value(value: impl ToString) -> HeaderValue {
    HeaderValue::from_str(&value.to_string()).unwrap_or_else(|_| HeaderValue::from_static("0"))
}

/// `POST /model/{modelId}/invoke`.
pub(super) async fn invoke(
    State(state): State<BedrockState>,
    Path(model_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AwsError> {
    let started = Instant::now();
    let plan = state.faults.on_call()?;
    let answer = prepare(&state, &model_id, &headers, "accept", &body)?;
    pause(plan.latency + plan.per_token * answer.output_tokens).await;
    let mut response = axum::Json(answer.body).into_response();
    let headers = response.headers_mut();
    headers.insert("x-amzn-bedrock-input-token-count", header_value(answer.input_tokens));
    headers.insert("x-amzn-bedrock-output-token-count", header_value(answer.output_tokens));
    headers.insert("x-amzn-bedrock-invocation-latency", header_value(millis(started.elapsed())));
    Ok(response)
}

/// `POST /model/{modelId}/invoke-with-response-stream`.
pub(super) async fn invoke_stream(
    State(state): State<BedrockState>,
    Path(model_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AwsError> {
    let started = Instant::now();
    let plan = state.faults.on_call()?;
    let answer = prepare(&state, &model_id, &headers, "x-amzn-bedrock-accept", &body)?;
    pause(plan.latency).await;

    let (input_tokens, output_tokens) = (answer.input_tokens, answer.output_tokens);
    let last = answer.chunks.len().saturating_sub(1);
    let messages = answer
        .chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| {
            let mut json = chunk.json;
            PlannedMessage::lazy_after(
                plan.per_token * chunk.output_tokens,
                move |timing: Timing| {
                    if i == last {
                        let metrics = json!({
                            "inputTokenCount": input_tokens,
                            "outputTokenCount": output_tokens,
                            "invocationLatency": millis(timing.elapsed),
                            "firstByteLatency": millis(timing.first_message),
                        });
                        let Some(fields) = json.as_object_mut() else {
                            return Err(AwsError::internal(
                                "a stream chunk is not a JSON object and cannot carry the invocation metrics",
                            ));
                        };
                        fields.insert(INVOCATION_METRICS_KEY.to_owned(), metrics);
                    }
                    chunk_event(&json)
                },
            )
        })
        .collect();
    let body = stream_body(messages, plan.cut_stream, started);
    Ok((
        [
            (header::CONTENT_TYPE, event_stream::CONTENT_TYPE),
            (header::HeaderName::from_static("x-amzn-bedrock-content-type"), "application/json"),
        ],
        body,
    )
        .into_response())
}

/// A `chunk` event: `{"bytes": "<base64 of the chunk JSON>"}`.
fn chunk_event(json: &Value) -> Result<Bytes, AwsError> {
    let bytes = serde_json::to_vec(json)
        .map_err(|e| AwsError::internal(format!("could not encode a stream chunk: {e}")))?;
    event_stream::event("chunk", &json!({ "bytes": STANDARD.encode(bytes) }))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn json_and_wildcards_are_acceptable_response_types() {
        for accept in
            ["application/json", "*/*", "application/json; charset=utf-8", "text/plain, */*"]
        {
            let mut headers = HeaderMap::new();
            headers.insert("accept", HeaderValue::from_static(accept));
            assert!(check_accept(&headers, "accept").is_ok(), "{accept}");
        }
        let mut headers = HeaderMap::new();
        headers.insert("x-amzn-bedrock-accept", HeaderValue::from_static("image/png"));
        let error = check_accept(&headers, "x-amzn-bedrock-accept").expect_err("png");
        assert_eq!(error.code, "ValidationException");
        assert!(check_accept(&HeaderMap::new(), "accept").is_ok());
    }

    #[test]
    fn a_chunk_event_carries_the_chunk_json_as_base64_bytes() {
        let frame = chunk_event(&json!({"a": 1})).expect("frame");
        let message = aws_smithy_eventstream::frame::read_message_from(frame).expect("decodes");
        let payload: Value = serde_json::from_slice(message.payload()).expect("json");
        let bytes = STANDARD.decode(payload["bytes"].as_str().expect("bytes")).expect("base64");
        assert_eq!(serde_json::from_slice::<Value>(&bytes).expect("chunk json"), json!({"a": 1}));
    }
}
