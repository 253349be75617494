//! Reading `.env` files the way compose does: the project `.env` beside the
//! compose file (variables for interpolation) and a service's `env_file:`
//! (variables for the container).
//!
//! Syntax: `NAME=value`, `export NAME=value`, `# comments`; single quotes keep
//! a value literal, double quotes allow `\n`, `\t`, `\\`, `\"` escapes and
//! interpolation, unquoted values lose a trailing ` # comment` and are
//! interpolated. A bare `NAME` passes the variable through from the caller.
use std::path::Path;

use crate::error::{Error, Result};
use crate::source::SourceFile;

use super::interpolate::{Problems, interpolate};

/// One assignment; `value` is `None` for a bare `NAME` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub name: String,
    pub value: Option<String>,
}

/// Parses `text` (read from `path`). `outer` looks a variable up outside the
/// file (the process environment); inside the file, earlier assignments are
/// visible to later ones.
pub fn parse(
    path: &Path,
    text: &str,
    outer: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Assignment>> {
    let mut assignments: Vec<Assignment> = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let body = trimmed
            .strip_prefix("export ")
            .unwrap_or(trimmed)
            .trim_start();
        let (name, raw) = match body.split_once('=') {
            Some((name, raw)) => (name.trim_end(), Some(raw.trim_start())),
            None => (body, None),
        };
        if !super::model::is_variable_name(name) {
            let at = start + line.find(name).unwrap_or(0);
            return Err(Error::invalid(format!(
                "`{name}` is not a valid variable name in {}",
                path.display()
            ))
            .at(Some(
                SourceFile::plain(path, text.to_string()).locate(at..at + name.len().max(1)),
            ))
            .hint("names start with a letter or `_` and hold letters, digits and `_`"));
        }
        let value = match raw {
            None => None,
            Some(raw) => {
                let lookup = |wanted: &str| {
                    outer(wanted).or_else(|| {
                        assignments
                            .iter()
                            .rev()
                            .find(|a| a.name == wanted)
                            .and_then(|a| a.value.clone())
                    })
                };
                let place = format!("{}:{name}", path.display());
                let mut problems = Problems::default();
                let value = value_of(raw, &lookup, &place, &mut problems).map_err(|message| {
                    Error::invalid(format!("{message} in {}", path.display())).at(Some(
                        SourceFile::plain(path, text.to_string()).locate(start..start + 1),
                    ))
                })?;
                if let Some(missing) = problems.missing_required.first() {
                    return Err(Error::invalid(format!(
                        "{}: required variable `{}` is not set{}",
                        place,
                        missing.name,
                        if missing.message.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", missing.message)
                        }
                    )));
                }
                Some(value)
            }
        };
        assignments.push(Assignment {
            name: name.to_string(),
            value,
        });
    }
    Ok(assignments)
}

/// The value of one assignment, unquoted and interpolated.
fn value_of(
    raw: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    place: &str,
    problems: &mut Problems,
) -> std::result::Result<String, String> {
    if let Some(rest) = raw.strip_prefix('\'') {
        let end = rest
            .find('\'')
            .ok_or_else(|| "a single quote is never closed".to_string())?;
        return Ok(rest[..end].to_string());
    }
    if let Some(rest) = raw.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = rest.chars();
        loop {
            match chars.next() {
                None => return Err("a double quote is never closed".into()),
                Some('"') => break,
                Some('\\') => match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some('r') => out.push('\r'),
                    Some(c @ ('\\' | '"' | '\'')) => out.push(c),
                    Some(c) => {
                        out.push('\\');
                        out.push(c);
                    }
                    None => return Err("a double quote is never closed".into()),
                },
                Some(c) => out.push(c),
            }
        }
        return Ok(interpolate(&out, lookup, place, problems));
    }
    let value = match raw.find(" #") {
        Some(comment) => &raw[..comment],
        None => raw,
    };
    Ok(interpolate(value.trim_end(), lookup, place, problems))
}

/// Reads and parses the file at `path`.
pub fn read(path: &Path, outer: &dyn Fn(&str) -> Option<String>) -> Result<Vec<Assignment>> {
    let bytes = std::fs::read(path).map_err(|err| Error::io("read", path, err))?;
    let text = crate::source::decode(path, bytes)?;
    parse(path, &text, outer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Vec<(String, Option<String>)> {
        let outer = |name: &str| (name == "OUTER").then(|| "out".to_string());
        parse(Path::new(".env"), text, &outer)
            .unwrap()
            .into_iter()
            .map(|a| (a.name, a.value))
            .collect()
    }

    #[test]
    fn quoting_comments_and_exports() {
        let parsed = parse_text(
            "# c\nA=1\nexport B = two words # note\nC='lit $A'\nD=\"x\\ny $A\"\nE=$$A\nF\nG=${OUTER}-${A}\n",
        );
        let get = |n: &str| parsed.iter().find(|(k, _)| k == n).unwrap().1.clone();
        assert_eq!(get("A").as_deref(), Some("1"));
        assert_eq!(get("B").as_deref(), Some("two words"));
        assert_eq!(get("C").as_deref(), Some("lit $A"));
        assert_eq!(get("D").as_deref(), Some("x\ny 1"));
        assert_eq!(get("E").as_deref(), Some("$A"));
        assert_eq!(get("F"), None);
        assert_eq!(get("G").as_deref(), Some("out-1"));
    }

    #[test]
    fn bad_names_point_at_the_line() {
        let err = parse(Path::new(".env"), "OK=1\n1BAD=2\n", &|_| None).unwrap_err();
        assert!(err.message.contains("1BAD"));
        assert_eq!(err.location.unwrap().line, 2);
    }

    #[test]
    fn values_written_by_generate_read_back() {
        // generate's `.env` writer quotes with single quotes, or double quotes
        // with `$$` for a literal `$`.
        let text = format!(
            "T={}\nU={}\n",
            crate::compose::dotenv::quote("a$b"),
            crate::compose::dotenv::quote("it's $x")
        );
        let parsed = parse_text(&text);
        assert_eq!(parsed[0].1.as_deref(), Some("a$b"));
        assert_eq!(parsed[1].1.as_deref(), Some("it's $x"));
    }
}
