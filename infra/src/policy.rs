//! IAM policy documents inside a template: statements whose resources and condition values may be
//! CloudFormation expressions, and the model grants of `quarry::model::invoke_resources` written
//! for a template whose account id is the `${AWS::AccountId}` pseudo parameter.

use std::collections::BTreeMap;

use quarry::model::{
    Effect, InvokeGrant, InvokeGrantError, ModelArn, ModelId, Partition, invoke_resources,
};
use serde::Serialize;

use crate::cfn::{Expr, Sub};

/// The account id `invoke_resources` is asked with; every ARN it puts that id into is rewritten
/// to `${AWS::AccountId}`. Only ARNs quarry builds itself (inference profile ids) carry it: an
/// ARN written in `quarry.toml` keeps its own account.
const ACCOUNT_PLACEHOLDER: &str = "000000000000";

/// An IAM policy document.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    version: &'static str,
    statement: Vec<Statement>,
}

impl PolicyDocument {
    /// A document (version 2012-10-17) of `statements`.
    pub fn new(statements: Vec<Statement>) -> Self {
        PolicyDocument { version: "2012-10-17", statement: statements }
    }

    /// The statements.
    pub fn statements(&self) -> &[Statement] {
        &self.statement
    }
}

/// Who a resource policy or trust policy applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// Everyone (`"*"`): only in Deny statements here.
    Anyone,
    /// An AWS service such as `lambda.amazonaws.com`.
    Service(&'static str),
}

impl Serialize for Principal {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Principal::Anyone => serializer.serialize_str("*"),
            Principal::Service(service) => {
                BTreeMap::from([("Service", service)]).serialize(serializer)
            }
        }
    }
}

/// One statement. `Sid` is the only place CloudFormation JSON can carry a reason, so statements
/// that need one (a `Resource: "*"`) say it there.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    /// Statement id: letters and digits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Allow or Deny.
    pub effect: Effect,
    /// For resource and trust policies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
    /// The actions, never a wildcard service.
    pub action: Vec<String>,
    /// The resources (absent in trust policies).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resource: Vec<Expr>,
    /// Operator → key → value, e.g. `StringEquals` → `bedrock:InferenceProfileArn` → ARN.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub condition: BTreeMap<String, BTreeMap<String, Expr>>,
}

impl Statement {
    /// Allows `actions` on `resources`.
    pub fn allow(actions: &[&str], resources: Vec<Expr>) -> Self {
        Statement {
            sid: None,
            effect: Effect::Allow,
            principal: None,
            action: actions.iter().map(|a| (*a).to_owned()).collect(),
            resource: resources,
            condition: BTreeMap::new(),
        }
    }

    /// Lets `service` assume the role (a trust policy statement).
    pub fn assumed_by(service: &'static str) -> Self {
        Statement {
            principal: Some(Principal::Service(service)),
            ..Statement::allow(&["sts:AssumeRole"], vec![])
        }
    }

    /// With this statement id.
    pub fn sid(mut self, sid: &str) -> Self {
        self.sid = Some(sid.to_owned());
        self
    }

    /// With this principal.
    pub fn principal(mut self, principal: Principal) -> Self {
        self.principal = Some(principal);
        self
    }

    /// As a Deny.
    pub fn deny(mut self) -> Self {
        self.effect = Effect::Deny;
        self
    }

    /// Adds `operator` → `key` = `value` to the condition block.
    pub fn when(mut self, operator: &str, key: &str, value: impl Into<Expr>) -> Self {
        self.condition.entry(operator.to_owned()).or_default().insert(key.to_owned(), value.into());
        self
    }
}

/// Where the functions run: the partition and region every model ARN is written for.
#[derive(Debug, Clone, Copy)]
pub struct Site<'a> {
    /// `aws`, `aws-us-gov` or `aws-cn`.
    pub partition: Partition,
    /// The stack's region.
    pub region: &'a str,
}

/// The statements that let a role call `actions` (a subset of `bedrock:InvokeModel` and
/// `bedrock:InvokeModelWithResponseStream`) on `model`: exactly the resources and conditions
/// `quarry::model::invoke_resources` derives, with the stack's account as `${AWS::AccountId}`.
pub fn model_grant(
    model: &ModelId,
    site: Site<'_>,
    actions: &[&str],
) -> Result<(Vec<Statement>, bool), InvokeGrantError> {
    let grant: InvokeGrant =
        invoke_resources(model, site.region, ACCOUNT_PLACEHOLDER, site.partition)?;
    let own_profile_arn = match model {
        ModelId::InferenceProfile(profile) => Some(
            ModelArn::inference_profile(
                site.partition,
                site.region,
                ACCOUNT_PLACEHOLDER,
                profile.clone(),
            )
            .to_string(),
        ),
        _ => None,
    };
    let in_template = |text: &str| -> Expr {
        match &own_profile_arn {
            Some(arn) if text == arn => {
                let marker = format!(":{ACCOUNT_PLACEHOLDER}:");
                match text.split_once(&marker) {
                    Some((before, after)) => Sub::new()
                        .text(before)
                        .text(":")
                        .var("AWS::AccountId")
                        .text(":")
                        .text(after)
                        .build(),
                    None => Expr::from(text),
                }
            }
            _ => Expr::from(text),
        }
    };
    let statements = grant
        .statements
        .iter()
        .map(|statement| {
            let mut out = Statement::allow(
                actions,
                statement.resource.iter().map(|r| in_template(r)).collect(),
            );
            if let Some(condition) = &statement.condition {
                for (key, value) in &condition.string_equals {
                    out = out.when("StringEquals", key, in_template(value));
                }
            }
            out
        })
        .collect();
    Ok((statements, grant.needs_underlying_model_grant))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quarry::model::INVOKE_ACTIONS;

    const US_EAST_1: Site<'static> = Site { partition: Partition::Aws, region: "us-east-1" };

    fn grant_json(model: &str, site: Site<'_>) -> serde_json::Value {
        let id: ModelId = model.parse().expect("model id");
        let (statements, _) = model_grant(&id, site, &INVOKE_ACTIONS).expect("grant");
        serde_json::to_value(PolicyDocument::new(statements)).expect("json")
    }

    #[test]
    fn a_geographic_profile_names_the_stack_account_through_the_pseudo_parameter() {
        let profile = "us.anthropic.claude-3-5-haiku-20241022-v1:0";
        let arn = serde_json::json!({"Fn::Sub": format!(
            "arn:aws:bedrock:us-east-1:${{AWS::AccountId}}:inference-profile/{profile}"
        )});
        let json = grant_json(profile, US_EAST_1);
        let statements = json["Statement"].as_array().expect("statements");
        assert_eq!(statements.len(), 2);
        assert_eq!(statements[0]["Resource"], serde_json::json!([arn.clone()]));
        assert_eq!(statements[1]["Condition"]["StringEquals"]["bedrock:InferenceProfileArn"], arn);
        let models = statements[1]["Resource"].as_array().expect("regional models");
        assert!(models.contains(&serde_json::json!(
            "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0"
        )));
        assert!(!json.to_string().contains(ACCOUNT_PLACEHOLDER));
    }

    #[test]
    fn a_global_profile_keeps_its_three_statements_and_region_conditions() {
        let profile = "global.anthropic.claude-sonnet-4-5-20250929-v1:0";
        let json = grant_json(profile, Site { partition: Partition::Aws, region: "eu-west-1" });
        let statements = json["Statement"].as_array().expect("statements");
        assert_eq!(statements.len(), 3);
        assert_eq!(
            statements[2]["Resource"],
            serde_json::json!([
                "arn:aws:bedrock:::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0"
            ])
        );
        assert_eq!(
            statements[2]["Condition"]["StringEquals"]["aws:RequestedRegion"],
            "unspecified"
        );
        assert_eq!(statements[1]["Condition"]["StringEquals"]["aws:RequestedRegion"], "eu-west-1");
    }

    #[test]
    fn configured_arns_and_base_models_stay_literal() {
        let arn =
            "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/abc123def456";
        let id: ModelId = arn.parse().expect("arn");
        let (statements, needs_more) =
            model_grant(&id, US_EAST_1, &["bedrock:InvokeModel"]).expect("grant");
        assert!(needs_more, "the model behind an application profile is not in its ARN");
        assert_eq!(
            serde_json::to_value(&statements).expect("json"),
            serde_json::json!([{
                "Effect": "Allow",
                "Action": ["bedrock:InvokeModel"],
                "Resource": [arn]
            }])
        );
        assert_eq!(
            grant_json("amazon.nova-lite-v1:0", US_EAST_1)["Statement"][0]["Resource"],
            serde_json::json!([
                "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"
            ])
        );
    }

    #[test]
    fn trust_and_resource_statements_carry_principals() {
        let trust = Statement::assumed_by("lambda.amazonaws.com");
        assert_eq!(
            serde_json::to_value(&trust).expect("json"),
            serde_json::json!({
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": ["sts:AssumeRole"]
            })
        );
        let deny = Statement::allow(&["s3:*"], vec!["arn:aws:s3:::b".into()])
            .sid("DenyWithoutTls")
            .principal(Principal::Anyone)
            .deny()
            .when("Bool", "aws:SecureTransport", "false");
        assert_eq!(
            serde_json::to_value(&deny).expect("json"),
            serde_json::json!({
                "Sid": "DenyWithoutTls",
                "Effect": "Deny",
                "Principal": "*",
                "Action": ["s3:*"],
                "Resource": ["arn:aws:s3:::b"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}
            })
        );
    }
}
