//! Unified chat: request, response and stream types, their validation, and the Converse mapping.

pub mod converse;
pub mod stream;
pub mod types;
pub mod validate;

pub use converse::{ConverseError, ConverseParts, ConverseStreamDecoder, TopKField};
pub use stream::{StreamAccumulator, collect_events};
pub use types::*;
pub use validate::{ChatError, ValidationRules};
