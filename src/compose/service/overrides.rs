//! The profile's `[servers.X.docker]` table, merged last over everything mcpm
//! generated: this is how a user relaxes a hardened default or adds a field.
use serde_yaml_ng::{Mapping, Value};

use super::super::secrets::is_secret_key;
use super::{BuildError, Builder, scalar_text, strings};

impl Builder<'_, '_> {
    /// `[servers.X.docker]` wins over everything generated: mappings merge key by
    /// key, anything else is replaced. Literal secrets in its `environment` still
    /// go to `.env`.
    pub(super) fn merge_docker_table(
        &mut self,
        service: &mut Mapping,
        docker: &toml::Table,
    ) -> Result<(), BuildError> {
        for (key, value) in docker {
            let mut value = serde_yaml_ng::to_value(value).map_err(|err| BuildError {
                path: self.path(&["docker", key]),
                message: format!(
                    "`{key}` in server `{}` cannot be written as YAML: {err}",
                    self.input.name
                ),
                hint: "use plain strings, numbers, booleans, arrays and tables".into(),
            })?;
            if key == "environment" {
                value = self.docker_environment(value)?;
            }
            match (service.get_mut(key.as_str()), value) {
                (Some(Value::Mapping(existing)), Value::Mapping(extra)) => {
                    for (k, v) in extra {
                        existing.insert(k, v);
                    }
                }
                (_, value) => {
                    service.insert(key.clone().into(), value);
                }
            }
            match key.as_str() {
                "network_mode" => {
                    service.remove("networks");
                }
                "networks" => {
                    service.remove("network_mode");
                }
                // A writable root needs no /tmp tmpfs of its own.
                "read_only"
                    if docker.get("read_only").and_then(|v| v.as_bool()) == Some(false)
                        && service.get("tmpfs") == Some(&strings(&["/tmp".to_string()]))
                        && !docker.contains_key("tmpfs") =>
                {
                    service.remove("tmpfs");
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// `[servers.X.docker] environment`, as a mapping or a list: a list entry
    /// without `=` (`"DEBUG"`) passes the variable through from the environment
    /// mcpm deploys from, as compose reads it, and becomes `DEBUG: null`.
    pub(super) fn docker_environment(&mut self, value: Value) -> Result<Value, BuildError> {
        let pairs: Vec<(String, Option<String>)> = match &value {
            Value::Mapping(map) => map
                .iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_string(), Some(scalar_text(v)?))))
                .collect(),
            Value::Sequence(items) => items
                .iter()
                .filter_map(|item| {
                    let item = item.as_str()?;
                    Some(match item.split_once('=') {
                        Some((k, v)) => (k.to_string(), Some(v.to_string())),
                        None => (item.to_string(), None),
                    })
                })
                .collect(),
            _ => return Ok(value),
        };
        let mut map = Mapping::new();
        for (key, text) in pairs {
            let path = self.path(&["docker", "environment", &key]);
            let value = match text {
                Some(text) if is_secret_key(&key) => self.secret_or_text(&key, &text, path)?.into(),
                Some(text) => text.into(),
                None => Value::Null,
            };
            map.insert(key.into(), value);
        }
        Ok(Value::Mapping(map))
    }
}
