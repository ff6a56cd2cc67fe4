//! The ingest Lambda: builds the S3, Bedrock and S3 Vectors clients and the settings once at
//! start-up, then handles each invocation (an SQS batch, or a direct S3 event) within the
//! invocation's deadline less [`quarry_ingest::SAFETY_MARGIN`].

use std::sync::Arc;

use aws_config::BehaviorVersion;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use quarry::bedrock::CallOptions;
use quarry::config::IngestSettings;
use quarry::vector::S3VectorsStore;
use quarry_ingest::{IngestContext, SAFETY_MARGIN};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
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

    let settings = IngestSettings::from_env(|name| std::env::var(name).ok())?;
    // The SDK's standard retry mode (the default): backoff with jitter on throttling and 5xx.
    let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let dimension = usize::try_from(settings.embedding.dimensions)?;
    let store = S3VectorsStore::new(
        aws_sdk_s3vectors::Client::new(&sdk),
        &settings.vector_index,
        dimension,
    );
    let context = IngestContext {
        s3: aws_sdk_s3::Client::new(&sdk),
        bedrock: aws_sdk_bedrockruntime::Client::new(&sdk),
        store: Arc::new(store),
        settings,
    };
    let context = &context;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let call = CallOptions::before(event.context.deadline(), SAFETY_MARGIN);
        quarry_ingest::handle_payload(event.payload, context, call).await.map_err(|error| {
            Diagnostic { error_type: "IngestFailed".to_owned(), error_message: error.to_string() }
        })
    }))
    .await
}
