//! The local extractive text model: a deterministic stand-in for a chat model that answers by quoting
//! the sentences of the conversation's context most relevant to the question.
//!
//! It is not a language model and does not pretend to be one. Given the same conversation it always
//! gives the same answer, which makes it a fair backend for tests and benchmarks:
//! - the *question* is the last user turn (for a turn of several paragraphs, its last paragraph —
//!   that is where RAG prompts put the question);
//! - the *context* is everything else: the system prompt, earlier turns, the other paragraphs of the
//!   last turn, tool results and documents;
//! - context sentences are ranked with BM25 against the question's terms and the best ones are
//!   quoted, in context order; a sentence under a numbered source (`[3] …`) is followed by its
//!   citation `[3]`, so RAG answers cite their sources;
//! - when no sentence shares a meaningful term with the question, it says it does not know;
//! - when tools are offered and the question names one, it calls that tool (see [`ToolCall`]).
//!
//! Output is measured in *pieces* (a word with its trailing space, or a punctuation mark): `max_tokens`
//! limits pieces, stop sequences cut the text, and streaming delivers pieces a few at a time.

use std::collections::{HashMap, HashSet};

use unicode_segmentation::UnicodeSegmentation;

/// The answer given when nothing in the context is relevant to the question.
pub const DONT_KNOW: &str = "I don't know: nothing in the conversation answers that question.";

/// At most this many sentences are quoted in an answer.
const MAX_QUOTED_SENTENCES: usize = 3;

/// A sentence is quoted only if its score reaches this fraction of the best sentence's score.
const RELATIVE_SCORE_CUTOFF: f64 = 0.5;

/// What the model reads: context passages and the question.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conversation {
    /// Context text in conversation order (system prompt, earlier turns, documents, tool results).
    pub context: Vec<String>,
    /// The question to answer.
    pub question: String,
    /// Tools the caller offers.
    pub tools: Vec<ToolOffer>,
    /// The caller requires a tool call (`Some(None)`: any tool; `Some(Some(name))`: that tool).
    pub required_tool: Option<Option<String>>,
    /// The last turn carries tool results: the call was made, so answer from them.
    pub answers_tool_call: bool,
}

impl Conversation {
    /// A conversation whose question is the last paragraph of `last_turn`; the paragraphs before it
    /// join `context` (that is where RAG prompts put their sources).
    pub fn from_last_turn(mut context: Vec<String>, last_turn: &str) -> Self {
        let trimmed = last_turn.trim();
        let question = match trimmed.rfind("\n\n") {
            Some(at) => {
                context.push(trimmed[..at].to_owned());
                trimmed[at..].trim().to_owned()
            }
            None => trimmed.to_owned(),
        };
        Conversation { context, question, ..Conversation::default() }
    }
}

/// A tool the caller offers the model.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOffer {
    pub name: String,
    pub description: String,
    /// JSON Schema of the tool's input.
    pub input_schema: serde_json::Value,
}

/// A tool call the model decided to make.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub name: String,
    pub input: serde_json::Value,
}

/// Limits on one generation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GenerationParams {
    /// Maximum output pieces (tokens); `None` for no limit.
    pub max_tokens: Option<u32>,
    pub stop_sequences: Vec<String>,
}

/// Why generation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    EndTurn,
    MaxTokens,
    /// The stop sequence that matched.
    StopSequence(String),
    ToolUse,
}

/// One answer of the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// The answer text split into pieces (tokens); concatenated they are the answer.
    pub pieces: Vec<String>,
    /// A tool call, when the model chose one (then `finish` is [`Finish::ToolUse`]).
    pub tool_call: Option<ToolCall>,
    pub finish: Finish,
    /// Token estimate of everything the model read.
    pub input_tokens: u32,
}

impl Generation {
    /// The whole answer text.
    pub fn text(&self) -> String {
        self.pieces.concat()
    }

    pub fn output_tokens(&self) -> u32 {
        let call = self.tool_call.as_ref().map_or(0, |c| count_tokens(&c.input.to_string()));
        u32::try_from(self.pieces.len()).unwrap_or(u32::MAX).saturating_add(call)
    }
}

/// Counts tokens the way this model does: words and punctuation marks.
pub fn count_tokens(text: &str) -> u32 {
    u32::try_from(pieces_of(text).len()).unwrap_or(u32::MAX)
}

/// Answers `conversation` within `params`.
pub fn generate(conversation: &Conversation, params: &GenerationParams) -> Generation {
    let input_tokens = conversation
        .context
        .iter()
        .map(|c| count_tokens(c))
        .fold(count_tokens(&conversation.question), u32::saturating_add);

    if let Some(tool_call) = choose_tool(conversation) {
        return Generation {
            pieces: Vec::new(),
            tool_call: Some(tool_call),
            finish: Finish::ToolUse,
            input_tokens,
        };
    }

    let answer = compose_answer(conversation);
    let (text, mut finish) = apply_stop_sequences(&answer, &params.stop_sequences);
    let mut pieces = pieces_of(text);
    if let Some(max) = params.max_tokens {
        let max = usize::try_from(max).unwrap_or(usize::MAX);
        if pieces.len() > max {
            pieces.truncate(max);
            finish = Finish::MaxTokens;
        }
    }
    Generation { pieces, tool_call: None, finish, input_tokens }
}

fn apply_stop_sequences<'a>(answer: &'a str, stops: &[String]) -> (&'a str, Finish) {
    let first = stops
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| answer.find(s.as_str()).map(|at| (at, s)))
        .min_by_key(|(at, _)| *at);
    match first {
        Some((at, stop)) => (&answer[..at], Finish::StopSequence(stop.clone())),
        None => (answer, Finish::EndTurn),
    }
}

/// Splits text into pieces: each word keeps the whitespace that follows it; punctuation stands alone.
fn pieces_of(text: &str) -> Vec<String> {
    let mut pieces: Vec<String> = Vec::new();
    for segment in text.split_word_bounds() {
        if segment.chars().all(char::is_whitespace) {
            match pieces.last_mut() {
                Some(last) => last.push_str(segment),
                None => pieces.push(segment.to_owned()),
            }
        } else {
            pieces.push(segment.to_owned());
        }
    }
    pieces
}

/// A context sentence with the numbered source it sits under, if any.
#[derive(Debug)]
struct Sentence {
    text: String,
    source: Option<u32>,
    terms: Vec<String>,
}

fn compose_answer(conversation: &Conversation) -> String {
    let question_terms: HashSet<String> = terms_of(&conversation.question).into_iter().collect();
    let sentences = context_sentences(&conversation.context);
    let scores = bm25(&sentences, &question_terms);
    let best = scores.iter().copied().fold(0.0_f64, f64::max);
    if best <= 0.0 {
        return DONT_KNOW.to_owned();
    }
    let mut ranked: Vec<usize> = (0..sentences.len())
        .filter(|&i| scores[i] >= best * RELATIVE_SCORE_CUTOFF && scores[i] > 0.0)
        .collect();
    ranked.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let mut chosen: Vec<usize> = Vec::new();
    let mut seen_text = HashSet::new();
    for i in ranked {
        if seen_text.insert(sentences[i].text.to_lowercase()) {
            chosen.push(i);
        }
        if chosen.len() == MAX_QUOTED_SENTENCES {
            break;
        }
    }
    chosen.sort_unstable();
    let quoted: Vec<String> = chosen
        .into_iter()
        .map(|i| match sentences[i].source {
            Some(n) => format!("{} [{n}]", sentences[i].text),
            None => sentences[i].text.clone(),
        })
        .collect();
    format!("From the context: {}", quoted.join(" "))
}

/// Splits context into sentences, tracking `[n]` source markers at the start of lines.
fn context_sentences(context: &[String]) -> Vec<Sentence> {
    let mut sentences = Vec::new();
    for passage in context {
        let mut source = None;
        for line in passage.lines() {
            let mut line = line.trim();
            if line.is_empty() {
                continue;
            }
            if let Some((n, rest)) = source_marker(line) {
                source = Some(n);
                line = rest.trim();
            }
            for sentence in line.split_sentence_bounds() {
                let text = sentence.trim();
                let terms = terms_of(text);
                if !terms.is_empty() {
                    sentences.push(Sentence { text: text.to_owned(), source, terms });
                }
            }
        }
    }
    sentences
}

/// `[12] rest` → `(12, "rest")`.
fn source_marker(line: &str) -> Option<(u32, &str)> {
    let rest = line.strip_prefix('[')?;
    let close = rest.find(']')?;
    let n = rest[..close].parse().ok()?;
    Some((n, &rest[close + 1..]))
}

/// Lower-cased content words of `text`: stop words and one-letter words dropped, a plural `s` removed.
fn terms_of(text: &str) -> Vec<String> {
    text.unicode_words()
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() > 1 && !STOP_WORDS.contains(&w.as_str()))
        .map(|w| normalise_term(&w))
        .collect()
}

fn normalise_term(word: &str) -> String {
    match word.strip_suffix('s') {
        Some(stem) if stem.len() > 3 && !stem.ends_with('s') => stem.to_owned(),
        _ => word.to_owned(),
    }
}

/// BM25 (k1 = 1.2, b = 0.75) of each sentence against the question's terms.
fn bm25(sentences: &[Sentence], question: &HashSet<String>) -> Vec<f64> {
    const K1: f64 = 1.2;
    const B: f64 = 0.75;
    if sentences.is_empty() {
        return Vec::new();
    }
    let n = sentences.len() as f64;
    let avg_len = sentences.iter().map(|s| s.terms.len() as f64).sum::<f64>() / n;
    let mut doc_freq: HashMap<&str, f64> = HashMap::new();
    for sentence in sentences {
        let unique: HashSet<&str> = sentence.terms.iter().map(String::as_str).collect();
        for term in unique {
            if question.contains(term) {
                *doc_freq.entry(term).or_default() += 1.0;
            }
        }
    }
    sentences
        .iter()
        .map(|sentence| {
            let len = sentence.terms.len() as f64;
            question
                .iter()
                .map(|term| {
                    let tf = sentence.terms.iter().filter(|t| *t == term).count() as f64;
                    if tf == 0.0 {
                        return 0.0;
                    }
                    let df = doc_freq.get(term.as_str()).copied().unwrap_or(0.0);
                    let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
                    idf * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len / avg_len))
                })
                .sum()
        })
        .collect()
}

/// Decides whether to call a tool: when one is required, or when the question names an offered
/// tool (its name's words, or most of its description's content words). Tool results already in
/// the context mean the call was made: then the model answers from them instead.
fn choose_tool(conversation: &Conversation) -> Option<ToolCall> {
    if conversation.tools.is_empty()
        || (conversation.answers_tool_call && conversation.required_tool.is_none())
    {
        return None;
    }
    let question: HashSet<String> = terms_of(&conversation.question).into_iter().collect();
    let tool = match &conversation.required_tool {
        Some(Some(name)) => conversation.tools.iter().find(|t| &t.name == name)?,
        Some(None) => best_tool(&conversation.tools, &question).unwrap_or(&conversation.tools[0]),
        None => best_tool(&conversation.tools, &question)?,
    };
    Some(ToolCall {
        name: tool.name.clone(),
        input: fill_arguments(&tool.input_schema, &conversation.question),
    })
}

fn best_tool<'a>(tools: &'a [ToolOffer], question: &HashSet<String>) -> Option<&'a ToolOffer> {
    tools
        .iter()
        .map(|tool| {
            let name_terms = terms_of(&tool.name.replace(['_', '-'], " "));
            let hits = name_terms.iter().filter(|t| question.contains(*t)).count();
            (tool, hits)
        })
        .filter(|(_, hits)| *hits > 0)
        .max_by_key(|(_, hits)| *hits)
        .map(|(tool, _)| tool)
}

/// Fills a tool's required arguments from the question: a quoted phrase, else the last capitalised
/// word that does not start a sentence, else the whole question for strings; the first number for
/// numbers; `true` for booleans.
fn fill_arguments(schema: &serde_json::Value, question: &str) -> serde_json::Value {
    let mut input = serde_json::Map::new();
    let Some(properties) = schema.get("properties").and_then(|p| p.as_object()) else {
        return serde_json::Value::Object(input);
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(|r| r.as_array())
        .map(|r| r.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_else(|| properties.keys().map(String::as_str).collect());
    for name in required {
        let kind = properties.get(name).and_then(|p| p.get("type")).and_then(|t| t.as_str());
        let value = match kind {
            Some("number") => {
                first_number(question).map_or(serde_json::Value::Null, serde_json::Value::from)
            }
            Some("integer") => first_number(question)
                .map_or(serde_json::Value::Null, |n| serde_json::Value::from(n.round() as i64)),
            Some("boolean") => serde_json::Value::Bool(true),
            _ => serde_json::Value::String(salient_phrase(question)),
        };
        input.insert(name.to_owned(), value);
    }
    serde_json::Value::Object(input)
}

fn first_number(text: &str) -> Option<f64> {
    text.split_word_bounds().find_map(|w| w.parse::<f64>().ok())
}

fn salient_phrase(question: &str) -> String {
    if let Some(start) = question.find('"')
        && let Some(len) = question[start + 1..].find('"')
    {
        return question[start + 1..start + 1 + len].to_owned();
    }
    let words: Vec<&str> = question.unicode_words().collect();
    words
        .iter()
        .enumerate()
        .skip(1)
        .rev()
        .find(|(_, w)| w.chars().next().is_some_and(char::is_uppercase))
        .map(|(_, w)| (*w).to_owned())
        .unwrap_or_else(|| question.trim().to_owned())
}

const STOP_WORDS: &[&str] = &[
    "a", "about", "above", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as",
    "at", "be", "because", "been", "before", "being", "between", "both", "but", "by", "can",
    "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from",
    "further", "had", "has", "have", "having", "he", "her", "here", "hers", "him", "his", "how",
    "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my", "no",
    "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "out",
    "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their",
    "theirs", "them", "then", "there", "these", "they", "this", "those", "through", "to", "too",
    "under", "until", "up", "very", "was", "we", "were", "what", "when", "where", "which", "while",
    "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "tell", "please",
    "know", "question", "answer",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn conversation(context: &[&str], question: &str) -> Conversation {
        Conversation {
            context: context.iter().map(|c| (*c).to_owned()).collect(),
            question: question.to_owned(),
            ..Conversation::default()
        }
    }

    #[test]
    fn quotes_the_relevant_sentence_and_not_the_others() {
        let c = conversation(
            &[
                "The office opens at 9am. Parking is free for visitors. The cafeteria serves lunch from noon.",
            ],
            "When does the office open?",
        );
        let answer = generate(&c, &GenerationParams::default());
        assert_eq!(answer.finish, Finish::EndTurn);
        assert!(answer.text().contains("The office opens at 9am."), "{}", answer.text());
        assert!(!answer.text().contains("Parking"), "{}", answer.text());
    }

    #[test]
    fn cites_the_numbered_source_a_sentence_came_from() {
        let context = "Sources:\n[1] (s3://docs/a.md) Llamas live in the Andes.\n[2] (s3://docs/b.md) The warranty lasts two years from purchase.";
        let c = conversation(&[context], "How long does the warranty last?");
        let text = generate(&c, &GenerationParams::default()).text();
        assert!(text.contains("The warranty lasts two years from purchase. [2]"), "{text}");
        assert!(!text.contains("[1]"), "{text}");
    }

    #[test]
    fn says_it_does_not_know_when_nothing_is_relevant() {
        let c = conversation(&["Bananas are yellow."], "What is the capital of Peru?");
        assert_eq!(generate(&c, &GenerationParams::default()).text(), DONT_KNOW);
    }

    #[test]
    fn an_empty_conversation_gets_dont_know() {
        let c = conversation(&[], "");
        assert_eq!(generate(&c, &GenerationParams::default()).text(), DONT_KNOW);
    }

    #[test]
    fn the_last_paragraph_of_the_last_turn_is_the_question_and_the_rest_is_context() {
        let turn = "Sources:\n[1] (s3://docs/a.md) The pool opens in June.\n\nQuestion: When does the pool open?";
        let c = Conversation::from_last_turn(vec!["You answer from sources.".into()], turn);
        assert_eq!(c.question, "Question: When does the pool open?");
        assert_eq!(c.context.len(), 2);
        let text = generate(&c, &GenerationParams::default()).text();
        assert!(text.contains("The pool opens in June. [1]"), "{text}");
    }

    #[test]
    fn max_tokens_truncates_the_answer() {
        let c = conversation(
            &["The office opens at 9am on weekdays and 10am on weekends."],
            "When does the office open?",
        );
        let full = generate(&c, &GenerationParams::default());
        let short =
            generate(&c, &GenerationParams { max_tokens: Some(3), ..GenerationParams::default() });
        assert_eq!(short.pieces.len(), 3);
        assert_eq!(short.finish, Finish::MaxTokens);
        assert!(full.text().starts_with(&short.text()));
    }

    #[test]
    fn a_stop_sequence_cuts_the_answer_where_it_first_appears() {
        let c =
            conversation(&["The office opens at 9am on weekdays."], "When does the office open?");
        let params =
            GenerationParams { stop_sequences: vec!["9am".into()], ..GenerationParams::default() };
        let answer = generate(&c, &params);
        assert!(!answer.text().contains("9am"));
        assert!(answer.text().ends_with("at "), "{}", answer.text());
        assert_eq!(answer.finish, Finish::StopSequence("9am".into()));
    }

    #[test]
    fn the_same_conversation_always_gets_the_same_answer() {
        let c = conversation(
            &["Rust is fast. Rust is safe. Python is popular."],
            "Is Rust safe and fast?",
        );
        let a = generate(&c, &GenerationParams::default());
        let b = generate(&c, &GenerationParams::default());
        assert_eq!(a, b);
    }

    #[test]
    fn calls_the_tool_the_question_names_with_arguments_from_the_question() {
        let mut c = conversation(&[], "What is the weather in Paris today?");
        c.tools = vec![ToolOffer {
            name: "get_weather".into(),
            description: "Current weather for a city".into(),
            input_schema: serde_json::json!({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}),
        }];
        let answer = generate(&c, &GenerationParams::default());
        assert_eq!(answer.finish, Finish::ToolUse);
        let call = answer.tool_call.expect("a tool call");
        assert_eq!(call.name, "get_weather");
        assert_eq!(call.input, serde_json::json!({"city": "Paris"}));
    }

    #[test]
    fn after_the_tool_answered_the_model_answers_from_its_result() {
        let mut c = conversation(
            &["{\"city\":\"Paris\",\"forecast\":\"Sunny weather, 24 degrees.\"}"],
            "What is the weather in Paris today?",
        );
        c.tools = vec![ToolOffer {
            name: "get_weather".into(),
            description: "Current weather for a city".into(),
            input_schema: serde_json::json!({"type":"object","properties":{"city":{"type":"string"}}}),
        }];
        c.answers_tool_call = true;
        let answer = generate(&c, &GenerationParams::default());
        assert!(answer.tool_call.is_none());
        assert!(answer.text().contains("24 degrees"), "{}", answer.text());
    }

    #[test]
    fn a_question_that_names_no_tool_is_answered_from_context() {
        let mut c = conversation(&["The museum closes at 6pm."], "When does the museum close?");
        c.tools = vec![ToolOffer {
            name: "get_weather".into(),
            description: "Current weather".into(),
            input_schema: serde_json::json!({"type":"object"}),
        }];
        let answer = generate(&c, &GenerationParams::default());
        assert!(answer.tool_call.is_none());
        assert!(answer.text().contains("6pm"));
    }

    #[test]
    fn pieces_concatenate_to_the_text_and_count_as_tokens() {
        let pieces = pieces_of("Hello, world! Two  spaces.");
        assert_eq!(pieces.concat(), "Hello, world! Two  spaces.");
        assert_eq!(count_tokens("Hello, world!"), 4);
    }
}
