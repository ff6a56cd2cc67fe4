//! The local S3: an S3 endpoint on a directory that emits S3 event notifications into a local queue.
//!
//! [`serve`] binds 127.0.0.1, serves the S3 REST API with `s3s` over `s3s-fs` (path-style
//! addressing), creates the configured buckets, and puts an S3 event message (Amazon S3's exact
//! JSON) on a durable SQS-like queue ([`NotificationQueue`]) after every PutObject, CopyObject,
//! CompleteMultipartUpload, DeleteObject and DeleteObjects on a bucket with a
//! [`NotificationConfig`]. A consumer receives the messages as Lambda's SQS event source would
//! deliver them. It is a stand-in for S3 and SQS on one machine, not a mock inside the product.
//!
//! Layout under [`S3Options::data_dir`]: `objects/` holds one directory per bucket (objects are
//! plain files at their key's path; `s3s-fs` keeps their metadata and ETags in hidden
//! `.bucket-*.json` files at the top of `objects/`) and `notifications.sqlite3` holds the queue.

pub mod admin;
pub mod event;
pub mod notify;
pub mod queue;

use std::net::SocketAddr;

use crate::net::Listener as _;
use std::path::{Path, PathBuf};

use axum::error_handling::HandleError;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use s3s::auth::{S3Auth, SecretKey};
use s3s::service::S3ServiceBuilder;
use s3s::{S3Result, s3_error};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use notify::{NotificationConfig, NotifyingFs, RequestContext};
pub use queue::{
    DeadLetter, NotificationQueue, QueueConfig, QueueError, QueueStats, QueuedMessage,
};

/// A key pair the local S3 accepts. Requests are SigV4-verified (the server needs the secret to
/// check signatures and to decode signed `aws-chunked` uploads), so clients must use one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl AccessKey {
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        AccessKey {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
        }
    }

    /// The dummy key pairs accepted by default: `test`/`test` (quarry's and LocalStack's convention)
    /// and the AWS documentation's example pair `AKIAIOSFODNN7EXAMPLE`/
    /// `wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`.
    pub fn defaults() -> Vec<AccessKey> {
        vec![
            AccessKey::new("test", "test"),
            AccessKey::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        ]
    }
}

/// How to run the local S3.
#[derive(Debug, Clone)]
pub struct S3Options {
    /// Where objects (`objects/`) and the notification queue (`notifications.sqlite3`) live,
    /// e.g. `.quarry/s3`. Created if missing.
    pub data_dir: PathBuf,
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The Region in events, ARNs and queue messages.
    pub region: String,
    /// Buckets created at start if missing, e.g. `documents`, `quarry-catalog`.
    pub buckets: Vec<String>,
    /// Which buckets' events go to the queue.
    pub notifications: Vec<NotificationConfig>,
    /// The notification queue's name, visibility timeout and redrive policy.
    pub queue: QueueConfig,
    /// Key pairs accepted; unsigned (anonymous) requests are accepted too.
    pub access_keys: Vec<AccessKey>,
}

impl S3Options {
    /// Defaults: a free port, `us-east-1`, no buckets, no notifications, the default queue and keys.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        S3Options {
            data_dir: data_dir.into(),
            port: 0,
            region: "us-east-1".to_owned(),
            buckets: Vec::new(),
            notifications: Vec::new(),
            queue: QueueConfig::default(),
            access_keys: AccessKey::defaults(),
        }
    }
}

/// What can go wrong starting or stopping the local S3.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    #[error("{0:?} is not a valid S3 bucket name (3-63 lowercase letters, digits, '.' and '-')")]
    BucketName(String),
    #[error("notification configuration {id:?} on bucket {bucket:?} is given twice")]
    DuplicateConfiguration { bucket: String, id: String },
    #[error("a notification configuration id must not be empty (bucket {0:?})")]
    EmptyConfigurationId(String),
    #[error("the region must not be empty")]
    Region,
    #[error("at least one access key is needed")]
    NoAccessKeys,
    #[error("could not prepare the data directory {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error("could not open the object store in {path}: {message}")]
    ObjectStore { path: PathBuf, message: String },
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("could not listen on 127.0.0.1:{port}: {source}")]
    Bind { port: u16, source: std::io::Error },
    #[error("the server failed: {0}")]
    Serve(std::io::Error),
    #[error("the server task ended abnormally: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// The running local S3. Stop it with [`shutdown`](Self::shutdown).
#[derive(Debug)]
pub struct RunningS3 {
    url: String,
    addr: SocketAddr,
    data_dir: PathBuf,
    queue: NotificationQueue,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningS3 {
    /// The endpoint URL, e.g. `http://127.0.0.1:49152` (the SDK's `endpoint_url`; path-style).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The notification queue: receive, delete, inspect dead letters.
    pub fn notifications(&self) -> &NotificationQueue {
        &self.queue
    }

    /// The directory holding one directory per bucket.
    pub fn objects_dir(&self) -> PathBuf {
        objects_dir(&self.data_dir)
    }

    /// Stops accepting connections, lets in-flight requests finish, and waits for the server.
    pub async fn shutdown(mut self) -> Result<(), S3Error> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await?.map_err(S3Error::Serve)
    }
}

fn objects_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("objects")
}

/// The queue's database file under `data_dir`.
pub fn queue_path(data_dir: &Path) -> PathBuf {
    data_dir.join("notifications.sqlite3")
}

/// Starts the local S3 in the background: checks the options, creates the buckets, opens the
/// queue, sends each notification configuration's `s3:TestEvent` the first time it is seen, and
/// binds 127.0.0.1:`options.port`.
pub async fn serve(options: S3Options) -> Result<RunningS3, S3Error> {
    validate(&options)?;
    let objects = objects_dir(&options.data_dir);
    let dir_error = |path: &Path| {
        let path = path.to_owned();
        move |source| S3Error::DataDir { path, source }
    };
    std::fs::create_dir_all(&objects).map_err(dir_error(&objects))?;
    for bucket in &options.buckets {
        let path = objects.join(bucket);
        std::fs::create_dir_all(&path).map_err(dir_error(&path))?;
    }
    let fs = s3s_fs::FileSystem::new(&objects)
        .map_err(|e| S3Error::ObjectStore { path: objects.clone(), message: format!("{e:?}") })?;

    let queue = NotificationQueue::open(
        &queue_path(&options.data_dir),
        &options.region,
        options.queue.clone(),
    )?;
    for config in &options.notifications {
        if queue.send_once(config.test_event_marker(), config.test_event_body()).await? {
            tracing::info!(bucket = %config.bucket, id = %config.configuration_id, "sent s3:TestEvent");
        }
    }

    let s3 =
        NotifyingFs::new(fs, options.region.clone(), options.notifications.clone(), queue.clone());
    let service = {
        let mut builder = S3ServiceBuilder::new(s3);
        builder.set_auth(LocalKeys(options.access_keys.clone()));
        builder.set_access(AllowAll);
        builder.build()
    };
    let router = admin::router(queue.clone())
        .fallback_service(HandleError::new(service, http_error))
        .layer(axum::middleware::from_fn(stamp_request));

    let port = options.port;
    let listener =
        crate::net::bind_loopback(port).await.map_err(|source| S3Error::Bind { port, source })?;
    let addr = listener.local_addr().map_err(|source| S3Error::Bind { port, source })?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    tracing::info!(%addr, data_dir = %options.data_dir.display(), buckets = ?options.buckets, "local S3 listening");
    Ok(RunningS3 {
        url: format!("http://{addr}"),
        addr,
        data_dir: options.data_dir,
        queue,
        stop: Some(stop),
        task,
    })
}

fn validate(options: &S3Options) -> Result<(), S3Error> {
    if options.region.trim().is_empty() {
        return Err(S3Error::Region);
    }
    if options.access_keys.is_empty() {
        return Err(S3Error::NoAccessKeys);
    }
    let buckets = options.buckets.iter().chain(options.notifications.iter().map(|n| &n.bucket));
    for bucket in buckets {
        if !s3s::path::check_bucket_name(bucket) {
            return Err(S3Error::BucketName(bucket.clone()));
        }
    }
    let mut seen = std::collections::HashSet::new();
    for n in &options.notifications {
        if n.configuration_id.is_empty() {
            return Err(S3Error::EmptyConfigurationId(n.bucket.clone()));
        }
        if !seen.insert((&n.bucket, &n.configuration_id)) {
            return Err(S3Error::DuplicateConfiguration {
                bucket: n.bucket.clone(),
                id: n.configuration_id.clone(),
            });
        }
    }
    Ok(())
}

/// Gives every request S3's `x-amz-request-id` / `x-amz-id-2` (in the response headers and, for the
/// event, in the request's extensions), records the caller's IP address, and sends a 304 without
/// a body.
async fn stamp_request(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    let context = RequestContext::generate(peer.ip().to_string());
    let ids =
        [("x-amz-request-id", context.request_id.clone()), ("x-amz-id-2", context.host_id.clone())];
    request.extensions_mut().insert(context);
    let mut response = next.run(request).await;
    if response.status() == StatusCode::NOT_MODIFIED {
        // A 304 has no body (RFC 9110 section 15.4.5); s3s writes its error XML into every error.
        *response.body_mut() = axum::body::Body::empty();
        response.headers_mut().remove(axum::http::header::CONTENT_LENGTH);
        response.headers_mut().remove(axum::http::header::CONTENT_TYPE);
    }
    for (name, value) in ids {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// `s3s` reports a request it could not even turn into an S3 error (e.g. a broken body) this way.
async fn http_error(error: s3s::HttpError) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, format!("{error:?}")).into_response()
}

/// SigV4 secrets for the accepted key pairs.
#[derive(Debug)]
struct LocalKeys(Vec<AccessKey>);

#[async_trait::async_trait]
impl S3Auth for LocalKeys {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        match self.0.iter().find(|k| k.access_key_id == access_key) {
            Some(k) => Ok(SecretKey::from(k.secret_access_key.as_str())),
            None => {
                let accepted: Vec<&str> = self.0.iter().map(|k| k.access_key_id.as_str()).collect();
                Err(s3_error!(
                    InvalidAccessKeyId,
                    "The AWS Access Key Id you provided does not exist in our records. The local S3 \
                     accepts the access key ids {accepted:?} (the default is `test` with secret `test`)."
                ))
            }
        }
    }
}

/// No IAM locally: every request that passed authentication (or came unsigned) may do anything.
#[derive(Debug)]
struct AllowAll;

#[async_trait::async_trait]
impl s3s::access::S3Access for AllowAll {
    async fn check(&self, _cx: &mut s3s::access::S3AccessContext<'_>) -> S3Result<()> {
        Ok(())
    }
}
