//! The pre-flight doctor (ISSUE-10): finds what makes a generated service
//! validate but not run (a `localhost` that is the container itself, a host
//! path no volume brings in, a variable nobody sets, a network the server
//! cannot use, an image that moves under it), says where in the profile it
//! comes from and how to fix it, and fixes what it safely can.
//!
//! The checks read what rendering already produced (the profile, its
//! rendered services, the catalog): no file is read here, so `generate` and
//! `sync` run them for free. [`fix`] edits the profile.
mod checks;
pub mod fix;
mod mounts;
mod pin;
mod run;
pub mod scan;
mod variables;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::catalog::Catalog;
use crate::compose::Rendered;
use crate::error::Location;
use crate::profile::{LoadedProfile, NetworkChoice};
use crate::source::Segment;

pub use checks::{HOST_GATEWAY, check, is_pinned};
pub use run::{Options, Report, blocking_under_strict, quick_check, run, warning_lines};

/// How bad a finding is: errors stop `--strict` runs and make doctor exit 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// The checks, by their stable ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Check {
    Localhost,
    HostPath,
    UnsetVariable,
    VscodeInput,
    NetworkMode,
    UnpinnedImage,
    NotContainerized,
    /// Findings another module hands over (the engine's pre-flight).
    Other(&'static str),
}

impl Check {
    pub fn id(self) -> &'static str {
        match self {
            Check::Localhost => "localhost",
            Check::HostPath => "host-path",
            Check::UnsetVariable => "unset-variable",
            Check::VscodeInput => "vscode-input",
            Check::NetworkMode => "network-mode",
            Check::UnpinnedImage => "unpinned-image",
            Check::NotContainerized => "not-containerized",
            Check::Other(id) => id,
        }
    }
}

/// Where a finding points: a key path in the profile, or a place in the
/// compose file for problems only the compose file has.
#[derive(Debug, Clone, PartialEq)]
pub enum Place {
    Profile(Vec<Segment>),
    Compose(Option<Location>),
}

/// One change to one server's entry, as `--fix` applies it. Each edit says
/// what it expects to find, so edits computed from the same profile never
/// overwrite each other's work.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// `env.KEY` becomes `new` (when it still says `old`).
    Env {
        key: String,
        old: String,
        new: String,
    },
    /// `args[index]` becomes `new` (when it still says `old`).
    Arg {
        index: usize,
        old: String,
        new: String,
    },
    /// A `volumes` entry, added unless present.
    Volume(String),
    /// Entries of a list in `[servers.X.docker]` (`extra_hosts`,
    /// `networks`), added after `base`: what the service has now, which the
    /// table would otherwise replace.
    DockerList {
        key: String,
        base: Vec<String>,
        add: Vec<String>,
    },
    /// `network = "bridge"` / `"none"`.
    Network(NetworkChoice),
    /// `[servers.X.docker] image` becomes `new` (a `repo:tag@sha256:…` from
    /// `--pin`) when it still is `old` (`None`: the table has no `image`, the
    /// service's image comes from the catalog or the command).
    DockerImage { old: Option<String>, new: String },
}

/// A problem found in one server.
#[derive(Debug, Clone)]
pub struct Finding {
    pub check: Check,
    pub severity: Severity,
    pub server: String,
    /// The offending value, as the profile has it (secrets never: a check
    /// that looks at a secret's value names the variable instead).
    pub value: String,
    pub place: Place,
    pub message: String,
    /// What to do, for a person.
    pub fix: String,
    /// What `--fix` does; empty when a person must decide.
    pub edits: Vec<Edit>,
}

impl Finding {
    pub fn fixable(&self) -> bool {
        !self.edits.is_empty()
    }

    /// Where the finding points, resolved against the profile's text.
    pub fn location(&self, loaded: &LoadedProfile) -> Option<Location> {
        match &self.place {
            Place::Profile(path) => loaded.source.locate_value_nearest(path),
            Place::Compose(location) => location.clone(),
        }
    }

    /// The finding as a warning line: `file:line:col: server `x`: message (fix: …)`.
    pub fn line(&self, loaded: &LoadedProfile) -> String {
        let at = self
            .location(loaded)
            .map(|l| format!("{}:{}:{}: ", l.path.display(), l.line, l.column))
            .unwrap_or_default();
        format!(
            "{at}[{}] server `{}`: {}; fix: {}",
            self.check.id(),
            self.server,
            self.message,
            self.fix
        )
    }

    /// The JSON shape `doctor --json` prints.
    pub fn json(&self, loaded: &LoadedProfile) -> FindingJson {
        let location = self.location(loaded);
        FindingJson {
            check: self.check.id(),
            severity: self.severity,
            server: self.server.clone(),
            value: self.value.clone(),
            file: location.as_ref().map(|l| l.path.display().to_string()),
            line: location.as_ref().map(|l| l.line),
            column: location.as_ref().map(|l| l.column),
            message: self.message.clone(),
            fix: self.fix.clone(),
            fixable: self.fixable(),
        }
    }
}

/// One finding in `doctor --json`.
#[derive(Debug, Clone, Serialize)]
pub struct FindingJson {
    pub check: &'static str,
    pub severity: Severity,
    pub server: String,
    pub value: String,
    pub file: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
    pub fix: String,
    pub fixable: bool,
}

/// A compose service in the same file as the profile's (the application's
/// database, say): a `localhost:PORT` that is one of its ports is reached
/// by its name instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbour {
    pub name: String,
    /// Container ports it publishes or exposes.
    pub ports: Vec<u16>,
    /// Networks it joins (`default` when the file names none); `None` for
    /// a `network_mode` service, which no name reaches.
    pub networks: Option<Vec<String>>,
}

/// Everything the checks look at.
pub struct Input<'a> {
    pub loaded: &'a LoadedProfile,
    pub rendered: &'a Rendered,
    pub catalog: &'a Catalog,
    /// Looks a variable up as deploy will: the environment, then the `.env`
    /// beside the compose file. Variables mcpm writes to `.env` itself (the
    /// profile's literal secrets) count as set.
    pub variable: &'a dyn Fn(&str) -> Option<String>,
    /// Where `.env` is, for the hint; `None` when there is no compose file.
    pub env_file: Option<&'a Path>,
    /// Other services in the compose file.
    pub neighbours: &'a [Neighbour],
    /// What the host has at a path: `None` nothing, `Some(true)` a
    /// directory, `Some(false)` a file (the file system, or a test's stand-in).
    pub host: &'a dyn Fn(&Path) -> Option<bool>,
}

/// [`Input::host`] on the real file system.
pub fn host_path_kind(path: &Path) -> Option<bool> {
    std::fs::metadata(path).ok().map(|m| m.is_dir())
}

/// Sorts findings for output: errors first, then by server and check.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.server.cmp(&b.server))
            .then_with(|| a.check.cmp(&b.check))
    });
}

/// The neighbours a parsed compose file holds: every service that is not
/// one of `own` (the profile's servers).
pub fn neighbours(document: &serde_yaml_ng::Value, own: &[&str]) -> Vec<Neighbour> {
    let Some(services) = document.get("services").and_then(|s| s.as_mapping()) else {
        return Vec::new();
    };
    services
        .iter()
        .filter_map(|(name, service)| {
            let name = name.as_str()?;
            if own.contains(&name) {
                return None;
            }
            let mut ports = Vec::new();
            for entry in service
                .get("ports")
                .and_then(|p| p.as_sequence())
                .into_iter()
                .flatten()
                .chain(
                    service
                        .get("expose")
                        .and_then(|p| p.as_sequence())
                        .into_iter()
                        .flatten(),
                )
            {
                ports.extend(container_port(entry));
            }
            let networks = if service.get("network_mode").is_some() {
                None
            } else {
                Some(match service.get("networks") {
                    Some(serde_yaml_ng::Value::Sequence(items)) => items
                        .iter()
                        .filter_map(|n| n.as_str().map(str::to_string))
                        .collect(),
                    Some(serde_yaml_ng::Value::Mapping(map)) => map
                        .keys()
                        .filter_map(|n| n.as_str().map(str::to_string))
                        .collect(),
                    _ => vec!["default".to_string()],
                })
            };
            Some(Neighbour {
                name: name.to_string(),
                ports,
                networks,
            })
        })
        .collect()
}

/// The container port of a `ports`/`expose` entry: `5432`, `"5432:5432"`,
/// `127.0.0.1:5433:5432/tcp`, or the long syntax's `target`.
fn container_port(entry: &serde_yaml_ng::Value) -> Option<u16> {
    use serde_yaml_ng::Value;
    match entry {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(text) => {
            let last = text.rsplit(':').next()?;
            let last = last.split('/').next()?;
            // A range (`8000-8010`) names no single port.
            last.parse().ok()
        }
        Value::Mapping(map) => map
            .get("target")
            .and_then(|t| t.as_u64())
            .and_then(|n| u16::try_from(n).ok()),
        _ => None,
    }
}

/// A variable lookup over the process environment and a parsed `.env`.
pub fn lookup_with(
    env_file: Vec<crate::engine::env_file::Assignment>,
) -> impl Fn(&str) -> Option<String> {
    move |name: &str| {
        std::env::var(name).ok().or_else(|| {
            env_file
                .iter()
                .rev()
                .find(|a| a.name == name)
                .and_then(|a| a.value.clone())
        })
    }
}

/// The `.env` beside `compose`, parsed as deploy will read it; none when it
/// does not exist.
pub fn read_env_file(
    compose: &Path,
) -> crate::error::Result<Vec<crate::engine::env_file::Assignment>> {
    let path: PathBuf = crate::compose::env_file::env_path(compose);
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let outer = |name: &str| std::env::var(name).ok();
    crate::engine::env_file::read(&path, &outer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_name_their_ports_and_networks() {
        let document: serde_yaml_ng::Value = serde_yaml_ng::from_str(
            "services:\n  fetch: {image: x}\n  postgres:\n    image: postgres:16\n    ports: ['127.0.0.1:5433:5432/tcp']\n    expose: [9187]\n  cache:\n    image: redis\n    ports: [{target: 6379, published: 6379}]\n    networks: [mcp-network]\n  host:\n    image: y\n    network_mode: host\n    ports: ['80']\n",
        )
        .unwrap();
        let found = neighbours(&document, &["fetch"]);
        assert_eq!(found.len(), 3);
        assert_eq!(found[0].name, "postgres");
        assert_eq!(found[0].ports, [5432, 9187]);
        assert_eq!(
            found[0].networks.as_deref(),
            Some(&["default".to_string()][..])
        );
        assert_eq!(found[1].ports, [6379]);
        assert_eq!(
            found[1].networks.as_deref(),
            Some(&["mcp-network".to_string()][..])
        );
        assert_eq!(found[2].networks, None);
    }
}

#[cfg(test)]
mod check_tests;
