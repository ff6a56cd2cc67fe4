//! The end-to-end harness: quarry's whole local stack (`quarry_local::stack`) started in-process on
//! free ports from the repository's `quarry.toml`, and the calls a user makes to it — the API over
//! real HTTP/1.1, the local S3 through the AWS SDK's S3 client — plus waits for what happens in the
//! background (a dropped file becoming searchable).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use quarry::config::QuarryConfig;
use quarry_local::stack::{self, RunningStack, StackOptions};
use serde_json::{Value, json};

pub use quarry_local;

/// The API key the test stacks accept.
pub const KEY: &str = "e2e-test-key";

/// How long a dropped document may take to become searchable (or to leave the index) before a
/// test gives up: ingestion takes milliseconds here; the margin is for a loaded CI machine.
pub const INGEST_WAIT: Duration = Duration::from_secs(30);

/// The repository's `quarry.toml`, as `cargo run -p quarry-local` reads it.
pub fn config() -> QuarryConfig {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../quarry.toml");
    QuarryConfig::from_path(&path).expect("the repository's quarry.toml is valid")
}

/// The stack's options: every port free, the test key, state in `data_dir`.
pub fn options(data_dir: &Path) -> StackOptions {
    StackOptions {
        api_port: 0,
        bedrock_port: 0,
        s3_port: 0,
        api_key: Some(KEY.to_owned()),
        data_dir: data_dir.to_owned(),
        ..StackOptions::new(config())
    }
}

/// Starts the stack with `options`.
pub async fn start(options: StackOptions) -> RunningStack {
    stack::start(options).await.expect("the local stack starts on free ports")
}

/// A data directory for one test, removed when dropped.
pub fn data_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("quarry");
    (dir, path)
}

/// An answer from the API: its status and JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

/// `method path` on the stack's API with the test key and `body` as JSON.
pub async fn call(stack: &RunningStack, method: Method, path: &str, body: Option<Value>) -> Answer {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let mut request = Request::builder()
        .method(method)
        .uri(format!("{}{path}", stack.api_url()))
        .header("authorization", format!("Bearer {KEY}"));
    let body = match body {
        Some(body) => {
            request = request.header("content-type", "application/json");
            Bytes::from(body.to_string())
        }
        None => Bytes::new(),
    };
    let response = client
        .request(request.body(Full::new(body)).expect("a valid request"))
        .await
        .expect("the API answers over HTTP");
    let status = response.status();
    let bytes = response.into_body().collect().await.expect("the whole body").to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|error| {
        panic!("{path} answered {status} with a body that is not JSON ({error}): {bytes:?}")
    });
    Answer { status, body }
}

/// The object keys of the chunks `/v1/retrieve` returns for `query` (best first, up to `k`).
pub async fn retrieved_keys(stack: &RunningStack, query: &str, k: u32) -> Vec<String> {
    let answer =
        call(stack, Method::POST, "/v1/retrieve", Some(json!({"query": query, "k": k}))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body["chunks"]
        .as_array()
        .expect("a chunks array")
        .iter()
        .map(|chunk| chunk["source"]["key"].as_str().expect("a source key").to_owned())
        .collect()
}

/// Polls `condition` until it holds, for at most `timeout`; panics naming `what` otherwise.
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if condition().await {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: not after {timeout:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `/v1/retrieve` for `query` returns a chunk of `key`.
pub async fn wait_searchable(stack: &RunningStack, query: &str, key: &str) {
    wait_until(&format!("{key} searchable"), INGEST_WAIT, || async {
        retrieved_keys(stack, query, 10).await.iter().any(|k| k == key)
    })
    .await;
}

/// Uploads `body` to the documents bucket at `key` with the AWS SDK's S3 client.
pub async fn put_document(stack: &RunningStack, key: &str, body: &str) {
    stack
        .s3_client()
        .put_object()
        .bucket(stack::DOCUMENTS_BUCKET)
        .key(key)
        .body(Bytes::from(body.to_owned()).into())
        .send()
        .await
        .unwrap_or_else(|error| {
            panic!("PutObject {key}: {}", aws_sdk_s3::error::DisplayErrorContext(error))
        });
}

/// Deletes `key` from the documents bucket with the AWS SDK's S3 client.
pub async fn delete_document(stack: &RunningStack, key: &str) {
    stack
        .s3_client()
        .delete_object()
        .bucket(stack::DOCUMENTS_BUCKET)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|error| {
            panic!("DeleteObject {key}: {}", aws_sdk_s3::error::DisplayErrorContext(error))
        });
}
