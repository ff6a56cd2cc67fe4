//! `AppState`: what every route shares, built once at start-up (SDK client, settings, allowlists,
//! authenticator) and cloned cheaply per request.

use std::sync::Arc;

use quarry::config::InvokeSettings;
use quarry::model::{Allowlist, ModelId};

use crate::auth::Authenticator;

/// The Router's shared state.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    bedrock: aws_sdk_bedrockruntime::Client,
    settings: InvokeSettings,
    chat_models: Allowlist,
    embedding_models: Allowlist,
    auth: Authenticator,
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
        AppState {
            inner: Arc::new(Inner { bedrock, settings, chat_models, embedding_models, auth }),
        }
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
}
