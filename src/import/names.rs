//! Names for what an import creates: the profile (`[a-z0-9][a-z0-9_-]*`) and
//! its servers (`[a-z0-9][a-z0-9_.-]*`, unique), since both become compose
//! project and service names. MCP clients allow any string as a server name.
use std::collections::HashSet;
use std::path::Path;

use crate::error::{Error, Result};
use crate::profile::{is_project_like_name, is_server_name, suggest_server_name};

/// A valid profile name made from any text: lowercase, other characters as
/// `-`, runs collapsed, `imported` when nothing is left.
pub fn profile_name_from(text: &str) -> String {
    let mut name = String::with_capacity(text.len());
    for c in text.chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
            c
        } else {
            '-'
        };
        if !(c == '-' && name.ends_with('-')) {
            name.push(c);
        }
    }
    let name = name.trim_matches(['-', '_']);
    if name.is_empty() {
        "imported".to_string()
    } else {
        name.to_string()
    }
}

/// The default profile name for an input file: its stem, or its folder's name
/// when the stem says nothing (`.cursor/mcp.json` → `cursor`).
pub fn profile_name_from_path(path: &Path) -> String {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("")
        .trim_start_matches('.');
    let generic = matches!(stem, "" | "mcp" | "settings" | "config" | "-");
    let folder = path
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|f| f.to_str())
        .map(|f| f.trim_start_matches('.'))
        .filter(|f| !f.is_empty());
    match (generic, folder) {
        (true, Some(folder)) => profile_name_from(folder),
        _ => profile_name_from(stem),
    }
}

/// `--name` must already be valid: a name the user chose is not rewritten.
pub fn check_profile_name(name: &str) -> Result<()> {
    if is_project_like_name(name) {
        return Ok(());
    }
    Err(Error::invalid(format!("invalid profile name `{name}`")).hint(format!(
        "profile names use lowercase letters, digits, `_` and `-`, starting with a letter or digit (e.g. `{}`)",
        profile_name_from(name)
    )))
}

/// Server names for `originals`, in order: each valid name keeps itself, the
/// others get a close valid name that no other server uses. The second item
/// says why a name changed.
pub fn assign(originals: &[&str]) -> Vec<(String, Option<String>)> {
    // Valid names are claimed first, so a renamed server never takes the name
    // another server already has.
    let mut used: HashSet<String> = HashSet::new();
    let mut keeps = vec![false; originals.len()];
    for (i, original) in originals.iter().enumerate() {
        if is_server_name(original) && used.insert(original.to_string()) {
            keeps[i] = true;
        }
    }
    originals
        .iter()
        .zip(keeps)
        .map(|(original, keep)| {
            if keep {
                return (original.to_string(), None);
            }
            let reason = if is_server_name(original) {
                "another server already has this name".to_string()
            } else {
                "server names become compose service names: lowercase letters, digits, `_`, `.` and `-`".to_string()
            };
            let base = tidy(&suggest_server_name(original));
            let mut name = base.clone();
            let mut n = 2;
            while !used.insert(name.clone()) {
                name = format!("{base}-{n}");
                n += 1;
            }
            (name, Some(reason))
        })
        .collect()
}

/// `-` runs collapsed and trailing separators dropped (`@scope/pkg@` →
/// `scope-pkg`), keeping the name valid.
fn tidy(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    let out = out.trim_end_matches(['-', '_', '.']);
    if is_server_name(out) {
        out.to_string()
    } else {
        "server".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_names() {
        assert_eq!(profile_name_from("Web Dev"), "web-dev");
        assert_eq!(
            profile_name_from("claude_desktop_config"),
            "claude_desktop_config"
        );
        assert_eq!(profile_name_from("@@@"), "imported");
        assert_eq!(profile_name_from("-x--y-"), "x-y");
        assert_eq!(
            profile_name_from_path(Path::new("/p/.cursor/mcp.json")),
            "cursor"
        );
        assert_eq!(
            profile_name_from_path(Path::new(".vscode/mcp.json")),
            "vscode"
        );
        assert_eq!(profile_name_from_path(Path::new("mcp.json")), "mcp");
        assert_eq!(profile_name_from_path(Path::new("/x/.mcp.json")), "x");
        assert_eq!(
            profile_name_from_path(Path::new("/a/claude_desktop_config.json")),
            "claude_desktop_config"
        );
        assert!(check_profile_name("work").is_ok());
        assert!(
            check_profile_name("Work")
                .unwrap_err()
                .hint
                .unwrap()
                .contains("`work`")
        );
    }

    #[test]
    fn invalid_and_duplicate_server_names_are_renamed() {
        let names = assign(&[
            "GitHub Server",
            "@upstash/context7-mcp",
            "fetch",
            "Fetch",
            "github-server",
            "weird@",
        ]);
        let got: Vec<&str> = names.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            got,
            [
                "github-server-2",
                "upstash-context7-mcp",
                "fetch",
                "fetch-2",
                "github-server",
                "weird"
            ]
        );
        assert!(
            names[0]
                .1
                .as_ref()
                .unwrap()
                .contains("compose service names")
        );
        assert!(names[2].1.is_none() && names[4].1.is_none());
        for (name, _) in &names {
            assert!(is_server_name(name), "{name}");
        }
    }

    #[test]
    fn repeated_valid_names_are_numbered() {
        let names = assign(&["fetch", "fetch", "fetch-2"]);
        let got: Vec<&str> = names.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(got, ["fetch", "fetch-3", "fetch-2"]);
        assert!(
            names[1]
                .1
                .as_ref()
                .unwrap()
                .contains("already has this name")
        );
    }
}
