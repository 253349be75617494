//! Reading the JSON files MCP tools write: an order-keeping value type (so
//! servers come out in the order the user wrote them, whatever features
//! `serde_json` was built with), comments and trailing commas accepted (VS Code
//! writes JSONC), and parse errors that point at file:line:column.
use std::path::Path;

use indexmap::IndexMap;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::error::{Error, Result};
use crate::source::SourceFile;

/// A JSON value whose objects keep their key order.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Json>),
    Object(JsonObject),
}

/// A JSON object in file order, with the keys that appeared more than once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JsonObject {
    pub entries: IndexMap<String, Json>,
    /// Keys written twice: JSON readers keep the last value, silently; we say so.
    pub duplicates: Vec<String>,
}

impl JsonObject {
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.entries.get(key)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Json)> {
        self.entries.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl Json {
    pub fn as_object(&self) -> Option<&JsonObject> {
        match self {
            Json::Object(object) => Some(object),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(text) => Some(text),
            _ => None,
        }
    }

    /// A short name of the value's type, for messages: "a string", "an array".
    pub fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }

    /// Strings as they are; numbers and booleans as they print (`8080`, `true`).
    pub fn scalar_text(&self) -> Option<String> {
        match self {
            Json::String(text) => Some(text.clone()),
            Json::Number(number) => Some(number.to_string()),
            Json::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Json, E> {
        Ok(Json::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Json, E> {
        Ok(Json::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Json, E> {
        Ok(Json::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Json, E> {
        // Non-finite floats cannot come out of JSON text; null is a safe stand-in.
        Ok(serde_json::Number::from_f64(value).map_or(Json::Null, Json::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Json, E> {
        Ok(Json::String(value.to_string()))
    }

    fn visit_string<E>(self, value: String) -> Result<Json, E> {
        Ok(Json::String(value))
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json, D::Error> {
        Json::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut object = JsonObject::default();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value()?;
            // Like every JSON reader, the last value wins; shift_remove keeps
            // the position of the last occurrence, where the user will look.
            if object.entries.shift_remove(&key).is_some() && !object.duplicates.contains(&key) {
                object.duplicates.push(key.clone());
            }
            object.entries.insert(key, value);
        }
        Ok(Json::Object(object))
    }
}

/// Parses `text` (read from `path`) as JSON, accepting comments and trailing
/// commas; a syntax error points at its line and column, exit code 2.
pub fn parse(path: &Path, text: &str) -> Result<Json> {
    let cleaned = strip_jsonc(text);
    serde_json::from_str(&cleaned).map_err(|err| parse_error(path, text, &err))
}

fn parse_error(path: &Path, text: &str, err: &serde_json::Error) -> Error {
    let source = SourceFile::plain(path, text.to_string());
    let offset = offset_of(text, err.line(), err.column());
    let full = err.to_string();
    // serde_json appends " at line L column C"; the location is shown separately.
    let message = match full.rfind(" at line ") {
        Some(cut) => &full[..cut],
        None => &full,
    };
    let hint = match err.classify() {
        serde_json::error::Category::Eof => {
            "the file ends too early: a closing `}` or `]` is probably missing"
        }
        _ => "fix the JSON at that spot (a missing comma or quote is the usual cause)",
    };
    Error::invalid(format!("{} is not valid JSON: {message}", path.display()))
        .at(Some(source.locate(offset..offset + 1)))
        .hint(hint)
}

/// The byte offset of a 1-based line and column (serde_json counts columns in
/// bytes; column 0 means "before the first character").
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    crate::source::floor_boundary(text, line_start + column.saturating_sub(1))
}

/// Blanks out `//` and `/* */` comments and trailing commas, byte for byte
/// (newlines kept), so positions in the cleaned text are positions in the file.
pub fn strip_jsonc(text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    // Windows editors may start the file with a byte-order mark; JSON readers
    // refuse it. Three spaces keep every later position where it was.
    if bytes.starts_with("\u{feff}".as_bytes()) {
        bytes[..3].fill(b' ');
    }
    let mut i = 0;
    // The last `,` seen outside strings and comments, while only blanks follow it.
    let mut pending_comma: Option<usize> = None;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                pending_comma = None;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    bytes[i] = b' ';
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let end = find_from(&bytes, i + 2, b"*/").map_or(bytes.len(), |j| j + 2);
                for byte in &mut bytes[i..end] {
                    if *byte != b'\n' {
                        *byte = b' ';
                    }
                }
                i = end;
            }
            b',' => {
                pending_comma = Some(i);
                i += 1;
            }
            b'}' | b']' => {
                if let Some(comma) = pending_comma.take() {
                    bytes[comma] = b' ';
                }
                i += 1;
            }
            byte if byte.is_ascii_whitespace() => i += 1,
            _ => {
                pending_comma = None;
                i += 1;
            }
        }
    }
    // Only ASCII bytes of comments and commas were replaced by spaces, and
    // whole comments at that, so the text is still UTF-8; fall back to the
    // original (and its parse error) should that ever not hold.
    String::from_utf8(bytes).unwrap_or_else(|_| text.to_string())
}

fn find_from(haystack: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|j| from + j)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Json {
        parse(Path::new("t.json"), text).unwrap()
    }

    #[test]
    fn objects_keep_file_order() {
        let json = parse_ok(r#"{"zeta": 1, "alpha": 2, "mid": {"b": true, "a": null}}"#);
        let object = json.as_object().unwrap();
        let keys: Vec<&String> = object.entries.keys().collect();
        assert_eq!(keys, ["zeta", "alpha", "mid"]);
        let inner: Vec<&String> = object
            .get("mid")
            .unwrap()
            .as_object()
            .unwrap()
            .entries
            .keys()
            .collect();
        assert_eq!(inner, ["b", "a"]);
    }

    #[test]
    fn duplicate_keys_are_recorded_and_the_last_wins() {
        let json = parse_ok(r#"{"a": 1, "b": 2, "a": 3}"#);
        let object = json.as_object().unwrap();
        assert_eq!(object.duplicates, ["a"]);
        assert_eq!(object.get("a").unwrap().scalar_text().as_deref(), Some("3"));
    }

    #[test]
    fn comments_and_trailing_commas_are_accepted() {
        let text = "{\n  // servers\n  \"servers\": {\"a\": {\"args\": [\"x\", \"//not a comment\",],}, /* c */},\n}\n";
        let json = parse_ok(text);
        let servers = json
            .as_object()
            .unwrap()
            .get("servers")
            .unwrap()
            .as_object()
            .unwrap();
        let args = &servers
            .get("a")
            .unwrap()
            .as_object()
            .unwrap()
            .get("args")
            .unwrap();
        assert_eq!(
            **args,
            Json::Array(vec![
                Json::String("x".into()),
                Json::String("//not a comment".into())
            ])
        );
    }

    #[test]
    fn stripping_keeps_positions_and_strings() {
        let text = "{\"a\": \"b,}\" /* é */, \"c\": [1,]}";
        let stripped = strip_jsonc(text);
        assert_eq!(stripped.len(), text.len());
        assert!(stripped.contains("\"b,}\""));
        assert!(!stripped.contains("/*"));
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let text =
            "{\n  \"mcpServers\": {\n    \"a\": {\"command\": \"npx\" \"args\": []}\n  }\n}\n";
        let err = parse(Path::new("claude.json"), text).unwrap_err();
        assert_eq!(err.status, crate::error::ExitStatus::Invalid);
        let location = err.location.as_ref().unwrap();
        // The column of the unexpected `"args"`.
        assert_eq!((location.line, location.column), (3, 28));
        assert!(
            err.message
                .starts_with("claude.json is not valid JSON: expected")
        );
        assert!(!err.message.contains(" at line "));
        assert!(err.hint.is_some());
    }

    #[test]
    fn byte_order_marks_are_accepted() {
        let json = parse_ok("\u{feff}{\"a\": 1}");
        assert!(json.as_object().unwrap().get("a").is_some());
    }

    #[test]
    fn columns_count_characters_after_multibyte_text() {
        let err = parse(Path::new("c.json"), "{\"é☃\": 1 \"b\": 2}").unwrap_err();
        let location = err.location.unwrap();
        // `"b"` is the 10th character of the line (but the 13th byte).
        assert_eq!((location.line, location.column), (1, 10));
    }

    #[test]
    fn truncated_files_say_so() {
        let err = parse(Path::new("c.json"), "{\"mcpServers\": {").unwrap_err();
        assert!(err.hint.unwrap().contains("ends too early"));
        assert_eq!(err.location.unwrap().line, 1);
    }

    /// A syntax error at any position of multibyte text (every character
    /// replaced in turn by a stray one, every prefix) is a located error,
    /// never a panic.
    #[test]
    fn syntax_errors_anywhere_in_multibyte_text_never_panic() {
        let text = "{\"mcpServers\": {\"caf\u{e9}\": {\"command\": \"\u{1f600}\u{20ac}\",\r\n\t\"args\": [\"\u{e9}\u{e9}\"]}}}";
        let path = Path::new("c.json");
        for (at, c) in text.char_indices() {
            for stray in ["\u{e9}", "\u{1f600}", "\t", "x"] {
                let broken = format!("{}{stray}{}", &text[..at], &text[at + c.len_utf8()..]);
                if let Err(err) = parse(path, &broken) {
                    let location = err.location.expect("a syntax error is located");
                    assert!(location.line >= 1 && location.column >= 1);
                }
            }
            assert!(parse(path, &text[..at]).is_err());
        }
    }
}
