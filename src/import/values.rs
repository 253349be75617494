//! Values from MCP tools, rewritten in the profile's `$` syntax (compose's).
//!
//! MCP clients pass values literally except for `${…}` forms: `${VAR}` (Claude
//! Code, MCPM), `${env:VAR}` and `${input:id}` (VS Code, Cursor) and a few VS
//! Code variables. In a profile a bare `$NAME` is an interpolation, so a
//! literal `$` from a client is written `$$` to keep its meaning.
//!
//! VS Code's `${workspaceFolder}` (and `${workspaceFolderBasename}`,
//! `${workspaceRoot}`) and `${userHome}` have a value only in the editor, so
//! they become the paths they stand for: see [`Places`].
use std::path::{Path, PathBuf};

use crate::compose::interpolation::variable_name_for;

/// The paths VS Code's variables stand for, decided once per imported file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Places {
    /// `${workspaceFolder}`: an absolute directory, and whether it was
    /// guessed (the file is not a workspace's own config).
    pub workspace: Option<Workspace>,
    /// `${userHome}`: the user's home directory, absolute.
    pub home: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    pub path: String,
    /// The folder came from where mcpm ran, not from the file's place.
    pub guessed: bool,
}

impl Places {
    /// The places for a config read from `file`: the workspace is the folder
    /// holding the `.vscode` (or Cursor's `.cursor`) directory the file is in,
    /// as the editor has it; for any other file (a user-level config, stdin)
    /// it is `cwd`, the directory the import ran in, and a note says so.
    /// Paths that are not UTF-8 cannot be written into a profile: left out.
    pub fn for_file(file: &Path, cwd: Option<&Path>, home: Option<&Path>) -> Self {
        let absolute = |path: &Path| -> Option<String> {
            let path = match cwd {
                Some(cwd) if path.is_relative() => cwd.join(path),
                _ => path.to_path_buf(),
            };
            let path = normalize(&path);
            path.is_absolute()
                .then(|| path.to_str().map(str::to_string))
                .flatten()
        };
        let editor_dir = file
            .parent()
            .filter(|dir| {
                dir.file_name()
                    .is_some_and(|name| name == ".vscode" || name == ".cursor")
            })
            .and_then(Path::parent);
        let workspace = match editor_dir {
            Some(folder) => absolute(if folder.as_os_str().is_empty() {
                Path::new(".")
            } else {
                folder
            })
            .map(|path| Workspace {
                path,
                guessed: false,
            }),
            None => cwd.and_then(absolute).map(|path| Workspace {
                path,
                guessed: true,
            }),
        };
        Self {
            workspace,
            home: home.and_then(absolute),
        }
    }
}

/// `path` without `.` components and with `..` applied, without touching
/// the file system (the folder need not exist where the profile is used).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// A rewritten value and what the user should know about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translated {
    pub text: String,
    pub notes: Vec<String>,
}

/// VS Code's predefined variables that have no value outside the editor
/// (the workspace ones have, when [`Places`] knows the folder).
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
pub fn translate(value: &str, places: &Places) -> Translated {
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
        text.push_str(&rewrite_braced(inner, places, &mut notes));
        rest = &rest[end + 1..];
    }
    text.push_str(rest);
    Translated { text, notes }
}

/// `${inner}` in the profile's syntax.
fn rewrite_braced(inner: &str, places: &Places, notes: &mut Vec<String>) -> String {
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
        return match &places.home {
            Some(home) => literal(home),
            // No home to name: the deploying user's, as compose reads it.
            None => "${HOME}".to_string(),
        };
    }
    if let Some(workspace) = &places.workspace {
        let value = match inner {
            "workspaceFolder" | "workspaceRoot" => Some(workspace.path.clone()),
            "workspaceFolderBasename" => Path::new(&workspace.path)
                .file_name()
                .and_then(|name| name.to_str())
                .map(str::to_string),
            _ => None,
        };
        if let Some(value) = value {
            if workspace.guessed {
                let note = format!(
                    "`${{{inner}}}` became `{value}`: the config is not inside a workspace's .vscode folder, so the workspace is taken to be the directory the import ran in ({}); edit the profile if the server meant another folder",
                    workspace.path
                );
                if !notes.contains(&note) {
                    notes.push(note);
                }
            }
            return literal(&value);
        }
    }
    if EDITOR_VARIABLES.contains(&inner) {
        notes.push(format!(
            "`${{{inner}}}` is an editor variable with no value outside VS Code/Cursor: replace it with a path, or export {inner}"
        ));
    }
    format!("${{{inner}}}")
}

/// A path as profile text: a `$` in it is literal.
fn literal(path: &str) -> String {
    path.replace('$', "$$")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn translate(value: &str) -> Translated {
        super::translate(value, &Places::default())
    }

    fn text(value: &str) -> String {
        translate(value).text
    }

    fn places(file: &str) -> Places {
        Places::for_file(
            Path::new(file),
            Some(Path::new("/home/dev/work")),
            Some(Path::new("/home/dev")),
        )
    }

    #[test]
    fn the_workspace_is_the_folder_holding_the_editor_directory() {
        let from_vscode = places("/home/dev/proj/.vscode/mcp.json");
        assert_eq!(
            from_vscode.workspace,
            Some(Workspace {
                path: "/home/dev/proj".into(),
                guessed: false
            })
        );
        let relative = places("../proj/.cursor/mcp.json");
        assert_eq!(relative.workspace.unwrap().path, "/home/dev/proj");
        let here = places(".vscode/mcp.json");
        assert_eq!(here.workspace.unwrap().path, "/home/dev/work");
        let desktop = places("/home/dev/.config/Claude/claude_desktop_config.json");
        assert_eq!(
            desktop.workspace,
            Some(Workspace {
                path: "/home/dev/work".into(),
                guessed: true
            })
        );
        assert_eq!(desktop.home.as_deref(), Some("/home/dev"));
        assert_eq!(
            Places::for_file(Path::new("x.json"), None, None),
            Places::default()
        );
    }

    #[test]
    fn editor_variables_become_paths() {
        let at = places("/home/dev/my proj/.vscode/mcp.json");
        let db = super::translate("--db-path=${workspaceFolder}/data/app.db", &at);
        assert_eq!(db.text, "--db-path=/home/dev/my proj/data/app.db");
        assert!(db.notes.is_empty(), "{:?}", db.notes);
        assert_eq!(
            super::translate("${workspaceFolderBasename}", &at).text,
            "my proj"
        );
        assert_eq!(
            super::translate("${workspaceRoot}", &at).text,
            "/home/dev/my proj"
        );
        assert_eq!(
            super::translate("${userHome}/.mcp/memory.json", &at).text,
            "/home/dev/.mcp/memory.json"
        );
        // Editor variables without a value stay, with their note.
        let file = super::translate("${file}", &at);
        assert_eq!(file.text, "${file}");
        assert_eq!(file.notes.len(), 1);
        // Inputs keep their behaviour.
        assert_eq!(super::translate("${input:api-key}", &at).text, "${API_KEY}");
    }

    #[test]
    fn a_guessed_workspace_is_noted_once_and_dollars_stay_literal() {
        let guessed = places("/etc/claude_desktop_config.json");
        let both = super::translate("${workspaceFolder}:${workspaceFolder}", &guessed);
        assert_eq!(both.text, "/home/dev/work:/home/dev/work");
        assert_eq!(both.notes.len(), 1);
        assert!(both.notes[0].contains("directory the import ran in"));
        let odd = Places::for_file(
            Path::new("/srv/$x/.vscode/mcp.json"),
            None,
            Some(Path::new("/home/d$v")),
        );
        assert_eq!(
            super::translate("${workspaceFolder}", &odd).text,
            "/srv/$$x"
        );
        assert_eq!(super::translate("${userHome}", &odd).text, "/home/d$$v");
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
