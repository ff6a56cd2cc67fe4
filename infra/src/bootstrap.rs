//! The bootstrap stack (`quarry-bootstrap` by default, one per account and region): the private
//! bucket `deploy` uploads function zips and templates to, and API Gateway's regional
//! CloudWatch role, which stage access logs need.
//!
//! The role is an account-wide setting of API Gateway in the region (`AWS::ApiGateway::Account`):
//! it lives here, outside quarry's stack, so deleting a quarry stack never unsets it.

use crate::cfn::{Expr, Sub, Template, TemplateError};
use crate::policy::{PolicyDocument, Principal, Statement};
use crate::resources::{
    AbortIncompleteUpload, ApiGatewayAccount, Bucket, BucketPolicy, InlinePolicy, Lifecycle,
    LifecycleRule, Role,
};

/// The bootstrap stack's name unless `--bootstrap-stack` says otherwise.
pub const DEFAULT_STACK_NAME: &str = "quarry-bootstrap";
/// The output naming the assets bucket.
pub const ASSETS_BUCKET_OUTPUT: &str = "AssetsBucketName";
/// Uploaded zips and templates are removed after this many days (a deploy only needs them while
/// it runs, and a rollback right after).
pub const ASSET_EXPIRY_DAYS: u32 = 30;

/// The bootstrap template.
pub fn template() -> Result<Template, TemplateError> {
    let mut template = Template::new(
        "quarry bootstrap: the assets bucket quarry-infra deploys from and API Gateway's CloudWatch logging role for this region",
    );
    let mut bucket = Bucket::private(None);
    bucket.lifecycle_configuration = Some(Lifecycle {
        rules: vec![LifecycleRule {
            id: "ExpireDeployedAssets",
            status: "Enabled",
            expiration_in_days: Some(ASSET_EXPIRY_DAYS),
            noncurrent_version_expiration: None,
            abort_incomplete_multipart_upload: AbortIncompleteUpload { days_after_initiation: 1 },
        }],
    });
    template.add("AssetsBucket", &bucket)?;
    let arn = |suffix: &str| {
        Sub::new()
            .text("arn:")
            .var("AWS::Partition")
            .text(":s3:::")
            .var("AssetsBucket")
            .text(suffix)
            .build()
    };
    // Deny of every S3 action to non-TLS requests: it removes rights and grants none.
    let deny = Statement::allow(&["s3:*"], vec![arn(""), arn("/*")])
        .sid("DenyRequestsWithoutTls")
        .principal(Principal::Anyone)
        .deny()
        .when("Bool", "aws:SecureTransport", "false");
    template.add(
        "AssetsBucketPolicy",
        &BucketPolicy {
            bucket: Expr::reference("AssetsBucket"),
            policy_document: PolicyDocument::new(vec![deny]),
        },
    )?;

    // API Gateway writes access and execution logs of every REST API in the region with this
    // role, so it is scoped to the log groups of this account and region rather than to one
    // group (the actions are those of AWS's AmazonAPIGatewayPushToCloudWatchLogs, without its
    // read actions and its "*" resource).
    let log_groups = Sub::new()
        .text("arn:")
        .var("AWS::Partition")
        .text(":logs:")
        .var("AWS::Region")
        .text(":")
        .var("AWS::AccountId")
        .text(":log-group:*")
        .build();
    template.add(
        "ApiGatewayCloudWatchRole",
        &Role {
            description: "API Gateway: write REST API access and execution logs in this region"
                .into(),
            assume_role_policy_document: PolicyDocument::new(vec![Statement::assumed_by(
                "apigateway.amazonaws.com",
            )]),
            policies: vec![InlinePolicy {
                policy_name: "write-api-logs".into(),
                policy_document: PolicyDocument::new(vec![
                    Statement::allow(
                        &[
                            "logs:CreateLogGroup",
                            "logs:CreateLogStream",
                            "logs:DescribeLogGroups",
                            "logs:DescribeLogStreams",
                            "logs:PutLogEvents",
                        ],
                        vec![log_groups],
                    )
                    .sid("WriteApiGatewayLogsInThisRegion"),
                ]),
            }],
        },
    )?;
    template.add(
        "ApiGatewayAccount",
        &ApiGatewayAccount {
            cloud_watch_role_arn: Expr::get_att("ApiGatewayCloudWatchRole", "Arn"),
        },
    )?;
    template.output(
        ASSETS_BUCKET_OUTPUT,
        "Function zips and templates are uploaded here",
        Expr::reference("AssetsBucket"),
    )?;
    Ok(template)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bootstrap_holds_a_private_expiring_bucket_and_the_logging_role() {
        let json = template().expect("template").to_json().expect("json");
        let resources = json["Resources"].as_object().expect("resources");
        let kinds: Vec<&str> = resources.values().filter_map(|r| r["Type"].as_str()).collect();
        assert_eq!(
            kinds,
            [
                "AWS::ApiGateway::Account",
                "AWS::IAM::Role",
                "AWS::S3::Bucket",
                "AWS::S3::BucketPolicy"
            ]
        );
        let bucket = &json["Resources"]["AssetsBucket"]["Properties"];
        assert_eq!(bucket["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"], true);
        assert_eq!(bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"], 30);
        let role = &json["Resources"]["ApiGatewayCloudWatchRole"]["Properties"];
        let resource = &role["Policies"][0]["PolicyDocument"]["Statement"][0]["Resource"];
        assert_eq!(
            resource,
            &serde_json::json!([{"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"}])
        );
        assert_eq!(
            json["Outputs"]["AssetsBucketName"]["Value"],
            serde_json::json!({"Ref": "AssetsBucket"})
        );
    }
}
