//! Listing Bedrock's catalog: every foundation model (ListFoundationModels has no pages) and every
//! page of inference profiles (ListInferenceProfiles), normalised into a `quarry` catalog.

use aws_sdk_bedrock::types::InferenceProfileSummary;
use aws_smithy_types::error::display::DisplayErrorContext;
use quarry::catalog::{Normalised, normalise};

/// Why the listing failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The Bedrock client was built without a region, so the catalog would not say where it holds.
    #[error("the Bedrock client has no region; set AWS_REGION (Lambda sets it)")]
    NoRegion,
    /// ListFoundationModels failed (after the SDK's retries).
    #[error("ListFoundationModels failed: {0}")]
    Models(String),
    /// A page of ListInferenceProfiles failed (after the SDK's retries).
    #[error("ListInferenceProfiles failed: {0}")]
    Profiles(String),
}

/// Lists every foundation model and inference profile in the client's region and normalises
/// them. `page_size` is ListInferenceProfiles' `maxResults` (`None`: the service default); every
/// page is read either way.
pub async fn fetch_catalog(
    bedrock: &aws_sdk_bedrock::Client,
    page_size: Option<i32>,
) -> Result<Normalised, FetchError> {
    let region = bedrock.config().region().ok_or(FetchError::NoRegion)?.to_string();
    let models = bedrock
        .list_foundation_models()
        .send()
        .await
        .map_err(|e| FetchError::Models(DisplayErrorContext(&e).to_string()))?;
    let profiles: Vec<InferenceProfileSummary> = bedrock
        .list_inference_profiles()
        .set_max_results(page_size)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .map_err(|e| FetchError::Profiles(DisplayErrorContext(&e).to_string()))?;
    Ok(normalise(&region, models.model_summaries(), &profiles))
}
