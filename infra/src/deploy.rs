//! `deploy`, `diff` and `destroy` against AWS: the bootstrap stack and its assets bucket, the
//! content-addressed upload of zips and template, the change set (shown, confirmed, executed),
//! stack events as progress, and the outputs.

use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_cloudformation::Client as CloudFormation;
use aws_sdk_cloudformation::types::{
    Capability, ChangeSetStatus, ChangeSetType, Parameter, Stack, StackStatus,
};
use aws_sdk_s3::Client as S3;
use aws_sdk_s3::primitives::ByteStream;
use quarry::config::QuarryConfig;
use quarry::model::Partition;
use sha2::{Digest, Sha256};

use crate::assets::{Asset, AssetError};
use crate::bootstrap;
use crate::cfn::TemplateError;
use crate::changes::{ChangeRow, EventRow, Progress, progress, render_change_set, render_outputs};
use crate::stack::{ASSETS_BUCKET_PARAMETER, StackError, outputs};

/// How often stack and change-set status is polled.
const POLL: Duration = Duration::from_secs(4);

/// Why a deploy, diff or destroy stopped.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The stack could not be synthesized.
    #[error(transparent)]
    Stack(#[from] StackError),
    /// The bootstrap template could not be built.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// The function zips are missing or unusable.
    #[error(transparent)]
    Assets(#[from] AssetError),
    /// An AWS call failed.
    #[error("{action} failed: {message}")]
    Aws { action: String, message: String },
    /// Writing progress or reading the answer failed.
    #[error("terminal: {0}")]
    Io(#[from] std::io::Error),
    /// The change set could not be created.
    #[error("the change set for `{stack}` failed: {reason}")]
    ChangeSet { stack: String, reason: String },
    /// The stack operation ended in failure.
    #[error("stack `{stack}` ended in {status}{}; the events above say which resource failed and why", reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default())]
    Failed { stack: String, status: String, reason: Option<String> },
    /// The stack cannot be updated in its state.
    #[error(
        "stack `{stack}` is in {status}: a stack whose creation failed cannot be updated; run `quarry-infra destroy` first"
    )]
    Unrecoverable { stack: String, status: String },
    /// The user declined.
    #[error("nothing was changed (not confirmed)")]
    NotConfirmed,
    /// No answer can be asked for.
    #[error("standard input is not a terminal: pass --yes to {0} without asking")]
    NotInteractive(&'static str),
    /// `diff` needs the bootstrap stack that `deploy` creates.
    #[error("no bootstrap stack `{stack}` in {region} yet: `quarry-infra deploy` creates it")]
    NoBootstrap { stack: String, region: String },
    /// The API-key secret the stack refers to does not exist.
    #[error(
        "auth.secret_name: the secret `{name}` does not exist in {region}; create it with\n  aws secretsmanager create-secret --region {region} --name {name} --secret-string '[\"<sha256 of a key>\"]'\n(or use auth.mode = \"iam\" or inline auth.api_key_sha256)"
    )]
    MissingSecret { name: String, region: String },
}

fn aws_error<E: std::error::Error + 'static>(action: &str) -> impl FnOnce(E) -> DeployError {
    let action = action.to_owned();
    move |error| DeployError::Aws {
        action,
        message: aws_sdk_cloudformation::error::DisplayErrorContext(&error).to_string(),
    }
}

/// The AWS clients, in the stack's region.
#[derive(Debug, Clone)]
pub struct Clients {
    cloudformation: CloudFormation,
    s3: S3,
    secrets: aws_sdk_secretsmanager::Client,
    region: String,
}

impl Clients {
    /// Clients with the default credential chain (environment, profile, SSO, instance role) in
    /// `region`.
    pub async fn new(region: &str) -> Self {
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .load()
            .await;
        Clients {
            cloudformation: CloudFormation::new(&sdk),
            s3: S3::new(&sdk),
            secrets: aws_sdk_secretsmanager::Client::new(&sdk),
            region: region.to_owned(),
        }
    }
}

/// What `deploy` and `diff` do after showing the change set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Show it, then ask (or not, with `--yes`) and execute.
    Deploy {
        /// Execute without asking.
        yes: bool,
    },
    /// Show it and delete it.
    Diff,
}

/// Where questions are asked and progress is written.
pub struct Terminal<'a> {
    /// Progress and tables.
    pub out: &'a mut dyn Write,
    /// Answers; `None` when standard input is not a terminal.
    pub input: Option<&'a mut dyn BufRead>,
}

impl std::fmt::Debug for Terminal<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Terminal").field("interactive", &self.input.is_some()).finish()
    }
}

/// Asks `question`; only `y` or `yes` (any case) is a yes, end of input is a no.
pub fn confirm(
    question: &str,
    out: &mut dyn Write,
    input: &mut dyn BufRead,
) -> std::io::Result<bool> {
    write!(out, "{question} [y/N] ")?;
    out.flush()?;
    let mut answer = String::new();
    input.read_line(&mut answer)?;
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

fn ask(term: &mut Terminal<'_>, question: &str, what: &'static str) -> Result<(), DeployError> {
    let Some(input) = term.input.as_deref_mut() else {
        return Err(DeployError::NotInteractive(what));
    };
    if confirm(question, term.out, input)? { Ok(()) } else { Err(DeployError::NotConfirmed) }
}

/// The S3 endpoint host suffix of a partition (for template URLs).
fn s3_url(bucket: &str, region: &str, key: &str) -> String {
    let domain = match Partition::of_region(region) {
        Some(Partition::AwsCn) => "amazonaws.com.cn",
        _ => "amazonaws.com",
    };
    format!("https://{bucket}.s3.{region}.{domain}/{key}")
}

fn unix_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Creates or updates the stack from the synthesized template: bootstrap (first time), upload,
/// change set, confirmation, execution with progress, outputs. `diff` stops after showing the
/// change set.
pub async fn deploy(
    clients: &Clients,
    config: &QuarryConfig,
    template_json: &str,
    assets: &[Asset],
    bootstrap_stack: &str,
    mode: Mode,
    term: &mut Terminal<'_>,
) -> Result<(), DeployError> {
    let stack = config.stack.name.as_str();
    check_secret(clients, config).await?;
    let assets_bucket = match (find_stack(clients, bootstrap_stack).await?, mode) {
        (Some(found), _) => {
            stack_output(&found, bootstrap::ASSETS_BUCKET_OUTPUT).ok_or_else(|| {
                DeployError::Failed {
                    stack: bootstrap_stack.to_owned(),
                    status: found.stack_status().map_or("?", |s| s.as_str()).to_owned(),
                    reason: Some(format!("it has no {} output", bootstrap::ASSETS_BUCKET_OUTPUT)),
                }
            })?
        }
        (None, Mode::Diff) => {
            return Err(DeployError::NoBootstrap {
                stack: bootstrap_stack.to_owned(),
                region: clients.region.clone(),
            });
        }
        (None, Mode::Deploy { .. }) => create_bootstrap(clients, bootstrap_stack, term).await?,
    };

    let mut parameters = vec![parameter(ASSETS_BUCKET_PARAMETER, &assets_bucket)];
    for asset in assets {
        let key = asset.key(stack);
        upload(clients, &assets_bucket, &key, &asset.path, term).await?;
        parameters.push(parameter(&asset.function.code_key_parameter(), &key));
    }
    let template_key =
        format!("{stack}/templates/{}.json", hex::encode(Sha256::digest(template_json)));
    put_if_absent(clients, &assets_bucket, &template_key, template_json.as_bytes().to_vec())
        .await?;

    let existing = find_stack(clients, stack).await?;
    let kind = match existing.as_ref().and_then(Stack::stack_status) {
        None | Some(StackStatus::ReviewInProgress) => ChangeSetType::Create,
        Some(StackStatus::RollbackComplete) | Some(StackStatus::RollbackFailed) => {
            return Err(DeployError::Unrecoverable {
                stack: stack.to_owned(),
                status: existing
                    .as_ref()
                    .and_then(Stack::stack_status)
                    .map_or("?", |s| s.as_str())
                    .to_owned(),
            });
        }
        Some(_) => ChangeSetType::Update,
    };
    let name = format!("quarry-{}", unix_seconds());
    let created = clients
        .cloudformation
        .create_change_set()
        .stack_name(stack)
        .change_set_name(&name)
        .change_set_type(kind.clone())
        .template_url(s3_url(&assets_bucket, &clients.region, &template_key))
        .set_parameters(Some(parameters))
        .capabilities(Capability::CapabilityIam)
        .description("quarry-infra deploy")
        .send()
        .await
        .map_err(aws_error("CreateChangeSet"))?;
    let change_set = created.id().unwrap_or(&name).to_owned();
    let stack_id = created.stack_id().unwrap_or(stack).to_owned();

    let rows = match wait_for_change_set(clients, stack, &change_set).await? {
        Some(rows) => rows,
        None => {
            writeln!(term.out, "{}", render_change_set(stack, &[]).trim_end())?;
            discard(clients, &change_set, &stack_id, &kind).await?;
            return Ok(());
        }
    };
    write!(term.out, "{}", render_change_set(stack, &rows))?;
    let approved = match mode {
        Mode::Diff => false,
        Mode::Deploy { yes: true } => true,
        Mode::Deploy { yes: false } => {
            match ask(term, &format!("Deploy these changes to `{stack}`?"), "deploy") {
                Ok(()) => true,
                Err(error) => {
                    discard(clients, &change_set, &stack_id, &kind).await?;
                    return Err(error);
                }
            }
        }
    };
    if !approved {
        discard(clients, &change_set, &stack_id, &kind).await?;
        return Ok(());
    }

    let seen = event_ids(clients, &stack_id).await?;
    clients
        .cloudformation
        .execute_change_set()
        .change_set_name(&change_set)
        .send()
        .await
        .map_err(aws_error("ExecuteChangeSet"))?;
    let done = follow(clients, stack, &stack_id, seen, term).await?;
    writeln!(term.out, "\nOutputs of `{stack}`:")?;
    write!(term.out, "{}", render_outputs(done.outputs()))?;
    Ok(())
}

/// Deletes the stack after emptying its catalog bucket; the documents bucket is kept.
pub async fn destroy(
    clients: &Clients,
    stack: &str,
    yes: bool,
    term: &mut Terminal<'_>,
) -> Result<(), DeployError> {
    let Some(found) = find_stack(clients, stack).await? else {
        writeln!(term.out, "No stack `{stack}` in {}: nothing to destroy.", clients.region)?;
        return Ok(());
    };
    if !yes {
        ask(
            term,
            &format!(
                "Delete stack `{stack}` in {} (functions, API, queues, vector index, catalog)?",
                clients.region
            ),
            "destroy",
        )?;
    }
    if let Some(bucket) = stack_output(&found, outputs::CATALOG_BUCKET) {
        empty_bucket(clients, &bucket, term).await?;
    }
    let stack_id = found.stack_id().unwrap_or(stack).to_owned();
    let seen = event_ids(clients, &stack_id).await?;
    clients
        .cloudformation
        .delete_stack()
        .stack_name(&stack_id)
        .send()
        .await
        .map_err(aws_error("DeleteStack"))?;
    follow(clients, stack, &stack_id, seen, term).await?;
    if let Some(documents) = stack_output(&found, outputs::DOCUMENTS_BUCKET) {
        writeln!(
            term.out,
            "The documents bucket `{documents}` was kept (it holds your documents); delete it with\n  aws s3 rb s3://{documents} --force   (after removing its object versions)"
        )?;
    }
    Ok(())
}

fn parameter(key: &str, value: &str) -> Parameter {
    Parameter::builder().parameter_key(key).parameter_value(value).build()
}

fn stack_output(stack: &Stack, key: &str) -> Option<String> {
    stack
        .outputs()
        .iter()
        .find(|o| o.output_key() == Some(key))
        .and_then(|o| o.output_value())
        .map(str::to_owned)
}

/// The stack named `name`, or `None` when it does not exist.
async fn find_stack(clients: &Clients, name: &str) -> Result<Option<Stack>, DeployError> {
    match clients.cloudformation.describe_stacks().stack_name(name).send().await {
        Ok(found) => Ok(found.stacks().first().cloned()),
        Err(error) => {
            let missing = error
                .as_service_error()
                .and_then(|e| aws_sdk_cloudformation::error::ProvideErrorMetadata::message(e))
                .is_some_and(|m| m.contains("does not exist"));
            if missing { Ok(None) } else { Err(aws_error("DescribeStacks")(error)) }
        }
    }
}

/// In api_keys mode with a secret: the secret must exist before the function's first request.
async fn check_secret(clients: &Clients, config: &QuarryConfig) -> Result<(), DeployError> {
    let Some(name) = config.auth.secret_name() else { return Ok(()) };
    match clients.secrets.describe_secret().secret_id(name).send().await {
        Ok(_) => Ok(()),
        Err(error) => {
            if error.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) {
                Err(DeployError::MissingSecret {
                    name: name.to_owned(),
                    region: clients.region.clone(),
                })
            } else {
                Err(aws_error("DescribeSecret")(error))
            }
        }
    }
}

async fn create_bootstrap(
    clients: &Clients,
    name: &str,
    term: &mut Terminal<'_>,
) -> Result<String, DeployError> {
    writeln!(
        term.out,
        "Creating the bootstrap stack `{name}` in {} (assets bucket, API Gateway logging role)…",
        clients.region
    )?;
    let body = bootstrap::template()?.render()?;
    let created = clients
        .cloudformation
        .create_stack()
        .stack_name(name)
        .template_body(body)
        .capabilities(Capability::CapabilityIam)
        .send()
        .await
        .map_err(aws_error("CreateStack (bootstrap)"))?;
    let stack_id = created.stack_id().unwrap_or(name).to_owned();
    let done = follow(clients, name, &stack_id, HashSet::new(), term).await?;
    stack_output(&done, bootstrap::ASSETS_BUCKET_OUTPUT).ok_or_else(|| DeployError::Failed {
        stack: name.to_owned(),
        status: "CREATE_COMPLETE".into(),
        reason: Some(format!("it has no {} output", bootstrap::ASSETS_BUCKET_OUTPUT)),
    })
}

async fn upload(
    clients: &Clients,
    bucket: &str,
    key: &str,
    path: &std::path::Path,
    term: &mut Terminal<'_>,
) -> Result<(), DeployError> {
    let bytes =
        std::fs::read(path).map_err(|error| AssetError::Read { path: path.to_owned(), error })?;
    let size = bytes.len();
    if put_if_absent(clients, bucket, key, bytes).await? {
        writeln!(term.out, "uploaded {} ({size} bytes) to s3://{bucket}/{key}", path.display())?;
    } else {
        writeln!(term.out, "unchanged {} (s3://{bucket}/{key})", path.display())?;
    }
    Ok(())
}

/// Uploads `bytes` unless the (content-addressed) key exists; true when uploaded.
async fn put_if_absent(
    clients: &Clients,
    bucket: &str,
    key: &str,
    bytes: Vec<u8>,
) -> Result<bool, DeployError> {
    if clients.s3.head_object().bucket(bucket).key(key).send().await.is_ok() {
        return Ok(false);
    }
    clients
        .s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(bytes))
        .send()
        .await
        .map_err(aws_error(&format!("PutObject s3://{bucket}/{key}")))?;
    Ok(true)
}

/// The change set's rows once created; `None` when it holds no changes.
async fn wait_for_change_set(
    clients: &Clients,
    stack: &str,
    change_set: &str,
) -> Result<Option<Vec<ChangeRow>>, DeployError> {
    loop {
        let mut rows = Vec::new();
        let mut token: Option<String> = None;
        let status = loop {
            let page = clients
                .cloudformation
                .describe_change_set()
                .change_set_name(change_set)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(aws_error("DescribeChangeSet"))?;
            let status = page.status().cloned();
            match status {
                Some(ChangeSetStatus::CreateComplete) => {
                    rows.extend(page.changes().iter().filter_map(ChangeRow::from_change));
                    match page.next_token() {
                        Some(next) => token = Some(next.to_owned()),
                        None => break status,
                    }
                }
                Some(ChangeSetStatus::Failed) => {
                    let reason = page.status_reason().unwrap_or("no reason given").to_owned();
                    if reason.contains("didn't contain changes")
                        || reason.contains("No updates are to be performed")
                    {
                        return Ok(None);
                    }
                    return Err(DeployError::ChangeSet { stack: stack.to_owned(), reason });
                }
                _ => break status,
            }
        };
        if status == Some(ChangeSetStatus::CreateComplete) {
            return Ok(Some(rows));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Deletes an unexecuted change set, and the empty stack a CREATE change set left behind.
async fn discard(
    clients: &Clients,
    change_set: &str,
    stack_id: &str,
    kind: &ChangeSetType,
) -> Result<(), DeployError> {
    clients
        .cloudformation
        .delete_change_set()
        .change_set_name(change_set)
        .send()
        .await
        .map_err(aws_error("DeleteChangeSet"))?;
    if *kind == ChangeSetType::Create {
        clients
            .cloudformation
            .delete_stack()
            .stack_name(stack_id)
            .send()
            .await
            .map_err(aws_error("DeleteStack (empty stack of the discarded change set)"))?;
    }
    Ok(())
}

/// The ids of the stack's newest events (those to skip when following the next operation).
async fn event_ids(clients: &Clients, stack_id: &str) -> Result<HashSet<String>, DeployError> {
    match clients.cloudformation.describe_stack_events().stack_name(stack_id).send().await {
        Ok(page) => {
            Ok(page.stack_events().iter().filter_map(|e| e.event_id()).map(str::to_owned).collect())
        }
        Err(_) => Ok(HashSet::new()),
    }
}

/// Prints the stack's new events until the operation ends; returns the stack at the end.
async fn follow(
    clients: &Clients,
    stack: &str,
    stack_id: &str,
    mut seen: HashSet<String>,
    term: &mut Terminal<'_>,
) -> Result<Stack, DeployError> {
    loop {
        tokio::time::sleep(POLL).await;
        let page = clients
            .cloudformation
            .describe_stack_events()
            .stack_name(stack_id)
            .send()
            .await
            .map_err(aws_error("DescribeStackEvents"))?;
        let mut fresh: Vec<EventRow> = page
            .stack_events()
            .iter()
            .map(EventRow::from_event)
            .filter(|row| !seen.contains(&row.id))
            .collect();
        fresh.reverse();
        let mut finished = false;
        for row in fresh {
            writeln!(term.out, "{}", row.render())?;
            let stack_event = row.resource_type == "AWS::CloudFormation::Stack"
                && (row.logical_id == stack || stack_id.contains(&row.logical_id));
            if stack_event && progress(&row.status) != Progress::Running {
                finished = true;
            }
            seen.insert(row.id);
        }
        if !finished {
            continue;
        }
        let described = clients
            .cloudformation
            .describe_stacks()
            .stack_name(stack_id)
            .send()
            .await
            .map_err(aws_error("DescribeStacks"))?;
        let Some(found) = described.stacks().first().cloned() else { continue };
        let status = found.stack_status().map_or("?", |s| s.as_str()).to_owned();
        return match progress(&status) {
            Progress::Running => continue,
            Progress::Succeeded => Ok(found),
            Progress::Failed => Err(DeployError::Failed {
                stack: stack.to_owned(),
                status,
                reason: found.stack_status_reason().map(str::to_owned),
            }),
        };
    }
}

/// Deletes every object of a bucket (the catalog bucket is not versioned).
async fn empty_bucket(
    clients: &Clients,
    bucket: &str,
    term: &mut Terminal<'_>,
) -> Result<(), DeployError> {
    let mut removed = 0usize;
    let mut token: Option<String> = None;
    loop {
        let page = match clients
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .set_continuation_token(token.take())
            .send()
            .await
        {
            Ok(page) => page,
            Err(error) => {
                let gone = error.as_service_error().is_some_and(|e| e.is_no_such_bucket());
                if gone {
                    return Ok(());
                }
                return Err(aws_error("ListObjectsV2")(error));
            }
        };
        let ids: Vec<aws_sdk_s3::types::ObjectIdentifier> = page
            .contents()
            .iter()
            .filter_map(|o| o.key())
            .filter_map(|key| aws_sdk_s3::types::ObjectIdentifier::builder().key(key).build().ok())
            .collect();
        if !ids.is_empty() {
            removed += ids.len();
            let delete = aws_sdk_s3::types::Delete::builder()
                .set_objects(Some(ids))
                .quiet(true)
                .build()
                .map_err(aws_error("DeleteObjects request"))?;
            clients
                .s3
                .delete_objects()
                .bucket(bucket)
                .delete(delete)
                .send()
                .await
                .map_err(aws_error("DeleteObjects"))?;
        }
        match page.next_continuation_token() {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
    }
    writeln!(term.out, "emptied the catalog bucket `{bucket}` ({removed} objects)")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_yes_confirms() {
        for (answer, expected) in [
            ("y\n", true),
            ("YES\n", true),
            (" yes \n", true),
            ("n\n", false),
            ("\n", false),
            ("", false),
            ("yep\n", false),
        ] {
            let mut out = Vec::new();
            let mut input = answer.as_bytes();
            let confirmed = confirm("Deploy?", &mut out, &mut input).expect("io");
            assert_eq!(confirmed, expected, "{answer:?}");
            assert_eq!(String::from_utf8(out).expect("utf8"), "Deploy? [y/N] ");
        }
    }

    #[test]
    fn without_a_terminal_nothing_is_asked_and_nothing_deployed() {
        let mut out = Vec::new();
        let mut term = Terminal { out: &mut out, input: None };
        let err = ask(&mut term, "Deploy?", "deploy").expect_err("no terminal");
        assert_eq!(
            err.to_string(),
            "standard input is not a terminal: pass --yes to deploy without asking"
        );
    }

    #[test]
    fn templates_are_read_from_the_regional_s3_endpoint() {
        assert_eq!(
            s3_url("assets", "eu-central-1", "quarry/templates/ab.json"),
            "https://assets.s3.eu-central-1.amazonaws.com/quarry/templates/ab.json"
        );
        assert_eq!(
            s3_url("assets", "cn-north-1", "k"),
            "https://assets.s3.cn-north-1.amazonaws.com.cn/k"
        );
    }

    #[test]
    fn a_missing_secret_says_how_to_create_it() {
        let err = DeployError::MissingSecret {
            name: "quarry/api-keys".into(),
            region: "us-east-1".into(),
        };
        assert!(err.to_string().contains(
            "aws secretsmanager create-secret --region us-east-1 --name quarry/api-keys --secret-string"
        ));
    }
}
