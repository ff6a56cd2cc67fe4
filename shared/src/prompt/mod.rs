//! Prompts: named templates, the RAG prompt with numbered sources, citation parsing, token budgets.
//!
//! The RAG flow: retrieve [`Source`]s → [`rag_prompt`] fits the best of them into the model's
//! [`TokenBudget`], numbers them `[1]`…`[n]` and builds a [`ChatRequest`](crate::chat::ChatRequest)
//! whose system prompt asks for `[n]` citations → the model answers → [`RagPrompt::citations`]
//! maps the answer's `[n]` markers back to the sources' ids.

pub mod budget;
pub mod citation;
pub mod rag;
pub mod template;

pub use budget::{TokenBudget, context_window, estimate_tokens};
pub use citation::{Citation, CitationReport, InvalidCitation, parse_citations};
pub use rag::{DroppedSource, RagPrompt, Source, rag_prompt};
pub use template::PromptTemplates;

/// What can go wrong rendering a prompt.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PromptError {
    /// No template of that name is registered.
    #[error("no prompt template named `{name}` is registered")]
    UnknownTemplate { name: String },
    /// The template's source does not parse.
    #[error("syntax error in prompt template `{template}` line {line}: {detail}")]
    Syntax { template: String, line: usize, detail: String },
    /// The template uses a variable the context does not provide.
    #[error(
        "prompt template `{template}` line {line} uses `{variable}`, which the context does not define"
    )]
    UndefinedVariable { template: String, line: usize, variable: String },
    /// Rendering failed for another reason (a filter on the wrong type, …).
    #[error("cannot render prompt template `{template}` line {line}: {detail}")]
    Render { template: String, line: usize, detail: String },
    /// The question and templates alone do not fit the model's input limit.
    #[error(
        "the prompt needs about {needed} tokens before any source, but the model accepts {limit} input tokens; shorten the question or lower max_tokens"
    )]
    PromptTooLong { needed: u32, limit: u32 },
}
