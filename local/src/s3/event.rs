//! S3 event notification messages, in the exact JSON shape Amazon S3 publishes them.
//!
//! Shapes from the Amazon S3 User Guide, "Event message structure"
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html>):
//! a message is `{"Records":[…]}` with one record per event, event version 2.1, the object key
//! URL-encoded as `application/x-www-form-urlencoded` (`red flower.jpg` → `red+flower.jpg`), and a
//! hexadecimal `sequencer` that orders the events of one key. The test message S3 sends when
//! notifications are configured has its own shape (`s3:TestEvent`, no `Records`).

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The event structure version S3 uses for object created / removed events.
pub const EVENT_VERSION: &str = "2.1";

/// What happened to the object; the names are S3's `eventName` values (no `s3:` prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventName {
    /// PutObject.
    Put,
    /// CopyObject.
    Copy,
    /// CompleteMultipartUpload.
    CompleteMultipartUpload,
    /// DeleteObject and each key of DeleteObjects, on a bucket without versioning.
    Delete,
}

impl EventName {
    /// The `eventName` string, e.g. `ObjectCreated:Put`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventName::Put => "ObjectCreated:Put",
            EventName::Copy => "ObjectCreated:Copy",
            EventName::CompleteMultipartUpload => "ObjectCreated:CompleteMultipartUpload",
            EventName::Delete => "ObjectRemoved:Delete",
        }
    }
}

/// The message body S3 sends for object events: `{"Records":[…]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventMessage {
    #[serde(rename = "Records")]
    pub records: Vec<EventRecord>,
}

/// One event record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventRecord {
    pub event_version: String,
    pub event_source: String,
    pub aws_region: String,
    /// ISO-8601 with milliseconds, UTC: `2024-05-01T12:00:00.123Z`.
    pub event_time: String,
    pub event_name: String,
    pub user_identity: Principal,
    pub request_parameters: RequestParameters,
    pub response_elements: ResponseElements,
    pub s3: S3Entity,
}

/// `{"principalId": …}` — who caused the event, or who owns the bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Principal {
    pub principal_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestParameters {
    #[serde(rename = "sourceIPAddress")]
    pub source_ip_address: String,
}

/// The request's ids, the same values the S3 response carried in its headers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseElements {
    #[serde(rename = "x-amz-request-id")]
    pub request_id: String,
    #[serde(rename = "x-amz-id-2")]
    pub host_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Entity {
    pub s3_schema_version: String,
    pub configuration_id: String,
    pub bucket: BucketEntity,
    pub object: ObjectEntity,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketEntity {
    pub name: String,
    pub owner_identity: Principal,
    pub arn: String,
}

/// The object. Removal events carry only `key` and `sequencer`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectEntity {
    /// The key, URL-encoded (see [`encode_key`]).
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The ETag without quotes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e_tag: Option<String>,
    pub sequencer: String,
}

/// The message S3 sends once when notifications are configured on a bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TestEvent {
    /// `Amazon S3`.
    pub service: String,
    /// `s3:TestEvent`.
    pub event: String,
    pub time: String,
    pub bucket: String,
    pub request_id: String,
    pub host_id: String,
}

/// Everything about one object event except the configuration it is delivered for.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectEvent {
    pub name: EventName,
    pub region: String,
    pub time: SystemTime,
    pub bucket: String,
    /// The key as stored (not encoded).
    pub key: String,
    /// Size and ETag of the new object; `None` for removals.
    pub created: Option<CreatedObject>,
    pub principal_id: String,
    pub source_ip: String,
    pub request_id: String,
    pub host_id: String,
}

/// Size and ETag (unquoted) of an object an event created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedObject {
    pub size: u64,
    pub e_tag: String,
}

/// The principal id of the bucket owner in every event: the local account.
pub const OWNER_PRINCIPAL_ID: &str = "000000000000";

impl ObjectEvent {
    /// The record delivered for `configuration_id`, stamped with `sequencer`.
    pub fn record(&self, configuration_id: &str, sequencer: &str) -> EventRecord {
        EventRecord {
            event_version: EVENT_VERSION.to_owned(),
            event_source: "aws:s3".to_owned(),
            aws_region: self.region.clone(),
            event_time: iso8601_millis(self.time),
            event_name: self.name.as_str().to_owned(),
            user_identity: Principal { principal_id: self.principal_id.clone() },
            request_parameters: RequestParameters { source_ip_address: self.source_ip.clone() },
            response_elements: ResponseElements {
                request_id: self.request_id.clone(),
                host_id: self.host_id.clone(),
            },
            s3: S3Entity {
                s3_schema_version: "1.0".to_owned(),
                configuration_id: configuration_id.to_owned(),
                bucket: BucketEntity {
                    name: self.bucket.clone(),
                    owner_identity: Principal { principal_id: OWNER_PRINCIPAL_ID.to_owned() },
                    arn: format!("arn:aws:s3:::{}", self.bucket),
                },
                object: ObjectEntity {
                    key: encode_key(&self.key),
                    size: self.created.as_ref().map(|c| c.size),
                    e_tag: self.created.as_ref().map(|c| c.e_tag.clone()),
                    sequencer: sequencer.to_owned(),
                },
            },
        }
    }
}

impl TestEvent {
    /// The test message for `bucket`.
    pub fn new(bucket: &str, time: SystemTime, request_id: String, host_id: String) -> Self {
        TestEvent {
            service: "Amazon S3".to_owned(),
            event: "s3:TestEvent".to_owned(),
            time: iso8601_millis(time),
            bucket: bucket.to_owned(),
            request_id,
            host_id,
        }
    }
}

/// Encodes a key the way S3 writes it into event notifications: `application/x-www-form-urlencoded`
/// (space → `+`, every byte of a UTF-8 sequence outside `A–Z a–z 0–9 . - * _` → `%XX`), except that
/// `/` stays as it is. Form-URL-decoding the result gives the key back.
pub fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for &byte in key.as_bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' | b'/' => {
                out.push(char::from(byte));
            }
            b' ' => out.push('+'),
            other => {
                let _ = write!(out, "%{other:02X}");
            }
        }
    }
    out
}

/// A sequencer string for the counter value `n`: fixed-width uppercase hexadecimal, so comparing
/// two (after S3's right-padding rule, a no-op at equal widths) orders them like their numbers.
pub fn format_sequencer(n: u64) -> String {
    format!("{n:018X}")
}

/// `1970-01-01T00:00:00.000Z`: ISO-8601, UTC, milliseconds — S3's `eventTime` format.
pub fn iso8601_millis(t: SystemTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::from(t)
        .format(&format)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".to_owned())
}

/// Milliseconds since the Unix epoch (SQS's timestamp attributes).
pub fn unix_millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The `s3:ObjectCreated:Put` example message of the User Guide page "Event message structure"
    /// (notification-content-structure), verbatim.
    const DOC_PUT_EXAMPLE: &str =
        include_str!("../../../shared/tests/fixtures/s3/put-example.json");

    /// The test message of the same page, verbatim.
    const DOC_TEST_EVENT: &str = include_str!("../../../shared/tests/fixtures/s3/test-event.json");

    fn put_event() -> ObjectEvent {
        ObjectEvent {
            name: EventName::Put,
            region: "us-west-2".to_owned(),
            time: UNIX_EPOCH,
            bucket: "mybucket".to_owned(),
            key: "HappyFace.jpg".to_owned(),
            created: Some(CreatedObject {
                size: 1024,
                e_tag: "d41d8cd98f00b204e9800998ecf8427e".to_owned(),
            }),
            principal_id: "AIDAJDPLRKLG7UEXAMPLE".to_owned(),
            source_ip: "127.0.0.1".to_owned(),
            request_id: "C3D13FE58DE4C810".to_owned(),
            host_id: "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD".to_owned(),
        }
    }

    #[test]
    fn a_put_record_has_the_documented_shape_field_for_field() {
        let message = EventMessage {
            records: vec![put_event().record("testConfigRule", "0055AED6DCD90281E5")],
        };
        let ours = serde_json::to_value(&message).expect("serialises");
        let mut doc: serde_json::Value =
            serde_json::from_str(DOC_PUT_EXAMPLE).expect("doc example");
        // Only the owner's id and the versionId (unversioned buckets have none) differ from AWS's example.
        doc["Records"][0]["s3"]["bucket"]["ownerIdentity"]["principalId"] =
            OWNER_PRINCIPAL_ID.into();
        doc["Records"][0]["s3"]["object"]
            .as_object_mut()
            .expect("object entity")
            .remove("versionId");
        assert_eq!(ours, doc);
    }

    #[test]
    fn the_doc_example_parses_into_our_types() {
        let parsed: EventMessage = serde_json::from_str(DOC_PUT_EXAMPLE).expect("parses");
        assert_eq!(parsed.records[0].s3.object.sequencer, "0055AED6DCD90281E5");
        assert_eq!(parsed.records[0].s3.object.size, Some(1024));
    }

    #[test]
    fn a_removal_record_has_no_size_or_etag() {
        let mut event = put_event();
        event.name = EventName::Delete;
        event.created = None;
        let value = serde_json::to_value(event.record("c", "00")).expect("serialises");
        assert_eq!(value["eventName"], "ObjectRemoved:Delete");
        assert_eq!(
            value["s3"]["object"],
            serde_json::json!({"key": "HappyFace.jpg", "sequencer": "00"})
        );
    }

    #[test]
    fn the_test_event_has_the_documented_shape() {
        let t = UNIX_EPOCH + Duration::from_millis(1_413_215_822_089);
        let ours = TestEvent::new(
            "bucketname",
            t,
            "5582815E1AEA5ADF".to_owned(),
            "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE".to_owned(),
        );
        let doc: serde_json::Value = serde_json::from_str(DOC_TEST_EVENT).expect("doc example");
        assert_eq!(serde_json::to_value(ours).expect("serialises"), doc);
    }

    #[test]
    fn keys_are_form_url_encoded_with_slashes_kept() {
        // The User Guide's own example: "red flower.jpg" becomes "red+flower.jpg".
        assert_eq!(encode_key("red flower.jpg"), "red+flower.jpg");
        assert_eq!(encode_key("docs/a+b%c.txt"), "docs/a%2Bb%25c.txt");
        assert_eq!(encode_key("résumé (1).pdf"), "r%C3%A9sum%C3%A9+%281%29.pdf");
        assert_eq!(encode_key("a=b&c~d"), "a%3Db%26c%7Ed");
        assert_eq!(encode_key("x-y_z.*"), "x-y_z.*");
    }

    #[test]
    fn times_have_millisecond_precision_and_z() {
        let t = UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789);
        assert_eq!(iso8601_millis(t), "2023-11-14T22:13:20.123Z");
        assert_eq!(iso8601_millis(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn sequencers_compare_like_their_numbers() {
        assert_eq!(format_sequencer(0x55AE_D6DC_D902_81E5), "0055AED6DCD90281E5");
        assert!(format_sequencer(9) < format_sequencer(10));
        assert!(format_sequencer(0xFF) < format_sequencer(0x100));
    }
}
