//! Chunking: a document's text cut into overlapping pieces that each fit one embedding call.
//!
//! Sizes come from `[ingest]` (`chunk_chars`, `chunk_overlap_chars`) capped by the embedding
//! model: its character limit ([`EmbeddingModel::max_text_chars`]: Titan v2 50,000, Cohere v3
//! 2,048) and, for Titan (which has no truncation: an over-long text is an error), its 8,192-token
//! limit. Tokens are bounded by UTF-8 bytes — a token never covers less than one byte — so a
//! Titan chunk has at most 8,192 bytes, a rigorous bound whatever the script. Cohere truncates
//! over-long texts itself (`truncate`), so only its character limit applies. Every chunk is also
//! kept within [`MAX_CHUNK_TEXT_BYTES`], because the chunk's text is stored with its vector.
//!
//! The `text-splitter` crate cuts at the highest semantic level that fits (Markdown: sections
//! under headings, then blocks; plain text: paragraphs, lines, sentences, words), aiming for
//! 4/5 of the capacity and allowing up to all of it to stay at a higher level; whitespace at
//! chunk edges is trimmed. Overlap is measured in the same units as the size.

use std::ops::Range;

use text_splitter::{ChunkCapacity, ChunkConfig, ChunkSizer, MarkdownSplitter, TextSplitter};

use super::document::Document;
use crate::config::IngestLimits;
use crate::embed::EmbeddingModel;

/// The most UTF-8 bytes of text a chunk may have, whatever the model: the text is stored as
/// vector metadata, and S3 Vectors allows 40 KB of metadata per vector (the rest is left for the
/// source key and other fields).
pub const MAX_CHUNK_TEXT_BYTES: usize = 32 * 1024;

/// Tokens per text the Titan embedding models accept (v1 and v2: 8k); Bedrock rejects more.
const TITAN_MAX_TOKENS: usize = 8_192;

/// Why chunk settings are unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    /// The chunk size is zero, or the overlap is not smaller than a chunk.
    #[error(
        "chunk overlap must be smaller than the chunk size, and the chunk size at least 1: got \
         {chunk_chars} characters per chunk (after the model's limits) and {overlap_chars} of overlap"
    )]
    Settings { chunk_chars: usize, overlap_chars: usize },
}

/// How long chunks are and how much consecutive chunks share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkSettings {
    /// The most characters in a chunk.
    pub max_chars: usize,
    /// The most UTF-8 bytes in a chunk.
    pub max_bytes: usize,
    /// Characters repeated from the end of one chunk at the start of the next.
    pub overlap_chars: usize,
}

impl ChunkSettings {
    /// Chunks of at most `max_chars` characters (and [`MAX_CHUNK_TEXT_BYTES`]) with `overlap_chars`
    /// of overlap.
    pub fn new(max_chars: usize, overlap_chars: usize) -> Result<Self, ChunkError> {
        Self::checked(max_chars, MAX_CHUNK_TEXT_BYTES, overlap_chars)
    }

    /// The configured sizes, capped by what `model` embeds in one text.
    pub fn for_model(model: EmbeddingModel, limits: &IngestLimits) -> Result<Self, ChunkError> {
        let configured = usize::try_from(limits.chunk_chars).unwrap_or(usize::MAX);
        let max_chars = model.max_text_chars().map_or(configured, |max| configured.min(max));
        let max_bytes = if model.is_cohere() {
            MAX_CHUNK_TEXT_BYTES
        } else {
            TITAN_MAX_TOKENS.min(MAX_CHUNK_TEXT_BYTES)
        };
        let overlap = usize::try_from(limits.chunk_overlap_chars).unwrap_or(usize::MAX);
        Self::checked(max_chars, max_bytes, overlap)
    }

    fn checked(
        max_chars: usize,
        max_bytes: usize,
        overlap_chars: usize,
    ) -> Result<Self, ChunkError> {
        let settings = ChunkSettings { max_chars, max_bytes, overlap_chars };
        if max_chars == 0 || max_bytes == 0 || overlap_chars >= settings.desired_chars() {
            return Err(ChunkError::Settings { chunk_chars: max_chars, overlap_chars });
        }
        Ok(settings)
    }

    /// The size the splitter aims for: 4/5 of the maximum, and always more than the overlap.
    fn desired_chars(&self) -> usize {
        (self.max_chars * 4 / 5).max(self.overlap_chars + 1).min(self.max_chars)
    }

    fn config(&self) -> Result<ChunkConfig<CharsAndBytes>, ChunkError> {
        let invalid = || ChunkError::Settings {
            chunk_chars: self.max_chars,
            overlap_chars: self.overlap_chars,
        };
        let capacity = ChunkCapacity::new(self.desired_chars())
            .with_max(self.max_chars)
            .map_err(|_| invalid())?;
        ChunkConfig::new(capacity)
            .with_sizer(CharsAndBytes { max_chars: self.max_chars, max_bytes: self.max_bytes })
            .with_overlap(self.overlap_chars)
            .map_err(|_| invalid())
    }
}

/// Sizes a chunk in characters, counting it as over capacity when its bytes are: the size is
/// `max(chars, ⌈bytes · max_chars / max_bytes⌉)`, which is at most `max_chars` exactly when the
/// chunk has at most `max_chars` characters and `max_bytes` bytes.
#[derive(Debug, Clone, Copy)]
struct CharsAndBytes {
    max_chars: usize,
    max_bytes: usize,
}

impl ChunkSizer for CharsAndBytes {
    fn size(&self, chunk: &str) -> usize {
        let chars = chunk.chars().count();
        let scaled =
            (chunk.len() as u128 * self.max_chars as u128).div_ceil(self.max_bytes as u128);
        chars.max(usize::try_from(scaled).unwrap_or(usize::MAX))
    }
}

/// One piece of a document's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Its position among the document's chunks, from 0.
    pub index: usize,
    /// Its stable id: the document id and the index (see [`super::DocumentId`]).
    pub id: String,
    /// The text.
    pub text: String,
    /// Where the text is in the document's text, in characters.
    pub char_range: Range<usize>,
    /// Where the text is in the document's text, in bytes.
    pub byte_range: Range<usize>,
}

/// The chunks of `document`: split at Markdown structure for Markdown and HTML, else at
/// paragraphs, lines, sentences and words.
pub fn chunk(document: &Document, settings: &ChunkSettings) -> Result<Vec<Chunk>, ChunkError> {
    let config = settings.config()?;
    let text = document.text.as_str();
    let pieces: Vec<_> = if document.format.is_markdown() {
        MarkdownSplitter::new(config).chunk_char_indices(text).collect()
    } else {
        TextSplitter::new(config).chunk_char_indices(text).collect()
    };
    let id = document.source.document_id();
    Ok(pieces
        .into_iter()
        .filter(|piece| !piece.chunk.trim().is_empty())
        .enumerate()
        .map(|(index, piece)| Chunk {
            index,
            id: id.chunk_id(index),
            text: piece.chunk.to_owned(),
            char_range: piece.char_offset..piece.char_offset + piece.chunk.chars().count(),
            byte_range: piece.byte_offset..piece.byte_offset + piece.chunk.len(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::text::{DocumentRef, Format};

    fn document(format: Format, text: &str) -> Document {
        Document {
            source: DocumentRef::new("docs", "guide.md"),
            content_type: format.media_type().to_owned(),
            format,
            size: text.len() as u64,
            title: "guide".into(),
            user_metadata: BTreeMap::new(),
            text: text.to_owned(),
        }
    }

    fn limits(chunk_chars: u32, chunk_overlap_chars: u32) -> IngestLimits {
        IngestLimits { chunk_chars, chunk_overlap_chars, ..IngestLimits::default() }
    }

    #[test]
    fn model_limits_cap_the_configured_size() {
        let titan = ChunkSettings::for_model(EmbeddingModel::TitanTextV2, &limits(50_000, 200))
            .expect("valid");
        assert_eq!((titan.max_chars, titan.max_bytes), (50_000, 8_192));
        let cohere = ChunkSettings::for_model(EmbeddingModel::CohereEnglishV3, &limits(5_000, 200))
            .expect("valid");
        assert_eq!((cohere.max_chars, cohere.max_bytes), (2_048, MAX_CHUNK_TEXT_BYTES));
        let v4 =
            ChunkSettings::for_model(EmbeddingModel::CohereV4, &limits(50_000, 0)).expect("valid");
        assert_eq!((v4.max_chars, v4.max_bytes), (50_000, MAX_CHUNK_TEXT_BYTES));
        let defaults =
            ChunkSettings::for_model(EmbeddingModel::TitanTextV2, &IngestLimits::default())
                .expect("valid");
        assert_eq!((defaults.max_chars, defaults.overlap_chars), (2_000, 200));
    }

    #[test]
    fn overlap_must_be_smaller_than_a_chunk() {
        assert_eq!(
            ChunkSettings::new(100, 100),
            Err(ChunkError::Settings { chunk_chars: 100, overlap_chars: 100 })
        );
        assert!(ChunkSettings::new(0, 0).is_err());
        assert!(ChunkSettings::new(100, 99).is_ok());
        // Cohere v3 caps 3,000 configured characters at 2,048, below the 2,500 overlap.
        assert!(
            ChunkSettings::for_model(EmbeddingModel::CohereEnglishV3, &limits(3_000, 2_500))
                .is_err()
        );
    }

    #[test]
    fn the_byte_bound_holds_for_multibyte_text() {
        // 3-byte characters: 50,000 characters would be 150,000 bytes, far over Titan's tokens.
        let text = "漢字のテキスト。".repeat(3_000);
        let settings = ChunkSettings::for_model(EmbeddingModel::TitanTextV2, &limits(50_000, 100))
            .expect("valid");
        let chunks = chunk(&document(Format::Plain, &text), &settings).expect("chunks");
        assert!(chunks.len() > 1);
        for piece in &chunks {
            assert!(piece.text.len() <= 8_192, "{} bytes", piece.text.len());
        }
    }
}
