//! Whole chat answers: Converse, and InvokeModel with a family's native body.

use std::borrow::Cow;

use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::primitives::Blob;

use super::deadline::CallBudget;
use super::headers::{TokenCountHeaders, TokenCounts};
use super::native_guardrail::{self, GuardrailParameters};
use super::{CallError, CallOptions};
use crate::adapters::{AdapterError, NativeAdapter, adapter_for};
use crate::chat::converse::response_from_converse;
use crate::chat::{ChatRequest, ChatResponse, ConverseParts, StopReason, Usage};
use crate::model::{ModelId, ModelResource};

/// The content type of every native body quarry sends and accepts.
pub(crate) const JSON: &str = "application/json";

/// Sends `request` to `model` through Converse and maps the answer.
///
/// The model's family (when quarry knows it) decides where `top_k` goes; the request's guardrail
/// becomes Converse's `guardrailConfig`, and the answer's [`ChatResponse::guardrail`] says whether
/// it intervened (with the trace, when asked for).
pub async fn converse(
    client: &Client,
    model: &ModelId,
    request: &ChatRequest,
    options: &CallOptions,
) -> Result<ChatResponse, CallError> {
    let parts =
        ConverseParts::from_request(request, model.family().ok()).map_err(CallError::Converse)?;
    let budget = CallBudget::start(client, options)?;
    let call = parts.apply_to_converse(client.converse().model_id(model.to_string())).customize();
    let output = budget.apply(call).send().await.map_err(|error| budget.error(&error))?;
    response_from_converse(&output).map_err(CallError::ConverseAnswer)
}

/// Sends `request` to `model` through InvokeModel with the native body of the model's family.
///
/// - No native adapter for the model (an embedding model, an opaque ARN, an unknown family) is a
///   [`CallError::Adapter`] with [`AdapterError::NoAdapter`], whose message points to Converse.
/// - The request's guardrail goes in InvokeModel's `guardrailIdentifier` / `guardrailVersion`
///   (and `trace`) parameters, never in the body.
/// - Families whose body has no token counts get them from the
///   `x-amzn-bedrock-input-token-count` / `-output-token-count` response headers.
/// - A guardrail intervention in the body (`amazon-bedrock-guardrailAction: INTERVENED`) is
///   reported in [`ChatResponse::guardrail`] and as [`StopReason::GuardrailIntervened`], as
///   Converse reports it.
pub async fn invoke_native(
    client: &Client,
    model: &ModelId,
    request: &ChatRequest,
    options: &CallOptions,
) -> Result<ChatResponse, CallError> {
    let native = NativeCall::prepare(model, request)?;
    let budget = CallBudget::start(client, options)?;
    let headers = TokenCountHeaders::default();
    let call = client
        .invoke_model()
        .model_id(model.to_string())
        .content_type(JSON)
        .accept(JSON)
        .body(Blob::new(native.body))
        .set_guardrail_identifier(native.guardrail.identifier)
        .set_guardrail_version(native.guardrail.version)
        .set_trace(native.guardrail.trace)
        .customize()
        .interceptor(headers.clone());
    let output = budget.apply(call).send().await.map_err(|error| budget.error(&error))?;
    let body = output.body.as_ref();
    let mut response = native.adapter.parse_response(body)?;
    fill_usage(&mut response.usage, headers.counts());
    if let Some(outcome) = native_guardrail::outcome_in(body) {
        if outcome.intervened {
            response.stop_reason = StopReason::GuardrailIntervened;
        }
        response.guardrail = Some(outcome);
    }
    Ok(response)
}

/// A native call ready to send: the family's adapter, the body, and the guardrail parameters.
#[derive(Debug)]
pub(crate) struct NativeCall {
    pub adapter: &'static dyn NativeAdapter,
    pub body: Vec<u8>,
    pub guardrail: GuardrailParameters,
}

impl NativeCall {
    /// Picks `model`'s adapter and writes the body of `request` without its guardrail, which
    /// travels as InvokeModel parameters instead.
    pub(crate) fn prepare(model: &ModelId, request: &ChatRequest) -> Result<Self, CallError> {
        let no_adapter = || AdapterError::NoAdapter { model: model.to_string() };
        let family = model.family().map_err(|_| no_adapter())?;
        let adapter = adapter_for(family).ok_or_else(no_adapter)?;
        let base = base_model_id(model).ok_or_else(no_adapter)?;
        let guardrail = GuardrailParameters::of(request.guardrail.as_ref());
        let body_request = match request.guardrail {
            Some(_) => Cow::Owned(ChatRequest { guardrail: None, ..request.clone() }),
            None => Cow::Borrowed(request),
        };
        let body = adapter.request_body(base, &body_request)?;
        let body = serde_json::to_vec(&body).map_err(|error| AdapterError::InvalidRequest {
            family,
            reason: format!("the body could not be written as JSON: {error}"),
        })?;
        Ok(NativeCall { adapter, body, guardrail })
    }
}

/// The base model whose native format `model` speaks: its base model, or a custom model's base.
fn base_model_id(model: &ModelId) -> Option<&str> {
    model.base_model().map(|base| base.as_str()).or_else(|| {
        model.arn().and_then(|arn| match arn.resource() {
            ModelResource::CustomModel { base, .. } => Some(base.as_str()),
            _ => None,
        })
    })
}

/// Takes the header counts when the body had none (the adapter left usage at zero).
fn fill_usage(usage: &mut Usage, headers: TokenCounts) {
    if usage.input_tokens != 0 || usage.output_tokens != 0 {
        return;
    }
    if headers.input.is_some() || headers.output.is_some() {
        *usage = Usage::new(headers.input.unwrap_or(0), headers.output.unwrap_or(0));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::bedrock::test_support::{
        HAIKU, StubBedrock, WARRANTY, client, local, model, standard_retries, warranty_question,
    };
    use crate::chat::GuardrailConfig;
    use crate::error::BedrockErrorKind;
    use aws_sdk_bedrockruntime::config::retry::RetryConfig;

    const BLOCKED: &str = "Sorry, the model cannot answer this question.";

    fn demo_guardrail(trace: bool) -> GuardrailConfig {
        GuardrailConfig { identifier: "quarrydemo".into(), version: "DRAFT".into(), trace }
    }

    #[tokio::test]
    async fn converse_answers_with_the_sentence_that_answers_the_question() {
        let server = local("").await;
        let client = client(&server, RetryConfig::disabled());
        let options = CallOptions::default();
        let answer = converse(&client, &model(HAIKU), &warranty_question(), &options)
            .await
            .expect("the local model answers");
        let text = answer.text();
        assert!(text.contains(WARRANTY), "{text}");
        assert!(!text.contains("Returns"), "only the relevant sentence: {text}");
        assert_eq!(answer.stop_reason, StopReason::EndTurn);
        assert!(answer.usage.input_tokens > 0 && answer.usage.output_tokens > 0);
        assert_eq!(answer.guardrail, None);
        assert_eq!(server.faults().calls(), 1);
    }

    #[tokio::test]
    async fn converse_reports_a_guardrail_intervention_with_its_trace() {
        let server = local("").await;
        let client = client(&server, RetryConfig::disabled());
        let request = ChatRequest {
            guardrail: Some(demo_guardrail(true)),
            ..ChatRequest::from_user_text("Which stocks should I buy for my portfolio?")
        };
        let answer = converse(&client, &model(HAIKU), &request, &CallOptions::default())
            .await
            .expect("a guarded answer");
        assert_eq!(answer.text(), BLOCKED);
        assert_eq!(answer.stop_reason, StopReason::GuardrailIntervened);
        let guardrail = answer.guardrail.expect("the guardrail outcome");
        assert!(guardrail.intervened);
        assert!(guardrail.trace.is_some(), "tracing was asked for");

        let harmless =
            ChatRequest { guardrail: Some(demo_guardrail(false)), ..warranty_question() };
        let answer = converse(&client, &model(HAIKU), &harmless, &CallOptions::default())
            .await
            .expect("an answer");
        assert!(answer.text().contains(WARRANTY));
        assert!(!answer.guardrail.is_some_and(|g| g.intervened));
    }

    #[tokio::test]
    async fn throttling_without_retries_is_a_429_call_error() {
        let server = local("throttle_every=1").await;
        let client = client(&server, RetryConfig::disabled());
        let error = converse(&client, &model(HAIKU), &warranty_question(), &CallOptions::default())
            .await
            .expect_err("throttled");
        let bedrock = error.as_bedrock().expect("a Bedrock error");
        assert_eq!(bedrock.kind, BedrockErrorKind::Throttling);
        assert_eq!(error.http_status(), 429);
        assert!(error.is_retryable());
        assert_eq!(server.faults().calls(), 1, "no retry");
    }

    #[tokio::test]
    async fn standard_retries_ride_out_throttling() {
        let server = local("throttle_every=2").await;
        let client = client(&server, standard_retries());
        for _ in 0..2 {
            let answer =
                converse(&client, &model(HAIKU), &warranty_question(), &CallOptions::default())
                    .await
                    .expect("the retry succeeds");
            assert!(answer.text().contains(WARRANTY));
        }
        assert_eq!(server.faults().calls(), 3, "the second call was throttled once, then retried");
    }

    #[tokio::test]
    async fn a_model_timeout_is_a_504() {
        let server = local("timeout_every=1").await;
        let client = client(&server, RetryConfig::disabled());
        let error = converse(&client, &model(HAIKU), &warranty_question(), &CallOptions::default())
            .await
            .expect_err("the model timed out");
        assert_eq!(error.as_bedrock().map(|e| e.kind), Some(BedrockErrorKind::ModelTimeout));
        assert_eq!(error.http_status(), 504);
    }

    #[tokio::test]
    async fn invoke_native_works_against_the_local_endpoint_once_it_speaks_the_family() {
        // The local endpoint is gaining native chat bodies; until it speaks Anthropic's, it must
        // refuse with its documented ValidationException rather than anything else.
        let server = local("").await;
        let client = client(&server, RetryConfig::disabled());
        let request = ChatRequest { max_tokens: Some(200), ..warranty_question() };
        match invoke_native(&client, &model(HAIKU), &request, &CallOptions::default()).await {
            Ok(answer) => {
                assert!(answer.text().contains(WARRANTY), "{}", answer.text());
                assert!(answer.usage.input_tokens > 0 && answer.usage.output_tokens > 0);
            }
            Err(error) => {
                let bedrock = error.as_bedrock().expect("a Bedrock error");
                assert_eq!(bedrock.kind, BedrockErrorKind::Validation, "{error}");
                assert!(bedrock.message.contains("does not speak the native"), "{error}");
            }
        }
    }

    /// Anthropic's documented tool-use response (see `tests/fixtures/adapters/README.md`).
    fn anthropic_response() -> Value {
        serde_json::from_str(include_str!(
            "../../tests/fixtures/adapters/anthropic_response_tool_use.json"
        ))
        .expect("fixture")
    }

    #[tokio::test]
    async fn invoke_native_moves_the_guardrail_to_the_parameters_and_reads_the_intervention() {
        // The response carries the guardrail fields of the InvokeModel API reference's "Use a
        // guardrail" example response; the trace content is ours.
        let mut body = anthropic_response();
        body["amazon-bedrock-guardrailAction"] = json!("INTERVENED");
        body["amazon-bedrock-trace"] = json!({"guardrail": {"input": {"gr1abc": {
            "topicPolicy": {"topics": [{"name": "Weather", "type": "DENY", "action": "BLOCKED"}]}
        }}}});
        let bedrock = StubBedrock::answering(
            serde_json::to_vec(&body).expect("body"),
            &[
                ("content-type", JSON),
                ("x-amzn-bedrock-input-token-count", "1"),
                ("x-amzn-bedrock-output-token-count", "1"),
            ],
        );
        let guardrail =
            GuardrailConfig { identifier: "gr1abc".into(), version: "3".into(), trace: true };
        let request = ChatRequest {
            guardrail: Some(guardrail),
            max_tokens: Some(1024),
            ..ChatRequest::from_user_text("What is the weather like in San Francisco?")
        };
        let answer =
            invoke_native(&bedrock.client(), &model(HAIKU), &request, &CallOptions::default())
                .await
                .expect("answers");

        let sent = bedrock.requests();
        let [sent] = sent.as_slice() else { panic!("one request: {sent:?}") };
        assert!(sent.path.ends_with("/invoke"), "{}", sent.path);
        assert!(sent.path.contains("/model/anthropic.claude-3-haiku-20240307-v1"), "{}", sent.path);
        assert_eq!(sent.header("x-amzn-bedrock-guardrailidentifier"), Some("gr1abc"));
        assert_eq!(sent.header("x-amzn-bedrock-guardrailversion"), Some("3"));
        assert_eq!(sent.header("x-amzn-bedrock-trace"), Some("ENABLED"));
        assert_eq!(sent.header("content-type"), Some(JSON));
        assert_eq!(sent.header("accept"), Some(JSON));
        let without_guardrail = ChatRequest { guardrail: None, ..request.clone() };
        let expected = adapter_for(crate::model::Family::Anthropic)
            .expect("adapter")
            .request_body(HAIKU, &without_guardrail)
            .expect("body");
        assert_eq!(sent.json(), expected, "the body is the adapter's, without the guardrail");
        assert!(!String::from_utf8_lossy(&sent.body).contains("gr1abc"));

        let guardrail = answer.guardrail.expect("the guardrail outcome");
        assert!(guardrail.intervened);
        assert_eq!(
            guardrail.trace.expect("traced")["input"]["gr1abc"]["topicPolicy"]["topics"][0]["action"],
            "BLOCKED"
        );
        assert_eq!(answer.stop_reason, StopReason::GuardrailIntervened);
        assert_eq!(answer.usage, Usage::new(472, 89), "the body's counts win over the headers");
    }

    #[tokio::test]
    async fn usage_comes_from_the_headers_when_the_body_has_none() {
        // The text-completion response of the AWS page "Mistral AI models"
        // (model-parameters-mistral-text-completion): `outputs[].text`, `stop_reason`, no counts.
        let body =
            json!({"outputs": [{"text": " The warranty lasts two years.", "stop_reason": "stop"}]});
        let bedrock = StubBedrock::answering(
            serde_json::to_vec(&body).expect("body"),
            &[
                ("content-type", JSON),
                ("x-amzn-bedrock-input-token-count", "53"),
                ("x-amzn-bedrock-output-token-count", "7"),
                ("x-amzn-bedrock-invocation-latency", "312"),
            ],
        );
        let mistral = model("mistral.mistral-7b-instruct-v0:2");
        let answer = invoke_native(
            &bedrock.client(),
            &mistral,
            &ChatRequest::from_user_text("How long is the warranty?"),
            &CallOptions::default(),
        )
        .await
        .expect("answers");
        assert_eq!(answer.text().trim(), WARRANTY);
        assert_eq!(answer.stop_reason, StopReason::EndTurn);
        assert_eq!(answer.usage, Usage::new(53, 7));
        assert_eq!(answer.guardrail, None);
        let sent = bedrock.requests();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].header("x-amzn-bedrock-guardrailidentifier"), None);
        assert_eq!(sent[0].header("x-amzn-bedrock-trace"), None);
    }

    #[tokio::test]
    async fn a_model_without_a_native_adapter_is_refused_before_any_call() {
        let bedrock = StubBedrock::answering(b"{}".to_vec(), &[("content-type", JSON)]);
        let client = bedrock.client();
        for id in [
            "amazon.titan-embed-text-v2:0",
            "acme.frontier-v1:0",
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6",
        ] {
            let request = ChatRequest::from_user_text("Hello");
            let error = invoke_native(&client, &model(id), &request, &CallOptions::default())
                .await
                .expect_err("no adapter");
            assert!(
                matches!(&error, CallError::Adapter(AdapterError::NoAdapter { model }) if model == id),
                "{id}: {error:?}"
            );
            assert!(error.to_string().contains("Converse"), "{error}");
            assert_eq!(error.http_status(), 400);
        }
        assert!(bedrock.requests().is_empty());
    }

    #[tokio::test]
    async fn an_unreadable_native_answer_is_a_502() {
        let bedrock =
            StubBedrock::answering(b"<html>Bad Gateway</html>".to_vec(), &[("content-type", JSON)]);
        let error = invoke_native(
            &bedrock.client(),
            &model(HAIKU),
            &ChatRequest::from_user_text("Hello"),
            &CallOptions::default(),
        )
        .await
        .expect_err("not JSON");
        assert!(matches!(error, CallError::Adapter(AdapterError::InvalidResponse { .. })));
        assert_eq!(error.http_status(), 502);
    }

    #[test]
    fn custom_models_speak_their_base_models_format() {
        let custom = model(
            "arn:aws:bedrock:us-east-1:123456789012:custom-model/meta.llama3-8b-instruct-v1:0/a1b2c3d4e5f6",
        );
        let call = NativeCall::prepare(&custom, &ChatRequest::from_user_text("Hi")).expect("meta");
        assert_eq!(call.adapter.family(), crate::model::Family::Meta);
        let body: Value = serde_json::from_slice(&call.body).expect("json");
        assert!(body["prompt"].as_str().is_some_and(|p| p.contains("Hi")), "{body}");
    }
}
