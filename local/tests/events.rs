//! The sample Lambda events in `events/` (for `cargo lambda invoke --data-file`): each is an event
//! lambda_http accepts, and the API Gateway chat request, replayed against the local stack as the
//! HTTP request lambda_http makes of it, gets a chat completion.

use std::path::{Path, PathBuf};

use axum::http::{Method, Request, StatusCode};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;
use quarry::config::QuarryConfig;
use quarry_local::stack::{self, StackOptions};
use serde_json::Value;

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../events")
}

fn read_event(name: &str) -> String {
    std::fs::read_to_string(events_dir().join(name)).expect("the event file")
}

#[test]
fn every_api_gateway_sample_event_is_valid_json_that_lambda_http_accepts() {
    let mut events = 0;
    for entry in std::fs::read_dir(events_dir()).expect("events/") {
        let path = entry.expect("an entry").path();
        // `apigw-*.json` are the invoke function's events; the others belong to other functions
        // and are checked by those functions' tests.
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.starts_with("apigw-") && name.ends_with(".json") {
            let text = std::fs::read_to_string(&path).expect("readable");
            let parsed = lambda_http::request::from_str(&text);
            assert!(parsed.is_ok(), "{}: {:?}", path.display(), parsed.err());
            events += 1;
        }
    }
    assert!(events >= 1, "events/ holds at least the chat completions event");
}

#[test]
fn the_chat_completions_event_is_an_authorized_post_with_a_chat_body() {
    let request = lambda_http::request::from_str(&read_event("apigw-chat-completions.json"))
        .expect("an API Gateway REST proxy event");
    assert_eq!(request.method(), Method::POST);
    // The route as the client called it; lambda_http puts the stage in front of the URI's path
    // unless AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH is set (the local stack's invoke.env sets it).
    assert_eq!(request.raw_http_path(), "/v1/chat/completions");
    assert!(
        matches!(request.request_context_ref(), Some(RequestContext::ApiGatewayV1(context))
            if context.stage.as_deref() == Some("prod")),
        "a REST API (v1) request context on stage prod"
    );
    let authorization = request.headers()["authorization"].to_str().expect("ASCII");
    assert_eq!(authorization, "Bearer quarry-example-key");
    assert_eq!(request.headers()["content-type"], "application/json");
    let body: Value = serde_json::from_slice(request.body().as_ref()).expect("a JSON body");
    assert_eq!(body["model"], "amazon.nova-lite-v1:0");
    assert_eq!(body["messages"][1]["role"], "user");
}

#[tokio::test]
async fn replayed_against_the_local_stack_the_chat_event_gets_a_completion() {
    let event = lambda_http::request::from_str(&read_event("apigw-chat-completions.json"))
        .expect("an API Gateway REST proxy event");
    let config =
        QuarryConfig::from_path(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../quarry.toml"))
            .expect("the repository's quarry.toml");
    let data_dir = std::env::temp_dir().join(format!("quarry-events-{}", std::process::id()));
    let running = stack::start(StackOptions {
        api_port: 0,
        bedrock_port: 0,
        api_key: Some("quarry-example-key".to_owned()),
        data_dir: data_dir.clone(),
        ..StackOptions::new(config)
    })
    .await
    .expect("the stack starts");

    let mut request = Request::builder().method(event.method()).uri(format!(
        "{}{}",
        running.api_url(),
        event.raw_http_path()
    ));
    for name in ["authorization", "content-type", "accept"] {
        request = request.header(name, &event.headers()[name]);
    }
    let body = Bytes::copy_from_slice(event.body().as_ref());
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let response = client
        .request(request.body(Full::new(body)).expect("a valid request"))
        .await
        .expect("the API answers");
    let status = response.status();
    let bytes = response.into_body().collect().await.expect("the body").to_bytes();
    running.shutdown().await.expect("a clean shutdown");
    let _ = std::fs::remove_dir_all(data_dir);

    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&bytes));
    let completion: Value = serde_json::from_slice(&bytes).expect("JSON");
    let content = completion["choices"][0]["message"]["content"].as_str().expect("text");
    assert!(content.contains("The office opens at 9am."), "{content}");
}
