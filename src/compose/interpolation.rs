//! Compose's `$` syntax in values mcpm writes: `${VAR}`, `${VAR:-default}`,
//! `${VAR:?error}`, `$VAR` stay interpolations, `$$` is a literal `$`, and any
//! other `$` is escaped so compose never misreads a literal.

/// A value ready for a compose file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposeText {
    /// The text as compose must see it (`$` escaped where literal).
    pub text: String,
    /// Whether the value reads any variable.
    pub interpolates: bool,
}

/// A `$` expression compose cannot read; `offset` is a byte offset in the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterpolationError {
    pub offset: usize,
    pub message: String,
    pub hint: String,
}

/// Converts a profile value into compose text, checking every interpolation.
pub fn to_compose(value: &str) -> Result<ComposeText, InterpolationError> {
    let bytes = value.as_bytes();
    let mut text = String::with_capacity(value.len());
    let mut interpolates = false;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            let next = value[i..].find('$').map_or(value.len(), |j| i + j);
            text.push_str(&value[i..next]);
            i = next;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'$') => {
                text.push_str("$$");
                i += 2;
            }
            Some(b'{') => {
                let end = braced_end(value, i)?;
                check_braced(&value[i + 2..end], i)?;
                text.push_str(&value[i..=end]);
                interpolates = true;
                i = end + 1;
            }
            Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
                let len = value[i + 1..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(value.len() - i - 1);
                text.push_str(&value[i..i + 1 + len]);
                interpolates = true;
                i += 1 + len;
            }
            Some(c) if c.is_ascii_digit() => {
                let len = value[i + 1..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(value.len() - i - 1);
                return Err(digit_error(&value[i + 1..i + 1 + len], i));
            }
            // A lone `$` (end of text, before a space or punctuation) is literal.
            _ => {
                text.push_str("$$");
                i += 1;
            }
        }
    }
    Ok(ComposeText { text, interpolates })
}

/// The index of the `}` closing the `${` at `start`, allowing nested `${…}`.
fn braced_end(value: &str, start: usize) -> Result<usize, InterpolationError> {
    closing_brace(value, start + 2).ok_or_else(|| InterpolationError {
        offset: start,
        message: "`${` is never closed".into(),
        hint: "close it with `}`, or write `$$` for a literal `$`".into(),
    })
}

/// The index of the `}` that closes a `${` whose inside starts at `from`,
/// allowing nested `${…}` in defaults (`${A:-${B}}`). The one scanner for
/// compose's braces: the renderer, the engine's interpolation and the
/// importer all use it.
pub fn closing_brace(text: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 2;
                continue;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

/// Checks `NAME`, `NAME:-default`, `NAME?err` and the other operators.
fn check_braced(inner: &str, offset: usize) -> Result<(), InterpolationError> {
    let name_len = inner
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(inner.len());
    let name = &inner[..name_len];
    if name.is_empty() {
        return Err(InterpolationError {
            offset,
            message: format!("`${{{inner}}}` names no variable"),
            hint: "write `${NAME}`, or `$$` for a literal `$`".into(),
        });
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(digit_error(name, offset));
    }
    let rest = &inner[name_len..];
    let operator_ok = rest.is_empty()
        || [":-", ":?", ":+", "-", "?", "+"]
            .iter()
            .any(|op| rest.starts_with(op));
    if !operator_ok {
        return Err(InterpolationError {
            offset,
            message: format!("`${{{inner}}}` is not an interpolation compose understands"),
            hint: "use `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?message}` or `${NAME:+alternative}`".into(),
        });
    }
    Ok(())
}

fn digit_error(name: &str, offset: usize) -> InterpolationError {
    InterpolationError {
        offset,
        message: format!("variable `{name}` starts with a digit, which compose cannot interpolate"),
        hint: format!(
            "rename the variable so it starts with a letter or `_` (e.g. `MCPM_{name}`) and export it under that name"
        ),
    }
}

/// Whether the text is a valid compose variable name.
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A valid variable name made from any key: other characters become `_`, and a
/// leading digit gets an `MCPM_` prefix (documented in the README).
pub fn variable_name_for(key: &str) -> String {
    let mut name: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "MCPM_");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(value: &str) -> ComposeText {
        to_compose(value).expect("valid")
    }

    #[test]
    fn interpolations_are_kept() {
        for value in [
            "${TOKEN}",
            "Bearer ${TOKEN}",
            "${A:-x}",
            "${A:?need A}",
            "$HOME/x",
            "${A:-${B}}",
        ] {
            let out = ok(value);
            assert_eq!(out.text, value);
            assert!(out.interpolates, "{value}");
        }
    }

    #[test]
    fn literal_dollars_are_escaped() {
        assert_eq!(ok("costs 5$").text, "costs 5$$");
        assert_eq!(ok("a $ b").text, "a $$ b");
        assert_eq!(ok("keep $$ as is").text, "keep $$ as is");
        assert!(!ok("plain").interpolates);
    }

    #[test]
    fn unreadable_names_are_errors() {
        assert!(
            to_compose("${1PASSWORD_TOKEN}")
                .unwrap_err()
                .message
                .contains("starts with a digit")
        );
        assert!(
            to_compose("$1PASSWORD")
                .unwrap_err()
                .message
                .contains("starts with a digit")
        );
        assert!(
            to_compose("${OPEN")
                .unwrap_err()
                .message
                .contains("never closed")
        );
        assert!(to_compose("${}").is_err());
        assert!(to_compose("${A B}").is_err());
        assert_eq!(to_compose("x ${1A}").unwrap_err().offset, 2);
    }

    #[test]
    fn variable_names_are_made_valid() {
        assert_eq!(variable_name_for("GITHUB_TOKEN"), "GITHUB_TOKEN");
        assert_eq!(variable_name_for("1PASSWORD_TOKEN"), "MCPM_1PASSWORD_TOKEN");
        assert_eq!(variable_name_for("x-api-key"), "x_api_key");
        assert!(is_variable_name("_A1") && !is_variable_name("1A") && !is_variable_name("A-B"));
    }
}
