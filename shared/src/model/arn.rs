//! Bedrock model ARNs: partitions, region names and the resource types InvokeModel accepts as
//! `modelId`.
//!
//! Forms (Bedrock Runtime API reference, InvokeModel `modelId` pattern):
//! `arn:{partition}:bedrock:{region}::foundation-model/{base-model-id}` and
//! `arn:{partition}:bedrock:{region}:{account}:{type}/{id}` with type `inference-profile`,
//! `application-inference-profile`, `provisioned-model`, `custom-model`,
//! `custom-model-deployment` or `imported-model`. Global cross-region inference adds the
//! region-less `arn:{partition}:bedrock:::foundation-model/{base-model-id}`
//! ([`GlobalFoundationModelArn`]), which is not a `modelId`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::model::id::{BaseModelId, InferenceProfileId, ModelIdError};

/// An AWS partition quarry can run in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Partition {
    /// Commercial regions (`aws`).
    Aws,
    /// AWS GovCloud (US) (`aws-us-gov`).
    AwsUsGov,
    /// China regions (`aws-cn`).
    AwsCn,
}

impl Partition {
    /// The partition as written in ARNs.
    pub fn as_str(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsUsGov => "aws-us-gov",
            Partition::AwsCn => "aws-cn",
        }
    }

    /// The partition written `name` in ARNs.
    pub fn from_name(name: &str) -> Option<Partition> {
        [Partition::Aws, Partition::AwsUsGov, Partition::AwsCn]
            .into_iter()
            .find(|p| p.as_str() == name)
    }

    /// The partition a region belongs to; `None` for strings that are not region names and for
    /// the isolated partitions quarry does not support.
    pub fn of_region(region: &str) -> Option<Partition> {
        if !is_region_name(region) {
            return None;
        }
        if region.starts_with("us-gov-") {
            Some(Partition::AwsUsGov)
        } else if region.starts_with("cn-") {
            Some(Partition::AwsCn)
        } else if ["us-iso", "eu-iso"].iter().any(|p| region.starts_with(p)) {
            None
        } else {
            Some(Partition::Aws)
        }
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// True when `region` is shaped like an AWS region name: two or more lowercase words and a one-
/// or two-digit number joined by `-`, at most 20 characters (`us-east-1`, `us-gov-west-1`,
/// `ap-southeast-7`). Says nothing about whether the region exists.
pub(crate) fn is_region_name(region: &str) -> bool {
    let Some((words, number)) = region.rsplit_once('-') else {
        return false;
    };
    region.len() <= 20
        && (1..=2).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
        && words.split('-').count() >= 2
        && words.split('-').all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
}

/// What a Bedrock model ARN points at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ModelResource {
    /// `foundation-model/{base-model-id}` (no account).
    FoundationModel(BaseModelId),
    /// `inference-profile/{profile-id}`: a system-defined cross-region inference profile.
    InferenceProfile(InferenceProfileId),
    /// `application-inference-profile/{id}`: a profile created in the account.
    ApplicationInferenceProfile(String),
    /// `provisioned-model/{id}`: Provisioned Throughput.
    ProvisionedModel(String),
    /// `custom-model/{base-model-id}/{id}`: a model customized from `base`.
    CustomModel { base: BaseModelId, id: String },
    /// `custom-model-deployment/{id}`: on-demand deployment of a custom model.
    CustomModelDeployment(String),
    /// `imported-model/{id}`: Custom Model Import.
    ImportedModel(String),
}

impl ModelResource {
    /// The resource type as written in the ARN (`foundation-model`, `inference-profile`, …).
    pub fn resource_type(&self) -> &'static str {
        match self {
            ModelResource::FoundationModel(_) => "foundation-model",
            ModelResource::InferenceProfile(_) => "inference-profile",
            ModelResource::ApplicationInferenceProfile(_) => "application-inference-profile",
            ModelResource::ProvisionedModel(_) => "provisioned-model",
            ModelResource::CustomModel { .. } => "custom-model",
            ModelResource::CustomModelDeployment(_) => "custom-model-deployment",
            ModelResource::ImportedModel(_) => "imported-model",
        }
    }

    /// The resource type in words (`application inference profile`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            ModelResource::FoundationModel(_) => "foundation model",
            ModelResource::InferenceProfile(_) => "inference profile",
            ModelResource::ApplicationInferenceProfile(_) => "application inference profile",
            ModelResource::ProvisionedModel(_) => "provisioned model",
            ModelResource::CustomModel { .. } => "custom model",
            ModelResource::CustomModelDeployment(_) => "custom model deployment",
            ModelResource::ImportedModel(_) => "imported model",
        }
    }
}

impl fmt::Display for ModelResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.resource_type();
        match self {
            ModelResource::FoundationModel(base) => write!(f, "{kind}/{base}"),
            ModelResource::InferenceProfile(profile) => write!(f, "{kind}/{profile}"),
            ModelResource::CustomModel { base, id } => write!(f, "{kind}/{base}/{id}"),
            ModelResource::ApplicationInferenceProfile(id)
            | ModelResource::ProvisionedModel(id)
            | ModelResource::CustomModelDeployment(id)
            | ModelResource::ImportedModel(id) => write!(f, "{kind}/{id}"),
        }
    }
}

/// A Bedrock ARN that names something InvokeModel can run.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModelArn {
    partition: Partition,
    region: String,
    account_id: String,
    resource: ModelResource,
}

impl ModelArn {
    /// `arn:{partition}:bedrock:{region}::foundation-model/{base}`.
    pub fn foundation_model(partition: Partition, region: &str, base: BaseModelId) -> Self {
        ModelArn {
            partition,
            region: region.to_owned(),
            account_id: String::new(),
            resource: ModelResource::FoundationModel(base),
        }
    }

    /// `arn:{partition}:bedrock:{region}:{account_id}:inference-profile/{profile}`.
    pub fn inference_profile(
        partition: Partition,
        region: &str,
        account_id: &str,
        profile: InferenceProfileId,
    ) -> Self {
        ModelArn {
            partition,
            region: region.to_owned(),
            account_id: account_id.to_owned(),
            resource: ModelResource::InferenceProfile(profile),
        }
    }

    /// The partition (`aws`, `aws-us-gov`, `aws-cn`).
    pub fn partition(&self) -> Partition {
        self.partition
    }

    /// The region the ARN lives in.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The account id; `None` for foundation models, which belong to no account.
    pub fn account_id(&self) -> Option<&str> {
        (!self.account_id.is_empty()).then_some(self.account_id.as_str())
    }

    /// What the ARN points at.
    pub fn resource(&self) -> &ModelResource {
        &self.resource
    }
}

impl fmt::Display for ModelArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:bedrock:{}:{}:{}",
            self.partition, self.region, self.account_id, self.resource
        )
    }
}

impl FromStr for ModelArn {
    type Err = ModelIdError;

    fn from_str(arn: &str) -> Result<Self, ModelIdError> {
        let bad = |problem: String| ModelIdError::Arn { arn: arn.to_owned(), problem };
        let fields: Vec<&str> = arn.splitn(6, ':').collect();
        let [scheme, partition, service, region, account_id, resource] = fields[..] else {
            return Err(bad("it has fewer than six `:`-separated fields".to_owned()));
        };
        if scheme != "arn" {
            return Err(bad(format!("it starts with `{scheme}:`, not `arn:`")));
        }
        let partition = Partition::from_name(partition).ok_or_else(|| {
            bad(format!("partition `{partition}` is not aws, aws-us-gov or aws-cn"))
        })?;
        if service != "bedrock" {
            return Err(bad(format!("the service is `{service}`, not `bedrock`")));
        }
        if region.is_empty() {
            return Err(bad("the region is empty".to_owned()));
        }
        if !is_region_name(region) {
            return Err(bad(format!("`{region}` is not a region name like `us-east-1`")));
        }
        let (kind, id) = resource
            .split_once('/')
            .ok_or_else(|| bad("the resource has no `/` between type and id".to_owned()))?;
        let resource = parse_resource(kind, id, account_id).map_err(bad)?;
        Ok(ModelArn {
            partition,
            region: region.to_owned(),
            account_id: account_id.to_owned(),
            resource,
        })
    }
}

/// The region-less foundation-model ARN `arn:{partition}:bedrock:::foundation-model/{base}`.
///
/// A global cross-region inference profile lists it among its models, next to the foundation
/// model of the source region, and its IAM policy grants it under `aws:RequestedRegion` =
/// `unspecified` (Bedrock User Guide, "Global cross-Region inference"). Bedrock reaches it only
/// through a global profile, so it is not a `modelId` and not a [`ModelArn`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GlobalFoundationModelArn {
    partition: Partition,
    base: BaseModelId,
}

impl GlobalFoundationModelArn {
    /// `arn:{partition}:bedrock:::foundation-model/{base}`.
    pub fn new(partition: Partition, base: BaseModelId) -> Self {
        GlobalFoundationModelArn { partition, base }
    }

    /// The partition (`aws` for every global profile today).
    pub fn partition(&self) -> Partition {
        self.partition
    }

    /// The foundation model.
    pub fn base_model(&self) -> &BaseModelId {
        &self.base
    }
}

impl fmt::Display for GlobalFoundationModelArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "arn:{}:bedrock:::foundation-model/{}", self.partition, self.base)
    }
}

impl FromStr for GlobalFoundationModelArn {
    type Err = ModelIdError;

    fn from_str(arn: &str) -> Result<Self, ModelIdError> {
        let bad = |problem: String| ModelIdError::GlobalArn { arn: arn.to_owned(), problem };
        let fields: Vec<&str> = arn.splitn(6, ':').collect();
        let ["arn", partition, "bedrock", region, account_id, resource] = fields[..] else {
            return Err(bad("it does not start with `arn:{partition}:bedrock:`".to_owned()));
        };
        let partition = Partition::from_name(partition).ok_or_else(|| {
            bad(format!("partition `{partition}` is not aws, aws-us-gov or aws-cn"))
        })?;
        if !region.is_empty() {
            return Err(bad(format!("it names region `{region}`; the global model has none")));
        }
        if !account_id.is_empty() {
            return Err(bad(format!(
                "it names account `{account_id}`; a foundation model has none"
            )));
        }
        let id = resource.strip_prefix("foundation-model/").ok_or_else(|| {
            bad(format!("the resource `{resource}` is not `foundation-model/{{id}}`"))
        })?;
        let base = id.parse().map_err(|e| bad(problem_of(e)))?;
        Ok(GlobalFoundationModelArn { partition, base })
    }
}

/// The resource of an ARN from its type, id and account field; errors are the problem only.
fn parse_resource(kind: &str, id: &str, account_id: &str) -> Result<ModelResource, String> {
    if kind == "foundation-model" {
        if !account_id.is_empty() {
            return Err(format!("a foundation-model ARN has no account id, found `{account_id}`"));
        }
        return id.parse().map(ModelResource::FoundationModel).map_err(problem_of);
    }
    let opaque = |id: &str| {
        if is_opaque_id(id) {
            Ok(id.to_owned())
        } else {
            Err(format!("`{id}` is not a 12-character lowercase alphanumeric id"))
        }
    };
    let resource = match kind {
        "inference-profile" => {
            id.parse().map(ModelResource::InferenceProfile).map_err(problem_of)?
        }
        "application-inference-profile" => ModelResource::ApplicationInferenceProfile(opaque(id)?),
        "provisioned-model" => ModelResource::ProvisionedModel(opaque(id)?),
        "custom-model-deployment" => ModelResource::CustomModelDeployment(opaque(id)?),
        "imported-model" => ModelResource::ImportedModel(opaque(id)?),
        "custom-model" => {
            let parsed = id.rsplit_once('/').and_then(|(base, custom_id)| {
                let base = base.parse().ok()?;
                is_opaque_id(custom_id)
                    .then(|| ModelResource::CustomModel { base, id: custom_id.to_owned() })
            });
            parsed.ok_or_else(|| {
                "a custom-model ARN ends in `{base-model-id}/{12-character id}`".to_owned()
            })?
        }
        other => return Err(format!("resource type `{other}` is not an invocable model")),
    };
    if account_id.len() != 12 || !account_id.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("the account id `{account_id}` is not 12 digits"));
    }
    Ok(resource)
}

/// The ids Bedrock gives application inference profiles, provisioned, imported and deployed
/// custom models: 12 lowercase letters or digits.
fn is_opaque_id(id: &str) -> bool {
    id.len() == 12 && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// The problem statement inside an id parse error, for use inside an ARN error.
fn problem_of(error: ModelIdError) -> String {
    match error {
        ModelIdError::Empty => "the resource id is empty".to_owned(),
        ModelIdError::Malformed { problem, .. }
        | ModelIdError::Arn { problem, .. }
        | ModelIdError::GlobalArn { problem, .. } => problem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_of_regions() {
        assert_eq!(Partition::of_region("us-east-1"), Some(Partition::Aws));
        assert_eq!(Partition::of_region("ap-southeast-7"), Some(Partition::Aws));
        assert_eq!(Partition::of_region("us-gov-west-1"), Some(Partition::AwsUsGov));
        assert_eq!(Partition::of_region("cn-northwest-1"), Some(Partition::AwsCn));
        assert_eq!(Partition::of_region("us-iso-east-1"), None);
        assert_eq!(Partition::of_region("US-EAST-1"), None);
        assert_eq!(Partition::of_region("useast1"), None);
        assert_eq!(Partition::of_region(""), None);
        for p in [Partition::Aws, Partition::AwsUsGov, Partition::AwsCn] {
            assert_eq!(Partition::from_name(p.as_str()), Some(p));
            assert_eq!(serde_json::to_string(&p).expect("serialize"), format!("\"{p}\""));
        }
    }

    #[test]
    fn constructed_arns_match_the_documented_form() {
        let base: BaseModelId = "anthropic.claude-sonnet-4-5-20250929-v1:0".parse().expect("id");
        assert_eq!(
            ModelArn::foundation_model(Partition::Aws, "us-east-2", base.clone()).to_string(),
            "arn:aws:bedrock:us-east-2::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0"
        );
        let profile: InferenceProfileId =
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0".parse().expect("profile");
        let arn = ModelArn::inference_profile(Partition::Aws, "us-east-1", "123456789012", profile);
        assert_eq!(
            arn.to_string(),
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0"
        );
        assert_eq!(arn.account_id(), Some("123456789012"));
        assert_eq!(arn.resource().kind(), "inference profile");
    }

    #[test]
    fn govcloud_and_china_regions_live_in_their_own_partitions() {
        assert_eq!(Partition::of_region("us-east-1"), Some(Partition::Aws));
        assert_eq!(Partition::of_region("us-gov-west-1"), Some(Partition::AwsUsGov));
        assert_eq!(Partition::of_region("cn-north-1"), Some(Partition::AwsCn));
        let base: BaseModelId = "anthropic.claude-3-haiku-20240307-v1:0".parse().expect("id");
        assert_eq!(
            ModelArn::foundation_model(Partition::AwsUsGov, "us-gov-west-1", base).to_string(),
            "arn:aws-us-gov:bedrock:us-gov-west-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
        );
    }

    #[test]
    fn region_names_are_recognised_and_garbage_is_not() {
        for region in
            ["us-east-1", "us-gov-west-1", "ap-southeast-4", "eu-central-2", "us-iso-east-1"]
        {
            assert!(is_region_name(region), "{region}");
        }
        for bad in ["", "us", "us-east", "US-EAST-1", "us-east-1a", "local", "us--1", "us-east-123"]
        {
            assert!(!is_region_name(bad), "{bad}");
        }
    }

    #[test]
    fn an_inference_profile_arn_round_trips_through_parse() {
        let profile: InferenceProfileId =
            "us.anthropic.claude-3-5-haiku-20241022-v1:0".parse().expect("profile");
        let arn = ModelArn::inference_profile(Partition::Aws, "us-east-1", "123456789012", profile)
            .to_string();
        assert_eq!(
            arn,
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0"
        );
        let parsed: ModelArn = arn.parse().expect("a bedrock arn");
        assert_eq!(parsed.region(), "us-east-1");
        assert_eq!(parsed.account_id(), Some("123456789012"));
        let ModelResource::InferenceProfile(id) = parsed.resource() else {
            panic!("parsed as {parsed:?}");
        };
        assert_eq!(id.to_string(), "us.anthropic.claude-3-5-haiku-20241022-v1:0");
    }

    #[test]
    fn non_bedrock_or_malformed_arns_do_not_parse() {
        for bad in [
            "arn:aws:s3:::bucket/key",
            "arn:aws:bedrock:us-east-1::foundation-model",
            "arn:aws:bedrock:us-east-1::foundation-model/",
            "anthropic.claude-3-haiku-20240307-v1:0",
            "urn:aws:bedrock:us-east-1::foundation-model/x.y",
        ] {
            assert!(bad.parse::<ModelArn>().is_err(), "{bad}");
            assert!(bad.parse::<GlobalFoundationModelArn>().is_err(), "{bad}");
        }
    }

    /// The third resource of the documented global-profile policy: "Global cross-Region
    /// inference", https://docs.aws.amazon.com/bedrock/latest/userguide/global-cross-region-inference.html
    #[test]
    fn the_regionless_global_foundation_model_arn() {
        let documented =
            "arn:aws:bedrock:::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0";
        let base: BaseModelId = "anthropic.claude-sonnet-4-20250514-v1:0".parse().expect("id");
        let built = GlobalFoundationModelArn::new(Partition::Aws, base.clone());
        assert_eq!(built.to_string(), documented);
        let parsed: GlobalFoundationModelArn = documented.parse().expect("regionless arn parses");
        assert_eq!(parsed, built);
        assert_eq!((parsed.partition(), parsed.base_model()), (Partition::Aws, &base));
        // It names no region, so it is not a modelId InvokeModel accepts.
        assert!(documented.parse::<ModelArn>().is_err());

        let regional =
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0";
        assert_eq!(
            regional.parse::<GlobalFoundationModelArn>().expect_err("regional").to_string(),
            format!(
                "`{regional}` is not a global foundation-model ARN: it names region `us-east-1`; the global model has none; \
expected `arn:{{aws|aws-us-gov|aws-cn}}:bedrock:::foundation-model/{{base-model-id}}`"
            )
        );
        let profile =
            "arn:aws:bedrock:::inference-profile/global.anthropic.claude-sonnet-4-20250514-v1:0";
        let err = profile.parse::<GlobalFoundationModelArn>().expect_err("not a model");
        assert!(err.to_string().contains("is not `foundation-model/{id}`"), "{err}");
    }

    #[test]
    fn custom_model_arn_keeps_its_base_model() {
        let arn: ModelArn =
            "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.titan-text-express-v1:0:8k/abcdefghij12"
                .parse()
                .expect("custom model ARN");
        let ModelResource::CustomModel { base, id } = arn.resource() else {
            panic!("parsed as {arn:?}");
        };
        assert_eq!(base.as_str(), "amazon.titan-text-express-v1:0:8k");
        assert_eq!(id, "abcdefghij12");
    }
}
