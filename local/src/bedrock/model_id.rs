//! Model identifiers in runtime paths: which local model answers a base model id, an inference
//! profile id or an ARN.
//!
//! The built-in models have `local.*` ids. Real Bedrock ids are served too, so unmodified
//! applications run locally: chat models by the extractive model, Titan text embedding models by the
//! embedding model. Which real ids exist is the [`ModelDirectory`]'s call; until the catalog plugs
//! in, [`AnyWellFormedId`] accepts every id shaped like `provider.name`.

use std::fmt;

use crate::aws_error::AwsError;

/// The built-in extractive text model.
pub const LOCAL_TEXT_MODEL: &str = "local.extractive-v1";
/// The built-in embedding model (Titan Text Embeddings V2 body).
pub const LOCAL_EMBEDDING_MODEL: &str = "local.embed-v1";

/// Bedrock's answer to an id it cannot resolve (a ValidationException).
pub const INVALID_MODEL_ID: &str = "The provided model identifier is invalid.";

/// Geographic prefixes of cross-region inference profile ids (`us.anthropic…`).
const PROFILE_PREFIXES: &[&str] = &["us", "eu", "apac", "us-gov", "global", "jp", "au", "ca"];

/// Which model ids the endpoint answers for, beyond its `local.*` models.
///
/// The catalog implements this (a base model id or a system inference profile id it lists); the
/// app falls back to [`AnyWellFormedId`] without one.
pub trait ModelDirectory: Send + Sync + fmt::Debug {
    /// Whether `id` — a base model id (`anthropic.claude-3-haiku-20240307-v1:0`) or an inference
    /// profile id (`us.anthropic.claude-3-haiku-20240307-v1:0`) — is a model Bedrock offers.
    fn knows(&self, id: &str) -> bool;
}

/// Accepts every id shaped like `provider.name[...]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnyWellFormedId;

impl ModelDirectory for AnyWellFormedId {
    fn knows(&self, id: &str) -> bool {
        is_well_formed(id)
    }
}

/// Which local model serves a request, and through which body format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalModel {
    /// The extractive text model (Converse, and later the chat families' native bodies).
    Text,
    /// The embedding model behind a Titan Text Embeddings V2 body.
    TitanEmbedV2,
    /// The embedding model behind a Titan Embeddings G1 - Text body.
    TitanEmbedG1,
    /// An embedding model whose body the endpoint does not speak (Cohere, Titan multimodal, …).
    OtherEmbedding,
}

/// A resolved model identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRef {
    /// The id as the caller sent it (percent-decoded).
    pub requested: String,
    /// The base model id (profile prefix and ARN removed), or the profile id of an application
    /// inference profile.
    pub base_id: String,
    pub model: LocalModel,
}

impl ModelRef {
    /// Resolves `requested` (a model id, profile id or ARN) against `directory`.
    pub fn resolve(requested: &str, directory: &dyn ModelDirectory) -> Result<Self, AwsError> {
        let invalid = || AwsError::validation(INVALID_MODEL_ID);
        let id = match requested.strip_prefix("arn:") {
            Some(_) => id_of_arn(requested).ok_or_else(invalid)?,
            None => requested,
        };
        let model = match id {
            LOCAL_TEXT_MODEL => Some(LocalModel::Text),
            LOCAL_EMBEDDING_MODEL => Some(LocalModel::TitanEmbedV2),
            _ if id.starts_with("local.") => None,
            _ if directory.knows(id) => Some(kind_of(base_id(id))),
            _ => None,
        };
        let model = model.ok_or_else(invalid)?;
        Ok(ModelRef { requested: requested.to_owned(), base_id: base_id(id).to_owned(), model })
    }
}

/// `provider.name[...]`: lower-case segments of letters, digits, `-`, `_`, `:` separated by dots.
fn is_well_formed(id: &str) -> bool {
    let mut segments = id.split('.');
    let provider_ok = segments.next().is_some_and(|p| !p.is_empty());
    let rest: Vec<&str> = segments.collect();
    provider_ok
        && !rest.is_empty()
        && id.split('.').all(|segment| {
            !segment.is_empty()
                && segment.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | ':')
                })
        })
}

/// The resource id at the end of a Bedrock ARN:
/// `arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0` → the model id;
/// `…:inference-profile/us.anthropic…` → the profile id; application inference profiles, custom and
/// provisioned models → their id.
fn id_of_arn(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [_, partition, service, _region, _account, resource] = parts[..] else { return None };
    if !partition.starts_with("aws") || service != "bedrock" {
        return None;
    }
    let (kind, id) = resource.split_once('/')?;
    let known_kind = matches!(
        kind,
        "foundation-model"
            | "inference-profile"
            | "application-inference-profile"
            | "custom-model"
            | "provisioned-model"
            | "imported-model"
            | "default-prompt-router"
            | "prompt-router"
    );
    (known_kind && !id.is_empty()).then_some(id)
}

/// A cross-region profile id without its geographic prefix.
fn base_id(id: &str) -> &str {
    match id.split_once('.') {
        Some((prefix, rest)) if PROFILE_PREFIXES.contains(&prefix) && rest.contains('.') => rest,
        _ => id,
    }
}

fn kind_of(base_id: &str) -> LocalModel {
    if base_id.starts_with("amazon.titan-embed-text-v2") {
        LocalModel::TitanEmbedV2
    } else if base_id.starts_with("amazon.titan-embed-text-v1")
        || base_id.starts_with("amazon.titan-embed-g1-text")
    {
        LocalModel::TitanEmbedG1
    } else if base_id.contains("embed") {
        LocalModel::OtherEmbedding
    } else {
        LocalModel::Text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(id: &str) -> Result<ModelRef, AwsError> {
        ModelRef::resolve(id, &AnyWellFormedId)
    }

    #[test]
    fn local_ids_name_the_built_in_models() {
        assert_eq!(resolve(LOCAL_TEXT_MODEL).expect("known").model, LocalModel::Text);
        assert_eq!(resolve(LOCAL_EMBEDDING_MODEL).expect("known").model, LocalModel::TitanEmbedV2);
        assert_eq!(resolve("local.gpt-9"), Err(AwsError::validation(INVALID_MODEL_ID)));
    }

    #[test]
    fn bedrock_chat_ids_profiles_and_arns_are_served_by_the_text_model() {
        for id in [
            "anthropic.claude-3-haiku-20240307-v1:0",
            "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
            "arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-8b-instruct-v1:0",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu.amazon.nova-lite-v1:0",
        ] {
            let model = resolve(id).expect(id);
            assert_eq!(model.model, LocalModel::Text, "{id}");
            assert_eq!(model.requested, id);
        }
        assert_eq!(
            resolve("us.anthropic.claude-3-5-sonnet-20241022-v2:0").expect("profile").base_id,
            "anthropic.claude-3-5-sonnet-20241022-v2:0"
        );
    }

    #[test]
    fn titan_embedding_ids_pick_their_body_format() {
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
            LocalModel::OtherEmbedding
        );
    }

    #[test]
    fn malformed_ids_are_invalid() {
        for id in [
            "",
            "gpt-4",
            "Anthropic.Claude",
            "anthropic.",
            ".claude",
            "arn:aws:s3:::bucket/key",
            "a..b",
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
        assert!(ModelRef::resolve(LOCAL_TEXT_MODEL, &OnlyHaiku).is_ok());
    }
}
