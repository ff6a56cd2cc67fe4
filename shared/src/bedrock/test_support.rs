//! Test helpers: the local Bedrock endpoint served in-process (reached over loopback by the real
//! SDK), and a recording stub for answers the local endpoint cannot give.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::config::http::{HttpRequest, HttpResponse};
use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use quarry_local::faults::FaultConfig;
use quarry_local::{BedrockConfig, RunningServer, serve};

use crate::chat::{ChatRequest, SystemBlock};
use crate::model::ModelId;

pub(crate) const HAIKU: &str = "anthropic.claude-3-haiku-20240307-v1:0";
pub(crate) const WARRANTY: &str = "The warranty lasts two years.";

/// The local endpoint on a free port, with `faults` switched on.
pub(crate) async fn local(faults: &str) -> RunningServer {
    let faults: FaultConfig = faults.parse().expect("a valid fault spec");
    serve(BedrockConfig { port: 0, faults, ..Default::default() })
        .await
        .expect("the local endpoint starts")
}

/// A client of the local endpoint with `retry` (tests mostly want retries off: one request per
/// call, so faults surface as they are).
pub(crate) fn client(server: &RunningServer, retry: RetryConfig) -> Client {
    let config = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(server.url())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .retry_config(retry)
        .build();
    Client::from_conf(config)
}

/// Standard retries with a short backoff, as a function would configure them.
pub(crate) fn standard_retries() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(3).with_initial_backoff(Duration::from_millis(10))
}

pub(crate) fn model(id: &str) -> ModelId {
    id.parse().expect("a valid model id")
}

/// A question the local extractive model answers by quoting the system prompt's sentence.
pub(crate) fn warranty_question() -> ChatRequest {
    ChatRequest {
        system: vec![SystemBlock::Text {
            text: format!("{WARRANTY} Returns are accepted within 30 days."),
        }],
        ..ChatRequest::from_user_text("How long is the warranty?")
    }
}

/// One request as the SDK sent it.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the request body is JSON")
    }
}

/// An in-process Bedrock that answers every request with one canned 200 response and records
/// the requests, so tests run the SDK's real serializers and deserializers.
#[derive(Debug, Clone)]
pub(crate) struct StubBedrock {
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl StubBedrock {
    /// Answers with `body` and `headers` (a content type among them).
    pub(crate) fn answering(body: Vec<u8>, headers: &[(&'static str, &str)]) -> Self {
        StubBedrock {
            headers: headers.iter().map(|(n, v)| (*n, (*v).to_owned())).collect(),
            body,
            requests: Arc::default(),
        }
    }

    /// Answers with `body` as `application/json`.
    pub(crate) fn json(body: &serde_json::Value) -> Self {
        let body = serde_json::to_vec(body).expect("serialize the canned body");
        Self::answering(body, &[("content-type", "application/json")])
    }

    /// Answers with an `application/vnd.amazon.eventstream` body of these `(type, payload)` events.
    pub(crate) fn event_stream(events: &[(&str, serde_json::Value)]) -> Self {
        Self::answering(
            event_frames(events),
            &[("content-type", "application/vnd.amazon.eventstream")],
        )
    }

    pub(crate) fn client(&self) -> Client {
        let config = aws_sdk_bedrockruntime::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("AKIDEXAMPLE", "secret", None, None, "test"))
            .retry_config(RetryConfig::disabled())
            .http_client(self.clone())
            .build();
        Client::from_conf(config)
    }

    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("requests lock").clone()
    }

    /// The JSON body of the last request the SDK sent.
    pub(crate) fn last_request(&self) -> serde_json::Value {
        self.requests().last().expect("the SDK sent a request").json()
    }
}

impl HttpConnector for StubBedrock {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let recorded = Recorded {
            path: request.uri().to_owned(),
            headers: request.headers().iter().map(|(n, v)| (n.to_owned(), v.to_owned())).collect(),
            body: request.body().bytes().unwrap_or_default().to_vec(),
        };
        self.requests.lock().expect("requests lock").push(recorded);
        let mut response = HttpResponse::new(
            200u16.try_into().expect("a valid status"),
            SdkBody::from(self.body.clone()),
        );
        for (name, value) in &self.headers {
            response.headers_mut().insert(*name, value.clone());
        }
        HttpConnectorFuture::ready(Ok(response))
    }
}

impl HttpClient for StubBedrock {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

/// An `application/vnd.amazon.eventstream` body of InvokeModelWithResponseStream `chunk` events,
/// one per JSON chunk: `{"bytes": "<base64 of the chunk>"}`, as the API reference's
/// `PayloadPart` describes.
pub(crate) fn chunk_stream(chunks: &[&str]) -> Vec<u8> {
    use base64::Engine as _;
    let events: Vec<(&str, serde_json::Value)> = chunks
        .iter()
        .map(|chunk| {
            let bytes = base64::engine::general_purpose::STANDARD.encode(chunk.trim());
            ("chunk", serde_json::json!({ "bytes": bytes }))
        })
        .collect();
    event_frames(&events)
}

/// An `application/vnd.amazon.eventstream` body: one event frame per `(type, payload)`.
fn event_frames(events: &[(&str, serde_json::Value)]) -> Vec<u8> {
    use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
    let mut body = Vec::new();
    for (event_type, payload) in events {
        let message = Message::new(serde_json::to_vec(payload).expect("payload"))
            .add_header(Header::new(":message-type", HeaderValue::String("event".into())))
            .add_header(Header::new(
                ":event-type",
                HeaderValue::String((*event_type).to_owned().into()),
            ))
            .add_header(Header::new(
                ":content-type",
                HeaderValue::String("application/json".into()),
            ));
        aws_smithy_eventstream::frame::write_message_to(&message, &mut body)
            .expect("write an event frame");
    }
    body
}
