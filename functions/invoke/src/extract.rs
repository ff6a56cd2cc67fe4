//! Request extraction that never answers in plain text: the body within the configured size limit
//! (413 as JSON), and JSON parsing whose errors name the field path (400 as JSON).

use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use quarry::bedrock::CallOptions;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;

/// The request body, read up to `limits.max_body_bytes`.
#[derive(Debug)]
pub struct LimitedBody(pub Bytes);

impl FromRequest<AppState> for LimitedBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let limit = usize::try_from(state.settings().limits.max_body_bytes).unwrap_or(usize::MAX);
        axum::body::to_bytes(request.into_body(), limit).await.map(LimitedBody).map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request body is larger than the {limit}-byte limit"),
            )
            .with_code("body_too_large")
        })
    }
}

/// Parses a JSON body into `T`; errors name the field (`messages[0].content`). Text after the
/// JSON value is an error too.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(path_error)?;
    deserializer.end().map_err(|e| {
        ApiError::bad_request(format!("trailing characters after the JSON body: {e}"))
            .with_code("invalid_json")
    })?;
    Ok(value)
}

/// Deserializes an already-parsed JSON value into `T`; errors name the field.
pub fn parse_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(path_error)
}

fn path_error<E: std::fmt::Display>(error: serde_path_to_error::Error<E>) -> ApiError {
    {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let message = if path == "." {
            format!("the body is not valid JSON for this route: {inner}")
        } else {
            format!("{path}: {inner}")
        };
        let error = ApiError::bad_request(message).with_code("invalid_json");
        if path == "." { error } else { error.with_param(path) }
    }
}

/// When the current invocation must be over (the Lambda deadline); the entry point adds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(pub SystemTime);

/// Time kept back from the Lambda deadline to answer (and log) after a Bedrock call gives up.
const DEADLINE_MARGIN: Duration = Duration::from_millis(750);

/// The call options of this request: bounded by its deadline, if it has one.
#[derive(Debug, Clone, Copy)]
pub struct CallBudget(pub CallOptions);

impl<S: Send + Sync> FromRequestParts<S> for CallBudget {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(CallBudget(match parts.extensions.get::<Deadline>() {
            Some(Deadline(deadline)) => CallOptions::before(*deadline, DEADLINE_MARGIN),
            None => CallOptions::default(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        messages: Vec<Message>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Message {
        role: String,
    }

    #[test]
    fn json_errors_name_the_field_path() {
        let error = parse_json::<Body>(br#"{"messages": [{"role": 5}]}"#).expect_err("bad");
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert_eq!(error.body.error.param.as_deref(), Some("messages[0].role"));
        let error = parse_json::<Body>(b"not json").expect_err("bad");
        assert!(error.message().contains("not valid JSON"), "{}", error.message());
        let error = parse_json::<Body>(br#"{"messages": []} {}"#).expect_err("two documents");
        assert!(error.message().contains("trailing"), "{}", error.message());
    }
}
