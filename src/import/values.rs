//! Values from MCP tools, rewritten in the profile's `$` syntax (compose's).
//!
//! MCP clients pass values literally except for `${…}` forms: `${VAR}` (Claude
//! Code, MCPM), `${env:VAR}` and `${input:id}` (VS Code, Cursor) and a few VS
//! Code variables. In a profile a bare `$NAME` is an interpolation, so a
//! literal `$` from a client is written `$$` to keep its meaning.
use crate::compose::interpolation::variable_name_for;

/// A rewritten value and what the user should know about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translated {
    pub text: String,
    pub notes: Vec<String>,
}

/// VS Code's predefined variables that have no value outside the editor.
pub(crate) const EDITOR_VARIABLES: &[&str] = &[
    "workspaceFolder",
    "workspaceFolderBasename",
    "workspaceRoot",
    "cwd",
    "file",
    "fileDirname",
    "pathSeparator",
    "/",
];

/// Rewrites one value.
pub fn translate(value: &str) -> Translated {
    let mut text = String::with_capacity(value.len());
    let mut notes = Vec::new();
    let mut rest = value;
    while let Some(dollar) = rest.find('$') {
        text.push_str(&rest[..dollar]);
        rest = &rest[dollar..];
        let Some(end) = rest
            .starts_with("${")
            .then(|| crate::compose::interpolation::closing_brace(rest, 2))
            .flatten()
        else {
            // A `$` no client reads as a variable: literal, so escaped.
            text.push_str("$$");
            rest = &rest[1..];
            continue;
        };
        let inner = &rest[2..end];
        text.push_str(&rewrite_braced(inner, &mut notes));
        rest = &rest[end + 1..];
    }
    text.push_str(rest);
    Translated { text, notes }
}

/// `${inner}` in the profile's syntax.
fn rewrite_braced(inner: &str, notes: &mut Vec<String>) -> String {
    if let Some(name) = inner.strip_prefix("env:") {
        return format!("${{{name}}}");
    }
    if let Some(id) = inner.strip_prefix("input:") {
        let name = variable_name_for(id).to_ascii_uppercase();
        notes.push(format!(
            "the VS Code input `{id}` became `${{{name}}}`: export {name} (or put it in the .env file beside the compose file) before deploying"
        ));
        return format!("${{{name}}}");
    }
    if inner == "userHome" {
        return "${HOME}".to_string();
    }
    if EDITOR_VARIABLES.contains(&inner) {
        notes.push(format!(
            "`${{{inner}}}` is an editor variable with no value outside VS Code/Cursor: replace it with a path, or export {inner}"
        ));
    }
    format!("${{{inner}}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> String {
        translate(value).text
    }

    #[test]
    fn references_stay_references() {
        assert_eq!(text("${GITHUB_TOKEN}"), "${GITHUB_TOKEN}");
        assert_eq!(text("Bearer ${TOKEN}"), "Bearer ${TOKEN}");
        assert_eq!(text("${A:-${B}}"), "${A:-${B}}");
        assert!(translate("${TOKEN}").notes.is_empty());
    }

    #[test]
    fn editor_forms_become_compose_forms() {
        assert_eq!(text("${env:API_KEY}"), "${API_KEY}");
        assert_eq!(text("${userHome}/notes"), "${HOME}/notes");
        let input = translate("Bearer ${input:perplexity-key}");
        assert_eq!(input.text, "Bearer ${PERPLEXITY_KEY}");
        assert!(input.notes[0].contains("export PERPLEXITY_KEY"));
        let folder = translate("${workspaceFolder}/src");
        assert_eq!(folder.text, "${workspaceFolder}/src");
        assert_eq!(folder.notes.len(), 1);
    }

    #[test]
    fn literal_dollars_are_escaped() {
        assert_eq!(text("pa$word"), "pa$$word");
        assert_eq!(text("costs 5$"), "costs 5$$");
        assert_eq!(text("$$"), "$$$$");
        assert_eq!(text("${never closed"), "$${never closed");
        assert_eq!(text("no dollars"), "no dollars");
        assert_eq!(text("é$ü"), "é$$ü");
    }
}
