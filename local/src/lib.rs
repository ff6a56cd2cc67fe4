//! quarry-local: the embedded default — a Bedrock-compatible endpoint and the local stack, so quarry
//! runs and is tested on one machine with no AWS account. Everything here is a stand-in for AWS,
//! documented as such; none of it is used by the deployed functions.

pub mod aws_error;
pub mod bedrock;
pub mod catalog;
pub mod faults;
pub mod models;
pub mod net;
pub mod put;
pub mod s3;
pub mod stack;

pub use bedrock::{
    BedrockConfig, BedrockState, CatalogSource, RunningServer, ServeError, app, serve,
};
