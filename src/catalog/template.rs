//! One catalog entry: how to recognise an MCP server and run it in a container.
use std::collections::BTreeMap;

use serde::Deserialize;

/// A template file from `templates/` (format in `templates/README.md`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub npm: Vec<String>,
    #[serde(default)]
    pub pypi: Vec<String>,
    #[serde(default)]
    pub images: Vec<String>,
    #[serde(default)]
    pub binaries: Vec<String>,
    #[serde(default = "yes")]
    pub needs_network: bool,
    #[serde(default)]
    pub read_only: bool,
    #[serde(default)]
    pub required_env: Vec<String>,
    /// When set, absolute host paths among the server's arguments are bind-mounted
    /// below this container directory and the arguments rewritten to match.
    #[serde(default)]
    pub mount_host_paths: String,
    /// `node`, `uv`, `python` or `deno` for the generic runtimes; empty for MCP servers.
    #[serde(default)]
    pub runtime: String,
    pub service: ServiceFragment,
}

fn yes() -> bool {
    true
}

/// The compose fragment a template's service starts from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceFragment {
    pub image: String,
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    #[serde(default)]
    pub tmpfs: Vec<String>,
}

impl Template {
    /// Whether this is one of the generic runtimes rather than a known server.
    pub fn is_runtime(&self) -> bool {
        !self.runtime.is_empty()
    }
}
