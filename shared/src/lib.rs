//! quarry's domain crate: everything the Lambda functions share, with no Lambda types in it.
//!
//! - [`model`]: model ids, inference profiles, ARNs, provider families, IAM resources to invoke.
//! - [`chat`]: the unified chat request/response/stream types and their Converse mapping.
//! - [`adapters`]: native InvokeModel bodies per provider family.

pub mod adapters;
pub mod chat;
pub mod model;
