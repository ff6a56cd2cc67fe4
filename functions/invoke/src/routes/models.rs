//! `GET /v1/models`: the models callers may use — the allowed chat models, their aliases and the
//! embedding model — in OpenAI's list shape with quarry's extras (family, regions; with a loaded
//! model catalog also the display name, lifecycle, launch time and an inference profile's member
//! regions).

use axum::extract::State;
use quarry::catalog::Catalog;
use quarry::model::{ModelId, Routing};
use quarry::openai::{Model, ModelList};

use crate::state::AppState;

pub async fn models(State(state): State<AppState>) -> axum::Json<ModelList> {
    let settings = state.settings();
    let catalog = state.catalog().current();
    let catalog = catalog.as_deref();
    // The region the client calls: where cross-region profiles are routed from.
    let region = state.bedrock().config().region().map(|r| r.as_ref().to_owned());
    let region = region.as_deref();
    let chat = settings.models.allowed.iter().map(|id| entry(id, id.to_string(), region, catalog));
    let aliases = settings.models.aliases.iter().map(|(alias, id)| {
        let mut model = entry(id, alias.clone(), region, catalog);
        model.name = Some(format!("alias of {id}"));
        model
    });
    let embedding = std::iter::once(entry(
        &settings.embedding.model_id,
        settings.embedding.model_id.to_string(),
        region,
        catalog,
    ));
    axum::Json(chat.chain(aliases).chain(embedding).collect())
}

/// The entry of `id` listed as `name_in_list`, called from `region`, with what `catalog` says.
fn entry(
    id: &ModelId,
    name_in_list: String,
    region: Option<&str>,
    catalog: Option<&Catalog>,
) -> Model {
    let owned_by = id.base_model().map_or("bedrock", |base| base.provider()).to_owned();
    let mut model = Model::new(name_in_list, 0, owned_by);
    model.family = id.family().ok();
    // A cross-region profile runs in its geography's destination regions.
    if let Some(geography) = id.geography()
        && let Some(region) = id.region().or(region)
        && let Some(Routing::Regions(regions)) = geography.routing_from(region)
    {
        model.regions = regions.iter().map(|r| (*r).to_owned()).collect();
    }
    if let Some(listed) = catalog.and_then(|catalog| catalog.entry(id)) {
        model.name = Some(listed.name.to_owned());
        model.lifecycle = listed.lifecycle.map(|l| l.status.to_string());
        model.created = listed.launched.unwrap_or(model.created);
        // The profile's own member regions; a global profile keeps "any region" (none listed).
        if !listed.regions.is_empty() {
            model.regions = listed.regions;
        }
    }
    model
}

#[cfg(test)]
mod tests {
    use quarry::catalog::{
        CatalogModel, CatalogProfile, Lifecycle, LifecycleStatus, ProfileMember,
    };

    use super::*;

    fn id(text: &str) -> ModelId {
        text.parse().expect("a model id")
    }

    /// Claude 3.5 Haiku and its US profile as ListInferenceProfiles lists it from us-east-2 (a
    /// captured response, local/tests/fixtures/catalog/list_inference_profiles_us_east_2.json),
    /// with the model LEGACY as ListFoundationModels reports it (Bedrock User Guide,
    /// "Model lifecycle").
    fn catalog() -> Catalog {
        let haiku = CatalogModel {
            id: "anthropic.claude-3-5-haiku-20241022-v1:0".parse().expect("id"),
            provider: "Anthropic".into(),
            name: "Claude 3.5 Haiku".into(),
            input_modalities: vec!["TEXT".into()],
            output_modalities: vec!["TEXT".into()],
            streaming: true,
            inference_types: vec!["INFERENCE_PROFILE".into()],
            lifecycle: Lifecycle {
                status: LifecycleStatus::Legacy,
                start_of_life_time: Some("2024-11-04T00:00:00Z".into()),
                legacy_time: None,
                end_of_life_time: Some("2026-06-19T00:00:00Z".into()),
            },
        };
        let member = |region: &str| ProfileMember {
            arn: format!(
                "arn:aws:bedrock:{region}::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0"
            ),
            region: Some(region.into()),
            model: haiku.id.clone(),
        };
        let profile = CatalogProfile {
            id: id("us.anthropic.claude-3-5-haiku-20241022-v1:0"),
            arn: "arn:aws:bedrock:us-east-2:000000000000:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0".into(),
            name: "US Anthropic Claude 3.5 Haiku".into(),
            profile_type: "SYSTEM_DEFINED".into(),
            status: "ACTIVE".into(),
            models: vec![member("us-west-2"), member("us-east-1"), member("us-east-2")],
        };
        Catalog::new("us-east-2", vec![haiku], vec![profile])
    }

    #[test]
    fn an_allowlisted_profile_shows_its_member_regions_name_and_lifecycle() {
        let catalog = catalog();
        let profile = id("us.anthropic.claude-3-5-haiku-20241022-v1:0");
        let model = entry(&profile, profile.to_string(), Some("us-east-2"), Some(&catalog));
        assert_eq!(model.name.as_deref(), Some("US Anthropic Claude 3.5 Haiku"));
        assert_eq!(model.lifecycle.as_deref(), Some("LEGACY"));
        assert_eq!(model.regions, ["us-east-1", "us-east-2", "us-west-2"]);
        assert_eq!(model.created, 1_730_678_400, "launched 2024-11-04");
        assert_eq!(model.owned_by, "anthropic");

        let base = id("anthropic.claude-3-5-haiku-20241022-v1:0");
        let model = entry(&base, base.to_string(), Some("us-east-2"), Some(&catalog));
        assert_eq!(model.name.as_deref(), Some("Claude 3.5 Haiku"));
        assert_eq!(model.regions, ["us-east-2"], "a base model runs in the region called");
    }

    #[test]
    fn without_the_catalog_or_outside_it_entries_have_only_what_the_id_says() {
        let profile = id("us.anthropic.claude-3-5-haiku-20241022-v1:0");
        let plain = entry(&profile, profile.to_string(), Some("us-east-1"), None);
        assert_eq!((plain.name, plain.lifecycle, plain.created), (None, None, 0));
        assert!(plain.regions.contains(&"us-west-2".to_owned()), "{:?}", plain.regions);

        let unlisted = id("amazon.nova-lite-v1:0");
        let model = entry(&unlisted, unlisted.to_string(), Some("us-east-1"), Some(&catalog()));
        assert_eq!((model.name, model.lifecycle), (None, None));
    }
}
