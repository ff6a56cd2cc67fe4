//! The AWS SDK clients the local stack's functions use, pointed at the local endpoints.
//!
//! Each client is built from its SDK's own config builder — an endpoint URL, the stack's region,
//! the key pair [`LOCAL_ACCESS_KEY_ID`] / [`LOCAL_SECRET_ACCESS_KEY`] and the standard retries —
//! never from `~/.aws` or `AWS_*` variables, so a developer's AWS setup can never send local
//! traffic to AWS (nor AWS credentials to the local endpoints).

use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::config::{BehaviorVersion, Credentials, Region};

/// The access key id every local client signs with (the local S3 checks SigV4 signatures and
/// accepts it; the local Bedrock endpoint accepts anything).
pub const LOCAL_ACCESS_KEY_ID: &str = "test";

/// The secret access key paired with [`LOCAL_ACCESS_KEY_ID`].
pub const LOCAL_SECRET_ACCESS_KEY: &str = "test";

fn credentials() -> Credentials {
    Credentials::new(LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY, None, None, "quarry-local")
}

/// A Bedrock runtime client for the local endpoint at `endpoint`.
pub fn bedrock_runtime(endpoint: &str, region: &str) -> aws_sdk_bedrockruntime::Client {
    let config = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region.to_owned()))
        .credentials_provider(credentials())
        .retry_config(RetryConfig::standard())
        .build();
    aws_sdk_bedrockruntime::Client::from_conf(config)
}

/// A Bedrock control-plane client (ListFoundationModels, ListInferenceProfiles) for the local
/// endpoint at `endpoint`, which serves both planes on one port.
pub fn bedrock_control(endpoint: &str, region: &str) -> aws_sdk_bedrock::Client {
    let config = aws_sdk_bedrock::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region.to_owned()))
        .credentials_provider(credentials())
        .retry_config(RetryConfig::standard())
        .build();
    aws_sdk_bedrock::Client::from_conf(config)
}

/// An S3 client for the local S3 at `endpoint`, path-style (`http://127.0.0.1:PORT/bucket/key`:
/// the local S3 serves no per-bucket host names).
pub fn s3(endpoint: &str, region: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .force_path_style(true)
        .region(Region::new(region.to_owned()))
        .credentials_provider(credentials())
        .retry_config(RetryConfig::standard())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}
