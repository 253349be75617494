//! `status`: per server, the profile's state, the compose file's, whether the
//! two are in sync, and the container's state, built from the profile, the
//! compose file and ONE container listing. [`run`] reads those three (the
//! compose file parsed once); the rows are pure once they are read.
//!
//! JSON schema: a state that cannot be told is `null`, never a placeholder
//! string (`-` is only how the table shows `null`).
use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_yaml_ng::Value;

use crate::profile::Profile;

use super::desired::{Desired, ON_DEMAND};
use super::observe::ObservedContainer;

mod run;
pub use run::{StatusOptions, run};

/// The whole status, with a stable JSON schema.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub profile: Option<String>,
    pub project: String,
    /// `null` when status read the engine alone (`status -p NAME`, no file).
    pub compose_file: Option<String>,
    pub engine: EngineState,
    pub servers: Vec<ServerStatus>,
    /// The project's gateway, when one runs (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<GatewayRef>,
    /// What cost a column rather than the command (the engine unreachable, a
    /// variable unset, …), for the caller to show; not part of the JSON.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// The running gateway of a status report.
#[derive(Debug, Clone, Serialize)]
pub struct GatewayRef {
    pub pid: u32,
    pub url: String,
}

/// A server as the running gateway sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GatewayColumns {
    pub sharing: String,
    /// Open client sessions.
    pub sessions: usize,
    /// Whether the gateway holds the server's stdio.
    pub attached: bool,
    /// Seconds since the last session ended, while none is open.
    pub idle_seconds: Option<u64>,
}

/// Whether the engine could be asked.
#[derive(Debug, Clone, Serialize)]
pub struct EngineState {
    pub host: String,
    pub reachable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One row.
#[derive(Debug, Clone, Serialize)]
pub struct ServerStatus {
    pub name: String,
    /// `enabled`, `disabled`, `remote`, `absent`; `null` without a profile.
    pub profile_state: Option<String>,
    /// `service`, `on-demand`, `absent`; `null` without a compose file.
    pub compose_state: Option<String>,
    /// `in-sync`, `profile-changed`, `compose-changed`, `conflict`,
    /// `only-profile`, `only-compose` (mcpm's, pending), `foreign` (a service
    /// mcpm does not own and sync leaves alone); `null` when it cannot be told.
    pub sync_state: Option<String>,
    /// `running`, `exited`, `created`, `missing`, `outdated`, `healthy`,
    /// `unhealthy`, `starting`, … or `unreachable`; `null` when no container
    /// is due (a server only in the profile, a remote one).
    pub container_state: Option<String>,
    pub container: Option<String>,
    pub container_id: Option<String>,
    pub image: Option<String>,
    pub ports: Vec<String>,
    /// The gateway's view of the server, when a gateway runs and serves it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<GatewayColumns>,
    /// `--probe`: the MCP health probe of its stdio server (absent without
    /// `--probe`, and for services that run no stdio server).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe: Option<crate::gateway::probe::Probe>,
    /// With `--stats`, what a running container uses now (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
}

/// `status --stats`: the container's CPU % and memory, as `stats` reads them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resources {
    /// CPU % over the last second (100 = one CPU busy).
    pub cpu_percent: Option<f64>,
    pub memory: crate::engine::stats::Memory,
}

/// Fills the resources of the rows whose container `measured` has numbers for.
pub fn add_resources(rows: &mut [ServerStatus], measured: &[crate::engine::stats::ContainerStats]) {
    for row in rows {
        let Some(id) = &row.container_id else {
            continue;
        };
        row.resources = measured.iter().find(|m| &m.id == id).and_then(|m| {
            m.memory.map(|memory| Resources {
                cpu_percent: m.cpu_percent,
                memory,
            })
        });
    }
}

/// The inputs of a status report.
pub struct StatusInput<'a> {
    pub profile: Option<&'a Profile>,
    /// The compose file's services as written (for the sync hashes); `None`
    /// without a compose file (the rows come from the engine's labels).
    pub raw_services: Option<&'a BTreeMap<String, Value>>,
    /// The resolved services (for the config hashes), when the file resolved.
    pub desired: Option<&'a Desired>,
    /// The sync column, from `sync::status_words`.
    pub sync: &'a BTreeMap<String, &'static str>,
    /// `None` when the engine is unreachable.
    pub containers: Option<&'a BTreeMap<String, Vec<ObservedContainer>>>,
}

/// Builds the rows, sorted by name.
pub fn rows(input: &StatusInput) -> Vec<ServerStatus> {
    let mut names: BTreeSet<String> = input
        .raw_services
        .map(|raw| raw.keys().cloned().collect())
        .unwrap_or_default();
    if let Some(profile) = input.profile {
        names.extend(profile.servers.keys().cloned());
    }
    if let Some(containers) = input.containers {
        names.extend(containers.keys().cloned());
    }
    names.into_iter().map(|name| row(input, name)).collect()
}

fn row(input: &StatusInput, name: String) -> ServerStatus {
    let raw = input.raw_services.and_then(|raw| raw.get(&name));
    let server = input.profile.and_then(|p| p.servers.get(&name));
    let profile_state = input.profile.map(|_| match server {
        None => "absent",
        Some(s) if s.is_remote() => "remote",
        Some(s) if !s.is_enabled() => "disabled",
        Some(_) => "enabled",
    });
    let compose_state = input.raw_services.map(|_| match raw {
        None => "absent",
        Some(service) => {
            let on_demand = service
                .get("profiles")
                .and_then(Value::as_sequence)
                .is_some_and(|p| p.iter().any(|v| v.as_str() == Some(ON_DEMAND)));
            if on_demand { "on-demand" } else { "service" }
        }
    });
    let sync_state = input.sync.get(&name).copied();
    let desired = input.desired.and_then(|d| d.services.get(&name));
    let container = input
        .containers
        .and_then(|c| c.get(&name))
        .and_then(|list| list.first());
    let container_state = match (input.containers, container) {
        (None, _) => Some("unreachable"),
        (Some(_), None) if raw.is_some() => Some("missing"),
        (Some(_), None) => None,
        (Some(_), Some(c)) => {
            let outdated = desired.is_some_and(|d| c.recorded_hash() != Some(d.hash.as_str()));
            Some(if outdated {
                "outdated"
            } else if let Some(health) = c.health {
                health.as_str()
            } else {
                c.state.as_str()
            })
        }
    };
    let image = desired
        .and_then(|d| d.config.image.clone())
        .or_else(|| {
            raw.and_then(|r| r.get("image"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .or_else(|| container.map(|c| c.image.clone()));
    let ports = match container {
        Some(c) if !c.ports.is_empty() => c.ports.clone(),
        _ => desired
            .map(|d| {
                d.config
                    .ports
                    .iter()
                    .map(|p| {
                        let host = match (&p.host_ip, &p.published) {
                            (Some(ip), Some(port)) => format!("{ip}:{port}->"),
                            (None, Some(port)) => format!("{port}->"),
                            _ => String::new(),
                        };
                        format!("{host}{}/{}", p.target, p.protocol)
                    })
                    .collect()
            })
            .unwrap_or_default(),
    };
    ServerStatus {
        name,
        profile_state: profile_state.map(str::to_string),
        compose_state: compose_state.map(str::to_string),
        sync_state: sync_state.map(str::to_string),
        container_state: container_state.map(str::to_string),
        container: container.map(|c| c.name.clone()),
        container_id: container.map(|c| c.id.clone()),
        image,
        ports,
        gateway: None,
        probe: None,
        resources: None,
    }
}

/// Fills each row's gateway columns from a running gateway's view. Rows are
/// services; the view names servers (`io.mcpm.server`, else the service).
pub fn add_gateway(
    rows: &mut [ServerStatus],
    raw_services: &BTreeMap<String, Value>,
    view: &crate::gateway::GatewayView,
) {
    for row in rows {
        let server = raw_services
            .get(&row.name)
            .and_then(|service| service.get("labels"))
            .and_then(|labels| labels.get(crate::labels::SERVER))
            .and_then(Value::as_str)
            .unwrap_or(&row.name);
        row.gateway = view
            .servers
            .iter()
            .find(|s| s.name == server)
            .map(|s| GatewayColumns {
                sharing: s.sharing.clone(),
                sessions: s.sessions,
                attached: s.attached,
                idle_seconds: s.idle_seconds,
            });
    }
}

/// The services of a compose document as written, by name.
pub fn raw_services(document: &Value) -> BTreeMap<String, Value> {
    document
        .get("services")
        .and_then(Value::as_mapping)
        .map(|services| {
            services
                .iter()
                .filter_map(|(k, v)| k.as_str().map(|k| (k.to_string(), v.clone())))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::observe::ContainerState;

    fn container(service: &str, hash: &str, state: ContainerState) -> ObservedContainer {
        ObservedContainer {
            id: "0123456789abcdef".into(),
            name: format!("p-{service}-1"),
            service: service.into(),
            server: service.into(),
            number: 1,
            state,
            health: None,
            image: "img".into(),
            image_id: None,
            config_hash: Some(hash.into()),
            mcpm_hash: Some(hash.into()),
            inherited_volumes: vec![],
            networks: Default::default(),
            ports: vec!["127.0.0.1:8080->80/tcp".into()],
        }
    }

    #[test]
    fn container_states() {
        let text = "name: p\nservices:\n  a:\n    image: img\n  b:\n    image: img\n    profiles: [on-demand]\n  c:\n    image: img\n";
        let raw = raw_services(&serde_yaml_ng::from_str(text).unwrap());
        let desired = crate::engine::desired::load_text(
            std::path::Path::new("/x/compose.yaml"),
            text,
            &Default::default(),
            &|_| None,
        )
        .unwrap();
        let hash_a = desired.services["a"].hash.clone();
        let containers = BTreeMap::from([
            (
                "a".to_string(),
                vec![container("a", &hash_a, ContainerState::Running)],
            ),
            (
                "b".to_string(),
                vec![container("b", "old", ContainerState::Created)],
            ),
            (
                "gone".to_string(),
                vec![container("gone", "x", ContainerState::Exited)],
            ),
        ]);
        let input = StatusInput {
            profile: None,
            raw_services: Some(&raw),
            desired: Some(&desired),
            containers: Some(&containers),
            sync: &BTreeMap::new(),
        };
        let rows = rows(&input);
        let state = |n: &str| rows.iter().find(|r| r.name == n).unwrap();
        assert_eq!(state("a").container_state.as_deref(), Some("running"));
        assert_eq!(state("a").ports, ["127.0.0.1:8080->80/tcp"]);
        assert_eq!(state("b").container_state.as_deref(), Some("outdated"));
        assert_eq!(state("b").compose_state.as_deref(), Some("on-demand"));
        assert_eq!(state("c").container_state.as_deref(), Some("missing"));
        assert_eq!(state("gone").compose_state.as_deref(), Some("absent"));
        let unreachable = rows_without_engine(&raw);
        assert!(
            unreachable
                .iter()
                .all(|r| r.container_state.as_deref() == Some("unreachable"))
        );
    }

    #[test]
    fn gateway_columns_follow_the_server_label() {
        let text = "services:\n  time-svc:\n    image: t\n    stdin_open: true\n    labels: {io.mcpm.server: time}\n  fetch:\n    image: f\n    stdin_open: true\n  db:\n    image: p\n";
        let raw = raw_services(&serde_yaml_ng::from_str(text).unwrap());
        let mut rows = rows_without_engine(&raw);
        let view = crate::gateway::GatewayView {
            project: "p".into(),
            servers: ["time", "fetch"]
                .iter()
                .enumerate()
                .map(|(n, name)| crate::gateway::ServerView {
                    name: name.to_string(),
                    strategy: "always-on".into(),
                    sharing: "shared".into(),
                    sessions: n + 1,
                    attached: n == 0,
                    idle_seconds: (n == 1).then_some(30),
                })
                .collect(),
        };
        add_gateway(&mut rows, &raw, &view);
        let row = |n: &str| rows.iter().find(|r| r.name == n).unwrap().gateway.clone();
        let time = row("time-svc").unwrap();
        assert_eq!(
            (time.sessions, time.attached, time.idle_seconds),
            (1, true, None)
        );
        let fetch = row("fetch").unwrap();
        assert_eq!(
            (fetch.sessions, fetch.attached, fetch.idle_seconds),
            (2, false, Some(30))
        );
        assert_eq!(row("db"), None, "not served by the gateway");
    }

    /// Without a compose file (`status -p NAME`), the rows are the engine's
    /// services: compose state unknown (`null`), container state, image and
    /// ports from the containers themselves.
    #[test]
    fn rows_from_the_engine_alone() {
        let containers = BTreeMap::from([(
            "redis".to_string(),
            vec![container("redis", "h", ContainerState::Exited)],
        )]);
        let rows = rows(&StatusInput {
            profile: None,
            raw_services: None,
            desired: None,
            containers: Some(&containers),
            sync: &BTreeMap::new(),
        });
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(row.name, "redis");
        assert_eq!(row.compose_state, None);
        assert_eq!(row.profile_state, None);
        assert_eq!(row.container_state.as_deref(), Some("exited"));
        assert_eq!(row.image.as_deref(), Some("img"));
        assert_eq!(row.ports, ["127.0.0.1:8080->80/tcp"]);
    }

    /// A server only in the profile has no container due: `null`, not `-`.
    #[test]
    fn nothing_due_is_null_in_json() {
        let profile: Profile =
            toml::from_str("name = \"p\"\n[servers.search]\nurl = \"https://example.com/mcp\"\n")
                .unwrap();
        let raw = BTreeMap::new();
        let rows = rows(&StatusInput {
            profile: Some(&profile),
            raw_services: Some(&raw),
            desired: None,
            containers: Some(&BTreeMap::new()),
            sync: &BTreeMap::new(),
        });
        let json = serde_json::to_value(&rows[0]).unwrap();
        assert_eq!(json["profile_state"], "remote");
        assert_eq!(json["compose_state"], "absent");
        assert_eq!(json["container_state"], serde_json::Value::Null);
        assert!(!json.to_string().contains("\"-\""), "{json}");
    }

    fn rows_without_engine(raw: &BTreeMap<String, Value>) -> Vec<ServerStatus> {
        rows(&StatusInput {
            profile: None,
            raw_services: Some(raw),
            desired: None,
            containers: None,
            sync: &BTreeMap::new(),
        })
    }
}
