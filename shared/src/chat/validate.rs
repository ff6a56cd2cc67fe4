//! Request validation: the checks Bedrock would fail a [`ChatRequest`] on, made before the call
//! so the caller gets a precise error naming the field (`messages[2].content[0]`).
//!
//! The limits come from the Bedrock API reference: `Message` (at most 20 images of 3.75 MB and 5
//! documents of 4.5 MB, images and documents only in user messages, a document needs a text block
//! beside it), `DocumentBlock` (the name's characters, 1–200 long), `InferenceConfiguration`
//! (`maxTokens` ≥ 1, at most 2500 stop sequences of at least one character) and each family's
//! inference-parameter page (temperature 0–1, except AI21 Jamba and OpenAI gpt-oss: 0–2).
//! MB is taken as MiB (3.75 MB = 3 932 160 bytes), the most Bedrock can mean. Redacted reasoning
//! is what a model returned, to be sent back as it was: only in assistant messages, never empty.

use std::collections::{HashMap, HashSet};

use super::types::{ChatRequest, ContentBlock, Role, SystemBlock, ToolResultContent};
use crate::model::Family;

/// Why a request would be refused. Each message starts with the path of the field at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChatError {
    #[error("messages: expected at least one message, got none")]
    NoMessages,
    #[error("messages[0].role: the first message must be from the user, not the assistant")]
    FirstMessageNotUser,
    #[error(
        "messages[{index}].role: roles must alternate between user and assistant, but messages[{}] is also from the {}",
        index - 1,
        role.as_str()
    )]
    RolesDoNotAlternate { index: usize, role: Role },
    #[error(
        "messages[{index}].role: the last message must be from the user (this model takes no assistant prefill)"
    )]
    LastMessageNotUser { index: usize },
    #[error("messages[{index}].content: expected at least one content block, got none")]
    EmptyContent { index: usize },
    #[error("{path}: text must not be empty")]
    EmptyText { path: String },
    #[error(
        "{path}.data: redacted reasoning needs the opaque data the model returned, but it is empty"
    )]
    EmptyRedactedReasoning { path: String },
    #[error("{path}: {block} blocks belong in {expected} messages")]
    BlockInWrongRole { path: String, block: &'static str, expected: &'static str },
    #[error("{path}: a tool_use needs a non-empty id and name")]
    IncompleteToolUse { path: String },
    #[error(
        "{path}: tool_result answers tool_use id `{id}`, but no earlier assistant message has a tool_use with that id"
    )]
    UnknownToolUseId { path: String, id: String },
    #[error("{path}: tool_use and tool_result blocks need the request's `tools`, which is empty")]
    ToolBlocksWithoutTools { path: String },
    #[error("tool_choice: names the tool `{name}`, which is not in tools")]
    UnknownToolChoice { name: String },
    #[error("tool_choice: is set, but tools is empty")]
    ToolChoiceWithoutTools,
    #[error("tools[{index}].name: expected a non-empty name")]
    EmptyToolName { index: usize },
    #[error("tools[{index}].name: `{name}` is already the name of tools[{first}]")]
    DuplicateToolName { index: usize, first: usize, name: String },
    #[error("temperature: expected a value from 0 to {max}, got {value}")]
    TemperatureOutOfRange { value: f32, max: f32 },
    #[error("top_p: expected a value from 0 to 1, got {value}")]
    TopPOutOfRange { value: f32 },
    #[error("top_k: this model does not accept top_k")]
    TopKNotAccepted,
    #[error("max_tokens: expected at least 1, got 0")]
    MaxTokensZero,
    #[error("max_tokens: expected at most {max} for this model, got {value}")]
    MaxTokensTooLarge { value: u32, max: u32 },
    #[error("stop_sequences: expected at most {max} stop sequences, got {count}")]
    TooManyStopSequences { count: usize, max: usize },
    #[error("stop_sequences[{index}]: a stop sequence must not be empty")]
    EmptyStopSequence { index: usize },
    #[error("{path}: the image is {size} bytes; Bedrock accepts at most {max} bytes")]
    ImageTooLarge { path: String, size: usize, max: usize },
    #[error("{path}: the document is {size} bytes; Bedrock accepts at most {max} bytes")]
    DocumentTooLarge { path: String, size: usize, max: usize },
    #[error("messages: expected at most {max} images in a request, got {count}")]
    TooManyImages { count: usize, max: usize },
    #[error("messages: expected at most {max} documents in a request, got {count}")]
    TooManyDocuments { count: usize, max: usize },
    #[error("{path}.name: the document name `{name}` {reason}")]
    InvalidDocumentName { path: String, name: String, reason: &'static str },
    #[error("messages[{index}].content: a message with a document must also have a text block")]
    DocumentWithoutText { index: usize },
}

/// 3.75 MB (as MiB): the largest image a Converse message takes.
pub const MAX_IMAGE_BYTES: usize = 3_932_160;
/// 4.5 MB (as MiB): the largest document a Converse message takes.
pub const MAX_DOCUMENT_BYTES: usize = 4_718_592;

/// What a model accepts. Start from [`ValidationRules::converse`], [`ValidationRules::for_family`]
/// or [`ValidationRules::for_native`] and adjust fields (e.g. `max_tokens` from the catalog).
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationRules {
    /// Roles must alternate user / assistant (Converse, Anthropic, Nova, Mistral).
    pub require_alternation: bool,
    /// The last message may be from the assistant (a prefill the model continues).
    pub allow_assistant_prefill: bool,
    /// A tool_use or tool_result block needs `tools` in the same request (Converse, Anthropic).
    pub tool_blocks_need_tools: bool,
    /// The highest temperature accepted (the lowest is 0).
    pub max_temperature: f32,
    /// Whether `top_k` is accepted at all.
    pub accepts_top_k: bool,
    /// The model's output-token limit, when known (from the catalog).
    pub max_tokens: Option<u32>,
    /// The most stop sequences accepted.
    pub max_stop_sequences: usize,
    /// The most images in one request (message blocks and tool results together).
    pub max_images: usize,
    /// The largest image, in bytes.
    pub max_image_bytes: usize,
    /// The most documents in one request.
    pub max_documents: usize,
    /// The largest document, in bytes.
    pub max_document_bytes: usize,
}

impl Default for ValidationRules {
    fn default() -> Self {
        Self::converse()
    }
}

impl ValidationRules {
    /// The Converse API's own rules, for a model quarry knows nothing more about.
    pub fn converse() -> Self {
        ValidationRules {
            require_alternation: true,
            allow_assistant_prefill: false,
            tool_blocks_need_tools: true,
            max_temperature: 1.0,
            accepts_top_k: true,
            max_tokens: None,
            max_stop_sequences: 2500,
            max_images: 20,
            max_image_bytes: MAX_IMAGE_BYTES,
            max_documents: 5,
            max_document_bytes: MAX_DOCUMENT_BYTES,
        }
    }

    /// The rules for calling a model of `family` through Converse (quarry's default API):
    /// Converse's rules plus the family's parameter ranges, prefill and stop-sequence limits.
    pub fn for_family(family: Family) -> Self {
        let mut rules = Self::converse();
        rules.max_temperature = family_max_temperature(family);
        rules.accepts_top_k = family_accepts_top_k(family);
        rules.allow_assistant_prefill = matches!(family, Family::Anthropic | Family::AmazonNova);
        rules.max_stop_sequences = match family {
            Family::Mistral => 10,
            Family::CohereCommand => 5,
            _ => rules.max_stop_sequences,
        };
        rules
    }

    /// The rules for a family's native InvokeModel body: like [`ValidationRules::for_family`],
    /// but alternation and tool definitions are only required where the family's format needs them.
    pub fn for_native(family: Family) -> Self {
        let mut rules = Self::for_family(family);
        rules.require_alternation =
            matches!(family, Family::Anthropic | Family::AmazonNova | Family::Mistral);
        rules.tool_blocks_need_tools = family == Family::Anthropic;
        rules
    }
}

/// Temperature ranges from each family's inference-parameter page: AI21 Jamba and OpenAI gpt-oss
/// take 0–2, every other family 0–1.
fn family_max_temperature(family: Family) -> f32 {
    match family {
        Family::Ai21 | Family::OpenAi => 2.0,
        _ => 1.0,
    }
}

/// Families whose models take a top-k parameter (Anthropic `top_k`, Nova `topK`, Mistral
/// `top_k`, Cohere `k`). Meta Llama, Titan Text, AI21 Jamba, DeepSeek and gpt-oss have none.
fn family_accepts_top_k(family: Family) -> bool {
    matches!(
        family,
        Family::Anthropic | Family::AmazonNova | Family::Mistral | Family::CohereCommand
    )
}

impl ChatRequest {
    /// Checks the request against `rules` and returns the first problem, checking in this order:
    /// messages (roles, then each block), tools, then the inference parameters.
    pub fn validate(&self, rules: &ValidationRules) -> Result<(), ChatError> {
        self.validate_messages(rules)?;
        for (i, block) in self.system.iter().enumerate() {
            if let SystemBlock::Text { text } = block
                && text.is_empty()
            {
                return Err(ChatError::EmptyText { path: format!("system[{i}]") });
            }
        }
        self.validate_tools()?;
        self.validate_parameters(rules)
    }

    fn validate_messages(&self, rules: &ValidationRules) -> Result<(), ChatError> {
        let first = self.messages.first().ok_or(ChatError::NoMessages)?;
        if first.role != Role::User {
            return Err(ChatError::FirstMessageNotUser);
        }
        let mut tool_use_ids = HashSet::new();
        let (mut images, mut documents) = (0usize, 0usize);
        for (index, message) in self.messages.iter().enumerate() {
            if index > 0
                && rules.require_alternation
                && self.messages[index - 1].role == message.role
            {
                return Err(ChatError::RolesDoNotAlternate { index, role: message.role });
            }
            if message.content.is_empty() {
                return Err(ChatError::EmptyContent { index });
            }
            let mut has_document = false;
            for (j, block) in message.content.iter().enumerate() {
                let path = format!("messages[{index}].content[{j}]");
                match block {
                    ContentBlock::Text { text } if text.is_empty() => {
                        return Err(ChatError::EmptyText { path });
                    }
                    ContentBlock::Text { .. }
                    | ContentBlock::Reasoning { .. }
                    | ContentBlock::CachePoint => {}
                    ContentBlock::RedactedReasoning { data } => {
                        only_from(message.role, Role::Assistant, &path, "redacted_reasoning")?;
                        if data.is_empty() {
                            return Err(ChatError::EmptyRedactedReasoning { path });
                        }
                    }
                    ContentBlock::Image { data, .. } => {
                        only_from(message.role, Role::User, &path, "image")?;
                        images += 1;
                        check_image(data.0.len(), &path, rules)?;
                    }
                    ContentBlock::Document { name, data, .. } => {
                        only_from(message.role, Role::User, &path, "document")?;
                        documents += 1;
                        has_document = true;
                        check_document_name(name, &path)?;
                        if data.0.len() > rules.max_document_bytes {
                            return Err(ChatError::DocumentTooLarge {
                                path,
                                size: data.0.len(),
                                max: rules.max_document_bytes,
                            });
                        }
                    }
                    ContentBlock::ToolUse { id, name, .. } => {
                        only_from(message.role, Role::Assistant, &path, "tool_use")?;
                        if id.is_empty() || name.is_empty() {
                            return Err(ChatError::IncompleteToolUse { path });
                        }
                        if rules.tool_blocks_need_tools && self.tools.is_empty() {
                            return Err(ChatError::ToolBlocksWithoutTools { path });
                        }
                        tool_use_ids.insert(id.as_str());
                    }
                    ContentBlock::ToolResult { tool_use_id, content, .. } => {
                        only_from(message.role, Role::User, &path, "tool_result")?;
                        if rules.tool_blocks_need_tools && self.tools.is_empty() {
                            return Err(ChatError::ToolBlocksWithoutTools { path });
                        }
                        if !tool_use_ids.contains(tool_use_id.as_str()) {
                            return Err(ChatError::UnknownToolUseId {
                                path,
                                id: tool_use_id.clone(),
                            });
                        }
                        for (k, item) in content.iter().enumerate() {
                            let item_path = format!("{path}.content[{k}]");
                            match item {
                                ToolResultContent::Text { text } if text.is_empty() => {
                                    return Err(ChatError::EmptyText { path: item_path });
                                }
                                ToolResultContent::Image { data, .. } => {
                                    images += 1;
                                    check_image(data.0.len(), &item_path, rules)?;
                                }
                                ToolResultContent::Text { .. } | ToolResultContent::Json { .. } => {
                                }
                            }
                        }
                    }
                }
            }
            if has_document
                && !message.content.iter().any(|b| matches!(b, ContentBlock::Text { .. }))
            {
                return Err(ChatError::DocumentWithoutText { index });
            }
        }
        if images > rules.max_images {
            return Err(ChatError::TooManyImages { count: images, max: rules.max_images });
        }
        if documents > rules.max_documents {
            return Err(ChatError::TooManyDocuments { count: documents, max: rules.max_documents });
        }
        let last = self.messages.len() - 1;
        if self.messages[last].role == Role::Assistant && !rules.allow_assistant_prefill {
            return Err(ChatError::LastMessageNotUser { index: last });
        }
        Ok(())
    }

    fn validate_tools(&self) -> Result<(), ChatError> {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (index, tool) in self.tools.iter().enumerate() {
            if tool.name.is_empty() {
                return Err(ChatError::EmptyToolName { index });
            }
            if let Some(&first) = seen.get(tool.name.as_str()) {
                return Err(ChatError::DuplicateToolName { index, first, name: tool.name.clone() });
            }
            seen.insert(&tool.name, index);
        }
        match &self.tool_choice {
            Some(_) if self.tools.is_empty() => Err(ChatError::ToolChoiceWithoutTools),
            Some(super::types::ToolChoice::Tool { name }) if !seen.contains_key(name.as_str()) => {
                Err(ChatError::UnknownToolChoice { name: name.clone() })
            }
            _ => Ok(()),
        }
    }

    fn validate_parameters(&self, rules: &ValidationRules) -> Result<(), ChatError> {
        if let Some(value) = self.temperature
            && !(0.0..=rules.max_temperature).contains(&value)
        {
            return Err(ChatError::TemperatureOutOfRange { value, max: rules.max_temperature });
        }
        if let Some(value) = self.top_p
            && !(0.0..=1.0).contains(&value)
        {
            return Err(ChatError::TopPOutOfRange { value });
        }
        if self.top_k.is_some() && !rules.accepts_top_k {
            return Err(ChatError::TopKNotAccepted);
        }
        match (self.max_tokens, rules.max_tokens) {
            (Some(0), _) => return Err(ChatError::MaxTokensZero),
            (Some(value), Some(max)) if value > max => {
                return Err(ChatError::MaxTokensTooLarge { value, max });
            }
            _ => {}
        }
        if self.stop_sequences.len() > rules.max_stop_sequences {
            return Err(ChatError::TooManyStopSequences {
                count: self.stop_sequences.len(),
                max: rules.max_stop_sequences,
            });
        }
        if let Some(index) = self.stop_sequences.iter().position(String::is_empty) {
            return Err(ChatError::EmptyStopSequence { index });
        }
        Ok(())
    }
}

fn only_from(role: Role, expected: Role, path: &str, block: &'static str) -> Result<(), ChatError> {
    if role == expected {
        Ok(())
    } else {
        Err(ChatError::BlockInWrongRole {
            path: path.to_owned(),
            block,
            expected: expected.as_str(),
        })
    }
}

fn check_image(size: usize, path: &str, rules: &ValidationRules) -> Result<(), ChatError> {
    if size > rules.max_image_bytes {
        return Err(ChatError::ImageTooLarge {
            path: path.to_owned(),
            size,
            max: rules.max_image_bytes,
        });
    }
    Ok(())
}

/// Bedrock's `DocumentBlock.name`: 1–200 characters, only alphanumerics, single whitespace
/// characters, hyphens, parentheses and square brackets. Alphanumerics are taken as ASCII: the
/// reference does not say whether other scripts pass, so quarry does not promise it.
fn check_document_name(name: &str, path: &str) -> Result<(), ChatError> {
    let invalid = |reason| ChatError::InvalidDocumentName {
        path: path.to_owned(),
        name: name.to_owned(),
        reason,
    };
    let length = name.chars().count();
    if length == 0 {
        return Err(invalid("is empty; expected 1 to 200 characters"));
    }
    if length > 200 {
        return Err(invalid("is longer than 200 characters"));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || c.is_whitespace() || "-()[]".contains(c);
    if !name.chars().all(allowed) {
        return Err(invalid(
            "has a character Bedrock rejects; use only ASCII letters and digits, single spaces, hyphens, parentheses and square brackets",
        ));
    }
    if name.chars().zip(name.chars().skip(1)).any(|(a, b)| a.is_whitespace() && b.is_whitespace()) {
        return Err(invalid("has more than one whitespace character in a row"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::chat::converse::tests::{REDACTED_DATA, every_block_request};
    use crate::chat::types::{
        Base64Bytes, DocumentFormat, ImageFormat, Message, ToolChoice, ToolSpec,
    };

    fn converse() -> ValidationRules {
        ValidationRules::converse()
    }

    /// The message of the error `request` fails `rules` with.
    fn error(request: &ChatRequest, rules: &ValidationRules) -> String {
        request.validate(rules).expect_err("the request is invalid").to_string()
    }

    fn image(size: usize) -> ContentBlock {
        ContentBlock::Image { format: ImageFormat::Png, data: Base64Bytes(vec![0; size]) }
    }

    fn document(name: &str, size: usize) -> ContentBlock {
        ContentBlock::Document {
            format: DocumentFormat::Pdf,
            name: name.into(),
            data: Base64Bytes(vec![0; size]),
        }
    }

    fn user(content: Vec<ContentBlock>) -> Message {
        Message { role: Role::User, content }
    }

    fn tool(name: &str) -> ToolSpec {
        ToolSpec { name: name.into(), description: None, input_schema: json!({ "type": "object" }) }
    }

    #[test]
    fn a_request_using_every_block_type_is_valid_for_converse_and_each_chat_family() {
        let request = every_block_request();
        request.validate(&converse()).expect("valid for Converse");
        request
            .validate(&ValidationRules::for_family(Family::Anthropic))
            .expect("valid for Claude");
        request.validate(&ValidationRules::for_family(Family::AmazonNova)).expect("valid for Nova");
        ChatRequest::from_user_text("Hi")
            .validate(&ValidationRules::for_family(Family::Meta))
            .expect("a plain question is valid for every family");
    }

    #[test]
    fn the_conversation_must_start_with_the_user_and_not_be_empty() {
        let empty = ChatRequest::default();
        assert_eq!(error(&empty, &converse()), "messages: expected at least one message, got none");
        let assistant_first = ChatRequest { messages: vec![Message::assistant("Hi")], ..empty };
        assert_eq!(
            error(&assistant_first, &converse()),
            "messages[0].role: the first message must be from the user, not the assistant"
        );
    }

    #[test]
    fn roles_alternate_where_the_api_requires_it() {
        let request = ChatRequest {
            messages: vec![Message::user("Hi"), Message::user("Anyone there?")],
            ..ChatRequest::default()
        };
        assert_eq!(
            error(&request, &ValidationRules::for_family(Family::Meta)),
            "messages[1].role: roles must alternate between user and assistant, but messages[0] is also from the user"
        );
        assert_eq!(
            error(&request, &ValidationRules::for_native(Family::Anthropic)),
            "messages[1].role: roles must alternate between user and assistant, but messages[0] is also from the user"
        );
        request
            .validate(&ValidationRules::for_native(Family::Meta))
            .expect("Llama's native prompt takes consecutive user turns");
    }

    #[test]
    fn the_last_message_is_from_the_user_unless_the_model_takes_a_prefill() {
        let request = ChatRequest {
            messages: vec![Message::user("Write a haiku."), Message::assistant("Autumn")],
            ..ChatRequest::default()
        };
        request.validate(&ValidationRules::for_family(Family::Anthropic)).expect("Claude prefill");
        request.validate(&ValidationRules::for_family(Family::AmazonNova)).expect("Nova prefill");
        assert_eq!(
            error(&request, &ValidationRules::for_family(Family::Mistral)),
            "messages[1].role: the last message must be from the user (this model takes no assistant prefill)"
        );
    }

    #[test]
    fn empty_content_and_empty_text_are_named_by_path() {
        let mut request = ChatRequest::from_user_text("Hi");
        request.messages[0].content.clear();
        assert_eq!(
            error(&request, &converse()),
            "messages[0].content: expected at least one content block, got none"
        );

        let mut request = every_block_request();
        request.messages[2].content[3] = ContentBlock::text("");
        assert_eq!(error(&request, &converse()), "messages[2].content[3]: text must not be empty");

        let mut request = every_block_request();
        request.system[0] = SystemBlock::Text { text: String::new() };
        assert_eq!(error(&request, &converse()), "system[0]: text must not be empty");

        let mut request = every_block_request();
        let ContentBlock::ToolResult { content, .. } = &mut request.messages[2].content[0] else {
            panic!("the fixture's first block of message 2 is a tool result")
        };
        content[0] = ToolResultContent::Text { text: String::new() };
        assert_eq!(
            error(&request, &converse()),
            "messages[2].content[0].content[0]: text must not be empty"
        );
    }

    #[test]
    fn a_tool_result_must_answer_an_earlier_tool_use() {
        let mut request = every_block_request();
        let ContentBlock::ToolResult { tool_use_id, .. } = &mut request.messages[2].content[1]
        else {
            panic!("the fixture's second block of message 2 is a tool result")
        };
        *tool_use_id = "tooluse_unknown".into();
        assert_eq!(
            error(&request, &converse()),
            "messages[2].content[1]: tool_result answers tool_use id `tooluse_unknown`, but no earlier assistant message has a tool_use with that id"
        );
    }

    #[test]
    fn blocks_belong_to_the_role_that_sends_them() {
        let mut request = every_block_request();
        request.messages[1].content.push(image(10));
        assert_eq!(
            error(&request, &converse()),
            "messages[1].content[4]: image blocks belong in user messages"
        );
        let mut request = every_block_request();
        request.messages[0].content.push(ContentBlock::ToolUse {
            id: "t1".into(),
            name: "top_song".into(),
            input: json!({}),
        });
        assert_eq!(
            error(&request, &converse()),
            "messages[0].content[4]: tool_use blocks belong in assistant messages"
        );
    }

    #[test]
    fn redacted_reasoning_is_the_assistants_and_carries_its_data() {
        let mut request = every_block_request();
        request.messages[0]
            .content
            .push(ContentBlock::RedactedReasoning { data: REDACTED_DATA.into() });
        assert_eq!(
            error(&request, &converse()),
            "messages[0].content[4]: redacted_reasoning blocks belong in assistant messages"
        );

        let mut request = every_block_request();
        request.messages[1].content[1] = ContentBlock::RedactedReasoning { data: String::new() };
        assert_eq!(
            error(&request, &ValidationRules::for_native(Family::Anthropic)),
            "messages[1].content[1].data: redacted reasoning needs the opaque data the model returned, but it is empty"
        );
    }

    #[test]
    fn tool_blocks_need_tool_definitions_where_the_api_requires_them() {
        let mut request = every_block_request();
        request.tools.clear();
        request.tool_choice = None;
        assert_eq!(
            error(&request, &converse()),
            "messages[1].content[3]: tool_use and tool_result blocks need the request's `tools`, which is empty"
        );
        request.validate(&ValidationRules::for_native(Family::AmazonNova)).expect(
            "a native body without tool definitions is the adapter's concern, not Bedrock's",
        );
    }

    #[test]
    fn tool_choice_and_tool_names_are_checked() {
        let mut request = every_block_request();
        request.tool_choice = Some(ToolChoice::Tool { name: "weather".into() });
        assert_eq!(
            error(&request, &converse()),
            "tool_choice: names the tool `weather`, which is not in tools"
        );

        let request =
            ChatRequest { tool_choice: Some(ToolChoice::Any), ..ChatRequest::from_user_text("Hi") };
        assert_eq!(error(&request, &converse()), "tool_choice: is set, but tools is empty");

        let mut request = every_block_request();
        request.tools.push(tool("top_song"));
        assert_eq!(
            error(&request, &converse()),
            "tools[2].name: `top_song` is already the name of tools[0]"
        );

        let mut request = every_block_request();
        request.tools[1].name.clear();
        assert_eq!(error(&request, &converse()), "tools[1].name: expected a non-empty name");
    }

    #[test]
    fn temperature_follows_the_family_range() {
        let request = ChatRequest { temperature: Some(1.5), ..ChatRequest::from_user_text("Hi") };
        request.validate(&ValidationRules::for_family(Family::Ai21)).expect("Jamba takes 0–2");
        request.validate(&ValidationRules::for_family(Family::OpenAi)).expect("gpt-oss takes 0–2");
        assert_eq!(
            error(&request, &ValidationRules::for_family(Family::Anthropic)),
            "temperature: expected a value from 0 to 1, got 1.5"
        );
        let negative = ChatRequest { temperature: Some(-0.1), ..ChatRequest::from_user_text("Hi") };
        assert_eq!(
            error(&negative, &ValidationRules::for_family(Family::Ai21)),
            "temperature: expected a value from 0 to 2, got -0.1"
        );
    }

    #[test]
    fn top_p_top_k_and_max_tokens_are_checked() {
        let request = ChatRequest { top_p: Some(1.01), ..ChatRequest::from_user_text("Hi") };
        assert_eq!(error(&request, &converse()), "top_p: expected a value from 0 to 1, got 1.01");

        let request = ChatRequest { top_k: Some(50), ..ChatRequest::from_user_text("Hi") };
        assert_eq!(
            error(&request, &ValidationRules::for_family(Family::Meta)),
            "top_k: this model does not accept top_k"
        );
        request.validate(&ValidationRules::for_family(Family::CohereCommand)).expect("Cohere's k");

        let request = ChatRequest { max_tokens: Some(0), ..ChatRequest::from_user_text("Hi") };
        assert_eq!(error(&request, &converse()), "max_tokens: expected at least 1, got 0");

        let request = ChatRequest { max_tokens: Some(8192), ..ChatRequest::from_user_text("Hi") };
        let rules = ValidationRules { max_tokens: Some(4096), ..converse() };
        assert_eq!(
            error(&request, &rules),
            "max_tokens: expected at most 4096 for this model, got 8192"
        );
        request.validate(&converse()).expect("no known limit, no check");
    }

    #[test]
    fn stop_sequences_are_counted_and_must_not_be_empty() {
        let request = ChatRequest {
            stop_sequences: (0..11).map(|i| format!("stop{i}")).collect(),
            ..ChatRequest::from_user_text("Hi")
        };
        assert_eq!(
            error(&request, &ValidationRules::for_family(Family::Mistral)),
            "stop_sequences: expected at most 10 stop sequences, got 11"
        );
        request
            .validate(&ValidationRules::for_family(Family::Anthropic))
            .expect("Converse takes 2500");

        let request = ChatRequest {
            stop_sequences: vec!["END".into(), String::new()],
            ..ChatRequest::from_user_text("Hi")
        };
        assert_eq!(
            error(&request, &converse()),
            "stop_sequences[1]: a stop sequence must not be empty"
        );
    }

    #[test]
    fn images_are_limited_in_size_and_number() {
        let at_limit = ChatRequest {
            messages: vec![user(vec![ContentBlock::text("What is this?"), image(MAX_IMAGE_BYTES)])],
            ..ChatRequest::default()
        };
        at_limit.validate(&converse()).expect("exactly 3.75 MB is accepted");
        let over = ChatRequest {
            messages: vec![user(vec![
                ContentBlock::text("What is this?"),
                image(MAX_IMAGE_BYTES + 1),
            ])],
            ..ChatRequest::default()
        };
        assert_eq!(
            error(&over, &converse()),
            "messages[0].content[1]: the image is 3932161 bytes; Bedrock accepts at most 3932160 bytes"
        );

        let mut content = vec![ContentBlock::text("Compare these.")];
        content.extend((0..21).map(|_| image(16)));
        let many = ChatRequest { messages: vec![user(content)], ..ChatRequest::default() };
        assert_eq!(
            error(&many, &converse()),
            "messages: expected at most 20 images in a request, got 21"
        );
    }

    #[test]
    fn documents_are_limited_in_size_and_number_and_need_text_beside_them() {
        let over = ChatRequest {
            messages: vec![user(vec![
                ContentBlock::text("Summarise."),
                document("Report", MAX_DOCUMENT_BYTES + 1),
            ])],
            ..ChatRequest::default()
        };
        assert_eq!(
            error(&over, &converse()),
            "messages[0].content[1]: the document is 4718593 bytes; Bedrock accepts at most 4718592 bytes"
        );

        let mut content = vec![ContentBlock::text("Compare these.")];
        content.extend((0..6).map(|i| document(&format!("Report {i}"), 16)));
        let many = ChatRequest { messages: vec![user(content)], ..ChatRequest::default() };
        assert_eq!(
            error(&many, &converse()),
            "messages: expected at most 5 documents in a request, got 6"
        );

        let alone = ChatRequest {
            messages: vec![user(vec![document("Report", 16)])],
            ..ChatRequest::default()
        };
        assert_eq!(
            error(&alone, &converse()),
            "messages[0].content: a message with a document must also have a text block"
        );
    }

    #[test]
    fn document_names_use_only_the_characters_bedrock_accepts() {
        let named = |name: &str| ChatRequest {
            messages: vec![user(vec![ContentBlock::text("Summarise."), document(name, 16)])],
            ..ChatRequest::default()
        };
        named("Q3 report (draft) [v2]-final").validate(&converse()).expect("allowed characters");
        assert_eq!(
            error(&named("report_v2.pdf"), &converse()),
            "messages[0].content[1].name: the document name `report_v2.pdf` has a character Bedrock rejects; use only ASCII letters and digits, single spaces, hyphens, parentheses and square brackets"
        );
        assert_eq!(
            error(&named("Q3  report"), &converse()),
            "messages[0].content[1].name: the document name `Q3  report` has more than one whitespace character in a row"
        );
        assert_eq!(
            error(&named(""), &converse()),
            "messages[0].content[1].name: the document name `` is empty; expected 1 to 200 characters"
        );
        let long = "a".repeat(201);
        assert_eq!(
            error(&named(&long), &converse()),
            format!(
                "messages[0].content[1].name: the document name `{long}` is longer than 200 characters"
            )
        );
    }

    #[test]
    fn a_tool_use_needs_an_id_and_a_name() {
        let mut request = every_block_request();
        let ContentBlock::ToolUse { id, .. } = &mut request.messages[1].content[3] else {
            panic!("the fixture's fourth block of message 1 is a tool use")
        };
        id.clear();
        assert_eq!(
            error(&request, &converse()),
            "messages[1].content[3]: a tool_use needs a non-empty id and name"
        );
    }

    #[test]
    fn rules_for_each_family_differ_only_where_the_family_does() {
        assert_eq!(ValidationRules::default(), ValidationRules::converse());
        let anthropic = ValidationRules::for_family(Family::Anthropic);
        assert!(anthropic.require_alternation && anthropic.allow_assistant_prefill);
        let meta_native = ValidationRules::for_native(Family::Meta);
        assert!(!meta_native.require_alternation && !meta_native.accepts_top_k);
        assert_eq!(ValidationRules::for_family(Family::CohereCommand).max_stop_sequences, 5);
    }
}
