//! The Bedrock control plane of the local endpoint, driven by the real `aws-sdk-bedrock` client
//! over loopback exactly as an application would drive Amazon Bedrock: every filter of
//! ListFoundationModels, GetFoundationModel by id and ARN, ListInferenceProfiles page by page,
//! GetInferenceProfile, and the typed errors the SDK must recognise.

use std::collections::HashSet;
use std::sync::Arc;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_bedrock::Client;
use aws_sdk_bedrock::config::Credentials;
use aws_sdk_bedrock::error::SdkError;
use aws_sdk_bedrock::operation::get_foundation_model::GetFoundationModelError;
use aws_sdk_bedrock::operation::get_inference_profile::GetInferenceProfileError;
use aws_sdk_bedrock::operation::list_foundation_models::ListFoundationModelsError;
use aws_sdk_bedrock::operation::list_inference_profiles::ListInferenceProfilesError;
use aws_sdk_bedrock::primitives::DateTime;
use aws_sdk_bedrock::primitives::DateTimeFormat;
use aws_sdk_bedrock::types::{
    FoundationModelLifecycleStatus, InferenceProfileStatus, InferenceProfileType, InferenceType,
    ModelCustomization, ModelModality,
};
use quarry_local::catalog::{self, Catalog};

/// Serves the control-plane routes for `catalog` on an ephemeral loopback port and returns an SDK
/// client pointed at it (static test credentials, the catalog's Region, no other endpoint).
async fn client_for(catalog: Catalog) -> Client {
    let region = catalog.region().to_owned();
    let listener =
        tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let address = listener.local_addr().expect("the bound address");
    let app = catalog::routes(Arc::new(catalog));
    tokio::spawn(
        async move { axum::serve(listener, app).await.expect("the local endpoint serves") },
    );
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(format!("http://{address}"))
        .region(Region::new(region))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .load()
        .await;
    Client::new(&config)
}

async fn us_east_1() -> (Client, Catalog) {
    let catalog = Catalog::builtin("us-east-1").expect("the built-in catalog");
    (client_for(catalog.clone()).await, catalog)
}

fn ids(summaries: &[aws_sdk_bedrock::types::FoundationModelSummary]) -> Vec<&str> {
    summaries.iter().map(|m| m.model_id()).collect()
}

#[tokio::test]
async fn list_foundation_models_returns_the_whole_catalog_as_the_sdk_types() {
    let (client, catalog) = us_east_1().await;
    let output = client.list_foundation_models().send().await.expect("ListFoundationModels");
    let summaries = output.model_summaries();
    assert_eq!(summaries.len(), catalog.models().len());

    let haiku = summaries
        .iter()
        .find(|m| m.model_id() == "anthropic.claude-3-haiku-20240307-v1:0")
        .expect("Claude 3 Haiku is listed");
    assert_eq!(
        haiku.model_arn(),
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
    );
    assert_eq!(haiku.model_name(), Some("Claude 3 Haiku"));
    assert_eq!(haiku.provider_name(), Some("Anthropic"));
    assert_eq!(haiku.input_modalities(), [ModelModality::Text, ModelModality::Image]);
    assert_eq!(haiku.output_modalities(), [ModelModality::Text]);
    assert_eq!(haiku.response_streaming_supported(), Some(true));
    assert_eq!(haiku.inference_types_supported(), [InferenceType::OnDemand]);
    let lifecycle = haiku.model_lifecycle().expect("a lifecycle");
    assert_eq!(lifecycle.status(), &FoundationModelLifecycleStatus::Active);

    // Newer Claude models are invoked through inference profiles only; the SDK keeps the value.
    let sonnet_4 = summaries
        .iter()
        .find(|m| m.model_id() == "anthropic.claude-sonnet-4-20250514-v1:0")
        .expect("Claude Sonnet 4 is listed");
    assert_eq!(sonnet_4.inference_types_supported(), [InferenceType::from("INFERENCE_PROFILE")]);

    let legacy = summaries
        .iter()
        .find(|m| m.model_id() == "anthropic.claude-3-5-sonnet-20240620-v1:0")
        .expect("Claude 3.5 Sonnet v1 is listed");
    assert_eq!(
        legacy.model_lifecycle().expect("lifecycle").status(),
        &FoundationModelLifecycleStatus::Legacy
    );
}

#[tokio::test]
async fn by_provider_matches_the_provider_name_in_any_case() {
    let (client, _) = us_east_1().await;
    let exact =
        client.list_foundation_models().by_provider("Anthropic").send().await.expect("Anthropic");
    let lower =
        client.list_foundation_models().by_provider("anthropic").send().await.expect("anthropic");
    assert!(exact.model_summaries().len() >= 10, "{}", exact.model_summaries().len());
    assert_eq!(ids(exact.model_summaries()), ids(lower.model_summaries()));
    assert!(exact.model_summaries().iter().all(|m| m.provider_name() == Some("Anthropic")));

    let meta = client.list_foundation_models().by_provider("meta").send().await.expect("meta");
    assert!(ids(meta.model_summaries()).contains(&"meta.llama3-3-70b-instruct-v1:0"));
    assert!(meta.model_summaries().iter().all(|m| m.provider_name() == Some("Meta")));

    let nobody = client
        .list_foundation_models()
        .by_provider("Nobody")
        .send()
        .await
        .expect("unknown provider");
    assert!(nobody.model_summaries().is_empty());
}

#[tokio::test]
async fn by_output_modality_by_inference_type_and_by_customization_filter_and_combine() {
    let (client, _) = us_east_1().await;

    let embedding = client
        .list_foundation_models()
        .by_output_modality(ModelModality::Embedding)
        .send()
        .await
        .expect("embedding models");
    let embedding_ids = ids(embedding.model_summaries());
    for id in
        ["amazon.titan-embed-text-v2:0", "cohere.embed-english-v3", "cohere.embed-multilingual-v3"]
    {
        assert!(embedding_ids.contains(&id), "{id} missing from {embedding_ids:?}");
    }
    assert!(
        embedding
            .model_summaries()
            .iter()
            .all(|m| m.output_modalities().contains(&ModelModality::Embedding))
    );

    let on_demand = client
        .list_foundation_models()
        .by_inference_type(InferenceType::OnDemand)
        .send()
        .await
        .expect("on-demand models");
    let on_demand_ids = ids(on_demand.model_summaries());
    assert!(on_demand_ids.contains(&"anthropic.claude-3-haiku-20240307-v1:0"));
    assert!(
        !on_demand_ids.contains(&"anthropic.claude-sonnet-4-20250514-v1:0"),
        "profile-only model listed"
    );
    assert!(
        on_demand
            .model_summaries()
            .iter()
            .all(|m| m.inference_types_supported().contains(&InferenceType::OnDemand))
    );

    let provisioned = client
        .list_foundation_models()
        .by_inference_type(InferenceType::Provisioned)
        .send()
        .await
        .expect("provisioned models");
    assert!(ids(provisioned.model_summaries()).contains(&"amazon.nova-pro-v1:0:300k"));

    let fine_tunable = client
        .list_foundation_models()
        .by_customization_type(ModelCustomization::FineTuning)
        .send()
        .await
        .expect("fine-tunable models");
    assert!(!fine_tunable.model_summaries().is_empty());
    assert!(
        fine_tunable
            .model_summaries()
            .iter()
            .all(|m| m.customizations_supported().contains(&ModelCustomization::FineTuning))
    );

    let amazon_images = client
        .list_foundation_models()
        .by_provider("Amazon")
        .by_output_modality(ModelModality::Image)
        .by_inference_type(InferenceType::OnDemand)
        .send()
        .await
        .expect("combined filters");
    let mut image_ids = ids(amazon_images.model_summaries());
    image_ids.sort_unstable();
    assert_eq!(image_ids, ["amazon.nova-canvas-v1:0", "amazon.titan-image-generator-v2:0"]);
}

#[tokio::test]
async fn a_filter_value_outside_the_api_enum_is_a_typed_validation_exception() {
    let (client, _) = us_east_1().await;
    let error = client
        .list_foundation_models()
        .by_output_modality(ModelModality::from("VOICE"))
        .send()
        .await
        .expect_err("VOICE is not a modality filter");
    let service_error = error.into_service_error();
    assert!(service_error.is_validation_exception(), "{service_error:?}");
    let message = service_error.meta().message().expect("a message");
    assert!(message.contains("'VOICE' at 'byOutputModality'"), "{message}");
    assert!(message.contains("[TEXT, IMAGE, EMBEDDING]"), "{message}");

    let error = client
        .list_foundation_models()
        .by_inference_type(InferenceType::from("INFERENCE_PROFILE"))
        .send()
        .await
        .expect_err("the filter takes ON_DEMAND or PROVISIONED only");
    assert!(matches!(
        error.into_service_error(),
        ListFoundationModelsError::ValidationException(_)
    ));

    let error = client
        .list_foundation_models()
        .by_provider("anthropic;--")
        .send()
        .await
        .expect_err("byProvider has a pattern");
    assert!(error.into_service_error().is_validation_exception());
}

#[tokio::test]
async fn get_foundation_model_by_id_and_by_arn_returns_the_same_details() {
    let (client, _) = us_east_1().await;
    let by_id = client
        .get_foundation_model()
        .model_identifier("amazon.nova-pro-v1:0")
        .send()
        .await
        .expect("GetFoundationModel by id");
    let details = by_id.model_details().expect("model details");
    assert_eq!(details.model_id(), "amazon.nova-pro-v1:0");
    assert_eq!(details.model_name(), Some("Nova Pro"));
    assert_eq!(
        details.input_modalities(),
        [ModelModality::Text, ModelModality::Image, ModelModality::from("VIDEO")]
    );

    let by_arn = client
        .get_foundation_model()
        .model_identifier("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0")
        .send()
        .await
        .expect("GetFoundationModel by ARN");
    assert_eq!(by_arn.model_details(), by_id.model_details());

    let legacy = client
        .get_foundation_model()
        .model_identifier("anthropic.claude-3-5-haiku-20241022-v1:0")
        .send()
        .await
        .expect("a legacy model is still described");
    let lifecycle = legacy.model_details().and_then(|d| d.model_lifecycle()).expect("lifecycle");
    assert_eq!(lifecycle.status(), &FoundationModelLifecycleStatus::Legacy);
    let end_of_life = lifecycle.end_of_life_time().expect("an end-of-life date");
    assert_eq!(
        end_of_life,
        &DateTime::from_str("2026-06-19T00:00:00Z", DateTimeFormat::DateTime).expect("date")
    );
}

#[tokio::test]
async fn get_foundation_model_errors_are_typed_not_found_and_validation_exceptions() {
    let (client, _) = us_east_1().await;
    let missing = client
        .get_foundation_model()
        .model_identifier("anthropic.claude-opus-9-v1:0")
        .send()
        .await
        .expect_err("no such model");
    let status = missing.raw_response().map(|r| r.status().as_u16());
    assert_eq!(status, Some(404));
    let missing = missing.into_service_error();
    assert!(
        matches!(missing, GetFoundationModelError::ResourceNotFoundException(_)),
        "{missing:?}"
    );
    assert!(missing.meta().message().is_some_and(|m| m.contains("anthropic.claude-opus-9-v1:0")));

    let elsewhere = client
        .get_foundation_model()
        .model_identifier("arn:aws:bedrock:eu-west-1::foundation-model/amazon.nova-pro-v1:0")
        .send()
        .await
        .expect_err("the ARN of another Region is not in this Region's catalog");
    assert!(elsewhere.into_service_error().is_resource_not_found_exception());

    let malformed = client
        .get_foundation_model()
        .model_identifier("Claude 3 Haiku")
        .send()
        .await
        .expect_err("not an identifier");
    let malformed = malformed.into_service_error();
    assert!(malformed.is_validation_exception(), "{malformed:?}");
}

#[tokio::test]
async fn the_paginator_walks_every_inference_profile_exactly_once() {
    let (client, catalog) = us_east_1().await;
    let expected: Vec<&str> = catalog.profiles().iter().map(|p| p.id()).collect();
    assert!(expected.len() > 14, "need several pages, have {}", expected.len());

    let pages: Vec<_> = client
        .list_inference_profiles()
        .max_results(7)
        .into_paginator()
        .send()
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("every page");
    assert_eq!(pages.len(), expected.len().div_ceil(7));
    assert!(pages.iter().all(|page| page.inference_profile_summaries().len() <= 7));
    assert!(pages.last().is_some_and(|page| page.next_token().is_none()));

    let listed: Vec<String> = pages
        .iter()
        .flat_map(|page| page.inference_profile_summaries())
        .map(|p| p.inference_profile_id().to_owned())
        .collect();
    assert_eq!(listed, expected, "every profile once, in order");
    let unique: HashSet<&String> = listed.iter().collect();
    assert_eq!(unique.len(), listed.len());

    let single = client.list_inference_profiles().send().await.expect("one page by default");
    assert_eq!(single.inference_profile_summaries().len(), expected.len());
    assert!(single.next_token().is_none());
}

#[tokio::test]
async fn listed_profiles_are_system_defined_us_and_global_profiles_with_member_arns() {
    let (client, _) = us_east_1().await;
    let output = client
        .list_inference_profiles()
        .type_equals(InferenceProfileType::SystemDefined)
        .send()
        .await
        .expect("system-defined profiles");
    let summaries = output.inference_profile_summaries();
    assert!(summaries.iter().all(|p| p.r#type() == &InferenceProfileType::SystemDefined));
    assert!(summaries.iter().all(|p| p.status() == &InferenceProfileStatus::Active));
    assert!(summaries.iter().all(|p| p.inference_profile_id().starts_with("us.")
        || p.inference_profile_id().starts_with("global.")));

    let haiku = summaries
        .iter()
        .find(|p| p.inference_profile_id() == "us.anthropic.claude-3-5-haiku-20241022-v1:0")
        .expect("US Claude 3.5 Haiku");
    let members: Vec<&str> = haiku.models().iter().filter_map(|m| m.model_arn()).collect();
    assert_eq!(
        members,
        [
            "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0",
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0",
            "arn:aws:bedrock:us-east-2::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0",
        ]
    );
    assert_eq!(
        haiku.inference_profile_arn(),
        "arn:aws:bedrock:us-east-1:000000000000:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0"
    );
    let created = haiku.created_at().expect("createdAt");
    assert_eq!(
        created,
        &DateTime::from_str("2024-12-02T00:00:00Z", DateTimeFormat::DateTime).expect("date")
    );
    let updated = haiku.updated_at().expect("updatedAt");
    assert_eq!(updated.secs(), 1_733_196_005, "2024-12-03T03:20:05Z");
    assert_eq!(updated.subsec_nanos(), 434_989_000);

    let applications = client
        .list_inference_profiles()
        .type_equals(InferenceProfileType::Application)
        .send()
        .await
        .expect("application profiles");
    assert!(applications.inference_profile_summaries().is_empty());
}

#[tokio::test]
async fn bad_paging_requests_are_typed_validation_exceptions() {
    let (client, _) = us_east_1().await;
    for max_results in [0, 1001] {
        let error = client
            .list_inference_profiles()
            .max_results(max_results)
            .send()
            .await
            .expect_err("maxResults is 1..=1000");
        let error = error.into_service_error();
        assert!(
            matches!(error, ListInferenceProfilesError::ValidationException(_)),
            "{max_results}: {error:?}"
        );
    }

    let forged = client
        .list_inference_profiles()
        .next_token("eyJvZmZzZXQiOjB9")
        .send()
        .await
        .expect_err("not a token the endpoint issued");
    assert!(forged.into_service_error().is_validation_exception());

    let first = client.list_inference_profiles().max_results(5).send().await.expect("first page");
    let token = first.next_token().expect("more pages").to_owned();
    let replayed = client
        .list_inference_profiles()
        .type_equals(InferenceProfileType::Application)
        .next_token(token)
        .send()
        .await
        .expect_err("a token is bound to its listing");
    assert!(replayed.into_service_error().is_validation_exception());

    let invalid_type = client
        .list_inference_profiles()
        .type_equals(InferenceProfileType::from("CUSTOM"))
        .send()
        .await
        .expect_err("type is SYSTEM_DEFINED or APPLICATION");
    assert!(invalid_type.into_service_error().is_validation_exception());
}

#[tokio::test]
async fn get_inference_profile_by_id_and_by_arn() {
    let (client, _) = us_east_1().await;
    let by_id = client
        .get_inference_profile()
        .inference_profile_identifier("global.anthropic.claude-sonnet-4-5-20250929-v1:0")
        .send()
        .await
        .expect("GetInferenceProfile by id");
    assert_eq!(by_id.inference_profile_name(), "Global Claude Sonnet 4.5");
    assert_eq!(
        by_id.description(),
        Some("Routes requests to Claude Sonnet 4.5 globally across all supported AWS Regions.")
    );
    let members: Vec<&str> = by_id.models().iter().filter_map(|m| m.model_arn()).collect();
    assert_eq!(
        members,
        [
            "arn:aws:bedrock:::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0",
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0",
        ]
    );
    assert!(by_id.created_at().is_some() && by_id.updated_at().is_some());

    let by_arn = client
        .get_inference_profile()
        .inference_profile_identifier(by_id.inference_profile_arn())
        .send()
        .await
        .expect("GetInferenceProfile by ARN");
    assert_eq!(by_arn.inference_profile_id(), by_id.inference_profile_id());
    assert_eq!(by_arn.models(), by_id.models());
}

#[tokio::test]
async fn get_inference_profile_errors_are_typed() {
    let (client, _) = us_east_1().await;
    let other_geography = client
        .get_inference_profile()
        .inference_profile_identifier("eu.anthropic.claude-3-7-sonnet-20250219-v1:0")
        .send()
        .await
        .expect_err("EU profiles are not usable from us-east-1");
    let other_geography = other_geography.into_service_error();
    assert!(
        matches!(other_geography, GetInferenceProfileError::ResourceNotFoundException(_)),
        "{other_geography:?}"
    );

    let malformed = client
        .get_inference_profile()
        .inference_profile_identifier("us anthropic claude")
        .send()
        .await
        .expect_err("spaces are not allowed");
    assert!(malformed.into_service_error().is_validation_exception());
}

#[tokio::test]
async fn a_catalog_placed_in_eu_west_1_builds_eu_arns_and_lists_eu_profiles() {
    let catalog = Catalog::builtin("eu-west-1").expect("catalog in eu-west-1");
    let client = client_for(catalog).await;

    let model = client
        .get_foundation_model()
        .model_identifier("amazon.titan-embed-text-v2:0")
        .send()
        .await
        .expect("a model");
    assert_eq!(
        model.model_details().map(|d| d.model_arn()),
        Some("arn:aws:bedrock:eu-west-1::foundation-model/amazon.titan-embed-text-v2:0")
    );

    let profiles = client
        .list_inference_profiles()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("every profile");
    assert!(
        profiles
            .iter()
            .any(|p| p.inference_profile_id() == "eu.anthropic.claude-3-7-sonnet-20250219-v1:0")
    );
    assert!(profiles.iter().all(|p| !p.inference_profile_id().starts_with("us.")));
    let sonnet = profiles
        .iter()
        .find(|p| p.inference_profile_id() == "eu.anthropic.claude-3-7-sonnet-20250219-v1:0")
        .expect("EU 3.7 Sonnet");
    assert_eq!(
        sonnet.description(),
        Some(
            "Routes requests to Anthropic Claude 3.7 Sonnet in eu-central-1, eu-north-1, eu-west-1 and eu-west-3."
        )
    );
}

/// `SdkError` is re-exported so callers can match on transport versus service failures; make sure
/// a service error from the local endpoint arrives as a service error, not a transport one.
#[tokio::test]
async fn errors_arrive_as_service_errors_with_the_aws_error_code() {
    let (client, _) = us_east_1().await;
    let error = client
        .get_inference_profile()
        .inference_profile_identifier("us.anthropic.claude-opus-9-v1:0")
        .send()
        .await
        .expect_err("no such profile");
    assert!(matches!(error, SdkError::ServiceError(_)), "{error:?}");
    assert_eq!(error.into_service_error().meta().code(), Some("ResourceNotFoundException"));
}
