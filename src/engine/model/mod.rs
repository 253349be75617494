//! The desired state as typed values: what a compose file says about services,
//! networks and volumes, after interpolation. Covers the fields mcpm writes and
//! the common ones users add; fields that would change what runs but that
//! deploy does not implement (`build:`, `deploy:`, `secrets:`, …) are errors
//! rather than silently ignored.
//!
//! Every type serialises to a normalised form (lists of strings, sizes in
//! bytes, durations in nanoseconds): the config hash is taken over it, so two
//! spellings of the same setting hash the same.
mod parse;
mod service_fields;
mod syntax;
mod values;

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::Serialize;

pub use parse::{ParseError, parse_network, parse_service, parse_volume};
pub use syntax::{format_size, format_size_decimal, parse_duration, parse_size, split_shell_words};

/// Whether `name` can be interpolated by compose.
pub fn is_variable_name(name: &str) -> bool {
    crate::compose::interpolation::is_variable_name(name)
}

/// One service of the compose file.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Service {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_policy: Option<PullPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// `environment:` merged over the `env_file:` contents; a value of `None`
    /// (`- NAME` with nothing set) is left out of the container.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, Option<String>>,
    /// The files `environment` was read from, resolved against the project dir.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env_file: Vec<EnvFileRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Mount>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tmpfs: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PortMapping>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expose: Vec<String>,
    /// Network key → per-service settings, in file order (the first is primary).
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub networks: IndexMap<String, ServiceNetwork>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stdin_open: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tty: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init: Option<bool>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub privileged: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_opt: Vec<String>,
    /// Bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem_limit: Option<i64>,
    /// Bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub depends_on: IndexMap<String, Dependency>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domainname: Option<String>,
    /// `host:ip` entries.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_hosts: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns_search: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// Seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_grace_period: Option<i64>,
}

/// A service's `env_file:` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvFileRef {
    pub path: String,
    pub required: bool,
}

/// When to pull a service's image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PullPolicy {
    Always,
    Missing,
    Never,
}

/// One entry of `volumes:` in a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Mount {
    /// A host path; `source` is absolute once the file is loaded.
    Bind {
        source: String,
        target: String,
        read_only: bool,
        /// Extra short-syntax options (`z`, `Z`, propagation).
        options: Vec<String>,
    },
    /// A named volume (a key of the top-level `volumes:`), or an anonymous
    /// one when `source` is `None`.
    Volume {
        source: Option<String>,
        target: String,
        read_only: bool,
        nocopy: bool,
    },
    Tmpfs {
        target: String,
        size: Option<i64>,
    },
}

impl Mount {
    /// The path in the container.
    pub fn target(&self) -> &str {
        match self {
            Self::Bind { target, .. }
            | Self::Volume { target, .. }
            | Self::Tmpfs { target, .. } => target,
        }
    }
}

/// One published or exposed port, ranges already expanded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortMapping {
    pub target: u16,
    /// The host port; `None` publishes on a random port.
    pub published: Option<String>,
    pub host_ip: Option<String>,
    pub protocol: String,
}

/// A service's settings on one network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServiceNetwork {
    pub aliases: Vec<String>,
    pub ipv4_address: Option<String>,
    pub ipv6_address: Option<String>,
}

/// One entry of `depends_on:`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dependency {
    pub condition: DependencyCondition,
    /// When false, a dependency that is not in the file is ignored.
    pub required: bool,
}

/// What a dependency must reach before its dependents start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DependencyCondition {
    ServiceStarted,
    ServiceHealthy,
    ServiceCompletedSuccessfully,
}

impl DependencyCondition {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ServiceStarted => "service_started",
            Self::ServiceHealthy => "service_healthy",
            Self::ServiceCompletedSuccessfully => "service_completed_successfully",
        }
    }
}

/// A healthcheck; durations in nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Healthcheck {
    /// `["NONE"]` disables the image's healthcheck.
    pub test: Option<Vec<String>>,
    pub interval: Option<i64>,
    pub timeout: Option<i64>,
    pub retries: Option<i64>,
    pub start_period: Option<i64>,
}

/// One entry of the top-level `networks:`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Network {
    /// The engine's name for it: `name:`, else `<project>_<key>`.
    pub name: Option<String>,
    pub external: bool,
    pub driver: Option<String>,
    pub driver_opts: BTreeMap<String, String>,
    pub internal: bool,
    pub attachable: bool,
    pub enable_ipv6: bool,
    pub labels: BTreeMap<String, String>,
    pub ipam_driver: Option<String>,
    pub ipam_config: Vec<IpamPool>,
}

/// A subnet of a network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IpamPool {
    pub subnet: Option<String>,
    pub gateway: Option<String>,
    pub ip_range: Option<String>,
}

/// One entry of the top-level `volumes:`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Volume {
    pub name: Option<String>,
    pub external: bool,
    pub driver: Option<String>,
    pub driver_opts: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
}
