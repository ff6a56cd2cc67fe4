//! Least-privilege checks on the synthesized template: what each role, bucket policy and queue
//! policy allows, read from the JSON CloudFormation receives.

mod common;

use std::collections::BTreeSet;

use common::*;
use quarry::config::QuarryConfig;
use quarry::model::{INVOKE_ACTIONS, ModelId, Partition, PolicyStatement, invoke_resources};
use serde_json::{Value, json};

/// The only actions AWS does not scope to a resource, granted on `*`.
const UNSCOPED: [&str; 2] = ["bedrock:ListFoundationModels", "bedrock:ListInferenceProfiles"];

fn site(config: &QuarryConfig) -> (&'static str, &str) {
    let partition = Partition::of_region(&config.stack.region).expect("partition");
    (partition.as_str(), config.stack.region.as_str())
}

/// What `quarry::model::invoke_resources` derives for `models`, as IAM JSON with `actions`,
/// deduplicated in order: the grant the template must carry.
fn derived(config: &QuarryConfig, models: &[ModelId], actions: &[&str]) -> Vec<Value> {
    let partition = Partition::of_region(&config.stack.region).expect("partition");
    let mut statements: Vec<Value> = Vec::new();
    for model in models {
        let grant = invoke_resources(model, &config.stack.region, ACCOUNT, partition)
            .unwrap_or_else(|e| panic!("{model}: {e}"));
        for statement in grant.statements {
            let statement = PolicyStatement {
                action: actions.iter().map(|a| (*a).to_owned()).collect(),
                ..statement
            };
            let statement = serde_json::to_value(statement).expect("json");
            if !statements.contains(&statement) {
                statements.push(statement);
            }
        }
    }
    statements
}

/// The role's statements granting any of `actions`, resolved for `ACCOUNT`.
fn granting(template: &Value, config: &QuarryConfig, role: &str, any_of: &[&str]) -> Vec<Value> {
    let (partition, region) = site(config);
    role_statements(template, role)
        .into_iter()
        .filter(|s| actions(s).iter().any(|a| any_of.contains(a)))
        .map(|s| resolve(s, partition, region))
        .collect()
}

#[test]
fn no_allow_grants_a_wildcard_or_service_wide_action() {
    for (name, config) in configs() {
        let template = synthesize(&config);
        for (place, document) in policy_documents(&template) {
            for statement in document["Statement"].as_array().expect("statements") {
                for action in actions(statement) {
                    let wildcard = action.contains('*');
                    if statement["Effect"] == "Allow" {
                        assert!(!wildcard, "{name}: {place} allows `{action}`");
                    } else {
                        // The TLS-only bucket policies deny `s3:*` to non-TLS requests: a Deny
                        // takes rights away, so covering every action is the point.
                        assert_eq!(statement["Effect"], "Deny");
                        assert_eq!(
                            statement["Condition"],
                            json!({"Bool": {"aws:SecureTransport": "false"}}),
                            "{name}: {place}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn resource_star_is_only_on_the_two_list_actions_each_with_its_reason() {
    for (name, config) in configs() {
        let template = synthesize(&config);
        let mut starred: Vec<String> = Vec::new();
        for (place, document) in policy_documents(&template) {
            for statement in document["Statement"].as_array().expect("statements") {
                let resources = statement["Resource"].as_array().cloned().unwrap_or_default();
                if !resources.contains(&json!("*")) {
                    continue;
                }
                assert_eq!(resources, [json!("*")], "{name}: {place}");
                let acts = actions(statement);
                assert_eq!(acts.len(), 1, "{name}: {place}: one unscoped action per statement");
                assert!(UNSCOPED.contains(&acts[0]), "{name}: {place} grants `{}` on *", acts[0]);
                let sid = statement["Sid"].as_str().expect("a Sid saying why");
                assert!(sid.ends_with("HasNoResourceScoping"), "{name}: {sid}");
                assert!(place.starts_with("CatalogSyncRole"), "{name}: {place}");
                starred.push(acts[0].to_owned());
            }
        }
        starred.sort();
        assert_eq!(starred, UNSCOPED, "{name}");
    }
}

#[test]
fn the_invoke_role_holds_exactly_the_derived_model_grants() {
    for (name, config) in configs() {
        let template = synthesize(&config);
        let mut models = config.models.allowed.clone();
        models.push(config.embedding.model_id.clone());
        let expected = derived(&config, &models, &INVOKE_ACTIONS);
        let actual = granting(&template, &config, "InvokeRole", &INVOKE_ACTIONS);
        assert_eq!(actual, expected, "{name}");
    }
}

#[test]
fn the_ingest_role_may_only_invoke_the_embedding_model() {
    for (name, config) in configs() {
        let template = synthesize(&config);
        let bedrock: Vec<Value> = granting(&template, &config, "IngestRole", &INVOKE_ACTIONS)
            .into_iter()
            .chain(granting(&template, &config, "IngestRole", &["bedrock:ApplyGuardrail"]))
            .collect();
        let expected = derived(
            &config,
            std::slice::from_ref(&config.embedding.model_id),
            &["bedrock:InvokeModel"],
        );
        assert_eq!(bedrock, expected, "{name}");
        let catalog_sync = role_statements(&template, "CatalogSyncRole");
        assert!(
            catalog_sync
                .iter()
                .all(|s| !actions(s).iter().any(|a| a.starts_with("bedrock:Invoke"))),
            "{name}: catalog-sync invokes no model"
        );
    }
}

#[test]
fn cross_region_profiles_carry_the_profile_the_member_models_and_the_condition() {
    let config = QuarryConfig::from_toml_str(EU_CONFIG).expect("eu config");
    let template = synthesize(&config);
    let grants = granting(&template, &config, "InvokeRole", &INVOKE_ACTIONS);

    let eu_profile = format!(
        "arn:aws:bedrock:eu-central-1:{ACCOUNT}:inference-profile/eu.anthropic.claude-3-7-sonnet-20250219-v1:0"
    );
    let eu_models: Vec<&Value> = grants
        .iter()
        .filter(|s| {
            s["Condition"]["StringEquals"]["bedrock:InferenceProfileArn"] == json!(eu_profile)
        })
        .flat_map(|s| s["Resource"].as_array().expect("resources"))
        .collect();
    assert!(
        grants.iter().any(|s| s["Resource"] == json!([eu_profile]) && s.get("Condition").is_none())
    );
    for region in ["eu-central-1", "eu-west-1", "eu-west-3", "eu-north-1"] {
        let fm = format!(
            "arn:aws:bedrock:{region}::foundation-model/anthropic.claude-3-7-sonnet-20250219-v1:0"
        );
        assert!(eu_models.contains(&&json!(fm)), "eu profile misses {region}: {eu_models:?}");
    }

    // A global profile: profile ARN, the regional model and the region-less global model.
    let global = format!(
        "arn:aws:bedrock:eu-central-1:{ACCOUNT}:inference-profile/global.anthropic.claude-sonnet-4-5-20250929-v1:0"
    );
    let global_grants: Vec<&Value> = grants
        .iter()
        .filter(|s| {
            s["Resource"] == json!([global])
                || s["Condition"]["StringEquals"]["bedrock:InferenceProfileArn"] == json!(global)
        })
        .collect();
    assert_eq!(
        global_grants.iter().map(|s| s["Resource"][0].clone()).collect::<Vec<_>>(),
        [
            json!(global),
            json!(
                "arn:aws:bedrock:eu-central-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0"
            ),
            json!("arn:aws:bedrock:::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0"),
        ]
    );
    assert_eq!(global_grants[2]["Condition"]["StringEquals"]["aws:RequestedRegion"], "unspecified");

    // In the template the account is the stack's own, never a literal.
    let raw = role_statements(&template, "InvokeRole");
    assert_eq!(
        raw.iter()
            .find(|s| s["Resource"].to_string().contains("inference-profile/eu."))
            .map(|s| s["Resource"][0].clone()),
        Some(
            json!({"Fn::Sub": "arn:aws:bedrock:eu-central-1:${AWS::AccountId}:inference-profile/eu.anthropic.claude-3-7-sonnet-20250219-v1:0"})
        )
    );
}

#[test]
fn an_application_profile_arn_is_granted_as_written_with_a_warning() {
    let config = QuarryConfig::from_toml_str(ARN_CONFIG).expect("arn config");
    let synthesis = quarry_infra::stack::synthesize(&config).expect("synthesizes");
    assert_eq!(synthesis.warnings.len(), 1);
    assert!(synthesis.warnings[0].starts_with("models.chat[0]: `arn:aws:bedrock:us-west-2:111122223333:application-inference-profile/a1b2c3d4e5f6` is granted as written"));
    let template = synthesize(&config);
    let grants = granting(&template, &config, "InvokeRole", &INVOKE_ACTIONS);
    assert!(grants.iter().any(|s| s["Resource"]
        == json!([
            "arn:aws:bedrock:us-west-2:111122223333:application-inference-profile/a1b2c3d4e5f6"
        ])));
}

#[test]
fn each_function_role_writes_only_its_own_log_group() {
    for (name, config) in configs() {
        let template = synthesize(&config);
        for (function_id, function) in resources(&template, "AWS::Lambda::Function") {
            let role = function["Properties"]["Role"]["Fn::GetAtt"][0].as_str().expect("role");
            let function_name = function["Properties"]["FunctionName"].as_str().expect("name");
            let logs: Vec<&Value> = role_statements(&template, role)
                .into_iter()
                .filter(|s| actions(s).iter().any(|a| a.starts_with("logs:")))
                .collect();
            assert_eq!(logs.len(), 1, "{name}: {role}");
            assert_eq!(actions(logs[0]), ["logs:CreateLogStream", "logs:PutLogEvents"]);
            let group =
                logs[0]["Resource"][0]["Fn::GetAtt"][0].as_str().expect("a log group's ARN");
            assert_eq!(logs[0]["Resource"][0]["Fn::GetAtt"][1], "Arn");
            assert_eq!(
                template["Resources"][group]["Properties"]["LogGroupName"],
                json!(format!("/aws/lambda/{function_name}")),
                "{name}: {function_id}'s role writes to another function's group"
            );
            assert_eq!(
                template["Resources"][group]["Properties"]["RetentionInDays"],
                json!(config.log_retention_days)
            );
            assert_eq!(function["DependsOn"], json!([group]));
        }
    }
}

#[test]
fn data_grants_name_one_bucket_object_queue_or_index() {
    let config = QuarryConfig::from_toml_str(REPO_CONFIG).expect("repo config");
    let template = synthesize(&config);
    let by_sid = |role: &str, sid: &str| -> Value {
        let found = role_statements(&template, role).into_iter().find(|s| s["Sid"] == sid);
        resolve(found.unwrap_or_else(|| panic!("{role} {sid}")), "aws", "us-east-1")
    };
    let catalog = json!([{"Fn::Sub": "arn:aws:s3:::${CatalogBucket}/catalog/models.json"}]);
    let index = json!([{"Fn::GetAtt": ["VectorIndex", "IndexArn"]}]);
    let cases = [
        ("InvokeRole", "ReadModelCatalog", json!(["s3:GetObject"]), catalog.clone()),
        (
            "InvokeRole",
            "QueryDocumentIndex",
            json!(["s3vectors:QueryVectors", "s3vectors:GetVectors"]),
            index.clone(),
        ),
        (
            "InvokeRole",
            "ReadApiKeySecret",
            json!(["secretsmanager:GetSecretValue"]),
            json!([format!(
                "arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:quarry/api-keys-??????"
            )]),
        ),
        (
            "IngestRole",
            "ReadDocuments",
            json!(["s3:GetObject"]),
            json!([format!("arn:aws:s3:::quarry-docs-{ACCOUNT}-us-east-1/*")]),
        ),
        (
            "IngestRole",
            "ConsumeIngestQueue",
            json!([
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes"
            ]),
            json!([{"Fn::GetAtt": ["IngestQueue", "Arn"]}]),
        ),
        (
            "IngestRole",
            "WriteDocumentIndex",
            json!([
                "s3vectors:PutVectors",
                "s3vectors:DeleteVectors",
                "s3vectors:ListVectors",
                "s3vectors:GetVectors"
            ]),
            index,
        ),
        (
            "CatalogSyncRole",
            "ReadWriteModelCatalog",
            json!(["s3:GetObject", "s3:PutObject"]),
            catalog,
        ),
    ];
    for (role, sid, expected_actions, expected_resources) in cases {
        let statement = by_sid(role, sid);
        assert_eq!(statement["Action"], expected_actions, "{role} {sid}");
        assert_eq!(statement["Resource"], expected_resources, "{role} {sid}");
        assert!(statement.get("Condition").is_none());
    }
    // Nothing else: every statement of the three roles is a model grant or one of the above.
    for role in ["InvokeRole", "IngestRole", "CatalogSyncRole"] {
        for statement in role_statements(&template, role) {
            let acts = actions(statement);
            let model_grant = acts.iter().all(|a| INVOKE_ACTIONS.contains(a));
            assert!(model_grant || statement["Sid"].is_string(), "{role}: unexplained {statement}");
        }
    }
}

#[test]
fn the_guardrail_and_the_secret_follow_the_config() {
    let eu = QuarryConfig::from_toml_str(EU_CONFIG).expect("eu config");
    let template = synthesize(&eu);
    let guardrail = granting(&template, &eu, "InvokeRole", &["bedrock:ApplyGuardrail"]);
    assert_eq!(
        guardrail,
        [json!({
            "Sid": "ApplyConfiguredGuardrail",
            "Effect": "Allow",
            "Action": ["bedrock:ApplyGuardrail"],
            "Resource": [format!("arn:aws:bedrock:eu-central-1:{ACCOUNT}:guardrail/gr1abc2def3g")]
        })]
    );
    assert!(
        granting(&template, &eu, "InvokeRole", &["secretsmanager:GetSecretValue"]).is_empty(),
        "iam mode reads no secret"
    );
    let repo = QuarryConfig::from_toml_str(REPO_CONFIG).expect("repo config");
    let template = synthesize(&repo);
    assert!(
        granting(&template, &repo, "InvokeRole", &["bedrock:ApplyGuardrail"]).is_empty(),
        "no guardrail configured"
    );
}

#[test]
fn roles_are_assumable_only_by_their_service() {
    for (name, config) in configs() {
        let template = synthesize(&config);
        let roles: BTreeSet<&str> =
            resources(&template, "AWS::IAM::Role").into_iter().map(|(id, _)| id).collect();
        assert_eq!(
            roles,
            BTreeSet::from([
                "CatalogSyncRole",
                "CatalogSyncScheduleRole",
                "IngestRole",
                "InvokeRole"
            ]),
            "{name}: one role per function plus the scheduler's"
        );
        for role in ["InvokeRole", "IngestRole", "CatalogSyncRole"] {
            assert_eq!(
                template["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"],
                json!([{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": ["sts:AssumeRole"]}])
            );
        }
        let scheduler = &template["Resources"]["CatalogSyncScheduleRole"]["Properties"];
        assert_eq!(
            scheduler["AssumeRolePolicyDocument"]["Statement"][0]["Condition"],
            json!({"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}})
        );
        assert_eq!(
            role_statements(&template, "CatalogSyncScheduleRole"),
            [&json!({
                "Sid": "InvokeCatalogSync",
                "Effect": "Allow",
                "Action": ["lambda:InvokeFunction"],
                "Resource": [{"Fn::GetAtt": ["CatalogSyncFunction", "Arn"]}]
            })]
        );
    }
}

#[test]
fn s3_may_send_to_the_queue_only_for_the_documents_bucket() {
    let config = QuarryConfig::from_toml_str(REPO_CONFIG).expect("repo config");
    let template = synthesize(&config);
    let policy = &template["Resources"]["IngestQueuePolicy"]["Properties"];
    assert_eq!(policy["Queues"], json!([{"Ref": "IngestQueue"}]));
    assert_eq!(
        resolve(&policy["PolicyDocument"]["Statement"], "aws", "us-east-1"),
        json!([{
            "Sid": "DocumentsBucketSendsEvents",
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": ["sqs:SendMessage"],
            "Resource": [{"Fn::GetAtt": ["IngestQueue", "Arn"]}],
            "Condition": {
                "ArnEquals": {"aws:SourceArn": format!("arn:aws:s3:::quarry-docs-{ACCOUNT}-us-east-1")},
                "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
            }
        }])
    );
}
