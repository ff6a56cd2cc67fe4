//! Checking a native body the way Bedrock does before the model sees it: Bedrock validates each
//! family's body against a JSON schema and answers every violation in one ValidationException,
//! `Malformed input request: #: required key [max_tokens] not found#: extraneous key
//! [inferenceConfig] is not permitted, please reformat your input and try again.` (the schema
//! validator's messages, concatenated). [`BodyCheck`] collects the same messages.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::malformed;
use crate::aws_error::AwsError;

/// A parsed JSON object body and the schema violations found in it so far.
#[derive(Debug, Clone)]
pub struct BodyCheck {
    fields: Map<String, Value>,
    errors: Vec<String>,
}

impl BodyCheck {
    /// Parses `bytes` as a JSON object (anything else is a ValidationException at once).
    pub fn parse(bytes: &[u8]) -> Result<Self, AwsError> {
        let body: Value = serde_json::from_slice(bytes)
            .map_err(|e| malformed(&format!("expected a JSON object body ({e})")))?;
        match body {
            Value::Object(fields) => Ok(BodyCheck { fields, errors: Vec::new() }),
            other => {
                Err(malformed(&format!("#: expected type: JSONObject, found: {}", kind_of(&other))))
            }
        }
    }

    /// The body's top-level fields.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }

    /// The value at `path` (`key`, `key/inner`, `key/0`), if present.
    pub fn get(&self, path: &str) -> Option<&Value> {
        let mut segments = path.split('/');
        let first = self.fields.get(segments.next()?)?;
        segments.try_fold(first, |value, segment| match value {
            Value::Object(fields) => fields.get(segment),
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?),
            _ => None,
        })
    }

    /// Records a violation at `path` (empty for the body itself).
    pub fn fail(&mut self, path: &str, message: impl AsRef<str>) {
        let at = if path.is_empty() { "#".to_owned() } else { format!("#/{path}") };
        self.errors.push(format!("{at}: {}", message.as_ref()));
    }

    /// Each of `keys` must be present at the top level.
    pub fn required(&mut self, keys: &[&str]) -> &mut Self {
        for key in keys {
            if !self.fields().contains_key(*key) {
                self.fail("", format!("required key [{key}] not found"));
            }
        }
        self
    }

    /// Top-level keys other than `allowed` are violations.
    pub fn allowed(&mut self, allowed: &[&str]) -> &mut Self {
        let extra: Vec<String> =
            self.fields().keys().filter(|k| !allowed.contains(&k.as_str())).cloned().collect();
        for key in extra {
            self.fail("", format!("extraneous key [{key}] is not permitted"));
        }
        self
    }

    /// When present, the value at `path` must be a string.
    pub fn string(&mut self, path: &str) -> &mut Self {
        self.typed(path, "String", Value::is_string)
    }

    /// When present, the value at `path` must be an array.
    pub fn array(&mut self, path: &str) -> &mut Self {
        self.typed(path, "JSONArray", Value::is_array)
    }

    /// When present, the value at `path` must be an object.
    pub fn object(&mut self, path: &str) -> &mut Self {
        self.typed(path, "JSONObject", Value::is_object)
    }

    /// When present, the value at `path` must be an integer within `min..=max`.
    pub fn integer(&mut self, path: &str, min: Option<i64>, max: Option<i64>) -> &mut Self {
        let value = self.get(path).cloned();
        match value {
            None => {}
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => {
                self.bounds(path, &n, min.map(|m| m as f64), max.map(|m| m as f64));
            }
            Some(other) => {
                self.fail(path, format!("expected type: Integer, found: {}", kind_of(&other)))
            }
        }
        self
    }

    /// When present, the value at `path` must be a number within `min..=max`.
    pub fn number(&mut self, path: &str, min: Option<f64>, max: Option<f64>) -> &mut Self {
        let value = self.get(path).cloned();
        match value {
            None => {}
            Some(Value::Number(n)) => self.bounds(path, &n, min, max),
            Some(other) => {
                self.fail(path, format!("expected type: Number, found: {}", kind_of(&other)))
            }
        }
        self
    }

    /// When present, the array at `path` must have `min..=max` items.
    pub fn items(&mut self, path: &str, min: Option<usize>, max: Option<usize>) -> &mut Self {
        let count = self.get(path).and_then(Value::as_array).map(Vec::len);
        if let Some(count) = count {
            if let Some(min) = min.filter(|min| count < *min) {
                self.fail(path, format!("expected minimum item count: {min}, found: {count}"));
            }
            if let Some(max) = max.filter(|max| count > *max) {
                self.fail(path, format!("expected maximum item count: {max}, found: {count}"));
            }
        }
        self
    }

    /// When present, the string at `path` must have `min..=max` characters.
    pub fn length(&mut self, path: &str, min: Option<usize>, max: Option<usize>) -> &mut Self {
        let length = self.get(path).and_then(Value::as_str).map(|s| s.chars().count());
        if let Some(length) = length {
            if let Some(min) = min.filter(|min| length < *min) {
                self.fail(path, format!("expected minLength: {min}, actual: {length}"));
            }
            if let Some(max) = max.filter(|max| length > *max) {
                self.fail(path, format!("expected maxLength: {max}, actual: {length}"));
            }
        }
        self
    }

    /// When present, the value at `path` must be one of `values`.
    pub fn one_of(&mut self, path: &str, values: &[&str]) -> &mut Self {
        let value = self.get(path).cloned();
        if let Some(value) = value
            && !value.as_str().is_some_and(|v| values.contains(&v))
        {
            self.fail(path, format!("{value} is not a valid enum value"));
        }
        self
    }

    /// The violations so far, as Bedrock's one ValidationException.
    pub fn check(&self) -> Result<(), AwsError> {
        if self.errors.is_empty() { Ok(()) } else { Err(malformed(&self.errors.concat())) }
    }

    /// The body as the family's wire type, once it has no violations; a shape serde refuses is a
    /// ValidationException naming the problem.
    pub fn into_wire<T: DeserializeOwned>(self) -> Result<T, AwsError> {
        self.check()?;
        serde_json::from_value(Value::Object(self.fields)).map_err(|e| malformed(&e.to_string()))
    }

    fn typed(&mut self, path: &str, expected: &str, is: fn(&Value) -> bool) -> &mut Self {
        let wrong = self.get(path).filter(|v| !is(v)).map(kind_of);
        if let Some(found) = wrong {
            self.fail(path, format!("expected type: {expected}, found: {found}"));
        }
        self
    }

    fn bounds(&mut self, path: &str, n: &serde_json::Number, min: Option<f64>, max: Option<f64>) {
        let value = n.as_f64().unwrap_or_default();
        if let Some(min) = min.filter(|min| value < *min) {
            self.fail(path, format!("{n} is not greater or equal to {}", bound(min)));
        }
        if let Some(max) = max.filter(|max| value > *max) {
            self.fail(path, format!("{n} is not less or equal to {}", bound(max)));
        }
    }
}

/// A schema bound as the validator prints it (`2048`, `0.5`).
fn bound(value: f64) -> String {
    if value.fract() == 0.0 { format!("{}", value as i64) } else { value.to_string() }
}

/// The validator's name for a JSON value's type.
pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(_) => "Number",
        Value::String(_) => "String",
        Value::Array(_) => "JSONArray",
        Value::Object(_) => "JSONObject",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(body: Value) -> BodyCheck {
        BodyCheck::parse(body.to_string().as_bytes()).expect("an object")
    }

    /// The message Bedrock gives a Converse-shaped body sent to Claude's InvokeModel (quoted in
    /// many public bug reports): every violation, concatenated.
    #[test]
    fn violations_are_reported_together_in_bedrocks_words() {
        let mut body = check(json!({"messages": [], "inferenceConfig": {"maxTokens": 10}}));
        body.required(&["anthropic_version", "max_tokens"]).allowed(&[
            "anthropic_version",
            "max_tokens",
            "messages",
        ]);
        let error = body.check().expect_err("three violations");
        assert_eq!(error.code, "ValidationException");
        assert_eq!(
            error.message,
            "Malformed input request: #: required key [anthropic_version] not found#: required key [max_tokens] not found#: extraneous key [inferenceConfig] is not permitted, please reformat your input and try again."
        );
    }

    /// `#/max_gen_len: 8192 is not less or equal to 2048` is the message Bedrock gives Llama 3
    /// bodies over the limit.
    #[test]
    fn ranges_types_counts_and_lengths() {
        let mut body = check(json!({
            "max_gen_len": 8192, "temperature": "hot", "top_p": -0.5, "texts": [], "prompt": "",
            "config": {"n": 1.5}, "kind": "x"
        }));
        body.integer("max_gen_len", Some(1), Some(2048))
            .number("temperature", Some(0.0), Some(1.0))
            .number("top_p", Some(0.0), Some(1.0))
            .items("texts", Some(1), Some(96))
            .length("prompt", Some(1), None)
            .integer("config/n", None, None)
            .one_of("kind", &["a", "b"])
            .string("missing");
        let message = body.check().expect_err("violations").message;
        for expected in [
            "#/max_gen_len: 8192 is not less or equal to 2048",
            "#/temperature: expected type: Number, found: String",
            "#/top_p: -0.5 is not greater or equal to 0",
            "#/texts: expected minimum item count: 1, found: 0",
            "#/prompt: expected minLength: 1, actual: 0",
            "#/config/n: expected type: Integer, found: Number",
            "#/kind: \"x\" is not a valid enum value",
        ] {
            assert!(message.contains(expected), "{expected} in {message}");
        }
    }

    #[test]
    fn bodies_that_are_not_objects_are_refused_at_once() {
        let error = BodyCheck::parse(b"[1]").expect_err("array");
        assert!(error.message.contains("#: expected type: JSONObject, found: JSONArray"));
        assert!(
            BodyCheck::parse(b"{oops")
                .expect_err("not json")
                .message
                .starts_with("Malformed input request")
        );
    }

    #[test]
    fn a_clean_body_becomes_its_wire_type() {
        #[derive(serde::Deserialize)]
        struct Wire {
            prompt: String,
        }
        let wire: Wire = check(json!({"prompt": "hi"})).into_wire().expect("valid");
        assert_eq!(wire.prompt, "hi");
        let error = check(json!({"prompt": 5})).into_wire::<Wire>().err().expect("serde refuses");
        assert!(error.message.contains("invalid type"), "{}", error.message);
    }
}
