//! Value rules shared by `quarry.toml` validation and the environment parser. Each check returns
//! the problem in words; the caller prefixes the field (`functions.invoke.memory_mb`) or the
//! environment variable (`QUARRY_MAX_BODY_BYTES`).

use std::fmt::Display;
use std::ops::RangeInclusive;

use crate::model::arn::is_region_name;
use crate::model::{ModelId, Partition};

/// Lambda function memory, MB (Lambda quotas: 128 MB to 10,240 MB).
pub const MEMORY_MB: RangeInclusive<u32> = 128..=10_240;
/// Lambda function timeout, seconds (Lambda quotas: at most 900 s).
pub const TIMEOUT_SECONDS: RangeInclusive<u32> = 1..=900;
/// Request body size the invoke API accepts: at most Lambda's 6 MB synchronous payload.
pub const MAX_BODY_BYTES: RangeInclusive<u32> = 1_024..=6 * 1024 * 1024;
/// Models one compare request may fan out to.
pub const MAX_COMPARE_MODELS: RangeInclusive<u32> = 1..=10;
/// How long the invoke function keeps the model catalog before reading it again.
pub const CACHE_TTL_SECONDS: RangeInclusive<u32> = 1..=86_400;
/// API Gateway stage steady-state rate, requests per second (at most the default account quota
/// of 10,000 per region).
pub const API_RATE_LIMIT: RangeInclusive<u32> = 1..=10_000;
/// API Gateway stage burst, requests (at most the default account quota of 5,000 per region).
pub const API_BURST_LIMIT: RangeInclusive<u32> = 1..=5_000;
/// Concurrent embedding calls per ingested document.
pub const INGEST_CONCURRENCY: RangeInclusive<u32> = 1..=64;
/// Characters per chunk (further capped by the embedding model's own text limit).
pub const CHUNK_CHARS: RangeInclusive<u32> = 100..=50_000;
/// Largest document ingest reads (further capped by the ingest function's memory).
pub const MAX_DOCUMENT_BYTES: RangeInclusive<u64> = 1..=10_240 * 1024 * 1024;

/// Retention periods CloudWatch Logs accepts (PutRetentionPolicy `retentionInDays`).
pub const LOG_RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// `value` when it lies in `range`.
pub fn in_range<T: PartialOrd + Display + Copy>(
    value: T,
    range: &RangeInclusive<T>,
) -> Result<T, String> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(format!("must be between {} and {}, got {value}", range.start(), range.end()))
    }
}

/// A model id Bedrock accepts.
pub fn model_id(value: &str) -> Result<ModelId, String> {
    value.parse().map_err(|e: crate::model::ModelIdError| e.to_string())
}

/// A model the stack's region can call: an ARN must be in that region (Bedrock invokes a model ARN
/// in the caller's region), and an inference profile must list the region among its sources.
pub fn model_callable_from(id: &ModelId, region: &str) -> Result<(), String> {
    if let Some(arn_region) = id.region()
        && arn_region != region
    {
        return Err(format!(
            "`{id}` is in region {arn_region}, but the stack deploys to {region}; use an ARN from {region} or a cross-region inference profile id"
        ));
    }
    if let Some(geography) = id.geography()
        && geography.routing_from(region).is_none()
    {
        return Err(format!(
            "`{id}` is a `{}.` cross-region inference profile, which cannot be called from {region} (its source regions: {})",
            geography.prefix(),
            geography.source_regions().join(", ")
        ));
    }
    Ok(())
}

/// A CloudFormation stack name: a letter, then letters, digits and hyphens, at most 128 characters.
pub fn stack_name(name: &str) -> Result<(), String> {
    let valid = (1..=128).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a CloudFormation stack name: expected a letter followed by letters, digits and `-`, at most 128 characters"
        ))
    }
}

/// An AWS region in a partition quarry supports (`us-east-1`, `eu-central-1`, `us-gov-west-1`).
pub fn region(region: &str) -> Result<(), String> {
    if !is_region_name(region) {
        return Err(format!("`{region}` is not an AWS region name like `us-east-1`"));
    }
    match Partition::of_region(region) {
        Some(_) => Ok(()),
        None => Err(format!(
            "`{region}` is in an isolated partition; quarry supports aws, aws-us-gov and aws-cn"
        )),
    }
}

/// An alias callers may send instead of a model id: 1 to 64 of `A-Z a-z 0-9 . _ : -` (so aliases
/// fit the comma-separated `alias=id` environment encoding).
pub fn alias_name(name: &str) -> Result<(), String> {
    let valid = (1..=64).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || ".-_:".contains(c));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "alias `{name}` must be 1 to 64 characters of letters, digits, `.`, `_`, `:` and `-`"
        ))
    }
}

/// An inline API key hash: the hex SHA-256 of the key, returned in lowercase. The value is never
/// echoed, in case a raw key was pasted by mistake.
pub fn api_key_sha256(hash: &str) -> Result<String, String> {
    let hint = "expected the 64 hexadecimal characters of the key's SHA-256 (e.g. `printf %s \"$KEY\" | sha256sum`)";
    if hash.len() != 64 {
        return Err(format!("{hint}, got {} characters", hash.chars().count()));
    }
    match hash.chars().position(|c| !c.is_ascii_hexdigit()) {
        Some(at) => Err(format!("{hint}, got a non-hexadecimal character at position {at}")),
        None => Ok(hash.to_ascii_lowercase()),
    }
}

/// A Secrets Manager secret name: 1 to 512 ASCII letters, digits and `/_+=.@-`.
pub fn secret_name(name: &str) -> Result<(), String> {
    let valid = (1..=512).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a Secrets Manager secret name: expected 1 to 512 ASCII letters, digits and `/_+=.@-`"
        ))
    }
}

/// A guardrail identifier as Bedrock's `guardrailIdentifier` pattern accepts it:
/// `[a-z0-9]+` or `arn:aws(-[^:]+)?:bedrock:{region}:{account}:guardrail/[a-z0-9]+`.
pub fn guardrail_id(id: &str) -> Result<(), String> {
    let lower_alnum =
        |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let valid = lower_alnum(id)
        || id.strip_prefix("arn:").is_some_and(|rest| {
            let fields: Vec<&str> = rest.splitn(5, ':').collect();
            matches!(fields.as_slice(), [partition, "bedrock", region, account, resource]
                if (*partition == "aws" || partition.strip_prefix("aws-").is_some_and(|p| !p.is_empty()))
                    && (1..=20).contains(&region.len())
                    && region.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && account.len() == 12
                    && account.chars().all(|c| c.is_ascii_digit())
                    && resource.strip_prefix("guardrail/").is_some_and(lower_alnum))
        });
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{id}` is not a guardrail identifier: expected its id (lowercase letters and digits) or its ARN `arn:aws:bedrock:{{region}}:{{account}}:guardrail/{{id}}`"
        ))
    }
}

/// A guardrail version: `DRAFT` or a number from 1 to 99999999.
pub fn guardrail_version(version: &str) -> Result<(), String> {
    let numbered = (1..=8).contains(&version.len())
        && !version.starts_with('0')
        && version.chars().all(|c| c.is_ascii_digit());
    if numbered || version == "DRAFT" {
        Ok(())
    } else {
        Err(format!(
            "`{version}` is not a guardrail version: expected `DRAFT` or a number like `1`"
        ))
    }
}

/// An S3 (vector) bucket or S3 Vectors index name: 3 to 63 lowercase letters, digits, `.` and
/// `-`, beginning and ending with a letter or digit.
pub fn s3_name(name: &str) -> Result<(), String> {
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let valid = (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && edge_ok(name.chars().next())
        && edge_ok(name.chars().last());
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{name}` must be 3 to 63 lowercase letters, digits, `.` and `-`, beginning and ending with a letter or digit"
        ))
    }
}

/// An S3 object key: 1 to 1024 bytes, not starting with `/`.
pub fn s3_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > 1024 {
        Err(format!("must be 1 to 1024 bytes, got {}", key.len()))
    } else if key.starts_with('/') {
        Err(format!("`{key}` starts with `/`; S3 keys are relative (e.g. `catalog/models.json`)"))
    } else {
        Ok(())
    }
}

/// A CloudWatch Logs retention period.
pub fn log_retention_days(days: u32) -> Result<(), String> {
    if LOG_RETENTION_DAYS.contains(&days) {
        Ok(())
    } else {
        let allowed: Vec<String> = LOG_RETENTION_DAYS.iter().map(u32::to_string).collect();
        Err(format!(
            "CloudWatch Logs keeps logs for one of {} days, got {days}",
            allowed.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_name_the_bounds_and_the_value() {
        assert_eq!(in_range(64, &MEMORY_MB), Err("must be between 128 and 10240, got 64".into()));
        assert_eq!(in_range(10_240, &MEMORY_MB), Ok(10_240));
        assert_eq!(
            in_range(901, &TIMEOUT_SECONDS),
            Err("must be between 1 and 900, got 901".into())
        );
    }

    #[test]
    fn stack_names_follow_cloudformation() {
        assert!(stack_name("quarry-prod2").is_ok());
        for bad in ["", "2quarry", "quarry_prod", "quarry prod", &"q".repeat(129)] {
            assert!(stack_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn regions_must_be_supported_region_names() {
        for ok in ["us-east-1", "eu-central-1", "us-gov-west-1", "cn-north-1", "ap-southeast-7"] {
            assert_eq!(region(ok), Ok(()), "{ok}");
        }
        assert!(region("us-east").is_err());
        assert!(region("US-EAST-1").is_err());
        assert!(region("us-iso-east-1").expect_err("isolated").contains("isolated partition"));
    }

    #[test]
    fn api_key_hashes_are_64_hex_characters_and_never_echoed() {
        let hash = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";
        assert_eq!(api_key_sha256(hash), Ok(hash.to_ascii_lowercase()));
        let raw_key = "sk-live-0123456789abcdef";
        let err = api_key_sha256(raw_key).expect_err("a raw key is not a hash");
        assert!(err.ends_with("got 24 characters"), "{err}");
        assert!(!err.contains(raw_key));
        let err = api_key_sha256(&format!("{}z", &hash[..63])).expect_err("non-hex");
        assert!(err.ends_with("non-hexadecimal character at position 63"), "{err}");
    }

    #[test]
    fn guardrail_identifiers_follow_bedrocks_pattern() {
        for ok in ["gr1abc2def3", "arn:aws:bedrock:us-east-1:123456789012:guardrail/abc123def456"] {
            assert_eq!(guardrail_id(ok), Ok(()), "{ok}");
        }
        assert_eq!(
            guardrail_id("arn:aws-us-gov:bedrock:us-gov-west-1:123456789012:guardrail/abc123"),
            Ok(())
        );
        for bad in [
            "",
            "My-Guardrail",
            "arn:aws:bedrock:us-east-1:1234:guardrail/abc",
            "arn:aws:bedrock:us-east-1:123456789012:agent/abc",
        ] {
            assert!(guardrail_id(bad).is_err(), "{bad}");
        }
        for ok in ["DRAFT", "1", "12345678"] {
            assert_eq!(guardrail_version(ok), Ok(()), "{ok}");
        }
        for bad in ["", "0", "01", "draft", "123456789", "v1"] {
            assert!(guardrail_version(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn s3_names_keys_and_secret_names() {
        assert_eq!(s3_name("quarry-docs.v2"), Ok(()));
        for bad in ["ab", "-docs", "docs-", "Docs", "docs_v2", &"a".repeat(64)] {
            assert!(s3_name(bad).is_err(), "{bad}");
        }
        assert_eq!(s3_key("catalog/models.json"), Ok(()));
        assert!(s3_key("").is_err());
        assert!(s3_key("/catalog.json").is_err());
        assert_eq!(secret_name("quarry/api-keys@prod+1"), Ok(()));
        assert!(secret_name("quarry api keys").is_err());
        assert!(secret_name("").is_err());
    }

    #[test]
    fn log_retention_is_one_of_cloudwatchs_values() {
        for days in LOG_RETENTION_DAYS {
            assert_eq!(log_retention_days(days), Ok(()));
        }
        let err = log_retention_days(10).expect_err("10 days is not offered");
        assert!(
            err.starts_with("CloudWatch Logs keeps logs for one of 1, 3, 5, 7, 14, 30"),
            "{err}"
        );
        assert!(err.ends_with("3653 days, got 10"), "{err}");
    }

    #[test]
    fn models_must_be_callable_from_the_stack_region() {
        let arn = model_id("arn:aws:bedrock:eu-west-1::foundation-model/amazon.nova-lite-v1:0")
            .expect("valid ARN");
        assert_eq!(model_callable_from(&arn, "eu-west-1"), Ok(()));
        let err = model_callable_from(&arn, "us-east-1").expect_err("other region");
        assert!(
            err.contains("is in region eu-west-1, but the stack deploys to us-east-1"),
            "{err}"
        );
        let profile = model_id("eu.amazon.nova-lite-v1:0").expect("profile id");
        assert_eq!(model_callable_from(&profile, "eu-central-1"), Ok(()));
        let err = model_callable_from(&profile, "us-east-1").expect_err("eu profile from the US");
        assert!(
            err.starts_with("`eu.amazon.nova-lite-v1:0` is a `eu.` cross-region inference profile, which cannot be called from us-east-1 (its source regions: "),
            "{err}"
        );
        let base = model_id("amazon.nova-lite-v1:0").expect("base id");
        assert_eq!(model_callable_from(&base, "us-east-1"), Ok(()));
    }
}
