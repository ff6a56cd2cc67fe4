//! Calling Bedrock: quarry's chat and embedding requests sent through a prebuilt
//! `aws_sdk_bedrockruntime::Client`, the answers mapped back, and every failure one [`CallError`].
//!
//! - [`converse`] / [`converse_stream`]: Converse and ConverseStream, for every chat model.
//! - [`invoke_native`] / [`invoke_native_stream`]: InvokeModel and InvokeModelWithResponseStream
//!   with the model family's native body ([`crate::adapters`]).
//! - [`embed`]: a batch of texts split by [`crate::embed::plan`] and sent with bounded concurrency.
//!
//! # The client
//!
//! Build the client once at start-up and pass it in; these functions never build one. Configure
//! the SDK's standard retry mode on it (`RetryConfig::standard()`, the default: exponential backoff
//! with jitter on throttling, 5xx and timeouts): retries happen inside each call.
//!
//! # The deadline
//!
//! A Lambda that runs out of time is killed mid-retry, with no answer and no log of why. So every
//! call takes [`CallOptions::deadline`], the instant by which it must be over (the function's
//! remaining time minus a safety margin, see [`CallOptions::before`]):
//! - if the deadline has already passed, the call fails with [`CallError::DeadlineExceeded`]
//!   without sending anything;
//! - otherwise the SDK's operation timeout for this one call is set to the time left (or the
//!   client's own operation timeout, if shorter), so the SDK stops retrying and answers in time;
//!   when that timeout fires, the call fails with [`CallError::DeadlineExceeded`];
//! - a stream is bounded too: waiting for its next event past the deadline ends it with a
//!   [`CallError::DeadlineExceeded`] item.
//!
//! The SDK needs an async sleep for its timeouts; clients built with the `rt-tokio` feature (as
//! quarry's are) have one.

mod chat;
mod deadline;
mod embed;
mod headers;
mod native_guardrail;
mod stream;

use std::time::{Duration, Instant, SystemTime};

pub use chat::{converse, invoke_native};
pub use embed::{DEFAULT_EMBED_CONCURRENCY, EmbedOptions, embed};
pub use stream::{ChatStream, GuardrailHandle, converse_stream, invoke_native_stream};

use crate::adapters::AdapterError;
use crate::chat::ConverseError;
use crate::embed::EmbedError;
use crate::error::BedrockError;

/// How one Bedrock call is bounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallOptions {
    /// The instant by which the call (all retries and, for streams, every event) must be over;
    /// `None` leaves only the client's own timeouts.
    pub deadline: Option<Instant>,
}

impl CallOptions {
    /// Calls that must be over within `budget` from now.
    pub fn within(budget: Duration) -> Self {
        CallOptions { deadline: Some(Instant::now() + budget) }
    }

    /// Calls that must be over `safety_margin` before `deadline`, a wall-clock instant such as a
    /// Lambda invocation's deadline. A deadline already past (or closer than the margin) makes
    /// every call fail fast with [`CallError::DeadlineExceeded`].
    pub fn before(deadline: SystemTime, safety_margin: Duration) -> Self {
        let remaining = deadline.duration_since(SystemTime::now()).unwrap_or_default();
        CallOptions { deadline: Some(Instant::now() + remaining.saturating_sub(safety_margin)) }
    }
}

/// What can go wrong calling Bedrock through this module.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Bedrock or the SDK failed (throttling, validation, timeouts, connection, stream errors…),
    /// classified by [`crate::error::classify`].
    #[error(transparent)]
    Bedrock(BedrockError),
    /// The request cannot be sent to this model natively (no adapter, unsupported feature,
    /// invalid parameter), or the model's native answer is not the documented shape.
    #[error(transparent)]
    Adapter(AdapterError),
    /// The request cannot be expressed as a Converse call (e.g. a number out of Converse's range).
    #[error("the request cannot be sent through Converse: {0}")]
    Converse(#[source] ConverseError),
    /// Converse answered with something quarry's types cannot hold (no message, a bad number).
    #[error("Bedrock's Converse answer could not be read: {0}")]
    ConverseAnswer(#[source] ConverseError),
    /// The embedding request is invalid for the model, or the model's answers do not fit it.
    #[error(transparent)]
    Embed(EmbedError),
    /// The call's deadline passed: before the call (nothing was sent) or while waiting for
    /// Bedrock (the call was abandoned).
    #[error(
        "the call's deadline passed before Bedrock answered; the function had no time left to wait or retry"
    )]
    DeadlineExceeded,
}

impl CallError {
    /// The HTTP status quarry's API answers with: Bedrock errors as classified; requests that
    /// cannot be sent (no adapter, unsupported feature, invalid embedding request) are the
    /// caller's 400; answers quarry cannot read are a bad gateway's 502; a passed deadline is
    /// the gateway timeout 504; quarry's own bugs are 500.
    pub fn http_status(&self) -> u16 {
        match self {
            CallError::Bedrock(error) => error.http_status(),
            CallError::Adapter(AdapterError::InvalidResponse { .. }) => 502,
            CallError::Adapter(_) => 400,
            CallError::Converse(_) => 400,
            CallError::ConverseAnswer(_) => 502,
            CallError::Embed(error) => match error {
                EmbedError::InvalidResponse { .. }
                | EmbedError::WrongVectorCount { .. }
                | EmbedError::WrongDimension { .. } => 502,
                EmbedError::Body { .. }
                | EmbedError::UnknownCall { .. }
                | EmbedError::DuplicateCall { .. }
                | EmbedError::MissingCalls { .. } => 500,
                _ => 400,
            },
            CallError::DeadlineExceeded => 504,
        }
    }

    /// True when the same request may succeed if sent again later: retryable Bedrock errors,
    /// and a passed deadline (a new invocation has a new time budget). Invalid requests and
    /// unreadable answers are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            CallError::Bedrock(error) => error.is_retryable(),
            CallError::DeadlineExceeded => true,
            CallError::Adapter(_)
            | CallError::Converse(_)
            | CallError::ConverseAnswer(_)
            | CallError::Embed(_) => false,
        }
    }

    /// The classified Bedrock error, when this is one.
    pub fn as_bedrock(&self) -> Option<&BedrockError> {
        match self {
            CallError::Bedrock(error) => Some(error),
            _ => None,
        }
    }
}

impl From<BedrockError> for CallError {
    fn from(error: BedrockError) -> Self {
        CallError::Bedrock(error)
    }
}

impl From<AdapterError> for CallError {
    fn from(error: AdapterError) -> Self {
        CallError::Adapter(error)
    }
}

impl From<EmbedError> for CallError {
    fn from(error: EmbedError) -> Self {
        CallError::Embed(error)
    }
}

#[cfg(test)]
pub(crate) mod test_support;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::EmbeddingModel;
    use crate::error::BedrockErrorKind;
    use crate::model::Family;

    #[test]
    fn statuses_and_retryability_say_whose_fault_it_is() {
        let cases: Vec<(CallError, u16, bool)> = vec![
            (CallError::Adapter(AdapterError::NoAdapter { model: "x.y-v1".into() }), 400, false),
            (
                CallError::Adapter(AdapterError::Unsupported {
                    family: Family::Meta,
                    feature: "tools".into(),
                }),
                400,
                false,
            ),
            (
                CallError::Adapter(AdapterError::InvalidResponse {
                    family: Family::Meta,
                    reason: "no generation".into(),
                }),
                502,
                false,
            ),
            (CallError::Converse(ConverseError::Missing { path: "messages".into() }), 400, false),
            (
                CallError::ConverseAnswer(ConverseError::Missing { path: "output".into() }),
                502,
                false,
            ),
            (CallError::Embed(EmbedError::NoTexts), 400, false),
            (
                CallError::Embed(EmbedError::WrongDimension {
                    model: EmbeddingModel::TitanTextV2,
                    index: 0,
                    expected: 256,
                    got: 1024,
                }),
                502,
                false,
            ),
            (CallError::Embed(EmbedError::MissingCalls { missing: vec![1] }), 500, false),
            (CallError::DeadlineExceeded, 504, true),
        ];
        for (error, status, retryable) in cases {
            assert_eq!(error.http_status(), status, "{error}");
            assert_eq!(error.is_retryable(), retryable, "{error}");
        }
    }

    #[test]
    fn bedrock_errors_keep_their_classification() {
        let throttled = BedrockError {
            kind: BedrockErrorKind::Throttling,
            code: Some("ThrottlingException".into()),
            message: "Too many requests, please wait before trying again.".into(),
            request_id: None,
            retry_after_secs: Some(1),
        };
        let error = CallError::from(throttled.clone());
        assert_eq!(error.http_status(), 429);
        assert!(error.is_retryable());
        assert_eq!(error.as_bedrock(), Some(&throttled));
        assert_eq!(error.to_string(), throttled.to_string());
    }

    #[test]
    fn a_deadline_before_a_wall_clock_instant_keeps_the_margin() {
        let margin = Duration::from_millis(500);
        let options = CallOptions::before(SystemTime::now() + Duration::from_secs(10), margin);
        let left = options.deadline.expect("a deadline").duration_since(Instant::now());
        assert!(left <= Duration::from_millis(9_500), "{left:?}");
        assert!(left > Duration::from_secs(9), "{left:?}");

        let past = CallOptions::before(SystemTime::now() - Duration::from_secs(1), margin);
        assert!(past.deadline.expect("a deadline") <= Instant::now());
        let inside_margin =
            CallOptions::before(SystemTime::now() + Duration::from_millis(100), margin);
        assert!(inside_margin.deadline.expect("a deadline") <= Instant::now());
    }

    #[tokio::test]
    async fn a_passed_deadline_fails_every_call_without_sending_anything() {
        use test_support::{HAIKU, client, local, model, warranty_question};
        let server = local("").await;
        let client = client(&server, test_support::standard_retries());
        let options = CallOptions { deadline: Some(Instant::now()) };
        let (haiku, request) = (model(HAIKU), warranty_question());
        let errors = [
            converse(&client, &haiku, &request, &options).await.err(),
            converse_stream(&client, &haiku, &request, &options).await.err(),
            invoke_native(&client, &haiku, &request, &options).await.err(),
            invoke_native_stream(&client, &haiku, &request, &options).await.err(),
            embed(
                &client,
                &model("amazon.titan-embed-text-v2:0"),
                &crate::embed::EmbedRequest::query("How long is the warranty?"),
                &EmbedOptions { call: options, ..EmbedOptions::default() },
            )
            .await
            .err(),
        ];
        for error in errors {
            assert!(matches!(error, Some(CallError::DeadlineExceeded)), "{error:?}");
        }
        assert_eq!(server.faults().calls(), 0, "nothing reached Bedrock");
    }

    #[tokio::test]
    async fn a_deadline_shorter_than_the_answer_ends_the_call_in_time() {
        use test_support::{HAIKU, client, local, model, warranty_question};
        let server = local("latency_ms=3000").await;
        let client = client(&server, test_support::standard_retries());
        let started = Instant::now();
        let options = CallOptions::within(Duration::from_millis(300));
        let error = converse(&client, &model(HAIKU), &warranty_question(), &options)
            .await
            .expect_err("the model is slower than the deadline");
        assert!(matches!(error, CallError::DeadlineExceeded), "{error:?}");
        assert_eq!(error.http_status(), 504);
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
        assert!(elapsed < Duration::from_millis(1_500), "no hang, no retry past it: {elapsed:?}");

        let started = Instant::now();
        let error = embed(
            &client,
            &model("amazon.titan-embed-text-v2:0"),
            &crate::embed::EmbedRequest::query("How long is the warranty?"),
            &EmbedOptions {
                call: CallOptions::within(Duration::from_millis(300)),
                ..EmbedOptions::default()
            },
        )
        .await
        .expect_err("slower than the deadline");
        assert!(matches!(error, CallError::DeadlineExceeded), "{error:?}");
        assert!(started.elapsed() < Duration::from_millis(1_500), "{:?}", started.elapsed());
    }
}
