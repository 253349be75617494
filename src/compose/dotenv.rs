//! The `.env` file beside a compose file: updates mcpm's variables in place and
//! leaves every other line (comments, other variables) as it was.

/// Returns the new `.env` text with `vars` set; `None` when nothing changes.
pub fn update(existing: &str, vars: &[(String, String)]) -> Option<String> {
    let mut lines: Vec<String> = existing.lines().map(str::to_string).collect();
    let mut changed = false;
    for (name, value) in vars {
        let wanted = format!("{name}={}", quote(value));
        // Compose reads the last assignment of a name: that is the one to set.
        match lines.iter().rposition(|line| defines(line, name)) {
            Some(index) if lines[index] == wanted => {}
            Some(index) => {
                lines[index] = wanted;
                changed = true;
            }
            None => {
                lines.push(wanted);
                changed = true;
            }
        }
    }
    if !changed {
        return None;
    }
    let mut text = lines.join("\n");
    text.push('\n');
    Some(text)
}

/// The variables of `vars` whose line in `existing` is missing or different:
/// what `update` would write.
pub fn pending(existing: &str, vars: &[(String, String)]) -> Vec<String> {
    vars.iter()
        .filter(|(name, value)| {
            let wanted = format!("{name}={}", quote(value));
            existing.lines().rfind(|line| defines(line, name)) != Some(wanted.as_str())
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// Whether `existing` gives `name` a value other than `value` (so `name`
/// cannot be used for `value` without changing what others read). The last
/// line that sets `name` is the one compose reads.
pub fn holds_other(existing: &str, name: &str, value: &str) -> bool {
    let wanted = format!("{name}={}", quote(value));
    existing
        .lines()
        .rfind(|line| defines(line, name))
        .is_some_and(|line| line != wanted)
}

/// Whether a `.env` line sets `name`: `NAME=…`, `export NAME=…`, or a bare
/// `NAME` that passes the caller's variable through.
fn defines(line: &str, name: &str) -> bool {
    let line = line.trim();
    let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
    line.strip_prefix(name)
        .is_some_and(|rest| rest.is_empty() || rest.trim_start().starts_with('='))
}

/// Single quotes make a compose `.env` value literal (no `$` interpolation, no
/// escapes); a value holding a `'` falls back to double quotes with escapes.
pub fn quote(value: &str) -> String {
    if !value.contains('\'') && !value.contains('\n') {
        return format!("'{value}'");
    }
    let escaped = value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .replace('$', "$$");
    format!("\"{escaped}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_in_place_and_appends() {
        let existing = "# mine\nOTHER=1\nTOKEN='old'\n";
        let vars = vec![
            ("TOKEN".to_string(), "new".to_string()),
            ("KEY".to_string(), "k$1".to_string()),
        ];
        assert_eq!(
            update(existing, &vars).unwrap(),
            "# mine\nOTHER=1\nTOKEN='new'\nKEY='k$1'\n"
        );
        assert_eq!(update("TOKEN='new'\nKEY='k$1'\n", &vars), None);
    }

    #[test]
    fn a_variable_assigned_twice_is_updated_where_compose_reads_it() {
        // Compose takes the last assignment of a name (found by fuzzing:
        // updating the first left the old value in force).
        let vars = vec![("TOKEN".to_string(), "new".to_string())];
        let updated = update("TOKEN=a\nTOKEN=b\n", &vars).unwrap();
        assert_eq!(updated, "TOKEN=a\nTOKEN='new'\n");
        assert_eq!(update(&updated, &vars), None);
        assert_eq!(pending("TOKEN='new'\nTOKEN=b\n", &vars), vec!["TOKEN"]);
        assert!(pending(&updated, &vars).is_empty());
    }

    #[test]
    fn a_bare_name_after_the_assignment_is_the_line_to_set() {
        // A bare `NAME` line passes the caller's variable through and, being
        // last, would override what mcpm writes (found by fuzzing).
        let vars = vec![("TOKEN".to_string(), "new".to_string())];
        assert_eq!(
            update("TOKEN=a\nexport TOKEN\nOTHER\n", &vars).unwrap(),
            "TOKEN=a\nTOKEN='new'\nOTHER\n"
        );
        assert_eq!(pending("TOKEN='new'\nTOKEN\n", &vars), vec!["TOKEN"]);
    }

    #[test]
    fn export_lines_are_recognised() {
        assert!(defines("export TOKEN=x", "TOKEN"));
        assert!(!defines("TOKEN_2=x", "TOKEN"));
    }
}
