//! A fast reader for the plain block-style YAML that mcpm writes and most
//! compose files are: block mappings and sequences indented with spaces,
//! plain, single- and double-quoted one-line scalars, comments on lines of
//! their own, and `{}`/`[]`.
//!
//! It gives exactly the value `serde_yaml_ng` gives for the same text, or
//! `None` whenever the text uses anything else (anchors, tags, block or
//! multi-line scalars, flow collections, trailing comments, tabs, odd
//! indentation, a scalar it cannot type with certainty, a duplicate key…);
//! the caller then parses with `serde_yaml_ng`, which also reports errors.
//! The differential tests below and the `compose_parse` fuzz target check
//! the "exactly" against `serde_yaml_ng` itself. It exists for speed: the
//! general parser spends about 300 instructions per byte, and a sync reads
//! the whole compose file (900 KB at 1000 servers) before anything else.
use serde_yaml_ng::{Mapping, Number, Value};

/// The value of `text`, or `None` when this reader cannot vouch for it.
pub fn parse(text: &str) -> Option<Value> {
    if !plain_characters(text) {
        return None;
    }
    let mut lines = content_lines(text)?;
    if lines.is_empty() {
        return Some(Value::Null);
    }
    if lines[0].indent != 0 {
        return None;
    }
    let mut at = 0;
    let value = block(&mut lines, &mut at, 0, 0)?;
    (at == lines.len()).then_some(value)
}

/// One line holding content: its indentation and its text after it (trailing
/// spaces removed).
struct Line<'t> {
    indent: usize,
    text: &'t str,
}

/// Whether every character is one this reader may take as it is: no tab, CR
/// or other control character, nothing YAML treats as a line break or byte
/// order mark, nothing it refuses to read.
fn plain_characters(text: &str) -> bool {
    if text
        .bytes()
        .all(|b| (b' '..=b'~').contains(&b) || b == b'\n')
    {
        return true;
    }
    text.chars().all(|c| match c {
        '\n' => true,
        c if c.is_ascii() => (' '..='~').contains(&c),
        '\u{80}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}' => {
            false
        }
        _ => true,
    })
}

/// The lines with content; blank lines and whole-line comments are dropped.
/// `None` for a directive or document marker.
fn content_lines(text: &str) -> Option<Vec<Line<'_>>> {
    let mut lines = Vec::with_capacity(text.len() / 24);
    for line in text.split('\n') {
        let body = line.trim_start_matches(' ');
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let indent = line.len() - body.len();
        if indent == 0 && (body.starts_with("---") || body.starts_with("...")) {
            return None;
        }
        lines.push(Line {
            indent,
            text: body.trim_end_matches(' '),
        });
    }
    Some(lines)
}

/// Collections nested deeper than this are left to the general parser (which
/// refuses them past 128; `check_depth` past 64).
const MAX_NESTING: usize = 64;

/// The block collection whose entries sit at `indent`, starting at `lines[at]`,
/// `depth` collections deep.
fn block(lines: &mut [Line<'_>], at: &mut usize, indent: usize, depth: usize) -> Option<Value> {
    if depth >= MAX_NESTING {
        return None;
    }
    let first = lines.get(*at)?;
    if is_item(first.text) {
        sequence(lines, at, indent, depth + 1).map(Value::Sequence)
    } else {
        mapping(lines, at, indent, depth + 1).map(Value::Mapping)
    }
}

fn is_item(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

/// A block mapping whose keys sit at `indent`.
fn mapping(lines: &mut [Line<'_>], at: &mut usize, indent: usize, depth: usize) -> Option<Mapping> {
    let mut map = Mapping::new();
    while let Some(line) = lines.get(*at).filter(|line| line.indent == indent) {
        if is_item(line.text) {
            return None;
        }
        let (key, rest) = key_line(line.text)?;
        *at += 1;
        let value = child(lines, at, indent, rest, depth)?;
        if map.insert(key, value).is_some() {
            return None;
        }
    }
    deeper_left_behind(lines, *at, indent).then_some(map)
}

/// A block sequence whose dashes sit at `indent`.
fn sequence(
    lines: &mut [Line<'_>],
    at: &mut usize,
    indent: usize,
    depth: usize,
) -> Option<Vec<Value>> {
    let mut items = Vec::new();
    while let Some(line) = lines
        .get(*at)
        .filter(|line| line.indent == indent && is_item(line.text))
    {
        if line.text == "-" {
            *at += 1;
            items.push(nested(lines, at, indent, depth)?);
            continue;
        }
        let rest = line.text[1..].trim_start_matches(' ');
        if is_item(rest) {
            return None;
        }
        let column = indent + (line.text.len() - rest.len());
        if key_line(rest).is_some() {
            // `- key: value`: a mapping whose keys align with this first one.
            lines[*at] = Line {
                indent: column,
                text: rest,
            };
            if depth + 1 >= MAX_NESTING {
                return None;
            }
            items.push(Value::Mapping(mapping(lines, at, column, depth + 1)?));
        } else {
            *at += 1;
            items.push(scalar(rest)?);
            if lines.get(*at).is_some_and(|next| next.indent > indent) {
                return None;
            }
        }
    }
    deeper_left_behind(lines, *at, indent).then_some(items)
}

/// The value after `key:` (`rest` is the text after the colon).
fn child(
    lines: &mut [Line<'_>],
    at: &mut usize,
    indent: usize,
    rest: &str,
    depth: usize,
) -> Option<Value> {
    if rest.is_empty() {
        return nested(lines, at, indent, depth);
    }
    let value = scalar(rest)?;
    // A deeper line after a scalar would continue it (or be an error).
    if lines.get(*at).is_some_and(|next| next.indent > indent) {
        return None;
    }
    Some(value)
}

/// The block nested under a key or dash at `indent`, or null when the next
/// line is not deeper.
fn nested(lines: &mut [Line<'_>], at: &mut usize, indent: usize, depth: usize) -> Option<Value> {
    match lines.get(*at) {
        Some(next) if next.indent > indent => {
            let inner = next.indent;
            // A nested scalar on a line of its own is valid YAML, but not
            // this reader's: only collections nest here.
            if !is_item(next.text) && key_line(next.text).is_none() {
                return None;
            }
            block(lines, at, inner, depth)
        }
        _ => Some(Value::Null),
    }
}

/// After a collection at `indent` ends, the next line must sit left of it:
/// one in between is an indentation error the general parser reports.
fn deeper_left_behind(lines: &[Line<'_>], at: usize, indent: usize) -> bool {
    lines.get(at).is_none_or(|next| next.indent < indent)
}

/// Splits `key: rest` (or `key:` at the end of the line) into the key's value
/// and the text after the colon and its spaces.
fn key_line(text: &str) -> Option<(Value, &str)> {
    let (key, after) = match text.as_bytes().first()? {
        b'"' => {
            let end = closing_double_quote(text)?;
            (double_quoted(&text[1..end])?, &text[end + 1..])
        }
        b'\'' => {
            let end = closing_single_quote(text)?;
            (single_quoted(&text[1..end]), &text[end + 1..])
        }
        _ => {
            let colon = text
                .find(": ")
                .or_else(|| text.strip_suffix(':').map(str::len))?;
            let key = &text[..colon];
            if key.is_empty() || key.ends_with([' ', ':']) {
                return None;
            }
            (plain(key)?, &text[colon..])
        }
    };
    // libyaml refuses simple keys longer than 1024 bytes.
    if text.len() - after.len() > 1000 {
        return None;
    }
    let rest = after.strip_prefix(':')?;
    if !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    Some((key, rest.trim_start_matches(' ')))
}

/// A scalar written after `key: ` or `- `: quoted, `{}`/`[]`, or plain.
fn scalar(text: &str) -> Option<Value> {
    match text.as_bytes().first()? {
        b'"' => {
            let end = closing_double_quote(text)?;
            (end + 1 == text.len()).then_some(())?;
            double_quoted(&text[1..end])
        }
        b'\'' => {
            let end = closing_single_quote(text)?;
            (end + 1 == text.len()).then_some(())?;
            Some(single_quoted(&text[1..end]))
        }
        _ if text == "{}" => Some(Value::Mapping(Mapping::new())),
        _ if text == "[]" => Some(Value::Sequence(Vec::new())),
        _ => {
            if text.contains(": ") || text.ends_with(':') {
                return None;
            }
            plain(text)
        }
    }
}

/// The byte index of the quote closing a double-quoted scalar at the start.
fn closing_double_quote(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// The byte index of the quote closing a single-quoted scalar at the start.
fn closing_single_quote(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            if bytes.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return Some(i);
        }
        i += 1;
    }
    None
}

fn single_quoted(body: &str) -> Value {
    Value::String(body.replace("''", "'"))
}

/// The string a double-quoted scalar's body stands for, with YAML's escapes.
fn double_quoted(body: &str) -> Option<Value> {
    if !body.contains('\\') {
        return Some(Value::String(body.to_string()));
    }
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let escaped = match chars.next()? {
            '0' => '\0',
            'a' => '\u{7}',
            'b' => '\u{8}',
            't' => '\t',
            'n' => '\n',
            'v' => '\u{b}',
            'f' => '\u{c}',
            'r' => '\r',
            'e' => '\u{1b}',
            ' ' => ' ',
            '"' => '"',
            '/' => '/',
            '\\' => '\\',
            'N' => '\u{85}',
            '_' => '\u{a0}',
            'L' => '\u{2028}',
            'P' => '\u{2029}',
            'x' => hex_char(&mut chars, 2)?,
            'u' => hex_char(&mut chars, 4)?,
            'U' => hex_char(&mut chars, 8)?,
            _ => return None,
        };
        out.push(escaped);
    }
    Some(Value::String(out))
}

fn hex_char(chars: &mut std::str::Chars<'_>, digits: usize) -> Option<char> {
    let mut code = 0u32;
    for _ in 0..digits {
        code = code * 16 + chars.next()?.to_digit(16)?;
    }
    char::from_u32(code)
}

/// A plain scalar, typed as `serde_yaml_ng` types it, for the forms whose
/// type is certain: the null and boolean words, a string starting with a
/// letter, `/` or `_`, a decimal integer without a leading zero, and
/// `digits.digits`. Anything else (signs, leading zeros, exponents, `0x`…)
/// is left to the general parser.
fn plain(text: &str) -> Option<Value> {
    if text.contains(" #") {
        return None;
    }
    match text {
        "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        _ => {}
    }
    let first = text.as_bytes()[0];
    if first.is_ascii_alphabetic() || first == b'/' || first == b'_' || !first.is_ascii() {
        return Some(Value::String(text.to_string()));
    }
    if !first.is_ascii_digit() {
        return None;
    }
    // No integer (decimal, `0x`, `0o`, `0b`) or float (`1.5e-3`) holds any
    // other character: `8080:80`, `512m`, `10.0.0.1/8` are strings.
    let numeric = |b: u8| {
        b.is_ascii_hexdigit() || matches!(b, b'.' | b'+' | b'-' | b'_' | b'x' | b'X' | b'o' | b'O')
    };
    if !text.bytes().all(numeric) {
        return Some(Value::String(text.to_string()));
    }
    if first == b'0' && text.len() > 1 && !text[1..].starts_with('.') {
        return None;
    }
    match text.split_once('.') {
        None if text.bytes().all(|b| b.is_ascii_digit()) => text
            .parse::<u64>()
            .ok()
            .map(|n| Value::Number(Number::from(n))),
        Some((whole, fraction))
            if !fraction.is_empty()
                && whole.bytes().all(|b| b.is_ascii_digit())
                && fraction.bytes().all(|b| b.is_ascii_digit()) =>
        {
            text.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(|f| Value::Number(Number::from(f)))
        }
        _ => None,
    }
}

#[cfg(test)]
#[path = "block_tests.rs"]
mod tests;
