//! Source text with positions: turns byte offsets and TOML key paths into
//! file:line:column locations for error messages.
use std::cell::OnceCell;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::error::Location;

/// One segment of a path into a TOML document: `servers.fetch.args[2]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

impl Segment {
    /// Builds a key path from its parts: `Segment::path(["servers", name, "env"])`.
    pub fn path<'a>(keys: impl IntoIterator<Item = &'a str>) -> Vec<Segment> {
        keys.into_iter()
            .map(|key| Segment::Key(key.to_string()))
            .collect()
    }
}

/// A loaded text file and its parsed TOML layout (kept for spans only).
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    /// Parsed only when a location is asked for: the happy path never pays
    /// for a second, span-keeping parse.
    layout: OnceCell<Option<toml_edit::Document<String>>>,
    is_toml: bool,
}

impl SourceFile {
    /// Wraps TOML `text`; key paths resolve to locations (parsed on first use).
    pub fn new(path: &Path, text: String) -> Self {
        Self {
            path: path.to_path_buf(),
            text,
            layout: OnceCell::new(),
            is_toml: true,
        }
    }

    /// A plain (non-TOML) source: offsets work, key paths do not.
    pub fn plain(path: &Path, text: String) -> Self {
        Self {
            path: path.to_path_buf(),
            text,
            layout: OnceCell::new(),
            is_toml: false,
        }
    }

    /// The location of a byte range.
    pub fn locate(&self, span: Range<usize>) -> Location {
        location_in(&self.path, &self.text, span)
    }

    /// The location of the key at `path` (or of the value, for array items).
    pub fn locate_key(&self, path: &[Segment]) -> Option<Location> {
        self.key_span(path).map(|span| self.locate(span))
    }

    /// The location of the value at `path`.
    pub fn locate_value(&self, path: &[Segment]) -> Option<Location> {
        self.value_span(path).map(|span| self.locate(span))
    }

    /// The best location for `path`: the value when it exists, else the nearest
    /// ancestor that exists, so an error always points somewhere useful.
    pub fn locate_nearest(&self, path: &[Segment]) -> Option<Location> {
        (1..=path.len()).rev().find_map(|len| {
            let prefix = &path[..len];
            match prefix.last() {
                Some(Segment::Key(_)) => self.locate_key(prefix),
                _ => self.locate_value(prefix),
            }
        })
    }

    /// Like [`Self::locate_nearest`], but points at the value itself when it
    /// exists: for errors about what a value says rather than that it is there.
    pub fn locate_value_nearest(&self, path: &[Segment]) -> Option<Location> {
        self.locate_value(path)
            .or_else(|| self.locate_nearest(path))
    }

    fn key_span(&self, path: &[Segment]) -> Option<Range<usize>> {
        let (last, parent) = path.split_last()?;
        match (last, self.node(parent)?) {
            (Segment::Key(key), Node::Item(item)) => {
                item.as_table_like()?.get_key_value(key)?.0.span()
            }
            (Segment::Key(key), Node::Value(value)) => {
                value.as_inline_table()?.get_key_value(key)?.0.span()
            }
            (Segment::Key(key), Node::Table(table)) => table.get_key_value(key)?.0.span(),
            (Segment::Index(_), _) => self.value_span(path),
        }
    }

    fn value_span(&self, path: &[Segment]) -> Option<Range<usize>> {
        match self.node(path)? {
            Node::Item(item) => item
                .span()
                .or_else(|| item.as_value().and_then(|v| v.span())),
            Node::Value(value) => value.span(),
            Node::Table(table) => table.span(),
        }
    }

    fn node(&self, path: &[Segment]) -> Option<Node<'_>> {
        let layout = self.layout.get_or_init(|| {
            self.is_toml
                .then(|| toml_edit::Document::parse(self.text.clone()).ok())
                .flatten()
        });
        let mut node = Node::Item(layout.as_ref()?.as_item());
        for segment in path {
            node = match (node, segment) {
                (Node::Item(item), Segment::Key(key)) => match item.as_table_like()?.get(key)? {
                    toml_edit::Item::Value(value) => Node::Value(value),
                    other => Node::Item(other),
                },
                (Node::Item(item), Segment::Index(index)) => match item {
                    toml_edit::Item::ArrayOfTables(tables) => Node::Table(tables.get(*index)?),
                    _ => Node::Value(item.as_array()?.get(*index)?),
                },
                (Node::Table(table), Segment::Key(key)) => match table.get(key)? {
                    toml_edit::Item::Value(value) => Node::Value(value),
                    other => Node::Item(other),
                },
                (Node::Table(_), Segment::Index(_)) => return None,
                (Node::Value(value), Segment::Key(key)) => {
                    Node::Value(value.as_inline_table()?.get(key)?)
                }
                (Node::Value(value), Segment::Index(index)) => {
                    Node::Value(value.as_array()?.get(*index)?)
                }
            };
        }
        Some(node)
    }
}

/// A position in the parsed layout: a table-level item, an array-of-tables
/// element, or a value (inline table, array, scalar).
#[derive(Clone, Copy)]
enum Node<'a> {
    Item(&'a toml_edit::Item),
    Table(&'a toml_edit::Table),
    Value(&'a toml_edit::Value),
}

/// Turns a file's bytes into text; bytes that are not UTF-8 are a user error
/// (exit 2) naming the file, line, column and byte offset of the first one.
pub fn decode(path: &Path, bytes: Vec<u8>) -> crate::error::Result<String> {
    String::from_utf8(bytes).map_err(|err| {
        let offset = err.utf8_error().valid_up_to();
        let bytes = err.into_bytes();
        // Locate within the valid prefix plus a stand-in for the bad byte.
        let mut shown = String::from_utf8_lossy(&bytes[..offset]).into_owned();
        let line_end = bytes[offset..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| offset + i);
        shown.push_str(&String::from_utf8_lossy(&bytes[offset..line_end]));
        crate::error::Error::invalid(format!(
            "{} is not UTF-8 text (invalid byte 0x{:02x} at byte offset {offset})",
            path.display(),
            bytes[offset]
        ))
        .at(Some(location_in(path, &shown, offset..offset + 1)))
        .hint("save the file as UTF-8")
    })
}

/// Computes a 1-based line and column (in characters) for a byte range.
/// Offsets from any parser are accepted: one past the end, or inside a
/// multibyte character, is moved to the nearest character boundary, so no
/// input can make an error message panic.
pub fn location_in(path: &Path, text: &str, span: Range<usize>) -> Location {
    let start = floor_boundary(text, span.start);
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    // A byte count the compiler vectorises: a doctor run locates a finding
    // per server in a profile of thousands of lines.
    let line = text.as_bytes()[..start]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1;
    let column = text[line_start..start].chars().count() + 1;
    let end = ceil_boundary(text, span.end.clamp(start, line_end));
    let width = text[start..end].chars().count().max(1);
    // A minified or hostile file can have one line of megabytes: the snippet
    // stops a little after the marked span.
    let shown = column - 1 + width + LINE_TAIL;
    let mut line_text: String = text[line_start..line_end]
        .trim_end_matches('\r')
        .chars()
        .take(shown + 1)
        .collect();
    if line_text.chars().count() > shown {
        line_text = line_text.chars().take(shown).collect();
        line_text.push('…');
    }
    Location {
        path: path.to_path_buf(),
        line,
        column,
        line_text,
        width,
    }
}

/// How many characters of a source line are shown after the marked span.
const LINE_TAIL: usize = 80;

/// The character boundary at or before `offset` (clamped to the text).
pub fn floor_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The character boundary at or after `offset` (clamped to the text).
fn ceil_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset += 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every start and end offset, in text mixing 2-, 3- and 4-byte
    /// characters, tabs, CRLF and an empty last line, gives a location.
    #[test]
    fn any_offset_into_multibyte_text_locates_without_panicking() {
        let text = "a\u{e9}\t\u{20ac}\r\n\u{1f600}x\u{300}\n\n\u{10ffff}\u{85}\u{2028}z";
        let path = Path::new("f");
        for start in 0..=text.len() + 2 {
            for end in 0..=text.len() + 2 {
                let location = location_in(path, text, start..end);
                assert!(location.line >= 1 && location.column >= 1);
                assert!(location.width >= 1);
                assert!(!location.line_text.contains('\n'));
            }
        }
    }

    #[test]
    fn an_offset_inside_a_character_points_at_that_character() {
        let text = "{\"k\": \u{e9}\u{e9}}";
        // Byte 8 is inside the first `é` (bytes 7..9).
        let location = location_in(Path::new("f"), text, 8..9);
        assert_eq!((location.line, location.column), (1, 8));
        assert_eq!(location.width, 1);
    }

    #[test]
    fn bytes_that_are_not_utf8_name_line_and_offset() {
        let err = decode(Path::new("f.yaml"), b"a: 1\nb: \"caf\xe9\"\n".to_vec()).unwrap_err();
        assert_eq!(err.status, crate::error::ExitStatus::Invalid);
        assert!(err.message.contains("byte offset 12"), "{}", err.message);
        let location = err.location.unwrap();
        assert_eq!((location.line, location.column), (2, 8));
        assert_eq!(decode(Path::new("f"), "\u{e9}".into()).unwrap(), "\u{e9}");
    }

    #[test]
    fn a_long_line_is_cut_after_the_marked_span() {
        let text = format!("a: {}", "[".repeat(400_000));
        let location = location_in(Path::new("f"), &text, 80..81);
        assert_eq!(location.column, 81);
        assert!(location.line_text.chars().count() <= 81 + LINE_TAIL + 1);
        assert!(location.line_text.ends_with('…'));
    }

    #[test]
    fn crlf_lines_count_once_and_lose_their_carriage_return() {
        let text = "a = 1\r\nb = \u{e9}\r\n";
        let location = location_in(Path::new("f"), text, 11..12);
        assert_eq!((location.line, location.column), (2, 5));
        assert_eq!(location.line_text, "b = \u{e9}");
    }
}
