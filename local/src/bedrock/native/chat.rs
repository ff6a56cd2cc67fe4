//! The extractive model behind quarry's unified chat types: a [`ChatRequest`] becomes the model's
//! [`Conversation`] and limits, and its [`Generation`] becomes a [`ChatResponse`] and the
//! [`StreamEvent`]s of the same answer. Every chat family's native body goes through here (each
//! family module only translates its wire shapes), and Converse shares the [`ConversationBuilder`].
//!
//! The mapping: the question is the last user turn that has text (its last paragraph); the system
//! prompt, earlier turns, text documents (`txt`, `md`, `html`, `csv`) and tool results are the
//! context; tools and the tool choice become tool offers; `max_tokens` and `stop_sequences` limit
//! the answer. Images, binary documents and earlier reasoning are accepted and not read; sampling
//! parameters have no effect (the model is deterministic).

use base64::Engine;
use quarry::chat::{
    BlockStart, ChatRequest, ChatResponse, ContentBlock, Delta, DocumentFormat, Role, StopReason,
    StreamEvent, SystemBlock, ToolChoice, ToolResultContent, Usage,
};

use crate::models::extractive::{
    Conversation, Finish, Generation, GenerationParams, ToolOffer, count_tokens, generate,
};
use crate::models::{FNV1A_OFFSET_BASIS, fnv1a};

/// Text pieces (tokens) per streamed text delta.
pub const PIECES_PER_DELTA: usize = 3;
/// Characters of tool input JSON per streamed delta.
pub const TOOL_INPUT_CHARS_PER_DELTA: usize = 24;

/// What one block of a turn gives the extractive model.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Text the speaker wrote: in the question turn, (part of) the question.
    Text(String),
    /// Material to answer from (a text document).
    Context(String),
    /// A tool's answer, as the texts of its parts (context, and proof the call was made).
    ToolResult(Vec<String>),
}

/// One turn of a conversation, as parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub role: Role,
    pub parts: Vec<Part>,
}

/// Builds the extractive model's [`Conversation`] from any API's turns (Converse, native bodies).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConversationBuilder {
    /// System prompt texts.
    pub system: Vec<String>,
    pub turns: Vec<Turn>,
    pub tools: Vec<ToolOffer>,
    /// `Some(None)`: some tool must be called; `Some(Some(name))`: that tool.
    pub required_tool: Option<Option<String>>,
}

impl ConversationBuilder {
    /// The conversation: the last user turn with text is the question (its last paragraph; the
    /// paragraphs before it, and its other parts, are context); everything else is context, in
    /// order. A last turn carrying tool results means the model answers from them.
    pub fn build(self) -> Conversation {
        let question_at = self.turns.iter().rposition(|turn| {
            turn.role == Role::User && turn.parts.iter().any(|p| matches!(p, Part::Text(_)))
        });
        let answers_tool_call = self
            .turns
            .last()
            .is_some_and(|turn| turn.parts.iter().any(|p| matches!(p, Part::ToolResult(_))));
        let mut context = self.system;
        let mut question_turn: Vec<String> = Vec::new();
        let mut after_question: Vec<String> = Vec::new();
        for (i, turn) in self.turns.into_iter().enumerate() {
            let target =
                if question_at.is_some_and(|q| i > q) { &mut after_question } else { &mut context };
            for part in turn.parts {
                match part {
                    Part::Text(text) if Some(i) == question_at => question_turn.push(text),
                    Part::Text(text) | Part::Context(text) => target.push(text),
                    Part::ToolResult(texts) => target.extend(texts),
                }
            }
        }
        let mut conversation = Conversation::from_last_turn(context, &question_turn.join("\n\n"));
        conversation.context.extend(after_question);
        conversation.answers_tool_call = answers_tool_call;
        conversation.tools = self.tools;
        conversation.required_tool = self.required_tool;
        conversation
    }
}

/// The extractive model's conversation and limits for a unified request.
pub fn conversation_of(request: &ChatRequest) -> (Conversation, GenerationParams) {
    let system = request
        .system
        .iter()
        .filter_map(|block| match block {
            SystemBlock::Text { text } => Some(text.clone()),
            SystemBlock::CachePoint => None,
        })
        .collect();
    let turns = request
        .messages
        .iter()
        .map(|message| Turn {
            role: message.role,
            parts: message.content.iter().filter_map(part_of).collect(),
        })
        .collect();
    let tools = request
        .tools
        .iter()
        .map(|tool| ToolOffer {
            name: tool.name.clone(),
            description: tool.description.clone().unwrap_or_default(),
            input_schema: tool.input_schema.clone(),
        })
        .collect();
    let required_tool = match &request.tool_choice {
        None | Some(ToolChoice::Auto) => None,
        Some(ToolChoice::Any) => Some(None),
        Some(ToolChoice::Tool { name }) => Some(Some(name.clone())),
    };
    let conversation = ConversationBuilder { system, turns, tools, required_tool }.build();
    let params = GenerationParams {
        max_tokens: request.max_tokens,
        stop_sequences: request.stop_sequences.clone(),
    };
    (conversation, params)
}

/// What a unified content block gives the model (`None` for what it does not read).
fn part_of(block: &ContentBlock) -> Option<Part> {
    match block {
        ContentBlock::Text { text } => Some(Part::Text(text.clone())),
        ContentBlock::Document { format, data, .. } => match format {
            DocumentFormat::Txt
            | DocumentFormat::Md
            | DocumentFormat::Html
            | DocumentFormat::Csv => {
                Some(Part::Context(String::from_utf8_lossy(&data.0).into_owned()))
            }
            _ => None,
        },
        ContentBlock::ToolResult { content, .. } => Some(Part::ToolResult(
            content
                .iter()
                .filter_map(|piece| match piece {
                    ToolResultContent::Text { text } => Some(text.clone()),
                    ToolResultContent::Json { json } => Some(json.to_string()),
                    ToolResultContent::Image { .. } => None,
                })
                .collect(),
        )),
        ContentBlock::Image { .. }
        | ContentBlock::ToolUse { .. }
        | ContentBlock::Reasoning { .. }
        | ContentBlock::RedactedReasoning { .. }
        | ContentBlock::CachePoint => None,
    }
}

/// How a family's answers look beyond the unified shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerStyle {
    /// The model shows its reasoning before the answer (DeepSeek-R1, gpt-oss).
    pub reasoning: bool,
    /// What the family's tool-use ids start with (`toolu_bdrk_`, `tooluse_`, `call_`).
    pub tool_id_prefix: &'static str,
}

impl AnswerStyle {
    /// No reasoning, Bedrock's Converse-style `tooluse_` ids.
    pub const PLAIN: AnswerStyle = AnswerStyle { reasoning: false, tool_id_prefix: "tooluse_" };
}

/// One answer of the model in quarry's unified shapes, ready for a family to write.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatAnswer {
    /// The whole answer (reasoning, text, tool use), its stop reason and usage.
    pub response: ChatResponse,
    /// The same answer as a stream: text in deltas of a few pieces, a tool use as a block start
    /// and input JSON deltas, then the stop and the usage.
    pub events: Vec<StreamEvent>,
    /// The stop sequence that ended the answer, when one did.
    pub stop_sequence: Option<String>,
    /// A stable id of this answer (22 URL-safe characters) families derive their ids from.
    pub id: String,
}

impl ChatAnswer {
    /// The answer text (text blocks only).
    pub fn text(&self) -> String {
        self.response.text()
    }

    /// The reasoning text, when the style shows reasoning.
    pub fn reasoning(&self) -> Option<&str> {
        self.response.content.iter().find_map(|block| match block {
            ContentBlock::Reasoning { text, .. } => Some(text.as_str()),
            _ => None,
        })
    }

    /// The tool call, when the model made one: `(id, name, input)`.
    pub fn tool_use(&self) -> Option<(&str, &str, &serde_json::Value)> {
        self.response.content.iter().find_map(|block| match block {
            ContentBlock::ToolUse { id, name, input } => Some((id.as_str(), name.as_str(), input)),
            _ => None,
        })
    }

    pub fn usage(&self) -> Usage {
        self.response.usage
    }
}

/// Runs the extractive model on `request` and writes its answer in the unified shapes.
pub fn answer(request: &ChatRequest, style: AnswerStyle) -> ChatAnswer {
    let (conversation, params) = conversation_of(request);
    let generation = generate(&conversation, &params);
    from_generation(&conversation, generation, style)
}

/// The unified shapes of one generation.
pub fn from_generation(
    conversation: &Conversation,
    generation: Generation,
    style: AnswerStyle,
) -> ChatAnswer {
    let reasoning = style.reasoning.then(|| reasoning_of(conversation));
    let reasoning_tokens = reasoning.as_deref().map_or(0, count_tokens);
    let usage = Usage::new(
        generation.input_tokens,
        generation.output_tokens().saturating_add(reasoning_tokens),
    );
    let (stop_reason, stop_sequence) = match &generation.finish {
        Finish::EndTurn => (StopReason::EndTurn, None),
        Finish::MaxTokens => (StopReason::MaxTokens, None),
        Finish::StopSequence(stop) => (StopReason::StopSequence, Some(stop.clone())),
        Finish::ToolUse => (StopReason::ToolUse, None),
    };
    let id = stable_id(&format!("{}\u{0}{}", conversation.question, generation.text()));
    let tool_use = generation.tool_call.as_ref().map(|call| ContentBlock::ToolUse {
        id: tool_use_id(style.tool_id_prefix, &call.name, &call.input, &conversation.question),
        name: call.name.clone(),
        input: call.input.clone(),
    });

    let mut content = Vec::new();
    let mut events = vec![StreamEvent::MessageStart { role: Role::Assistant }];
    let mut index = 0;
    if let Some(reasoning) = &reasoning {
        content.push(ContentBlock::Reasoning { text: reasoning.clone(), signature: None });
        let words: Vec<&str> = reasoning.split_inclusive(' ').collect();
        for chunk in words.chunks(PIECES_PER_DELTA) {
            let delta = Delta::Reasoning { text: chunk.concat() };
            events.push(StreamEvent::ContentBlockDelta { index, delta });
        }
        events.push(StreamEvent::ContentBlockStop { index });
        index += 1;
    }
    if !generation.pieces.is_empty() {
        content.push(ContentBlock::text(generation.text()));
        for chunk in generation.pieces.chunks(PIECES_PER_DELTA) {
            let delta = Delta::Text { text: chunk.concat() };
            events.push(StreamEvent::ContentBlockDelta { index, delta });
        }
        events.push(StreamEvent::ContentBlockStop { index });
        index += 1;
    }
    if let Some(ContentBlock::ToolUse { id, name, input }) = &tool_use {
        events.push(StreamEvent::ContentBlockStart {
            index,
            start: BlockStart::ToolUse { id: id.clone(), name: name.clone() },
        });
        let json: Vec<char> = input.to_string().chars().collect();
        for chunk in json.chunks(TOOL_INPUT_CHARS_PER_DELTA) {
            let delta = Delta::ToolInput { json: chunk.iter().collect() };
            events.push(StreamEvent::ContentBlockDelta { index, delta });
        }
        events.push(StreamEvent::ContentBlockStop { index });
    }
    content.extend(tool_use);
    events.push(StreamEvent::MessageStop { stop_reason });
    events.push(StreamEvent::Metadata { usage, latency_ms: None });
    let response = ChatResponse { content, stop_reason, usage, latency_ms: None, guardrail: None };
    ChatAnswer { response, events, stop_sequence, id }
}

/// What a reasoning model shows before its answer: how the extractive model works it out.
fn reasoning_of(conversation: &Conversation) -> String {
    let question = conversation.question.split_whitespace().collect::<Vec<_>>().join(" ");
    let sources = conversation.context.len();
    let passages = if sources == 1 { "passage" } else { "passages" };
    format!(
        "The question is: {question} I rank the sentences of the {sources} context {passages} by the words they share with it and quote the best ones."
    )
}

/// A deterministic id of `seed`: 22 URL-safe characters (two FNV-1a hashes).
pub fn stable_id(seed: &str) -> String {
    let mut bytes = fnv1a(FNV1A_OFFSET_BASIS, seed.as_bytes()).to_be_bytes().to_vec();
    bytes.extend(fnv1a(0x8422_2325_cbf2_9ce4, seed.as_bytes()).to_be_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A deterministic tool-use id: `prefix` and the [`stable_id`] of the call and its question.
pub fn tool_use_id(prefix: &str, name: &str, input: &serde_json::Value, question: &str) -> String {
    format!("{prefix}{}", stable_id(&format!("{name}\u{0}{input}\u{0}{question}")))
}

#[cfg(test)]
mod tests {
    use quarry::chat::{Message, ToolSpec, collect_events};
    use serde_json::json;

    use super::*;

    const OFFICE: &str = "The office opens at 9am. Parking is free for visitors. The cafeteria serves lunch from noon.";

    fn office_request() -> ChatRequest {
        ChatRequest {
            system: vec![SystemBlock::Text { text: OFFICE.into() }],
            ..ChatRequest::from_user_text("When does the office open?")
        }
    }

    fn weather_tool() -> ToolSpec {
        ToolSpec {
            name: "get_weather".into(),
            description: Some("Current weather for a city".into()),
            input_schema: json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        }
    }

    #[test]
    fn system_and_earlier_turns_are_context_and_the_last_user_text_is_the_question() {
        let mut request = office_request();
        request.messages.insert(0, Message::user("Hi"));
        request.messages.insert(1, Message::assistant("Hello!"));
        let (conversation, params) = conversation_of(&request);
        assert_eq!(conversation.question, "When does the office open?");
        assert_eq!(conversation.context, [OFFICE, "Hi", "Hello!"]);
        assert_eq!(params, GenerationParams::default());
    }

    #[test]
    fn text_documents_are_context_and_binary_ones_are_not_read() {
        let mut request = ChatRequest::from_user_text("When does the pool open?");
        request.messages[0].content.insert(
            0,
            ContentBlock::Document {
                format: DocumentFormat::Md,
                name: "hours".into(),
                data: b"The pool opens in June.".to_vec().into(),
            },
        );
        request.messages[0].content.insert(
            1,
            ContentBlock::Document {
                format: DocumentFormat::Pdf,
                name: "scan".into(),
                data: b"%PDF-".to_vec().into(),
            },
        );
        let (conversation, _) = conversation_of(&request);
        assert_eq!(conversation.context, ["The pool opens in June."]);
        assert!(answer(&request, AnswerStyle::PLAIN).text().contains("The pool opens in June."));
    }

    #[test]
    fn limits_and_tool_choice_reach_the_model() {
        let mut request = ChatRequest::from_user_text("Weather in Paris?");
        request.max_tokens = Some(5);
        request.stop_sequences = vec!["END".into()];
        request.tools = vec![weather_tool()];
        request.tool_choice = Some(ToolChoice::Tool { name: "get_weather".into() });
        let (conversation, params) = conversation_of(&request);
        assert_eq!(
            params,
            GenerationParams { max_tokens: Some(5), stop_sequences: vec!["END".into()] }
        );
        assert_eq!(conversation.required_tool, Some(Some("get_weather".into())));
        assert_eq!(conversation.tools[0].input_schema, weather_tool().input_schema);
    }

    #[test]
    fn the_answer_quotes_the_context_and_its_stream_folds_to_the_same_response() {
        let answer = answer(&office_request(), AnswerStyle::PLAIN);
        assert!(answer.text().contains("The office opens at 9am."), "{}", answer.text());
        assert!(!answer.text().contains("Parking"));
        assert_eq!(answer.response.stop_reason, StopReason::EndTurn);
        assert_eq!(answer.response.usage.output_tokens, count_tokens(&answer.text()));
        let deltas = answer
            .events
            .iter()
            .filter(|e| matches!(e, StreamEvent::ContentBlockDelta { .. }))
            .count();
        assert!(deltas > 1, "text arrives in several deltas");
        assert_eq!(collect_events(&answer.events), answer.response);
    }

    #[test]
    fn a_tool_call_streams_as_a_block_start_and_input_deltas_and_folds_back() {
        let mut request = ChatRequest::from_user_text("What is the weather in Paris today?");
        request.tools = vec![weather_tool()];
        let answer = answer(&request, AnswerStyle { reasoning: false, tool_id_prefix: "call_" });
        let (id, name, input) = answer.tool_use().expect("a tool call");
        assert!(id.starts_with("call_") && id.len() == 27, "{id}");
        assert_eq!((name, input), ("get_weather", &json!({"city": "Paris"})));
        assert_eq!(answer.response.stop_reason, StopReason::ToolUse);
        assert!(answer.events.iter().any(|e| matches!(
            e,
            StreamEvent::ContentBlockStart { start: BlockStart::ToolUse { .. }, .. }
        )));
        assert_eq!(collect_events(&answer.events), answer.response);
    }

    #[test]
    fn a_last_turn_of_tool_results_is_answered_from_them() {
        let mut request = ChatRequest::from_user_text("What is the weather in Paris today?");
        request.tools = vec![weather_tool()];
        request.messages.push(Message {
            role: Role::Assistant,
            content: vec![ContentBlock::ToolUse {
                id: "call_1".into(),
                name: "get_weather".into(),
                input: json!({"city": "Paris"}),
            }],
        });
        request.messages.push(Message {
            role: Role::User,
            content: vec![ContentBlock::ToolResult {
                tool_use_id: "call_1".into(),
                content: vec![ToolResultContent::Json {
                    json: json!({"forecast": "Sunny weather, 24 degrees."}),
                }],
                status: None,
            }],
        });
        let (conversation, _) = conversation_of(&request);
        assert!(conversation.answers_tool_call);
        assert_eq!(conversation.question, "What is the weather in Paris today?");
        let answer = answer(&request, AnswerStyle::PLAIN);
        assert!(answer.tool_use().is_none());
        assert!(answer.text().contains("24 degrees"), "{}", answer.text());
    }

    #[test]
    fn reasoning_models_show_their_reasoning_first_and_count_it_as_output() {
        let plain = answer(&office_request(), AnswerStyle::PLAIN);
        let reasoned =
            answer(&office_request(), AnswerStyle { reasoning: true, tool_id_prefix: "call_" });
        let reasoning = reasoned.reasoning().expect("reasoning");
        assert!(reasoning.contains("When does the office open?"), "{reasoning}");
        assert!(matches!(reasoned.response.content[0], ContentBlock::Reasoning { .. }));
        assert_eq!(reasoned.text(), plain.text());
        assert_eq!(
            reasoned.usage().output_tokens,
            plain.usage().output_tokens + count_tokens(reasoning)
        );
        assert_eq!(collect_events(&reasoned.events), reasoned.response);
    }

    #[test]
    fn a_stop_sequence_is_reported_with_the_answer() {
        let mut request = office_request();
        request.stop_sequences = vec!["9am".into()];
        let answer = answer(&request, AnswerStyle::PLAIN);
        assert_eq!(answer.response.stop_reason, StopReason::StopSequence);
        assert_eq!(answer.stop_sequence.as_deref(), Some("9am"));
        assert!(!answer.text().contains("9am"));
    }

    #[test]
    fn ids_are_stable_and_shaped_like_bedrocks() {
        let a = tool_use_id("tooluse_", "top_song", &json!({"sign": "WZPZ"}), "q");
        assert_eq!(a, tool_use_id("tooluse_", "top_song", &json!({"sign": "WZPZ"}), "q"));
        assert_ne!(a, tool_use_id("tooluse_", "top_song", &json!({"sign": "WKRP"}), "q"));
        assert_eq!(a.len(), "tooluse_".len() + 22);
    }
}
