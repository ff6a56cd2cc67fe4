//! The model catalog: which foundation models and inference profiles Bedrock offers in a region,
//! as catalog-sync writes it to S3 and the invoke API reads it.
//!
//! - [`document`]: the catalog types, their stable JSON document and content hash, and the
//!   lookups invoke uses ([`Catalog::knows`], a profile's member regions).
//! - [`normalise`]: ListFoundationModels / ListInferenceProfiles output (aws-sdk-bedrock types)
//!   turned into a [`Catalog`].
//! - [`diff`]: what changed between two catalogs (added, removed, lifecycle changed, updated).
//! - [`retiring`]: allowlisted models that are LEGACY or gone, whose calls will start failing.

pub mod diff;
pub mod document;
pub mod normalise;
pub mod retiring;

pub use diff::{CatalogDiff, LifecycleChange};
pub use document::{
    CATALOG_FORMAT_VERSION, Catalog, CatalogEntry, CatalogError, CatalogModel, CatalogProfile,
    Lifecycle, LifecycleStatus, ProfileMember,
};
pub use normalise::{Normalised, SkippedEntry, normalise};
pub use retiring::{Retirement, RetiringModel, retiring_models};
