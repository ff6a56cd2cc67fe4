//! The catalog's entries as the Bedrock control plane describes them: foundation models and
//! system-defined inference profiles, serialized exactly as `ListFoundationModels` /
//! `GetFoundationModel` / `ListInferenceProfiles` / `GetInferenceProfile` return them
//! (Bedrock API reference, "FoundationModelSummary", "FoundationModelDetails",
//! "InferenceProfileSummary").

use aws_smithy_types::date_time::{DateTime, Format};
use quarry::model::Geography;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares a wire enum with its exact Bedrock spelling, a list of all values and `as_str`.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value as Bedrock spells it on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),+
                }
            }

            /// The value spelled `s`, if any (exact, case-sensitive match as the service does).
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }
    };
}

wire_enum!(
    /// A model input or output modality. The API's filter accepts TEXT, IMAGE and EMBEDDING; the
    /// service also reports VIDEO (Nova Reel, Nova inputs) and SPEECH.
    Modality { Text = "TEXT", Image = "IMAGE", Embedding = "EMBEDDING", Video = "VIDEO", Speech = "SPEECH" }
);

wire_enum!(
    /// A way a model can be customized (`ModelCustomization`).
    Customization {
        FineTuning = "FINE_TUNING",
        ContinuedPreTraining = "CONTINUED_PRE_TRAINING",
        Distillation = "DISTILLATION",
    }
);

wire_enum!(
    /// How a model can be invoked. Newer models report only `INFERENCE_PROFILE`: they are invoked
    /// through a cross-Region inference profile, never by their bare model id.
    InferenceType { OnDemand = "ON_DEMAND", Provisioned = "PROVISIONED", InferenceProfile = "INFERENCE_PROFILE" }
);

wire_enum!(
    /// A model's lifecycle state (`FoundationModelLifecycleStatus`).
    LifecycleStatus { Active = "ACTIVE", Legacy = "LEGACY" }
);

wire_enum!(
    /// An inference profile's state (`InferenceProfileStatus`).
    ProfileStatus { Active = "ACTIVE" }
);

wire_enum!(
    /// Who defined an inference profile (`InferenceProfileType`).
    ProfileType { SystemDefined = "SYSTEM_DEFINED", Application = "APPLICATION" }
);

/// A point in time, read as RFC 3339 (offsets allowed) and written as RFC 3339 UTC — the
/// `date-time` timestamp format Bedrock uses for `createdAt`, `updatedAt` and lifecycle times.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timestamp(DateTime);

impl Timestamp {
    /// Parses an RFC 3339 date-time such as `2024-12-03T03:20:05.434989Z`.
    pub fn parse(s: &str) -> Option<Self> {
        DateTime::from_str(s, Format::DateTimeWithOffset).ok().map(Timestamp)
    }

    /// The instant, as the AWS SDKs represent it.
    pub fn date_time(&self) -> DateTime {
        self.0
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = self.0.fmt(Format::DateTime).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "expected an RFC 3339 date-time such as 2024-11-29T13:23:00Z, found {text:?}"
            ))
        })
    }
}

/// A model's lifecycle (`FoundationModelLifecycle`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModelLifecycle {
    pub status: LifecycleStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_of_life_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_of_life_time: Option<Timestamp>,
}

/// What a foundation model is and can do: every summary field except the Region-specific ARN.
/// This is also the shape of a model entry in the catalog data file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModelSpec {
    pub model_id: String,
    pub model_name: String,
    pub provider_name: String,
    pub input_modalities: Vec<Modality>,
    pub output_modalities: Vec<Modality>,
    pub response_streaming_supported: bool,
    pub customizations_supported: Vec<Customization>,
    pub inference_types_supported: Vec<InferenceType>,
    pub model_lifecycle: ModelLifecycle,
}

/// A foundation model in the catalog's Region. Serializes as a `FoundationModelSummary`, which
/// has the same fields as the `FoundationModelDetails` that GetFoundationModel returns.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FoundationModel {
    pub model_arn: String,
    #[serde(flatten)]
    pub spec: ModelSpec,
}

impl FoundationModel {
    /// The model id, e.g. `anthropic.claude-3-haiku-20240307-v1:0`.
    pub fn id(&self) -> &str {
        &self.spec.model_id
    }

    /// Whether the model can be invoked (or bought) this way.
    pub fn supports(&self, inference_type: InferenceType) -> bool {
        self.spec.inference_types_supported.contains(&inference_type)
    }

    /// The provider segment of the model id: `anthropic` for `anthropic.claude-...`.
    pub fn provider_key(&self) -> &str {
        self.id().split('.').next().unwrap_or_default()
    }
}

/// One model an inference profile routes to (`InferenceProfileModel`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileModel {
    pub model_arn: String,
}

/// A system-defined (cross-Region) inference profile as seen from the catalog's Region.
/// Serializes as an `InferenceProfileSummary`, which has the same fields as the
/// GetInferenceProfile response.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InferenceProfile {
    pub inference_profile_name: String,
    pub description: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub inference_profile_arn: String,
    pub models: Vec<ProfileModel>,
    pub inference_profile_id: String,
    pub status: ProfileStatus,
    #[serde(rename = "type")]
    pub profile_type: ProfileType,
    /// The foundation model every member ARN points at (not on the wire).
    #[serde(skip)]
    pub model_id: String,
    /// The Regions requests may be routed to; empty for a global profile, which may use any
    /// commercial Region (not on the wire).
    #[serde(skip)]
    pub destination_regions: Vec<String>,
}

impl InferenceProfile {
    /// The profile id, e.g. `us.anthropic.claude-3-5-haiku-20241022-v1:0`.
    pub fn id(&self) -> &str {
        &self.inference_profile_id
    }

    /// The geography prefix of the id: `us`, `eu`, `apac`, `global`, `jp`, `au`, `us-gov`.
    pub fn geography(&self) -> &str {
        self.id().split('.').next().unwrap_or_default()
    }

    /// Whether requests may be routed to any commercial Region.
    pub fn is_global(&self) -> bool {
        Geography::from_prefix(self.geography()).is_some_and(Geography::is_global)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_enums_serialize_to_the_spelling_as_str_reports() {
        fn check<T: Serialize + Copy>(all: &[T], as_str: fn(T) -> &'static str) {
            for value in all {
                let json = serde_json::to_value(value).expect("serializes");
                assert_eq!(json, as_str(*value));
            }
        }
        check(Modality::ALL, Modality::as_str);
        check(Customization::ALL, Customization::as_str);
        check(InferenceType::ALL, InferenceType::as_str);
        check(LifecycleStatus::ALL, LifecycleStatus::as_str);
        check(ProfileStatus::ALL, ProfileStatus::as_str);
        check(ProfileType::ALL, ProfileType::as_str);
        assert_eq!(
            InferenceType::parse("INFERENCE_PROFILE"),
            Some(InferenceType::InferenceProfile)
        );
        assert_eq!(InferenceType::parse("on_demand"), None);
    }

    #[test]
    fn timestamps_accept_offsets_and_fractions_and_are_written_in_utc() {
        // The captured ListInferenceProfiles response renders updatedAt with microseconds and an
        // explicit +00:00 offset; both must be read back as the same instant.
        let with_offset = Timestamp::parse("2024-12-03T03:20:05.434989+00:00").expect("offset");
        let with_zulu = Timestamp::parse("2024-12-03T03:20:05.434989Z").expect("zulu");
        assert_eq!(with_offset, with_zulu);
        let json = serde_json::to_value(with_offset).expect("serializes");
        let text = json.as_str().expect("a string");
        assert_eq!(text, "2024-12-03T03:20:05.434989Z");
        assert_eq!(Timestamp::parse(text), Some(with_offset));
        assert!(Timestamp::parse("2024-12-03").is_none());
        assert!(Timestamp::parse("yesterday").is_none());
    }

    #[test]
    fn a_foundation_model_serializes_with_the_summary_field_names() {
        let spec: ModelSpec = serde_json::from_value(serde_json::json!({
            "modelId": "anthropic.claude-3-haiku-20240307-v1:0",
            "modelName": "Claude 3 Haiku",
            "providerName": "Anthropic",
            "inputModalities": ["TEXT", "IMAGE"],
            "outputModalities": ["TEXT"],
            "responseStreamingSupported": true,
            "customizationsSupported": [],
            "inferenceTypesSupported": ["ON_DEMAND"],
            "modelLifecycle": {"status": "ACTIVE"}
        }))
        .expect("a model entry");
        let model = FoundationModel {
            model_arn:
                "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
                    .into(),
            spec,
        };
        let json = serde_json::to_value(&model).expect("serializes");
        let mut keys: Vec<&str> =
            json.as_object().expect("object").keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "customizationsSupported",
                "inferenceTypesSupported",
                "inputModalities",
                "modelArn",
                "modelId",
                "modelLifecycle",
                "modelName",
                "outputModalities",
                "providerName",
                "responseStreamingSupported"
            ]
        );
        assert_eq!(json["modelLifecycle"], serde_json::json!({"status": "ACTIVE"}));
        assert_eq!(model.provider_key(), "anthropic");
        assert!(model.supports(InferenceType::OnDemand));
        assert!(!model.supports(InferenceType::InferenceProfile));
    }

    #[test]
    fn an_unknown_field_in_a_model_entry_is_rejected() {
        let result: Result<ModelSpec, _> = serde_json::from_value(serde_json::json!({
            "modelId": "a.b", "modelName": "x", "providerName": "y",
            "inputModalities": [], "outputModalities": [], "responseStreamingSupported": true,
            "customizationsSupported": [], "inferenceTypesSupported": [],
            "modelLifecycle": {"status": "ACTIVE"}, "modelArn": "arn:aws:bedrock:us-east-1::foundation-model/a.b"
        }));
        let error = result.expect_err("modelArn is computed, never read");
        assert!(error.to_string().contains("modelArn"), "{error}");
    }
}
