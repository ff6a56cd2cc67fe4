//! The local stack: the whole product on one machine, in one process, on loopback.
//!
//! [`start`] brings up, from `quarry.toml`:
//! - the local Bedrock endpoint (built-in models, the catalog snapshot, faults);
//! - the local S3 on `<data-dir>/s3` with the buckets `documents` (its S3 event notifications go
//!   to the ingest queue) and the catalog bucket;
//! - the ingest function's handler consuming that queue ([`consumer`]): documents are fetched,
//!   extracted, chunked, embedded and written to the embedded SQLite vector store
//!   `<data-dir>/vectors.sqlite3`; failures are retried and finally dead-lettered;
//! - the catalog-sync function's handler, at start and on `catalog.schedule` ([`catalog`]),
//!   writing the model catalog to the catalog bucket;
//! - quarry's HTTP API: the invoke function's axum Router (served by `axum::serve`), reading the
//!   catalog from the local S3 and retrieving from the SQLite store.
//!
//! Every SDK client is pointed at the local endpoints by its own config builder, with the key pair
//! `test`/`test` ([`clients`]) — never `~/.aws` or `AWS_*` variables — so a developer's AWS setup
//! can never send local traffic to AWS. Everything lives in the data directory, so a restart finds
//! the objects, the queue (with what was not processed yet), the vectors and the catalog again;
//! one stack at a time holds a data directory ([`state`]), and `<data-dir>/stack.json` tells
//! `quarry-local put` where the running stack's S3 is.
//!
//! The stack also writes the Lambda functions' environments for running their binaries against it
//! under `cargo lambda watch --env-file`: `<data-dir>/invoke.env` (the invoke function: `QUARRY_*`
//! from `quarry.toml`, this stack's Bedrock and S3) and `<data-dir>/catalog-sync.env`.
//!
//! Authentication stays on: API keys, as deployed. The key given (`--api-key`), or one generated
//! for the run, is accepted, and so are the inline hashes of `auth.api_key_sha256`. The Secrets
//! Manager secret is not read locally, and IAM mode (which only API Gateway can check) is replaced
//! by the API key locally.
//!
//! [`RunningStack::shutdown`] stops in the order that loses nothing: the API stops taking requests
//! (those in flight finish), the ingest consumer finishes its batch in flight (a message is deleted
//! only once its document is stored), the catalog timer stops, then the local S3 (which queued
//! every event before it answered the write), then the Bedrock endpoint.

pub mod catalog;
pub mod clients;
pub mod consumer;
pub mod state;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use crate::net::Listener as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use quarry::config::{AuthConfig, CatalogLocation, QuarryConfig, StackResources};
use quarry::ingest::IngestContext;
use quarry::prompt::{PromptError, PromptTemplates};
use quarry::vector::{SqliteStore, VectorError};
use quarry_invoke::auth::{AuthError, hash_api_key};
use quarry_invoke::{AppState, Authenticator, CatalogSource};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::bedrock::guardrail::LocalGuardrail;
use crate::bedrock::{BedrockConfig, RunningServer, ServeError, serve};
use crate::faults::FaultConfig;
use crate::s3::{
    NotificationConfig, NotificationQueue, QueueConfig, RunningS3, S3Error, S3Options,
};
use catalog::{CatalogSync, CatalogTimer};
use consumer::{ConsumerSettings, IngestConsumer};
use state::{DataDirLock, StackState, StateError};

/// The API's port when none is given (`--api-port`).
pub const DEFAULT_API_PORT: u16 = 3000;

/// The local S3's port when none is given (`--s3-port`).
pub const DEFAULT_S3_PORT: u16 = 3001;

/// Where local state lives when no `--data-dir` is given (relative to the working directory).
pub const DEFAULT_DATA_DIR: &str = ".quarry";

/// The invoke function's environment file, in the data directory.
pub const INVOKE_ENV_FILE: &str = "invoke.env";

/// The catalog-sync function's environment file, in the data directory.
pub const CATALOG_SYNC_ENV_FILE: &str = "catalog-sync.env";

/// The embedded vector store, in the data directory.
pub const VECTOR_STORE_FILE: &str = "vectors.sqlite3";

/// The local S3's directory (objects and the notification queue), in the data directory.
pub const S3_DIR: &str = "s3";

/// The bucket whose uploads are ingested.
pub const DOCUMENTS_BUCKET: &str = "documents";

/// The bucket the model catalog is written to (in AWS, infra creates it).
pub const CATALOG_BUCKET: &str = "quarry-local-catalog";

/// The notification configuration id of the documents bucket (in each event's `configurationId`).
pub const INGEST_CONFIGURATION_ID: &str = "quarry-ingest";

/// How long in-flight work (a long stream, an ingest batch) may run on after a shutdown is asked
/// for, by default.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Not used locally (the SQLite store replaces S3 Vectors), but part of the settings.
const LOCAL_VECTOR_BUCKET: &str = "quarry-local-vectors";

/// How the local stack is set up.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// The validated `quarry.toml`.
    pub config: QuarryConfig,
    /// The API's port on 127.0.0.1; 0 picks a free one.
    pub api_port: u16,
    /// The local Bedrock endpoint's port on 127.0.0.1; 0 picks a free one.
    pub bedrock_port: u16,
    /// The local S3's port on 127.0.0.1; 0 picks a free one.
    pub s3_port: u16,
    /// The API key callers send; `None` generates one for this run.
    pub api_key: Option<String>,
    /// Where local state is kept (created if missing).
    pub data_dir: PathBuf,
    /// Faults the local Bedrock endpoint starts with.
    pub faults: FaultConfig,
    /// The ingest queue's visibility timeout (the delay before a failed document is retried) and
    /// receive limit (deliveries before it is dead-lettered). Default: 30 s, 5.
    pub queue: QueueConfig,
    /// How long in-flight API requests and the ingest batch in flight may run on at shutdown.
    pub shutdown_grace: Duration,
}

impl StackOptions {
    /// The defaults around `config`: API on port 3000, S3 on 3001, Bedrock on a free port, a
    /// generated key, `.quarry/` for data, no faults, SQS's default queue settings.
    pub fn new(config: QuarryConfig) -> Self {
        StackOptions {
            config,
            api_port: DEFAULT_API_PORT,
            bedrock_port: 0,
            s3_port: DEFAULT_S3_PORT,
            api_key: None,
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            faults: FaultConfig::default(),
            queue: QueueConfig::default(),
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        }
    }
}

/// What can go wrong starting or stopping the local stack.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error("could not create the data directory {}: {source}", path.display())]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    State(#[from] StateError),
    #[error("the API key is empty: give a non-empty key, or none to have one generated")]
    EmptyApiKey,
    #[error("auth.api_key_sha256 in quarry.toml: {0}")]
    KeyHash(#[from] AuthError),
    #[error("the local Bedrock endpoint: {0}")]
    Bedrock(#[from] ServeError),
    #[error("the local S3: {0}")]
    S3(#[from] S3Error),
    #[error(
        "the vector store {}: {source} (a store indexed with another embedding size belongs in another --data-dir)",
        path.display()
    )]
    VectorStore { path: PathBuf, source: VectorError },
    #[error("the built-in RAG prompt templates: {0}")]
    Templates(#[from] PromptError),
    #[error("could not write the Lambda environment file {}: {source}", path.display())]
    EnvFile { path: PathBuf, source: std::io::Error },
    #[error(
        "could not listen on 127.0.0.1:{port} for the API: {source} (pass --api-port to choose another port)"
    )]
    Bind { port: u16, source: std::io::Error },
    #[error("the API server failed: {0}")]
    Serve(std::io::Error),
    #[error("the API server task ended abnormally: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Who may call the local API, and what of `quarry.toml`'s `[auth]` does not apply locally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalAuth {
    /// The key to send as `Authorization: Bearer <key>`.
    pub key: String,
    /// The key was generated for this run (none was given).
    pub generated: bool,
    /// The hex SHA-256 digests of every accepted key: `auth.api_key_sha256`'s, then the key's.
    pub accepted_sha256: Vec<String>,
    /// The Secrets Manager secret of the config, which is not read locally.
    pub unread_secret: Option<String>,
    /// `quarry.toml` asks for IAM, which only API Gateway checks: the API key is used instead.
    pub iam_replaced: bool,
}

impl LocalAuth {
    /// The keys accepted for `config`'s `[auth]` and the key given (or a generated one).
    pub fn resolve(config: &AuthConfig, key: Option<String>) -> Result<LocalAuth, StackError> {
        let (key, generated) = match key {
            Some(key) if key.trim().is_empty() => return Err(StackError::EmptyApiKey),
            Some(key) => (key.trim().to_owned(), false),
            None => (generate_key(), true),
        };
        let (mut accepted_sha256, unread_secret, iam_replaced) = match config {
            AuthConfig::ApiKeys { secret_name, key_sha256 } => {
                (key_sha256.clone(), secret_name.clone(), false)
            }
            AuthConfig::Iam => (Vec::new(), None, true),
        };
        // Checked here so a malformed inline hash is reported at start-up, by its index.
        Authenticator::api_keys(&accepted_sha256)?;
        accepted_sha256.push(hash_api_key(&key));
        Ok(LocalAuth { key, generated, accepted_sha256, unread_secret, iam_replaced })
    }

    /// How many of `auth.api_key_sha256`'s hashes are accepted besides the key.
    pub fn inline_hashes(&self) -> usize {
        self.accepted_sha256.len() - 1
    }

    /// The authenticator accepting exactly these keys.
    pub fn authenticator(&self) -> Result<Authenticator, StackError> {
        Ok(Authenticator::api_keys(&self.accepted_sha256)?)
    }
}

/// A fresh random key for one run: `qk-local-` and 32 hex digits (122 random bits).
fn generate_key() -> String {
    format!("qk-local-{}", uuid::Uuid::new_v4().simple())
}

/// The local stack, running. Dropping it stops every part without waiting; [`shutdown`]
/// (Self::shutdown) stops them in order and waits.
#[derive(Debug)]
pub struct RunningStack {
    api_url: String,
    api_addr: SocketAddr,
    auth: LocalAuth,
    data_dir: PathBuf,
    config: QuarryConfig,
    bedrock: RunningServer,
    s3: RunningS3,
    s3_client: aws_sdk_s3::Client,
    store: Arc<SqliteStore>,
    catalog: CatalogLocation,
    consumer: IngestConsumer,
    catalog_timer: Option<CatalogTimer>,
    shutdown_grace: Duration,
    stop: Option<oneshot::Sender<()>>,
    api_task: JoinHandle<std::io::Result<()>>,
    _lock: DataDirLock,
}

impl RunningStack {
    /// The API's base URL, e.g. `http://127.0.0.1:3000` (OpenAI clients take `<url>/v1`).
    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    /// The local Bedrock endpoint's URL (any AWS SDK can be pointed at it too).
    pub fn bedrock_url(&self) -> &str {
        self.bedrock.url()
    }

    /// The local Bedrock endpoint, e.g. to switch faults at run time.
    pub fn bedrock(&self) -> &RunningServer {
        &self.bedrock
    }

    /// The local S3's URL (path-style, key pair `test`/`test`).
    pub fn s3_url(&self) -> &str {
        self.s3.url()
    }

    /// The local S3.
    pub fn s3(&self) -> &RunningS3 {
        &self.s3
    }

    /// The ingest queue the documents bucket's events go to (with its dead-letter list).
    pub fn notifications(&self) -> &NotificationQueue {
        self.s3.notifications()
    }

    /// An S3 client for the local S3, as the stack's functions use it.
    pub fn s3_client(&self) -> &aws_sdk_s3::Client {
        &self.s3_client
    }

    /// The embedded vector store the documents are indexed in.
    pub fn vector_store(&self) -> &Arc<SqliteStore> {
        &self.store
    }

    /// Where the model catalog is kept in the local S3.
    pub fn catalog_location(&self) -> &CatalogLocation {
        &self.catalog
    }

    /// Who may call the API.
    pub fn auth(&self) -> &LocalAuth {
        &self.auth
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The invoke function's environment file ([`INVOKE_ENV_FILE`] in the data directory).
    pub fn invoke_env_path(&self) -> PathBuf {
        self.data_dir.join(INVOKE_ENV_FILE)
    }

    /// The catalog-sync function's environment file ([`CATALOG_SYNC_ENV_FILE`]).
    pub fn catalog_sync_env_path(&self) -> PathBuf {
        self.data_dir.join(CATALOG_SYNC_ENV_FILE)
    }

    /// What `<data-dir>/stack.json` says about this stack.
    pub fn state(&self) -> StackState {
        StackState {
            pid: std::process::id(),
            api_url: self.api_url.clone(),
            bedrock_url: self.bedrock.url().to_owned(),
            s3_url: self.s3.url().to_owned(),
            region: self.config.stack.region.clone(),
            documents_bucket: DOCUMENTS_BUCKET.to_owned(),
            catalog_bucket: self.catalog.bucket.clone(),
        }
    }

    /// What a person reads on start: the URLs, the key, and copy-paste examples — a chat request,
    /// a document upload with the AWS CLI, a question to the documents.
    pub fn banner(&self) -> String {
        let api = &self.api_url;
        let s3 = self.s3.url();
        let key = &self.auth.key;
        let models = &self.config.models;
        let model = models.default.to_string();
        let data = self.data_dir.display();
        let schedule = &self.config.catalog.schedule;
        let catalog_when = match schedule.interval() {
            Some(_) => format!("synced at start and on {schedule}"),
            None => format!("synced at start ({schedule} has no fixed period: restart to sync)"),
        };
        let mut lines = vec![
            "quarry local stack".to_owned(),
            format!("  API:           {api}   (OpenAI-compatible base URL: {api}/v1)"),
            format!(
                "  Bedrock:       {}   (local stand-in for Amazon Bedrock, region {})",
                self.bedrock.url(),
                self.config.stack.region
            ),
            format!(
                "  S3:            {s3}   (local stand-in for Amazon S3: path-style, access key test, secret test)"
            ),
            format!("  API key:       {key}"),
            format!(
                "  Documents:     s3://{DOCUMENTS_BUCKET}/ is ingested into {data}/{VECTOR_STORE_FILE}; queue and dead letters: {s3}/_quarry/queue"
            ),
            format!(
                "  Catalog:       s3://{}/{}, {catalog_when}",
                self.catalog.bucket, self.catalog.key
            ),
            format!("  Data:          {data}"),
            format!(
                "  Lambda env:    {data}/{INVOKE_ENV_FILE}, {data}/{CATALOG_SYNC_ENV_FILE}   (cargo lambda watch --env-file; see events/README.md)"
            ),
            format!(
                "  Models:        {} (default {model}); embeddings: {}",
                models.allowed.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
                self.config.embedding.model_id
            ),
        ];
        if self.auth.generated {
            lines.push(
                "  The key was generated for this run; pass --api-key (or QUARRY_API_KEY) to keep one."
                    .to_owned(),
            );
        }
        if self.auth.inline_hashes() > 0 {
            lines.push(format!(
                "  Keys matching the {} hash(es) of auth.api_key_sha256 in quarry.toml work too.",
                self.auth.inline_hashes()
            ));
        }
        if let Some(secret) = &self.auth.unread_secret {
            lines.push(format!(
                "  The secret `{secret}` (auth.secret_name) is not read locally: its keys do not work here."
            ));
        }
        if self.auth.iam_replaced {
            lines.push(
                "  quarry.toml uses IAM auth, which only API Gateway checks: locally, send the API key."
                    .to_owned(),
            );
        }
        let put_data_dir = if self.data_dir == Path::new(DEFAULT_DATA_DIR) {
            String::new()
        } else {
            format!(" --data-dir {data}")
        };
        lines.extend([
            String::new(),
            "Chat with curl:".to_owned(),
            format!(
                "  curl {api}/v1/chat/completions \\\n    -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \\\n    -d '{{\"model\": \"{model}\", \"messages\": [{{\"role\": \"system\", \"content\": \"The office opens at 9am. Parking is free for visitors.\"}}, {{\"role\": \"user\", \"content\": \"When does the office open?\"}}]}}'"
            ),
            String::new(),
            format!(
                "Add a document with the AWS CLI (or without it: cargo run -p quarry-local -- put{put_data_dir} <files or folders> --wait):"
            ),
            format!("  echo '{EXAMPLE_DOCUMENT}' > {EXAMPLE_FILE}"),
            format!(
                "  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test aws s3 cp {EXAMPLE_FILE} s3://{DOCUMENTS_BUCKET}/ --endpoint-url {s3}"
            ),
            String::new(),
            "Ask your documents (answers cite them; the log says `document ingested` when one is searchable):"
                .to_owned(),
            format!(
                "  curl {api}/v1/rag \\\n    -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \\\n    -d '{{\"question\": \"{EXAMPLE_QUESTION}\"}}'"
            ),
            String::new(),
            "With the OpenAI Python SDK (pip install openai):".to_owned(),
            format!(
                "  from openai import OpenAI\n  client = OpenAI(base_url=\"{api}/v1\", api_key=\"{key}\")\n  answer = client.chat.completions.create(\n      model=\"{model}\",\n      messages=[\n          {{\"role\": \"system\", \"content\": \"The office opens at 9am. Parking is free for visitors.\"}},\n          {{\"role\": \"user\", \"content\": \"Is parking free?\"}},\n      ],\n  )\n  print(answer.choices[0].message.content)"
            ),
            String::new(),
            "Ctrl-C stops the stack.".to_owned(),
        ]);
        lines.join("\n")
    }

    /// Stops everything in the order that loses nothing (see the module docs): the API (requests
    /// in flight get the shutdown grace to finish, then are cut), the ingest consumer (its batch
    /// in flight gets the grace too, then stays in the queue for the next start), the catalog
    /// timer, the local S3, the Bedrock endpoint; then frees the data directory.
    pub async fn shutdown(mut self) -> Result<(), StackError> {
        let grace = self.shutdown_grace;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let api = match tokio::time::timeout(grace, &mut self.api_task).await {
            Ok(result) => {
                result.map_err(StackError::from).and_then(|r| r.map_err(StackError::Serve))
            }
            Err(_) => {
                tracing::warn!(
                    "requests still running {}s after shutdown was asked for; cutting them",
                    grace.as_secs_f64()
                );
                self.api_task.abort();
                Ok(())
            }
        };
        self.consumer.stop().await;
        if let Some(timer) = self.catalog_timer.take() {
            timer.stop(grace).await;
        }
        let s3 = match tokio::time::timeout(grace, self.s3.shutdown()).await {
            Ok(result) => result.map_err(StackError::from),
            Err(_) => {
                tracing::warn!("the local S3 did not stop in time; leaving it");
                Ok(())
            }
        };
        let bedrock = match tokio::time::timeout(grace, self.bedrock.shutdown()).await {
            Ok(result) => result.map_err(StackError::from),
            Err(_) => {
                tracing::warn!("the local Bedrock endpoint did not stop in time; leaving it");
                Ok(())
            }
        };
        StackState::remove(&self.data_dir);
        tracing::info!("local stack stopped");
        api.and(s3).and(bedrock)
    }
}

/// The banner's example document, its file name and the question it answers.
const EXAMPLE_DOCUMENT: &str =
    "Visitors park for free in the north garage. The garage closes at 10pm.";
const EXAMPLE_FILE: &str = "parking.md";
const EXAMPLE_QUESTION: &str = "Where can visitors park?";

/// Starts the whole local stack (see the module docs) in the background of the current Tokio
/// runtime, and returns once every part listens and the first catalog sync is done.
pub async fn start(options: StackOptions) -> Result<RunningStack, StackError> {
    let StackOptions {
        config,
        api_port,
        bedrock_port,
        s3_port,
        api_key,
        data_dir,
        faults,
        queue,
        shutdown_grace,
    } = options;
    std::fs::create_dir_all(&data_dir)
        .map_err(|source| StackError::DataDir { path: data_dir.clone(), source })?;
    let lock = DataDirLock::acquire(&data_dir)?;
    let auth = LocalAuth::resolve(&config.auth, api_key)?;
    let authenticator = auth.authenticator()?;
    // The API's port first: the one most likely taken, reported before anything else starts.
    let listener = crate::net::bind_loopback(api_port)
        .await
        .map_err(|source| StackError::Bind { port: api_port, source })?;
    let api_addr =
        listener.local_addr().map_err(|source| StackError::Bind { port: api_port, source })?;

    let region = config.stack.region.clone();
    let bedrock = serve(BedrockConfig {
        port: bedrock_port,
        faults,
        guardrails: local_guardrails(&config),
        catalog: crate::bedrock::CatalogSource::new(region.clone(), None),
    })
    .await?;
    let resources = StackResources {
        catalog_bucket: CATALOG_BUCKET.to_owned(),
        vector_bucket: LOCAL_VECTOR_BUCKET.to_owned(),
    };
    let mut s3_options = S3Options::new(data_dir.join(S3_DIR));
    s3_options.port = s3_port;
    s3_options.region = region.clone();
    s3_options.buckets = vec![DOCUMENTS_BUCKET.to_owned(), CATALOG_BUCKET.to_owned()];
    s3_options.notifications =
        vec![NotificationConfig::all_events(DOCUMENTS_BUCKET, INGEST_CONFIGURATION_ID)];
    s3_options.queue = queue;
    let s3 = crate::s3::serve(s3_options).await?;

    let bedrock_runtime = clients::bedrock_runtime(bedrock.url(), &region);
    let s3_client = clients::s3(s3.url(), &region);
    let store_path = data_dir.join(VECTOR_STORE_FILE);
    let dimension = usize::try_from(config.embedding.dimensions).unwrap_or(usize::MAX);
    let store = Arc::new(
        SqliteStore::open(&store_path, dimension)
            .map_err(|source| StackError::VectorStore { path: store_path.clone(), source })?,
    );

    // The catalog first, so the API's first request already has it.
    let sync = CatalogSync {
        bedrock: clients::bedrock_control(bedrock.url(), &region),
        s3: s3_client.clone(),
        settings: config.catalog_sync_settings(&resources),
    };
    sync.run_once().await;
    let catalog_timer = match config.catalog.schedule.interval() {
        Some(period) => Some(CatalogTimer::spawn(sync.clone(), period)),
        None => {
            tracing::info!(
                schedule = %config.catalog.schedule,
                "catalog.schedule has no fixed period; locally the catalog is synced at start only"
            );
            None
        }
    };

    let ingest_settings = config.ingest_settings(&resources);
    let batch_timeout = Duration::from_secs(config.functions.ingest.timeout_seconds.into())
        .saturating_sub(quarry_ingest::SAFETY_MARGIN)
        .max(Duration::from_secs(1));
    let consumer = IngestConsumer::spawn(
        s3.notifications().clone(),
        IngestContext {
            s3: s3_client.clone(),
            bedrock: bedrock_runtime.clone(),
            store: store.clone(),
            settings: ingest_settings,
        },
        ConsumerSettings { batch_timeout, shutdown_grace },
    );

    let mut settings = config.invoke_settings(&resources);
    // What is really checked locally: the key's hash and the inline hashes, no secret.
    settings.auth =
        AuthConfig::ApiKeys { secret_name: None, key_sha256: auth.accepted_sha256.clone() };
    let endpoints = LocalEndpoints { bedrock: bedrock.url(), s3: s3.url(), region: &region };
    write_env_file(&data_dir.join(INVOKE_ENV_FILE), &lambda_env(&settings.to_env(), &endpoints))?;
    let catalog_sync_env = lambda_env(&sync.settings.to_env(), &endpoints);
    write_env_file(&data_dir.join(CATALOG_SYNC_ENV_FILE), &catalog_sync_env)?;

    let catalog = settings.catalog.clone();
    let catalog_source = CatalogSource {
        s3: s3_client.clone(),
        location: catalog.clone(),
        ttl: Duration::from_secs(settings.catalog_cache_ttl_seconds.into()),
    };
    let state = AppState::new(bedrock_runtime, settings, authenticator)
        .with_catalog(catalog_source)
        .with_retrieval(store.clone(), PromptTemplates::builtin()?);
    state.catalog().refresh_if_stale().await;
    let router = quarry_invoke::app(state);
    let (stop, stopped) = oneshot::channel::<()>();
    let api_task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    let running = RunningStack {
        api_url: format!("http://{api_addr}"),
        api_addr,
        auth,
        data_dir,
        config,
        bedrock,
        s3,
        s3_client,
        store,
        catalog,
        consumer,
        catalog_timer,
        shutdown_grace,
        stop: Some(stop),
        api_task,
        _lock: lock,
    };
    running.state().write(&running.data_dir)?;
    tracing::info!(
        api = %running.api_url,
        bedrock = running.bedrock_url(),
        s3 = running.s3_url(),
        data_dir = %running.data_dir.display(),
        "local stack listening"
    );
    Ok(running)
}

/// The demo guardrail, and the configured guardrail (with the demo's policies) if it has another id.
fn local_guardrails(config: &QuarryConfig) -> Vec<LocalGuardrail> {
    let mut guardrails = vec![LocalGuardrail::demo()];
    if let Some(configured) = &config.guardrail {
        let id =
            configured.id.rsplit_once(":guardrail/").map_or(configured.id.as_str(), |(_, id)| id);
        if id != LocalGuardrail::demo().id {
            guardrails.push(LocalGuardrail { id: id.to_owned(), ..LocalGuardrail::demo() });
        }
    }
    guardrails
}

/// Where a Lambda function run against this stack finds the local services.
#[derive(Debug, Clone, Copy)]
pub struct LocalEndpoints<'a> {
    pub bedrock: &'a str,
    pub s3: &'a str,
    pub region: &'a str,
}

/// A function's environment against this stack: its `QUARRY_*` variables, the SDK's standard
/// endpoint variables for the local Bedrock (both planes) and S3, the local key pair, the region,
/// and the request path without API Gateway's stage (lambda_http puts `/<stage>` in front of REST
/// API paths unless told not to).
pub fn lambda_env(
    quarry_env: &BTreeMap<String, String>,
    endpoints: &LocalEndpoints<'_>,
) -> BTreeMap<String, String> {
    let mut vars = quarry_env.clone();
    for (name, value) in [
        ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", endpoints.bedrock),
        ("AWS_ENDPOINT_URL_BEDROCK", endpoints.bedrock),
        ("AWS_ENDPOINT_URL_S3", endpoints.s3),
        ("AWS_REGION", endpoints.region),
        ("AWS_ACCESS_KEY_ID", clients::LOCAL_ACCESS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", clients::LOCAL_SECRET_ACCESS_KEY),
        ("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "true"),
    ] {
        vars.insert(name.to_owned(), value.to_owned());
    }
    vars
}

/// Writes `KEY=VALUE` lines through a temporary file and a rename (never seen half written).
fn write_env_file(path: &Path, vars: &BTreeMap<String, String>) -> Result<(), StackError> {
    let text: String = vars.iter().map(|(name, value)| format!("{name}={value}\n")).collect();
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, text)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|source| StackError::EnvFile { path: path.to_owned(), source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    fn bearer(key: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", format!("Bearer {key}").parse().expect("header value"));
        headers
    }

    fn api_keys(secret: Option<&str>, hashes: &[String]) -> AuthConfig {
        AuthConfig::ApiKeys { secret_name: secret.map(str::to_owned), key_sha256: hashes.to_vec() }
    }

    #[test]
    fn the_given_key_and_the_inline_hashes_pass_and_the_secret_is_reported_unread() {
        let config = api_keys(Some("quarry/api-keys"), &[hash_api_key("team-key")]);
        let auth = LocalAuth::resolve(&config, Some("my-key".into())).expect("resolve");
        let authenticator = auth.authenticator().expect("authenticator");
        assert_eq!(auth.key, "my-key");
        assert!(!auth.generated);
        assert_eq!(auth.inline_hashes(), 1);
        assert_eq!(auth.unread_secret.as_deref(), Some("quarry/api-keys"));
        assert!(authenticator.check(&bearer("my-key"), None).is_ok());
        assert!(authenticator.check(&bearer("team-key"), None).is_ok());
        assert!(authenticator.check(&bearer("other"), None).is_err());
    }

    #[test]
    fn without_a_key_a_fresh_random_one_is_generated_and_accepted() {
        let config = api_keys(None, &[]);
        let first = LocalAuth::resolve(&config, None).expect("resolve");
        let second = LocalAuth::resolve(&config, None).expect("resolve");
        let authenticator = first.authenticator().expect("authenticator");
        assert!(first.generated);
        assert!(first.key.starts_with("qk-local-") && first.key.len() == 9 + 32, "{}", first.key);
        assert_ne!(first.key, second.key);
        assert!(authenticator.check(&bearer(&first.key), None).is_ok());
        assert!(authenticator.check(&bearer(&second.key), None).is_err());
    }

    #[test]
    fn iam_mode_is_replaced_by_the_key_locally_and_empty_keys_are_refused() {
        let auth = LocalAuth::resolve(&AuthConfig::Iam, Some("k".into())).expect("resolve");
        let authenticator = auth.authenticator().expect("authenticator");
        assert!(auth.iam_replaced);
        assert!(authenticator.check(&bearer("k"), None).is_ok());
        let error = LocalAuth::resolve(&AuthConfig::Iam, Some("  ".into())).expect_err("empty");
        assert!(matches!(error, StackError::EmptyApiKey));
    }

    #[test]
    fn a_malformed_inline_hash_is_reported_against_quarry_toml() {
        let error = LocalAuth::resolve(&api_keys(None, &["abc".into()]), Some("k".into()))
            .expect_err("bad hash");
        let message = error.to_string();
        assert!(message.contains("auth.api_key_sha256") && message.contains("#0"), "{message}");
    }
}
