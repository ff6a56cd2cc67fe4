//! Model identity: ids, inference profiles, ARNs, provider families and the IAM resources to invoke them.

pub mod family;

pub use family::Family;
