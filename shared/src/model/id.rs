//! Model ids: every form Bedrock's `modelId` accepts — base model ids, system-defined cross-region
//! inference profile ids, and Bedrock ARNs — parsed into one typed [`ModelId`].
//!
//! Shapes follow the `modelId` pattern of the Bedrock Runtime API reference (InvokeModel) and the
//! foundation-model ARN pattern of `InferenceProfileModel.modelArn`:
//! `[a-z0-9-]{1,63}[.]([a-z0-9-]{1,63}[.]){0,2}[a-z0-9-]{1,63}([:][a-z0-9-]{1,63}){0,2}`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::model::arn::{ModelArn, ModelResource};
use crate::model::family::{Family, FamilyError};
use crate::model::geography::Geography;

/// What every accepted form looks like, for error messages.
const EXPECTED: &str = "expected `provider.model-name[:version]` (e.g. `anthropic.claude-3-5-sonnet-20240620-v1:0`), \
an inference profile id like `us.anthropic.claude-3-5-haiku-20241022-v1:0`, or a Bedrock ARN \
(`arn:aws:bedrock:{region}:{account}:{resource-type}/{id}`)";

/// Why a string is not a model id Bedrock accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelIdError {
    /// The id is empty.
    #[error("the model id is empty; {}", EXPECTED)]
    Empty,
    /// The id is not a base model id, profile id or ARN.
    #[error("`{id}` is not a Bedrock model id: {problem}; {}", EXPECTED)]
    Malformed { id: String, problem: String },
    /// The id is a Bedrock ARN, but not one that names an invocable model.
    #[error(
        "`{arn}` is not a Bedrock model ARN: {problem}; expected `arn:{{aws|aws-us-gov|aws-cn}}:bedrock:{{region}}:{{account}}:{{resource-type}}/{{id}}` \
with resource type foundation-model (no account), inference-profile, application-inference-profile, \
provisioned-model, custom-model, custom-model-deployment or imported-model"
    )]
    Arn { arn: String, problem: String },
    /// The string is not a region-less global foundation-model ARN.
    #[error(
        "`{arn}` is not a global foundation-model ARN: {problem}; expected `arn:{{aws|aws-us-gov|aws-cn}}:bedrock:::foundation-model/{{base-model-id}}`"
    )]
    GlobalArn { arn: String, problem: String },
}

/// A base (foundation) model id: `provider.model-name[:version[:context]]`, e.g.
/// `anthropic.claude-3-5-sonnet-20240620-v1:0`, `amazon.titan-text-express-v1`,
/// `anthropic.claude-3-haiku-20240307-v1:0:200k` (a Provisioned Throughput context variant).
/// Serialized as that string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BaseModelId(String);

impl BaseModelId {
    /// The id as Bedrock writes it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The provider (`anthropic`, `amazon`, `meta`, …).
    pub fn provider(&self) -> &str {
        self.0.split('.').next().unwrap_or_default()
    }

    /// The model name without provider and version (`claude-3-5-sonnet-20240620-v1`).
    pub fn name(&self) -> &str {
        let without_version = self.0.split(':').next().unwrap_or_default();
        without_version.split_once('.').map_or(without_version, |(_, name)| name)
    }

    /// The version after the first `:` (`0` in `…-v1:0`), if any.
    pub fn version(&self) -> Option<&str> {
        self.0.split(':').nth(1)
    }

    /// The context-length variant after a second `:` (`200k` in `…-v1:0:200k`), which Bedrock
    /// lists for Provisioned Throughput.
    pub fn context_variant(&self) -> Option<&str> {
        self.0.split(':').nth(2)
    }

    /// The family quarry's native adapters use for this model.
    pub fn family(&self) -> Result<Family, FamilyError> {
        Family::of_base_model(&self.0)
            .ok_or_else(|| FamilyError::NoNativeAdapter { model: self.0.clone() })
    }
}

impl FromStr for BaseModelId {
    type Err = ModelIdError;

    fn from_str(id: &str) -> Result<Self, ModelIdError> {
        if id.is_empty() {
            return Err(ModelIdError::Empty);
        }
        match base_model_problem(id) {
            None => Ok(BaseModelId(id.to_owned())),
            Some(problem) => Err(ModelIdError::Malformed { id: id.to_owned(), problem }),
        }
    }
}

/// What is wrong with `id` as a base model id, or `None` when it is one.
fn base_model_problem(id: &str) -> Option<String> {
    let mut parts = id.split(':');
    let model = parts.next().unwrap_or_default();
    let versions: Vec<&str> = parts.collect();
    if versions.len() > 2 {
        return Some("it has more than two `:` version parts".to_owned());
    }
    let dotted: Vec<&str> = model.split('.').collect();
    if dotted.len() < 2 {
        return Some("there is no `.` between provider and model name".to_owned());
    }
    if dotted.len() > 4 {
        return Some("it has more than three `.` separators".to_owned());
    }
    dotted.iter().chain(versions.iter()).find_map(|segment| segment_problem(segment))
}

/// What is wrong with one `.`/`:`-separated segment of an id.
fn segment_problem(segment: &str) -> Option<String> {
    if segment.is_empty() {
        return Some("it has an empty part between separators".to_owned());
    }
    if segment.len() > 63 {
        return Some(format!("part `{segment}` is longer than 63 characters"));
    }
    segment
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        .map(|c| format!("`{c}` is not allowed (ids use lowercase letters, digits and `-`)"))
}

/// A system-defined cross-region inference profile id: a geography prefix and a base model id,
/// e.g. `us.anthropic.claude-3-5-haiku-20241022-v1:0` or
/// `global.anthropic.claude-sonnet-4-5-20250929-v1:0`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InferenceProfileId {
    geography: Geography,
    base: BaseModelId,
}

impl InferenceProfileId {
    /// The profile of `base` in `geography`.
    pub fn new(geography: Geography, base: BaseModelId) -> Self {
        InferenceProfileId { geography, base }
    }

    /// The geography named by the prefix.
    pub fn geography(&self) -> Geography {
        self.geography
    }

    /// The base model the profile routes to.
    pub fn base_model(&self) -> &BaseModelId {
        &self.base
    }
}

impl fmt::Display for InferenceProfileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.geography.prefix(), self.base.as_str())
    }
}

impl FromStr for InferenceProfileId {
    type Err = ModelIdError;

    fn from_str(id: &str) -> Result<Self, ModelIdError> {
        if id.is_empty() {
            return Err(ModelIdError::Empty);
        }
        let (prefix, rest) = id.split_once('.').unwrap_or((id, ""));
        let geography = Geography::from_prefix(prefix).ok_or_else(|| ModelIdError::Malformed {
            id: id.to_owned(),
            problem: format!(
                "`{prefix}` is not a cross-region inference profile prefix (known: {})",
                known_prefixes()
            ),
        })?;
        if rest.is_empty() {
            return Err(ModelIdError::Malformed {
                id: id.to_owned(),
                problem: format!("no base model id follows the `{prefix}.` prefix"),
            });
        }
        let base = profile_base(id, rest)?;
        Ok(InferenceProfileId { geography, base })
    }
}

/// The base model id after a geography prefix, with errors naming the whole profile id.
fn profile_base(id: &str, rest: &str) -> Result<BaseModelId, ModelIdError> {
    match base_model_problem(rest) {
        None => Ok(BaseModelId(rest.to_owned())),
        Some(problem) => Err(ModelIdError::Malformed {
            id: id.to_owned(),
            problem: format!("after the inference profile prefix, {problem}"),
        }),
    }
}

fn known_prefixes() -> String {
    Geography::ALL.iter().map(|g| format!("`{}.`", g.prefix())).collect::<Vec<_>>().join(", ")
}

/// Any model id Bedrock's InvokeModel / Converse accept as `modelId`.
///
/// Serialized as the string Bedrock accepts; `Display` writes it back exactly.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ModelId {
    /// A base model id: `anthropic.claude-3-5-sonnet-20240620-v1:0`.
    Base(BaseModelId),
    /// A system-defined cross-region inference profile id: `eu.amazon.nova-pro-v1:0`.
    InferenceProfile(InferenceProfileId),
    /// A Bedrock ARN (foundation model, inference profile, provisioned model, …).
    Arn(ModelArn),
}

impl ModelId {
    /// The base model the id invokes, where the id says it: base ids, system inference profile
    /// ids, foundation-model ARNs and system inference-profile ARNs. `None` for application
    /// inference profiles, provisioned, custom and imported models (their ids are opaque).
    pub fn base_model(&self) -> Option<&BaseModelId> {
        match self {
            ModelId::Base(base) => Some(base),
            ModelId::InferenceProfile(profile) => Some(profile.base_model()),
            ModelId::Arn(arn) => match arn.resource() {
                ModelResource::FoundationModel(base) => Some(base),
                ModelResource::InferenceProfile(profile) => Some(profile.base_model()),
                _ => None,
            },
        }
    }

    /// The system inference profile the id names (as an id or an ARN).
    pub fn inference_profile(&self) -> Option<&InferenceProfileId> {
        match self {
            ModelId::InferenceProfile(profile) => Some(profile),
            ModelId::Arn(arn) => match arn.resource() {
                ModelResource::InferenceProfile(profile) => Some(profile),
                _ => None,
            },
            ModelId::Base(_) => None,
        }
    }

    /// The cross-region geography of a system inference profile id or ARN.
    pub fn geography(&self) -> Option<Geography> {
        self.inference_profile().map(InferenceProfileId::geography)
    }

    /// The ARN, when the id is one.
    pub fn arn(&self) -> Option<&ModelArn> {
        match self {
            ModelId::Arn(arn) => Some(arn),
            _ => None,
        }
    }

    /// The region of an ARN id (`None` for ids, which are called in the client's region).
    pub fn region(&self) -> Option<&str> {
        self.arn().map(ModelArn::region)
    }

    /// The family quarry's native adapters use for this model (a custom model speaks its base
    /// model's format). Models without a native adapter, and ARNs whose model cannot be known from
    /// the id (application inference profiles, provisioned models, custom model deployments and
    /// imported models), are errors that point to the Converse API.
    pub fn family(&self) -> Result<Family, FamilyError> {
        let custom_base = self.arn().and_then(|arn| match arn.resource() {
            ModelResource::CustomModel { base, .. } => Some(base),
            _ => None,
        });
        match self.base_model().or(custom_base) {
            Some(base) => Family::of_base_model(base.as_str())
                .ok_or_else(|| FamilyError::NoNativeAdapter { model: self.to_string() }),
            None => Err(FamilyError::Opaque {
                model: self.to_string(),
                kind: self.arn().map_or("this kind of", |arn| arn.resource().kind()),
            }),
        }
    }
}

impl FromStr for ModelId {
    type Err = ModelIdError;

    fn from_str(id: &str) -> Result<Self, ModelIdError> {
        if id.is_empty() {
            return Err(ModelIdError::Empty);
        }
        if id.starts_with("arn:") {
            return id.parse().map(ModelId::Arn);
        }
        let prefix = id.split_once('.').map_or(id, |(prefix, _)| prefix);
        if Geography::from_prefix(prefix).is_some() {
            return id.parse().map(ModelId::InferenceProfile);
        }
        id.parse().map(ModelId::Base)
    }
}

impl fmt::Display for ModelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelId::Base(base) => f.write_str(base.as_str()),
            ModelId::InferenceProfile(profile) => profile.fmt(f),
            ModelId::Arn(arn) => arn.fmt(f),
        }
    }
}

impl fmt::Display for BaseModelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for BaseModelId {
    type Error = ModelIdError;

    fn try_from(id: String) -> Result<Self, ModelIdError> {
        id.parse()
    }
}

impl From<BaseModelId> for String {
    fn from(id: BaseModelId) -> String {
        id.0
    }
}

impl TryFrom<String> for ModelId {
    type Error = ModelIdError;

    fn try_from(id: String) -> Result<Self, ModelIdError> {
        id.parse()
    }
}

impl From<ModelId> for String {
    fn from(id: ModelId) -> String {
        id.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::arn::Partition;

    fn parse(id: &str) -> ModelId {
        id.parse().unwrap_or_else(|e| panic!("{id}: {e}"))
    }

    fn error(id: &str) -> String {
        match id.parse::<ModelId>() {
            Ok(parsed) => format!("unexpectedly parsed as {parsed:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn base_model_ids_from_the_bedrock_model_list() {
        let cases = [
            (
                "anthropic.claude-3-5-sonnet-20240620-v1:0",
                "anthropic",
                "claude-3-5-sonnet-20240620-v1",
                Some("0"),
                None,
            ),
            ("amazon.titan-embed-text-v2:0", "amazon", "titan-embed-text-v2", Some("0"), None),
            ("amazon.titan-text-express-v1", "amazon", "titan-text-express-v1", None, None),
            (
                "meta.llama3-1-70b-instruct-v1:0",
                "meta",
                "llama3-1-70b-instruct-v1",
                Some("0"),
                None,
            ),
            ("cohere.embed-english-v3", "cohere", "embed-english-v3", None, None),
            ("openai.gpt-oss-120b-1:0", "openai", "gpt-oss-120b-1", Some("0"), None),
            ("deepseek.r1-v1:0", "deepseek", "r1-v1", Some("0"), None),
            (
                "mistral.mistral-7b-instruct-v0:2",
                "mistral",
                "mistral-7b-instruct-v0",
                Some("2"),
                None,
            ),
            (
                "anthropic.claude-3-haiku-20240307-v1:0:200k",
                "anthropic",
                "claude-3-haiku-20240307-v1",
                Some("0"),
                Some("200k"),
            ),
            (
                "amazon.titan-text-express-v1:0:8k",
                "amazon",
                "titan-text-express-v1",
                Some("0"),
                Some("8k"),
            ),
            (
                "meta.llama3-2-90b-instruct-v1:0:128k",
                "meta",
                "llama3-2-90b-instruct-v1",
                Some("0"),
                Some("128k"),
            ),
            ("amazon.nova-pro-v1:0:300k", "amazon", "nova-pro-v1", Some("0"), Some("300k")),
            ("cohere.command-r-plus-v1:0", "cohere", "command-r-plus-v1", Some("0"), None),
        ];
        for (id, provider, name, version, context) in cases {
            let parsed = parse(id);
            let ModelId::Base(base) = &parsed else {
                panic!("{id} parsed as {parsed:?}");
            };
            assert_eq!(base.provider(), provider, "{id}");
            assert_eq!(base.name(), name, "{id}");
            assert_eq!(base.version(), version, "{id}");
            assert_eq!(base.context_variant(), context, "{id}");
            assert_eq!(parsed.to_string(), id);
            assert_eq!(parsed.base_model(), Some(base));
            assert_eq!(parsed.geography(), None);
            assert_eq!(parsed.region(), None);
        }
    }

    #[test]
    fn base_model_ids_follow_the_bedrock_identifier_pattern() {
        for id in [
            "anthropic.claude-3-haiku-20240307-v1:0",
            "amazon.nova-pro-v1:0:300k",
            "amazon.titan-embed-text-v1",
            "deepseek.r1-v1:0",
            "mistral.mistral-7b-instruct-v0:2",
        ] {
            assert!(id.parse::<BaseModelId>().is_ok(), "{id}");
        }
        for bad in ["", "claude", "Anthropic.Claude", "a.b:c:d:e", "a..b", "a.b c", "a.b:"] {
            assert!(bad.parse::<BaseModelId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn system_inference_profile_ids_of_every_geography() {
        let cases = [
            (
                "us.anthropic.claude-3-5-haiku-20241022-v1:0",
                Geography::Us,
                "anthropic.claude-3-5-haiku-20241022-v1:0",
            ),
            ("eu.amazon.nova-pro-v1:0", Geography::Eu, "amazon.nova-pro-v1:0"),
            (
                "apac.anthropic.claude-sonnet-4-20250514-v1:0",
                Geography::Apac,
                "anthropic.claude-sonnet-4-20250514-v1:0",
            ),
            (
                "us-gov.anthropic.claude-3-7-sonnet-20250219-v1:0",
                Geography::UsGov,
                "anthropic.claude-3-7-sonnet-20250219-v1:0",
            ),
            (
                "jp.anthropic.claude-sonnet-4-5-20250929-v1:0",
                Geography::Jp,
                "anthropic.claude-sonnet-4-5-20250929-v1:0",
            ),
            (
                "au.anthropic.claude-haiku-4-5-20251001-v1:0",
                Geography::Au,
                "anthropic.claude-haiku-4-5-20251001-v1:0",
            ),
            ("ca.amazon.nova-lite-v1:0", Geography::Ca, "amazon.nova-lite-v1:0"),
            (
                "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
                Geography::Global,
                "anthropic.claude-sonnet-4-5-20250929-v1:0",
            ),
            ("global.cohere.embed-v4:0", Geography::Global, "cohere.embed-v4:0"),
            ("us.deepseek.r1-v1:0", Geography::Us, "deepseek.r1-v1:0"),
        ];
        for (id, geography, base) in cases {
            let parsed = parse(id);
            assert!(matches!(parsed, ModelId::InferenceProfile(_)), "{id}");
            assert_eq!(parsed.geography(), Some(geography), "{id}");
            assert_eq!(parsed.base_model().map(BaseModelId::as_str), Some(base), "{id}");
            assert_eq!(parsed.to_string(), id);
        }
    }

    #[test]
    fn arns_of_every_kind_and_partition() {
        let cases = [
            (
                "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0",
                Partition::Aws,
                "us-east-1",
                Some("anthropic.claude-3-5-sonnet-20240620-v1:0"),
                None,
            ),
            (
                "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0",
                Partition::Aws,
                "us-east-1",
                Some("anthropic.claude-3-5-haiku-20241022-v1:0"),
                Some(Geography::Us),
            ),
            (
                "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6",
                Partition::Aws,
                "us-east-1",
                None,
                None,
            ),
            (
                "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123def456",
                Partition::Aws,
                "us-east-1",
                None,
                None,
            ),
            (
                "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.titan-text-express-v1:0:8k/abcdefghij12",
                Partition::Aws,
                "us-east-1",
                None,
                None,
            ),
            (
                "arn:aws:bedrock:us-west-2:123456789012:custom-model-deployment/a1b2c3d4e5f6",
                Partition::Aws,
                "us-west-2",
                None,
                None,
            ),
            (
                "arn:aws:bedrock:us-east-1:123456789012:imported-model/zyxwvu987654",
                Partition::Aws,
                "us-east-1",
                None,
                None,
            ),
            (
                "arn:aws-us-gov:bedrock:us-gov-west-1::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0",
                Partition::AwsUsGov,
                "us-gov-west-1",
                Some("anthropic.claude-3-5-sonnet-20240620-v1:0"),
                None,
            ),
            (
                "arn:aws-us-gov:bedrock:us-gov-east-1:123456789012:inference-profile/us-gov.anthropic.claude-3-7-sonnet-20250219-v1:0",
                Partition::AwsUsGov,
                "us-gov-east-1",
                Some("anthropic.claude-3-7-sonnet-20250219-v1:0"),
                Some(Geography::UsGov),
            ),
            (
                "arn:aws-cn:bedrock:cn-north-1::foundation-model/amazon.titan-embed-text-v2:0",
                Partition::AwsCn,
                "cn-north-1",
                Some("amazon.titan-embed-text-v2:0"),
                None,
            ),
            (
                "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/global.anthropic.claude-sonnet-4-5-20250929-v1:0",
                Partition::Aws,
                "eu-west-1",
                Some("anthropic.claude-sonnet-4-5-20250929-v1:0"),
                Some(Geography::Global),
            ),
        ];
        for (id, partition, region, base, geography) in cases {
            let parsed = parse(id);
            let arn = parsed.arn().unwrap_or_else(|| panic!("{id} is not an ARN"));
            assert_eq!(arn.partition(), partition, "{id}");
            assert_eq!(parsed.region(), Some(region), "{id}");
            assert_eq!(parsed.base_model().map(BaseModelId::as_str), base, "{id}");
            assert_eq!(parsed.geography(), geography, "{id}");
            assert_eq!(parsed.to_string(), id, "round trip");
        }
    }

    #[test]
    fn families_of_ids_profiles_and_arns() {
        let cases = [
            ("anthropic.claude-3-5-sonnet-20240620-v1:0", Family::Anthropic),
            ("us.anthropic.claude-3-5-haiku-20241022-v1:0", Family::Anthropic),
            ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", Family::Anthropic),
            ("eu.amazon.nova-pro-v1:0", Family::AmazonNova),
            ("amazon.titan-embed-text-v2:0", Family::AmazonTitanEmbed),
            ("amazon.titan-text-express-v1", Family::AmazonTitanText),
            ("meta.llama3-1-70b-instruct-v1:0", Family::Meta),
            ("cohere.embed-english-v3", Family::CohereEmbed),
            ("openai.gpt-oss-120b-1:0", Family::OpenAi),
            ("us.deepseek.r1-v1:0", Family::DeepSeek),
            ("anthropic.claude-3-haiku-20240307-v1:0:200k", Family::Anthropic),
            (
                "arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-1-70b-instruct-v1:0",
                Family::Meta,
            ),
            (
                "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.amazon.nova-pro-v1:0",
                Family::AmazonNova,
            ),
            // A custom model speaks the format of the base model it was customized from.
            (
                "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.titan-text-express-v1:0:8k/abcdefghij12",
                Family::AmazonTitanText,
            ),
        ];
        for (id, family) in cases {
            assert_eq!(parse(id).family(), Ok(family), "{id}");
        }
    }

    #[test]
    fn unknown_families_point_to_converse() {
        let err = parse("stability.sd3-5-large-v1:0").family().expect_err("no adapter");
        assert_eq!(
            err.to_string(),
            "quarry has no native adapter for model `stability.sd3-5-large-v1:0`; \
call it through the Converse API instead (set \"api\": \"converse\")"
        );
        let err = parse("us.writer.palmyra-x5-v1:0").family().expect_err("no adapter");
        assert!(err.to_string().contains("\"api\": \"converse\""), "{err}");
    }

    #[test]
    fn opaque_arns_have_no_family() {
        for (id, kind) in [
            (
                "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6",
                "application inference profile",
            ),
            (
                "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123def456",
                "provisioned model",
            ),
            (
                "arn:aws:bedrock:us-east-1:123456789012:imported-model/zyxwvu987654",
                "imported model",
            ),
            (
                "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/a1b2c3d4e5f6",
                "custom model deployment",
            ),
        ] {
            let err = parse(id).family().expect_err("opaque");
            assert_eq!(
                err.to_string(),
                format!(
                    "the model behind `{id}` cannot be known from its id (a {kind} ARN names no base model); \
call it through the Converse API instead (set \"api\": \"converse\")"
                )
            );
        }
    }

    #[test]
    fn malformed_ids_say_what_was_expected() {
        let expected = "expected `provider.model-name[:version]` (e.g. `anthropic.claude-3-5-sonnet-20240620-v1:0`), \
an inference profile id like `us.anthropic.claude-3-5-haiku-20241022-v1:0`, or a Bedrock ARN \
(`arn:aws:bedrock:{region}:{account}:{resource-type}/{id}`)";
        let cases = [
            ("", "the model id is empty".to_owned()),
            ("claude-3-5-sonnet", "`claude-3-5-sonnet` is not a Bedrock model id: there is no `.` between provider and model name".to_owned()),
            ("Anthropic.Claude-3", "`Anthropic.Claude-3` is not a Bedrock model id: `A` is not allowed (ids use lowercase letters, digits and `-`)".to_owned()),
            ("anthropic.claude v2", "`anthropic.claude v2` is not a Bedrock model id: ` ` is not allowed (ids use lowercase letters, digits and `-`)".to_owned()),
            ("anthropic..claude", "`anthropic..claude` is not a Bedrock model id: it has an empty part between separators".to_owned()),
            ("anthropic.claude-v2:", "`anthropic.claude-v2:` is not a Bedrock model id: it has an empty part between separators".to_owned()),
            ("anthropic.claude-v2:1:200k:x", "`anthropic.claude-v2:1:200k:x` is not a Bedrock model id: it has more than two `:` version parts".to_owned()),
            ("us.claude", "`us.claude` is not a Bedrock model id: after the inference profile prefix, there is no `.` between provider and model name".to_owned()),
            ("global.", "`global.` is not a Bedrock model id: no base model id follows the `global.` prefix".to_owned()),
            (&format!("a.{}", "x".repeat(64)), format!("`a.{0}` is not a Bedrock model id: part `{0}` is longer than 63 characters", "x".repeat(64))),
        ];
        for (id, start) in cases {
            assert_eq!(error(id), format!("{start}; {expected}"), "{id:?}");
        }
    }

    #[test]
    fn malformed_arns_say_what_was_expected() {
        let tail = "; expected `arn:{aws|aws-us-gov|aws-cn}:bedrock:{region}:{account}:{resource-type}/{id}` \
with resource type foundation-model (no account), inference-profile, application-inference-profile, \
provisioned-model, custom-model, custom-model-deployment or imported-model";
        let cases = [
            ("arn:aws:s3:::my-bucket", "the service is `s3`, not `bedrock`"),
            (
                "arn:aws-iso:bedrock:us-iso-east-1::foundation-model/anthropic.claude-v2",
                "partition `aws-iso` is not aws, aws-us-gov or aws-cn",
            ),
            ("arn:aws:bedrock:us-east-1", "it has fewer than six `:`-separated fields"),
            ("arn:aws:bedrock:::foundation-model/anthropic.claude-v2", "the region is empty"),
            (
                "arn:aws:bedrock:us-east-1:123456789012:foundation-model/anthropic.claude-v2",
                "a foundation-model ARN has no account id, found `123456789012`",
            ),
            (
                "arn:aws:bedrock:us-east-1:1234:provisioned-model/abc123def456",
                "the account id `1234` is not 12 digits",
            ),
            (
                "arn:aws:bedrock:us-east-1:123456789012:agent/ABCDEFGHIJ",
                "resource type `agent` is not an invocable model",
            ),
            (
                "arn:aws:bedrock:us-east-1:123456789012:provisioned-model",
                "the resource has no `/` between type and id",
            ),
            (
                "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/My-Profile",
                "`My-Profile` is not a 12-character lowercase alphanumeric id",
            ),
            (
                "arn:aws:bedrock:us-east-1:123456789012:inference-profile/xx.anthropic.claude-v2",
                "`xx` is not a cross-region inference profile prefix (known: `us.`, `us-gov.`, `eu.`, `apac.`, `jp.`, `au.`, `ca.`, `global.`)",
            ),
            (
                "arn:aws:bedrock:us-east-1::foundation-model/claude",
                "there is no `.` between provider and model name",
            ),
            (
                "arn:aws:bedrock:us-east-1:123456789012:custom-model/abcdefghij12",
                "a custom-model ARN ends in `{base-model-id}/{12-character id}`",
            ),
        ];
        for (arn, problem) in cases {
            assert_eq!(
                error(arn),
                format!("`{arn}` is not a Bedrock model ARN: {problem}{tail}"),
                "{arn}"
            );
        }
    }

    #[test]
    fn serde_uses_the_bedrock_string() {
        let ids = [
            "anthropic.claude-3-5-sonnet-20240620-v1:0",
            "us.anthropic.claude-3-5-haiku-20241022-v1:0",
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6",
        ];
        for id in ids {
            let json = serde_json::to_string(&parse(id)).expect("serialize");
            assert_eq!(json, format!("\"{id}\""));
            let back: ModelId = serde_json::from_str(&json).expect("deserialize");
            assert_eq!(back, parse(id));
        }
        let base: BaseModelId =
            serde_json::from_str("\"cohere.embed-english-v3\"").expect("base id");
        assert_eq!(base.provider(), "cohere");
        assert!(serde_json::from_str::<BaseModelId>("\"us.\"").is_err());
        let err = serde_json::from_str::<ModelId>("\"not-a-model\"").expect_err("invalid");
        assert!(err.to_string().contains("expected `provider.model-name[:version]`"), "{err}");
    }
}
