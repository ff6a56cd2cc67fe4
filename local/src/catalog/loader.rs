//! The catalog data file: reading it, checking that it is consistent, and placing it in a Region
//! and account (building the ARNs and choosing the inference profiles that Region can use).
//!
//! The file is JSON: `models` are `FoundationModelSummary` objects without `modelArn`;
//! `inferenceProfiles` name a profile, its `destinationRegions` (omitted for `global.` profiles,
//! which may use any commercial Region) and optional `sourceRegions` (default: the destinations;
//! for global profiles: the file's `globalSourceRegions`). A profile is listed only in its source
//! Regions, as Bedrock lists `us.` profiles in us-east-1 but not in eu-west-1.

use std::collections::HashSet;
use std::path::PathBuf;

use quarry::model::{
    BaseModelId, Geography, GlobalFoundationModelArn, InferenceProfileId, ModelArn, Partition,
};
use serde::Deserialize;

use super::data::{
    FoundationModel, InferenceProfile, ModelSpec, ProfileModel, ProfileStatus, ProfileType,
    Timestamp,
};

/// Why a catalog could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read the catalog file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the catalog is not JSON of the expected shape: {0}")]
    Json(#[from] serde_json::Error),
    #[error(
        "expected an AWS Region code of the aws, aws-us-gov or aws-cn partition such as us-east-1, found {0:?}"
    )]
    InvalidRegion(String),
    #[error("expected a 12-digit AWS account id, found {0:?}")]
    InvalidAccountId(String),
    #[error(
        "expected a Bedrock model id such as anthropic.claude-3-haiku-20240307-v1:0, found {0:?}"
    )]
    InvalidModelId(String),
    #[error("model {0} is listed more than once")]
    DuplicateModel(String),
    #[error("inference profile {0} is listed more than once")]
    DuplicateProfile(String),
    #[error(
        "expected an inference profile id made of a geography ({prefixes}) and a model id, found {0:?}",
        prefixes = geography_prefixes()
    )]
    InvalidProfileId(String),
    #[error("inference profile {profile} routes to model {model}, which is not in the catalog")]
    UnknownProfileModel { profile: String, model: String },
    #[error("inference profile {profile}: {problem}")]
    InvalidProfileRegions { profile: String, problem: String },
}

/// The data file as written.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CatalogFile {
    /// Free text saying where the data comes from; not interpreted.
    #[serde(default, rename = "about")]
    _about: Option<String>,
    #[serde(default)]
    global_source_regions: Vec<String>,
    models: Vec<ModelSpec>,
    inference_profiles: Vec<ProfileRecord>,
}

/// One system-defined inference profile as written in the data file.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ProfileRecord {
    inference_profile_id: String,
    inference_profile_name: String,
    /// Defaults to Bedrock's wording: "Routes requests to {model} in {regions}."
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    source_regions: Vec<String>,
    #[serde(default)]
    destination_regions: Vec<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

/// A model entry whose id has been checked.
#[derive(Debug)]
struct CheckedModel {
    id: BaseModelId,
    spec: ModelSpec,
}

/// A profile record whose id, model and Regions have been checked.
#[derive(Debug)]
struct CheckedProfile {
    record: ProfileRecord,
    profile_id: InferenceProfileId,
    /// The foundation model in each destination Region; empty for a global profile.
    destination_models: Vec<ModelArn>,
    source_regions: Vec<String>,
}

/// The models and the profiles usable from one Region, ready to serve.
#[derive(Debug)]
pub struct Placed {
    pub models: Vec<FoundationModel>,
    pub profiles: Vec<InferenceProfile>,
}

/// Reads catalog JSON, checks it, and places it in `region` for `account_id`.
pub fn load(json: &str, region: &str, account_id: &str) -> Result<Placed, CatalogError> {
    let partition = Partition::of_region(region)
        .ok_or_else(|| CatalogError::InvalidRegion(region.to_owned()))?;
    if account_id.len() != 12 || !account_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CatalogError::InvalidAccountId(account_id.to_owned()));
    }
    let file: CatalogFile = serde_json::from_str(json)?;
    let (models, profiles) = check(file)?;
    Ok(place(models, profiles, Placement { partition, region, account_id }))
}

/// Checks ids, duplicates, Regions and that every profile routes to a model in the catalog.
fn check(file: CatalogFile) -> Result<(Vec<CheckedModel>, Vec<CheckedProfile>), CatalogError> {
    if let Some(bad) = file.global_source_regions.iter().find(|r| Partition::of_region(r).is_none())
    {
        return Err(CatalogError::InvalidRegion(bad.clone()));
    }
    let mut model_ids = HashSet::new();
    let mut models = Vec::with_capacity(file.models.len());
    for spec in file.models {
        let id: BaseModelId = spec
            .model_id
            .parse()
            .map_err(|_| CatalogError::InvalidModelId(spec.model_id.clone()))?;
        if !model_ids.insert(id.clone()) {
            return Err(CatalogError::DuplicateModel(spec.model_id));
        }
        models.push(CheckedModel { id, spec });
    }
    let mut profile_ids = HashSet::new();
    let mut checked = Vec::with_capacity(file.inference_profiles.len());
    for record in file.inference_profiles {
        let id = record.inference_profile_id.clone();
        if !profile_ids.insert(id.clone()) {
            return Err(CatalogError::DuplicateProfile(id));
        }
        let profile_id: InferenceProfileId =
            id.parse().map_err(|_| CatalogError::InvalidProfileId(id.clone()))?;
        let model_id = profile_id.base_model();
        if !model_ids.contains(model_id) {
            return Err(CatalogError::UnknownProfileModel {
                profile: id.clone(),
                model: model_id.to_string(),
            });
        }
        let global = profile_id.geography().is_global();
        let regions_problem = |problem: &str| CatalogError::InvalidProfileRegions {
            profile: id.clone(),
            problem: problem.to_owned(),
        };
        if global && !record.destination_regions.is_empty() {
            return Err(regions_problem(
                "a global profile routes to every commercial Region; omit destinationRegions",
            ));
        }
        if !global && record.destination_regions.is_empty() {
            return Err(regions_problem("expected destinationRegions, the Regions it routes to"));
        }
        let source_regions = match (record.source_regions.is_empty(), global) {
            (false, _) => record.source_regions.clone(),
            (true, true) => file.global_source_regions.clone(),
            (true, false) => record.destination_regions.clone(),
        };
        if source_regions.is_empty() {
            return Err(regions_problem(
                "expected sourceRegions (or globalSourceRegions for a global profile)",
            ));
        }
        if let Some(bad) = source_regions
            .iter()
            .chain(&record.destination_regions)
            .find(|r| Partition::of_region(r).is_none())
        {
            return Err(regions_problem(&format!("{bad:?} is not an AWS Region code")));
        }
        // Every destination has a partition: checked just above.
        let destination_models = record
            .destination_regions
            .iter()
            .filter_map(|r| {
                Some(ModelArn::foundation_model(Partition::of_region(r)?, r, model_id.clone()))
            })
            .collect();
        checked.push(CheckedProfile { record, profile_id, destination_models, source_regions });
    }
    Ok((models, checked))
}

/// The partition, Region and account the catalog is placed in.
#[derive(Debug, Clone, Copy)]
struct Placement<'a> {
    partition: Partition,
    region: &'a str,
    account_id: &'a str,
}

/// Builds ARNs for `region` and keeps the profiles whose source Regions include it.
fn place(models: Vec<CheckedModel>, profiles: Vec<CheckedProfile>, at: Placement<'_>) -> Placed {
    let models = models
        .into_iter()
        .map(|CheckedModel { id, spec }| FoundationModel {
            model_arn: ModelArn::foundation_model(at.partition, at.region, id).to_string(),
            spec,
        })
        .collect();
    let profiles = profiles
        .into_iter()
        .filter(|p| p.source_regions.iter().any(|r| r == at.region))
        .map(|p| place_profile(p, at))
        .collect();
    Placed { models, profiles }
}

fn place_profile(profile: CheckedProfile, at: Placement<'_>) -> InferenceProfile {
    let CheckedProfile { record, profile_id, destination_models, source_regions } = profile;
    let model_id = profile_id.base_model().clone();
    let global = profile_id.geography().is_global();
    let member_arns: Vec<String> = if global {
        vec![
            GlobalFoundationModelArn::new(at.partition, model_id.clone()).to_string(),
            ModelArn::foundation_model(at.partition, at.region, model_id.clone()).to_string(),
        ]
    } else {
        destination_models.iter().map(ModelArn::to_string).collect()
    };
    let description = record.description.unwrap_or_else(|| {
        let routed = model_label(&record.inference_profile_name);
        if global {
            format!("Routes requests to {routed} globally across all supported AWS Regions.")
        } else {
            format!("Routes requests to {routed} in {}.", join_regions(&source_regions))
        }
    });
    InferenceProfile {
        inference_profile_arn: ModelArn::inference_profile(
            at.partition,
            at.region,
            at.account_id,
            profile_id,
        )
        .to_string(),
        inference_profile_name: record.inference_profile_name,
        description,
        created_at: record.created_at,
        updated_at: record.updated_at,
        models: member_arns.into_iter().map(|model_arn| ProfileModel { model_arn }).collect(),
        inference_profile_id: record.inference_profile_id,
        status: ProfileStatus::Active,
        profile_type: ProfileType::SystemDefined,
        model_id: model_id.to_string(),
        destination_regions: record.destination_regions,
    }
}

/// The profile name without its geography word: "US Anthropic Claude 3.5 Haiku" → "Anthropic
/// Claude 3.5 Haiku", as Bedrock's descriptions say it.
fn model_label(profile_name: &str) -> &str {
    profile_name.split_once(' ').map_or(profile_name, |(_, rest)| rest)
}

/// The geography prefixes a profile id may start with: "us, us-gov, eu, …".
fn geography_prefixes() -> String {
    Geography::ALL.map(Geography::prefix).join(", ")
}

/// "a", "a and b", "a, b and c".
fn join_regions(regions: &[String]) -> String {
    match regions {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "000000000000";

    fn minimal(profiles: serde_json::Value) -> String {
        serde_json::json!({
            "globalSourceRegions": ["us-east-1", "eu-west-1"],
            "models": [{
                "modelId": "anthropic.claude-sonnet-4-20250514-v1:0", "modelName": "Claude Sonnet 4",
                "providerName": "Anthropic", "inputModalities": ["TEXT", "IMAGE"], "outputModalities": ["TEXT"],
                "responseStreamingSupported": true, "customizationsSupported": [],
                "inferenceTypesSupported": ["INFERENCE_PROFILE"], "modelLifecycle": {"status": "ACTIVE"}
            }],
            "inferenceProfiles": profiles
        })
        .to_string()
    }

    fn profile(id: &str, destinations: &[&str]) -> serde_json::Value {
        serde_json::json!({
            "inferenceProfileId": id, "inferenceProfileName": "US Claude Sonnet 4",
            "destinationRegions": destinations,
            "createdAt": "2025-05-20T00:00:00Z", "updatedAt": "2025-06-10T16:03:19.530762Z"
        })
    }

    #[test]
    fn a_geographic_profile_lists_its_destination_model_arns_and_bedrocks_description() {
        let json = minimal(serde_json::json!([profile(
            "us.anthropic.claude-sonnet-4-20250514-v1:0",
            &["us-east-1", "us-east-2", "us-west-2"]
        )]));
        let placed = load(&json, "us-east-2", ACCOUNT).expect("loads");
        assert_eq!(placed.profiles.len(), 1);
        let profile = &placed.profiles[0];
        assert_eq!(
            profile.inference_profile_arn,
            "arn:aws:bedrock:us-east-2:000000000000:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0"
        );
        let members: Vec<&str> = profile.models.iter().map(|m| m.model_arn.as_str()).collect();
        assert_eq!(
            members,
            [
                "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0",
                "arn:aws:bedrock:us-east-2::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0",
                "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0",
            ]
        );
        assert_eq!(
            profile.description,
            "Routes requests to Claude Sonnet 4 in us-east-1, us-east-2 and us-west-2."
        );
        assert_eq!(profile.model_id, "anthropic.claude-sonnet-4-20250514-v1:0");
        assert_eq!(
            placed.models[0].model_arn,
            "arn:aws:bedrock:us-east-2::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0"
        );
    }

    #[test]
    fn a_profile_is_listed_only_in_its_source_regions() {
        let json = minimal(serde_json::json!([profile(
            "us.anthropic.claude-sonnet-4-20250514-v1:0",
            &["us-east-1"]
        )]));
        assert_eq!(load(&json, "us-east-1", ACCOUNT).expect("loads").profiles.len(), 1);
        assert_eq!(load(&json, "eu-west-1", ACCOUNT).expect("loads").profiles.len(), 0);
    }

    #[test]
    fn a_global_profile_routes_to_the_regionless_and_the_source_region_model() {
        let mut global = profile("global.anthropic.claude-sonnet-4-20250514-v1:0", &[]);
        global["inferenceProfileName"] = "Global Claude Sonnet 4".into();
        let json = minimal(serde_json::json!([global]));
        let placed = load(&json, "eu-west-1", ACCOUNT).expect("loads");
        let members: Vec<&str> =
            placed.profiles[0].models.iter().map(|m| m.model_arn.as_str()).collect();
        assert_eq!(
            members,
            [
                "arn:aws:bedrock:::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0",
                "arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0",
            ]
        );
        assert_eq!(
            placed.profiles[0].description,
            "Routes requests to Claude Sonnet 4 globally across all supported AWS Regions."
        );
        assert_eq!(load(&json, "ap-south-1", ACCOUNT).expect("loads").profiles.len(), 0);
    }

    #[test]
    fn a_profile_for_a_model_missing_from_the_catalog_is_rejected() {
        let json = minimal(serde_json::json!([profile(
            "us.anthropic.claude-opus-9-v1:0",
            &["us-east-1"]
        )]));
        let error = load(&json, "us-east-1", ACCOUNT).expect_err("the model is missing");
        assert!(matches!(error, CatalogError::UnknownProfileModel { .. }), "{error:?}");
        assert_eq!(
            error.to_string(),
            "inference profile us.anthropic.claude-opus-9-v1:0 routes to model anthropic.claude-opus-9-v1:0, which is not in the catalog"
        );
    }

    #[test]
    fn inconsistent_files_are_rejected_with_the_reason() {
        let id = "us.anthropic.claude-sonnet-4-20250514-v1:0";
        let cases = [
            (minimal(serde_json::json!([profile(id, &[])])), "destinationRegions"),
            (
                minimal(serde_json::json!([
                    profile(id, &["us-east-1"]),
                    profile(id, &["us-east-1"])
                ])),
                "more than once",
            ),
            (
                minimal(serde_json::json!([profile(
                    "xx.anthropic.claude-sonnet-4-20250514-v1:0",
                    &["us-east-1"]
                )])),
                "geography",
            ),
            (minimal(serde_json::json!([profile(id, &["Virginia"])])), "not an AWS Region"),
            (minimal(serde_json::json!([{"inferenceProfileId": id}])), "missing field"),
        ];
        for (json, expected) in cases {
            let error = load(&json, "us-east-1", ACCOUNT).expect_err(expected);
            assert!(error.to_string().contains(expected), "{error} should mention {expected}");
        }
    }

    #[test]
    fn region_and_account_are_checked() {
        let json = minimal(serde_json::json!([]));
        assert!(matches!(load(&json, "moon-base", ACCOUNT), Err(CatalogError::InvalidRegion(_))));
        assert!(matches!(
            load(&json, "us-east-1", "12345"),
            Err(CatalogError::InvalidAccountId(_))
        ));
    }

    #[test]
    fn region_lists_read_as_bedrock_writes_them() {
        let regions =
            |list: &[&str]| join_regions(&list.iter().map(|r| r.to_string()).collect::<Vec<_>>());
        assert_eq!(regions(&["us-east-1"]), "us-east-1");
        assert_eq!(regions(&["us-east-1", "us-west-2"]), "us-east-1 and us-west-2");
        assert_eq!(
            regions(&["us-west-2", "us-east-1", "us-east-2"]),
            "us-west-2, us-east-1 and us-east-2"
        );
        assert_eq!(model_label("US-GOV Anthropic Claude 3 Haiku"), "Anthropic Claude 3 Haiku");
    }
}
