//! Masking for everything mcpm prints from a user's files: diffs, error
//! snippets, field values, report reasons. Secrets are found by value (the
//! literals mcpm knows), by shape (a URL's password) and by key (the value of
//! a secret-looking key or flag); a whole `${VAR}` reference is not a secret.
use super::{SecretValue, is_secret_key, secret_value, single_reference};

/// What a masked secret is shown as.
pub const MASK: &str = "****";

/// `text` with every secret it seems to hold replaced by [`MASK`]: the values
/// in `known` wherever they occur, URL passwords, the value of a secret-looking
/// key (`KEY: v`, `KEY=v`, `KEY = "v"`) and the word after a secret-looking flag
/// (`--api-key sk-…`, `"--api-key", "sk-…"`). A `${VAR}` reference is not a
/// secret and stays. The one masking used for everything mcpm prints from a
/// user's file: diffs, error snippets, field values and reasons.
pub fn mask(text: &str, known: &[&str]) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let mut last = 0;
        for range in secret_ranges(line, known) {
            out.push_str(&line[last..range.start]);
            out.push_str(MASK);
            last = range.end;
        }
        out.push_str(&line[last..]);
    }
    out
}

/// A YAML value (a service field) with its secrets masked as [`mask`] does:
/// values of secret-looking keys, URL passwords, `KEY=value` list entries and
/// the item after a secret-looking flag in a command list.
pub fn mask_value(value: &serde_yaml_ng::Value) -> serde_yaml_ng::Value {
    use serde_yaml_ng::Value;
    match value {
        Value::String(text) => Value::String(mask(text, &[])),
        Value::Sequence(items) => {
            let mut after_secret_flag = false;
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let text = item.as_str();
                if after_secret_flag
                    && text.is_some_and(|t| !t.starts_with('-') && !single_reference(t))
                {
                    out.push(Value::String(MASK.into()));
                    after_secret_flag = false;
                    continue;
                }
                after_secret_flag = text
                    .is_some_and(|t| t.starts_with('-') && !t.contains('=') && is_secret_key(t));
                out.push(mask_value(item));
            }
            Value::Sequence(out)
        }
        Value::Mapping(map) => Value::Mapping(
            map.iter()
                .map(|(k, v)| {
                    let secret = k.as_str().is_some_and(is_secret_key)
                        && v.as_str().is_some_and(|text| {
                            secret_value(k.as_str().unwrap_or_default(), text) != SecretValue::Kept
                        });
                    let v = if secret {
                        Value::String(MASK.into())
                    } else {
                        mask_value(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Tagged(tagged) => mask_value(&tagged.value),
        other => other.clone(),
    }
}

/// Serializes an optional YAML value masked (for `serialize_with`): what
/// `--json` and the conflict listings print of a field.
pub fn serialize_masked<S: serde::Serializer>(
    value: &Option<serde_yaml_ng::Value>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::Serialize;
    value.as_ref().map(mask_value).serialize(serializer)
}

/// The byte ranges of `line` that [`mask`] hides, sorted and disjoint.
pub fn secret_ranges(line: &str, known: &[&str]) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    // Very short values would mask half of every line; literals that short are
    // caught by their key instead.
    for value in known.iter().filter(|v| v.len() >= 4) {
        ranges.extend(line.match_indices(*value).map(|(at, v)| at..at + v.len()));
    }
    let mut from = 0;
    while let Some(found) = line[from..].find("://") {
        let start = from + found;
        if let Some(range) = url_password_at(line, start) {
            ranges.push(range);
        }
        from = start + 3;
    }
    ranges.extend(keyed_values(line));
    ranges.sort_by_key(|r| (r.start, std::cmp::Reverse(r.end)));
    let mut merged: Vec<std::ops::Range<usize>> = Vec::new();
    for range in ranges.into_iter().filter(|r| !r.is_empty()) {
        match merged.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    merged
}

/// The password of the URL whose `://` is at `scheme_sep` in a line of text,
/// where the URL ends at whitespace or a quote.
fn url_password_at(line: &str, scheme_sep: usize) -> Option<std::ops::Range<usize>> {
    let authority_start = scheme_sep + 3;
    let rest = &line[authority_start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || "\"'`/?#,]}>".contains(c))
        .unwrap_or(rest.len());
    let authority = &rest[..end];
    let at = authority.rfind('@')?;
    let colon = authority[..at].find(':')?;
    let password = authority_start + colon + 1..authority_start + at;
    (!password.is_empty() && !is_reference(&line[password.clone()])).then_some(password)
}

/// Values of secret-looking keys and flags in one line of YAML, TOML, JSON,
/// `.env` or a command line.
fn keyed_values(line: &str) -> Vec<std::ops::Range<usize>> {
    let bytes = line.as_bytes();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b"_-.".contains(&b);
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !is_word(bytes[i]) || (i > 0 && is_word(bytes[i - 1])) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_word(bytes[i]) {
            i += 1;
        }
        let word = &line[start..i];
        if !is_secret_key(word) {
            continue;
        }
        let mut j = i;
        if j < bytes.len() && b"\"'".contains(&bytes[j]) {
            j += 1;
        }
        let spaced = j;
        while j < bytes.len() && (bytes[j] == b' ' || bytes[j] == b'\t') {
            j += 1;
        }
        let separator = bytes.get(j).copied();
        let value_start = match separator {
            Some(b'=') => j + 1,
            Some(b':') if bytes.get(j + 1).is_none_or(|b| b.is_ascii_whitespace()) => j + 1,
            Some(b',') if word.starts_with('-') => j + 1,
            Some(_) if word.starts_with('-') && j > spaced => j,
            _ => continue,
        };
        let flag_only = !matches!(separator, Some(b'=' | b':'));
        let mut k = value_start;
        while k < bytes.len() && (bytes[k] == b' ' || bytes[k] == b'\t') {
            k += 1;
        }
        let Some(range) = value_at(line, k, flag_only) else {
            continue;
        };
        if !is_reference(&line[range.clone()]) {
            i = range.end;
            ranges.push(range);
        }
    }
    ranges
}

/// The value that starts at `at`: inside its quotes, or bare up to a comment,
/// a flow delimiter or (after a flag) the next space.
fn value_at(line: &str, at: usize, flag_only: bool) -> Option<std::ops::Range<usize>> {
    let rest = line.get(at..)?;
    let quote = rest.chars().next()?;
    if quote == '"' || quote == '\'' {
        let body = &rest[1..];
        let mut escaped = false;
        let end = body
            .char_indices()
            .find(|&(_, c)| {
                let closes = c == quote && !escaped;
                escaped = quote == '"' && c == '\\' && !escaped;
                closes
            })
            .map_or(body.len(), |(i, _)| i);
        return Some(at + 1..at + 1 + end);
    }
    if flag_only && quote == '-' {
        return None;
    }
    let end = rest
        .find(|c: char| ",]}\r\n".contains(c) || (flag_only && c.is_whitespace()))
        .unwrap_or(rest.len());
    let end = rest[..end].find(" #").unwrap_or(end);
    Some(at..at + rest[..end].trim_end().len())
}

/// Exactly one `${VAR}` / `${VAR:-…}` reference (or empty): not a secret.
fn is_reference(value: &str) -> bool {
    let value = value.trim();
    value.is_empty() || single_reference(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keyed_values_urls_flags_and_known_values() {
        for (line, want) in [
            (
                "      OPENAI_API_KEY: sk-proj-1",
                "      OPENAI_API_KEY: ****",
            ),
            (
                "env = { API_KEY = \"sk-1\", DEBUG = \"1\" }",
                "env = { API_KEY = \"****\", DEBUG = \"1\" }",
            ),
            ("GITHUB_TOKEN='ghp_x'", "GITHUB_TOKEN='****'"),
            ("  - API_TOKEN=abc # why", "  - API_TOKEN=**** # why"),
            (
                "args = [\"x\", \"--api-key\", \"sk-2\"]",
                "args = [\"x\", \"--api-key\", \"****\"]",
            ),
            (
                "npx x --api-key sk-3 --port 1",
                "npx x --api-key **** --port 1",
            ),
            (
                "  - \"--db=mysql://root:pw@db/x\"",
                "  - \"--db=mysql://root:****@db/x\"",
            ),
            ("Authorization: Bearer abc", "Authorization: ****"),
            // References, public keys and plain text stay.
            (
                "GITHUB_TOKEN: \"${GH_TOKEN}\"",
                "GITHUB_TOKEN: \"${GH_TOKEN}\"",
            ),
            (
                "url: https://example.com/a:b@c",
                "url: https://example.com/a:b@c",
            ),
            ("SLACK_TEAM_ID: T1", "SLACK_TEAM_ID: T1"),
            ("  --api-key", "  --api-key"),
            ("token-less text", "token-less text"),
        ] {
            assert_eq!(mask(line, &[]), want, "{line}");
        }
        assert_eq!(mask("  - sk-known\n", &["sk-known"]), "  - ****\n");
        // Too short to mask everywhere.
        assert_eq!(mask("abc", &["a"]), "abc");
    }

    #[test]
    fn masks_field_values() {
        let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(
            "{A_TOKEN: lit, B_TOKEN: '${B}', URL: 'pg://u:pw@h/d', LIST: [x, --api-key, k, --port, '1', 'API_KEY=v']}",
        )
        .unwrap();
        let masked = serde_yaml_ng::to_string(&mask_value(&value)).unwrap();
        assert_eq!(
            masked,
            "A_TOKEN: '****'\nB_TOKEN: ${B}\nURL: pg://u:****@h/d\nLIST:\n- x\n- --api-key\n- '****'\n- --port\n- '1'\n- API_KEY=****\n"
        );
    }
}
