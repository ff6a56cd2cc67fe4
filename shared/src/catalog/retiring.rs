//! Allowlisted models whose calls will start failing: the model (or the model behind an allowed
//! inference profile) is LEGACY — or any status but ACTIVE — or Bedrock no longer lists it.

use std::fmt;

use serde::Serialize;

use super::document::{Catalog, LifecycleStatus};
use crate::model::{BaseModelId, ModelId};

/// Why an allowed model is on its way out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "camelCase")]
pub enum Retirement {
    /// The foundation model it runs on is not ACTIVE.
    #[serde(rename_all = "camelCase")]
    Lifecycle {
        /// The foundation model.
        model: BaseModelId,
        /// Its status (`LEGACY`, …).
        status: LifecycleStatus,
        /// When it stops working, if Bedrock says.
        #[serde(skip_serializing_if = "Option::is_none")]
        end_of_life_time: Option<String>,
    },
    /// Bedrock no longer lists it (or the model behind it).
    Missing,
}

/// An allowlisted model that is retiring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetiringModel {
    /// The allowlist entry, as configured.
    pub allowed: ModelId,
    /// Why.
    #[serde(flatten)]
    pub retirement: Retirement,
    /// True when this is news: the previous catalog did not say so (or there was none).
    pub newly: bool,
}

impl fmt::Display for RetiringModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.retirement {
            Retirement::Lifecycle { model, status, end_of_life_time } => {
                write!(
                    f,
                    "allowed model `{}` runs on {model}, which Bedrock lists as {status}",
                    self.allowed
                )?;
                if let Some(end) = end_of_life_time {
                    write!(f, " (end of life {end})")?;
                }
                write!(
                    f,
                    ": its calls will start failing; move to a newer model in quarry.toml [models]"
                )
            }
            Retirement::Missing => write!(
                f,
                "allowed model `{}` is no longer listed by Bedrock: its calls will fail; replace it in quarry.toml [models]",
                self.allowed
            ),
        }
    }
}

/// The `allowed` models that `current` says are retiring, each marked `newly` unless
/// `previous` said the same.
pub fn retiring_models(
    allowed: &[ModelId],
    previous: Option<&Catalog>,
    current: &Catalog,
) -> Vec<RetiringModel> {
    let mut found: Vec<RetiringModel> = Vec::new();
    for id in allowed {
        if found.iter().any(|r| r.allowed == *id) {
            continue;
        }
        let before = previous.map(|catalog| state(id, catalog));
        let retirement = match state(id, current) {
            State::Retiring(retirement) => retirement,
            // An opaque ARN that was listed and is gone.
            State::Unlisted if matches!(before, Some(State::Active | State::Retiring(_))) => {
                Retirement::Missing
            }
            State::Active | State::Unlisted => continue,
        };
        let newly = !matches!(&before, Some(State::Retiring(old)) if *old == retirement);
        found.push(RetiringModel { allowed: id.clone(), retirement, newly });
    }
    found
}

/// What a catalog says about one allowed id.
#[derive(Debug, PartialEq)]
enum State {
    Active,
    Retiring(Retirement),
    /// An id the catalog never lists (provisioned, custom, imported models; an application
    /// profile not in the listing): nothing can be said.
    Unlisted,
}

fn state(id: &ModelId, catalog: &Catalog) -> State {
    let base = match catalog.profile(id) {
        Some(profile) => profile.base_model(),
        None if id.inference_profile().is_some() => return State::Retiring(Retirement::Missing),
        None => match id.base_model() {
            Some(base) => Some(base),
            None => return State::Unlisted,
        },
    };
    let Some(base) = base else {
        return State::Active;
    };
    match catalog.model(base) {
        None => State::Retiring(Retirement::Missing),
        Some(model) if model.lifecycle.status.is_retiring() => {
            State::Retiring(Retirement::Lifecycle {
                model: model.id.clone(),
                status: model.lifecycle.status.clone(),
                end_of_life_time: model.lifecycle.end_of_life_time.clone(),
            })
        }
        Some(_) => State::Active,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::document::tests::{catalog, haiku, nova_lite, us_haiku};

    fn id(text: &str) -> ModelId {
        text.parse().expect("a model id")
    }

    /// The allowlist of the repository's quarry.toml.
    fn allowed() -> Vec<ModelId> {
        vec![
            id("us.anthropic.claude-3-5-haiku-20241022-v1:0"),
            id("amazon.nova-lite-v1:0"),
            id("meta.llama3-1-8b-instruct-v1:0"),
        ]
    }

    #[test]
    fn a_legacy_model_behind_an_allowed_profile_and_a_missing_model_are_reported() {
        let found = retiring_models(&allowed(), None, &catalog());
        assert_eq!(found.len(), 2, "{found:#?}");
        assert_eq!(
            found[0],
            RetiringModel {
                allowed: id("us.anthropic.claude-3-5-haiku-20241022-v1:0"),
                retirement: Retirement::Lifecycle {
                    model: "anthropic.claude-3-5-haiku-20241022-v1:0".parse().expect("id"),
                    status: LifecycleStatus::Legacy,
                    end_of_life_time: Some("2026-06-19T00:00:00Z".into()),
                },
                newly: true,
            }
        );
        assert_eq!(
            found[0].to_string(),
            "allowed model `us.anthropic.claude-3-5-haiku-20241022-v1:0` runs on anthropic.claude-3-5-haiku-20241022-v1:0, which Bedrock lists as LEGACY (end of life 2026-06-19T00:00:00Z): its calls will start failing; move to a newer model in quarry.toml [models]"
        );
        assert_eq!(found[1].allowed, id("meta.llama3-1-8b-instruct-v1:0"));
        assert_eq!(found[1].retirement, Retirement::Missing);
        assert_eq!(
            serde_json::to_value(&found[0]).expect("serializes"),
            serde_json::json!({
                "allowed": "us.anthropic.claude-3-5-haiku-20241022-v1:0",
                "reason": "lifecycle",
                "model": "anthropic.claude-3-5-haiku-20241022-v1:0",
                "status": "LEGACY",
                "endOfLifeTime": "2026-06-19T00:00:00Z",
                "newly": true
            })
        );
    }

    #[test]
    fn a_warning_the_previous_catalog_already_gave_is_not_news() {
        let found = retiring_models(&allowed(), Some(&catalog()), &catalog());
        assert_eq!(found.len(), 2);
        assert!(found.iter().all(|r| !r.newly), "{found:#?}");
    }

    #[test]
    fn a_profile_that_disappears_is_missing_even_when_its_model_stays() {
        let mut active_haiku = haiku();
        active_haiku.lifecycle.status = LifecycleStatus::Active;
        let before =
            Catalog::new("us-east-1", vec![active_haiku.clone(), nova_lite()], vec![us_haiku()]);
        let after = Catalog::new("us-east-1", vec![active_haiku, nova_lite()], vec![]);
        let allowed =
            [id("us.anthropic.claude-3-5-haiku-20241022-v1:0"), id("amazon.nova-lite-v1:0")];
        assert!(retiring_models(&allowed, None, &before).is_empty());
        let found = retiring_models(&allowed, Some(&before), &after);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].retirement, Retirement::Missing);
        assert!(found[0].newly);
    }

    #[test]
    fn opaque_arns_are_checked_only_while_listed() {
        let provisioned =
            id("arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123def456");
        assert!(retiring_models(&[provisioned], None, &catalog()).is_empty());
    }
}
