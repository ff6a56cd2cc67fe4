"""Deploys quarry's synthesized CloudFormation templates to moto's CloudFormation and checks that
the roles, policies, functions, queue, buckets and API they describe come out as described.

    python tests/moto_deploy.py BOOTSTRAP_TEMPLATE STACK_TEMPLATE

Both templates come from `quarry-infra synth` (`--bootstrap` for the first) with the repository's
quarry.toml. moto's server runs in this process on loopback (ThreadedMotoServer, port chosen by
the OS); boto3 talks to it like to AWS. The flow is `quarry-infra deploy`'s: create the bootstrap
stack, upload the function zips to its assets bucket, create the stack with the bucket and keys.

moto does not model every resource type quarry uses, and it rejects a template whose Fn::GetAtt
names a resource it skipped. So the template deployed here is FILTERED: resources of the types in
MOTO_UNSUPPORTED are removed, and Ref / Fn::GetAtt / ${...} pointing at them are replaced by
inert stand-in strings. Of the supported types moto applies only some properties; the checks
below assert what moto applies and print SKIP for what it does not (MOTO_IGNORES).
"""

from __future__ import annotations

import ast
import copy
import io
import json
import re
import sys
import warnings
import zipfile

import boto3
from moto.cloudformation.parsing import get_model_map
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
STACK = "quarry"
BOOTSTRAP = "quarry-bootstrap"

# Resource types of quarry's templates that moto 5.2's CloudFormation does not implement: moto
# skips them (and rejects templates that Fn::GetAtt them), so they are filtered out here. Checked
# against moto at run time: a type moto learns to deploy fails the check below, so this list is
# kept true.
MOTO_UNSUPPORTED = {
    "AWS::ApiGateway::Account",
    "AWS::ApiGateway::Stage",
    "AWS::CloudWatch::Alarm",
    "AWS::S3::BucketPolicy",
    "AWS::S3Vectors::Index",
    "AWS::S3Vectors::VectorBucket",
    "AWS::Scheduler::Schedule",
    "AWS::SQS::QueuePolicy",
}

# Properties of supported types that moto's CloudFormation handlers do not apply.
MOTO_IGNORES = {
    "AWS::S3::Bucket": "NotificationConfiguration, VersioningConfiguration, "
    "PublicAccessBlockConfiguration, OwnershipControls, LifecycleConfiguration "
    "(moto applies BucketName, BucketEncryption and Tags only)",
    "AWS::Lambda::Function": "Architectures",
    "AWS::ApiGateway::Method": "Integration.ResponseTransferMode, Integration.TimeoutInMillis",
}

passed = 0
failed: list[str] = []


def check(what: str, ok: bool, detail: object = "") -> None:
    global passed
    if ok:
        passed += 1
        print(f"ok    {what}")
    else:
        failed.append(what)
        print(f"FAIL  {what}: {detail}")


def skip(what: str, why: str) -> None:
    print(f"SKIP  {what}: {why}")


def filtered(template: dict) -> tuple[dict, list[str]]:
    """The template without the resources moto cannot deploy, references to them stubbed."""
    template = copy.deepcopy(template)
    resources = template["Resources"]
    dropped = sorted(i for i, r in resources.items() if r["Type"] in MOTO_UNSUPPORTED)
    for logical_id in dropped:
        del resources[logical_id]
    # moto does not evaluate Rules; nothing else in them.
    template.pop("Rules", None)

    def stub(target: str, attribute: str | None = None) -> str:
        return f"moto-unsupported-{target}" + (f"-{attribute}" if attribute else "")

    def walk(value):
        if isinstance(value, dict):
            if set(value) == {"Ref"} and value["Ref"] in dropped:
                return stub(value["Ref"])
            if set(value) == {"Fn::GetAtt"} and value["Fn::GetAtt"][0] in dropped:
                return stub(*value["Fn::GetAtt"])
            if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
                pattern = re.sub(
                    r"\$\{([A-Za-z0-9]+)(?:\.([A-Za-z0-9]+))?\}",
                    lambda m: stub(m.group(1), m.group(2)) if m.group(1) in dropped else m.group(0),
                    value["Fn::Sub"],
                )
                return {"Fn::Sub": pattern}
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    template = walk(template)
    for resource in template["Resources"].values():
        if "DependsOn" in resource:
            resource["DependsOn"] = [d for d in resource["DependsOn"] if d not in dropped]
    template["Outputs"] = {
        k: v for k, v in template.get("Outputs", {}).items()
        if "moto-unsupported-" not in json.dumps(v)
    }
    return template, dropped


def resolve(value, **known):
    """A template value with Fn::Sub pseudo parameters and `known` names filled in."""
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        text = value["Fn::Sub"].replace("${AWS::AccountId}", ACCOUNT).replace("${AWS::Region}", REGION)
        for name, replacement in known.items():
            text = text.replace("${" + name + "}", replacement)
        return text
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        key = ".".join(value["Fn::GetAtt"])
        return known.get(key, value)
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return known.get(value["Ref"], value)
    if isinstance(value, dict):
        return {k: resolve(v, **known) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, **known) for v in value]
    return value


def stack_events(cfn, name: str) -> str:
    events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    return "\n".join(
        f"  {e['LogicalResourceId']} {e['ResourceStatus']} {e.get('ResourceStatusReason', '')}"
        for e in reversed(events)
    )


def main() -> int:
    bootstrap_template = json.load(open(sys.argv[1]))
    stack_template = json.load(open(sys.argv[2]))

    types = {r["Type"] for t in (bootstrap_template, stack_template) for r in t["Resources"].values()}
    supported = set(get_model_map())
    check(
        "MOTO_UNSUPPORTED lists exactly the template's types moto lacks",
        {t for t in types if t not in supported} == MOTO_UNSUPPORTED,
        f"moto lacks {sorted(t for t in types if t not in supported)}",
    )
    print("Types moto does not deploy (filtered out): " + ", ".join(sorted(MOTO_UNSUPPORTED)))
    for kind, props in MOTO_IGNORES.items():
        print(f"Properties moto ignores on {kind}: {props}")

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        session = dict(
            endpoint_url=f"http://{host}:{port}",
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        cfn = boto3.client("cloudformation", **session)
        s3 = boto3.client("s3", **session)
        iam = boto3.client("iam", **session)
        sqs = boto3.client("sqs", **session)
        awslambda = boto3.client("lambda", **session)
        logs = boto3.client("logs", **session)
        apigateway = boto3.client("apigateway", **session)
        deploy(bootstrap_template, stack_template, cfn, s3, iam, sqs, awslambda, logs, apigateway)
    finally:
        server.stop()
    print(f"{passed} passed, {len(failed)} failed")
    return 1 if failed else 0


def deploy(bootstrap_template, stack_template, cfn, s3, iam, sqs, awslambda, logs, apigateway):
    # 1. The bootstrap stack and its assets bucket.
    boot, boot_dropped = filtered(bootstrap_template)
    print(f"bootstrap: deploying without {', '.join(boot_dropped)}")
    cfn.create_stack(StackName=BOOTSTRAP, TemplateBody=json.dumps(boot), Capabilities=["CAPABILITY_IAM"])
    described = cfn.describe_stacks(StackName=BOOTSTRAP)["Stacks"][0]
    check("bootstrap stack CREATE_COMPLETE", described["StackStatus"] == "CREATE_COMPLETE", stack_events(cfn, BOOTSTRAP))
    assets = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}.get("AssetsBucketName")
    check("bootstrap outputs the assets bucket", bool(assets), described.get("Outputs"))
    encryption = s3.get_bucket_encryption(Bucket=assets)["ServerSideEncryptionConfiguration"]["Rules"][0]
    check("assets bucket is encrypted (SSE-S3)", encryption["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256", encryption)
    role = [r for r in iam.list_roles()["Roles"] if "ApiGatewayCloudWatchRole" in r["RoleName"]]
    check("API Gateway logging role exists, assumable by apigateway.amazonaws.com",
          len(role) == 1 and role[0]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "apigateway.amazonaws.com"}, role)

    # 2. The function zips, as `cargo lambda build --output-format zip` writes them.
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("bootstrap", b"#!/bin/sh\nexit 0\n")
    parameters = [{"ParameterKey": "AssetsBucket", "ParameterValue": assets}]
    for binary, key_parameter in [
        ("quarry-invoke", "InvokeCodeKey"),
        ("quarry-ingest", "IngestCodeKey"),
        ("quarry-catalog-sync", "CatalogSyncCodeKey"),
    ]:
        key = f"{STACK}/{binary}/0123abcd.zip"
        s3.put_object(Bucket=assets, Key=key, Body=archive.getvalue())
        parameters.append({"ParameterKey": key_parameter, "ParameterValue": key})

    # 3. The stack.
    stack, dropped = filtered(stack_template)
    print(f"stack: deploying without {', '.join(dropped)}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfn.create_stack(StackName=STACK, TemplateBody=json.dumps(stack), Parameters=parameters, Capabilities=["CAPABILITY_IAM"])
    described = cfn.describe_stacks(StackName=STACK)["Stacks"][0]
    check("stack CREATE_COMPLETE", described["StackStatus"] == "CREATE_COMPLETE", stack_events(cfn, STACK))
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    physical = {
        r["LogicalResourceId"]: r.get("PhysicalResourceId")
        for r in cfn.describe_stack_resources(StackName=STACK)["StackResources"]
    }
    print("resources without a physical id in moto: " + ", ".join(sorted(k for k, v in physical.items() if not v)))
    expected_ids = set(stack["Resources"])
    check("every deployed resource is in the stack", expected_ids <= set(physical), sorted(expected_ids - set(physical)))

    # Roles and their inline policies.
    resources = stack_template["Resources"]
    roles = {r["RoleName"]: r for r in iam.list_roles()["Roles"]}
    queue_url = physical["IngestQueue"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    known = {
        "CatalogBucket": physical["CatalogBucket"],
        "IngestQueue.Arn": queue_arn,
        "VectorIndex.IndexArn": "moto-unsupported-VectorIndex-IndexArn",
    }
    for function in ["Invoke", "Ingest", "CatalogSync"]:
        role_id = f"{function}Role"
        role_name = physical[role_id]
        check(f"{role_id} exists", role_name in roles, sorted(roles))
        names = sorted(iam.list_role_policies(RoleName=role_name)["PolicyNames"])
        check(f"{role_id} has its two inline policies", names == sorted([function.lower(), "logs"]), names)
        template_policies = {p["PolicyName"]: p["PolicyDocument"] for p in resources[role_id]["Properties"]["Policies"]}
        group = f"/aws/lambda/{resources[f'{function}Function']['Properties']['FunctionName']}"
        # CloudFormation's Fn::GetAtt LogGroup.Arn ends in `:*` (every stream of the group);
        # moto's leaves the `:*` off. Either names this function's group only.
        group_arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"
        for name in names:
            deployed = iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
            if isinstance(deployed, str):
                # moto keeps a CloudFormation-created inline policy as Python's repr of the
                # resolved document; parse it back into the document.
                deployed = ast.literal_eval(deployed)
            expected = resolve(template_policies[name], **known, **{f"{function}LogGroup.Arn": group_arn})
            check(f"{role_id}/{name} is the template's policy, resolved", deployed == expected, json.dumps(deployed)[:600])
        check(
            f"{role_id} trusts lambda.amazonaws.com only",
            roles[role_name]["AssumeRolePolicyDocument"]["Statement"] == [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": ["sts:AssumeRole"]}],
            roles[role_name]["AssumeRolePolicyDocument"],
        )
    scheduler_role = physical["CatalogSyncScheduleRole"]
    check("the scheduler's invoke role exists", scheduler_role in roles, sorted(roles))

    # Functions.
    for function, memory, timeout in [("Invoke", 512, 300), ("Ingest", 1024, 300), ("CatalogSync", 256, 60)]:
        config = awslambda.get_function_configuration(FunctionName=physical[f"{function}Function"])
        check(f"{function}Function runs provided.al2023 with bootstrap", (config["Runtime"], config["Handler"]) == ("provided.al2023", "bootstrap"), config)
        check(f"{function}Function memory/timeout from quarry.toml", (config["MemorySize"], config["Timeout"]) == (memory, timeout), config)
        check(f"{function}Function runs as its own role", config["Role"] == roles[physical[f"{function}Role"]]["Arn"], config["Role"])
        variables = config.get("Environment", {}).get("Variables", {})
        if function != "Ingest":
            check(f"{function}Function knows the catalog bucket", variables.get("QUARRY_CATALOG_BUCKET") == physical["CatalogBucket"], variables)
        if function != "CatalogSync":
            check(f"{function}Function knows the vector bucket", variables.get("QUARRY_VECTOR_BUCKET") == f"quarry-vec-{ACCOUNT}-{REGION}", variables)
    skip("function architectures", MOTO_IGNORES["AWS::Lambda::Function"])

    # Log groups.
    groups = {g["logGroupName"]: g for g in logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/")["logGroups"]}
    for name in ["quarry-invoke", "quarry-ingest", "quarry-catalog-sync"]:
        group = groups.get(f"/aws/lambda/{name}", {})
        check(f"log group /aws/lambda/{name} keeps 30 days", group.get("retentionInDays") == 30, group)

    # Queue, dead-letter queue, event source mapping.
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attributes.get("RedrivePolicy", "{}"))
    dlq_arn = sqs.get_queue_attributes(QueueUrl=physical["IngestDeadLetterQueue"], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    check("ingest queue redrives to the DLQ after 5 receives", redrive.get("deadLetterTargetArn") == dlq_arn and int(redrive.get("maxReceiveCount", 0)) == 5, attributes)
    check("ingest queue hides a batch 6x the ingest timeout", attributes.get("VisibilityTimeout") == "1800", attributes)
    check("the IngestQueueUrl output is the queue", outputs.get("IngestQueueUrl") == queue_url, outputs)
    mappings = awslambda.list_event_source_mappings(FunctionName=physical["IngestFunction"])["EventSourceMappings"]
    check("the queue feeds the ingest function", [m["EventSourceArn"] for m in mappings] == [queue_arn], mappings)
    if mappings and "FunctionResponseTypes" in mappings[0]:
        check("partial batch failures are reported", mappings[0]["FunctionResponseTypes"] == ["ReportBatchItemFailures"], mappings[0])
    else:
        skip("ReportBatchItemFailures on the mapping", "moto's EventSourceMapping handler does not keep FunctionResponseTypes")

    # Buckets.
    documents = physical["DocumentsBucket"]
    check("documents bucket is named for account and region", documents == f"quarry-docs-{ACCOUNT}-{REGION}", documents)
    check("the DocumentsBucketName output is the bucket", outputs.get("DocumentsBucketName") == documents, outputs)
    for bucket in [documents, physical["CatalogBucket"]]:
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        check(f"{bucket} is encrypted (SSE-S3)", rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256", rules)
    notifications = s3.get_bucket_notification_configuration(Bucket=documents).get("QueueConfigurations", [])
    described_events = sorted(c["Event"] for c in resources["DocumentsBucket"]["Properties"]["NotificationConfiguration"]["QueueConfigurations"])
    check("the template notifies the queue on ObjectCreated and ObjectRemoved", described_events == ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"], described_events)
    if notifications:
        check("the deployed bucket notifies the ingest queue", sorted(e for c in notifications for e in c["Events"]) == described_events and all(c["QueueArn"] == queue_arn for c in notifications), notifications)
    else:
        skip("the deployed bucket notification", MOTO_IGNORES["AWS::S3::Bucket"])

    # API.
    apis = apigateway.get_rest_apis()["items"]
    api = [a for a in apis if a["id"] == physical["Api"]]
    check("the REST API exists", len(api) == 1, apis)
    api_resources = apigateway.get_resources(restApiId=physical["Api"])["items"]
    check("{proxy+} routes every path", any(r.get("pathPart") == "{proxy+}" for r in api_resources), api_resources)
    for resource in api_resources:
        method = apigateway.get_method(restApiId=physical["Api"], resourceId=resource["id"], httpMethod="ANY")
        integration = method["methodIntegration"]
        check(f"ANY {resource['path']} proxies to the streaming invocation",
              integration["type"] == "AWS_PROXY" and integration["uri"].endswith("/response-streaming-invocations")
              and f":function:{physical['InvokeFunction']}/" in integration["uri"], integration)
        expected_auth = resources["ApiRootMethod"]["Properties"]["AuthorizationType"]
        check(f"ANY {resource['path']} authorization per auth.mode ({expected_auth})", method["authorizationType"] == expected_auth, method["authorizationType"])
    skip("streaming transfer mode and 15-minute integration timeout", MOTO_IGNORES["AWS::ApiGateway::Method"])
    policy = json.loads(awslambda.get_policy(FunctionName=physical["InvokeFunction"])["Policy"])
    statement = policy["Statement"][0]
    check("API Gateway may invoke the function for this API only",
          statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
          and statement["Condition"]["ArnLike"]["AWS:SourceArn"] == f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{physical['Api']}/*",
          statement)


if __name__ == "__main__":
    sys.exit(main())
