//! Streamed answers through the Router: quarry's native SSE events fold to the non-streamed
//! answer, OpenAI chunks arrive in OpenAI's order and concatenate to the non-streamed content,
//! tool calls stream, and a stream the endpoint cuts ends in an error event instead of `[DONE]`.

mod common;

use common::*;
use quarry::chat::{StreamEvent, collect_events};
use serde_json::{Value, json};

/// The `StreamEvent`s of a native stream, and whether it ended with `[DONE]`.
fn native_events(data: &[String]) -> (Vec<StreamEvent>, bool) {
    let done = data.last().is_some_and(|d| d == "[DONE]");
    let events = data
        .iter()
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap_or_else(|e| panic!("a StreamEvent ({e}): {d}")))
        .collect();
    (events, done)
}

/// The JSON chunks of an OpenAI stream, and whether it ended with `[DONE]`.
fn openai_chunks(data: &[String]) -> (Vec<Value>, bool) {
    let done = data.last().is_some_and(|d| d == "[DONE]");
    assert_eq!(data.iter().filter(|d| *d == "[DONE]").count(), usize::from(done), "[DONE] is last");
    let chunks = data
        .iter()
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).expect("JSON"))
        .collect();
    (chunks, done)
}

fn streamed(mut body: Value) -> Value {
    body["stream"] = json!(true);
    body
}

#[tokio::test]
async fn native_stream_folds_to_the_non_streamed_answer_and_ends_with_done() {
    let api = TestApi::default().await;
    for native in [false, true] {
        let mut body = office_invoke(Some("haiku"));
        if native {
            body["api"] = json!("native");
        }
        let whole = api.post("/v1/invoke", &body).await.json();
        let answer = api.post("/v1/invoke", &streamed(body)).await;
        answer.expect_status(200);
        let sse = answer.sse_events();
        let data: Vec<String> = sse.iter().map(|e| e.data.clone()).collect();
        let (events, done) = native_events(&data);
        assert!(done, "a clean stream ends with [DONE]: {data:?}");
        let deltas = events.iter().filter(|e| matches!(e, StreamEvent::ContentBlockDelta { .. }));
        assert!(deltas.count() > 1, "the answer arrives in several deltas");
        // Each event is named by its type.
        for (event, sse) in events.iter().zip(&sse) {
            let kind = serde_json::to_value(event).expect("json")["type"].clone();
            assert_eq!(sse.name.as_deref(), kind.as_str(), "native={native}");
        }
        let folded = collect_events(&events);
        assert_eq!(folded.text(), whole["content"][0]["text"].as_str().expect("text"));
        assert!(folded.text().contains(OFFICE_ANSWER_SENTENCE));
        assert_eq!(
            serde_json::to_value(folded.stop_reason).expect("json"),
            whole["stop_reason"],
            "native={native}"
        );
        assert_eq!(folded.usage.output_tokens, whole["usage"]["output_tokens"]);
    }
}

#[tokio::test]
async fn openai_stream_concatenates_to_the_non_streamed_content_in_openais_order() {
    let api = TestApi::default().await;
    let whole = api.post("/v1/chat/completions", &office_chat("fast")).await.json();
    let answer = api.post("/v1/chat/completions", &streamed(office_chat("fast"))).await;
    answer.expect_status(200);
    let (chunks, done) = openai_chunks(&answer.sse_data());
    assert!(done, "ends with [DONE]");
    let id = chunks[0]["id"].clone();
    for chunk in &chunks {
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert_eq!(chunk["id"], id, "every chunk has the completion's id");
        assert_eq!(chunk["model"], NOVA_LITE);
        assert!(chunk.get("usage").is_none(), "no usage without include_usage: {chunk}");
    }
    assert_eq!(
        chunks[0]["choices"][0]["delta"]["role"], "assistant",
        "the first chunk has the role"
    );
    assert!(chunks[1..].iter().all(|c| c["choices"][0]["delta"].get("role").is_none()));
    let content: String =
        chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(content, whole["choices"][0]["message"]["content"].as_str().expect("content"));
    let finishes: Vec<&Value> =
        chunks.iter().map(|c| &c["choices"][0]["finish_reason"]).filter(|f| !f.is_null()).collect();
    assert_eq!(finishes, [&json!("stop")], "exactly one finish chunk");
    assert_eq!(chunks.last().expect("chunks")["choices"][0]["finish_reason"], "stop");
}

#[tokio::test]
async fn openai_stream_with_include_usage_ends_with_a_usage_chunk() {
    let api = TestApi::default().await;
    let whole = api.post("/v1/chat/completions", &office_chat("fast")).await.json();
    let mut body = streamed(office_chat("fast"));
    body["stream_options"] = json!({"include_usage": true});
    let (chunks, done) = openai_chunks(&api.post("/v1/chat/completions", &body).await.sse_data());
    assert!(done);
    let (last, earlier) = chunks.split_last().expect("chunks");
    assert_eq!(last["choices"], json!([]), "the usage chunk has no choices");
    assert_eq!(last["usage"], whole["usage"], "the same usage as the non-streamed answer");
    assert!(earlier.iter().all(|c| c["usage"].is_null()), "earlier chunks carry usage: null");
    assert_eq!(earlier.last().expect("finish")["choices"][0]["finish_reason"], "stop");
}

#[tokio::test]
async fn a_tool_call_streams_as_openai_tool_call_deltas() {
    let api = TestApi::default().await;
    let body = json!({
        "model": HAIKU_PROFILE,
        "stream": true,
        "messages": [{"role": "user", "content": WEATHER_QUESTION}],
        "tools": [weather_tool()]
    });
    let (chunks, done) = openai_chunks(&api.post("/v1/chat/completions", &body).await.sse_data());
    assert!(done);
    let calls: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].as_array())
        .flatten()
        .collect();
    let first = calls.first().expect("tool call deltas");
    assert_eq!(first["index"], 0);
    assert_eq!(first["type"], "function");
    assert_eq!(first["function"]["name"], "get_weather");
    assert!(first["id"].as_str().is_some_and(|id| !id.is_empty()));
    let arguments: String =
        calls.iter().filter_map(|c| c["function"]["arguments"].as_str()).collect();
    let arguments: Value = serde_json::from_str(&arguments).expect("fragments join to JSON");
    assert_eq!(arguments, json!({"city": "Paris"}));
    let finish = chunks.iter().find_map(|c| c["choices"][0]["finish_reason"].as_str());
    assert_eq!(finish, Some("tool_calls"));
}

#[tokio::test]
async fn a_native_tool_call_streams_and_folds_to_a_tool_use_block() {
    let api = TestApi::default().await;
    let body = json!({
        "model": "haiku",
        "stream": true,
        "messages": [{"role": "user", "content": WEATHER_QUESTION}],
        "tools": [{
            "name": "get_weather",
            "description": "The current weather in a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
        }]
    });
    let (events, done) = native_events(&api.post("/v1/invoke", &body).await.sse_data());
    assert!(done);
    let folded = collect_events(&events);
    assert_eq!(folded.stop_reason, quarry::chat::StopReason::ToolUse);
    let tool_use = folded
        .content
        .iter()
        .find_map(|b| match b {
            quarry::chat::ContentBlock::ToolUse { name, input, .. } => Some((name, input)),
            _ => None,
        })
        .expect("a tool use block");
    assert_eq!(tool_use, (&"get_weather".to_owned(), &json!({"city": "Paris"})));
}

#[tokio::test]
async fn an_openai_stream_cut_by_the_endpoint_ends_with_an_error_event_and_no_done() {
    let api = TestApi::default().await;
    // A dropped connection, and Bedrock's modelStreamErrorException mid-answer.
    for (cut, code) in [("abort", "connection"), ("exception", "model_stream_error")] {
        api.faults(&format!("cut_stream_after=3,cut_stream_with={cut}"));
        let answer = api.post("/v1/chat/completions", &streamed(office_chat("fast"))).await;
        answer.expect_status(200); // the stream had started: the status was already sent
        let data = answer.sse_data();
        let (chunks, done) = openai_chunks(&data);
        assert!(!done, "a broken stream must not claim it finished ({cut}): {data:?}");
        let (last, earlier) = chunks.split_last().expect("events");
        let error = &last["error"];
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{cut}: {last}");
        assert_eq!(error["type"], "server_error", "{cut}: {last}");
        assert_eq!(error["code"], code, "{cut}: {last}");
        assert!(!earlier.is_empty(), "what came before the cut was delivered ({cut})");
        assert!(earlier.iter().all(|c| c["object"] == "chat.completion.chunk"));
        assert!(
            earlier.iter().all(|c| c["choices"][0]["finish_reason"].is_null()),
            "no finish reason was invented ({cut})"
        );
    }
}

#[tokio::test]
async fn a_native_stream_cut_by_the_endpoint_ends_with_an_error_event_and_no_done() {
    let api = TestApi::default().await;
    api.faults("cut_stream_after=3,cut_stream_with=exception");
    let answer = api.post("/v1/invoke", &streamed(office_invoke(None))).await;
    let events = answer.sse_events();
    let last = events.last().expect("events");
    assert_eq!(last.name.as_deref(), Some("error"), "{events:?}");
    let error: Value = serde_json::from_str(&last.data).expect("an error body");
    assert!(error["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{error}");
    assert!(events.iter().all(|e| e.data != "[DONE]"), "{events:?}");
}
