//! The environment contract between infra and the Lambda functions: what each function needs from
//! `quarry.toml` (plus the bucket names infra creates), as `QUARRY_*` variables named in [`env`].
//! infra writes them with `to_env`; a function reads them once at cold start with `from_env`, which
//! checks every value again and names the variable when one is wrong.
//!
//! Encoding, chosen to stay far below Lambda's 4 KB limit on all variables together (see
//! [`env_size`]):
//! - lists are comma-separated (model ids, ARNs, alias names and hashes contain no `,`);
//! - aliases are `alias=id,…` and prices `id=input/output,…` in USD per 1,000 tokens (ids contain
//!   no `=`; a number has no `/`);
//! - unset optional values are left out; booleans are `true` / `false`.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::ops::RangeInclusive;
use std::str::FromStr;

use super::{
    AuthConfig, AuthMode, ChatModels, ConfigError, DistanceMetric, EmbeddingConfig,
    GuardrailConfig, IngestLimits, InvokeLimits, ModelPrice, QuarryConfig, checks,
};
use crate::embed::EmbeddingModel;
use crate::model::{Allowlist, ModelId};

/// The `QUARRY_*` environment variable names (the one place they are spelled).
pub mod env {
    /// Allowed chat model ids, comma-separated, in config order.
    pub const CHAT_MODELS: &str = "QUARRY_CHAT_MODELS";
    /// The model a request without `model` gets.
    pub const DEFAULT_MODEL: &str = "QUARRY_DEFAULT_MODEL";
    /// `alias=id,…` (optional).
    pub const MODEL_ALIASES: &str = "QUARRY_MODEL_ALIASES";
    /// `id=input/output,…`, USD per 1,000 tokens (optional).
    pub const MODEL_PRICES: &str = "QUARRY_MODEL_PRICES";
    /// The guardrail id or ARN (optional; with [`GUARDRAIL_VERSION`]).
    pub const GUARDRAIL_ID: &str = "QUARRY_GUARDRAIL_ID";
    /// The guardrail version (optional; with [`GUARDRAIL_ID`]).
    pub const GUARDRAIL_VERSION: &str = "QUARRY_GUARDRAIL_VERSION";
    /// `api_keys` or `iam`.
    pub const AUTH_MODE: &str = "QUARRY_AUTH_MODE";
    /// The Secrets Manager secret holding API key hashes (optional).
    pub const AUTH_SECRET_NAME: &str = "QUARRY_AUTH_SECRET_NAME";
    /// Inline API key SHA-256 hashes, comma-separated (optional).
    pub const API_KEY_SHA256: &str = "QUARRY_API_KEY_SHA256";
    /// Largest request body, bytes.
    pub const MAX_BODY_BYTES: &str = "QUARRY_MAX_BODY_BYTES";
    /// Most models per compare request.
    pub const MAX_COMPARE_MODELS: &str = "QUARRY_MAX_COMPARE_MODELS";
    /// `true` to log prompt and completion text.
    pub const LOG_PROMPTS: &str = "QUARRY_LOG_PROMPTS";
    /// The bucket holding the model catalog.
    pub const CATALOG_BUCKET: &str = "QUARRY_CATALOG_BUCKET";
    /// The catalog's S3 key.
    pub const CATALOG_KEY: &str = "QUARRY_CATALOG_KEY";
    /// Catalog cache lifetime, seconds.
    pub const CATALOG_TTL_SECONDS: &str = "QUARRY_CATALOG_TTL_SECONDS";
    /// The embedding model id to call.
    pub const EMBEDDING_MODEL: &str = "QUARRY_EMBEDDING_MODEL";
    /// The embedding vector length.
    pub const EMBEDDING_DIMENSIONS: &str = "QUARRY_EMBEDDING_DIMENSIONS";
    /// The S3 vector bucket.
    pub const VECTOR_BUCKET: &str = "QUARRY_VECTOR_BUCKET";
    /// The S3 Vectors index name.
    pub const VECTOR_INDEX: &str = "QUARRY_VECTOR_INDEX";
    /// `cosine` or `euclidean`.
    pub const VECTOR_METRIC: &str = "QUARRY_VECTOR_METRIC";
    /// Largest document ingest reads, bytes.
    pub const MAX_DOCUMENT_BYTES: &str = "QUARRY_MAX_DOCUMENT_BYTES";
    /// Characters per chunk.
    pub const CHUNK_CHARS: &str = "QUARRY_CHUNK_CHARS";
    /// Characters shared by consecutive chunks.
    pub const CHUNK_OVERLAP_CHARS: &str = "QUARRY_CHUNK_OVERLAP_CHARS";
    /// Concurrent embedding calls per document.
    pub const INGEST_CONCURRENCY: &str = "QUARRY_INGEST_CONCURRENCY";
}

/// Lambda's limit on the total size of a function's environment variables.
pub const LAMBDA_ENV_LIMIT_BYTES: usize = 4096;

/// The size Lambda checks against [`LAMBDA_ENV_LIMIT_BYTES`]: its "exceeded the 4KB limit" error
/// reports the JSON of the variables map as the string measured, so that is what is counted here.
pub fn env_size(vars: &BTreeMap<String, String>) -> usize {
    serde_json::to_string(vars).map_or(usize::MAX, |json| json.len())
}

/// Names of resources infra creates (or the local stack chooses); they are not in `quarry.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackResources {
    /// The bucket the catalog is written to and read from.
    pub catalog_bucket: String,
    /// The S3 vector bucket holding the index.
    pub vector_bucket: String,
}

/// Where the model catalog lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogLocation {
    /// The bucket.
    pub bucket: String,
    /// The object key.
    pub key: String,
}

/// The vector index documents are stored in and queried from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VectorIndex {
    /// The S3 vector bucket.
    pub bucket: String,
    /// The index name.
    pub index_name: String,
    /// The index's distance metric.
    pub metric: DistanceMetric,
}

/// What the invoke function needs.
#[derive(Debug, Clone, PartialEq)]
pub struct InvokeSettings {
    /// The allowlist, default, aliases and prices.
    pub models: ChatModels,
    /// The guardrail applied to every chat call.
    pub guardrail: Option<GuardrailConfig>,
    /// How callers authenticate.
    pub auth: AuthConfig,
    /// Request limits.
    pub limits: InvokeLimits,
    /// Log prompt and completion text.
    pub log_prompts: bool,
    /// The model catalog.
    pub catalog: CatalogLocation,
    /// How long the catalog is cached, seconds.
    pub catalog_cache_ttl_seconds: u32,
    /// The model that embeds RAG queries (the same as for documents).
    pub embedding: EmbeddingConfig,
    /// The index RAG queries search.
    pub vector_index: VectorIndex,
}

/// What the ingest function needs.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestSettings {
    /// The model that embeds chunks.
    pub embedding: EmbeddingConfig,
    /// The index chunks are written to.
    pub vector_index: VectorIndex,
    /// Document and chunking limits.
    pub limits: IngestLimits,
}

/// What the catalog-sync function needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogSyncSettings {
    /// Where the catalog is written.
    pub catalog: CatalogLocation,
    /// The allowed chat models, watched for retirement (LEGACY or gone).
    pub chat_models: Vec<ModelId>,
    /// The embedding model, watched too.
    pub embedding_model: ModelId,
}

impl QuarryConfig {
    /// The invoke function's settings.
    pub fn invoke_settings(&self, resources: &StackResources) -> InvokeSettings {
        InvokeSettings {
            models: self.models.clone(),
            guardrail: self.guardrail.clone(),
            auth: self.auth.clone(),
            limits: self.limits,
            log_prompts: self.log_prompts,
            catalog: self.catalog_location(resources),
            catalog_cache_ttl_seconds: self.catalog.cache_ttl_seconds,
            embedding: self.embedding.clone(),
            vector_index: self.vector_index(resources),
        }
    }

    /// The ingest function's settings.
    pub fn ingest_settings(&self, resources: &StackResources) -> IngestSettings {
        IngestSettings {
            embedding: self.embedding.clone(),
            vector_index: self.vector_index(resources),
            limits: self.ingest,
        }
    }

    /// The catalog-sync function's settings.
    pub fn catalog_sync_settings(&self, resources: &StackResources) -> CatalogSyncSettings {
        CatalogSyncSettings {
            catalog: self.catalog_location(resources),
            chat_models: self.models.allowed.clone(),
            embedding_model: self.embedding.model_id.clone(),
        }
    }

    fn catalog_location(&self, resources: &StackResources) -> CatalogLocation {
        CatalogLocation { bucket: resources.catalog_bucket.clone(), key: self.catalog.key.clone() }
    }

    fn vector_index(&self, resources: &StackResources) -> VectorIndex {
        VectorIndex {
            bucket: resources.vector_bucket.clone(),
            index_name: self.vector_store.index_name.clone(),
            metric: self.vector_store.metric,
        }
    }

    /// Fails when the invoke function's environment would exceed Lambda's limit even with the
    /// longest bucket names (63 characters). The other functions' variables are a subset of the
    /// invoke function's (catalog-sync: the catalog and the model ids) or bounded and small.
    pub(super) fn check_environment_size(&self) -> Result<(), ConfigError> {
        let longest = "b".repeat(63);
        let resources = StackResources { catalog_bucket: longest.clone(), vector_bucket: longest };
        let size = env_size(&self.invoke_settings(&resources).to_env());
        if size <= LAMBDA_ENV_LIMIT_BYTES {
            return Ok(());
        }
        Err(ConfigError::invalid(
            "models",
            format!(
                "with these models, aliases, prices and inline API key hashes the invoke function's environment would be {size} bytes, over Lambda's {LAMBDA_ENV_LIMIT_BYTES}-byte limit; list fewer, or keep API key hashes in the auth.secret_name secret"
            ),
        ))
    }
}

impl InvokeSettings {
    /// The run-time allowlist.
    pub fn allowlist(&self) -> Allowlist {
        self.models.allowlist()
    }

    /// The variables infra sets on the invoke function.
    pub fn to_env(&self) -> BTreeMap<String, String> {
        let mut vars = Vars::default();
        let models = &self.models;
        vars.set(env::CHAT_MODELS, join(&models.allowed));
        vars.set(env::DEFAULT_MODEL, &models.default);
        vars.set_nonempty(
            env::MODEL_ALIASES,
            join(models.aliases.iter().map(|(alias, id)| format!("{alias}={id}"))),
        );
        vars.set_nonempty(
            env::MODEL_PRICES,
            join(models.prices.iter().map(|(id, price)| {
                format!("{id}={}/{}", price.input_per_1k_tokens, price.output_per_1k_tokens)
            })),
        );
        if let Some(guardrail) = &self.guardrail {
            vars.set(env::GUARDRAIL_ID, &guardrail.id);
            vars.set(env::GUARDRAIL_VERSION, &guardrail.version);
        }
        vars.set(env::AUTH_MODE, self.auth.mode().as_str());
        if let AuthConfig::ApiKeys { secret_name, key_sha256 } = &self.auth {
            if let Some(secret_name) = secret_name {
                vars.set(env::AUTH_SECRET_NAME, secret_name);
            }
            vars.set_nonempty(env::API_KEY_SHA256, join(key_sha256));
        }
        vars.set(env::MAX_BODY_BYTES, self.limits.max_body_bytes);
        vars.set(env::MAX_COMPARE_MODELS, self.limits.max_compare_models);
        vars.set(env::LOG_PROMPTS, self.log_prompts);
        vars.set_catalog(&self.catalog);
        vars.set(env::CATALOG_TTL_SECONDS, self.catalog_cache_ttl_seconds);
        vars.set_embedding(&self.embedding);
        vars.set_vector_index(&self.vector_index);
        vars.0
    }

    /// Reads the settings from the environment (`lookup` is `|name| std::env::var(name).ok()` in a
    /// function); every value is checked again and errors name the variable.
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Lookup(lookup);
        let allowed: Vec<ModelId> = vars
            .list(env::CHAT_MODELS)
            .iter()
            .map(|id| checks::model_id(id).map_err(|p| env_error(env::CHAT_MODELS, p)))
            .collect::<Result<_, _>>()?;
        if allowed.is_empty() {
            return Err(vars.missing(env::CHAT_MODELS));
        }
        let member = |var: &'static str, id: ModelId| {
            if allowed.contains(&id) {
                Ok(id)
            } else {
                Err(env_error(var, format!("`{id}` is not in {}", env::CHAT_MODELS)))
            }
        };
        let default =
            member(env::DEFAULT_MODEL, vars.parse(env::DEFAULT_MODEL, checks::model_id)?)?;

        let mut aliases = BTreeMap::new();
        for entry in vars.list(env::MODEL_ALIASES) {
            let (alias, id) = split_entry(env::MODEL_ALIASES, &entry, "alias=model-id")?;
            checks::alias_name(alias).map_err(|p| env_error(env::MODEL_ALIASES, p))?;
            let id = checks::model_id(id).map_err(|p| env_error(env::MODEL_ALIASES, p))?;
            aliases.insert(alias.to_owned(), member(env::MODEL_ALIASES, id)?);
        }

        let mut prices = BTreeMap::new();
        for entry in vars.list(env::MODEL_PRICES) {
            let (id, price) = split_entry(env::MODEL_PRICES, &entry, "model-id=input/output")?;
            let id = checks::model_id(id).map_err(|p| env_error(env::MODEL_PRICES, p))?;
            let id = member(env::MODEL_PRICES, id)?;
            prices.insert(id.to_string(), parse_price(price)?);
        }

        let guardrail = match (vars.get(env::GUARDRAIL_ID), vars.get(env::GUARDRAIL_VERSION)) {
            (None, None) => None,
            (Some(id), Some(version)) => {
                checks::guardrail_id(&id).map_err(|p| env_error(env::GUARDRAIL_ID, p))?;
                checks::guardrail_version(&version)
                    .map_err(|p| env_error(env::GUARDRAIL_VERSION, p))?;
                Some(GuardrailConfig { id, version })
            }
            (Some(_), None) => return Err(vars.missing(env::GUARDRAIL_VERSION)),
            (None, Some(_)) => return Err(vars.missing(env::GUARDRAIL_ID)),
        };

        Ok(InvokeSettings {
            models: ChatModels { allowed, default, aliases, prices },
            guardrail,
            auth: auth_from_env(&vars)?,
            limits: InvokeLimits {
                max_body_bytes: vars.number(env::MAX_BODY_BYTES, &checks::MAX_BODY_BYTES)?,
                max_compare_models: vars
                    .number(env::MAX_COMPARE_MODELS, &checks::MAX_COMPARE_MODELS)?,
            },
            log_prompts: vars.parse(env::LOG_PROMPTS, |v| match v {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(format!("expected `true` or `false`, got `{v}`")),
            })?,
            catalog: catalog_from_env(&vars)?,
            catalog_cache_ttl_seconds: vars
                .number(env::CATALOG_TTL_SECONDS, &checks::CACHE_TTL_SECONDS)?,
            embedding: embedding_from_env(&vars)?,
            vector_index: vector_index_from_env(&vars)?,
        })
    }
}

impl IngestSettings {
    /// The variables infra sets on the ingest function.
    pub fn to_env(&self) -> BTreeMap<String, String> {
        let mut vars = Vars::default();
        vars.set_embedding(&self.embedding);
        vars.set_vector_index(&self.vector_index);
        vars.set(env::MAX_DOCUMENT_BYTES, self.limits.max_document_bytes);
        vars.set(env::CHUNK_CHARS, self.limits.chunk_chars);
        vars.set(env::CHUNK_OVERLAP_CHARS, self.limits.chunk_overlap_chars);
        vars.set(env::INGEST_CONCURRENCY, self.limits.max_concurrency);
        vars.0
    }

    /// Reads the settings from the environment; errors name the variable.
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Lookup(lookup);
        let embedding = embedding_from_env(&vars)?;
        let limits = IngestLimits {
            max_document_bytes: vars.whole(env::MAX_DOCUMENT_BYTES)?,
            chunk_chars: vars.whole(env::CHUNK_CHARS)?,
            chunk_overlap_chars: vars.whole(env::CHUNK_OVERLAP_CHARS)?,
            max_concurrency: vars.whole(env::INGEST_CONCURRENCY)?,
        };
        if let Some((key, problem)) = limits.problems(embedding.model).into_iter().next() {
            let var = match key {
                "max_document_bytes" => env::MAX_DOCUMENT_BYTES,
                "chunk_chars" => env::CHUNK_CHARS,
                "chunk_overlap_chars" => env::CHUNK_OVERLAP_CHARS,
                _ => env::INGEST_CONCURRENCY,
            };
            return Err(env_error(var, problem));
        }
        Ok(IngestSettings { embedding, vector_index: vector_index_from_env(&vars)?, limits })
    }
}

impl CatalogSyncSettings {
    /// Every model quarry calls, chat models then the embedding model, without repeats: the
    /// ones whose retirement the sync warns about.
    pub fn watched_models(&self) -> Vec<ModelId> {
        let mut models = self.chat_models.clone();
        if !models.contains(&self.embedding_model) {
            models.push(self.embedding_model.clone());
        }
        models
    }

    /// The variables infra sets on the catalog-sync function.
    pub fn to_env(&self) -> BTreeMap<String, String> {
        let mut vars = Vars::default();
        vars.set_catalog(&self.catalog);
        vars.set(env::CHAT_MODELS, join(&self.chat_models));
        vars.set(env::EMBEDDING_MODEL, &self.embedding_model);
        vars.0
    }

    /// Reads the settings from the environment; errors name the variable.
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Lookup(lookup);
        let chat_models: Vec<ModelId> = vars
            .list(env::CHAT_MODELS)
            .iter()
            .map(|id| checks::model_id(id).map_err(|p| env_error(env::CHAT_MODELS, p)))
            .collect::<Result<_, _>>()?;
        if chat_models.is_empty() {
            return Err(vars.missing(env::CHAT_MODELS));
        }
        Ok(CatalogSyncSettings {
            catalog: catalog_from_env(&vars)?,
            chat_models,
            embedding_model: vars.parse(env::EMBEDDING_MODEL, checks::model_id)?,
        })
    }
}

// ---- Writing ---------------------------------------------------------------------------------

/// Variables being written.
#[derive(Default)]
struct Vars(BTreeMap<String, String>);

impl Vars {
    fn set(&mut self, name: &str, value: impl Display) {
        self.0.insert(name.to_owned(), value.to_string());
    }

    fn set_nonempty(&mut self, name: &str, value: String) {
        if !value.is_empty() {
            self.0.insert(name.to_owned(), value);
        }
    }

    fn set_catalog(&mut self, catalog: &CatalogLocation) {
        self.set(env::CATALOG_BUCKET, &catalog.bucket);
        self.set(env::CATALOG_KEY, &catalog.key);
    }

    fn set_embedding(&mut self, embedding: &EmbeddingConfig) {
        self.set(env::EMBEDDING_MODEL, &embedding.model_id);
        self.set(env::EMBEDDING_DIMENSIONS, embedding.dimensions);
    }

    fn set_vector_index(&mut self, index: &VectorIndex) {
        self.set(env::VECTOR_BUCKET, &index.bucket);
        self.set(env::VECTOR_INDEX, &index.index_name);
        self.set(env::VECTOR_METRIC, index.metric.as_str());
    }
}

fn join<T: Display>(items: impl IntoIterator<Item = T>) -> String {
    items.into_iter().map(|item| item.to_string()).collect::<Vec<_>>().join(",")
}

// ---- Reading ---------------------------------------------------------------------------------

fn env_error(var: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Env { var, problem: problem.into() }
}

/// The environment being read.
struct Lookup<F>(F);

impl<F: Fn(&str) -> Option<String>> Lookup<F> {
    /// The value, `None` when unset or empty.
    fn get(&self, var: &str) -> Option<String> {
        (self.0)(var).filter(|value| !value.is_empty())
    }

    fn missing(&self, var: &'static str) -> ConfigError {
        env_error(var, "is not set; infra sets it from quarry.toml")
    }

    fn required(&self, var: &'static str) -> Result<String, ConfigError> {
        self.get(var).ok_or_else(|| self.missing(var))
    }

    fn parse<T>(
        &self,
        var: &'static str,
        check: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        check(&self.required(var)?).map_err(|problem| env_error(var, problem))
    }

    fn whole<T: FromStr>(&self, var: &'static str) -> Result<T, ConfigError> {
        self.parse(var, |text| {
            text.parse().map_err(|_| format!("expected a whole number, got `{text}`"))
        })
    }

    fn number<T: FromStr + PartialOrd + Display + Copy>(
        &self,
        var: &'static str,
        range: &RangeInclusive<T>,
    ) -> Result<T, ConfigError> {
        checks::in_range(self.whole(var)?, range).map_err(|problem| env_error(var, problem))
    }

    /// The comma-separated entries; empty when unset.
    fn list(&self, var: &str) -> Vec<String> {
        self.get(var).map_or_else(Vec::new, |value| value.split(',').map(str::to_owned).collect())
    }
}

/// `key=value` of a list entry.
fn split_entry<'a>(
    var: &'static str,
    entry: &'a str,
    shape: &str,
) -> Result<(&'a str, &'a str), ConfigError> {
    entry.split_once('=').ok_or_else(|| env_error(var, format!("entry `{entry}` is not `{shape}`")))
}

/// `input/output` USD per 1,000 tokens.
fn parse_price(text: &str) -> Result<ModelPrice, ConfigError> {
    let number = |part: &str| part.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0);
    match text.split_once('/').map(|(i, o)| (number(i), number(o))) {
        Some((Some(input_per_1k_tokens), Some(output_per_1k_tokens))) => {
            Ok(ModelPrice { input_per_1k_tokens, output_per_1k_tokens })
        }
        _ => Err(env_error(
            env::MODEL_PRICES,
            format!(
                "price `{text}` is not `input/output` in USD per 1,000 tokens (e.g. `0.0008/0.004`)"
            ),
        )),
    }
}

fn auth_from_env<F: Fn(&str) -> Option<String>>(
    vars: &Lookup<F>,
) -> Result<AuthConfig, ConfigError> {
    let mode = vars.parse(env::AUTH_MODE, |mode| {
        AuthMode::from_name(mode)
            .ok_or_else(|| format!("expected `api_keys` or `iam`, got `{mode}`"))
    })?;
    let secret_name = vars.get(env::AUTH_SECRET_NAME);
    let hashes = vars.list(env::API_KEY_SHA256);
    if mode == AuthMode::Iam {
        for var in [env::AUTH_SECRET_NAME, env::API_KEY_SHA256] {
            if vars.get(var).is_some() {
                return Err(env_error(var, format!("is set, but {} is `iam`", env::AUTH_MODE)));
            }
        }
        return Ok(AuthConfig::Iam);
    }
    if secret_name.is_none() && hashes.is_empty() {
        return Err(env_error(
            env::AUTH_MODE,
            format!(
                "is `api_keys`, but neither {} nor {} is set, so no key could ever be accepted",
                env::AUTH_SECRET_NAME,
                env::API_KEY_SHA256
            ),
        ));
    }
    if let Some(name) = &secret_name {
        checks::secret_name(name).map_err(|p| env_error(env::AUTH_SECRET_NAME, p))?;
    }
    let key_sha256 = hashes
        .iter()
        .map(|hash| checks::api_key_sha256(hash).map_err(|p| env_error(env::API_KEY_SHA256, p)))
        .collect::<Result<_, _>>()?;
    Ok(AuthConfig::ApiKeys { secret_name, key_sha256 })
}

fn catalog_from_env<F: Fn(&str) -> Option<String>>(
    vars: &Lookup<F>,
) -> Result<CatalogLocation, ConfigError> {
    let bucket = vars.required(env::CATALOG_BUCKET)?;
    checks::s3_name(&bucket).map_err(|p| env_error(env::CATALOG_BUCKET, p))?;
    let key = vars.required(env::CATALOG_KEY)?;
    checks::s3_key(&key).map_err(|p| env_error(env::CATALOG_KEY, p))?;
    Ok(CatalogLocation { bucket, key })
}

fn embedding_from_env<F: Fn(&str) -> Option<String>>(
    vars: &Lookup<F>,
) -> Result<EmbeddingConfig, ConfigError> {
    let model_id = vars.parse(env::EMBEDDING_MODEL, checks::model_id)?;
    let model = EmbeddingModel::from_model_id(&model_id.to_string())
        .map_err(|e| env_error(env::EMBEDDING_MODEL, e.to_string()))?;
    let dimensions = vars.whole(env::EMBEDDING_DIMENSIONS)?;
    model
        .dimension(Some(dimensions))
        .map_err(|e| env_error(env::EMBEDDING_DIMENSIONS, e.to_string()))?;
    Ok(EmbeddingConfig { model_id, model, dimensions })
}

fn vector_index_from_env<F: Fn(&str) -> Option<String>>(
    vars: &Lookup<F>,
) -> Result<VectorIndex, ConfigError> {
    let bucket = vars.required(env::VECTOR_BUCKET)?;
    checks::s3_name(&bucket).map_err(|p| env_error(env::VECTOR_BUCKET, p))?;
    let index_name = vars.required(env::VECTOR_INDEX)?;
    checks::s3_name(&index_name).map_err(|p| env_error(env::VECTOR_INDEX, p))?;
    let metric = vars.parse(env::VECTOR_METRIC, |name| {
        DistanceMetric::from_name(name)
            .ok_or_else(|| format!("expected `cosine` or `euclidean`, got `{name}`"))
    })?;
    Ok(VectorIndex { bucket, index_name, metric })
}
