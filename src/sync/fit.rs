//! Compose → profile: finds the profile entry whose rendering is a given
//! compose service. Edits go where a person would put them (changed `env`
//! values into `env`), everything else into `[servers.X.docker]`, and fields the
//! service dropped into `unset`. Every candidate is re-rendered and compared,
//! so the result is exact or an error, never a guess.
use std::collections::BTreeMap;

use serde_yaml_ng::{Mapping, Value};

use crate::catalog::Catalog;
use crate::catalog::invocation::Invocation;
use crate::compose::render_server;
use crate::compose::secrets::SecretRegistry;
use crate::hash;
use crate::labels;
use crate::profile::{EnvValue, ServerSpec, Sharing, parse_idle_timeout};

/// What fitting needs besides the server.
pub struct FitContext<'a> {
    pub profile: &'a str,
    pub catalog: &'a Catalog,
}

/// How many rounds of render-compare-adjust before giving up; each round fixes
/// every differing field, and a change of image can ripple once into the command.
const ROUNDS: usize = 6;

/// Returns `start` adjusted so that it renders to `target` (ignoring mcpm's own
/// labels, and counting a literal secret in `target` as equal to the `${VAR}`
/// mcpm writes for it).
pub fn fit(
    context: &FitContext<'_>,
    name: &str,
    start: &ServerSpec,
    target: &Mapping,
) -> Result<ServerSpec, String> {
    let mut candidate = start.clone();
    if candidate.enabled == Some(false) {
        candidate.enabled = None;
    }
    gateway_fields_from_labels(&mut candidate, target)?;
    for round in 0..ROUNDS {
        let (rendered, secrets) = render(context, name, &candidate)?;
        let differing = differing_fields(&rendered, &secrets, target);
        if differing.is_empty() {
            return Ok(candidate);
        }
        for field in differing {
            let wanted = target.get(field.as_str());
            let had = rendered.get(field.as_str());
            let handled = round == 0 && adjust_in_place(&mut candidate, &field, had, wanted);
            if !handled {
                adjust_with_docker_table(&mut candidate, &field, had, wanted)?;
            }
        }
    }
    Err(format!(
        "no profile entry for `{name}` renders to its compose service"
    ))
}

/// Sets `sharing` and `idle_timeout` from the service's labels: they live
/// only there (no compose field says them), and the comparison below leaves
/// mcpm's labels out. A label that is absent means the default, so an entry
/// that spelled the default out keeps its spelling.
fn gateway_fields_from_labels(candidate: &mut ServerSpec, target: &Mapping) -> Result<(), String> {
    let label = |key: &str| {
        target
            .get("labels")
            .and_then(Value::as_mapping)
            .and_then(|labels| labels.get(key))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    candidate.sharing = match label(labels::SHARING) {
        Some(text) => Some(Sharing::parse(&text).ok_or_else(|| {
            format!(
                "label {} is `{text}`, not `shared` or `session`",
                labels::SHARING
            )
        })?),
        None if candidate.sharing == Some(Sharing::default()) => candidate.sharing,
        None => None,
    };
    candidate.idle_timeout = match label(labels::IDLE_TIMEOUT) {
        Some(text) => {
            parse_idle_timeout(&text)
                .map_err(|problem| format!("label {}: {problem}", labels::IDLE_TIMEOUT))?;
            Some(text)
        }
        None if candidate.idle_timeout() == Some(crate::gateway::DEFAULT_IDLE_TIMEOUT) => {
            candidate.idle_timeout.take()
        }
        None => None,
    };
    Ok(())
}

/// Why an owned service, as edited in the compose file, cannot be written
/// into the profile: a person's mistake in the file, reported with the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unwritable {
    /// The field at fault, or `None` when one is missing.
    pub field: Option<String>,
    pub message: String,
    pub hint: String,
}

/// Checks an owned service before fitting it: it keeps an `image`, and every
/// key is a compose service field (a profile can hold nothing else).
pub fn check_owned(name: &str, target: &Mapping) -> Result<(), Unwritable> {
    match target.get("image") {
        Some(Value::String(image)) if !image.trim().is_empty() => {}
        Some(_) => {
            return Err(Unwritable {
                field: Some("image".into()),
                message: format!("service `{name}` has an `image` that is not a name"),
                hint: "write the image as text, e.g. `image: mcp/fetch`".into(),
            });
        }
        None => {
            return Err(Unwritable {
                field: None,
                message: format!(
                    "service `{name}` has no `image`; mcpm needs one for a server it owns"
                ),
                hint: format!(
                    "put the `image:` line back, or delete the whole service `{name}` to remove the server"
                ),
            });
        }
    }
    let mut probe = ServerSpec::default();
    if let Err(message) = gateway_fields_from_labels(&mut probe, target) {
        return Err(Unwritable {
            field: Some("labels".into()),
            message: format!("service `{name}`: {message}"),
            hint: format!(
                "write `{}: session` (or remove it for shared) and `{}` as a duration such as 10m",
                labels::SHARING,
                labels::IDLE_TIMEOUT
            ),
        });
    }
    for key in target.keys() {
        let shown;
        let key = match key.as_str() {
            Some(key) => key,
            None => {
                shown = serde_yaml_ng::to_string(key).unwrap_or_default();
                shown.trim()
            }
        };
        if !crate::compose::fields::is_service_field(key) {
            let hint = match crate::compose::fields::closest_field(key) {
                _ if key == "restart_policy" => {
                    "use `restart: always` here, or put `restart_policy` under `deploy:`".into()
                }
                Some(close) => format!("did you mean `{close}`?"),
                None => "remove the key, or name it `x-…` for an extension".into(),
            };
            return Err(Unwritable {
                field: Some(key.to_string()),
                message: format!("`{key}` is not a compose service field (service `{name}`)"),
                hint,
            });
        }
    }
    Ok(())
}

/// A first profile entry for a service mcpm has never seen: a `docker run` of
/// its image, which `fit` then adjusts.
pub fn skeleton(target: &Mapping) -> Result<ServerSpec, String> {
    let image = target.get("image").and_then(Value::as_str).ok_or(
        "it has no `image` (a `build:`-only service cannot be described by a profile entry)",
    )?;
    Ok(ServerSpec {
        command: Some("docker".into()),
        args: ["run", "-i", "--rm", image]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ..Default::default()
    })
}

fn render(
    context: &FitContext<'_>,
    name: &str,
    server: &ServerSpec,
) -> Result<(Mapping, BTreeMap<String, String>), String> {
    let mut secrets = SecretRegistry::default();
    let rendered = render_server(context.profile, name, server, context.catalog, &mut secrets)?
        .ok_or_else(|| format!("`{name}` would not run a container"))?;
    let secrets = secrets
        .into_vars()
        .into_iter()
        .map(|s| (s.name, s.value))
        .collect();
    Ok((rendered, secrets))
}

/// Fields of `target` that `rendered` does not reproduce.
fn differing_fields(
    rendered: &Mapping,
    secrets: &BTreeMap<String, String>,
    target: &Mapping,
) -> Vec<String> {
    let plain = hash::field_hashes(&without_mcpm_labels(rendered));
    let revealed = hash::field_hashes(&without_mcpm_labels(&reveal(rendered, secrets)));
    let wanted = hash::field_hashes(&without_mcpm_labels(target));
    let mut fields: Vec<String> = plain.keys().chain(wanted.keys()).cloned().collect();
    fields.sort();
    fields.dedup();
    fields.retain(|field| {
        let target_hash = wanted.get(field);
        target_hash != plain.get(field) && target_hash != revealed.get(field)
    });
    fields
}

/// The service with `${VAR}` replaced by the secret values mcpm moved out.
fn reveal(service: &Mapping, secrets: &BTreeMap<String, String>) -> Mapping {
    if secrets.is_empty() {
        return service.clone();
    }
    fn walk(value: &Value, secrets: &BTreeMap<String, String>) -> Value {
        match value {
            Value::String(text) => {
                let mut out = text.clone();
                for (name, secret) in secrets {
                    out = out.replace(&format!("${{{name}}}"), secret);
                }
                Value::String(out)
            }
            Value::Sequence(items) => {
                Value::Sequence(items.iter().map(|item| walk(item, secrets)).collect())
            }
            Value::Mapping(map) => Value::Mapping(
                map.iter()
                    .map(|(k, v)| (k.clone(), walk(v, secrets)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    service
        .iter()
        .map(|(k, v)| (k.clone(), walk(v, secrets)))
        .collect()
}

/// The service without `io.mcpm.*` labels: mcpm writes those itself.
fn without_mcpm_labels(service: &Mapping) -> Mapping {
    let mut service = service.clone();
    if let Some(Value::Mapping(labels)) = service.get_mut("labels") {
        labels.retain(|key, _| !key.as_str().is_some_and(is_mcpm_label));
        if labels.is_empty() {
            service.remove("labels");
        }
    }
    service
}

fn is_mcpm_label(key: &str) -> bool {
    key.starts_with("io.mcpm.") || labels::HASH_LABELS.contains(&key)
}

/// The edits a person would make: environment values into `env`, and a new
/// command line into the server's own `args`.
fn adjust_in_place(
    candidate: &mut ServerSpec,
    field: &str,
    had: Option<&Value>,
    wanted: Option<&Value>,
) -> bool {
    match field {
        "environment" => adjust_environment(candidate, had, wanted),
        "command" => adjust_arguments(candidate, had, wanted),
        _ => false,
    }
}

/// The container command is the server's trailing arguments behind a fixed
/// prefix (the catalog's command, `npx -y PKG`, …): when the wanted command
/// keeps that prefix, only the trailing arguments change.
fn adjust_arguments(
    candidate: &mut ServerSpec,
    had: Option<&Value>,
    wanted: Option<&Value>,
) -> bool {
    let strings = |value: Option<&Value>| -> Option<Vec<String>> {
        match value {
            None => Some(Vec::new()),
            Some(Value::Sequence(items)) => items
                .iter()
                .map(|item| item.as_str().map(str::to_string))
                .collect(),
            Some(_) => None,
        }
    };
    let (Some(had), Some(wanted)) = (strings(had), strings(wanted)) else {
        return false;
    };
    let Some(command) = &candidate.command else {
        return false;
    };
    if candidate
        .docker
        .as_ref()
        .is_some_and(|docker| docker.contains_key("command"))
    {
        return false;
    }
    let tail_len = match crate::catalog::invocation::parse(command, &candidate.args) {
        Invocation::Npm(run) | Invocation::Pypi(run) => run.tail.len(),
        Invocation::DockerRun(run) => run.command.len(),
        Invocation::PythonModule { tail, .. } | Invocation::Binary { tail, .. } => tail.len(),
        _ => return false,
    };
    let Some(prefix_len) = had.len().checked_sub(tail_len) else {
        return false;
    };
    if wanted.len() < prefix_len || wanted[..prefix_len] != had[..prefix_len] {
        return false;
    }
    let keep = candidate.args.len() - tail_len;
    candidate.args.truncate(keep);
    candidate.args.extend(wanted[prefix_len..].iter().cloned());
    true
}

fn adjust_environment(
    candidate: &mut ServerSpec,
    had: Option<&Value>,
    wanted: Option<&Value>,
) -> bool {
    let had = environment(had);
    let Some(wanted) = wanted.map(|w| environment(Some(w))) else {
        return false;
    };
    for (key, value) in &wanted {
        if had.get(key) != Some(value) {
            match value {
                Some(text) => {
                    candidate
                        .env
                        .insert(key.clone(), EnvValue::Text(text.clone()));
                }
                None => return false,
            }
        }
    }
    for key in had.keys() {
        if !wanted.contains_key(key) {
            candidate.env.shift_remove(key);
        }
    }
    true
}

/// Everything else: the field's value into `[servers.X.docker]`, or its name
/// into `unset` when the service does not have it.
fn adjust_with_docker_table(
    candidate: &mut ServerSpec,
    field: &str,
    had: Option<&Value>,
    wanted: Option<&Value>,
) -> Result<(), String> {
    if field == "labels" {
        return adjust_labels(candidate, had, wanted);
    }
    let docker = candidate.docker.get_or_insert_with(toml::Table::new);
    match wanted {
        Some(value) => {
            docker.insert(
                field.to_string(),
                to_toml(value).map_err(|why| format!("`{field}`: {why}"))?,
            );
            // The docker table merges mappings key by key; to drop keys the
            // generated field had, the field is unset first and then replaced.
            if matches!(had, Some(Value::Mapping(_))) && !candidate.unset.iter().any(|f| f == field)
            {
                candidate.unset.push(field.to_string());
            }
        }
        None => {
            docker.remove(field);
            if !candidate.unset.iter().any(|f| f == field) {
                candidate.unset.push(field.to_string());
            }
        }
    }
    if candidate.docker.as_ref().is_some_and(toml::Table::is_empty) {
        candidate.docker = None;
    }
    Ok(())
}

/// User labels (not mcpm's) into `[servers.X.docker] labels`.
fn adjust_labels(
    candidate: &mut ServerSpec,
    had: Option<&Value>,
    wanted: Option<&Value>,
) -> Result<(), String> {
    let user = |value: Option<&Value>| -> BTreeMap<String, Value> {
        value
            .and_then(Value::as_mapping)
            .map(|map| {
                map.iter()
                    .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.clone())))
                    .filter(|(k, _)| !is_mcpm_label(k))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (had, wanted) = (user(had), user(wanted));
    let docker = candidate.docker.get_or_insert_with(toml::Table::new);
    let table = docker
        .entry("labels")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let toml::Value::Table(table) = table else {
        return Err("`labels` in the docker table is not a table".into());
    };
    for (key, value) in &wanted {
        if had.get(key) != Some(value) {
            table.insert(
                key.clone(),
                to_toml(value).map_err(|why| format!("label `{key}`: {why}"))?,
            );
        }
    }
    for key in had.keys() {
        if !wanted.contains_key(key) && table.remove(key).is_none() {
            return Err(format!(
                "label `{key}` comes from the server's command and cannot be removed in the profile"
            ));
        }
    }
    if table.is_empty() {
        docker.remove("labels");
    }
    if docker.is_empty() {
        candidate.docker = None;
    }
    Ok(())
}

/// An `environment` value as a map; list form (`K=V`) included. `None` values
/// are variables passed through without a value.
fn environment(value: Option<&Value>) -> BTreeMap<String, Option<String>> {
    let scalar = |value: &Value| match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match value {
        Some(Value::Mapping(map)) => map
            .iter()
            .filter_map(|(k, v)| Some((k.as_str()?.to_string(), scalar(v))))
            .collect(),
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|item| match item.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (item.to_string(), None),
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// YAML to TOML; TOML has no null, so a null anywhere is an error.
pub fn to_toml(value: &Value) -> Result<toml::Value, String> {
    Ok(match value {
        Value::Null => return Err("a null value cannot be written in a TOML profile".into()),
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::Float(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => toml::Value::String(s.clone()),
        Value::Sequence(items) => {
            toml::Value::Array(items.iter().map(to_toml).collect::<Result<_, _>>()?)
        }
        Value::Mapping(map) => {
            let mut table = toml::Table::new();
            for (key, value) in map {
                let key = match key {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => return Err("a mapping key must be text".into()),
                };
                table.insert(key, to_toml(value)?);
            }
            toml::Value::Table(table)
        }
        Value::Tagged(tagged) => to_toml(&tagged.value)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(catalog: &Catalog) -> FitContext<'_> {
        FitContext {
            profile: "dev",
            catalog,
        }
    }

    fn rendered(catalog: &Catalog, server: &ServerSpec) -> Mapping {
        render(&context(catalog), "s", server).unwrap().0
    }

    fn server(command: &str, args: &[&str]) -> ServerSpec {
        ServerSpec {
            command: Some(command.into()),
            args: args.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    fn assert_fits(catalog: &Catalog, start: &ServerSpec, target: &Mapping) -> ServerSpec {
        let fitted = fit(&context(catalog), "s", start, target).expect("fits");
        let again = rendered(catalog, &fitted);
        assert_eq!(
            without_mcpm_labels(&again),
            without_mcpm_labels(target),
            "fitted entry renders to the target"
        );
        fitted
    }

    #[test]
    fn environment_edits_land_in_env() {
        let catalog = Catalog::load(None).unwrap();
        let start = server("uvx", &["mcp-server-fetch"]);
        let mut target = rendered(&catalog, &start);
        let mut env = Mapping::new();
        env.insert("LOG_LEVEL".into(), "debug".into());
        target.insert("environment".into(), Value::Mapping(env));
        let fitted = assert_fits(&catalog, &start, &target);
        assert_eq!(
            fitted.env.get("LOG_LEVEL"),
            Some(&EnvValue::Text("debug".into()))
        );
        assert!(fitted.docker.is_none() && fitted.unset.is_empty());
    }

    #[test]
    fn other_edits_land_in_the_docker_table_and_unset() {
        let catalog = Catalog::load(None).unwrap();
        let start = server("uvx", &["mcp-server-fetch"]);
        let mut target = rendered(&catalog, &start);
        target.insert("mem_limit".into(), "1g".into());
        target.remove("read_only");
        target.insert("image".into(), "mcp/fetch:pinned".into());
        let fitted = assert_fits(&catalog, &start, &target);
        let docker = fitted.docker.clone().unwrap();
        assert_eq!(docker["mem_limit"].as_str(), Some("1g"));
        assert_eq!(docker["image"].as_str(), Some("mcp/fetch:pinned"));
        assert!(fitted.unset.contains(&"read_only".to_string()));
    }

    #[test]
    fn command_edits_land_in_args() {
        let catalog = Catalog::load(None).unwrap();
        let start = server("uvx", &["mcp-server-time", "--local-timezone=UTC"]);
        let mut target = rendered(&catalog, &start);
        target.insert(
            "command".into(),
            serde_yaml_ng::from_str("[\"--local-timezone=Asia/Tokyo\"]").unwrap(),
        );
        let fitted = assert_fits(&catalog, &start, &target);
        assert_eq!(
            fitted.args,
            vec![
                "mcp-server-time".to_string(),
                "--local-timezone=Asia/Tokyo".to_string()
            ]
        );
        assert!(fitted.docker.is_none());
        target.remove("command");
        let fitted = assert_fits(&catalog, &start, &target);
        assert_eq!(fitted.args, vec!["mcp-server-time".to_string()]);
    }

    #[test]
    fn user_labels_and_literal_secrets() {
        let catalog = Catalog::load(None).unwrap();
        let start = server("uvx", &["mcp-server-fetch"]);
        let mut target = rendered(&catalog, &start);
        if let Some(Value::Mapping(labels)) = target.get_mut("labels") {
            labels.insert("team".into(), "platform".into());
        }
        let mut env = Mapping::new();
        env.insert("API_TOKEN".into(), "literal-token".into());
        target.insert("environment".into(), Value::Mapping(env));
        let fitted = fit(&context(&catalog), "s", &start, &target).expect("fits");
        assert_eq!(
            fitted.env.get("API_TOKEN"),
            Some(&EnvValue::Text("literal-token".into()))
        );
        assert_eq!(
            fitted.docker.unwrap()["labels"]["team"].as_str(),
            Some("platform")
        );
    }

    #[test]
    fn a_foreign_service_becomes_an_exact_entry() {
        let catalog = Catalog::load(None).unwrap();
        let target: Mapping = serde_yaml_ng::from_str(
            "image: redis:7\ncommand: [redis-server, --appendonly, 'yes']\nports: ['6379:6379']\nenvironment: {A: b}\nvolumes: [data:/data]\n",
        )
        .unwrap();
        let fitted = assert_fits(&catalog, &skeleton(&target).unwrap(), &target);
        assert_eq!(fitted.command.as_deref(), Some("docker"));
        assert!(fitted.unset.contains(&"cap_drop".to_string()));
        let no_image: Mapping = serde_yaml_ng::from_str("build: .\n").unwrap();
        assert!(skeleton(&no_image).is_err());
    }
}
