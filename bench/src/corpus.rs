//! The benchmark corpus: documents generated deterministically (markdown, HTML, PDF, CSV), so every
//! run reads the same bytes and nothing large is committed.
//!
//! Text comes from a fixed vocabulary drawn by a linear congruential generator seeded per document:
//! prose of sentences and paragraphs, laid out as each format does (headings, lists, tables and
//! code in markdown; a page with navigation, script and a table in HTML; pages of Helvetica text
//! lines in Flate-compressed PDF content streams; rows of a product table in CSV).

use std::collections::BTreeMap;

use lopdf::content::{Content, Operation};
use lopdf::{Dictionary, Object, Stream, dictionary};
use quarry::text::{DocumentRef, S3Object};

/// What can go wrong generating the corpus.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("could not build the generated PDF: {0}")]
    Pdf(#[from] lopdf::Error),
    #[error("could not write the generated PDF: {0}")]
    PdfWrite(#[from] std::io::Error),
}

/// The bucket the generated documents claim to come from.
pub const BUCKET: &str = "bench-documents";

/// A generated format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Markdown,
    Html,
    Pdf,
    Csv,
}

impl Kind {
    /// Every format, in report order.
    pub const ALL: [Kind; 4] = [Kind::Markdown, Kind::Html, Kind::Pdf, Kind::Csv];

    /// The name used in benchmark ids and tables.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Markdown => "markdown",
            Kind::Html => "html",
            Kind::Pdf => "pdf",
            Kind::Csv => "csv",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Kind::Markdown => "md",
            Kind::Html => "html",
            Kind::Pdf => "pdf",
            Kind::Csv => "csv",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Kind::Markdown => "text/markdown",
            Kind::Html => "text/html",
            Kind::Pdf => "application/pdf",
            Kind::Csv => "text/csv",
        }
    }
}

const WORDS: &[&str] = &[
    "the",
    "gateway",
    "routes",
    "each",
    "request",
    "to",
    "a",
    "model",
    "and",
    "returns",
    "its",
    "answer",
    "with",
    "usage",
    "latency",
    "cost",
    "documents",
    "are",
    "split",
    "into",
    "chunks",
    "that",
    "embedding",
    "vectors",
    "index",
    "for",
    "retrieval",
    "team",
    "account",
    "region",
    "policy",
    "allows",
    "only",
    "listed",
    "models",
    "streaming",
    "tokens",
    "arrive",
    "as",
    "they",
    "generated",
    "by",
    "service",
    "quota",
    "throttling",
    "retry",
    "backoff",
    "deadline",
    "bucket",
    "object",
    "version",
    "event",
    "queue",
    "batch",
    "failure",
    "partial",
    "response",
    "deploy",
    "stack",
    "template",
    "role",
    "permission",
    "audit",
    "log",
    "metric",
    "alarm",
    "dashboard",
    "office",
    "opens",
    "at",
    "nine",
    "visitors",
    "parking",
    "is",
    "free",
    "expenses",
    "reimbursed",
    "within",
    "thirty",
    "days",
    "holidays",
    "per",
    "year",
    "security",
    "badges",
    "must",
    "be",
    "worn",
    "all",
    "times",
    "report",
    "lost",
    "remote",
    "work",
    "welcome",
    "on",
    "fridays",
    "quarterly",
    "review",
    "covers",
    "goals",
    "progress",
    "risks",
    "customer",
    "feedback",
    "product",
    "roadmap",
    "release",
    "notes",
    "describe",
    "changes",
    "fixes",
    "known",
    "issues",
    "in",
    "this",
    "guide",
    "we",
    "explain",
    "how",
    "configure",
    "local",
    "endpoint",
    "test",
    "suite",
    "runs",
    "every",
    "commit",
    "before",
    "merge",
    "data",
    "stays",
    "your",
    "own",
    "encryption",
    "rest",
    "transit",
    "keys",
    "rotated",
    "monthly",
    "access",
    "reviewed",
];

/// A deterministic pseudo-random source (Knuth's MMIX linear congruential generator).
#[derive(Debug, Clone)]
pub struct Lcg(u64);

impl Lcg {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Lcg(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x2545_F491_4F6C_DD1D)
    }

    /// The next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        self.0 =
            self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 32) as u32
    }

    /// A number in `low..=high`.
    pub fn between(&mut self, low: u32, high: u32) -> u32 {
        low + self.next_u32() % (high - low + 1)
    }

    /// A float in [-1, 1).
    pub fn signed_unit(&mut self) -> f32 {
        (f64::from(self.next_u32()) / f64::from(u32::MAX) * 2.0 - 1.0) as f32
    }

    fn word(&mut self) -> &'static str {
        WORDS[self.next_u32() as usize % WORDS.len()]
    }

    /// A sentence of 8 to 20 words, capitalised, ending in a full stop.
    pub fn sentence(&mut self) -> String {
        let count = self.between(8, 20);
        let mut sentence = String::new();
        for i in 0..count {
            let word = self.word();
            if i == 0 {
                let mut letters = word.chars();
                if let Some(first) = letters.next() {
                    sentence.extend(first.to_uppercase());
                    sentence.push_str(letters.as_str());
                }
            } else {
                sentence.push(' ');
                sentence.push_str(word);
            }
        }
        sentence.push('.');
        sentence
    }

    /// A paragraph of 3 to 7 sentences.
    pub fn paragraph(&mut self) -> String {
        let count = self.between(3, 7);
        (0..count).map(|_| self.sentence()).collect::<Vec<_>>().join(" ")
    }

    /// A title of 3 to 6 words.
    pub fn title(&mut self) -> String {
        let count = self.between(3, 6);
        let words: Vec<&str> = (0..count).map(|_| self.word()).collect();
        let mut title = words.join(" ");
        if let Some(first) = title.get(..1) {
            title = format!("{}{}", first.to_uppercase(), &title[1..]);
        }
        title
    }
}

/// A markdown document of about `bytes` bytes: a title, sections with paragraphs, bullet lists,
/// a table and a code fence now and then.
pub fn markdown(seed: u64, bytes: usize) -> String {
    let mut rng = Lcg::new(seed);
    let mut out = format!("# {}\n\n", rng.title());
    let mut section = 0;
    while out.len() < bytes {
        section += 1;
        out.push_str(&format!("## {section}. {}\n\n", rng.title()));
        for _ in 0..rng.between(2, 4) {
            out.push_str(&rng.paragraph());
            out.push_str("\n\n");
        }
        match section % 4 {
            0 => {
                for _ in 0..rng.between(3, 6) {
                    out.push_str(&format!("- {}\n", rng.sentence()));
                }
                out.push('\n');
            }
            1 => {
                out.push_str("| Setting | Default | Meaning |\n| --- | --- | --- |\n");
                for row in 0..rng.between(3, 5) {
                    out.push_str(&format!(
                        "| `{}_{row}` | {} | {} |\n",
                        rng.word(),
                        rng.between(1, 500),
                        rng.sentence()
                    ));
                }
                out.push('\n');
            }
            2 => {
                out.push_str("```sh\n");
                for _ in 0..rng.between(2, 4) {
                    out.push_str(&format!(
                        "quarry {} --{} {}\n",
                        rng.word(),
                        rng.word(),
                        rng.word()
                    ));
                }
                out.push_str("```\n\n");
            }
            _ => {}
        }
    }
    out
}

/// An HTML page of about `bytes` bytes: head with title and style, navigation, script, sections
/// of headings, paragraphs, lists and a table, and a footer.
pub fn html(seed: u64, bytes: usize) -> String {
    let mut rng = Lcg::new(seed);
    let title = rng.title();
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body {{ font-family: sans-serif; }} .note {{ color: #555; }}</style></head>\n<body>\n\
         <nav><a href=\"/\">Home</a> <a href=\"/docs\">Docs</a> <a href=\"/blog\">Blog</a></nav>\n\
         <script>window.analytics = {{ page: \"{title}\" }};</script>\n<main>\n<h1>{title}</h1>\n"
    );
    let mut section = 0;
    while out.len() < bytes {
        section += 1;
        out.push_str(&format!("<section id=\"s{section}\">\n<h2>{}</h2>\n", rng.title()));
        for _ in 0..rng.between(2, 4) {
            out.push_str(&format!(
                "<p class=\"note\">{} <b>{}</b> {}</p>\n",
                rng.sentence(),
                rng.word(),
                rng.paragraph()
            ));
        }
        if section % 3 == 0 {
            out.push_str("<ul>\n");
            for _ in 0..rng.between(3, 6) {
                out.push_str(&format!("<li>{}</li>\n", rng.sentence()));
            }
            out.push_str("</ul>\n");
        } else if section % 3 == 1 {
            out.push_str("<table><tr><th>Name</th><th>Value</th></tr>\n");
            for _ in 0..rng.between(3, 5) {
                out.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td></tr>\n",
                    rng.word(),
                    rng.sentence()
                ));
            }
            out.push_str("</table>\n");
        }
        out.push_str("</section>\n");
    }
    out.push_str("</main>\n<footer>Generated for quarry's benchmarks.</footer>\n</body></html>\n");
    out
}

/// A CSV product table of about `bytes` bytes: a header and rows of id, name, category, price,
/// stock and a quoted description.
pub fn csv(seed: u64, bytes: usize) -> String {
    let mut rng = Lcg::new(seed);
    let mut out = String::from("id,name,category,price,stock,description\n");
    let mut id = 0;
    while out.len() < bytes {
        id += 1;
        out.push_str(&format!(
            "{id},{} {},{},{}.{:02},{},\"{}\"\n",
            rng.word(),
            rng.word(),
            rng.word(),
            rng.between(1, 999),
            rng.between(0, 99),
            rng.between(0, 10_000),
            rng.sentence()
        ));
    }
    out
}

/// A PDF of `pages` pages of Helvetica text (about 45 lines each), every content stream
/// Flate-compressed, with an Info `/Title`.
pub fn pdf(seed: u64, pages: usize) -> Result<Vec<u8>, CorpusError> {
    let mut rng = Lcg::new(seed);
    let mut doc = lopdf::Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type1",
        "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding",
    });
    let resources_id = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });
    let mut kids = Vec::with_capacity(pages);
    for _ in 0..pages {
        let mut operations = vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), 16.into()]),
            Operation::new("Td", vec![72.into(), 740.into()]),
            Operation::new("Tj", vec![Object::string_literal(rng.title())]),
            Operation::new("Tf", vec!["F1".into(), 10.into()]),
            Operation::new("TL", vec![14.into()]),
        ];
        for _ in 0..45 {
            let mut line = String::new();
            while line.len() < 80 {
                line.push_str(rng.word());
                line.push(' ');
            }
            operations.push(Operation::new("T*", vec![]));
            operations.push(Operation::new("Tj", vec![Object::string_literal(line.trim_end())]));
        }
        operations.push(Operation::new("ET", vec![]));
        let content = Content { operations }.encode()?;
        let content_id = doc.add_object(Stream::new(Dictionary::new(), content));
        kids.push(Object::from(doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "Contents" => content_id,
        })));
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids,
            "Count" => count,
            "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    let info_id = doc.add_object(dictionary! { "Title" => Object::string_literal(rng.title()) });
    doc.trailer.set("Root", catalog_id);
    doc.trailer.set("Info", info_id);
    doc.compress();
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes)?;
    Ok(bytes)
}

/// `count` documents of `kind`, each about `bytes` bytes (PDFs: as many pages as make about
/// `bytes`, at about 2.5 KB per page), as S3 objects under `bench/<kind>/`.
pub fn documents(kind: Kind, count: usize, bytes: usize) -> Result<Vec<S3Object>, CorpusError> {
    (0..count)
        .map(|i| {
            let seed = (i as u64) << 8 | kind as u64;
            let body = match kind {
                Kind::Markdown => markdown(seed, bytes).into_bytes(),
                Kind::Html => html(seed, bytes).into_bytes(),
                Kind::Csv => csv(seed, bytes).into_bytes(),
                Kind::Pdf => pdf(seed, (bytes / 2_500).max(1))?,
            };
            Ok(S3Object {
                source: DocumentRef::new(
                    BUCKET,
                    format!("bench/{}/doc-{i:04}.{}", kind.name(), kind.extension()),
                ),
                content_type: Some(kind.content_type().to_owned()),
                user_metadata: BTreeMap::new(),
                body,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use quarry::text::{ChunkSettings, Format, chunk, extract};

    #[test]
    fn every_format_is_generated_the_same_way_twice_and_extracts_to_text() {
        let settings = ChunkSettings::new(2000, 200).expect("chunk settings");
        for kind in Kind::ALL {
            let first = documents(kind, 2, 20_000).expect("generate");
            let again = documents(kind, 2, 20_000).expect("generate");
            assert_eq!(first, again, "{} is not deterministic", kind.name());
            assert_ne!(first[0].body, first[1].body, "{} documents repeat", kind.name());
            for object in &first {
                let document = extract(object, 1 << 30).expect("the generated document extracts");
                assert!(
                    document.text.len() > 5_000,
                    "{}: {} chars",
                    kind.name(),
                    document.text.len()
                );
                let chunks = chunk(&document, &settings).expect("chunks");
                assert!(chunks.len() >= 3, "{}: {} chunks", kind.name(), chunks.len());
            }
        }
    }

    #[test]
    fn pdf_text_is_what_the_content_streams_draw() {
        let objects = documents(Kind::Pdf, 1, 10_000).expect("generate");
        let document = extract(&objects[0], 1 << 30).expect("extract");
        assert_eq!(document.format, Format::Pdf);
        let words: Vec<&str> = document.text.split_whitespace().collect();
        assert!(words.len() > 1_000, "{} words", words.len());
        assert!(
            words.iter().all(|w| WORDS.contains(&w.trim_end_matches('.').to_lowercase().as_str()))
        );
    }

    #[test]
    fn markdown_reaches_the_asked_size() {
        let text = markdown(7, 50_000);
        assert!(text.len() >= 50_000 && text.len() < 55_000, "{}", text.len());
        assert!(text.starts_with("# "));
    }
}
