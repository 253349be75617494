//! Loads a compose file into the desired state of a deployment: the project
//! name, the services with their resolved config and config hash, and the
//! networks and volumes they use. Interpolation, `.env`, `env_file:` and
//! relative paths are all resolved here, so nothing after this step reads
//! files or the environment.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_yaml_ng::Value;

use crate::error::{Error, Result};
use crate::hash::canonical_hash;
use crate::labels;

use super::env_file;
use super::interpolate::{Problems, interpolate};
use super::model::{self, Mount, Network, Service, Volume};
use super::naming;
use crate::compose::locate::locate_key;

/// The compose profile that marks mcpm's on-demand servers.
pub const ON_DEMAND: &str = "on-demand";

/// What the compose file asks the engine to run.
#[derive(Debug, Clone)]
pub struct Desired {
    pub project: String,
    /// Absolute path of the compose file.
    pub file: PathBuf,
    /// Its directory: relative paths start here.
    pub dir: PathBuf,
    /// By service name, sorted.
    pub services: IndexMap<String, DesiredService>,
    /// By key in the file; includes `default` when a service uses it.
    pub networks: IndexMap<String, DesiredNetwork>,
    pub volumes: IndexMap<String, DesiredVolume>,
    /// Things the user should know (unset variables), printed by the command.
    pub warnings: Vec<String>,
}

/// How deploy treats a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// Created and started.
    Start,
    /// mcpm's `on-demand`: created, started only when named.
    CreateOnly,
    /// In another compose profile that is not enabled (`COMPOSE_PROFILES`):
    /// left out unless named, as compose does.
    Inactive,
}

/// One service, ready to plan.
#[derive(Debug, Clone)]
pub struct DesiredService {
    pub name: String,
    pub config: Service,
    /// `com.docker.compose.config-hash` of a container built from `config`.
    pub hash: String,
    pub container_name: String,
    pub activation: Activation,
}

impl DesiredService {
    /// The services this one needs first: its `depends_on`, and the service
    /// whose network it shares (`network_mode: service:NAME`).
    pub fn dependencies(&self) -> impl Iterator<Item = &str> {
        let shared = self
            .config
            .network_mode
            .as_deref()
            .and_then(|mode| mode.strip_prefix("service:"));
        self.config
            .depends_on
            .keys()
            .map(String::as_str)
            .chain(shared)
    }
}

/// A network the project uses.
#[derive(Debug, Clone)]
pub struct DesiredNetwork {
    pub key: String,
    /// The engine's name.
    pub name: String,
    pub config: Network,
    /// [`network_hash`] of `config`, written on the network it creates.
    pub hash: String,
}

/// A named volume the project uses.
#[derive(Debug, Clone)]
pub struct DesiredVolume {
    pub key: String,
    pub name: String,
    pub config: Volume,
}

/// How the project name is chosen when the file has no `name:`.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `-p NAME`: wins over everything.
    pub project: Option<String>,
    /// The profile's project, used when the file has no `name:`.
    pub fallback_project: Option<String>,
}

/// Reads and resolves the compose file at `path`.
pub fn load(path: &Path, options: &LoadOptions) -> Result<Desired> {
    let bytes = crate::memory::read_input(path).map_err(|err| {
        Error::io("read", path, err).hint(
            "pass the compose file with -f FILE, or a profile with --profile (run `mcpm docker generate PROFILE -o FILE` to write one)",
        )
    })?;
    let text = crate::source::decode(path, bytes)?;
    let file = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    load_text(&file, &text, options, &|name| std::env::var(name).ok())
}

/// [`load`] on text already read; `process_env` stands for the environment.
pub fn load_text(
    file: &Path,
    text: &str,
    options: &LoadOptions,
    process_env: &dyn Fn(&str) -> Option<String>,
) -> Result<Desired> {
    let document = crate::compose::parse_yaml(file, text)?;
    load_document(file, text, document, options, process_env)
}

/// [`load_text`] on a document already parsed from `text` (`status` parses
/// the file once for all its columns); `text` still locates the errors.
pub fn load_document(
    file: &Path,
    text: &str,
    mut document: Value,
    options: &LoadOptions,
    process_env: &dyn Fn(&str) -> Option<String>,
) -> Result<Desired> {
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let dotenv = read_dotenv(&dir, process_env)?;
    // The process environment wins over `.env`, as with compose.
    let lookup = |name: &str| process_env(name).or_else(|| dotenv.get(name).cloned());
    let mut warnings = Vec::new();
    interpolate_document(file, &mut document, &lookup, &mut warnings)?;

    let top = document.as_mapping().ok_or_else(|| {
        Error::invalid(format!(
            "{} is not a compose file: it is not a mapping",
            file.display()
        ))
    })?;
    let at = |path: &[&str]| locate_key(file, text, path);
    for key in top.keys().filter_map(Value::as_str) {
        if !matches!(
            key,
            "name" | "services" | "networks" | "volumes" | "version"
        ) && !key.starts_with("x-")
        {
            return Err(Error::invalid(format!(
                "top-level `{key}` is not supported by mcpm deploy"
            ))
            .at(at(&[key]))
            .hint("mcpm deploys services, networks and volumes; fields starting with `x-` are ignored"));
        }
    }
    let from_file = top.get("name").and_then(Value::as_str).map(str::to_string);
    let project = project_name(from_file, options, &lookup, &dir)?;

    let mut networks = IndexMap::new();
    for (key, value) in entries(top.get("networks")) {
        let config = model::parse_network(value)
            .map_err(|err| parse_error(err, &["networks", &key], &at, "network", &key))?;
        let name = naming::resource_name(&project, &key, config.name.as_deref());
        let hash = network_hash(&config);
        networks.insert(
            key.clone(),
            DesiredNetwork {
                key,
                name,
                hash,
                config,
            },
        );
    }
    let mut volumes = IndexMap::new();
    for (key, value) in entries(top.get("volumes")) {
        let config = model::parse_volume(value)
            .map_err(|err| parse_error(err, &["volumes", &key], &at, "volume", &key))?;
        let name = naming::resource_name(&project, &key, config.name.as_deref());
        volumes.insert(key.clone(), DesiredVolume { key, name, config });
    }

    let enabled_profiles: BTreeSet<String> = lookup("COMPOSE_PROFILES")
        .unwrap_or_default()
        .split(',')
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    let mut services = IndexMap::new();
    let mut entries_sorted = entries(top.get("services"));
    entries_sorted.sort_by(|a, b| a.0.cmp(&b.0));
    if entries_sorted.is_empty() {
        return Err(
            Error::invalid(format!("{} defines no services", file.display())).at(at(&["services"])),
        );
    }
    for (name, value) in entries_sorted {
        if !is_service_name(&name) {
            return Err(
                Error::invalid(format!("`{name}` is not a valid service name"))
                    .at(at(&["services", &name]))
                    .hint("service names hold letters, digits, `.`, `_` and `-`"),
            );
        }
        let mut config = model::parse_service(value)
            .map_err(|err| parse_error(err, &["services", &name], &at, "service", &name))?;
        resolve_service(&mut config, &dir, &lookup)
            .map_err(|err| err.at(at(&["services", &name])))?;
        if config.network_mode.is_none() && config.networks.is_empty() {
            config
                .networks
                .insert("default".into(), model::ServiceNetwork::default());
        }
        let activation = activation(&config.profiles, &enabled_profiles);
        let hash = config_hash(&config);
        let container_name = config
            .container_name
            .clone()
            .unwrap_or_else(|| naming::container_name(&project, &name));
        services.insert(
            name.clone(),
            DesiredService {
                name,
                config,
                hash,
                container_name,
                activation,
            },
        );
    }
    let uses_default = services
        .values()
        .any(|s| s.config.networks.contains_key("default"));
    if uses_default && !networks.contains_key("default") {
        networks.insert(
            "default".into(),
            DesiredNetwork {
                key: "default".into(),
                name: naming::resource_name(&project, "default", None),
                hash: network_hash(&Network::default()),
                config: Network::default(),
            },
        );
    }
    check_references(&services, &networks, &volumes, &at)?;
    Ok(Desired {
        project,
        file: file.to_path_buf(),
        dir,
        services,
        networks,
        volumes,
        warnings,
    })
}

/// The variables of the `.env` beside the compose file (none if it is absent).
fn read_dotenv(
    dir: &Path,
    process_env: &dyn Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>> {
    let path = dir.join(".env");
    if !path.is_file() {
        return Ok(BTreeMap::new());
    }
    Ok(env_file::read(&path, process_env)?
        .into_iter()
        .filter_map(|a| a.value.map(|v| (a.name, v)))
        .collect())
}

/// Interpolates every string value (not keys, not `x-` extensions), then
/// reports all missing required variables in one error.
fn interpolate_document(
    file: &Path,
    document: &mut Value,
    lookup: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let mut problems = Problems::default();
    walk(document, "", lookup, &mut problems);
    if !problems.missing_required.is_empty() {
        let list: Vec<String> = problems
            .missing_required
            .iter()
            .map(|m| {
                let why = if m.message.is_empty() {
                    String::new()
                } else {
                    format!(": {}", m.message)
                };
                format!("  {} (at {}){why}", m.name, m.place)
            })
            .collect();
        let mut names: Vec<&str> = problems
            .missing_required
            .iter()
            .map(|m| m.name.as_str())
            .collect();
        names.dedup();
        return Err(Error::invalid(format!(
            "{} needs variables that are not set:\n{}",
            file.display(),
            list.join("\n")
        ))
        .hint(format!(
            "export them, or add them to {} (e.g. `{}=...`); nothing was deployed",
            file.with_file_name(".env").display(),
            names[0]
        )));
    }
    if let Some((message, place)) = problems.syntax.first() {
        return Err(
            Error::invalid(format!("{message} (at {place})")).hint("write `$$` for a literal `$`")
        );
    }
    if !problems.unset.is_empty() {
        warnings.push(format!(
            "variables not set, using empty strings: {}",
            problems.unset.join(", ")
        ));
    }
    Ok(())
}

fn walk(
    value: &mut Value,
    place: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    problems: &mut Problems,
) {
    match value {
        Value::String(text) if text.contains('$') => {
            *text = interpolate(text, lookup, place, problems);
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                walk(item, &format!("{place}[{i}]"), lookup, problems);
            }
        }
        Value::Mapping(map) => {
            for (key, item) in map.iter_mut() {
                let key = key.as_str().unwrap_or_default();
                if key.starts_with("x-") {
                    continue;
                }
                let place = if place.is_empty() {
                    key.to_string()
                } else {
                    format!("{place}.{key}")
                };
                walk(item, &place, lookup, problems);
            }
        }
        Value::Tagged(tagged) => walk(&mut tagged.value, place, lookup, problems),
        _ => {}
    }
}

/// `-p`, else `COMPOSE_PROJECT_NAME`, else `name:`, else the profile's
/// project, else the directory's name, as compose picks it.
pub(super) fn project_name(
    from_file: Option<String>,
    options: &LoadOptions,
    lookup: &dyn Fn(&str) -> Option<String>,
    dir: &Path,
) -> Result<String> {
    let chosen = options
        .project
        .clone()
        .or_else(|| lookup("COMPOSE_PROJECT_NAME").filter(|n| !n.is_empty()))
        .or(from_file)
        .or_else(|| options.fallback_project.clone());
    let name = match chosen {
        Some(name) => name,
        None => naming::normalize_project(
            &dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ),
    };
    if !naming::is_project_name(&name) {
        return Err(Error::invalid(format!("`{name}` is not a valid project name"))
            .hint("project names are lowercase letters, digits, `-` and `_`, starting with a letter or digit"));
    }
    Ok(name)
}

/// The (key, value) pairs of a top-level section.
fn entries(section: Option<&Value>) -> Vec<(String, &Value)> {
    section
        .and_then(Value::as_mapping)
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| k.as_str().map(|k| (k.to_string(), v)))
                .collect()
        })
        .unwrap_or_default()
}

fn is_service_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn parse_error(
    err: model::ParseError,
    base: &[&str],
    at: &dyn Fn(&[&str]) -> Option<crate::error::Location>,
    kind: &str,
    name: &str,
) -> Error {
    let mut path: Vec<&str> = base.to_vec();
    // `ports[1].target` → locate `ports`.
    let first = err.field.split(['.', '[']).next().unwrap_or_default();
    if !first.is_empty() {
        path.push(first);
    }
    let field = if err.field.is_empty() {
        String::new()
    } else {
        format!(", `{}`", err.field)
    };
    let mut error =
        Error::invalid(format!("{kind} `{name}`{field}: {}", err.message)).at(at(&path));
    if let Some(hint) = err.hint {
        error = error.hint(hint);
    }
    error
}

/// Compose profiles: `on-demand` services are created, not started; other
/// profiles are inactive unless enabled in `COMPOSE_PROFILES`.
fn activation(profiles: &[String], enabled: &BTreeSet<String>) -> Activation {
    if profiles.is_empty() || profiles.iter().any(|p| enabled.contains(p) || p == "*") {
        Activation::Start
    } else if profiles.iter().any(|p| p == ON_DEMAND) {
        Activation::CreateOnly
    } else {
        Activation::Inactive
    }
}

/// Resolves what depends on files and the environment: bind paths, `env_file:`,
/// `- NAME` environment entries.
fn resolve_service(
    config: &mut Service,
    dir: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<()> {
    for mount in &mut config.volumes {
        if let Mount::Bind { source, .. } = mount {
            *source = absolute_host_path(source, dir, lookup)
                .to_string_lossy()
                .into_owned();
        }
    }
    let mut environment: BTreeMap<String, Option<String>> = BTreeMap::new();
    for env_file in &mut config.env_file {
        let path = absolute_host_path(&env_file.path, dir, lookup);
        env_file.path = path.to_string_lossy().into_owned();
        if !path.is_file() && !env_file.required {
            continue;
        }
        for assignment in env_file::read(&path, lookup)? {
            let value = assignment.value.or_else(|| lookup(&assignment.name));
            environment.insert(assignment.name, value);
        }
    }
    for (name, value) in std::mem::take(&mut config.environment) {
        let value = value.or_else(|| lookup(&name));
        environment.insert(name, value);
    }
    config.environment = environment;
    Ok(())
}

/// `./x` and `x` relative to `dir`, `~/x` under `$HOME`.
fn absolute_host_path(
    source: &str,
    dir: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> PathBuf {
    if let Some(rest) = source.strip_prefix("~/").or((source == "~").then_some(""))
        && let Some(home) = lookup("HOME")
    {
        return PathBuf::from(home).join(rest);
    }
    let joined = dir.join(source);
    // Lexically drop `.` components so `./a` and `a` give the same label and hash.
    joined.components().collect()
}

/// The config hash: the canonical hash of the resolved service, leaving out
/// what does not change the container (`profiles`, mcpm's hash labels, the
/// env file paths whose contents are already in `environment`).
pub fn config_hash(config: &Service) -> String {
    let mut normalized = config.clone();
    normalized.profiles.clear();
    normalized.env_file.clear();
    for label in labels::HASH_LABELS {
        normalized.labels.remove(*label);
    }
    let value = serde_json::to_value(&normalized).unwrap_or(serde_json::Value::Null);
    canonical_hash(&value)
}

/// The config hash of a network: the canonical hash of its whole entry, as
/// compose's `NetworkHash` hashes the whole network config.
pub fn network_hash(config: &Network) -> String {
    let value = serde_json::to_value(config).unwrap_or(serde_json::Value::Null);
    canonical_hash(&value)
}

/// Every network, volume and dependency a service names must exist.
fn check_references(
    services: &IndexMap<String, DesiredService>,
    networks: &IndexMap<String, DesiredNetwork>,
    volumes: &IndexMap<String, DesiredVolume>,
    at: &dyn Fn(&[&str]) -> Option<crate::error::Location>,
) -> Result<()> {
    for (name, service) in services {
        for network in service.config.networks.keys() {
            if !networks.contains_key(network) {
                return Err(Error::invalid(format!(
                    "service `{name}` uses network `{network}`, which is not defined"
                ))
                .at(at(&["services", name, "networks"]))
                .hint(format!("add `{network}:` under the top-level `networks:`")));
            }
        }
        for mount in &service.config.volumes {
            if let Mount::Volume {
                source: Some(volume),
                ..
            } = mount
                && !volumes.contains_key(volume)
            {
                return Err(Error::invalid(format!(
                    "service `{name}` mounts volume `{volume}`, which is not defined"
                ))
                .at(at(&["services", name, "volumes"]))
                .hint(format!(
                    "add `{volume}:` under the top-level `volumes:`, or write `./{volume}` for a host directory"
                )));
            }
        }
        if let Some(shared) = service
            .config
            .network_mode
            .as_deref()
            .and_then(|mode| mode.strip_prefix("service:"))
            && !services.contains_key(shared)
        {
            return Err(Error::invalid(format!(
                "service `{name}` shares the network of `{shared}`, which is not defined"
            ))
            .at(at(&["services", name, "network_mode"])));
        }
        for (dependency, settings) in &service.config.depends_on {
            if settings.required && !services.contains_key(dependency) {
                return Err(Error::invalid(format!(
                    "service `{name}` depends on `{dependency}`, which is not defined"
                ))
                .at(at(&["services", name, "depends_on"])));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "desired_tests.rs"]
mod tests;
