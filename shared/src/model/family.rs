//! Provider families: which native InvokeModel body format (or embedding body) a model speaks.

use serde::{Deserialize, Serialize};

/// A family of models that share one native request/response format on InvokeModel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// Anthropic Claude, Messages API (`anthropic_version: bedrock-2023-05-31`).
    Anthropic,
    /// Amazon Nova understanding models (`schemaVersion: messages-v1`).
    AmazonNova,
    /// Amazon Titan Text (`inputText` + `textGenerationConfig`).
    AmazonTitanText,
    /// Amazon Titan Text Embeddings v1/v2.
    AmazonTitanEmbed,
    /// Meta Llama 3.x / 4 (prompt string with Llama 3 header tokens).
    Meta,
    /// Mistral AI (`[INST]` prompt, or the chat-completion body for Mistral Large 2407).
    Mistral,
    /// Cohere Command R / R+ (`message` + `chat_history`).
    CohereCommand,
    /// Cohere Embed v3 / v4.
    CohereEmbed,
    /// AI21 Labs Jamba (OpenAI-style `messages`).
    Ai21,
    /// DeepSeek R1 (prompt string).
    #[serde(rename = "deepseek")]
    DeepSeek,
    /// OpenAI gpt-oss (chat-completion body).
    #[serde(rename = "openai")]
    OpenAi,
}

impl Family {
    /// Every family, in a stable order.
    pub const ALL: [Family; 11] = [
        Family::Anthropic,
        Family::AmazonNova,
        Family::AmazonTitanText,
        Family::AmazonTitanEmbed,
        Family::Meta,
        Family::Mistral,
        Family::CohereCommand,
        Family::CohereEmbed,
        Family::Ai21,
        Family::DeepSeek,
        Family::OpenAi,
    ];

    /// The family's name as quarry writes it (`amazon-nova`, `cohere-embed`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Anthropic => "anthropic",
            Family::AmazonNova => "amazon-nova",
            Family::AmazonTitanText => "amazon-titan-text",
            Family::AmazonTitanEmbed => "amazon-titan-embed",
            Family::Meta => "meta",
            Family::Mistral => "mistral",
            Family::CohereCommand => "cohere-command",
            Family::CohereEmbed => "cohere-embed",
            Family::Ai21 => "ai21",
            Family::DeepSeek => "deepseek",
            Family::OpenAi => "openai",
        }
    }

    /// True for embedding families (they have no chat adapter).
    pub fn is_embedding(self) -> bool {
        matches!(self, Family::AmazonTitanEmbed | Family::CohereEmbed)
    }

    /// The family of a base model id such as `anthropic.claude-3-5-sonnet-20240620-v1:0`
    /// (no inference-profile prefix, no ARN). `None` when quarry has no native adapter for it.
    pub fn of_base_model(base_model_id: &str) -> Option<Family> {
        let (provider, name) = base_model_id.split_once('.')?;
        let family = match provider {
            "anthropic" => Family::Anthropic,
            "amazon" if name.starts_with("nova-") && !is_non_chat_nova(name) => Family::AmazonNova,
            "amazon" if name.starts_with("titan-embed") => Family::AmazonTitanEmbed,
            "amazon" if name.starts_with("titan-text") || name.starts_with("titan-tg1") => {
                Family::AmazonTitanText
            }
            "meta" if name.starts_with("llama3") || name.starts_with("llama4") => Family::Meta,
            "mistral" => Family::Mistral,
            "cohere" if name.starts_with("command-r") => Family::CohereCommand,
            "cohere" if name.starts_with("embed-") => Family::CohereEmbed,
            "ai21" if name.starts_with("jamba") => Family::Ai21,
            "deepseek" if name.starts_with("r1") => Family::DeepSeek,
            "openai" if name.starts_with("gpt-oss") => Family::OpenAi,
            _ => return None,
        };
        Some(family)
    }
}

/// Why a model has no native adapter family; each message points to the Converse API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FamilyError {
    /// quarry has no native InvokeModel adapter for this model.
    #[error(
        "quarry has no native adapter for model `{model}`; call it through the Converse API instead (set \"api\": \"converse\")"
    )]
    NoNativeAdapter { model: String },
    /// The id names no base model (application inference profile, provisioned model, …).
    #[error(
        "the model behind `{model}` cannot be known from its id (a {kind} ARN names no base model); call it through the Converse API instead (set \"api\": \"converse\")"
    )]
    Opaque { model: String, kind: &'static str },
}

/// Nova models that are not text-understanding models (image, video, speech, embeddings).
fn is_non_chat_nova(name: &str) -> bool {
    ["nova-canvas", "nova-reel", "nova-sonic", "nova-2-sonic", "nova-2-multimodal-embeddings"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_of_documented_model_ids() {
        let cases = [
            ("anthropic.claude-3-5-sonnet-20240620-v1:0", Family::Anthropic),
            ("anthropic.claude-sonnet-4-20250514-v1:0", Family::Anthropic),
            ("amazon.nova-pro-v1:0", Family::AmazonNova),
            ("amazon.nova-micro-v1:0", Family::AmazonNova),
            ("amazon.titan-text-express-v1", Family::AmazonTitanText),
            ("amazon.titan-text-premier-v1:0", Family::AmazonTitanText),
            ("amazon.titan-embed-text-v2:0", Family::AmazonTitanEmbed),
            ("amazon.titan-embed-text-v1", Family::AmazonTitanEmbed),
            ("meta.llama3-1-70b-instruct-v1:0", Family::Meta),
            ("meta.llama4-scout-17b-instruct-v1:0", Family::Meta),
            ("mistral.mistral-7b-instruct-v0:2", Family::Mistral),
            ("mistral.mistral-large-2407-v1:0", Family::Mistral),
            ("cohere.command-r-plus-v1:0", Family::CohereCommand),
            ("cohere.embed-english-v3", Family::CohereEmbed),
            ("cohere.embed-v4:0", Family::CohereEmbed),
            ("ai21.jamba-1-5-large-v1:0", Family::Ai21),
            ("deepseek.r1-v1:0", Family::DeepSeek),
            ("openai.gpt-oss-120b-1:0", Family::OpenAi),
        ];
        for (id, family) in cases {
            assert_eq!(Family::of_base_model(id), Some(family), "{id}");
        }
    }

    #[test]
    fn models_without_a_native_chat_adapter_have_no_family() {
        for id in [
            "amazon.nova-canvas-v1:0",
            "amazon.nova-reel-v1:0",
            "stability.sd3-5-large-v1:0",
            "meta.llama2-13b-chat-v1",
            "writer.palmyra-x5-v1:0",
            "no-dot-here",
        ] {
            assert_eq!(Family::of_base_model(id), None, "{id}");
        }
    }

    #[test]
    fn family_names_round_trip_through_serde() {
        for family in Family::ALL {
            let json = serde_json::to_string(&family).expect("serialize");
            assert_eq!(json, format!("\"{}\"", family.as_str()));
            let back: Family = serde_json::from_str(&json).expect("deserialize");
            assert_eq!(back, family);
        }
    }
}
