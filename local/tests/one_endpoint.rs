//! The local endpoint as one Bedrock: the runtime and the control plane on the same port, driven by
//! the real `aws-sdk-bedrockruntime` and `aws-sdk-bedrock` clients given the same endpoint URL, and
//! runtime model ids validated against the catalog the control plane lists.

mod common;

use std::sync::Arc;

use aws_sdk_bedrock::types::{InferenceType, ModelModality};
use aws_sdk_bedrockruntime::error::ProvideErrorMetadata;
use aws_sdk_bedrockruntime::operation::RequestId;
use aws_sdk_bedrockruntime::types::ConverseOutput as ConverseOutputMessage;
use quarry_local::catalog::Catalog;
use quarry_local::{BedrockConfig, CatalogSource, RunningServer, serve};

use common::{ask_office, sdk_config, start_with, user};

const INVALID_MODEL_ID: &str = "The provided model identifier is invalid.";

async fn start(catalog: CatalogSource) -> RunningServer {
    start_with(BedrockConfig { catalog, ..BedrockConfig::default() }).await
}

/// Asks `model` when the office opens; the answer text or the error code and message.
async fn ask(client: &aws_sdk_bedrockruntime::Client, model: &str) -> Result<String, String> {
    let output = ask_office(client, model).await?;
    match output.output() {
        Some(ConverseOutputMessage::Message(message)) => {
            Ok(message.content().iter().filter_map(|b| b.as_text().ok().cloned()).collect())
        }
        other => Err(format!("no output message: {other:?}")),
    }
}

#[tokio::test]
async fn converse_with_a_well_formed_id_the_catalog_does_not_list_is_an_invalid_model_id() {
    let server = start(CatalogSource::default()).await;
    let client = aws_sdk_bedrockruntime::Client::new(&sdk_config(&server, "us-east-1").await);
    for model in [
        "anthropic.claude-9-opus-20990101-v1:0",
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-9-opus-20990101-v1:0",
        // A European profile is not callable from us-east-1.
        "eu.anthropic.claude-3-7-sonnet-20250219-v1:0",
        "local.gpt-9",
    ] {
        let error = client
            .converse()
            .model_id(model)
            .messages(user("Hi"))
            .send()
            .await
            .expect_err(model)
            .into_service_error();
        assert!(error.is_validation_exception(), "{model}: {error:?}");
        assert_eq!(error.message(), Some(INVALID_MODEL_ID), "{model}");
    }
    let answer = ask(&client, "local.extractive-v1").await.expect("local models are always served");
    assert!(answer.contains("The office opens at 9am."), "{answer}");
}

#[tokio::test]
async fn the_region_decides_which_inference_profiles_the_runtime_serves() {
    let server = start(CatalogSource::new("eu-west-1", None)).await;
    let config = sdk_config(&server, "eu-west-1").await;
    let runtime = aws_sdk_bedrockruntime::Client::new(&config);
    let answer = ask(&runtime, "eu.anthropic.claude-3-7-sonnet-20250219-v1:0")
        .await
        .expect("an EU profile answers in eu-west-1");
    assert!(answer.contains("The office opens at 9am."), "{answer}");
    assert_eq!(
        ask(&runtime, "us.anthropic.claude-3-haiku-20240307-v1:0").await,
        Err(format!("ValidationException: {INVALID_MODEL_ID}"))
    );

    let control = aws_sdk_bedrock::Client::new(&config);
    let profile = control
        .get_inference_profile()
        .inference_profile_identifier("eu.anthropic.claude-3-7-sonnet-20250219-v1:0")
        .send()
        .await
        .expect("GetInferenceProfile on the same port");
    assert!(
        profile.inference_profile_arn().starts_with("arn:aws:bedrock:eu-west-1:"),
        "{}",
        profile.inference_profile_arn()
    );
}

#[tokio::test]
async fn every_text_model_and_profile_the_control_plane_lists_answers_converse_on_the_same_port() {
    let server = start(CatalogSource::default()).await;
    let config = sdk_config(&server, "us-east-1").await;
    let control = aws_sdk_bedrock::Client::new(&config);
    let runtime = aws_sdk_bedrockruntime::Client::new(&config);

    let listed = control
        .list_foundation_models()
        .by_output_modality(ModelModality::Text)
        .send()
        .await
        .expect("ListFoundationModels on the runtime's port");
    assert!(listed.request_id().is_some(), "control-plane answers carry a request id");
    let models = listed.model_summaries();
    assert!(models.len() >= 20, "{} text models", models.len());
    for id in models.iter().map(|m| m.model_id()) {
        let answer = ask(&runtime, id).await.expect(id);
        assert!(answer.contains("The office opens at 9am."), "{id}: {answer}");
    }
    let on_demand = models
        .iter()
        .find(|m| m.inference_types_supported().contains(&InferenceType::OnDemand))
        .expect("an on-demand text model");
    let details = control
        .get_foundation_model()
        .model_identifier(on_demand.model_arn())
        .send()
        .await
        .expect("GetFoundationModel by the listed ARN");
    assert_eq!(details.model_details().map(|d| d.model_id()), Some(on_demand.model_id()));

    let text_ids: Vec<&str> = models.iter().map(|m| m.model_id()).collect();
    let profiles = control.list_inference_profiles().send().await.expect("ListInferenceProfiles");
    let text_profiles: Vec<&str> = profiles
        .inference_profile_summaries()
        .iter()
        .map(|p| p.inference_profile_id())
        .filter(|id| text_ids.iter().any(|model| id.ends_with(&format!(".{model}"))))
        .collect();
    assert!(text_profiles.len() >= 10, "{text_profiles:?}");
    for profile in text_profiles {
        let answer = ask(&runtime, profile).await.expect(profile);
        assert!(answer.contains("The office opens at 9am."), "{profile}: {answer}");
    }
}

#[tokio::test]
async fn a_catalog_file_replaces_what_both_services_know() {
    let dir = std::env::temp_dir().join(format!("quarry-one-endpoint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("catalog.json");
    let file = serde_json::json!({
        "models": [{
            "modelId": "amazon.nova-micro-v1:0",
            "modelName": "Nova Micro",
            "providerName": "Amazon",
            "inputModalities": ["TEXT"],
            "outputModalities": ["TEXT"],
            "responseStreamingSupported": true,
            "customizationsSupported": [],
            "inferenceTypesSupported": ["ON_DEMAND"],
            "modelLifecycle": {"status": "ACTIVE"}
        }],
        "inferenceProfiles": []
    });
    std::fs::write(&path, file.to_string()).expect("write the catalog file");
    let server = start(CatalogSource::new("us-west-2", Some(path))).await;
    let config = sdk_config(&server, "us-west-2").await;

    let control = aws_sdk_bedrock::Client::new(&config);
    let listed = control.list_foundation_models().send().await.expect("ListFoundationModels");
    let ids: Vec<&str> = listed.model_summaries().iter().map(|m| m.model_id()).collect();
    assert_eq!(ids, ["amazon.nova-micro-v1:0"]);
    assert_eq!(
        listed.model_summaries()[0].model_arn(),
        "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-micro-v1:0"
    );

    let runtime = aws_sdk_bedrockruntime::Client::new(&config);
    assert!(ask(&runtime, "amazon.nova-micro-v1:0").await.is_ok());
    assert_eq!(
        ask(&runtime, "anthropic.claude-3-haiku-20240307-v1:0").await,
        Err(format!("ValidationException: {INVALID_MODEL_ID}"))
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[tokio::test]
async fn a_catalog_that_does_not_load_stops_the_endpoint_from_starting() {
    let error = serve(BedrockConfig {
        catalog: CatalogSource::new("US-EAST-1", None),
        ..BedrockConfig::default()
    })
    .await
    .expect_err("not a Region code");
    assert!(error.to_string().contains("\"US-EAST-1\""), "{error}");

    let catalog = Arc::new(Catalog::builtin("ap-northeast-1").expect("Tokyo"));
    let server = start(CatalogSource::Loaded(catalog.clone())).await;
    assert_eq!(server.state().catalog.region(), "ap-northeast-1");
    assert!(Arc::ptr_eq(&server.state().catalog, &catalog));
}
