//! `quarry.toml`, the one configuration file: its typed schema with defaults, and validation whose
//! errors name the field (`functions.invoke.memory_mb: must be between 128 and 10240, got 64`).
//!
//! infra reads [`QuarryConfig`] to synthesize the stack and derive least-privilege IAM; the local
//! stack reads it directly; each Lambda function gets the part it needs through `QUARRY_*`
//! environment variables ([`InvokeSettings`], [`IngestSettings`], [`CatalogSyncSettings`], built by
//! [`QuarryConfig::invoke_settings`] & co. and read back with `from_env`).
//!
//! Unknown keys are errors (a typo must not silently fall back to a default). TOML syntax and
//! type errors come from the toml parser with their line and column; rule violations are all
//! collected into one [`ConfigError::Invalid`], one line per field.

mod checks;
mod schedule;
mod settings;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::embed::EmbeddingModel;
use crate::model::{Allowlist, Family, ModelId};

pub use checks::LOG_RETENTION_DAYS;
pub use schedule::Schedule;
pub use settings::{
    CatalogLocation, CatalogSyncSettings, IngestSettings, InvokeSettings, LAMBDA_ENV_LIMIT_BYTES,
    StackResources, VectorIndex, env, env_size,
};

/// Why `quarry.toml` (or a function's environment) is not a valid configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {}: {error}", path.display())]
    Read { path: PathBuf, error: std::io::Error },
    /// A problem in the file at `path`.
    #[error("{}: {inner}", path.display())]
    File { path: PathBuf, inner: Box<ConfigError> },
    /// Not TOML, or not quarry's schema (unknown or missing key, wrong type). The toml parser's
    /// message carries the line and column and shows the offending line.
    #[error("{0}")]
    Syntax(Box<toml::de::Error>),
    /// Values that break a rule, one per field.
    #[error("{}", .0.iter().map(FieldError::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<FieldError>),
    /// A `QUARRY_*` environment variable is missing or malformed.
    #[error("environment variable {var}: {problem}")]
    Env { var: &'static str, problem: String },
}

impl ConfigError {
    /// One rule violation at `field`.
    pub fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Self {
        ConfigError::Invalid(vec![FieldError { field: field.into(), problem: problem.into() }])
    }

    /// The rule violations (empty for other errors), looking through [`ConfigError::File`].
    pub fn problems(&self) -> &[FieldError] {
        match self {
            ConfigError::Invalid(problems) => problems,
            ConfigError::File { inner, .. } => inner.problems(),
            _ => &[],
        }
    }
}

/// One field of `quarry.toml` and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's path as written in TOML: `models.chat[2]`, `models.aliases.fast`.
    pub field: String,
    /// What is wrong and what was expected.
    pub problem: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

/// The whole, validated `quarry.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct QuarryConfig {
    /// `[stack]`: the CloudFormation stack and its region.
    pub stack: StackConfig,
    /// `[models]`: the chat models callers may use.
    pub models: ChatModels,
    /// `[embedding]`: the model that embeds documents and queries.
    pub embedding: EmbeddingConfig,
    /// `[vector_store]`: the S3 Vectors index.
    pub vector_store: VectorStoreConfig,
    /// `[catalog]`: where and how often the model catalog is synced.
    pub catalog: CatalogConfig,
    /// `[functions.*]`: memory and timeout of each Lambda function.
    pub functions: FunctionsConfig,
    /// `[auth]`: how the invoke API authenticates callers.
    pub auth: AuthConfig,
    /// `[guardrail]`: the Bedrock guardrail applied to every chat call, if any.
    pub guardrail: Option<GuardrailConfig>,
    /// `log_retention_days`: how long CloudWatch keeps the functions' logs.
    pub log_retention_days: u32,
    /// `[ingest]`: document and chunking limits.
    pub ingest: IngestLimits,
    /// `[limits]`: request limits of the invoke API.
    pub limits: InvokeLimits,
    /// `[api]`: stage throttling of the invoke API (read by infra only).
    pub api: ApiConfig,
    /// `log_prompts`: log prompt and completion text (off by default: they may hold personal data).
    pub log_prompts: bool,
}

/// `[stack]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackConfig {
    /// The CloudFormation stack name.
    pub name: String,
    /// The region the stack (and every Bedrock call) lives in.
    pub region: String,
}

/// `[models]`: the chat allowlist, its default, aliases and prices.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatModels {
    /// The ids callers may use, in config order (base ids, inference profile ids or ARNs).
    pub allowed: Vec<ModelId>,
    /// The model a request without `model` gets (`models.default`, else the first allowed).
    pub default: ModelId,
    /// Alias → allowed id.
    pub aliases: BTreeMap<String, ModelId>,
    /// Prices for cost estimates, keyed by the allowed id as written in `allowed`.
    pub prices: BTreeMap<String, ModelPrice>,
}

impl ChatModels {
    /// The run-time allowlist of these models.
    pub fn allowlist(&self) -> Allowlist {
        Allowlist::new(self.allowed.clone(), self.aliases.clone(), Some(self.default.clone()))
    }

    /// The configured price of an allowed model.
    pub fn price(&self, id: &ModelId) -> Option<&ModelPrice> {
        self.prices.get(&id.to_string())
    }
}

/// A model's on-demand price in USD, for cost estimates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    /// USD per 1,000 input tokens.
    pub input_per_1k_tokens: f64,
    /// USD per 1,000 output tokens.
    pub output_per_1k_tokens: f64,
}

impl ModelPrice {
    /// The estimated cost in USD of a call with these token counts.
    pub fn cost_usd(&self, input_tokens: u64, output_tokens: u64) -> f64 {
        (input_tokens as f64 * self.input_per_1k_tokens
            + output_tokens as f64 * self.output_per_1k_tokens)
            / 1000.0
    }
}

/// `[embedding]`.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingConfig {
    /// The id to call as written (a base id, an inference profile id or an ARN).
    pub model_id: ModelId,
    /// The embedding model behind it (body format and limits).
    pub model: EmbeddingModel,
    /// The vector length (the model's default when not configured).
    pub dimensions: u32,
}

/// How vectors are compared in the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DistanceMetric {
    /// Cosine distance (the usual choice for text embeddings).
    #[default]
    Cosine,
    /// Euclidean distance.
    Euclidean,
}

impl DistanceMetric {
    /// The name S3 Vectors uses (`cosine`, `euclidean`).
    pub fn as_str(self) -> &'static str {
        match self {
            DistanceMetric::Cosine => "cosine",
            DistanceMetric::Euclidean => "euclidean",
        }
    }

    /// The metric named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        [DistanceMetric::Cosine, DistanceMetric::Euclidean].into_iter().find(|m| m.as_str() == name)
    }
}

/// `[vector_store]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VectorStoreConfig {
    /// The S3 Vectors index name (3-63 lowercase letters, digits, `.`, `-`).
    pub index_name: String,
    /// The index's distance metric (fixed once the index exists).
    pub metric: DistanceMetric,
}

impl Default for VectorStoreConfig {
    fn default() -> Self {
        VectorStoreConfig { index_name: "quarry-docs".to_owned(), metric: DistanceMetric::Cosine }
    }
}

/// `[catalog]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogConfig {
    /// When catalog-sync runs (EventBridge rate or cron expression).
    pub schedule: Schedule,
    /// The S3 key of the catalog JSON in the catalog bucket.
    pub key: String,
    /// How long the invoke function caches the catalog, seconds.
    pub cache_ttl_seconds: u32,
}

/// Memory and timeout of one Lambda function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionConfig {
    /// Memory in MB (128..=10240); CPU scales with it.
    pub memory_mb: u32,
    /// Timeout in seconds (1..=900).
    pub timeout_seconds: u32,
}

/// `[functions.invoke]`, `[functions.ingest]`, `[functions.catalog_sync]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionsConfig {
    /// The invoke API (default 512 MB, 300 s: long generations stream for minutes).
    pub invoke: FunctionConfig,
    /// Document ingestion (default 1024 MB, 300 s: PDF extraction and embedding).
    pub ingest: FunctionConfig,
    /// The catalog sync (default 256 MB, 60 s).
    pub catalog_sync: FunctionConfig,
}

impl FunctionsConfig {
    const DEFAULT: FunctionsConfig = FunctionsConfig {
        invoke: FunctionConfig { memory_mb: 512, timeout_seconds: 300 },
        ingest: FunctionConfig { memory_mb: 1024, timeout_seconds: 300 },
        catalog_sync: FunctionConfig { memory_mb: 256, timeout_seconds: 60 },
    };
}

/// How callers authenticate (`auth.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// API keys, checked by the invoke function against stored SHA-256 hashes.
    #[default]
    ApiKeys,
    /// AWS IAM (SigV4), checked by API Gateway.
    Iam,
}

impl AuthMode {
    /// The mode as written in `quarry.toml` (`api_keys`, `iam`).
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::ApiKeys => "api_keys",
            AuthMode::Iam => "iam",
        }
    }

    /// The mode written `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        [AuthMode::ApiKeys, AuthMode::Iam].into_iter().find(|m| m.as_str() == name)
    }
}

/// `[auth]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthConfig {
    /// API keys. At least one source is set: the secret (its name defaults to
    /// `<stack.name>/api-keys` when no inline hashes are given) or inline hashes.
    ApiKeys {
        /// The Secrets Manager secret holding the key hashes.
        secret_name: Option<String>,
        /// Lowercase hex SHA-256 hashes of keys, from `auth.api_key_sha256`.
        key_sha256: Vec<String>,
    },
    /// IAM: API Gateway authorizes SigV4-signed requests; the function checks no keys.
    Iam,
}

impl AuthConfig {
    /// The mode.
    pub fn mode(&self) -> AuthMode {
        match self {
            AuthConfig::ApiKeys { .. } => AuthMode::ApiKeys,
            AuthConfig::Iam => AuthMode::Iam,
        }
    }

    /// The secret infra creates and grants the invoke function read access to.
    pub fn secret_name(&self) -> Option<&str> {
        match self {
            AuthConfig::ApiKeys { secret_name, .. } => secret_name.as_deref(),
            AuthConfig::Iam => None,
        }
    }
}

/// `[guardrail]`: applied to every chat call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardrailConfig {
    /// The guardrail id or ARN.
    pub id: String,
    /// `DRAFT` or a version number.
    pub version: String,
}

/// `[ingest]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestLimits {
    /// Larger documents are skipped (default 50 MiB; at most the ingest function's memory).
    pub max_document_bytes: u64,
    /// Characters per chunk (default 2000; at most the embedding model's text limit).
    pub chunk_chars: u32,
    /// Characters shared by consecutive chunks (default 200; less than `chunk_chars`).
    pub chunk_overlap_chars: u32,
    /// Concurrent embedding calls per document (default 4).
    pub max_concurrency: u32,
}

impl Default for IngestLimits {
    fn default() -> Self {
        IngestLimits {
            max_document_bytes: 50 * 1024 * 1024,
            chunk_chars: 2000,
            chunk_overlap_chars: 200,
            max_concurrency: 4,
        }
    }
}

impl IngestLimits {
    /// Rule violations as (key in `[ingest]`, problem), given the embedding model.
    fn problems(&self, model: EmbeddingModel) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if let Err(p) = checks::in_range(self.max_document_bytes, &checks::MAX_DOCUMENT_BYTES) {
            problems.push(("max_document_bytes", p));
        }
        let max_chunk = model
            .max_text_chars()
            .and_then(|chars| u32::try_from(chars).ok())
            .map_or(*checks::CHUNK_CHARS.end(), |chars| chars.min(*checks::CHUNK_CHARS.end()));
        let chunk_range = *checks::CHUNK_CHARS.start()..=max_chunk;
        if let Err(p) = checks::in_range(self.chunk_chars, &chunk_range) {
            let why = if max_chunk < *checks::CHUNK_CHARS.end() {
                format!(" ({model} embeds at most {max_chunk} characters per text)")
            } else {
                String::new()
            };
            problems.push(("chunk_chars", format!("{p}{why}")));
        }
        if self.chunk_overlap_chars >= self.chunk_chars {
            problems.push((
                "chunk_overlap_chars",
                format!(
                    "must be less than chunk_chars ({}), got {}",
                    self.chunk_chars, self.chunk_overlap_chars
                ),
            ));
        }
        if let Err(p) = checks::in_range(self.max_concurrency, &checks::INGEST_CONCURRENCY) {
            problems.push(("max_concurrency", p));
        }
        problems
    }
}

/// `[limits]`: what one request to the invoke API may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InvokeLimits {
    /// Largest request body accepted, bytes (default 1 MiB; Lambda's payload limit is 6 MB).
    pub max_body_bytes: u32,
    /// Most models one compare request may name (default 4).
    pub max_compare_models: u32,
}

impl Default for InvokeLimits {
    fn default() -> Self {
        InvokeLimits { max_body_bytes: 1024 * 1024, max_compare_models: 4 }
    }
}

impl InvokeLimits {
    /// Rule violations as (key in `[limits]`, problem).
    fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if let Err(p) = checks::in_range(self.max_body_bytes, &checks::MAX_BODY_BYTES) {
            problems.push(("max_body_bytes", p));
        }
        if let Err(p) = checks::in_range(self.max_compare_models, &checks::MAX_COMPARE_MODELS) {
            problems.push(("max_compare_models", p));
        }
        problems
    }
}

/// `[api]`: API Gateway stage throttling of the invoke API. infra writes it into the stage's
/// method settings; the functions never see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Steady-state requests per second the stage accepts (default 50).
    pub rate_limit_per_second: u32,
    /// Requests accepted at once above the steady rate (default 100).
    pub burst_limit: u32,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig { rate_limit_per_second: 50, burst_limit: 100 }
    }
}

impl ApiConfig {
    /// Rule violations as (key in `[api]`, problem).
    fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if let Err(p) = checks::in_range(self.rate_limit_per_second, &checks::API_RATE_LIMIT) {
            problems.push(("rate_limit_per_second", p));
        }
        if let Err(p) = checks::in_range(self.burst_limit, &checks::API_BURST_LIMIT) {
            problems.push(("burst_limit", p));
        }
        problems
    }
}

impl QuarryConfig {
    /// Parses and validates the text of a `quarry.toml`.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax(Box::new(e)))?;
        raw.validate()
    }

    /// Reads, parses and validates the `quarry.toml` at `path`; errors name the file.
    pub fn from_path(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| ConfigError::Read { path: path.to_owned(), error })?;
        Self::from_toml_str(&text)
            .map_err(|e| ConfigError::File { path: path.to_owned(), inner: Box::new(e) })
    }
}

// ---- The file as written, before validation -------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    stack: RawStack,
    models: RawModels,
    embedding: RawEmbedding,
    #[serde(default)]
    vector_store: VectorStoreConfig,
    #[serde(default)]
    catalog: RawCatalog,
    #[serde(default)]
    functions: RawFunctions,
    #[serde(default)]
    auth: RawAuth,
    guardrail: Option<RawGuardrail>,
    #[serde(default = "default_log_retention_days")]
    log_retention_days: u32,
    #[serde(default)]
    ingest: IngestLimits,
    #[serde(default)]
    limits: InvokeLimits,
    #[serde(default)]
    api: ApiConfig,
    #[serde(default)]
    log_prompts: bool,
}

fn default_log_retention_days() -> u32 {
    30
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStack {
    name: String,
    region: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModels {
    chat: Vec<String>,
    default: Option<String>,
    #[serde(default)]
    aliases: BTreeMap<String, String>,
    #[serde(default)]
    prices: BTreeMap<String, ModelPrice>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEmbedding {
    model: String,
    dimensions: Option<u32>,
}

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawCatalog {
    schedule: String,
    key: String,
    cache_ttl_seconds: u32,
}

impl Default for RawCatalog {
    fn default() -> Self {
        RawCatalog {
            schedule: "rate(1 day)".to_owned(),
            key: "catalog/models.json".to_owned(),
            cache_ttl_seconds: 300,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct RawFunctions {
    invoke: RawFunction,
    ingest: RawFunction,
    catalog_sync: RawFunction,
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct RawFunction {
    memory_mb: Option<u32>,
    timeout_seconds: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct RawAuth {
    mode: AuthMode,
    secret_name: Option<String>,
    api_key_sha256: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGuardrail {
    id: String,
    version: RawGuardrailVersion,
}

/// `version = "DRAFT"`, `version = "1"` or `version = 1`.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawGuardrailVersion {
    Text(String),
    Number(i64),
}

/// Collects rule violations, each with its field.
#[derive(Default)]
struct Problems(Vec<FieldError>);

impl Problems {
    fn add(&mut self, field: impl Into<String>, problem: impl Into<String>) {
        self.0.push(FieldError { field: field.into(), problem: problem.into() });
    }

    /// The value, or `None` after recording the problem at `field`.
    fn check<T>(&mut self, field: impl Into<String>, result: Result<T, String>) -> Option<T> {
        result.map_err(|problem| self.add(field, problem)).ok()
    }
}

/// A TOML key as written in a dotted path: bare when it can be, quoted otherwise.
fn toml_key(key: &str) -> String {
    let bare =
        !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare { key.to_owned() } else { format!("{key:?}") }
}

impl RawConfig {
    fn validate(self) -> Result<QuarryConfig, ConfigError> {
        let mut problems = Problems::default();
        problems.check("stack.name", checks::stack_name(&self.stack.name));
        let region_ok =
            problems.check("stack.region", checks::region(&self.stack.region)).is_some();
        let region = region_ok.then_some(self.stack.region.as_str());

        let models = self.models.validate(region, &mut problems);
        let embedding = self.embedding.validate(region, &mut problems);

        problems.check("vector_store.index_name", checks::s3_name(&self.vector_store.index_name));

        let schedule = problems.check("catalog.schedule", Schedule::check(&self.catalog.schedule));
        problems.check("catalog.key", checks::s3_key(&self.catalog.key));
        problems.check(
            "catalog.cache_ttl_seconds",
            checks::in_range(self.catalog.cache_ttl_seconds, &checks::CACHE_TTL_SECONDS),
        );

        let functions = self.functions.validate(&mut problems);
        let auth = self.auth.validate(&self.stack.name, &mut problems);
        let guardrail = self.guardrail.and_then(|g| g.validate(&mut problems));
        problems.check("log_retention_days", checks::log_retention_days(self.log_retention_days));

        if let Some(embedding) = &embedding {
            for (key, problem) in self.ingest.problems(embedding.model) {
                problems.add(format!("ingest.{key}"), problem);
            }
        }
        let ingest_memory = u64::from(functions.ingest.memory_mb) * 1024 * 1024;
        if self.ingest.max_document_bytes > ingest_memory {
            problems.add(
                "ingest.max_document_bytes",
                format!(
                    "{} bytes does not fit in the ingest function's {} MB of memory (functions.ingest.memory_mb)",
                    self.ingest.max_document_bytes, functions.ingest.memory_mb
                ),
            );
        }
        for (key, problem) in self.limits.problems() {
            problems.add(format!("limits.{key}"), problem);
        }
        for (key, problem) in self.api.problems() {
            problems.add(format!("api.{key}"), problem);
        }

        let (Some(models), Some(embedding), Some(schedule), Some(auth), true) =
            (models, embedding, schedule, auth, problems.0.is_empty())
        else {
            return Err(ConfigError::Invalid(problems.0));
        };
        let config = QuarryConfig {
            stack: StackConfig { name: self.stack.name, region: self.stack.region },
            models,
            embedding,
            vector_store: self.vector_store,
            catalog: CatalogConfig {
                schedule,
                key: self.catalog.key,
                cache_ttl_seconds: self.catalog.cache_ttl_seconds,
            },
            functions,
            auth,
            guardrail,
            log_retention_days: self.log_retention_days,
            ingest: self.ingest,
            limits: self.limits,
            api: self.api,
            log_prompts: self.log_prompts,
        };
        config.check_environment_size()?;
        Ok(config)
    }
}

impl RawModels {
    fn validate(self, region: Option<&str>, problems: &mut Problems) -> Option<ChatModels> {
        let before = problems.0.len();
        if self.chat.is_empty() {
            problems.add("models.chat", "list at least one chat model id");
        }
        let mut allowed: Vec<ModelId> = Vec::with_capacity(self.chat.len());
        let mut listed_at: Vec<usize> = Vec::with_capacity(self.chat.len());
        for (index, text) in self.chat.iter().enumerate() {
            let field = format!("models.chat[{index}]");
            let Some(id) = problems.check(&field, checks::model_id(text)) else { continue };
            if let Some(region) = region {
                problems.check(&field, checks::model_callable_from(&id, region));
            }
            if id
                .base_model()
                .and_then(|b| Family::of_base_model(b.as_str()))
                .is_some_and(Family::is_embedding)
            {
                problems.add(
                    &field,
                    format!("`{id}` is an embedding model; set it as embedding.model instead"),
                );
            }
            if let Some(first) = allowed.iter().position(|a| *a == id) {
                problems.add(
                    &field,
                    format!("`{id}` is listed twice (also models.chat[{}])", listed_at[first]),
                );
                continue;
            }
            allowed.push(id);
            listed_at.push(index);
        }
        // Membership checks only mean something once the whole list parsed.
        let list_ok = problems.0.len() == before;
        let member = |problems: &mut Problems, field: &str, id: ModelId| -> Option<ModelId> {
            if !list_ok || allowed.contains(&id) {
                Some(id)
            } else {
                problems.add(field, format!("`{id}` is not in models.chat; add it there first"));
                None
            }
        };

        let default = match &self.default {
            Some(text) => problems
                .check("models.default", checks::model_id(text))
                .and_then(|id| member(problems, "models.default", id)),
            None => allowed.first().cloned(),
        };

        let mut aliases = BTreeMap::new();
        for (name, target) in &self.aliases {
            let field = format!("models.aliases.{}", toml_key(name));
            let name_ok = problems.check(&field, checks::alias_name(name)).is_some();
            if allowed.iter().any(|id| id.to_string() == *name) {
                problems.add(
                    &field,
                    format!("alias `{name}` is itself an allowed model id; pick another name"),
                );
                continue;
            }
            let target = problems.check(&field, checks::model_id(target));
            if let Some(target) = target.and_then(|id| member(problems, &field, id))
                && name_ok
            {
                aliases.insert(name.clone(), target);
            }
        }

        let mut prices = BTreeMap::new();
        for (key, price) in &self.prices {
            let field = format!("models.prices.{}", toml_key(key));
            for (what, value) in [
                ("input_per_1k_tokens", price.input_per_1k_tokens),
                ("output_per_1k_tokens", price.output_per_1k_tokens),
            ] {
                if !(value.is_finite() && value >= 0.0) {
                    problems.add(
                        format!("{field}.{what}"),
                        format!("must be a price in USD of 0 or more, got {value}"),
                    );
                }
            }
            let id = problems.check(&field, checks::model_id(key));
            if let Some(id) = id.and_then(|id| member(problems, &field, id)) {
                prices.insert(id.to_string(), *price);
            }
        }

        let default = default?;
        (problems.0.len() == before).then_some(ChatModels { allowed, default, aliases, prices })
    }
}

impl RawEmbedding {
    fn validate(self, region: Option<&str>, problems: &mut Problems) -> Option<EmbeddingConfig> {
        let field = "embedding.model";
        let model_id = problems.check(field, checks::model_id(&self.model))?;
        if let Some(region) = region {
            problems.check(field, checks::model_callable_from(&model_id, region))?;
        }
        let model = problems
            .check(field, EmbeddingModel::from_model_id(&self.model).map_err(|e| e.to_string()))?;
        let dimensions = problems.check(
            "embedding.dimensions",
            model.dimension(self.dimensions).map_err(|e| e.to_string()),
        )?;
        Some(EmbeddingConfig { model_id, model, dimensions })
    }
}

impl RawFunctions {
    fn validate(self, problems: &mut Problems) -> FunctionsConfig {
        let defaults = FunctionsConfig::DEFAULT;
        let mut one = |name: &str, raw: RawFunction, default: FunctionConfig| {
            let memory_mb = raw.memory_mb.unwrap_or(default.memory_mb);
            let timeout_seconds = raw.timeout_seconds.unwrap_or(default.timeout_seconds);
            problems.check(
                format!("functions.{name}.memory_mb"),
                checks::in_range(memory_mb, &checks::MEMORY_MB),
            );
            problems.check(
                format!("functions.{name}.timeout_seconds"),
                checks::in_range(timeout_seconds, &checks::TIMEOUT_SECONDS),
            );
            FunctionConfig { memory_mb, timeout_seconds }
        };
        FunctionsConfig {
            invoke: one("invoke", self.invoke, defaults.invoke),
            ingest: one("ingest", self.ingest, defaults.ingest),
            catalog_sync: one("catalog_sync", self.catalog_sync, defaults.catalog_sync),
        }
    }
}

impl RawAuth {
    fn validate(self, stack_name: &str, problems: &mut Problems) -> Option<AuthConfig> {
        let before = problems.0.len();
        if self.mode == AuthMode::Iam {
            if self.secret_name.is_some() {
                problems.add("auth.secret_name", "is only used with auth.mode = \"api_keys\"");
            }
            if !self.api_key_sha256.is_empty() {
                problems.add("auth.api_key_sha256", "is only used with auth.mode = \"api_keys\"");
            }
            return (problems.0.len() == before).then_some(AuthConfig::Iam);
        }
        let key_sha256: Vec<String> = self
            .api_key_sha256
            .iter()
            .enumerate()
            .filter_map(|(i, hash)| {
                problems.check(format!("auth.api_key_sha256[{i}]"), checks::api_key_sha256(hash))
            })
            .collect();
        let secret_name = match self.secret_name {
            Some(name) => {
                problems.check("auth.secret_name", checks::secret_name(&name));
                Some(name)
            }
            None if self.api_key_sha256.is_empty() => Some(format!("{stack_name}/api-keys")),
            None => None,
        };
        (problems.0.len() == before).then_some(AuthConfig::ApiKeys { secret_name, key_sha256 })
    }
}

impl RawGuardrail {
    fn validate(self, problems: &mut Problems) -> Option<GuardrailConfig> {
        let version = match self.version {
            RawGuardrailVersion::Text(text) => text,
            RawGuardrailVersion::Number(n) => n.to_string(),
        };
        let id_ok = problems.check("guardrail.id", checks::guardrail_id(&self.id)).is_some();
        let version_ok =
            problems.check("guardrail.version", checks::guardrail_version(&version)).is_some();
        (id_ok && version_ok).then_some(GuardrailConfig { id: self.id, version })
    }
}

#[cfg(test)]
mod tests;
