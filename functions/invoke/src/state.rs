//! `AppState`: what every route shares, built once at start-up (SDK client, settings, allowlists,
//! authenticator, model catalog, and for retrieval the vector store and prompt templates) and
//! cloned cheaply per request.

use std::sync::Arc;

use quarry::config::InvokeSettings;
use quarry::model::{Allowlist, ModelId, known_without_catalog};
use quarry::prompt::PromptTemplates;
use quarry::vector::VectorStore;

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
    retrieval: Option<Retrieval>,
}

/// What the retrieval routes use: the vector store the documents are indexed in, and the
/// templates of the RAG prompt.
#[derive(Debug, Clone)]
pub struct Retrieval {
    pub store: Arc<dyn VectorStore>,
    pub templates: Arc<PromptTemplates>,
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
                retrieval: None,
            }),
        }
    }

    /// The same state with retrieval (`/v1/retrieve`, `/v1/rag`, `quarry.rag` on chat
    /// completions) over `store`, whose vectors come from the configured embedding model, with
    /// `templates` for the RAG prompt (usually [`PromptTemplates::builtin`]). Without it those
    /// routes answer 503 `retrieval_unavailable`.
    pub fn with_retrieval(self, store: Arc<dyn VectorStore>, templates: PromptTemplates) -> Self {
        let mut inner = Arc::unwrap_or_clone(self.inner);
        inner.retrieval = Some(Retrieval { store, templates: Arc::new(templates) });
        AppState { inner: Arc::new(inner) }
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

    /// The vector store and RAG templates, when retrieval is set up.
    pub fn retrieval(&self) -> Option<&Retrieval> {
        self.inner.retrieval.as_ref()
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
