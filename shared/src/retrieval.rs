//! Retrieval and grounded answers: a question embedded as a search query, the vector store
//! searched, the hits numbered into the RAG prompt, and the answer's `[n]` citations resolved back
//! to the documents (bucket, key, chunk) they come from.
//!
//! The flow the invoke API runs for `/v1/retrieve`, `/v1/rag` and the `quarry.rag` extension of
//! `/v1/chat/completions`:
//! 1. [`Search::new`] checks what the caller asked for (text, `k`, filter);
//! 2. [`Retriever::search`] embeds the text as a `search_query` with the configured embedding
//!    model and queries the [`VectorStore`];
//! 3. [`Grounding::new`] (one question) or [`Grounding::for_conversation`] (a chat) fits the hits
//!    into the model's token budget as numbered sources;
//! 4. the model answers; [`Grounding::report`] maps its citations to the hits.
//!
//! When nothing matches, quarry does not call the model: [`no_match_events`] is the whole answer
//! ([`NO_MATCH_ANSWER`]), at no cost, instead of a prompt with no sources that the model could
//! only answer with "I do not know".

use std::collections::HashSet;

use aws_sdk_bedrockruntime::Client;
use serde::{Deserialize, Serialize};

use crate::bedrock::{self, CallError, CallOptions, EmbedOptions};
use crate::chat::{ChatRequest, ContentBlock, Delta, Role, StopReason, StreamEvent, Usage};
use crate::config::EmbeddingConfig;
use crate::embed::{EmbedError, EmbedRequest, EmbeddingModel};
use crate::model::{Family, ModelId};
use crate::prompt::budget::family_context_window;
use crate::prompt::{
    InvalidCitation, PromptError, PromptTemplates, RagPrompt, Source, TokenBudget, rag_prompt,
};
use crate::text::{DocumentId, DocumentRef};
use crate::vector::{Filter, Hit, MAX_K, VectorError, VectorStore};

/// Chunks retrieved when the caller does not say how many.
pub const DEFAULT_K: usize = 5;

/// Output tokens kept free for a RAG answer when the caller sets no `max_tokens`.
pub const DEFAULT_ANSWER_TOKENS: u32 = 1_024;

/// The context window assumed for a model whose family quarry does not know (a provisioned or
/// imported model): small, so the prompt fits whatever it is.
pub const UNKNOWN_MODEL_CONTEXT_WINDOW: u32 = 8_000;

/// The answer when no indexed chunk passes the search: given without calling a model.
pub const NO_MATCH_ANSWER: &str = "No indexed document matches this question, so there are no \
     sources to answer it from. Check the filter, or ingest the documents that answer it.";

/// Which chunks a search may return, as callers write it: every set condition must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchFilter {
    /// The source key starts with this (`handbook/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_prefix: Option<String>,
    /// The document's content type is this (`text/markdown`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The source bucket is this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
}

/// How many chunks to retrieve and which: `/v1/rag`'s `k` and `filter`, and the whole
/// `quarry.rag` object of a chat completion.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchOptions {
    /// 1 to [`MAX_K`]; [`DEFAULT_K`] when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<SearchFilter>,
}

/// A checked search: the text to embed, how many chunks, and the store filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    pub text: String,
    pub k: usize,
    pub filter: Filter,
}

/// A search the caller must fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvalidSearch {
    /// The text cannot be embedded by the configured model (empty, too long).
    #[error("{0}")]
    Text(EmbedError),
    /// `k` is out of range.
    #[error("expected 1 to {MAX_K} chunks, got {0}")]
    K(usize),
    /// A filter field is set to the empty string.
    #[error("expected a non-empty string; leave the field out to not filter on it")]
    EmptyFilter {
        /// `key_prefix`, `content_type` or `bucket`.
        field: &'static str,
    },
}

impl InvalidSearch {
    /// The request field at fault: `text_field` for the text; `k` and `filter.<field>` after
    /// `prefix` (`""` for `/v1/rag`, `"quarry.rag."` for a chat completion).
    pub fn param(&self, text_field: &str, prefix: &str) -> String {
        match self {
            InvalidSearch::Text(_) => text_field.to_owned(),
            InvalidSearch::K(_) => format!("{prefix}k"),
            InvalidSearch::EmptyFilter { field } => format!("{prefix}filter.{field}"),
        }
    }
}

impl Search {
    /// Checks a search for `text` with `options`, its text against the embedding `model`'s limits.
    pub fn new(
        text: impl Into<String>,
        options: &SearchOptions,
        model: EmbeddingModel,
    ) -> Result<Self, InvalidSearch> {
        let text = text.into();
        let k = options.k.unwrap_or(DEFAULT_K);
        if !(1..=MAX_K).contains(&k) {
            return Err(InvalidSearch::K(k));
        }
        let filter = options.filter.clone().unwrap_or_default();
        for (field, value) in [
            ("key_prefix", &filter.key_prefix),
            ("content_type", &filter.content_type),
            ("bucket", &filter.bucket),
        ] {
            if value.as_deref().is_some_and(str::is_empty) {
                return Err(InvalidSearch::EmptyFilter { field });
            }
        }
        EmbedRequest::query(text.clone()).validate(model).map_err(|error| match error {
            // The request holds one text: say "the text", not "text 0".
            EmbedError::EmptyText { .. } | EmbedError::NoTexts => {
                InvalidSearch::Text(EmbedError::EmptyText { index: 0 })
            }
            other => InvalidSearch::Text(other),
        })?;
        let filter = Filter {
            key_prefix: filter.key_prefix,
            content_type: filter.content_type,
            bucket: filter.bucket,
        };
        Ok(Search { text, k, filter })
    }
}

/// What searching needs: the Bedrock client, the embedding model the documents are indexed with,
/// and the store.
#[derive(Debug, Clone, Copy)]
pub struct Retriever<'a> {
    pub bedrock: &'a Client,
    pub embedding: &'a EmbeddingConfig,
    pub store: &'a dyn VectorStore,
}

/// The chunks a search found, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct Retrieved {
    pub hits: Vec<Hit>,
    /// Input tokens of the embedding call, when the model reports them.
    pub embedding_tokens: Option<u64>,
}

/// Why a search failed.
#[derive(Debug, thiserror::Error)]
pub enum RetrievalError {
    /// The embedding call failed (throttled, denied, deadline…), classified as every Bedrock call.
    #[error("embedding the search text with `{model}` failed: {source}")]
    Embed {
        model: ModelId,
        #[source]
        source: CallError,
    },
    /// The vector store failed.
    #[error("searching the vector index failed: {0}")]
    Store(#[from] VectorError),
}

impl Retriever<'_> {
    /// Embeds `search.text` as a `search_query` (at the configured dimensions: the documents'
    /// size) and returns the store's best `search.k` chunks passing `search.filter`.
    pub async fn search(
        &self,
        search: &Search,
        options: &CallOptions,
    ) -> Result<Retrieved, RetrievalError> {
        let model = &self.embedding.model_id;
        let request = EmbedRequest {
            dimensions: Some(self.embedding.dimensions),
            ..EmbedRequest::query(search.text.clone())
        };
        let embed_error =
            |source: CallError| RetrievalError::Embed { model: model.clone(), source };
        let embed_options = EmbedOptions { concurrency: 1, call: *options };
        let embeddings = bedrock::embed(self.bedrock, model, &request, &embed_options)
            .await
            .map_err(embed_error)?;
        let got = embeddings.vectors.len();
        let Some(vector) = embeddings.vectors.into_iter().next() else {
            return Err(embed_error(CallError::Embed(EmbedError::WrongVectorCount {
                model: self.embedding.model,
                call: 0,
                expected: 1,
                got,
            })));
        };
        let hits = self.store.query(&vector, search.k, &search.filter).await?;
        Ok(Retrieved { hits, embedding_tokens: embeddings.input_tokens })
    }
}

/// The S3 object a chunk comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRef {
    pub bucket: String,
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
}

impl From<&DocumentRef> for SourceRef {
    fn from(document: &DocumentRef) -> Self {
        SourceRef {
            bucket: document.bucket.clone(),
            key: document.key.clone(),
            version_id: document.version_id.clone(),
        }
    }
}

/// A chunk as `/v1/retrieve` answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetrievedChunk {
    /// The chunk id.
    pub id: String,
    pub text: String,
    /// Cosine similarity to the query, -1 to 1; higher is more similar.
    pub score: f32,
    pub source: SourceRef,
    /// The document's title.
    pub title: String,
    /// The document's content type.
    pub content_type: String,
}

impl From<Hit> for RetrievedChunk {
    fn from(hit: Hit) -> Self {
        RetrievedChunk {
            source: SourceRef::from(&hit.source),
            id: hit.id,
            text: hit.text,
            score: hit.score,
            title: hit.title,
            content_type: hit.content_type,
        }
    }
}

/// A source as the model saw it: `[number]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumberedSource {
    pub number: u32,
    pub chunk_id: String,
    pub source: SourceRef,
    pub title: String,
    pub content_type: String,
    pub score: f32,
    pub text: String,
}

/// A source the answer cites.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CitedSource {
    /// The `[n]` the answer uses.
    pub number: u32,
    pub source: SourceRef,
    pub chunk_id: String,
    pub title: String,
    pub score: f32,
}

/// A retrieved chunk left out of the prompt because it did not fit the model's token budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DroppedChunk {
    pub chunk_id: String,
    pub source: SourceRef,
    pub score: f32,
    /// Its estimated cost in the prompt.
    pub estimated_tokens: u32,
}

/// What a grounded answer rests on: the citations of the answer resolved to documents, numbers
/// that name no source, the numbered sources the model was given, and those left out.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RagReport {
    /// Cited sources, each once, in order of first citation.
    pub citations: Vec<CitedSource>,
    /// Every `[n]` in the answer that names no source (0, or above the number of sources).
    pub invalid_citations: Vec<InvalidCitation>,
    /// The sources in the prompt, `[1]` first.
    pub sources: Vec<NumberedSource>,
    /// Retrieved chunks that did not fit, best first.
    pub dropped_sources: Vec<DroppedChunk>,
}

/// A RAG prompt over retrieved chunks, with the chunks behind its numbered sources.
#[derive(Debug, Clone, PartialEq)]
pub struct Grounding {
    /// The RAG request (system prompt, one user message, `max_tokens`).
    pub prompt: RagPrompt,
    /// The chunks in source-number order: `numbered[0]` is `[1]`.
    numbered: Vec<Hit>,
    dropped: Vec<DroppedChunk>,
}

impl Grounding {
    /// Fits `hits` (best first) into `budget` as the numbered sources of a prompt for `question`.
    /// A hit repeated in `hits` is used once.
    pub fn new(
        templates: &PromptTemplates,
        question: &str,
        hits: Vec<Hit>,
        budget: &TokenBudget,
    ) -> Result<Self, PromptError> {
        let mut seen = HashSet::new();
        let hits: Vec<Hit> = hits.into_iter().filter(|hit| seen.insert(hit.id.clone())).collect();
        let sources = hits.iter().map(source_of).collect();
        let prompt = rag_prompt(templates, question, sources, budget)?;
        let hit_of = |label: &str| hits.iter().find(|hit| source_label(hit) == label);
        let numbered = prompt.sources.iter().filter_map(|s| hit_of(&s.id)).cloned().collect();
        let dropped = prompt
            .dropped
            .iter()
            .filter_map(|dropped| {
                hit_of(&dropped.id).map(|hit| DroppedChunk {
                    chunk_id: hit.id.clone(),
                    source: SourceRef::from(&hit.source),
                    score: hit.score,
                    estimated_tokens: dropped.estimated_tokens,
                })
            })
            .collect();
        Ok(Grounding { prompt, numbered, dropped })
    }

    /// Grounds a chat: the conversation's last message (the user's) is the question; the RAG
    /// system prompt goes before the caller's, and the last message's text becomes the RAG user
    /// message (the numbered sources, then the question; its images and documents stay). The
    /// rest of the conversation is counted against `budget` first. The request's `max_tokens`
    /// is left as the caller set it.
    pub fn for_conversation(
        templates: &PromptTemplates,
        mut request: ChatRequest,
        hits: Vec<Hit>,
        budget: &TokenBudget,
    ) -> Result<(ChatRequest, Grounding), GroundingError> {
        let question = conversation_question(&request)?;
        let mut rest: Vec<String> = request.system_text().into_iter().collect();
        let last = request.messages.len() - 1;
        rest.extend(request.messages[..last].iter().map(|m| m.text()));
        if !request.tools.is_empty() {
            rest.push(serde_json::to_string(&request.tools).unwrap_or_default());
        }
        let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
        let budget = TokenBudget {
            context_window: budget.context_window.saturating_sub(budget.estimate_parts(&rest)),
            ..*budget
        };
        let grounding = Grounding::new(templates, &question, hits, &budget)?;
        let rag = &grounding.prompt.request;
        let mut system = rag.system.clone();
        system.append(&mut request.system);
        request.system = system;
        let message = &mut request.messages[last];
        let others = message.content.drain(..).filter(|block| block.as_text().is_none());
        let mut content: Vec<ContentBlock> =
            rag.messages.iter().flat_map(|m| m.content.clone()).collect();
        content.extend(others);
        message.content = content;
        Ok((request, grounding))
    }

    /// The chunks behind the prompt's sources, `[1]` first.
    pub fn sources(&self) -> Vec<NumberedSource> {
        self.numbered
            .iter()
            .zip(1u32..)
            .map(|(hit, number)| NumberedSource {
                number,
                chunk_id: hit.id.clone(),
                source: SourceRef::from(&hit.source),
                title: hit.title.clone(),
                content_type: hit.content_type.clone(),
                score: hit.score,
                text: hit.text.clone(),
            })
            .collect()
    }

    /// The citations of `answer` resolved to the chunks and documents they name.
    pub fn report(&self, answer: &str) -> RagReport {
        let parsed = self.prompt.citations(answer);
        let citations = parsed
            .citations
            .iter()
            .filter_map(|citation| {
                let index = usize::try_from(citation.number).ok()?.checked_sub(1)?;
                let hit = self.numbered.get(index)?;
                Some(CitedSource {
                    number: citation.number,
                    source: SourceRef::from(&hit.source),
                    chunk_id: hit.id.clone(),
                    title: hit.title.clone(),
                    score: hit.score,
                })
            })
            .collect();
        RagReport {
            citations,
            invalid_citations: parsed.invalid,
            sources: self.sources(),
            dropped_sources: self.dropped.clone(),
        }
    }
}

/// A conversation that cannot be grounded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GroundingError {
    /// The conversation does not end with the user's question.
    #[error(
        "retrieval needs a question: the conversation's last message must be the user's, with text ({reason})"
    )]
    NoQuestion { reason: &'static str },
    /// The prompt cannot be built (the question and conversation do not fit the model).
    #[error(transparent)]
    Prompt(#[from] PromptError),
}

/// The question of a chat: the text of its last message, which must be the user's.
pub fn conversation_question(request: &ChatRequest) -> Result<String, GroundingError> {
    let Some(last) = request.messages.last() else {
        return Err(GroundingError::NoQuestion { reason: "there are no messages" });
    };
    if last.role != Role::User {
        return Err(GroundingError::NoQuestion { reason: "it is the assistant's" });
    }
    let question = last.text();
    if question.trim().is_empty() {
        return Err(GroundingError::NoQuestion { reason: "it has no text" });
    }
    Ok(question)
}

/// The token budget of a RAG prompt for `model` keeping `reserved_output` tokens for the
/// answer: the model's own window when quarry knows it, else its family's, else a small
/// [`UNKNOWN_MODEL_CONTEXT_WINDOW`] counted with the most tokens per character of any family.
pub fn budget_for(model: &ModelId, reserved_output: u32) -> TokenBudget {
    TokenBudget::for_model(&model.to_string(), reserved_output).unwrap_or_else(|| {
        match model.family() {
            Ok(family) => TokenBudget {
                family,
                context_window: family_context_window(family),
                reserved_output,
            },
            Err(_) => TokenBudget {
                family: Family::DeepSeek,
                context_window: UNKNOWN_MODEL_CONTEXT_WINDOW,
                reserved_output,
            },
        }
    })
}

/// The stream of the answer given when nothing matches ([`NO_MATCH_ANSWER`]): no model call, so
/// no tokens.
pub fn no_match_events() -> Vec<StreamEvent> {
    vec![
        StreamEvent::MessageStart { role: Role::Assistant },
        StreamEvent::ContentBlockDelta {
            index: 0,
            delta: Delta::Text { text: NO_MATCH_ANSWER.to_owned() },
        },
        StreamEvent::ContentBlockStop { index: 0 },
        StreamEvent::MessageStop { stop_reason: StopReason::EndTurn },
        StreamEvent::Metadata { usage: Usage::new(0, 0), latency_ms: Some(0) },
    ]
}

/// How a hit is named in the prompt: `s3://bucket/key#chunk-<index>`, which the model may quote.
fn source_label(hit: &Hit) -> String {
    let document = DocumentId::of(&hit.source.bucket, &hit.source.key);
    match document.chunk_index(&hit.id) {
        Some(index) => format!("{}#chunk-{index}", hit.source),
        None => format!("{}#{}", hit.source, hit.id),
    }
}

fn source_of(hit: &Hit) -> Source {
    Source {
        id: source_label(hit),
        title: (!hit.title.is_empty()).then(|| hit.title.clone()),
        text: hit.text.clone(),
        score: hit.score,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use aws_sdk_bedrockruntime::config::retry::RetryConfig;

    use super::*;
    use crate::bedrock::test_support::{client, local, model};
    use crate::chat::{Message, SystemBlock, collect_events};
    use crate::error::BedrockErrorKind;
    use crate::text::{ChunkSettings, S3Object, chunk, extract};
    use crate::vector::{Sequencer, SqliteStore, StoredChunk, StoredDocument};

    const TITAN_V2: &str = "amazon.titan-embed-text-v2:0";
    const DIMENSIONS: u32 = 256;

    fn templates() -> PromptTemplates {
        PromptTemplates::builtin().expect("the built-in templates parse")
    }

    /// A hit of chunk `index` of `s3://bucket/key`.
    fn hit(bucket: &str, key: &str, index: usize, title: &str, text: &str, score: f32) -> Hit {
        let source = DocumentRef::new(bucket, key);
        Hit {
            id: source.chunk_id(index),
            text: text.into(),
            title: title.into(),
            content_type: "text/markdown".into(),
            score,
            metadata: BTreeMap::new(),
            document_metadata: BTreeMap::new(),
            source,
        }
    }

    /// Passages in the style of the Amazon S3 User Guide, as ingest would chunk them.
    fn s3_hits() -> Vec<Hit> {
        vec![
            hit(
                "docs",
                "s3-userguide/default-encryption.md",
                2,
                "Setting default server-side encryption behavior for Amazon S3 buckets",
                "All Amazon S3 buckets have encryption configured by default, and all new objects that are uploaded to an S3 bucket are automatically encrypted at rest.",
                0.93,
            ),
            hit(
                "docs",
                "s3-userguide/versioning.md",
                0,
                "Retaining multiple versions of objects with S3 Versioning",
                "Versioning in Amazon S3 is a means of keeping multiple variants of an object in the same bucket.",
                0.71,
            ),
        ]
    }

    fn nova() -> TokenBudget {
        budget_for(&model("amazon.nova-lite-v1:0"), DEFAULT_ANSWER_TOKENS)
    }

    #[test]
    fn a_search_defaults_to_five_chunks_and_names_the_field_at_fault() {
        let titan = EmbeddingModel::TitanTextV2;
        let search = Search::new("encryption", &SearchOptions::default(), titan).expect("valid");
        assert_eq!((search.k, search.filter), (DEFAULT_K, Filter::default()));

        let options =
            |k: Option<usize>, filter: SearchFilter| SearchOptions { k, filter: Some(filter) };
        let filter = SearchFilter {
            key_prefix: Some("s3-userguide/".into()),
            content_type: Some("text/markdown".into()),
            bucket: Some("docs".into()),
        };
        let search = Search::new("q", &options(Some(MAX_K), filter.clone()), titan).expect("ok");
        assert_eq!(search.k, MAX_K);
        assert_eq!(search.filter.key_prefix.as_deref(), Some("s3-userguide/"));
        assert_eq!(search.filter.bucket.as_deref(), Some("docs"));

        for k in [0, MAX_K + 1] {
            let error = Search::new("q", &options(Some(k), SearchFilter::default()), titan)
                .expect_err("out of range");
            assert_eq!(error, InvalidSearch::K(k));
            assert_eq!(error.param("question", ""), "k");
            assert_eq!(error.param("messages", "quarry.rag."), "quarry.rag.k");
        }
        let empty_bucket = SearchFilter { bucket: Some(String::new()), ..filter };
        let error = Search::new("q", &options(None, empty_bucket), titan).expect_err("empty");
        assert_eq!(error.param("query", ""), "filter.bucket");

        let error = Search::new("  ", &SearchOptions::default(), titan).expect_err("blank");
        assert_eq!(error.param("query", ""), "query");
        assert!(error.to_string().contains("is empty"), "{error}");
        // Titan Text Embeddings V2 takes at most 50,000 characters per text.
        let long = "a".repeat(50_001);
        let error = Search::new(long, &SearchOptions::default(), titan).expect_err("too long");
        assert!(error.to_string().contains("at most 50000"), "{error}");
    }

    #[test]
    fn filters_in_the_api_are_snake_case_and_refuse_unknown_keys() {
        let options: SearchOptions = serde_json::from_value(serde_json::json!({
            "k": 3, "filter": {"key_prefix": "a/", "content_type": "text/plain", "bucket": "b"}
        }))
        .expect("the documented shape");
        assert_eq!(options.k, Some(3));
        let unknown = serde_json::from_value::<SearchOptions>(
            serde_json::json!({"filter": {"keyPrefix": "a/"}}),
        )
        .expect_err("camelCase is not the API's");
        assert!(unknown.to_string().contains("unknown field `keyPrefix`"), "{unknown}");
    }

    #[test]
    fn sources_are_numbered_best_first_and_citations_resolve_to_their_documents() {
        let mut hits = s3_hits();
        hits.reverse(); // the grounding ranks them itself
        let grounding = Grounding::new(&templates(), "Are new objects encrypted?", hits, &nova())
            .expect("fits");
        let sources = grounding.sources();
        assert_eq!(sources.iter().map(|s| s.number).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(sources[0].source.key, "s3-userguide/default-encryption.md");
        assert_eq!(
            sources[0].chunk_id,
            DocumentRef::new("docs", "s3-userguide/default-encryption.md").chunk_id(2)
        );
        let user = grounding.prompt.request.messages[0].text();
        assert!(
            user.contains("[1] Setting default server-side encryption behavior for Amazon S3 buckets (s3://docs/s3-userguide/default-encryption.md#chunk-2)"),
            "{user}"
        );

        let report =
            grounding.report("Yes [1]. Versions are kept too [2][1], see also [3] and [0].");
        let cited: Vec<(u32, &str)> =
            report.citations.iter().map(|c| (c.number, c.source.key.as_str())).collect();
        assert_eq!(
            cited,
            [(1, "s3-userguide/default-encryption.md"), (2, "s3-userguide/versioning.md")]
        );
        assert_eq!(report.citations[0].chunk_id, sources[0].chunk_id);
        assert_eq!(
            report.citations[1].title,
            "Retaining multiple versions of objects with S3 Versioning"
        );
        let invalid: Vec<u32> = report.invalid_citations.iter().map(|i| i.number).collect();
        assert_eq!(invalid, [3, 0]);
        assert_eq!(report.sources, sources);
        assert!(report.dropped_sources.is_empty());
    }

    #[test]
    fn chunks_that_do_not_fit_are_reported_by_chunk_and_document() {
        let mut hits = s3_hits();
        hits.push(hit("docs", "big.txt", 7, "Big", &"word ".repeat(8_000), 0.99));
        let budget = TokenBudget {
            family: Family::AmazonNova,
            context_window: 4_000,
            reserved_output: 1_000,
        };
        let grounding = Grounding::new(&templates(), "Encrypted?", hits, &budget).expect("fits");
        assert_eq!(grounding.sources().len(), 2);
        let dropped = &grounding.report("").dropped_sources;
        assert_eq!(dropped.len(), 1);
        assert_eq!(dropped[0].source.key, "big.txt");
        assert_eq!(dropped[0].chunk_id, DocumentRef::new("docs", "big.txt").chunk_id(7));
        assert!(dropped[0].estimated_tokens >= 8_000);
    }

    #[test]
    fn a_repeated_hit_is_one_source() {
        let mut hits = s3_hits();
        hits.push(hits[0].clone());
        let grounding = Grounding::new(&templates(), "Encrypted?", hits, &nova()).expect("fits");
        assert_eq!(grounding.sources().len(), 2);
    }

    #[test]
    fn a_conversation_is_grounded_in_its_last_user_message() {
        let request = ChatRequest {
            system: vec![SystemBlock::Text { text: "Answer in one sentence.".into() }],
            messages: vec![
                Message::user("Hi"),
                Message::assistant("Hello! What would you like to know?"),
                Message::user("Are new objects encrypted?"),
            ],
            ..ChatRequest::default()
        };
        let (grounded, grounding) =
            Grounding::for_conversation(&templates(), request.clone(), s3_hits(), &nova())
                .expect("fits");
        assert_eq!(grounded.messages[..2], request.messages[..2], "earlier turns stay");
        let system = grounded.system_text().expect("system");
        assert!(
            system.starts_with("You answer questions using only the numbered sources"),
            "{system}"
        );
        assert!(system.ends_with("Answer in one sentence."), "{system}");
        let last = grounded.messages[2].text();
        assert!(last.starts_with("Sources:"), "{last}");
        assert!(last.contains("(s3://docs/s3-userguide/versioning.md#chunk-0)"), "{last}");
        assert!(last.trim_end().ends_with("Question: Are new objects encrypted?"), "{last}");
        assert_eq!(grounded.max_tokens, None, "the caller's max_tokens is kept");
        assert_eq!(grounding.sources().len(), 2);

        let mut ends_with_assistant = request;
        ends_with_assistant.messages.pop();
        let error =
            Grounding::for_conversation(&templates(), ends_with_assistant, s3_hits(), &nova())
                .expect_err("no question");
        assert!(error.to_string().contains("the assistant's"), "{error}");
    }

    #[test]
    fn a_long_conversation_leaves_less_room_for_sources() {
        let earlier = "lorem ipsum ".repeat(1_000); // ~3,000 Nova tokens
        let request = ChatRequest {
            messages: vec![
                Message::user(earlier.clone()),
                Message::assistant("Noted."),
                Message::user("Are new objects encrypted?"),
            ],
            ..ChatRequest::default()
        };
        let question = "Are new objects encrypted?";
        let fixed = Grounding::new(&templates(), question, Vec::new(), &nova())
            .expect("fits")
            .prompt
            .estimated_input_tokens;
        // Room for the fixed prompt, the earlier turns and about one source.
        let reserved_output = 500;
        let earlier_turns = nova().estimate_parts(&[&earlier, "Noted."]);
        let budget = TokenBudget {
            family: Family::AmazonNova,
            context_window: reserved_output + fixed + earlier_turns + 100,
            reserved_output,
        };
        let alone = Grounding::new(&templates(), question, s3_hits(), &budget).expect("fits");
        assert_eq!(alone.sources().len(), 2);
        let (_, grounding) =
            Grounding::for_conversation(&templates(), request, s3_hits(), &budget).expect("fits");
        assert!(grounding.sources().len() < 2, "{:?}", grounding.sources());
        assert!(!grounding.report("").dropped_sources.is_empty());
    }

    #[test]
    fn budgets_come_from_the_model_its_family_or_a_small_safe_default() {
        assert_eq!(nova().context_window, 300_000);
        assert_eq!(nova().reserved_output, DEFAULT_ANSWER_TOKENS);
        let profile = budget_for(&model("us.anthropic.claude-3-5-haiku-20241022-v1:0"), 512);
        assert_eq!((profile.family, profile.context_window), (Family::Anthropic, 200_000));
        let provisioned =
            model("arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abcdefghij12");
        let unknown = budget_for(&provisioned, 512);
        assert_eq!(unknown.context_window, UNKNOWN_MODEL_CONTEXT_WINDOW);
        assert_eq!(unknown.family, Family::DeepSeek);
    }

    #[test]
    fn the_no_match_answer_is_a_complete_stream_at_no_cost() {
        let answer = collect_events(&no_match_events());
        assert_eq!(answer.text(), NO_MATCH_ANSWER);
        assert_eq!(answer.stop_reason, StopReason::EndTurn);
        assert_eq!(answer.usage, Usage::new(0, 0));
    }

    /// Three documents through the real extraction and chunking, embedded by the local endpoint.
    async fn indexed(store: &SqliteStore, bedrock: &Client) {
        let documents = [
            ("handbook/office.md", "# Office hours\n\nThe office opens at 9am and closes at 6pm."),
            ("handbook/parking.txt", "Parking is free for visitors in the north garage."),
            ("finance/expenses.txt", "Travel expenses are reimbursed within thirty days."),
        ];
        let settings = ChunkSettings::new(500, 50).expect("chunk settings");
        for (key, body) in documents {
            let object = S3Object {
                source: DocumentRef::new("docs", key),
                content_type: None,
                user_metadata: BTreeMap::new(),
                body: body.as_bytes().to_vec(),
            };
            let document = extract(&object, 1 << 20).expect("extracts");
            let chunks = chunk(&document, &settings).expect("chunks");
            let request = EmbedRequest {
                dimensions: Some(DIMENSIONS),
                ..EmbedRequest::documents(chunks.iter().map(|c| c.text.clone()).collect())
            };
            let vectors = bedrock::embed(bedrock, &model(TITAN_V2), &request, &Default::default())
                .await
                .expect("embeds")
                .vectors;
            let stored = chunks.into_iter().zip(vectors).map(|(c, v)| StoredChunk::new(c, v));
            let sequencer = Sequencer::new("0A").expect("hex");
            store
                .replace_document(&StoredDocument::new(&document, sequencer), stored.collect())
                .await
                .expect("stored");
        }
    }

    #[tokio::test]
    async fn a_search_embeds_the_query_and_finds_the_matching_document_first() {
        let server = local("").await;
        let bedrock = client(&server, RetryConfig::disabled());
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(dir.path().join("v.db"), DIMENSIONS as usize).expect("open");
        indexed(&store, &bedrock).await;
        let embedding = EmbeddingConfig {
            model_id: model(TITAN_V2),
            model: EmbeddingModel::TitanTextV2,
            dimensions: DIMENSIONS,
        };
        let retriever = Retriever { bedrock: &bedrock, embedding: &embedding, store: &store };
        let search = |text: &str, k, prefix: Option<&str>| {
            let filter = SearchFilter { key_prefix: prefix.map(Into::into), ..Default::default() };
            Search::new(text, &SearchOptions { k: Some(k), filter: Some(filter) }, embedding.model)
                .expect("valid")
        };
        let found = retriever
            .search(&search("Is parking free for visitors?", 3, None), &CallOptions::default())
            .await
            .expect("found");
        assert_eq!(found.hits.len(), 3);
        assert_eq!(found.hits[0].source.key, "handbook/parking.txt");
        assert!(found.embedding_tokens.is_some_and(|n| n > 0));
        let office_only = retriever
            .search(
                &search("Is parking free?", 3, Some("handbook/office")),
                &CallOptions::default(),
            )
            .await
            .expect("found");
        let keys: Vec<&str> = office_only.hits.iter().map(|h| h.source.key.as_str()).collect();
        assert_eq!(keys, ["handbook/office.md"]);

        server.faults().set("throttle_every=1".parse().expect("spec")).expect("faults");
        let error = retriever
            .search(&search("parking", 1, None), &CallOptions::default())
            .await
            .expect_err("throttled");
        let RetrievalError::Embed { source, model: failed } = &error else {
            panic!("an embedding failure: {error:?}");
        };
        assert_eq!(failed.to_string(), TITAN_V2);
        assert_eq!(source.as_bedrock().map(|e| e.kind), Some(BedrockErrorKind::Throttling));
    }
}
