//! The CloudFormation template model: a template of typed resources, intrinsic-function values
//! (`Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`) and the JSON CloudFormation reads.
//!
//! Resources are added through [`Template::add`] with a serde struct per resource type
//! ([`ResourceType`]); the template checks that logical ids are unique and, when rendered, that
//! every `Ref`, `Fn::GetAtt`, `${…}` in `Fn::Sub` and `DependsOn` names a parameter, a resource
//! or a pseudo parameter. The JSON has every object's keys sorted, so the same stack always
//! renders to the same bytes.

use std::collections::{BTreeMap, BTreeSet};

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::Value;

/// The pseudo parameters a template may `Ref` without declaring them.
pub const PSEUDO_PARAMETERS: [&str; 7] = [
    "AWS::AccountId",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
];

/// Why a template cannot be built or rendered.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// Two resources, parameters or outputs share a logical id.
    #[error("logical id `{0}` is used twice; every resource, parameter and output needs its own")]
    DuplicateId(String),
    /// A logical id that CloudFormation refuses (it allows only ASCII letters and digits).
    #[error("logical id `{0}` must be 1 to 255 ASCII letters and digits")]
    BadId(String),
    /// A reference to something the template does not declare.
    #[error(
        "`{from}` refers to `{target}`, which is neither a parameter nor a resource of the template"
    )]
    Dangling { from: String, target: String },
    /// A resource's properties could not be turned into JSON.
    #[error("the properties of `{id}` are not JSON: {error}")]
    Properties { id: String, error: serde_json::Error },
}

/// A value in a template: a literal string or an intrinsic function CloudFormation resolves.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Expr {
    /// A literal string.
    Text(String),
    /// `{"Ref": name}`: a parameter's value or a resource's primary id.
    Ref(String),
    /// `{"Fn::GetAtt": [resource, attribute]}`.
    GetAtt(String, String),
    /// `{"Fn::Sub": pattern}`: `${name}` and `${resource.Attribute}` are replaced.
    Sub(String),
    /// `{"Fn::Join": [delimiter, parts]}`.
    Join(String, Vec<Expr>),
}

impl Expr {
    /// `{"Ref": name}`.
    pub fn reference(name: &str) -> Self {
        Expr::Ref(name.to_owned())
    }

    /// `{"Fn::GetAtt": [resource, attribute]}`.
    pub fn get_att(resource: &str, attribute: &str) -> Self {
        Expr::GetAtt(resource.to_owned(), attribute.to_owned())
    }

    /// The literal text, if this value is one.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Expr::Text(text) => Some(text),
            _ => None,
        }
    }
}

impl From<&str> for Expr {
    fn from(text: &str) -> Self {
        Expr::Text(text.to_owned())
    }
}

impl From<String> for Expr {
    fn from(text: String) -> Self {
        Expr::Text(text)
    }
}

impl Serialize for Expr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Expr::Text(text) => serializer.serialize_str(text),
            Expr::Ref(name) => one_key(serializer, "Ref", name),
            Expr::GetAtt(resource, attribute) => {
                one_key(serializer, "Fn::GetAtt", &[resource, attribute])
            }
            Expr::Sub(pattern) => one_key(serializer, "Fn::Sub", pattern),
            Expr::Join(delimiter, parts) => one_key(serializer, "Fn::Join", &(delimiter, parts)),
        }
    }
}

fn one_key<S: Serializer, V: Serialize + ?Sized>(
    serializer: S,
    key: &str,
    value: &V,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(1))?;
    map.serialize_entry(key, value)?;
    map.end()
}

/// Builds an `Fn::Sub` pattern from literal text and `${…}` variables; literal `${` is escaped as
/// `${!`, so text from `quarry.toml` is never read as a variable.
#[derive(Debug, Clone, Default)]
pub struct Sub {
    pattern: String,
    has_variable: bool,
}

impl Sub {
    /// An empty pattern.
    pub fn new() -> Self {
        Sub::default()
    }

    /// Appends literal text.
    pub fn text(mut self, text: &str) -> Self {
        self.pattern.push_str(&text.replace("${", "${!"));
        self
    }

    /// Appends `${name}`: a parameter, a resource's `Ref`, a pseudo parameter or
    /// `resource.Attribute`.
    pub fn var(mut self, name: &str) -> Self {
        self.pattern.push_str("${");
        self.pattern.push_str(name);
        self.pattern.push('}');
        self.has_variable = true;
        self
    }

    /// The value: plain text when nothing is substituted, `Fn::Sub` otherwise.
    pub fn build(self) -> Expr {
        if self.has_variable {
            Expr::Sub(self.pattern)
        } else {
            Expr::Text(self.pattern.replace("${!", "${"))
        }
    }
}

/// A resource type: its CloudFormation type name; the struct serializes as its `Properties`.
pub trait ResourceType: Serialize {
    /// `AWS::Service::Thing`.
    const TYPE: &'static str;
}

/// What CloudFormation does with a resource's physical resource when the stack deletes or
/// replaces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DeletionPolicy {
    /// Delete it (the default).
    Delete,
    /// Keep it, detached from the stack.
    Retain,
}

/// Resource attributes beside the properties.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Resources created before this one (logical ids).
    pub depends_on: Vec<String>,
    /// Kept on stack deletion and on replacement (both policies set), when `Retain`.
    pub deletion_policy: Option<DeletionPolicy>,
}

impl Options {
    /// Created after `ids`.
    pub fn depends_on<I: Into<String>>(ids: impl IntoIterator<Item = I>) -> Self {
        Options { depends_on: ids.into_iter().map(Into::into).collect(), deletion_policy: None }
    }

    /// Kept when the stack is deleted or the resource replaced.
    pub fn retain(mut self) -> Self {
        self.deletion_policy = Some(DeletionPolicy::Retain);
        self
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Resource {
    #[serde(rename = "Type")]
    kind: &'static str,
    properties: Value,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    depends_on: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deletion_policy: Option<DeletionPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    update_replace_policy: Option<DeletionPolicy>,
}

/// A template parameter (always a string here).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Parameter {
    #[serde(rename = "Type")]
    kind: &'static str,
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    allowed_pattern: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    constraint_description: Option<String>,
}

impl Parameter {
    /// A string parameter.
    pub fn string(description: &str) -> Self {
        Parameter {
            kind: "String",
            description: description.to_owned(),
            allowed_pattern: None,
            constraint_description: None,
        }
    }

    /// Only values matching `pattern` (a Java regex) are accepted; `why` is shown otherwise.
    pub fn pattern(mut self, pattern: &str, why: &str) -> Self {
        self.allowed_pattern = Some(pattern.to_owned());
        self.constraint_description = Some(why.to_owned());
        self
    }
}

/// A stack output.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Output {
    description: String,
    value: Expr,
}

/// One `Rules` assertion: the stack is refused before anything is created when it fails.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Rule {
    assertions: Vec<Assertion>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Assertion {
    assert: Value,
    assert_description: String,
}

/// A CloudFormation template being built.
#[derive(Debug, Clone)]
pub struct Template {
    description: String,
    parameters: BTreeMap<String, Parameter>,
    rules: BTreeMap<String, Rule>,
    resources: BTreeMap<String, Resource>,
    outputs: BTreeMap<String, Output>,
}

impl Template {
    /// An empty template.
    pub fn new(description: &str) -> Self {
        Template {
            description: description.to_owned(),
            parameters: BTreeMap::new(),
            rules: BTreeMap::new(),
            resources: BTreeMap::new(),
            outputs: BTreeMap::new(),
        }
    }

    fn claim(&self, id: &str) -> Result<(), TemplateError> {
        let valid = (1..=255).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric());
        if !valid {
            return Err(TemplateError::BadId(id.to_owned()));
        }
        if self.parameters.contains_key(id)
            || self.resources.contains_key(id)
            || self.outputs.contains_key(id)
        {
            return Err(TemplateError::DuplicateId(id.to_owned()));
        }
        Ok(())
    }

    /// Declares a parameter; returns its `Ref`.
    pub fn parameter(&mut self, id: &str, parameter: Parameter) -> Result<Expr, TemplateError> {
        self.claim(id)?;
        self.parameters.insert(id.to_owned(), parameter);
        Ok(Expr::reference(id))
    }

    /// Adds a resource with default attributes.
    pub fn add<R: ResourceType>(&mut self, id: &str, properties: &R) -> Result<(), TemplateError> {
        self.add_with(id, properties, Options::default())
    }

    /// Adds a resource with `options` (DependsOn, deletion policy).
    pub fn add_with<R: ResourceType>(
        &mut self,
        id: &str,
        properties: &R,
        options: Options,
    ) -> Result<(), TemplateError> {
        self.claim(id)?;
        let properties = serde_json::to_value(properties)
            .map_err(|error| TemplateError::Properties { id: id.to_owned(), error })?;
        let mut depends_on = options.depends_on;
        depends_on.sort();
        depends_on.dedup();
        self.resources.insert(
            id.to_owned(),
            Resource {
                kind: R::TYPE,
                properties,
                depends_on,
                deletion_policy: options.deletion_policy,
                update_replace_policy: options.deletion_policy,
            },
        );
        Ok(())
    }

    /// Adds a stack output.
    pub fn output(
        &mut self,
        id: &str,
        description: &str,
        value: Expr,
    ) -> Result<(), TemplateError> {
        self.claim(id)?;
        self.outputs.insert(id.to_owned(), Output { description: description.to_owned(), value });
        Ok(())
    }

    /// Adds a rule asserting that the stack is deployed in `region` (ARNs and names in the
    /// template are written for it).
    pub fn require_region(&mut self, region: &str) {
        let assert = serde_json::json!({
            "Fn::Equals": [{"Ref": "AWS::Region"}, region]
        });
        self.rules.insert(
            "StackRegionMatchesQuarryToml".to_owned(),
            Rule {
                assertions: vec![Assertion {
                    assert,
                    assert_description: format!(
                        "quarry.toml sets stack.region = \"{region}\"; deploy the stack there"
                    ),
                }],
            },
        );
    }

    /// The resource ids, sorted.
    pub fn resource_ids(&self) -> impl Iterator<Item = &str> {
        self.resources.keys().map(String::as_str)
    }

    /// The template as JSON with sorted keys, after checking every reference.
    pub fn to_json(&self) -> Result<Value, TemplateError> {
        self.check_references()?;
        let mut root = serde_json::Map::new();
        root.insert("AWSTemplateFormatVersion".into(), Value::from("2010-09-09"));
        root.insert("Description".into(), Value::from(self.description.clone()));
        let sections: [(&str, Result<Value, serde_json::Error>); 4] = [
            ("Parameters", serde_json::to_value(&self.parameters)),
            ("Rules", serde_json::to_value(&self.rules)),
            ("Resources", serde_json::to_value(&self.resources)),
            ("Outputs", serde_json::to_value(&self.outputs)),
        ];
        for (name, section) in sections {
            let section = section
                .map_err(|error| TemplateError::Properties { id: name.to_owned(), error })?;
            if section.as_object().is_some_and(|o| !o.is_empty()) {
                root.insert(name.into(), section);
            }
        }
        let mut json = Value::Object(root);
        json.sort_all_objects();
        Ok(json)
    }

    /// The template as pretty JSON text ending in a newline.
    pub fn render(&self) -> Result<String, TemplateError> {
        let json = self.to_json()?;
        let mut text = serde_json::to_string_pretty(&json)
            .map_err(|error| TemplateError::Properties { id: "template".into(), error })?;
        text.push('\n');
        Ok(text)
    }

    fn check_references(&self) -> Result<(), TemplateError> {
        let declared: BTreeSet<&str> = self
            .parameters
            .keys()
            .chain(self.resources.keys())
            .map(String::as_str)
            .chain(PSEUDO_PARAMETERS)
            .collect();
        let check = |from: &str, target: &str| {
            if declared.contains(target) {
                Ok(())
            } else {
                Err(TemplateError::Dangling { from: from.to_owned(), target: target.to_owned() })
            }
        };
        for (id, resource) in &self.resources {
            for target in references(&resource.properties) {
                check(id, &target)?;
            }
            for target in &resource.depends_on {
                check(id, target)?;
            }
        }
        for (id, output) in &self.outputs {
            let value = serde_json::to_value(&output.value)
                .map_err(|error| TemplateError::Properties { id: id.clone(), error })?;
            for target in references(&value) {
                check(id, &target)?;
            }
        }
        Ok(())
    }
}

/// The names a JSON value refers to through `Ref`, `Fn::GetAtt` and `Fn::Sub` variables.
pub fn references(value: &Value) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    collect_references(value, &mut found);
    found
}

fn collect_references(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) if map.len() == 1 => {
            if let Some(Value::String(name)) = map.get("Ref") {
                found.insert(name.clone());
            } else if let Some(Value::Array(pair)) = map.get("Fn::GetAtt") {
                if let Some(Value::String(resource)) = pair.first() {
                    found.insert(resource.clone());
                }
            } else if let Some(Value::String(pattern)) = map.get("Fn::Sub") {
                found.extend(
                    sub_variables(pattern)
                        .map(|v| v.split_once('.').map_or(v, |(resource, _)| resource).to_owned()),
                );
            } else {
                map.values().for_each(|v| collect_references(v, found));
            }
        }
        Value::Object(map) => map.values().for_each(|v| collect_references(v, found)),
        Value::Array(items) => items.iter().for_each(|v| collect_references(v, found)),
        _ => {}
    }
}

/// The `${…}` variables of an `Fn::Sub` pattern (escaped `${!…}` excluded).
pub fn sub_variables(pattern: &str) -> impl Iterator<Item = &str> {
    pattern
        .split("${")
        .skip(1)
        .filter(|rest| !rest.starts_with('!'))
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Queue {
        queue_name: Expr,
        #[serde(skip_serializing_if = "Option::is_none")]
        redrive_target: Option<Expr>,
    }

    impl ResourceType for Queue {
        const TYPE: &'static str = "AWS::SQS::Queue";
    }

    fn queue(name: Expr) -> Queue {
        Queue { queue_name: name, redrive_target: None }
    }

    #[test]
    fn intrinsic_functions_serialize_as_cloudformation_writes_them() {
        let join = Expr::Join(":".into(), vec![Expr::from("a"), Expr::reference("AWS::Region")]);
        assert_eq!(
            serde_json::to_value(vec![
                Expr::from("text"),
                Expr::reference("Queue"),
                Expr::get_att("Queue", "Arn"),
                Expr::Sub("${Queue.Arn}/*".into()),
                join,
            ])
            .expect("json"),
            serde_json::json!([
                "text",
                {"Ref": "Queue"},
                {"Fn::GetAtt": ["Queue", "Arn"]},
                {"Fn::Sub": "${Queue.Arn}/*"},
                {"Fn::Join": [":", ["a", {"Ref": "AWS::Region"}]]}
            ])
        );
    }

    #[test]
    fn sub_escapes_literal_text_and_stays_plain_without_variables() {
        let arn = Sub::new().text("arn:aws:s3:::").var("Bucket").text("/${odd}/key").build();
        assert_eq!(arn, Expr::Sub("arn:aws:s3:::${Bucket}/${!odd}/key".into()));
        assert_eq!(
            sub_variables("arn:aws:s3:::${Bucket}/${!odd}/key").collect::<Vec<_>>(),
            ["Bucket"]
        );
        assert_eq!(Sub::new().text("plain ${x}").build(), Expr::from("plain ${x}"));
    }

    #[test]
    fn rendering_sorts_keys_and_keeps_attributes() {
        let mut template = Template::new("test");
        template.parameter("Name", Parameter::string("the name")).expect("parameter");
        template.add("Dlq", &queue(Expr::reference("Name"))).expect("dlq");
        let main = Queue {
            queue_name: Sub::new().var("AWS::StackName").text("-main").build(),
            redrive_target: Some(Expr::get_att("Dlq", "Arn")),
        };
        template.add_with("Main", &main, Options::depends_on(["Dlq"]).retain()).expect("main");
        template.output("MainUrl", "the queue", Expr::reference("Main")).expect("output");
        let json = template.to_json().expect("renders");
        assert_eq!(
            json["Resources"]["Main"],
            serde_json::json!({
                "Type": "AWS::SQS::Queue",
                "Properties": {
                    "QueueName": {"Fn::Sub": "${AWS::StackName}-main"},
                    "RedriveTarget": {"Fn::GetAtt": ["Dlq", "Arn"]}
                },
                "DependsOn": ["Dlq"],
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain"
            })
        );
        let text = template.render().expect("text");
        let keys: Vec<&str> =
            text.lines().filter(|l| l.starts_with("  \"")).map(|l| l.trim()).collect();
        assert_eq!(
            keys,
            [
                "\"AWSTemplateFormatVersion\": \"2010-09-09\",",
                "\"Description\": \"test\",",
                "\"Outputs\": {",
                "\"Parameters\": {",
                "\"Resources\": {"
            ]
        );
        assert!(text.ends_with("}\n"));
    }

    #[test]
    fn ids_must_be_unique_and_alphanumeric() {
        let mut template = Template::new("test");
        template.add("Queue", &queue("q".into())).expect("first");
        let err = template.add("Queue", &queue("q".into())).expect_err("twice");
        assert_eq!(
            err.to_string(),
            "logical id `Queue` is used twice; every resource, parameter and output needs its own"
        );
        assert!(matches!(
            template.output("Queue", "x", "y".into()),
            Err(TemplateError::DuplicateId(_))
        ));
        assert!(matches!(
            template.add("my-queue", &queue("q".into())),
            Err(TemplateError::BadId(_))
        ));
    }

    #[test]
    fn dangling_references_are_refused_with_both_ends_named() {
        for value in [
            Expr::reference("Missing"),
            Expr::get_att("Missing", "Arn"),
            Sub::new().text("arn:").var("Missing.Arn").build(),
        ] {
            let mut template = Template::new("test");
            template.add("Queue", &queue(value)).expect("added");
            let err = template.render().expect_err("dangling");
            assert_eq!(
                err.to_string(),
                "`Queue` refers to `Missing`, which is neither a parameter nor a resource of the template"
            );
        }
        let mut template = Template::new("test");
        template
            .add_with("Queue", &queue("q".into()), Options::depends_on(["Nothing"]))
            .expect("added");
        assert!(matches!(template.render(), Err(TemplateError::Dangling { .. })));
        let mut template = Template::new("test");
        template.add("Queue", &queue(Sub::new().var("AWS::AccountId").build())).expect("added");
        assert!(template.render().is_ok(), "pseudo parameters need no declaration");
    }
}
