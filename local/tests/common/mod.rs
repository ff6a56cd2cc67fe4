//! What the local endpoint's integration tests share: the endpoint on a free port, SDK
//! configurations and runtime clients pointed at it, the office question every family answers,
//! and a recorder of raw response headers.

// Each test crate includes this module and uses only part of it.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::config::interceptors::BeforeDeserializationInterceptorContextRef;
use aws_sdk_bedrockruntime::config::{
    ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use aws_sdk_bedrockruntime::error::ProvideErrorMetadata;
use aws_sdk_bedrockruntime::operation::converse::ConverseOutput;
use aws_sdk_bedrockruntime::types::{ContentBlock, ConversationRole, Message, SystemContentBlock};
use quarry_local::{BedrockConfig, RunningServer, serve};

/// The context of the office question.
pub const OFFICE: &str =
    "The office opens at 9am. Parking is free for visitors. The cafeteria serves lunch from noon.";

/// The endpoint with its default configuration, on a free port.
pub async fn start() -> RunningServer {
    start_with(BedrockConfig::default()).await
}

/// The endpoint with `config`, on a free port.
pub async fn start_with(config: BedrockConfig) -> RunningServer {
    serve(config).await.expect("the endpoint starts on a free port")
}

/// An SDK configuration for `server`: its URL, `region`, dummy credentials and `retry`.
pub async fn sdk_config_with(
    server: &RunningServer,
    region: &str,
    retry: RetryConfig,
) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(server.url())
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .retry_config(retry)
        .load()
        .await
}

/// An SDK configuration for `server` in `region` with retries off, so each call is one request
/// and faults surface as they are.
pub async fn sdk_config(server: &RunningServer, region: &str) -> SdkConfig {
    sdk_config_with(server, region, RetryConfig::disabled()).await
}

/// A runtime client of `server` in us-east-1 with `retry`.
pub async fn client_with(server: &RunningServer, retry: RetryConfig) -> Client {
    Client::new(&sdk_config_with(server, "us-east-1", retry).await)
}

/// A runtime client of `server` in us-east-1 with retries off.
pub async fn client(server: &RunningServer) -> Client {
    Client::new(&sdk_config(server, "us-east-1").await)
}

/// A user message of plain text.
pub fn user(text: &str) -> Message {
    Message::builder()
        .role(ConversationRole::User)
        .content(ContentBlock::Text(text.to_owned()))
        .build()
        .expect("a valid message")
}

/// Asks `model` through Converse when the office opens, with [`OFFICE`] as the system prompt;
/// the output, or the error's code and message.
pub async fn ask_office(client: &Client, model: &str) -> Result<ConverseOutput, String> {
    client
        .converse()
        .model_id(model)
        .system(SystemContentBlock::Text(OFFICE.to_owned()))
        .messages(user("When does the office open?"))
        .send()
        .await
        .map_err(|e| {
            let e = e.into_service_error();
            format!("{}: {}", e.code().unwrap_or("?"), e.message().unwrap_or("?"))
        })
}

/// Captures the raw response headers of the last call.
#[derive(Debug, Clone, Default)]
pub struct ResponseHeaders(Arc<Mutex<Vec<(String, String)>>>);

impl ResponseHeaders {
    /// The value of header `name` (any case) in the last response.
    pub fn get(&self, name: &str) -> Option<String> {
        let headers = self.0.lock().expect("lock");
        headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
    }
}

impl Intercept for ResponseHeaders {
    fn name(&self) -> &'static str {
        "ResponseHeaders"
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let headers = context.response().headers();
        *self.0.lock().expect("lock") =
            headers.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
        Ok(())
    }
}
