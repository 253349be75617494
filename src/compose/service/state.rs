//! State that survives a recreate: a template's `[state]` gives the service a
//! named volume `<server>-data` where the server writes, and points the
//! server's variable or flag into it, unless the profile already mounts or
//! names the place itself.
use std::collections::BTreeMap;

use serde_yaml_ng::{Mapping, Value};

use crate::catalog::{State, is_within};

use super::super::host::{mount_host_path, named_volume};
use super::{Builder, scalar_text};

/// The suffix of the named volume a server's state gets.
pub const STATE_VOLUME_SUFFIX: &str = "-data";

/// What the finished service says about the state's location.
struct Seen {
    /// Container paths a bind mount or volume is mounted at (a tmpfs keeps
    /// nothing, so it does not count).
    mounts: Vec<String>,
    /// The value the profile gives the state's variable or flag, if any.
    named: Option<String>,
}

impl Builder<'_, '_> {
    /// Mounts the state volume and sets the state's variable or flag on the
    /// finished service (after `[servers.X.docker]` merged, so the user's
    /// mounts and values there count as theirs).
    pub(super) fn state(&mut self, service: &mut Mapping) {
        let Some(state) = self.input.detection.template.and_then(|t| t.state.as_ref()) else {
            return;
        };
        let unset = |field: &str| self.input.server.unset.iter().any(|f| f == field);
        let seen = seen(state, service);
        let covered = |path: &str| seen.mounts.iter().any(|m| is_within(path, m));
        let name = self.input.name;
        let variable = describe_location(state);
        // Upstream's own instructions mount a volume where the image keeps
        // the state by default: that is the user's state, left where it is.
        let in_image_place =
            seen.named.is_none() && state.image_path.as_deref().is_some_and(&covered);
        let mount_at = match &seen.named {
            _ if in_image_place => None,
            None => {
                if let Some(default) = &state.default {
                    self.set_location(state, default, service, unset);
                }
                (!covered(&state.path)).then(|| state.path.clone())
            }
            Some(value) if covered(value) => None,
            Some(value) if !value.starts_with('/') || value.contains('$') => {
                self.warnings.push(format!(
                    "server `{name}`: {variable} is `{value}`, which mcpm cannot place in a volume, so the server's state may not survive a recreate; set it to a path under {} (the volume `{name}{STATE_VOLUME_SUFFIX}` is mounted there) or bind-mount where it points",
                    state.path
                ));
                (!covered(&state.path)).then(|| state.path.clone())
            }
            Some(value) if is_within(value, &state.path) => Some(state.path.clone()),
            Some(value) => {
                // A path of the user's that nothing mounts (often a host
                // path, as a client config has it): keep their value and put
                // the volume where it points.
                let dir = if state.names_file() {
                    parent(value)
                } else {
                    value.trim_end_matches('/').to_string()
                };
                if dir.is_empty() || dir == "/" {
                    self.warnings.push(format!(
                        "server `{name}`: {variable} is `{value}`, whose directory cannot take a volume, so the server's state will not survive a recreate; set it to a path under {}",
                        state.path
                    ));
                    None
                } else {
                    self.warnings.push(format!(
                        "server `{name}`: {variable} is `{value}`, which no volume holds; the named volume `{name}{STATE_VOLUME_SUFFIX}` is mounted at {dir} so it survives a recreate (to use the host's file instead, bind-mount `{dir}` in the server's `volumes`)"
                    ));
                    Some(dir)
                }
            }
        };
        if let Some(target) = mount_at
            && !unset("volumes")
        {
            let volume = format!("{name}{STATE_VOLUME_SUFFIX}");
            let entry = Value::from(format!("{volume}:{target}"));
            match service.get_mut("volumes") {
                Some(Value::Sequence(list)) => list.push(entry),
                _ => {
                    service.insert("volumes".into(), Value::Sequence(vec![entry]));
                }
            }
            // A tmpfs on the same place would hide the volume.
            if let Some(Value::Sequence(tmpfs)) = service.get_mut("tmpfs") {
                tmpfs.retain(|t| t.as_str().map(tmpfs_target) != Some(target.as_str()));
                if tmpfs.is_empty() {
                    service.remove("tmpfs");
                }
            }
        }
        // Every named volume the finished service uses must be declared at
        // the top, those `[servers.X.docker] volumes` brought in too.
        if let Some(Value::Sequence(list)) = service.get("volumes") {
            for volume in list {
                if let Some(name) = volume_source(volume) {
                    self.named_volumes.insert(name);
                }
            }
        }
    }

    /// Gives the state's variable or flag its default value.
    fn set_location(
        &self,
        state: &State,
        value: &str,
        service: &mut Mapping,
        unset: impl Fn(&str) -> bool,
    ) {
        if let Some(env) = &state.env {
            if unset("environment") {
                return;
            }
            let mut environment = match service.remove("environment") {
                Some(Value::Mapping(map)) => map,
                _ => Mapping::new(),
            };
            environment = insert_sorted(environment, env, value);
            service.insert("environment".into(), Value::Mapping(environment));
        } else if let Some(flag) = state.args.first() {
            if unset("command") {
                return;
            }
            let extra = [Value::from(flag.clone()), Value::from(value.to_string())];
            match service.get_mut("command") {
                Some(Value::Sequence(command)) => command.extend(extra),
                _ => {
                    service.insert("command".into(), Value::Sequence(extra.to_vec()));
                }
            }
        }
    }
}

/// A state flag's host file (`--db-path /home/u/app/app.db`, or after the
/// flag as its own argument) rewritten to its place under `root`, with the
/// file's directory bind-mounted rather than the file: the files a server
/// writes beside it (SQLite's journal) then land on the host too, and a file
/// that does not exist yet is not made a directory by the engine. `None`
/// leaves the argument to the plain host-path rule.
pub(super) fn mount_state_file(
    state: &State,
    arg: &str,
    after_flag: bool,
    root: &str,
    mounted: &mut BTreeMap<String, String>,
) -> Option<String> {
    if !state.names_file() {
        return None;
    }
    let (prefix, path) = if after_flag {
        (String::new(), arg)
    } else {
        let (flag, path) = arg.split_once('=')?;
        state.args.iter().any(|f| f == flag).then_some(())?;
        (format!("{flag}="), path)
    };
    if !path.starts_with('/') || is_within(path, root) {
        return None;
    }
    let dir = parent(path);
    let file = path.rsplit('/').next().unwrap_or_default();
    if dir.is_empty() || dir == "/" || file.is_empty() {
        return None;
    }
    let container = mount_host_path(&dir, root, mounted);
    Some(format!("{prefix}{container}/{file}"))
}

/// Where the service mounts things and what it names the state's location.
fn seen(state: &State, service: &Mapping) -> Seen {
    let mut mounts: Vec<String> = Vec::new();
    if let Some(Value::Sequence(list)) = service.get("volumes") {
        mounts.extend(list.iter().filter_map(volume_target));
    }
    let named = match (&state.env, service.get("environment")) {
        (Some(env), Some(Value::Mapping(map))) => match map.get(env.as_str()) {
            // Passed through from the deploying environment (`- NAME`): set,
            // with a value only the deploy knows.
            Some(Value::Null) => Some(format!("${{{env}}}")),
            Some(value) => scalar_text(value).filter(|v| !v.is_empty()),
            None => None,
        },
        _ => None,
    }
    .or_else(|| match service.get("command") {
        Some(Value::Sequence(command)) => flag_value(&state.args, command),
        _ => None,
    });
    Seen { mounts, named }
}

/// The value after one of `flags` (`--db-path X` or `--db-path=X`); the last
/// one given wins, as argument parsers take it.
fn flag_value(flags: &[String], command: &[Value]) -> Option<String> {
    let words: Vec<Option<&str>> = command.iter().map(Value::as_str).collect();
    let mut found = None;
    for (i, word) in words.iter().enumerate() {
        let Some(word) = word else { continue };
        for flag in flags {
            if word == flag {
                if let Some(Some(next)) = words.get(i + 1) {
                    found = Some(next.to_string());
                }
            } else if let Some(rest) = word.strip_prefix(flag.as_str())
                && let Some(value) = rest.strip_prefix('=')
            {
                found = Some(value.to_string());
            }
        }
    }
    found
}

/// A volume entry's container path: short (`src:dst[:mode]`, `dst`) or long.
fn volume_target(volume: &Value) -> Option<String> {
    match volume {
        Value::String(short) => {
            let parts: Vec<&str> = short.split(':').collect();
            let target = match parts.len() {
                1 => parts[0],
                _ => parts[1],
            };
            Some(target.trim_end_matches('/').to_string()).filter(|t| t.starts_with('/'))
        }
        Value::Mapping(long) => long
            .get("target")
            .and_then(Value::as_str)
            .map(|t| t.trim_end_matches('/').to_string()),
        _ => None,
    }
}

/// A volume entry's named volume, if its source is one.
fn volume_source(volume: &Value) -> Option<String> {
    match volume {
        Value::String(short) => named_volume(short),
        Value::Mapping(long) => {
            let kind = long.get("type").and_then(Value::as_str);
            let source = long.get("source").and_then(Value::as_str)?;
            (kind == Some("volume")).then(|| source.to_string())
        }
        _ => None,
    }
}

/// A tmpfs entry's path, without its options (`/tmp:size=64m`).
fn tmpfs_target(entry: &str) -> &str {
    entry
        .split(':')
        .next()
        .unwrap_or(entry)
        .trim_end_matches('/')
}

/// The directory holding a file path (`/a/b.json` → `/a`).
fn parent(path: &str) -> String {
    let path = path.trim_end_matches('/');
    match path.rfind('/') {
        Some(0) => "/".into(),
        Some(i) => path[..i].to_string(),
        None => String::new(),
    }
}

/// How a warning names the state's location: `MEMORY_FILE_PATH`, `--db-path`.
fn describe_location(state: &State) -> String {
    match (&state.env, state.args.first()) {
        (Some(env), _) => format!("`{env}`"),
        (None, Some(flag)) => format!("`{flag}`"),
        (None, None) => "its state path".into(),
    }
}

/// `map` with `key: value` added in key order (the environment is written
/// sorted); keys after it that were not sorted keep their places.
fn insert_sorted(map: Mapping, key: &str, value: &str) -> Mapping {
    let mut out = Mapping::new();
    let mut pending = Some((Value::from(key), Value::from(value)));
    for (k, v) in map {
        if let Some(entry) = pending.take_if(|_| k.as_str().is_some_and(|k| k > key)) {
            out.insert(entry.0, entry.1);
        }
        out.insert(k, v);
    }
    if let Some((k, v)) = pending {
        out.insert(k, v);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::catalog::Catalog;
    use crate::compose::{RenderOptions, render};
    use crate::profile::load_profile_text;

    /// The service `name` generated from `servers` (profile TOML), the
    /// document's top-level volumes, and the warnings.
    fn generate(servers: &str, name: &str) -> (Value, Vec<String>, Vec<String>) {
        let text = format!("name = \"p\"\n{servers}");
        let profile = load_profile_text(Path::new("p.toml"), text).unwrap();
        let catalog = Catalog::load(None).unwrap();
        let rendered = render(&profile, &catalog, RenderOptions::default())
            .unwrap_or_else(|err| panic!("{}", err.message));
        rendered.verified_yaml().unwrap();
        let top = rendered.document["volumes"]
            .as_mapping()
            .map(|m| {
                m.keys()
                    .filter_map(|k| k.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        (
            rendered.document["services"][name].clone(),
            top,
            rendered.warnings,
        )
    }

    fn list(value: &Value) -> Vec<String> {
        value
            .as_sequence()
            .map(|s| {
                s.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    const MEMORY: &str = "[servers.memory]\ncommand = \"npx\"\nargs = [\"-y\", \"@modelcontextprotocol/server-memory\"]\n";
    const SQLITE: &str = "[servers.db]\ncommand = \"uvx\"\nargs = [\"mcp-server-sqlite\"";

    #[test]
    fn a_server_with_state_gets_its_volume_and_is_pointed_into_it() {
        let (memory, top, warnings) = generate(MEMORY, "memory");
        assert_eq!(list(&memory["volumes"]), ["memory-data:/data"]);
        assert_eq!(
            memory["environment"]["MEMORY_FILE_PATH"],
            "/data/memory.jsonl"
        );
        assert_eq!(top, ["memory-data"]);
        assert!(warnings.is_empty(), "{warnings:?}");
        let (db, top, _) = generate(&format!("{SQLITE}]\n"), "db");
        assert_eq!(
            list(&db["command"]),
            ["--db-path", "/data/sqlite_mcp_server.db"]
        );
        assert_eq!(list(&db["volumes"]), ["db-data:/data"]);
        assert_eq!(top, ["db-data"]);
        // Servers without state are as before.
        let (fetch, top, _) = generate(
            "[servers.fetch]\ncommand = \"uvx\"\nargs = [\"mcp-server-fetch\"]\n",
            "fetch",
        );
        assert!(fetch.get("volumes").is_none());
        assert!(top.is_empty());
    }

    #[test]
    fn a_read_only_root_stays_read_only_with_the_volume_writable() {
        let (git, top, _) = generate(
            "[servers.git]\ncommand = \"uvx\"\nargs = [\"mcp-server-git\"]\n",
            "git",
        );
        assert_eq!(git["read_only"], true);
        assert_eq!(list(&git["tmpfs"]), ["/tmp"]);
        assert_eq!(list(&git["volumes"]), ["git-data:/data"]);
        // No --repository is invented: it must already be a repository.
        assert!(git.get("command").is_none());
        assert_eq!(top, ["git-data"]);
    }

    #[test]
    fn the_users_mount_or_value_wins() {
        // A bind mount of the state directory: theirs, the variable still set.
        let (memory, top, _) =
            generate(&format!("{MEMORY}volumes = [\"./mem:/data\"]\n"), "memory");
        assert_eq!(list(&memory["volumes"]), ["./mem:/data"]);
        assert_eq!(
            memory["environment"]["MEMORY_FILE_PATH"],
            "/data/memory.jsonl"
        );
        assert!(top.is_empty());
        // The same in [servers.X.docker], a named volume of theirs.
        let (memory, top, _) = generate(
            &format!("{MEMORY}[servers.memory.docker]\nvolumes = [\"kept:/data\"]\n"),
            "memory",
        );
        assert_eq!(list(&memory["volumes"]), ["kept:/data"]);
        assert_eq!(top, ["kept"]);
        // Their value inside a mount of theirs.
        let (memory, top, _) = generate(
            &format!(
                "{MEMORY}env = {{ MEMORY_FILE_PATH = \"/notes/m.json\" }}\nvolumes = [\"/home/u/notes:/notes\"]\n"
            ),
            "memory",
        );
        assert_eq!(memory["environment"]["MEMORY_FILE_PATH"], "/notes/m.json");
        assert_eq!(list(&memory["volumes"]), ["/home/u/notes:/notes"]);
        assert!(top.is_empty());
        // A host file the catalog bind-mounts (sqlite's --db-path): its
        // directory, so the journal beside it is kept too.
        let (db, top, _) = generate(
            &format!("{SQLITE}, \"--db-path\", \"/home/u/app/app.db\"]\n"),
            "db",
        );
        assert_eq!(list(&db["command"]), ["--db-path", "/projects/app/app.db"]);
        assert_eq!(list(&db["volumes"]), ["/home/u/app:/projects/app"]);
        assert!(top.is_empty());
        let (db, _, _) = generate(
            &format!("{SQLITE}, \"--db-path=/home/u/app/app.db\", \"/srv/app\"]\n"),
            "db",
        );
        // Two directories of one name get distinct places.
        assert_eq!(
            list(&db["command"]),
            ["--db-path=/projects/app/app.db", "/projects/app-2"]
        );
        assert_eq!(
            list(&db["volumes"]),
            ["/home/u/app:/projects/app", "/srv/app:/projects/app-2"]
        );
        // A root-level file keeps the plain rule (no directory to mount).
        let (db, _, _) = generate(&format!("{SQLITE}, \"--db-path\", \"/app.db\"]\n"), "db");
        assert_eq!(list(&db["volumes"]), ["/app.db:/projects/app.db"]);
        // Their value inside the state directory: the volume goes there.
        let (memory, _, warnings) = generate(
            &format!("{MEMORY}env = {{ MEMORY_FILE_PATH = \"/data/graph.json\" }}\n"),
            "memory",
        );
        assert_eq!(
            memory["environment"]["MEMORY_FILE_PATH"],
            "/data/graph.json"
        );
        assert_eq!(list(&memory["volumes"]), ["memory-data:/data"]);
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn an_unmounted_path_of_the_users_gets_the_volume_where_it_points() {
        let (memory, top, warnings) = generate(
            &format!("{MEMORY}env = {{ MEMORY_FILE_PATH = \"/home/dev/.mcp/memory.json\" }}\n"),
            "memory",
        );
        assert_eq!(
            memory["environment"]["MEMORY_FILE_PATH"],
            "/home/dev/.mcp/memory.json"
        );
        assert_eq!(list(&memory["volumes"]), ["memory-data:/home/dev/.mcp"]);
        assert_eq!(top, ["memory-data"]);
        assert!(
            warnings.iter().any(
                |w| w.contains("`MEMORY_FILE_PATH`") && w.contains("mounted at /home/dev/.mcp")
            ),
            "{warnings:?}"
        );
        // A value mcpm cannot place: the volume on the state path, and a warning.
        let (memory, _, warnings) = generate(
            &format!("{MEMORY}env = {{ MEMORY_FILE_PATH = \"${{MEM}}\" }}\n"),
            "memory",
        );
        assert_eq!(memory["environment"]["MEMORY_FILE_PATH"], "${MEM}");
        assert_eq!(list(&memory["volumes"]), ["memory-data:/data"]);
        assert!(
            warnings.iter().any(|w| w.contains("cannot place")),
            "{warnings:?}"
        );
        // Passed through from the deploying environment: kept, not overridden.
        let (memory, _, warnings) = generate(
            &format!("{MEMORY}[servers.memory.docker]\nenvironment = [\"MEMORY_FILE_PATH\"]\n"),
            "memory",
        );
        assert_eq!(memory["environment"]["MEMORY_FILE_PATH"], Value::Null);
        assert_eq!(list(&memory["volumes"]), ["memory-data:/data"]);
        assert!(
            warnings.iter().any(|w| w.contains("cannot place")),
            "{warnings:?}"
        );
        // A file at the root has no directory to take a volume.
        let (memory, top, warnings) = generate(
            &format!("{MEMORY}env = {{ MEMORY_FILE_PATH = \"/m.json\" }}\n"),
            "memory",
        );
        assert!(memory.get("volumes").is_none());
        assert!(top.is_empty());
        assert!(
            warnings.iter().any(|w| w.contains("will not survive")),
            "{warnings:?}"
        );
    }

    #[test]
    fn a_volume_where_the_image_keeps_its_state_is_left_as_the_users() {
        // memory's upstream Docker instructions: `-v claude-memory:/app/dist`.
        let (memory, top, _) = generate(
            "[servers.memory]\ncommand = \"docker\"\nargs = [\"run\", \"-i\", \"--rm\", \"-v\", \"claude-memory:/app/dist\", \"mcp/memory\"]\n",
            "memory",
        );
        assert_eq!(list(&memory["volumes"]), ["claude-memory:/app/dist"]);
        assert!(memory.get("environment").is_none());
        assert_eq!(top, ["claude-memory"]);
    }

    #[test]
    fn unset_fields_stay_unset() {
        let (memory, top, _) = generate(
            &format!("{MEMORY}unset = [\"volumes\", \"environment\"]\n"),
            "memory",
        );
        assert!(memory.get("volumes").is_none());
        assert!(memory.get("environment").is_none());
        assert!(top.is_empty());
    }

    fn strings(items: &[&str]) -> Vec<Value> {
        items.iter().map(|s| Value::from(*s)).collect()
    }

    #[test]
    fn flag_values_are_read_in_both_spellings_and_the_last_wins() {
        let flags = vec!["--repository".to_string(), "-r".to_string()];
        assert_eq!(
            flag_value(&flags, &strings(&["--repository", "/a"])),
            Some("/a".into())
        );
        assert_eq!(
            flag_value(&flags, &strings(&["--repository=/a", "-r", "/b"])),
            Some("/b".into())
        );
        assert_eq!(flag_value(&flags, &strings(&["--repository"])), None);
        assert_eq!(flag_value(&flags, &strings(&["--repositoryx=/a"])), None);
    }

    #[test]
    fn volume_targets_and_sources_are_read_from_both_syntaxes() {
        assert_eq!(
            volume_target(&Value::from("data:/data:ro")),
            Some("/data".into())
        );
        assert_eq!(volume_target(&Value::from("/anon/")), Some("/anon".into()));
        let long: Value = serde_yaml_ng::from_str("{type: volume, source: x, target: /y}").unwrap();
        assert_eq!(volume_target(&long), Some("/y".into()));
        assert_eq!(volume_source(&long), Some("x".into()));
        assert_eq!(volume_source(&Value::from("./x:/y")), None);
    }

    #[test]
    fn environment_keys_are_inserted_in_order() {
        let mut map = Mapping::new();
        map.insert("A".into(), "1".into());
        map.insert("Z".into(), "2".into());
        let out = insert_sorted(map, "M", "3");
        let keys: Vec<&str> = out.keys().filter_map(Value::as_str).collect();
        assert_eq!(keys, ["A", "M", "Z"]);
        let out = insert_sorted(Mapping::new(), "M", "3");
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn parents_of_paths() {
        assert_eq!(parent("/home/dev/.mcp/memory.json"), "/home/dev/.mcp");
        assert_eq!(parent("/memory.json"), "/");
        assert_eq!(parent("memory.json"), "");
    }
}
