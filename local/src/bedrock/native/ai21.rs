//! AI21 Labs Jamba: the chat-completion body of [`super::chat_completion`]
//! (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-jamba.html): `messages`
//! required, `max_tokens` in 1..=4,096, `temperature` in 0..=2, `top_p` in 0..=1, `n` in 1..=16
//! (the local model gives one answer whatever `n` asks). Answers carry `id`, `model`, `usage` and
//! `finish_reason`; stream chunks `choices[0].delta`.

use super::chat_completion::{ChatCompletion, ChunkShape};

/// The Jamba dialect for `base_model_id`.
pub fn jamba(base_model_id: &str) -> ChatCompletion {
    ChatCompletion {
        model: base_model_id.to_owned(),
        shape: ChunkShape::Delta,
        max_temperature: 2.0,
        max_output_tokens: Some(4_096),
        typed_tool_calls: true,
        reasoning_tags: false,
        envelope: true,
        short_tool_ids: false,
    }
}

#[cfg(test)]
mod tests {
    use quarry::adapters::NativeAdapter;
    use quarry::adapters::ai21::Ai21Adapter;
    use quarry::chat::{ChatRequest, SystemBlock};
    use serde_json::json;

    use super::*;
    use crate::bedrock::native::ChatFormat;
    use crate::bedrock::native::chat::answer;
    use crate::bedrock::native::fold_chunks;

    const MINI: &str = "ai21.jamba-1-5-mini-v1:0";

    #[test]
    fn the_body_quarry_writes_is_answered_and_reads_back_whole_and_streamed() {
        let request = ChatRequest {
            system: vec![SystemBlock::Text {
                text: "The office opens at 9am. Parking is free.".into(),
            }],
            ..ChatRequest::from_user_text("When does the office open?")
        };
        let body = Ai21Adapter.request_body(MINI, &request).expect("body");
        let format = jamba(MINI);
        let answer =
            answer(&format.parse(body.to_string().as_bytes()).expect("valid"), format.style());
        let body = format.response_body(&answer).expect("body");
        assert_eq!(body["model"], MINI);
        assert_eq!(body["choices"][0]["finish_reason"], "stop");
        let parsed = Ai21Adapter.parse_response(body.to_string().as_bytes()).expect("parses");
        assert_eq!(parsed, answer.response);
        let chunks = format.stream_chunks(&answer).expect("chunks");
        let streamed = fold_chunks(&Ai21Adapter, &chunks);
        assert_eq!(streamed.text(), answer.text());
    }

    #[test]
    fn bodies_bedrock_rejects_are_validation_exceptions() {
        let format = jamba(MINI);
        for (body, expected) in [
            (json!({"prompt": "hi"}), "#: required key [messages] not found"),
            (
                json!({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5000}),
                "#/max_tokens: 5000 is not less or equal to 4096",
            ),
            (
                json!({"messages": [{"role": "user", "content": "hi"}], "temperature": 2.5}),
                "#/temperature: 2.5 is not less or equal to 2",
            ),
            (
                json!({"messages": [{"role": "user", "content": "hi"}], "n": 17}),
                "#/n: 17 is not less or equal to 16",
            ),
        ] {
            let error = format.parse(body.to_string().as_bytes()).expect_err("rejected");
            assert!(error.message.contains(expected), "{body}: {}", error.message);
        }
    }
}
