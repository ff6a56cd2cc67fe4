//! Mistral AI on Bedrock: the `[INST]` text-completion body of Mistral 7B Instruct, Mixtral 8x7B,
//! Mistral Large (24.02) and Mistral Small (24.02), and the chat-completion body of Mistral Large 2
//! (24.07) and later Mistral models.
//!
//! Sources: AWS Bedrock user guide, "Mistral AI text completion"
//! (model-parameters-mistral-text-completion): `prompt`, `max_tokens`, `stop`, `temperature`,
//! `top_p`, `top_k`; the answer is `outputs[].text` / `outputs[].stop_reason` (`stop`, `length`).
//! "Mistral AI chat completion" (model-parameters-mistral-chat-completion) and "Mistral AI Large
//! (24.07)" (model-parameters-mistral-large-2407): `messages` (system, user, assistant with
//! `tool_calls`, tool with `tool_call_id`), `tools`, `tool_choice` (`auto`, `any`, `none`),
//! `max_tokens`, `top_p`, `temperature`; the answer is `choices[].message` with `stop_reason`
//! (`stop`, `length`, `tool_calls`).

use serde::{Deserialize, Serialize};

use super::openai::{
    ChatCompletionChunk, ChatCompletionDecoder, ChatCompletionRequest, ChatCompletionResponse,
    ChatDialect, ChatRole, ChatToolChoice, chat_messages, chat_stop_reason, chat_tools,
    parse_chat_completion,
};
use super::wire::{
    EventBuilder, InvocationMetrics, block_feature, invalid_request, invalid_response, parse_body,
    system_text, to_body, unsupported,
};
use super::{AdapterError, NativeAdapter, StreamDecoder};
use super::{check_body_request, json_number};
use crate::chat::{ChatRequest, ChatResponse, ContentBlock, Role, StreamEvent, ToolChoice};
use crate::model::Family;

const FAMILY: Family = Family::Mistral;

/// Base-model id prefixes of the models that take the `[INST]` text-completion body.
pub const TEXT_COMPLETION_MODELS: [&str; 4] = [
    "mistral.mistral-7b-instruct",
    "mistral.mixtral-8x7b-instruct",
    "mistral.mistral-large-2402",
    "mistral.mistral-small-2402",
];

/// True when `base_model_id` takes the `[INST]` text-completion body; every other Mistral model
/// (Mistral Large 2, `mistral.mistral-large-2407-v1:0`, and newer) takes the chat-completion body.
pub fn uses_text_completion(base_model_id: &str) -> bool {
    TEXT_COMPLETION_MODELS.iter().any(|prefix| base_model_id.starts_with(prefix))
}

/// The text-completion request body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MistralTextRequest {
    /// The conversation in Mistral's instruction format: `<s>[INST] … [/INST] …</s> [INST] … [/INST]`.
    pub prompt: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
}

/// The text-completion response body, and the shape of each stream chunk (the last chunk also
/// carries Bedrock's invocation metrics).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MistralTextResponse {
    pub outputs: Vec<MistralOutput>,
    #[serde(
        rename = "amazon-bedrock-invocationMetrics",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub invocation_metrics: Option<InvocationMetrics>,
}

/// One output of a text completion.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MistralOutput {
    #[serde(default)]
    pub text: String,
    /// `stop` or `length`; `null` in stream chunks before the last.
    #[serde(default)]
    pub stop_reason: Option<String>,
}

/// A text-completion stream chunk.
pub type MistralTextChunk = MistralTextResponse;
/// The chat-completion request body (Mistral Large 2).
pub type MistralChatRequest = ChatCompletionRequest;
/// The chat-completion response body (Mistral Large 2).
pub type MistralChatResponse = ChatCompletionResponse;
/// A chat-completion stream chunk (Mistral Large 2).
pub type MistralChatChunk = ChatCompletionChunk;

const CHAT: ChatDialect = ChatDialect {
    family: FAMILY,
    system_role: ChatRole::System,
    typed_tool_calls: false,
    tools: true,
    drop_history_reasoning: false,
    reasoning_tags: false,
};

/// Mistral AI models; the body variant is chosen by base model id ([`uses_text_completion`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct MistralAdapter;

impl NativeAdapter for MistralAdapter {
    fn family(&self) -> Family {
        FAMILY
    }

    fn request_body(
        &self,
        base_model_id: &str,
        request: &ChatRequest,
    ) -> Result<serde_json::Value, AdapterError> {
        check_body_request(FAMILY, request)?;
        if uses_text_completion(base_model_id) {
            to_body(FAMILY, &text_request(base_model_id, request)?)
        } else {
            to_body(FAMILY, &chat_request(base_model_id, request)?)
        }
    }

    fn parse_response(&self, body: &[u8]) -> Result<ChatResponse, AdapterError> {
        match body_kind(body)? {
            BodyKind::Text => {
                let response: MistralTextResponse =
                    parse_body(FAMILY, "the text completion response body", body)?;
                let Some(output) = response.outputs.first() else {
                    return Err(invalid_response(
                        FAMILY,
                        "the response has an empty `outputs` list",
                    ));
                };
                Ok(ChatResponse {
                    content: if output.text.is_empty() {
                        Vec::new()
                    } else {
                        vec![ContentBlock::text(&output.text)]
                    },
                    stop_reason: output
                        .stop_reason
                        .as_deref()
                        .map_or(crate::chat::StopReason::Unknown, chat_stop_reason),
                    usage: Default::default(),
                    latency_ms: None,
                    guardrail: None,
                })
            }
            BodyKind::Chat => parse_chat_completion(&CHAT, body),
        }
    }

    fn stream_decoder(&self) -> Box<dyn StreamDecoder> {
        Box::new(MistralDecoder {
            kind: None,
            text: EventBuilder::default(),
            chat: ChatCompletionDecoder::new(CHAT),
        })
    }
}

/// The `[INST]` body. System text is prepended to the first user turn, as Mistral documents.
fn text_request(
    base_model_id: &str,
    request: &ChatRequest,
) -> Result<MistralTextRequest, AdapterError> {
    let with_model = |feature: &str| {
        unsupported(FAMILY, format!("{feature} with {base_model_id} (a text-completion model)"))
    };
    if !request.tools.is_empty() || request.tool_choice.is_some() {
        return Err(with_model("tools"));
    }
    if request.messages.is_empty() {
        return Err(invalid_request(FAMILY, "the request has no messages"));
    }
    let system = system_text(FAMILY, request)?;
    let mut prompt = String::from("<s>");
    let mut expect = Role::User;
    for (turn, message) in request.messages.iter().enumerate() {
        if message.role != expect {
            return Err(invalid_request(
                FAMILY,
                if turn == 0 {
                    "Mistral [INST] prompts start with a user turn".to_string()
                } else {
                    format!(
                        "Mistral [INST] prompts need user and assistant turns to alternate (turn {turn} is a second {} turn)",
                        message.role.as_str()
                    )
                },
            ));
        }
        let mut texts = Vec::new();
        for block in &message.content {
            match block {
                ContentBlock::Text { text } => texts.push(text.as_str()),
                other => return Err(with_model(block_feature(other))),
            }
        }
        let text = texts.join("\n");
        match message.role {
            Role::User => {
                if turn > 0 {
                    prompt.push(' ');
                }
                prompt.push_str("[INST] ");
                if let (0, Some(system)) = (turn, &system) {
                    prompt.push_str(system);
                    prompt.push_str("\n\n");
                }
                prompt.push_str(&text);
                prompt.push_str(" [/INST]");
                expect = Role::Assistant;
            }
            Role::Assistant => {
                prompt.push(' ');
                prompt.push_str(&text);
                // A closing assistant turn is left open: the model continues it.
                if turn + 1 < request.messages.len() {
                    prompt.push_str("</s>");
                }
                expect = Role::User;
            }
        }
    }
    Ok(MistralTextRequest {
        prompt,
        max_tokens: request.max_tokens,
        stop: request.stop_sequences.clone(),
        temperature: request.temperature.map(json_number),
        top_p: request.top_p.map(json_number),
        top_k: request.top_k,
    })
}

/// The chat-completion body (Mistral Large 2).
fn chat_request(
    base_model_id: &str,
    request: &ChatRequest,
) -> Result<ChatCompletionRequest, AdapterError> {
    let with_model = |feature: &str| {
        unsupported(FAMILY, format!("{feature} with {base_model_id} (a chat-completion model)"))
    };
    if request.top_k.is_some() {
        return Err(with_model("top_k"));
    }
    if !request.stop_sequences.is_empty() {
        return Err(with_model("stop sequences"));
    }
    let tools = chat_tools(&request.tools);
    let tool_choice = match &request.tool_choice {
        None => None,
        Some(_) if tools.is_empty() => {
            return Err(invalid_request(FAMILY, "tool_choice needs at least one tool"));
        }
        Some(ToolChoice::Auto) => Some(ChatToolChoice::Mode("auto".into())),
        Some(ToolChoice::Any) => Some(ChatToolChoice::Mode("any".into())),
        Some(ToolChoice::Tool { .. }) => return Err(with_model("tool_choice naming one tool")),
    };
    Ok(ChatCompletionRequest {
        messages: chat_messages(&CHAT, request)?,
        max_tokens: request.max_tokens,
        temperature: request.temperature.map(json_number),
        top_p: request.top_p.map(json_number),
        tools,
        tool_choice,
        ..ChatCompletionRequest::default()
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    Text,
    Chat,
}

/// Which body variant a response or chunk is, from its top-level key.
fn body_kind(body: &[u8]) -> Result<BodyKind, AdapterError> {
    #[derive(Deserialize)]
    struct Keys {
        outputs: Option<serde::de::IgnoredAny>,
        choices: Option<serde::de::IgnoredAny>,
    }
    let keys: Keys = parse_body(FAMILY, "the Mistral body", body)?;
    match (keys.outputs, keys.choices) {
        (Some(_), _) => Ok(BodyKind::Text),
        (None, Some(_)) => Ok(BodyKind::Chat),
        (None, None) => Err(invalid_response(
            FAMILY,
            "the body has neither `outputs` (text completion) nor `choices` (chat completion)",
        )),
    }
}

/// Decodes either stream variant; the first chunk tells which.
#[derive(Debug)]
struct MistralDecoder {
    kind: Option<BodyKind>,
    text: EventBuilder,
    chat: ChatCompletionDecoder,
}

impl StreamDecoder for MistralDecoder {
    fn decode_chunk(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError> {
        let kind = match body_kind(chunk) {
            Ok(kind) => kind,
            // A chunk with only the metrics belongs to the variant already seen.
            Err(error) => self.kind.ok_or(error)?,
        };
        self.kind = Some(kind);
        if kind == BodyKind::Chat {
            let chunk: ChatCompletionChunk =
                parse_body(FAMILY, "the chat completion stream chunk", chunk)?;
            return self.chat.decode(&chunk);
        }
        let chunk: MistralTextChunk =
            parse_body(FAMILY, "the text completion stream chunk", chunk)?;
        self.text.start();
        if let Some(output) = chunk.outputs.first() {
            self.text.text(&output.text);
            if let Some(reason) = &output.stop_reason {
                self.text.stop(chat_stop_reason(reason));
            }
        }
        if let Some(metrics) = &chunk.invocation_metrics {
            self.text.metrics(metrics);
        }
        Ok(self.text.take())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::chat::{
        Message, StopReason, SystemBlock, ToolResultContent, ToolSpec, Usage, collect_events,
    };

    const MISTRAL_7B: &str = "mistral.mistral-7b-instruct-v0:2";
    const LARGE_2402: &str = "mistral.mistral-large-2402-v1:0";
    const LARGE_2407: &str = "mistral.mistral-large-2407-v1:0";

    fn decode_all(chunks: &[serde_json::Value]) -> Vec<StreamEvent> {
        let mut decoder = MistralAdapter.stream_decoder();
        chunks
            .iter()
            .flat_map(|c| decoder.decode_chunk(c.to_string().as_bytes()).expect("chunk decodes"))
            .collect()
    }

    #[test]
    fn body_variant_follows_the_model_id() {
        for id in [
            MISTRAL_7B,
            "mistral.mixtral-8x7b-instruct-v0:1",
            LARGE_2402,
            "mistral.mistral-small-2402-v1:0",
        ] {
            let body =
                MistralAdapter.request_body(id, &ChatRequest::from_user_text("Hi")).expect("body");
            assert_eq!(body["prompt"], "<s>[INST] Hi [/INST]", "{id}");
            assert!(body.get("messages").is_none(), "{id}");
        }
        let body = MistralAdapter
            .request_body(LARGE_2407, &ChatRequest::from_user_text("Hi"))
            .expect("body");
        assert_eq!(body, json!({"messages": [{"role": "user", "content": "Hi"}]}));
    }

    #[test]
    fn multi_turn_prompt_matches_the_documented_example() {
        // model-parameters-mistral-text-completion, the multi-turn prompt example.
        let request = ChatRequest {
            messages: vec![
                Message::user("What is your favourite condiment?"),
                Message::assistant(
                    "Well, I'm quite partial to a good squeeze of fresh lemon juice. It adds just the right amount of zesty flavour to whatever I'm cooking up in the kitchen!",
                ),
                Message::user("Do you have mayonnaise recipes?"),
            ],
            max_tokens: Some(400),
            temperature: Some(0.7),
            top_p: Some(0.7),
            top_k: Some(50),
            stop_sequences: vec!["</s>".into()],
            ..ChatRequest::default()
        };
        let body = MistralAdapter.request_body(MISTRAL_7B, &request).expect("body");
        assert_eq!(
            body,
            json!({
                "prompt": "<s>[INST] What is your favourite condiment? [/INST] Well, I'm quite partial to a good squeeze of fresh lemon juice. It adds just the right amount of zesty flavour to whatever I'm cooking up in the kitchen!</s> [INST] Do you have mayonnaise recipes? [/INST]",
                "max_tokens": 400,
                "stop": ["</s>"],
                "temperature": 0.7,
                "top_p": 0.7,
                "top_k": 50
            })
        );
    }

    #[test]
    fn system_text_leads_the_first_user_turn_and_a_final_assistant_turn_stays_open() {
        let request = ChatRequest {
            system: vec![SystemBlock::Text { text: "Answer in French.".into() }],
            messages: vec![Message::user("Hello"), Message::assistant("Bonjour,")],
            ..ChatRequest::default()
        };
        let body = MistralAdapter.request_body(LARGE_2402, &request).expect("body");
        assert_eq!(body["prompt"], "<s>[INST] Answer in French.\n\nHello [/INST] Bonjour,");
    }

    #[test]
    fn text_completion_refuses_what_the_prompt_cannot_carry() {
        let mut with_tools = ChatRequest::from_user_text("Weather?");
        with_tools.tools = vec![ToolSpec {
            name: "get_weather".into(),
            description: None,
            input_schema: json!({"type": "object"}),
        }];
        let error = MistralAdapter.request_body(MISTRAL_7B, &with_tools).expect_err("tools");
        assert_eq!(
            error,
            AdapterError::Unsupported {
                family: Family::Mistral,
                feature: format!("tools with {MISTRAL_7B} (a text-completion model)")
            }
        );
        let image = ChatRequest {
            messages: vec![Message {
                role: Role::User,
                content: vec![ContentBlock::Image {
                    format: crate::chat::ImageFormat::Jpeg,
                    data: vec![0xff].into(),
                }],
            }],
            ..ChatRequest::default()
        };
        assert!(matches!(
            MistralAdapter.request_body(MISTRAL_7B, &image),
            Err(AdapterError::Unsupported { feature, .. }) if feature.starts_with("image input")
        ));
        let two_users = ChatRequest {
            messages: vec![Message::user("a"), Message::user("b")],
            ..ChatRequest::default()
        };
        assert!(matches!(
            MistralAdapter.request_body(MISTRAL_7B, &two_users),
            Err(AdapterError::InvalidRequest { reason, .. }) if reason.contains("alternate")
        ));
        let assistant_first =
            ChatRequest { messages: vec![Message::assistant("a")], ..ChatRequest::default() };
        assert!(matches!(
            MistralAdapter.request_body(MISTRAL_7B, &assistant_first),
            Err(AdapterError::InvalidRequest { reason, .. }) if reason.contains("start with a user turn")
        ));
    }

    #[test]
    fn chat_completion_carries_tools_and_tool_results_as_documented() {
        // model-parameters-mistral-chat-completion: an assistant message with `content: ""` and
        // `tool_calls`, then a `tool` message answering it by `tool_call_id`.
        let request = ChatRequest {
            system: vec![SystemBlock::Text { text: "You are a radio assistant.".into() }],
            messages: vec![
                Message::user("What is the most popular song on WZPZ?"),
                Message {
                    role: Role::Assistant,
                    content: vec![ContentBlock::ToolUse {
                        id: "v6RMMiRlT7ygYkT4uULjtg".into(),
                        name: "top_song".into(),
                        input: json!({"sign": "WZPZ"}),
                    }],
                },
                Message {
                    role: Role::User,
                    content: vec![ContentBlock::ToolResult {
                        tool_use_id: "v6RMMiRlT7ygYkT4uULjtg".into(),
                        content: vec![ToolResultContent::Json {
                            json: json!({"song": "Elemental Hotel", "artist": "8 Storey Hike"}),
                        }],
                        status: None,
                    }],
                },
            ],
            max_tokens: Some(512),
            temperature: Some(0.5),
            top_p: Some(0.9),
            tools: vec![ToolSpec {
                name: "top_song".into(),
                description: Some("Get the most popular song played on a radio station.".into()),
                input_schema: json!({
                    "type": "object",
                    "properties": {"sign": {"type": "string", "description": "The call sign for the radio station for which you want the most popular song. Example calls signs are WZPZ and WKRP."}},
                    "required": ["sign"]
                }),
            }],
            tool_choice: Some(ToolChoice::Any),
            ..ChatRequest::default()
        };
        let body = MistralAdapter.request_body(LARGE_2407, &request).expect("body");
        assert_eq!(
            body,
            json!({
                "messages": [
                    {"role": "system", "content": "You are a radio assistant."},
                    {"role": "user", "content": "What is the most popular song on WZPZ?"},
                    {"role": "assistant", "content": "", "tool_calls": [
                        {"id": "v6RMMiRlT7ygYkT4uULjtg", "function": {"name": "top_song", "arguments": "{\"sign\":\"WZPZ\"}"}}
                    ]},
                    {"role": "tool", "tool_call_id": "v6RMMiRlT7ygYkT4uULjtg", "content": "{\"artist\":\"8 Storey Hike\",\"song\":\"Elemental Hotel\"}"}
                ],
                "tools": [{"type": "function", "function": {
                    "name": "top_song",
                    "description": "Get the most popular song played on a radio station.",
                    "parameters": {
                        "type": "object",
                        "properties": {"sign": {"type": "string", "description": "The call sign for the radio station for which you want the most popular song. Example calls signs are WZPZ and WKRP."}},
                        "required": ["sign"]
                    }
                }}],
                "tool_choice": "any",
                "max_tokens": 512,
                "top_p": 0.9,
                "temperature": 0.5
            })
        );
    }

    #[test]
    fn chat_completion_refuses_undocumented_parameters() {
        let mut request = ChatRequest::from_user_text("Hi");
        request.stop_sequences = vec!["END".into()];
        assert_eq!(
            MistralAdapter.request_body(LARGE_2407, &request),
            Err(AdapterError::Unsupported {
                family: Family::Mistral,
                feature: format!("stop sequences with {LARGE_2407} (a chat-completion model)")
            })
        );
        let mut request = ChatRequest::from_user_text("Hi");
        request.top_k = Some(3);
        assert!(matches!(
            MistralAdapter.request_body(LARGE_2407, &request),
            Err(AdapterError::Unsupported { feature, .. }) if feature.starts_with("top_k")
        ));
        let mut request = ChatRequest::from_user_text("Hi");
        request.tools = vec![ToolSpec {
            name: "t".into(),
            description: None,
            input_schema: json!({"type": "object"}),
        }];
        request.tool_choice = Some(ToolChoice::Tool { name: "t".into() });
        assert!(matches!(
            MistralAdapter.request_body(LARGE_2407, &request),
            Err(AdapterError::Unsupported { feature, .. }) if feature.starts_with("tool_choice naming one tool")
        ));
    }

    /// The text-completion response shape of the Mistral page: `outputs[].text`, `stop_reason`.
    fn text_response() -> serde_json::Value {
        json!({"outputs": [{"text": " Yes, here is a simple recipe: whisk 1 egg yolk with 1 tsp mustard, then slowly add 250 ml oil.", "stop_reason": "stop"}]})
    }

    #[test]
    fn text_completion_response_and_stream_agree() {
        let whole =
            MistralAdapter.parse_response(text_response().to_string().as_bytes()).expect("parses");
        assert_eq!(
            whole.text(),
            " Yes, here is a simple recipe: whisk 1 egg yolk with 1 tsp mustard, then slowly add 250 ml oil."
        );
        assert_eq!(whole.stop_reason, StopReason::EndTurn);
        assert_eq!(whole.usage, Usage::default());

        let chunks = [
            json!({"outputs": [{"text": " Yes, here is a simple recipe:", "stop_reason": null}]}),
            json!({"outputs": [{"text": " whisk 1 egg yolk with 1 tsp mustard,", "stop_reason": null}]}),
            json!({"outputs": [{"text": " then slowly add 250 ml oil.", "stop_reason": "stop"}],
                   "amazon-bedrock-invocationMetrics": {"inputTokenCount": 53, "outputTokenCount": 27, "invocationLatency": 903, "firstByteLatency": 198}}),
        ];
        let events = decode_all(&chunks);
        let folded = collect_events(&events);
        assert_eq!(folded.content, whole.content);
        assert_eq!(folded.stop_reason, StopReason::EndTurn);
        assert_eq!(folded.usage, Usage::new(53, 27));
        assert_eq!(folded.latency_ms, Some(903));
        assert!(matches!(events.last(), Some(StreamEvent::Metadata { .. })));

        let cut = json!({"outputs": [{"text": "partial", "stop_reason": "length"}]});
        let cut = MistralAdapter.parse_response(cut.to_string().as_bytes()).expect("parses");
        assert_eq!(cut.stop_reason, StopReason::MaxTokens);
    }

    /// The chat-completion answer of Mistral Large 2 calling the documented `top_song` tool.
    fn chat_tool_response() -> serde_json::Value {
        json!({
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [{"id": "v6RMMiRlT7ygYkT4uULjtg", "function": {"name": "top_song", "arguments": "{\"sign\": \"WZPZ\"}"}}]
                },
                "stop_reason": "tool_calls"
            }]
        })
    }

    #[test]
    fn chat_completion_response_and_stream_agree() {
        let whole = MistralAdapter
            .parse_response(chat_tool_response().to_string().as_bytes())
            .expect("parses");
        assert_eq!(
            whole.content,
            vec![ContentBlock::ToolUse {
                id: "v6RMMiRlT7ygYkT4uULjtg".into(),
                name: "top_song".into(),
                input: json!({"sign": "WZPZ"})
            }]
        );
        assert_eq!(whole.stop_reason, StopReason::ToolUse);

        let answer = json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": "The most popular song on WZPZ is Elemental Hotel by 8 Storey Hike."}, "stop_reason": "stop"}]});
        let answer = MistralAdapter.parse_response(answer.to_string().as_bytes()).expect("parses");
        let chunks = [
            json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": "The most popular song on WZPZ"}, "stop_reason": null}]}),
            json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": " is Elemental Hotel by 8 Storey Hike."}, "stop_reason": "stop"}],
                   "amazon-bedrock-invocationMetrics": {"inputTokenCount": 120, "outputTokenCount": 16, "invocationLatency": 640, "firstByteLatency": 310}}),
        ];
        let folded = collect_events(&decode_all(&chunks));
        assert_eq!(folded.content, answer.content);
        assert_eq!(folded.stop_reason, StopReason::EndTurn);
        assert_eq!(folded.usage, Usage::new(120, 16));

        let tool_chunks = [
            json!({"choices": [{"index": 0, "message": chat_tool_response()["choices"][0]["message"].clone(), "stop_reason": "tool_calls"}]}),
        ];
        let folded = collect_events(&decode_all(&tool_chunks));
        assert_eq!(folded.content, whole.content);
        assert_eq!(folded.stop_reason, StopReason::ToolUse);
    }

    #[test]
    fn malformed_bodies_are_invalid_responses() {
        for body in [
            &b"{"[..],
            b"[]",
            b"{}",
            b"{\"outputs\": []}",
            b"{\"outputs\": [{\"text\": 5}]}",
            b"\x00\x01",
        ] {
            let error = MistralAdapter.parse_response(body).expect_err("malformed");
            assert!(
                matches!(error, AdapterError::InvalidResponse { family: Family::Mistral, .. }),
                "{error}"
            );
        }
        let error = MistralAdapter.parse_response(b"{}").expect_err("no known key");
        assert!(error.to_string().contains("neither `outputs`"), "{error}");
        let mut decoder = MistralAdapter.stream_decoder();
        assert!(decoder.decode_chunk(b"{\"outputs\": \"x\"}").is_err());
        assert!(decoder.decode_chunk(b"not json").is_err());
    }
}
