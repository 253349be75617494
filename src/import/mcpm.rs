//! MCPM's own files (pathintegral-institute/mcpm.sh).
//!
//! MCPM 2.x keeps every server in `~/.config/mcpm/servers.json`: an object
//! keyed by server name, each value the server's pydantic dump —
//! `{name, profile_tags, command, args, env}` (stdio),
//! `{name, profile_tags, url, headers}` (remote) or
//! `{name, profile_tags, config}` (a client-specific "custom" server). There is
//! no `type` field; the fields present say which kind it is. A profile is a
//! tag: the servers whose `profile_tags` list it. Profile descriptions live
//! beside it in `profiles_metadata.json` (`{tag: {name, api_key, description}}`).
//!
//! MCPM 1.x kept `profiles.json` instead: `{tag: [server, …]}` with the same
//! server fields; it is read too, for users who never migrated.
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

use super::entry::{Dialect, convert};
use super::json::{Json, JsonObject};
use super::values::Places;
use super::{Findings, Origin, Read};

/// MCPM 2.x's server list, in [`config_dir`].
pub const SERVERS_FILE: &str = "servers.json";
/// MCPM 1.x's profiles, in [`config_dir`].
pub const PROFILES_V1_FILE: &str = "profiles.json";
/// MCPM 2.x's profile descriptions, beside `servers.json`.
pub const METADATA_FILE: &str = "profiles_metadata.json";

/// MCPM's config directory: `~/.config/mcpm` on every platform (MCPM's
/// `get_config_directory`), unlike mcpm's own platform config dir.
pub fn config_dir(home: &Path) -> PathBuf {
    home.join(".config").join("mcpm")
}

/// The shapes of MCPM file this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum McpmFile {
    /// 2.x `servers.json`: servers keyed by name, tagged.
    Servers,
    /// 1.x `profiles.json`: lists of servers keyed by profile.
    Profiles,
}

/// Reads the servers tagged `tag`, in file order.
pub(crate) fn read(path: &Path, document: &Json, tag: &str, places: &Places) -> Result<Read> {
    let empty = JsonObject::default();
    let top = match document {
        // MCPM itself reads a `null` file as no servers.
        Json::Null => &empty,
        Json::Object(top) => top,
        other => {
            return Err(Error::invalid(format!(
                "{} is not MCPM's server list: it holds {}, not an object",
                path.display(),
                other.kind()
            ))
            .hint("MCPM keeps its servers in ~/.config/mcpm/servers.json"));
        }
    };
    if top.get("mcpServers").is_some() {
        return Err(Error::invalid(format!(
            "{} is an MCP client config, not MCPM's server list",
            path.display()
        ))
        .hint(format!(
            "import it directly: mcpm profile import {}",
            path.display()
        )));
    }
    let mut findings = Findings::default();
    for duplicate in &top.duplicates {
        findings.warn(format!(
            "`{duplicate}` is written twice in {}; the last one was used",
            path.display()
        ));
    }
    let (candidates, total) = match shape(top) {
        McpmFile::Servers => read_servers(path, top, tag, places, &mut findings)?,
        McpmFile::Profiles => read_profiles(path, top, tag, places, &mut findings)?,
    };
    Ok(Read {
        origin: Origin::Mcpm {
            path: path.display().to_string(),
            tag: tag.to_string(),
        },
        candidates,
        findings,
        total,
    })
}

/// 1.x files hold lists under each key; 2.x files hold server objects.
pub fn shape(top: &JsonObject) -> McpmFile {
    let lists = top.iter().any(|(_, value)| matches!(value, Json::Array(_)));
    if lists {
        McpmFile::Profiles
    } else {
        McpmFile::Servers
    }
}

/// Whether an object looks like MCPM's `servers.json` (used to point a user
/// who passed it as a client config at `--from-mcpm`).
pub fn looks_like_mcpm(top: &JsonObject) -> bool {
    !top.is_empty()
        && top.iter().all(|(_, value)| {
            value
                .as_object()
                .is_some_and(|server| server.get("profile_tags").is_some())
        })
}

fn read_servers(
    path: &Path,
    top: &JsonObject,
    tag: &str,
    places: &Places,
    findings: &mut Findings,
) -> Result<(Vec<super::Candidate>, usize)> {
    let mut candidates = Vec::new();
    let mut total = 0;
    let mut tags: Vec<String> = Vec::new();
    for (name, entry) in top.iter() {
        let server_tags = profile_tags(entry);
        for server_tag in &server_tags {
            if !tags.contains(server_tag) {
                tags.push(server_tag.clone());
            }
        }
        if server_tags.iter().any(|t| t == tag) {
            total += 1;
            candidates.extend(convert(name, entry, Dialect::Mcpm, places, findings));
        }
    }
    if total == 0 {
        return Err(unknown_tag(path, tag, tags));
    }
    Ok((candidates, total))
}

fn read_profiles(
    path: &Path,
    top: &JsonObject,
    tag: &str,
    places: &Places,
    findings: &mut Findings,
) -> Result<(Vec<super::Candidate>, usize)> {
    let Some(entry) = top.get(tag) else {
        let tags = top.entries.keys().cloned().collect();
        return Err(unknown_tag(path, tag, tags));
    };
    let servers: &[Json] = match entry {
        Json::Array(servers) => servers,
        Json::Null => &[],
        other => {
            return Err(Error::invalid(format!(
                "profile `{tag}` in {} is {}, not a list of servers",
                path.display(),
                other.kind()
            )));
        }
    };
    let mut candidates = Vec::new();
    for (i, server) in servers.iter().enumerate() {
        let name = server
            .as_object()
            .and_then(|s| s.get("name"))
            .and_then(Json::as_str)
            .map(str::to_string);
        match name {
            Some(name) => {
                candidates.extend(convert(&name, server, Dialect::Mcpm, places, findings))
            }
            None => findings.skip(&format!("#{}", i + 1), "the entry has no `name`"),
        }
    }
    Ok((candidates, servers.len()))
}

fn profile_tags(entry: &Json) -> Vec<String> {
    match entry
        .as_object()
        .and_then(|server| server.get("profile_tags"))
    {
        Some(Json::Array(tags)) => tags
            .iter()
            .filter_map(Json::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

fn unknown_tag(path: &Path, tag: &str, mut tags: Vec<String>) -> Error {
    tags.sort();
    let error = Error::invalid(format!(
        "no MCPM profile `{tag}` in {}: no server carries that tag",
        path.display()
    ));
    if tags.is_empty() {
        error.hint("no server there has a profile tag yet; tag some in MCPM (`mcpm profile edit NAME`) or import a client config instead")
    } else {
        error.hint(format!("profiles there: {}", tags.join(", ")))
    }
}

/// The description MCPM keeps for `tag` in `profiles_metadata.json`; `Err`
/// says why the file could not be read.
pub fn description(metadata: &str, tag: &str) -> Result<Option<String>, String> {
    let value: serde_json::Value = serde_json::from_str(metadata).map_err(|err| err.to_string())?;
    Ok(value
        .get(tag)
        .and_then(|profile| profile.get("description"))
        .and_then(serde_json::Value::as_str)
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::json::parse;

    /// A servers.json as MCPM 2.x writes it (`json.dump(…, indent=2)` of the
    /// pydantic models), with three tags.
    const SERVERS_JSON: &str = r#"{
  "fetch": {
    "name": "fetch",
    "profile_tags": ["web", "work"],
    "command": "uvx",
    "args": ["mcp-server-fetch"],
    "env": {}
  },
  "github": {
    "name": "github",
    "profile_tags": ["work"],
    "command": "docker",
    "args": ["run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN", "ghcr.io/github/github-mcp-server"],
    "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "${GITHUB_PERSONAL_ACCESS_TOKEN}"}
  },
  "remote-docs": {
    "name": "remote-docs",
    "profile_tags": ["work", "docs"],
    "url": "https://docs.example.com/mcp",
    "headers": {"X-Api-Key": "${DOCS_KEY}"}
  },
  "goose-builtin": {
    "name": "goose-builtin",
    "profile_tags": ["work"],
    "config": {"type": "builtin", "name": "developer"}
  },
  "scratch": {
    "name": "scratch",
    "profile_tags": [],
    "command": "npx",
    "args": ["-y", "@modelcontextprotocol/server-memory"],
    "env": {}
  }
}"#;

    fn read_tag(text: &str, tag: &str) -> Result<Read> {
        let path = Path::new("servers.json");
        read(path, &parse(path, text).unwrap(), tag, &Places::default())
    }

    fn names(read: &Read) -> Vec<&str> {
        read.candidates.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn picks_the_servers_of_one_tag() {
        let work = read_tag(SERVERS_JSON, "work").unwrap();
        assert_eq!(names(&work), ["fetch", "github", "remote-docs"]);
        assert_eq!(work.total, 4);
        assert_eq!(work.findings.skipped[0].name, "goose-builtin");
        assert!(
            work.findings.warnings.is_empty(),
            "{:?}",
            work.findings.warnings
        );
        let remote = &work.candidates[2].spec;
        assert_eq!(remote.url.as_deref(), Some("https://docs.example.com/mcp"));
        assert_eq!(remote.headers["X-Api-Key"], "${DOCS_KEY}");
        assert_eq!(names(&read_tag(SERVERS_JSON, "web").unwrap()), ["fetch"]);
        assert_eq!(
            names(&read_tag(SERVERS_JSON, "docs").unwrap()),
            ["remote-docs"]
        );
    }

    #[test]
    fn unknown_tags_list_the_known_ones() {
        let err = read_tag(SERVERS_JSON, "home").unwrap_err();
        assert!(err.message.contains("no MCPM profile `home`"));
        assert_eq!(err.hint.as_deref(), Some("profiles there: docs, web, work"));
        let err = read_tag("{}", "home").unwrap_err();
        assert!(
            err.hint
                .unwrap()
                .contains("no server there has a profile tag")
        );
        assert!(read_tag("null", "home").is_err());
    }

    #[test]
    fn reads_version_1_profiles() {
        let text = r#"{"work": [{"name": "time", "command": "uvx", "args": ["mcp-server-time"], "env": {}}, {"command": "x"}], "empty": []}"#;
        let work = read_tag(text, "work").unwrap();
        assert_eq!(names(&work), ["time"]);
        assert_eq!(work.findings.skipped[0].reason, "the entry has no `name`");
        assert!(
            read_tag(text, "other")
                .unwrap_err()
                .hint
                .unwrap()
                .contains("empty, work")
        );
    }

    #[test]
    fn client_configs_are_sent_back() {
        let err = read_tag(r#"{"mcpServers": {}}"#, "work").unwrap_err();
        assert!(
            err.hint
                .unwrap()
                .contains("mcpm profile import servers.json")
        );
    }

    #[test]
    fn descriptions_come_from_the_metadata() {
        let metadata = r#"{"work": {"name": "work", "api_key": null, "description": "Work servers"}, "web": {"name": "web"}}"#;
        assert_eq!(
            description(metadata, "work").unwrap().as_deref(),
            Some("Work servers")
        );
        assert_eq!(description(metadata, "web").unwrap(), None);
        assert!(description("{", "web").is_err());
    }
}
