//! The catalog document: the foundation models and inference profiles of one region, in a stable
//! JSON form (entries and lists sorted) whose SHA-256 — taken without the volatile sync time — says
//! whether two catalogs hold the same content; and the lookups the invoke API makes on it.

use std::fmt;

use aws_smithy_types::date_time::{DateTime, Format};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{BaseModelId, ModelId};

/// The document format this code writes and reads (`version` in the JSON).
pub const CATALOG_FORMAT_VERSION: u32 = 1;

/// Why a stored catalog document cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The bytes are not a catalog document.
    #[error(
        "the catalog document is not valid: {0}; expected the JSON catalog-sync writes (`version`, `region`, `models`, `profiles`)"
    )]
    Json(#[from] serde_json::Error),
    /// The document was written in another format version.
    #[error(
        "the catalog document has format version {found}, this code reads version {CATALOG_FORMAT_VERSION}"
    )]
    Version { found: u32 },
}

/// The models and inference profiles Bedrock lists in one region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Catalog {
    /// The document format ([`CATALOG_FORMAT_VERSION`]).
    pub version: u32,
    /// When this content was synced (RFC 3339). Volatile: not part of the content hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_at: Option<String>,
    /// The region the listing was made in.
    pub region: String,
    /// Foundation models, sorted by id.
    pub models: Vec<CatalogModel>,
    /// Inference profiles, sorted by id.
    pub profiles: Vec<CatalogProfile>,
}

/// A foundation model (`FoundationModelSummary`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogModel {
    /// The model id, e.g. `anthropic.claude-3-5-haiku-20241022-v1:0`.
    pub id: BaseModelId,
    /// The provider's name as Bedrock writes it (`Anthropic`, `Amazon`, …).
    pub provider: String,
    /// The display name (`Claude 3.5 Haiku`).
    pub name: String,
    /// Input modalities (`TEXT`, `IMAGE`, …), sorted.
    pub input_modalities: Vec<String>,
    /// Output modalities (`TEXT`, `EMBEDDING`, …), sorted.
    pub output_modalities: Vec<String>,
    /// Whether responses can be streamed.
    pub streaming: bool,
    /// How it can be invoked (`ON_DEMAND`, `PROVISIONED`, `INFERENCE_PROFILE`), sorted.
    pub inference_types: Vec<String>,
    /// Where it is in its lifecycle.
    pub lifecycle: Lifecycle,
}

/// A model's lifecycle (`FoundationModelLifecycle`); times are RFC 3339.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lifecycle {
    /// `ACTIVE`, `LEGACY`, or a status Bedrock adds later.
    pub status: LifecycleStatus,
    /// When the model launched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_of_life_time: Option<String>,
    /// When it became (or becomes) LEGACY.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy_time: Option<String>,
    /// When calls to it stop working.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_of_life_time: Option<String>,
}

/// Bedrock's `FoundationModelLifecycleStatus`, keeping values newer than this code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum LifecycleStatus {
    /// `ACTIVE`: the provider maintains the model.
    Active,
    /// `LEGACY`: scheduled for end of life; move to a newer model.
    Legacy,
    /// Any other status, as Bedrock spells it.
    Other(String),
}

impl LifecycleStatus {
    /// The status as Bedrock spells it.
    pub fn as_str(&self) -> &str {
        match self {
            LifecycleStatus::Active => "ACTIVE",
            LifecycleStatus::Legacy => "LEGACY",
            LifecycleStatus::Other(status) => status,
        }
    }

    /// Whether the model is on its way out (anything but `ACTIVE`).
    pub fn is_retiring(&self) -> bool {
        *self != LifecycleStatus::Active
    }
}

impl From<String> for LifecycleStatus {
    fn from(status: String) -> Self {
        match status.as_str() {
            "ACTIVE" => LifecycleStatus::Active,
            "LEGACY" => LifecycleStatus::Legacy,
            _ => LifecycleStatus::Other(status),
        }
    }
}

impl From<LifecycleStatus> for String {
    fn from(status: LifecycleStatus) -> String {
        status.as_str().to_owned()
    }
}

impl fmt::Display for LifecycleStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An inference profile (`InferenceProfileSummary`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogProfile {
    /// What callers name it by: the profile id of a system-defined profile
    /// (`us.anthropic.claude-3-5-haiku-20241022-v1:0`), the ARN of an application profile.
    pub id: ModelId,
    /// The profile's ARN in the listing's region and account.
    pub arn: String,
    /// The display name (`US Anthropic Claude 3.5 Haiku`).
    pub name: String,
    /// `SYSTEM_DEFINED` or `APPLICATION`.
    #[serde(rename = "type")]
    pub profile_type: String,
    /// `ACTIVE` (the only status Bedrock reports today).
    pub status: String,
    /// The foundation models it routes to, one per region, sorted by ARN.
    pub models: Vec<ProfileMember>,
}

/// One model an inference profile routes to (`InferenceProfileModel`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileMember {
    /// The member's foundation-model ARN, as Bedrock lists it.
    pub arn: String,
    /// The region it runs in; `None` for the region-less ARN of a global profile, which may run
    /// in any commercial region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The foundation model.
    pub model: BaseModelId,
}

/// What the catalog says about one model id, for listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntry<'a> {
    /// The display name: the profile's name for an inference profile, else the model's.
    pub name: &'a str,
    /// The underlying foundation model's lifecycle, when the catalog lists that model.
    pub lifecycle: Option<&'a Lifecycle>,
    /// Where calls run: a profile's member regions, a base model's region. Empty for a global
    /// profile (any commercial region).
    pub regions: Vec<String>,
    /// When the underlying model launched, Unix seconds.
    pub launched: Option<u64>,
}

impl Catalog {
    /// A catalog of `region` in canonical order (entries sorted, lists sorted and deduplicated).
    pub fn new(
        region: impl Into<String>,
        models: Vec<CatalogModel>,
        profiles: Vec<CatalogProfile>,
    ) -> Self {
        let mut catalog = Catalog {
            version: CATALOG_FORMAT_VERSION,
            synced_at: None,
            region: region.into(),
            models,
            profiles,
        };
        catalog.canonicalise();
        catalog
    }

    /// Reads a stored document (in any order; it is put in canonical order).
    pub fn from_json(bytes: &[u8]) -> Result<Self, CatalogError> {
        #[derive(Deserialize)]
        struct Version {
            version: u32,
        }
        let Version { version } = serde_json::from_slice(bytes)?;
        if version != CATALOG_FORMAT_VERSION {
            return Err(CatalogError::Version { found: version });
        }
        let mut catalog: Catalog = serde_json::from_slice(bytes)?;
        catalog.canonicalise();
        Ok(catalog)
    }

    /// The document to store: pretty JSON in canonical order, with the sync time.
    pub fn to_json(&self) -> Vec<u8> {
        let mut canonical = self.clone();
        canonical.canonicalise();
        // Strings, numbers, booleans and string-keyed structs always serialize.
        serde_json::to_vec_pretty(&canonical).unwrap_or_default()
    }

    /// The hex SHA-256 of the canonical content: everything but the sync time. Two catalogs
    /// have the same hash exactly when they list the same models and profiles.
    pub fn content_hash(&self) -> String {
        #[derive(Serialize)]
        struct Content<'a> {
            version: u32,
            region: &'a str,
            models: &'a [CatalogModel],
            profiles: &'a [CatalogProfile],
        }
        let mut canonical = self.clone();
        canonical.canonicalise();
        let content = Content {
            version: canonical.version,
            region: &canonical.region,
            models: &canonical.models,
            profiles: &canonical.profiles,
        };
        let json = serde_json::to_vec(&content).unwrap_or_default();
        hex::encode(Sha256::digest(&json))
    }

    /// The foundation model with this id.
    pub fn model(&self, id: &BaseModelId) -> Option<&CatalogModel> {
        self.models.binary_search_by(|m| m.id.cmp(id)).ok().and_then(|i| self.models.get(i))
    }

    /// The inference profile `id` names: a system profile by id or by ARN (in any region or
    /// account), an application profile by its ARN.
    pub fn profile(&self, id: &ModelId) -> Option<&CatalogProfile> {
        match id.inference_profile() {
            Some(wanted) => self.profiles.iter().find(|p| p.id.inference_profile() == Some(wanted)),
            None => {
                let text = id.to_string();
                self.profiles.iter().find(|p| p.id == *id || p.arn == text)
            }
        }
    }

    /// Whether Bedrock lists what `id` names: the profile for profile ids and ARNs, the
    /// foundation model for base ids and foundation-model ARNs. Provisioned, custom and imported
    /// model ARNs are never listed, so they are unknown here.
    pub fn knows(&self, id: &ModelId) -> bool {
        if self.profile(id).is_some() {
            return true;
        }
        id.inference_profile().is_none()
            && id.base_model().is_some_and(|base| self.model(base).is_some())
    }

    /// What the catalog says about `id` (see [`CatalogEntry`]); `None` when it does not list it.
    pub fn entry(&self, id: &ModelId) -> Option<CatalogEntry<'_>> {
        if let Some(profile) = self.profile(id) {
            let model = profile.base_model().and_then(|base| self.model(base));
            return Some(CatalogEntry {
                name: &profile.name,
                lifecycle: model.map(|m| &m.lifecycle),
                regions: profile.regions().into_iter().map(str::to_owned).collect(),
                launched: model.and_then(CatalogModel::launched),
            });
        }
        if id.inference_profile().is_some() {
            return None;
        }
        let model = self.model(id.base_model()?)?;
        Some(CatalogEntry {
            name: &model.name,
            lifecycle: Some(&model.lifecycle),
            regions: vec![id.region().unwrap_or(&self.region).to_owned()],
            launched: model.launched(),
        })
    }

    /// Puts entries and their lists in canonical order, so equal content serializes equally.
    fn canonicalise(&mut self) {
        for model in &mut self.models {
            for list in [
                &mut model.input_modalities,
                &mut model.output_modalities,
                &mut model.inference_types,
            ] {
                list.sort_unstable();
                list.dedup();
            }
        }
        self.models.sort_by(|a, b| a.id.cmp(&b.id));
        self.models.dedup_by(|a, b| a.id == b.id);
        for profile in &mut self.profiles {
            profile.models.sort_unstable();
            profile.models.dedup();
        }
        self.profiles.sort_by_cached_key(|p| p.id.to_string());
        self.profiles.dedup_by(|a, b| a.id == b.id);
    }
}

impl CatalogModel {
    /// When the model launched, Unix seconds.
    pub fn launched(&self) -> Option<u64> {
        let time = self.lifecycle.start_of_life_time.as_deref()?;
        let parsed = DateTime::from_str(time, Format::DateTimeWithOffset).ok()?;
        u64::try_from(parsed.secs()).ok()
    }
}

impl CatalogProfile {
    /// The regions its members run in, sorted; empty for a global profile, which routes to any
    /// commercial region.
    pub fn regions(&self) -> Vec<&str> {
        if self.routes_globally() {
            return Vec::new();
        }
        let mut regions: Vec<&str> =
            self.models.iter().filter_map(|m| m.region.as_deref()).collect();
        regions.sort_unstable();
        regions.dedup();
        regions
    }

    /// Whether a member is the region-less model of a global profile.
    pub fn routes_globally(&self) -> bool {
        self.models.iter().any(|m| m.region.is_none())
    }

    /// The foundation model it routes to (the first member's; all members are one model).
    pub fn base_model(&self) -> Option<&BaseModelId> {
        self.id.base_model().or_else(|| self.models.first().map(|m| &m.model))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn base(id: &str) -> BaseModelId {
        id.parse().expect("a base model id")
    }

    fn model_id(id: &str) -> ModelId {
        id.parse().expect("a model id")
    }

    /// Claude 3.5 Haiku as ListFoundationModels lists it today: LEGACY, with its end-of-life
    /// date (quarry-local's snapshot of the Bedrock listing, local/data/catalog.json, taken from the
    /// Bedrock User Guide's "Model lifecycle" page,
    /// https://docs.aws.amazon.com/bedrock/latest/userguide/model-lifecycle.html).
    pub(crate) fn haiku() -> CatalogModel {
        CatalogModel {
            id: base("anthropic.claude-3-5-haiku-20241022-v1:0"),
            provider: "Anthropic".into(),
            name: "Claude 3.5 Haiku".into(),
            input_modalities: vec!["TEXT".into()],
            output_modalities: vec!["TEXT".into()],
            streaming: true,
            inference_types: vec!["INFERENCE_PROFILE".into()],
            lifecycle: Lifecycle {
                status: LifecycleStatus::Legacy,
                start_of_life_time: None,
                legacy_time: None,
                end_of_life_time: Some("2026-06-19T00:00:00Z".into()),
            },
        }
    }

    /// Nova Lite, from the same snapshot.
    pub(crate) fn nova_lite() -> CatalogModel {
        CatalogModel {
            id: base("amazon.nova-lite-v1:0"),
            provider: "Amazon".into(),
            name: "Nova Lite".into(),
            input_modalities: vec!["VIDEO".into(), "IMAGE".into(), "TEXT".into()],
            output_modalities: vec!["TEXT".into()],
            streaming: true,
            inference_types: vec!["ON_DEMAND".into()],
            lifecycle: Lifecycle {
                status: LifecycleStatus::Active,
                start_of_life_time: None,
                legacy_time: None,
                end_of_life_time: None,
            },
        }
    }

    /// The US Claude 3.5 Haiku profile as ListInferenceProfiles returned it (captured response,
    /// local/tests/fixtures/catalog/list_inference_profiles_us_east_2.json).
    pub(crate) fn us_haiku() -> CatalogProfile {
        let member = |region: &str| ProfileMember {
            arn: format!(
                "arn:aws:bedrock:{region}::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0"
            ),
            region: Some(region.into()),
            model: base("anthropic.claude-3-5-haiku-20241022-v1:0"),
        };
        CatalogProfile {
            id: model_id("us.anthropic.claude-3-5-haiku-20241022-v1:0"),
            arn: "arn:aws:bedrock:us-east-2:000000000000:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0".into(),
            name: "US Anthropic Claude 3.5 Haiku".into(),
            profile_type: "SYSTEM_DEFINED".into(),
            status: "ACTIVE".into(),
            models: vec![member("us-west-2"), member("us-east-1"), member("us-east-2")],
        }
    }

    /// A global profile: the region-less model ARN next to the source region's (Bedrock User
    /// Guide, "Global cross-Region inference").
    pub(crate) fn global_sonnet() -> CatalogProfile {
        let sonnet = base("anthropic.claude-sonnet-4-5-20250929-v1:0");
        CatalogProfile {
            id: model_id("global.anthropic.claude-sonnet-4-5-20250929-v1:0"),
            arn: "arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.anthropic.claude-sonnet-4-5-20250929-v1:0".into(),
            name: "Global Claude Sonnet 4.5".into(),
            profile_type: "SYSTEM_DEFINED".into(),
            status: "ACTIVE".into(),
            models: vec![
                ProfileMember {
                    arn: format!("arn:aws:bedrock:::foundation-model/{sonnet}"),
                    region: None,
                    model: sonnet.clone(),
                },
                ProfileMember {
                    arn: format!("arn:aws:bedrock:us-east-1::foundation-model/{sonnet}"),
                    region: Some("us-east-1".into()),
                    model: sonnet,
                },
            ],
        }
    }

    pub(crate) fn catalog() -> Catalog {
        Catalog::new("us-east-1", vec![nova_lite(), haiku()], vec![us_haiku(), global_sonnet()])
    }

    #[test]
    fn the_content_hash_ignores_order_and_sync_time_but_not_content() {
        let a = catalog();
        let mut b = Catalog::new(
            "us-east-1",
            vec![haiku(), nova_lite()],
            vec![global_sonnet(), us_haiku()],
        );
        b.synced_at = Some("2025-06-01T03:00:00Z".into());
        b.models[0].input_modalities.reverse();
        b.profiles[1].models.reverse();
        assert_eq!(a.content_hash(), b.content_hash());
        assert_eq!(a.content_hash().len(), 64, "hex SHA-256");

        let mut legacy = a.clone();
        legacy.models[0].lifecycle.status = LifecycleStatus::Legacy;
        assert_ne!(a.content_hash(), legacy.content_hash());
        let mut fewer = a.clone();
        fewer.profiles.pop();
        assert_ne!(a.content_hash(), fewer.content_hash());
    }

    #[test]
    fn the_document_round_trips_sorted_with_its_sync_time() {
        let mut catalog = catalog();
        catalog.synced_at = Some("2025-06-01T03:00:00Z".into());
        let json = catalog.to_json();
        let value: serde_json::Value = serde_json::from_slice(&json).expect("JSON");
        assert_eq!(value["version"], 1);
        assert_eq!(value["syncedAt"], "2025-06-01T03:00:00Z");
        assert_eq!(value["models"][0]["id"], "amazon.nova-lite-v1:0");
        assert_eq!(
            value["models"][0]["inputModalities"],
            serde_json::json!(["IMAGE", "TEXT", "VIDEO"])
        );
        assert_eq!(value["models"][1]["lifecycle"]["status"], "LEGACY");
        assert_eq!(value["models"][1]["lifecycle"]["endOfLifeTime"], "2026-06-19T00:00:00Z");
        assert_eq!(value["profiles"][0]["id"], "global.anthropic.claude-sonnet-4-5-20250929-v1:0");
        assert_eq!(value["profiles"][0]["type"], "SYSTEM_DEFINED");
        assert!(value["profiles"][0]["models"][0].get("region").is_none(), "global member");
        let read = Catalog::from_json(&json).expect("reads back");
        assert_eq!(read, catalog);
    }

    #[test]
    fn unreadable_documents_say_what_was_expected() {
        let err = Catalog::from_json(b"<html>").expect_err("not JSON");
        assert!(err.to_string().starts_with("the catalog document is not valid: "), "{err}");
        let err = Catalog::from_json(br#"{"version": 2, "region": "us-east-1"}"#)
            .expect_err("a newer format");
        assert_eq!(
            err.to_string(),
            "the catalog document has format version 2, this code reads version 1"
        );
        let err = Catalog::from_json(
            br#"{"version": 1, "region": "us-east-1", "models": [{"id": "Not An Id"}], "profiles": []}"#,
        )
        .expect_err("a bad id");
        assert!(
            err.to_string().contains("models[0]") || err.to_string().contains("Not An Id"),
            "{err}"
        );
    }

    #[test]
    fn knows_profiles_by_id_or_arn_and_models_by_id_or_arn() {
        let catalog = catalog();
        for known in [
            "amazon.nova-lite-v1:0",
            "arn:aws:bedrock:eu-west-1::foundation-model/amazon.nova-lite-v1:0",
            "us.anthropic.claude-3-5-haiku-20241022-v1:0",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0",
            "anthropic.claude-3-5-haiku-20241022-v1:0",
        ] {
            assert!(catalog.knows(&model_id(known)), "{known}");
        }
        for unknown in [
            "amazon.nova-pro-v1:0",
            // The model is listed, but not this profile of it.
            "eu.anthropic.claude-3-5-haiku-20241022-v1:0",
            "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123def456",
        ] {
            assert!(!catalog.knows(&model_id(unknown)), "{unknown}");
        }
    }

    #[test]
    fn entries_give_profile_regions_names_and_lifecycle() {
        let catalog = catalog();
        let profile = catalog
            .entry(&model_id("us.anthropic.claude-3-5-haiku-20241022-v1:0"))
            .expect("listed");
        assert_eq!(profile.name, "US Anthropic Claude 3.5 Haiku");
        assert_eq!(profile.regions, ["us-east-1", "us-east-2", "us-west-2"]);
        assert_eq!(profile.lifecycle.map(|l| &l.status), Some(&LifecycleStatus::Legacy));
        assert_eq!(profile.launched, None, "the listing gives no start of life");

        let global = catalog
            .entry(&model_id("global.anthropic.claude-sonnet-4-5-20250929-v1:0"))
            .expect("listed");
        assert!(global.regions.is_empty(), "any commercial region");
        assert_eq!(global.lifecycle, None, "the base model is not in this catalog");

        let base = catalog.entry(&model_id("amazon.nova-lite-v1:0")).expect("listed");
        assert_eq!(base.name, "Nova Lite");
        assert_eq!(base.regions, ["us-east-1"]);
        assert!(catalog.entry(&model_id("eu.anthropic.claude-3-5-haiku-20241022-v1:0")).is_none());
    }

    #[test]
    fn the_launch_time_is_read_from_the_start_of_life() {
        let mut model = nova_lite();
        // FoundationModelLifecycle.startOfLifeTime is an RFC 3339 `date-time` (API reference).
        model.lifecycle.start_of_life_time = Some("2024-12-03T00:00:00Z".into());
        assert_eq!(model.launched(), Some(1_733_184_000));
        model.lifecycle.start_of_life_time = Some("soon".into());
        assert_eq!(model.launched(), None);
    }

    #[test]
    fn lifecycle_statuses_keep_values_newer_than_this_code() {
        let status: LifecycleStatus = serde_json::from_str("\"EOL\"").expect("a string");
        assert_eq!(status, LifecycleStatus::Other("EOL".into()));
        assert!(status.is_retiring());
        assert_eq!(serde_json::to_string(&status).expect("serializes"), "\"EOL\"");
        assert!(!LifecycleStatus::Active.is_retiring());
        assert!(LifecycleStatus::Legacy.is_retiring());
    }
}
