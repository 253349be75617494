//! The profile as data: what a user may write in a profile TOML file.
use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// A whole profile file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// `[a-z0-9][a-z0-9_-]*`; names the compose project unless `[docker] project` does.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub docker: DockerSettings,
    /// Sorted by name, so output never depends on the order servers were written in.
    #[serde(default)]
    pub servers: BTreeMap<String, ServerSpec>,
}

/// The `[docker]` table: how the profile maps to a compose project.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DockerSettings {
    /// Relative to the profile file; default `docker-compose.yml` beside it
    /// (`<config dir>/compose/NAME/compose.yaml` for a profile kept in the
    /// config dir).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compose_file: Option<String>,
    /// Compose project name; default `mcp-<profile name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict_resolution: Option<ConflictStrategy>,
    #[serde(default)]
    pub auto_deploy: bool,
    /// A subnet for `mcp-network` (CIDR); none unless set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    /// Services in the compose file that sync must never import as servers
    /// (an application's database living in the same file, say).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_services: Vec<String>,
    /// Whether sync imports services mcpm does not own as new servers
    /// (SPEC §5). Off by default: a hand-added service is usually the
    /// application's own database or cache, not an MCP server.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub import_services: bool,
}

/// How `sync` settles a server changed on both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[clap(rename_all = "snake_case")]
pub enum ConflictStrategy {
    ProfileWins,
    DockerWins,
    Manual,
    Merge,
}

/// When a server's container runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Started by deploy, restarted unless stopped.
    #[default]
    AlwaysOn,
    /// Started ahead of use, restarted unless stopped.
    PreWarmed,
    /// Created but not started by a plain deploy (compose profile `on-demand`).
    OnDemand,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::AlwaysOn => "always-on",
            Strategy::PreWarmed => "pre-warmed",
            Strategy::OnDemand => "on-demand",
        }
    }

    /// The strategy named `text` (as written in the profile and the label).
    pub fn parse(text: &str) -> Option<Self> {
        [Self::AlwaysOn, Self::PreWarmed, Self::OnDemand]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// How client sessions reach a stdio server through the gateway (SPEC §6b).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sharing {
    /// One long-lived container, attached once; every client session is
    /// multiplexed onto it.
    #[default]
    Shared,
    /// A one-off container per client session, removed when it ends.
    Session,
}

impl Sharing {
    pub fn as_str(self) -> &'static str {
        match self {
            Sharing::Shared => "shared",
            Sharing::Session => "session",
        }
    }

    /// The sharing mode named `text` (as written in the profile and the label).
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Shared, Self::Session]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// `network = "none" | "bridge"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkChoice {
    None,
    Bridge,
}

/// `resources = { memory, cpus, pids }`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<Cpus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids: Option<i64>,
}

/// CPUs may be written as a number or a string (`0.5`, `"0.5"`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Cpus {
    Number(f64),
    Text(String),
}

/// One MCP server: stdio (`command`/`args`/`env`) or remote (`url`/`headers`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub env: IndexMap<String, EnvValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
    /// How gateway client sessions reach the server (SPEC §6b); default shared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharing: Option<Sharing>,
    /// How long an on-demand server stays up after its last gateway session,
    /// in compose's duration syntax (`90s`, `10m`, `1h30m`); checked by
    /// `validate`, read with [`ServerSpec::idle_timeout`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkChoice>,
    /// Compose service fields merged last (and where sync writes compose-side edits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker: Option<toml::Table>,
    /// Compose fields mcpm would generate that this server's service must not
    /// have (sync writes these when a field is deleted in the compose file).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unset: Vec<String>,
}

impl ServerSpec {
    pub fn is_enabled(&self) -> bool {
        self.enabled.unwrap_or(true)
    }

    pub fn is_remote(&self) -> bool {
        self.url.is_some()
    }

    pub fn strategy(&self) -> Strategy {
        self.strategy.unwrap_or_default()
    }

    pub fn sharing(&self) -> Sharing {
        self.sharing.unwrap_or_default()
    }

    /// The idle timeout, when set and valid (a loaded profile's always is).
    pub fn idle_timeout(&self) -> Option<std::time::Duration> {
        self.idle_timeout
            .as_deref()
            .and_then(|text| parse_idle_timeout(text).ok())
    }
}

/// Reads an `idle_timeout` value: compose's duration syntax (`90s`, `10m`,
/// `1h30m`, `500ms`; a bare number is seconds), never negative. The one
/// reader of the field, used for the profile and for the compose label.
pub fn parse_idle_timeout(text: &str) -> Result<std::time::Duration, String> {
    // The compose parser takes any float for bare seconds; `nan` or `inf`
    // are no timeouts a person means.
    if !text
        .trim()
        .starts_with(|c: char| c.is_ascii_digit() || c == '.')
    {
        return Err(format!(
            "`{text}` is not a duration (write e.g. 90s, 10m, 1h30m)"
        ));
    }
    let nanos = crate::engine::model::parse_duration(text)?;
    u64::try_from(nanos)
        .map(std::time::Duration::from_nanos)
        .map_err(|_| format!("`{text}` is negative; an idle timeout is a length of time"))
}

/// An environment value: TOML strings, numbers and booleans are all accepted
/// (`PORT = 8080` is as natural as `PORT = "8080"`), and passed on as text.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum EnvValue {
    Text(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
}

impl EnvValue {
    pub fn to_text(&self) -> String {
        match self {
            EnvValue::Text(text) => text.clone(),
            EnvValue::Integer(n) => n.to_string(),
            EnvValue::Float(x) => x.to_string(),
            EnvValue::Bool(b) => b.to_string(),
        }
    }
}
