//! A document as ingest sees it: where it lives in S3, its format, and its extracted text.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Which S3 object a document is: bucket and key, plus the version read when known.
///
/// Identity is (bucket, key): every version of an object is the same document, and
/// [`DocumentRef::document_id`] ignores `version_id` and `etag`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentRef {
    /// The S3 bucket.
    pub bucket: String,
    /// The object key, decoded (as S3 stores it, not as event notifications URL-encode it).
    pub key: String,
    /// The object version, in a versioning-enabled bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// The object's ETag (without quotes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

impl DocumentRef {
    /// The object `key` in `bucket`, version unknown.
    pub fn new(bucket: impl Into<String>, key: impl Into<String>) -> Self {
        DocumentRef { bucket: bucket.into(), key: key.into(), version_id: None, etag: None }
    }

    /// The stable id of this document (all its versions).
    pub fn document_id(&self) -> DocumentId {
        DocumentId::of(&self.bucket, &self.key)
    }

    /// The last segment of the key (`guide.md` for `docs/guide.md`), the title of last resort.
    pub fn file_name(&self) -> &str {
        self.key.rsplit('/').find(|part| !part.is_empty()).unwrap_or(&self.key)
    }

    /// The id of chunk `index` of this document.
    pub fn chunk_id(&self, index: usize) -> String {
        self.document_id().chunk_id(index)
    }
}

impl fmt::Display for DocumentRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// A document's stable id: the first 8 bytes of SHA-256 over `bucket/key`, as 16 lowercase hex
/// digits. Bucket names cannot contain `/`, so `bucket/key` names exactly one object.
///
/// Chunk `i` of the document has the id `<document id>-<i, 5 digits>` (`3fa2…9c-00003`), so an
/// overwrite writes the same ids again, and the ids of a shorter new version are a prefix of the
/// old ones: the stale ids are exactly those from the new length up to the old one. 64 bits make
/// a collision between two keys unlikely below billions of documents.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DocumentId(String);

impl DocumentId {
    /// The id of the object `key` in `bucket`.
    pub fn of(bucket: &str, key: &str) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(bucket.as_bytes());
        hasher.update(b"/");
        hasher.update(key.as_bytes());
        let digest = hasher.finalize();
        DocumentId(hex::encode(&digest[..8]))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id of chunk `index`: `<document id>-<index>`, the index zero-padded to 5 digits.
    pub fn chunk_id(&self, index: usize) -> String {
        format!("{}-{index:05}", self.0)
    }

    /// The chunk index of `chunk_id` when it is a chunk id of this document.
    pub fn chunk_index(&self, chunk_id: &str) -> Option<usize> {
        let digits = chunk_id.strip_prefix(self.0.as_str())?.strip_prefix('-')?;
        if digits.len() < 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The formats quarry extracts text from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Plain text.
    Plain,
    /// Markdown (CommonMark).
    Markdown,
    /// HTML, rendered to Markdown-like text (headings as `#` lines).
    Html,
    /// JSON, flattened to `path: value` lines.
    Json,
    /// Comma-separated values with a header row, one `column: value; …` line per row.
    Csv,
    /// Tab-separated values with a header row, like [`Format::Csv`].
    Tsv,
    /// PDF, the text of each page.
    Pdf,
}

impl Format {
    /// Every format, in a stable order.
    pub const ALL: [Format; 7] = [
        Format::Plain,
        Format::Markdown,
        Format::Html,
        Format::Json,
        Format::Csv,
        Format::Tsv,
        Format::Pdf,
    ];

    /// The format's registered media type.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Plain => "text/plain",
            Format::Markdown => "text/markdown",
            Format::Html => "text/html",
            Format::Json => "application/json",
            Format::Csv => "text/csv",
            Format::Tsv => "text/tab-separated-values",
            Format::Pdf => "application/pdf",
        }
    }

    /// The format's short name (`pdf`, `markdown`, …).
    pub fn name(self) -> &'static str {
        match self {
            Format::Plain => "plain",
            Format::Markdown => "markdown",
            Format::Html => "html",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Pdf => "pdf",
        }
    }

    /// True when the extracted text is Markdown-structured (Markdown itself, and HTML, which is
    /// rendered with `#` headings), so the chunker splits at headings first.
    pub fn is_markdown(self) -> bool {
        matches!(self, Format::Markdown | Format::Html)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An S3 object as fetched: what extraction reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Object {
    /// Which object (and version) this is.
    pub source: DocumentRef,
    /// The object's `Content-Type`, if it has one.
    pub content_type: Option<String>,
    /// The object's user metadata (`x-amz-meta-*`, names without the prefix).
    pub user_metadata: BTreeMap<String, String>,
    /// The object's bytes.
    pub body: Vec<u8>,
}

/// A document with its extracted text and metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    /// Which object (and version) the text came from.
    pub source: DocumentRef,
    /// The media type the document was read as (its format's, e.g. `text/markdown`).
    pub content_type: String,
    /// The format the text was extracted from.
    pub format: Format,
    /// The object's size in bytes.
    pub size: u64,
    /// The HTML `<title>`, the first Markdown `# ` heading, the PDF's Info `/Title`, else the
    /// file name.
    pub title: String,
    /// The object's user metadata.
    pub user_metadata: BTreeMap<String, String>,
    /// The extracted text: never empty or whitespace only.
    pub text: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_ids_are_stable_and_depend_on_bucket_and_key_only() {
        let doc = DocumentRef::new("docs", "guides/setup.md");
        let id = doc.document_id();
        assert_eq!(id.as_str().len(), 16);
        assert!(id.as_str().bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        // sha256("docs/guides/setup.md"), first 8 bytes.
        let expected = {
            let digest = Sha256::digest(b"docs/guides/setup.md");
            hex::encode(&digest[..8])
        };
        assert_eq!(id.as_str(), expected);

        let mut other_version = doc.clone();
        other_version.version_id = Some("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY".into());
        other_version.etag = Some("d41d8cd98f00b204e9800998ecf8427e".into());
        assert_eq!(other_version.document_id(), id);
        assert_ne!(DocumentRef::new("docs2", "guides/setup.md").document_id(), id);
        assert_ne!(DocumentRef::new("docs", "guides/setup.MD").document_id(), id);
    }

    #[test]
    fn chunk_ids_carry_the_document_id_and_a_padded_index() {
        let doc = DocumentRef::new("docs", "a.txt");
        let id = doc.document_id();
        assert_eq!(doc.chunk_id(3), format!("{id}-00003"));
        assert_eq!(doc.chunk_id(123_456), format!("{id}-123456"));
        assert_eq!(id.chunk_index(&doc.chunk_id(42)), Some(42));
        assert_eq!(id.chunk_index(&doc.chunk_id(123_456)), Some(123_456));
        assert_eq!(id.chunk_index(&format!("{id}-42")), None);
        assert_eq!(id.chunk_index(id.as_str()), None);
        let other = DocumentRef::new("docs", "b.txt");
        assert_eq!(id.chunk_index(&other.chunk_id(0)), None);
    }

    #[test]
    fn file_names_are_the_last_key_segment() {
        assert_eq!(DocumentRef::new("b", "docs/guides/setup.md").file_name(), "setup.md");
        assert_eq!(DocumentRef::new("b", "readme").file_name(), "readme");
        assert_eq!(DocumentRef::new("b", "folder/").file_name(), "folder");
    }
}
