//! The RAG prompt: retrieved sources, best first, fitted whole into the token budget and numbered
//! `[1]`…`[n]`, with a system prompt that asks for answers only from them, cited as `[n]`.

use serde::{Deserialize, Serialize};

use super::PromptError;
use super::budget::{TokenBudget, estimate_tokens};
use super::citation::{CitationReport, parse_citations};
use super::template::{PromptTemplates, RAG_SYSTEM, RAG_USER};
use crate::chat::{ChatRequest, Message, SystemBlock};

/// A retrieved passage that may ground the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    /// Where it comes from, e.g. `s3://bucket/key#chunk-3`.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub text: String,
    /// Retrieval relevance; higher is better.
    pub score: f32,
}

/// A source left out because it did not fit the budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DroppedSource {
    pub id: String,
    pub score: f32,
    /// Its estimated cost in the prompt, markup included.
    pub estimated_tokens: u32,
}

/// A ready RAG request and what went into it.
#[derive(Debug, Clone, PartialEq)]
pub struct RagPrompt {
    /// System prompt, one user message, and `max_tokens` set to the budget's reserved output.
    pub request: ChatRequest,
    /// The sources in the prompt in number order: `sources[0]` is `[1]`.
    pub sources: Vec<Source>,
    /// Sources that did not fit, best score first. None of them was cut: sources go in whole.
    pub dropped: Vec<DroppedSource>,
    /// Estimated input tokens of the request.
    pub estimated_input_tokens: u32,
}

impl RagPrompt {
    /// The ids of the prompt's sources in number order (`[1]` first).
    pub fn source_ids(&self) -> Vec<&str> {
        self.sources.iter().map(|s| s.id.as_str()).collect()
    }

    /// The citations in the model's `answer`, mapped to this prompt's sources.
    pub fn citations(&self, answer: &str) -> CitationReport {
        parse_citations(answer, &self.source_ids())
    }
}

/// What the user template sees for each source.
#[derive(Serialize)]
struct SourceContext<'a> {
    number: usize,
    id: &'a str,
    title: Option<&'a str>,
    text: &'a str,
}

#[derive(Serialize)]
struct UserContext<'a> {
    question: &'a str,
    sources: Vec<SourceContext<'a>>,
}

#[derive(Serialize)]
struct SystemContext {
    source_count: usize,
}

/// Builds the RAG request for `question` from `sources` with the templates [`RAG_SYSTEM`] and
/// [`RAG_USER`] of `templates`.
///
/// Sources are taken by descending score (ties keep their order; a NaN score ranks last) and go
/// in whole while they fit `budget`; one that does not fit is dropped and the next, smaller one
/// may still fit. Fails when the templates and question alone exceed the input limit.
pub fn rag_prompt(
    templates: &PromptTemplates,
    question: &str,
    mut sources: Vec<Source>,
    budget: &TokenBudget,
) -> Result<RagPrompt, PromptError> {
    sources.sort_by(|a, b| rank_key(b.score).total_cmp(&rank_key(a.score)));

    let render_user = |chosen: &[&Source]| render_user(templates, question, chosen);
    let system_for_all = render_system(templates, sources.len())?;
    let user_without_sources = render_user(&[])?;
    let limit = budget.input_limit();
    let Some(available) = budget.tokens_for_sources(&[&system_for_all, &user_without_sources])
    else {
        let needed = budget.estimate_parts(&[&system_for_all, &user_without_sources]);
        return Err(PromptError::PromptTooLong { needed, limit });
    };

    // The template's markup per source: the difference between two and one empty sources.
    let blank = Source { id: String::new(), title: None, text: String::new(), score: 0.0 };
    let one = estimate_tokens(budget.family, &render_user(&[&blank])?);
    let two = estimate_tokens(budget.family, &render_user(&[&blank, &blank])?);
    let markup = two.saturating_sub(one);

    let mut chosen: Vec<&Source> = Vec::new();
    let mut dropped: Vec<(&Source, u32)> = Vec::new();
    let mut used = 0u32;
    for source in &sources {
        let cost = source_cost(budget, source, markup);
        match used.checked_add(cost) {
            Some(total) if total <= available => {
                used = total;
                chosen.push(source);
            }
            _ => dropped.push((source, cost)),
        }
    }

    // The per-source figures are estimates; check the rendered whole and, if it is still over,
    // give up the lowest-scored sources one by one.
    let (system, user, estimated_input_tokens) = loop {
        let system = render_system(templates, chosen.len())?;
        let user = render_user(&chosen)?;
        let total = budget.estimate_parts(&[&system, &user]);
        match chosen.last() {
            Some(&last) if total > limit => {
                dropped.push((last, source_cost(budget, last, markup)));
                chosen.pop();
            }
            _ => break (system, user, total),
        }
    };
    dropped.sort_by(|(a, _), (b, _)| rank_key(b.score).total_cmp(&rank_key(a.score)));

    let request = ChatRequest {
        system: vec![SystemBlock::Text { text: system }],
        messages: vec![Message::user(user)],
        max_tokens: (budget.reserved_output > 0).then_some(budget.reserved_output),
        ..ChatRequest::default()
    };
    Ok(RagPrompt {
        request,
        sources: chosen.into_iter().cloned().collect(),
        dropped: dropped
            .into_iter()
            .map(|(source, estimated_tokens)| DroppedSource {
                id: source.id.clone(),
                score: source.score,
                estimated_tokens,
            })
            .collect(),
        estimated_input_tokens,
    })
}

/// Scores as sort keys: NaN ranks below every real score.
fn rank_key(score: f32) -> f32 {
    if score.is_nan() { f32::NEG_INFINITY } else { score }
}

fn source_cost(budget: &TokenBudget, source: &Source, markup: u32) -> u32 {
    let family = budget.family;
    markup
        .saturating_add(estimate_tokens(family, &source.id))
        .saturating_add(source.title.as_deref().map_or(0, |t| estimate_tokens(family, t)))
        .saturating_add(estimate_tokens(family, &source.text))
}

fn render_system(templates: &PromptTemplates, source_count: usize) -> Result<String, PromptError> {
    templates.render(RAG_SYSTEM, SystemContext { source_count })
}

fn render_user(
    templates: &PromptTemplates,
    question: &str,
    chosen: &[&Source],
) -> Result<String, PromptError> {
    let sources = chosen
        .iter()
        .enumerate()
        .map(|(index, source)| SourceContext {
            number: index + 1,
            id: &source.id,
            title: source.title.as_deref(),
            text: &source.text,
        })
        .collect();
    templates.render(RAG_USER, UserContext { question, sources })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Family;

    fn source(id: &str, title: Option<&str>, text: &str, score: f32) -> Source {
        Source { id: id.into(), title: title.map(Into::into), text: text.into(), score }
    }

    fn templates() -> PromptTemplates {
        PromptTemplates::builtin().expect("built-ins parse")
    }

    fn roomy_budget() -> TokenBudget {
        TokenBudget::for_model("amazon.nova-pro-v1:0", 1_024).expect("known model")
    }

    /// Passages in the style of the Amazon S3 User Guide, as an S3 ingest would chunk them.
    fn s3_sources() -> Vec<Source> {
        vec![
            source(
                "s3://docs/s3-userguide/versioning.md#chunk-0",
                Some("Retaining multiple versions of objects with S3 Versioning"),
                "Versioning in Amazon S3 is a means of keeping multiple variants of an object in the same bucket.",
                0.71,
            ),
            source(
                "s3://docs/s3-userguide/default-encryption.md#chunk-2",
                Some("Setting default server-side encryption behavior for Amazon S3 buckets"),
                "All Amazon S3 buckets have encryption configured by default, and all new objects that are uploaded to an S3 bucket are automatically encrypted at rest.",
                0.93,
            ),
            source(
                "s3://docs/notes.txt#chunk-7",
                None,
                "Server-side encryption with Amazon S3 managed keys (SSE-S3) is the default encryption configuration for every bucket in Amazon S3.",
                0.88,
            ),
        ]
    }

    #[test]
    fn sources_are_numbered_best_first_with_ids_and_titles() {
        let prompt = rag_prompt(
            &templates(),
            "Are new S3 objects encrypted?",
            s3_sources(),
            &roomy_budget(),
        )
        .expect("fits");
        assert!(prompt.dropped.is_empty());
        assert_eq!(
            prompt.source_ids(),
            [
                "s3://docs/s3-userguide/default-encryption.md#chunk-2",
                "s3://docs/notes.txt#chunk-7",
                "s3://docs/s3-userguide/versioning.md#chunk-0",
            ]
        );
        let user = prompt.request.messages[0].text();
        let expected_start = "Sources:\n\n\
            [1] Setting default server-side encryption behavior for Amazon S3 buckets \
            (s3://docs/s3-userguide/default-encryption.md#chunk-2)\n\
            <source number=\"1\">\n\
            All Amazon S3 buckets have encryption configured by default";
        assert!(user.starts_with(expected_start), "{user}");
        // An untitled source is listed by its id alone.
        assert!(
            user.contains("\n[2] s3://docs/notes.txt#chunk-7\n<source number=\"2\">\n"),
            "{user}"
        );
        assert!(user.contains("[3] Retaining multiple versions"), "{user}");
        assert!(user.trim_end().ends_with("Question: Are new S3 objects encrypted?"), "{user}");
        let (i1, i2, i3) = (
            user.find("[1]").expect("[1]"),
            user.find("[2]").expect("[2]"),
            user.find("[3]").expect("[3]"),
        );
        assert!(i1 < i2 && i2 < i3);
    }

    #[test]
    fn the_system_prompt_demands_numbered_citations_and_admitting_ignorance() {
        let prompt = rag_prompt(
            &templates(),
            "Are new S3 objects encrypted?",
            s3_sources(),
            &roomy_budget(),
        )
        .expect("fits");
        let system = prompt.request.system_text().expect("system prompt");
        assert!(system.contains("only the numbered sources"), "{system}");
        assert!(system.contains("in square brackets, right after the claim"), "{system}");
        assert!(system.contains("1 to 3"), "{system}");
        assert!(system.contains("do not know"), "{system}");
        assert_eq!(prompt.request.max_tokens, Some(1_024));
        assert_eq!(prompt.request.messages.len(), 1);
        assert!(prompt.estimated_input_tokens > 0);
    }

    #[test]
    fn the_budget_drops_the_lowest_scored_whole_sources_and_reports_them() {
        let text = |c: char| c.to_string().repeat(4_000); // ~1 000 tokens each for Nova
        let sources = vec![
            source("s3://kb/a#chunk-0", None, &text('a'), 0.50),
            source("s3://kb/b#chunk-0", None, &text('b'), 0.90),
            source("s3://kb/c#chunk-0", None, &text('c'), 0.10),
            source("s3://kb/d#chunk-0", None, &text('d'), 0.70),
        ];
        // Room for the fixed prompt plus about two and a half sources.
        let fixed = rag_prompt(&templates(), "What is in b?", Vec::new(), &roomy_budget())
            .expect("fits")
            .estimated_input_tokens;
        let budget = TokenBudget {
            family: Family::AmazonNova,
            context_window: fixed + 2_500 + 500,
            reserved_output: 500,
        };
        let prompt = rag_prompt(&templates(), "What is in b?", sources, &budget).expect("fits");
        assert_eq!(prompt.source_ids(), ["s3://kb/b#chunk-0", "s3://kb/d#chunk-0"]);
        let dropped: Vec<&str> = prompt.dropped.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(dropped, ["s3://kb/a#chunk-0", "s3://kb/c#chunk-0"]);
        assert!(prompt.dropped.iter().all(|d| d.estimated_tokens >= 1_000));
        // Whole sources only: every included text is in the prompt untouched.
        let user = prompt.request.messages[0].text();
        assert!(user.contains(&text('b')) && user.contains(&text('d')));
        assert!(!user.contains('a'.to_string().repeat(10).as_str()));
        assert!(prompt.estimated_input_tokens <= budget.input_limit());
    }

    #[test]
    fn a_smaller_lower_scored_source_fills_room_a_large_one_cannot() {
        let sources = vec![
            source("big", None, &"x".repeat(40_000), 0.9),
            source("small", None, "SSE-S3 is the default.", 0.2),
        ];
        let budget =
            TokenBudget { family: Family::AmazonNova, context_window: 2_000, reserved_output: 500 };
        let prompt =
            rag_prompt(&templates(), "Default encryption?", sources, &budget).expect("fits");
        assert_eq!(prompt.source_ids(), ["small"]);
        assert_eq!(prompt.dropped.len(), 1);
        assert_eq!(prompt.dropped[0].id, "big");
        assert!(prompt.dropped[0].estimated_tokens >= 10_000);
    }

    #[test]
    fn no_sources_still_builds_a_prompt_that_allows_not_knowing() {
        let prompt =
            rag_prompt(&templates(), "Who wrote it?", Vec::new(), &roomy_budget()).expect("fits");
        assert!(prompt.sources.is_empty());
        let user = prompt.request.messages[0].text();
        assert!(user.contains("none were found"), "{user}");
        let system = prompt.request.system_text().expect("system");
        assert!(system.contains("there are none"), "{system}");
    }

    #[test]
    fn nan_scores_rank_last() {
        let sources = vec![source("nan", None, "n", f32::NAN), source("low", None, "l", -1.0)];
        let prompt = rag_prompt(&templates(), "q", sources, &roomy_budget()).expect("fits");
        assert_eq!(prompt.source_ids(), ["low", "nan"]);
    }

    #[test]
    fn a_question_too_long_for_the_model_is_an_error() {
        let budget = TokenBudget {
            family: Family::AmazonTitanText,
            context_window: 4_000,
            reserved_output: 512,
        };
        let question = "why ".repeat(20_000);
        let error =
            rag_prompt(&templates(), &question, s3_sources(), &budget).expect_err("too long");
        assert!(
            matches!(error, PromptError::PromptTooLong { needed, limit: 3_488 } if needed > 20_000),
            "{error:?}"
        );
    }

    #[test]
    fn citations_of_the_answer_map_to_the_prompt_sources() {
        let prompt = rag_prompt(
            &templates(),
            "Are new S3 objects encrypted?",
            s3_sources(),
            &roomy_budget(),
        )
        .expect("fits");
        let report = prompt.citations("Yes, by default [1], with SSE-S3 [2][7].");
        let ids: Vec<&str> = report.citations.iter().map(|c| c.source_id.as_str()).collect();
        assert_eq!(
            ids,
            ["s3://docs/s3-userguide/default-encryption.md#chunk-2", "s3://docs/notes.txt#chunk-7"]
        );
        assert_eq!(report.invalid.len(), 1);
        assert_eq!(report.invalid[0].number, 7);
    }
}
