//! The local model catalog: the foundation models and system-defined inference profiles the local
//! endpoint lists, as Bedrock's control plane lists them in one Region, plus the lookups the rest
//! of quarry-local resolves model ids and ARNs with. Ids and ARNs are `quarry::model`'s.
//!
//! The built-in data (`local/data/catalog.json`) is a snapshot of real Bedrock models and
//! inference profiles; a file of the same shape can replace it. The catalog is a stand-in for the
//! service, not a source of truth about AWS: model availability is the same in every Region, and
//! only the inference profiles and the ARNs depend on the configured Region.

pub mod data;
pub mod loader;
pub mod routes;

use std::path::Path;

pub use data::{
    Customization, FoundationModel, InferenceProfile, InferenceType, LifecycleStatus, Modality,
    ModelLifecycle, ModelSpec, ProfileModel, ProfileStatus, ProfileType, Timestamp,
};
pub use loader::CatalogError;
pub use routes::routes;

use crate::bedrock::model_id::ModelDirectory;

/// The built-in catalog data.
const BUILTIN_JSON: &str = include_str!("../../data/catalog.json");

/// The models and inference profiles visible from one Region of one account.
#[derive(Debug, Clone)]
pub struct Catalog {
    region: String,
    account_id: String,
    models: Vec<FoundationModel>,
    profiles: Vec<InferenceProfile>,
}

impl Catalog {
    /// The Region the local endpoint plays by default.
    pub const DEFAULT_REGION: &'static str = "us-east-1";
    /// The account id in inference profile ARNs by default (clearly not a real account).
    pub const DEFAULT_ACCOUNT_ID: &'static str = "000000000000";

    /// The built-in catalog placed in `region`, with the default account id.
    pub fn builtin(region: &str) -> Result<Self, CatalogError> {
        Self::from_json(BUILTIN_JSON, region, Self::DEFAULT_ACCOUNT_ID)
    }

    /// A catalog from data-file JSON (the shape of `local/data/catalog.json`), placed in `region`
    /// for `account_id`.
    pub fn from_json(json: &str, region: &str, account_id: &str) -> Result<Self, CatalogError> {
        let placed = loader::load(json, region, account_id)?;
        Ok(Catalog {
            region: region.to_owned(),
            account_id: account_id.to_owned(),
            models: placed.models,
            profiles: placed.profiles,
        })
    }

    /// A catalog read from a data file, to override the built-in one.
    pub fn from_path(
        path: impl AsRef<Path>,
        region: &str,
        account_id: &str,
    ) -> Result<Self, CatalogError> {
        let path = path.as_ref();
        let json = std::fs::read_to_string(path)
            .map_err(|source| CatalogError::Read { path: path.to_owned(), source })?;
        Self::from_json(&json, region, account_id)
    }

    /// The Region the ARNs are built for, e.g. `us-east-1`.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The account id in inference profile ARNs.
    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    /// Every foundation model, in data-file order.
    pub fn models(&self) -> &[FoundationModel] {
        &self.models
    }

    /// The system-defined inference profiles usable from this Region, in data-file order.
    pub fn profiles(&self) -> &[InferenceProfile] {
        &self.profiles
    }

    /// The model with this id, or with this foundation-model ARN in this Region (the `model_arn`
    /// the loader built for it).
    pub fn model(&self, id_or_arn: &str) -> Option<&FoundationModel> {
        self.models.iter().find(|model| model.id() == id_or_arn || model.model_arn == id_or_arn)
    }

    /// The inference profile with this id, or with this inference-profile ARN in this Region and
    /// account (the `inference_profile_arn` the loader built for it).
    pub fn profile(&self, id_or_arn: &str) -> Option<&InferenceProfile> {
        self.profiles
            .iter()
            .find(|profile| profile.id() == id_or_arn || profile.inference_profile_arn == id_or_arn)
    }
}

/// The runtime serves a real model id when the catalog lists it as a foundation model or as a
/// system-defined inference profile of this Region (`local.*` ids are the runtime's own).
impl ModelDirectory for Catalog {
    fn knows(&self, id: &str) -> bool {
        self.model(id).is_some() || self.profile(id).is_some()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use quarry::model::{
        BaseModelId, GlobalFoundationModelArn, ModelArn, ModelResource, Partition,
    };

    use super::*;

    fn builtin() -> Catalog {
        Catalog::builtin(Catalog::DEFAULT_REGION).expect("the built-in catalog loads")
    }

    /// The foundation model a profile member ARN points at: a regional or the global ARN.
    fn member_model(model_arn: &str) -> BaseModelId {
        if let Ok(global) = model_arn.parse::<GlobalFoundationModelArn>() {
            return global.base_model().clone();
        }
        let arn: ModelArn = model_arn.parse().expect("member arn parses");
        match arn.resource() {
            ModelResource::FoundationModel(base) => base.clone(),
            other => panic!("{model_arn} is a {}, not a foundation model", other.kind()),
        }
    }

    /// Every Region any built-in profile may be called from.
    fn all_source_regions() -> Vec<String> {
        let file: serde_json::Value = serde_json::from_str(BUILTIN_JSON).expect("json");
        let mut regions: Vec<String> =
            serde_json::from_value(file["globalSourceRegions"].clone()).expect("regions");
        for profile in file["inferenceProfiles"].as_array().expect("profiles") {
            for key in ["sourceRegions", "destinationRegions"] {
                if let Some(list) = profile[key].as_array() {
                    regions.extend(list.iter().filter_map(|r| r.as_str()).map(str::to_owned));
                }
            }
        }
        regions.sort();
        regions.dedup();
        regions
    }

    #[test]
    fn the_builtin_catalog_has_at_least_25_real_models_across_providers() {
        let catalog = builtin();
        assert!(catalog.models().len() >= 25, "{} models", catalog.models().len());
        let providers: HashSet<&str> =
            catalog.models().iter().map(|m| m.spec.provider_name.as_str()).collect();
        for provider in [
            "Anthropic",
            "Amazon",
            "Meta",
            "Mistral AI",
            "Cohere",
            "AI21 Labs",
            "DeepSeek",
            "OpenAI",
        ] {
            assert!(providers.contains(provider), "no {provider} models");
        }
        for model in catalog.models() {
            let id: BaseModelId = model.id().parse().expect("a Bedrock model id");
            assert_eq!(
                model.model_arn,
                ModelArn::foundation_model(Partition::Aws, "us-east-1", id).to_string()
            );
            assert!(
                !model.spec.inference_types_supported.is_empty(),
                "{} cannot be invoked",
                model.id()
            );
        }
    }

    #[test]
    fn newer_claude_models_are_inference_profile_only_and_old_ones_are_legacy() {
        let catalog = builtin();
        let sonnet_4 = catalog.model("anthropic.claude-sonnet-4-20250514-v1:0").expect("Sonnet 4");
        assert_eq!(sonnet_4.spec.inference_types_supported, [InferenceType::InferenceProfile]);
        let sonnet_35 =
            catalog.model("anthropic.claude-3-5-sonnet-20240620-v1:0").expect("3.5 Sonnet v1");
        assert_eq!(sonnet_35.spec.model_lifecycle.status, LifecycleStatus::Legacy);
        let sonnet_3 = catalog.model("anthropic.claude-3-sonnet-20240229-v1:0").expect("3 Sonnet");
        assert_eq!(sonnet_3.spec.model_lifecycle.status, LifecycleStatus::Legacy);
        let embed = catalog.model("amazon.titan-embed-text-v2:0").expect("Titan Embed v2");
        assert_eq!(embed.spec.output_modalities, [Modality::Embedding]);
        assert!(!embed.spec.response_streaming_supported);
    }

    #[test]
    fn every_builtin_profile_is_visible_from_some_region_and_routes_to_a_catalog_model() {
        let file: serde_json::Value = serde_json::from_str(BUILTIN_JSON).expect("json");
        let mut expected: HashSet<String> = file["inferenceProfiles"]
            .as_array()
            .expect("profiles")
            .iter()
            .map(|p| p["inferenceProfileId"].as_str().expect("id").to_owned())
            .collect();
        for region in all_source_regions() {
            let catalog = Catalog::builtin(&region).expect("loads in every source region");
            for profile in catalog.profiles() {
                expected.remove(profile.id());
                assert!(
                    catalog.model(&profile.model_id).is_some(),
                    "{} -> {}",
                    profile.id(),
                    profile.model_id
                );
                assert!(!profile.models.is_empty(), "{} has no members", profile.id());
                for member in &profile.models {
                    assert_eq!(member_model(&member.model_arn).as_str(), profile.model_id);
                }
            }
        }
        assert!(expected.is_empty(), "profiles never listed anywhere: {expected:?}");
    }

    #[test]
    fn us_east_1_lists_us_and_global_profiles_only() {
        let catalog = builtin();
        let geographies: HashSet<&str> =
            catalog.profiles().iter().map(InferenceProfile::geography).collect();
        assert_eq!(geographies, HashSet::from(["us", "global"]));
        let haiku =
            catalog.profile("us.anthropic.claude-3-5-haiku-20241022-v1:0").expect("US 3.5 Haiku");
        let arns: Vec<ModelArn> =
            haiku.models.iter().map(|m| m.model_arn.parse().expect("arn")).collect();
        let regions: Vec<&str> = arns.iter().map(ModelArn::region).collect();
        assert_eq!(regions, ["us-west-2", "us-east-1", "us-east-2"]);
        assert!(catalog.profile("eu.anthropic.claude-3-7-sonnet-20250219-v1:0").is_none());
    }

    /// Summaries from a real ListInferenceProfiles response captured in us-east-2 (published in
    /// github.com/kevint4890/brag-bot, frontend/src/InferenceProfileSummaries.js; the account id is
    /// redacted to 000000000000). The catalog must describe the same profiles field for field.
    #[test]
    fn builtin_profiles_match_a_captured_list_inference_profiles_response() {
        let captured: serde_json::Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/catalog/list_inference_profiles_us_east_2.json"
        ))
        .expect("fixture json");
        let catalog = Catalog::from_json(BUILTIN_JSON, "us-east-2", Catalog::DEFAULT_ACCOUNT_ID)
            .expect("loads");
        for real in captured["inferenceProfileSummaries"].as_array().expect("summaries") {
            let id = real["inferenceProfileId"].as_str().expect("id");
            let ours = serde_json::to_value(catalog.profile(id).expect(id)).expect("serializes");
            let mut real_keys: Vec<&String> = real.as_object().expect("object").keys().collect();
            let mut our_keys: Vec<&String> = ours.as_object().expect("object").keys().collect();
            real_keys.sort();
            our_keys.sort();
            assert_eq!(our_keys, real_keys, "{id}");
            for (key, value) in real.as_object().expect("object") {
                if key == "createdAt" || key == "updatedAt" {
                    let instant =
                        |v: &serde_json::Value| Timestamp::parse(v.as_str().expect("a string"));
                    assert_eq!(instant(&ours[key]), instant(value), "{id} {key}");
                } else {
                    assert_eq!(&ours[key], value, "{id} {key}");
                }
            }
        }
    }

    #[test]
    fn govcloud_profiles_use_the_govcloud_partition() {
        let catalog = Catalog::builtin("us-gov-west-1").expect("loads");
        let profile = catalog
            .profile("us-gov.anthropic.claude-3-5-sonnet-20240620-v1:0")
            .expect("us-gov profile");
        assert!(
            profile
                .inference_profile_arn
                .starts_with("arn:aws-us-gov:bedrock:us-gov-west-1:000000000000:")
        );
        assert!(
            profile
                .models
                .iter()
                .all(|m| m.model_arn.starts_with("arn:aws-us-gov:bedrock:us-gov-"))
        );
        assert!(catalog.profile(&profile.inference_profile_arn).is_some());
    }

    #[test]
    fn models_and_profiles_are_found_by_id_or_by_their_arn_in_this_region_only() {
        let catalog = builtin();
        let by_arn = catalog
            .model("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0")
            .expect("by arn");
        assert_eq!(by_arn.id(), "amazon.nova-pro-v1:0");
        assert!(
            catalog
                .model("arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-pro-v1:0")
                .is_none()
        );
        assert!(catalog.model("arn:aws:bedrock:us-east-1:000000000000:inference-profile/us.amazon.nova-pro-v1:0").is_none());
        assert!(catalog.model("amazon.nova-ultra-v9:0").is_none());

        let profile_arn =
            "arn:aws:bedrock:us-east-1:000000000000:inference-profile/us.amazon.nova-pro-v1:0";
        assert_eq!(catalog.profile(profile_arn).expect("by arn").id(), "us.amazon.nova-pro-v1:0");
        assert!(catalog.profile("arn:aws:bedrock:us-east-1:111111111111:inference-profile/us.amazon.nova-pro-v1:0").is_none());
        assert!(catalog.profile("amazon.nova-pro-v1:0").is_none());
    }

    #[test]
    fn a_catalog_file_on_disk_overrides_the_builtin_one() {
        let dir = std::env::temp_dir().join(format!("quarry-catalog-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("catalog.json");
        std::fs::write(&path, r#"{"models": [], "inferenceProfiles": []}"#).expect("write");
        let catalog = Catalog::from_path(&path, "eu-west-1", "123456789012").expect("loads");
        assert!(catalog.models().is_empty());
        assert_eq!((catalog.region(), catalog.account_id()), ("eu-west-1", "123456789012"));
        std::fs::remove_dir_all(&dir).expect("cleanup");

        let missing = Catalog::from_path(dir.join("absent.json"), "eu-west-1", "123456789012")
            .expect_err("missing");
        assert!(missing.to_string().contains("absent.json"), "{missing}");
    }

    #[test]
    fn the_runtime_serves_the_models_and_profiles_the_catalog_lists_in_its_region() {
        let catalog = builtin();
        for id in [
            "anthropic.claude-3-haiku-20240307-v1:0",
            "amazon.titan-embed-text-v2:0",
            "us.anthropic.claude-3-5-haiku-20241022-v1:0",
            "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
        ] {
            assert!(catalog.knows(id), "{id}");
        }
        for id in [
            "anthropic.claude-9-opus-v1:0",
            "eu.anthropic.claude-3-7-sonnet-20250219-v1:0",
            "local.extractive-v1",
            "",
        ] {
            assert!(!catalog.knows(id), "{id}");
        }
        assert!(Catalog::builtin("eu-west-1").expect("eu").knows("eu.amazon.nova-lite-v1:0"));
    }
}
