//! Evaluates compose's `$` syntax in the values of a compose file at deploy time:
//! `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`,
//! `${VAR?error}`, `${VAR:+alternative}`, `${VAR+alternative}` and `$$`.
//!
//! Problems are collected rather than returned one at a time, so a deploy can
//! list every missing required variable in one error before it creates anything.

/// What went wrong while interpolating, collected over a whole file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Problems {
    /// Required variables (`:?` / `?`) that are missing: (name, message, where).
    pub missing_required: Vec<MissingVariable>,
    /// Variables read without a default that are not set; they become "".
    pub unset: Vec<String>,
    /// Expressions compose cannot read: (message, where).
    pub syntax: Vec<(String, String)>,
}

/// A required variable that has no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingVariable {
    pub name: String,
    /// The `:?` message, when the file gives one.
    pub message: String,
    /// Where in the file it is read, e.g. `services.github.environment.TOKEN`.
    pub place: String,
}

impl Problems {
    /// Whether interpolation must stop the deploy.
    pub fn has_errors(&self) -> bool {
        !self.missing_required.is_empty() || !self.syntax.is_empty()
    }

    fn unset(&mut self, name: &str) {
        if !self.unset.iter().any(|known| known == name) {
            self.unset.push(name.to_string());
        }
    }
}

/// Interpolates `text`; `lookup` answers the value of a variable (`None` when
/// it is unset); `place` names the value for error messages.
pub fn interpolate(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    place: &str,
    problems: &mut Problems,
) -> String {
    if !text.contains('$') {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let Some(offset) = text[i..].find('$') else {
            out.push_str(&text[i..]);
            break;
        };
        out.push_str(&text[i..i + offset]);
        i += offset;
        match bytes.get(i + 1) {
            Some(b'$') => {
                out.push('$');
                i += 2;
            }
            Some(b'{') => match crate::compose::interpolation::closing_brace(text, i + 2) {
                Some(end) => {
                    out.push_str(&braced(&text[i + 2..end], lookup, place, problems));
                    i = end + 1;
                }
                None => {
                    problems.syntax.push((
                        format!("`{}`: `${{` is never closed", &text[i..]),
                        place.to_string(),
                    ));
                    i = bytes.len();
                }
            },
            Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
                let len = name_len(&text[i + 1..]);
                let name = &text[i + 1..i + 1 + len];
                match lookup(name) {
                    Some(value) => out.push_str(&value),
                    None => problems.unset(name),
                }
                i += 1 + len;
            }
            // A `$` that starts no expression is kept as it is.
            _ => {
                out.push('$');
                i += 1;
            }
        }
    }
    out
}

/// Evaluates the inside of `${…}`.
fn braced(
    inner: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    place: &str,
    problems: &mut Problems,
) -> String {
    let len = name_len(inner);
    let name = &inner[..len];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        problems.syntax.push((
            format!("`${{{inner}}}` does not name a variable"),
            place.to_string(),
        ));
        return String::new();
    }
    let rest = &inner[len..];
    let value = lookup(name);
    let set = value.is_some();
    let non_empty = value.as_deref().is_some_and(|v| !v.is_empty());
    // The operand of an operator may itself hold `${…}`; it is only evaluated
    // when used, as compose does, so an unused default never warns.
    let operand = |text: &str, problems: &mut Problems| interpolate(text, lookup, place, problems);
    let (operator, argument) = split_operator(rest);
    match operator {
        "" if rest.is_empty() => match value {
            Some(value) => value,
            None => {
                problems.unset(name);
                String::new()
            }
        },
        ":-" if non_empty => value.unwrap_or_default(),
        ":-" => operand(argument, problems),
        "-" if set => value.unwrap_or_default(),
        "-" => operand(argument, problems),
        ":+" if non_empty => operand(argument, problems),
        "+" if set => operand(argument, problems),
        ":+" | "+" => String::new(),
        ":?" if non_empty => value.unwrap_or_default(),
        "?" if set => value.unwrap_or_default(),
        ":?" | "?" => {
            let message = operand(argument, problems);
            problems.missing_required.push(MissingVariable {
                name: name.to_string(),
                message,
                place: place.to_string(),
            });
            String::new()
        }
        _ => {
            problems.syntax.push((
                format!("`${{{inner}}}` is not an interpolation compose understands"),
                place.to_string(),
            ));
            String::new()
        }
    }
}

/// Splits `:-default` into (":-", "default"); ("", "") when nothing matches.
fn split_operator(rest: &str) -> (&str, &str) {
    for operator in [":-", ":?", ":+", "-", "?", "+"] {
        if let Some(argument) = rest.strip_prefix(operator) {
            return (operator, argument);
        }
    }
    ("", rest)
}

/// The length of the variable name at the start of `text`.
fn name_len(text: &str) -> usize {
    text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> (String, Problems) {
        let lookup = |name: &str| match name {
            "SET" => Some("value".to_string()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        let mut problems = Problems::default();
        let out = interpolate(text, &lookup, "here", &mut problems);
        (out, problems)
    }

    #[test]
    fn plain_and_braced_references() {
        assert_eq!(run("a $SET b").0, "a value b");
        assert_eq!(run("${SET}/x").0, "value/x");
        assert_eq!(run("$SET_X").0, "");
        assert_eq!(run("$SET_X").1.unset, vec!["SET_X".to_string()]);
        assert_eq!(run("no dollars").0, "no dollars");
    }

    #[test]
    fn defaults_distinguish_empty_from_unset() {
        assert_eq!(run("${UNSET:-d}").0, "d");
        assert_eq!(run("${EMPTY:-d}").0, "d");
        assert_eq!(run("${EMPTY-d}").0, "");
        assert_eq!(run("${UNSET-d}").0, "d");
        assert_eq!(run("${SET:-d}").0, "value");
        assert_eq!(run("${UNSET:-${SET}}").0, "value");
        assert!(run("${SET:-${UNSET}}").1.unset.is_empty());
    }

    #[test]
    fn alternatives() {
        assert_eq!(run("${SET:+alt}").0, "alt");
        assert_eq!(run("${EMPTY:+alt}").0, "");
        assert_eq!(run("${EMPTY+alt}").0, "alt");
        assert_eq!(run("${UNSET+alt}").0, "");
    }

    #[test]
    fn required_variables_are_collected() {
        let (_, problems) = run("${A:?set A} ${EMPTY:?} ${EMPTY?} ${B?need B} ${SET:?x}");
        let names: Vec<&str> = problems
            .missing_required
            .iter()
            .map(|m| m.name.as_str())
            .collect();
        assert_eq!(names, ["A", "EMPTY", "B"]);
        assert_eq!(problems.missing_required[0].message, "set A");
        assert!(problems.has_errors());
    }

    #[test]
    fn dollars_and_bad_syntax() {
        assert_eq!(run("a$$b $$SET").0, "a$b $SET");
        assert_eq!(run("5$ and $ x").0, "5$ and $ x");
        assert!(run("${OPEN").1.has_errors());
        assert!(run("${}").1.has_errors());
        assert!(run("${A B}").1.has_errors());
        assert!(run("${1A}").1.has_errors());
    }
}
