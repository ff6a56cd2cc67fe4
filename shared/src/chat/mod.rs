//! Unified chat: request, response and stream types, their validation, and the Converse mapping.

pub mod stream;
pub mod types;

pub use stream::{StreamAccumulator, collect_events};
pub use types::*;
