//! What changed between the stored catalog and a new listing: models and profiles added and
//! removed, models whose lifecycle status changed, and entries whose other details changed.

use std::collections::BTreeMap;

use serde::Serialize;

use super::document::{Catalog, CatalogModel, CatalogProfile, LifecycleStatus};
use crate::model::BaseModelId;

/// The changes from one catalog to the next; ids are sorted. Empty when the content is equal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogDiff {
    /// Models Bedrock lists now and did not before.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub models_added: Vec<String>,
    /// Models Bedrock no longer lists.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub models_removed: Vec<String>,
    /// Models whose lifecycle status changed (e.g. ACTIVE → LEGACY).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lifecycle_changed: Vec<LifecycleChange>,
    /// Models listed before and now whose other details changed (name, modalities, dates, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub models_updated: Vec<String>,
    /// Inference profiles listed now and not before.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profiles_added: Vec<String>,
    /// Inference profiles no longer listed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profiles_removed: Vec<String>,
    /// Inference profiles whose members, regions or name changed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profiles_updated: Vec<String>,
}

/// A model whose lifecycle status changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LifecycleChange {
    pub model: BaseModelId,
    pub from: LifecycleStatus,
    pub to: LifecycleStatus,
}

impl CatalogDiff {
    /// The changes from `old` (none: everything is added) to `new`.
    pub fn between(old: Option<&Catalog>, new: &Catalog) -> Self {
        let mut diff = CatalogDiff::default();
        let old_models = by_id(old.map_or(&[][..], |c| &c.models), |m| m.id.to_string());
        let new_models = by_id(&new.models, |m| m.id.to_string());
        for (id, model) in &new_models {
            match old_models.get(id) {
                None => diff.models_added.push(id.clone()),
                Some(before) => diff.compare_models(before, model),
            }
        }
        diff.models_removed =
            old_models.keys().filter(|id| !new_models.contains_key(*id)).cloned().collect();

        let old_profiles = by_id(old.map_or(&[][..], |c| &c.profiles), |p| p.id.to_string());
        let new_profiles = by_id(&new.profiles, |p| p.id.to_string());
        for (id, profile) in &new_profiles {
            match old_profiles.get(id) {
                None => diff.profiles_added.push(id.clone()),
                Some(before) if !same_profile(before, profile) => {
                    diff.profiles_updated.push(id.clone());
                }
                Some(_) => {}
            }
        }
        diff.profiles_removed =
            old_profiles.keys().filter(|id| !new_profiles.contains_key(*id)).cloned().collect();
        diff
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        *self == CatalogDiff::default()
    }

    fn compare_models(&mut self, before: &CatalogModel, after: &CatalogModel) {
        if before.lifecycle.status != after.lifecycle.status {
            self.lifecycle_changed.push(LifecycleChange {
                model: after.id.clone(),
                from: before.lifecycle.status.clone(),
                to: after.lifecycle.status.clone(),
            });
        } else if before != after {
            self.models_updated.push(after.id.to_string());
        }
    }
}

fn by_id<T>(entries: &[T], id: impl Fn(&T) -> String) -> BTreeMap<String, &T> {
    entries.iter().map(|entry| (id(entry), entry)).collect()
}

/// Equal ignoring the order of members (catalogs are canonical, but a diff may be given any).
fn same_profile(a: &CatalogProfile, b: &CatalogProfile) -> bool {
    let mut a = a.clone();
    let mut b = b.clone();
    a.models.sort_unstable();
    b.models.sort_unstable();
    a == b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::document::tests::{catalog, global_sonnet, haiku, nova_lite, us_haiku};

    #[test]
    fn the_same_catalog_has_no_changes() {
        let diff = CatalogDiff::between(Some(&catalog()), &catalog());
        assert!(diff.is_empty(), "{diff:?}");
        assert_eq!(serde_json::to_value(&diff).expect("serializes"), serde_json::json!({}));
    }

    #[test]
    fn a_first_catalog_adds_everything() {
        let diff = CatalogDiff::between(None, &catalog());
        assert_eq!(
            diff.models_added,
            ["amazon.nova-lite-v1:0", "anthropic.claude-3-5-haiku-20241022-v1:0"]
        );
        assert_eq!(
            diff.profiles_added,
            [
                "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
                "us.anthropic.claude-3-5-haiku-20241022-v1:0"
            ]
        );
        assert!(diff.models_removed.is_empty() && diff.lifecycle_changed.is_empty());
    }

    #[test]
    fn additions_removals_lifecycle_and_detail_changes_are_told_apart() {
        let old = catalog();
        let mut renamed = nova_lite();
        renamed.name = "Amazon Nova Lite".into();
        let mut active_haiku = haiku();
        active_haiku.lifecycle.status = LifecycleStatus::Active;
        let mut fewer_regions = us_haiku();
        fewer_regions.models.pop();
        let old = Catalog::new(&old.region, vec![active_haiku, nova_lite()], old.profiles);
        let new = Catalog::new("us-east-1", vec![haiku(), renamed], vec![fewer_regions]);

        let diff = CatalogDiff::between(Some(&old), &new);
        assert_eq!(
            diff.lifecycle_changed,
            [LifecycleChange {
                model: "anthropic.claude-3-5-haiku-20241022-v1:0".parse().expect("id"),
                from: LifecycleStatus::Active,
                to: LifecycleStatus::Legacy,
            }]
        );
        assert_eq!(diff.models_updated, ["amazon.nova-lite-v1:0"]);
        assert_eq!(diff.profiles_removed, [global_sonnet().id.to_string()]);
        assert_eq!(diff.profiles_updated, ["us.anthropic.claude-3-5-haiku-20241022-v1:0"]);
        assert!(diff.models_added.is_empty() && diff.models_removed.is_empty());
        assert_eq!(
            serde_json::to_value(&diff).expect("serializes")["lifecycleChanged"],
            serde_json::json!([{
                "model": "anthropic.claude-3-5-haiku-20241022-v1:0",
                "from": "ACTIVE",
                "to": "LEGACY"
            }])
        );

        let back = CatalogDiff::between(Some(&new), &old);
        assert_eq!(back.profiles_added, [global_sonnet().id.to_string()]);
    }
}
