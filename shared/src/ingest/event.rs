//! S3 event notifications as the ingest queue delivers them, read leniently.
//!
//! A queue message body is one of:
//! - an S3 event notification, `{"Records":[…]}` (Amazon S3 User Guide, "Event message
//!   structure", `notification-content-structure`);
//! - the `s3:TestEvent` message S3 sends when a notification configuration is saved;
//! - either of those inside an SNS envelope (`{"Type":"Notification","Message":"…"}`), for an
//!   S3 → SNS → SQS fan-out.
//!
//! Each record is read on its own, so one unreadable record fails alone. Only what ingestion
//! needs is required: `eventName`, the bucket name and the object key. `userIdentity`,
//! `requestParameters`, `responseElements`, `eTag`, `versionId`, `size` may be missing (S3-compatible
//! servers and moto leave them out). The key is decoded as S3 encodes it
//! (`application/x-www-form-urlencoded`: `+` is a space, `%XX` a byte; `%2F` from servers that
//! encode `/` too); a malformed escape or a key that is not UTF-8 fails the record.
//!
//! Events of one key are ordered by the record's `sequencer`. A record without a valid one (moto
//! sends none) is ordered by its `eventTime` instead — ISO-8601, with or without a UTC offset (none
//! means UTC) — as the 16-hex-digit count of microseconds since 1970: comparable among such events
//! of one key, and only among them. A record with neither fails.

use serde::Deserialize;
use serde_json::Value;
use time::format_description::well_known::{Iso8601, Rfc3339};
use time::{OffsetDateTime, PrimitiveDateTime};

use super::IngestError;
use crate::text::DocumentRef;
use crate::vector::Sequencer;

/// What a message body holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Notification {
    /// The `s3:TestEvent` message: nothing to do.
    Test {
        /// The bucket whose configuration was saved.
        bucket: Option<String>,
    },
    /// Event records, each read on its own.
    Records(Vec<Result<ObjectEvent, IngestError>>),
}

/// What an event means for the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventAction {
    /// `ObjectCreated:*`: the object has new content.
    Created,
    /// `ObjectRemoved:DeleteMarkerCreated`, `ObjectRemoved:Delete` without a version, and their
    /// `LifecycleExpiration:*` counterparts: the object is gone.
    Removed,
    /// `ObjectRemoved:Delete` (or `LifecycleExpiration:Delete`) of one version in a versioned
    /// bucket: another version may now be the current object, or none.
    VersionRemoved,
    /// Anything else (tagging, ACLs, restores, replication…): the content did not change.
    Other,
}

/// Where an event's [`ObjectEvent::sequencer`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderedBy {
    /// The record's `sequencer`.
    Sequencer,
    /// The record's `eventTime` (the record has no valid sequencer).
    EventTime,
}

/// One S3 event record, read.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectEvent {
    /// The `eventName` without an `s3:` prefix (`ObjectCreated:Put`).
    pub name: String,
    /// What the event means for the document.
    pub action: EventAction,
    /// The object: bucket, decoded key, and the version id and ETag the event names.
    pub source: DocumentRef,
    /// The event's position among the events of its key.
    pub sequencer: Sequencer,
    /// Where the sequencer comes from.
    pub ordered_by: OrderedBy,
}

/// One record as sent; every field optional, unknown fields ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawRecord {
    event_source: Option<String>,
    event_time: Option<String>,
    event_name: Option<String>,
    s3: Option<RawEntity>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawEntity {
    bucket: Option<RawBucket>,
    object: Option<RawObject>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawBucket {
    name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawObject {
    key: Option<String>,
    version_id: Option<String>,
    e_tag: Option<String>,
    sequencer: Option<String>,
}

/// Reads a queue message body.
pub fn parse_message(body: &str) -> Result<Notification, IngestError> {
    let value: Value = serde_json::from_str(body).map_err(|error| IngestError::Message {
        reason: format!("the body is not JSON ({error}): {}", excerpt(body)),
    })?;
    parse_value(&value, true)
}

fn parse_value(value: &Value, may_unwrap_sns: bool) -> Result<Notification, IngestError> {
    if value.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        let bucket = value.get("Bucket").and_then(Value::as_str).map(str::to_owned);
        return Ok(Notification::Test { bucket });
    }
    if let Some(records) = value.get("Records").and_then(Value::as_array) {
        return Ok(Notification::Records(records.iter().map(parse_record).collect()));
    }
    if may_unwrap_sns
        && value.get("Type").and_then(Value::as_str) == Some("Notification")
        && let Some(message) = value.get("Message").and_then(Value::as_str)
    {
        let inner: Value = serde_json::from_str(message).map_err(|error| IngestError::Message {
            reason: format!("the SNS notification's Message is not JSON ({error})"),
        })?;
        return parse_value(&inner, false);
    }
    Err(IngestError::Message {
        reason: format!(
            "expected {{\"Records\":[…]}} or an s3:TestEvent, got {}",
            excerpt(&value.to_string())
        ),
    })
}

/// Reads one record.
pub fn parse_record(value: &Value) -> Result<ObjectEvent, IngestError> {
    let invalid = |reason: String| IngestError::Record { reason };
    let raw: RawRecord = serde_json::from_value(value.clone())
        .map_err(|error| invalid(format!("a field has the wrong type: {error}")))?;
    if let Some(source) = raw.event_source.as_deref()
        && source != "aws:s3"
    {
        return Err(invalid(format!("eventSource is `{source}`, not `aws:s3`")));
    }
    let name = raw.event_name.ok_or_else(|| invalid("it has no eventName".to_owned()))?;
    let name = name.strip_prefix("s3:").unwrap_or(&name).to_owned();
    let entity = raw.s3.unwrap_or_default();
    let bucket = entity
        .bucket
        .and_then(|bucket| bucket.name)
        .filter(|name| !name.is_empty())
        .ok_or_else(|| invalid("it has no s3.bucket.name".to_owned()))?;
    let object = entity.object.unwrap_or_default();
    let encoded = object.key.ok_or_else(|| invalid("it has no s3.object.key".to_owned()))?;
    let key = decode_key(&encoded).map_err(invalid)?;
    let version_id = object.version_id.filter(|version| !version.is_empty());
    let action = action_of(&name, version_id.is_some());
    let (sequencer, ordered_by) =
        match object.sequencer.as_deref().and_then(|s| Sequencer::new(s).ok()) {
            Some(sequencer) => (sequencer, OrderedBy::Sequencer),
            None => {
                let time = raw.event_time.as_deref().and_then(time_sequencer).ok_or_else(|| {
                    invalid(format!(
                        "it has no hexadecimal sequencer (got {:?}) and no ISO-8601 eventTime \
                         (got {:?}) to order it by",
                        object.sequencer, raw.event_time
                    ))
                })?;
                (time, OrderedBy::EventTime)
            }
        };
    let etag = object.e_tag.map(|etag| etag.trim_matches('"').to_owned());
    Ok(ObjectEvent {
        name,
        action,
        source: DocumentRef { bucket, key, version_id, etag: etag.filter(|e| !e.is_empty()) },
        sequencer,
        ordered_by,
    })
}

fn action_of(name: &str, has_version: bool) -> EventAction {
    let (kind, detail) = name.split_once(':').unwrap_or((name, ""));
    match (kind, detail) {
        ("ObjectCreated", _) => EventAction::Created,
        ("ObjectRemoved" | "LifecycleExpiration", "Delete") if has_version => {
            EventAction::VersionRemoved
        }
        ("ObjectRemoved" | "LifecycleExpiration", "Delete" | "DeleteMarkerCreated") => {
            EventAction::Removed
        }
        ("ObjectRemoved", _) => EventAction::Removed,
        _ => EventAction::Other,
    }
}

/// Decodes an event's object key: `+` is a space and `%XX` a byte (any byte, `/` included); the
/// bytes must be UTF-8. The error says what is wrong.
pub fn decode_key(encoded: &str) -> Result<String, String> {
    let bytes = encoded.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'+' => decoded.push(b' '),
            b'%' => {
                let hex = bytes.get(at + 1..at + 3).filter(|h| h.iter().all(u8::is_ascii_hexdigit));
                let Some(hex) = hex else {
                    return Err(format!(
                        "the object key {encoded:?} has a `%` at byte {at} not followed by two \
                         hexadecimal digits; event keys are URL-encoded"
                    ));
                };
                decoded.push((hex_value(hex[0]) << 4) | hex_value(hex[1]));
                at += 2;
            }
            other => decoded.push(other),
        }
        at += 1;
    }
    if decoded.is_empty() {
        return Err("the object key is empty".to_owned());
    }
    String::from_utf8(decoded).map_err(|error| {
        format!(
            "the object key {encoded:?} decodes to bytes that are not UTF-8 (at byte {})",
            error.utf8_error().valid_up_to()
        )
    })
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

/// The sequencer standing in for a missing one: microseconds since 1970 of `event_time`, as 16
/// hex digits.
fn time_sequencer(event_time: &str) -> Option<Sequencer> {
    let text = event_time.trim();
    let utc = OffsetDateTime::parse(text, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(text, &Iso8601::DEFAULT))
        .or_else(|_| PrimitiveDateTime::parse(text, &Iso8601::DEFAULT).map(|t| t.assume_utc()))
        .ok()?;
    let micros = u64::try_from(utc.unix_timestamp_nanos() / 1_000).unwrap_or(0);
    Sequencer::new(&format!("{micros:016X}")).ok()
}

/// The start of `text`, for error messages.
fn excerpt(text: &str) -> String {
    const MAX: usize = 120;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The `s3:ObjectCreated:Put` example of the Amazon S3 User Guide page "Event message
    /// structure" (notification-content-structure), verbatim.
    const DOC_PUT_EXAMPLE: &str = include_str!("../../tests/fixtures/s3/put-example.json");

    /// The test message of the same page, verbatim.
    const DOC_TEST_EVENT: &str = include_str!("../../tests/fixtures/s3/test-event.json");

    fn only_record(body: &str) -> Result<ObjectEvent, IngestError> {
        match parse_message(body).expect("a notification") {
            Notification::Records(mut records) => {
                assert_eq!(records.len(), 1);
                records.remove(0)
            }
            other => panic!("expected records, got {other:?}"),
        }
    }

    fn seq(value: &str) -> Sequencer {
        Sequencer::new(value).expect("hex")
    }

    /// A moto-style record: no userIdentity, requestParameters, responseElements or sequencer,
    /// and an `eventTime` without an offset (moto's `strftime("%Y-%m-%dT%H:%M:%S.%f")`).
    fn moto_record(name: &str, key: &str, time: &str) -> Value {
        json!({
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": "us-east-1",
            "eventTime": time,
            "eventName": name,
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "quarry-ingest",
                "bucket": {"name": "docs", "arn": "arn:aws:s3:::docs"},
                "object": {"key": key, "size": 12, "eTag": "\"0cc175b9c0f1b6a831c399e269772661\""}
            }
        })
    }

    #[test]
    fn the_documented_put_event_is_read_with_version_etag_and_sequencer() {
        let event = only_record(DOC_PUT_EXAMPLE).expect("a valid record");
        assert_eq!(event.name, "ObjectCreated:Put");
        assert_eq!(event.action, EventAction::Created);
        assert_eq!(event.source.bucket, "mybucket");
        assert_eq!(event.source.key, "HappyFace.jpg");
        assert_eq!(event.source.version_id.as_deref(), Some("096fKKXTRTtl3on89fVO.nfljtsv6qko"));
        assert_eq!(event.source.etag.as_deref(), Some("d41d8cd98f00b204e9800998ecf8427e"));
        assert_eq!(event.sequencer, seq("0055AED6DCD90281E5"));
        assert_eq!(event.ordered_by, OrderedBy::Sequencer);
    }

    #[test]
    fn the_documented_test_event_is_recognised() {
        assert_eq!(
            parse_message(DOC_TEST_EVENT).expect("a test event"),
            Notification::Test { bucket: Some("bucketname".to_owned()) }
        );
    }

    #[test]
    fn moto_records_without_optional_fields_are_ordered_by_event_time() {
        let body = json!({"Records": [
            moto_record("ObjectCreated:Put", "notes/a.txt", "2024-05-01T12:00:00.000001"),
            moto_record("ObjectRemoved:Delete", "notes/a.txt", "2024-05-01T12:00:00.000002"),
        ]})
        .to_string();
        let Notification::Records(records) = parse_message(&body).expect("records") else {
            panic!("expected records");
        };
        let created = records[0].as_ref().expect("created");
        let removed = records[1].as_ref().expect("removed");
        assert_eq!(created.source.key, "notes/a.txt");
        assert_eq!(created.source.etag.as_deref(), Some("0cc175b9c0f1b6a831c399e269772661"));
        assert_eq!(created.source.version_id, None);
        assert_eq!(created.ordered_by, OrderedBy::EventTime);
        assert_eq!(removed.action, EventAction::Removed);
        assert!(removed.sequencer > created.sequencer, "a microsecond later is later");
        // 2024-05-01T12:00:00.000001Z is 1_714_564_800_000_001 µs after the epoch.
        assert_eq!(created.sequencer, seq(&format!("{:016X}", 1_714_564_800_000_001_u64)));
        // An offset, and a missing offset (UTC), name the same instant.
        let with_offset = moto_record("ObjectCreated:Put", "a", "2024-05-01T14:00:00.000001+02:00");
        let plain = moto_record("ObjectCreated:Put", "a", "2024-05-01T12:00:00.000001Z");
        assert_eq!(parse_record(&with_offset).expect("offset").sequencer, created.sequencer);
        assert_eq!(parse_record(&plain).expect("Z").sequencer, created.sequencer);
    }

    #[test]
    fn an_invalid_sequencer_falls_back_to_the_event_time_and_neither_fails_the_record() {
        let mut record = moto_record("ObjectCreated:Put", "a.txt", "1970-01-01T00:00:00.123Z");
        record["s3"]["object"]["sequencer"] = json!("Happy Sequencer");
        let event = parse_record(&record).expect("ordered by time");
        assert_eq!(event.ordered_by, OrderedBy::EventTime);
        assert_eq!(event.sequencer, seq("000000000001E078"), "123,000 µs");
        record["eventTime"] = json!("yesterday");
        let err = parse_record(&record).expect_err("nothing to order by");
        assert!(err.to_string().contains("no hexadecimal sequencer"), "{err}");
    }

    #[test]
    fn keys_are_form_url_decoded() {
        for (encoded, decoded) in [
            ("my+report%282024%29.md", "my report(2024).md"),
            ("red+flower.jpg", "red flower.jpg"),
            ("docs%2Fguides%2Fsetup.md", "docs/guides/setup.md"),
            ("docs/a%2Bb%25c.txt", "docs/a+b%c.txt"),
            ("r%C3%A9sum%C3%A9+%281%29.pdf", "résumé (1).pdf"),
            ("%e2%82%ac.txt", "€.txt"),
            ("plain/key.txt", "plain/key.txt"),
        ] {
            assert_eq!(decode_key(encoded).as_deref(), Ok(decoded), "{encoded}");
        }
    }

    #[test]
    fn malformed_key_encodings_fail_only_their_record() {
        for (encoded, problem) in [
            ("100%.txt", "not followed by two hexadecimal digits"),
            ("a%2", "not followed by two hexadecimal digits"),
            ("a%+1.txt", "not followed by two hexadecimal digits"),
            ("caf%E9.txt", "not UTF-8"),
            ("", "empty"),
        ] {
            let err = decode_key(encoded).expect_err(encoded);
            assert!(err.contains(problem), "{encoded}: {err}");
        }
        let body = json!({"Records": [
            moto_record("ObjectCreated:Put", "ok.txt", "2024-05-01T12:00:00Z"),
            moto_record("ObjectCreated:Put", "bad%zz.txt", "2024-05-01T12:00:00Z"),
        ]})
        .to_string();
        let Notification::Records(records) = parse_message(&body).expect("records") else {
            panic!("expected records");
        };
        assert!(records[0].is_ok());
        assert!(matches!(&records[1], Err(IngestError::Record { .. })), "{:?}", records[1]);
    }

    #[test]
    fn event_names_map_to_actions() {
        for (name, versioned, action) in [
            ("ObjectCreated:Put", false, EventAction::Created),
            ("s3:ObjectCreated:CompleteMultipartUpload", false, EventAction::Created),
            ("ObjectCreated:Copy", true, EventAction::Created),
            ("ObjectRemoved:Delete", false, EventAction::Removed),
            ("ObjectRemoved:DeleteMarkerCreated", true, EventAction::Removed),
            ("ObjectRemoved:Delete", true, EventAction::VersionRemoved),
            ("LifecycleExpiration:Delete", false, EventAction::Removed),
            ("LifecycleExpiration:DeleteMarkerCreated", true, EventAction::Removed),
            ("ObjectTagging:Put", false, EventAction::Other),
            ("ObjectRestore:Completed", false, EventAction::Other),
        ] {
            assert_eq!(action_of(name.trim_start_matches("s3:"), versioned), action, "{name}");
        }
        let mut record = moto_record("s3:ObjectCreated:Put", "a.txt", "2024-05-01T12:00:00Z");
        assert_eq!(parse_record(&record).expect("prefixed").name, "ObjectCreated:Put");
        record["s3"]["object"]["versionId"] = json!("");
        assert_eq!(parse_record(&record).expect("empty version").source.version_id, None);
    }

    #[test]
    fn records_without_what_ingest_needs_fail_with_the_field_named() {
        let base = moto_record("ObjectCreated:Put", "a.txt", "2024-05-01T12:00:00Z");
        type Edit = fn(&mut Value);
        let cases: [(&str, Edit); 5] = [
            ("no eventName", |r| {
                if let Some(record) = r.as_object_mut() {
                    record.remove("eventName");
                }
            }),
            ("no s3.bucket.name", |r| r["s3"]["bucket"] = json!({})),
            ("no s3.object.key", |r| r["s3"] = json!({"bucket": {"name": "docs"}})),
            ("not `aws:s3`", |r| r["eventSource"] = json!("aws:sqs")),
            ("wrong type", |r| r["s3"]["object"]["key"] = json!(42)),
        ];
        for (problem, edit) in cases {
            let mut record = base.clone();
            edit(&mut record);
            let err = parse_record(&record).expect_err(problem);
            assert!(err.to_string().contains(problem), "{problem}: {err}");
        }
    }

    #[test]
    fn sns_wrapped_notifications_are_unwrapped_once() {
        let inner =
            json!({"Records": [moto_record("ObjectCreated:Put", "a.txt", "2024-05-01T12:00:00Z")]});
        let envelope =
            json!({"Type": "Notification", "MessageId": "m-1", "Message": inner.to_string()});
        assert!(matches!(
            parse_message(&envelope.to_string()),
            Ok(Notification::Records(records)) if records.len() == 1
        ));
        let twice = json!({"Type": "Notification", "Message": envelope.to_string()});
        assert!(parse_message(&twice.to_string()).is_err());
        let test = json!({"Type": "Notification", "Message": DOC_TEST_EVENT});
        assert!(matches!(parse_message(&test.to_string()), Ok(Notification::Test { .. })));
    }

    #[test]
    fn bodies_that_are_not_notifications_are_message_errors() {
        for body in ["Message Body", "{}", "[1,2]", "{\"Records\": 3}"] {
            let err = parse_message(body).expect_err(body);
            assert!(matches!(err, IngestError::Message { .. }), "{body}: {err}");
        }
        let long = "x".repeat(1_000);
        let err = parse_message(&long).expect_err("not JSON").to_string();
        assert!(err.len() < 400 && err.ends_with('…'), "{err}");
    }
}
