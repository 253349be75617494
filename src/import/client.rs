//! MCP client configs: the `mcpServers` object of Claude Desktop
//! (`claude_desktop_config.json`), Cursor (`.cursor/mcp.json`), Claude Code
//! (`.mcp.json`) and Windsurf, and VS Code's `servers` (`.vscode/mcp.json`) or
//! `mcp.servers` (`settings.json`).
use std::path::Path;

use crate::error::{Error, Result};

use super::entry::{Dialect, convert};
use super::json::{Json, JsonObject};
use super::mcpm::looks_like_mcpm;
use super::values::Places;
use super::{Findings, Origin, Read};

/// Reads every server of a client config, in file order.
pub(crate) fn read(path: &Path, document: &Json, places: &Places) -> Result<Read> {
    let Some(top) = document.as_object() else {
        return Err(Error::invalid(format!(
            "{} is not an MCP client config: it holds {}, not an object",
            path.display(),
            document.kind()
        ))
        .hint(
            "pass the client's config file, e.g. claude_desktop_config.json or .cursor/mcp.json",
        ));
    };
    let sections = server_sections(path, top)?;
    if sections.is_empty() {
        return Err(no_servers_error(path, top));
    }
    let mut findings = Findings::default();
    let mut candidates = Vec::new();
    let mut total = 0;
    for (key, servers) in &sections {
        for duplicate in &servers.duplicates {
            findings.warn(format!(
                "server `{duplicate}` is written twice in `{key}`; the last one was used"
            ));
        }
        for (name, entry) in servers.iter() {
            total += 1;
            candidates.extend(convert(name, entry, Dialect::Client, places, &mut findings));
        }
    }
    let keys: Vec<String> = sections.iter().map(|(key, _)| key.to_string()).collect();
    Ok(Read {
        origin: Origin::ClientConfig {
            path: path.display().to_string(),
            client: client_label(path, &keys).to_string(),
            keys,
        },
        candidates,
        findings,
        total,
    })
}

/// The server maps the config holds: `mcpServers`, `servers`, `mcp.servers`.
fn server_sections<'a>(
    path: &Path,
    top: &'a JsonObject,
) -> Result<Vec<(&'static str, &'a JsonObject)>> {
    let nested = top.get("mcp").and_then(Json::as_object);
    let places = [
        ("mcpServers", top.get("mcpServers")),
        ("servers", top.get("servers")),
        ("mcp.servers", nested.and_then(|mcp| mcp.get("servers"))),
    ];
    let mut sections = Vec::new();
    for (key, value) in places {
        match value {
            None | Some(Json::Null) => {}
            Some(Json::Object(servers)) => sections.push((key, servers)),
            // VS Code's `servers` is only a server map when it is an object;
            // anything else under `mcpServers` is a broken config.
            Some(other) if key == "mcpServers" => {
                return Err(Error::invalid(format!(
                    "`mcpServers` in {} is {}, not an object of servers",
                    path.display(),
                    other.kind()
                ))
                .hint(
                    "write `\"mcpServers\": { \"name\": { \"command\": …, \"args\": [ … ] } }`",
                ));
            }
            Some(_) => {}
        }
    }
    Ok(sections)
}

fn no_servers_error(path: &Path, top: &JsonObject) -> Error {
    if looks_like_mcpm(top) {
        return Error::invalid(format!(
            "{} looks like MCPM's server list, not an MCP client config",
            path.display()
        ))
        .hint(format!(
            "import one of its profile tags: mcpm profile import --from-mcpm TAG --mcpm-config {}",
            path.display()
        ));
    }
    Error::invalid(format!(
        "{} has no `mcpServers` (or VS Code `servers`) object",
        path.display()
    ))
    .hint("MCP clients list their servers under `mcpServers` (Claude Desktop, Cursor, Claude Code) or `servers` (VS Code's mcp.json)")
}

/// A name for the client, from the file's name and place (for the header
/// comment and the description; nothing depends on it).
fn client_label(path: &Path, keys: &[String]) -> &'static str {
    let text = path.to_string_lossy().replace('\\', "/");
    let file = path.file_name().and_then(|f| f.to_str()).unwrap_or("");
    if file == "claude_desktop_config.json" {
        "Claude Desktop"
    } else if text.contains(".cursor/") {
        "Cursor"
    } else if text.contains("windsurf/") {
        "Windsurf"
    } else if file == ".mcp.json" || file == ".claude.json" {
        "Claude Code"
    } else if text.contains(".vscode/")
        || text.contains("Code/User/")
        || keys.iter().any(|k| k != "mcpServers")
    {
        "VS Code"
    } else {
        "MCP client"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::json::parse;

    fn read_text(path: &str, text: &str) -> Result<Read> {
        let path = Path::new(path);
        read(path, &parse(path, text).unwrap(), &Places::default())
    }

    #[test]
    fn reads_every_section_in_order() {
        let read = read_text(
            "settings.json",
            r#"{"editor.fontSize": 14, "mcp": {"servers": {"b": {"command": "x"}}}, "servers": {"a": {"command": "y"}}}"#,
        )
        .unwrap();
        let names: Vec<&str> = read.candidates.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        match read.origin {
            Origin::ClientConfig { client, keys, .. } => {
                assert_eq!(client, "VS Code");
                assert_eq!(keys, ["servers", "mcp.servers"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn labels_clients_by_file() {
        assert_eq!(
            client_label(
                Path::new("/home/u/.config/Claude/claude_desktop_config.json"),
                &[]
            ),
            "Claude Desktop"
        );
        assert_eq!(
            client_label(Path::new("proj/.cursor/mcp.json"), &[]),
            "Cursor"
        );
        assert_eq!(
            client_label(Path::new("x.json"), &["mcpServers".into()]),
            "MCP client"
        );
    }

    #[test]
    fn explains_missing_or_broken_sections() {
        let err = read_text("c.json", r#"{"mcpServers": ["a"]}"#).unwrap_err();
        assert!(err.message.contains("is an array, not an object"));
        let err = read_text("c.json", r#"{"theme": "dark"}"#).unwrap_err();
        assert!(err.message.contains("no `mcpServers`"));
        let err = read_text("c.json", "[1]").unwrap_err();
        assert!(err.message.contains("not an MCP client config"));
        let err = read_text(
            "servers.json",
            r#"{"fetch": {"name": "fetch", "profile_tags": ["web"], "command": "uvx", "args": [], "env": {}}}"#,
        )
        .unwrap_err();
        assert!(
            err.hint
                .unwrap()
                .contains("--from-mcpm TAG --mcpm-config servers.json")
        );
    }
}
