//! `ApiError`: every failure the API answers, as a JSON body with a reason and the right status.
//!
//! All routes answer errors in OpenAI's shape (`{"error": {"message", "type", "param", "code"}}`),
//! which OpenAI clients understand and which is plain enough for quarry's native routes too.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use quarry::bedrock::CallError;
use quarry::chat::ChatError;
use quarry::error::BedrockErrorKind;
use quarry::model::{ModelId, ResolveError};
use quarry::openai::{ErrorResponse, ErrorType, OpenAiError};

/// An error answer: status, OpenAI-shaped body, and `Retry-After` when the caller should wait.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorResponse,
    /// Seconds the caller should wait before retrying (sent as `Retry-After`).
    pub retry_after_secs: Option<u32>,
}

impl ApiError {
    /// An error with `status`; the body's `type` follows from the status.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: ErrorResponse::new(error_type(status), message),
            retry_after_secs: None,
        }
    }

    /// 400: the request is malformed or asks for something quarry cannot do.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401: no valid credentials.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message).with_code("invalid_api_key")
    }

    /// 404 for a route that does not exist.
    pub fn no_route(method: &str, path: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("no route for {method} {path}"))
            .with_code("unknown_route")
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.body = self.body.with_param(param);
        self
    }

    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.body = self.body.with_code(code);
        self
    }

    /// The message the caller reads.
    pub fn message(&self) -> &str {
        &self.body.error.message
    }

    /// A Bedrock call's failure, with `model` named in hints.
    pub fn from_call(error: &CallError, model: &ModelId) -> Self {
        let status =
            StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let Some(bedrock) = error.as_bedrock() else {
            return Self::new(status, error.to_string()).with_code(call_code(error));
        };
        let message = match bedrock.kind {
            BedrockErrorKind::AccessDenied => format!(
                "Bedrock denied access to model `{model}`: {}. The invoke function's role must allow \
                 bedrock:InvokeModel and bedrock:InvokeModelWithResponseStream on this model's \
                 resources (quarry's stack grants exactly the models in quarry.toml — redeploy after \
                 changing them), and model access must be enabled for it in the Bedrock console.",
                bedrock.message.trim_end_matches('.')
            ),
            BedrockErrorKind::Throttling | BedrockErrorKind::ServiceQuotaExceeded => format!(
                "Bedrock is throttling requests to `{model}`: {}. Retry after the Retry-After delay.",
                bedrock.message.trim_end_matches('.')
            ),
            _ => format!(
                "Bedrock ({}) for model `{model}`: {}",
                bedrock.kind.code(),
                bedrock.message
            ),
        };
        ApiError {
            status,
            body: ErrorResponse::new(error_type(status), message).with_code(bedrock.kind.code()),
            retry_after_secs: bedrock.retry_after_secs,
        }
    }
}

fn call_code(error: &CallError) -> &'static str {
    match error {
        CallError::Bedrock(bedrock) => bedrock.kind.code(),
        CallError::Adapter(_) => "native_api_unsupported",
        CallError::Converse(_) => "invalid_request",
        CallError::ConverseAnswer(_) => "unreadable_model_answer",
        CallError::Embed(_) => "embedding_failed",
        CallError::DeadlineExceeded => "deadline_exceeded",
    }
}

/// The OpenAI error `type` that goes with an HTTP status.
fn error_type(status: StatusCode) -> ErrorType {
    match status.as_u16() {
        401 => ErrorType::AuthenticationError,
        403 => ErrorType::PermissionError,
        404 => ErrorType::NotFoundError,
        429 => ErrorType::RateLimitError,
        400..=499 => ErrorType::InvalidRequestError,
        _ => ErrorType::ServerError,
    }
}

impl From<OpenAiError> for ApiError {
    fn from(error: OpenAiError) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            body: error.to_error_response(),
            retry_after_secs: None,
        }
    }
}

impl From<ChatError> for ApiError {
    fn from(error: ChatError) -> Self {
        ApiError::bad_request(error.to_string()).with_code("invalid_request")
    }
}

impl From<ResolveError> for ApiError {
    fn from(error: ResolveError) -> Self {
        let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
        ApiError::new(status, error.to_string()).with_code(error.code()).with_param("model")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body)).into_response();
        if let Some(seconds) = self.retry_after_secs {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quarry::error::BedrockError;

    fn bedrock(kind: BedrockErrorKind, retry_after_secs: Option<u32>) -> CallError {
        CallError::Bedrock(BedrockError {
            kind,
            code: Some("X".into()),
            message: "it failed".into(),
            request_id: None,
            retry_after_secs,
        })
    }

    fn model() -> ModelId {
        "amazon.nova-lite-v1:0".parse().expect("model id")
    }

    #[test]
    fn throttling_is_429_with_retry_after_and_a_rate_limit_type() {
        let error = ApiError::from_call(&bedrock(BedrockErrorKind::Throttling, Some(2)), &model());
        assert_eq!(error.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(error.body.error.kind, ErrorType::RateLimitError);
        let response = error.into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
    }

    #[test]
    fn access_denied_names_the_model_and_the_policy_to_fix() {
        let error = ApiError::from_call(&bedrock(BedrockErrorKind::AccessDenied, None), &model());
        assert_eq!(error.status, StatusCode::FORBIDDEN);
        assert!(error.message().contains("amazon.nova-lite-v1:0"), "{}", error.message());
        assert!(error.message().contains("bedrock:InvokeModel"), "{}", error.message());
    }

    #[test]
    fn statuses_of_the_other_bedrock_kinds() {
        for (kind, status) in [
            (BedrockErrorKind::Validation, 400),
            (BedrockErrorKind::ModelTimeout, 504),
            (BedrockErrorKind::ServiceUnavailable, 503),
            (BedrockErrorKind::NotFound, 404),
        ] {
            let error = ApiError::from_call(&bedrock(kind, None), &model());
            assert_eq!(error.status.as_u16(), status, "{kind:?}");
        }
        let deadline = ApiError::from_call(&CallError::DeadlineExceeded, &model());
        assert_eq!(deadline.status, StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(deadline.body.error.code.as_deref(), Some("deadline_exceeded"));
    }

    #[test]
    fn model_resolution_errors_keep_their_status_and_list_the_allowed_models() {
        let error: ApiError = ResolveError::Unknown {
            model: "nope".into(),
            allowed: vec!["amazon.nova-lite-v1:0".into()],
        }
        .into();
        assert_eq!(error.status, StatusCode::NOT_FOUND);
        assert!(error.message().contains("amazon.nova-lite-v1:0"));
        assert_eq!(error.body.error.param.as_deref(), Some("model"));
    }
}
