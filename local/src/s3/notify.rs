//! The local S3's operations: `s3s-fs` on a directory, plus S3 event notifications after each write.
//!
//! [`NotifyingFs`] implements `s3s::S3` by handing every operation `s3s-fs` implements to
//! `s3s_fs::FileSystem`. After a successful PutObject, CopyObject, CompleteMultipartUpload,
//! DeleteObject and each key of DeleteObjects, it queues one S3 event message per matching
//! [`NotificationConfig`] — before the response goes out, so a client that saw success can count
//! on the event (if queueing fails, the request fails with `InternalError` and the client retries:
//! at least once, never lost).
//!
//! Writes to one key are serialised (a lock per key, striped): the conditional checks `s3s-fs`
//! makes (`If-Match`, `If-None-Match`) and the write itself happen as one step, and the sequencer
//! each event gets follows the order the writes happened in.

use std::hash::{BuildHasher, RandomState};
use std::time::{SystemTime, UNIX_EPOCH};

use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};
use s3s_fs::FileSystem;
use tokio::sync::{Mutex, MutexGuard};

use super::event::{
    CreatedObject, EventMessage, EventName, ObjectEvent, TestEvent, format_sequencer,
};
use super::queue::NotificationQueue;

/// Where a bucket's events go: one S3 notification configuration, delivering every
/// `s3:ObjectCreated:*` and `s3:ObjectRemoved:*` event whose key matches the filter to the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationConfig {
    pub bucket: String,
    /// The `configurationId` in each record (the notification configuration's `Id`).
    pub configuration_id: String,
    /// Only keys starting with this (S3's `prefix` filter rule).
    pub prefix: Option<String>,
    /// Only keys ending with this (S3's `suffix` filter rule).
    pub suffix: Option<String>,
}

impl NotificationConfig {
    /// Every event of `bucket`, under the configuration id `configuration_id`.
    pub fn all_events(bucket: impl Into<String>, configuration_id: impl Into<String>) -> Self {
        NotificationConfig {
            bucket: bucket.into(),
            configuration_id: configuration_id.into(),
            prefix: None,
            suffix: None,
        }
    }

    fn matches(&self, bucket: &str, key: &str) -> bool {
        self.bucket == bucket
            && self.prefix.as_deref().is_none_or(|p| key.starts_with(p))
            && self.suffix.as_deref().is_none_or(|s| key.ends_with(s))
    }

    /// The `s3:TestEvent` message body S3 sends when this configuration is set up.
    pub(crate) fn test_event_body(&self) -> String {
        let ids = RequestContext::generate("127.0.0.1".to_owned());
        let event = TestEvent::new(&self.bucket, SystemTime::now(), ids.request_id, ids.host_id);
        serde_json::to_string(&event).unwrap_or_default()
    }

    /// The marker under which this configuration's test event is sent once.
    pub(crate) fn test_event_marker(&self) -> String {
        format!("s3:TestEvent\n{}\n{}", self.bucket, self.configuration_id)
    }
}

/// Per-request facts the HTTP layer records for the event: the ids it answers with and the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// `x-amz-request-id`: 16 uppercase hex digits.
    pub request_id: String,
    /// `x-amz-id-2`.
    pub host_id: String,
    pub source_ip: String,
}

impl RequestContext {
    /// Fresh ids, shaped like S3's, for a request from `source_ip`.
    pub fn generate(source_ip: String) -> Self {
        let a = uuid::Uuid::new_v4();
        let request_id = a.simple().to_string()[..16].to_uppercase();
        let raw: Vec<u8> = (0..3).flat_map(|_| *uuid::Uuid::new_v4().as_bytes()).collect();
        let host_id = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, raw);
        RequestContext { request_id, host_id, source_ip }
    }
}

/// The counter the sequencers are drawn from, in the queue's database.
const SEQUENCER_COUNTER: &str = "s3-event-sequencer";

/// Key locks: enough stripes that unrelated keys rarely wait for each other.
const LOCK_STRIPES: usize = 256;

/// `s3s-fs` with S3 event notifications; see the module docs.
#[derive(Debug)]
pub struct NotifyingFs {
    fs: FileSystem,
    region: String,
    notifications: Vec<NotificationConfig>,
    queue: NotificationQueue,
    locks: Vec<Mutex<()>>,
    hasher: RandomState,
}

impl NotifyingFs {
    pub fn new(
        fs: FileSystem,
        region: String,
        notifications: Vec<NotificationConfig>,
        queue: NotificationQueue,
    ) -> Self {
        let locks = (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect();
        NotifyingFs { fs, region, notifications, queue, locks, hasher: RandomState::new() }
    }

    async fn lock_key(&self, bucket: &str, key: &str) -> MutexGuard<'_, ()> {
        let stripe =
            usize::try_from(self.hasher.hash_one((bucket, key)) % LOCK_STRIPES as u64).unwrap_or(0);
        self.locks[stripe].lock().await
    }

    /// Size and ETag of the object just written, as HeadObject reports them.
    async fn created<T>(
        &self,
        req: &S3Request<T>,
        bucket: &str,
        key: &str,
    ) -> S3Result<CreatedObject> {
        if key.ends_with('/') {
            // A "folder" object: s3s-fs stores it as a directory, which HeadObject cannot read.
            return Ok(CreatedObject {
                size: 0,
                e_tag: "d41d8cd98f00b204e9800998ecf8427e".to_owned(),
            });
        }
        let input = HeadObjectInput {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            ..Default::default()
        };
        let head = self.fs.head_object(derived_request(req, input)).await?.output;
        Ok(CreatedObject {
            size: head.content_length.and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
            e_tag: head.e_tag.map(|t| t.value().to_owned()).unwrap_or_default(),
        })
    }

    /// Queues the event for every matching configuration (nothing if none matches).
    async fn notify<T>(
        &self,
        req: &S3Request<T>,
        name: EventName,
        bucket: &str,
        key: &str,
        created: Option<CreatedObject>,
    ) -> S3Result<()> {
        let configs: Vec<String> = self
            .notifications
            .iter()
            .filter(|c| c.matches(bucket, key))
            .map(|c| c.configuration_id.clone())
            .collect();
        if configs.is_empty() {
            return Ok(());
        }
        let context = req
            .extensions
            .get::<RequestContext>()
            .cloned()
            .unwrap_or_else(|| RequestContext::generate("127.0.0.1".to_owned()));
        let event = ObjectEvent {
            name,
            region: self.region.clone(),
            time: SystemTime::now(),
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            created,
            principal_id: req
                .credentials
                .as_ref()
                .map_or_else(|| "anonymous".to_owned(), |c| format!("AWS:{}", c.access_key)),
            source_ip: context.source_ip,
            request_id: context.request_id,
            host_id: context.host_id,
        };
        // Sequencers never go back, even if the queue's database is replaced: at least the time.
        let floor = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        self.queue
            .send_counted(SEQUENCER_COUNTER, floor, move |n| {
                let sequencer = format_sequencer(n);
                configs
                    .iter()
                    .map(|id| {
                        let message = EventMessage { records: vec![event.record(id, &sequencer)] };
                        serde_json::to_string(&message).unwrap_or_default()
                    })
                    .collect()
            })
            .await
            .map_err(|e| {
                s3_error!(
                    InternalError,
                    "The object was changed but its event notification could not be queued ({e}); \
                     retry the request."
                )
            })?;
        Ok(())
    }
}

/// The conditional read headers of GetObject and HeadObject, as Amazon S3 evaluates them (Amazon S3
/// API Reference, GetObject: "If-Match … otherwise, return a 412 Precondition Failed error";
/// "If-None-Match … otherwise, return a 304 Not Modified error"; RFC 9110 section 13.2.2 for the
/// order): `If-Match` first — the object's ETag must equal one given (strong comparison) or the
/// condition be `*` — else 412 PreconditionFailed; then `If-None-Match` — the ETag must differ
/// from the one given (weak comparison) and the condition not be `*` — else 304 Not Modified,
/// which carries the ETag and no body. The date conditions (`If-Modified-Since`,
/// `If-Unmodified-Since`) are not evaluated.
pub fn check_preconditions(
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
    current: Option<&ETag>,
) -> S3Result<()> {
    let matches = |condition: &ETagCondition, strong: bool| match (condition, current) {
        (ETagCondition::Any, current) => current.is_some(),
        (ETagCondition::ETag(wanted), Some(current)) if strong => wanted.strong_cmp(current),
        (ETagCondition::ETag(wanted), Some(current)) => wanted.weak_cmp(current),
        (ETagCondition::ETag(_), None) => false,
    };
    if let Some(condition) = if_match
        && !matches(condition, true)
    {
        return Err(s3_error!(
            PreconditionFailed,
            "At least one of the pre-conditions you specified did not hold (If-Match)"
        ));
    }
    if let Some(condition) = if_none_match
        && matches(condition, false)
    {
        let mut error = s3_error!(NotModified, "Not Modified");
        if let Some(etag) = current.and_then(|etag| etag.to_http_header().ok()) {
            let mut headers = axum::http::HeaderMap::new();
            headers.insert(axum::http::header::ETAG, etag);
            error.set_headers(headers);
        }
        return Err(error);
    }
    Ok(())
}

/// A request for another operation, made on behalf of `req` (same caller, same context).
fn derived_request<T, U>(req: &S3Request<T>, input: U) -> S3Request<U> {
    S3Request {
        input,
        method: req.method.clone(),
        uri: req.uri.clone(),
        headers: req.headers.clone(),
        extensions: req.extensions.clone(),
        credentials: req.credentials.clone(),
        region: req.region.clone(),
        service: req.service.clone(),
        trailing_headers: None,
    }
}

/// A copy of `req` without its input (the input moves on to `s3s-fs`).
fn context_of<T>(req: &S3Request<T>) -> S3Request<()> {
    derived_request(req, ())
}

#[async_trait::async_trait]
impl S3 for NotifyingFs {
    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let context = context_of(&req);
        let _guard = self.lock_key(&bucket, &key).await;
        let response = self.fs.put_object(req).await?;
        let created = self.created(&context, &bucket, &key).await?;
        self.notify(&context, EventName::Put, &bucket, &key, Some(created)).await?;
        Ok(response)
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let context = context_of(&req);
        let _guard = self.lock_key(&bucket, &key).await;
        let response = self.fs.copy_object(req).await?;
        let created = self.created(&context, &bucket, &key).await?;
        self.notify(&context, EventName::Copy, &bucket, &key, Some(created)).await?;
        Ok(response)
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let context = context_of(&req);
        let _guard = self.lock_key(&bucket, &key).await;
        // s3s-fs assembles the object before it answers (its `future` only builds the XML).
        let response = self.fs.complete_multipart_upload(req).await?;
        let created = self.created(&context, &bucket, &key).await?;
        self.notify(&context, EventName::CompleteMultipartUpload, &bucket, &key, Some(created))
            .await?;
        Ok(response)
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let context = context_of(&req);
        let _guard = self.lock_key(&bucket, &key).await;
        let response = self.fs.delete_object(req).await?;
        self.notify(&context, EventName::Delete, &bucket, &key, None).await?;
        Ok(response)
    }

    /// Each key is deleted as a DeleteObject would be, with its own event; a key that fails is
    /// reported in `Errors` and the others still go (S3's per-key results).
    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let bucket = req.input.bucket.clone();
        let head = HeadBucketInput { bucket: bucket.clone(), ..Default::default() };
        self.fs.head_bucket(derived_request(&req, head)).await?;
        let quiet = req.input.delete.quiet.unwrap_or(false);
        let mut deleted = Vec::new();
        let mut errors = Vec::new();
        for object in &req.input.delete.objects {
            let key = object.key.clone();
            let input = DeleteObjectInput {
                bucket: bucket.clone(),
                key: key.clone(),
                version_id: object.version_id.clone(),
                ..Default::default()
            };
            let _guard = self.lock_key(&bucket, &key).await;
            let outcome = match self.fs.delete_object(derived_request(&req, input)).await {
                Ok(_) => self.notify(&req, EventName::Delete, &bucket, &key, None).await,
                Err(e) => Err(e),
            };
            match outcome {
                Ok(()) => deleted.push(DeletedObject {
                    key: Some(key),
                    version_id: object.version_id.clone(),
                    ..Default::default()
                }),
                Err(e) => errors.push(Error {
                    code: Some(e.code().as_str().to_owned()),
                    key: Some(key),
                    message: e.message().map(str::to_owned),
                    version_id: object.version_id.clone(),
                }),
            }
        }
        let output = DeleteObjectsOutput {
            deleted: (!quiet).then_some(deleted),
            errors: (!errors.is_empty()).then_some(errors),
            ..Default::default()
        };
        Ok(S3Response::new(output))
    }

    // Everything else s3s-fs implements, handed over as is.

    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        self.fs.create_bucket(req).await
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.fs.delete_bucket(req).await
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.fs.head_bucket(req).await
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.fs.get_bucket_location(req).await
    }

    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        self.fs.list_buckets(req).await
    }

    /// `s3s-fs` ignores `If-Match` / `If-None-Match`; they are checked here against the ETag of
    /// the object being returned ([`check_preconditions`]).
    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let (if_match, if_none_match) =
            (req.input.if_match.clone(), req.input.if_none_match.clone());
        let response = self.fs.get_object(req).await?;
        check_preconditions(
            if_match.as_ref(),
            if_none_match.as_ref(),
            response.output.e_tag.as_ref(),
        )?;
        Ok(response)
    }

    /// HeadObject honours the same conditions as GetObject.
    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let (if_match, if_none_match) =
            (req.input.if_match.clone(), req.input.if_none_match.clone());
        let response = self.fs.head_object(req).await?;
        check_preconditions(
            if_match.as_ref(),
            if_none_match.as_ref(),
            response.output.e_tag.as_ref(),
        )?;
        Ok(response)
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        self.fs.list_objects(req).await
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        self.fs.list_objects_v2(req).await
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.fs.create_multipart_upload(req).await
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        self.fs.upload_part(req).await
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        self.fs.upload_part_copy(req).await
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        self.fs.list_parts(req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.fs.abort_multipart_upload(req).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::time::Duration;
    use tokio::sync::mpsc;

    fn request<T>(input: T) -> S3Request<T> {
        S3Request {
            input,
            method: axum::http::Method::PUT,
            uri: axum::http::Uri::from_static("/documents/lock"),
            headers: Default::default(),
            extensions: Default::default(),
            credentials: None,
            region: None,
            service: None,
            trailing_headers: None,
        }
    }

    /// A body whose bytes arrive when the test sends them.
    fn slow_body() -> (mpsc::Sender<Bytes>, StreamingBlob) {
        let (tx, rx) = mpsc::channel::<Bytes>(4);
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|chunk| (Ok::<_, std::io::Error>(chunk), rx))
        });
        (tx, StreamingBlob::wrap(stream))
    }

    fn etag(header: &str) -> ETag {
        ETag::parse_http_header(header.as_bytes()).expect("an ETag header")
    }

    fn condition(header: &str) -> ETagCondition {
        ETagCondition::parse_http_header(header.as_bytes()).expect("a condition header")
    }

    fn status(result: S3Result<()>) -> u16 {
        result.map_or_else(|e| e.status_code().map_or(0, |s| s.as_u16()), |()| 200)
    }

    #[test]
    fn read_preconditions_follow_s3_and_rfc_9110() {
        let current = etag("\"d41d8cd98f00b204e9800998ecf8427e\"");
        let same = condition("\"d41d8cd98f00b204e9800998ecf8427e\"");
        let weak_same = condition("W/\"d41d8cd98f00b204e9800998ecf8427e\"");
        let other = condition("\"00000000000000000000000000000000\"");
        let any = ETagCondition::Any;
        let check = |m: Option<&ETagCondition>, n: Option<&ETagCondition>| {
            status(check_preconditions(m, n, Some(&current)))
        };
        assert_eq!(check(None, None), 200);
        assert_eq!(check(Some(&same), None), 200);
        assert_eq!(check(Some(&any), None), 200);
        assert_eq!(check(Some(&other), None), 412);
        // If-Match compares strongly: a weak validator never matches.
        assert_eq!(check(Some(&weak_same), None), 412);
        assert_eq!(check(None, Some(&same)), 304);
        // If-None-Match compares weakly: W/"x" names the same representation as "x".
        assert_eq!(check(None, Some(&weak_same)), 304);
        assert_eq!(check(None, Some(&any)), 304);
        assert_eq!(check(None, Some(&other)), 200);
        assert_eq!(check(Some(&other), Some(&same)), 412, "If-Match is evaluated first");
        assert_eq!(check(Some(&same), Some(&other)), 200);
        // An object without an ETag matches nothing, not even `*`.
        assert_eq!(status(check_preconditions(Some(&any), None, None)), 412);
        assert_eq!(status(check_preconditions(None, Some(&any), None)), 200);
        let not_modified = check_preconditions(None, Some(&same), Some(&current)).expect_err("304");
        let headers = not_modified.headers().expect("headers on the 304");
        assert_eq!(headers["etag"], "\"d41d8cd98f00b204e9800998ecf8427e\"");
    }

    #[tokio::test]
    async fn if_none_match_is_checked_and_written_as_one_step() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("objects/documents")).expect("bucket dir");
        let fs = FileSystem::new(dir.path().join("objects")).expect("s3s-fs");
        let queue = NotificationQueue::open(
            &dir.path().join("q.sqlite3"),
            "us-east-1",
            super::super::QueueConfig::default(),
        )
        .expect("queue");
        let s3 =
            std::sync::Arc::new(NotifyingFs::new(fs, "us-east-1".to_owned(), Vec::new(), queue));

        // Two creators start before either body has arrived: s3s-fs checks If-None-Match before
        // it reads the body, so without the key lock both would pass the check and both "win".
        let mut senders = Vec::new();
        let mut writers = Vec::new();
        for _ in 0..2 {
            let (tx, body) = slow_body();
            senders.push(tx);
            let input = PutObjectInput {
                bucket: "documents".to_owned(),
                key: "lock".to_owned(),
                body: Some(body),
                if_none_match: Some(ETagCondition::Any),
                ..Default::default()
            };
            let s3 = std::sync::Arc::clone(&s3);
            writers.push(tokio::spawn(async move { s3.put_object(request(input)).await }));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        for tx in senders {
            // The second writer may already have been refused and dropped its body.
            let _ = tx.send(Bytes::from_static(b"mine")).await;
        }
        let mut outcomes = Vec::new();
        for writer in writers {
            outcomes.push(
                writer.await.expect("writer finished").map(|_| ()).map_err(|e| e.code().clone()),
            );
        }
        let winners = outcomes.iter().filter(|o| o.is_ok()).count();
        assert_eq!(winners, 1, "exactly one creator wins: {outcomes:?}");
        assert!(outcomes.contains(&Err(s3s::S3ErrorCode::PreconditionFailed)), "{outcomes:?}");
    }
}
