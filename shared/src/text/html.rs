//! HTML: the visible text, rendered as Markdown-like text so the chunker can split at headings.
//!
//! Headings become `#` lines (`<h2>` → `## `), list items `- ` lines, table cells are joined with
//! ` | `, `<pre>` keeps its whitespace, and other whitespace collapses as a browser shows it. Link
//! and button text is kept (the URL is not). Dropped: what a reader does not see or that repeats
//! on every page — `<script>`, `<style>`, `<noscript>`, `<template>`, `<svg>`, `<canvas>`,
//! `<iframe>`, `<object>`, `<head>` (except `<title>`, which becomes the title) and `<nav>`
//! (site navigation). The tree is walked without recursion, so deep nesting cannot overflow the
//! stack.

use ego_tree::iter::Edge;
use scraper::{Html, Node};

use super::extract::Extracted;

/// Elements whose content is not part of the document's text.
const SKIPPED: &[&str] = &[
    "script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "head", "nav",
];

/// Elements that start and end a block (a line break before and after).
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "body",
    "dd",
    "details",
    "dialog",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "header",
    "hr",
    "li",
    "main",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "tfoot",
    "thead",
    "tr",
    "ul",
    "caption",
];

/// The text of an HTML document and its `<title>` (else its first `<h1>`).
pub(super) fn extract(source: &str) -> Extracted {
    let html = Html::parse_document(source);
    let mut out = Renderer::default();
    let mut title: Option<String> = None;
    let mut in_title = false;
    let mut first_h1: Option<String> = None;
    let mut h1_text: Option<String> = None;
    let mut skip_depth = 0usize;
    for edge in html.tree.root().traverse() {
        match edge {
            Edge::Open(node) => match node.value() {
                Node::Element(element) => {
                    let name = element.name();
                    if name == "title" && title.is_none() {
                        in_title = true;
                        title = Some(String::new());
                    }
                    if skip_depth > 0 || SKIPPED.contains(&name) {
                        skip_depth += 1;
                        continue;
                    }
                    if name == "h1" && first_h1.is_none() {
                        h1_text = Some(String::new());
                    }
                    out.open(name);
                }
                Node::Text(text) => {
                    if in_title && let Some(title) = title.as_mut() {
                        title.push_str(text);
                    }
                    if skip_depth == 0 {
                        if let Some(h1) = h1_text.as_mut() {
                            h1.push_str(text);
                        }
                        out.text(text);
                    }
                }
                _ => {}
            },
            Edge::Close(node) => {
                if let Node::Element(element) = node.value() {
                    let name = element.name();
                    if name == "title" {
                        in_title = false;
                    }
                    if skip_depth > 0 {
                        skip_depth -= 1;
                        continue;
                    }
                    if name == "h1" && first_h1.is_none() {
                        first_h1 = h1_text.take();
                    }
                    out.close(name);
                }
            }
        }
    }
    let title = title.filter(|t| !t.trim().is_empty()).or(first_h1);
    Extracted { text: out.finish(), title }
}

/// Writes text with Markdown-like block structure.
#[derive(Debug, Default)]
struct Renderer {
    out: String,
    /// Line breaks owed before the next text (the largest asked for since the last text).
    breaks: usize,
    /// A space is owed before the next text.
    space: bool,
    /// What the next text on this line starts with (`## `, `- `).
    prefix: Option<String>,
    /// Inside `<pre>`: whitespace is kept.
    pre: usize,
    /// The current line has a table cell already.
    cell: bool,
}

impl Renderer {
    fn open(&mut self, name: &str) {
        if let Some(level) = heading_level(name) {
            self.block(2);
            self.prefix = Some(format!("{} ", "#".repeat(level)));
        } else if name == "li" {
            self.block(1);
            self.prefix = Some("- ".to_owned());
        } else if name == "br" {
            self.block(1);
        } else if name == "tr" {
            self.block(1);
            self.cell = false;
        } else if name == "td" || name == "th" {
            if self.cell {
                self.prefix = Some(" | ".to_owned());
            }
            self.cell = true;
        } else if BLOCKS.contains(&name) {
            self.block(if name == "li" || name == "dt" || name == "dd" { 1 } else { 2 });
        }
        if name == "pre" {
            self.pre += 1;
        }
    }

    fn close(&mut self, name: &str) {
        if heading_level(name).is_some() {
            self.prefix = None;
            self.block(2);
        } else if name == "li" || name == "tr" {
            self.prefix = None;
            self.block(1);
        } else if BLOCKS.contains(&name) {
            self.block(2);
        } else if name == "td" || name == "th" {
            self.space = true;
        }
        if name == "pre" {
            self.pre = self.pre.saturating_sub(1);
        }
    }

    /// A block boundary: at least `breaks` line breaks before the next text.
    fn block(&mut self, breaks: usize) {
        self.breaks = self.breaks.max(breaks);
        self.space = false;
    }

    fn text(&mut self, text: &str) {
        if self.pre > 0 {
            if !text.is_empty() {
                self.start_text();
                self.out.push_str(text);
            }
            return;
        }
        let starts_with_space = text.starts_with(char::is_whitespace);
        let ends_with_space = text.ends_with(char::is_whitespace);
        let mut words = text.split_whitespace().peekable();
        if words.peek().is_none() {
            self.space |= !text.is_empty();
            return;
        }
        self.space |= starts_with_space;
        self.start_text();
        for (i, word) in words.enumerate() {
            if i > 0 {
                self.out.push(' ');
            }
            self.out.push_str(word);
        }
        self.space = ends_with_space;
    }

    /// Writes the breaks, prefix or space owed before text.
    fn start_text(&mut self) {
        if self.breaks > 0 {
            if !self.out.is_empty() {
                let trimmed = self.out.trim_end_matches([' ', '\t']).len();
                self.out.truncate(trimmed);
                let have = self.out.len() - self.out.trim_end_matches('\n').len();
                for _ in have..self.breaks {
                    self.out.push('\n');
                }
            }
            self.breaks = 0;
            self.space = false;
        }
        if let Some(prefix) = self.prefix.take() {
            self.out.push_str(&prefix);
            self.space = false;
        }
        if self.space && !self.out.is_empty() && !self.out.ends_with(char::is_whitespace) {
            self.out.push(' ');
        }
        self.space = false;
    }

    fn finish(self) -> String {
        self.out.trim().to_owned()
    }
}

fn heading_level(name: &str) -> Option<usize> {
    match name {
        "h1" => Some(1),
        "h2" => Some(2),
        "h3" => Some(3),
        "h4" => Some(4),
        "h5" => Some(5),
        "h6" => Some(6),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_markup_keeps_its_words_and_spaces() {
        let extracted =
            extract("<p>Read the <a href='/g'>setup <b>guide</b></a>, then <em>run</em>it.</p>");
        assert_eq!(extracted.text, "Read the setup guide, then runit.");
        assert_eq!(extracted.title, None);
    }

    #[test]
    fn blocks_headings_lists_and_tables_get_their_own_lines() {
        let html = "<h1>Title</h1><p>One</p><p>Two<br>lines</p><ul><li>a</li><li>b <i>c</i></li></ul>\
                    <table><tr><th>Name</th><th>Price</th></tr><tr><td>Widget</td><td>3</td></tr></table>\
                    <pre>  keep\n    this</pre><h3></h3><p>end</p>";
        let extracted = extract(html);
        assert_eq!(
            extracted.text,
            "# Title\n\nOne\n\nTwo\nlines\n\n- a\n- b c\n\nName | Price\nWidget | 3\n\n  keep\n    this\n\nend"
        );
        assert_eq!(extracted.title.as_deref(), Some("Title"));
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        let html = format!("{}deep{}", "<div><span>".repeat(5_000), "</span></div>".repeat(5_000));
        assert_eq!(extract(&html).text, "deep");
    }
}
