//! OpenAI's error body (`{"error": {"message", "type", "param", "code"}}`) and [`OpenAiError`], the
//! ways an OpenAI-shaped request can fail to map onto quarry's types.
//!
//! The body is a plain serde type; which HTTP status goes with which [`ErrorType`] is decided by the
//! invoke function. Every [`OpenAiError`] names the field at fault as the body's `param`, written as
//! a path into the request JSON (`messages[2].content[1].image_url.url`).

use serde::{Deserialize, Serialize};

/// The `type` of an OpenAI error body; OpenAI clients show it and some branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorType {
    /// The request is malformed or asks for something unsupported (HTTP 400, 404 for models).
    InvalidRequestError,
    /// No or a wrong API key (HTTP 401).
    AuthenticationError,
    /// The key may not use this model or route (HTTP 403).
    PermissionError,
    /// The resource does not exist (HTTP 404).
    NotFoundError,
    /// Too many requests or tokens (HTTP 429).
    RateLimitError,
    /// The server (or Bedrock behind it) failed (HTTP 5xx).
    ServerError,
}

/// The object inside an error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// What went wrong, for a human.
    pub message: String,
    #[serde(rename = "type")]
    pub kind: ErrorType,
    /// The request field at fault, as a JSON path; `null` when no field is.
    pub param: Option<String>,
    /// A stable machine-readable code (e.g. `unsupported_parameter`); `null` when there is none.
    pub code: Option<String>,
}

/// An OpenAI error body: `{"error": {"message", "type", "param", "code"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    pub error: ErrorDetail,
}

impl ErrorResponse {
    /// An error of `kind` with `message` and no param or code.
    pub fn new(kind: ErrorType, message: impl Into<String>) -> Self {
        ErrorResponse {
            error: ErrorDetail { message: message.into(), kind, param: None, code: None },
        }
    }

    /// `invalid_request_error`: the request is malformed or unsupported.
    pub fn invalid_request_error(message: impl Into<String>) -> Self {
        Self::new(ErrorType::InvalidRequestError, message)
    }

    /// `authentication_error`: no API key, or a wrong one.
    pub fn authentication_error(message: impl Into<String>) -> Self {
        Self::new(ErrorType::AuthenticationError, message)
    }

    /// `permission_error`: the caller may not do this.
    pub fn permission_error(message: impl Into<String>) -> Self {
        Self::new(ErrorType::PermissionError, message)
    }

    /// `not_found_error`: no such model or route.
    pub fn not_found_error(message: impl Into<String>) -> Self {
        Self::new(ErrorType::NotFoundError, message)
    }

    /// `rate_limit_error`: throttled; the client should retry later.
    pub fn rate_limit_error(message: impl Into<String>) -> Self {
        Self::new(ErrorType::RateLimitError, message)
    }

    /// `server_error`: quarry or Bedrock failed.
    pub fn server_error(message: impl Into<String>) -> Self {
        Self::new(ErrorType::ServerError, message)
    }

    /// The same error naming `param` as the field at fault.
    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.error.param = Some(param.into());
        self
    }

    /// The same error with a machine-readable `code`.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.error.code = Some(code.into());
        self
    }
}

/// Why an OpenAI-shaped request cannot become a quarry request. Each message starts with the path
/// of the field at fault, which [`OpenAiError::param`] returns on its own.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OpenAiError {
    /// The body is not JSON, or a field has the wrong shape.
    #[error("{}: {message}", param.as_deref().unwrap_or("body"))]
    InvalidBody { param: Option<String>, message: String },
    /// A top-level field OpenAI's API does not have (OpenAI rejects these too).
    #[error("{param}: Unrecognized request argument supplied: {param}")]
    UnrecognizedParameter { param: String },
    /// An OpenAI parameter quarry cannot honour on Bedrock.
    #[error("{param}: this parameter is not supported: {reason}")]
    UnsupportedParameter { param: String, reason: String },
    /// An OpenAI parameter whose given value quarry cannot honour on Bedrock.
    #[error("{param}: this value is not supported: {reason}")]
    UnsupportedValue { param: String, reason: String },
    /// A value that is not valid where it stands.
    #[error("{param}: {reason}")]
    InvalidValue { param: String, reason: String },
    /// An image given by an http(s) URL: Bedrock takes image bytes, not URLs.
    #[error(
        "{param}: only data URLs (`data:image/png;base64,...`) are supported, because Bedrock needs the image bytes; download the image and send it inline"
    )]
    RemoteImageUrl { param: String },
    /// A content part of a kind quarry cannot send (audio, files) or in a role that cannot hold it.
    #[error("{param}: {reason}")]
    UnsupportedContentPart { param: String, reason: String },
    /// A tool call's `arguments` string is not a JSON object.
    #[error("{param}: expected the tool call's arguments as a JSON object in a string: {reason}")]
    InvalidToolArguments { param: String, reason: String },
    /// Embedding input given as token ids.
    #[error(
        "{param}: token-id input is not supported, because Bedrock embedding models take text; send a string or an array of strings"
    )]
    TokenInput { param: String },
}

impl OpenAiError {
    /// The path of the field at fault (`messages[2].content[1].image_url.url`), if any.
    pub fn param(&self) -> Option<&str> {
        match self {
            OpenAiError::InvalidBody { param, .. } => param.as_deref(),
            OpenAiError::UnrecognizedParameter { param }
            | OpenAiError::UnsupportedParameter { param, .. }
            | OpenAiError::UnsupportedValue { param, .. }
            | OpenAiError::InvalidValue { param, .. }
            | OpenAiError::RemoteImageUrl { param }
            | OpenAiError::UnsupportedContentPart { param, .. }
            | OpenAiError::InvalidToolArguments { param, .. }
            | OpenAiError::TokenInput { param } => Some(param),
        }
    }

    /// A stable machine-readable code for the error body.
    pub fn code(&self) -> &'static str {
        match self {
            OpenAiError::InvalidBody { .. } => "invalid_request_body",
            OpenAiError::UnrecognizedParameter { .. } => "unknown_parameter",
            OpenAiError::UnsupportedParameter { .. } => "unsupported_parameter",
            OpenAiError::UnsupportedValue { .. }
            | OpenAiError::RemoteImageUrl { .. }
            | OpenAiError::UnsupportedContentPart { .. }
            | OpenAiError::TokenInput { .. } => "unsupported_value",
            OpenAiError::InvalidValue { .. } | OpenAiError::InvalidToolArguments { .. } => {
                "invalid_value"
            }
        }
    }

    /// The `invalid_request_error` body a client gets for this error.
    pub fn to_error_response(&self) -> ErrorResponse {
        let response =
            ErrorResponse::invalid_request_error(self.to_string()).with_code(self.code());
        match self.param() {
            Some(param) => response.with_param(param),
            None => response,
        }
    }
}

impl From<&OpenAiError> for ErrorResponse {
    fn from(err: &OpenAiError) -> Self {
        err.to_error_response()
    }
}

/// Parses a request body, naming the path of the first field that does not fit (`messages[1].role`).
///
/// The JSON is read whole before it is given its shape: reading straight into `T`, serde_json
/// reports some type errors (a number where an enum's name belongs, `"role": 7`) as syntax errors,
/// which would lose the path of the field at fault.
pub(crate) fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, OpenAiError> {
    // A syntax error (or trailing text) has no field at fault, only a line and column.
    let json: serde_json::Value = serde_json::from_slice(body)
        .map_err(|err| OpenAiError::InvalidBody { param: None, message: err.to_string() })?;
    serde_path_to_error::deserialize(json).map_err(|err| {
        let path = err.path().to_string();
        let param = (path != "." && !path.is_empty()).then_some(path);
        OpenAiError::InvalidBody { param, message: err.into_inner().to_string() }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The 401 body from the OpenAI API reference ("Error codes" guide, invalid API key).
    #[test]
    fn error_bodies_have_openais_shape_with_null_param_and_code() {
        let body = ErrorResponse::invalid_request_error("Incorrect API key provided: sk-abc.")
            .with_code("invalid_api_key");
        assert_eq!(
            serde_json::to_value(&body).expect("serializable"),
            json!({"error": {
                "message": "Incorrect API key provided: sk-abc.",
                "type": "invalid_request_error",
                "param": null,
                "code": "invalid_api_key"
            }})
        );
        let parsed: ErrorResponse = serde_json::from_value(json!({"error": {
            "message": "The server had an error while processing your request. Sorry about that!",
            "type": "server_error", "param": null, "code": null
        }}))
        .expect("OpenAI's 500 body parses");
        assert_eq!(parsed.error.kind, ErrorType::ServerError);
    }

    #[test]
    fn every_constructor_writes_its_openai_type() {
        let cases = [
            (ErrorResponse::invalid_request_error("m"), "invalid_request_error"),
            (ErrorResponse::authentication_error("m"), "authentication_error"),
            (ErrorResponse::permission_error("m"), "permission_error"),
            (ErrorResponse::not_found_error("m"), "not_found_error"),
            (ErrorResponse::rate_limit_error("m"), "rate_limit_error"),
            (ErrorResponse::server_error("m"), "server_error"),
        ];
        for (body, kind) in cases {
            let value = serde_json::to_value(&body).expect("serializable");
            assert_eq!(value["error"]["type"], kind);
        }
    }

    #[test]
    fn mapping_errors_become_invalid_request_bodies_naming_the_field() {
        let err =
            OpenAiError::RemoteImageUrl { param: "messages[2].content[1].image_url.url".into() };
        let body = serde_json::to_value(err.to_error_response()).expect("serializable");
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(body["error"]["param"], "messages[2].content[1].image_url.url");
        assert_eq!(body["error"]["code"], "unsupported_value");
        let message = body["error"]["message"].as_str().expect("a message");
        assert!(message.starts_with("messages[2].content[1].image_url.url: only data URLs"));
    }

    #[test]
    fn body_parse_errors_name_the_path_or_none_for_broken_json() {
        #[derive(Debug, PartialEq, Deserialize)]
        struct Body {
            items: Vec<Item>,
        }
        #[derive(Debug, PartialEq, Deserialize)]
        struct Item {
            count: u32,
        }
        let body = parse_body::<Body>(br#"{"items": [{"count": 1}]}"#).expect("a valid body");
        assert_eq!(body, Body { items: vec![Item { count: 1 }] });
        let err = parse_body::<Body>(br#"{"items": [{"count": 1}, {"count": "two"}]}"#)
            .expect_err("a string is not a count");
        assert_eq!(err.param(), Some("items[1].count"));
        let err = parse_body::<Body>(b"{not json").expect_err("not JSON");
        assert_eq!(err.param(), None);
        assert!(err.to_string().starts_with("body: "), "{err}");
        let err = parse_body::<Body>(br#"{"items": []} {}"#).expect_err("two documents");
        assert!(err.to_string().contains("trailing"), "{err}");
    }

    #[test]
    fn a_number_where_an_enum_name_belongs_keeps_its_path() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Message {
            role: ErrorType,
        }
        let err = parse_body::<Vec<Message>>(br#"[{"role": 7}]"#).expect_err("not a variant");
        assert_eq!(err.param(), Some("[0].role"), "{err}");
    }
}
