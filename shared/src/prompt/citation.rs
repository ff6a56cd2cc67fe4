//! Citations in a model's answer: `[n]`, `[n, m]`, `[n-m]` and `[n][m]` markers mapped back to the
//! numbered sources of the RAG prompt.
//!
//! What is *not* a citation: markdown links and images (`[1](https://…)`), link reference
//! definitions (`[1]: https://…` at the start of a line), anything inside inline code or fenced
//! code blocks (`` `xs[1]` ``), and brackets holding anything but numbers (`[a]`, `[1.5]`, `[-1]`,
//! `[ ]`, `[x]`). A number of more than six digits (`[20240101]`) is not a citation either.

use std::ops::Range;

use serde::{Deserialize, Serialize};

/// A source the answer cites.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Citation {
    /// The source's number in the prompt (1-based).
    pub number: u32,
    /// The cited source's id.
    pub source_id: String,
    /// Byte ranges in the answer of every bracket group that cites it (`[1, 2]` whole), in order.
    pub spans: Vec<Range<usize>>,
}

/// A cited number that names no source (0, or above the number of sources).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidCitation {
    pub number: u32,
    /// Byte range in the answer of the bracket group it appears in.
    pub span: Range<usize>,
}

/// The citations found in an answer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CitationReport {
    /// Cited sources, each once, in order of first appearance.
    pub citations: Vec<Citation>,
    /// Every occurrence of a number that names no source, in order.
    pub invalid: Vec<InvalidCitation>,
}

/// Finds the citations in `answer`; `source_ids[n - 1]` is the id of source `[n]`.
pub fn parse_citations<S: AsRef<str>>(answer: &str, source_ids: &[S]) -> CitationReport {
    let mut report = CitationReport::default();
    for (span, items) in citation_groups(answer) {
        for item in items {
            let (low, high) = (item.first.min(item.last), item.first.max(item.last));
            for number in low.max(1)..=high.min(u32::try_from(source_ids.len()).unwrap_or(u32::MAX))
            {
                report.cite(number, &source_ids[number as usize - 1], &span);
            }
            for number in [item.first, item.last] {
                let names_no_source = number == 0 || number as usize > source_ids.len();
                let already =
                    report.invalid.last().is_some_and(|i| i.span == span && i.number == number);
                if names_no_source && !already {
                    report.invalid.push(InvalidCitation { number, span: span.clone() });
                }
            }
        }
    }
    report
}

impl CitationReport {
    fn cite<S: AsRef<str>>(&mut self, number: u32, source_id: &S, span: &Range<usize>) {
        match self.citations.iter_mut().find(|c| c.number == number) {
            Some(citation) => {
                if citation.spans.last() != Some(span) {
                    citation.spans.push(span.clone());
                }
            }
            None => self.citations.push(Citation {
                number,
                source_id: source_id.as_ref().to_owned(),
                spans: vec![span.clone()],
            }),
        }
    }

    /// The cited source numbers in order of first appearance.
    pub fn numbers(&self) -> Vec<u32> {
        self.citations.iter().map(|c| c.number).collect()
    }
}

/// One number (`first == last`) or range of a bracket group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Item {
    first: u32,
    last: u32,
}

/// Every citation bracket group of `text` outside code, with its byte span.
fn citation_groups(text: &str) -> Vec<(Range<usize>, Vec<Item>)> {
    let code = code_ranges(text);
    let mut code = code.iter().peekable();
    let bytes = text.as_bytes();
    let mut groups = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        while code.peek().is_some_and(|range| range.end <= pos) {
            code.next();
        }
        if let Some(range) = code.peek().filter(|range| range.start <= pos) {
            pos = range.end;
            continue;
        }
        let group = (bytes[pos] == b'[').then(|| parse_group(text, pos)).flatten();
        match group {
            Some((items, end)) => {
                if !is_link(text, pos, end) {
                    groups.push((pos..end, items));
                }
                pos = end;
            }
            None => pos += 1,
        }
    }
    groups
}

/// True when the bracket group `start..end` is a markdown link or image (`[1](url)`) or a link
/// reference definition (`[1]: url` at the start of a line).
fn is_link(text: &str, start: usize, end: usize) -> bool {
    let after = &text[end..];
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let starts_line = text[line_start..start].bytes().all(|b| b == b' ' || b == b'\t');
    after.starts_with('(') || (starts_line && after.starts_with(':'))
}

/// Parses a citation group at `start` (a `[`): numbers and ranges separated by commas, spaces
/// allowed. Returns its items and the byte index just past the `]`.
fn parse_group(text: &str, start: usize) -> Option<(Vec<Item>, usize)> {
    let mut pos = start + 1;
    let mut items = Vec::new();
    loop {
        pos = skip_spaces(text, pos);
        let (first, after_first) = number(text, pos)?;
        pos = skip_spaces(text, after_first);
        let rest = &text[pos..];
        let dash = ["-", "\u{2013}"].into_iter().find(|dash| rest.starts_with(dash));
        let last = match dash {
            Some(dash) => {
                let (last, after_last) = number(text, skip_spaces(text, pos + dash.len()))?;
                pos = skip_spaces(text, after_last);
                last
            }
            None => first,
        };
        items.push(Item { first, last });
        match text.as_bytes().get(pos)? {
            b',' => pos += 1,
            b']' => return Some((items, pos + 1)),
            _ => return None,
        }
    }
}

fn skip_spaces(text: &str, pos: usize) -> usize {
    pos + text[pos..].bytes().take_while(|&b| b == b' ' || b == b'\t').count()
}

/// A number of 1 to 6 ASCII digits at `pos`, and the index after it.
fn number(text: &str, pos: usize) -> Option<(u32, usize)> {
    let digits = text[pos..].bytes().take_while(u8::is_ascii_digit).count();
    if !(1..=6).contains(&digits) {
        return None;
    }
    let value = text[pos..pos + digits].parse().ok()?;
    Some((value, pos + digits))
}

/// Byte ranges of fenced code blocks (```` ``` ```` or `~~~`, closed by a fence of the same kind
/// at least as long, or by the end of the text) and of inline code spans (a backtick run closed by
/// a run of the same length on the same line).
fn code_ranges(text: &str) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut open_fence: Option<(u8, usize, usize)> = None; // (fence byte, run length, start)
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_start_matches(' ');
        let fence = if line.len() - body.len() <= 3 { fence_marker(body) } else { None };
        match (open_fence, fence) {
            (None, Some((byte, run))) => open_fence = Some((byte, run, offset)),
            (Some((byte, run, start)), Some((b, r)))
                if b == byte && r >= run && body[r..].trim().is_empty() =>
            {
                ranges.push(start..offset + line.len());
                open_fence = None;
            }
            (None, None) => inline_code(line, offset, &mut ranges),
            (Some(_), _) => {}
        }
        offset += line.len();
    }
    if let Some((_, _, start)) = open_fence {
        ranges.push(start..text.len());
    }
    ranges
}

/// A code fence opener/closer at the start of `body`: its byte and run length (3 or more).
fn fence_marker(body: &str) -> Option<(u8, usize)> {
    let byte = *body.as_bytes().first()?;
    if byte != b'`' && byte != b'~' {
        return None;
    }
    let run = body.bytes().take_while(|&b| b == byte).count();
    // A backtick fence's info string has no backticks: "```x```" is inline code, not a fence.
    let inline = byte == b'`' && body[run..].contains('`');
    (run >= 3 && !inline).then_some((byte, run))
}

/// Appends the inline code spans of one line (at `offset` in the text) to `ranges`.
fn inline_code(line: &str, offset: usize, ranges: &mut Vec<Range<usize>>) {
    let bytes = line.as_bytes();
    let mut pos = 0;
    while let Some(found) = line[pos..].find('`') {
        let open = pos + found;
        let run = bytes[open..].iter().take_while(|&&b| b == b'`').count();
        let mut search = open + run;
        let mut closed = None;
        while let Some(found) = line[search..].find('`') {
            let close = search + found;
            let close_run = bytes[close..].iter().take_while(|&&b| b == b'`').count();
            if close_run == run {
                closed = Some(close + close_run);
                break;
            }
            search = close + close_run;
        }
        match closed {
            Some(end) => {
                ranges.push(offset + open..offset + end);
                pos = end;
            }
            None => pos = open + run,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDS: [&str; 4] = [
        "s3://kb/encryption.md#chunk-0",
        "s3://kb/versioning.md#chunk-3",
        "s3://kb/lifecycle.md#chunk-1",
        "s3://kb/replication.md#chunk-2",
    ];

    fn numbers(answer: &str) -> Vec<u32> {
        parse_citations(answer, &IDS).numbers()
    }

    #[test]
    fn single_citations_map_to_source_ids_with_their_positions() {
        let answer = "S3 encrypts new objects by default [1]. Versioning keeps old variants [2].";
        let report = parse_citations(answer, &IDS);
        assert_eq!(report.numbers(), [1, 2]);
        assert_eq!(report.citations[0].source_id, "s3://kb/encryption.md#chunk-0");
        assert_eq!(report.citations[1].source_id, "s3://kb/versioning.md#chunk-3");
        let span = report.citations[0].spans[0].clone();
        assert_eq!(&answer[span], "[1]");
        assert_eq!(&answer[report.citations[1].spans[0].clone()], "[2]");
        assert!(report.invalid.is_empty());
    }

    #[test]
    fn comma_lists_ranges_and_adjacent_groups_are_citations() {
        assert_eq!(numbers("Both apply [1, 3]."), [1, 3]);
        assert_eq!(numbers("Both apply [1,3]."), [1, 3]);
        assert_eq!(numbers("All of them [2-4]."), [2, 3, 4]);
        assert_eq!(numbers("All of them [2 – 4]."), [2, 3, 4]);
        assert_eq!(numbers("Seen twice [3][1]."), [3, 1]);
        assert_eq!(numbers("Mixed [1, 3-4]."), [1, 3, 4]);
        assert_eq!(numbers("Wikipedia style.[2]"), [2]);
    }

    #[test]
    fn citations_are_deduplicated_in_order_of_first_appearance() {
        let answer = "First [3]. Then [1][3]. Again [1, 1] and [3].";
        let report = parse_citations(answer, &IDS);
        assert_eq!(report.numbers(), [3, 1]);
        let spans: Vec<&str> =
            report.citations[0].spans.iter().map(|s| &answer[s.clone()]).collect();
        assert_eq!(spans, ["[3]", "[3]", "[3]"]);
        assert_eq!(report.citations[1].spans.len(), 2, "[1, 1] counts as one span");
    }

    #[test]
    fn numbers_naming_no_source_are_reported_not_cited() {
        let answer = "Zero [0], too high [5], partly valid [1, 9], range past the end [3-6].";
        let report = parse_citations(answer, &IDS);
        assert_eq!(report.numbers(), [1, 3, 4]);
        let invalid: Vec<(u32, &str)> =
            report.invalid.iter().map(|i| (i.number, &answer[i.span.clone()])).collect();
        assert_eq!(invalid, [(0, "[0]"), (5, "[5]"), (9, "[1, 9]"), (6, "[3-6]")]);
    }

    #[test]
    fn with_no_sources_every_number_is_invalid() {
        let report = parse_citations::<&str>("Claimed [1].", &[]);
        assert!(report.citations.is_empty());
        assert_eq!(report.invalid, [InvalidCitation { number: 1, span: 8..11 }]);
    }

    #[test]
    fn markdown_links_and_reference_definitions_are_not_citations() {
        assert!(numbers("See [the guide](https://docs.aws.amazon.com/s3/) for more.").is_empty());
        assert!(numbers("See [1](https://docs.aws.amazon.com/s3/).").is_empty());
        assert!(numbers("![2](diagram.png)").is_empty());
        assert!(numbers("Text.\n\n[1]: https://docs.aws.amazon.com/s3/\n").is_empty());
        // A citation followed by a colon mid-sentence is still a citation.
        assert_eq!(numbers("As noted [1]: encryption is on."), [1]);
    }

    #[test]
    fn bracketed_text_that_is_not_a_number_list_is_ignored() {
        for text in [
            "[a]",
            "[1.5]",
            "[-1]",
            "[]",
            "[ ]",
            "- [x] done",
            "[1,]",
            "[1, a]",
            "[1 2]",
            "[20240101]",
            "[1-]",
            "[Source 1]",
            "[1\n]",
        ] {
            assert!(numbers(text).is_empty(), "{text:?}");
        }
    }

    #[test]
    fn code_spans_and_blocks_are_skipped() {
        let answer = "Index with `xs[1]` or ``ys[2]`` [3].\n\
            ```python\nvalues = [1, 2]\nprint(values[4])\n```\n\
            After the block [4].\n\
            ~~~\n[2]\n~~~~\n";
        assert_eq!(numbers(answer), [3, 4]);
        // An unclosed backtick is literal; an unclosed fence runs to the end.
        assert_eq!(numbers("A stray ` then [1]."), [1]);
        assert!(numbers("```\n[1]\n").is_empty());
        assert_eq!(numbers("```xs[1]``` on one line is inline code [2]."), [2]);
    }

    #[test]
    fn nested_brackets_and_multibyte_text_keep_byte_positions() {
        let answer = "Le chiffrement est activé par défaut [[2]] — voir aussi [1].";
        let report = parse_citations(answer, &IDS);
        assert_eq!(report.numbers(), [2, 1]);
        assert_eq!(&answer[report.citations[0].spans[0].clone()], "[2]");
        assert_eq!(&answer[report.citations[1].spans[0].clone()], "[1]");
    }
}
