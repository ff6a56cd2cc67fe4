//! The built-in local models: deterministic stand-ins for a chat model and an embedding model.

pub mod embedding;
pub mod extractive;
