//! Change sets, stack events and outputs as the text `deploy`, `diff` and `destroy` print, and
//! what a stack status means for a running operation. Built from the CloudFormation SDK's types
//! without calling AWS, so the rendering is tested offline.

use std::fmt::Write as _;

use aws_sdk_cloudformation::primitives::DateTimeFormat;
use aws_sdk_cloudformation::types::{Change, Output, StackEvent};

/// One resource a change set adds, modifies or removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRow {
    /// `Add`, `Modify`, `Remove`, `Import`, `Dynamic`.
    pub action: String,
    /// The logical id.
    pub logical_id: String,
    /// `AWS::Lambda::Function`.
    pub resource_type: String,
    /// For a `Modify`: `True`, `False` or `Conditional`.
    pub replacement: Option<String>,
    /// For a `Modify`: the changed properties or attributes (`Environment`, `Tags`).
    pub changed: Vec<String>,
}

impl ChangeRow {
    /// The row of one SDK change (`None` for hook-only entries without a resource change).
    pub fn from_change(change: &Change) -> Option<Self> {
        let resource = change.resource_change()?;
        let mut changed: Vec<String> = resource
            .details()
            .iter()
            .filter_map(|detail| detail.target())
            .filter_map(|target| {
                target
                    .name()
                    .map(str::to_owned)
                    .or_else(|| target.attribute().map(|attribute| attribute.as_str().to_owned()))
            })
            .collect();
        changed.sort();
        changed.dedup();
        Some(ChangeRow {
            action: resource.action().map_or("?", |a| a.as_str()).to_owned(),
            logical_id: resource.logical_resource_id().unwrap_or("?").to_owned(),
            resource_type: resource.resource_type().unwrap_or("?").to_owned(),
            replacement: resource.replacement().map(|r| r.as_str().to_owned()),
            changed,
        })
    }
}

/// The change set as a table: one line per resource with a `+`/`~`/`-` mark, what changes and
/// whether the resource is replaced (its data is then lost unless retained).
pub fn render_change_set(stack: &str, rows: &[ChangeRow]) -> String {
    if rows.is_empty() {
        return format!("Stack `{stack}`: no changes.\n");
    }
    let id_width = rows.iter().map(|r| r.logical_id.len()).max().unwrap_or(0);
    let type_width = rows.iter().map(|r| r.resource_type.len()).max().unwrap_or(0);
    let mut text = format!(
        "Stack `{stack}`: {} change{}\n",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    );
    for row in rows {
        let mark = match row.action.as_str() {
            "Add" => '+',
            "Remove" => '-',
            "Modify" => '~',
            _ => '*',
        };
        let mut line = format!(
            "  {mark} {:<7} {:<id_width$}  {:<type_width$}",
            row.action, row.logical_id, row.resource_type
        );
        if !row.changed.is_empty() {
            let _ = write!(line, "  changes: {}", row.changed.join(", "));
        }
        match row.replacement.as_deref() {
            Some("True") => line.push_str("  REPLACED"),
            Some("Conditional") => line.push_str("  may be replaced"),
            _ => {}
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// One stack event, as printed while an operation runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    /// CloudFormation's event id (to print each event once).
    pub id: String,
    /// `2025-01-02T03:04:05Z`.
    pub timestamp: String,
    /// The logical id (the stack's own name for stack-level events).
    pub logical_id: String,
    /// The resource type.
    pub resource_type: String,
    /// `CREATE_IN_PROGRESS`, `UPDATE_FAILED`, …
    pub status: String,
    /// Why, when CloudFormation says.
    pub reason: Option<String>,
}

impl EventRow {
    /// The row of one SDK event.
    pub fn from_event(event: &StackEvent) -> Self {
        EventRow {
            id: event.event_id().unwrap_or_default().to_owned(),
            timestamp: event
                .timestamp()
                .and_then(|t| t.fmt(DateTimeFormat::DateTime).ok())
                .unwrap_or_default(),
            logical_id: event.logical_resource_id().unwrap_or("?").to_owned(),
            resource_type: event.resource_type().unwrap_or("?").to_owned(),
            status: event.resource_status().map_or("?", |s| s.as_str()).to_owned(),
            reason: event.resource_status_reason().map(str::to_owned),
        }
    }

    /// `03:04:05  CREATE_COMPLETE     InvokeFunction  AWS::Lambda::Function  (reason)`.
    pub fn render(&self) -> String {
        let time = self
            .timestamp
            .split_once('T')
            .map_or(self.timestamp.as_str(), |(_, t)| t.trim_end_matches('Z'));
        let time = time.split('.').next().unwrap_or(time);
        let mut line =
            format!("{time:<8}  {:<28}  {}  {}", self.status, self.logical_id, self.resource_type);
        if let Some(reason) = self.reason.as_deref().filter(|r| !r.is_empty()) {
            let _ = write!(line, "  ({reason})");
        }
        line
    }
}

/// Where a stack operation stands, from the stack's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Still running (including cleanup after an update).
    Running,
    /// Done as asked.
    Succeeded,
    /// Failed or rolled back.
    Failed,
}

/// What `status` (e.g. `UPDATE_ROLLBACK_COMPLETE`) means for the operation that led to it.
pub fn progress(status: &str) -> Progress {
    if status.ends_with("_IN_PROGRESS") {
        Progress::Running
    } else if status.contains("ROLLBACK") || status.ends_with("_FAILED") {
        Progress::Failed
    } else if status.ends_with("_COMPLETE") {
        Progress::Succeeded
    } else {
        Progress::Failed
    }
}

/// The stack's outputs, one `key = value` line each, sorted by key.
pub fn render_outputs(outputs: &[Output]) -> String {
    let mut rows: Vec<(&str, &str)> = outputs
        .iter()
        .filter_map(|o| Some((o.output_key()?, o.output_value().unwrap_or(""))))
        .collect();
    rows.sort();
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    rows.iter().map(|(k, v)| format!("  {k:<width$}  {v}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudformation::primitives::DateTime;
    use aws_sdk_cloudformation::types::{
        ChangeAction, ChangeType, Replacement, ResourceAttribute, ResourceChange,
        ResourceChangeDetail, ResourceStatus, ResourceTargetDefinition,
    };

    fn change(action: ChangeAction, id: &str, kind: &str) -> ResourceChange {
        ResourceChange::builder().action(action).logical_resource_id(id).resource_type(kind).build()
    }

    fn wrap(resource: ResourceChange) -> Change {
        Change::builder().r#type(ChangeType::Resource).resource_change(resource).build()
    }

    fn detail(name: Option<&str>, attribute: ResourceAttribute) -> ResourceChangeDetail {
        let target = ResourceTargetDefinition::builder()
            .attribute(attribute)
            .set_name(name.map(str::to_owned))
            .build();
        ResourceChangeDetail::builder().target(target).build()
    }

    #[test]
    fn a_change_set_renders_one_marked_line_per_resource() {
        let modify = ResourceChange::builder()
            .action(ChangeAction::Modify)
            .logical_resource_id("InvokeFunction")
            .resource_type("AWS::Lambda::Function")
            .replacement(Replacement::False)
            .details(detail(Some("Environment"), ResourceAttribute::Properties))
            .details(detail(Some("Code"), ResourceAttribute::Properties))
            .details(detail(Some("Environment"), ResourceAttribute::Properties))
            .build();
        let replace = ResourceChange::builder()
            .action(ChangeAction::Modify)
            .logical_resource_id("VectorIndex")
            .resource_type("AWS::S3Vectors::Index")
            .replacement(Replacement::True)
            .details(detail(None, ResourceAttribute::Tags))
            .build();
        let changes = [
            wrap(change(
                ChangeAction::Add,
                "ApiDeployment0a1b2c3d4e5f",
                "AWS::ApiGateway::Deployment",
            )),
            wrap(modify),
            wrap(replace),
            wrap(change(
                ChangeAction::Remove,
                "ApiDeploymentffeeddccbbaa",
                "AWS::ApiGateway::Deployment",
            )),
            Change::builder().r#type(ChangeType::Resource).build(),
        ];
        let rows: Vec<ChangeRow> = changes.iter().filter_map(ChangeRow::from_change).collect();
        assert_eq!(rows[1].changed, ["Code", "Environment"]);
        assert_eq!(
            render_change_set("quarry", &rows),
            "Stack `quarry`: 4 changes\n\
             \x20 + Add     ApiDeployment0a1b2c3d4e5f  AWS::ApiGateway::Deployment\n\
             \x20 ~ Modify  InvokeFunction             AWS::Lambda::Function        changes: Code, Environment\n\
             \x20 ~ Modify  VectorIndex                AWS::S3Vectors::Index        changes: Tags  REPLACED\n\
             \x20 - Remove  ApiDeploymentffeeddccbbaa  AWS::ApiGateway::Deployment\n"
        );
        assert_eq!(render_change_set("quarry", &[]), "Stack `quarry`: no changes.\n");
    }

    #[test]
    fn events_render_time_status_resource_and_reason() {
        let event = StackEvent::builder()
            .event_id("e1")
            .stack_id("arn:aws:cloudformation:us-east-1:123456789012:stack/quarry/1")
            .stack_name("quarry")
            .logical_resource_id("IngestEventSource")
            .resource_type("AWS::Lambda::EventSourceMapping")
            .timestamp(DateTime::from_secs(1_735_787_045))
            .resource_status(ResourceStatus::CreateFailed)
            .resource_status_reason("Resource handler returned message: \"Invalid request\"")
            .build();
        let row = EventRow::from_event(&event);
        assert_eq!(row.timestamp, "2025-01-02T03:04:05Z");
        assert_eq!(
            row.render(),
            "03:04:05  CREATE_FAILED                 IngestEventSource  AWS::Lambda::EventSourceMapping  (Resource handler returned message: \"Invalid request\")"
        );
    }

    #[test]
    fn statuses_say_whether_the_operation_runs_succeeded_or_failed() {
        for running in [
            "CREATE_IN_PROGRESS",
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            "UPDATE_ROLLBACK_IN_PROGRESS",
            "DELETE_IN_PROGRESS",
            "REVIEW_IN_PROGRESS",
        ] {
            assert_eq!(progress(running), Progress::Running, "{running}");
        }
        for ok in ["CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE", "IMPORT_COMPLETE"] {
            assert_eq!(progress(ok), Progress::Succeeded, "{ok}");
        }
        for failed in [
            "CREATE_FAILED",
            "ROLLBACK_COMPLETE",
            "UPDATE_ROLLBACK_COMPLETE",
            "UPDATE_ROLLBACK_FAILED",
            "DELETE_FAILED",
        ] {
            assert_eq!(progress(failed), Progress::Failed, "{failed}");
        }
    }

    #[test]
    fn outputs_render_sorted_and_aligned() {
        let outputs = [
            Output::builder().output_key("IngestQueueUrl").output_value("https://sqs/q").build(),
            Output::builder().output_key("ApiUrl").output_value("https://api/api").build(),
        ];
        assert_eq!(
            render_outputs(&outputs),
            "  ApiUrl          https://api/api\n  IngestQueueUrl  https://sqs/q\n"
        );
    }
}
