//! The values of a service that come from the user's text: the command line and
//! the environment. `$` is escaped where literal, interpolations are checked,
//! and literal secrets (by key, by flag, or as a URL's password) move to `.env`.
use std::collections::BTreeMap;

use serde_yaml_ng::Value;

use crate::catalog::docker_run::EnvArg;
use crate::source::Segment;

use super::super::host::mount_host_path;
use super::super::interpolation::{to_compose, variable_name_for};
use super::super::secrets::{
    Redaction, SecretValue, flag_key, is_secret_key, secret_value, url_password,
};
use super::state::mount_state_file;
use super::{BuildError, Builder};

impl Builder<'_, '_> {
    /// The container command: `$` escaped, secrets in flags and URLs moved out,
    /// and host paths mounted when the catalog entry asks for it.
    pub(super) fn command(
        &mut self,
        command: &[String],
        volumes: &mut Vec<Value>,
    ) -> Result<Vec<String>, BuildError> {
        let input = self.input;
        let template = input.detection.template;
        let mount_root = template
            .map(|t| t.mount_host_paths.trim_end_matches('/'))
            .filter(|root| !root.is_empty())
            .filter(|_| input.server.volumes.is_empty() && input.detection.docker_run.is_none());
        let state = template.and_then(|t| t.state.as_ref());
        let fixed = template
            .filter(|t| !t.is_runtime())
            .map_or(0, |t| t.service.command.len());
        let mut out = Vec::with_capacity(command.len());
        let mut mounted: BTreeMap<String, String> = BTreeMap::new();
        let mut secret_flag: Option<String> = None;
        for (position, arg) in command.iter().enumerate() {
            let path = self.arg_path(arg);
            if let Some(flag) = secret_flag.take()
                && !arg.starts_with('-')
            {
                out.push(self.secret_or_text(&flag, arg, path)?);
                continue;
            }
            let mut arg = arg.clone();
            if let Some(root) = mount_root
                && position >= fixed
            {
                let after_state_flag = position > 0
                    && state.is_some_and(|s| s.args.iter().any(|f| *f == command[position - 1]));
                arg = match state
                    .and_then(|s| mount_state_file(s, &arg, after_state_flag, root, &mut mounted))
                {
                    Some(rewritten) => rewritten,
                    None => mount_host_path(&arg, root, &mut mounted),
                };
            }
            if let Some((flag, value)) = arg.split_once('=')
                && flag.starts_with('-')
                && is_secret_key(flag)
            {
                let value = self.secret_or_text(flag, value, path)?;
                out.push(format!("{flag}={value}"));
                continue;
            }
            if arg.starts_with("--") && is_secret_key(&arg) {
                secret_flag = Some(arg.clone());
            }
            out.push(self.arg_with_url_secret(&arg, path)?);
        }
        for (host, container) in mounted {
            volumes.push(format!("{host}:{container}").into());
        }
        Ok(out)
    }

    /// The environment, sorted: catalog defaults, then `docker run -e`, then the
    /// profile's `env`; variables the catalog requires become `${VAR:?…}`.
    pub(super) fn environment(&mut self) -> Result<BTreeMap<String, String>, BuildError> {
        let input = self.input;
        let mut environment = BTreeMap::new();
        if let Some(template) = input.detection.template {
            for (key, value) in &template.service.environment {
                environment.insert(key.clone(), value.clone());
            }
        }
        if let Some(script) = &input.detection.host_script {
            environment.extend(script.environment.iter().cloned());
        }
        if let Some(run) = &input.detection.docker_run {
            for env in &run.env {
                match env {
                    EnvArg::Pass(key) => {
                        environment.insert(key.clone(), format!("${{{}}}", variable_name_for(key)));
                    }
                    EnvArg::Set(key, value) => {
                        let value = self.secret_or_text(
                            key,
                            value,
                            self.arg_path(&format!("{key}={value}")),
                        )?;
                        environment.insert(key.clone(), value);
                    }
                }
            }
        }
        for (key, value) in &input.server.env {
            let value = self.secret_or_text(key, &value.to_text(), self.path(&["env", key]))?;
            environment.insert(key.clone(), value);
        }
        if let Some(template) = input.detection.template {
            for key in &template.required_env {
                environment.entry(key.clone()).or_insert_with(|| {
                    format!("${{{key}:?{key} is required by {}}}", template.name)
                });
            }
        }
        Ok(environment)
    }

    /// A value for a secret-looking key: a literal goes to `.env` as `${VAR}`.
    pub(super) fn secret_or_text(
        &mut self,
        key: &str,
        value: &str,
        path: Vec<Segment>,
    ) -> Result<String, BuildError> {
        let converted = self.compose_text(value, path.clone())?;
        let class = if is_secret_key(key) {
            secret_value(key, value)
        } else {
            SecretValue::Kept
        };
        match class {
            SecretValue::Literal if !converted.is_empty() => {
                let origin = format!("servers.{}.{}", self.input.name, describe_path(&path));
                let name = self
                    .secrets
                    .register(self.input.name, &flag_key(key), value, origin);
                let reference = format!("${{{name}}}");
                self.redactions.push(Redaction {
                    path,
                    literal: value.to_string(),
                    reference: reference.clone(),
                });
                return Ok(reference);
            }
            // A URL keeps its references; only a literal password moves.
            SecretValue::Mixed if !value.contains("://") => {
                return Err(BuildError {
                    path,
                    message: format!(
                        "in server `{}`: the value of secret-looking `{key}` mixes literal text with a `$` reference, so its literal part would land in the compose file",
                        self.input.name
                    ),
                    hint: format!(
                        "put the whole secret in one variable (`{key} = \"${{{}}}\"`, its value exported or in .env), or write `$$` for a literal `$`",
                        variable_name_for(&flag_key(key))
                    ),
                });
            }
            _ => {}
        }
        let key = format!("{}_PASSWORD", flag_key(key));
        self.text_with_url_secret(value, UrlSecret::Keyed(&key), path)
    }

    /// A command argument with a URL's literal password replaced by `${VAR}`,
    /// named after the server and the flag (`--db=URL` → `SERVER_DB_PASSWORD`)
    /// or, for a bare URL, `SERVER_URL_PASSWORD`: never after the value.
    fn arg_with_url_secret(&mut self, arg: &str, path: Vec<Segment>) -> Result<String, BuildError> {
        let key = match arg.split_once('=') {
            Some((flag, _)) if flag.starts_with('-') && !flag_key(flag).is_empty() => {
                format!("{}_PASSWORD", flag_key(flag))
            }
            _ => "URL_PASSWORD".to_string(),
        };
        self.text_with_url_secret(arg, UrlSecret::Positional(&key), path)
    }

    /// Compose text with a URL's literal password replaced by `${VAR}`.
    fn text_with_url_secret(
        &mut self,
        value: &str,
        naming: UrlSecret<'_>,
        path: Vec<Segment>,
    ) -> Result<String, BuildError> {
        let Some(range) = url_password(value) else {
            return self.compose_text(value, path);
        };
        let password = &value[range.clone()];
        let origin = format!("servers.{}.{}", self.input.name, describe_path(&path));
        let server = self.input.name;
        let name = match naming {
            UrlSecret::Keyed(key) => self.secrets.register(server, key, password, origin),
            UrlSecret::Positional(key) => self
                .secrets
                .register_for_server(server, key, password, origin),
        };
        // The whole value, not the password alone: the same text elsewhere
        // in it (a user name) stays as the profile has it.
        self.redactions.push(Redaction {
            path: path.clone(),
            literal: value.to_string(),
            reference: format!(
                "{}${{{name}}}{}",
                &value[..range.start],
                &value[range.end..]
            ),
        });
        let before = self.compose_text(&value[..range.start], path.clone())?;
        let after = self.compose_text(&value[range.end..], path)?;
        Ok(format!("{before}${{{name}}}{after}"))
    }

    pub(super) fn compose_text(
        &self,
        value: &str,
        path: Vec<Segment>,
    ) -> Result<String, BuildError> {
        to_compose(value).map(|c| c.text).map_err(|err| BuildError {
            path,
            message: format!("in server `{}`: {}", self.input.name, err.message),
            hint: err.hint,
        })
    }
}

/// How a URL password's variable is named.
enum UrlSecret<'a> {
    /// After an environment key (`DATABASE_URL` → `DATABASE_URL_PASSWORD`).
    Keyed(&'a str),
    /// After the server and the argument's place (`SERVER_URL_PASSWORD`).
    Positional(&'a str),
}

pub(super) fn describe_path(path: &[Segment]) -> String {
    path.iter()
        .skip(2)
        .map(|segment| match segment {
            Segment::Key(key) => key.clone(),
            Segment::Index(index) => format!("[{index}]"),
        })
        .collect::<Vec<_>>()
        .join(".")
}
