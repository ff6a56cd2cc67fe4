//! Extraction and chunking of the fixture documents in `tests/fixtures/text/` (see its README).

use std::collections::BTreeMap;

use super::*;
use crate::config::IngestLimits;
use crate::embed::EmbeddingModel;

const LIMIT: u64 = 1024 * 1024;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/text/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|err| panic!("read {path}: {err}"))
}

fn object(key: &str, content_type: Option<&str>, body: Vec<u8>) -> S3Object {
    S3Object {
        source: DocumentRef {
            bucket: "quarry-docs".into(),
            key: key.into(),
            version_id: Some("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY".into()),
            etag: Some("d41d8cd98f00b204e9800998ecf8427e".into()),
        },
        content_type: content_type.map(str::to_owned),
        user_metadata: BTreeMap::from([("department".to_owned(), "support".to_owned())]),
        body,
    }
}

fn read(key: &str, content_type: Option<&str>, file: &str) -> Document {
    extract(&object(key, content_type, fixture(file)), LIMIT)
        .unwrap_or_else(|err| panic!("{file}: {err}"))
}

#[test]
fn plain_text_is_read_as_written_and_keeps_its_metadata() {
    let doc = read("meetings/notes.txt", Some("text/plain; charset=utf-8"), "notes.txt");
    assert_eq!(doc.format, Format::Plain);
    assert_eq!(doc.title, "notes.txt");
    assert_eq!(doc.text, String::from_utf8(fixture("notes.txt")).expect("utf-8"));
    assert_eq!(doc.size, fixture("notes.txt").len() as u64);
    assert_eq!(doc.source.version_id.as_deref(), Some("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"));
    assert_eq!(doc.source.etag.as_deref(), Some("d41d8cd98f00b204e9800998ecf8427e"));
    assert_eq!(doc.user_metadata["department"], "support");
}

#[test]
fn markdown_titles_come_from_the_first_level_one_heading() {
    let doc = read("docs/guide.md", Some("binary/octet-stream"), "guide.md");
    assert_eq!(doc.format, Format::Markdown);
    assert_eq!(doc.content_type, "text/markdown");
    assert_eq!(doc.title, "Quarry Setup Guide");
    assert!(doc.text.contains("## Install\n"), "{}", doc.text);
}

#[test]
fn html_keeps_headings_links_and_tables_and_drops_scripts_styles_and_navigation() {
    let doc = read("help/returns.html", Some("text/html"), "page.html");
    assert_eq!(doc.format, Format::Html);
    assert_eq!(doc.title, "Returns & Refunds | Quarry Store");
    for kept in [
        "# Returns & Refunds\n\nYou can return any item within 30 days of delivery. Read the \
         step-by-step returns guide before you ship.",
        "## Refund timing\n\nRefunds reach your card in 5–7 business days.",
        "- Unopened items: full refund\n- Opened items: 10% restocking fee",
        "## Shipping costs\n\nRegion | Return label\nEU | Free\nRest of world | €12",
        "Questions? Contact support.",
    ] {
        assert!(doc.text.contains(kept), "missing {kept:?} in:\n{}", doc.text);
    }
    for dropped in ["dataLayer", "font-family", "My account", "tracking-id-123", "JavaScript"] {
        assert!(!doc.text.contains(dropped), "{dropped:?} leaked into:\n{}", doc.text);
    }
}

#[test]
fn json_is_flattened_to_path_value_lines() {
    let doc = read("data/catalog.json", None, "catalog.json");
    assert_eq!(doc.format, Format::Json);
    assert_eq!(doc.title, "catalog.json");
    assert_eq!(
        doc.text,
        "store: Quarry Supplies\nupdated: 2024-05-01\n\
         items[0].name: Widget\nitems[0].price: 3\nitems[0].tags[0]: small\nitems[0].tags[1]: blue\n\
         items[0].in_stock: true\n\
         items[1].name: Gadget Pro\nitems[1].price: 12.5\nitems[1].tags: []\nitems[1].in_stock: false\n\
         items[1].notes: null\n\
         shipping.regions.EU: free\nshipping.regions[\"rest of world\"]: 12 EUR"
    );
}

#[test]
fn csv_rows_are_named_by_their_header() {
    let doc = read("data/products.csv", Some("text/csv"), "products.csv");
    assert_eq!(doc.format, Format::Csv);
    assert_eq!(
        doc.text,
        "name: Widget; price: 3; description: Small, blue widget\n\
         name: Gadget \"Pro\"; price: 12.50; description: Ships in two boxes\n\
         name: Bolt; price: 0.10"
    );
}

#[test]
fn pdf_text_comes_line_by_line_with_the_info_title() {
    let doc = read("handbook.pdf", None, "handbook.pdf");
    assert_eq!(doc.format, Format::Pdf);
    assert_eq!(doc.content_type, "application/pdf");
    assert_eq!(doc.title, "Quarry Handbook — 2024");
    assert_eq!(
        doc.text,
        "Quarry Employee Handbook\nRemote work is welcome on Fridays.\n\
         Expenses are reimbursed within 30 days.\nHolidays: 25 days per year.\n\n\
         Security\nBadges must be worn at all times.\nReport lost badges to security@example.com."
    );
}

#[test]
fn corrupt_pdfs_are_errors() {
    for (name, body) in [
        ("corrupt.pdf", fixture("corrupt.pdf")),
        ("random.pdf", (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()),
        ("header-only.pdf", b"%PDF-1.7\n".to_vec()),
    ] {
        let err = extract(&object(name, None, body), LIMIT).expect_err(name);
        assert!(
            matches!(&err, ExtractError::Corrupt { format: Format::Pdf, reason } if !reason.is_empty()),
            "{name}: {err}"
        );
        assert!(err.to_string().starts_with("the pdf document is corrupt: "), "{err}");
    }
}

#[test]
fn damaged_pdfs_never_panic() {
    // Every truncation and a spread of single-byte flips of a valid file: each is an error or a
    // (possibly partial) document, never a panic (the release profile aborts on panic).
    let valid = fixture("handbook.pdf");
    for len in (0..valid.len()).step_by(7) {
        let _ = extract(&object("cut.pdf", None, valid[..len].to_vec()), LIMIT);
    }
    for at in (0..valid.len()).step_by(5) {
        let mut flipped = valid.clone();
        flipped[at] ^= 0xA5;
        let _ = extract(&object("flipped.pdf", None, flipped), LIMIT);
    }
}

#[test]
fn binary_and_empty_objects_are_refused() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01".to_vec();
    assert!(matches!(
        extract(&object("photo.txt", None, png.clone()), LIMIT),
        Err(ExtractError::Binary { format: Format::Plain, .. })
    ));
    assert!(matches!(
        extract(&object("photo.png", Some("image/png"), png), LIMIT),
        Err(ExtractError::Unsupported { .. })
    ));
    for key in ["empty.txt", "empty.md", "empty.pdf", "empty.csv"] {
        let err = extract(&object(key, None, Vec::new()), LIMIT).expect_err(key);
        assert!(matches!(err, ExtractError::Empty { .. }), "{key}: {err}");
    }
}

fn settings(chars: u32, overlap: u32) -> ChunkSettings {
    let limits =
        IngestLimits { chunk_chars: chars, chunk_overlap_chars: overlap, ..Default::default() };
    ChunkSettings::for_model(EmbeddingModel::TitanTextV2, &limits).expect("valid settings")
}

/// A Markdown document of `sections` sections of about 300 characters under `## ` headings.
fn long_markdown(sections: usize) -> String {
    let mut text = String::from("# Handbook\n\nAn introduction to the handbook.\n");
    for section in 0..sections {
        text.push_str(&format!("\n## Section {section}\n\n"));
        for sentence in 0..6 {
            text.push_str(&format!(
                "Rule {section}.{sentence} says what to do in case {sentence}. "
            ));
        }
        text.push('\n');
    }
    text
}

fn markdown(text: String) -> Document {
    Document {
        source: DocumentRef::new("quarry-docs", "handbook.md"),
        content_type: "text/markdown".into(),
        format: Format::Markdown,
        size: text.len() as u64,
        title: "Handbook".into(),
        user_metadata: BTreeMap::new(),
        text,
    }
}

#[test]
fn markdown_chunks_break_at_headings() {
    let doc = markdown(long_markdown(8));
    let chunks = chunk(&doc, &settings(400, 0)).expect("chunks");
    assert!(chunks.len() >= 8, "{} chunks", chunks.len());
    for piece in &chunks {
        assert!(
            piece.text.starts_with('#'),
            "chunk {} does not start at a heading:\n{}",
            piece.index,
            piece.text
        );
        let last_line = piece.text.lines().last().unwrap_or_default();
        assert!(
            !last_line.starts_with('#'),
            "chunk {} ends with a heading:\n{}",
            piece.index,
            piece.text
        );
    }
    // The same text split as plain text does not keep headings with their sections.
    let plain = Document { format: Format::Plain, ..doc };
    let plain_chunks = chunk(&plain, &settings(400, 0)).expect("chunks");
    assert!(plain_chunks.iter().any(|piece| !piece.text.starts_with('#')));
}

#[test]
fn chunks_stay_within_the_limits_and_point_into_the_text() {
    for (doc, chars) in [
        (read("docs/guide.md", None, "guide.md"), 120),
        (read("help/returns.html", None, "page.html"), 150),
        (read("handbook.pdf", None, "handbook.pdf"), 100),
        (markdown(long_markdown(40)), 1_000),
    ] {
        let chunks = chunk(&doc, &settings(chars, 20)).expect("chunks");
        assert!(chunks.len() > 1, "{}: one chunk", doc.source.key);
        for (index, piece) in chunks.iter().enumerate() {
            assert_eq!(piece.index, index);
            assert!(
                piece.text.chars().count() <= chars as usize,
                "{}: {}",
                doc.source.key,
                piece.text
            );
            assert!(!piece.text.trim().is_empty());
            assert_eq!(&doc.text[piece.byte_range.clone()], piece.text);
            let by_chars: String = doc
                .text
                .chars()
                .skip(piece.char_range.start)
                .take(piece.char_range.len())
                .collect();
            assert_eq!(by_chars, piece.text);
        }
    }
}

#[test]
fn consecutive_chunks_overlap_by_the_configured_amount() {
    let text =
        (0..200).map(|i| format!("Sentence number {i} is here.")).collect::<Vec<_>>().join(" ");
    let doc = Document { format: Format::Plain, ..markdown(text) };
    let with_overlap = chunk(&doc, &settings(300, 100)).expect("chunks");
    for pair in with_overlap.windows(2) {
        let shared = pair[0].byte_range.end.saturating_sub(pair[1].byte_range.start);
        assert!(pair[1].byte_range.start < pair[0].byte_range.end, "no overlap: {pair:?}");
        assert!(shared <= 100, "overlap of {shared} bytes is over 100");
    }
    let without = chunk(&doc, &settings(300, 0)).expect("chunks");
    for pair in without.windows(2) {
        assert!(pair[1].byte_range.start >= pair[0].byte_range.end, "overlap: {pair:?}");
    }
    assert!(with_overlap.len() > without.len());
}

#[test]
fn chunk_ids_are_deterministic_per_bucket_key_and_index() {
    let doc = read("docs/guide.md", None, "guide.md");
    let first = chunk(&doc, &settings(150, 20)).expect("chunks");
    let again = chunk(&doc, &settings(150, 20)).expect("chunks");
    assert_eq!(first, again);
    let prefix = doc.source.document_id();
    for piece in &first {
        assert_eq!(piece.id, format!("{prefix}-{:05}", piece.index));
        assert_eq!(piece.id, doc.source.chunk_id(piece.index));
    }
    // A new version of the same object gets the same ids; another object does not.
    let mut newer = doc.clone();
    newer.source.version_id = Some("v9".into());
    newer.text.push_str("\n\nOne more paragraph.");
    let newer_chunks = chunk(&newer, &settings(150, 20)).expect("chunks");
    assert_eq!(newer_chunks[0].id, first[0].id);
    let elsewhere = Document { source: DocumentRef::new("other-bucket", "docs/guide.md"), ..doc };
    assert_ne!(chunk(&elsewhere, &settings(150, 20)).expect("chunks")[0].id, first[0].id);
}
