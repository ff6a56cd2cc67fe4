//! Helpers of the template tests: configs to synthesize, and a reader of the synthesized JSON
//! (the template as CloudFormation sees it, not the Rust structs that wrote it).
#![allow(dead_code)]

use quarry::config::QuarryConfig;
use serde_json::Value;

/// The account the tests stand in for `${AWS::AccountId}`.
pub const ACCOUNT: &str = "123456789012";

/// The repository's quarry.toml: a `us.` profile and two base models, API keys, us-east-1.
pub const REPO_CONFIG: &str = include_str!("../../../quarry.toml");

/// eu-central-1 with a geographic `eu.` profile, a global profile, a guardrail and IAM auth.
pub const EU_CONFIG: &str = include_str!("../configs/eu.toml");

/// us-west-2 with an application inference profile ARN and an embedding profile id.
pub const ARN_CONFIG: &str = include_str!("../configs/arn.toml");

/// Every test config with its name.
pub fn configs() -> Vec<(&'static str, QuarryConfig)> {
    [("repo", REPO_CONFIG), ("eu", EU_CONFIG), ("arn", ARN_CONFIG)]
        .into_iter()
        .map(|(name, text)| {
            let config =
                QuarryConfig::from_toml_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, config)
        })
        .collect()
}

/// The synthesized template of `config`, as JSON.
pub fn synthesize(config: &QuarryConfig) -> Value {
    let synthesis = quarry_infra::stack::synthesize(config).expect("synthesizes");
    let text = synthesis.template.render().expect("renders");
    serde_json::from_str(&text).expect("the template is JSON")
}

/// The resources of `template` of `kind`, as (logical id, resource).
pub fn resources<'a>(template: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    template["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(id, r)| (id.as_str(), r))
        .collect()
}

/// A value as CloudFormation would resolve it for `ACCOUNT` in `partition`/`region`: `Fn::Sub`
/// patterns get the pseudo parameters filled in; other references stay as they are.
pub fn resolve(value: &Value, partition: &str, region: &str) -> Value {
    match value {
        Value::Object(map) if map.len() == 1 && map.contains_key("Fn::Sub") => {
            let pattern = map["Fn::Sub"].as_str().expect("Fn::Sub pattern");
            let resolved = pattern
                .replace("${AWS::AccountId}", ACCOUNT)
                .replace("${AWS::Partition}", partition)
                .replace("${AWS::Region}", region);
            if resolved.contains("${") { value.clone() } else { Value::from(resolved) }
        }
        Value::Object(map) => Value::Object(
            map.iter().map(|(k, v)| (k.clone(), resolve(v, partition, region))).collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| resolve(v, partition, region)).collect())
        }
        other => other.clone(),
    }
}

/// A statement's `Action` as a list.
pub fn actions(statement: &Value) -> Vec<&str> {
    match &statement["Action"] {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

/// Every policy document in the template with where it is: role inline policies, trust
/// policies, bucket and queue policies.
pub fn policy_documents(template: &Value) -> Vec<(String, &Value)> {
    let mut documents = Vec::new();
    for (id, resource) in template["Resources"].as_object().expect("Resources") {
        let properties = &resource["Properties"];
        match resource["Type"].as_str() {
            Some("AWS::IAM::Role") => {
                documents.push((format!("{id} trust"), &properties["AssumeRolePolicyDocument"]));
                for policy in properties["Policies"].as_array().expect("Policies") {
                    documents.push((
                        format!("{id} {}", policy["PolicyName"].as_str().unwrap_or("?")),
                        &policy["PolicyDocument"],
                    ));
                }
            }
            Some("AWS::S3::BucketPolicy" | "AWS::SQS::QueuePolicy") => {
                documents.push((id.clone(), &properties["PolicyDocument"]));
            }
            _ => {}
        }
    }
    documents
}

/// The statements of a role's inline policies (not its trust policy).
pub fn role_statements<'a>(template: &'a Value, role: &str) -> Vec<&'a Value> {
    template["Resources"][role]["Properties"]["Policies"]
        .as_array()
        .unwrap_or_else(|| panic!("role {role}"))
        .iter()
        .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().expect("statements"))
        .collect()
}
