//! `GET /v1/models`: the models callers may use — the allowed chat models, their aliases and the
//! embedding model — in OpenAI's list shape with quarry's extras (family, regions).

use axum::extract::State;
use quarry::model::{ModelId, Routing};
use quarry::openai::{Model, ModelList};

use crate::state::AppState;

pub async fn models(State(state): State<AppState>) -> axum::Json<ModelList> {
    let settings = state.settings();
    // The region the client calls: where cross-region profiles are routed from.
    let region = state.bedrock().config().region().map(|r| r.as_ref().to_owned());
    let region = region.as_deref();
    let chat = settings.models.allowed.iter().map(|id| entry(id, id.to_string(), region));
    let aliases = settings.models.aliases.iter().map(|(alias, id)| {
        let mut model = entry(id, alias.clone(), region);
        model.name = Some(format!("alias of {id}"));
        model
    });
    let embedding = std::iter::once(entry(
        &settings.embedding.model_id,
        settings.embedding.model_id.to_string(),
        region,
    ));
    axum::Json(chat.chain(aliases).chain(embedding).collect())
}

/// The entry of `id` listed as `name_in_list`, called from `region`.
fn entry(id: &ModelId, name_in_list: String, region: Option<&str>) -> Model {
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
    model
}
