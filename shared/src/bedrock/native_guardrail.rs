//! The guardrail in native InvokeModel calls: where the request's guardrail goes (the
//! `guardrailIdentifier` / `guardrailVersion` / `trace` parameters, never the body), and how the
//! answer says it intervened.
//!
//! Per the InvokeModel API reference ("Use a guardrail" example,
//! <https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InvokeModel.html>), a
//! guarded answer's JSON carries `"amazon-bedrock-guardrailAction": "INTERVENED" | "NONE"` and,
//! with tracing on, `"amazon-bedrock-trace": {"guardrail": {…}}` (the page spells the inner key
//! `guardrails`; both are read). In streams the action arrives inside a chunk, possibly nested
//! (Anthropic puts it in `message_start.message`), so it is searched at any depth.

use aws_sdk_bedrockruntime::types::Trace;
use serde_json::Value;

use crate::chat::{GuardrailConfig, GuardrailOutcome};

/// The body key of the guardrail's action.
pub(crate) const ACTION_KEY: &str = "amazon-bedrock-guardrailAction";
/// The body key of the Bedrock trace.
const TRACE_KEY: &str = "amazon-bedrock-trace";

/// InvokeModel's guardrail parameters for a request's guardrail.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GuardrailParameters {
    pub identifier: Option<String>,
    pub version: Option<String>,
    pub trace: Option<Trace>,
}

impl GuardrailParameters {
    pub(crate) fn of(guardrail: Option<&GuardrailConfig>) -> Self {
        GuardrailParameters {
            identifier: guardrail.map(|g| g.identifier.clone()),
            version: guardrail.map(|g| g.version.clone()),
            trace: guardrail.filter(|g| g.trace).map(|_| Trace::Enabled),
        }
    }
}

/// The guardrail outcome a native answer (a whole body or one stream chunk) reports, if any.
/// Cheap on answers without a guardrail: the bytes are only parsed when the key is in them.
pub(crate) fn outcome_in(json: &[u8]) -> Option<GuardrailOutcome> {
    let key = ACTION_KEY.as_bytes();
    if !json.windows(key.len()).any(|window| window == key) {
        return None;
    }
    let value: Value = serde_json::from_slice(json).ok()?;
    let action = find_key(&value, ACTION_KEY)?.as_str()?;
    let trace = find_key(&value, TRACE_KEY)
        .map(|trace| trace.get("guardrail").or_else(|| trace.get("guardrails")).unwrap_or(trace));
    Some(GuardrailOutcome {
        intervened: action.eq_ignore_ascii_case("INTERVENED"),
        trace: trace.cloned(),
    })
}

/// The value of `key` in `value`: its own member first, then depth-first in its members.
fn find_key<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    match value {
        Value::Object(map) => {
            map.get(key).or_else(|| map.values().find_map(|member| find_key(member, key)))
        }
        Value::Array(items) => items.iter().find_map(|item| find_key(item, key)),
        _ => None,
    }
}

/// Merges a later outcome into an earlier one: once intervened, always intervened; the latest
/// trace wins.
pub(crate) fn merge(
    earlier: Option<GuardrailOutcome>,
    later: GuardrailOutcome,
) -> GuardrailOutcome {
    match earlier {
        Some(earlier) => GuardrailOutcome {
            intervened: earlier.intervened || later.intervened,
            trace: later.trace.or(earlier.trace),
        },
        None => later,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_documented_intervention_is_read_with_its_trace() {
        // The "Example response" of the InvokeModel API reference, with a trace of ours.
        let body = json!({
            "amazon-bedrock-guardrailAction": "INTERVENED",
            "amazon-bedrock-trace": { "guardrails": { "input": { "quarrydemo": { "topicPolicy": {
                "topics": [{ "name": "Investment advice", "type": "DENY", "action": "BLOCKED" }]
            }}}}}
        });
        let outcome = outcome_in(body.to_string().as_bytes()).expect("an outcome");
        assert!(outcome.intervened);
        assert_eq!(
            outcome.trace.expect("a trace")["input"]["quarrydemo"]["topicPolicy"]["topics"][0]["action"],
            "BLOCKED"
        );
        let none = json!({ "generation": "Hi", "amazon-bedrock-guardrailAction": "NONE" });
        let outcome = outcome_in(none.to_string().as_bytes()).expect("an outcome");
        assert_eq!(outcome, GuardrailOutcome { intervened: false, trace: None });
    }

    #[test]
    fn a_nested_stream_action_is_found_and_answers_without_one_are_not_parsed() {
        // Anthropic's message_start chunk carries the action inside `message`.
        let chunk = json!({"type": "message_start", "message": {"id": "msg_1", "content": [],
            "amazon-bedrock-guardrailAction": "INTERVENED", "usage": {"input_tokens": 5, "output_tokens": 0}}});
        assert!(outcome_in(chunk.to_string().as_bytes()).expect("found").intervened);
        assert_eq!(outcome_in(br#"{"generation": "The warranty lasts two years."}"#), None);
        assert_eq!(outcome_in(b"not json, amazon-bedrock-guardrailAction"), None);
    }

    #[test]
    fn parameters_carry_the_guardrail_and_ask_for_a_trace_only_when_wanted() {
        let guardrail = GuardrailConfig {
            identifier: "gr-abc123".into(),
            version: "DRAFT".into(),
            trace: true,
        };
        let parameters = GuardrailParameters::of(Some(&guardrail));
        assert_eq!(parameters.identifier.as_deref(), Some("gr-abc123"));
        assert_eq!(parameters.version.as_deref(), Some("DRAFT"));
        assert_eq!(parameters.trace, Some(Trace::Enabled));
        let quiet = GuardrailConfig { trace: false, ..guardrail };
        assert_eq!(GuardrailParameters::of(Some(&quiet)).trace, None);
        assert_eq!(
            GuardrailParameters::of(None),
            GuardrailParameters { identifier: None, version: None, trace: None }
        );
    }

    #[test]
    fn merged_outcomes_stay_intervened() {
        let blocked = GuardrailOutcome { intervened: true, trace: Some(json!({"a": 1})) };
        let quiet = GuardrailOutcome { intervened: false, trace: None };
        assert_eq!(merge(Some(blocked.clone()), quiet.clone()), blocked);
        assert_eq!(merge(None, quiet.clone()), quiet);
    }
}
