//! `AppState`: what every route shares, built once at start-up (SDK client, settings, allowlists,
//! authenticator, model catalog) and cloned cheaply per request.

use std::sync::Arc;

use quarry::config::InvokeSettings;
use quarry::model::{Allowlist, ModelId, known_without_catalog};

use crate::auth::Authenticator;
use crate::catalog::{CatalogCache, CatalogSource};

/// The Router's shared state.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug, Clone)]
struct Inner {
    bedrock: aws_sdk_bedrockruntime::Client,
    settings: InvokeSettings,
    chat_models: Allowlist,
    embedding_models: Allowlist,
    auth: Authenticator,
    catalog: Arc<CatalogCache>,
}

impl AppState {
    /// State around a prebuilt Bedrock runtime client (build it once, at start-up).
    pub fn new(
        bedrock: aws_sdk_bedrockruntime::Client,
        settings: InvokeSettings,
        auth: Authenticator,
    ) -> Self {
        let chat_models = settings.allowlist();
        let embedding_id: ModelId = settings.embedding.model_id.clone();
        let embedding_models =
            Allowlist::new(vec![embedding_id.clone()], Default::default(), Some(embedding_id));
        let catalog = Arc::new(CatalogCache::default());
        AppState {
            inner: Arc::new(Inner {
                bedrock,
                settings,
                chat_models,
                embedding_models,
                auth,
                catalog,
            }),
        }
    }

    /// The same state reading the model catalog from `source` (without one, the configured
    /// model list is all the API knows).
    pub fn with_catalog(self, source: CatalogSource) -> Self {
        let mut inner = Arc::unwrap_or_clone(self.inner);
        inner.catalog = Arc::new(CatalogCache::new(source));
        AppState { inner: Arc::new(inner) }
    }

    pub fn bedrock(&self) -> &aws_sdk_bedrockruntime::Client {
        &self.inner.bedrock
    }

    pub fn settings(&self) -> &InvokeSettings {
        &self.inner.settings
    }

    /// The chat models callers may use.
    pub fn chat_models(&self) -> &Allowlist {
        &self.inner.chat_models
    }

    /// The embedding model callers may use (the one the documents are indexed with).
    pub fn embedding_models(&self) -> &Allowlist {
        &self.inner.embedding_models
    }

    pub fn auth(&self) -> &Authenticator {
        &self.inner.auth
    }

    /// The model catalog cache.
    pub fn catalog(&self) -> &CatalogCache {
        &self.inner.catalog
    }

    /// Whether a model exists, for allowlist resolution (403 for models that exist, 404 for the
    /// rest): the catalog decides when one is loaded, else quarry's own id knowledge.
    pub fn knows_model(&self, id: &ModelId) -> bool {
        match self.catalog().current() {
            Some(catalog) => catalog.knows(id),
            None => known_without_catalog(id),
        }
    }
}
