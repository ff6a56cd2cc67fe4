//! AWS REST-JSON error responses, shaped exactly as Bedrock sends them.
//!
//! Bedrock answers an error with its HTTP status, an `x-amzn-ErrorType` header naming the
//! exception, and a JSON body `{"message": "..."}`. The AWS SDKs read the code from the header (or
//! the body's `__type`) and the message from the body, so both are set.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An error the local endpoint answers with, as the real service would.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AwsError {
    pub status: StatusCode,
    /// The exception name, e.g. `ValidationException`.
    pub code: &'static str,
    pub message: String,
}

impl AwsError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        AwsError { status, code, message: message.into() }
    }

    /// 400 ValidationException: the request is malformed or out of range.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ValidationException", message)
    }

    /// 404 ResourceNotFoundException: no such model, profile or guardrail.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "ResourceNotFoundException", message)
    }

    /// 403 AccessDeniedException.
    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "AccessDeniedException", message)
    }

    /// 429 ThrottlingException: too many requests.
    pub fn throttling(message: impl Into<String>) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, "ThrottlingException", message)
    }

    /// 408 ModelTimeoutException: the model took too long.
    pub fn model_timeout(message: impl Into<String>) -> Self {
        Self::new(StatusCode::REQUEST_TIMEOUT, "ModelTimeoutException", message)
    }

    /// 503 ServiceUnavailableException.
    pub fn service_unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailableException", message)
    }

    /// 500 InternalServerException.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerException", message)
    }

    /// The JSON body: `{"message": ...}`.
    pub fn body(&self) -> String {
        serde_json::json!({ "message": self.message }).to_string()
    }
}

impl IntoResponse for AwsError {
    fn into_response(self) -> Response {
        let body = self.body();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert("x-amzn-ErrorType", HeaderValue::from_static(self.code));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_response_carries_status_error_type_header_and_message_body() {
        let response = AwsError::throttling("Too many requests, please wait.").into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()["x-amzn-errortype"], "ThrottlingException");
        assert_eq!(response.headers()["content-type"], "application/json");
    }

    #[test]
    fn the_body_escapes_the_message_as_json() {
        let error = AwsError::validation("bad \"quote\"\nand newline");
        let body: serde_json::Value = serde_json::from_str(&error.body()).expect("json");
        assert_eq!(body["message"], "bad \"quote\"\nand newline");
    }
}
