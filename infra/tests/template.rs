//! The synthesized template's resources, read from its JSON: determinism, the functions and
//! their environment, the streaming API, the documents pipeline, the vector index, the schedule,
//! alarms and outputs.

mod common;

use std::collections::BTreeMap;

use common::*;
use quarry::config::{QuarryConfig, StackResources};
use serde_json::{Value, json};

fn repo() -> (QuarryConfig, Value) {
    let config = QuarryConfig::from_toml_str(REPO_CONFIG).expect("repo config");
    let template = synthesize(&config);
    (config, template)
}

fn eu() -> (QuarryConfig, Value) {
    let config = QuarryConfig::from_toml_str(EU_CONFIG).expect("eu config");
    let template = synthesize(&config);
    (config, template)
}

#[test]
fn synthesizing_twice_gives_the_same_bytes_with_sorted_keys() {
    for (name, config) in configs() {
        let first = quarry_infra::stack::synthesize(&config)
            .expect("first")
            .template
            .render()
            .expect("render");
        let second = quarry_infra::stack::synthesize(&config)
            .expect("second")
            .template
            .render()
            .expect("render");
        assert_eq!(first, second, "{name}");
        fn sorted(value: &Value) -> bool {
            match value {
                Value::Object(map) => {
                    let keys: Vec<&String> = map.keys().collect();
                    keys.windows(2).all(|w| w[0] < w[1]) && map.values().all(sorted)
                }
                Value::Array(items) => items.iter().all(sorted),
                _ => true,
            }
        }
        let json: Value = serde_json::from_str(&first).expect("json");
        assert!(sorted(&json), "{name}: keys are sorted");
        // Key order in the text, not only in the parsed map.
        let order: Vec<&str> =
            first.lines().filter(|l| l.starts_with("  \"")).map(str::trim).collect();
        assert_eq!(order[0], "\"AWSTemplateFormatVersion\": \"2010-09-09\",");
    }
}

#[test]
fn the_command_line_writes_the_same_template() {
    let dir = std::env::temp_dir().join(format!("quarry-infra-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config_path = dir.join("quarry.toml");
    std::fs::write(&config_path, EU_CONFIG).expect("config written");
    let out = dir.join("stack.json");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_quarry-infra"))
        .args(["synth", "--config"])
        .arg(&config_path)
        .arg("--out")
        .arg(&out)
        .status()
        .expect("runs");
    assert!(status.success());
    let written = std::fs::read_to_string(&out).expect("template written");
    let config = QuarryConfig::from_toml_str(EU_CONFIG).expect("eu config");
    let expected =
        quarry_infra::stack::synthesize(&config).expect("synth").template.render().expect("render");
    assert_eq!(written, expected);

    std::fs::write(&config_path, EU_CONFIG.replace("burst_limit = 40", "burst_limit = 0"))
        .expect("bad config");
    let failed = std::process::Command::new(env!("CARGO_BIN_EXE_quarry-infra"))
        .args(["synth", "--config"])
        .arg(&config_path)
        .output()
        .expect("runs");
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains("api.burst_limit: must be between 1 and 5000, got 0"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn three_arm64_functions_run_their_zip_from_the_assets_bucket() {
    let (config, template) = repo();
    let functions = resources(&template, "AWS::Lambda::Function");
    assert_eq!(
        functions.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        ["CatalogSyncFunction", "IngestFunction", "InvokeFunction"]
    );
    let expected = [
        ("InvokeFunction", "quarry-invoke", "InvokeCodeKey", config.functions.invoke),
        ("IngestFunction", "quarry-ingest", "IngestCodeKey", config.functions.ingest),
        (
            "CatalogSyncFunction",
            "quarry-catalog-sync",
            "CatalogSyncCodeKey",
            config.functions.catalog_sync,
        ),
    ];
    for (id, name, key, settings) in expected {
        let p = &template["Resources"][id]["Properties"];
        assert_eq!(p["FunctionName"], name);
        assert_eq!(p["Runtime"], "provided.al2023");
        assert_eq!(p["Architectures"], json!(["arm64"]));
        assert_eq!(p["Handler"], "bootstrap");
        assert_eq!(p["Code"], json!({"S3Bucket": {"Ref": "AssetsBucket"}, "S3Key": {"Ref": key}}));
        assert_eq!(p["MemorySize"], settings.memory_mb);
        assert_eq!(p["Timeout"], settings.timeout_seconds);
        assert_eq!(template["Parameters"][key]["Type"], "String");
    }
}

#[test]
fn each_environment_is_the_settings_to_env_with_the_stacks_bucket_names() {
    let (config, template) = repo();
    let names =
        StackResources { catalog_bucket: "CATALOG".into(), vector_bucket: "VECTORS".into() };
    let catalog = json!({"Ref": "CatalogBucket"});
    let vectors = json!({"Fn::Sub": "quarry-vec-${AWS::AccountId}-us-east-1"});
    let cases = [
        ("InvokeFunction", config.invoke_settings(&names).to_env()),
        ("IngestFunction", config.ingest_settings(&names).to_env()),
        ("CatalogSyncFunction", config.catalog_sync_settings(&names).to_env()),
    ];
    for (id, env) in cases {
        let mut expected: BTreeMap<String, Value> = env
            .into_iter()
            .map(|(k, v)| {
                let value = match v.as_str() {
                    "CATALOG" => catalog.clone(),
                    "VECTORS" => vectors.clone(),
                    _ => json!(v),
                };
                (k, value)
            })
            .collect();
        if id == "InvokeFunction" {
            // lambda_http hands the Router `/v1/models`, not `/api/v1/models`.
            expected.insert("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH".into(), json!("true"));
        }
        let actual: BTreeMap<String, Value> = serde_json::from_value(
            template["Resources"][id]["Properties"]["Environment"]["Variables"].clone(),
        )
        .expect("variables");
        assert_eq!(actual, expected, "{id}");
    }
}

#[test]
fn the_rest_api_streams_every_path_to_the_invoke_function() {
    let (config, template) = repo();
    let methods = resources(&template, "AWS::ApiGateway::Method");
    assert_eq!(methods.len(), 2);
    for (id, method) in &methods {
        let p = &method["Properties"];
        assert_eq!(p["HttpMethod"], "ANY", "{id}");
        assert_eq!(p["AuthorizationType"], "NONE", "{id}: api_keys mode: the function checks keys");
        assert_eq!(
            p["Integration"],
            json!({
                "Type": "AWS_PROXY",
                "IntegrationHttpMethod": "POST",
                "ResponseTransferMode": "STREAM",
                "TimeoutInMillis": config.functions.invoke.timeout_seconds * 1000,
                "Uri": {"Fn::Sub": "arn:aws:apigateway:us-east-1:lambda:path/2021-11-15/functions/${InvokeFunction.Arn}/response-streaming-invocations"}
            })
        );
    }
    assert_eq!(template["Resources"]["ApiProxyResource"]["Properties"]["PathPart"], "{proxy+}");
    let (deployment, d) = resources(&template, "AWS::ApiGateway::Deployment")[0];
    assert_eq!(d["DependsOn"], json!(["ApiProxyMethod", "ApiRootMethod"]));
    let stage = &template["Resources"]["ApiStage"]["Properties"];
    assert_eq!(stage["DeploymentId"], json!({"Ref": deployment}));
    assert_eq!(stage["StageName"], "api");
    assert_eq!(
        stage["MethodSettings"],
        json!([{"ResourcePath": "/*", "HttpMethod": "*", "ThrottlingRateLimit": 50.0, "ThrottlingBurstLimit": 100, "MetricsEnabled": true}])
    );
    assert_eq!(
        stage["AccessLogSetting"]["DestinationArn"],
        json!({"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]})
    );
    let format: Value =
        serde_json::from_str(stage["AccessLogSetting"]["Format"].as_str().expect("format"))
            .expect("the access log format is one JSON object per line");
    assert_eq!(format["requestId"], "$context.requestId");
    let permission = &template["Resources"]["ApiInvokePermission"]["Properties"];
    assert_eq!(permission["Principal"], "apigateway.amazonaws.com");
    assert_eq!(
        permission["SourceArn"],
        json!({"Fn::Sub": "arn:aws:execute-api:us-east-1:${AWS::AccountId}:${Api}/*"})
    );
}

#[test]
fn iam_mode_signs_requests_and_a_changed_api_gets_a_new_deployment() {
    let (config, template) = eu();
    for (id, method) in resources(&template, "AWS::ApiGateway::Method") {
        assert_eq!(method["Properties"]["AuthorizationType"], "AWS_IAM", "{id}");
        assert_eq!(method["Properties"]["Integration"]["TimeoutInMillis"], 600_000);
    }
    let stage = &template["Resources"]["ApiStage"]["Properties"]["MethodSettings"][0];
    assert_eq!(
        (stage["ThrottlingRateLimit"].clone(), stage["ThrottlingBurstLimit"].clone()),
        (json!(20.0), json!(40))
    );
    let (repo_config, repo_template) = repo();
    let deployment = |t: &Value| resources(t, "AWS::ApiGateway::Deployment")[0].0.to_owned();
    assert_ne!(
        deployment(&template),
        deployment(&repo_template),
        "methods differ, so must the deployment"
    );
    assert_eq!(deployment(&repo_template), deployment(&synthesize(&repo_config)));
    assert!(config.auth.secret_name().is_none());
}

#[test]
fn documents_land_in_a_private_versioned_bucket_that_notifies_the_ingest_queue() {
    let (config, template) = repo();
    let bucket = &template["Resources"]["DocumentsBucket"];
    assert_eq!(bucket["DeletionPolicy"], "Retain", "the user's documents outlive the stack");
    assert_eq!(bucket["DependsOn"], json!(["IngestQueuePolicy"]));
    let p = &bucket["Properties"];
    assert_eq!(p["BucketName"], json!({"Fn::Sub": "quarry-docs-${AWS::AccountId}-us-east-1"}));
    assert_eq!(
        p["PublicAccessBlockConfiguration"],
        json!({"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true})
    );
    assert_eq!(
        p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
            ["SSEAlgorithm"],
        "AES256"
    );
    assert_eq!(p["VersioningConfiguration"], json!({"Status": "Enabled"}));
    assert_eq!(
        p["NotificationConfiguration"],
        json!({"QueueConfigurations": [
            {"Event": "s3:ObjectCreated:*", "Queue": {"Fn::GetAtt": ["IngestQueue", "Arn"]}},
            {"Event": "s3:ObjectRemoved:*", "Queue": {"Fn::GetAtt": ["IngestQueue", "Arn"]}}
        ]})
    );
    for (policy, arn) in [
        (
            "DocumentsBucketPolicy",
            json!({"Fn::Sub": "arn:aws:s3:::quarry-docs-${AWS::AccountId}-us-east-1"}),
        ),
        ("CatalogBucketPolicy", json!({"Fn::Sub": "arn:aws:s3:::${CatalogBucket}"})),
    ] {
        let statement =
            &template["Resources"][policy]["Properties"]["PolicyDocument"]["Statement"][0];
        assert_eq!(statement["Effect"], "Deny", "{policy}");
        assert_eq!(statement["Principal"], "*");
        assert_eq!(statement["Resource"][0], arn, "{policy}");
        assert_eq!(statement["Condition"], json!({"Bool": {"aws:SecureTransport": "false"}}));
    }
    let queue = &template["Resources"]["IngestQueue"]["Properties"];
    assert_eq!(
        queue["RedrivePolicy"],
        json!({"deadLetterTargetArn": {"Fn::GetAtt": ["IngestDeadLetterQueue", "Arn"]}, "maxReceiveCount": 5})
    );
    assert_eq!(queue["VisibilityTimeout"], config.functions.ingest.timeout_seconds * 6);
    assert_eq!(queue["SqsManagedSseEnabled"], true);
    let mapping = &template["Resources"]["IngestEventSource"]["Properties"];
    assert_eq!(mapping["EventSourceArn"], json!({"Fn::GetAtt": ["IngestQueue", "Arn"]}));
    assert_eq!(mapping["FunctionName"], json!({"Ref": "IngestFunction"}));
    assert_eq!(mapping["FunctionResponseTypes"], json!(["ReportBatchItemFailures"]));
}

#[test]
fn the_vector_index_has_the_configured_dimensions_and_metric() {
    let (config, template) = eu();
    let index = &template["Resources"]["VectorIndex"]["Properties"];
    assert_eq!(index["IndexName"], "team-docs");
    assert_eq!(index["Dimension"], config.embedding.dimensions);
    assert_eq!(index["DistanceMetric"], "euclidean");
    assert_eq!(index["DataType"], "float32");
    assert_eq!(
        index["VectorBucketName"],
        json!({"Fn::Sub": "team-eu-vec-${AWS::AccountId}-eu-central-1"})
    );
    // Exactly the keys the S3 Vectors store writes outside the filterable budget, chunk text first.
    assert_eq!(
        index["MetadataConfiguration"],
        json!({"NonFilterableMetadataKeys": quarry::vector::NON_FILTERABLE_METADATA_KEYS})
    );
    assert_eq!(index["MetadataConfiguration"]["NonFilterableMetadataKeys"][0], "text");
    assert_eq!(
        template["Resources"]["VectorBucket"]["Properties"]["VectorBucketName"],
        index["VectorBucketName"]
    );
}

#[test]
fn catalog_sync_runs_on_the_configured_schedule() {
    let (_, template) = eu();
    let schedule = &template["Resources"]["CatalogSyncSchedule"]["Properties"];
    assert_eq!(schedule["ScheduleExpression"], "cron(0 3 * * ? *)");
    assert_eq!(schedule["FlexibleTimeWindow"], json!({"Mode": "OFF"}));
    assert_eq!(schedule["Target"]["Arn"], json!({"Fn::GetAtt": ["CatalogSyncFunction", "Arn"]}));
    assert_eq!(
        schedule["Target"]["RoleArn"],
        json!({"Fn::GetAtt": ["CatalogSyncScheduleRole", "Arn"]})
    );
    let sync_env =
        &template["Resources"]["CatalogSyncFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(sync_env["QUARRY_CATALOG_KEY"], "models/catalog.json");
    let retention: Vec<&Value> = resources(&template, "AWS::Logs::LogGroup")
        .into_iter()
        .map(|(_, g)| &g["Properties"]["RetentionInDays"])
        .collect();
    assert_eq!(retention, [&json!(14); 4], "log_retention_days for every log group");
}

#[test]
fn alarms_watch_the_dead_letter_queue_and_every_functions_errors_and_throttles() {
    let (_, template) = repo();
    let alarms: BTreeMap<&str, (&Value, &Value, &Value)> =
        resources(&template, "AWS::CloudWatch::Alarm")
            .into_iter()
            .map(|(id, a)| {
                let p = &a["Properties"];
                (id, (&p["MetricName"], &p["Dimensions"][0]["Value"], &p["Threshold"]))
            })
            .collect();
    assert_eq!(alarms.len(), 7);
    assert_eq!(
        alarms["IngestDeadLetterQueueAlarm"],
        (
            &json!("ApproximateNumberOfMessagesVisible"),
            &json!({"Fn::GetAtt": ["IngestDeadLetterQueue", "QueueName"]}),
            &json!(1.0)
        )
    );
    for stem in ["Invoke", "Ingest", "CatalogSync"] {
        let function = json!({"Ref": format!("{stem}Function")});
        assert_eq!(alarms[format!("{stem}ErrorsAlarm").as_str()].0, "Errors");
        assert_eq!(alarms[format!("{stem}ErrorsAlarm").as_str()].1, &function);
        assert_eq!(alarms[format!("{stem}ThrottlesAlarm").as_str()].0, "Throttles");
    }
}

#[test]
fn outputs_give_the_api_url_bucket_and_queue_and_the_region_is_enforced() {
    let (_, template) = repo();
    let outputs = &template["Outputs"];
    assert_eq!(
        outputs["ApiUrl"]["Value"],
        json!({"Fn::Sub": "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api"})
    );
    assert_eq!(outputs["DocumentsBucketName"]["Value"], json!({"Ref": "DocumentsBucket"}));
    assert_eq!(outputs["IngestQueueUrl"]["Value"], json!({"Ref": "IngestQueue"}));
    assert_eq!(outputs["ApiKeySecretName"]["Value"], "quarry/api-keys");
    assert_eq!(
        template["Rules"]["StackRegionMatchesQuarryToml"]["Assertions"][0]["Assert"],
        json!({"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]})
    );
}

#[test]
fn a_stack_name_too_long_for_function_names_is_refused_naming_the_field() {
    let long = "q".repeat(60);
    let text = REPO_CONFIG.replace("name = \"quarry\"", &format!("name = \"{long}\""));
    let config = QuarryConfig::from_toml_str(&text).expect("valid for CloudFormation");
    let err =
        quarry_infra::stack::synthesize(&config).expect_err("too long for Lambda").to_string();
    assert!(err.starts_with(&format!("stack.name: `{long}` makes the function name `{long}-catalog-sync` longer than Lambda's 64 characters; use at most 51 characters")), "{err}");
}

#[test]
fn function_crates_deploy_metadata_matches_quarry_toml() {
    // `cargo lambda deploy` applies [package.metadata.lambda.deploy]: it must not drift from
    // the memory and timeout the stack sets from quarry.toml.
    let (config, _) = repo();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut checked = 0;
    for function in quarry_infra::functions::LambdaFunction::ALL {
        let dir = function.binary().trim_start_matches("quarry-");
        let manifest = root.join("functions").join(dir).join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else { continue };
        let cargo: toml::Table = toml::from_str(&text).expect("Cargo.toml");
        let deploy = &cargo["package"]["metadata"]["lambda"]["deploy"];
        let settings = function.settings(&config);
        assert_eq!(
            deploy["memory"].as_integer(),
            Some(i64::from(settings.memory_mb)),
            "{}",
            manifest.display()
        );
        assert_eq!(
            deploy["timeout"].as_integer(),
            Some(i64::from(settings.timeout_seconds)),
            "{}",
            manifest.display()
        );
        checked += 1;
    }
    assert!(checked >= 1, "functions/invoke exists");
}

#[test]
fn a_model_list_whose_grants_exceed_iams_role_policy_limit_is_refused() {
    let profiles: Vec<String> =
        (0..20).map(|i| format!("\"us.anthropic.claude-test-{i}-v1:0\"")).collect();
    let text =
        REPO_CONFIG.replace("chat = [\n", &format!("chat = [\n  {},\n", profiles.join(",\n  ")));
    let config = QuarryConfig::from_toml_str(&text).expect("valid config, environment fits");
    let err = quarry_infra::stack::synthesize(&config).expect_err("too many grants").to_string();
    assert!(err.starts_with("the quarry-invoke function's role's policies would be "), "{err}");
    assert!(err.contains("over IAM's 10240 per role; list fewer models in models.chat"), "{err}");
}
