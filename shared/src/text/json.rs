//! JSON: one `path: value` line per scalar, in document order (`items[0].name: Widget`).
//!
//! Object keys are joined with `.` (a key that is not letters, digits, `_` and `-` is written
//! `["key with spaces"]`), array items as `[i]`; strings are written as they are, other scalars
//! as JSON (`true`, `null`, `3.5`); empty objects and arrays as `{}` and `[]`. The document is
//! streamed through a serde visitor, so key order is kept and no value tree is built; serde_json's
//! nesting limit (128) bounds the recursion.

use std::fmt::{self, Write as _};

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::document::Format;
use super::extract::{ExtractError, Extracted};

/// The flattened lines of a JSON document, at most `max_text` bytes of them.
pub(super) fn extract(source: &str, max_text: u64) -> Result<Extracted, ExtractError> {
    let mut out = Lines { text: String::new(), max: max_text, over: false };
    let mut path = String::new();
    let mut deserializer = serde_json::Deserializer::from_str(source);
    let result = Flatten { out: &mut out, path: &mut path }
        .deserialize(&mut deserializer)
        .and_then(|()| deserializer.end());
    match result {
        Ok(()) => Ok(Extracted { text: out.text, title: None }),
        Err(_) if out.over => Err(ExtractError::TooLarge {
            what: "flattened JSON text",
            size: out.text.len() as u64,
            max: max_text,
        }),
        Err(err) => Err(ExtractError::Corrupt { format: Format::Json, reason: err.to_string() }),
    }
}

/// The output lines and their byte budget.
struct Lines {
    text: String,
    max: u64,
    over: bool,
}

impl Lines {
    fn line<E: de::Error>(&mut self, path: &str, value: fmt::Arguments<'_>) -> Result<(), E> {
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        if !path.is_empty() {
            self.text.push_str(path);
            self.text.push_str(": ");
        }
        // Writing to a String cannot fail.
        let _ = self.text.write_fmt(value);
        if self.text.len() as u64 > self.max {
            self.over = true;
            return Err(E::custom("the flattened text is over its size limit"));
        }
        Ok(())
    }
}

/// Flattens one JSON value found at `path`.
struct Flatten<'a> {
    out: &'a mut Lines,
    path: &'a mut String,
}

impl<'de> DeserializeSeed<'de> for Flatten<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Flatten<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.out.line(self.path, format_args!("{v}"))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.out.line(self.path, format_args!("{v}"))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.out.line(self.path, format_args!("{v}"))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.out.line(self.path, format_args!("{v}"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.out.line(self.path, format_args!("{v}"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.out.line(self.path, format_args!("null"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let base = self.path.len();
        let mut index = 0usize;
        loop {
            let _ = write!(self.path, "[{index}]");
            let item = seq.next_element_seed(Flatten { out: self.out, path: self.path })?;
            self.path.truncate(base);
            if item.is_none() {
                break;
            }
            index += 1;
        }
        // An empty array is written where it has a name; an empty document is no text.
        if index == 0 && !self.path.is_empty() {
            self.out.line(self.path, format_args!("[]"))
        } else {
            Ok(())
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let base = self.path.len();
        let mut entries = 0usize;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            push_key(self.path, &key);
            map.next_value_seed(Flatten { out: self.out, path: self.path })?;
            self.path.truncate(base);
            entries += 1;
        }
        if entries == 0 && !self.path.is_empty() {
            self.out.line(self.path, format_args!("{{}}"))
        } else {
            Ok(())
        }
    }
}

/// Appends `key` to `path`: `.key` (no dot at the start), or `["key"]` when it needs quoting.
fn push_key(path: &mut String, key: &str) {
    let plain = !key.is_empty() && key.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    if plain {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        path.push('[');
        path.push_str(&serde_json::Value::from(key).to_string());
        path.push(']');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flatten(source: &str) -> String {
        extract(source, 1 << 20).expect("valid JSON").text
    }

    #[test]
    fn nested_values_become_path_lines_in_document_order() {
        let text = flatten(
            r#"{"zeta": 1, "items": [{"name": "Widget", "tags": ["a", "b"]}, {"price": 3.5}],
                "ok": true, "none": null, "empty": {}, "list": [], "odd key": "x", "é": "ü"}"#,
        );
        assert_eq!(
            text,
            "zeta: 1\nitems[0].name: Widget\nitems[0].tags[0]: a\nitems[0].tags[1]: b\n\
             items[1].price: 3.5\nok: true\nnone: null\nempty: {}\nlist: []\n[\"odd key\"]: x\né: ü"
        );
    }

    #[test]
    fn top_level_arrays_and_scalars() {
        assert_eq!(flatten(r#"[{"a": 1}, 2]"#), "[0].a: 1\n[1]: 2");
        assert_eq!(flatten(r#""just a string""#), "just a string");
        assert_eq!(flatten("{}"), "");
        assert_eq!(flatten("[]"), "");
    }

    #[test]
    fn invalid_json_is_corrupt_with_its_position() {
        let err = extract("{\"a\": 1,,}", 1024).expect_err("two commas");
        assert!(
            matches!(&err, ExtractError::Corrupt { format: Format::Json, reason } if reason.contains("line 1")),
            "{err}"
        );
        let trailing = extract("{} {}", 1024).expect_err("two documents");
        assert!(matches!(trailing, ExtractError::Corrupt { .. }));
        let deep = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
        assert!(matches!(extract(&deep, 1 << 20), Err(ExtractError::Corrupt { .. })));
    }

    #[test]
    fn flattening_stops_at_the_text_budget() {
        let deep_paths = format!("{{\"{}\": [{}]}}", "k".repeat(200), vec!["1"; 1000].join(","));
        let err = extract(&deep_paths, 10_000).expect_err("over budget");
        assert!(matches!(err, ExtractError::TooLarge { max: 10_000, .. }), "{err}");
    }
}
