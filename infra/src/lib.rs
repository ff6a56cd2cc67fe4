//! `quarry-infra`: quarry's stack as typed Rust. It reads `quarry.toml`, derives least-privilege
//! IAM from the configured models (through `quarry::model`), synthesizes a deterministic
//! CloudFormation template, and deploys it (assets upload, change set, progress, outputs).
//!
//! - [`cfn`]: the template model and intrinsic functions; [`resources`]: one struct per
//!   resource type; [`policy`]: IAM statements with template values.
//! - [`stack`]: quarry's stack; [`bootstrap`]: the per-region assets bucket and API Gateway
//!   logging role the stack deploys from.
//! - [`assets`]: the function zips `cargo lambda build` wrote; [`changes`]: change sets and
//!   stack events as text; [`deploy`]: the AWS calls; [`cli`]: the command line.

pub mod assets;
pub mod bootstrap;
pub mod cfn;
pub mod changes;
pub mod cli;
pub mod deploy;
pub mod functions;
pub mod policy;
pub mod resources;
pub mod stack;
