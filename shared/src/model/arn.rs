//! Bedrock model ARNs: partitions and the resource types InvokeModel accepts as `modelId`.
//!
//! Forms (Bedrock Runtime API reference, InvokeModel `modelId` pattern):
//! `arn:{partition}:bedrock:{region}::foundation-model/{base-model-id}` and
//! `arn:{partition}:bedrock:{region}:{account}:{type}/{id}` with type `inference-profile`,
//! `application-inference-profile`, `provisioned-model`, `custom-model`,
//! `custom-model-deployment` or `imported-model`.

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

/// True when `region` looks like an AWS region name (`us-east-1`, `ap-southeast-7`).
pub(crate) fn is_region_name(region: &str) -> bool {
    region.len() <= 20
        && region.contains('-')
        && region.starts_with(|c: char| c.is_ascii_lowercase())
        && region.ends_with(|c: char| c.is_ascii_digit())
        && region.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
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
        let [_, partition, service, region, account_id, resource] = fields[..] else {
            return Err(bad("it has fewer than six `:`-separated fields".to_owned()));
        };
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
        ModelIdError::Malformed { problem, .. } | ModelIdError::Arn { problem, .. } => problem,
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
