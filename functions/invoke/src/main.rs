//! The invoke Lambda: builds the SDK clients, settings, vector store and prompt templates once at
//! start-up, warms the Bedrock connection, reads the model catalog, and serves quarry's Router
//! under lambda_http's streaming runner (API Gateway REST response streaming and Function URLs
//! stream token by token; buffered responses still work).

use std::sync::Arc;
use std::time::Duration;

use aws_config::BehaviorVersion;
use quarry::config::{AuthConfig, InvokeSettings};
use quarry::prompt::PromptTemplates;
use quarry::vector::S3VectorsStore;
use quarry_invoke::auth::load_secret_hashes;
use quarry_invoke::{AppState, Authenticator, CatalogSource};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(false)
        .with_ansi(false)
        .without_time() // CloudWatch stamps every line
        .init();

    let settings = InvokeSettings::from_env(|name| std::env::var(name).ok())?;
    let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let bedrock = aws_sdk_bedrockruntime::Client::new(&sdk);
    let auth = match &settings.auth {
        AuthConfig::Iam => Authenticator::Iam,
        AuthConfig::ApiKeys { secret_name, key_sha256 } => {
            let mut hashes = key_sha256.clone();
            if let Some(secret) = secret_name {
                let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
                hashes.extend(load_secret_hashes(&secrets, secret).await?);
            }
            if hashes.is_empty() {
                tracing::error!("no API keys are configured: every request will be refused (401)");
            }
            Authenticator::api_keys(&hashes)?
        }
    };
    warm_up(&bedrock, &settings).await;
    let catalog = CatalogSource {
        s3: aws_sdk_s3::Client::new(&sdk),
        location: settings.catalog.clone(),
        ttl: Duration::from_secs(settings.catalog_cache_ttl_seconds.into()),
    };

    // Retrieval searches the index ingest writes, with vectors of the configured size.
    let dimension = usize::try_from(settings.embedding.dimensions)?;
    let store = S3VectorsStore::new(
        aws_sdk_s3vectors::Client::new(&sdk),
        &settings.vector_index,
        dimension,
    );
    let templates = PromptTemplates::builtin()?;

    let state = AppState::new(bedrock, settings, auth)
        .with_catalog(catalog)
        .with_retrieval(Arc::new(store), templates);
    // Read during init, which Lambda does not bill, so the first request has the catalog.
    state.catalog().refresh_if_stale().await;
    let app = quarry_invoke::app(state);
    lambda_http::run_with_streaming_response(quarry_invoke::lambda::service(app)).await
}

/// Opens the TLS connection to Bedrock during init, where Lambda does not bill the wait and the
/// first request does not pay for the handshake. A Converse call with no messages is refused by
/// Bedrock before any model runs; only the connection is wanted.
async fn warm_up(bedrock: &aws_sdk_bedrockruntime::Client, settings: &InvokeSettings) {
    let call = bedrock.converse().model_id(settings.models.default.to_string()).send();
    if tokio::time::timeout(Duration::from_secs(2), call).await.is_err() {
        tracing::warn!("warming the Bedrock connection took over 2s; continuing");
    }
}
