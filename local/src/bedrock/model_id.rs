//! Model identifiers in runtime paths: which local model answers a base model id, an inference
//! profile id or an ARN, and which native InvokeModel body it speaks.
//!
//! Ids are parsed by [`quarry::model::ModelId`] (base ids, cross-region profile ids, Bedrock ARNs);
//! the base model then decides the body: every chat family of [`quarry::model::Family`] is served by
//! the extractive model, the Titan and Cohere text embedding models by the embedding model.
//!
//! The built-in models have `local.*` ids: `local.extractive-v1` speaks Converse and, natively, the
//! Anthropic Messages body (the most widely used native chat body, so generic InvokeModel clients
//! work against it); `local.embed-v1` speaks the Titan Text Embeddings V2 body. Which real ids exist
//! is the [`ModelDirectory`]'s call; until the catalog plugs in, [`AnyWellFormedId`] accepts every id
//! [`ModelId`] parses. ARNs whose model cannot be known from the id (application inference
//! profiles, provisioned models, custom model deployments, imported models) are not served.

use std::fmt;

use quarry::embed::EmbeddingModel;
use quarry::model::{BaseModelId, Family, ModelId, ModelResource};

use crate::aws_error::AwsError;

/// The built-in extractive text model.
pub const LOCAL_TEXT_MODEL: &str = "local.extractive-v1";
/// The built-in embedding model (Titan Text Embeddings V2 body).
pub const LOCAL_EMBEDDING_MODEL: &str = "local.embed-v1";

/// Bedrock's answer to an id it cannot resolve (a ValidationException).
pub const INVALID_MODEL_ID: &str = "The provided model identifier is invalid.";

/// Which model ids the endpoint answers for, beyond its `local.*` models.
///
/// The catalog implements this (a base model id or a system inference profile id it lists); the
/// app falls back to [`AnyWellFormedId`] without one.
pub trait ModelDirectory: Send + Sync + fmt::Debug {
    /// Whether `id` — a base model id (`anthropic.claude-3-haiku-20240307-v1:0`) or an inference
    /// profile id (`us.anthropic.claude-3-haiku-20240307-v1:0`) — is a model Bedrock offers.
    fn knows(&self, id: &str) -> bool;
}

/// Accepts every id [`ModelId`] parses (`provider.name[:version]`, profile ids).
#[derive(Debug, Clone, Copy, Default)]
pub struct AnyWellFormedId;

impl ModelDirectory for AnyWellFormedId {
    fn knows(&self, id: &str) -> bool {
        id.parse::<ModelId>().is_ok()
    }
}

/// Which local model serves a request, and through which native body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalModel {
    /// The extractive model behind a chat family's native body (and Converse).
    Chat(Family),
    /// The extractive model through Converse only: a text model whose native body quarry has no
    /// adapter for (`meta.llama2-…`, `writer.palmyra-…`, …).
    ConverseOnly,
    /// The embedding model behind a Titan Text Embeddings V2 body.
    TitanEmbedV2,
    /// The embedding model behind a Titan Embeddings G1 - Text body.
    TitanEmbedG1,
    /// The embedding model behind a Cohere Embed v3 / v4 body.
    CohereEmbed(EmbeddingModel),
    /// An embedding model whose body the endpoint does not speak (Titan multimodal, Nova
    /// multimodal embeddings, …).
    OtherEmbedding,
}

impl LocalModel {
    /// Whether Converse and ConverseStream answer for this model (text models only).
    pub fn converses(self) -> bool {
        matches!(self, LocalModel::Chat(_) | LocalModel::ConverseOnly)
    }

    /// The local model of a base model id.
    pub fn of_base_model(base: &BaseModelId) -> Self {
        match EmbeddingModel::from_model_id(base.as_str()) {
            Ok(EmbeddingModel::TitanTextV1) => return LocalModel::TitanEmbedG1,
            Ok(EmbeddingModel::TitanTextV2) => return LocalModel::TitanEmbedV2,
            Ok(cohere) => return LocalModel::CohereEmbed(cohere),
            Err(_) => {}
        }
        match Family::of_base_model(base.as_str()) {
            Some(family) if family.is_embedding() => LocalModel::OtherEmbedding,
            Some(family) => LocalModel::Chat(family),
            None if base.name().contains("embed") => LocalModel::OtherEmbedding,
            None => LocalModel::ConverseOnly,
        }
    }
}

/// A resolved model identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRef {
    /// The id as the caller sent it (percent-decoded).
    pub requested: String,
    /// The base model id (profile prefix and ARN removed).
    pub base_id: String,
    pub model: LocalModel,
}

impl ModelRef {
    /// Resolves `requested` (a model id, profile id or ARN) against `directory`.
    pub fn resolve(requested: &str, directory: &dyn ModelDirectory) -> Result<Self, AwsError> {
        let invalid = || AwsError::validation(INVALID_MODEL_ID);
        let local = |model| {
            Ok(ModelRef { requested: requested.to_owned(), base_id: requested.to_owned(), model })
        };
        match requested {
            LOCAL_TEXT_MODEL => return local(LocalModel::Chat(Family::Anthropic)),
            LOCAL_EMBEDDING_MODEL => return local(LocalModel::TitanEmbedV2),
            _ if requested.starts_with("local.") => return Err(invalid()),
            _ => {}
        }
        let id: ModelId = requested.parse().map_err(|_| invalid())?;
        let base = base_model_of(&id).ok_or_else(invalid)?;
        // The directory lists base ids and system profile ids.
        let listed = match id.inference_profile() {
            Some(profile) => profile.to_string(),
            None => base.as_str().to_owned(),
        };
        if !directory.knows(&listed) {
            return Err(invalid());
        }
        Ok(ModelRef {
            requested: requested.to_owned(),
            base_id: base.as_str().to_owned(),
            model: LocalModel::of_base_model(base),
        })
    }
}

/// The base model an id invokes: its own, its profile's, or a custom model's base.
fn base_model_of(id: &ModelId) -> Option<&BaseModelId> {
    id.base_model().or_else(|| match id.arn()?.resource() {
        ModelResource::CustomModel { base, .. } => Some(base),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(id: &str) -> Result<ModelRef, AwsError> {
        ModelRef::resolve(id, &AnyWellFormedId)
    }

    #[test]
    fn local_ids_name_the_built_in_models() {
        let text = resolve(LOCAL_TEXT_MODEL).expect("known");
        assert_eq!(text.model, LocalModel::Chat(Family::Anthropic));
        assert!(text.model.converses());
        assert_eq!(resolve(LOCAL_EMBEDDING_MODEL).expect("known").model, LocalModel::TitanEmbedV2);
        assert_eq!(resolve("local.gpt-9"), Err(AwsError::validation(INVALID_MODEL_ID)));
    }

    #[test]
    fn bedrock_chat_ids_profiles_and_arns_speak_their_familys_body() {
        for (id, family) in [
            ("anthropic.claude-3-haiku-20240307-v1:0", Family::Anthropic),
            ("us.anthropic.claude-3-5-sonnet-20241022-v2:0", Family::Anthropic),
            (
                "arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-8b-instruct-v1:0",
                Family::Meta,
            ),
            (
                "arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu.amazon.nova-lite-v1:0",
                Family::AmazonNova,
            ),
            ("mistral.mistral-large-2407-v1:0", Family::Mistral),
            ("cohere.command-r-plus-v1:0", Family::CohereCommand),
            ("ai21.jamba-1-5-mini-v1:0", Family::Ai21),
            ("us.deepseek.r1-v1:0", Family::DeepSeek),
            ("openai.gpt-oss-20b-1:0", Family::OpenAi),
            ("amazon.titan-text-express-v1", Family::AmazonTitanText),
        ] {
            let model = resolve(id).expect(id);
            assert_eq!(model.model, LocalModel::Chat(family), "{id}");
            assert_eq!(model.requested, id);
        }
        assert_eq!(
            resolve("us.anthropic.claude-3-5-sonnet-20241022-v2:0").expect("profile").base_id,
            "anthropic.claude-3-5-sonnet-20241022-v2:0"
        );
        let custom = resolve(
            "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.titan-text-express-v1:0:8k/abcdefghij12",
        )
        .expect("custom model");
        assert_eq!(custom.model, LocalModel::Chat(Family::AmazonTitanText));
    }

    #[test]
    fn text_models_without_a_native_adapter_still_converse() {
        let model = resolve("writer.palmyra-x5-v1:0").expect("well formed").model;
        assert_eq!(model, LocalModel::ConverseOnly);
        assert!(model.converses());
    }

    #[test]
    fn embedding_ids_pick_their_body_format() {
        assert_eq!(
            resolve("amazon.titan-embed-text-v2:0").expect("v2").model,
            LocalModel::TitanEmbedV2
        );
        assert_eq!(
            resolve("amazon.titan-embed-text-v1").expect("g1").model,
            LocalModel::TitanEmbedG1
        );
        assert_eq!(
            resolve("cohere.embed-english-v3").expect("cohere").model,
            LocalModel::CohereEmbed(EmbeddingModel::CohereEnglishV3)
        );
        assert_eq!(
            resolve("us.cohere.embed-v4:0").expect("cohere v4 profile").model,
            LocalModel::CohereEmbed(EmbeddingModel::CohereV4)
        );
        let image = resolve("amazon.titan-embed-image-v1").expect("multimodal").model;
        assert_eq!(image, LocalModel::OtherEmbedding);
        assert!(!image.converses());
    }

    #[test]
    fn malformed_and_opaque_ids_are_invalid() {
        for id in [
            "",
            "gpt-4",
            "Anthropic.Claude",
            "anthropic.",
            ".claude",
            "arn:aws:s3:::bucket/key",
            "a..b",
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123",
            "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123",
        ] {
            assert_eq!(resolve(id), Err(AwsError::validation(INVALID_MODEL_ID)), "{id:?}");
        }
    }

    #[test]
    fn a_directory_decides_which_real_ids_exist() {
        #[derive(Debug)]
        struct OnlyHaiku;
        impl ModelDirectory for OnlyHaiku {
            fn knows(&self, id: &str) -> bool {
                id == "anthropic.claude-3-haiku-20240307-v1:0"
            }
        }
        assert!(ModelRef::resolve("anthropic.claude-3-haiku-20240307-v1:0", &OnlyHaiku).is_ok());
        assert!(ModelRef::resolve("anthropic.claude-v2", &OnlyHaiku).is_err());
        assert!(
            ModelRef::resolve("us.anthropic.claude-3-haiku-20240307-v1:0", &OnlyHaiku).is_err(),
            "the directory is asked about the profile id, not its base model"
        );
        assert!(ModelRef::resolve(LOCAL_TEXT_MODEL, &OnlyHaiku).is_ok());
    }
}
