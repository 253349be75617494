//! Turns the (interpolated) YAML of one service, network or volume into the
//! typed model, with errors that name the field (`ports[1]`) and say why.
use serde_yaml_ng::Value;

use super::service_fields::{
    depends_on, env_files, extra_hosts, healthcheck, mounts, ports, service_networks,
};
use super::values::{
    boolean, command, duration, environment, float, integer, mapping_or_null, pull_policy, restart,
    size, string, string_map, strings,
};
use super::{IpamPool, Network, Service, Volume};

/// A field that cannot be read; `field` is a path inside the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub field: String,
    pub message: String,
    pub hint: Option<String>,
}

pub(super) type Parsed<T> = Result<T, ParseError>;

pub(super) fn error(field: &str, message: impl Into<String>) -> ParseError {
    ParseError {
        field: field.to_string(),
        message: message.into(),
        hint: None,
    }
}

/// Fields compose knows that would change what runs, but deploy does not
/// implement: refusing them beats a container that silently differs.
const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "build",
        "build the image first (`docker build -t NAME .`) and set `image: NAME`",
    ),
    (
        "deploy",
        "set limits with `mem_limit`, `cpus` and `pids_limit` instead",
    ),
    ("scale", "mcpm runs one container per service"),
    ("secrets", "pass secrets as `${VAR}` in `environment`"),
    ("configs", "mount the file with `volumes` instead"),
    ("extends", "write the service out in full"),
    (
        "links",
        "services reach each other by name on a shared network",
    ),
    ("external_links", "put the services on a shared network"),
    (
        "volumes_from",
        "mount the same named volume in both services",
    ),
    ("devices", "devices are not supported by mcpm deploy"),
    ("ulimits", "ulimits are not supported by mcpm deploy"),
    ("sysctls", "sysctls are not supported by mcpm deploy"),
    ("ipc", "ipc modes are not supported by mcpm deploy"),
    ("pid", "pid modes are not supported by mcpm deploy"),
    ("runtime", "runtimes are not supported by mcpm deploy"),
    ("gpus", "GPUs are not supported by mcpm deploy"),
    (
        "logging",
        "logging drivers are not supported by mcpm deploy",
    ),
    ("platform", "pull the image for the right platform first"),
    (
        "develop",
        "`develop` (watch) is not supported by mcpm deploy",
    ),
];

/// Reads one service.
pub fn parse_service(value: &Value) -> Parsed<Service> {
    let map = value
        .as_mapping()
        .ok_or_else(|| error("", "a service must be a mapping of fields"))?;
    let mut service = Service::default();
    for (key, value) in map {
        let key = key
            .as_str()
            .ok_or_else(|| error("", "field names must be strings"))?;
        if key.starts_with("x-") {
            continue;
        }
        match key {
            "image" => service.image = Some(string(key, value)?),
            "pull_policy" => service.pull_policy = Some(pull_policy(key, value)?),
            "container_name" => service.container_name = Some(string(key, value)?),
            "command" => service.command = command(key, value)?,
            "entrypoint" => service.entrypoint = command(key, value)?,
            "environment" => service.environment = environment(key, value)?,
            "env_file" => service.env_file = env_files(key, value)?,
            "volumes" => service.volumes = mounts(key, value)?,
            "tmpfs" => service.tmpfs = strings(key, value)?,
            "ports" => service.ports = ports(key, value)?,
            "expose" => service.expose = strings(key, value)?,
            "networks" => service.networks = service_networks(key, value)?,
            "network_mode" => service.network_mode = Some(string(key, value)?),
            "stdin_open" => service.stdin_open = boolean(key, value)?,
            "tty" => service.tty = boolean(key, value)?,
            "init" => service.init = Some(boolean(key, value)?),
            "read_only" => service.read_only = boolean(key, value)?,
            "privileged" => service.privileged = boolean(key, value)?,
            "cap_add" => service.cap_add = strings(key, value)?,
            "cap_drop" => service.cap_drop = strings(key, value)?,
            "security_opt" => service.security_opt = strings(key, value)?,
            "mem_limit" => service.mem_limit = Some(size(key, value)?),
            "shm_size" => service.shm_size = Some(size(key, value)?),
            "cpus" => service.cpus = Some(float(key, value)?),
            "pids_limit" => service.pids_limit = Some(integer(key, value)?),
            "restart" => service.restart = Some(restart(key, value)?),
            "profiles" => service.profiles = strings(key, value)?,
            "depends_on" => service.depends_on = depends_on(key, value)?,
            "labels" => service.labels = string_map(key, value)?,
            "working_dir" => service.working_dir = Some(string(key, value)?),
            "user" => service.user = Some(string(key, value)?),
            "hostname" => service.hostname = Some(string(key, value)?),
            "domainname" => service.domainname = Some(string(key, value)?),
            "extra_hosts" => service.extra_hosts = extra_hosts(key, value)?,
            "dns" => service.dns = strings(key, value)?,
            "dns_search" => service.dns_search = strings(key, value)?,
            "healthcheck" => service.healthcheck = Some(healthcheck(key, value)?),
            "stop_signal" => service.stop_signal = Some(string(key, value)?),
            "stop_grace_period" => {
                service.stop_grace_period = Some(duration(key, value)? / 1_000_000_000)
            }
            other => return Err(unsupported(other)),
        }
    }
    if service.image.is_none() {
        return Err(error("image", "the service has no `image`").with_hint(
            "mcpm deploy runs existing images; set `image:` (build it first if it is yours)",
        ));
    }
    if service.network_mode.is_some() && !service.networks.is_empty() {
        return Err(error(
            "network_mode",
            "`network_mode` and `networks` cannot both be set",
        ));
    }
    Ok(service)
}

impl ParseError {
    fn with_hint(mut self, hint: &str) -> Self {
        self.hint = Some(hint.to_string());
        self
    }
}

fn unsupported(key: &str) -> ParseError {
    match UNSUPPORTED.iter().find(|(name, _)| *name == key) {
        Some((_, hint)) => {
            error(key, format!("`{key}` is not supported by mcpm deploy")).with_hint(hint)
        }
        None => error(key, format!("unknown field `{key}`"))
            .with_hint("check the spelling; fields starting with `x-` are ignored"),
    }
}

/// Reads one entry of the top-level `networks:` (`null` means defaults).
pub fn parse_network(value: &Value) -> Parsed<Network> {
    let mut network = Network::default();
    let Some(map) = mapping_or_null("", value)? else {
        return Ok(network);
    };
    for (key, value) in map {
        let key = key.as_str().unwrap_or_default();
        match key {
            "name" => network.name = Some(string(key, value)?),
            "external" => network.external = external(key, value, &mut network.name)?,
            "driver" => network.driver = Some(string(key, value)?),
            "driver_opts" => network.driver_opts = string_map(key, value)?,
            "internal" => network.internal = boolean(key, value)?,
            "attachable" => network.attachable = boolean(key, value)?,
            "enable_ipv6" => network.enable_ipv6 = boolean(key, value)?,
            "labels" => network.labels = string_map(key, value)?,
            "ipam" => ipam(value, &mut network)?,
            k if k.starts_with("x-") => {}
            other => return Err(error(other, format!("unknown network field `{other}`"))),
        }
    }
    Ok(network)
}

/// Reads one entry of the top-level `volumes:` (`null` means defaults).
pub fn parse_volume(value: &Value) -> Parsed<Volume> {
    let mut volume = Volume::default();
    let Some(map) = mapping_or_null("", value)? else {
        return Ok(volume);
    };
    for (key, value) in map {
        let key = key.as_str().unwrap_or_default();
        match key {
            "name" => volume.name = Some(string(key, value)?),
            "external" => volume.external = external(key, value, &mut volume.name)?,
            "driver" => volume.driver = Some(string(key, value)?),
            "driver_opts" => volume.driver_opts = string_map(key, value)?,
            "labels" => volume.labels = string_map(key, value)?,
            k if k.starts_with("x-") => {}
            other => return Err(error(other, format!("unknown volume field `{other}`"))),
        }
    }
    Ok(volume)
}

/// `external: true`, or the legacy `external: {name: x}`.
fn external(field: &str, value: &Value, name: &mut Option<String>) -> Parsed<bool> {
    if let Some(map) = value.as_mapping() {
        if let Some(legacy) = map.get("name") {
            *name = Some(string("external.name", legacy)?);
        }
        return Ok(true);
    }
    boolean(field, value)
}

fn ipam(value: &Value, network: &mut Network) -> Parsed<()> {
    let Some(map) = mapping_or_null("ipam", value)? else {
        return Ok(());
    };
    if let Some(driver) = map.get("driver") {
        network.ipam_driver = Some(string("ipam.driver", driver)?);
    }
    if let Some(config) = map.get("config") {
        let items = config
            .as_sequence()
            .ok_or_else(|| error("ipam.config", "must be a list"))?;
        for (i, item) in items.iter().enumerate() {
            let field = format!("ipam.config[{i}]");
            let item = item
                .as_mapping()
                .ok_or_else(|| error(&field, "must be a mapping"))?;
            let get = |key: &str| -> Parsed<Option<String>> {
                item.get(key)
                    .map(|v| string(&format!("{field}.{key}"), v))
                    .transpose()
            };
            network.ipam_config.push(IpamPool {
                subnet: get("subnet")?,
                gateway: get("gateway")?,
                ip_range: get("ip_range")?,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::model::Mount;

    fn service(yaml: &str) -> Parsed<Service> {
        parse_service(&serde_yaml_ng::from_str(yaml).unwrap())
    }

    #[test]
    fn reads_what_generate_writes() {
        let s = service(
            "image: mcp/fetch\ncommand: [a, b]\ntmpfs: [/tmp]\nnetworks: [mcp-network]\nstdin_open: true\ninit: true\nread_only: true\ncap_drop: [ALL]\nsecurity_opt: ['no-new-privileges:true']\nmem_limit: 512m\ncpus: 1.0\npids_limit: 256\nprofiles: [on-demand]\nrestart: unless-stopped\nlabels: {io.mcpm.server: fetch}\n",
        )
        .unwrap();
        assert_eq!(s.command.unwrap(), ["a", "b"]);
        assert_eq!(s.mem_limit, Some(512 * 1024 * 1024));
        assert_eq!(s.cpus, Some(1.0));
        assert!(s.stdin_open && s.read_only && s.init == Some(true));
        assert!(s.networks.contains_key("mcp-network"));
        assert_eq!(s.labels["io.mcpm.server"], "fetch");
    }

    #[test]
    fn list_and_map_spellings_agree() {
        let a =
            service("image: x\nenvironment: [A=1, B]\nlabels: [l=v]\ndepends_on: [db]\n").unwrap();
        let b = service(
            "image: x\nenvironment: {A: 1, B: null}\nlabels: {l: v}\ndepends_on: {db: {condition: service_started}}\n",
        )
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.environment["A"].as_deref(), Some("1"));
        assert_eq!(a.environment["B"], None);
    }

    #[test]
    fn strings_from_interpolation_are_typed() {
        let s = service(
            "image: x\nread_only: 'true'\ncpus: '0.5'\npids_limit: '64'\ncommand: sleep 10\n",
        )
        .unwrap();
        assert!(s.read_only);
        assert_eq!(s.cpus, Some(0.5));
        assert_eq!(s.pids_limit, Some(64));
        assert_eq!(s.command.unwrap(), ["sleep", "10"]);
    }

    #[test]
    fn unsupported_and_unknown_fields_are_errors() {
        let err = service("image: x\nbuild: .\n").unwrap_err();
        assert_eq!(err.field, "build");
        assert!(err.hint.unwrap().contains("docker build"));
        assert!(
            service("image: x\nimagee: y\n")
                .unwrap_err()
                .message
                .contains("unknown field")
        );
        assert!(
            service("command: x\n")
                .unwrap_err()
                .message
                .contains("no `image`")
        );
        assert!(service("image: x\nx-note: fine\n").is_ok());
    }

    #[test]
    fn field_paths_in_errors() {
        let err = service("image: x\nports: ['80', 'nope']\n").unwrap_err();
        assert_eq!(err.field, "ports[1]");
        let err = service("image: x\nhealthcheck: {interval: soon}\n").unwrap_err();
        assert_eq!(err.field, "healthcheck.interval");
    }

    #[test]
    fn long_syntax() {
        let s = service(
            "image: x\nvolumes:\n  - {type: bind, source: ./a, target: /a, read_only: true}\n  - {type: tmpfs, target: /t, tmpfs: {size: 1m}}\nports:\n  - {target: 80, published: '8080', host_ip: 127.0.0.1}\nhealthcheck: {test: 'true', interval: 1s, retries: 3}\n",
        )
        .unwrap();
        assert!(matches!(
            &s.volumes[0],
            Mount::Bind {
                read_only: true,
                ..
            }
        ));
        assert!(matches!(
            &s.volumes[1],
            Mount::Tmpfs {
                size: Some(1048576),
                ..
            }
        ));
        assert_eq!(s.ports[0].published.as_deref(), Some("8080"));
        let check = s.healthcheck.unwrap();
        assert_eq!(check.test.unwrap(), ["CMD-SHELL", "true"]);
        assert_eq!(check.interval, Some(1_000_000_000));
    }
}
