//! Builds one compose service from a server and its detection: the image and
//! command, environment (secrets moved to `.env`), volumes, ports, network, the
//! hardened defaults of SPEC §4, mcpm's labels, and the profile's
//! `[servers.X.docker]` fields merged last.
mod overrides;
mod state;
mod values;

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml_ng::{Mapping, Value};

use crate::catalog::Detection;
use crate::catalog::docker_run::{MountValue, VolumeArg};
use crate::hash;
use crate::labels;
use crate::profile::cpus_value;
use crate::profile::{NetworkChoice, ServerSpec, Sharing, Strategy};
use crate::source::Segment;
pub use state::STATE_VOLUME_SUFFIX;

use super::fields::write_rank;
use super::host::{bind_to_loopback, named_volume, same_path_read_only};
use super::secrets::{Redaction, SecretRegistry, profile_hash};

/// The network every networked MCP server joins (the RFC's name).
pub const MCP_NETWORK: &str = "mcp-network";
/// Hardened defaults, each overridable per server.
pub const DEFAULT_MEMORY: &str = "512m";
pub const DEFAULT_CPUS: f64 = 1.0;
pub const DEFAULT_PIDS: i64 = 256;

/// A finished service and what the document around it must declare.
#[derive(Debug, Clone)]
pub struct BuiltService {
    pub value: Value,
    pub named_volumes: BTreeSet<String>,
    pub uses_network: bool,
    pub warnings: Vec<String>,
    /// The profile entry's hash as the service's label records it: over the
    /// entry with its literal secrets redacted.
    pub profile_hash: String,
}

/// A problem with one server's input, located by its key path in the profile.
#[derive(Debug, Clone)]
pub struct BuildError {
    pub path: Vec<Segment>,
    pub message: String,
    pub hint: String,
}

/// Everything a service is built from.
pub struct ServiceInput<'a> {
    pub profile: &'a str,
    pub name: &'a str,
    pub server: &'a ServerSpec,
    pub detection: &'a Detection<'a>,
}

/// Builds the service; literal secrets go into `secrets`.
pub fn build_service(
    input: &ServiceInput<'_>,
    secrets: &mut SecretRegistry,
) -> Result<BuiltService, BuildError> {
    let mut builder = Builder {
        input,
        secrets,
        warnings: Vec::new(),
        named_volumes: BTreeSet::new(),
        redactions: Vec::new(),
    };
    builder.build()
}

pub(super) struct Builder<'a, 'b> {
    input: &'a ServiceInput<'a>,
    secrets: &'b mut SecretRegistry,
    warnings: Vec<String>,
    named_volumes: BTreeSet<String>,
    /// Each literal moved to `.env`, for the profile hash.
    redactions: Vec<Redaction>,
}

impl Builder<'_, '_> {
    fn path(&self, keys: &[&str]) -> Vec<Segment> {
        let mut path = vec![
            Segment::Key("servers".into()),
            Segment::Key(self.input.name.into()),
        ];
        path.extend(keys.iter().map(|key| Segment::Key(key.to_string())));
        path
    }

    fn arg_path(&self, arg: &str) -> Vec<Segment> {
        let mut path = self.path(&["args"]);
        if let Some(index) = self.input.server.args.iter().position(|a| a == arg) {
            path.push(Segment::Index(index));
        }
        path
    }

    fn build(&mut self) -> Result<BuiltService, BuildError> {
        let input = self.input;
        let detection = input.detection;
        let server = input.server;
        let template = detection.template;
        let run = detection.docker_run.as_ref();
        let mut service = Mapping::new();

        service.insert("image".into(), detection.image.clone().into());
        if let Some(entrypoint) = run.and_then(|run| run.entrypoint.as_ref()) {
            service.insert(
                "entrypoint".into(),
                strings(std::slice::from_ref(entrypoint)),
            );
        }

        let mut volumes: Vec<Value> = Vec::new();
        let host_script = detection.host_script.as_ref();
        if let Some(script) = host_script {
            volumes.extend(script.mounts.iter().map(|dir| same_path_read_only(dir)));
        }
        if let Some(command) = &detection.command {
            let command = self.command(command, &mut volumes)?;
            service.insert("command".into(), strings(&command));
        }
        if let Some(workdir) = run
            .and_then(|run| run.workdir.as_ref())
            .or(host_script.and_then(|script| script.working_dir.as_ref()))
        {
            service.insert("working_dir".into(), workdir.clone().into());
        }
        if let Some(user) = run.and_then(|run| run.user.as_ref()) {
            service.insert("user".into(), user.clone().into());
        }

        let environment = self.environment()?;
        if !environment.is_empty() {
            let map: Mapping = environment
                .into_iter()
                .map(|(k, v)| (Value::from(k), Value::from(v)))
                .collect();
            service.insert("environment".into(), Value::Mapping(map));
        }
        if let Some(run) = run
            && !run.env_files.is_empty()
        {
            service.insert("env_file".into(), strings(&run.env_files));
        }

        for (index, volume) in server.volumes.iter().enumerate() {
            let text = self.compose_text(volume, {
                let mut path = self.path(&["volumes"]);
                path.push(Segment::Index(index));
                path
            })?;
            self.note_named_volume(&text);
            volumes.push(text.into());
        }
        if let Some(run) = run {
            for volume in &run.volumes {
                volumes.push(self.docker_volume(volume));
            }
        }
        if !volumes.is_empty() {
            service.insert("volumes".into(), Value::Sequence(volumes));
        }

        // A host script only reads its mounted directory; its runtime's
        // writes are sent to the /tmp tmpfs (HostScript::environment).
        let read_only = template.is_some_and(|t| t.read_only)
            || run.is_some_and(|run| run.read_only)
            || host_script.is_some();
        let mut tmpfs: Vec<String> = Vec::new();
        if read_only {
            tmpfs.push("/tmp".into());
            tmpfs.extend(
                template
                    .map(|t| t.service.tmpfs.clone())
                    .unwrap_or_default(),
            );
        }
        tmpfs.extend(run.map(|run| run.tmpfs.clone()).unwrap_or_default());
        dedup(&mut tmpfs);
        if !tmpfs.is_empty() {
            service.insert("tmpfs".into(), strings(&tmpfs));
        }

        let mut ports: Vec<String> = server.ports.clone();
        ports.extend(run.map(|run| run.ports.clone()).unwrap_or_default());
        let ports: Vec<String> = ports.iter().map(|port| bind_to_loopback(port)).collect();
        if !ports.is_empty() {
            service.insert("ports".into(), strings(&ports));
        }

        let uses_network = self.network(!ports.is_empty())?;
        if uses_network {
            service.insert("networks".into(), strings(&[MCP_NETWORK.to_string()]));
        } else {
            service.insert("network_mode".into(), "none".into());
        }

        service.insert("stdin_open".into(), true.into());
        if run.is_some_and(|run| run.tty) {
            service.insert("tty".into(), true.into());
        }
        service.insert("init".into(), true.into());
        if read_only {
            service.insert("read_only".into(), true.into());
        }
        let mut cap_drop = vec!["ALL".to_string()];
        cap_drop.extend(run.map(|run| run.cap_drop.clone()).unwrap_or_default());
        dedup(&mut cap_drop);
        service.insert("cap_drop".into(), strings(&cap_drop));
        if let Some(run) = run
            && !run.cap_add.is_empty()
        {
            service.insert("cap_add".into(), strings(&run.cap_add));
        }
        let mut security_opt = vec!["no-new-privileges:true".to_string()];
        security_opt.extend(run.map(|run| run.security_opt.clone()).unwrap_or_default());
        dedup(&mut security_opt);
        service.insert("security_opt".into(), strings(&security_opt));
        if run.is_some_and(|run| run.privileged) {
            service.insert("privileged".into(), true.into());
            self.warnings.push(format!(
                "server `{}` runs privileged, as its docker run asked",
                input.name
            ));
        }
        self.resources(&mut service)?;
        self.extras(&mut service);

        match server.strategy() {
            Strategy::AlwaysOn | Strategy::PreWarmed => {
                service.insert("restart".into(), "unless-stopped".into());
            }
            Strategy::OnDemand => {
                service.insert("profiles".into(), strings(&["on-demand".to_string()]));
            }
        }
        service.insert("labels".into(), Value::Mapping(self.labels()));

        for field in &server.unset {
            service.remove(field.as_str());
        }
        if let Some(docker) = &server.docker {
            self.merge_docker_table(&mut service, docker)?;
        }
        self.state(&mut service);
        let mut service = sorted(service);
        let uses_network =
            service.contains_key("networks") && !service.contains_key("network_mode");
        let profile_hash = profile_hash(server, &self.redactions);
        stamp_hashes(&mut service, &profile_hash);
        Ok(BuiltService {
            value: Value::Mapping(service),
            named_volumes: std::mem::take(&mut self.named_volumes),
            uses_network,
            warnings: std::mem::take(&mut self.warnings),
            profile_hash,
        })
    }

    fn docker_volume(&mut self, volume: &VolumeArg) -> Value {
        match volume {
            VolumeArg::Short(text) => {
                self.note_named_volume(text);
                text.clone().into()
            }
            VolumeArg::Long(fields) => {
                let mut map = Mapping::new();
                // Compose's own order for a long-syntax volume reads best.
                let mut fields: Vec<_> = fields.iter().collect();
                let rank = |key: &str| {
                    ["type", "source", "target", "read_only"]
                        .iter()
                        .position(|k| *k == key)
                        .unwrap_or(4)
                };
                fields.sort_by_key(|(key, _)| rank(key));
                for (key, value) in fields {
                    let value = match value {
                        MountValue::Text(text) => Value::from(text.clone()),
                        MountValue::Flag(flag) => Value::from(*flag),
                    };
                    map.insert(key.clone().into(), value);
                }
                if let (Some(Value::String(kind)), Some(Value::String(source))) =
                    (map.get("type"), map.get("source"))
                    && kind == "volume"
                {
                    self.named_volumes.insert(source.clone());
                }
                Value::Mapping(map)
            }
        }
    }

    fn note_named_volume(&mut self, short: &str) {
        if let Some(name) = named_volume(short) {
            self.named_volumes.insert(name);
        }
    }

    /// Whether the service joins `mcp-network` (else `network_mode: none`).
    fn network(&mut self, publishes_ports: bool) -> Result<bool, BuildError> {
        let input = self.input;
        let detection = input.detection;
        let from_run = detection.docker_run.as_ref().and_then(|run| run.network.as_deref()).map(|network| {
            if network == "none" {
                NetworkChoice::None
            } else {
                if network != "bridge" && network != "default" {
                    self.warnings.push(format!(
                        "server `{}`: `--network {network}` becomes `{MCP_NETWORK}` (mcpm never uses the host's network; set `network_mode` in `[servers.{}.docker]` to insist)",
                        input.name, input.name
                    ));
                }
                NetworkChoice::Bridge
            }
        });
        let needs = detection.template.is_none_or(|t| t.needs_network) || publishes_ports;
        let choice = input.server.network.or(from_run).unwrap_or(if needs {
            NetworkChoice::Bridge
        } else {
            NetworkChoice::None
        });
        if choice == NetworkChoice::None && publishes_ports {
            return Err(BuildError {
                path: self.path(&["network"]),
                message: format!(
                    "server `{}` publishes ports but has `network = \"none\"`",
                    input.name
                ),
                hint: "remove `ports`, or set `network = \"bridge\"`".into(),
            });
        }
        Ok(choice == NetworkChoice::Bridge)
    }

    fn resources(&self, service: &mut Mapping) -> Result<(), BuildError> {
        let server = self.input.server;
        let run = self.input.detection.docker_run.as_ref();
        let resources = server.resources.clone().unwrap_or_default();
        let memory = resources
            .memory
            .or_else(|| run.and_then(|run| run.memory.clone()))
            .unwrap_or_else(|| DEFAULT_MEMORY.to_string());
        service.insert("mem_limit".into(), memory.into());
        let cpus = match (&resources.cpus, run.and_then(|run| run.cpus.as_deref())) {
            (Some(cpus), _) => cpus_value(cpus).unwrap_or(DEFAULT_CPUS),
            (None, Some(text)) => {
                text.parse::<f64>()
                    .ok()
                    .filter(|c| *c > 0.0)
                    .ok_or_else(|| BuildError {
                        path: self.arg_path(text),
                        message: format!(
                            "`--cpus {text}` in server `{}` is not a positive number",
                            self.input.name
                        ),
                        hint: "write a number of CPUs such as 0.5".into(),
                    })?
            }
            (None, None) => DEFAULT_CPUS,
        };
        service.insert("cpus".into(), cpus.into());
        let pids = match (
            resources.pids,
            run.and_then(|run| run.pids_limit.as_deref()),
        ) {
            (Some(pids), _) => pids,
            (None, Some(text)) => text.parse::<i64>().map_err(|_| BuildError {
                path: self.arg_path(text),
                message: format!(
                    "`--pids-limit {text}` in server `{}` is not a number",
                    self.input.name
                ),
                hint: "write a whole number of processes".into(),
            })?,
            (None, None) => DEFAULT_PIDS,
        };
        service.insert("pids_limit".into(), pids.into());
        Ok(())
    }

    /// `docker run` flags that map one-to-one onto compose fields.
    fn extras(&self, service: &mut Mapping) {
        let Some(run) = &self.input.detection.docker_run else {
            return;
        };
        let optional = [
            ("hostname", &run.hostname),
            ("platform", &run.platform),
            ("shm_size", &run.shm_size),
            ("pull_policy", &run.pull_policy),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                service.insert(key.into(), value.clone().into());
            }
        }
        if !run.dns.is_empty() {
            service.insert("dns".into(), strings(&run.dns));
        }
        if !run.extra_hosts.is_empty() {
            service.insert("extra_hosts".into(), strings(&run.extra_hosts));
        }
        if run.init {
            service.insert("init".into(), true.into());
        }
    }

    fn labels(&self) -> Mapping {
        let input = self.input;
        let mut labels = BTreeMap::new();
        if let Some(run) = &input.detection.docker_run {
            for (key, value) in &run.labels {
                labels.insert(key.clone(), value.clone());
            }
        }
        labels.insert(labels::PROFILE.to_string(), input.profile.to_string());
        labels.insert(labels::SERVER.to_string(), input.name.to_string());
        labels.insert(
            labels::MATCH.to_string(),
            input.detection.rule.as_str().to_string(),
        );
        if let Some(template) = input.detection.template {
            labels.insert(labels::TEMPLATE.to_string(), template.name.clone());
        }
        labels.insert(
            labels::STRATEGY.to_string(),
            input.server.strategy().as_str().to_string(),
        );
        // Written only when not the default, so compose files of profiles
        // that never mention them stay as they were.
        if input.server.sharing() != Sharing::default() {
            labels.insert(
                labels::SHARING.to_string(),
                input.server.sharing().as_str().to_string(),
            );
        }
        if let Some(text) = &input.server.idle_timeout
            && input.server.idle_timeout() != Some(crate::gateway::DEFAULT_IDLE_TIMEOUT)
        {
            labels.insert(labels::IDLE_TIMEOUT.to_string(), text.clone());
        }
        labels
            .into_iter()
            .map(|(k, v)| (Value::from(k), Value::from(v)))
            .collect()
    }
}

/// Stamps the sync base: the profile entry's (redacted) hash and the
/// service's own.
fn stamp_hashes(service: &mut Mapping, profile_hash: &str) {
    if let Some(Value::Mapping(labels)) = service.get_mut("labels") {
        labels.insert(labels::PROFILE_HASH.into(), profile_hash.into());
    }
    let service_hash = hash::service_hash(service);
    if let Some(Value::Mapping(labels)) = service.get_mut("labels") {
        labels.insert(labels::SERVICE_HASH.into(), service_hash.into());
    }
}

/// Reorders a service's keys into mcpm's write order.
fn sorted(service: Mapping) -> Mapping {
    let mut entries: Vec<(Value, Value)> = service.into_iter().collect();
    entries.sort_by(|(a, _), (b, _)| {
        write_rank(a.as_str().unwrap_or("")).cmp(&write_rank(b.as_str().unwrap_or("")))
    });
    entries.into_iter().collect()
}

pub(super) fn strings(items: &[String]) -> Value {
    Value::Sequence(items.iter().map(|item| Value::from(item.clone())).collect())
}

pub(super) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn dedup(items: &mut Vec<String>) {
    let mut seen = BTreeSet::new();
    items.retain(|item| seen.insert(item.clone()));
}
