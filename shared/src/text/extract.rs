//! Text extraction: which format an S3 object is, and its text and title in that format.
//!
//! The format comes from the key's extension first (S3 objects are often stored with a generic
//! `binary/octet-stream` content type), then from the `Content-Type`; an object with neither
//! (no extension, generic type) is a PDF when it starts with `%PDF-`, else plain text. Text
//! formats must be UTF-8 (a UTF-8 BOM is dropped) or UTF-16 with a BOM; anything else, or text
//! with NUL bytes, is [`ExtractError::Binary`].

use super::document::{Document, Format, S3Object};
use super::{delimited, html, json, markdown, pdf};

/// Extensions read as plain text besides `.txt`: text formats without structure quarry uses.
const PLAIN_EXTENSIONS: &[&str] = &[
    "txt", "text", "log", "rst", "adoc", "asciidoc", "org", "tex", "yaml", "yml", "toml", "ini",
    "cfg", "conf", "xml", "srt", "vtt",
];

/// Content types S3 and clients use for "unknown": they say nothing about the format.
const GENERIC_TYPES: &[&str] = &["application/octet-stream", "binary/octet-stream", ""];

/// The least extracted text allowed, whatever `max_bytes` says: 1 MiB.
pub const MIN_TEXT_LIMIT: u64 = 1024 * 1024;

/// Why an object yields no text to index.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    /// Neither the key's extension nor the content type is a format quarry reads.
    #[error(
        "unsupported document type (extension {extension:?}, content type {content_type:?}); \
         quarry reads txt, md, html, json, csv, tsv and pdf"
    )]
    Unsupported { extension: Option<String>, content_type: Option<String> },
    /// The object is empty, or holds no text (whitespace only, a PDF of scanned images).
    #[error("the {format} document has no text to index{}", hint(*format))]
    Empty { format: Format },
    /// A text format whose bytes are not text.
    #[error(
        "the {format} document is binary, not text: byte {offset} is a NUL byte or not valid \
         UTF-8; quarry reads UTF-8 (or UTF-16 with a byte-order mark)"
    )]
    Binary { format: Format, offset: usize },
    /// The bytes are not a valid document of the format.
    #[error("the {format} document is corrupt: {reason}")]
    Corrupt { format: Format, reason: String },
    /// The object, or the text extracted from it, is larger than allowed.
    #[error("the document is too large: {size} bytes of {what}, at most {max} allowed")]
    TooLarge { what: &'static str, size: u64, max: u64 },
}

fn hint(format: Format) -> &'static str {
    match format {
        Format::Pdf => " (a PDF of scanned images needs OCR before it can be indexed)",
        _ => "",
    }
}

/// The text, title and metadata of `object`, refusing objects over `max_bytes`.
///
/// The extracted text may be as large as the largest object allowed (at least
/// [`MIN_TEXT_LIMIT`]): flattening JSON and CSV repeats paths and column names on every line, so
/// the text can be many times the file; more is [`ExtractError::TooLarge`].
pub fn extract(object: &S3Object, max_bytes: u64) -> Result<Document, ExtractError> {
    let size = object.body.len() as u64;
    if size > max_bytes {
        return Err(ExtractError::TooLarge { what: "object", size, max: max_bytes });
    }
    let format = detect(&object.source.key, object.content_type.as_deref(), &object.body)?;
    if object.body.is_empty() {
        return Err(ExtractError::Empty { format });
    }
    let max_text = max_bytes.max(MIN_TEXT_LIMIT);
    let Extracted { text, title } = match format {
        Format::Pdf => pdf::extract(&object.body)?,
        _ => {
            let source = decode(format, &object.body)?;
            match format {
                Format::Markdown => markdown::extract(&source),
                Format::Html => html::extract(&source),
                Format::Json => json::extract(&source, max_text)?,
                Format::Csv => delimited::extract(&source, b',', Format::Csv, max_text)?,
                Format::Tsv => delimited::extract(&source, b'\t', Format::Tsv, max_text)?,
                _ => Extracted { text: source, title: None },
            }
        }
    };
    let text_size = text.len() as u64;
    if text_size > max_text {
        return Err(ExtractError::TooLarge {
            what: "extracted text",
            size: text_size,
            max: max_text,
        });
    }
    if text.trim().is_empty() {
        return Err(ExtractError::Empty { format });
    }
    let title = title
        .map(|title| title.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|title| !title.is_empty())
        .unwrap_or_else(|| object.source.file_name().to_owned());
    Ok(Document {
        source: object.source.clone(),
        content_type: format.media_type().to_owned(),
        format,
        size,
        title,
        user_metadata: object.user_metadata.clone(),
        text,
    })
}

/// What one format's extractor found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Extracted {
    /// The text.
    pub text: String,
    /// The title the document names itself, if any.
    pub title: Option<String>,
}

/// The format of the object at `key` with `content_type` and these first bytes.
pub fn detect(key: &str, content_type: Option<&str>, body: &[u8]) -> Result<Format, ExtractError> {
    let extension = extension(key);
    if let Some(format) = extension.as_deref().and_then(format_of_extension) {
        return Ok(format);
    }
    let media_type = content_type.map(essence);
    if let Some(format) = media_type.as_deref().and_then(format_of_media_type) {
        return Ok(format);
    }
    let generic = media_type.as_deref().is_none_or(|t| GENERIC_TYPES.contains(&t));
    if generic && extension.is_none() {
        return Ok(if body.starts_with(b"%PDF-") { Format::Pdf } else { Format::Plain });
    }
    Err(ExtractError::Unsupported { extension, content_type: content_type.map(str::to_owned) })
}

/// The lowercase extension of the key's file name (`md` for `docs/Guide.MD`).
fn extension(key: &str) -> Option<String> {
    let name = key.rsplit('/').next().unwrap_or(key);
    let (stem, ext) = name.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty()).then(|| ext.to_ascii_lowercase())
}

fn format_of_extension(extension: &str) -> Option<Format> {
    Some(match extension {
        "md" | "markdown" | "mdown" | "mkd" => Format::Markdown,
        "html" | "htm" | "xhtml" => Format::Html,
        "json" => Format::Json,
        "csv" => Format::Csv,
        "tsv" | "tab" => Format::Tsv,
        "pdf" => Format::Pdf,
        other if PLAIN_EXTENSIONS.contains(&other) => Format::Plain,
        _ => return None,
    })
}

/// The media type without parameters, lowercase (`text/html` for `Text/HTML; charset=utf-8`).
fn essence(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

fn format_of_media_type(media_type: &str) -> Option<Format> {
    Some(match media_type {
        "text/markdown" | "text/x-markdown" => Format::Markdown,
        "text/html" | "application/xhtml+xml" => Format::Html,
        "application/json" | "text/json" => Format::Json,
        "text/csv" | "application/csv" => Format::Csv,
        "text/tab-separated-values" => Format::Tsv,
        "application/pdf" | "application/x-pdf" => Format::Pdf,
        other if other.ends_with("+json") => Format::Json,
        other if other.starts_with("text/") => Format::Plain,
        _ => return None,
    })
}

/// The bytes of a text format as a string: UTF-8 (BOM dropped) or UTF-16 with a BOM.
fn decode(format: Format, body: &[u8]) -> Result<String, ExtractError> {
    let utf16 = |bytes: &[u8], from: fn([u8; 2]) -> u16| {
        let (units, rest) = bytes.as_chunks::<2>();
        let decoded = String::from_utf16(&units.iter().map(|unit| from(*unit)).collect::<Vec<_>>());
        match decoded {
            Ok(text) if rest.is_empty() && !text.contains('\0') => Ok(text),
            _ => Err(ExtractError::Binary { format, offset: 0 }),
        }
    };
    if let Some(rest) = body.strip_prefix(b"\xFF\xFE") {
        return utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = body.strip_prefix(b"\xFE\xFF") {
        return utf16(rest, u16::from_be_bytes);
    }
    let bytes = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let offset = body.len() - bytes.len();
    let valid = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => {
            let (text, _) = bytes.split_at(err.valid_up_to());
            std::str::from_utf8(text).unwrap_or_default()
        }
    };
    match valid.find('\0') {
        Some(nul) => Err(ExtractError::Binary { format, offset: offset + nul }),
        None if valid.len() < bytes.len() => {
            Err(ExtractError::Binary { format, offset: offset + valid.len() })
        }
        None => Ok(valid.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::text::DocumentRef;

    fn object(key: &str, content_type: Option<&str>, body: &[u8]) -> S3Object {
        S3Object {
            source: DocumentRef::new("docs", key),
            content_type: content_type.map(str::to_owned),
            user_metadata: BTreeMap::new(),
            body: body.to_vec(),
        }
    }

    #[test]
    fn the_extension_decides_then_the_content_type_then_the_bytes() {
        let cases: &[(&str, Option<&str>, &[u8], Format)] = &[
            ("a/Guide.MD", Some("binary/octet-stream"), b"# x", Format::Markdown),
            ("page.htm", None, b"<p>x</p>", Format::Html),
            ("data.json", Some("text/plain"), b"{}", Format::Json),
            ("rows.csv", None, b"a\n1", Format::Csv),
            ("rows.tsv", None, b"a\n1", Format::Tsv),
            ("report.pdf", None, b"%PDF-1.4", Format::Pdf),
            ("notes.yaml", None, b"a: 1", Format::Plain),
            ("report", Some("application/pdf"), b"%PDF-1.4", Format::Pdf),
            ("page", Some("Text/HTML; charset=UTF-8"), b"<p>x</p>", Format::Html),
            ("ld", Some("application/ld+json"), b"{}", Format::Json),
            ("script.v2", Some("text/x-python"), b"print(1)", Format::Plain),
            ("report", Some("binary/octet-stream"), b"%PDF-1.7\n", Format::Pdf),
            ("notes", None, b"just text", Format::Plain),
        ];
        for (key, content_type, body, expected) in cases {
            assert_eq!(detect(key, *content_type, body), Ok(*expected), "{key} {content_type:?}");
        }
    }

    #[test]
    fn unknown_types_are_unsupported() {
        for (key, content_type) in [
            ("photo.png", Some("image/png")),
            ("slides.pptx", None),
            ("archive.zip", Some("application/octet-stream")),
            ("blob", Some("application/zip")),
        ] {
            let err = detect(key, content_type, b"PK\x03\x04").expect_err(key);
            assert!(matches!(err, ExtractError::Unsupported { .. }), "{key}: {err}");
            assert!(err.to_string().contains("quarry reads txt, md"), "{err}");
        }
    }

    #[test]
    fn text_is_utf8_or_utf16_with_a_bom() {
        let utf8_bom = object("a.txt", None, "\u{feff}héllo".as_bytes());
        assert_eq!(extract(&utf8_bom, 1024).expect("utf-8").text, "héllo");
        let mut le = vec![0xFF, 0xFE];
        le.extend("héllo wörld".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(extract(&object("a.txt", None, &le), 1024).expect("le").text, "héllo wörld");
        let mut be = vec![0xFE, 0xFF];
        be.extend("ünïcode".encode_utf16().flat_map(u16::to_be_bytes));
        assert_eq!(extract(&object("a.txt", None, &be), 1024).expect("be").text, "ünïcode");
    }

    #[test]
    fn binary_bytes_in_a_text_format_are_refused_with_their_offset() {
        let latin1 = object("a.txt", None, b"caf\xe9 au lait");
        assert_eq!(
            extract(&latin1, 1024),
            Err(ExtractError::Binary { format: Format::Plain, offset: 3 })
        );
        let png = object("image.md", None, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
        assert_eq!(
            extract(&png, 1024),
            Err(ExtractError::Binary { format: Format::Markdown, offset: 0 })
        );
        let nul = object("a.json", None, b"{\"a\": 1}\0");
        assert_eq!(
            extract(&nul, 1024),
            Err(ExtractError::Binary { format: Format::Json, offset: 8 })
        );
        let odd_utf16 = object("a.txt", None, b"\xFF\xFEa\0b");
        assert!(matches!(extract(&odd_utf16, 1024), Err(ExtractError::Binary { .. })));
    }

    #[test]
    fn empty_and_blank_documents_have_no_text() {
        for (key, body) in [
            ("a.txt", &b""[..]),
            ("a.txt", b" \n\t\r\n"),
            ("a.md", b"\n\n"),
            ("a.html", b"<html><head><style>p{}</style></head><body> </body></html>"),
            ("a.csv", b"name,price\n"),
            ("a.json", b"{}"),
        ] {
            let err = extract(&object(key, None, body), 1024).expect_err(key);
            assert!(matches!(err, ExtractError::Empty { .. }), "{key}: {err}");
        }
    }

    #[test]
    fn objects_over_the_limit_are_refused_before_reading() {
        let big = object("a.txt", None, &[b'a'; 2048]);
        assert_eq!(
            extract(&big, 2047),
            Err(ExtractError::TooLarge { what: "object", size: 2048, max: 2047 })
        );
        assert!(extract(&big, 2048).is_ok());
    }

    #[test]
    fn text_that_flattens_past_the_limit_is_refused() {
        let json = format!("{{\"{}\": [{}]}}", "k".repeat(200), vec!["1"; 10_000].join(","));
        let err = extract(&object("wide.json", None, json.as_bytes()), 1024 * 1024)
            .expect_err("2 MB of lines");
        assert!(matches!(err, ExtractError::TooLarge { max: MIN_TEXT_LIMIT, .. }), "{err}");
        let header: Vec<String> =
            (0..20).map(|i| format!("a_rather_long_column_name_{i}")).collect();
        let row = vec!["1"; 20].join(",");
        let csv = format!("{}\n{}", header.join(","), vec![row.as_str(); 2_000].join("\n"));
        let err = extract(&object("wide.csv", None, csv.as_bytes()), 1024 * 1024).expect_err("CSV");
        assert!(matches!(err, ExtractError::TooLarge { .. }), "{err}");
    }

    #[test]
    fn metadata_is_kept_and_the_title_falls_back_to_the_file_name() {
        let mut plain = object("notes/today.txt", Some("text/plain"), b"buy milk");
        plain.source.version_id = Some("v2".into());
        plain.user_metadata.insert("team".into(), "ops".into());
        let doc = extract(&plain, 1024).expect("plain text");
        assert_eq!(doc.title, "today.txt");
        assert_eq!(doc.size, 8);
        assert_eq!(doc.content_type, "text/plain");
        assert_eq!(doc.source.version_id.as_deref(), Some("v2"));
        assert_eq!(doc.user_metadata.get("team").map(String::as_str), Some("ops"));
    }
}
