//! Every error the API answers, as a caller sees it: an OpenAI-shaped JSON body with a reason and
//! the right status — credentials, models, malformed and invalid bodies, size, routing, Bedrock's
//! faults from the local endpoint's fault switch, guardrails — and the SDK's retries at work.

mod common;

use axum::body::Body;
use axum::http::{HeaderValue, Request, header};
use common::*;
use serde_json::{Value, json};

/// Every route that needs credentials, with a body that would succeed.
fn protected_routes() -> Vec<(&'static str, &'static str, Option<Value>)> {
    vec![
        ("POST", "/v1/invoke", Some(office_invoke(None))),
        ("POST", "/v1/chat/completions", Some(office_chat("fast"))),
        ("POST", "/v1/embeddings", Some(json!({"model": EMBEDDING_MODEL, "input": "hello"}))),
        ("GET", "/v1/models", None),
        ("POST", "/v1/compare", Some(json!({"models": ["fast"], "prompt": "hello"}))),
    ]
}

fn request(method: &str, path: &str, body: Option<&Value>, key: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(key) = key {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {key}"));
    }
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    builder.header(header::CONTENT_TYPE, "application/json").body(body).expect("request")
}

#[tokio::test]
async fn no_key_or_a_wrong_key_is_401_on_every_protected_route_before_any_bedrock_call() {
    let api = TestApi::default().await;
    for (method, path, body) in protected_routes() {
        let missing = api.send(request(method, path, body.as_ref(), None)).await.error(401);
        assert!(
            missing["message"].as_str().is_some_and(|m| m.contains("missing API key")),
            "{path}"
        );
        assert_eq!(missing["type"], "authentication_error");
        let wrong =
            api.send(request(method, path, body.as_ref(), Some("qk-wrong"))).await.error(401);
        assert_eq!(wrong["message"], "invalid API key", "{path}");
        assert_eq!(wrong["code"], "invalid_api_key");
    }
    assert_eq!(api.bedrock_calls(), 0);
    // The same requests with the key get through.
    for (method, path, body) in protected_routes() {
        api.send(request(method, path, body.as_ref(), Some(API_KEY))).await.expect_status(200);
    }
    // `x-api-key` works as well as a bearer token.
    let with_header = Request::get("/v1/models").header("x-api-key", API_KEY).body(Body::empty());
    api.send(with_header.expect("request")).await.expect_status(200);
}

#[tokio::test]
async fn iam_mode_refuses_a_request_api_gateway_did_not_authorize() {
    let api = TestApi::start(Setup { iam: true, ..Setup::default() }).await;
    // Not even a valid API key helps: IAM mode checks only the caller API Gateway verified.
    let error = api.post("/v1/chat/completions", &office_chat("fast")).await.error(401);
    assert!(error["message"].as_str().is_some_and(|m| m.contains("SigV4")), "{error}");
}

#[tokio::test]
async fn an_unknown_model_is_404_listing_the_allowed_ids() {
    let api = TestApi::default().await;
    let invoke = api.post("/v1/invoke", &office_invoke(Some("acme.wonder-model-v1:0"))).await;
    let chat = api.post("/v1/chat/completions", &office_chat("gpt-4o")).await;
    let embeddings =
        api.post("/v1/embeddings", &json!({"model": "text-embedding-3-small", "input": "x"})).await;
    for (answer, allowed) in [
        (invoke, vec![HAIKU_PROFILE, NOVA_LITE, LLAMA]),
        (chat, vec![HAIKU_PROFILE, NOVA_LITE, LLAMA]),
        (embeddings, vec![EMBEDDING_MODEL]),
    ] {
        let error = answer.error(404);
        assert_eq!(error["type"], "not_found_error");
        assert_eq!(error["code"], "model_not_found");
        assert_eq!(error["param"], "model");
        let message = error["message"].as_str().expect("message");
        for id in allowed {
            assert!(message.contains(id), "lists {id}: {message}");
        }
    }
    assert_eq!(api.bedrock_calls(), 0);
}

#[tokio::test]
async fn a_known_model_that_is_not_allowed_is_403() {
    let api = TestApi::default().await;
    let opus = "anthropic.claude-3-opus-20240229-v1:0";
    for answer in [
        api.post("/v1/invoke", &office_invoke(Some(opus))).await,
        api.post("/v1/chat/completions", &office_chat(opus)).await,
        api.post("/v1/compare", &json!({"models": ["fast", opus], "prompt": "hi"})).await,
    ] {
        let error = answer.error(403);
        assert_eq!(error["type"], "permission_error");
        assert_eq!(error["code"], "model_not_allowed");
        assert!(
            error["message"].as_str().is_some_and(|m| m.contains(opus) && m.contains(NOVA_LITE))
        );
    }
    assert_eq!(api.bedrock_calls(), 0, "a compare with one refused model sends nothing");
}

#[tokio::test]
async fn invalid_json_is_400_on_every_post_route() {
    let api = TestApi::default().await;
    for path in ["/v1/invoke", "/v1/chat/completions", "/v1/embeddings", "/v1/compare"] {
        let answer = api.send(post_bytes(path, b"{\"messages\": [".to_vec())).await;
        let error = answer.error(400);
        assert_eq!(error["type"], "invalid_request_error", "{path}");
    }
}

#[tokio::test]
async fn a_valid_body_followed_by_more_text_is_400() {
    let api = TestApi::default().await;
    for (path, body) in [
        ("/v1/invoke", office_invoke(None)),
        ("/v1/chat/completions", office_chat("fast")),
        ("/v1/embeddings", json!({"model": EMBEDDING_MODEL, "input": "hello"})),
        ("/v1/compare", json!({"models": ["fast"], "prompt": "hello"})),
    ] {
        for trailing in [" {}", "x", " {\"messages\": []}"] {
            let bytes = format!("{body}{trailing}").into_bytes();
            let error = api.send(post_bytes(path, bytes)).await.error(400);
            assert!(error["message"].as_str().is_some_and(|m| m.contains("trailing")), "{error}");
        }
    }
    assert_eq!(api.bedrock_calls(), 0);
}

#[tokio::test]
async fn a_field_of_the_wrong_type_is_400_naming_its_path() {
    let api = TestApi::default().await;
    let cases = [
        (
            "/v1/invoke",
            json!({"messages": [{"role": "user", "content": 5}]}),
            "messages[0].content",
        ),
        (
            "/v1/invoke",
            json!({"messages": [{"role": "user", "content": "hi"}], "max_tokens": "ten"}),
            "max_tokens",
        ),
        (
            "/v1/invoke",
            json!({"messages": [{"role": "robot", "content": "hi"}]}),
            "messages[0].role",
        ),
        ("/v1/invoke", json!({"messages": [], "api": "grpc"}), "api"),
        (
            "/v1/chat/completions",
            json!({"model": "fast", "messages": [{"role": 7, "content": "hi"}]}),
            "messages[0].role",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "fast", "messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}),
            "temperature",
        ),
        (
            "/v1/embeddings",
            json!({"model": EMBEDDING_MODEL, "input": "hi", "dimensions": "many"}),
            "dimensions",
        ),
        ("/v1/compare", json!({"models": "fast", "prompt": "hi"}), "models"),
        (
            "/v1/compare",
            json!({"models": ["fast"], "prompt": "hi", "max_tokens": -1}),
            "max_tokens",
        ),
    ];
    for (path, body, param) in cases {
        let error = api.post(path, &body).await.error(400);
        assert_eq!(error["param"], param, "{path} {body}: {error}");
        assert!(error["message"].as_str().is_some_and(|m| m.contains(param)), "{error}");
    }
    assert_eq!(api.bedrock_calls(), 0);
}

#[tokio::test]
async fn invalid_requests_are_400_with_the_reason() {
    let api = TestApi::default().await;
    let user = |text: &str| json!([{"role": "user", "content": text}]);
    let cases = [
        ("/v1/invoke", json!({"messages": []}), "messages"),
        ("/v1/chat/completions", json!({"model": "fast", "messages": []}), "messages"),
        ("/v1/invoke", json!({"messages": user("hi"), "temperature": 5.0}), "temperature"),
        (
            "/v1/invoke",
            json!({"model": PROVISIONED, "api": "native", "messages": user("hi")}),
            "api",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "fast", "messages": user("hi"), "temperature": -1}),
            "temperature",
        ),
        ("/v1/chat/completions", json!({"model": "fast", "messages": user("hi"), "n": 2}), "n = 2"),
        (
            "/v1/chat/completions",
            json!({"model": "fast", "messages": [{"role": "user", "content": [
                {"type": "text", "text": "what is this?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
            ]}]}),
            "messages[0].content[1].image_url.url",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "fast", "messages": user("hi"), "frobnicate": true}),
            "frobnicate",
        ),
        ("/v1/embeddings", json!({"model": EMBEDDING_MODEL, "input": []}), "input"),
        (
            "/v1/embeddings",
            json!({"model": EMBEDDING_MODEL, "input": "hi", "dimensions": 300}),
            "300-dimensional",
        ),
        ("/v1/compare", json!({"models": [], "prompt": "hi"}), "models"),
        ("/v1/compare", json!({"models": ["fast", NOVA_LITE], "prompt": "hi"}), "already compared"),
        (
            "/v1/compare",
            json!({"models": ["fast", "haiku", LLAMA, PROVISIONED, "x"], "prompt": "hi"}),
            "between 1 and 4",
        ),
        (
            "/v1/compare",
            json!({"models": ["fast"], "prompt": "hi", "messages": user("hi")}),
            "prompt",
        ),
    ];
    for (path, body, reason) in cases {
        let error = api.post(path, &body).await.error(400);
        assert_eq!(error["type"], "invalid_request_error");
        let message = error["message"].as_str().expect("message");
        assert!(
            message.contains(reason) || error["param"].as_str().is_some_and(|p| p.contains(reason)),
            "{path} {body}: the error names `{reason}`: {error}"
        );
    }
    assert_eq!(api.bedrock_calls(), 0);
}

#[tokio::test]
async fn a_body_over_the_configured_limit_is_413() {
    let api = TestApi::default().await;
    let big = "x".repeat(MAX_BODY_BYTES);
    for path in ["/v1/invoke", "/v1/chat/completions", "/v1/embeddings", "/v1/compare"] {
        let body = json!({"model": "fast", "messages": [{"role": "user", "content": big}]});
        let error = api.post(path, &body).await.error(413);
        assert_eq!(error["code"], "body_too_large");
        assert!(error["message"].as_str().is_some_and(|m| m.contains(&MAX_BODY_BYTES.to_string())));
    }
    // Just under the limit is read (and fails later only for what it says).
    let fits = json!({"messages": [{"role": "user", "content": "x".repeat(MAX_BODY_BYTES - 100)}]});
    api.post("/v1/invoke", &fits).await.expect_status(200);
}

#[tokio::test]
async fn an_unknown_route_is_404_and_a_wrong_method_405_both_as_json() {
    let api = TestApi::default().await;
    let missing = api.get("/v1/completions").await.error(404);
    assert_eq!(missing["code"], "unknown_route");
    assert!(missing["message"].as_str().is_some_and(|m| m.contains("/v1/completions")));
    // Unknown routes answer the same without credentials (nothing to protect there).
    let anonymous = Request::get("/nope").body(Body::empty()).expect("request");
    api.send(anonymous).await.error(404);

    for (method, path) in [
        ("GET", "/v1/invoke"),
        ("POST", "/v1/models"),
        ("DELETE", "/v1/chat/completions"),
        ("POST", "/health"),
    ] {
        let answer = api.send(request(method, path, Some(&json!({})), Some(API_KEY))).await;
        let error = answer.error(405);
        assert_eq!(error["code"], "method_not_allowed", "{method} {path}");
        assert!(error["message"].as_str().is_some_and(|m| m.contains(method) && m.contains(path)));
    }
}

/// Calls every Bedrock-backed route (streaming included) with `fault` on every call, expecting
/// `status` and `code`. Returns the `Retry-After` headers of the routes' answers.
async fn every_route_answers_the_fault(
    fault: &str,
    status: u16,
    code: &str,
) -> Vec<Option<HeaderValue>> {
    let api = TestApi::default().await;
    api.faults(fault);
    let mut stream_chat = office_chat("fast");
    stream_chat["stream"] = json!(true);
    let mut stream_invoke = office_invoke(None);
    stream_invoke["stream"] = json!(true);
    let calls = [
        ("/v1/invoke", office_invoke(None)),
        ("/v1/invoke", stream_invoke),
        ("/v1/chat/completions", office_chat("fast")),
        ("/v1/chat/completions", stream_chat),
        ("/v1/embeddings", json!({"model": EMBEDDING_MODEL, "input": "hello"})),
    ];
    let mut retry_after = Vec::new();
    for (path, body) in calls {
        let answer = api.post(path, &body).await;
        let error = answer.error(status);
        assert_eq!(error["code"], code, "{fault} on {path}: {error}");
        assert!(error["message"].as_str().is_some_and(|m| m.contains("Bedrock")), "{error}");
        retry_after.push(answer.headers.get(header::RETRY_AFTER).cloned());
    }
    // A comparison reports the failure per model and still answers 200.
    let compare =
        api.post("/v1/compare", &json!({"models": ["fast", "haiku"], "prompt": "hi"})).await;
    compare.expect_status(200);
    for result in compare.json()["results"].as_array().expect("results") {
        assert_eq!(result["error"]["code"], code, "{result}");
    }
    retry_after
}

#[tokio::test]
async fn throttling_is_429_with_retry_after() {
    let retry_after = every_route_answers_the_fault("throttle_every=1", 429, "throttling").await;
    for value in retry_after {
        let seconds: u32 =
            value.expect("Retry-After is sent").to_str().expect("ascii").parse().expect("seconds");
        assert!(seconds >= 1, "{seconds}");
    }
}

#[tokio::test]
async fn service_unavailable_is_503() {
    let retry_after =
        every_route_answers_the_fault("unavailable_every=1", 503, "service_unavailable").await;
    assert!(retry_after.iter().all(Option::is_none), "Retry-After only for throttling");
}

#[tokio::test]
async fn a_model_timeout_is_504() {
    every_route_answers_the_fault("timeout_every=1", 504, "model_timeout").await;
}

#[tokio::test]
async fn an_internal_error_of_bedrock_is_a_502_bad_gateway() {
    // Bedrock's InternalServerException (HTTP 500 from the endpoint) is upstream's failure, not
    // quarry's: the API answers 502 with the classified code.
    every_route_answers_the_fault("internal_every=1", 502, "internal").await;
}

#[tokio::test]
async fn the_sdks_standard_retry_gets_through_throttling_every_second_call() {
    let api = TestApi::start(Setup { retries: true, ..Setup::default() }).await;
    api.faults("throttle_every=2");
    for round in 0..3 {
        let answer = api.post("/v1/chat/completions", &office_chat("fast")).await;
        answer.expect_status(200);
        let content = answer.json()["choices"][0]["message"]["content"].as_str().map(str::to_owned);
        assert!(content.is_some_and(|c| c.contains(OFFICE_ANSWER_SENTENCE)), "round {round}");
    }
    // Calls 1, 3, 5… pass and 2, 4… are throttled: 3 answers took 5 calls.
    assert_eq!(api.bedrock_calls(), 5, "the throttled attempts were retried");

    // Without retries, the same sequence surfaces the throttling.
    let no_retries = TestApi::default().await;
    no_retries.faults("throttle_every=2");
    no_retries.post("/v1/chat/completions", &office_chat("fast")).await.expect_status(200);
    no_retries.post("/v1/chat/completions", &office_chat("fast")).await.error(429);
}

#[tokio::test]
async fn a_request_cannot_choose_another_guardrail_or_switch_it_off() {
    let api = TestApi::start(Setup { guardrail: true, ..Setup::default() }).await;
    let with_guardrail = |identifier: &str, version: &str| {
        let mut body = office_invoke(None);
        body["guardrail"] = json!({"identifier": identifier, "version": version});
        body
    };
    for (identifier, version) in [("othergr", GUARDRAIL_VERSION), (GUARDRAIL_ID, "DRAFT")] {
        let error = api.post("/v1/invoke", &with_guardrail(identifier, version)).await.error(400);
        assert_eq!(error["param"], "guardrail");
        assert_eq!(error["code"], "guardrail_not_allowed");
    }
    // Naming the configured one is fine.
    api.post("/v1/invoke", &with_guardrail(GUARDRAIL_ID, GUARDRAIL_VERSION))
        .await
        .expect_status(200);
    // With no guardrail configured, a request cannot bring one either.
    let open = TestApi::default().await;
    open.post("/v1/invoke", &with_guardrail(GUARDRAIL_ID, GUARDRAIL_VERSION)).await.error(400);
    assert_eq!(open.bedrock_calls(), 0);
}

#[tokio::test]
async fn a_guardrail_intervention_is_reported_as_such() {
    let api = TestApi::start(Setup { guardrail: true, ..Setup::default() }).await;
    let question = "Which stocks should I buy this year?";
    let invoke =
        api.post("/v1/invoke", &json!({"messages": [{"role": "user", "content": question}]})).await;
    invoke.expect_status(200);
    let invoke = invoke.json();
    assert_eq!(invoke["stop_reason"], "guardrail_intervened", "{invoke}");
    assert_eq!(invoke["content"][0]["text"], BLOCKED_MESSAGE);
    assert_eq!(invoke["guardrail"]["intervened"], true, "{invoke}");

    let mut chat = json!({"model": "haiku", "messages": [{"role": "user", "content": question}]});
    let whole = api.post("/v1/chat/completions", &chat).await.json();
    assert_eq!(whole["choices"][0]["finish_reason"], "content_filter", "{whole}");
    assert_eq!(whole["choices"][0]["message"]["content"], BLOCKED_MESSAGE);

    // Streamed, the blocked message arrives and the finish chunk says why.
    chat["stream"] = json!(true);
    let data = api.post("/v1/chat/completions", &chat).await.sse_data();
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> =
        data[..data.len() - 1].iter().map(|d| serde_json::from_str(d).expect("a chunk")).collect();
    let content: String =
        chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(content, BLOCKED_MESSAGE);
    let finish = chunks.iter().find_map(|c| c["choices"][0]["finish_reason"].as_str());
    assert_eq!(finish, Some("content_filter"));

    // The guardrail is applied to every call, not only when asked: a harmless question passes.
    let harmless = api.post("/v1/invoke", &office_invoke(None)).await.json();
    assert_eq!(harmless["stop_reason"], "end_turn");
}
