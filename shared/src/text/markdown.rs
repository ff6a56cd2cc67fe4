//! Markdown: the text as written; the title is the first level-1 ATX heading (`# Title`).

use super::extract::Extracted;

/// The text of a Markdown document and its first `# ` heading (outside fenced code blocks).
pub(super) fn extract(source: &str) -> Extracted {
    Extracted { title: first_heading(source), text: source.to_owned() }
}

fn first_heading(source: &str) -> Option<String> {
    let mut fence: Option<&str> = None;
    for line in source.lines() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let trimmed = line.trim_start_matches(' ');
        if indent > 3 {
            continue;
        }
        if let Some(open) = fence {
            if trimmed.starts_with(open) {
                fence = None;
            }
            continue;
        }
        if let Some(marker) = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m)) {
            fence = Some(marker);
            continue;
        }
        let heading = trimmed.strip_prefix("# ").or_else(|| trimmed.strip_prefix("#\t"));
        if let Some(heading) = heading {
            // A closing sequence of `#`s is not part of the heading.
            let heading = heading.trim().trim_end_matches('#').trim_end();
            if !heading.is_empty() {
                return Some(heading.to_owned());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_title_is_the_first_level_one_heading_outside_code() {
        let source =
            "intro line\n\n```sh\n# not a heading\n```\n\n## Sub\n\n# Real Title #\n\n# Later\n";
        let extracted = extract(source);
        assert_eq!(extracted.title.as_deref(), Some("Real Title"));
        assert_eq!(extracted.text, source);
        assert_eq!(first_heading("#hashtag\n    # indented code\n"), None);
        assert_eq!(first_heading("~~~\n# code\n~~~\n  # Spaced"), Some("Spaced".into()));
    }
}
