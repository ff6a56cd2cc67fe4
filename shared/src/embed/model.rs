//! The embedding models quarry supports: which body format each speaks, and its documented limits.
//!
//! Limits come from the AWS Bedrock pages "model-parameters-titan-embed-text" (Titan v1/v2),
//! "model-parameters-embed-v3" and "model-parameters-embed-v4" (Cohere).

use std::fmt;
use std::str::FromStr;

use super::EmbedError;
use crate::model::{Family, ModelId};

/// An embedding model quarry can call through InvokeModel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EmbeddingModel {
    /// Amazon Titan Embeddings G1 - Text (`amazon.titan-embed-text-v1`): 1536 dims, `inputText` only.
    TitanTextV1,
    /// Amazon Titan Text Embeddings V2 (`amazon.titan-embed-text-v2:0`): 256/512/1024 dims.
    TitanTextV2,
    /// Cohere Embed English v3 (`cohere.embed-english-v3`): 1024 dims, ≤ 96 texts per call.
    CohereEnglishV3,
    /// Cohere Embed Multilingual v3 (`cohere.embed-multilingual-v3`): 1024 dims, ≤ 96 texts per call.
    CohereMultilingualV3,
    /// Cohere Embed v4 (`cohere.embed-v4:0`): 256/512/1024/1536 dims, ≤ 96 texts per call.
    CohereV4,
}

impl EmbeddingModel {
    /// Every supported model, in a stable order.
    pub const ALL: [EmbeddingModel; 5] = [
        EmbeddingModel::TitanTextV1,
        EmbeddingModel::TitanTextV2,
        EmbeddingModel::CohereEnglishV3,
        EmbeddingModel::CohereMultilingualV3,
        EmbeddingModel::CohereV4,
    ];

    /// The model's base model id as Bedrock lists it.
    pub fn base_model_id(self) -> &'static str {
        match self {
            EmbeddingModel::TitanTextV1 => "amazon.titan-embed-text-v1",
            EmbeddingModel::TitanTextV2 => "amazon.titan-embed-text-v2:0",
            EmbeddingModel::CohereEnglishV3 => "cohere.embed-english-v3",
            EmbeddingModel::CohereMultilingualV3 => "cohere.embed-multilingual-v3",
            EmbeddingModel::CohereV4 => "cohere.embed-v4:0",
        }
    }

    /// The id without its version suffix; ids that continue with `:` (`amazon.titan-embed-text-v1:2:8k`,
    /// a provisioned-throughput variant) are the same model.
    fn id_stems(self) -> &'static [&'static str] {
        match self {
            EmbeddingModel::TitanTextV1 => {
                &["amazon.titan-embed-text-v1", "amazon.titan-embed-g1-text-02"]
            }
            EmbeddingModel::TitanTextV2 => &["amazon.titan-embed-text-v2"],
            EmbeddingModel::CohereEnglishV3 => &["cohere.embed-english-v3"],
            EmbeddingModel::CohereMultilingualV3 => &["cohere.embed-multilingual-v3"],
            EmbeddingModel::CohereV4 => &["cohere.embed-v4"],
        }
    }

    /// The model behind a base model id, an inference-profile id (`us.cohere.embed-v4:0`) or a
    /// foundation-model / inference-profile ARN.
    pub fn from_model_id(model_id: &str) -> Result<Self, EmbedError> {
        let parsed: Option<ModelId> = model_id.parse().ok();
        let base = parsed.as_ref().and_then(ModelId::base_model).map_or(model_id, |b| b.as_str());
        Self::ALL
            .into_iter()
            .find(|model| {
                model.id_stems().iter().any(|stem| {
                    base.strip_prefix(stem)
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with(':'))
                })
            })
            .ok_or_else(|| EmbedError::UnknownModel { model: model_id.to_string() })
    }

    /// The supported base model ids, comma-separated (for error messages).
    pub fn supported_ids() -> String {
        Self::ALL.map(EmbeddingModel::base_model_id).join(", ")
    }

    /// The provider family (which body format the model speaks).
    pub fn family(self) -> Family {
        match self {
            EmbeddingModel::TitanTextV1 | EmbeddingModel::TitanTextV2 => Family::AmazonTitanEmbed,
            _ => Family::CohereEmbed,
        }
    }

    /// True for the Cohere models (a `texts` array per call); false for Titan (one `inputText`).
    pub fn is_cohere(self) -> bool {
        self.family() == Family::CohereEmbed
    }

    /// The vector length when the request names no dimensions.
    pub fn default_dimension(self) -> u32 {
        match self {
            EmbeddingModel::TitanTextV1 | EmbeddingModel::CohereV4 => 1536,
            _ => 1024,
        }
    }

    /// The vector lengths the model can produce (a single value: the model has a fixed size).
    pub fn supported_dimensions(self) -> &'static [u32] {
        match self {
            EmbeddingModel::TitanTextV1 => &[1536],
            EmbeddingModel::TitanTextV2 => &[256, 512, 1024],
            EmbeddingModel::CohereEnglishV3 | EmbeddingModel::CohereMultilingualV3 => &[1024],
            EmbeddingModel::CohereV4 => &[256, 512, 1024, 1536],
        }
    }

    /// True when the request body can carry a dimensions choice (`dimensions` / `output_dimension`).
    /// Fixed-size models accept a request for their own size and send nothing.
    pub fn has_dimensions_parameter(self) -> bool {
        self.supported_dimensions().len() > 1
    }

    /// The vector length a request for `requested` dimensions gets, or why the model cannot do it.
    pub fn dimension(self, requested: Option<u32>) -> Result<u32, EmbedError> {
        match requested {
            None => Ok(self.default_dimension()),
            Some(dims) if self.supported_dimensions().contains(&dims) => Ok(dims),
            Some(dims) => Err(EmbedError::UnsupportedDimensions {
                model: self,
                requested: dims,
                supported: self.supported_dimensions(),
            }),
        }
    }

    /// True when the body has a `normalize` flag (Titan v2 only; it defaults to true there).
    pub fn supports_normalize(self) -> bool {
        self == EmbeddingModel::TitanTextV2
    }

    /// How many texts one InvokeModel call carries: Titan one `inputText`, Cohere ≤ 96 `texts`.
    pub fn max_texts_per_call(self) -> usize {
        if self.is_cohere() { 96 } else { 1 }
    }

    /// The most characters (Unicode scalar values) one text may have, where the docs set a limit:
    /// Titan v2 50,000; Cohere v3 2,048 (Bedrock rejects longer texts whatever `truncate` says).
    /// Titan v1 (8k tokens) and Cohere v4 (~128k tokens) document token limits only.
    pub fn max_text_chars(self) -> Option<usize> {
        match self {
            EmbeddingModel::TitanTextV2 => Some(50_000),
            EmbeddingModel::CohereEnglishV3 | EmbeddingModel::CohereMultilingualV3 => Some(2_048),
            EmbeddingModel::TitanTextV1 | EmbeddingModel::CohereV4 => None,
        }
    }

    /// The most UTF-8 bytes of text the planner puts in one call (a call alone may exceed it).
    ///
    /// Cohere Embed v4 caps a request at ~128k input tokens. A token never covers less than one
    /// byte, so 120,000 bytes keeps a call under the cap with room for per-text special tokens.
    pub fn max_call_text_bytes(self) -> Option<usize> {
        (self == EmbeddingModel::CohereV4).then_some(120_000)
    }
}

impl fmt::Display for EmbeddingModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.base_model_id())
    }
}

impl FromStr for EmbeddingModel {
    type Err = EmbedError;

    fn from_str(model_id: &str) -> Result<Self, Self::Err> {
        Self::from_model_id(model_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_ids_resolve_to_their_model() {
        for model in EmbeddingModel::ALL {
            assert_eq!(EmbeddingModel::from_model_id(model.base_model_id()), Ok(model));
            assert_eq!(model.base_model_id().parse::<EmbeddingModel>(), Ok(model));
        }
    }

    #[test]
    fn inference_profile_prefixes_resolve_to_the_same_model() {
        for prefix in ["us.", "us-gov.", "eu.", "apac.", "global.", "jp.", "au.", "ca."] {
            let id = format!("{prefix}cohere.embed-v4:0");
            assert_eq!(EmbeddingModel::from_model_id(&id), Ok(EmbeddingModel::CohereV4), "{id}");
        }
        assert_eq!(
            EmbeddingModel::from_model_id("eu.amazon.titan-embed-text-v2:0"),
            Ok(EmbeddingModel::TitanTextV2)
        );
    }

    #[test]
    fn version_and_provisioned_suffixes_resolve() {
        let cases = [
            ("cohere.embed-v4", EmbeddingModel::CohereV4),
            ("amazon.titan-embed-text-v1:2:8k", EmbeddingModel::TitanTextV1),
            ("amazon.titan-embed-g1-text-02", EmbeddingModel::TitanTextV1),
            ("amazon.titan-embed-text-v2:0:8k", EmbeddingModel::TitanTextV2),
            ("cohere.embed-english-v3:0:512", EmbeddingModel::CohereEnglishV3),
            ("cohere.embed-multilingual-v3:0:512", EmbeddingModel::CohereMultilingualV3),
        ];
        for (id, model) in cases {
            assert_eq!(EmbeddingModel::from_model_id(id), Ok(model), "{id}");
        }
    }

    #[test]
    fn unknown_models_are_a_typed_error_listing_the_supported_ones() {
        for id in [
            "anthropic.claude-3-5-sonnet-20240620-v1:0",
            "cohere.command-r-v1:0",
            "amazon.titan-embed-image-v1",
            "amazon.titan-embed-text-v3:0",
            "cohere.embed-english-v3x",
            "xx.cohere.embed-v4:0",
            "",
        ] {
            let err = EmbeddingModel::from_model_id(id).expect_err(id);
            assert_eq!(err, EmbedError::UnknownModel { model: id.to_string() });
            let message = err.to_string();
            for model in EmbeddingModel::ALL {
                assert!(message.contains(model.base_model_id()), "{message}");
            }
        }
    }

    #[test]
    fn families_agree_with_the_model_module() {
        for model in EmbeddingModel::ALL {
            assert_eq!(Family::of_base_model(model.base_model_id()), Some(model.family()));
            assert!(model.family().is_embedding());
        }
    }

    #[test]
    fn dimensions_follow_the_documented_values() {
        use EmbeddingModel::*;
        assert_eq!(TitanTextV1.dimension(None), Ok(1536));
        assert_eq!(TitanTextV1.dimension(Some(1536)), Ok(1536));
        assert!(TitanTextV1.dimension(Some(512)).is_err());
        assert_eq!(TitanTextV2.dimension(None), Ok(1024));
        for dims in [256, 512, 1024] {
            assert_eq!(TitanTextV2.dimension(Some(dims)), Ok(dims));
        }
        for model in [CohereEnglishV3, CohereMultilingualV3] {
            assert_eq!(model.dimension(None), Ok(1024));
            assert!(model.dimension(Some(1536)).is_err());
        }
        assert_eq!(CohereV4.dimension(None), Ok(1536));
        for dims in [256, 512, 1024, 1536] {
            assert_eq!(CohereV4.dimension(Some(dims)), Ok(dims));
        }
        let err = TitanTextV2.dimension(Some(384)).expect_err("384 is not a Titan v2 size");
        assert_eq!(
            err.to_string(),
            "amazon.titan-embed-text-v2:0 cannot produce 384-dimensional embeddings; supported: [256, 512, 1024]"
        );
    }
}
