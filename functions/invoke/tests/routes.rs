//! Every route's happy path through the Router against the local Bedrock endpoint, asserting what
//! a caller notices: the answer quotes the context, OpenAI's shapes hold, embeddings decode, the
//! model list names what may be called, and a comparison reports every model.

mod common;

use base64::Engine as _;
use common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn health_answers_without_credentials_or_a_bedrock_call() {
    let api = TestApi::default().await;
    let request = axum::http::Request::get("/health").body(axum::body::Body::empty()).expect("req");
    let answer = api.send(request).await;
    answer.expect_status(200);
    assert_eq!(answer.json(), json!({"status": "ok"}));
    assert_eq!(api.bedrock_calls(), 0);
    assert!(answer.headers.contains_key("x-request-id"), "every answer carries its request id");
}

#[tokio::test]
async fn invoke_answers_from_the_context_through_converse_with_the_default_model() {
    let api = TestApi::default().await;
    let answer = api.post("/v1/invoke", &office_invoke(None)).await;
    answer.expect_status(200);
    let body = answer.json();
    assert_eq!(body["model"], NOVA_LITE, "no model named: the default one answers");
    assert_eq!(body["api"], "converse");
    assert_eq!(body["stop_reason"], "end_turn");
    let text = body["content"][0]["text"].as_str().expect("a text block");
    assert!(text.contains(OFFICE_ANSWER_SENTENCE), "quotes the context: {text}");
    assert!(!text.contains("cafeteria"), "quotes only what answers the question: {text}");
    let usage = &body["usage"];
    assert!(usage["input_tokens"].as_u64().expect("input tokens") > 0);
    assert!(usage["output_tokens"].as_u64().expect("output tokens") > 0);
    assert_eq!(
        usage["total_tokens"].as_u64(),
        Some(
            usage["input_tokens"].as_u64().unwrap_or(0)
                + usage["output_tokens"].as_u64().unwrap_or(0)
        )
    );
    assert_eq!(body["id"].as_str(), answer.headers["x-request-id"].to_str().ok());
    assert_eq!(api.bedrock_calls(), 1);
}

#[tokio::test]
async fn invoke_through_the_native_body_gives_the_same_answer_for_an_alias() {
    let api = TestApi::default().await;
    let converse = api.post("/v1/invoke", &office_invoke(Some("haiku"))).await;
    let mut native_body = office_invoke(Some("haiku"));
    native_body["api"] = json!("native");
    let native = api.post("/v1/invoke", &native_body).await;
    native.expect_status(200);
    let (converse, native) = (converse.json(), native.json());
    assert_eq!(native["model"], HAIKU_PROFILE, "the alias resolves to the inference profile");
    assert_eq!(native["api"], "native");
    assert_eq!(native["content"], converse["content"], "both APIs carry the same answer");
    assert_eq!(native["stop_reason"], "end_turn");
    assert!(native["latency_ms"].is_u64(), "native calls report their own latency");
}

#[tokio::test]
async fn chat_completions_has_openais_shape_with_usage_and_finish_reason() {
    let api = TestApi::default().await;
    let answer = api.post("/v1/chat/completions", &office_chat("fast")).await;
    answer.expect_status(200);
    let body = answer.json();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], NOVA_LITE);
    assert!(body["id"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(body["created"].as_u64().is_some_and(|t| t > 1_700_000_000), "unix seconds");
    let choices = body["choices"].as_array().expect("choices");
    assert_eq!(choices.len(), 1);
    assert_eq!(choices[0]["index"], 0);
    assert_eq!(choices[0]["finish_reason"], "stop");
    assert_eq!(choices[0]["message"]["role"], "assistant");
    let content = choices[0]["message"]["content"].as_str().expect("string content");
    assert!(content.contains(OFFICE_ANSWER_SENTENCE), "{content}");
    let usage = &body["usage"];
    let prompt = usage["prompt_tokens"].as_u64().expect("prompt_tokens");
    let completion = usage["completion_tokens"].as_u64().expect("completion_tokens");
    assert!(prompt > 0 && completion > 0, "{usage}");
    assert_eq!(usage["total_tokens"].as_u64(), Some(prompt + completion));
}

#[tokio::test]
async fn chat_completions_max_tokens_cuts_the_answer_with_finish_reason_length() {
    let api = TestApi::default().await;
    let mut body = office_chat(NOVA_LITE);
    body["max_completion_tokens"] = json!(3);
    let answer = api.post("/v1/chat/completions", &body).await.json();
    assert_eq!(answer["choices"][0]["finish_reason"], "length");
    assert_eq!(answer["usage"]["completion_tokens"], 3);
}

#[tokio::test]
async fn chat_completions_calls_the_tool_the_question_names_with_arguments_as_a_json_string() {
    let api = TestApi::default().await;
    let body = json!({
        "model": HAIKU_PROFILE,
        "messages": [{"role": "user", "content": WEATHER_QUESTION}],
        "tools": [weather_tool()]
    });
    let answer = api.post("/v1/chat/completions", &body).await;
    answer.expect_status(200);
    let answer = answer.json();
    let choice = &answer["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    let calls = choice["message"]["tool_calls"].as_array().expect("tool_calls");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["type"], "function");
    assert!(calls[0]["id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(calls[0]["function"]["name"], "get_weather");
    let arguments = calls[0]["function"]["arguments"].as_str().expect("arguments is a string");
    let arguments: Value = serde_json::from_str(arguments).expect("holding a JSON object");
    assert_eq!(arguments, json!({"city": "Paris"}));

    // The tool's result sent back: the model answers from it.
    let call = calls[0].clone();
    let follow_up = json!({
        "model": HAIKU_PROFILE,
        "messages": [
            {"role": "user", "content": WEATHER_QUESTION},
            {"role": "assistant", "content": null, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": call["id"], "content": "Paris weather today: sunny and 24 degrees."}
        ],
        "tools": [weather_tool()]
    });
    let answer = api.post("/v1/chat/completions", &follow_up).await;
    answer.expect_status(200);
    let answer = answer.json();
    assert_eq!(answer["choices"][0]["finish_reason"], "stop");
    let content = answer["choices"][0]["message"]["content"].as_str().expect("text");
    assert!(content.contains("sunny and 24 degrees"), "answers from the tool result: {content}");
}

#[tokio::test]
async fn embeddings_come_back_in_input_order_with_the_configured_size() {
    let api = TestApi::default().await;
    let inputs = ["the office opens at 9am", "parking is free for visitors", "lunch from noon"];
    let answer =
        api.post("/v1/embeddings", &json!({"model": EMBEDDING_MODEL, "input": inputs})).await;
    answer.expect_status(200);
    let body = answer.json();
    assert_eq!(body["object"], "list");
    assert_eq!(body["model"], EMBEDDING_MODEL);
    let data = body["data"].as_array().expect("data");
    assert_eq!(data.len(), inputs.len());
    for (i, (item, input)) in data.iter().zip(inputs).enumerate() {
        assert_eq!(item["object"], "embedding");
        assert_eq!(item["index"], i);
        let vector: Vec<f32> = serde_json::from_value(item["embedding"].clone()).expect("floats");
        assert_eq!(vector.len(), EMBEDDING_DIMENSIONS, "the configured dimensions");
        let expected = quarry_local::models::embedding::embed(input, EMBEDDING_DIMENSIONS);
        let similarity = quarry_local::models::embedding::cosine(&vector, &expected);
        assert!(similarity > 0.999, "item {i} is the embedding of input {i} ({similarity})");
    }
    assert!(body["usage"]["prompt_tokens"].as_u64().is_some_and(|t| t > 0), "{body}");
}

#[tokio::test]
async fn embeddings_in_base64_decode_to_the_same_floats() {
    let api = TestApi::default().await;
    let request = |format: &str| {
        json!({"model": EMBEDDING_MODEL, "input": ["parking is free"], "encoding_format": format,
               "dimensions": 512})
    };
    let floats = api.post("/v1/embeddings", &request("float")).await.json();
    let base64 = api.post("/v1/embeddings", &request("base64")).await.json();
    let floats: Vec<f32> =
        serde_json::from_value(floats["data"][0]["embedding"].clone()).expect("floats");
    assert_eq!(floats.len(), 512, "the request's dimensions win over the configured ones");
    let text = base64["data"][0]["embedding"].as_str().expect("a base64 string");
    let bytes = base64::engine::general_purpose::STANDARD.decode(text).expect("valid base64");
    let decoded: Vec<f32> =
        bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    assert_eq!(decoded, floats, "little-endian f32s, as OpenAI's SDKs decode them");
}

#[tokio::test]
async fn models_lists_allowed_ids_aliases_and_the_embedding_model() {
    let api = TestApi::default().await;
    let answer = api.get("/v1/models").await;
    answer.expect_status(200);
    let body = answer.json();
    assert_eq!(body["object"], "list");
    let data = body["data"].as_array().expect("data");
    let ids: Vec<&str> = data.iter().filter_map(|m| m["id"].as_str()).collect();
    for id in [HAIKU_PROFILE, NOVA_LITE, LLAMA, PROVISIONED, "fast", "haiku", EMBEDDING_MODEL] {
        assert!(ids.contains(&id), "{id} is listed: {ids:?}");
    }
    assert_eq!(ids.len(), 7, "nothing else: {ids:?}");
    let haiku = data.iter().find(|m| m["id"] == HAIKU_PROFILE).expect("the profile");
    assert_eq!(haiku["object"], "model");
    assert_eq!(haiku["owned_by"], "anthropic");
    let regions: Vec<&str> =
        haiku["regions"].as_array().expect("regions").iter().filter_map(Value::as_str).collect();
    assert!(regions.contains(&"us-east-1") && regions.contains(&"us-west-2"), "{regions:?}");
    let alias = data.iter().find(|m| m["id"] == "fast").expect("the alias");
    assert!(alias["name"].as_str().is_some_and(|n| n.contains(NOVA_LITE)), "{alias}");
    assert_eq!(api.bedrock_calls(), 0, "the list is the config's, no Bedrock call");
}

#[tokio::test]
async fn compare_reports_each_model_with_latency_usage_and_cost_in_request_order() {
    let api = TestApi::default().await;
    let body =
        json!({"models": [LLAMA, "fast", "haiku"], "system": OFFICE, "prompt": OFFICE_QUESTION});
    let answer = api.post("/v1/compare", &body).await;
    answer.expect_status(200);
    let body = answer.json();
    let results = body["results"].as_array().expect("results");
    let models: Vec<&str> = results.iter().filter_map(|r| r["model"].as_str()).collect();
    assert_eq!(models, [LLAMA, NOVA_LITE, HAIKU_PROFILE]);
    for result in results {
        let text = result["text"].as_str().expect("every model answered");
        assert!(text.contains(OFFICE_ANSWER_SENTENCE), "{result}");
        assert_eq!(result["stop_reason"], "end_turn");
        assert!(result["latency_ms"].is_u64());
        assert!(result.get("error").is_none(), "{result}");
    }
    for (result, (input_price, output_price)) in
        [(&results[0], LLAMA_PRICE), (&results[1], NOVA_LITE_PRICE)]
    {
        let input = result["usage"]["input_tokens"].as_f64().expect("input tokens");
        let output = result["usage"]["output_tokens"].as_f64().expect("output tokens");
        let expected = (input * input_price + output * output_price) / 1000.0;
        let cost = result["estimated_cost_usd"].as_f64().expect("a cost from the configured price");
        assert!((cost - expected).abs() < 1e-12, "{cost} vs {expected}");
        assert!(cost > 0.0);
    }
    assert!(results[2]["estimated_cost_usd"].is_null(), "no price configured for the profile");
    assert_eq!(api.bedrock_calls(), 3);
}

#[tokio::test]
async fn compare_reports_one_models_failure_without_failing_the_others() {
    let api = TestApi::default().await;
    let body =
        json!({"models": ["fast", PROVISIONED], "system": OFFICE, "prompt": OFFICE_QUESTION});
    let answer = api.post("/v1/compare", &body).await;
    answer.expect_status(200);
    let results = answer.json()["results"].as_array().expect("results").clone();
    assert_eq!(results.len(), 2);
    assert!(results[0]["text"].as_str().is_some_and(|t| t.contains(OFFICE_ANSWER_SENTENCE)));
    let failed = &results[1];
    assert_eq!(failed["model"], PROVISIONED);
    assert!(failed.get("text").is_none(), "{failed}");
    assert_eq!(failed["error"]["code"], "validation", "{failed}");
    assert!(
        failed["error"]["message"].as_str().is_some_and(|m| m.contains(PROVISIONED)),
        "{failed}"
    );
}
