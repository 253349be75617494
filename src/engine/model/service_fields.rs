//! The service fields with structure: mounts, ports, networks, dependencies,
//! healthchecks, env files and extra hosts, each in its short and long syntax.
use indexmap::IndexMap;
use serde_yaml_ng::{Mapping, Value};

use super::parse::{Parsed, error};
use super::syntax::{parse_port, parse_volume_short};
use super::values::{
    boolean, duration, integer, key_values, mapping_or_null, scalar, sequence, size, string,
    strings,
};
use super::{
    Dependency, DependencyCondition, EnvFileRef, Healthcheck, Mount, PortMapping, ServiceNetwork,
};

pub(super) fn env_files(field: &str, value: &Value) -> Parsed<Vec<EnvFileRef>> {
    let items: Vec<Value> = match value {
        Value::Sequence(items) => items.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let field = format!("{field}[{i}]");
            match item.as_mapping() {
                Some(map) => Ok(EnvFileRef {
                    path: string(
                        &format!("{field}.path"),
                        map.get("path")
                            .ok_or_else(|| error(&field, "needs a `path`"))?,
                    )?,
                    required: map
                        .get("required")
                        .map(|v| boolean(&format!("{field}.required"), v))
                        .transpose()?
                        .unwrap_or(true),
                }),
                None => Ok(EnvFileRef {
                    path: string(&field, item)?,
                    required: true,
                }),
            }
        })
        .collect()
}

pub(super) fn extra_hosts(field: &str, value: &Value) -> Parsed<Vec<String>> {
    match value {
        Value::Mapping(_) => Ok(key_values(field, value)?
            .into_iter()
            .map(|(host, ip)| format!("{host}:{}", ip.unwrap_or_default()))
            .collect()),
        // Compose also accepts `host=ip`; the engine wants `host:ip`.
        _ => Ok(strings(field, value)?
            .into_iter()
            .map(|entry| match entry.split_once('=') {
                Some((host, ip)) => format!("{host}:{ip}"),
                None => entry,
            })
            .collect()),
    }
}

pub(super) fn mounts(field: &str, value: &Value) -> Parsed<Vec<Mount>> {
    sequence(field, value)?
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let field = format!("{field}[{i}]");
            match item.as_mapping() {
                Some(map) => long_mount(&field, map),
                None => parse_volume_short(&string(&field, item)?)
                    .map_err(|message| error(&field, message)),
            }
        })
        .collect()
}

pub(super) fn long_mount(field: &str, map: &Mapping) -> Parsed<Mount> {
    let get = |key: &str| map.get(key);
    let text = |key: &str| -> Parsed<Option<String>> {
        get(key)
            .map(|v| string(&format!("{field}.{key}"), v))
            .transpose()
    };
    let target = text("target")?.ok_or_else(|| error(field, "needs a `target`"))?;
    let read_only = get("read_only")
        .map(|v| boolean(&format!("{field}.read_only"), v))
        .transpose()?
        .unwrap_or(false);
    let nested = |outer: &str, inner: &str| map.get(outer).and_then(|o| o.get(inner));
    match text("type")?.as_deref().unwrap_or("volume") {
        "bind" => Ok(Mount::Bind {
            source: text("source")?.ok_or_else(|| error(field, "a bind mount needs a `source`"))?,
            target,
            read_only,
            options: nested("bind", "propagation")
                .map(|v| string(&format!("{field}.bind.propagation"), v))
                .transpose()?
                .into_iter()
                .collect(),
        }),
        "volume" => Ok(Mount::Volume {
            source: text("source")?,
            target,
            read_only,
            nocopy: nested("volume", "nocopy")
                .map(|v| boolean(&format!("{field}.volume.nocopy"), v))
                .transpose()?
                .unwrap_or(false),
        }),
        "tmpfs" => Ok(Mount::Tmpfs {
            target,
            size: nested("tmpfs", "size")
                .map(|v| size(&format!("{field}.tmpfs.size"), v))
                .transpose()?,
        }),
        other => Err(error(
            field,
            format!("mount type `{other}` is not supported (bind, volume, tmpfs)"),
        )),
    }
}

pub(super) fn ports(field: &str, value: &Value) -> Parsed<Vec<PortMapping>> {
    let mut out = Vec::new();
    for (i, item) in sequence(field, value)?.iter().enumerate() {
        let field = format!("{field}[{i}]");
        match item.as_mapping() {
            Some(map) => {
                let target = map
                    .get("target")
                    .ok_or_else(|| error(&field, "needs a `target`"))?;
                let target = u16::try_from(integer(&format!("{field}.target"), target)?)
                    .map_err(|_| error(&field, "the target is not a port number"))?;
                let text = |key: &str| -> Parsed<Option<String>> {
                    map.get(key)
                        .map(|v| string(&format!("{field}.{key}"), v))
                        .transpose()
                };
                out.push(PortMapping {
                    target,
                    published: text("published")?.filter(|p| !p.is_empty()),
                    host_ip: text("host_ip")?,
                    protocol: text("protocol")?.unwrap_or_else(|| "tcp".into()),
                });
            }
            None => out.extend(
                parse_port(&string(&field, item)?).map_err(|message| error(&field, message))?,
            ),
        }
    }
    Ok(out)
}

pub(super) fn service_networks(
    field: &str,
    value: &Value,
) -> Parsed<IndexMap<String, ServiceNetwork>> {
    let mut out = IndexMap::new();
    match value {
        Value::Sequence(_) => {
            for name in strings(field, value)? {
                out.insert(name, ServiceNetwork::default());
            }
        }
        Value::Mapping(map) => {
            for (name, settings) in map {
                let name = scalar(name).ok_or_else(|| error(field, "keys must be strings"))?;
                let inner = format!("{field}.{name}");
                let mut network = ServiceNetwork::default();
                if let Some(settings) = mapping_or_null(&inner, settings)? {
                    for (key, value) in settings {
                        let key = key.as_str().unwrap_or_default();
                        let at = format!("{inner}.{key}");
                        match key {
                            "aliases" => network.aliases = strings(&at, value)?,
                            "ipv4_address" => network.ipv4_address = Some(string(&at, value)?),
                            "ipv6_address" => network.ipv6_address = Some(string(&at, value)?),
                            "priority" => {}
                            other => {
                                return Err(error(&at, format!("unknown field `{other}`")));
                            }
                        }
                    }
                }
                out.insert(name, network);
            }
        }
        Value::Null => {}
        _ => return Err(error(field, "must be a list or a mapping")),
    }
    Ok(out)
}

pub(super) fn depends_on(field: &str, value: &Value) -> Parsed<IndexMap<String, Dependency>> {
    let mut out = IndexMap::new();
    let started = Dependency {
        condition: DependencyCondition::ServiceStarted,
        required: true,
    };
    match value {
        Value::Sequence(_) => {
            for name in strings(field, value)? {
                out.insert(name, started.clone());
            }
        }
        Value::Mapping(map) => {
            for (name, settings) in map {
                let name = scalar(name).ok_or_else(|| error(field, "keys must be strings"))?;
                let at = format!("{field}.{name}");
                let mut dependency = started.clone();
                if let Some(settings) = mapping_or_null(&at, settings)? {
                    if let Some(condition) = settings.get("condition") {
                        dependency.condition = match string(&at, condition)?.as_str() {
                            "service_started" => DependencyCondition::ServiceStarted,
                            "service_healthy" => DependencyCondition::ServiceHealthy,
                            "service_completed_successfully" => {
                                DependencyCondition::ServiceCompletedSuccessfully
                            }
                            other => {
                                return Err(error(
                                    &format!("{at}.condition"),
                                    format!("`{other}` is not a dependency condition"),
                                ));
                            }
                        };
                    }
                    if let Some(required) = settings.get("required") {
                        dependency.required = boolean(&format!("{at}.required"), required)?;
                    }
                }
                out.insert(name, dependency);
            }
        }
        Value::Null => {}
        _ => return Err(error(field, "must be a list or a mapping")),
    }
    Ok(out)
}

pub(super) fn healthcheck(field: &str, value: &Value) -> Parsed<Healthcheck> {
    let mut check = Healthcheck::default();
    let Some(map) = mapping_or_null(field, value)? else {
        return Ok(check);
    };
    for (key, value) in map {
        let key = key.as_str().unwrap_or_default();
        let at = format!("{field}.{key}");
        match key {
            "test" => {
                check.test = Some(match value {
                    Value::Sequence(_) => strings(&at, value)?,
                    other => vec!["CMD-SHELL".to_string(), string(&at, other)?],
                })
            }
            "disable" if boolean(&at, value)? => check.test = Some(vec!["NONE".into()]),
            "disable" => {}
            "interval" => check.interval = Some(duration(&at, value)?),
            "timeout" => check.timeout = Some(duration(&at, value)?),
            "start_period" => check.start_period = Some(duration(&at, value)?),
            "start_interval" => {}
            "retries" => check.retries = Some(integer(&at, value)?),
            other => return Err(error(&at, format!("unknown field `{other}`"))),
        }
    }
    Ok(check)
}
