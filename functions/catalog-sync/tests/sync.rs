//! catalog-sync end to end: the unmodified aws-sdk-bedrock client against the real local Bedrock
//! endpoint (quarry-local, its built-in catalog snapshot or a changed copy), and the unmodified
//! aws-sdk-s3 client against quarry-local's S3 ([`support`]), whose PutObject honours `If-Match` /
//! `If-None-Match: *` as S3 conditional writes do (412 PreconditionFailed otherwise) and whose
//! event notifications count what was actually written.

mod support;

use std::cell::RefCell;
use std::sync::{Arc, Mutex, Once};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_bedrock::config::Credentials;
use aws_smithy_types::retry::RetryConfig;
use quarry::catalog::{Catalog, LifecycleStatus, Retirement};
use quarry::config::{CatalogSyncSettings, QuarryConfig, StackResources};
use quarry_catalog_sync::{Outcome, SyncError, Trigger, fetch_catalog, handle, sync};
use quarry_local::catalog::Catalog as LocalCatalog;
use quarry_local::{BedrockConfig, CatalogSource, RunningServer};
use serde_json::Value;
use support::{BUCKET, CatalogBucket, OTHER_WRITER, Request, SYNC_WRITER, Write};

/// The built-in catalog data of the local endpoint (a snapshot of Bedrock's listing).
const BUILTIN_CATALOG: &str = include_str!("../../../local/data/catalog.json");

// ---- The local Bedrock endpoint ------------------------------------------------------------

async fn endpoint(catalog: LocalCatalog) -> RunningServer {
    let config = BedrockConfig {
        catalog: CatalogSource::Loaded(Arc::new(catalog)),
        ..BedrockConfig::default()
    };
    quarry_local::serve(config).await.expect("the local Bedrock endpoint starts")
}

fn builtin() -> LocalCatalog {
    LocalCatalog::builtin("us-east-1").expect("the built-in catalog")
}

/// The built-in catalog data changed by `change` (the endpoint checks the result as it loads).
fn changed(change: impl FnOnce(&mut Value)) -> LocalCatalog {
    let mut data: Value = serde_json::from_str(BUILTIN_CATALOG).expect("catalog JSON");
    change(&mut data);
    LocalCatalog::from_json(&data.to_string(), "us-east-1", LocalCatalog::DEFAULT_ACCOUNT_ID)
        .expect("the changed catalog loads")
}

/// Sets a model's lifecycle status in catalog data.
fn set_status(data: &mut Value, model: &str, status: &str) {
    let models = data["models"].as_array_mut().expect("models");
    let entry = models.iter_mut().find(|m| m["modelId"] == model).expect("the model is listed");
    entry["modelLifecycle"] = serde_json::json!({ "status": status });
}

/// Removes a model and the inference profiles routing to it from catalog data.
fn remove_model(data: &mut Value, model: &str) {
    data["models"].as_array_mut().expect("models").retain(|m| m["modelId"] != model);
    data["inferenceProfiles"].as_array_mut().expect("profiles").retain(|p| {
        !p["inferenceProfileId"].as_str().is_some_and(|id| id.ends_with(&format!(".{model}")))
    });
}

/// The SDK client an application would build, pointed at `server`, without retries (a stopped
/// endpoint fails at once).
async fn bedrock(server_url: &str) -> aws_sdk_bedrock::Client {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(server_url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .load()
        .await;
    aws_sdk_bedrock::Client::new(&config)
}

/// The settings of the repository's quarry.toml (its allowlist: Claude 3.5 Haiku through the US
/// profile, Nova Lite, Llama 3.1 8B; Titan Text Embeddings V2).
fn settings() -> CatalogSyncSettings {
    let config = QuarryConfig::from_toml_str(include_str!("../../../quarry.toml"))
        .expect("the repository's quarry.toml");
    config.catalog_sync_settings(&StackResources {
        catalog_bucket: BUCKET.to_owned(),
        vector_bucket: "quarry-vectors-123456789012-us-east-1".to_owned(),
    })
}

// ---- Logs -------------------------------------------------------------------------------------

/// Log lines captured on one thread (tokio tests run on one, servers included).
#[derive(Debug, Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

thread_local! {
    /// Where this thread's log lines go while a [`Capturing`] guard lives.
    static CAPTURE: RefCell<Option<Logs>> = const { RefCell::new(None) };
}

impl Logs {
    /// Captures the current thread's log lines until the guard drops. One process-wide subscriber
    /// writes each thread's lines to that thread's capture: tracing caches whether a callsite is
    /// enabled process-wide, and with thread-scoped subscribers only, a callsite first reached on a
    /// thread without one can be cached as disabled while another thread is capturing.
    fn capture(&self) -> Capturing {
        static SUBSCRIBER: Once = Once::new();
        SUBSCRIBER.call_once(|| {
            let subscriber = tracing_subscriber::fmt()
                .with_ansi(false)
                .with_max_level(tracing::Level::INFO)
                .with_writer(|| ThreadLogs)
                .finish();
            tracing::subscriber::set_global_default(subscriber)
                .expect("the only global subscriber");
        });
        CAPTURE.with(|capture| *capture.borrow_mut() = Some(self.clone()));
        Capturing
    }

    fn lines(&self, level: &str) -> Vec<String> {
        let text = String::from_utf8_lossy(&self.0.lock().expect("log lock")).into_owned();
        text.lines().filter(|line| line.contains(level)).map(str::to_owned).collect()
    }
}

/// Stops the current thread's capture when dropped.
struct Capturing;

impl Drop for Capturing {
    fn drop(&mut self) {
        CAPTURE.with(|capture| capture.borrow_mut().take());
    }
}

/// The subscriber's writer: the current thread's capture, if any.
struct ThreadLogs;

impl std::io::Write for ThreadLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with(|capture| {
            if let Some(logs) = capture.borrow().as_ref() {
                logs.0.lock().expect("log lock").extend_from_slice(bytes);
            }
        });
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// ---- Tests ------------------------------------------------------------------------------------

#[tokio::test]
async fn every_page_of_inference_profiles_is_read_and_normalised() {
    let local = builtin();
    let server = endpoint(local.clone()).await;
    let client = bedrock(server.url()).await;
    assert!(local.profiles().len() > 12, "enough profiles for several pages");

    let paged = fetch_catalog(&client, Some(5)).await.expect("listed page by page");
    let whole = fetch_catalog(&client, None).await.expect("listed in one page");
    assert_eq!(paged, whole, "the page size changes nothing");
    assert!(paged.skipped.is_empty(), "every listed entry is readable: {:?}", paged.skipped);
    let catalog = paged.catalog;
    assert_eq!(catalog.region, "us-east-1");
    assert_eq!(catalog.models.len(), local.models().len());
    let mut listed: Vec<String> = local.profiles().iter().map(|p| p.id().to_owned()).collect();
    listed.sort_unstable();
    let read: Vec<String> = catalog.profiles.iter().map(|p| p.id.to_string()).collect();
    assert_eq!(read, listed, "every page, no duplicates");

    let haiku = catalog
        .model(&"anthropic.claude-3-5-haiku-20241022-v1:0".parse().expect("id"))
        .expect("Claude 3.5 Haiku");
    assert_eq!(haiku.lifecycle.status, LifecycleStatus::Legacy);
    assert_eq!(haiku.lifecycle.end_of_life_time.as_deref(), Some("2026-06-19T00:00:00Z"));
    assert_eq!(haiku.inference_types, ["INFERENCE_PROFILE"]);
    let profile = catalog
        .profile(&"us.anthropic.claude-3-5-haiku-20241022-v1:0".parse().expect("id"))
        .expect("the US profile");
    assert_eq!(profile.regions(), ["us-east-1", "us-east-2", "us-west-2"]);
    assert_eq!(profile.profile_type, "SYSTEM_DEFINED");
    let global = catalog
        .profile(&"global.anthropic.claude-sonnet-4-5-20250929-v1:0".parse().expect("id"))
        .expect("the global profile");
    assert!(global.routes_globally());
}

/// A GetObject the sync sent, unconditional, and S3's status.
fn get(status: u16) -> Request {
    Request { method: "GET".into(), if_match: None, if_none_match: None, status: Some(status) }
}

/// A PutObject the sync sent, its condition, and S3's status.
fn put(if_match: Option<&str>, if_none_match: Option<&str>, status: u16) -> Request {
    Request {
        method: "PUT".into(),
        if_match: if_match.map(str::to_owned),
        if_none_match: if_none_match.map(str::to_owned),
        status: Some(status),
    }
}

fn written_by(writer: &str, etag: Option<&str>) -> Write {
    Write { etag: etag.expect("an ETag").to_owned(), writer: writer.to_owned() }
}

#[tokio::test]
async fn the_first_sync_writes_the_catalog_only_if_none_exists() {
    let server = endpoint(builtin()).await;
    let bucket = CatalogBucket::empty().await;
    let report = sync(&bedrock(server.url()).await, &bucket.sync_client(), &settings()).await;

    assert_eq!(report.outcome, Outcome::Written, "{report:?}");
    assert_eq!(bucket.requests(), [get(404), put(None, Some("*"), 200)]);
    assert_eq!(
        bucket.take_writes().await,
        [written_by(SYNC_WRITER, report.etag.as_deref())],
        "S3 stored one object, the sync's"
    );
    let object = bucket.object().await.expect("written");
    assert_eq!(report.etag.as_ref(), Some(&object.etag));
    let stored = Catalog::from_json(&object.body).expect("the stored catalog");
    assert!(stored.synced_at.is_some());
    assert_eq!(Some(stored.content_hash()), report.content_hash);
    assert_eq!(report.stored_hash, report.content_hash);
    assert_eq!(report.models, stored.models.len());
    assert_eq!(report.diff.models_added.len(), stored.models.len(), "everything is new");
    assert_eq!(report.previous_hash, None);

    let json = serde_json::to_value(&report).expect("the Lambda result");
    assert_eq!(json["outcome"], "written");
    assert_eq!(json["region"], "us-east-1");
    assert!(json.get("error").is_none());
}

#[tokio::test]
async fn an_unchanged_catalog_is_not_written_again() {
    let server = endpoint(builtin()).await;
    let client = bedrock(server.url()).await;
    let bucket = CatalogBucket::empty().await;
    let s3 = bucket.sync_client();
    let first = sync(&client, &s3, &settings()).await;
    assert_eq!(bucket.take_writes().await.len(), 1, "written once: {first:?}");
    let stored = bucket.object().await.expect("written once");
    let sent = bucket.requests().len();

    let second = sync(&client, &s3, &settings()).await;
    assert_eq!(second.outcome, Outcome::Unchanged, "{second:?}");
    assert_eq!(bucket.requests()[sent..], [get(200)], "read, no PutObject");
    assert_eq!(bucket.take_writes().await, [], "S3 stored nothing");
    assert_eq!(
        bucket.object().await,
        Some(stored.clone()),
        "same bytes, ETag and LastModified: not even the sync time moved"
    );
    assert_eq!(second.previous_hash, first.content_hash);
    assert_eq!(second.etag, Some(stored.etag));
    assert!(second.diff.is_empty(), "{:?}", second.diff);
}

#[tokio::test]
async fn a_changed_catalog_is_written_over_the_etag_read_and_its_diff_reported() {
    let before = endpoint(builtin()).await;
    let bucket = CatalogBucket::empty().await;
    let s3 = bucket.sync_client();
    sync(&bedrock(before.url()).await, &s3, &settings()).await;
    assert_eq!(bucket.take_writes().await.len(), 1);
    let first = bucket.object().await.expect("written");

    // A month later: Nova Lite went LEGACY, Llama 3.1 8B (and its profile) was retired.
    let after = endpoint(changed(|data| {
        set_status(data, "amazon.nova-lite-v1:0", "LEGACY");
        remove_model(data, "meta.llama3-1-8b-instruct-v1:0");
    }))
    .await;
    let logs = Logs::default();
    let report = {
        let _capture = logs.capture();
        sync(&bedrock(after.url()).await, &s3, &settings()).await
    };

    assert_eq!(report.outcome, Outcome::Written, "{report:?}");
    assert_eq!(bucket.puts().last(), Some(&put(Some(&first.etag), None, 200)));
    assert_eq!(bucket.take_writes().await, [written_by(SYNC_WRITER, report.etag.as_deref())]);
    let stored = bucket.stored().await.expect("the new catalog");
    assert_eq!(Some(stored.content_hash()), report.content_hash);
    assert!(stored.model(&"meta.llama3-1-8b-instruct-v1:0".parse().expect("id")).is_none());

    let diff = &report.diff;
    assert_eq!(diff.models_removed, ["meta.llama3-1-8b-instruct-v1:0"]);
    assert_eq!(diff.profiles_removed, ["us.meta.llama3-1-8b-instruct-v1:0"]);
    assert_eq!(diff.lifecycle_changed.len(), 1, "{diff:?}");
    assert_eq!(diff.lifecycle_changed[0].model.as_str(), "amazon.nova-lite-v1:0");
    assert_eq!(
        (&diff.lifecycle_changed[0].from, &diff.lifecycle_changed[0].to),
        (&LifecycleStatus::Active, &LifecycleStatus::Legacy)
    );
    assert!(diff.models_added.is_empty() && diff.profiles_added.is_empty());

    // Both allowlisted models are news; Claude 3.5 Haiku was already LEGACY before.
    let news: Vec<(String, &Retirement)> = report
        .retiring
        .iter()
        .filter(|r| r.newly)
        .map(|r| (r.allowed.to_string(), &r.retirement))
        .collect();
    assert_eq!(news.len(), 2, "{news:#?}");
    assert_eq!(news[0].0, "amazon.nova-lite-v1:0");
    assert!(matches!(news[0].1, Retirement::Lifecycle { status: LifecycleStatus::Legacy, .. }));
    assert_eq!(news[1], ("meta.llama3-1-8b-instruct-v1:0".to_owned(), &Retirement::Missing));
    let warnings = logs.lines("WARN");
    for model in ["amazon.nova-lite-v1:0", "meta.llama3-1-8b-instruct-v1:0"] {
        assert!(
            warnings.iter().any(|line| line.contains(&format!("allowed model `{model}`"))),
            "{model}: {warnings:#?}"
        );
    }
}

#[tokio::test]
async fn an_unreadable_stored_catalog_is_replaced_over_its_etag() {
    let server = endpoint(builtin()).await;
    let (bucket, etag) =
        CatalogBucket::holding(b"<html>an error page saved by mistake</html>".to_vec()).await;
    let report = sync(&bedrock(server.url()).await, &bucket.sync_client(), &settings()).await;
    assert_eq!(report.outcome, Outcome::Written, "{report:?}");
    assert_eq!(report.previous_hash, None);
    assert_eq!(bucket.puts(), [put(Some(&etag), None, 200)]);
    assert_eq!(bucket.take_writes().await, [written_by(SYNC_WRITER, report.etag.as_deref())]);
    assert!(bucket.stored().await.is_some_and(|c| !c.models.is_empty()));
}

/// The catalog another sync writes between this sync's read and its write.
async fn winner(client: &aws_sdk_bedrock::Client) -> Catalog {
    let mut winner = fetch_catalog(client, None).await.expect("listed").catalog;
    winner.synced_at = Some("2025-06-01T03:00:00Z".into());
    winner
}

/// After losing the race, the winner's catalog is stored and reported, and only it was written.
async fn assert_lost_to(bucket: &CatalogBucket, report: &quarry_catalog_sync::SyncReport) {
    assert_eq!(report.outcome, Outcome::Conflict, "{report:?}");
    assert!(report.error.is_none(), "a lost race is not a failure");
    let writes = bucket.take_writes().await;
    assert_eq!(writes.len(), 1, "only the winner wrote: {writes:?}");
    assert_eq!(writes[0].writer, OTHER_WRITER);
    let object = bucket.object().await.expect("the winner's catalog");
    assert_eq!(writes[0].etag, object.etag);
    assert_eq!(report.etag.as_ref(), Some(&object.etag), "the ETag read after the conflict");
    let stored = Catalog::from_json(&object.body).expect("a catalog");
    assert_eq!(stored.synced_at.as_deref(), Some("2025-06-01T03:00:00Z"), "kept, not overwritten");
    assert_eq!(report.stored_hash, Some(stored.content_hash()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_sync_that_wrote_first_is_never_overwritten() {
    let server = endpoint(builtin()).await;
    let client = bedrock(server.url()).await;
    // The bucket holds an older catalog; another sync replaces it between our read and write.
    let older = Catalog::new("us-east-1", Vec::new(), Vec::new());
    let (bucket, older_etag) = CatalogBucket::holding(older.to_json()).await;
    bucket.write_before_next_put(winner(&client).await.to_json());

    let report = sync(&client, &bucket.sync_client(), &settings()).await;
    assert_eq!(
        bucket.requests(),
        [get(200), put(Some(&older_etag), None, 412), get(200)],
        "read, a refused write over the ETag read, the winner's catalog read back"
    );
    assert_lost_to(&bucket, &report).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_first_sync_that_created_the_catalog_is_never_overwritten() {
    let server = endpoint(builtin()).await;
    let client = bedrock(server.url()).await;
    // No catalog yet; another first sync creates it between our read and write.
    let bucket = CatalogBucket::empty().await;
    bucket.write_before_next_put(winner(&client).await.to_json());

    let report = sync(&client, &bucket.sync_client(), &settings()).await;
    assert_eq!(bucket.requests(), [get(404), put(None, Some("*"), 412), get(200)]);
    assert_lost_to(&bucket, &report).await;
}

#[tokio::test]
async fn a_bedrock_failure_keeps_the_stored_catalog_and_is_reported() {
    let server = endpoint(builtin()).await;
    let url = server.url().to_owned();
    let client = bedrock(&url).await;
    let good = fetch_catalog(&client, None).await.expect("listed").catalog;
    let (bucket, _) = CatalogBucket::holding(good.to_json()).await;
    let kept = bucket.object().await;
    server.shutdown().await.expect("the endpoint stops");

    let logs = Logs::default();
    let result = {
        let _capture = logs.capture();
        let trigger: Trigger =
            serde_json::from_str(include_str!("../../../events/scheduled.json")).expect("event");
        handle(&trigger, &client, &bucket.sync_client(), &settings()).await
    };
    let error = result.expect_err("Lambda must count a failed sync");
    assert!(matches!(error, SyncError::Fetch(_)), "{error:?}");
    assert!(error.to_string().starts_with("ListFoundationModels failed: "), "{error}");
    assert_eq!(bucket.requests(), [], "S3 is not even read");
    assert_eq!(bucket.take_writes().await, [], "nothing written");
    assert_eq!(bucket.object().await, kept, "the last good catalog stays");
    let errors = logs.lines("ERROR");
    assert!(
        errors.iter().any(|line| line.contains("catalog sync failed; the stored catalog is kept")),
        "{errors:#?}"
    );
}

#[tokio::test]
async fn an_empty_listing_is_never_written() {
    let server = endpoint(changed(|data| {
        data["models"] = serde_json::json!([]);
        data["inferenceProfiles"] = serde_json::json!([]);
    }))
    .await;
    let bucket = CatalogBucket::empty().await;
    let report = sync(&bedrock(server.url()).await, &bucket.sync_client(), &settings()).await;
    assert_eq!(report.outcome, Outcome::Failed);
    assert!(matches!(report.error, Some(SyncError::EmptyListing)), "{report:?}");
    assert_eq!(bucket.requests(), []);
    assert_eq!(bucket.take_writes().await, []);
    assert_eq!(bucket.object().await, None);
    let json = serde_json::to_value(&report).expect("serializable");
    assert_eq!(
        json["error"],
        "Bedrock listed no foundation models; an empty catalog is never written, the stored one is kept"
    );
}

#[tokio::test]
async fn a_bucket_that_refuses_the_sync_fails_it_without_writing() {
    let server = endpoint(builtin()).await;
    let client = bedrock(server.url()).await;
    let older = Catalog::new("us-east-1", Vec::new(), Vec::new());
    let (bucket, _) = CatalogBucket::holding(older.to_json()).await;
    let kept = bucket.object().await;

    // S3 refuses the sync's credentials with 403 InvalidAccessKeyId: the path a 403 AccessDenied
    // takes too, since every GetObject error but NoSuchKey fails the read.
    let report = sync(&client, &bucket.refused_client(), &settings()).await;
    assert_eq!(report.outcome, Outcome::Failed);
    let message = report.error.as_ref().map(ToString::to_string).unwrap_or_default();
    assert!(
        message.starts_with(
            "reading s3://quarry-catalog-123456789012-us-east-1/catalog/models.json failed: "
        ),
        "{message}"
    );
    assert!(message.contains("InvalidAccessKeyId"), "S3's own error: {message}");
    assert_eq!(bucket.requests(), [get(403)], "refused, and no write attempted");
    assert_eq!(bucket.take_writes().await, []);
    assert_eq!(bucket.object().await, kept, "the stored catalog stays");
    bucket.shutdown().await;
}

#[tokio::test]
async fn a_legacy_allowlisted_model_is_a_warning_in_the_report_and_the_log() {
    // The snapshot lists Claude 3.5 Haiku as LEGACY; quarry.toml allows its US profile.
    let server = endpoint(builtin()).await;
    let bucket = CatalogBucket::empty().await;
    let logs = Logs::default();
    let report = {
        let _capture = logs.capture();
        sync(&bedrock(server.url()).await, &bucket.sync_client(), &settings()).await
    };
    assert_eq!(report.outcome, Outcome::Written);
    assert_eq!(report.retiring.len(), 1, "{:#?}", report.retiring);
    let haiku = &report.retiring[0];
    assert_eq!(haiku.allowed.to_string(), "us.anthropic.claude-3-5-haiku-20241022-v1:0");
    assert_eq!(
        haiku.retirement,
        Retirement::Lifecycle {
            model: "anthropic.claude-3-5-haiku-20241022-v1:0".parse().expect("id"),
            status: LifecycleStatus::Legacy,
            end_of_life_time: Some("2026-06-19T00:00:00Z".into()),
        }
    );
    let warnings = logs.lines("WARN");
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(
        warnings[0].contains(
            "allowed model `us.anthropic.claude-3-5-haiku-20241022-v1:0` runs on anthropic.claude-3-5-haiku-20241022-v1:0, which Bedrock lists as LEGACY (end of life 2026-06-19T00:00:00Z)"
        ),
        "{}",
        warnings[0]
    );
    let json = serde_json::to_value(&report).expect("serializable");
    assert_eq!(json["retiring"][0]["reason"], "lifecycle");
}
