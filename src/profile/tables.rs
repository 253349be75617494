//! A fast scan of a profile's text for its table headers, so one server's
//! tables can be found (and edited) without parsing the whole document. Only
//! used on text that already parsed as TOML; whatever the scan does not fully
//! understand it refuses (`None`), and the caller takes the slow, full path.

/// One `[header]` or `[[header]]` line: where its line starts and its key path.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub start: usize,
    pub path: Vec<String>,
}

/// The table headers of `text` in order, or `None` when the text holds
/// anything that could define servers outside a `[servers.NAME…]` header
/// (`servers` keys in the root table, key/value lines under `[servers]`),
/// carriage returns, or anything the scan cannot follow.
pub fn scan(text: &str) -> Option<Vec<Header>> {
    let bytes = text.as_bytes();
    if bytes.contains(&b'\r') {
        return None;
    }
    let mut headers: Vec<Header> = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let line_start = at;
        at = skip_blank(bytes, at);
        match bytes.get(at) {
            None => break,
            Some(b'\n') => at += 1,
            Some(b'#') => at = line_end(bytes, at),
            Some(b'[') => {
                let array = bytes.get(at + 1) == Some(&b'[');
                at += if array { 2 } else { 1 };
                let (path, after) = key(text, at)?;
                at = skip_blank(bytes, after);
                let close: &[u8] = if array { b"]]" } else { b"]" };
                if !bytes[at..].starts_with(close) {
                    return None;
                }
                at = rest_of_line(bytes, at + close.len())?;
                headers.push(Header {
                    start: line_start,
                    path,
                });
            }
            Some(_) => {
                let (path, after) = key(text, at)?;
                // The root table and `[servers]` may define servers with
                // dotted keys or inline tables: those the scan does not follow.
                let table = headers.last().map(|h| h.path.as_slice());
                let defines_servers = match table {
                    None => path.first().is_some_and(|k| k == "servers"),
                    Some(table) => table == ["servers"],
                };
                if defines_servers {
                    return None;
                }
                at = skip_blank(bytes, after);
                if bytes.get(at) != Some(&b'=') {
                    return None;
                }
                at = value_end(bytes, at + 1)?;
            }
        }
    }
    Some(headers)
}

fn skip_blank(bytes: &[u8], mut at: usize) -> usize {
    while matches!(bytes.get(at), Some(b' ' | b'\t')) {
        at += 1;
    }
    at
}

/// The offset just past the end of the line holding `at` (its `\n` included).
fn line_end(bytes: &[u8], at: usize) -> usize {
    bytes[at..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |n| at + n + 1)
}

/// After a header or value: blanks, perhaps a comment, then the line's end.
fn rest_of_line(bytes: &[u8], at: usize) -> Option<usize> {
    let at = skip_blank(bytes, at);
    match bytes.get(at) {
        None => Some(at),
        Some(b'\n' | b'#') => Some(line_end(bytes, at)),
        Some(_) => None,
    }
}

/// A dotted key starting at `at`: its parts unquoted, and where it ends.
fn key(text: &str, mut at: usize) -> Option<(Vec<String>, usize)> {
    let bytes = text.as_bytes();
    let mut parts = Vec::new();
    loop {
        at = skip_blank(bytes, at);
        let part_start = at;
        match bytes.get(at)? {
            b'"' => {
                at += 1;
                while *bytes.get(at)? != b'"' {
                    at += if bytes[at] == b'\\' { 2 } else { 1 };
                }
                at += 1;
                let quoted = &text[part_start..at];
                let part = if quoted.contains('\\') {
                    // Escapes are rare in names: the TOML parser reads them.
                    quoted
                        .parse::<toml_edit::Value>()
                        .ok()?
                        .as_str()?
                        .to_string()
                } else {
                    quoted[1..quoted.len() - 1].to_string()
                };
                parts.push(part);
            }
            b'\'' => {
                at += 1;
                while *bytes.get(at)? != b'\'' {
                    at += 1;
                }
                at += 1;
                parts.push(text[part_start + 1..at - 1].to_string());
            }
            _ => {
                while bytes
                    .get(at)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
                {
                    at += 1;
                }
                if at == part_start {
                    return None;
                }
                parts.push(text[part_start..at].to_string());
            }
        }
        let after = skip_blank(bytes, at);
        if bytes.get(after) == Some(&b'.') {
            at = after + 1;
        } else {
            return Some((parts, at));
        }
    }
}

/// The offset past the line on which the value starting after `=` at `at`
/// ends: strings, arrays and inline tables may span lines.
fn value_end(bytes: &[u8], mut at: usize) -> Option<usize> {
    let mut depth = 0usize;
    loop {
        match *bytes.get(at)? {
            b'"' | b'\'' => at = string_end(bytes, at)?,
            b'[' | b'{' => {
                depth += 1;
                at += 1;
            }
            b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                at += 1;
            }
            b'#' => {
                let end = line_end(bytes, at);
                if bytes[end - 1] != b'\n' {
                    // A comment that ends the text.
                    return (depth == 0).then_some(end);
                }
                // The newline ends the value or goes on with it.
                at = end - 1;
            }
            b'\n' if depth == 0 => return Some(at + 1),
            _ => at += 1,
        }
        if at >= bytes.len() {
            return (depth == 0).then_some(at);
        }
    }
}

/// The offset just past the string (basic, literal, or either multi-line)
/// starting at `at`.
fn string_end(bytes: &[u8], at: usize) -> Option<usize> {
    let quote = bytes[at];
    let triple = [quote; 3];
    if bytes[at..].starts_with(&triple) {
        let mut at = at + 3;
        loop {
            if bytes[at..].starts_with(&triple) {
                // Up to two quotes may sit right before the closing three.
                let mut end = at + 3;
                while bytes.get(end) == Some(&quote) && end < at + 5 {
                    end += 1;
                }
                return Some(end);
            }
            at += if quote == b'"' && *bytes.get(at)? == b'\\' {
                2
            } else {
                1
            };
            bytes.get(at)?;
        }
    }
    let mut at = at + 1;
    loop {
        match *bytes.get(at)? {
            b if b == quote => return Some(at + 1),
            b'\\' if quote == b'"' => at += 2,
            b'\n' => return None,
            _ => at += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(text: &str) -> Option<Vec<String>> {
        scan(text).map(|h| h.iter().map(|h| h.path.join("/")).collect())
    }

    #[test]
    fn finds_headers_past_strings_arrays_and_comments() {
        let text = "name = \"p\" # [not]\nx = \"\"\"\n[fake]\n\"\"\"\n[servers.a]\nargs = [\n  \"[x]\",\n[1],\n] # c\n[ servers . \"b.c\" ]\nk = '''\n[y]'''\n[[servers.'d'.docker.z]]\n";
        assert_eq!(
            paths(text).unwrap(),
            ["servers/a", "servers/b.c", "servers/d/docker/z"]
        );
        assert_eq!(
            scan(text).unwrap()[1].start,
            text.find("[ servers").unwrap()
        );
    }

    #[test]
    fn refuses_servers_outside_headers() {
        for text in [
            "servers.a.command = \"x\"\n",
            "[servers]\na = { command = \"x\" }\n",
            "name = \"p\"\r\n",
        ] {
            assert_eq!(scan(text), None, "{text:?}");
        }
        assert_eq!(
            paths("[servers]\n[servers.a]\n").unwrap(),
            ["servers", "servers/a"]
        );
    }

    /// Cut anywhere, or with a stray character anywhere, text full of
    /// multibyte characters, strings and brackets scans or is refused, never
    /// panics or hangs (a comment ending the text once looped forever).
    #[test]
    fn any_cut_or_stray_character_never_panics_or_hangs() {
        let text = "name = \"caf\u{e9}\"\n[servers.\"\u{1f600}\\u0031\"]\nargs = [\"\u{20ac}\", '''\n[x]''', \"\"\"\u{85}\\\"\"\"\"]\nenv = { \"\u{e9}\" = 'x' } # \u{2028}\n[[servers.a.docker.x]]\n";
        for (at, c) in text.char_indices() {
            let _ = scan(&text[..at]);
            for stray in ["\u{e9}", "[", "\"", "'", "\\", "#", "\n", "{", "]"] {
                let _ = scan(&format!(
                    "{}{stray}{}",
                    &text[..at],
                    &text[at + c.len_utf8()..]
                ));
            }
        }
        let headers = scan(text).unwrap();
        assert_eq!(headers.len(), 2);
        assert_eq!(headers[0].path, ["servers", "\u{1f600}1"]);
    }
}
