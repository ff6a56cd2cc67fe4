//! Named prompt templates (minijinja), rendered strictly: a variable the context lacks is an error.

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};
use serde::Serialize;

use super::PromptError;

/// Name of the built-in RAG system prompt (context: `source_count`).
pub const RAG_SYSTEM: &str = "rag_system";
/// Name of the built-in RAG user prompt (context: `question`, `sources` with `number`, `id`,
/// `title`, `text`).
pub const RAG_USER: &str = "rag_user";

/// quarry's built-in templates, as `(name, source)`.
const BUILTIN: [(&str, &str); 2] = [
    (RAG_SYSTEM, include_str!("templates/rag_system.j2")),
    (RAG_USER, include_str!("templates/rag_user.j2")),
];

/// A registry of prompt templates, addressed by name.
///
/// Templates are plain text (no HTML escaping); block tags swallow their own line (`trim_blocks`
/// and `lstrip_blocks`), so `{% if %}` lines leave no blank lines behind.
#[derive(Debug)]
pub struct PromptTemplates {
    env: Environment<'static>,
}

impl Default for PromptTemplates {
    fn default() -> Self {
        Self::empty()
    }
}

impl PromptTemplates {
    /// A registry with no templates.
    pub fn empty() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        // Only custom delimiters can make the syntax config fail, and these are the defaults.
        if let Ok(syntax) = SyntaxConfig::builder().trim_blocks(true).lstrip_blocks(true).build() {
            env.set_syntax(syntax);
        }
        PromptTemplates { env }
    }

    /// A registry holding quarry's built-in templates ([`RAG_SYSTEM`], [`RAG_USER`]), which callers
    /// may replace with [`PromptTemplates::add`]. Fails only if a built-in does not parse.
    pub fn builtin() -> Result<Self, PromptError> {
        let mut templates = Self::empty();
        for (name, source) in BUILTIN {
            templates.add(name, source)?;
        }
        Ok(templates)
    }

    /// Adds (or replaces) the template `name`. Fails on a syntax error, naming the template
    /// and the line.
    pub fn add(
        &mut self,
        name: impl Into<String>,
        source: impl Into<String>,
    ) -> Result<(), PromptError> {
        let name = name.into();
        self.env
            .add_template_owned(name.clone(), source.into())
            .map_err(|error| template_error(&name, &error))
    }

    /// True when a template of that name is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.env.get_template(name).is_ok()
    }

    /// Renders the template `name` with `context` (any serde-serializable value, usually a
    /// struct or `minijinja::context!`).
    pub fn render<C: Serialize>(&self, name: &str, context: C) -> Result<String, PromptError> {
        let template = self
            .env
            .get_template(name)
            .map_err(|_| PromptError::UnknownTemplate { name: name.to_owned() })?;
        template.render(Serde(context)).map_err(|error| template_error(name, &error))
    }
}

/// Turns a minijinja error into the prompt error that names the template, the line and, for an
/// undefined variable, the variable.
fn template_error(name: &str, error: &minijinja::Error) -> PromptError {
    let template = error.name().unwrap_or(name).to_owned();
    let line = error.line().unwrap_or(0);
    let detail = error.detail().map_or_else(|| error.kind().to_string(), str::to_owned);
    match error.kind() {
        ErrorKind::SyntaxError => PromptError::Syntax { template, line, detail },
        ErrorKind::UndefinedError => {
            // minijinja words it "`sources` is undefined" (possibly inside a longer detail).
            let variable = detail.split('`').nth(1).unwrap_or("?").to_owned();
            PromptError::UndefinedVariable { template, line, variable }
        }
        _ => PromptError::Render { template, line, detail },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    #[test]
    fn renders_named_templates_with_variables() {
        let mut templates = PromptTemplates::empty();
        templates
            .add("greeting", "Hello {{ name }}, you have {{ items | length }} items.")
            .expect("valid template");
        let text = templates
            .render("greeting", context! { name => "Ada", items => vec![1, 2, 3] })
            .expect("renders");
        assert_eq!(text, "Hello Ada, you have 3 items.");
    }

    #[test]
    fn renders_serde_structs_without_escaping() {
        #[derive(Serialize)]
        struct Ctx<'a> {
            snippet: &'a str,
        }
        let mut templates = PromptTemplates::empty();
        templates.add("raw", "Code: {{ snippet }}").expect("valid");
        let text =
            templates.render("raw", Ctx { snippet: "<a href=\"x\">&</a>" }).expect("renders");
        assert_eq!(text, "Code: <a href=\"x\">&</a>");
    }

    #[test]
    fn a_missing_variable_is_an_error_naming_it() {
        let mut templates = PromptTemplates::empty();
        templates.add("qa", "Context:\n{{ context }}\nQuestion: {{ question }}").expect("valid");
        let error = templates.render("qa", context! { context => "docs" }).expect_err("missing");
        assert_eq!(
            error,
            PromptError::UndefinedVariable {
                template: "qa".into(),
                line: 3,
                variable: "question".into()
            }
        );
        assert!(error.to_string().contains("`question`"), "{error}");
    }

    #[test]
    fn a_missing_nested_attribute_is_an_error_too() {
        let mut templates = PromptTemplates::empty();
        templates.add("doc", "{{ doc.title }}").expect("valid");
        let error = templates.render("doc", context! { doc => context! {} }).expect_err("missing");
        assert!(
            matches!(&error, PromptError::UndefinedVariable { variable, .. } if variable == "doc.title"),
            "{error:?}"
        );
    }

    #[test]
    fn syntax_errors_name_the_template_and_line() {
        let mut templates = PromptTemplates::empty();
        let error = templates
            .add("broken", "line one\n{% if question %}\nunterminated")
            .expect_err("syntax error");
        match &error {
            PromptError::Syntax { template, line, .. } => {
                assert_eq!(template, "broken");
                assert_eq!(*line, 3);
            }
            other => panic!("expected a syntax error, got {other:?}"),
        }
        assert!(error.to_string().contains("broken"), "{error}");
        assert!(!templates.contains("broken"));
    }

    #[test]
    fn rendering_an_unknown_template_names_it() {
        let templates = PromptTemplates::builtin().expect("built-ins parse");
        let error = templates.render("nope", context! {}).expect_err("unknown");
        assert_eq!(error, PromptError::UnknownTemplate { name: "nope".into() });
    }

    #[test]
    fn builtin_templates_are_registered_and_replaceable() {
        let mut templates = PromptTemplates::builtin().expect("built-ins parse");
        assert!(templates.contains(RAG_SYSTEM));
        assert!(templates.contains(RAG_USER));
        templates.add(RAG_SYSTEM, "Answer in French. {{ source_count }} sources.").expect("valid");
        let text = templates.render(RAG_SYSTEM, context! { source_count => 2 }).expect("renders");
        assert_eq!(text, "Answer in French. 2 sources.");
    }
}
