//! The chat-model allowlist the invoke API enforces at run time: which ids and aliases a caller may
//! name, and which configured id a request resolves to.
//!
//! [`Allowlist::resolve`] applies these rules in order:
//! 1. An empty (or blank) model gets the default.
//! 2. A configured id, written exactly as configured, is itself.
//! 3. An alias resolves to its target.
//! 4. Otherwise the request is parsed as a [`ModelId`] and matched by what it invokes, first to
//!    an entry naming the same resource in another form (`us.x` and the ARN of inference profile
//!    `us.x`; base id `x` and the foundation-model ARN of `x`), else to an entry invoking the same
//!    base model (`anthropic.x` requested, `us.anthropic.x` configured). Ties go to the first
//!    entry in config order. The configured entry decides how the call is routed, not the
//!    request: an operator who allows only `us.x` gets `us.x` even for a caller asking for `eu.x`.
//! 5. No match: a model that exists is [`ResolveError::NotAllowed`] (403), anything else
//!    [`ResolveError::Unknown`] (404). "Exists" is the caller's `known` check — the model catalog
//!    when there is one; without a catalog pass [`known_without_catalog`] (the id parses and
//!    quarry knows its provider family).

use std::collections::BTreeMap;

use crate::model::{Family, ModelId};

/// The chat models callers may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowlist {
    allowed: Vec<ModelId>,
    aliases: BTreeMap<String, ModelId>,
    default: Option<ModelId>,
}

/// A request's model, resolved to a configured entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedModel {
    /// The id to call: the configured entry, as configured.
    pub id: ModelId,
    /// Its native adapter family; `None` when quarry has none (Converse still works).
    pub family: Option<Family>,
    /// The alias the caller used, if any.
    pub alias: Option<String>,
}

/// Why a requested model cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The model exists but is not on the allowlist (HTTP 403).
    #[error("model `{model}` is not allowed here; allowed models: {}", .allowed.join(", "))]
    NotAllowed { model: String, allowed: Vec<String> },
    /// The model is not one quarry or the catalog knows (HTTP 404).
    #[error("model `{model}` does not exist or is not available; allowed models: {}", .allowed.join(", "))]
    Unknown { model: String, allowed: Vec<String> },
    /// The request names no model and no default is configured (HTTP 400).
    #[error("the request names no model and no default model is configured; allowed models: {}", .allowed.join(", "))]
    NoDefault { allowed: Vec<String> },
}

impl ResolveError {
    /// The HTTP status the API answers with.
    pub fn status(&self) -> u16 {
        match self {
            ResolveError::NotAllowed { .. } => 403,
            ResolveError::Unknown { .. } => 404,
            ResolveError::NoDefault { .. } => 400,
        }
    }

    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ResolveError::NotAllowed { .. } => "model_not_allowed",
            ResolveError::Unknown { .. } => "model_not_found",
            ResolveError::NoDefault { .. } => "model_required",
        }
    }
}

/// Whether a model exists when there is no catalog: its id parsed, and quarry knows its family.
pub fn known_without_catalog(id: &ModelId) -> bool {
    id.family().is_ok()
}

impl Allowlist {
    /// An allowlist of `allowed` (config order matters for ties), with `aliases` and a `default`.
    /// An alias or default outside `allowed` is never used to bypass it: resolving it answers
    /// [`ResolveError::NotAllowed`] (configuration validation rejects such entries up front).
    pub fn new(
        allowed: Vec<ModelId>,
        aliases: BTreeMap<String, ModelId>,
        default: Option<ModelId>,
    ) -> Self {
        Allowlist { allowed, aliases, default }
    }

    /// The allowed ids, in config order.
    pub fn allowed(&self) -> &[ModelId] {
        &self.allowed
    }

    /// The aliases.
    pub fn aliases(&self) -> &BTreeMap<String, ModelId> {
        &self.aliases
    }

    /// The default model.
    pub fn default_model(&self) -> Option<&ModelId> {
        self.default.as_ref()
    }

    /// The configured entry `requested` resolves to (see the module docs for the rules).
    pub fn resolve(
        &self,
        requested: &str,
        known: impl Fn(&ModelId) -> bool,
    ) -> Result<AllowedModel, ResolveError> {
        let requested = requested.trim();
        if requested.is_empty() {
            let default = self
                .default
                .clone()
                .ok_or_else(|| ResolveError::NoDefault { allowed: self.allowed_ids() })?;
            return self.entry(requested, default, None);
        }
        if let Some(id) = self.allowed.iter().find(|id| id.to_string() == requested) {
            return Ok(allowed_model(id.clone(), None));
        }
        if let Some(target) = self.aliases.get(requested) {
            return self.entry(requested, target.clone(), Some(requested.to_owned()));
        }
        let Ok(parsed) = requested.parse::<ModelId>() else {
            return Err(self.unknown(requested));
        };
        let same_resource = self.allowed.iter().find(|id| same_resource(id, &parsed));
        let same_base = || {
            let base = parsed.base_model()?;
            self.allowed.iter().find(|id| id.base_model() == Some(base))
        };
        if let Some(id) = same_resource.or_else(same_base) {
            return Ok(allowed_model(id.clone(), None));
        }
        if known(&parsed) {
            Err(ResolveError::NotAllowed {
                model: requested.to_owned(),
                allowed: self.allowed_ids(),
            })
        } else {
            Err(self.unknown(requested))
        }
    }

    /// `target` (an alias target or the default) if it is allowed.
    fn entry(
        &self,
        requested: &str,
        target: ModelId,
        alias: Option<String>,
    ) -> Result<AllowedModel, ResolveError> {
        if self.allowed.contains(&target) {
            Ok(allowed_model(target, alias))
        } else {
            let model =
                if requested.is_empty() { target.to_string() } else { requested.to_owned() };
            Err(ResolveError::NotAllowed { model, allowed: self.allowed_ids() })
        }
    }

    fn unknown(&self, requested: &str) -> ResolveError {
        ResolveError::Unknown { model: requested.to_owned(), allowed: self.allowed_ids() }
    }

    fn allowed_ids(&self) -> Vec<String> {
        self.allowed.iter().map(ModelId::to_string).collect()
    }
}

fn allowed_model(id: ModelId, alias: Option<String>) -> AllowedModel {
    AllowedModel { family: id.family().ok(), id, alias }
}

/// True when `a` and `b` name the same invocable resource in different forms: the same system
/// inference profile (id or ARN), or the same base model with no profile on either side.
fn same_resource(a: &ModelId, b: &ModelId) -> bool {
    match (a.inference_profile(), b.inference_profile()) {
        (Some(pa), Some(pb)) => pa == pb,
        (None, None) => a.base_model().is_some() && a.base_model() == b.base_model(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> ModelId {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    /// The models of the repository's example quarry.toml, plus an ARN entry.
    fn allowlist() -> Allowlist {
        Allowlist::new(
            vec![
                id("us.anthropic.claude-3-5-haiku-20241022-v1:0"),
                id("amazon.nova-lite-v1:0"),
                id("meta.llama3-1-8b-instruct-v1:0"),
                id(
                    "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6",
                ),
            ],
            BTreeMap::from([
                ("fast".to_owned(), id("amazon.nova-lite-v1:0")),
                ("haiku".to_owned(), id("us.anthropic.claude-3-5-haiku-20241022-v1:0")),
            ]),
            Some(id("amazon.nova-lite-v1:0")),
        )
    }

    fn no_catalog(model: &ModelId) -> bool {
        known_without_catalog(model)
    }

    fn resolved(requested: &str) -> AllowedModel {
        allowlist().resolve(requested, no_catalog).unwrap_or_else(|e| panic!("{requested}: {e}"))
    }

    #[test]
    fn exact_allowed_ids_resolve_to_themselves() {
        let model = resolved("meta.llama3-1-8b-instruct-v1:0");
        assert_eq!(model.id, id("meta.llama3-1-8b-instruct-v1:0"));
        assert_eq!(model.family, Some(Family::Meta));
        assert_eq!(model.alias, None);
        let profile = resolved("us.anthropic.claude-3-5-haiku-20241022-v1:0");
        assert_eq!(profile.family, Some(Family::Anthropic));
    }

    #[test]
    fn opaque_arns_resolve_exactly_and_have_no_family() {
        let arn =
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6";
        let model = resolved(arn);
        assert_eq!(model.id, id(arn));
        assert_eq!(model.family, None, "Converse calls it without a native adapter");
    }

    #[test]
    fn aliases_resolve_to_their_target_and_say_so() {
        let model = resolved("fast");
        assert_eq!(model.id, id("amazon.nova-lite-v1:0"));
        assert_eq!(model.family, Some(Family::AmazonNova));
        assert_eq!(model.alias.as_deref(), Some("fast"));
        assert_eq!(resolved("haiku").id, id("us.anthropic.claude-3-5-haiku-20241022-v1:0"));
    }

    #[test]
    fn empty_or_blank_models_get_the_default() {
        for requested in ["", "  "] {
            let model = resolved(requested);
            assert_eq!(model.id, id("amazon.nova-lite-v1:0"));
            assert_eq!(model.alias, None);
        }
        let none = Allowlist::new(vec![id("amazon.nova-lite-v1:0")], BTreeMap::new(), None);
        let err = none.resolve("", no_catalog).expect_err("no default");
        assert_eq!(err.status(), 400);
        assert_eq!(
            err.to_string(),
            "the request names no model and no default model is configured; allowed models: amazon.nova-lite-v1:0"
        );
    }

    #[test]
    fn base_ids_resolve_to_the_allowed_inference_profile() {
        let model = resolved("anthropic.claude-3-5-haiku-20241022-v1:0");
        assert_eq!(model.id, id("us.anthropic.claude-3-5-haiku-20241022-v1:0"));
        assert_eq!(model.alias, None);
    }

    #[test]
    fn other_profiles_and_arns_of_an_allowed_base_model_resolve_to_the_configured_entry() {
        for requested in [
            "eu.anthropic.claude-3-5-haiku-20241022-v1:0",
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0",
        ] {
            assert_eq!(
                resolved(requested).id,
                id("us.anthropic.claude-3-5-haiku-20241022-v1:0"),
                "{requested}"
            );
        }
        for requested in [
            "us.amazon.nova-lite-v1:0",
            "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0",
        ] {
            assert_eq!(resolved(requested).id, id("amazon.nova-lite-v1:0"), "{requested}");
        }
    }

    #[test]
    fn ties_prefer_the_same_resource_then_config_order() {
        let list = Allowlist::new(
            vec![
                id("global.anthropic.claude-sonnet-4-5-20250929-v1:0"),
                id("anthropic.claude-sonnet-4-5-20250929-v1:0"),
                id(
                    "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                ),
            ],
            BTreeMap::new(),
            None,
        );
        let resolve = |requested: &str| {
            list.resolve(requested, no_catalog).map(|m| m.id.to_string()).expect(requested)
        };
        // The same profile written as an id matches its ARN entry.
        assert_eq!(
            resolve("us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0"
        );
        // A foundation-model ARN is the same resource as the base id entry.
        assert_eq!(
            resolve(
                "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0"
            ),
            "anthropic.claude-sonnet-4-5-20250929-v1:0"
        );
        // An exact entry wins over an earlier entry of the same base model.
        assert_eq!(
            resolve("anthropic.claude-sonnet-4-5-20250929-v1:0"),
            "anthropic.claude-sonnet-4-5-20250929-v1:0"
        );
        // No resource match: the first entry of that base model in config order.
        assert_eq!(
            resolve("eu.anthropic.claude-sonnet-4-5-20250929-v1:0"),
            "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
        );
    }

    #[test]
    fn existing_models_outside_the_list_are_not_allowed() {
        let err = allowlist()
            .resolve("anthropic.claude-3-5-sonnet-20240620-v1:0", no_catalog)
            .expect_err("not on the list");
        assert_eq!(err.status(), 403);
        assert_eq!(err.code(), "model_not_allowed");
        assert_eq!(
            err.to_string(),
            "model `anthropic.claude-3-5-sonnet-20240620-v1:0` is not allowed here; allowed models: \
us.anthropic.claude-3-5-haiku-20241022-v1:0, amazon.nova-lite-v1:0, meta.llama3-1-8b-instruct-v1:0, \
arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6"
        );
    }

    #[test]
    fn without_a_catalog_unknown_families_and_malformed_ids_are_unknown() {
        for requested in ["writer.palmyra-x5-v1:0", "gpt-4o", "Anthropic.Claude", "fast2"] {
            let err = allowlist().resolve(requested, no_catalog).expect_err(requested);
            assert_eq!(err.status(), 404, "{requested}");
            assert_eq!(err.code(), "model_not_found");
            assert!(
                err.to_string().starts_with(&format!(
                    "model `{requested}` does not exist or is not available; allowed models: us.anthropic"
                )),
                "{err}"
            );
        }
    }

    #[test]
    fn with_a_catalog_the_catalog_decides_what_exists() {
        let catalog =
            [id("writer.palmyra-x5-v1:0"), id("anthropic.claude-3-5-sonnet-20240620-v1:0")];
        let in_catalog = |model: &ModelId| catalog.contains(model);
        let list = allowlist();
        // In the catalog (even without a native family): forbidden, not missing.
        let err = list.resolve("writer.palmyra-x5-v1:0", in_catalog).expect_err("not allowed");
        assert!(matches!(err, ResolveError::NotAllowed { .. }), "{err:?}");
        // A well-formed id of a known family that the catalog lacks does not exist.
        let err = list.resolve("anthropic.claude-9-v1:0", in_catalog).expect_err("unknown");
        assert!(matches!(err, ResolveError::Unknown { .. }), "{err:?}");
        // Allowed models resolve whatever the catalog says.
        assert_eq!(list.resolve("fast", in_catalog).map(|m| m.id), Ok(id("amazon.nova-lite-v1:0")));
    }

    #[test]
    fn aliases_and_defaults_outside_the_list_never_bypass_it() {
        let list = Allowlist::new(
            vec![id("amazon.nova-lite-v1:0")],
            BTreeMap::from([("big".to_owned(), id("amazon.nova-pro-v1:0"))]),
            Some(id("amazon.nova-premier-v1:0")),
        );
        let err = list.resolve("big", no_catalog).expect_err("target not allowed");
        assert_eq!(
            err,
            ResolveError::NotAllowed {
                model: "big".to_owned(),
                allowed: vec!["amazon.nova-lite-v1:0".to_owned()]
            }
        );
        let err = list.resolve("", no_catalog).expect_err("default not allowed");
        assert_eq!(
            err,
            ResolveError::NotAllowed {
                model: "amazon.nova-premier-v1:0".to_owned(),
                allowed: vec!["amazon.nova-lite-v1:0".to_owned()]
            }
        );
    }
}
