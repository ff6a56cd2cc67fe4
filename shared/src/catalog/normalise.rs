//! ListFoundationModels and ListInferenceProfiles output, as aws-sdk-bedrock returns it, turned
//! into a [`Catalog`]. An entry whose id quarry cannot read is left out and reported, never
//! guessed at; one odd entry does not stop the sync.

use std::collections::HashSet;

use aws_sdk_bedrock::types::{FoundationModelSummary, InferenceProfileSummary};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use serde::Serialize;

use super::document::{
    Catalog, CatalogModel, CatalogProfile, Lifecycle, LifecycleStatus, ProfileMember,
};
use crate::model::{BaseModelId, GlobalFoundationModelArn, ModelArn, ModelId, ModelResource};

/// A catalog and the listed entries left out of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalised {
    pub catalog: Catalog,
    pub skipped: Vec<SkippedEntry>,
}

/// A listed model, profile or profile member that is not in the catalog, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedEntry {
    /// The id (or ARN) as Bedrock listed it.
    pub id: String,
    /// Why it was left out.
    pub reason: String,
}

/// The catalog of `region` from the models and profiles Bedrock listed there.
pub fn normalise(
    region: &str,
    models: &[FoundationModelSummary],
    profiles: &[InferenceProfileSummary],
) -> Normalised {
    let mut skipped = Vec::new();
    let mut seen = HashSet::new();
    let mut catalog_models = Vec::with_capacity(models.len());
    for summary in models {
        match model(summary) {
            Ok(model) if seen.insert(model.id.clone()) => catalog_models.push(model),
            Ok(model) => skipped.push(SkippedEntry {
                id: model.id.to_string(),
                reason: "listed twice; the first listing is kept".to_owned(),
            }),
            Err(reason) => skipped.push(SkippedEntry { id: summary.model_id().to_owned(), reason }),
        }
    }
    let mut seen = HashSet::new();
    let mut catalog_profiles = Vec::with_capacity(profiles.len());
    for summary in profiles {
        match profile(summary, &mut skipped) {
            Ok(profile) if seen.insert(profile.id.to_string()) => catalog_profiles.push(profile),
            Ok(profile) => skipped.push(SkippedEntry {
                id: profile.id.to_string(),
                reason: "listed twice; the first listing is kept".to_owned(),
            }),
            Err(reason) => {
                skipped.push(SkippedEntry { id: summary.inference_profile_id().to_owned(), reason })
            }
        }
    }
    Normalised { catalog: Catalog::new(region, catalog_models, catalog_profiles), skipped }
}

fn model(summary: &FoundationModelSummary) -> Result<CatalogModel, String> {
    let id: BaseModelId = summary.model_id().parse().map_err(|e| format!("{e}"))?;
    let lifecycle = summary.model_lifecycle().map_or(
        Lifecycle {
            status: LifecycleStatus::Active,
            start_of_life_time: None,
            legacy_time: None,
            end_of_life_time: None,
        },
        |lifecycle| Lifecycle {
            status: LifecycleStatus::from(lifecycle.status().as_str().to_owned()),
            start_of_life_time: lifecycle.start_of_life_time().and_then(rfc3339),
            legacy_time: lifecycle.legacy_time().and_then(rfc3339),
            end_of_life_time: lifecycle.end_of_life_time().and_then(rfc3339),
        },
    );
    Ok(CatalogModel {
        provider: summary.provider_name().unwrap_or(id.provider()).to_owned(),
        name: summary.model_name().unwrap_or(id.as_str()).to_owned(),
        input_modalities: summary
            .input_modalities()
            .iter()
            .map(|m| m.as_str().to_owned())
            .collect(),
        output_modalities: summary
            .output_modalities()
            .iter()
            .map(|m| m.as_str().to_owned())
            .collect(),
        // Bedrock leaves the flag out for models that cannot stream (embeddings, images).
        streaming: summary.response_streaming_supported().unwrap_or(false),
        inference_types: summary
            .inference_types_supported()
            .iter()
            .map(|t| t.as_str().to_owned())
            .collect(),
        lifecycle,
        id,
    })
}

/// The profile, named by its id when that is a system profile id, else by its ARN (application
/// profiles have opaque ids). Members that are not foundation-model ARNs are reported in
/// `skipped` and left out.
fn profile(
    summary: &InferenceProfileSummary,
    skipped: &mut Vec<SkippedEntry>,
) -> Result<CatalogProfile, String> {
    let by_id = summary
        .inference_profile_id()
        .parse::<ModelId>()
        .ok()
        .filter(|id| id.inference_profile().is_some());
    let id = match by_id {
        Some(id) => id,
        None => summary
            .inference_profile_arn()
            .parse::<ModelId>()
            .map_err(|e| format!("neither its id nor its ARN is a model id quarry reads: {e}"))?,
    };
    let mut members = Vec::with_capacity(summary.models().len());
    for listed in summary.models() {
        let arn = listed.model_arn().unwrap_or_default();
        match member(arn) {
            Ok(member) => members.push(member),
            Err(reason) => skipped.push(SkippedEntry { id: format!("{id} member {arn}"), reason }),
        }
    }
    Ok(CatalogProfile {
        id,
        arn: summary.inference_profile_arn().to_owned(),
        name: summary.inference_profile_name().to_owned(),
        profile_type: summary.r#type().as_str().to_owned(),
        status: summary.status().as_str().to_owned(),
        models: members,
    })
}

/// A member from its ARN: a regional foundation-model ARN, or a global profile's region-less one.
fn member(arn: &str) -> Result<ProfileMember, String> {
    if let Ok(global) = arn.parse::<GlobalFoundationModelArn>() {
        let model = global.base_model().clone();
        return Ok(ProfileMember { arn: arn.to_owned(), region: None, model });
    }
    let parsed: ModelArn = arn.parse().map_err(|e| format!("{e}"))?;
    match parsed.resource() {
        ModelResource::FoundationModel(model) => Ok(ProfileMember {
            arn: arn.to_owned(),
            region: Some(parsed.region().to_owned()),
            model: model.clone(),
        }),
        other => Err(format!("expected a foundation-model ARN, found a {} ARN", other.kind())),
    }
}

fn rfc3339(time: &DateTime) -> Option<String> {
    time.fmt(Format::DateTime).ok()
}

#[cfg(test)]
mod tests {
    use aws_sdk_bedrock::types::{
        FoundationModelLifecycle, FoundationModelLifecycleStatus, InferenceProfileModel,
        InferenceProfileStatus, InferenceProfileType, InferenceType, ModelModality,
    };

    use super::*;

    /// Claude 3.5 Haiku's FoundationModelSummary as ListFoundationModels returns it in us-east-1
    /// (fields of the API reference's FoundationModelSummary; values from quarry-local's snapshot,
    /// local/data/catalog.json, sourced from the Bedrock User Guide's model pages).
    fn haiku_summary() -> FoundationModelSummary {
        FoundationModelSummary::builder()
            .model_arn(
                "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0",
            )
            .model_id("anthropic.claude-3-5-haiku-20241022-v1:0")
            .model_name("Claude 3.5 Haiku")
            .provider_name("Anthropic")
            .input_modalities(ModelModality::Text)
            .output_modalities(ModelModality::Text)
            .response_streaming_supported(true)
            .inference_types_supported(InferenceType::from("INFERENCE_PROFILE"))
            .model_lifecycle(
                FoundationModelLifecycle::builder()
                    .status(FoundationModelLifecycleStatus::Legacy)
                    .end_of_life_time(DateTime::from_secs(1_781_827_200))
                    .build()
                    .expect("status is set"),
            )
            .build()
            .expect("ARN and id are set")
    }

    /// Titan Text Embeddings V2: no streaming flag, an EMBEDDING output.
    fn titan_embed_summary() -> FoundationModelSummary {
        FoundationModelSummary::builder()
            .model_arn("arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0")
            .model_id("amazon.titan-embed-text-v2:0")
            .model_name("Titan Text Embeddings V2")
            .provider_name("Amazon")
            .input_modalities(ModelModality::Text)
            .output_modalities(ModelModality::Embedding)
            .inference_types_supported(InferenceType::OnDemand)
            .model_lifecycle(
                FoundationModelLifecycle::builder()
                    .status(FoundationModelLifecycleStatus::Active)
                    .build()
                    .expect("status is set"),
            )
            .build()
            .expect("ARN and id are set")
    }

    /// The first profile of a captured ListInferenceProfiles response from us-east-2
    /// (local/tests/fixtures/catalog/list_inference_profiles_us_east_2.json).
    fn us_haiku_summary() -> InferenceProfileSummary {
        let mut builder = InferenceProfileSummary::builder()
            .inference_profile_name("US Anthropic Claude 3.5 Haiku")
            .description(
                "Routes requests to Anthropic Claude 3.5 Haiku in us-west-2, us-east-1 and us-east-2.",
            )
            .inference_profile_arn(
                "arn:aws:bedrock:us-east-2:000000000000:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0",
            )
            .inference_profile_id("us.anthropic.claude-3-5-haiku-20241022-v1:0")
            .status(InferenceProfileStatus::Active)
            .r#type(InferenceProfileType::SystemDefined);
        for region in ["us-west-2", "us-east-1", "us-east-2"] {
            builder = builder.models(
                InferenceProfileModel::builder()
                    .model_arn(format!(
                        "arn:aws:bedrock:{region}::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0"
                    ))
                    .build(),
            );
        }
        builder.build().expect("required fields are set")
    }

    /// An application inference profile: an opaque id, named by its ARN (API reference,
    /// InferenceProfileSummary: `type` APPLICATION, ARN type `application-inference-profile`).
    fn application_summary() -> InferenceProfileSummary {
        InferenceProfileSummary::builder()
            .inference_profile_name("team-a-haiku")
            .inference_profile_arn(
                "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6",
            )
            .inference_profile_id("a1b2c3d4e5f6")
            .status(InferenceProfileStatus::Active)
            .r#type(InferenceProfileType::Application)
            .models(
                InferenceProfileModel::builder()
                    .model_arn(
                        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0",
                    )
                    .build(),
            )
            .build()
            .expect("required fields are set")
    }

    #[test]
    fn models_keep_every_field_the_catalog_promises() {
        let normalised = normalise("us-east-1", &[haiku_summary(), titan_embed_summary()], &[]);
        assert!(normalised.skipped.is_empty(), "{:?}", normalised.skipped);
        let catalog = normalised.catalog;
        assert_eq!(catalog.region, "us-east-1");
        assert_eq!(catalog.models.len(), 2, "{:?}", catalog.models);
        let (titan, haiku) = (&catalog.models[0], &catalog.models[1]);
        assert_eq!(haiku.id.as_str(), "anthropic.claude-3-5-haiku-20241022-v1:0");
        assert_eq!(
            (haiku.provider.as_str(), haiku.name.as_str()),
            ("Anthropic", "Claude 3.5 Haiku")
        );
        assert_eq!(haiku.input_modalities, ["TEXT"]);
        assert!(haiku.streaming);
        assert_eq!(haiku.inference_types, ["INFERENCE_PROFILE"]);
        assert_eq!(haiku.lifecycle.status, LifecycleStatus::Legacy);
        assert_eq!(haiku.lifecycle.end_of_life_time.as_deref(), Some("2026-06-19T00:00:00Z"));
        assert_eq!(titan.output_modalities, ["EMBEDDING"]);
        assert!(!titan.streaming, "no flag listed: not streamable");
        assert_eq!(titan.lifecycle.status, LifecycleStatus::Active);
    }

    #[test]
    fn profiles_keep_their_members_and_regions() {
        let normalised = normalise("us-east-2", &[], &[us_haiku_summary(), application_summary()]);
        assert!(normalised.skipped.is_empty(), "{:?}", normalised.skipped);
        let catalog = normalised.catalog;
        let system: ModelId = "us.anthropic.claude-3-5-haiku-20241022-v1:0".parse().expect("id");
        let profile = catalog.profile(&system).expect("listed by id");
        assert_eq!(profile.profile_type, "SYSTEM_DEFINED");
        assert_eq!(profile.regions(), ["us-east-1", "us-east-2", "us-west-2"]);
        assert!(
            profile
                .models
                .iter()
                .all(|m| m.model.as_str() == "anthropic.claude-3-5-haiku-20241022-v1:0")
        );

        let arn =
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6";
        let application = catalog.profile(&arn.parse().expect("an ARN")).expect("listed by ARN");
        assert_eq!(application.id.to_string(), arn);
        assert_eq!(application.regions(), ["us-east-1"]);
        assert_eq!(
            application.base_model().map(BaseModelId::as_str),
            Some("anthropic.claude-3-5-haiku-20241022-v1:0")
        );
    }

    #[test]
    fn global_profiles_list_the_region_less_model() {
        let global = InferenceProfileSummary::builder()
            .inference_profile_name("Global Claude Sonnet 4.5")
            .inference_profile_arn("arn:aws:bedrock:us-east-1:000000000000:inference-profile/global.anthropic.claude-sonnet-4-5-20250929-v1:0")
            .inference_profile_id("global.anthropic.claude-sonnet-4-5-20250929-v1:0")
            .status(InferenceProfileStatus::Active)
            .r#type(InferenceProfileType::SystemDefined)
            .models(InferenceProfileModel::builder().model_arn("arn:aws:bedrock:::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0").build())
            .models(InferenceProfileModel::builder().model_arn("arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0").build())
            .build()
            .expect("required fields are set");
        let catalog = normalise("us-east-1", &[], &[global]).catalog;
        let profile = &catalog.profiles[0];
        assert!(profile.routes_globally());
        assert!(profile.regions().is_empty());
        assert_eq!(profile.models.len(), 2);
    }

    #[test]
    fn unreadable_and_duplicate_entries_are_skipped_and_reported() {
        let odd = FoundationModelSummary::builder()
            .model_arn("arn:aws:bedrock:us-east-1::foundation-model/Odd_Model")
            .model_id("Odd_Model")
            .build()
            .expect("ARN and id are set");
        let mut bad_member = us_haiku_summary();
        bad_member.models.push(
            InferenceProfileModel::builder()
                .model_arn("arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123def456")
                .build(),
        );
        let normalised =
            normalise("us-east-1", &[haiku_summary(), odd, haiku_summary()], &[bad_member]);
        assert_eq!(normalised.catalog.models.len(), 1);
        assert_eq!(normalised.catalog.profiles[0].models.len(), 3, "the odd member is left out");
        let reasons: Vec<(&str, &str)> =
            normalised.skipped.iter().map(|s| (s.id.as_str(), s.reason.as_str())).collect();
        assert_eq!(reasons.len(), 3, "{reasons:#?}");
        assert!(
            reasons[0].0 == "Odd_Model" && reasons[0].1.contains("is not a Bedrock model id"),
            "{reasons:?}"
        );
        assert_eq!(
            reasons[1],
            ("anthropic.claude-3-5-haiku-20241022-v1:0", "listed twice; the first listing is kept")
        );
        assert!(
            reasons[2].1.contains("expected a foundation-model ARN, found a provisioned model ARN"),
            "{reasons:?}"
        );
    }
}
