//! The model catalog as the API reads it: the JSON catalog-sync keeps in S3, cached for the
//! configured TTL. After the TTL one request re-reads it with `If-None-Match: <etag>` (304 keeps
//! the cached copy); requests meanwhile use what is cached. A missing or unreadable catalog falls
//! back — the last good copy, else the configured model list — and is logged once; a request never
//! fails because the catalog cannot be read.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use aws_sdk_s3::error::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use quarry::catalog::Catalog;
use quarry::config::CatalogLocation;

use crate::state::AppState;

/// Where the catalog is read from, and for how long a read copy is used.
#[derive(Debug, Clone)]
pub struct CatalogSource {
    /// A prebuilt S3 client (build it once, at start-up).
    pub s3: aws_sdk_s3::Client,
    /// The catalog object.
    pub location: CatalogLocation,
    /// How long a read copy is used before it is checked again.
    pub ttl: Duration,
}

/// The cached catalog. Without a source it is always empty: the API uses the configured list.
#[derive(Debug, Default)]
pub struct CatalogCache {
    source: Option<CatalogSource>,
    cached: Mutex<Cached>,
    /// Held by the one request refreshing the copy.
    refreshing: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
struct Cached {
    catalog: Option<Arc<Catalog>>,
    etag: Option<String>,
    checked: Option<Instant>,
    /// The problem last logged, so a lasting one is logged once.
    problem: Option<Problem>,
}

/// Why the catalog is not (freshly) loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    Missing,
    ReadFailed,
    Unreadable,
}

impl CatalogCache {
    /// A cache reading `source`; nothing is loaded until the first refresh.
    pub fn new(source: CatalogSource) -> Self {
        CatalogCache { source: Some(source), ..CatalogCache::default() }
    }

    /// The catalog as last read; `None` when there is none (use the configured list).
    pub fn current(&self) -> Option<Arc<Catalog>> {
        self.lock().catalog.clone()
    }

    /// Re-reads the catalog when the TTL has passed since the last read. Only one caller reads;
    /// the others return at once and use the cached copy.
    pub async fn refresh_if_stale(&self) {
        let Some(source) = &self.source else {
            return;
        };
        if !self.is_stale(source.ttl) {
            return;
        }
        let Ok(_refreshing) = self.refreshing.try_lock() else {
            return;
        };
        if !self.is_stale(source.ttl) {
            return;
        }
        let etag = {
            let cached = self.lock();
            cached.catalog.as_ref().and(cached.etag.clone())
        };
        let read = read(source, etag.as_deref()).await;
        let mut cached = self.lock();
        cached.checked = Some(Instant::now());
        match read {
            Read::NotModified => {}
            Read::Loaded { catalog, etag } => {
                tracing::info!(
                    models = catalog.models.len(),
                    profiles = catalog.profiles.len(),
                    etag = etag.as_deref().unwrap_or_default(),
                    synced_at = catalog.synced_at.as_deref().unwrap_or_default(),
                    "model catalog loaded"
                );
                cached.catalog = Some(Arc::new(catalog));
                cached.etag = etag;
                cached.problem = None;
            }
            Read::Missing => {
                if cached.problem != Some(Problem::Missing) {
                    tracing::warn!(
                        bucket = %source.location.bucket,
                        key = %source.location.key,
                        "no model catalog in S3 (has catalog-sync run?); using the configured model list"
                    );
                }
                cached.catalog = None;
                cached.etag = None;
                cached.problem = Some(Problem::Missing);
            }
            Read::Failed { problem, message } => {
                if cached.problem != Some(problem) {
                    let fallback = if cached.catalog.is_some() {
                        "keeping the catalog read before"
                    } else {
                        "using the configured model list"
                    };
                    tracing::warn!(
                        bucket = %source.location.bucket,
                        key = %source.location.key,
                        error = %message,
                        "the model catalog could not be read; {fallback}"
                    );
                }
                cached.problem = Some(problem);
            }
        }
    }

    fn is_stale(&self, ttl: Duration) -> bool {
        self.lock().checked.is_none_or(|checked| checked.elapsed() >= ttl)
    }

    fn lock(&self) -> MutexGuard<'_, Cached> {
        // The data stays consistent even if a holder panicked: every write is one assignment.
        self.cached.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// What one GetObject found.
enum Read {
    NotModified,
    Loaded { catalog: Catalog, etag: Option<String> },
    Missing,
    Failed { problem: Problem, message: String },
}

async fn read(source: &CatalogSource, etag: Option<&str>) -> Read {
    let request = source
        .s3
        .get_object()
        .bucket(&source.location.bucket)
        .key(&source.location.key)
        .set_if_none_match(etag.map(str::to_owned));
    let output = match request.send().await {
        Ok(output) => output,
        Err(SdkError::ServiceError(e)) if e.raw().status().as_u16() == 304 => {
            return Read::NotModified;
        }
        Err(SdkError::ServiceError(e)) if e.err().is_no_such_key() => return Read::Missing,
        Err(e) => {
            let message = DisplayErrorContext(&e).to_string();
            return Read::Failed { problem: Problem::ReadFailed, message };
        }
    };
    let etag = output.e_tag().map(str::to_owned);
    let body = match output.body.collect().await {
        Ok(body) => body.into_bytes(),
        Err(e) => return Read::Failed { problem: Problem::ReadFailed, message: e.to_string() },
    };
    match Catalog::from_json(&body) {
        Ok(catalog) => Read::Loaded { catalog, etag },
        Err(e) => Read::Failed { problem: Problem::Unreadable, message: e.to_string() },
    }
}

/// Middleware: refreshes a stale catalog before the request is handled.
pub async fn refresh(State(state): State<AppState>, request: Request, next: Next) -> Response {
    state.catalog().refresh_if_stale().await;
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use aws_sdk_s3::config::interceptors::{
        BeforeDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextRef,
    };
    use aws_sdk_s3::config::{
        BehaviorVersion, ConfigBag, Credentials, IdentityCache, Intercept, Region,
        RuntimeComponents,
    };
    use aws_sdk_s3::operation::get_object::GetObjectInput;
    use aws_sdk_s3::primitives::ByteStream;
    use quarry::catalog::{CatalogModel, Lifecycle, LifecycleStatus};
    use quarry_local::s3::{RunningS3, S3Options};

    use super::*;

    // ---- The catalog bucket on quarry-local's S3 ----------------------------------------------

    const BUCKET: &str = "quarry-catalog-123456789012-us-east-1";
    const KEY: &str = "catalog/models.json";

    /// The catalog bucket on quarry-local's S3 (`s3s` over a temp directory: the S3 REST API,
    /// path-style; GetObject answers 200 with the object's ETag, 304 Not Modified to an
    /// `If-None-Match` naming that ETag, 404 NoSuchKey, or 403 to a key pair it does not accept).
    struct LocalS3 {
        s3: RunningS3,
        _dir: tempfile::TempDir,
    }

    impl LocalS3 {
        async fn empty() -> Self {
            let dir = tempfile::tempdir().expect("a temp dir");
            let mut options = S3Options::new(dir.path());
            options.buckets = vec![BUCKET.to_owned()];
            let s3 = quarry_local::s3::serve(options).await.expect("the local S3 starts");
            LocalS3 { s3, _dir: dir }
        }

        async fn holding(catalog: &Catalog) -> Self {
            let bucket = LocalS3::empty().await;
            bucket.put(catalog.to_json()).await;
            bucket
        }

        /// Stores `body` as the catalog object, as catalog-sync would.
        async fn put(&self, body: Vec<u8>) {
            let writer = aws_sdk_s3::Client::from_conf(
                config(self.s3.url(), Credentials::new("test", "test", None, None, "writer"))
                    .build(),
            );
            let put = writer.put_object().bucket(BUCKET).key(KEY).body(ByteStream::from(body));
            put.send().await.expect("the catalog is stored");
        }

        fn reader(&self) -> Reader {
            Reader::new(self.s3.url())
        }
    }

    /// The S3 client the API builds, watched: it counts the GetObject calls the cache makes and
    /// records the status of each answer; the test can take its access away (its key pair is
    /// swapped for one S3 does not know: 403 InvalidAccessKeyId, as for a role that lost access).
    struct Reader {
        client: aws_sdk_s3::Client,
        keys: Arc<Mutex<Credentials>>,
        watch: Arc<Watch>,
    }

    #[derive(Debug, Default)]
    struct Watch {
        gets: AtomicUsize,
        statuses: Mutex<Vec<u16>>,
    }

    impl Reader {
        fn new(url: &str) -> Self {
            let keys = Arc::new(Mutex::new(Credentials::new("test", "test", None, None, "role")));
            let watch = Arc::new(Watch::default());
            let current = keys.clone();
            let provider = aws_credential_types::credential_fn::provide_credentials_fn(move || {
                let credentials = current.lock().expect("keys lock").clone();
                async move { Ok(credentials) }
            });
            let config = config(url, provider)
                // Every request asks for the key pair, so a swapped one is used at once.
                .identity_cache(IdentityCache::no_cache())
                .interceptor(Watcher(watch.clone()))
                .build();
            Reader { client: aws_sdk_s3::Client::from_conf(config), keys, watch }
        }

        fn source(&self, ttl: Duration) -> CatalogSource {
            CatalogSource { s3: self.client.clone(), location: location(), ttl }
        }

        /// GetObject calls made.
        fn gets(&self) -> usize {
            self.watch.gets.load(Ordering::SeqCst)
        }

        /// The HTTP status of every answer, in order.
        fn statuses(&self) -> Vec<u16> {
            self.watch.statuses.lock().expect("statuses lock").clone()
        }

        fn lose_access(&self) {
            *self.keys.lock().expect("keys lock") =
                Credentials::new("AKIAREVOKEDEXAMPLE01", "revoked", None, None, "role");
        }

        fn regain_access(&self) {
            *self.keys.lock().expect("keys lock") =
                Credentials::new("test", "test", None, None, "role");
        }
    }

    /// The S3 client configuration the API builds (path-style for the local endpoint).
    fn config(
        url: &str,
        credentials: impl aws_sdk_s3::config::ProvideCredentials + 'static,
    ) -> aws_sdk_s3::config::Builder {
        aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(url)
            .force_path_style(true)
            .credentials_provider(credentials)
    }

    #[derive(Debug)]
    struct Watcher(Arc<Watch>);

    type BoxError = Box<dyn std::error::Error + Send + Sync>;

    impl Intercept for Watcher {
        fn name(&self) -> &'static str {
            "catalog cache test watcher"
        }

        fn read_before_execution(
            &self,
            context: &BeforeSerializationInterceptorContextRef<'_>,
            _cfg: &mut ConfigBag,
        ) -> Result<(), BoxError> {
            if context.input().downcast_ref::<GetObjectInput>().is_some() {
                self.0.gets.fetch_add(1, Ordering::SeqCst);
            }
            Ok(())
        }

        fn read_before_deserialization(
            &self,
            context: &BeforeDeserializationInterceptorContextRef<'_>,
            _components: &RuntimeComponents,
            _cfg: &mut ConfigBag,
        ) -> Result<(), BoxError> {
            let status = context.response().status().as_u16();
            self.0.statuses.lock().expect("statuses lock").push(status);
            Ok(())
        }
    }

    fn location() -> CatalogLocation {
        CatalogLocation { bucket: BUCKET.into(), key: KEY.into() }
    }

    fn model(id: &str, provider: &str, name: &str, status: LifecycleStatus) -> CatalogModel {
        CatalogModel {
            id: id.parse().expect("id"),
            provider: provider.into(),
            name: name.into(),
            input_modalities: vec!["TEXT".into()],
            output_modalities: vec!["TEXT".into()],
            streaming: true,
            inference_types: vec!["ON_DEMAND".into()],
            lifecycle: Lifecycle {
                status,
                start_of_life_time: None,
                legacy_time: None,
                end_of_life_time: None,
            },
        }
    }

    /// A one-model catalog as catalog-sync writes it (Nova Lite as the Bedrock listing has it).
    fn stored() -> Catalog {
        let nova = model("amazon.nova-lite-v1:0", "Amazon", "Nova Lite", LifecycleStatus::Active);
        Catalog::new("us-east-1", vec![nova], Vec::new())
    }

    /// The next sync's catalog: Nova Lite went LEGACY.
    fn newer() -> Catalog {
        let mut newer = stored();
        newer.models[0].lifecycle.status = LifecycleStatus::Legacy;
        newer
    }

    // ---- The cache -----------------------------------------------------------------------------

    #[tokio::test]
    async fn within_the_ttl_the_cached_catalog_is_used_without_reading_s3() {
        let bucket = LocalS3::holding(&stored()).await;
        let reader = bucket.reader();
        let cache = CatalogCache::new(reader.source(Duration::from_secs(300)));
        assert!(cache.current().is_none(), "nothing is read before the first refresh");
        assert_eq!(reader.gets(), 0);
        cache.refresh_if_stale().await;
        assert_eq!(cache.current().as_deref(), Some(&stored()));

        bucket.put(newer().to_json()).await;
        for _ in 0..3 {
            cache.refresh_if_stale().await;
        }
        assert_eq!(reader.gets(), 1, "one GetObject within the TTL");
        assert_eq!(cache.current().as_deref(), Some(&stored()), "the copy is used for the TTL");
    }

    #[tokio::test]
    async fn after_the_ttl_the_catalog_is_read_again_and_a_new_one_replaces_the_copy() {
        let bucket = LocalS3::holding(&stored()).await;
        let reader = bucket.reader();
        let cache = CatalogCache::new(reader.source(Duration::ZERO));
        cache.refresh_if_stale().await;
        cache.refresh_if_stale().await;
        assert_eq!(reader.gets(), 2, "re-read after the TTL");
        assert_eq!(cache.current().as_deref(), Some(&stored()));

        // The next sync writes a new catalog under a new ETag: it replaces the copy.
        bucket.put(newer().to_json()).await;
        cache.refresh_if_stale().await;
        assert_eq!(reader.gets(), 3);
        assert_eq!(cache.current().as_deref(), Some(&newer()));
        assert_eq!(cache.lock().problem, None);
    }

    #[tokio::test]
    async fn after_the_ttl_an_unchanged_catalog_is_a_304_and_the_copy_is_kept() {
        // S3 answers a GetObject whose If-None-Match is the object's ETag with 304 Not Modified
        // (Amazon S3 API Reference, GetObject); so does quarry-local's S3.
        let bucket = LocalS3::holding(&stored()).await;
        let reader = bucket.reader();
        let cache = CatalogCache::new(reader.source(Duration::ZERO));
        cache.refresh_if_stale().await;
        let first = cache.current().expect("loaded");
        cache.refresh_if_stale().await;
        assert_eq!(reader.gets(), 2, "re-read after the TTL");
        assert_eq!(reader.statuses(), [200, 304], "re-read with If-None-Match: the ETag held");
        let kept = cache.current().expect("still loaded");
        assert!(Arc::ptr_eq(&first, &kept), "304: the cached copy is kept, not re-parsed");
        assert_eq!(cache.lock().problem, None, "a 304 is not a failed read");
    }

    #[tokio::test]
    async fn a_missing_catalog_falls_back_to_the_configured_list() {
        let bucket = LocalS3::empty().await;
        let reader = bucket.reader();
        let cache = CatalogCache::new(reader.source(Duration::from_secs(300)));
        cache.refresh_if_stale().await;
        assert!(cache.current().is_none());
        assert_eq!(cache.lock().problem, Some(Problem::Missing));
        assert_eq!(reader.statuses(), [404], "NoSuchKey");
        cache.refresh_if_stale().await;
        assert_eq!(reader.gets(), 1, "a missing catalog is not asked for again within the TTL");
    }

    #[tokio::test]
    async fn a_failed_read_keeps_the_last_good_catalog() {
        let bucket = LocalS3::holding(&stored()).await;
        let reader = bucket.reader();
        let cache = CatalogCache::new(reader.source(Duration::ZERO));
        cache.refresh_if_stale().await;

        reader.lose_access();
        cache.refresh_if_stale().await;
        assert_eq!(reader.statuses(), [200, 403], "S3 refused the read");
        assert_eq!(cache.current().as_deref(), Some(&stored()), "kept after a 403");
        assert_eq!(cache.lock().problem, Some(Problem::ReadFailed));

        reader.regain_access();
        bucket.put(b"<html>not a catalog</html>".to_vec()).await;
        cache.refresh_if_stale().await;
        assert_eq!(reader.statuses(), [200, 403, 200]);
        assert_eq!(cache.current().as_deref(), Some(&stored()), "kept after an unreadable body");
        assert_eq!(cache.lock().problem, Some(Problem::Unreadable));
    }

    #[tokio::test]
    async fn without_a_source_there_is_never_a_catalog() {
        let cache = CatalogCache::default();
        cache.refresh_if_stale().await;
        assert!(cache.current().is_none());
    }

    // ---- Through the Router ----------------------------------------------------------------------

    const API_KEY: &str = "qk-catalog-test";

    /// The Router over the repository's quarry.toml settings, an API key, and the catalog in
    /// `bucket`; the reader it uses.
    async fn app(bucket: &LocalS3) -> (axum::Router, Reader) {
        let config =
            quarry::config::QuarryConfig::from_toml_str(include_str!("../../../quarry.toml"))
                .expect("the repository's quarry.toml");
        let settings = config.invoke_settings(&quarry::config::StackResources {
            catalog_bucket: BUCKET.into(),
            vector_bucket: "quarry-vectors-123456789012-us-east-1".into(),
        });
        // Never called: these requests end before any Bedrock call.
        let bedrock = aws_sdk_bedrockruntime::Client::from_conf(
            aws_sdk_bedrockruntime::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                .build(),
        );
        let auth = crate::Authenticator::api_keys(&[crate::auth::hash_api_key(API_KEY)])
            .expect("a valid hash");
        let reader = bucket.reader();
        let source = reader.source(Duration::from_secs(300));
        (crate::app(AppState::new(bedrock, settings, auth).with_catalog(source)), reader)
    }

    /// The allowlisted US Claude 3.5 Haiku profile (a LEGACY model) and Writer Palmyra X4, which
    /// quarry.toml does not allow, as the local endpoint's snapshot of the Bedrock listing has
    /// them (local/data/catalog.json).
    fn listing() -> Catalog {
        let haiku = "anthropic.claude-3-5-haiku-20241022-v1:0";
        let profile = quarry::catalog::CatalogProfile {
            id: format!("us.{haiku}").parse().expect("id"),
            arn: format!("arn:aws:bedrock:us-east-1:000000000000:inference-profile/us.{haiku}"),
            name: "US Anthropic Claude 3.5 Haiku".into(),
            profile_type: "SYSTEM_DEFINED".into(),
            status: "ACTIVE".into(),
            models: ["us-west-2", "us-east-1", "us-east-2"]
                .map(|region| quarry::catalog::ProfileMember {
                    arn: format!("arn:aws:bedrock:{region}::foundation-model/{haiku}"),
                    region: Some(region.into()),
                    model: haiku.parse().expect("id"),
                })
                .to_vec(),
        };
        Catalog::new(
            "us-east-1",
            vec![
                model(haiku, "Anthropic", "Claude 3.5 Haiku", LifecycleStatus::Legacy),
                model("writer.palmyra-x4-v1:0", "Writer", "Palmyra X4", LifecycleStatus::Active),
            ],
            vec![profile],
        )
    }

    async fn call(
        app: &axum::Router,
        request: axum::http::Request<axum::body::Body>,
    ) -> (u16, serde_json::Value) {
        use tower::ServiceExt as _;
        let response = app.clone().oneshot(request).await.expect("the Router answers");
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("a body");
        (status, serde_json::from_slice(&body).expect("a JSON body"))
    }

    fn get_models() -> axum::http::Request<axum::body::Body> {
        axum::http::Request::get("/v1/models")
            .header("authorization", format!("Bearer {API_KEY}"))
            .body(axum::body::Body::empty())
            .expect("a request")
    }

    fn chat(model: &str) -> axum::http::Request<axum::body::Body> {
        let body =
            serde_json::json!({"model": model, "messages": [{"role": "user", "content": "Hi"}]});
        axum::http::Request::post("/v1/chat/completions")
            .header("authorization", format!("Bearer {API_KEY}"))
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_string()))
            .expect("a request")
    }

    #[tokio::test]
    async fn models_lists_catalog_names_lifecycle_and_profile_regions() {
        let bucket = LocalS3::holding(&listing()).await;
        let (app, reader) = app(&bucket).await;
        let (status, list) = call(&app, get_models()).await;
        assert_eq!(status, 200, "{list}");
        let haiku = list["data"]
            .as_array()
            .expect("data")
            .iter()
            .find(|m| m["id"] == "us.anthropic.claude-3-5-haiku-20241022-v1:0")
            .expect("the allowlisted profile");
        assert_eq!(haiku["name"], "US Anthropic Claude 3.5 Haiku");
        assert_eq!(haiku["lifecycle"], "LEGACY");
        assert_eq!(haiku["regions"], serde_json::json!(["us-east-1", "us-east-2", "us-west-2"]));
        call(&app, get_models()).await;
        assert_eq!(reader.gets(), 1, "the second request is served from the cache");
    }

    #[tokio::test]
    async fn the_catalog_decides_between_not_allowed_and_not_found() {
        // Listed by Bedrock but not allowed: 403.
        let listed = LocalS3::holding(&listing()).await;
        let (with_catalog, _) = app(&listed).await;
        let (status, body) = call(&with_catalog, chat("writer.palmyra-x4-v1:0")).await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["error"]["code"], "model_not_allowed", "{body}");

        // No catalog in S3: quarry has no family for Writer models, so it is unknown (404), and
        // the configured list still serves /v1/models.
        let empty = LocalS3::empty().await;
        let (without, reader) = app(&empty).await;
        let (status, body) = call(&without, chat("writer.palmyra-x4-v1:0")).await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["error"]["code"], "model_not_found", "{body}");
        assert_eq!(reader.statuses(), [404], "S3 has no catalog");
        let (status, list) = call(&without, get_models()).await;
        assert_eq!(status, 200);
        let data = list["data"].as_array().expect("data");
        assert!(!data.is_empty() && data.iter().all(|m| m.get("lifecycle").is_none()), "{list}");
    }
}
