//! A cheap scan that refuses absurdly nested YAML before the parser sees it:
//! the YAML parser's time grows much faster than the input with nesting (a
//! 400 KB `[[[[…` took over a minute to refuse), and no compose file needs
//! more than a handful of levels.
use std::path::Path;

use crate::error::{Error, Result};
use crate::source::location_in;

/// The deepest nesting of mappings and sequences (block and flow together)
/// mcpm reads. Compose files use about six.
pub const MAX_DEPTH: usize = 64;

/// Refuses `text` when its collections nest deeper than [`MAX_DEPTH`], naming
/// the line and column where the limit is passed. Conservative: it may count
/// a bracket inside an odd plain scalar as nesting, never the other way.
pub fn check_depth(path: &Path, text: &str) -> Result<()> {
    match too_deep_at(text) {
        None => Ok(()),
        Some(offset) => Err(Error::invalid(format!(
            "{} nests deeper than {MAX_DEPTH} levels; mcpm does not read it",
            path.display()
        ))
        .at(Some(location_in(path, text, offset..offset + 1)))
        .hint("a compose file needs a handful of levels; this one is probably generated wrongly or hostile")),
    }
}

/// The byte offset where nesting first passes the limit.
fn too_deep_at(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    // Columns of the open block collections, innermost last.
    let mut blocks: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    let mut quote: Option<u8> = None;
    // Inside a `|` or `>` block scalar: lines indented deeper than this are text.
    let mut scalar_indent: Option<usize> = None;
    let mut line_start = 0;
    while line_start < bytes.len() {
        let line_end = text[line_start..]
            .find('\n')
            .map_or(bytes.len(), |i| line_start + i);
        let line = &bytes[line_start..line_end];
        let indent = line.iter().take_while(|&&b| b == b' ').count();
        let blank = line[indent..].iter().all(|b| b.is_ascii_whitespace())
            || line.get(indent) == Some(&b'#');
        if let Some(parent) = scalar_indent {
            if blank || indent > parent {
                line_start = line_end + 1;
                continue;
            }
            scalar_indent = None;
        }
        if blank && quote.is_none() {
            line_start = line_end + 1;
            continue;
        }
        let mut column = indent;
        if flow == 0 && quote.is_none() {
            while blocks.last().is_some_and(|&open| open >= indent) {
                blocks.pop();
            }
            blocks.push(indent);
            // Compact nested sequences: `- - - x` opens one level per dash.
            while line.get(column) == Some(&b'-') && line.get(column + 1).is_none_or(|b| *b == b' ')
            {
                column += 2;
                blocks.push(column);
                if blocks.len() > MAX_DEPTH {
                    return Some(line_start + column.min(line.len()));
                }
            }
            if blocks.len() > MAX_DEPTH {
                return Some(line_start + indent);
            }
        }
        // Flow collections and quotes on the rest of the line.
        let mut previous = b' ';
        let mut i = column;
        while i < line.len() {
            let b = line[i];
            match quote {
                Some(b'"') if b == b'\\' => i += 1,
                // `''` is a quote inside a single-quoted scalar.
                Some(b'\'') if b == b'\'' && line.get(i + 1) == Some(&b'\'') => i += 1,
                Some(q) if b == q => quote = None,
                Some(_) => {}
                None => match b {
                    b'"' | b'\'' if starts_token(previous) => quote = Some(b),
                    b'#' if previous == b' ' || previous == b'\t' => break,
                    b'[' | b'{' if starts_token(previous) => {
                        flow += 1;
                        if blocks.len() + flow > MAX_DEPTH {
                            return Some(line_start + i);
                        }
                    }
                    b']' | b'}' if flow > 0 => flow -= 1,
                    b'|' | b'>' if flow == 0 && starts_token(previous) => {
                        scalar_indent = Some(indent);
                    }
                    _ => {}
                },
            }
            if !(b == b' ' || b == b'\t') {
                previous = b;
            }
            i += 1;
        }
        line_start = line_end + 1;
    }
    None
}

/// Whether a token can start after `previous` (the last non-blank byte):
/// at the start of a value, an entry, or inside a flow collection.
fn starts_token(previous: u8) -> bool {
    matches!(previous, b' ' | b':' | b'-' | b'?' | b'[' | b'{' | b',')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_files_pass() {
        for text in [
            "services:\n  a:\n    command: [\"x\", {a: [1, 2]}]\n    labels:\n      a: \"[[[[\"\n      b: '{{{{'\n      c: x[y\n",
            "x: |\n  [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n                                                                          deep\ny: 1\n",
            "# [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n",
            "",
        ] {
            assert_eq!(too_deep_at(text), None, "{text}");
            let _: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).unwrap();
        }
        let quoted = format!(
            "a: 'it''s {}'\nb: \"\\\"{}\"\n",
            "[".repeat(70),
            "{".repeat(70)
        );
        assert_eq!(too_deep_at(&quoted), None);
        let _: serde_yaml_ng::Value = serde_yaml_ng::from_str(&quoted).unwrap();
        let sixty: String = format!("a: {}{}", "[".repeat(60), "]".repeat(60));
        assert_eq!(too_deep_at(&sixty), None);
    }

    #[test]
    fn deep_flow_block_and_compact_nesting_is_found() {
        let flow = format!("services: {}", "[".repeat(100));
        assert_eq!(too_deep_at(&flow), Some(10 + 63));
        let mut block = String::from("a:\n");
        for depth in 1..100 {
            block.push_str(&" ".repeat(depth));
            block.push_str("b:\n");
        }
        assert!(too_deep_at(&block).is_some());
        let compact = format!("a:\n{}x\n", "- ".repeat(80));
        assert!(too_deep_at(&compact).is_some());
        let mixed = format!("a:\n  b: {}", "{c: ".repeat(70));
        assert!(too_deep_at(&mixed).is_some());
    }
}
