//! Finds where a key path (`services.web.ports`) sits in YAML text, so errors
//! about a compose file can point at file:line:column. A line-based search over
//! block-style YAML: good for the files mcpm and people write, and when it
//! cannot find a key it points at the nearest parent it found.
use std::path::Path;

use crate::error::Location;
use crate::source::location_in;

/// The location of the deepest key of `path` found in `text`.
pub fn locate_key(file: &Path, text: &str, path: &[&str]) -> Option<Location> {
    let mut parent_indent: Option<usize> = None;
    let mut found: Option<(usize, usize)> = None; // byte offset, key length
    let mut offset = 0;
    let mut lines = text.split_inclusive('\n');
    'segments: for segment in path {
        for line in lines.by_ref() {
            let start = offset;
            offset += line.len();
            let content = line.trim_start_matches([' ', '-']);
            let indent = line.len() - content.len();
            let content = content.trim_end();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            if parent_indent.is_some_and(|parent| indent <= parent) {
                // Left the parent's block without finding the key.
                break 'segments;
            }
            if key_of(content) == Some(segment) {
                found = Some((start + indent, segment.len()));
                parent_indent = Some(indent);
                continue 'segments;
            }
        }
        break;
    }
    found.map(|(at, len)| location_in(file, text, at..at + len))
}

/// The key a `key: value` line starts with, without quotes.
fn key_of(content: &str) -> Option<&str> {
    let (key, _) = content.split_once(':')?;
    let key = key.trim();
    let key = key
        .strip_prefix('"')
        .and_then(|k| k.strip_suffix('"'))
        .or_else(|| key.strip_prefix('\'').and_then(|k| k.strip_suffix('\'')))
        .unwrap_or(key);
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "name: p\nservices:\n  web:\n    image: x\n  api:\n    # note\n    image: y\n    ports:\n      - '80'\n";

    #[test]
    fn finds_nested_keys() {
        let at = locate_key(Path::new("c.yml"), TEXT, &["services", "api", "ports"]).unwrap();
        assert_eq!((at.line, at.column), (8, 5));
        let at = locate_key(Path::new("c.yml"), TEXT, &["services", "web", "image"]).unwrap();
        assert_eq!(at.line, 4);
    }

    #[test]
    fn falls_back_to_the_nearest_parent() {
        let at = locate_key(Path::new("c.yml"), TEXT, &["services", "web", "ports"]).unwrap();
        assert_eq!(at.line, 3);
        assert!(locate_key(Path::new("c.yml"), TEXT, &["volumes"]).is_none());
    }
}
