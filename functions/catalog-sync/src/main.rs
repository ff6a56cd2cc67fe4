//! The catalog-sync Lambda: builds the Bedrock and S3 clients and the settings once at start-up,
//! then runs one sync per scheduled event and returns its report (an error result, after logging,
//! when the sync failed, so Lambda counts it).

use aws_config::BehaviorVersion;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use quarry::config::CatalogSyncSettings;
use quarry_catalog_sync::Trigger;

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

    let settings = CatalogSyncSettings::from_env(|name| std::env::var(name).ok())?;
    let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let bedrock = aws_sdk_bedrock::Client::new(&sdk);
    let s3 = aws_sdk_s3::Client::new(&sdk);
    let (bedrock, s3, settings) = (&bedrock, &s3, &settings);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Trigger>| async move {
        quarry_catalog_sync::handle(&event.payload, bedrock, s3, settings).await.map_err(|error| {
            Diagnostic {
                error_type: "CatalogSyncFailed".to_owned(),
                error_message: error.to_string(),
            }
        })
    }))
    .await
}
