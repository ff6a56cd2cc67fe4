//! A tiny S3 stand-in for these tests, until quarry-local's S3 lands: one loopback port speaking
//! S3's REST API (path-style) for GetObject and PutObject on in-memory objects, with the
//! conditional requests catalog-sync relies on — `If-Match` / `If-None-Match: *` on PutObject
//! (412 PreconditionFailed otherwise) and `If-None-Match: <etag>` on GetObject (304) — and S3's
//! XML errors (Amazon S3 API Reference, "Error responses": NoSuchKey 404, PreconditionFailed
//! 412, AccessDenied 403), so the unmodified aws-sdk-s3 client parses every answer itself.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// One stored object.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub body: Vec<u8>,
    pub etag: String,
}

/// A PutObject the stub received, and whether its condition held.
#[derive(Debug, Clone, PartialEq)]
pub struct Put {
    pub if_match: Option<String>,
    pub if_none_match: Option<String>,
    pub written: bool,
}

#[derive(Debug, Default)]
pub struct S3State {
    objects: HashMap<String, Object>,
    versions: u32,
    pub puts: Vec<Put>,
    pub gets: usize,
    /// Written to the object read right after the next GetObject is answered: another writer
    /// winning the race between a read and a conditional write.
    pub write_after_next_read: Option<Vec<u8>>,
    /// GetObject answers 403 AccessDenied.
    pub deny_reads: bool,
}

impl S3State {
    fn store(&mut self, path: &str, body: Vec<u8>) -> String {
        self.versions += 1;
        let etag = format!("\"{:032x}\"", self.versions);
        self.objects.insert(path.to_owned(), Object { body, etag: etag.clone() });
        etag
    }
}

/// A running stub; dropping it leaves the server task to end with the test's runtime.
#[derive(Debug, Clone)]
pub struct S3Stub {
    pub url: String,
    state: Arc<Mutex<S3State>>,
}

impl S3Stub {
    /// Serves an empty stub on a free loopback port.
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(S3State::default()));
        let app = Router::new()
            .route("/{bucket}/{*key}", get(get_object).put(put_object))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("the bound address"));
        tokio::spawn(async move { axum::serve(listener, app).await.expect("the S3 stub serves") });
        S3Stub { url, state }
    }

    pub fn state(&self) -> MutexGuard<'_, S3State> {
        self.state.lock().expect("stub lock")
    }

    /// Stores `body` at `bucket/key`, as another writer would.
    pub fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> String {
        self.state().store(&format!("{bucket}/{key}"), body)
    }

    pub fn object(&self, bucket: &str, key: &str) -> Option<Object> {
        self.state().objects.get(&format!("{bucket}/{key}")).cloned()
    }

    /// The client an application would build, pointed at the stub (path-style addressing, test
    /// credentials, no retries).
    pub fn client(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .endpoint_url(&self.url)
            .force_path_style(true)
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .retry_config(aws_sdk_s3::config::retry::RetryConfig::standard().with_max_attempts(1))
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }
}

type Shared = State<Arc<Mutex<S3State>>>;

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>4442587FB7D0A2F9</RequestId><HostId>c3R1Yi1ob3N0</HostId></Error>"
    );
    (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

fn header_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn get_object(
    State(state): Shared,
    Path((bucket, key)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut state = state.lock().expect("stub lock");
    state.gets += 1;
    if state.deny_reads {
        return error(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied");
    }
    let path = format!("{bucket}/{key}");
    let Some(object) = state.objects.get(&path).cloned() else {
        return error(StatusCode::NOT_FOUND, "NoSuchKey", "The specified key does not exist.");
    };
    if let Some(body) = state.write_after_next_read.take() {
        state.store(&path, body);
    }
    if header_value(&headers, "if-none-match") == Some(object.etag.as_str()) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, object.etag)]).into_response();
    }
    (
        StatusCode::OK,
        [(header::ETAG, object.etag), (header::CONTENT_TYPE, "application/json".to_owned())],
        object.body,
    )
        .into_response()
}

async fn put_object(
    State(state): Shared,
    Path((bucket, key)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut state = state.lock().expect("stub lock");
    let path = format!("{bucket}/{key}");
    let current = state.objects.get(&path).map(|o| o.etag.clone());
    let if_match = header_value(&headers, "if-match").map(str::to_owned);
    let if_none_match = header_value(&headers, "if-none-match").map(str::to_owned);
    let holds = match (&if_match, &if_none_match) {
        (Some(etag), _) => current.as_ref() == Some(etag),
        (None, Some(star)) if star == "*" => current.is_none(),
        (None, Some(_)) => false,
        (None, None) => true,
    };
    state.puts.push(Put { if_match, if_none_match, written: holds });
    if !holds {
        return error(
            StatusCode::PRECONDITION_FAILED,
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold",
        );
    }
    let etag = state.store(&path, body.to_vec());
    (StatusCode::OK, [(header::ETAG, etag)]).into_response()
}
