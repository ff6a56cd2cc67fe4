//! Models list (`GET /v1/models`): `{object: "list", data: [{id, object: "model", created,
//! owned_by}]}` as the OpenAI API reference defines it, plus quarry's optional extras (display name,
//! provider family, regions, lifecycle), left out of the JSON when unknown.

use serde::{Deserialize, Serialize};

use crate::model::Family;

/// The `GET /v1/models` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelList {
    /// Always `list`.
    pub object: String,
    pub data: Vec<Model>,
}

impl ModelList {
    /// A list of `models`, in the order given.
    pub fn new(models: Vec<Model>) -> Self {
        ModelList { object: "list".to_owned(), data: models }
    }
}

impl FromIterator<Model> for ModelList {
    fn from_iter<I: IntoIterator<Item = Model>>(models: I) -> Self {
        ModelList::new(models.into_iter().collect())
    }
}

/// One model a client may name in `model`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Model {
    /// What clients pass as `model` (a Bedrock model id, inference profile id or quarry alias).
    pub id: String,
    /// Always `model`.
    pub object: String,
    /// Unix seconds; quarry uses the time the model entered its catalog.
    pub created: u64,
    /// The provider (`anthropic`, `amazon`, …).
    pub owned_by: String,
    /// quarry: the provider's display name of the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// quarry: the native request format family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<Family>,
    /// quarry: the regions the model can run in (for a cross-region profile, every destination).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    /// quarry: Bedrock's lifecycle status (`ACTIVE`, `LEGACY`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<String>,
}

impl Model {
    /// A model entry with no quarry extras.
    pub fn new(id: impl Into<String>, created: u64, owned_by: impl Into<String>) -> Self {
        Model {
            id: id.into(),
            object: "model".to_owned(),
            created,
            owned_by: owned_by.into(),
            name: None,
            family: None,
            regions: Vec::new(),
            lifecycle: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The "List models" response example of the OpenAI API reference
    /// (https://platform.openai.com/docs/api-reference/models/list).
    #[test]
    fn a_plain_list_is_exactly_openais_shape() {
        let list: ModelList = [
            Model::new("model-id-0", 1686935002, "organization-owner"),
            Model::new("model-id-1", 1686935002, "organization-owner"),
            Model::new("model-id-2", 1686935002, "openai"),
        ]
        .into_iter()
        .collect();
        let expected = json!({
          "object": "list",
          "data": [
            {"id": "model-id-0", "object": "model", "created": 1686935002, "owned_by": "organization-owner"},
            {"id": "model-id-1", "object": "model", "created": 1686935002, "owned_by": "organization-owner"},
            {"id": "model-id-2", "object": "model", "created": 1686935002, "owned_by": "openai"}
          ]
        });
        assert_eq!(serde_json::to_value(&list).expect("serializable"), expected);
        let parsed: ModelList = serde_json::from_value(expected).expect("OpenAI's example parses");
        assert_eq!(parsed, list);
    }

    #[test]
    fn quarry_extras_appear_only_when_known() {
        let mut model =
            Model::new("us.anthropic.claude-3-5-haiku-20241022-v1:0", 1_730_000_000, "anthropic");
        model.name = Some("Claude 3.5 Haiku".into());
        model.family = Some(Family::Anthropic);
        model.regions = vec!["us-east-1".into(), "us-west-2".into()];
        model.lifecycle = Some("ACTIVE".into());
        assert_eq!(
            serde_json::to_value(&model).expect("serializable"),
            json!({
                "id": "us.anthropic.claude-3-5-haiku-20241022-v1:0",
                "object": "model",
                "created": 1_730_000_000,
                "owned_by": "anthropic",
                "name": "Claude 3.5 Haiku",
                "family": "anthropic",
                "regions": ["us-east-1", "us-west-2"],
                "lifecycle": "ACTIVE"
            })
        );
    }
}
