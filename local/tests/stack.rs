//! The whole local stack, started in-process on free ports from the repository's quarry.toml and
//! driven over real HTTP/1.1 as a client would: health, the model list, chat (whole and streamed),
//! authentication, a Bedrock error carried through to the caller with `Retry-After`, the invoke
//! function's environment file, and shutdown.

use std::path::{Path, PathBuf};

use axum::http::{HeaderMap, Method, Request, StatusCode};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use quarry::config::{AuthConfig, InvokeSettings, QuarryConfig};
use quarry_invoke::auth::hash_api_key;
use quarry_local::faults::FaultConfig;
use quarry_local::stack::{self, RunningStack, StackOptions};
use serde_json::{Value, json};

const KEY: &str = "stack-test-key";

fn config() -> QuarryConfig {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../quarry.toml");
    QuarryConfig::from_path(&path).expect("the repository's quarry.toml is valid")
}

/// A fresh data directory under the system temp dir, unique to this test.
fn data_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("quarry-stack-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

async fn start(test: &str, faults: FaultConfig) -> RunningStack {
    stack::start(StackOptions {
        api_port: 0,
        bedrock_port: 0,
        s3_port: 0,
        api_key: Some(KEY.to_owned()),
        data_dir: data_dir(test),
        faults,
        ..StackOptions::new(config())
    })
    .await
    .expect("the stack starts on free ports")
}

/// Shuts the stack down cleanly and removes its data directory.
async fn finish(stack: RunningStack) {
    let dir = stack.data_dir().to_owned();
    stack.shutdown().await.expect("a clean shutdown");
    let _ = std::fs::remove_dir_all(dir);
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// One HTTP/1.1 exchange with the stack's API.
async fn call(
    stack: &RunningStack,
    method: Method,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let mut request = Request::builder().method(method).uri(format!("{}{path}", stack.api_url()));
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    let body = match body {
        Some(body) => {
            request = request.header("content-type", "application/json");
            Bytes::from(body.to_string())
        }
        None => Bytes::new(),
    };
    let response = client
        .request(request.body(Full::new(body)).expect("a valid request"))
        .await
        .expect("the API answers over HTTP");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.expect("the whole body").to_bytes();
    Answer { status, headers, body }
}

fn office_chat(stream: bool) -> Value {
    json!({
        "model": "amazon.nova-lite-v1:0",
        "stream": stream,
        "messages": [
            {"role": "system", "content": "The office opens at 9am. Parking is free for visitors."},
            {"role": "user", "content": "When does the office open?"}
        ]
    })
}

#[tokio::test]
async fn the_api_answers_health_models_and_chat_over_http_with_the_key() {
    let stack = start("api", FaultConfig::default()).await;
    assert!(stack.api_url().starts_with("http://127.0.0.1:"), "{}", stack.api_url());
    assert_ne!(stack.api_url(), stack.bedrock_url());
    assert!(stack.data_dir().is_dir(), "the data directory is created");

    let health = call(&stack, Method::GET, "/health", None, None).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.json(), json!({"status": "ok"}));

    let models = call(&stack, Method::GET, "/v1/models", Some(KEY), None).await;
    assert_eq!(models.status, StatusCode::OK);
    let ids: Vec<String> = models.json()["data"]
        .as_array()
        .expect("a data array")
        .iter()
        .map(|m| m["id"].as_str().expect("an id").to_owned())
        .collect();
    let config = config();
    let mut expected: Vec<String> = config.models.allowed.iter().map(ToString::to_string).collect();
    expected.extend(config.models.aliases.keys().cloned());
    expected.push(config.embedding.model_id.to_string());
    assert_eq!(ids, expected);

    let chat =
        call(&stack, Method::POST, "/v1/chat/completions", Some(KEY), Some(office_chat(false)))
            .await;
    assert_eq!(chat.status, StatusCode::OK, "{}", String::from_utf8_lossy(&chat.body));
    let chat = chat.json();
    assert_eq!(chat["object"], "chat.completion");
    assert_eq!(chat["model"], "amazon.nova-lite-v1:0");
    let content = chat["choices"][0]["message"]["content"].as_str().expect("text content");
    assert!(content.contains("The office opens at 9am."), "{content}");
    assert!(chat["usage"]["total_tokens"].as_u64().expect("usage") > 0);

    finish(stack).await;
}

#[tokio::test]
async fn the_printed_curl_example_works_as_printed() {
    let stack = start("banner", FaultConfig::default()).await;
    let banner = stack.banner();
    assert!(banner.contains(&format!("API:           {}", stack.api_url())), "{banner}");
    assert!(banner.contains(&format!("API key:       {KEY}")), "{banner}");
    assert!(banner.contains(&format!("base_url=\"{}/v1\"", stack.api_url())), "{banner}");
    // The curl example's URL, header and body, sent as printed.
    let url = format!("curl {}/v1/chat/completions", stack.api_url());
    assert!(banner.contains(&url), "{banner}");
    assert!(banner.contains(&format!("-H 'Authorization: Bearer {KEY}'")), "{banner}");
    let body = banner
        .split("-d '")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a -d '<json>' body in the banner");
    let body: Value = serde_json::from_str(body).expect("the printed body is JSON");
    let answer = call(&stack, Method::POST, "/v1/chat/completions", Some(KEY), Some(body)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", String::from_utf8_lossy(&answer.body));
    let content = answer.json()["choices"][0]["message"]["content"].as_str().map(str::to_owned);
    assert_eq!(content.as_deref(), Some("From the context: The office opens at 9am."));
    finish(stack).await;
}

#[tokio::test]
async fn a_streamed_chat_arrives_as_server_sent_events_ending_in_done() {
    let stack = start("stream", FaultConfig::default()).await;
    let answer =
        call(&stack, Method::POST, "/v1/chat/completions", Some(KEY), Some(office_chat(true)))
            .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers["content-type"], "text/event-stream");
    let text = String::from_utf8(answer.body.to_vec()).expect("UTF-8 events");
    let data: Vec<&str> = text.lines().filter_map(|line| line.strip_prefix("data: ")).collect();
    assert_eq!(data.last(), Some(&"[DONE]"), "{text}");
    let content: String = data[..data.len() - 1]
        .iter()
        .map(|event| serde_json::from_str::<Value>(event).expect("a JSON chunk"))
        .filter_map(|chunk| chunk["choices"][0]["delta"]["content"].as_str().map(str::to_owned))
        .collect();
    assert!(content.contains("The office opens at 9am."), "{content}");
    finish(stack).await;
}

#[tokio::test]
async fn without_the_key_or_with_another_the_api_answers_401_in_openai_shape() {
    let stack = start("auth", FaultConfig::default()).await;
    for (key, message) in [(None, "missing API key"), (Some("wrong-key"), "invalid API key")] {
        for (method, path, body) in [
            (Method::GET, "/v1/models", None),
            (Method::POST, "/v1/chat/completions", Some(office_chat(false))),
        ] {
            let answer = call(&stack, method, path, key, body).await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{path} with {key:?}");
            let error = answer.json();
            assert_eq!(error["error"]["type"], "authentication_error");
            let text = error["error"]["message"].as_str().expect("a message");
            assert!(text.contains(message), "{text}");
        }
    }
    finish(stack).await;
}

#[tokio::test]
async fn bedrock_throttling_reaches_the_caller_as_429_with_retry_after() {
    let faults = FaultConfig { throttle_every: Some(1), ..FaultConfig::default() };
    let stack = start("throttle", faults).await;
    let answer =
        call(&stack, Method::POST, "/v1/chat/completions", Some(KEY), Some(office_chat(false)))
            .await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u32 = answer.headers["retry-after"]
        .to_str()
        .expect("ASCII")
        .parse()
        .expect("Retry-After in seconds");
    assert!(retry_after >= 1);
    assert_eq!(answer.json()["error"]["type"], "rate_limit_error");
    // The SDK's standard retries tried more than once before giving up.
    assert!(stack.bedrock().faults().calls() > 1, "calls: {}", stack.bedrock().faults().calls());
    finish(stack).await;
}

#[tokio::test]
async fn the_invoke_functions_environment_file_points_at_the_local_stack() {
    let stack = start("env", FaultConfig::default()).await;
    let text = std::fs::read_to_string(stack.invoke_env_path()).expect("invoke.env is written");
    let vars: std::collections::HashMap<String, String> = text
        .lines()
        .map(|line| {
            let (name, value) = line.split_once('=').expect("KEY=VALUE lines");
            (name.to_owned(), value.to_owned())
        })
        .collect();
    let settings = InvokeSettings::from_env(|name| vars.get(name).cloned())
        .expect("the invoke function reads its settings from the file");
    assert_eq!(settings.models, config().models);
    match &settings.auth {
        AuthConfig::ApiKeys { secret_name, key_sha256 } => {
            assert_eq!(secret_name, &None, "no secret is read locally");
            assert!(key_sha256.contains(&hash_api_key(KEY)), "{key_sha256:?}");
        }
        AuthConfig::Iam => panic!("the local stack authenticates with API keys"),
    }
    assert_eq!(vars["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"], stack.bedrock_url());
    assert_eq!(vars["AWS_REGION"], config().stack.region);
    assert_eq!(vars["AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH"], "true");
    assert!(!text.contains(KEY), "the file holds the key's hash, never the key");
    finish(stack).await;
}

#[tokio::test]
async fn after_shutdown_neither_port_accepts_connections() {
    let stack = start("shutdown", FaultConfig::default()).await;
    let api = stack.api_addr();
    let bedrock = stack.bedrock().addr();
    finish(stack).await;
    for addr in [api, bedrock] {
        assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "{addr} still accepts");
    }
}

#[tokio::test]
async fn a_port_in_use_is_reported_with_the_port() {
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let port = taken.local_addr().expect("its address").port();
    let error = stack::start(StackOptions {
        api_port: port,
        bedrock_port: 0,
        s3_port: 0,
        api_key: Some(KEY.to_owned()),
        data_dir: data_dir("port"),
        ..StackOptions::new(config())
    })
    .await
    .expect_err("the port is taken");
    assert!(error.to_string().contains(&format!("127.0.0.1:{port}")), "{error}");
}
