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
    /// Relative to the profile file; default `docker-compose.yml` beside it.
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
