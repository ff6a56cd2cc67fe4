//! Bedrock errors, classified: what went wrong, whether a retry can help, and the HTTP status and
//! stable code quarry's API answers with.
//!
//! [`classify`] works on the `SdkError` of any aws-sdk-bedrockruntime operation (Converse,
//! ConverseStream, InvokeModel, …) and of stream events. It reads Bedrock's error code
//! (`ThrottlingException`, …) from the error metadata; errors that arrive inside an event stream
//! carry no code there, so it then reads the modeled exception's name from the error itself.
//! Codes quarry does not know are classified by the HTTP status Bedrock sent (403 from
//! `UnrecognizedClientException` is access denied), else [`BedrockErrorKind::Unknown`].
//!
//! Bedrock's own statuses are in the "Errors" section of each operation's API reference and on
//! <https://docs.aws.amazon.com/bedrock/latest/userguide/troubleshooting-api-error-codes.html>.
//! quarry answers with the statuses below, which differ where quarry is a gateway in between.

use std::any::Any;
use std::error::Error as StdError;
use std::fmt::Debug;

use aws_sdk_bedrockruntime::config::http::HttpResponse;
use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use serde::{Deserialize, Serialize};

/// What kind of failure a Bedrock call had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BedrockErrorKind {
    /// Too many requests or tokens for the account's quota (`ThrottlingException`, 429).
    Throttling,
    /// The request is invalid for the model (`ValidationException`, 400).
    Validation,
    /// No permission for the model or action, or bad credentials (`AccessDeniedException`, 403).
    AccessDenied,
    /// The model is not ready to serve yet (`ModelNotReadyException`, 429 from Bedrock).
    ModelNotReady,
    /// The model took longer than its timeout (`ModelTimeoutException`, 408 from Bedrock).
    ModelTimeout,
    /// Bedrock is temporarily unavailable (`ServiceUnavailableException`, 503).
    ServiceUnavailable,
    /// The model, profile or resource does not exist (`ResourceNotFoundException`, 404).
    NotFound,
    /// The request exceeds an account service quota (`ServiceQuotaExceededException`).
    ServiceQuotaExceeded,
    /// The model itself returned an error (`ModelErrorException`, 424 from Bedrock).
    ModelError,
    /// The model's stream failed midway (`ModelStreamErrorException`).
    ModelStreamError,
    /// Bedrock failed internally (`InternalServerException`, 500).
    Internal,
    /// The call timed out on quarry's side (SDK operation or attempt timeout).
    Timeout,
    /// The request never got an answer: connection, DNS, TLS or credential failure (dispatch).
    Connection,
    /// The SDK could not build the request (a quarry bug or misconfiguration, e.g. a bad region).
    RequestConstruction,
    /// Anything else, including an unreadable Bedrock response.
    Unknown,
}

impl BedrockErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: [BedrockErrorKind; 15] = [
        Self::Throttling,
        Self::Validation,
        Self::AccessDenied,
        Self::ModelNotReady,
        Self::ModelTimeout,
        Self::ServiceUnavailable,
        Self::NotFound,
        Self::ServiceQuotaExceeded,
        Self::ModelError,
        Self::ModelStreamError,
        Self::Internal,
        Self::Timeout,
        Self::Connection,
        Self::RequestConstruction,
        Self::Unknown,
    ];

    /// True when the same request may succeed if sent again later.
    ///
    /// Model errors (424) are not retried: they come from the model's reaction to this input. A
    /// quota-exceeded error is retryable but only after a long wait (see
    /// [`BedrockError::retry_after_secs`]).
    pub fn is_retryable(self) -> bool {
        match self {
            Self::Throttling
            | Self::ModelNotReady
            | Self::ModelTimeout
            | Self::ServiceUnavailable
            | Self::ServiceQuotaExceeded
            | Self::ModelStreamError
            | Self::Internal
            | Self::Timeout
            | Self::Connection => true,
            Self::Validation
            | Self::AccessDenied
            | Self::NotFound
            | Self::ModelError
            | Self::RequestConstruction
            | Self::Unknown => false,
        }
    }

    /// The HTTP status quarry's API answers with.
    ///
    /// - 429 for throttling and quotas, so clients back off (with `Retry-After`).
    /// - 503 for a model not ready: Bedrock says 429, but the cause is capacity, not the client's
    ///   rate, and 503 is what clients retry as "try again shortly".
    /// - 504 for model and client timeouts: quarry is the gateway that gave up waiting.
    /// - 424 (Failed Dependency) for model errors, as Bedrock itself: the request reached the
    ///   model and the model failed on it. Unlike a 5xx, OpenAI-style clients do not blindly
    ///   retry it, which matches [`is_retryable`](Self::is_retryable).
    /// - 502 for failures upstream of quarry (internal, stream, connection, unknown): a bad
    ///   gateway answer, not a fault in quarry.
    /// - 500 only when quarry itself could not build the request.
    pub fn http_status(self) -> u16 {
        match self {
            Self::Throttling | Self::ServiceQuotaExceeded => 429,
            Self::Validation => 400,
            Self::AccessDenied => 403,
            Self::NotFound => 404,
            Self::ModelError => 424,
            Self::ModelNotReady | Self::ServiceUnavailable => 503,
            Self::ModelTimeout | Self::Timeout => 504,
            Self::ModelStreamError | Self::Internal | Self::Connection | Self::Unknown => 502,
            Self::RequestConstruction => 500,
        }
    }

    /// A stable machine-readable code for API error bodies and metrics (`throttling`, …); the
    /// same string serde writes.
    pub fn code(self) -> &'static str {
        match self {
            Self::Throttling => "throttling",
            Self::Validation => "validation",
            Self::AccessDenied => "access_denied",
            Self::ModelNotReady => "model_not_ready",
            Self::ModelTimeout => "model_timeout",
            Self::ServiceUnavailable => "service_unavailable",
            Self::NotFound => "not_found",
            Self::ServiceQuotaExceeded => "service_quota_exceeded",
            Self::ModelError => "model_error",
            Self::ModelStreamError => "model_stream_error",
            Self::Internal => "internal",
            Self::Timeout => "timeout",
            Self::Connection => "connection",
            Self::RequestConstruction => "request_construction",
            Self::Unknown => "unknown",
        }
    }

    /// A short description for people, used when Bedrock sent no message.
    pub fn description(self) -> &'static str {
        match self {
            Self::Throttling => "Bedrock throttled the request",
            Self::Validation => "Bedrock rejected the request as invalid",
            Self::AccessDenied => "access to the Bedrock model or action was denied",
            Self::ModelNotReady => "the model is not ready to serve requests yet",
            Self::ModelTimeout => "the model took too long to answer",
            Self::ServiceUnavailable => "Bedrock is temporarily unavailable",
            Self::NotFound => "the Bedrock model or resource was not found",
            Self::ServiceQuotaExceeded => "the request exceeds a Bedrock service quota",
            Self::ModelError => "the model failed to process the request",
            Self::ModelStreamError => "the model's response stream failed",
            Self::Internal => "Bedrock had an internal error",
            Self::Timeout => "the call to Bedrock timed out",
            Self::Connection => "could not reach Bedrock",
            Self::RequestConstruction => "quarry could not build the Bedrock request",
            Self::Unknown => "the call to Bedrock failed",
        }
    }

    /// The kind of a Bedrock error code (`ThrottlingException`; any case of its first letter, as
    /// event streams write `throttlingException`). `None` for codes quarry does not know.
    pub fn from_code(code: &str) -> Option<Self> {
        const CODES: [(&str, BedrockErrorKind); 11] = [
            ("ThrottlingException", BedrockErrorKind::Throttling),
            ("ValidationException", BedrockErrorKind::Validation),
            ("AccessDeniedException", BedrockErrorKind::AccessDenied),
            ("ModelNotReadyException", BedrockErrorKind::ModelNotReady),
            ("ModelTimeoutException", BedrockErrorKind::ModelTimeout),
            ("ServiceUnavailableException", BedrockErrorKind::ServiceUnavailable),
            ("ResourceNotFoundException", BedrockErrorKind::NotFound),
            ("ServiceQuotaExceededException", BedrockErrorKind::ServiceQuotaExceeded),
            ("ModelErrorException", BedrockErrorKind::ModelError),
            ("ModelStreamErrorException", BedrockErrorKind::ModelStreamError),
            ("InternalServerException", BedrockErrorKind::Internal),
        ];
        CODES.iter().find(|(known, _)| known.eq_ignore_ascii_case(code)).map(|&(_, kind)| kind)
    }

    /// The kind for an HTTP status Bedrock answered with an error code quarry does not know.
    fn from_status(status: u16) -> Self {
        match status {
            400 => Self::Validation,
            401 | 403 => Self::AccessDenied,
            404 => Self::NotFound,
            408 => Self::ModelTimeout,
            424 => Self::ModelError,
            429 => Self::Throttling,
            500 => Self::Internal,
            503 => Self::ServiceUnavailable,
            _ => Self::Unknown,
        }
    }
}

impl std::fmt::Display for BedrockErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.description())
    }
}

/// Seconds quarry suggests waiting after throttling when Bedrock sends no `Retry-After`: the
/// first backoff step of the AWS SDKs' standard retry mode.
pub const THROTTLING_RETRY_AFTER_SECS: u32 = 1;
/// Seconds quarry suggests waiting after a quota error: Bedrock quotas count per minute.
pub const QUOTA_RETRY_AFTER_SECS: u32 = 60;

/// A classified Bedrock failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", summary(*.kind, .code.as_deref(), .message))]
pub struct BedrockError {
    pub kind: BedrockErrorKind,
    /// Bedrock's error code (`ThrottlingException`); `None` when no Bedrock answer was parsed.
    pub code: Option<String>,
    /// Bedrock's message, or the SDK's description of a client-side failure.
    pub message: String,
    /// Bedrock's request id (`x-amzn-RequestId`), for support cases.
    pub request_id: Option<String>,
    /// Suggested wait before retrying: Bedrock's `Retry-After` if sent, else
    /// [`THROTTLING_RETRY_AFTER_SECS`] or [`QUOTA_RETRY_AFTER_SECS`]; `None` for other kinds.
    pub retry_after_secs: Option<u32>,
}

impl BedrockError {
    /// See [`BedrockErrorKind::is_retryable`].
    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }

    /// See [`BedrockErrorKind::http_status`].
    pub fn http_status(&self) -> u16 {
        self.kind.http_status()
    }

    fn new(kind: BedrockErrorKind, code: Option<String>, message: Option<String>) -> Self {
        let retry_after_secs = match kind {
            BedrockErrorKind::Throttling => Some(THROTTLING_RETRY_AFTER_SECS),
            BedrockErrorKind::ServiceQuotaExceeded => Some(QUOTA_RETRY_AFTER_SECS),
            _ => None,
        };
        BedrockError {
            kind,
            code,
            message: message
                .filter(|m| !m.trim().is_empty())
                .unwrap_or_else(|| kind.description().to_owned()),
            request_id: None,
            retry_after_secs,
        }
    }
}

/// `Bedrock throttled the request (ThrottlingException): Too many requests, …`, without the
/// message when it only repeats the kind's description.
fn summary(kind: BedrockErrorKind, code: Option<&str>, message: &str) -> String {
    let mut text = kind.description().to_owned();
    if let Some(code) = code {
        text.push_str(&format!(" ({code})"));
    }
    if message != kind.description() {
        text.push_str(": ");
        text.push_str(message);
    }
    text
}

/// Classifies the error of any Bedrock runtime operation or event stream.
pub fn classify<E, R>(err: &SdkError<E, R>) -> BedrockError
where
    E: ProvideErrorMetadata + StdError + 'static,
    R: Debug + 'static,
{
    let mut error = match err {
        SdkError::ServiceError(service) => classify_service(service.err(), service.raw()),
        SdkError::TimeoutError(_) => {
            BedrockError::new(BedrockErrorKind::Timeout, None, Some(source_chain(err)))
        }
        SdkError::DispatchFailure(failure) => {
            let kind = if failure.is_timeout() {
                BedrockErrorKind::Timeout
            } else {
                BedrockErrorKind::Connection
            };
            BedrockError::new(kind, None, Some(source_chain(err)))
        }
        SdkError::ConstructionFailure(_) => {
            BedrockError::new(BedrockErrorKind::RequestConstruction, None, Some(source_chain(err)))
        }
        _ => BedrockError::new(BedrockErrorKind::Unknown, None, Some(source_chain(err))),
    };
    if let Some(response) = err.raw_response().and_then(|raw| http_response(raw)) {
        let header = |name: &str| response.headers().get(name).map(str::to_owned);
        error.request_id = error.request_id.or_else(|| header("x-amzn-requestid"));
        if let Some(secs) = header("retry-after").and_then(|v| v.trim().parse().ok()) {
            error.retry_after_secs = Some(secs);
        }
    }
    error
}

fn classify_service<E, R>(service_err: &E, raw: &R) -> BedrockError
where
    E: ProvideErrorMetadata + StdError,
    R: 'static,
{
    let display = service_err.to_string();
    // Modeled exceptions display as "ThrottlingException: message" (or just the name).
    let (head, tail) =
        display.split_once(": ").map_or((display.as_str(), None), |(h, t)| (h, Some(t)));
    let is_exception_name =
        head.ends_with("Exception") && head.bytes().all(|b| b.is_ascii_alphanumeric());
    let (display_name, display_message) =
        if is_exception_name { (Some(head), tail) } else { (None, Some(display.as_str())) };
    let code = service_err.code().or(display_name).map(str::to_owned);
    let message = service_err.message().or(display_message).map(str::to_owned);
    let kind = code
        .as_deref()
        .and_then(BedrockErrorKind::from_code)
        .or_else(|| http_response(raw).map(|r| BedrockErrorKind::from_status(r.status().as_u16())))
        .unwrap_or(BedrockErrorKind::Unknown);
    let mut error = BedrockError::new(kind, code, message);
    error.request_id = service_err.meta().extra("aws_request_id").map(str::to_owned);
    error
}

/// The raw HTTP response, when the operation's raw type is one (event-stream errors carry a raw
/// event message instead).
fn http_response<R: 'static>(raw: &R) -> Option<&HttpResponse> {
    (raw as &dyn Any).downcast_ref::<HttpResponse>()
}

/// An error and its sources as one line: `dispatch failure: io error: connection refused`.
fn source_chain(err: &dyn StdError) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(current) = next {
        let text = current.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        next = current.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    //! The service errors here go through the real SDK: a fake HTTP connector answers with
    //! Bedrock's error responses (status, `x-amzn-ErrorType` header, `{"message": …}` body, as in
    //! the "Errors" sections of the Bedrock runtime API reference) and the SDK parses them into
    //! `ConverseError` / `InvokeModelError` exactly as it would from AWS.

    use std::sync::Arc;
    use std::time::Duration;

    use aws_sdk_bedrockruntime::Client;
    use aws_sdk_bedrockruntime::config::http::HttpRequest;
    use aws_sdk_bedrockruntime::config::retry::RetryConfig;
    use aws_sdk_bedrockruntime::config::timeout::TimeoutConfig;
    use aws_sdk_bedrockruntime::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_bedrockruntime::error::ConnectorError;
    use aws_sdk_bedrockruntime::operation::converse::ConverseError;
    use aws_sdk_bedrockruntime::primitives::Blob;
    use aws_sdk_bedrockruntime::types::error::ConverseStreamOutputError;
    use aws_sdk_bedrockruntime::types::error::{ModelStreamErrorException, ThrottlingException};
    use aws_sdk_bedrockruntime::types::{ContentBlock, ConversationRole, Message};
    use aws_smithy_runtime_api::client::http::{
        HttpConnector, HttpConnectorFuture, SharedHttpConnector, http_client_fn,
    };
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;
    use aws_smithy_types::event_stream::{Message as EventMessage, RawMessage};

    use super::*;

    type Answer = Arc<dyn Fn() -> HttpConnectorFuture + Send + Sync>;

    /// An HTTP connector that answers every request with the same canned outcome.
    #[derive(Clone)]
    struct Canned(Answer);

    impl Debug for Canned {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("Canned")
        }
    }

    impl HttpConnector for Canned {
        fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
            (self.0)()
        }
    }

    fn client(answer: Answer, timeouts: TimeoutConfig) -> Client {
        let connector = Canned(answer);
        let config = aws_sdk_bedrockruntime::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("AKIDEXAMPLE", "secret", None, None, "test"))
            .http_client(http_client_fn(move |_, _| SharedHttpConnector::new(connector.clone())))
            .retry_config(RetryConfig::disabled())
            .timeout_config(timeouts)
            .build();
        Client::from_conf(config)
    }

    /// A Bedrock error response as the REST-JSON protocol sends it.
    fn error_response(status: u16, error_type: &str, body: &str) -> HttpResponse {
        let status = status.try_into().expect("valid status");
        let mut response = HttpResponse::new(status, SdkBody::from(body.to_owned()));
        response.headers_mut().insert("content-type", "application/json");
        response.headers_mut().insert(
            "x-amzn-ErrorType",
            format!("{error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/"),
        );
        response.headers_mut().insert("x-amzn-RequestId", "7a3d4f2e-0c1b-4e8a-9d55-1f2b3c4d5e6f");
        response
    }

    fn answering(response: fn() -> HttpResponse) -> Client {
        client(
            Arc::new(move || HttpConnectorFuture::ready(Ok(response()))),
            TimeoutConfig::disabled(),
        )
    }

    async fn converse(client: &Client) -> SdkError<ConverseError, HttpResponse> {
        let message = Message::builder()
            .role(ConversationRole::User)
            .content(ContentBlock::Text("Is S3 encryption on by default?".into()))
            .build()
            .expect("valid message");
        client
            .converse()
            .model_id("anthropic.claude-3-5-sonnet-20240620-v1:0")
            .messages(message)
            .send()
            .await
            .expect_err("the canned answer is an error")
    }

    /// Bedrock error responses: (status, error type, body, expected kind). Messages are the ones
    /// Bedrock sends, as quoted on the pages cited.
    const SERVICE_ERRORS: &[(u16, &str, &str, BedrockErrorKind)] = &[
        // Throttling message as quoted for InvokeModel/Converse with the troubleshooting page:
        // https://docs.aws.amazon.com/bedrock/latest/userguide/troubleshooting-api-error-codes.html
        (
            429,
            "ThrottlingException",
            r#"{"message":"Too many requests, please wait before trying again."}"#,
            BedrockErrorKind::Throttling,
        ),
        // Strands Agents docs, "Troubleshooting" of the Amazon Bedrock provider page.
        (
            400,
            "ValidationException",
            r#"{"message":"Invocation of model ID anthropic.claude-3-5-sonnet-20241022-v2:0 with on-demand throughput isn’t supported. Retry your request with the ID or ARN of an inference profile that contains this model."}"#,
            BedrockErrorKind::Validation,
        ),
        (
            403,
            "AccessDeniedException",
            r#"{"message":"You don't have access to the model with the specified model ID."}"#,
            BedrockErrorKind::AccessDenied,
        ),
        // FTUFormNotFilled, 404, on the troubleshooting page.
        (
            404,
            "ResourceNotFoundException",
            r#"{"message":"Model use case details have not been submitted for this account. Fill out the Anthropic use case details form before using the model."}"#,
            BedrockErrorKind::NotFound,
        ),
        (
            429,
            "ModelNotReadyException",
            r#"{"message":"The model specified in the request is not ready to serve inference requests."}"#,
            BedrockErrorKind::ModelNotReady,
        ),
        (
            408,
            "ModelTimeoutException",
            r#"{"message":"The request took too long to process. Processing time exceeded the model timeout length."}"#,
            BedrockErrorKind::ModelTimeout,
        ),
        (
            503,
            "ServiceUnavailableException",
            r#"{"message":"The service isn't available. Try again later."}"#,
            BedrockErrorKind::ServiceUnavailable,
        ),
        (
            500,
            "InternalServerException",
            r#"{"message":"The request processing has failed due to a server error."}"#,
            BedrockErrorKind::Internal,
        ),
        // ModelErrorException carries originalStatusCode and resourceName (botocore reference).
        (
            424,
            "ModelErrorException",
            r#"{"message":"The model returned an error.","originalStatusCode":500,"resourceName":"anthropic.claude-3-5-sonnet-20240620-v1:0"}"#,
            BedrockErrorKind::ModelError,
        ),
    ];

    #[tokio::test]
    async fn every_modeled_converse_error_is_classified_from_the_real_sdk_error() {
        for &(status, error_type, body, kind) in SERVICE_ERRORS {
            let response = move || error_response(status, error_type, body);
            let answering = client(
                Arc::new(move || HttpConnectorFuture::ready(Ok(response()))),
                TimeoutConfig::disabled(),
            );
            let error = classify(&converse(&answering).await);
            assert_eq!(error.kind, kind, "{error_type}");
            assert_eq!(error.code.as_deref(), Some(error_type));
            let expected: serde_json::Value = serde_json::from_str(body).expect("json");
            assert_eq!(Some(error.message.as_str()), expected["message"].as_str(), "{error_type}");
            assert_eq!(error.request_id.as_deref(), Some("7a3d4f2e-0c1b-4e8a-9d55-1f2b3c4d5e6f"));
        }
    }

    #[tokio::test]
    async fn throttling_suggests_a_retry_after_and_answers_429() {
        let client = answering(|| error_response(429, "ThrottlingException", SERVICE_ERRORS[0].2));
        let error = classify(&converse(&client).await);
        assert_eq!(error.kind, BedrockErrorKind::Throttling);
        assert!(error.is_retryable());
        assert_eq!(error.http_status(), 429);
        assert_eq!(error.retry_after_secs, Some(THROTTLING_RETRY_AFTER_SECS));
        assert_eq!(
            error.to_string(),
            "Bedrock throttled the request (ThrottlingException): Too many requests, please wait before trying again."
        );
    }

    #[tokio::test]
    async fn a_retry_after_header_from_the_service_wins() {
        let client = answering(|| {
            let mut response =
                error_response(429, "ThrottlingException", r#"{"message":"slow down"}"#);
            response.headers_mut().insert("retry-after", "7");
            response
        });
        assert_eq!(classify(&converse(&client).await).retry_after_secs, Some(7));
    }

    #[tokio::test]
    async fn quota_errors_are_classified_on_operations_that_model_them() {
        // ServiceQuotaExceededException is modeled on InvokeModel, not on Converse.
        let client = answering(|| {
            error_response(
                400,
                "ServiceQuotaExceededException",
                r#"{"message":"Your request exceeds the service quota for your account. You can resubmit your request later."}"#,
            )
        });
        let err = client
            .invoke_model()
            .model_id("amazon.titan-text-express-v1")
            .body(Blob::new(r#"{"inputText":"Hello"}"#))
            .send()
            .await
            .expect_err("quota error");
        assert!(err.as_service_error().is_some_and(|e| e.is_service_quota_exceeded_exception()));
        let error = classify(&err);
        assert_eq!(error.kind, BedrockErrorKind::ServiceQuotaExceeded);
        assert_eq!(error.http_status(), 429);
        assert_eq!(error.retry_after_secs, Some(QUOTA_RETRY_AFTER_SECS));
    }

    #[tokio::test]
    async fn unmodeled_codes_fall_back_to_the_http_status() {
        // Invalid credentials: AWS answers 403 UnrecognizedClientException.
        let client = answering(|| {
            error_response(
                403,
                "UnrecognizedClientException",
                r#"{"message":"The security token included in the request is invalid."}"#,
            )
        });
        let error = classify(&converse(&client).await);
        assert_eq!(error.kind, BedrockErrorKind::AccessDenied);
        assert_eq!(error.code.as_deref(), Some("UnrecognizedClientException"));
        assert_eq!(error.message, "The security token included in the request is invalid.");

        let client =
            answering(|| error_response(409, "ConflictException", r#"{"message":"busy"}"#));
        let error = classify(&converse(&client).await);
        assert_eq!(error.kind, BedrockErrorKind::Unknown);
        assert_eq!(error.http_status(), 502);
        assert!(!error.is_retryable());
    }

    #[tokio::test]
    async fn connection_failures_are_dispatch_errors() {
        let refusing = client(
            Arc::new(|| {
                HttpConnectorFuture::ready(Err(ConnectorError::io("connection refused".into())))
            }),
            TimeoutConfig::disabled(),
        );
        let error = classify(&converse(&refusing).await);
        assert_eq!(error.kind, BedrockErrorKind::Connection);
        assert_eq!(error.code, None);
        assert!(error.message.contains("connection refused"), "{}", error.message);
        assert!(error.is_retryable());
        assert_eq!(error.http_status(), 502);

        let timing_out = client(
            Arc::new(|| {
                HttpConnectorFuture::ready(Err(ConnectorError::timeout("read timed out".into())))
            }),
            TimeoutConfig::disabled(),
        );
        assert_eq!(classify(&converse(&timing_out).await).kind, BedrockErrorKind::Timeout);
    }

    #[tokio::test]
    async fn an_operation_timeout_is_a_client_side_timeout() {
        let timeouts =
            TimeoutConfig::builder().operation_timeout(Duration::from_millis(50)).build();
        let hanging =
            client(Arc::new(|| HttpConnectorFuture::new(std::future::pending())), timeouts);
        let error = classify(&converse(&hanging).await);
        assert_eq!(error.kind, BedrockErrorKind::Timeout);
        assert_eq!(error.http_status(), 504);
        assert!(error.message.contains("timeout"), "{}", error.message);
    }

    #[tokio::test]
    async fn a_request_the_sdk_cannot_build_is_a_construction_failure() {
        let client = answering(|| error_response(500, "InternalServerException", "{}"));
        // No model id: the SDK refuses to build the request before sending anything.
        let err = client.converse().send().await.expect_err("missing model id");
        let error = classify(&err);
        assert_eq!(error.kind, BedrockErrorKind::RequestConstruction);
        assert_eq!(error.http_status(), 500);
        assert!(error.message.contains("model_id"), "{}", error.message);
    }

    #[test]
    fn an_unreadable_response_is_unknown() {
        let raw = HttpResponse::new(200u16.try_into().expect("status"), SdkBody::from("not json"));
        let err: SdkError<ConverseError, HttpResponse> =
            SdkError::response_error("expected a JSON object", raw);
        let error = classify(&err);
        assert_eq!(error.kind, BedrockErrorKind::Unknown);
        assert!(error.message.contains("expected a JSON object"), "{}", error.message);
    }

    #[test]
    fn stream_exceptions_are_classified_by_their_modeled_name() {
        // Inside ConverseStream, the SDK builds the exception's metadata from the event payload
        // alone, so it has a message but no code.
        let payload =
            r#"{"message":"An error occurred while streaming the response. Retry your request."}"#;
        let meta = ErrorMetadata::builder()
            .message("An error occurred while streaming the response. Retry your request.")
            .build();
        let exception = ModelStreamErrorException::builder()
            .message("An error occurred while streaming the response. Retry your request.")
            .meta(meta)
            .build();
        let err = SdkError::service_error(
            ConverseStreamOutputError::ModelStreamErrorException(exception),
            RawMessage::Decoded(EventMessage::new(payload.as_bytes().to_vec())),
        );
        let error = classify(&err);
        assert_eq!(error.kind, BedrockErrorKind::ModelStreamError);
        assert_eq!(error.code.as_deref(), Some("ModelStreamErrorException"));
        assert_eq!(
            error.message,
            "An error occurred while streaming the response. Retry your request."
        );
        assert!(error.is_retryable());
    }

    #[test]
    fn a_throttling_exception_built_with_its_metadata_classifies_like_the_sdk_one() {
        let message = "Too many requests, please wait before trying again.";
        let meta = ErrorMetadata::builder().code("ThrottlingException").message(message).build();
        let err = SdkError::service_error(
            ConverseError::ThrottlingException(
                ThrottlingException::builder().message(message).meta(meta).build(),
            ),
            error_response(429, "ThrottlingException", "{}"),
        );
        let error = classify(&err);
        assert_eq!(error.kind, BedrockErrorKind::Throttling);
        assert_eq!(error.message, message);
    }

    #[test]
    fn an_exception_without_a_message_gets_the_kind_description() {
        let meta = ErrorMetadata::builder().code("ThrottlingException").build();
        let err = SdkError::service_error(
            ConverseError::ThrottlingException(ThrottlingException::builder().meta(meta).build()),
            error_response(429, "ThrottlingException", "{}"),
        );
        let error = classify(&err);
        assert_eq!(error.message, "Bedrock throttled the request");
        assert_eq!(error.to_string(), "Bedrock throttled the request (ThrottlingException)");
    }

    #[test]
    fn statuses_retryability_and_codes_per_kind() {
        use BedrockErrorKind as K;
        let expected = [
            (K::Throttling, 429, true),
            (K::Validation, 400, false),
            (K::AccessDenied, 403, false),
            (K::ModelNotReady, 503, true),
            (K::ModelTimeout, 504, true),
            (K::ServiceUnavailable, 503, true),
            (K::NotFound, 404, false),
            (K::ServiceQuotaExceeded, 429, true),
            (K::ModelError, 424, false),
            (K::ModelStreamError, 502, true),
            (K::Internal, 502, true),
            (K::Timeout, 504, true),
            (K::Connection, 502, true),
            (K::RequestConstruction, 500, false),
            (K::Unknown, 502, false),
        ];
        assert_eq!(expected.len(), K::ALL.len());
        for (kind, status, retryable) in expected {
            assert_eq!(kind.http_status(), status, "{kind:?}");
            assert_eq!(kind.is_retryable(), retryable, "{kind:?}");
            let json = serde_json::to_string(&kind).expect("serialize");
            assert_eq!(json, format!("\"{}\"", kind.code()), "serde writes the stable code");
        }
        let mut codes: Vec<&str> = K::ALL.iter().map(|k| k.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), K::ALL.len(), "codes are unique");
    }

    #[test]
    fn event_stream_code_spelling_is_recognised() {
        assert_eq!(
            BedrockErrorKind::from_code("throttlingException"),
            Some(BedrockErrorKind::Throttling)
        );
        assert_eq!(
            BedrockErrorKind::from_code("modelStreamErrorException"),
            Some(BedrockErrorKind::ModelStreamError)
        );
        assert_eq!(BedrockErrorKind::from_code("ConflictException"), None);
    }
}
