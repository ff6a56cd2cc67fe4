//! OpenAI gpt-oss: the chat-completion body of [`super::chat_completion`]
//! (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-openai.html): `messages`
//! required, `max_completion_tokens` (or `max_tokens`) ≥ 1, `temperature` in 0..=2, `top_p` in
//! 0..=1, function tools. With InvokeModel the model's reasoning comes first in the answer text,
//! inside `<reasoning>` tags; streams send the same text in `choices[0].delta` pieces.

use super::chat_completion::{ChatCompletion, ChunkShape};

/// The gpt-oss dialect for `base_model_id`.
pub fn gpt_oss(base_model_id: &str) -> ChatCompletion {
    ChatCompletion {
        model: base_model_id.to_owned(),
        shape: ChunkShape::Delta,
        max_temperature: 2.0,
        max_output_tokens: None,
        typed_tool_calls: true,
        reasoning_tags: true,
        envelope: true,
        short_tool_ids: false,
    }
}

#[cfg(test)]
mod tests {
    use quarry::adapters::NativeAdapter;
    use quarry::adapters::openai::OpenAiAdapter;
    use quarry::chat::{ChatRequest, ContentBlock, StopReason, SystemBlock, ToolSpec};
    use serde_json::json;

    use super::*;
    use crate::bedrock::native::ChatFormat;
    use crate::bedrock::native::chat::answer;
    use crate::bedrock::native::fold_chunks;

    const GPT_OSS: &str = "openai.gpt-oss-120b-1:0";

    #[test]
    fn the_answer_shows_its_reasoning_in_tags_and_reads_back_whole_and_streamed() {
        let request = ChatRequest {
            system: vec![SystemBlock::Text {
                text: "The office opens at 9am. Parking is free.".into(),
            }],
            ..ChatRequest::from_user_text("When does the office open?")
        };
        let body = OpenAiAdapter.request_body(GPT_OSS, &request).expect("body");
        let format = gpt_oss(GPT_OSS);
        let answer =
            answer(&format.parse(body.to_string().as_bytes()).expect("valid"), format.style());
        let body = format.response_body(&answer).expect("body");
        let content = body["choices"][0]["message"]["content"].as_str().expect("content");
        assert!(content.starts_with("<reasoning>The question is:"), "{content}");
        let parsed = OpenAiAdapter.parse_response(body.to_string().as_bytes()).expect("parses");
        assert_eq!(parsed, answer.response);
        assert!(matches!(parsed.content[0], ContentBlock::Reasoning { .. }));
        let chunks = format.stream_chunks(&answer).expect("chunks");
        let streamed = fold_chunks(&OpenAiAdapter, &chunks);
        assert_eq!(streamed.content, parsed.content);
    }

    #[test]
    fn a_forced_tool_call_reads_back_whole_and_streamed() {
        let mut request = ChatRequest::from_user_text("What is the most popular song on WZPZ?");
        request.tools = vec![ToolSpec {
            name: "top_song".into(),
            description: Some("Get the most popular song played on a radio station.".into()),
            input_schema: json!({"type": "object", "properties": {"sign": {"type": "string"}}, "required": ["sign"]}),
        }];
        request.tool_choice = Some(quarry::chat::ToolChoice::Any);
        let body = OpenAiAdapter.request_body(GPT_OSS, &request).expect("body");
        let format = gpt_oss(GPT_OSS);
        let answer =
            answer(&format.parse(body.to_string().as_bytes()).expect("valid"), format.style());
        let body = format.response_body(&answer).expect("body");
        let parsed = OpenAiAdapter.parse_response(body.to_string().as_bytes()).expect("parses");
        assert_eq!(parsed.stop_reason, StopReason::ToolUse);
        assert!(parsed.content.iter().any(|b| matches!(
            b,
            ContentBlock::ToolUse { name, input, .. } if name == "top_song" && input == &json!({"sign": "WZPZ"})
        )));
        let chunks = format.stream_chunks(&answer).expect("chunks");
        let streamed = fold_chunks(&OpenAiAdapter, &chunks);
        assert_eq!(streamed.content, parsed.content);
    }
}
