//! The IAM statements a role needs to invoke one model: least privilege derived from the model id.
//!
//! Shapes follow the AWS Bedrock User Guide:
//! - base models: the foundation-model ARN in the region the function runs in;
//! - geographic cross-region inference profiles ("Geographic cross-Region inference", section "IAM
//!   policy requirements"): the profile ARN in the source region, plus the foundation model in the
//!   source region and every destination region, conditioned on
//!   `"StringEquals": {"bedrock:InferenceProfileArn": <profile ARN>}`;
//! - global profiles ("Global cross-Region inference", section "IAM policy requirements"): the
//!   three-part policy — the profile ARN (`aws:RequestedRegion` = source region), the regional
//!   foundation model (same region condition plus `bedrock:InferenceProfileArn`), and the
//!   region-less global foundation model `arn:aws:bedrock:::foundation-model/{model}`
//!   (`aws:RequestedRegion` = `unspecified` plus `bedrock:InferenceProfileArn`);
//! - application inference profiles, provisioned, custom and imported models: the ARN itself. The
//!   model behind such an ARN cannot be read from it, so the grant for that underlying model (for
//!   an application inference profile: the foundation model in every region it routes to) must be
//!   added separately; [`InvokeGrant::needs_underlying_model_grant`] says so.
//!
//! The Converse and ConverseStream APIs are authorized by the same two actions.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::model::arn::{GlobalFoundationModelArn, ModelArn, ModelResource, Partition};
use crate::model::geography::Routing;
use crate::model::id::{BaseModelId, InferenceProfileId, ModelId};

/// The actions quarry's functions need to invoke a model (InvokeModel and Converse use the first,
/// the streaming variants the second).
pub const INVOKE_ACTIONS: [&str; 2] =
    ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"];

/// The condition key that limits a foundation-model grant to calls made through one profile.
pub const INFERENCE_PROFILE_ARN_KEY: &str = "bedrock:InferenceProfileArn";

/// The global condition key Bedrock sets to the source region, or to `unspecified` for the
/// region-less global foundation model.
pub const REQUESTED_REGION_KEY: &str = "aws:RequestedRegion";

/// Why the invoke grant of a model cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvokeGrantError {
    /// The account id is not 12 digits.
    #[error("`{account_id}` is not an AWS account id; expected 12 digits")]
    BadAccountId { account_id: String },
    /// The region is not a region name of a supported partition.
    #[error(
        "`{region}` is not a region quarry can run in; expected a region name like `us-east-1` in the aws, aws-us-gov or aws-cn partition"
    )]
    BadRegion { region: String },
    /// The region belongs to another partition than the one given.
    #[error("region `{region}` is in the `{actual}` partition, not `{partition}`")]
    PartitionMismatch { region: String, partition: Partition, actual: Partition },
    /// The model is an ARN of another region or partition than the one the function runs in.
    #[error(
        "`{model}` is in `{arn_partition}` region `{arn_region}`, but quarry invokes it from `{partition}` region `{region}`; \
Bedrock runs an ARN only in its own region: use an ARN from `{region}` or the model id"
    )]
    ForeignArn {
        model: String,
        arn_partition: Partition,
        arn_region: String,
        partition: Partition,
        region: String,
    },
    /// The profile's geography cannot be called from this region.
    #[error(
        "inference profile `{profile}` cannot be called from `{region}`: `{prefix}.` profiles are called from {sources}"
    )]
    NotASourceRegion { profile: String, region: String, prefix: &'static str, sources: String },
}

/// The effect of a policy statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    /// Grants the actions.
    Allow,
    /// Denies the actions.
    Deny,
}

/// A statement's `Condition` block; quarry's grants only need `StringEquals`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    /// `"StringEquals": {"key": "value", …}`.
    #[serde(rename = "StringEquals")]
    pub string_equals: BTreeMap<String, String>,
}

impl Condition {
    /// A `StringEquals` condition on the given keys.
    pub fn string_equals<const N: usize>(pairs: [(&str, &str); N]) -> Self {
        Condition {
            string_equals: pairs.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
        }
    }
}

/// One IAM policy statement, serialized as IAM JSON (`Effect`, `Action`, `Resource`, `Condition`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyStatement {
    /// Optional statement id (IAM requires it unique within one policy; quarry leaves it unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Allow or Deny.
    pub effect: Effect,
    /// The actions (IAM accepts one string or a list; quarry writes a list).
    #[serde(deserialize_with = "one_or_many")]
    pub action: Vec<String>,
    /// The resource ARNs (one string or a list).
    #[serde(deserialize_with = "one_or_many")]
    pub resource: Vec<String>,
    /// Extra conditions, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
}

impl PolicyStatement {
    /// Allows [`INVOKE_ACTIONS`] on `resources`, optionally under `condition`.
    pub fn allow_invoke(resources: Vec<String>, condition: Option<Condition>) -> Self {
        PolicyStatement {
            sid: None,
            effect: Effect::Allow,
            action: INVOKE_ACTIONS.iter().map(|a| (*a).to_owned()).collect(),
            resource: resources,
            condition,
        }
    }
}

/// An IAM policy document (`Version` 2012-10-17) holding statements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    /// Always `2012-10-17`.
    pub version: String,
    /// The statements.
    pub statement: Vec<PolicyStatement>,
}

impl PolicyDocument {
    /// One document with the statements of every grant, in order.
    pub fn from_grants<'a>(grants: impl IntoIterator<Item = &'a InvokeGrant>) -> Self {
        PolicyDocument {
            version: "2012-10-17".to_owned(),
            statement: grants.into_iter().flat_map(|g| g.statements.iter().cloned()).collect(),
        }
    }
}

/// The statements that let a role invoke one model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeGrant {
    /// The statements, in the order the AWS documentation lists them.
    pub statements: Vec<PolicyStatement>,
    /// True for application inference profiles, provisioned, custom and imported model ARNs:
    /// their underlying model cannot be read from the ARN, so its grant must be added too.
    pub needs_underlying_model_grant: bool,
}

impl InvokeGrant {
    /// Every resource ARN of every statement.
    pub fn resources(&self) -> impl Iterator<Item = &str> {
        self.statements.iter().flat_map(|s| s.resource.iter().map(String::as_str))
    }
}

/// The IAM statements a role in `account_id`, running in `region` of `partition`, needs to
/// invoke `model` (InvokeModel, InvokeModelWithResponseStream, Converse, ConverseStream).
///
/// An inference profile ARN is granted as written (its own account). Fails when the region is not
/// a source region of the profile's geography, when an ARN is in another region or partition,
/// or when the account id or region are malformed.
pub fn invoke_resources(
    model: &ModelId,
    region: &str,
    account_id: &str,
    partition: Partition,
) -> Result<InvokeGrant, InvokeGrantError> {
    if account_id.len() != 12 || !account_id.chars().all(|c| c.is_ascii_digit()) {
        return Err(InvokeGrantError::BadAccountId { account_id: account_id.to_owned() });
    }
    let actual = Partition::of_region(region)
        .ok_or_else(|| InvokeGrantError::BadRegion { region: region.to_owned() })?;
    if actual != partition {
        return Err(InvokeGrantError::PartitionMismatch {
            region: region.to_owned(),
            partition,
            actual,
        });
    }
    let at = Origin { region, partition };
    match model {
        ModelId::Base(base) => {
            Ok(foundation_model_grant(ModelArn::foundation_model(partition, region, base.clone())))
        }
        ModelId::InferenceProfile(profile) => {
            let arn = ModelArn::inference_profile(partition, region, account_id, profile.clone());
            profile_grant(profile, &arn, at)
        }
        ModelId::Arn(arn) => {
            if arn.region() != region || arn.partition() != partition {
                return Err(InvokeGrantError::ForeignArn {
                    model: arn.to_string(),
                    arn_partition: arn.partition(),
                    arn_region: arn.region().to_owned(),
                    partition,
                    region: region.to_owned(),
                });
            }
            match arn.resource() {
                ModelResource::FoundationModel(_) => Ok(foundation_model_grant(arn.clone())),
                ModelResource::InferenceProfile(profile) => profile_grant(profile, arn, at),
                _ => Ok(InvokeGrant {
                    statements: vec![PolicyStatement::allow_invoke(vec![arn.to_string()], None)],
                    needs_underlying_model_grant: true,
                }),
            }
        }
    }
}

/// Where the function invoking the model runs.
#[derive(Debug, Clone, Copy)]
struct Origin<'a> {
    region: &'a str,
    partition: Partition,
}

fn foundation_model_grant(arn: ModelArn) -> InvokeGrant {
    InvokeGrant {
        statements: vec![PolicyStatement::allow_invoke(vec![arn.to_string()], None)],
        needs_underlying_model_grant: false,
    }
}

/// The grant for a system inference profile called from `at` through `profile_arn`.
fn profile_grant(
    profile: &InferenceProfileId,
    profile_arn: &ModelArn,
    at: Origin<'_>,
) -> Result<InvokeGrant, InvokeGrantError> {
    let geography = profile.geography();
    let routing = (geography.partition() == at.partition)
        .then(|| geography.routing_from(at.region))
        .flatten()
        .ok_or_else(|| InvokeGrantError::NotASourceRegion {
            profile: profile.to_string(),
            region: at.region.to_owned(),
            prefix: geography.prefix(),
            sources: geography.source_regions().join(", "),
        })?;
    let profile_arn = profile_arn.to_string();
    let base = profile.base_model();
    let statements = match routing {
        Routing::Regions(destinations) => {
            let mut regions = destinations.to_vec();
            regions.push(at.region);
            regions.sort_unstable();
            regions.dedup();
            let models =
                regions.into_iter().map(|r| foundation_model_arn(at.partition, r, base)).collect();
            vec![
                PolicyStatement::allow_invoke(vec![profile_arn.clone()], None),
                PolicyStatement::allow_invoke(
                    models,
                    Some(Condition::string_equals([(
                        INFERENCE_PROFILE_ARN_KEY,
                        profile_arn.as_str(),
                    )])),
                ),
            ]
        }
        Routing::AnyCommercialRegion => vec![
            PolicyStatement::allow_invoke(
                vec![profile_arn.clone()],
                Some(Condition::string_equals([(REQUESTED_REGION_KEY, at.region)])),
            ),
            PolicyStatement::allow_invoke(
                vec![foundation_model_arn(at.partition, at.region, base)],
                Some(Condition::string_equals([
                    (REQUESTED_REGION_KEY, at.region),
                    (INFERENCE_PROFILE_ARN_KEY, profile_arn.as_str()),
                ])),
            ),
            PolicyStatement::allow_invoke(
                vec![GlobalFoundationModelArn::new(at.partition, base.clone()).to_string()],
                Some(Condition::string_equals([
                    (REQUESTED_REGION_KEY, "unspecified"),
                    (INFERENCE_PROFILE_ARN_KEY, profile_arn.as_str()),
                ])),
            ),
        ],
    };
    Ok(InvokeGrant { statements, needs_underlying_model_grant: false })
}

/// `arn:{partition}:bedrock:{region}::foundation-model/{base}`.
fn foundation_model_arn(partition: Partition, region: &str, base: &BaseModelId) -> String {
    ModelArn::foundation_model(partition, region, base.clone()).to_string()
}

/// Reads an IAM `Action`/`Resource` value: one string or a list of strings.
fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(value) => vec![value],
        OneOrMany::Many(values) => values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "123456789012";

    fn grant_for(model: &str, region: &str) -> InvokeGrant {
        let partition = Partition::of_region(region).expect("test region");
        let id: ModelId = model.parse().expect("test model id");
        invoke_resources(&id, region, ACCOUNT, partition).expect("grant")
    }

    fn grant_error(model: &str, region: &str, partition: Partition) -> String {
        let id: ModelId = model.parse().expect("test model id");
        match invoke_resources(&id, region, ACCOUNT, partition) {
            Ok(grant) => format!("unexpected grant {grant:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn fm(partition: &str, region: &str, base: &str) -> String {
        format!("arn:{partition}:bedrock:{region}::foundation-model/{base}")
    }

    fn profile_condition(profile_arn: &str) -> Option<Condition> {
        Some(Condition::string_equals([(INFERENCE_PROFILE_ARN_KEY, profile_arn)]))
    }

    /// Asserts the two-statement shape of a geographic profile grant with exact ARNs.
    fn assert_geographic(
        grant: &InvokeGrant,
        profile_arn: &str,
        partition: &str,
        regions: &[&str],
        base: &str,
    ) {
        let models: Vec<String> = regions.iter().map(|r| fm(partition, r, base)).collect();
        assert_eq!(
            grant.statements,
            vec![
                PolicyStatement::allow_invoke(vec![profile_arn.to_owned()], None),
                PolicyStatement::allow_invoke(models, profile_condition(profile_arn)),
            ]
        );
        assert!(!grant.needs_underlying_model_grant);
    }

    /// Reads a documented policy with `<…>` placeholders replaced.
    fn documented_policy(json: &str, replacements: &[(&str, &str)]) -> PolicyDocument {
        let text =
            replacements.iter().fold(json.to_owned(), |text, (from, to)| text.replace(from, to));
        serde_json::from_str(&text).expect("documented policy parses")
    }

    #[test]
    fn base_model_is_its_foundation_model_in_the_region() {
        let grant = grant_for("anthropic.claude-3-5-sonnet-20240620-v1:0", "us-east-1");
        assert_eq!(
            grant.statements,
            vec![PolicyStatement::allow_invoke(
                vec![fm("aws", "us-east-1", "anthropic.claude-3-5-sonnet-20240620-v1:0")],
                None
            )]
        );
        let china = grant_for("amazon.titan-embed-text-v2:0", "cn-north-1");
        assert_eq!(
            china.resources().collect::<Vec<_>>(),
            [fm("aws-cn", "cn-north-1", "amazon.titan-embed-text-v2:0")]
        );
    }

    #[test]
    fn foundation_model_arn_is_granted_as_written() {
        let arn = "arn:aws:bedrock:eu-west-1::foundation-model/meta.llama3-1-70b-instruct-v1:0";
        assert_eq!(grant_for(arn, "eu-west-1").resources().collect::<Vec<_>>(), [arn]);
    }

    /// Fixture: the example policy of "Geographic cross-Region inference" (Claude Sonnet 4.5, US
    /// profile, source us-east-1): https://docs.aws.amazon.com/bedrock/latest/userguide/geographic-cross-region-inference.html
    #[test]
    fn us_profile_covers_the_documented_geographic_policy() {
        let profile = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
        let base = "anthropic.claude-sonnet-4-5-20250929-v1:0";
        let profile_arn =
            format!("arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/{profile}");
        let grant = grant_for(profile, "us-east-1");
        // us-east-1 also routes to us-west-1 for some US profiles (e.g. us.twelvelabs.pegasus-1-2-v1:0).
        assert_geographic(
            &grant,
            &profile_arn,
            "aws",
            &["us-east-1", "us-east-2", "us-west-1", "us-west-2"],
            base,
        );

        let documented = documented_policy(
            include_str!("../../tests/fixtures/model/geographic-cris-policy.json"),
            &[("<ACCOUNT_ID>", ACCOUNT)],
        );
        assert_eq!(documented.statement.len(), grant.statements.len());
        for (doc, ours) in documented.statement.iter().zip(&grant.statements) {
            assert!(doc.action.iter().all(|a| ours.action.contains(a)), "{doc:?}");
            assert!(doc.resource.iter().all(|r| ours.resource.contains(r)), "{doc:?}");
            assert_eq!(doc.condition, ours.condition);
        }
    }

    /// Fixture: the three-part policy of "Global cross-Region inference":
    /// https://docs.aws.amazon.com/bedrock/latest/userguide/global-cross-region-inference.html
    #[test]
    fn global_profile_is_the_documented_three_part_policy() {
        for region in ["us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1"] {
            let model = "anthropic.claude-sonnet-4-5-20250929-v1:0";
            let grant = grant_for(&format!("global.{model}"), region);
            let documented = documented_policy(
                include_str!("../../tests/fixtures/model/global-cris-policy.json"),
                &[("<REQUESTING REGION>", region), ("<ACCOUNT>", ACCOUNT), ("<MODEL NAME>", model)],
            );
            assert_eq!(documented.statement.len(), 3);
            for (doc, ours) in documented.statement.iter().zip(&grant.statements) {
                assert_eq!(doc.resource, ours.resource, "{region}");
                assert_eq!(doc.condition, ours.condition, "{region}");
                assert!(doc.action.iter().all(|a| ours.action.contains(a)));
            }
            assert_eq!(
                grant.statements[2].resource,
                [format!("arn:aws:bedrock:::foundation-model/{model}")]
            );
        }
    }

    #[test]
    fn one_profile_per_geography_has_exact_arns() {
        let cases: [(&str, &str, &str, &[&str]); 7] = [
            (
                "eu.amazon.nova-pro-v1:0",
                "eu-west-3",
                "aws",
                &[
                    "eu-central-1",
                    "eu-north-1",
                    "eu-south-1",
                    "eu-south-2",
                    "eu-west-1",
                    "eu-west-3",
                ],
            ),
            (
                "apac.anthropic.claude-sonnet-4-20250514-v1:0",
                "ap-southeast-1",
                "aws",
                &[
                    "ap-northeast-1",
                    "ap-northeast-2",
                    "ap-northeast-3",
                    "ap-south-1",
                    "ap-south-2",
                    "ap-southeast-1",
                    "ap-southeast-2",
                    "ap-southeast-4",
                ],
            ),
            (
                "jp.anthropic.claude-sonnet-4-5-20250929-v1:0",
                "ap-northeast-1",
                "aws",
                &["ap-northeast-1", "ap-northeast-3"],
            ),
            (
                "au.anthropic.claude-haiku-4-5-20251001-v1:0",
                "ap-southeast-2",
                "aws",
                &["ap-southeast-2", "ap-southeast-4"],
            ),
            ("ca.amazon.nova-lite-v1:0", "ca-west-1", "aws", &["ca-central-1", "ca-west-1"]),
            (
                "us.amazon.nova-2-lite-v1:0",
                "ca-central-1",
                "aws",
                &["ca-central-1", "us-east-1", "us-east-2", "us-west-2"],
            ),
            (
                "us-gov.anthropic.claude-3-7-sonnet-20250219-v1:0",
                "us-gov-west-1",
                "aws-us-gov",
                &["us-gov-east-1", "us-gov-west-1"],
            ),
        ];
        for (profile, region, partition, regions) in cases {
            let base = profile.split_once('.').map(|(_, b)| b).expect("prefixed");
            let profile_arn =
                format!("arn:{partition}:bedrock:{region}:{ACCOUNT}:inference-profile/{profile}");
            assert_geographic(&grant_for(profile, region), &profile_arn, partition, regions, base);
        }
    }

    #[test]
    fn inference_profile_arn_grants_the_same_as_its_id() {
        let arn = "arn:aws:bedrock:eu-central-1:123456789012:inference-profile/eu.anthropic.claude-3-7-sonnet-20250219-v1:0";
        assert_eq!(
            grant_for(arn, "eu-central-1"),
            grant_for("eu.anthropic.claude-3-7-sonnet-20250219-v1:0", "eu-central-1")
        );
    }

    #[test]
    fn opaque_arns_are_granted_as_written_and_flagged() {
        for arn in [
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6",
            "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123def456",
            "arn:aws:bedrock:us-east-1:123456789012:imported-model/zyxwvu987654",
        ] {
            let grant = grant_for(arn, "us-east-1");
            assert_eq!(
                grant.statements,
                vec![PolicyStatement::allow_invoke(vec![arn.to_owned()], None)]
            );
            assert!(grant.needs_underlying_model_grant, "{arn}");
        }
    }

    #[test]
    fn statements_serialize_as_iam_json() {
        let grant = grant_for("jp.anthropic.claude-sonnet-4-5-20250929-v1:0", "ap-northeast-3");
        let json = serde_json::to_value(PolicyDocument::from_grants([&grant])).expect("json");
        let profile = "arn:aws:bedrock:ap-northeast-3:123456789012:inference-profile/jp.anthropic.claude-sonnet-4-5-20250929-v1:0";
        assert_eq!(
            json,
            serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                        "Resource": [profile]
                    },
                    {
                        "Effect": "Allow",
                        "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                        "Resource": [
                            "arn:aws:bedrock:ap-northeast-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0",
                            "arn:aws:bedrock:ap-northeast-3::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0"
                        ],
                        "Condition": {"StringEquals": {"bedrock:InferenceProfileArn": profile}}
                    }
                ]
            })
        );
    }

    #[test]
    fn errors_say_what_was_expected() {
        let sonnet = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
        assert_eq!(
            grant_error(sonnet, "eu-west-1", Partition::Aws),
            "inference profile `us.anthropic.claude-sonnet-4-5-20250929-v1:0` cannot be called from `eu-west-1`: \
`us.` profiles are called from us-east-1, us-east-2, us-west-1, us-west-2, ca-central-1, ca-west-1"
        );
        assert_eq!(
            grant_error(
                "jp.anthropic.claude-sonnet-4-5-20250929-v1:0",
                "ap-southeast-1",
                Partition::Aws
            ),
            "inference profile `jp.anthropic.claude-sonnet-4-5-20250929-v1:0` cannot be called from `ap-southeast-1`: \
`jp.` profiles are called from ap-northeast-1, ap-northeast-3"
        );
        let global_from_gov = grant_error(
            "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "us-gov-west-1",
            Partition::AwsUsGov,
        );
        assert!(
            global_from_gov.starts_with("inference profile `global.anthropic.claude-sonnet-4-5-20250929-v1:0` cannot be called from `us-gov-west-1`: `global.` profiles are called from af-south-1,"),
            "{global_from_gov}"
        );
        assert_eq!(
            grant_error(sonnet, "us-east-1", Partition::AwsUsGov),
            "region `us-east-1` is in the `aws` partition, not `aws-us-gov`"
        );
        assert_eq!(
            grant_error(sonnet, "US-EAST-1", Partition::Aws),
            "`US-EAST-1` is not a region quarry can run in; expected a region name like `us-east-1` in the aws, aws-us-gov or aws-cn partition"
        );
        assert_eq!(
            grant_error(
                "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0",
                "us-east-1",
                Partition::Aws
            ),
            "`arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0` is in `aws` region `us-west-2`, \
but quarry invokes it from `aws` region `us-east-1`; Bedrock runs an ARN only in its own region: use an ARN from `us-east-1` or the model id"
        );
        let id: ModelId = sonnet.parse().expect("id");
        assert_eq!(
            invoke_resources(&id, "us-east-1", "12345", Partition::Aws)
                .expect_err("bad account")
                .to_string(),
            "`12345` is not an AWS account id; expected 12 digits"
        );
    }
}
