//! The catalog bucket on quarry-local's S3 (`s3s` over a temp directory: the real S3 REST API,
//! path-style, SigV4-checked keys, atomic `If-Match` / `If-None-Match` on PutObject with 412
//! PreconditionFailed), watched from both ends:
//!
//! - the server's S3 event notifications on the bucket count the objects actually stored (one
//!   `ObjectCreated:Put` per write that S3 accepted, naming the key pair that wrote it);
//! - an SDK interceptor on the sync's client records every request it sent — method, conditional
//!   headers, the status S3 answered — and can make another writer store a catalog just before
//!   the sync's next PutObject goes out (the race between a sync's read and its write).

use std::sync::{Arc, Mutex};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::interceptors::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_s3::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use quarry::catalog::Catalog;
use quarry_local::s3::event::EventMessage;
use quarry_local::s3::{NotificationConfig, RunningS3, S3Options, serve};
use tempfile::TempDir;

/// Where the repository's quarry.toml puts the catalog (with the account and region the tests
/// resolve the stack's bucket name for).
pub const BUCKET: &str = "quarry-catalog-123456789012-us-east-1";
pub const KEY: &str = "catalog/models.json";

/// The key pair the sync signs with: quarry-local's default `test`/`test`.
const SYNC_KEY: (&str, &str) = ("test", "test");
/// The key pair of "another writer": the AWS documentation's example pair, which quarry-local's
/// S3 accepts too, so its writes are told apart from the sync's in the events.
const OTHER_KEY: (&str, &str) =
    ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");

/// [`Write::writer`] of the sync's writes.
pub const SYNC_WRITER: &str = "AWS:test";
/// [`Write::writer`] of the other writer's writes.
pub const OTHER_WRITER: &str = "AWS:AKIAIOSFODNN7EXAMPLE";

/// One request a sync's client sent, as it went on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub if_match: Option<String>,
    pub if_none_match: Option<String>,
    /// The HTTP status S3 answered.
    pub status: Option<u16>,
}

/// One write the local S3 stored, from its `ObjectCreated:Put` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// The ETag, quoted as S3's ETag header carries it.
    pub etag: String,
    /// The key pair that wrote it: `AWS:test` for the sync.
    pub writer: String,
}

/// The stored catalog object.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub body: Vec<u8>,
    pub etag: String,
    pub last_modified: Option<DateTime>,
}

/// The catalog bucket on a local S3 of its own.
#[derive(Debug)]
pub struct CatalogBucket {
    s3: RunningS3,
    requests: Arc<Mutex<Vec<Request>>>,
    race: Arc<Mutex<Option<Vec<u8>>>>,
    _dir: TempDir,
}

impl CatalogBucket {
    /// A local S3 with the (empty) catalog bucket, notifying every write to it.
    pub async fn empty() -> Self {
        let dir = tempfile::tempdir().expect("a temp dir");
        let mut options = S3Options::new(dir.path());
        options.buckets = vec![BUCKET.to_owned()];
        options.notifications = vec![NotificationConfig::all_events(BUCKET, "catalog-writes")];
        let s3 = serve(options).await.expect("the local S3 starts");
        // S3 sends one s3:TestEvent when notifications are configured; writes come after it.
        let test_event = s3.notifications().receive(10).await.expect("the queue");
        assert_eq!(test_event.len(), 1, "{test_event:?}");
        assert!(test_event[0].body.as_deref().is_some_and(|b| b.contains("s3:TestEvent")));
        for message in test_event {
            let handle = message.receipt_handle.expect("a receipt handle");
            s3.notifications().delete(&handle).await.expect("deleted");
        }
        CatalogBucket { s3, requests: Arc::default(), race: Arc::default(), _dir: dir }
    }

    /// A bucket whose catalog object another writer stored with `body`; its ETag.
    pub async fn holding(body: Vec<u8>) -> (Self, String) {
        let bucket = CatalogBucket::empty().await;
        let etag = bucket.write_as_other_writer(body).await;
        assert_eq!(bucket.take_writes().await.len(), 1, "the seed is one write");
        (bucket, etag)
    }

    /// The client a sync uses (key pair `test`), recorded by [`requests`](Self::requests).
    pub fn sync_client(&self) -> Client {
        self.client_for(SYNC_KEY.0, SYNC_KEY.1)
    }

    /// A sync's client signing with a key pair this S3 does not know: every request is refused
    /// with 403 InvalidAccessKeyId, as a role that lost access to the bucket would be.
    pub fn refused_client(&self) -> Client {
        self.client_for("AKIAREVOKEDEXAMPLE01", "revoked")
    }

    fn client_for(&self, key_id: &str, secret: &str) -> Client {
        let recorder = Recorder {
            requests: self.requests.clone(),
            race: self.race.clone(),
            other_writer: self.other_writer(),
        };
        let config = config(self.s3.url(), key_id, secret).interceptor(recorder).build();
        Client::from_conf(config)
    }

    fn other_writer(&self) -> Client {
        Client::from_conf(config(self.s3.url(), OTHER_KEY.0, OTHER_KEY.1).build())
    }

    /// Stores `body` as the catalog object, unconditionally, as another writer; the new ETag.
    pub async fn write_as_other_writer(&self, body: Vec<u8>) -> String {
        put(&self.other_writer(), body).await
    }

    /// Another writer stores `body` just before the sync's next PutObject is sent. Only in
    /// `#[tokio::test(flavor = "multi_thread")]` tests: the interceptor blocks its thread on it.
    pub fn write_before_next_put(&self, body: Vec<u8>) {
        *self.race.lock().expect("race lock") = Some(body);
    }

    /// Every request the sync's clients sent and S3 answered, in order. (An attempt that got no
    /// answer — a pooled connection the server had closed — is retried by the SDK; S3 never saw it.)
    pub fn requests(&self) -> Vec<Request> {
        let requests = self.requests.lock().expect("requests lock");
        requests.iter().filter(|r| r.status.is_some()).cloned().collect()
    }

    /// The PutObject requests the sync's clients sent.
    pub fn puts(&self) -> Vec<Request> {
        self.requests().into_iter().filter(|r| r.method == "PUT").collect()
    }

    /// The writes S3 stored since the last call (or since the bucket was created), from the
    /// bucket's event notifications (taken off the queue).
    pub async fn take_writes(&self) -> Vec<Write> {
        let queue = self.s3.notifications();
        let mut writes = Vec::new();
        loop {
            let messages = queue.receive(10).await.expect("the queue");
            if messages.is_empty() {
                return writes;
            }
            for message in messages {
                let body = message.body.as_deref().expect("a message body");
                let event: EventMessage = serde_json::from_str(body).expect("an S3 event");
                for record in event.records {
                    assert_eq!(record.event_name, "ObjectCreated:Put", "{body}");
                    assert_eq!(record.s3.object.key, KEY, "{body}");
                    let etag = record.s3.object.e_tag.expect("a created object's ETag");
                    let writer = record.user_identity.principal_id;
                    writes.push(Write { etag: format!("\"{etag}\""), writer });
                }
                let handle = message.receipt_handle.expect("a receipt handle");
                queue.delete(&handle).await.expect("deleted");
            }
        }
    }

    /// The catalog object as S3 serves it now; `None` when there is none.
    pub async fn object(&self) -> Option<Object> {
        let got = self.other_writer().get_object().bucket(BUCKET).key(KEY).send().await;
        let output = match got {
            Ok(output) => output,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => return None,
            Err(e) => panic!("GetObject failed: {e:?}"),
        };
        let etag = output.e_tag().expect("an ETag").to_owned();
        let last_modified = output.last_modified().copied();
        let body = output.body.collect().await.expect("the body").into_bytes().to_vec();
        Some(Object { body, etag, last_modified })
    }

    /// The stored catalog, parsed.
    pub async fn stored(&self) -> Option<Catalog> {
        let object = self.object().await?;
        Some(Catalog::from_json(&object.body).expect("a stored catalog"))
    }

    /// Stops the local S3.
    pub async fn shutdown(self) {
        self.s3.shutdown().await.expect("the local S3 stops");
    }
}

/// An S3 client as the function builds it (the SDK's standard retries: a refusal or a failed
/// condition is not retried, a pooled connection the server closed is), for the local S3:
/// path-style, the given key pair.
fn config(url: &str, key_id: &str, secret: &str) -> aws_sdk_s3::config::Builder {
    aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(url)
        .force_path_style(true)
        .credentials_provider(Credentials::new(key_id, secret, None, None, "catalog-sync-tests"))
}

async fn put(client: &Client, body: Vec<u8>) -> String {
    let output = client
        .put_object()
        .bucket(BUCKET)
        .key(KEY)
        .content_type("application/json")
        .body(ByteStream::from(body))
        .send()
        .await
        .expect("the other writer's PutObject");
    output.e_tag().expect("an ETag").to_owned()
}

/// Records each request as it is sent, and lets another writer in before a PutObject.
#[derive(Debug)]
struct Recorder {
    requests: Arc<Mutex<Vec<Request>>>,
    race: Arc<Mutex<Option<Vec<u8>>>>,
    other_writer: Client,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "catalog-sync test recorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let method = request.method().to_owned();
        let header = |name: &str| request.headers().get(name).map(str::to_owned);
        let racing =
            if method == "PUT" { self.race.lock().expect("race lock").take() } else { None };
        if let Some(body) = racing {
            // Interceptors are synchronous: the other writer's request runs to completion on this
            // thread while the server keeps serving on the runtime's workers (multi-thread tests).
            let other_writer = self.other_writer.clone();
            tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(put(&other_writer, body))
            });
        }
        self.requests.lock().expect("requests lock").push(Request {
            method,
            if_match: header("if-match"),
            if_none_match: header("if-none-match"),
            status: None,
        });
        Ok(())
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(last) = self.requests.lock().expect("requests lock").last_mut() {
            last.status = Some(context.response().status().as_u16());
        }
        Ok(())
    }
}
