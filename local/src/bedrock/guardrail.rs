//! The local guardrail: a deterministic stand-in for Amazon Bedrock Guardrails, and the
//! ApplyGuardrail operation.
//!
//! A local guardrail blocks text that contains one of its custom words (a word policy) or one of
//! the terms of a denied topic (a topic policy), matched case-insensitively on whole words. It
//! answers with the same shapes as Bedrock (`action`, `outputs` with the blocked message,
//! `assessments` naming the matched words and topics, `usage` in text units of 1,000 characters),
//! so applications can exercise their "guardrail intervened" paths locally. It classifies nothing
//! beyond those word lists.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use unicode_segmentation::UnicodeSegmentation;

use crate::aws_error::AwsError;

/// The id of the guardrail every local endpoint has unless configured otherwise.
pub const DEMO_GUARDRAIL_ID: &str = "quarrydemo";

/// Characters per guardrail text unit (Bedrock bills and reports usage in these units).
const CHARS_PER_UNIT: usize = 1000;

/// A denied topic: its name and the words or phrases that mean a text is about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeniedTopic {
    pub name: String,
    pub terms: Vec<String>,
}

/// One local guardrail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalGuardrail {
    /// The guardrail id (lower-case letters and digits, as Bedrock's); ARNs ending in
    /// `guardrail/<id>` resolve to it too.
    pub id: String,
    /// Words or phrases the word policy blocks.
    pub blocked_words: Vec<String>,
    pub denied_topics: Vec<DeniedTopic>,
    /// The text that replaces a blocked input.
    pub blocked_input_message: String,
    /// The text that replaces a blocked model output.
    pub blocked_output_message: String,
}

impl LocalGuardrail {
    /// The demo guardrail: an "Investment advice" denied topic and a few blocked words.
    pub fn demo() -> Self {
        LocalGuardrail {
            id: DEMO_GUARDRAIL_ID.to_owned(),
            blocked_words: ["classified", "top secret", "password dump"]
                .map(str::to_owned)
                .to_vec(),
            denied_topics: vec![DeniedTopic {
                name: "Investment advice".to_owned(),
                terms: [
                    "invest",
                    "investment",
                    "investing",
                    "stock tip",
                    "stocks",
                    "portfolio",
                    "crypto",
                ]
                .map(str::to_owned)
                .to_vec(),
            }],
            blocked_input_message: "Sorry, the model cannot answer this question.".to_owned(),
            blocked_output_message: "Sorry, the model cannot answer this question.".to_owned(),
        }
    }
}

/// Whose text is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Source {
    Input,
    Output,
}

/// The outcome of checking some text.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Blocked words found, in the order of the guardrail's list.
    pub words: Vec<String>,
    /// Denied topics found, by name.
    pub topics: Vec<String>,
    /// Text units checked.
    pub units: u32,
    /// Characters checked.
    pub characters: u32,
}

impl Verdict {
    pub fn intervened(&self) -> bool {
        !self.words.is_empty() || !self.topics.is_empty()
    }

    /// The `GuardrailAssessment` JSON: the word and topic policies that matched.
    pub fn assessment(&self) -> Value {
        let mut assessment = serde_json::Map::new();
        if !self.topics.is_empty() {
            let topics: Vec<Value> = self
                .topics
                .iter()
                .map(|name| json!({"name": name, "type": "DENY", "action": "BLOCKED", "detected": true}))
                .collect();
            assessment.insert("topicPolicy".into(), json!({ "topics": topics }));
        }
        if !self.words.is_empty() {
            let words: Vec<Value> = self
                .words
                .iter()
                .map(|word| json!({"match": word, "action": "BLOCKED", "detected": true}))
                .collect();
            assessment.insert(
                "wordPolicy".into(),
                json!({ "customWords": words, "managedWordLists": [] }),
            );
        }
        assessment.insert(
            "invocationMetrics".into(),
            json!({
                "guardrailProcessingLatency": 0,
                "usage": self.usage(),
                "guardrailCoverage": self.coverage(),
            }),
        );
        Value::Object(assessment)
    }

    /// The `GuardrailUsage` JSON: the word and topic policies each used `units`.
    pub fn usage(&self) -> Value {
        json!({
            "topicPolicyUnits": self.units,
            "contentPolicyUnits": 0,
            "wordPolicyUnits": self.units,
            "sensitiveInformationPolicyUnits": 0,
            "sensitiveInformationPolicyFreeUnits": 0,
            "contextualGroundingPolicyUnits": 0,
        })
    }

    /// The `GuardrailCoverage` JSON.
    pub fn coverage(&self) -> Value {
        json!({"textCharacters": {"guarded": self.characters, "total": self.characters}})
    }
}

/// The guardrails one endpoint serves, by id.
#[derive(Debug, Clone, Default)]
pub struct Guardrails {
    by_id: HashMap<String, LocalGuardrail>,
}

impl Guardrails {
    pub fn new(guardrails: impl IntoIterator<Item = LocalGuardrail>) -> Self {
        Guardrails { by_id: guardrails.into_iter().map(|g| (g.id.clone(), g)).collect() }
    }

    /// The guardrail an identifier (id or ARN) and version name, or ResourceNotFoundException.
    /// Versions are `DRAFT` or a number, as Bedrock's; every version of a local guardrail is the same.
    pub fn find(&self, identifier: &str, version: &str) -> Result<&LocalGuardrail, AwsError> {
        let version_ok = version == "DRAFT"
            || (!version.is_empty()
                && version.len() <= 8
                && version.chars().all(|c| c.is_ascii_digit())
                && !version.starts_with('0'));
        if !version_ok {
            return Err(AwsError::validation(format!(
                "1 validation error detected: Value '{version}' at 'guardrailVersion' failed to satisfy constraint: Member must satisfy regular expression pattern: (([1-9][0-9]{{0,7}})|(DRAFT))"
            )));
        }
        let id = match identifier.rsplit_once(":guardrail/") {
            Some((_, id)) if identifier.starts_with("arn:") => id,
            _ => identifier,
        };
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
            return Err(AwsError::validation(format!(
                "1 validation error detected: Value '{identifier}' at 'guardrailIdentifier' failed to satisfy constraint: Member must satisfy regular expression pattern: (([a-z0-9]+)|(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{{1,20}}:[0-9]{{12}}:guardrail/[a-z0-9]+))"
            )));
        }
        self.by_id.get(id).ok_or_else(|| {
            AwsError::not_found(format!(
                "The guardrail identifier or version provided in the request does not exist: {identifier} (version {version})."
            ))
        })
    }
}

impl LocalGuardrail {
    /// Checks texts against the word and topic policies.
    pub fn check<'a>(&self, texts: impl IntoIterator<Item = &'a str>) -> Verdict {
        let texts: Vec<&str> = texts.into_iter().collect();
        let words: Vec<Vec<String>> = texts.iter().map(|t| words_of(t)).collect();
        let contains = |phrase: &str| {
            let phrase = words_of(phrase);
            !phrase.is_empty()
                && words.iter().any(|w| w.windows(phrase.len()).any(|win| win == phrase))
        };
        let matched_words = self.blocked_words.iter().filter(|w| contains(w)).cloned().collect();
        let topics = self
            .denied_topics
            .iter()
            .filter(|topic| topic.terms.iter().any(|t| contains(t)))
            .map(|topic| topic.name.clone())
            .collect();
        let units =
            texts.iter().map(|t| t.chars().count().div_ceil(CHARS_PER_UNIT).max(1)).sum::<usize>();
        let characters = texts.iter().map(|t| t.chars().count()).sum::<usize>();
        Verdict {
            words: matched_words,
            topics,
            units: u32::try_from(units).unwrap_or(u32::MAX),
            characters: u32::try_from(characters).unwrap_or(u32::MAX),
        }
    }

    /// The message that replaces blocked text from `source`.
    pub fn blocked_message(&self, source: Source) -> &str {
        match source {
            Source::Input => &self.blocked_input_message,
            Source::Output => &self.blocked_output_message,
        }
    }
}

fn words_of(text: &str) -> Vec<String> {
    text.unicode_words().map(str::to_lowercase).collect()
}

/// The ApplyGuardrail request body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyGuardrailRequest {
    pub source: Source,
    pub content: Vec<GuardrailContentBlock>,
    /// `INTERVENTIONS` (default) or `FULL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_scope: Option<String>,
}

/// A block of content to check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum GuardrailContentBlock {
    Text(GuardrailTextBlock),
    Image(Value),
}

/// Text to check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuardrailTextBlock {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualifiers: Option<Vec<String>>,
}

/// Answers ApplyGuardrail: the response body JSON.
pub fn apply(
    guardrail: &LocalGuardrail,
    request: &ApplyGuardrailRequest,
) -> Result<Value, AwsError> {
    if request.content.is_empty() {
        return Err(AwsError::validation(
            "1 validation error detected: Value at 'content' failed to satisfy constraint: Member must not be null",
        ));
    }
    let texts = request.content.iter().filter_map(|block| match block {
        GuardrailContentBlock::Text(text) => Some(text.text.as_str()),
        GuardrailContentBlock::Image(_) => None,
    });
    let verdict = guardrail.check(texts);
    let (action, outputs) = if verdict.intervened() {
        ("GUARDRAIL_INTERVENED", json!([{ "text": guardrail.blocked_message(request.source) }]))
    } else {
        ("NONE", json!([]))
    };
    let mut body = json!({
        "usage": verdict.usage(),
        "action": action,
        "outputs": outputs,
        "assessments": [verdict.assessment()],
        "guardrailCoverage": verdict.coverage(),
    });
    if verdict.intervened() {
        body["actionReason"] = json!("Guardrail blocked.");
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> LocalGuardrail {
        LocalGuardrail::demo()
    }

    /// The request shape of "Use the ApplyGuardrail API in your application"
    /// (https://docs.aws.amazon.com/bedrock/latest/userguide/guardrails-use-independent-api.html):
    /// `{"source": "INPUT" | "OUTPUT", "content": [{"text": {"text": "string"}}]}`.
    #[test]
    fn a_denied_topic_in_the_documented_request_shape_intervenes() {
        let request: ApplyGuardrailRequest = serde_json::from_value(json!({
            "source": "INPUT",
            "content": [{"text": {"text": "Which stocks should I buy for my retirement portfolio?"}}]
        }))
        .expect("documented request");
        let body = apply(&demo(), &request).expect("answer");
        assert_eq!(body["action"], "GUARDRAIL_INTERVENED");
        assert_eq!(
            body["outputs"],
            json!([{"text": "Sorry, the model cannot answer this question."}])
        );
        assert_eq!(
            body["assessments"][0]["topicPolicy"]["topics"][0],
            json!({"name": "Investment advice", "type": "DENY", "action": "BLOCKED", "detected": true})
        );
        assert_eq!(body["usage"]["topicPolicyUnits"], 1);
    }

    #[test]
    fn harmless_text_passes_with_no_outputs() {
        let request = ApplyGuardrailRequest {
            source: Source::Output,
            content: vec![GuardrailContentBlock::Text(GuardrailTextBlock {
                text: "The office opens at 9am.".into(),
                qualifiers: None,
            })],
            output_scope: None,
        };
        let body = apply(&demo(), &request).expect("answer");
        assert_eq!(body["action"], "NONE");
        assert_eq!(body["outputs"], json!([]));
        assert!(body.get("actionReason").is_none());
    }

    #[test]
    fn blocked_words_match_whole_words_and_phrases_case_insensitively() {
        let guardrail = demo();
        assert_eq!(guardrail.check(["This is TOP SECRET material."]).words, ["top secret"]);
        assert!(
            !guardrail.check(["The topsecret tag is fine, and so is declassifying."]).intervened()
        );
        assert!(!guardrail.check(["The secret is on top."]).intervened());
    }

    #[test]
    fn usage_counts_units_of_a_thousand_characters_per_text() {
        let long = "a".repeat(2500);
        let verdict = demo().check([long.as_str(), "short"]);
        assert_eq!(verdict.units, 4);
        assert_eq!(verdict.characters, 2505);
    }

    #[test]
    fn guardrails_are_found_by_id_or_arn_and_checked_for_version() {
        let guardrails = Guardrails::new([demo()]);
        assert!(guardrails.find(DEMO_GUARDRAIL_ID, "DRAFT").is_ok());
        assert!(
            guardrails
                .find("arn:aws:bedrock:us-east-1:123456789012:guardrail/quarrydemo", "1")
                .is_ok()
        );
        let missing = guardrails.find("nosuch", "1").expect_err("unknown id");
        assert_eq!(missing.code, "ResourceNotFoundException");
        let bad_version = guardrails.find(DEMO_GUARDRAIL_ID, "v1").expect_err("bad version");
        assert_eq!(bad_version.code, "ValidationException");
        let bad_id = guardrails.find("Not-An-Id", "1").expect_err("bad identifier");
        assert_eq!(bad_id.code, "ValidationException");
        assert!(bad_id.message.contains("'guardrailIdentifier'"), "{}", bad_id.message);
    }
}
