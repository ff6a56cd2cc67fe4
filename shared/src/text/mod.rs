//! Documents for retrieval: text extracted from S3 objects (txt, md, html, json, csv, tsv, pdf)
//! with its metadata, cut into chunks sized for the embedding model, with stable chunk ids.
//!
//! The ingest pipeline runs [`extract`] on a fetched [`S3Object`], then [`chunk`] with
//! [`ChunkSettings::for_model`]; each [`Chunk`] carries its id (`<document id>-<index>`, see
//! [`DocumentId`]), so an overwrite replaces the same ids and a shorter version leaves only ids
//! from its length on as stale.

mod chunk;
mod delimited;
mod document;
mod extract;
mod html;
mod json;
mod markdown;
mod pdf;
#[cfg(test)]
mod tests;

pub use chunk::{Chunk, ChunkError, ChunkSettings, MAX_CHUNK_TEXT_BYTES, chunk};
pub use document::{Document, DocumentId, DocumentRef, Format, S3Object};
pub use extract::{ExtractError, MIN_TEXT_LIMIT, detect, extract};
pub use pdf::MAX_DECOMPRESSED_BYTES;
