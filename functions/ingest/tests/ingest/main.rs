//! quarry-ingest end to end over the local stack: the local S3 (with its S3 event notifications on
//! a durable queue), the local Bedrock endpoint (embedding model, switchable faults) and a SQLite
//! vector store, all over real HTTP through the real AWS SDK clients.
//!
//! - `events`: the fixture payloads (AWS's examples, encoded keys, deletes, the test event,
//!   SQS-wrapped events, moto- and MinIO-style records) and the repository's `events/` files.
//! - `pipeline`: put → searchable, overwrite, delete, duplicates, out-of-order deliveries,
//!   documents that cannot be indexed, the deadline.
//! - `throttling`: many documents through the notification queue with 30 % throttling.

mod events;
mod pipeline;
mod support;
mod throttling;
