//! Model identity: ids, inference profiles, ARNs, provider families and the IAM resources to invoke them.

pub mod allowlist;
pub mod arn;
pub mod family;
pub mod geography;
pub mod iam;
pub mod id;
pub mod identifier;

pub use allowlist::{AllowedModel, Allowlist, ResolveError, known_without_catalog};
pub use arn::{GlobalFoundationModelArn, ModelArn, ModelResource, Partition};
pub use family::{Family, FamilyError};
pub use geography::{Geography, Routing};
pub use iam::{
    Condition, Effect, INVOKE_ACTIONS, InvokeGrant, InvokeGrantError, PolicyDocument,
    PolicyStatement, invoke_resources,
};
pub use id::{BaseModelId, InferenceProfileId, ModelId, ModelIdError};
pub use identifier::{is_foundation_model_identifier, is_inference_profile_identifier};
