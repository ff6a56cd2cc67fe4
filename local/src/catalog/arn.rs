//! Bedrock resource identifiers: Regions and their partitions, model ids, and the foundation-model
//! and inference-profile ARNs built from them.
//!
//! Formats follow the Bedrock API reference: a foundation-model ARN has an empty account field
//! (`arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0`); a
//! system-defined inference profile ARN carries the caller's account
//! (`arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic...`); a global profile
//! also lists a Region-less model ARN (`arn:aws:bedrock:::foundation-model/...`).

/// The resource type of a foundation-model ARN.
pub const FOUNDATION_MODEL: &str = "foundation-model";
/// The resource type of a system-defined inference profile ARN.
pub const INFERENCE_PROFILE: &str = "inference-profile";

/// The ARN partition a Region belongs to: `aws-us-gov` for GovCloud, `aws-cn` for China, else `aws`.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("cn-") {
        "aws-cn"
    } else {
        "aws"
    }
}

/// Whether `s` is shaped like an AWS Region code: lowercase words joined by `-`, ending in a number
/// (`us-east-1`, `us-gov-west-1`, `ap-southeast-4`).
pub fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    words.len() >= 2
        && words.iter().all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && !number.is_empty()
        && number.len() <= 2
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `s` is shaped like a Bedrock model id: `provider.name` (up to four dot-separated
/// segments) then up to two `:`-separated version parts, all `[a-z0-9-]`, e.g.
/// `amazon.nova-pro-v1:0:300k` — the identifier half of the GetFoundationModel pattern.
pub fn is_model_id(s: &str) -> bool {
    let mut parts = s.split(':');
    let base = parts.next().unwrap_or_default();
    let versions: Vec<&str> = parts.collect();
    let segments: Vec<&str> = base.split('.').collect();
    (2..=4).contains(&segments.len())
        && segments.iter().all(|seg| is_id_word(seg))
        && versions.len() <= 2
        && versions.iter().all(|v| is_id_word(v))
}

fn is_id_word(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// `arn:{partition}:bedrock:{region}::foundation-model/{model_id}`.
pub fn foundation_model_arn(region: &str, model_id: &str) -> String {
    format!("arn:{}:bedrock:{region}::{FOUNDATION_MODEL}/{model_id}", partition_of(region))
}

/// `arn:{partition}:bedrock:::foundation-model/{model_id}`: the Region-less model ARN a global
/// inference profile routes to.
pub fn regionless_foundation_model_arn(partition: &str, model_id: &str) -> String {
    format!("arn:{partition}:bedrock:::{FOUNDATION_MODEL}/{model_id}")
}

/// `arn:{partition}:bedrock:{region}:{account}:inference-profile/{profile_id}`.
pub fn inference_profile_arn(region: &str, account_id: &str, profile_id: &str) -> String {
    format!(
        "arn:{}:bedrock:{region}:{account_id}:{INFERENCE_PROFILE}/{profile_id}",
        partition_of(region)
    )
}

/// A Bedrock ARN taken apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BedrockArn<'a> {
    pub partition: &'a str,
    pub region: &'a str,
    pub account_id: &'a str,
    /// e.g. `foundation-model` or `inference-profile`.
    pub resource_type: &'a str,
    /// The id after the `/`, which may itself contain `:`.
    pub resource_id: &'a str,
}

impl<'a> BedrockArn<'a> {
    /// Parses `arn:{partition}:bedrock:{region}:{account}:{type}/{id}`; `None` for anything else.
    pub fn parse(arn: &'a str) -> Option<Self> {
        let mut fields = arn.splitn(6, ':');
        let (scheme, partition, service) = (fields.next()?, fields.next()?, fields.next()?);
        let (region, account_id, resource) = (fields.next()?, fields.next()?, fields.next()?);
        let (resource_type, resource_id) = resource.split_once('/')?;
        let known_partition = partition == "aws" || partition.starts_with("aws-");
        (scheme == "arn" && known_partition && service == "bedrock" && !resource_id.is_empty())
            .then_some(BedrockArn { partition, region, account_id, resource_type, resource_id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn govcloud_and_china_regions_live_in_their_own_partitions() {
        assert_eq!(partition_of("us-east-1"), "aws");
        assert_eq!(partition_of("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_of("cn-north-1"), "aws-cn");
        assert_eq!(
            foundation_model_arn("us-gov-west-1", "anthropic.claude-3-haiku-20240307-v1:0"),
            "arn:aws-us-gov:bedrock:us-gov-west-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
        );
    }

    #[test]
    fn region_codes_are_recognised_and_garbage_is_not() {
        for region in ["us-east-1", "us-gov-west-1", "ap-southeast-4", "eu-central-2"] {
            assert!(is_region(region), "{region}");
        }
        for bad in ["", "us", "us-east", "US-EAST-1", "us-east-1a", "local", "us--1", "us-east-123"]
        {
            assert!(!is_region(bad), "{bad}");
        }
    }

    #[test]
    fn model_ids_follow_the_bedrock_identifier_pattern() {
        for id in [
            "anthropic.claude-3-haiku-20240307-v1:0",
            "amazon.nova-pro-v1:0:300k",
            "amazon.titan-embed-text-v1",
            "deepseek.r1-v1:0",
            "mistral.mistral-7b-instruct-v0:2",
        ] {
            assert!(is_model_id(id), "{id}");
        }
        for bad in ["", "claude", "Anthropic.Claude", "a.b:c:d:e", "a..b", "a.b c", "a.b:"] {
            assert!(!is_model_id(bad), "{bad}");
        }
    }

    #[test]
    fn an_inference_profile_arn_round_trips_through_parse() {
        let arn = inference_profile_arn(
            "us-east-1",
            "123456789012",
            "us.anthropic.claude-3-5-haiku-20241022-v1:0",
        );
        assert_eq!(
            arn,
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0"
        );
        let parsed = BedrockArn::parse(&arn).expect("a bedrock arn");
        assert_eq!(parsed.region, "us-east-1");
        assert_eq!(parsed.account_id, "123456789012");
        assert_eq!(parsed.resource_type, INFERENCE_PROFILE);
        assert_eq!(parsed.resource_id, "us.anthropic.claude-3-5-haiku-20241022-v1:0");
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
            assert_eq!(BedrockArn::parse(bad), None, "{bad}");
        }
        let regionless =
            regionless_foundation_model_arn("aws", "anthropic.claude-sonnet-4-20250514-v1:0");
        let parsed = BedrockArn::parse(&regionless).expect("regionless arn parses");
        assert_eq!((parsed.region, parsed.account_id), ("", ""));
    }
}
