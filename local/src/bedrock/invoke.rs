//! InvokeModel and InvokeModelWithResponseStream: native model bodies, dispatched to the model's
//! [`NativeFormat`](super::native::NativeFormat) and answered by a local model.
//!
//! InvokeModel answers with the model's JSON body and the `x-amzn-bedrock-input-token-count`,
//! `x-amzn-bedrock-output-token-count` and `x-amzn-bedrock-invocation-latency` headers. The stream
//! answers with `chunk` events whose payload is `{"bytes": "<base64 of the chunk JSON>"}`; the last
//! chunk carries `amazon-bedrock-invocationMetrics`, as on Bedrock.

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
use super::native::{NativeFormat, NativeOutput, NativeRequest, format_for};
use super::{BedrockState, PlannedMessage, Timing, pause, stream_body};
use crate::aws_error::AwsError;
use crate::models::embedding::embed;
use crate::models::extractive::{count_tokens, generate};

/// The body's format for the path's model, or a ValidationException naming what to do instead.
fn format_of(state: &BedrockState, model_id: &str) -> Result<Box<dyn NativeFormat>, AwsError> {
    let model = ModelRef::resolve(model_id, state.models.as_ref())?;
    format_for(&model).ok_or_else(|| {
        AwsError::validation(format!(
            "The local Bedrock endpoint does not speak the native InvokeModel body of {} yet; call the model through Converse.",
            model.requested
        ))
    })
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

/// Runs the local model a native request asks for.
fn run(request: NativeRequest) -> NativeOutput {
    match request {
        NativeRequest::Embed(request) => {
            let vector = embed(&request.text, request.dimensions);
            let input_tokens = count_tokens(&request.text);
            NativeOutput::Embedding { request, vector, input_tokens }
        }
        NativeRequest::Generate { conversation, params } => {
            NativeOutput::Generation(generate(&conversation, &params))
        }
    }
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
    let format = format_of(&state, &model_id)?;
    check_accept(&headers, "accept")?;
    let output = run(format.parse_request(&body)?);
    let body = format.response_body(&output)?;
    pause(plan.latency + plan.per_token * output.output_tokens()).await;
    let mut response = axum::Json(body).into_response();
    let headers = response.headers_mut();
    headers.insert("x-amzn-bedrock-input-token-count", header_value(output.input_tokens()));
    headers.insert("x-amzn-bedrock-output-token-count", header_value(output.output_tokens()));
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
    let format = format_of(&state, &model_id)?;
    check_accept(&headers, "x-amzn-bedrock-accept")?;
    let output = run(format.parse_request(&body)?);
    let chunks = format.stream_chunks(&output)?;
    pause(plan.latency).await;

    let (input_tokens, output_tokens) = (output.input_tokens(), output.output_tokens());
    let last = chunks.len().saturating_sub(1);
    let messages = chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| {
            let mut json = chunk.json;
            PlannedMessage::lazy_after(
                plan.per_token * chunk.output_tokens,
                move |timing: Timing| {
                    if i == last {
                        json["amazon-bedrock-invocationMetrics"] = json!({
                            "inputTokenCount": input_tokens,
                            "outputTokenCount": output_tokens,
                            "invocationLatency": millis(timing.elapsed),
                            "firstByteLatency": millis(timing.first_message),
                        });
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

    #[test]
    fn an_embedding_request_runs_the_embedding_model() {
        let output = run(NativeRequest::Embed(super::super::native::EmbedRequest {
            text: "The warranty lasts two years.".into(),
            dimensions: 256,
            normalize: true,
            types: vec!["float".into()],
        }));
        let NativeOutput::Embedding { vector, input_tokens, .. } = output else {
            panic!("embedding")
        };
        assert_eq!(vector.len(), 256);
        assert_eq!(input_tokens, 6);
    }
}
