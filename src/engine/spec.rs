//! Turns a desired service into the engine's container, network and volume
//! create requests, with compose's labels and names.
use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HealthConfig, HostConfig, Ipam,
    IpamConfig, Mount as EngineMount, MountTmpfsOptions, MountType, MountVolumeOptions,
    NetworkCreateRequest, NetworkingConfig, PortBinding, RestartPolicy, RestartPolicyNameEnum,
    VolumeCreateRequest,
};

use crate::labels::compose as label;

use super::desired::{Desired, DesiredNetwork, DesiredService, DesiredVolume};
use super::inherit::VolumeMount;
use super::model::{Mount, ServiceNetwork};

/// The labels compose puts on every container of the project.
fn container_labels(
    desired: &Desired,
    service: &DesiredService,
    inherited: &[VolumeMount],
) -> HashMap<String, String> {
    let mut labels: HashMap<String, String> = service
        .config
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let depends_on: Vec<String> = service
        .config
        .depends_on
        .iter()
        .map(|(name, dependency)| format!("{name}:{}:false", dependency.condition.as_str()))
        .collect();
    for (key, value) in [
        (label::PROJECT, desired.project.clone()),
        (label::SERVICE, service.name.clone()),
        (label::CONTAINER_NUMBER, "1".to_string()),
        (label::ONEOFF, label::ONEOFF_FALSE.to_string()),
        (label::CONFIG_HASH, service.hash.clone()),
        (crate::labels::CONFIG_HASH, service.hash.clone()),
        (label::WORKING_DIR, desired.dir.display().to_string()),
        (label::CONFIG_FILES, desired.file.display().to_string()),
        (label::VERSION, label::VERSION_VALUE.to_string()),
        (label::DEPENDS_ON, depends_on.join(",")),
    ] {
        labels.insert(key.to_string(), value);
    }
    match super::inherit::label_value(inherited) {
        Some(names) => labels.insert(crate::labels::INHERITED_VOLUMES.to_string(), names),
        None => labels.remove(crate::labels::INHERITED_VOLUMES),
    };
    labels
}

/// The labels of a project network or volume.
fn resource_labels(
    project: &str,
    kind_label: &str,
    key: &str,
    own: &std::collections::BTreeMap<String, String>,
) -> HashMap<String, String> {
    let mut labels: HashMap<String, String> =
        own.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    labels.insert(label::PROJECT.into(), project.into());
    labels.insert(kind_label.into(), key.into());
    labels.insert(label::VERSION.into(), label::VERSION_VALUE.into());
    labels
}

/// The request that creates a project network.
pub fn network_request(project: &str, network: &DesiredNetwork) -> NetworkCreateRequest {
    let config = &network.config;
    let ipam = (config.ipam_driver.is_some() || !config.ipam_config.is_empty()).then(|| Ipam {
        driver: config.ipam_driver.clone(),
        config: Some(
            config
                .ipam_config
                .iter()
                .map(|pool| IpamConfig {
                    subnet: pool.subnet.clone(),
                    gateway: pool.gateway.clone(),
                    ip_range: pool.ip_range.clone(),
                    ..Default::default()
                })
                .collect(),
        ),
        options: None,
    });
    NetworkCreateRequest {
        name: network.name.clone(),
        driver: Some(config.driver.clone().unwrap_or_else(|| "bridge".into())),
        internal: Some(config.internal),
        attachable: Some(config.attachable),
        enable_ipv6: config.enable_ipv6.then_some(true),
        ipam,
        options: (!config.driver_opts.is_empty())
            .then(|| config.driver_opts.clone().into_iter().collect()),
        labels: Some({
            let mut labels = resource_labels(project, label::NETWORK, &network.key, &config.labels);
            labels.insert(crate::labels::CONFIG_HASH.into(), network.hash.clone());
            labels
        }),
        ..Default::default()
    }
}

/// The request that creates a project volume.
pub fn volume_request(project: &str, volume: &DesiredVolume) -> VolumeCreateRequest {
    VolumeCreateRequest {
        name: Some(volume.name.clone()),
        driver: volume.config.driver.clone(),
        driver_opts: (!volume.config.driver_opts.is_empty())
            .then(|| volume.config.driver_opts.clone().into_iter().collect()),
        labels: Some(resource_labels(
            project,
            label::VOLUME,
            &volume.key,
            &volume.config.labels,
        )),
        ..Default::default()
    }
}

/// The container create request, attached to the service's first network;
/// [`extra_networks`] lists the others, connected before the start (engines
/// before API 1.44 accept one network at create). `inherited` are the
/// anonymous volumes of the container it replaces, mounted again.
pub fn container_request(
    desired: &Desired,
    service: &DesiredService,
    inherited: &[VolumeMount],
) -> ContainerCreateBody {
    let config = &service.config;
    let env: Vec<String> = config
        .environment
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect();
    let mut exposed: Vec<String> = config
        .ports
        .iter()
        .map(|p| format!("{}/{}", p.target, p.protocol))
        .chain(config.expose.iter().map(|e| {
            if e.contains('/') {
                e.clone()
            } else {
                format!("{e}/tcp")
            }
        }))
        .collect();
    exposed.sort();
    exposed.dedup();
    let healthcheck = config.healthcheck.as_ref().map(|check| HealthConfig {
        test: check.test.clone(),
        interval: check.interval,
        timeout: check.timeout,
        retries: check.retries,
        start_period: check.start_period,
        ..Default::default()
    });
    let networking_config = config
        .networks
        .first()
        .map(|(key, settings)| NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                network_name(desired, key),
                endpoint(service, settings),
            )])),
        });
    ContainerCreateBody {
        image: config.image.clone(),
        cmd: config.command.clone(),
        entrypoint: config.entrypoint.clone(),
        env: (!env.is_empty()).then_some(env),
        labels: Some(container_labels(desired, service, inherited)),
        // A stdio MCP server reads its stdin: keep it open, with nothing
        // attached now and no close after the first attach detaches.
        open_stdin: Some(config.stdin_open),
        attach_stdin: Some(false),
        stdin_once: Some(false),
        tty: Some(config.tty),
        working_dir: config.working_dir.clone(),
        user: config.user.clone(),
        hostname: config.hostname.clone(),
        domainname: config.domainname.clone(),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        healthcheck,
        stop_signal: config.stop_signal.clone(),
        stop_timeout: config.stop_grace_period,
        host_config: Some(host_config(desired, service, inherited)),
        networking_config,
        ..Default::default()
    }
}

/// The service's networks after the first: (engine name, settings).
pub fn extra_networks(
    desired: &Desired,
    service: &DesiredService,
) -> Vec<(String, EndpointSettings)> {
    service
        .config
        .networks
        .iter()
        .skip(1)
        .map(|(key, settings)| (network_name(desired, key), endpoint(service, settings)))
        .collect()
}

fn network_name(desired: &Desired, key: &str) -> String {
    desired
        .networks
        .get(key)
        .map(|n| n.name.clone())
        .unwrap_or_else(|| super::naming::resource_name(&desired.project, key, None))
}

/// Other services reach this one by its service name on every network.
pub fn endpoint(service: &DesiredService, settings: &ServiceNetwork) -> EndpointSettings {
    let mut aliases = vec![service.name.clone()];
    aliases.extend(settings.aliases.iter().cloned());
    let ipam_config =
        (settings.ipv4_address.is_some() || settings.ipv6_address.is_some()).then(|| {
            EndpointIpamConfig {
                ipv4_address: settings.ipv4_address.clone(),
                ipv6_address: settings.ipv6_address.clone(),
                ..Default::default()
            }
        });
    EndpointSettings {
        aliases: Some(aliases),
        ipam_config,
        ..Default::default()
    }
}

fn host_config(
    desired: &Desired,
    service: &DesiredService,
    inherited: &[VolumeMount],
) -> HostConfig {
    let config = &service.config;
    let mut binds = Vec::new();
    let mut mounts = Vec::new();
    for mount in &config.volumes {
        match mount {
            // Binds (not mounts) so a missing host directory is created, as
            // compose does for the short syntax.
            Mount::Bind {
                source,
                target,
                read_only,
                options,
            } => {
                let mut modes: Vec<&str> = options.iter().map(String::as_str).collect();
                if *read_only {
                    modes.insert(0, "ro");
                }
                binds.push(if modes.is_empty() {
                    format!("{source}:{target}")
                } else {
                    format!("{source}:{target}:{}", modes.join(","))
                });
            }
            Mount::Volume {
                source,
                target,
                read_only,
                nocopy,
            } => mounts.push(EngineMount {
                typ: Some(MountType::VOLUME),
                source: match source {
                    Some(key) => Some(
                        desired
                            .volumes
                            .get(key)
                            .map(|v| v.name.clone())
                            .unwrap_or_else(|| key.clone()),
                    ),
                    None => inherited
                        .iter()
                        .find(|i| i.target == *target)
                        .map(|i| i.name.clone()),
                },
                target: Some(target.clone()),
                read_only: Some(*read_only),
                volume_options: nocopy.then(|| MountVolumeOptions {
                    no_copy: Some(true),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            Mount::Tmpfs { target, size } => mounts.push(EngineMount {
                typ: Some(MountType::TMPFS),
                target: Some(target.clone()),
                tmpfs_options: size.map(|size| MountTmpfsOptions {
                    size_bytes: Some(size),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        }
    }
    // The old container's volumes at image `VOLUME` paths the service does
    // not mount itself.
    for volume in inherited {
        if !config.volumes.iter().any(|m| m.target() == volume.target) {
            mounts.push(EngineMount {
                typ: Some(MountType::VOLUME),
                source: Some(volume.name.clone()),
                target: Some(volume.target.clone()),
                read_only: Some(volume.read_only),
                ..Default::default()
            });
        }
    }
    let tmpfs: HashMap<String, String> = config
        .tmpfs
        .iter()
        .map(|entry| match entry.split_once(':') {
            Some((path, options)) => (path.to_string(), options.to_string()),
            None => (entry.clone(), String::new()),
        })
        .collect();
    let mut port_bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for port in &config.ports {
        port_bindings
            .entry(format!("{}/{}", port.target, port.protocol))
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(PortBinding {
                host_ip: port.host_ip.clone(),
                host_port: Some(port.published.clone().unwrap_or_default()),
            });
    }
    let network_mode = match config.network_mode.as_deref() {
        Some(mode) => Some(match mode.strip_prefix("service:") {
            Some(other) => format!(
                "container:{}",
                desired
                    .services
                    .get(other)
                    .map(|s| s.container_name.clone())
                    .unwrap_or_else(|| super::naming::container_name(&desired.project, other))
            ),
            None => mode.to_string(),
        }),
        None => config
            .networks
            .first()
            .map(|(key, _)| network_name(desired, key)),
    };
    let nonempty = |list: &Vec<String>| (!list.is_empty()).then(|| list.clone());
    HostConfig {
        binds: (!binds.is_empty()).then_some(binds),
        mounts: (!mounts.is_empty()).then_some(mounts),
        tmpfs: (!tmpfs.is_empty()).then_some(tmpfs),
        port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
        network_mode,
        restart_policy: config.restart.as_deref().map(restart_policy),
        init: config.init,
        readonly_rootfs: Some(config.read_only),
        privileged: Some(config.privileged),
        cap_add: nonempty(&config.cap_add),
        cap_drop: nonempty(&config.cap_drop),
        security_opt: nonempty(&config.security_opt),
        memory: config.mem_limit,
        shm_size: config.shm_size,
        nano_cpus: config.cpus.map(|cpus| (cpus * 1e9).round() as i64),
        pids_limit: config.pids_limit,
        extra_hosts: nonempty(&config.extra_hosts),
        dns: nonempty(&config.dns),
        dns_search: nonempty(&config.dns_search),
        ..Default::default()
    }
}

/// `on-failure:3` → the engine's restart policy.
fn restart_policy(text: &str) -> RestartPolicy {
    let (name, count) = match text.split_once(':') {
        Some((name, count)) => (name, count.parse().ok()),
        None => (text, None),
    };
    RestartPolicy {
        name: Some(match name {
            "always" => RestartPolicyNameEnum::ALWAYS,
            "unless-stopped" => RestartPolicyNameEnum::UNLESS_STOPPED,
            "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
            _ => RestartPolicyNameEnum::NO,
        }),
        maximum_retry_count: count,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::engine::desired::{LoadOptions, load_text};

    fn desired(text: &str) -> Desired {
        load_text(
            Path::new("/srv/p/compose.yaml"),
            text,
            &LoadOptions::default(),
            &|_| None,
        )
        .unwrap()
    }

    #[test]
    fn stdio_servers_keep_stdin_open_and_carry_compose_labels() {
        let d = desired(
            "name: p\nservices:\n  echo:\n    image: e\n    stdin_open: true\n    init: true\n    read_only: true\n    cap_drop: [ALL]\n    mem_limit: 256m\n    cpus: 0.5\n    restart: unless-stopped\n    networks: [mcp-network]\nnetworks:\n  mcp-network:\n",
        );
        let body = container_request(&d, &d.services["echo"], &[]);
        assert_eq!(body.open_stdin, Some(true));
        assert_eq!(body.attach_stdin, Some(false));
        assert_eq!(body.stdin_once, Some(false));
        assert_eq!(body.tty, Some(false));
        let labels = body.labels.unwrap();
        assert_eq!(labels[label::PROJECT], "p");
        assert_eq!(labels[label::SERVICE], "echo");
        assert_eq!(labels[label::CONTAINER_NUMBER], "1");
        assert_eq!(labels[label::ONEOFF], "False");
        assert_eq!(labels[label::CONFIG_HASH], d.services["echo"].hash);
        assert_eq!(labels[crate::labels::CONFIG_HASH], d.services["echo"].hash);
        assert_eq!(labels[label::WORKING_DIR], "/srv/p");
        assert_eq!(labels[label::CONFIG_FILES], "/srv/p/compose.yaml");
        let host = body.host_config.unwrap();
        assert_eq!(host.init, Some(true));
        assert_eq!(host.readonly_rootfs, Some(true));
        assert_eq!(host.memory, Some(256 * 1024 * 1024));
        assert_eq!(host.nano_cpus, Some(500_000_000));
        assert_eq!(host.network_mode.as_deref(), Some("p_mcp-network"));
        let endpoints = body.networking_config.unwrap().endpoints_config.unwrap();
        assert_eq!(
            endpoints["p_mcp-network"].aliases.as_deref(),
            Some(&["echo".to_string()][..])
        );
    }

    #[test]
    fn ports_volumes_and_modes() {
        let d = desired(
            "name: p\nservices:\n  s:\n    image: x\n    network_mode: none\n    ports: ['127.0.0.1:8080:80']\n    volumes: ['./w:/w:ro', 'data:/data', '/anon']\n    tmpfs: [/tmp]\nvolumes:\n  data:\n",
        );
        let body = container_request(&d, &d.services["s"], &[]);
        assert_eq!(body.exposed_ports.unwrap(), ["80/tcp"]);
        let host = body.host_config.unwrap();
        assert_eq!(host.network_mode.as_deref(), Some("none"));
        assert_eq!(host.binds.unwrap(), ["/srv/p/w:/w:ro"]);
        let mounts = host.mounts.unwrap();
        assert_eq!(mounts[0].source.as_deref(), Some("p_data"));
        assert_eq!(mounts[1].source, None);
        assert_eq!(host.tmpfs.unwrap()["/tmp"], "");
        let binding = &host.port_bindings.unwrap()["80/tcp"];
        let binding = &binding.as_ref().unwrap()[0];
        assert_eq!(binding.host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(binding.host_port.as_deref(), Some("8080"));
        assert!(body.networking_config.is_none());
    }

    #[test]
    fn resources_are_labelled_for_compose() {
        let d = desired("name: p\nservices:\n  s:\n    image: x\nvolumes:\n  data:\n");
        let network = network_request("p", &d.networks["default"]);
        assert_eq!(network.name, "p_default");
        let labels = network.labels.unwrap();
        assert_eq!(labels[label::NETWORK], "default");
        assert_eq!(
            labels[crate::labels::CONFIG_HASH],
            d.networks["default"].hash
        );
        assert_eq!(labels[label::PROJECT], "p");
        let volume = volume_request("p", &d.volumes["data"]);
        assert_eq!(volume.labels.unwrap()[label::VOLUME], "data");
    }

    #[test]
    fn inherited_anonymous_volumes_are_mounted_again() {
        let d = desired("name: p\nservices:\n  s:\n    image: x\n    volumes: ['/anon']\n");
        let inherited = [
            VolumeMount {
                name: "a".repeat(64),
                target: "/anon".into(),
                read_only: false,
                anonymous: true,
            },
            VolumeMount {
                name: "b".repeat(64),
                target: "/image-volume".into(),
                read_only: false,
                anonymous: true,
            },
        ];
        let body = container_request(&d, &d.services["s"], &inherited);
        let mounts = body.host_config.unwrap().mounts.unwrap();
        let by_target = |t: &str| {
            mounts
                .iter()
                .find(|m| m.target.as_deref() == Some(t))
                .and_then(|m| m.source.clone())
        };
        assert_eq!(by_target("/anon"), Some("a".repeat(64)));
        assert_eq!(by_target("/image-volume"), Some("b".repeat(64)));
        assert_eq!(mounts.len(), 2);
        let labels = body.labels.unwrap();
        assert_eq!(
            labels[crate::labels::INHERITED_VOLUMES],
            format!("{},{}", "a".repeat(64), "b".repeat(64))
        );
    }
}
