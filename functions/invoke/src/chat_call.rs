//! One chat call as the API makes it: the requested model resolved against the allowlist, the
//! configured guardrail enforced, the request validated for the model's family, and the call sent
//! through Converse (the default) or the family's native InvokeModel body.

use std::time::Instant;

use quarry::bedrock::{self, CallError, CallOptions, ChatStream};
use quarry::chat::{ChatRequest, ChatResponse, GuardrailConfig, ValidationRules};
use quarry::model::AllowedModel;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::state::AppState;

/// Which Bedrock API carries the call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    /// Converse / ConverseStream: every chat model, one request shape.
    #[default]
    Converse,
    /// InvokeModel with the model family's native body (quarry's adapters).
    Native,
}

/// A chat call ready to send: the model to call and the request it gets.
#[derive(Debug, Clone)]
pub struct PreparedCall {
    pub model: AllowedModel,
    pub request: ChatRequest,
    pub api: Api,
}

impl PreparedCall {
    /// Resolves `requested` (or the default model), applies the configured guardrail and validates
    /// `request` for the model: every failure is the caller's 4xx.
    pub fn new(
        state: &AppState,
        requested: Option<&str>,
        mut request: ChatRequest,
        api: Api,
    ) -> Result<Self, ApiError> {
        let model = state
            .chat_models()
            .resolve(requested.unwrap_or_default(), |id| state.knows_model(id))?;
        request.guardrail = guardrail(state, request.guardrail.take())?;
        let rules = match (api, model.family) {
            (Api::Native, Some(family)) => ValidationRules::for_native(family),
            (Api::Native, None) => {
                return Err(ApiError::bad_request(format!(
                    "model `{}` has no native InvokeModel adapter in quarry; use \"api\": \"converse\", which supports every Bedrock chat model",
                    model.id
                ))
                .with_param("api")
                .with_code("native_api_unsupported"));
            }
            (Api::Converse, Some(family)) => ValidationRules::for_family(family),
            (Api::Converse, None) => ValidationRules::converse(),
        };
        request.validate(&rules)?;
        Ok(PreparedCall { model, request, api })
    }

    /// Sends the call and waits for the whole answer.
    pub async fn send(
        &self,
        state: &AppState,
        options: &CallOptions,
    ) -> Result<ChatResponse, CallError> {
        let started = Instant::now();
        let mut response = match self.api {
            Api::Converse => {
                bedrock::converse(state.bedrock(), &self.model.id, &self.request, options).await?
            }
            Api::Native => {
                bedrock::invoke_native(state.bedrock(), &self.model.id, &self.request, options)
                    .await?
            }
        };
        // Native bodies carry no latency: report the call's own.
        if response.latency_ms.is_none() {
            response.latency_ms = u64::try_from(started.elapsed().as_millis()).ok();
        }
        Ok(response)
    }

    /// Sends the call and returns its event stream.
    pub async fn stream(
        &self,
        state: &AppState,
        options: &CallOptions,
    ) -> Result<ChatStream, CallError> {
        match self.api {
            Api::Converse => {
                bedrock::converse_stream(state.bedrock(), &self.model.id, &self.request, options)
                    .await
            }
            Api::Native => {
                bedrock::invoke_native_stream(
                    state.bedrock(),
                    &self.model.id,
                    &self.request,
                    options,
                )
                .await
            }
        }
    }
}

/// The guardrail a call runs under: the one in quarry.toml, always. A request may name it (it is
/// then checked to be that one) but cannot choose another or switch it off.
fn guardrail(
    state: &AppState,
    requested: Option<GuardrailConfig>,
) -> Result<Option<GuardrailConfig>, ApiError> {
    let configured = state.settings().guardrail.as_ref().map(|g| GuardrailConfig {
        identifier: g.id.clone(),
        version: g.version.clone(),
        trace: true,
    });
    match (configured, requested) {
        (configured, None) => Ok(configured),
        (Some(configured), Some(requested))
            if requested.identifier == configured.identifier
                && requested.version == configured.version =>
        {
            Ok(Some(configured))
        }
        (_, Some(_)) => Err(ApiError::bad_request(
            "guardrails are set by quarry.toml ([guardrail]); a request cannot choose its own",
        )
        .with_param("guardrail")
        .with_code("guardrail_not_allowed")),
    }
}
