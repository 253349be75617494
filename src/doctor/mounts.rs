//! The `host-path` check: absolute host paths in a server's values that no
//! volume of its service covers, and the mount that would.
use std::collections::BTreeSet;
use std::path::Path;

use serde_yaml_ng::{Mapping, Value};

use super::checks::{Server, Target};
use super::scan;
use super::{Check, Edit, Finding, Input, Place, Severity};

/// Absolute host paths in values that no volume of the service brings in:
/// the server sees an empty place, and what it writes there is lost on the
/// next recreate.
pub(super) fn host_paths(server: &Server<'_>, input: &Input<'_>, findings: &mut Vec<Finding>) {
    let mounts = Mounts::of(server.service);
    // Listing `volumes` turns off the catalog's automatic mounts of host
    // paths in the arguments, so a fix must not add one to such a server.
    let auto_mounts = server
        .template
        .is_some_and(|t| !t.mount_host_paths.is_empty())
        && server.spec.volumes.is_empty()
        && !mounts.binds.is_empty();
    let mut taken: BTreeSet<String> = mounts.named.clone();
    for (target, value) in server.values() {
        // A literal secret goes to `.env`, never into a finding: one that
        // looks like a path (a base64 key starting with `/`) is no mount.
        if super::checks::shown(&target, &value) != value {
            continue;
        }
        let Some((path, raw)) = resolved_path(&value, input.variable) else {
            continue;
        };
        if mounts.covers(&path)
            || (matches!(target, Target::Arg(_)) && mounts.rewritten(&path, &raw, server.service))
        {
            continue;
        }
        // The state's own value, which generate could not place (behind a
        // variable): the fix moves the state volume to it, under its name
        // (with the value covered, generate no longer mounts it elsewhere).
        let own = state_volume(server.name);
        if is_state_value(server, &target) && mounts.named.contains(&own) {
            taken.remove(&own);
        }
        let kind = (input.host)(Path::new(&path));
        let exists = kind.is_some();
        let dir = mount_dir(&path, &raw, kind);
        let (volume, what) = if (input.host)(Path::new(&dir.0)).is_some() {
            (
                format!("{}:{}", dir.1, dir.1),
                format!("bind-mount {} (it exists on this machine)", dir.1),
            )
        } else {
            let name = volume_name(server.name, &mut taken);
            (
                format!("{name}:{}", dir.1),
                format!(
                    "mount a named volume `{name}` at {} (nothing exists there on this machine, so it holds what the server writes and survives recreates)",
                    dir.1
                ),
            )
        };
        let edits = if auto_mounts {
            Vec::new()
        } else {
            vec![Edit::Volume(volume.clone())]
        };
        let mut fix = format!("{what}: add `\"{volume}\"` to `volumes`");
        if auto_mounts {
            fix.push_str(" and list the mounts mcpm makes for the other paths too (a server with `volumes` gets no automatic mounts)");
        }
        findings.push(Finding {
            check: Check::HostPath,
            severity: if exists {
                Severity::Error
            } else {
                Severity::Warning
            },
            server: server.name.to_string(),
            value: super::checks::shown(&target, &value),
            place: Place::Profile(target.path(server)),
            message: format!(
                "{path} is a path on the host, and no volume of the service covers it{}",
                if exists {
                    ": the server will not see it"
                } else {
                    ": what the server writes there is lost when the container is recreated"
                }
            ),
            fix,
            edits,
        });
    }
}

/// The host path a value names, and the same path as the profile writes
/// it: `${VAR}/rest` counts when VAR holds an absolute path (compose
/// substitutes it before the container starts).
fn resolved_path(
    value: &str,
    variable: &dyn Fn(&str) -> Option<String>,
) -> Option<(String, String)> {
    if let Some(path) = scan::host_path(value) {
        return Some((path.to_string(), path.to_string()));
    }
    let rest = match value.split_once('=') {
        Some((flag, rest)) if flag.starts_with('-') => rest,
        _ => value,
    };
    let first = scan::references(rest).into_iter().next()?;
    if first.range.start != 0 || first.has_fallback() || !first.operator.is_empty() {
        return None;
    }
    let head = variable(&first.name)?;
    let tail = &rest[first.range.end..];
    let path = scan::host_path(&format!("{head}{tail}"))?.to_string();
    Some((path, rest.to_string()))
}

/// What to mount for `path` (as resolved, and as the profile writes it):
/// the directory itself, or a file's directory. `kind` is what the host
/// has there: `Some(true)` a directory, `Some(false)` a file.
fn mount_dir(path: &str, raw: &str, kind: Option<bool>) -> (String, String) {
    let exists = kind.is_some();
    let is_dir = kind == Some(true);
    let looks_like_file = Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.contains('.') && !n.starts_with('.'));
    if is_dir || (!exists && !looks_like_file) {
        return (path.to_string(), raw.trim_end_matches('/').to_string());
    }
    let parent = |p: &str| match p.rfind('/') {
        Some(0) | None => "/".to_string(),
        Some(at) => p[..at].to_string(),
    };
    (parent(path), parent(raw))
}

fn state_volume(server: &str) -> String {
    format!("{server}{}", crate::compose::service::STATE_VOLUME_SUFFIX)
}

/// Whether `target` is where the catalog's `[state]` says the server keeps
/// its state: the state's variable, or the argument of one of its flags.
fn is_state_value(server: &Server<'_>, target: &Target) -> bool {
    let Some(state) = server.template.and_then(|t| t.state.as_ref()) else {
        return false;
    };
    let args = &server.spec.args;
    match target {
        Target::Env(key) => state.env.as_deref() == Some(key.as_str()),
        Target::Arg(index) => {
            let arg = &args[*index];
            let after_flag = index
                .checked_sub(1)
                .is_some_and(|before| state.args.contains(&args[before]));
            after_flag
                || arg
                    .split_once('=')
                    .is_some_and(|(flag, _)| state.args.iter().any(|f| f == flag))
        }
    }
}

fn volume_name(server: &str, taken: &mut BTreeSet<String>) -> String {
    let mut name = state_volume(server);
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{server}-data-{n}");
        n += 1;
    }
    taken.insert(name.clone());
    name
}

/// What a service mounts: every target (volumes and tmpfs), the sources of
/// its bind mounts, and the named volumes it uses.
struct Mounts {
    targets: Vec<String>,
    binds: Vec<String>,
    named: BTreeSet<String>,
}

impl Mounts {
    fn of(service: &Mapping) -> Self {
        let mut mounts = Mounts {
            targets: Vec::new(),
            binds: Vec::new(),
            named: BTreeSet::new(),
        };
        for volume in service
            .get("volumes")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            match volume {
                Value::String(short) => {
                    let mut parts = short.splitn(3, ':');
                    let first = parts.next().unwrap_or_default();
                    match parts.next() {
                        Some(target) => {
                            mounts.targets.push(target.to_string());
                            match crate::compose::host::named_volume(short) {
                                Some(name) => {
                                    mounts.named.insert(name);
                                }
                                None => mounts.binds.push(first.to_string()),
                            }
                        }
                        // `/data`: an anonymous volume at that path.
                        None => mounts.targets.push(first.to_string()),
                    }
                }
                Value::Mapping(long) => {
                    if let Some(target) = long.get("target").and_then(Value::as_str) {
                        mounts.targets.push(target.to_string());
                    }
                    let source = long.get("source").and_then(Value::as_str);
                    match (long.get("type").and_then(Value::as_str), source) {
                        (Some("bind"), Some(source)) => mounts.binds.push(source.to_string()),
                        (Some("volume"), Some(source)) => {
                            mounts.named.insert(source.to_string());
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        for tmpfs in service
            .get("tmpfs")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            mounts
                .targets
                .push(tmpfs.split(':').next().unwrap_or_default().to_string());
        }
        mounts
    }

    /// Whether the container sees `path`: a mount's target holds it, or it
    /// was mounted by its own name and rewritten in the command.
    fn covers(&self, path: &str) -> bool {
        self.targets.iter().any(|t| scan::is_within(path, t))
            || self.binds.iter().any(|b| b == path)
    }

    /// Whether an argument's path was mounted and rewritten by the catalog:
    /// a bind mount holds it (a state flag's file, `--db-path /w/data/app.db`,
    /// is mounted by its directory so its journal lands beside it) and the
    /// command no longer names it on the host. A person's own bind mount
    /// leaves the argument as written, so it is not covered by this.
    fn rewritten(&self, path: &str, raw: &str, service: &Mapping) -> bool {
        let named = service
            .get("command")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .any(|arg| arg.contains(path) || arg.contains(raw));
        !named && self.binds.iter().any(|b| scan::is_within(path, b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_cover_paths_inside_their_targets() {
        let service: Mapping = serde_yaml_ng::from_str(
            "volumes:\n  - memory-data:/home/dev/.mcp\n  - /Users/x/Documents:/projects/Documents:ro\n  - {type: bind, source: /srv/a, target: /a}\n  - /anon\ntmpfs: ['/run/cache:size=1m']\n",
        )
        .unwrap();
        let mounts = Mounts::of(&service);
        assert!(mounts.covers("/home/dev/.mcp/memory.json"));
        assert!(
            mounts.covers("/Users/x/Documents"),
            "auto-mounted and rewritten"
        );
        assert!(mounts.covers("/a/b"));
        assert!(mounts.covers("/anon/x"));
        assert!(mounts.covers("/run/cache/x"));
        assert!(!mounts.covers("/home/dev/.mcpx"));
        assert!(
            !mounts.covers("/srv/a/b"),
            "only the target is inside the container"
        );
        assert_eq!(mounts.named.iter().collect::<Vec<_>>(), ["memory-data"]);
    }

    #[test]
    fn a_state_file_mounted_by_its_directory_and_rewritten_is_covered() {
        let service: Mapping = serde_yaml_ng::from_str(
            "command: ['--db-path', /projects/data/app.db]\nvolumes: ['/w/data:/projects/data']\n",
        )
        .unwrap();
        let mounts = Mounts::of(&service);
        assert!(!mounts.covers("/w/data/app.db"), "not by name");
        assert!(mounts.rewritten("/w/data/app.db", "/w/data/app.db", &service));
        assert!(
            !mounts.rewritten("/elsewhere/app.db", "/elsewhere/app.db", &service),
            "no mount holds it"
        );
        // A person's own mount: the argument still names the host path.
        let own: Mapping = serde_yaml_ng::from_str(
            "command: ['--db-path', /w/data/app.db]\nvolumes: ['/w/data:/projects/data']\n",
        )
        .unwrap();
        assert!(!Mounts::of(&own).rewritten("/w/data/app.db", "/w/data/app.db", &own));
        let variable: Mapping = serde_yaml_ng::from_str(
            "command: ['--db-path', '${W}/data/app.db']\nvolumes: ['/w/data:/projects/data']\n",
        )
        .unwrap();
        assert!(
            !Mounts::of(&variable).rewritten("/w/data/app.db", "${W}/data/app.db", &variable),
            "left to compose to substitute, not rewritten"
        );
    }

    #[test]
    fn a_file_is_mounted_by_its_directory() {
        assert_eq!(
            mount_dir(
                "/home/dev/.mcp/memory.json",
                "/home/dev/.mcp/memory.json",
                None
            ),
            ("/home/dev/.mcp".into(), "/home/dev/.mcp".into())
        );
        assert_eq!(
            mount_dir("/w/data/app.db", "${W}/data/app.db", None),
            ("/w/data".into(), "${W}/data".into())
        );
        assert_eq!(
            mount_dir("/home/dev/Makefile", "/home/dev/Makefile", Some(false)),
            ("/home/dev".into(), "/home/dev".into()),
            "an existing file, whatever its name"
        );
        assert_eq!(
            mount_dir("/home/dev/.mcp", "/home/dev/.mcp/", Some(true)),
            ("/home/dev/.mcp".into(), "/home/dev/.mcp".into())
        );
    }
}
