//! `quarry-local put`: local files into the running stack's documents bucket, without the AWS CLI.
//!
//! [`plan`] turns the paths given (files, and folders walked recursively, hidden entries skipped)
//! into uploads with their object keys: a file given by name keeps its name, a file found in a
//! folder keeps its path below that folder (`docs/guides/a.md` given as `docs` → `guides/a.md`),
//! all under an optional prefix. [`upload`] sends them with the AWS SDK's S3 client to the local
//! S3, a few at a time, reporting progress. Each PutObject raises the S3 event notification the
//! stack's ingest consumer handles, exactly as a drop with `aws s3 cp` does.
//!
//! [`wait_until_ingested`] then watches the local S3's queue report (`GET /_quarry/queue`) until
//! no message about the uploaded keys is waiting or in flight, and names the keys whose message
//! went to the dead-letter list instead of being ingested.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::s3::admin::{QUEUE_PATH, QueueReport};

/// Uploads in flight at once.
pub const CONCURRENT_UPLOADS: usize = 4;

/// How often the queue report is read while waiting.
const WAIT_POLL: Duration = Duration::from_millis(200);

/// One file to upload, and the key it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub path: PathBuf,
    pub key: String,
    pub bytes: u64,
}

/// What can go wrong putting files.
#[derive(Debug, thiserror::Error)]
pub enum PutError {
    #[error("{}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{} is neither a file nor a folder", path.display())]
    NotAFile { path: PathBuf },
    #[error("{} has a name that is not UTF-8, which an S3 key cannot hold", path.display())]
    NotUtf8 { path: PathBuf },
    #[error("nothing to upload: the paths given hold no files (hidden files are skipped)")]
    Empty,
    #[error("uploading {} to s3://{bucket}/{key}: {message}", path.display())]
    Upload { path: PathBuf, bucket: String, key: String, message: String },
    #[error("reading the queue report at {url}: {message}")]
    Queue { url: String, message: String },
    #[error(
        "{waiting} document(s) were still waiting to be ingested after {}s; the stack's log says why (GET {url} lists them)",
        timeout.as_secs()
    )]
    WaitTimeout { waiting: usize, timeout: Duration, url: String },
}

/// The uploads for `paths`, each key under `prefix` (which gets a trailing `/` if it has none),
/// in path order; duplicates (a file given twice) are uploaded once.
pub fn plan(paths: &[PathBuf], prefix: Option<&str>) -> Result<Vec<Upload>, PutError> {
    let prefix = match prefix.map(|p| p.trim_matches('/')) {
        Some(p) if !p.is_empty() => format!("{p}/"),
        _ => String::new(),
    };
    let mut uploads = Vec::new();
    for path in paths {
        let metadata = std::fs::metadata(path)
            .map_err(|source| PutError::Read { path: path.clone(), source })?;
        if metadata.is_file() {
            let name = path.file_name().ok_or_else(|| PutError::NotAFile { path: path.clone() })?;
            let name = name.to_str().ok_or_else(|| PutError::NotUtf8 { path: path.clone() })?;
            uploads.push(Upload {
                path: path.clone(),
                key: format!("{prefix}{name}"),
                bytes: metadata.len(),
            });
        } else if metadata.is_dir() {
            walk(path, path, &prefix, &mut uploads)?;
        } else {
            return Err(PutError::NotAFile { path: path.clone() });
        }
    }
    let mut seen = BTreeSet::new();
    uploads.retain(|upload| seen.insert(upload.key.clone()));
    if uploads.is_empty() {
        return Err(PutError::Empty);
    }
    Ok(uploads)
}

/// Adds the files below `dir` (recursively, sorted, hidden entries skipped) keyed by their path
/// relative to `root`.
fn walk(root: &Path, dir: &Path, prefix: &str, uploads: &mut Vec<Upload>) -> Result<(), PutError> {
    let read_error = |source| PutError::Read { path: dir.to_owned(), source };
    let mut entries = std::fs::read_dir(dir)
        .map_err(read_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(read_error)?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let metadata = std::fs::metadata(&path)
            .map_err(|source| PutError::Read { path: path.clone(), source })?;
        if metadata.is_dir() {
            walk(root, &path, prefix, uploads)?;
        } else if metadata.is_file() {
            let relative = path.strip_prefix(root).unwrap_or(&path);
            let mut parts = Vec::new();
            for part in relative.components() {
                let part = part
                    .as_os_str()
                    .to_str()
                    .ok_or_else(|| PutError::NotUtf8 { path: path.clone() })?;
                parts.push(part);
            }
            uploads.push(Upload {
                key: format!("{prefix}{}", parts.join("/")),
                path,
                bytes: metadata.len(),
            });
        }
    }
    Ok(())
}

/// Uploads every file to `bucket`, [`CONCURRENT_UPLOADS`] at a time, calling `progress` with each
/// upload once it is stored. Stops at the first failure (what was stored stays stored).
pub async fn upload(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    uploads: &[Upload],
    mut progress: impl FnMut(&Upload),
) -> Result<(), PutError> {
    let mut puts = futures_util::stream::iter(uploads)
        .map(|upload| async move {
            let failed = |message: String| PutError::Upload {
                path: upload.path.clone(),
                bucket: bucket.to_owned(),
                key: upload.key.clone(),
                message,
            };
            let body = ByteStream::from_path(&upload.path)
                .await
                .map_err(|error| failed(error.to_string()))?;
            s3.put_object().bucket(bucket).key(&upload.key).body(body).send().await.map_err(
                |error| failed(aws_sdk_s3::error::DisplayErrorContext(error).to_string()),
            )?;
            Ok::<_, PutError>(upload)
        })
        .buffer_unordered(CONCURRENT_UPLOADS);
    while let Some(done) = puts.next().await {
        progress(done?);
    }
    Ok(())
}

/// What became of the uploaded keys once the queue holds nothing more about them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestResult {
    /// Keys whose event message went to the dead-letter list during the wait.
    pub dead_lettered: Vec<String>,
}

/// The dead letters already in the queue before an upload, so only new ones are reported.
pub async fn dead_letter_ids(s3_url: &str) -> Result<BTreeSet<String>, PutError> {
    let report = queue_report(&http_client(), s3_url).await?;
    Ok(report.dead_letters.into_iter().map(|dead| dead.message_id).collect())
}

/// Waits until no message about `keys` in `bucket` is waiting or in flight in the local S3's
/// notification queue, for at most `timeout`, calling `progress` with how many keys still wait.
/// Dead letters other than `known_dead` that name one of the keys are reported.
pub async fn wait_until_ingested(
    s3_url: &str,
    bucket: &str,
    keys: &[String],
    known_dead: &BTreeSet<String>,
    timeout: Duration,
    mut progress: impl FnMut(usize),
) -> Result<IngestResult, PutError> {
    let keys: BTreeSet<&str> = keys.iter().map(String::as_str).collect();
    let ours = |objects: &[crate::s3::admin::EventObject]| -> Vec<String> {
        objects
            .iter()
            .filter(|object| object.bucket == bucket && keys.contains(object.key.as_str()))
            .map(|object| object.key.clone())
            .collect()
    };
    let client = http_client();
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let report = queue_report(&client, s3_url).await?;
        let waiting: BTreeSet<String> =
            report.pending.iter().flat_map(|entry| ours(&entry.objects)).collect();
        progress(waiting.len());
        if waiting.is_empty() {
            let dead_lettered: BTreeSet<String> = report
                .dead_letters
                .iter()
                .filter(|dead| !known_dead.contains(&dead.message_id))
                .flat_map(|dead| ours(&dead.objects))
                .collect();
            return Ok(IngestResult { dead_lettered: dead_lettered.into_iter().collect() });
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(PutError::WaitTimeout {
                waiting: waiting.len(),
                timeout,
                url: format!("{}{QUEUE_PATH}", s3_url.trim_end_matches('/')),
            });
        }
        tokio::time::sleep(WAIT_POLL).await;
    }
}

type HttpClient = Client<HttpConnector, Empty<bytes::Bytes>>;

/// A plain HTTP/1.1 client for the admin routes of the local S3.
fn http_client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// `GET <s3_url>/_quarry/queue`.
async fn queue_report(client: &HttpClient, s3_url: &str) -> Result<QueueReport, PutError> {
    let url = format!("{}{QUEUE_PATH}", s3_url.trim_end_matches('/'));
    let failed = |message: String| PutError::Queue { url: url.clone(), message };
    let uri: axum::http::Uri = url.parse().map_err(|error| failed(format!("{error}")))?;
    let response = client.get(uri).await.map_err(|error| failed(error.to_string()))?;
    let status = response.status();
    let body =
        response.into_body().collect().await.map_err(|error| failed(error.to_string()))?.to_bytes();
    if !status.is_success() {
        return Err(failed(format!("{status}: {}", String::from_utf8_lossy(&body))));
    }
    serde_json::from_slice(&body).map_err(|error| failed(format!("not a queue report: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("folder");
        }
        std::fs::write(path, text).expect("file written");
    }

    #[test]
    fn folders_keep_their_relative_paths_and_files_their_names() {
        let dir = tempfile::tempdir().expect("temp dir");
        let docs = dir.path().join("docs");
        write(&docs.join("guides/setup.md"), "setup");
        write(&docs.join("faq.html"), "<p>faq</p>");
        write(&docs.join(".DS_Store"), "hidden");
        write(&docs.join(".git/config"), "hidden");
        let single = dir.path().join("notes.txt");
        write(&single, "notes");
        let uploads = plan(&[docs, single.clone()], Some("/team/")).expect("planned");
        let keys: Vec<&str> = uploads.iter().map(|u| u.key.as_str()).collect();
        assert_eq!(keys, ["team/faq.html", "team/guides/setup.md", "team/notes.txt"]);
        assert_eq!(uploads[2].bytes, 5);
        assert_eq!(uploads[2].path, single);
    }

    #[test]
    fn the_same_file_twice_is_uploaded_once_and_nothing_at_all_is_an_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("a.md");
        write(&file, "a");
        let uploads = plan(&[file.clone(), file], None).expect("planned");
        assert_eq!(uploads.len(), 1);
        assert_eq!(uploads[0].key, "a.md");
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).expect("folder");
        assert!(matches!(plan(&[empty], None), Err(PutError::Empty)));
        let missing = plan(&[dir.path().join("missing.md")], None).expect_err("missing");
        assert!(missing.to_string().contains("missing.md"), "{missing}");
    }
}
