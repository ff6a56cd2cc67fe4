//! No input may make quarry panic or answer a 500 of its own: a table of hostile bodies through
//! every POST route, each answered with a 4xx JSON error before anything reaches Bedrock.

mod common;

use common::*;

/// `depth` nested arrays around `inner`.
fn nested(depth: usize, inner: &str) -> String {
    format!("{}{inner}{}", "[".repeat(depth), "]".repeat(depth))
}

fn hostile_bodies() -> Vec<(&'static str, Vec<u8>)> {
    let deep = nested(10_000, "1");
    let deep_objects = format!("{}1{}", r#"{"a":"#.repeat(5_000), "}".repeat(5_000));
    vec![
        ("empty", Vec::new()),
        ("whitespace", b"  \n\t ".to_vec()),
        ("null", b"null".to_vec()),
        ("an array", b"[]".to_vec()),
        ("a string", br#""hello""#.to_vec()),
        ("a number", b"42".to_vec()),
        ("true", b"true".to_vec()),
        ("an empty object", b"{}".to_vec()),
        ("two documents", br#"{"messages": []} {"messages": []}"#.to_vec()),
        ("cut short", br#"{"messages": [{"role": "user", "content": "hi"#.to_vec()),
        ("a number too big for f64", br#"{"model": "fast", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1e400, "input": "x", "models": ["fast"]}"#.to_vec()),
        ("a count over u32", br#"{"model": "fast", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 99999999999999999999999, "input": "x", "dimensions": 18446744073709551616, "models": ["fast"]}"#.to_vec()),
        ("a negative count", br#"{"model": "fast", "messages": [{"role": "user", "content": "hi"}], "max_tokens": -5, "input": "x", "dimensions": -256, "models": ["fast"]}"#.to_vec()),
        ("a temperature beyond f32", br#"{"model": "fast", "messages": [{"role": "user", "content": "hi"}], "temperature": 1e39, "top_p": -1e300, "input": ["x"], "dimensions": 1e39, "models": ["fast"]}"#.to_vec()),
        ("deeply nested arrays", format!(r#"{{"model": "fast", "messages": {deep}, "input": {deep}, "models": {deep}}}"#).into_bytes()),
        ("deeply nested objects in free-form JSON", format!(r#"{{"model": "fast", "messages": [{{"role": "user", "content": "hi"}}], "tools": [{{"name": "t", "input_schema": {deep_objects}, "type": "function", "function": {{"name": "t", "parameters": {deep_objects}}}}}], "input": {deep_objects}, "models": ["fast"]}}"#).into_bytes()),
        ("wrong types everywhere", br#"{"model": 1, "messages": {"role": "user"}, "stream": "yes", "temperature": [], "max_tokens": {}, "tools": "all", "api": 3, "input": {"text": 1}, "encoding_format": 7, "models": "fast", "prompt": false, "stream_options": [], "n": "1"}"#.to_vec()),
        ("null everywhere", br#"{"model": null, "messages": null, "input": null, "models": null, "prompt": null}"#.to_vec()),
        ("a message of the wrong shape", br#"{"model": "fast", "messages": [42, null, "hi"], "input": [null], "models": [null]}"#.to_vec()),
        ("invalid UTF-8 in a string", b"{\"model\": \"fast\", \"messages\": [{\"role\": \"user\", \"content\": \"\xff\xfe\xc3\x28\"}], \"input\": \"\xff\", \"models\": [\"fast\"], \"prompt\": \"\xc3\x28\"}".to_vec()),
        ("invalid UTF-8 throughout", vec![0xff, 0xfe, 0xfd, 0x00, 0x80, 0xc3, 0x28]),
        ("a lone surrogate escape", br#"{"model": "fast", "messages": [{"role": "user", "content": "\ud800"}], "input": "\udfff", "models": ["fast"], "prompt": "\ud800"}"#.to_vec()),
        ("a content block of an unknown type", br#"{"model": "fast", "messages": [{"role": "user", "content": [{"type": "hologram"}]}], "input": [[1, 2]], "models": ["fast"], "prompt": "hi", "system": 5}"#.to_vec()),
        ("bad base64 image bytes", br#"{"model": "fast", "messages": [{"role": "user", "content": [{"type": "image", "format": "png", "data": "!!!"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,!!!"}}]}], "input": "", "models": ["fast", "fast"], "prompt": ""}"#.to_vec()),
        ("streaming an empty conversation", br#"{"model": "fast", "stream": true, "messages": [], "input": [], "models": [], "prompt": "hi"}"#.to_vec()),
    ]
}

#[tokio::test]
async fn hostile_bodies_get_a_4xx_json_error_on_every_post_route() {
    let api = TestApi::default().await;
    for path in ["/v1/invoke", "/v1/chat/completions", "/v1/embeddings", "/v1/compare"] {
        for (name, body) in hostile_bodies() {
            let answer = api.send(post_bytes(path, body)).await;
            assert!(
                answer.status.is_client_error(),
                "{path} with {name}: expected a 4xx, got {} {}",
                answer.status,
                answer.text()
            );
            answer.error(answer.status.as_u16());
        }
    }
    assert_eq!(api.bedrock_calls(), 0, "nothing hostile reached Bedrock");
    // The Router is unharmed.
    api.post("/v1/invoke", &office_invoke(None)).await.expect_status(200);
}
