//! Token budgets: estimated token counts per provider family, context windows per model, and how
//! many tokens a prompt has left for retrieved sources.
//!
//! quarry ships no tokenizer (each family has its own vocabulary, and the Lambda must stay small),
//! so counts are *estimates* from a characters-per-token ratio, chosen to err on the side of more
//! tokens: a budget built from them leaves headroom instead of overflowing the model's window.
//!
//! | Family | chars/token | Basis |
//! |---|---|---|
//! | Anthropic | 3.5 | Anthropic's guidance that a Claude token is about 3.5 English characters |
//! | DeepSeek | 3.3 | DeepSeek's token-usage page: 1 English character ≈ 0.3 token |
//! | Mistral, AI21 (Jamba) | 3.5 | smaller SentencePiece vocabularies (32k–64k) split English finer than 100k+ BPE vocabularies |
//! | Titan Text, Titan Embed, Cohere | 3.8 | no published figure; between the small- and large-vocabulary tokenizers |
//! | Nova, Llama 3/4, gpt-oss | 4.0 | the usual "1 token ≈ 4 English characters" of large (100k+) BPE vocabularies |
//!
//! Characters outside ASCII (accented letters, CJK, emoji) count one token each: CJK text costs
//! about 0.6–1 token per character (DeepSeek's page gives 0.6), so this over-counts, which is the
//! safe side for a budget. Exact counts come back in every response's usage.

use crate::model::{Family, ModelId};

/// Tokens added per message (and for the system prompt) for role and turn markup.
pub const MESSAGE_OVERHEAD_TOKENS: u32 = 8;

/// Average English characters per token for a family's tokenizer (see the module table).
pub fn chars_per_token(family: Family) -> f32 {
    match family {
        Family::Anthropic => 3.5,
        Family::DeepSeek => 3.3,
        Family::Mistral | Family::Ai21 => 3.5,
        Family::AmazonTitanText
        | Family::AmazonTitanEmbed
        | Family::CohereCommand
        | Family::CohereEmbed => 3.8,
        Family::AmazonNova | Family::Meta | Family::OpenAi => 4.0,
    }
}

/// Estimated number of tokens `text` costs with `family`'s tokenizer (rounded up; 0 for "").
pub fn estimate_tokens(family: Family, text: &str) -> u32 {
    let ascii = text.bytes().filter(u8::is_ascii).count();
    let other = text.chars().filter(|c| !c.is_ascii()).count();
    let tokens = (ascii as f64 / f64::from(chars_per_token(family))).ceil() + other as f64;
    // `as` saturates: a text beyond u32::MAX tokens reads as u32::MAX.
    tokens as u32
}

/// The context window (input + output tokens) of a family's smallest current chat model: the safe
/// default when the exact model is unknown. Embedding families: the longest input they embed.
pub fn family_context_window(family: Family) -> u32 {
    match family {
        Family::Anthropic => 200_000,
        Family::AmazonNova => 128_000,
        Family::AmazonTitanText => 4_000,
        Family::AmazonTitanEmbed => 8_000,
        Family::Meta => 8_000,
        Family::Mistral => 32_000,
        Family::CohereCommand => 128_000,
        Family::CohereEmbed => 512,
        Family::Ai21 => 256_000,
        Family::DeepSeek => 128_000,
        Family::OpenAi => 128_000,
    }
}

/// Context windows of known models, matched by base-model-id prefix (first match wins), from the
/// Amazon Bedrock model cards and the providers' model pages. "8K"-style figures are taken as
/// thousands (8_000), never rounded up to powers of two.
const KNOWN_CONTEXT_WINDOWS: &[(&str, u32)] = &[
    // Claude 3, 3.5, 3.7, 4.x: 200K.
    ("anthropic.claude-3", 200_000),
    ("anthropic.claude-sonnet-4", 200_000),
    ("anthropic.claude-opus-4", 200_000),
    ("anthropic.claude-haiku-4", 200_000),
    ("anthropic.claude-v2:1", 200_000),
    ("anthropic.claude-v2", 100_000),
    ("anthropic.claude-instant", 100_000),
    // Amazon Nova user guide: Micro 128K, Lite and Pro 300K, Premier 1M; Nova 2 Lite 1M.
    ("amazon.nova-micro", 128_000),
    ("amazon.nova-lite", 300_000),
    ("amazon.nova-pro", 300_000),
    ("amazon.nova-premier", 1_000_000),
    ("amazon.nova-2-lite", 1_000_000),
    // Titan Text models page: Premier 32K, Express 8K, Lite 4K. Titan Embed Text: 8K.
    ("amazon.titan-text-premier", 32_000),
    ("amazon.titan-text-express", 8_000),
    ("amazon.titan-text-lite", 4_000),
    ("amazon.titan-tg1-large", 8_000),
    ("amazon.titan-embed-text", 8_000),
    // Llama 3 (8B, 70B): 8K; Llama 3.1, 3.2, 3.3 and 4: 128K (Llama 4's larger windows are not
    // what on-demand Bedrock serves everywhere, so 128K is the safe figure).
    ("meta.llama3-8b", 8_000),
    ("meta.llama3-70b", 8_000),
    ("meta.llama3", 128_000),
    ("meta.llama4", 128_000),
    // Mistral 7B, Mixtral 8x7B, Mistral Small/Large (2402): 32K; Mistral Large 2407, Pixtral: 128K.
    ("mistral.mistral-large-2407", 128_000),
    ("mistral.pixtral-large", 128_000),
    ("mistral.", 32_000),
    // Cohere Command R and R+: 128K. Cohere Embed v3: 512 tokens; Embed v4: 128K.
    ("cohere.command-r", 128_000),
    ("cohere.embed-v4", 128_000),
    ("cohere.embed-", 512),
    // AI21 Jamba 1.5 Large/Mini and Jamba-Instruct: 256K.
    ("ai21.jamba", 256_000),
    // DeepSeek-R1: 128K. OpenAI gpt-oss-20b/120b: 128K.
    ("deepseek.r1", 128_000),
    ("openai.gpt-oss", 128_000),
];

/// The context window of a model, from its base model id (`amazon.nova-pro-v1:0`) or a
/// cross-region inference profile id (`us.amazon.nova-pro-v1:0`). Unknown models of a known
/// family get [`family_context_window`]; `None` when the family is unknown too.
pub fn context_window(model_id: &str) -> Option<u32> {
    let base = base_model_id(model_id);
    KNOWN_CONTEXT_WINDOWS
        .iter()
        .find(|(prefix, _)| base.starts_with(prefix))
        .map(|&(_, window)| window)
        .or_else(|| Family::of_base_model(&base).map(family_context_window))
}

/// The base model id behind a base id, an inference-profile id or a model ARN; the input itself
/// when it does not parse (it then matches no known model).
fn base_model_id(model_id: &str) -> std::borrow::Cow<'_, str> {
    match model_id.parse::<ModelId>() {
        Ok(id) => match id.base_model() {
            Some(base) => std::borrow::Cow::Owned(base.as_str().to_owned()),
            None => std::borrow::Cow::Borrowed(model_id),
        },
        Err(_) => std::borrow::Cow::Borrowed(model_id),
    }
}

/// How many tokens one request may spend: the model's window minus what is kept for the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenBudget {
    /// Whose tokenizer the estimates follow.
    pub family: Family,
    /// The model's context window (input + output).
    pub context_window: u32,
    /// Tokens kept free for the answer (sent as the request's `max_tokens`).
    pub reserved_output: u32,
}

impl TokenBudget {
    /// The budget for a model id (base model or inference profile); `None` when quarry does not
    /// know the model's family.
    pub fn for_model(model_id: &str, reserved_output: u32) -> Option<TokenBudget> {
        let family = Family::of_base_model(&base_model_id(model_id))?;
        let context_window = context_window(model_id)?;
        Some(TokenBudget { family, context_window, reserved_output })
    }

    /// Tokens the whole input (system prompt and messages) may use.
    pub fn input_limit(&self) -> u32 {
        self.context_window.saturating_sub(self.reserved_output)
    }

    /// Estimated tokens of a prompt made of these parts (system prompt, messages), each counted
    /// with [`MESSAGE_OVERHEAD_TOKENS`] for its markup.
    pub fn estimate_parts(&self, parts: &[&str]) -> u32 {
        parts.iter().fold(0u32, |total, part| {
            total
                .saturating_add(estimate_tokens(self.family, part))
                .saturating_add(MESSAGE_OVERHEAD_TOKENS)
        })
    }

    /// Tokens left for retrieved sources once the fixed parts of the prompt are in: the system
    /// prompt and the user message rendered *without* sources (question and template text).
    /// `None` when the fixed parts alone exceed the input limit.
    pub fn tokens_for_sources(&self, fixed_parts: &[&str]) -> Option<u32> {
        self.input_limit().checked_sub(self.estimate_parts(fixed_parts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_text_costs_about_a_quarter_of_its_length_in_tokens() {
        let text = "Amazon Bedrock is a fully managed service that offers foundation models.";
        assert_eq!(text.len(), 72);
        assert_eq!(estimate_tokens(Family::AmazonNova, text), 18);
        assert_eq!(estimate_tokens(Family::Meta, text), 18);
        // Claude's smaller chars/token ratio gives more tokens for the same text.
        assert_eq!(estimate_tokens(Family::Anthropic, text), 21);
        assert_eq!(estimate_tokens(Family::DeepSeek, text), 22);
        assert_eq!(estimate_tokens(Family::Anthropic, ""), 0);
        assert_eq!(estimate_tokens(Family::Anthropic, "a"), 1);
    }

    #[test]
    fn non_ascii_characters_count_one_token_each() {
        // 5 CJK characters, no ASCII.
        assert_eq!(estimate_tokens(Family::AmazonNova, "東京の天気"), 5);
        // "café" = 3 ASCII chars (1 token) + 1 accented char (1 token).
        assert_eq!(estimate_tokens(Family::AmazonNova, "café"), 2);
    }

    #[test]
    fn every_family_has_a_ratio_and_a_window() {
        for family in Family::ALL {
            assert!((3.0..=4.5).contains(&chars_per_token(family)), "{family}");
            assert!(family_context_window(family) >= 512, "{family}");
        }
    }

    #[test]
    fn context_windows_of_documented_models() {
        let cases = [
            ("anthropic.claude-3-5-sonnet-20240620-v1:0", 200_000),
            ("anthropic.claude-3-haiku-20240307-v1:0", 200_000),
            ("anthropic.claude-sonnet-4-20250514-v1:0", 200_000),
            ("amazon.nova-pro-v1:0", 300_000),
            ("amazon.nova-lite-v1:0", 300_000),
            ("amazon.nova-micro-v1:0", 128_000),
            ("amazon.titan-text-express-v1", 8_000),
            ("amazon.titan-text-premier-v1:0", 32_000),
            ("meta.llama3-1-70b-instruct-v1:0", 128_000),
            ("meta.llama3-8b-instruct-v1:0", 8_000),
            ("mistral.mistral-7b-instruct-v0:2", 32_000),
            ("mistral.mistral-large-2407-v1:0", 128_000),
            ("cohere.command-r-plus-v1:0", 128_000),
            ("cohere.embed-english-v3", 512),
            ("ai21.jamba-1-5-large-v1:0", 256_000),
            ("deepseek.r1-v1:0", 128_000),
            ("openai.gpt-oss-120b-1:0", 128_000),
        ];
        for (id, window) in cases {
            assert_eq!(context_window(id), Some(window), "{id}");
        }
    }

    #[test]
    fn inference_profile_ids_resolve_like_their_base_model() {
        assert_eq!(context_window("us.amazon.nova-pro-v1:0"), Some(300_000));
        assert_eq!(context_window("eu.anthropic.claude-3-7-sonnet-20250219-v1:0"), Some(200_000));
        assert_eq!(context_window("us.deepseek.r1-v1:0"), Some(128_000));
        let budget = TokenBudget::for_model("apac.amazon.nova-micro-v1:0", 1_000).expect("known");
        assert_eq!(budget.family, Family::AmazonNova);
        assert_eq!(budget.input_limit(), 127_000);
    }

    #[test]
    fn unknown_models_of_a_known_family_get_the_family_default() {
        assert_eq!(context_window("amazon.nova-future-v9:0"), Some(128_000));
        assert_eq!(context_window("stability.sd3-5-large-v1:0"), None);
        assert_eq!(TokenBudget::for_model("writer.palmyra-x5-v1:0", 512), None);
    }

    #[test]
    fn tokens_for_sources_subtract_fixed_parts_and_reserved_output() {
        let budget =
            TokenBudget { family: Family::AmazonNova, context_window: 1_000, reserved_output: 200 };
        let system = "x".repeat(400); // 100 tokens + 8 overhead
        let user = "y".repeat(80); // 20 tokens + 8 overhead
        assert_eq!(budget.tokens_for_sources(&[&system, &user]), Some(800 - 108 - 28));
        let huge = "z".repeat(4_000);
        assert_eq!(budget.tokens_for_sources(&[&huge]), None);
        let all_output = TokenBudget { reserved_output: 5_000, ..budget };
        assert_eq!(all_output.input_limit(), 0);
    }
}
