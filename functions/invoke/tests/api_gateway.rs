//! API Gateway events as Lambda delivers them (the REST API v1 proxy and HTTP API v2 IAM fixtures,
//! with path, method, headers and body set for quarry), turned into requests by lambda_http and sent
//! through the Router wrapped exactly as `main` wraps it (`quarry_invoke::lambda::service`).

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::Request;
use common::*;
use lambda_http::RequestExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

const REST_FIXTURE: &str = include_str!("fixtures/example-apigw-request.json");
const HTTP_API_IAM_FIXTURE: &str = include_str!("fixtures/example-apigw-v2-request-iam.json");

/// The REST API (v1) fixture's caller and stage.
const FIXTURE_USER_ARN: &str = "theUserArn";
const FIXTURE_STAGE: &str = "testStage";

/// The REST API fixture as a request to `method path` with `body`.
fn rest_event(method: &str, path: &str, body: Option<&Value>) -> Value {
    let mut event: Value = serde_json::from_str(REST_FIXTURE).expect("the fixture is JSON");
    assert_eq!(event["requestContext"]["identity"]["userArn"], FIXTURE_USER_ARN);
    assert_eq!(event["requestContext"]["stage"], FIXTURE_STAGE);
    event["httpMethod"] = json!(method);
    event["requestContext"]["httpMethod"] = json!(method);
    event["path"] = json!(path);
    event["pathParameters"] = json!({"proxy": path.trim_start_matches('/')});
    // With a custom domain, requestContext.path is the path; on execute-api it has the stage.
    event["requestContext"]["path"] = json!(format!("/{FIXTURE_STAGE}{path}"));
    event["queryStringParameters"] = Value::Null;
    event["multiValueQueryStringParameters"] = Value::Null;
    event["body"] = body.map_or(Value::Null, |b| json!(b.to_string()));
    event
}

/// The HTTP API (v2, IAM authorizer) fixture as a request to `method raw_path` with `body`.
fn http_api_event(method: &str, raw_path: &str, stage: &str, body: Option<&Value>) -> Value {
    let mut event: Value = serde_json::from_str(HTTP_API_IAM_FIXTURE).expect("the fixture is JSON");
    event["rawPath"] = json!(raw_path);
    event["rawQueryString"] = json!("");
    event["queryStringParameters"] = Value::Null;
    event["requestContext"]["http"]["method"] = json!(method);
    event["requestContext"]["http"]["path"] = json!(raw_path);
    event["requestContext"]["stage"] = json!(stage);
    event["headers"] = json!({"content-type": "application/json"});
    event["body"] = body.map_or(Value::Null, |b| json!(b.to_string()));
    event
}

fn set_header(event: &mut Value, name: &str, value: &str) {
    event["headers"][name] = json!(value);
    if event.get("multiValueHeaders").is_some_and(Value::is_object) {
        event["multiValueHeaders"][name] = json!([value]);
    }
}

/// The Lambda context of an invocation that must end by `deadline`.
fn lambda_context(request_id: &str, deadline: SystemTime) -> lambda_http::Context {
    let mut context = lambda_http::Context::default();
    context.request_id = request_id.to_owned();
    context.deadline =
        u64::try_from(deadline.duration_since(UNIX_EPOCH).expect("after the epoch").as_millis())
            .expect("milliseconds fit");
    context
}

/// Sends `event` as lambda_http would hand it to the function, within `context`.
async fn invoke(api: &TestApi, event: &Value, context: lambda_http::Context) -> Answer {
    let request = lambda_http::request::from_str(&event.to_string())
        .expect("lambda_http reads the event")
        .with_lambda_context(context);
    let service = quarry_invoke::lambda::service(api.router.clone());
    let response = service.oneshot(request).await.expect("the Router never fails a request");
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("the body");
    Answer { status, headers, body }
}

fn in_a_minute() -> SystemTime {
    SystemTime::now() + Duration::from_secs(60)
}

#[tokio::test]
async fn a_rest_api_chat_completion_from_an_iam_caller_is_answered() {
    let api = TestApi::start(Setup { iam: true, ..Setup::default() }).await;
    let event = rest_event("POST", "/v1/chat/completions", Some(&office_chat("fast")));
    let answer = invoke(&api, &event, lambda_context("lambda-req-1", in_a_minute())).await;
    answer.expect_status(200);
    let body = answer.json();
    let content = body["choices"][0]["message"]["content"].as_str().expect("content");
    assert!(content.contains(OFFICE_ANSWER_SENTENCE), "{content}");
    assert_eq!(
        body["id"], "chatcmpl-lambda-req-1",
        "the completion id carries the Lambda request id"
    );
    assert_eq!(answer.headers["x-request-id"], "lambda-req-1");
}

#[tokio::test]
async fn a_rest_api_request_without_an_iam_caller_is_401_in_iam_mode() {
    let api = TestApi::start(Setup { iam: true, ..Setup::default() }).await;
    let mut event = rest_event("POST", "/v1/chat/completions", Some(&office_chat("fast")));
    event["requestContext"]["identity"]["userArn"] = Value::Null;
    let error = invoke(&api, &event, lambda_context("r", in_a_minute())).await.error(401);
    assert_eq!(error["type"], "authentication_error");
    assert_eq!(api.bedrock_calls(), 0);
}

#[tokio::test]
async fn an_iam_caller_does_not_replace_the_api_key_in_api_key_mode() {
    let api = TestApi::default().await;
    let mut event = rest_event("POST", "/v1/chat/completions", Some(&office_chat("fast")));
    invoke(&api, &event, lambda_context("r", in_a_minute())).await.error(401);
    set_header(&mut event, "Authorization", &format!("Bearer {API_KEY}"));
    invoke(&api, &event, lambda_context("r", in_a_minute())).await.expect_status(200);
}

#[tokio::test]
async fn health_through_the_rest_api_needs_no_caller() {
    let api = TestApi::start(Setup { iam: true, ..Setup::default() }).await;
    let mut event = rest_event("GET", "/health", None);
    event["requestContext"]["identity"]["userArn"] = Value::Null;
    let answer = invoke(&api, &event, lambda_context("r", in_a_minute())).await;
    answer.expect_status(200);
    assert_eq!(answer.json(), json!({"status": "ok"}));
}

/// lambda_http puts a REST API's stage in front of `path` (`/testStage/v1/models`) unless
/// `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH` is set; the Router's routes have none, so the Lambda
/// mapping takes it off again.
#[tokio::test]
async fn the_rest_api_stage_is_not_part_of_the_route() {
    let api = TestApi::start(Setup { iam: true, ..Setup::default() }).await;
    let event = rest_event("GET", "/v1/models", None);
    let request = lambda_http::request::from_str(&event.to_string()).expect("event");
    assert_eq!(request.uri().path(), "/testStage/v1/models", "what lambda_http hands over");
    let answer = invoke(&api, &event, lambda_context("r", in_a_minute())).await;
    answer.expect_status(200);
    assert_eq!(answer.json()["object"], "list");

    // An unknown path is still unknown, and named without the stage.
    let missing =
        invoke(&api, &rest_event("GET", "/v2/models", None), lambda_context("r", in_a_minute()))
            .await
            .error(404);
    assert_eq!(missing["message"], "no route for GET /v2/models");

    // A stage named like the API's first path segment is not mistaken for it.
    let mut event = rest_event("GET", "/v1/models", None);
    event["requestContext"]["stage"] = json!("v1");
    invoke(&api, &event, lambda_context("r", in_a_minute())).await.expect_status(200);
}

#[tokio::test]
async fn an_http_api_request_from_an_iam_caller_is_answered_with_or_without_a_named_stage() {
    let api = TestApi::start(Setup { iam: true, ..Setup::default() }).await;
    let body = office_chat("haiku");
    for (raw_path, stage) in
        [("/v1/chat/completions", "$default"), ("/prod/v1/chat/completions", "prod")]
    {
        let event = http_api_event("POST", raw_path, stage, Some(&body));
        let answer = invoke(&api, &event, lambda_context("r", in_a_minute())).await;
        answer.expect_status(200);
        assert_eq!(answer.json()["model"], HAIKU_PROFILE, "{raw_path}");
    }
    // Only a whole path segment is the stage.
    let lookalike = http_api_event("GET", "/production/v1/models", "prod", None);
    let error = invoke(&api, &lookalike, lambda_context("r", in_a_minute())).await.error(404);
    assert_eq!(error["message"], "no route for GET /production/v1/models");

    let mut anonymous = http_api_event("POST", "/v1/chat/completions", "$default", Some(&body));
    anonymous["requestContext"]["authorizer"] = Value::Null;
    invoke(&api, &anonymous, lambda_context("r", in_a_minute())).await.error(401);
}

#[tokio::test]
async fn a_stream_through_the_rest_api_arrives_as_server_sent_events() {
    let api = TestApi::start(Setup { iam: true, ..Setup::default() }).await;
    let mut body = office_chat("fast");
    body["stream"] = json!(true);
    let event = rest_event("POST", "/v1/chat/completions", Some(&body));
    let answer = invoke(&api, &event, lambda_context("r", in_a_minute())).await;
    answer.expect_status(200);
    let data = answer.sse_data();
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    let content: String = data
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str().map(str::to_owned))
        .collect();
    assert!(content.contains(OFFICE_ANSWER_SENTENCE), "{content}");
}

#[tokio::test]
async fn the_lambda_deadline_bounds_the_bedrock_calls() {
    let api = TestApi::start(Setup { iam: true, ..Setup::default() }).await;
    let past = SystemTime::now() - Duration::from_secs(1);
    for (path, body) in [
        ("/v1/chat/completions", office_chat("fast")),
        ("/v1/invoke", office_invoke(None)),
        ("/v1/embeddings", json!({"model": EMBEDDING_MODEL, "input": "hi"})),
    ] {
        let event = rest_event("POST", path, Some(&body));
        let error = invoke(&api, &event, lambda_context("late", past)).await.error(504);
        assert_eq!(error["code"], "deadline_exceeded", "{path}: {error}");
    }
    // Within the safety margin kept to answer, the call is not started either.
    let soon = SystemTime::now() + Duration::from_millis(300);
    let event = rest_event("POST", "/v1/invoke", Some(&office_invoke(None)));
    invoke(&api, &event, lambda_context("soon", soon)).await.error(504);
    // A comparison reports the deadline per model.
    let compare = json!({"models": ["fast", "haiku"], "prompt": "hi"});
    let answer = invoke(
        &api,
        &rest_event("POST", "/v1/compare", Some(&compare)),
        lambda_context("late", past),
    )
    .await;
    for result in answer.json()["results"].as_array().expect("results") {
        assert_eq!(result["error"]["code"], "deadline_exceeded");
    }
    assert_eq!(api.bedrock_calls(), 0, "no Bedrock call is started past the deadline");

    // A call that outlives the deadline is abandoned in time.
    api.faults("latency_ms=5000");
    let started = std::time::Instant::now();
    let deadline = SystemTime::now() + Duration::from_millis(1500);
    let event = rest_event("POST", "/v1/invoke", Some(&office_invoke(None)));
    let error = invoke(&api, &event, lambda_context("slow", deadline)).await.error(504);
    assert_eq!(error["code"], "deadline_exceeded");
    // The budget is the deadline less the margin kept to answer (0.75 s): about 0.75 s here, far
    // from the 5 s the endpoint would have taken.
    assert!(started.elapsed() < Duration::from_secs(3), "abandoned at the deadline");
    assert_eq!(api.bedrock_calls(), 1);
}

#[tokio::test]
async fn without_a_lambda_context_requests_have_no_deadline() {
    // The local stack serves the same Router with axum::serve: no Lambda context, no deadline.
    let api = TestApi::default().await;
    let request = Request::get("/health").body(Body::empty()).expect("request");
    let request = quarry_invoke::lambda::from_lambda(request);
    assert!(request.extensions().get::<quarry_invoke::Deadline>().is_none());
    assert!(request.extensions().get::<quarry_invoke::IamCaller>().is_none());
    api.send(request).await.expect_status(200);
}
