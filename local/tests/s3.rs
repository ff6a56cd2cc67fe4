//! The local S3, driven over real HTTP by the real `aws-sdk-s3` client (path-style, dummy
//! credentials, us-east-1) and by the AWS CLI: objects round-trip, conditional writes are honoured,
//! and every write puts one S3 event message — AWS's JSON, in an SQS envelope — on the local queue,
//! which redelivers what is not deleted, dead-letters what keeps failing and survives restarts.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use aws_lambda_events::event::s3::S3Event;
use aws_lambda_events::event::sqs::SqsMessage;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::operation::{RequestId, RequestIdExt};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier};
use quarry_local::s3::{NotificationConfig, QueueConfig, RunningS3, S3Options, serve};
use serde_json::Value;

const DOCS: &str = "documents";
const CATALOG: &str = "quarry-catalog";

/// Options for a local S3 under `dir` with `documents` (notifying) and `quarry-catalog` (silent).
fn options(dir: &Path) -> S3Options {
    let mut options = S3Options::new(dir);
    options.buckets = vec![DOCS.to_owned(), CATALOG.to_owned()];
    options.notifications = vec![NotificationConfig::all_events(DOCS, "quarry-ingest")];
    options
}

fn sdk_client(s3: &RunningS3, key_id: &str, secret: &str) -> Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(s3.url())
        .force_path_style(true)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(key_id, secret, None, None, "test"))
        .build();
    Client::from_conf(config)
}

/// Starts the local S3 under `dir` and takes the `s3:TestEvent` it sends on first start.
async fn start(dir: &Path) -> (RunningS3, Client) {
    let s3 = serve(options(dir)).await.expect("the local S3 starts");
    let client = sdk_client(&s3, "test", "test");
    let first = receive(&s3, 1).await;
    let body: Value =
        serde_json::from_str(first[0].body.as_deref().expect("a body")).expect("JSON");
    assert_eq!(body["Event"], "s3:TestEvent");
    assert_eq!(body["Bucket"], DOCS);
    delete_all(&s3, &first).await;
    (s3, client)
}

/// Waits for `n` messages (10 s at most) and returns them, not deleted.
async fn receive(s3: &RunningS3, n: usize) -> Vec<SqsMessage> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while got.len() < n && tokio::time::Instant::now() < deadline {
        let batch = s3
            .notifications()
            .receive_wait(n - got.len(), Duration::from_millis(200))
            .await
            .expect("receive");
        got.extend(batch);
    }
    assert_eq!(got.len(), n, "expected {n} notification messages");
    got
}

async fn delete_all(s3: &RunningS3, messages: &[SqsMessage]) {
    for m in messages {
        let handle = m.receipt_handle.as_deref().expect("a receipt handle");
        assert!(s3.notifications().delete(handle).await.expect("delete"));
    }
}

/// Receives `n` event messages, deletes them, and returns their single records as JSON.
async fn events(s3: &RunningS3, n: usize) -> Vec<Value> {
    let messages = receive(s3, n).await;
    delete_all(s3, &messages).await;
    messages
        .iter()
        .map(|m| {
            let body = m.body.as_deref().expect("a body");
            // The body must be what the ingest function's S3Event parser accepts.
            let parsed: S3Event = serde_json::from_str(body).expect("an S3Event");
            assert_eq!(parsed.records.len(), 1);
            let mut value: Value = serde_json::from_str(body).expect("JSON");
            let records = value["Records"].as_array_mut().expect("Records");
            assert_eq!(records.len(), 1, "one record per message, as S3 sends them");
            records.remove(0)
        })
        .collect()
}

async fn assert_no_more_messages(s3: &RunningS3) {
    let extra =
        s3.notifications().receive_wait(10, Duration::from_millis(300)).await.expect("receive");
    let bodies: Vec<_> = extra.iter().filter_map(|m| m.body.clone()).collect();
    assert!(bodies.is_empty(), "unexpected messages: {bodies:?}");
}

fn key_of(record: &Value) -> String {
    let encoded = record["s3"]["object"]["key"].as_str().expect("a key");
    form_url_decode(encoded)
}

/// `application/x-www-form-urlencoded` decoding, independent of the server's encoder.
fn form_url_decode(s: &str) -> String {
    let spaced = s.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced).decode_utf8().expect("UTF-8 key").into_owned()
}

fn sequencer(record: &Value) -> String {
    record["s3"]["object"]["sequencer"].as_str().expect("a sequencer").to_owned()
}

async fn put(
    client: &Client,
    bucket: &str,
    key: &str,
    body: &str,
) -> aws_sdk_s3::operation::put_object::PutObjectOutput {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.as_bytes().to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutObject {key}: {e:?}"))
}

async fn read(client: &Client, bucket: &str, key: &str) -> String {
    let out = client.get_object().bucket(bucket).key(key).send().await.expect("GetObject");
    let bytes = out.body.collect().await.expect("the body").into_bytes();
    String::from_utf8(bytes.to_vec()).expect("UTF-8")
}

#[tokio::test]
async fn objects_round_trip_with_metadata_content_type_listing_copy_and_delete() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (s3, client) = start(dir.path()).await;

    let buckets = client.list_buckets().send().await.expect("ListBuckets");
    let mut names: Vec<_> = buckets.buckets().iter().filter_map(|b| b.name()).collect();
    names.sort();
    assert_eq!(names, [DOCS, CATALOG]);

    let put = client
        .put_object()
        .bucket(DOCS)
        .key("guides/intro.md")
        .content_type("text/markdown")
        .metadata("title", "Intro")
        .body(ByteStream::from_static(b"# Hello"))
        .send()
        .await
        .expect("PutObject");
    let etag = put.e_tag().expect("an ETag").to_owned();
    // MD5 of "# Hello".
    assert_eq!(etag, "\"b6291d7dfb1b275052cbdd0ba72b430d\"");

    let head =
        client.head_object().bucket(DOCS).key("guides/intro.md").send().await.expect("HeadObject");
    assert_eq!(head.content_type(), Some("text/markdown"));
    assert_eq!(head.content_length(), Some(7));
    assert_eq!(head.e_tag(), Some(etag.as_str()));
    assert_eq!(head.metadata().and_then(|m| m.get("title")).map(String::as_str), Some("Intro"));

    let got =
        client.get_object().bucket(DOCS).key("guides/intro.md").send().await.expect("GetObject");
    assert_eq!(got.content_type(), Some("text/markdown"));
    assert_eq!(got.metadata().and_then(|m| m.get("title")).map(String::as_str), Some("Intro"));
    assert_eq!(got.body.collect().await.expect("body").into_bytes().as_ref(), b"# Hello");

    put_and_forget(&client, "guides/setup.md", "setup").await;
    put_and_forget(&client, "readme.txt", "readme").await;
    let listed =
        client.list_objects_v2().bucket(DOCS).prefix("guides/").send().await.expect("List");
    let keys: Vec<_> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["guides/intro.md", "guides/setup.md"]);
    let top = client.list_objects_v2().bucket(DOCS).delimiter("/").send().await.expect("List");
    let prefixes: Vec<_> = top.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(prefixes, ["guides/"]);
    assert_eq!(top.contents().iter().filter_map(|o| o.key()).collect::<Vec<_>>(), ["readme.txt"]);

    client
        .copy_object()
        .bucket(CATALOG)
        .key("copied.md")
        .copy_source(format!("{DOCS}/guides/intro.md"))
        .send()
        .await
        .expect("CopyObject");
    assert_eq!(read(&client, CATALOG, "copied.md").await, "# Hello");
    let copied = client.head_object().bucket(CATALOG).key("copied.md").send().await.expect("Head");
    assert_eq!(
        copied.content_type(),
        Some("text/markdown"),
        "CopyObject copies metadata by default"
    );

    client.delete_object().bucket(DOCS).key("guides/intro.md").send().await.expect("DeleteObject");
    let gone =
        client.get_object().bucket(DOCS).key("guides/intro.md").send().await.expect_err("deleted");
    assert_eq!(gone.code(), Some("NoSuchKey"));

    s3.shutdown().await.expect("shuts down");
}

async fn put_and_forget(client: &Client, key: &str, body: &str) {
    put(client, DOCS, key, body).await;
}

#[tokio::test]
async fn conditional_puts_are_honoured() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (s3, client) = start(dir.path()).await;

    let created = client
        .put_object()
        .bucket(CATALOG)
        .key("catalog.json")
        .if_none_match("*")
        .body(ByteStream::from_static(b"v1"))
        .send()
        .await
        .expect("If-None-Match * creates a missing key");
    let v1 = created.e_tag().expect("ETag").to_owned();

    let exists = client
        .put_object()
        .bucket(CATALOG)
        .key("catalog.json")
        .if_none_match("*")
        .body(ByteStream::from_static(b"v2"))
        .send()
        .await
        .expect_err("If-None-Match * on an existing key");
    assert_eq!(exists.code(), Some("PreconditionFailed"));
    assert_eq!(exists.raw_response().map(|r| r.status().as_u16()), Some(412));

    let replaced = client
        .put_object()
        .bucket(CATALOG)
        .key("catalog.json")
        .if_match(&v1)
        .body(ByteStream::from_static(b"v2"))
        .send()
        .await
        .expect("If-Match with the current ETag");
    assert_ne!(replaced.e_tag(), Some(v1.as_str()));

    let stale = client
        .put_object()
        .bucket(CATALOG)
        .key("catalog.json")
        .if_match(&v1)
        .body(ByteStream::from_static(b"v3"))
        .send()
        .await
        .expect_err("If-Match with a stale ETag");
    assert_eq!(stale.code(), Some("PreconditionFailed"));
    assert_eq!(read(&client, CATALOG, "catalog.json").await, "v2");

    // The catalog bucket has no notification configuration: nothing was queued.
    assert_no_more_messages(&s3).await;
    s3.shutdown().await.expect("shuts down");
}

/// The HTTP status of a failed call.
fn status_of<E>(error: &aws_sdk_s3::error::SdkError<E>) -> Option<u16> {
    error.raw_response().map(|r| r.status().as_u16())
}

#[tokio::test]
async fn conditional_gets_answer_304_not_modified_and_412_precondition_failed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (s3, client) = start(dir.path()).await;
    let stored = client
        .put_object()
        .bucket(CATALOG)
        .key("catalog.json")
        .body(ByteStream::from_static(b"{\"models\": []}"))
        .send()
        .await
        .expect("stored");
    let etag = stored.e_tag().expect("ETag").to_owned();
    let other = "\"0123456789abcdef0123456789abcdef\"";
    let get = || client.get_object().bucket(CATALOG).key("catalog.json");

    // If-None-Match with the current ETag (what a cache sends): 304, the ETag, no body.
    let not_modified = get().if_none_match(&etag).send().await.expect_err("unchanged");
    let raw = not_modified.raw_response().expect("an HTTP answer");
    assert_eq!(raw.status().as_u16(), 304);
    assert_eq!(raw.headers().get("etag"), Some(etag.as_str()));
    assert!(raw.headers().get("x-amz-request-id").is_some());
    assert!(raw.body().bytes().is_none_or(<[u8]>::is_empty), "a 304 has no body");
    // `*` matches any existing object.
    assert_eq!(status_of(&get().if_none_match("*").send().await.expect_err("*")), Some(304));
    // Another ETag: the object, whole.
    let changed = get().if_none_match(other).send().await.expect("a different ETag");
    assert_eq!(changed.e_tag(), Some(etag.as_str()));
    let body = changed.body.collect().await.expect("body").into_bytes();
    assert_eq!(&body[..], b"{\"models\": []}");

    // If-Match: the object only while it still has that ETag, else 412 PreconditionFailed.
    get().if_match(&etag).send().await.expect("the current ETag matches");
    get().if_match("*").send().await.expect("* matches an existing object");
    let stale = get().if_match(other).send().await.expect_err("a stale ETag");
    assert_eq!(status_of(&stale), Some(412));
    assert_eq!(stale.code(), Some("PreconditionFailed"));
    // If-Match is evaluated first: a failing If-Match is a 412 even when If-None-Match would 304.
    let both = get().if_match(other).if_none_match(&etag).send().await.expect_err("both");
    assert_eq!(status_of(&both), Some(412));

    // HeadObject honours the same conditions.
    let head = client.head_object().bucket(CATALOG).key("catalog.json");
    let head_304 = head.clone().if_none_match(&etag).send().await.expect_err("unchanged");
    assert_eq!(status_of(&head_304), Some(304));
    let head_412 = head.clone().if_match(other).send().await.expect_err("stale");
    assert_eq!(status_of(&head_412), Some(412));
    head.if_none_match(other).send().await.expect("a different ETag");

    // After a write the old ETag no longer matches: the cache gets the new object.
    put(&client, CATALOG, "catalog.json", "{\"models\": [1]}").await;
    let fresh = get().if_none_match(&etag).send().await.expect("changed since");
    assert_ne!(fresh.e_tag(), Some(etag.as_str()));
    // A missing key is a 404 whatever the conditions.
    let missing = client
        .get_object()
        .bucket(CATALOG)
        .key("absent.json")
        .if_none_match(&etag)
        .send()
        .await
        .expect_err("missing");
    assert_eq!(status_of(&missing), Some(404));
    s3.shutdown().await.expect("shuts down");
}

#[tokio::test]
async fn each_write_queues_one_event_in_aws_shape_and_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (s3, client) = start(dir.path()).await;

    let first = put(&client, DOCS, "a.txt", "first").await;
    let second = put(&client, DOCS, "a.txt", "second version").await;
    client
        .copy_object()
        .bucket(DOCS)
        .key("b.txt")
        .copy_source(format!("{DOCS}/a.txt"))
        .send()
        .await
        .expect("CopyObject");
    let deleted =
        client.delete_object().bucket(DOCS).key("a.txt").send().await.expect("DeleteObject");

    let records = events(&s3, 4).await;
    let names: Vec<_> =
        records.iter().map(|r| r["eventName"].as_str().unwrap_or_default()).collect();
    assert_eq!(
        names,
        ["ObjectCreated:Put", "ObjectCreated:Put", "ObjectCreated:Copy", "ObjectRemoved:Delete"]
    );
    let keys: Vec<_> = records.iter().map(key_of).collect();
    assert_eq!(keys, ["a.txt", "a.txt", "b.txt", "a.txt"]);

    // Sequencers order the events of one key.
    let a: Vec<_> = [&records[0], &records[1], &records[3]].into_iter().map(sequencer).collect();
    assert!(a[0] < a[1] && a[1] < a[2], "sequencers of a.txt must increase: {a:?}");

    let put_record = &records[1];
    assert_eq!(put_record["eventVersion"], "2.1");
    assert_eq!(put_record["eventSource"], "aws:s3");
    assert_eq!(put_record["awsRegion"], "us-east-1");
    assert_eq!(put_record["userIdentity"]["principalId"], "AWS:test");
    assert_eq!(put_record["requestParameters"]["sourceIPAddress"], "127.0.0.1");
    // The ids the response carried in its headers.
    assert_eq!(put_record["responseElements"]["x-amz-request-id"].as_str(), second.request_id());
    assert_eq!(put_record["responseElements"]["x-amz-id-2"].as_str(), second.extended_request_id());
    assert_ne!(second.request_id(), first.request_id());
    let time = put_record["eventTime"].as_str().expect("eventTime");
    let bytes = time.as_bytes();
    assert!(
        time.len() == 24 && bytes[10] == b'T' && bytes[19] == b'.' && time.ends_with('Z'),
        "eventTime must be ISO-8601 with milliseconds: {time}"
    );
    let s3_entity = &put_record["s3"];
    assert_eq!(s3_entity["s3SchemaVersion"], "1.0");
    assert_eq!(s3_entity["configurationId"], "quarry-ingest");
    assert_eq!(s3_entity["bucket"]["name"], DOCS);
    assert_eq!(s3_entity["bucket"]["arn"], "arn:aws:s3:::documents");
    assert!(s3_entity["bucket"]["ownerIdentity"]["principalId"].is_string());
    assert_eq!(s3_entity["object"]["size"], 14);
    let etag = second.e_tag().expect("ETag").trim_matches('"');
    assert_eq!(s3_entity["object"]["eTag"], etag);

    let copy = &records[2]["s3"]["object"];
    assert_eq!(copy["size"], 14);
    assert_eq!(copy["eTag"], etag);

    let removal = &records[3];
    assert_eq!(removal["responseElements"]["x-amz-request-id"].as_str(), deleted.request_id());
    let object = removal["s3"]["object"].as_object().expect("object");
    let mut fields: Vec<_> = object.keys().map(String::as_str).collect();
    fields.sort();
    assert_eq!(fields, ["key", "sequencer"], "removal events carry no size or eTag");

    assert_no_more_messages(&s3).await;
    s3.shutdown().await.expect("shuts down");
}

#[tokio::test]
async fn keys_are_url_encoded_in_events_as_s3_encodes_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (s3, client) = start(dir.path()).await;
    let keys = [
        "red flower.jpg",
        "a+b.txt",
        "100% done.txt",
        "ünïcödé/naïve résumé.pdf",
        "q?x=1&y=(2)#z~.txt",
        "日本語/ファイル 1.md",
    ];
    for key in keys {
        put(&client, DOCS, key, key).await;
        assert_eq!(read(&client, DOCS, key).await, key, "the object is stored under its own key");
    }
    let records = events(&s3, keys.len()).await;
    let encoded: Vec<_> = records
        .iter()
        .map(|r| r["s3"]["object"]["key"].as_str().unwrap_or_default().to_owned())
        .collect();
    // The User Guide's example, and the characters that need escaping when decoding as a form.
    assert_eq!(encoded[0], "red+flower.jpg");
    assert_eq!(encoded[1], "a%2Bb.txt");
    assert_eq!(encoded[2], "100%25+done.txt");
    assert!(encoded[3].starts_with("%C3%BCn%C3%AFc%C3%B6d%C3%A9/"), "{}", encoded[3]);
    for (record, key) in records.iter().zip(keys) {
        assert_eq!(key_of(record), key);
    }
    s3.shutdown().await.expect("shuts down");
}

#[tokio::test]
async fn delete_objects_queues_one_removal_per_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (s3, client) = start(dir.path()).await;
    let keys = ["x/1.txt", "x/2 two.txt", "x/3.txt"];
    for key in keys {
        put(&client, DOCS, key, "x").await;
    }
    let created = events(&s3, keys.len()).await;
    let delete = Delete::builder()
        .set_objects(Some(
            keys.iter()
                .map(|k| ObjectIdentifier::builder().key(*k).build().expect("an identifier"))
                .collect(),
        ))
        .build()
        .expect("a Delete");
    let out =
        client.delete_objects().bucket(DOCS).delete(delete).send().await.expect("DeleteObjects");
    let mut reported: Vec<_> = out.deleted().iter().filter_map(|d| d.key()).collect();
    reported.sort();
    assert_eq!(reported, keys);
    assert!(out.errors().is_empty());

    let removed = events(&s3, keys.len()).await;
    assert!(removed.iter().all(|r| r["eventName"] == "ObjectRemoved:Delete"));
    let mut removed_keys: Vec<_> = removed.iter().map(key_of).collect();
    removed_keys.sort();
    assert_eq!(removed_keys, keys);
    for (c, r) in created.iter().zip(&removed) {
        if key_of(c) == key_of(r) {
            assert!(sequencer(c) < sequencer(r));
        }
    }
    let listed = client.list_objects_v2().bucket(DOCS).prefix("x/").send().await.expect("List");
    assert!(listed.contents().is_empty());
    s3.shutdown().await.expect("shuts down");
}

#[tokio::test]
async fn a_multipart_upload_queues_complete_multipart_upload() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (s3, client) = start(dir.path()).await;
    let key = "big/report.bin";
    let started = client
        .create_multipart_upload()
        .bucket(DOCS)
        .key(key)
        .content_type("application/octet-stream")
        .send()
        .await
        .expect("CreateMultipartUpload");
    let upload_id = started.upload_id().expect("an upload id");
    let part_one = vec![b'a'; 5 * 1024 * 1024];
    let part_two = b"tail".to_vec();
    let mut parts = Vec::new();
    for (number, body) in [(1, part_one), (2, part_two)] {
        let uploaded = client
            .upload_part()
            .bucket(DOCS)
            .key(key)
            .upload_id(upload_id)
            .part_number(number)
            .body(ByteStream::from(body))
            .send()
            .await
            .expect("UploadPart");
        parts.push(
            CompletedPart::builder()
                .part_number(number)
                .e_tag(uploaded.e_tag().expect("a part ETag"))
                .build(),
        );
    }
    let done = client
        .complete_multipart_upload()
        .bucket(DOCS)
        .key(key)
        .upload_id(upload_id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
        .send()
        .await
        .expect("CompleteMultipartUpload");
    let records = events(&s3, 1).await;
    assert_eq!(records[0]["eventName"], "ObjectCreated:CompleteMultipartUpload");
    assert_eq!(records[0]["s3"]["object"]["size"], 5 * 1024 * 1024 + 4);
    let etag = done.e_tag().expect("ETag").trim_matches('"').to_owned();
    assert!(etag.ends_with("-2"), "a two-part upload's ETag: {etag}");
    assert_eq!(records[0]["s3"]["object"]["eTag"], etag.as_str());
    s3.shutdown().await.expect("shuts down");
}

#[tokio::test]
async fn prefix_and_suffix_filters_select_the_events() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut options = options(dir.path());
    options.notifications = vec![NotificationConfig {
        bucket: DOCS.to_owned(),
        configuration_id: "markdown".to_owned(),
        prefix: Some("notes/".to_owned()),
        suffix: Some(".md".to_owned()),
    }];
    let s3 = serve(options).await.expect("starts");
    let client = sdk_client(&s3, "test", "test");
    let test_event = receive(&s3, 1).await;
    delete_all(&s3, &test_event).await;
    for key in ["notes/a.md", "notes/b.txt", "other/c.md", "notes/sub/d.md"] {
        put(&client, DOCS, key, "x").await;
    }
    let records = events(&s3, 2).await;
    assert_eq!(records.iter().map(key_of).collect::<Vec<_>>(), ["notes/a.md", "notes/sub/d.md"]);
    assert_eq!(records[0]["s3"]["configurationId"], "markdown");
    assert_no_more_messages(&s3).await;
    s3.shutdown().await.expect("shuts down");
}

#[tokio::test]
async fn undeleted_events_come_back_then_go_to_the_dead_letter_list() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut options = options(dir.path());
    options.queue = QueueConfig {
        visibility_timeout: Duration::from_millis(300),
        max_receive_count: 2,
        ..QueueConfig::default()
    };
    let s3 = serve(options).await.expect("starts");
    let client = sdk_client(&s3, "test", "test");
    let test_event = receive(&s3, 1).await;
    delete_all(&s3, &test_event).await;

    put(&client, DOCS, "poison.txt", "x").await;
    let first = receive(&s3, 1).await;
    assert_eq!(first[0].attributes.get("ApproximateReceiveCount").map(String::as_str), Some("1"));
    // Hidden while in flight.
    assert!(s3.notifications().receive(10).await.expect("receive").is_empty());
    let second = receive(&s3, 1).await;
    assert_eq!(second[0].message_id, first[0].message_id);
    assert_eq!(second[0].attributes.get("ApproximateReceiveCount").map(String::as_str), Some("2"));
    assert_eq!(
        second[0].attributes.get("ApproximateFirstReceiveTimestamp"),
        first[0].attributes.get("ApproximateFirstReceiveTimestamp")
    );
    assert_ne!(second[0].receipt_handle, first[0].receipt_handle);

    // Received max_receive_count times and never deleted: the next receive dead-letters it.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(s3.notifications().receive(10).await.expect("receive").is_empty());
    let dead = s3.notifications().dead_letters().await.expect("dead letters");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].message.message_id, first[0].message_id);
    assert_eq!(dead[0].message.body, first[0].body);
    assert_eq!(
        dead[0].message.attributes.get("ApproximateReceiveCount").map(String::as_str),
        Some("2")
    );
    let stats = s3.notifications().stats().await.expect("stats");
    assert_eq!((stats.visible, stats.in_flight, stats.dead), (0, 0, 1));
    s3.shutdown().await.expect("shuts down");
}

#[tokio::test]
async fn objects_and_unacknowledged_events_survive_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut options = options(dir.path());
    options.queue =
        QueueConfig { visibility_timeout: Duration::from_millis(500), ..QueueConfig::default() };

    let s3 = serve(options.clone()).await.expect("starts");
    let client = sdk_client(&s3, "test", "test");
    let test_event = receive(&s3, 1).await;
    delete_all(&s3, &test_event).await;
    put(&client, DOCS, "kept.txt", "before the restart").await;
    put(&client, DOCS, "acknowledged.txt", "done").await;
    let in_flight = receive(&s3, 2).await;
    // Acknowledge the second; leave the first in flight, then stop.
    delete_all(&s3, &in_flight[1..]).await;
    let before: Value =
        serde_json::from_str(in_flight[0].body.as_deref().expect("body")).expect("JSON");
    s3.shutdown().await.expect("shuts down");

    let s3 = serve(options).await.expect("restarts");
    let client = sdk_client(&s3, "test", "test");
    assert_eq!(read(&client, DOCS, "kept.txt").await, "before the restart");
    // No second s3:TestEvent, no acknowledged message: only the one left in flight, once its
    // visibility timeout has run out, received for the second time.
    let again = receive(&s3, 1).await;
    assert_eq!(again[0].message_id, in_flight[0].message_id);
    assert_eq!(again[0].attributes.get("ApproximateReceiveCount").map(String::as_str), Some("2"));
    delete_all(&s3, &again).await;

    put(&client, DOCS, "kept.txt", "after the restart").await;
    let after = events(&s3, 1).await;
    assert!(
        sequencer(&after[0]) > sequencer(&before["Records"][0]),
        "sequencers keep increasing across restarts"
    );
    assert_no_more_messages(&s3).await;
    s3.shutdown().await.expect("shuts down");
}

#[tokio::test]
async fn only_the_local_key_pairs_are_accepted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (s3, _) = start(dir.path()).await;
    let documented =
        sdk_client(&s3, "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    documented.list_buckets().send().await.expect("the AWS docs' example key pair works");

    let stranger = sdk_client(&s3, "AKIASTRANGER", "whatever");
    let refused = stranger.list_buckets().send().await.expect_err("an unknown key id");
    assert_eq!(refused.code(), Some("InvalidAccessKeyId"));
    let wrong_secret = sdk_client(&s3, "test", "not-test");
    let refused = wrong_secret.list_buckets().send().await.expect_err("a wrong secret");
    assert_eq!(refused.code(), Some("SignatureDoesNotMatch"));
    s3.shutdown().await.expect("shuts down");
}

#[tokio::test]
async fn bad_options_are_refused_with_what_was_expected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut bad = options(dir.path());
    bad.buckets.push("Not_A_Bucket".to_owned());
    let err = serve(bad).await.expect_err("an invalid bucket name");
    assert!(err.to_string().contains("\"Not_A_Bucket\" is not a valid S3 bucket name"), "{err}");

    let mut twice = options(dir.path());
    twice.notifications.push(NotificationConfig::all_events(DOCS, "quarry-ingest"));
    let err = serve(twice).await.expect_err("a duplicate configuration");
    assert!(err.to_string().contains("given twice"), "{err}");
}

/// The AWS CLI (`aws s3 cp / ls / rm`) against the local S3, with dummy credentials from the
/// environment. Skipped, with a note, where `aws` is not installed.
#[tokio::test]
async fn the_aws_cli_copies_lists_and_removes() {
    if std::process::Command::new("aws").arg("--version").output().is_err() {
        eprintln!("note: `aws` is not installed; skipping the AWS CLI test");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let (s3, sdk) = start(dir.path()).await;
    let url = s3.url().to_owned();
    let home = dir.path().to_owned();
    let small = home.join("hello world.txt");
    std::fs::write(&small, "hello from the CLI").expect("a file to upload");
    // Above the CLI's 8 MiB multipart threshold.
    let big = home.join("big.bin");
    std::fs::write(&big, vec![b'z'; 9 * 1024 * 1024]).expect("a big file");

    let aws = move |args: Vec<String>| {
        let url = url.clone();
        let home = home.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let out = std::process::Command::new("aws")
                    .arg("--endpoint-url")
                    .arg(&url)
                    .args(&args)
                    .env("AWS_ACCESS_KEY_ID", "test")
                    .env("AWS_SECRET_ACCESS_KEY", "test")
                    .env("AWS_DEFAULT_REGION", "us-east-1")
                    .env("AWS_CONFIG_FILE", home.join("no-config"))
                    .env("AWS_SHARED_CREDENTIALS_FILE", home.join("no-credentials"))
                    .env_remove("AWS_PROFILE")
                    .output()
                    .expect("aws runs");
                let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
                let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
                assert!(out.status.success(), "aws {args:?} failed: {stdout}\n{stderr}");
                stdout
            })
            .await
            .expect("the aws command finished")
        }
    };
    let arg = |s: &str| s.to_owned();
    let small_path = small.display().to_string();
    let big_path = big.display().to_string();

    aws(vec![arg("s3"), arg("cp"), small_path, arg("s3://documents/cli/hello world.txt")]).await;
    aws(vec![arg("s3"), arg("cp"), big_path, arg("s3://documents/cli/big.bin")]).await;
    assert_eq!(read(&sdk, DOCS, "cli/hello world.txt").await, "hello from the CLI");

    let listing = aws(vec![arg("s3"), arg("ls"), arg("s3://documents/cli/")]).await;
    assert!(listing.contains("hello world.txt") && listing.contains("big.bin"), "{listing}");
    let buckets = aws(vec![arg("s3"), arg("ls")]).await;
    assert!(buckets.contains("documents") && buckets.contains("quarry-catalog"), "{buckets}");

    aws(vec![arg("s3"), arg("rm"), arg("s3://documents/cli/hello world.txt")]).await;
    aws(vec![arg("s3"), arg("rm"), arg("--recursive"), arg("s3://documents/cli/")]).await;
    // (`aws s3 ls` of an empty prefix exits with 1, so the SDK checks that nothing is left.)
    let left = sdk.list_objects_v2().bucket(DOCS).prefix("cli/").send().await.expect("List");
    assert!(left.contents().is_empty());

    let records = events(&s3, 4).await;
    let seen: Vec<_> = records
        .iter()
        .map(|r| (r["eventName"].as_str().unwrap_or_default().to_owned(), key_of(r)))
        .collect();
    let expected = [
        ("ObjectCreated:Put", "cli/hello world.txt"),
        ("ObjectCreated:CompleteMultipartUpload", "cli/big.bin"),
        ("ObjectRemoved:Delete", "cli/hello world.txt"),
        ("ObjectRemoved:Delete", "cli/big.bin"),
    ]
    .map(|(n, k)| (n.to_owned(), k.to_owned()));
    assert_eq!(seen, expected);
    assert_eq!(records[0]["s3"]["object"]["key"], "cli/hello+world.txt");
    assert_eq!(records[1]["s3"]["object"]["size"], 9 * 1024 * 1024);
    s3.shutdown().await.expect("shuts down");
}

/// Every object path in `value` (`s3.object.key`, `attributes.SenderId`, …); arrays by position.
fn paths(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                paths(v, &path, out);
                out.insert(path);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                paths(v, &format!("{prefix}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/s3").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).expect("the fixture")).expect("JSON")
}

#[tokio::test]
async fn messages_have_every_field_of_the_lambda_payloads() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (s3, client) = start(dir.path()).await;
    put(&client, DOCS, "Happy Face.jpg", "smile").await;
    let message = receive(&s3, 1).await.remove(0);

    // The SQS envelope: the same fields as Lambda's SQS record, the same attribute names.
    let ours = serde_json::to_value(&message).expect("serialises");
    let theirs = &fixture("example-sqs-event.json")["Records"][0];
    let (mut ours_paths, mut their_paths) = (BTreeSet::new(), BTreeSet::new());
    paths(&ours, "", &mut ours_paths);
    paths(theirs, "", &mut their_paths);
    // The fixture's message attributes are its own; S3 notifications carry none.
    their_paths.retain(|p| !p.starts_with("messageAttributes."));
    assert_eq!(ours_paths, their_paths);
    assert_eq!(ours["eventSource"], "aws:sqs");

    // The body: the S3 notification's fields exactly (no versionId: the bucket is unversioned).
    let body: Value = serde_json::from_str(message.body.as_deref().expect("body")).expect("JSON");
    let (mut ours_paths, mut their_paths) = (BTreeSet::new(), BTreeSet::new());
    paths(&body, "", &mut ours_paths);
    paths(&fixture("example-s3-event.json"), "", &mut their_paths);
    their_paths.remove("Records[0].s3.object.versionId");
    assert_eq!(ours_paths, their_paths);
    assert_eq!(body["Records"][0]["s3"]["object"]["key"], "Happy+Face.jpg");
    s3.shutdown().await.expect("shuts down");
}
