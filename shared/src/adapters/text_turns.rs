//! A conversation as plain-text turns, for families whose native body is one prompt string
//! (Titan Text, Llama): everything that is not text — images, documents, tools, reasoning
//! (readable or redacted), cache points — is rejected as unsupported rather than dropped.

use crate::adapters::AdapterError;
use crate::chat::{ChatRequest, ContentBlock, Role, SystemBlock};
use crate::model::Family;

/// One turn's text (its text blocks joined with newlines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextTurn {
    pub role: Role,
    pub text: String,
}

/// A request's system text and turns, ready to be formatted into a family's prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextConversation {
    /// The system blocks joined with newlines, `None` when there are none.
    pub system: Option<String>,
    pub turns: Vec<TextTurn>,
}

impl TextConversation {
    /// The text turns of `request`, or `Unsupported` naming the first thing `family` cannot express.
    pub fn from_request(family: Family, request: &ChatRequest) -> Result<Self, AdapterError> {
        let unsupported =
            |feature: &str| AdapterError::Unsupported { family, feature: feature.to_owned() };
        if !request.tools.is_empty() {
            return Err(unsupported("tools"));
        }
        if request.tool_choice.is_some() {
            return Err(unsupported("tool_choice"));
        }
        if request.system.iter().any(|b| matches!(b, SystemBlock::CachePoint)) {
            return Err(unsupported("prompt caching (cache points)"));
        }
        let mut turns = Vec::with_capacity(request.messages.len());
        for message in &request.messages {
            let mut texts = Vec::with_capacity(message.content.len());
            for block in &message.content {
                match block {
                    ContentBlock::Text { text } => texts.push(text.as_str()),
                    ContentBlock::Image { .. } => return Err(unsupported("images")),
                    ContentBlock::Document { .. } => return Err(unsupported("documents")),
                    ContentBlock::ToolUse { .. } | ContentBlock::ToolResult { .. } => {
                        return Err(unsupported("tool use and tool result blocks"));
                    }
                    ContentBlock::Reasoning { .. } => return Err(unsupported("reasoning blocks")),
                    ContentBlock::RedactedReasoning { .. } => {
                        return Err(unsupported("redacted reasoning blocks"));
                    }
                    ContentBlock::CachePoint => {
                        return Err(unsupported("prompt caching (cache points)"));
                    }
                }
            }
            turns.push(TextTurn { role: message.role, text: texts.join("\n") });
        }
        Ok(TextConversation { system: request.system_text(), turns })
    }

    /// True when the last turn is the assistant's: the model continues that text (prefill).
    pub fn ends_with_assistant(&self) -> bool {
        self.turns.last().is_some_and(|turn| turn.role == Role::Assistant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::{ImageFormat, Message, ToolSpec};

    #[test]
    fn text_blocks_of_a_turn_are_joined_and_system_is_kept() {
        let mut request = ChatRequest::from_user_text("first");
        request.messages[0].content.push(ContentBlock::text("second"));
        request.messages.push(Message::assistant("answer"));
        request.system = vec![SystemBlock::Text { text: "be brief".into() }];
        let conversation =
            TextConversation::from_request(Family::Meta, &request).expect("text only");
        assert_eq!(conversation.system.as_deref(), Some("be brief"));
        assert_eq!(conversation.turns[0].text, "first\nsecond");
        assert!(conversation.ends_with_assistant());
    }

    #[test]
    fn non_text_content_is_rejected_naming_the_feature() {
        let mut with_image = ChatRequest::from_user_text("look");
        with_image.messages[0]
            .content
            .push(ContentBlock::Image { format: ImageFormat::Png, data: vec![1, 2].into() });
        let mut with_tools = ChatRequest::from_user_text("weather?");
        with_tools.tools.push(ToolSpec {
            name: "weather".into(),
            description: None,
            input_schema: serde_json::json!({"type": "object"}),
        });
        let mut with_cache = ChatRequest::from_user_text("hi");
        with_cache.system = vec![SystemBlock::Text { text: "s".into() }, SystemBlock::CachePoint];
        let mut with_redacted = ChatRequest::from_user_text("2+2?");
        with_redacted.messages.push(Message {
            role: Role::Assistant,
            content: vec![ContentBlock::RedactedReasoning { data: "AQID".into() }],
        });
        for (request, feature) in [
            (with_image, "images"),
            (with_tools, "tools"),
            (with_cache, "prompt caching (cache points)"),
            (with_redacted, "redacted reasoning blocks"),
        ] {
            let err = TextConversation::from_request(Family::AmazonTitanText, &request)
                .expect_err("unsupported");
            assert_eq!(
                err,
                AdapterError::Unsupported {
                    family: Family::AmazonTitanText,
                    feature: feature.into()
                }
            );
        }
    }
}
