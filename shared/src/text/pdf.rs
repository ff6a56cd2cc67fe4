//! PDF: the text of every page (read with `lopdf`), pages separated by a blank line; the title is
//! the document Info dictionary's `/Title`.
//!
//! Why lopdf: it is maintained, builds on Rust 1.95, returns errors for malformed files and
//! treats panics on crafted input as bugs (issue #532, crash bugs found in 0.44, is fixed and closed),
//! and bounds stream decompression (a small crafted file cannot inflate to gigabytes; quarry
//! allows [`MAX_DECOMPRESSED_BYTES`] per stream). `pdf-extract`, built on lopdf, panics on
//! unreadable content by design (its maintainer prefers panics, pdf-extract issue #129), so it is
//! not used. quarry walks each page's content stream itself rather than calling
//! `Document::extract_text`, so text positioned on a new line (`Td`, `TD`, `T*`, `Tm`, `'`, `"`)
//! starts a new line and wide `TJ` gaps become spaces — lopdf's own extraction glues such words
//! together. No `catch_unwind`: the release profile aborts on panic, so catching would work only in
//! debug builds; instead a test feeds truncations and byte flips of a valid file at every 5–7 bytes.
//!
//! Not supported: text in images (scanned PDFs, [`ExtractError::Empty`]), PDFs that need a
//! password ([`ExtractError::Corrupt`]), and fonts without a usable encoding (their text is
//! skipped, as lopdf does).

use std::collections::BTreeMap;

use lopdf::content::Content;
use lopdf::{Document as Pdf, Encoding, LoadOptions, Object, ObjectId};

use super::document::Format;
use super::extract::{ExtractError, Extracted};

/// The most one stream (page content, font, object stream) may decompress to: 64 MiB.
pub const MAX_DECOMPRESSED_BYTES: usize = 64 * 1024 * 1024;

/// A `TJ` adjustment more negative than this (thousandths of a text-space unit) is a word gap.
const WORD_GAP: f32 = -200.0;

/// The text of each page and the Info title of a PDF.
pub(super) fn extract(body: &[u8]) -> Result<Extracted, ExtractError> {
    let corrupt = |reason: String| ExtractError::Corrupt { format: Format::Pdf, reason };
    let options =
        LoadOptions { max_decompressed_size: Some(MAX_DECOMPRESSED_BYTES), ..Default::default() };
    let mut pdf = Pdf::load_mem_with_options(body, options).map_err(|e| corrupt(e.to_string()))?;
    if pdf.is_encrypted() && pdf.decrypt("").is_err() {
        return Err(corrupt("it is password-protected".to_owned()));
    }
    let pages = pdf.get_pages();
    if pages.is_empty() {
        return Err(corrupt("it has no pages".to_owned()));
    }
    let mut text = String::new();
    for (number, page_id) in pages {
        let page = page_text(&pdf, page_id).map_err(|e| corrupt(format!("page {number}: {e}")))?;
        let page = page.trim();
        if !page.is_empty() {
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(page);
        }
    }
    Ok(Extracted { text, title: info_title(&pdf) })
}

/// The Info dictionary's `/Title`.
fn info_title(pdf: &Pdf) -> Option<String> {
    let info = pdf.trailer.get(b"Info").ok()?;
    let (_, info) = pdf.dereference(info).ok()?;
    let title = info.as_dict().ok()?.get(b"Title").ok()?;
    let (_, title) = pdf.dereference(title).ok()?;
    lopdf::decode_text_string(title).ok()
}

/// The text shown on one page, a line per text line.
fn page_text(pdf: &Pdf, page_id: ObjectId) -> lopdf::Result<String> {
    let encodings: BTreeMap<Vec<u8>, Encoding<'_>> = pdf
        .get_page_fonts(page_id)?
        .into_iter()
        .filter_map(|(name, font)| {
            font.get_font_encoding_with_limit(pdf, MAX_DECOMPRESSED_BYTES).ok().map(|e| (name, e))
        })
        .collect();
    let content = pdf.get_page_content_with_limit(page_id, MAX_DECOMPRESSED_BYTES)?;
    let operations = Content::decode(&content)?.operations;
    let mut out = PageText::default();
    let mut font: Option<&Encoding<'_>> = None;
    for operation in &operations {
        let operands = &operation.operands;
        match operation.operator.as_str() {
            "Tf" => {
                font = operands
                    .first()
                    .and_then(|name| name.as_name().ok())
                    .and_then(|name| encodings.get(name));
            }
            "Tj" => out.show(font, operands.first()),
            "'" => {
                out.newline();
                out.show(font, operands.first());
            }
            "\"" => {
                out.newline();
                out.show(font, operands.get(2));
            }
            "TJ" => {
                for item in operands.first().and_then(|a| a.as_array().ok()).into_iter().flatten() {
                    match item.as_float() {
                        Ok(gap) if gap < WORD_GAP => out.space(),
                        Ok(_) => {}
                        Err(_) => out.show(font, Some(item)),
                    }
                }
            }
            "Td" | "TD" => {
                let dy = operands.get(1).and_then(|y| y.as_float().ok()).unwrap_or(0.0);
                if dy != 0.0 { out.newline() } else { out.space() }
            }
            "Tm" => {
                let y = operands.get(5).and_then(|y| y.as_float().ok());
                if y != out.line_y {
                    out.newline()
                } else {
                    out.space()
                }
                out.line_y = y;
            }
            "T*" | "ET" => out.newline(),
            _ => {}
        }
    }
    Ok(out.text)
}

/// The text of a page as it is shown.
#[derive(Debug, Default)]
struct PageText {
    text: String,
    /// The y of the last text matrix set with `Tm`.
    line_y: Option<f32>,
}

impl PageText {
    /// Shows a string operand in the current font (skipped without a known font encoding).
    fn show(&mut self, font: Option<&Encoding<'_>>, operand: Option<&Object>) {
        let (Some(font), Some(Object::String(bytes, _))) = (font, operand) else { return };
        if let Ok(shown) = Pdf::decode_text(font, bytes) {
            self.text.push_str(&shown);
        }
    }

    fn space(&mut self) {
        if !self.text.is_empty() && !self.text.ends_with(char::is_whitespace) {
            self.text.push(' ');
        }
    }

    fn newline(&mut self) {
        let trimmed = self.text.trim_end_matches(' ').len();
        self.text.truncate(trimmed);
        if !self.text.is_empty() && !self.text.ends_with('\n') {
            self.text.push('\n');
        }
    }
}
