//! Test setup shared by the Router tests: the local Bedrock endpoint on a free port, an SDK client
//! pointed at it with test credentials in us-east-1, quarry's settings from a `quarry.toml` text,
//! and helpers to send requests through the Router with `oneshot` and read the answers.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_bedrockruntime::config::{Credentials, Region};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use quarry::config::{QuarryConfig, StackResources};
use quarry_invoke::auth::hash_api_key;
use quarry_invoke::{AppState, Authenticator};
use quarry_local::{BedrockConfig, RunningServer, serve};
use serde_json::Value;
use tower::ServiceExt as _;

/// The API key the test config accepts.
pub const API_KEY: &str = "qk-test-0123456789abcdef";

/// The inference profile the config allows (alias `haiku`).
pub const HAIKU_PROFILE: &str = "us.anthropic.claude-3-5-haiku-20241022-v1:0";
/// The default model (alias `fast`).
pub const NOVA_LITE: &str = "amazon.nova-lite-v1:0";
pub const LLAMA: &str = "meta.llama3-1-8b-instruct-v1:0";
/// An allowed provisioned-throughput ARN the local endpoint has never heard of: calls to it fail
/// with Bedrock's ValidationException, which is how one model of a comparison fails.
pub const PROVISIONED: &str =
    "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abcdefghij12";
pub const EMBEDDING_MODEL: &str = "amazon.titan-embed-text-v2:0";
pub const EMBEDDING_DIMENSIONS: usize = 256;
/// The body limit of the test config.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The local endpoint's demo guardrail and the version the guardrail config names.
pub const GUARDRAIL_ID: &str = "quarrydemo";
pub const GUARDRAIL_VERSION: &str = "1";
/// What the demo guardrail answers instead of a blocked input.
pub const BLOCKED_MESSAGE: &str = "Sorry, the model cannot answer this question.";

/// Context the extractive model quotes from, and a question one sentence of it answers.
pub const OFFICE: &str =
    "The office opens at 9am. Parking is free for visitors. The cafeteria serves lunch from noon.";
pub const OFFICE_QUESTION: &str = "When does the office open?";
pub const OFFICE_ANSWER_SENTENCE: &str = "The office opens at 9am.";

/// Prices of the test config, USD per 1,000 tokens.
pub const NOVA_LITE_PRICE: (f64, f64) = (0.06, 0.24);
pub const LLAMA_PRICE: (f64, f64) = (0.22, 0.22);

/// How a test API is set up.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    /// The SDK's standard retry mode (3 attempts) instead of no retries.
    pub retries: bool,
    /// IAM authorization instead of API keys.
    pub iam: bool,
    /// The `[guardrail]` section with the demo guardrail.
    pub guardrail: bool,
}

impl Default for Setup {
    /// Retries off (each call is one request, faults surface as they are), API keys, no guardrail.
    fn default() -> Self {
        Setup { retries: false, iam: false, guardrail: false }
    }
}

/// A running local endpoint and the API Router in front of it.
#[derive(Debug)]
pub struct TestApi {
    pub server: RunningServer,
    pub router: Router,
    pub state: AppState,
}

/// The `quarry.toml` of the tests.
pub fn config_toml(setup: Setup) -> String {
    let auth = if setup.iam {
        "mode = \"iam\"".to_owned()
    } else {
        format!("mode = \"api_keys\"\napi_key_sha256 = [\"{}\"]", hash_api_key(API_KEY))
    };
    let guardrail = if setup.guardrail {
        format!("[guardrail]\nid = \"{GUARDRAIL_ID}\"\nversion = \"{GUARDRAIL_VERSION}\"\n")
    } else {
        String::new()
    };
    let (nova_in, nova_out) = NOVA_LITE_PRICE;
    let (llama_in, llama_out) = LLAMA_PRICE;
    format!(
        r#"
[stack]
name = "quarry-test"
region = "us-east-1"

[models]
chat = ["{HAIKU_PROFILE}", "{NOVA_LITE}", "{LLAMA}", "{PROVISIONED}"]
default = "{NOVA_LITE}"

[models.aliases]
fast = "{NOVA_LITE}"
haiku = "{HAIKU_PROFILE}"

[models.prices."{NOVA_LITE}"]
input_per_1k_tokens = {nova_in}
output_per_1k_tokens = {nova_out}

[models.prices."{LLAMA}"]
input_per_1k_tokens = {llama_in}
output_per_1k_tokens = {llama_out}

[embedding]
model = "{EMBEDDING_MODEL}"
dimensions = {EMBEDDING_DIMENSIONS}

[auth]
{auth}

{guardrail}
[limits]
max_body_bytes = {MAX_BODY_BYTES}
max_compare_models = 4
"#
    )
}

impl TestApi {
    /// The local endpoint on a free port and the Router over it, as `setup` says.
    pub async fn start(setup: Setup) -> TestApi {
        let server = serve(BedrockConfig { port: 0, ..Default::default() })
            .await
            .expect("the local Bedrock endpoint starts on a free port");
        let retry = if setup.retries { RetryConfig::standard() } else { RetryConfig::disabled() };
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(server.url())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("AKIDTEST", "test-secret", None, None, "test"))
            .retry_config(retry)
            .load()
            .await;
        let bedrock = aws_sdk_bedrockruntime::Client::new(&sdk);
        let config = QuarryConfig::from_toml_str(&config_toml(setup))
            .expect("the test quarry.toml is valid");
        let settings = config.invoke_settings(&StackResources {
            catalog_bucket: "quarry-test-catalog".into(),
            vector_bucket: "quarry-test-vectors".into(),
        });
        let auth = if setup.iam {
            Authenticator::Iam
        } else {
            Authenticator::api_keys(&[hash_api_key(API_KEY)]).expect("a valid key hash")
        };
        let state = AppState::new(bedrock, settings, auth);
        TestApi { server, router: quarry_invoke::app(state.clone()), state }
    }

    /// The same endpoint with the Router over `state` (e.g. the state given retrieval).
    pub fn with_state(self, state: AppState) -> TestApi {
        TestApi { router: quarry_invoke::app(state.clone()), state, server: self.server }
    }

    /// The default setup: retries off, API keys, no guardrail.
    pub async fn default() -> TestApi {
        TestApi::start(Setup::default()).await
    }

    /// Sends `request` through the Router and reads the whole answer.
    pub async fn send(&self, request: Request<Body>) -> Answer {
        let response =
            self.router.clone().oneshot(request).await.expect("the Router never fails a request");
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("the answer's body can be read to its end");
        Answer { status, headers, body }
    }

    /// `POST path` with the API key and `body` as JSON.
    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(post_json(path, body)).await
    }

    /// `GET path` with the API key.
    pub async fn get(&self, path: &str) -> Answer {
        self.send(authorized(Request::get(path)).body(Body::empty()).expect("request")).await
    }

    /// How many model calls reached the endpoint since its faults were last set.
    pub fn bedrock_calls(&self) -> u64 {
        self.server.faults().calls()
    }

    /// Switches the endpoint's faults to `spec` (e.g. `throttle_every=1`), restarting its count.
    pub fn faults(&self, spec: &str) {
        self.server.faults().set(spec.parse().expect("a valid fault spec")).expect("valid faults");
    }
}

/// A request builder carrying the test API key.
pub fn authorized(builder: axum::http::request::Builder) -> axum::http::request::Builder {
    builder.header(header::AUTHORIZATION, format!("Bearer {API_KEY}"))
}

/// `POST path` with the API key and `body` as JSON.
pub fn post_json(path: &str, body: &Value) -> Request<Body> {
    post_bytes(path, body.to_string().into_bytes())
}

/// `POST path` with the API key and raw `body` bytes labelled as JSON.
pub fn post_bytes(path: &str, body: Vec<u8>) -> Request<Body> {
    authorized(Request::builder().method(Method::POST).uri(path))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .expect("a valid request")
}

/// A whole answer of the Router.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON; fails the test, showing the body, when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!("expected a JSON body ({e}), got: {}", String::from_utf8_lossy(&self.body))
        })
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts the answer is `status`, showing the body when it is not.
    pub fn expect_status(&self, status: u16) -> &Self {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.text());
        self
    }

    /// Asserts an OpenAI-shaped JSON error with `status` and a message, and returns the `error`
    /// object.
    pub fn error(&self, status: u16) -> Value {
        self.expect_status(status);
        let content_type = self.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        assert_eq!(content_type, Some("application/json"), "errors are JSON: {}", self.text());
        let error = self.json()["error"].clone();
        let message = error["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "an error says why: {}", self.text());
        assert!(error["type"].is_string(), "an error has a type: {}", self.text());
        error
    }

    /// The `data:` fields of a server-sent-event body, in order (`event:` lines and comments are
    /// skipped; multi-line data is joined with newlines as SSE defines).
    pub fn sse_data(&self) -> Vec<String> {
        let content_type = self.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        assert_eq!(content_type, Some("text/event-stream"), "a stream: {}", self.text());
        sse_events(&self.text()).into_iter().map(|event| event.data).collect()
    }

    /// The events of a server-sent-event body.
    pub fn sse_events(&self) -> Vec<SseEvent> {
        sse_events(&self.text())
    }
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` name, if any.
    pub name: Option<String>,
    pub data: String,
}

/// Parses an SSE body into its events (blank-line separated; comments skipped).
pub fn sse_events(body: &str) -> Vec<SseEvent> {
    let mut events = Vec::new();
    for block in body.split("\n\n") {
        let mut name = None;
        let mut data: Vec<&str> = Vec::new();
        for line in block.lines() {
            if let Some(value) = line.strip_prefix("data:") {
                data.push(value.strip_prefix(' ').unwrap_or(value));
            } else if let Some(value) = line.strip_prefix("event:") {
                name = Some(value.trim().to_owned());
            }
        }
        if !data.is_empty() {
            events.push(SseEvent { name, data: data.join("\n") });
        }
    }
    events
}

/// A one-turn native `/v1/invoke` body asking the office question with the office context.
pub fn office_invoke(model: Option<&str>) -> Value {
    let mut body = serde_json::json!({
        "system": OFFICE,
        "messages": [{"role": "user", "content": OFFICE_QUESTION}],
    });
    if let Some(model) = model {
        body["model"] = Value::from(model);
    }
    body
}

/// A one-turn OpenAI chat body asking the office question with the office context.
pub fn office_chat(model: &str) -> Value {
    serde_json::json!({
        "model": model,
        "messages": [
            {"role": "system", "content": OFFICE},
            {"role": "user", "content": OFFICE_QUESTION}
        ]
    })
}

/// An OpenAI `get_weather` tool whose `city` the extractive model fills from the question.
pub fn weather_tool() -> Value {
    serde_json::json!({
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The current weather in a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"]
            }
        }
    })
}

/// A question that names the weather tool and a city.
pub const WEATHER_QUESTION: &str = "What is the weather in Paris today?";
