//! CSV and TSV: one line per row, each cell named by its column (`name: Widget; price: 3`).
//!
//! The first row is the header. Quoted cells may hold the delimiter, quotes (`""`) and line
//! breaks (written as spaces, so a row stays one line). Empty cells are left out; cells past the
//! header are named `column N` (1-based), as are columns with an empty header. Rows may have
//! different lengths.

use super::document::Format;
use super::extract::{ExtractError, Extracted};

/// The rows of a delimited document as `column: value` lines, at most `max_text` bytes of them.
pub(super) fn extract(
    source: &str,
    delimiter: u8,
    format: Format,
    max_text: u64,
) -> Result<Extracted, ExtractError> {
    let corrupt = |err: csv::Error| ExtractError::Corrupt { format, reason: err.to_string() };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(source.as_bytes());
    let headers: Vec<String> = reader.headers().map_err(corrupt)?.iter().map(one_line).collect();
    let mut text = String::new();
    for record in reader.records() {
        let record = record.map_err(corrupt)?;
        let mut row = String::new();
        for (index, cell) in record.iter().enumerate() {
            let value = one_line(cell);
            if value.is_empty() {
                continue;
            }
            if !row.is_empty() {
                row.push_str("; ");
            }
            match headers.get(index).filter(|name| !name.is_empty()) {
                Some(name) => row.push_str(name),
                None => row.push_str(&format!("column {}", index + 1)),
            }
            row.push_str(": ");
            row.push_str(&value);
        }
        if !row.is_empty() {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&row);
            if text.len() as u64 > max_text {
                let size = text.len() as u64;
                return Err(ExtractError::TooLarge { what: "row text", size, max: max_text });
            }
        }
    }
    Ok(Extracted { text, title: None })
}

/// The cell trimmed, its inner whitespace runs (line breaks included) as single spaces.
fn one_line(cell: &str) -> String {
    cell.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_named_by_the_header_with_quotes_and_commas_kept() {
        let source = "name,price,notes\nWidget,3,\"small, blue\"\n\"Gadget \"\"Pro\"\"\",12,\"two\nlines\"\n,,\nBolt,,extra,cell\n";
        let text = extract(source, b',', Format::Csv, 1 << 20).expect("valid CSV").text;
        assert_eq!(
            text,
            "name: Widget; price: 3; notes: small, blue\n\
             name: Gadget \"Pro\"; price: 12; notes: two lines\n\
             name: Bolt; notes: extra; column 4: cell"
        );
    }

    #[test]
    fn tabs_separate_tsv_cells() {
        let text = extract("a\tb\n1\t2, 3\n", b'\t', Format::Tsv, 1 << 20).expect("valid TSV").text;
        assert_eq!(text, "a: 1; b: 2, 3");
    }
}
