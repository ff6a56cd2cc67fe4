//! The local Bedrock endpoint: `bedrock-runtime`'s and `bedrock`'s (control plane) REST-JSON
//! operations on one loopback port, answered by the built-in models and the catalog, so the
//! unmodified AWS SDKs work against it exactly as against Bedrock (set the endpoint URL; any
//! credentials — signatures are not checked).
//!
//! Runtime operations: Converse, ConverseStream, InvokeModel, InvokeModelWithResponseStream and
//! ApplyGuardrail, for the `local.*` models and every real model id or system inference profile id
//! the [`Catalog`] lists. Control-plane operations ([`crate::catalog::routes`]):
//! ListFoundationModels, GetFoundationModel, ListInferenceProfiles, GetInferenceProfile. Errors are
//! Bedrock's (status, `x-amzn-ErrorType`, `{"message"}`), streams are
//! `application/vnd.amazon.eventstream`. Faults ([`crate::faults`]) can be switched on per process
//! or at run time; the admin endpoints live under `/_quarry/` (Bedrock paths never start with `_`):
//! `GET /_quarry/health`, `GET`/`PUT /_quarry/faults`.

pub mod converse;
pub mod converse_wire;
pub mod event_stream;
pub mod guardrail;
pub mod invoke;
pub mod model_id;
pub mod native;

use std::net::SocketAddr;

use crate::net::Listener as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::stream;
use serde_json::json;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::aws_error::AwsError;
use crate::catalog::{self, Catalog, CatalogError};
use crate::faults::{FaultConfig, FaultSpecError, Faults, StreamCut};
use guardrail::{Guardrails, LocalGuardrail};
use model_id::ModelDirectory;

/// Largest request body accepted (Converse requests carry base64 images and documents).
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// Pause before a stream is aborted, so what was sent before the cut reaches the client.
const ABORT_FLUSH_DELAY: Duration = Duration::from_millis(20);

/// How a local Bedrock endpoint is set up.
#[derive(Debug, Clone)]
pub struct BedrockConfig {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Faults switched on from the start.
    pub faults: FaultConfig,
    /// The guardrails ApplyGuardrail and `guardrailConfig` can name.
    pub guardrails: Vec<LocalGuardrail>,
    /// The models and inference profiles the control plane lists and the runtime serves.
    pub catalog: CatalogSource,
}

impl Default for BedrockConfig {
    /// A free port, no faults, the demo guardrail and the built-in catalog in us-east-1.
    fn default() -> Self {
        BedrockConfig {
            port: 0,
            faults: FaultConfig::default(),
            guardrails: vec![LocalGuardrail::demo()],
            catalog: CatalogSource::default(),
        }
    }
}

/// Where the endpoint's catalog comes from.
#[derive(Debug, Clone)]
pub enum CatalogSource {
    /// The built-in snapshot of Bedrock's models and profiles, placed in `region`.
    Builtin { region: String },
    /// A data file of the built-in catalog's shape, placed in `region`.
    File { path: PathBuf, region: String },
    /// A catalog already loaded (it keeps its own Region).
    Loaded(Arc<Catalog>),
}

impl Default for CatalogSource {
    /// The built-in catalog in [`Catalog::DEFAULT_REGION`].
    fn default() -> Self {
        CatalogSource::Builtin { region: Catalog::DEFAULT_REGION.to_owned() }
    }
}

impl CatalogSource {
    /// The built-in catalog or a data file (when `path` is given), placed in `region`.
    pub fn new(region: impl Into<String>, path: Option<PathBuf>) -> Self {
        let region = region.into();
        match path {
            Some(path) => CatalogSource::File { path, region },
            None => CatalogSource::Builtin { region },
        }
    }

    /// Loads the catalog, with the default account id in its ARNs.
    pub fn load(&self) -> Result<Arc<Catalog>, CatalogError> {
        match self {
            CatalogSource::Builtin { region } => Catalog::builtin(region).map(Arc::new),
            CatalogSource::File { path, region } => {
                Catalog::from_path(path, region, Catalog::DEFAULT_ACCOUNT_ID).map(Arc::new)
            }
            CatalogSource::Loaded(catalog) => Ok(catalog.clone()),
        }
    }
}

/// What every request handler shares; cheap to clone.
#[derive(Debug, Clone)]
pub struct BedrockState {
    /// The endpoint's faults: flip them in process through this handle.
    pub faults: Faults,
    pub guardrails: Arc<Guardrails>,
    /// The catalog the control plane answers from.
    pub catalog: Arc<Catalog>,
    /// Which real model ids the runtime serves: the same catalog.
    pub models: Arc<dyn ModelDirectory>,
}

impl BedrockState {
    /// The state for `config`, loading its catalog.
    pub fn new(config: &BedrockConfig) -> Result<Self, CatalogError> {
        let catalog = config.catalog.load()?;
        Ok(BedrockState {
            faults: Faults::new(config.faults.clone()),
            guardrails: Arc::new(Guardrails::new(config.guardrails.clone())),
            models: catalog.clone(),
            catalog,
        })
    }
}

/// The bedrock-runtime routes, the control-plane routes and the `/_quarry/` admin routes, on one
/// router: one port serves both services, as one `endpoint_url` can be given to both SDK clients.
pub fn app(state: BedrockState) -> Router {
    let catalog = state.catalog.clone();
    Router::new()
        .route("/model/{model_id}/converse", post(converse::converse))
        .route("/model/{model_id}/converse-stream", post(converse::converse_stream))
        .route("/model/{model_id}/invoke", post(invoke::invoke))
        .route("/model/{model_id}/invoke-with-response-stream", post(invoke::invoke_stream))
        .route(
            "/guardrail/{guardrail_identifier}/version/{guardrail_version}/apply",
            post(apply_guardrail),
        )
        .route("/_quarry/health", get(health))
        .route("/_quarry/faults", get(get_faults).put(put_faults))
        .fallback(unknown_operation)
        .with_state(state)
        .merge(catalog::routes(catalog))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(with_request_id))
}

/// A running endpoint. Dropping it stops the server.
#[derive(Debug)]
pub struct RunningServer {
    url: String,
    addr: SocketAddr,
    state: BedrockState,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

/// What can go wrong starting or stopping the endpoint.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("could not listen on 127.0.0.1:{port}: {source}")]
    Bind { port: u16, source: std::io::Error },
    #[error("the server failed: {0}")]
    Serve(std::io::Error),
    #[error("the server task ended abnormally: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error(transparent)]
    Faults(#[from] FaultSpecError),
    #[error("could not load the model catalog: {0}")]
    Catalog(#[from] CatalogError),
}

impl RunningServer {
    /// The endpoint URL, e.g. `http://127.0.0.1:49152` (give it to the SDK as `endpoint_url`).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The endpoint's faults, to switch at run time.
    pub fn faults(&self) -> &Faults {
        &self.state.faults
    }

    pub fn state(&self) -> &BedrockState {
        &self.state
    }

    /// Stops accepting connections, lets in-flight requests finish, and waits for the server.
    pub async fn shutdown(mut self) -> Result<(), ServeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await?.map_err(ServeError::Serve)
    }
}

/// Binds 127.0.0.1:`config.port` and serves the endpoint in the background.
pub async fn serve(config: BedrockConfig) -> Result<RunningServer, ServeError> {
    config.faults.validate()?;
    let state = BedrockState::new(&config)?;
    let listener = crate::net::bind_loopback(config.port)
        .await
        .map_err(|source| ServeError::Bind { port: config.port, source })?;
    let addr =
        listener.local_addr().map_err(|source| ServeError::Bind { port: config.port, source })?;
    let (stop, stopped) = oneshot::channel::<()>();
    let router = app(state.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    tracing::info!(
        %addr,
        region = state.catalog.region(),
        models = state.catalog.models().len(),
        profiles = state.catalog.profiles().len(),
        "local Bedrock endpoint listening"
    );
    Ok(RunningServer { url: format!("http://{addr}"), addr, state, stop: Some(stop), task })
}

/// When a stream message is produced: time since the request started and since the first message.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub elapsed: Duration,
    pub first_message: Duration,
}

type MakeMessage = Box<dyn FnOnce(Timing) -> Result<Bytes, AwsError> + Send>;

/// One event-stream message to send, after a delay (per-token latency).
pub struct PlannedMessage {
    delay: Duration,
    make: MakeMessage,
}

impl std::fmt::Debug for PlannedMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlannedMessage").field("delay", &self.delay).finish_non_exhaustive()
    }
}

impl PlannedMessage {
    /// A message already framed.
    pub fn ready(frame: Result<Bytes, AwsError>) -> Self {
        Self::after(Duration::ZERO, frame)
    }

    /// A framed message sent after `delay`.
    pub fn after(delay: Duration, frame: Result<Bytes, AwsError>) -> Self {
        PlannedMessage { delay, make: Box::new(move |_| frame) }
    }

    /// A message framed when it is sent (it reports timings).
    pub fn lazy(make: impl FnOnce(Timing) -> Result<Bytes, AwsError> + Send + 'static) -> Self {
        Self::lazy_after(Duration::ZERO, make)
    }

    /// A message framed when it is sent, after `delay`.
    pub fn lazy_after(
        delay: Duration,
        make: impl FnOnce(Timing) -> Result<Bytes, AwsError> + Send + 'static,
    ) -> Self {
        PlannedMessage { delay, make: Box::new(make) }
    }
}

/// Streams `messages` as an event-stream body, message by message, applying a stream cut.
///
/// A message that cannot be framed ends the stream with an `internalServerException` message.
pub fn stream_body(
    messages: Vec<PlannedMessage>,
    cut: Option<(u32, StreamCut)>,
    started: Instant,
) -> Body {
    struct Cursor {
        messages: std::vec::IntoIter<PlannedMessage>,
        sent: u32,
        first_message: Option<Duration>,
        done: bool,
    }
    let cursor =
        Cursor { messages: messages.into_iter(), sent: 0, first_message: None, done: false };
    let frames = stream::unfold(cursor, move |mut cursor| async move {
        if cursor.done {
            return None;
        }
        if let Some((after, how)) = cut
            && cursor.sent == after
        {
            cursor.done = true;
            tracing::info!(after, ?how, "fault: cutting the stream");
            let item = match how {
                StreamCut::Abort => {
                    // Let the server flush the head and the messages already sent (it does so
                    // while the body is pending), so the client sees them before the drop.
                    tokio::time::sleep(ABORT_FLUSH_DELAY).await;
                    Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        "stream cut by the local fault injector",
                    ))
                }
                StreamCut::Exception => event_stream::exception(
                    "modelStreamErrorException",
                    "The model stream was interrupted (local fault injection).",
                )
                .map_err(|e| std::io::Error::other(e.to_string())),
            };
            return Some((item, cursor));
        }
        let message = cursor.messages.next()?;
        pause(message.delay).await;
        let elapsed = started.elapsed();
        let first_message = *cursor.first_message.get_or_insert(elapsed);
        cursor.sent += 1;
        let frame = (message.make)(Timing { elapsed, first_message }).or_else(|error| {
            cursor.done = true;
            event_stream::exception("internalServerException", &error.message)
        });
        Some((frame.map_err(|e| std::io::Error::other(e.to_string())), cursor))
    });
    Body::from_stream(frames)
}

/// Sleeps for `duration` (no-op for zero).
pub async fn pause(duration: Duration) {
    if !duration.is_zero() {
        tokio::time::sleep(duration).await;
    }
}

/// `POST /guardrail/{guardrailIdentifier}/version/{guardrailVersion}/apply`.
async fn apply_guardrail(
    State(state): State<BedrockState>,
    Path((identifier, version)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, AwsError> {
    let plan = state.faults.on_call()?;
    let guardrail = state.guardrails.find(&identifier, &version)?;
    let request: guardrail::ApplyGuardrailRequest = serde_json::from_slice(&body).map_err(|e| {
        AwsError::validation(format!(
            "Malformed input request: {e}, please reformat your input and try again."
        ))
    })?;
    let answer = guardrail::apply(guardrail, &request)?;
    pause(plan.latency).await;
    Ok(axum::Json(answer).into_response())
}

/// `GET /_quarry/health`: the endpoint is up; which services and Region it plays.
async fn health(State(state): State<BedrockState>) -> Response {
    axum::Json(json!({
        "status": "ok",
        "services": ["bedrock-runtime", "bedrock"],
        "region": state.catalog.region(),
    }))
    .into_response()
}

async fn get_faults(State(state): State<BedrockState>) -> Response {
    axum::Json(state.faults.config()).into_response()
}

/// Replaces the fault settings with the body (a flat JSON object; `{}` switches all off).
async fn put_faults(State(state): State<BedrockState>, body: Bytes) -> Result<Response, AwsError> {
    let config: FaultConfig = serde_json::from_slice(&body)
        .map_err(|e| AwsError::validation(format!("invalid fault settings: {e}")))?;
    state.faults.set(config).map_err(|e| AwsError::validation(e.to_string()))?;
    tracing::info!(faults = ?state.faults.config(), "fault settings replaced");
    Ok(axum::Json(state.faults.config()).into_response())
}

async fn unknown_operation() -> AwsError {
    AwsError::new(
        StatusCode::NOT_FOUND,
        "UnknownOperationException",
        "The local Bedrock endpoint has no operation at this path.",
    )
}

/// Adds an `x-amzn-RequestId` to every response, as AWS services do.
async fn with_request_id(mut response: Response) -> Response {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let epoch = native::unix_seconds();
    let id = format!("{:08x}-0000-4000-8000-{n:012x}", epoch & 0xffff_ffff);
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    response
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;
    use axum::http::Request;
    use futures_util::StreamExt;
    use tower::ServiceExt;

    use super::*;

    fn state() -> BedrockState {
        BedrockState::new(&BedrockConfig::default()).expect("the built-in catalog loads")
    }

    async fn call(app: Router, method: &str, path: &str, body: &str) -> (StatusCode, Response) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .body(Body::from(body.to_owned()))
            .expect("request");
        let response = app.oneshot(request).await.expect("infallible");
        (response.status(), response)
    }

    async fn json_of(response: Response) -> serde_json::Value {
        let bytes = to_bytes(response.into_body(), usize::MAX).await.expect("body");
        serde_json::from_slice(&bytes).expect("json")
    }

    #[tokio::test]
    async fn the_admin_endpoint_replaces_and_reports_faults() {
        let state = state();
        let (status, response) =
            call(app(state.clone()), "PUT", "/_quarry/faults", r#"{"throttle_every":2}"#).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(json_of(response).await["throttle_every"], 2);
        assert_eq!(state.faults.config().throttle_every, Some(2));
        let (status, response) = call(app(state.clone()), "GET", "/_quarry/faults", "").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(json_of(response).await["throttle_every"], 2);
        let (status, response) =
            call(app(state), "PUT", "/_quarry/faults", r#"{"throttle_rate":3}"#).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()["x-amzn-errortype"], "ValidationException");
    }

    #[tokio::test]
    async fn health_answers_and_every_response_has_a_request_id() {
        let (status, response) = call(app(state()), "GET", "/_quarry/health", "").await;
        assert_eq!(status, StatusCode::OK);
        assert!(response.headers().contains_key("x-amzn-requestid"));
        let health = json_of(response).await;
        assert_eq!(health["status"], "ok");
        assert_eq!(health["region"], "us-east-1");
        assert_eq!(health["services"], json!(["bedrock-runtime", "bedrock"]));
    }

    #[tokio::test]
    async fn an_unknown_path_is_an_unknown_operation() {
        let (status, response) = call(app(state()), "POST", "/model/x/frobnicate", "{}").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(response.headers()["x-amzn-errortype"], "UnknownOperationException");
    }

    #[tokio::test]
    async fn a_cut_stream_sends_the_first_messages_then_fails_the_body() {
        let messages = (0..5).map(|i| PlannedMessage::ready(Ok(Bytes::from(vec![i])))).collect();
        let body = stream_body(messages, Some((2, StreamCut::Abort)), Instant::now());
        let mut frames = body.into_data_stream();
        assert_eq!(frames.next().await.expect("1").expect("ok"), Bytes::from(vec![0]));
        assert_eq!(frames.next().await.expect("2").expect("ok"), Bytes::from(vec![1]));
        assert!(frames.next().await.expect("3").is_err(), "the body fails after the cut");
        assert!(frames.next().await.is_none());
    }
}
