//! The identifier patterns Bedrock's control plane checks before it looks anything up: what
//! GetFoundationModel's `modelIdentifier` and GetInferenceProfile's `inferenceProfileIdentifier`
//! may look like. A string that fails them is a `ValidationException`; one that passes but names
//! nothing is a `ResourceNotFoundException`.
//!
//! Patterns (Bedrock API reference,
//! <https://docs.aws.amazon.com/bedrock/latest/APIReference/API_GetFoundationModel.html> and
//! <https://docs.aws.amazon.com/bedrock/latest/APIReference/API_GetInferenceProfile.html>):
//! - `modelIdentifier`: `arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}::foundation-model/{id}` or a bare
//!   id, where the id is shaped like a [`BaseModelId`];
//! - `inferenceProfileIdentifier`:
//!   `(arn:aws(|-us-gov|-cn|-iso|-iso-b):bedrock:(|[0-9a-z-]{0,20}):(|[0-9]{12}):(inference-profile|application-inference-profile)/)?[a-zA-Z0-9-:.]+`.
//!
//! Both are read as whole-string matches.

use crate::model::id::BaseModelId;

/// The partitions the `inferenceProfileIdentifier` pattern names.
const PROFILE_PARTITIONS: [&str; 5] = ["aws", "aws-us-gov", "aws-cn", "aws-iso", "aws-iso-b"];

/// The resource types the `inferenceProfileIdentifier` pattern accepts in an ARN.
const PROFILE_RESOURCE_TYPES: [&str; 2] = ["inference-profile", "application-inference-profile"];

/// True when `identifier` passes GetFoundationModel's `modelIdentifier` pattern: a base model id
/// (`anthropic.claude-3-haiku-20240307-v1:0`) or a foundation-model ARN
/// (`arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0`).
pub fn is_foundation_model_identifier(identifier: &str) -> bool {
    let Some(rest) = identifier.strip_prefix("arn:") else {
        return is_base_model_id(identifier);
    };
    let fields: Vec<&str> = rest.splitn(5, ':').collect();
    let [partition, "bedrock", region, "", resource] = fields[..] else {
        return false;
    };
    let partition_ok =
        partition == "aws" || partition.strip_prefix("aws-").is_some_and(|s| !s.is_empty());
    partition_ok
        && (1..=20).contains(&region.len())
        && region.bytes().all(is_region_byte)
        && resource.strip_prefix("foundation-model/").is_some_and(is_base_model_id)
}

/// True when `identifier` passes GetInferenceProfile's `inferenceProfileIdentifier` pattern: a
/// profile id (`us.anthropic.claude-3-5-haiku-20241022-v1:0`, or an application profile's id),
/// optionally behind an `inference-profile/` or `application-inference-profile/` ARN prefix.
pub fn is_inference_profile_identifier(identifier: &str) -> bool {
    let id = profile_arn_id(identifier).unwrap_or(identifier);
    !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b':' | b'.'))
}

/// The id after the optional ARN prefix of the `inferenceProfileIdentifier` pattern, when
/// `identifier` starts with one.
fn profile_arn_id(identifier: &str) -> Option<&str> {
    let fields: Vec<&str> = identifier.strip_prefix("arn:")?.splitn(5, ':').collect();
    let [partition, "bedrock", region, account_id, resource] = fields[..] else {
        return None;
    };
    let (resource_type, id) = resource.split_once('/')?;
    let account_ok = account_id.is_empty()
        || (account_id.len() == 12 && account_id.bytes().all(|b| b.is_ascii_digit()));
    (PROFILE_PARTITIONS.contains(&partition)
        && region.len() <= 20
        && region.bytes().all(is_region_byte)
        && account_ok
        && PROFILE_RESOURCE_TYPES.contains(&resource_type))
    .then_some(id)
}

fn is_region_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'
}

fn is_base_model_id(id: &str) -> bool {
    id.parse::<BaseModelId>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foundation_model_identifiers_are_ids_or_foundation_model_arns() {
        for good in [
            "anthropic.claude-3-haiku-20240307-v1:0",
            "amazon.nova-pro-v1:0:300k",
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
            "arn:aws-us-gov:bedrock:us-gov-west-1::foundation-model/amazon.titan-embed-text-v2:0",
            // The pattern admits any `aws-…` partition and any region-shaped field.
            "arn:aws-iso:bedrock:us-iso-east-1::foundation-model/amazon.titan-text-express-v1",
        ] {
            assert!(is_foundation_model_identifier(good), "{good}");
        }
        for bad in [
            "",
            "Claude 3 Haiku",
            "arn:aws:bedrock:us-east-1:000000000000:inference-profile/us.amazon.nova-pro-v1:0",
            "arn:aws:bedrock:us-east-1:123456789012:foundation-model/amazon.nova-pro-v1:0",
            "arn:aws:bedrock:::foundation-model/amazon.nova-pro-v1:0",
            "arn:aws:bedrock:US-EAST-1::foundation-model/amazon.nova-pro-v1:0",
            "arn:aws:s3:us-east-1::foundation-model/amazon.nova-pro-v1:0",
            "arn:azure:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0",
            "arn:aws:bedrock:us-east-1::foundation-model/Amazon.Nova",
        ] {
            assert!(!is_foundation_model_identifier(bad), "{bad}");
        }
    }

    #[test]
    fn inference_profile_identifiers_are_ids_optionally_behind_a_profile_arn() {
        for good in [
            "us.amazon.nova-pro-v1:0",
            "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "arn:aws:bedrock:us-east-1:000000000000:inference-profile/us.amazon.nova-pro-v1:0",
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6",
            "arn:aws-us-gov:bedrock:us-gov-west-1:123456789012:inference-profile/us-gov.anthropic.claude-3-5-sonnet-20240620-v1:0",
        ] {
            assert!(is_inference_profile_identifier(good), "{good}");
        }
        for bad in [
            "",
            "us amazon",
            "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0",
            "arn:aws:bedrock:us-east-1:1234:inference-profile/us.amazon.nova-pro-v1:0",
            "arn:aws:bedrock:us-east-1:000000000000:inference-profile/",
            "arn:aws:bedrock:us-east-1:000000000000:inference-profile/us amazon",
        ] {
            assert!(!is_inference_profile_identifier(bad), "{bad}");
        }
    }
}
