//! quarry's domain crate: everything the Lambda functions share, with no Lambda types in it.
//!
//! - [`model`]: model ids, inference profiles, ARNs, provider families, IAM resources to invoke.
//! - [`chat`]: the unified chat request/response/stream types and their Converse mapping.
//! - [`adapters`]: native InvokeModel bodies per provider family.
//! - [`embed`]: embedding bodies per provider (Titan, Cohere) and the batching planner.
//! - [`prompt`]: prompt templates, the RAG prompt with numbered sources, citations, token budgets.
//! - [`config`]: `quarry.toml` (schema, validation) and the settings each function gets from it.
//! - [`openai`]: OpenAI-compatible wire types (chat completions, streaming chunks, embeddings,
//!   models, errors) and their mapping to [`chat`] and [`embed`].
//! - [`error`]: Bedrock SDK errors classified (retryable or not, HTTP status, stable code).
//! - [`catalog`]: the model catalog (models, inference profiles, lifecycle) catalog-sync writes
//!   and invoke reads: its stable JSON document and hash, normalisation, diff, retiring models.
//! - [`bedrock`]: the Bedrock calls (Converse, native InvokeModel, streams, embeddings) on a
//!   prebuilt client, bounded by a deadline, failing with one `CallError`.
//! - [`text`]: documents: text extraction (txt, md, html, json, csv, pdf) with their metadata,
//!   chunking sized to the embedding model, and stable chunk ids.
//! - [`retrieval`]: search (query embedded, vector store queried) and grounded answers: the RAG
//!   prompt over the hits, citations resolved to the documents they come from.
//! - [`vector`]: the `VectorStore` contract (replace, delete, query; S3 sequencer guard) and its
//!   stores: Amazon S3 Vectors, and embedded SQLite (feature `sqlite`, for the local stack).
//! - [`ingest`]: the ingest pipeline: S3 event notifications read leniently, then fetch, extract,
//!   chunk, embed and store per document, ordered by the S3 sequencer; a batch's outcomes.

pub mod adapters;
pub mod bedrock;
pub mod catalog;
pub mod chat;
pub mod config;
pub mod embed;
pub mod error;
pub mod ingest;
pub mod model;
pub mod openai;
pub mod prompt;
pub mod retrieval;
pub mod text;
pub mod vector;
