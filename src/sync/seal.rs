//! Literal secrets typed into the compose file (SPEC §4): before a compose-side
//! edit is fitted into the profile, each literal in the service's
//! `environment` (the value of a secret-looking key, or a URL's password) and
//! `command` (the value of a secret-looking flag, or a URL's password) is
//! replaced by a `${VAR}` reference, named as the renderer names it, and
//! handed back to be written to `.env`.
//! The profile then receives the reference, never the literal, and the compose
//! file is rewritten with it.
use serde_yaml_ng::{Mapping, Value};

use crate::compose::interpolation::variable_name_for;
use crate::compose::secrets::{
    SecretValue, SecretVar, flag_key, is_secret_key, secret_value, url_password,
};

use super::plan::{Action, ServerPlan};

/// Replaces the literal secrets in the targets of compose → profile actions
/// with references. `taken(name, value)` says whether a variable name already
/// holds a different value (in `.env` or among the profile's own secrets).
/// Returns the secrets to write to `.env` with the server each came from.
pub fn seal_targets(
    plans: &mut [ServerPlan],
    taken: &dyn Fn(&str, &str) -> bool,
) -> Vec<(String, SecretVar)> {
    let mut sealer = Sealer {
        taken,
        found: Vec::new(),
    };
    for server in plans.iter_mut() {
        if let Action::ToProfile { target } | Action::Import { target } = &mut server.action {
            sealer.service(&server.name, target);
        }
    }
    sealer.found
}

/// Adds the literals sealed out of the compose file to `secrets` (what goes to
/// `.env`), only for servers whose edit is taken into the profile: a server
/// left unresolved keeps its literal where the user typed it.
pub fn adopt(
    secrets: &mut Vec<SecretVar>,
    adopted: Vec<(String, SecretVar)>,
    plans: &[ServerPlan],
) {
    let taken_across = |server: &str| {
        plans
            .iter()
            .any(|p| p.name == server && p.action.writes_profile())
    };
    for (_, secret) in adopted
        .into_iter()
        .filter(|(server, _)| taken_across(server))
    {
        if !secrets.iter().any(|s| s.name == secret.name) {
            secrets.push(secret);
        }
    }
    secrets.sort_by(|a, b| a.name.cmp(&b.name));
}

struct Sealer<'a> {
    taken: &'a dyn Fn(&str, &str) -> bool,
    found: Vec<(String, SecretVar)>,
}

impl Sealer<'_> {
    fn service(&mut self, server: &str, service: &mut Mapping) {
        if let Some(Value::Sequence(command)) = service.get_mut("command") {
            self.command(server, command);
        }
        let Some(environment) = service.get_mut("environment") else {
            return;
        };
        let origin = |key: &str| format!("the compose file's services.{server}.environment.{key}");
        match environment {
            Value::Mapping(map) => {
                for (key, value) in map.iter_mut() {
                    let Some(key) = key.as_str() else { continue };
                    let text = match value {
                        Value::String(text) => text.clone(),
                        Value::Number(number) => number.to_string(),
                        _ => continue,
                    };
                    if let Some(sealed) = self.value(server, key, &text, origin(key)) {
                        *value = Value::String(sealed);
                    }
                }
            }
            Value::Sequence(items) => {
                for item in items.iter_mut() {
                    let Some((key, text)) = item.as_str().and_then(|i| i.split_once('=')) else {
                        continue;
                    };
                    let (key, text) = (key.to_string(), text.to_string());
                    if let Some(sealed) = self.value(server, &key, &text, origin(&key)) {
                        *item = Value::String(format!("{key}={sealed}"));
                    }
                }
            }
            _ => {}
        }
    }

    /// `--api-key sk-…`, `--api-key=sk-…`, `--db=mysql://u:pw@…` and bare URLs.
    fn command(&mut self, server: &str, command: &mut [Value]) {
        let origin =
            |index: usize| format!("the compose file's services.{server}.command[{index}]");
        let mut secret_flag: Option<String> = None;
        for (index, item) in command.iter_mut().enumerate() {
            let Some(arg) = item.as_str().map(str::to_string) else {
                secret_flag = None;
                continue;
            };
            if let Some(flag) = secret_flag.take()
                && !arg.starts_with('-')
            {
                if secret_value(&flag, &arg) == SecretValue::Literal {
                    let name = self.adopt(
                        server,
                        &flag_key(&flag),
                        &unescape(&arg),
                        origin(index),
                        false,
                    );
                    *item = Value::String(format!("${{{name}}}"));
                }
                continue;
            }
            if let Some((flag, value)) = arg.split_once('=')
                && flag.starts_with('-')
            {
                if is_secret_key(flag) && secret_value(flag, value) == SecretValue::Literal {
                    let name = self.adopt(
                        server,
                        &flag_key(flag),
                        &unescape(value),
                        origin(index),
                        false,
                    );
                    *item = Value::String(format!("{flag}=${{{name}}}"));
                } else if let Some(sealed) = self.url(
                    server,
                    &format!("{}_PASSWORD", flag_key(flag)),
                    &arg,
                    origin(index),
                    true,
                ) {
                    *item = Value::String(sealed);
                }
                continue;
            }
            if arg.starts_with("--") && is_secret_key(&arg) {
                secret_flag = Some(arg.clone());
            }
            if let Some(sealed) = self.url(server, "URL_PASSWORD", &arg, origin(index), true) {
                *item = Value::String(sealed);
            }
        }
    }

    /// `text` with its URL's literal password replaced by a reference.
    fn url(
        &mut self,
        server: &str,
        key: &str,
        text: &str,
        origin: String,
        positional: bool,
    ) -> Option<String> {
        let range = url_password(text)?;
        let name = self.adopt(
            server,
            key,
            &unescape(&text[range.clone()]),
            origin,
            positional,
        );
        Some(format!(
            "{}${{{name}}}{}",
            &text[..range.start],
            &text[range.end..]
        ))
    }

    /// The sealed compose text for one value, when it held a literal secret.
    fn value(&mut self, server: &str, key: &str, text: &str, origin: String) -> Option<String> {
        if is_secret_key(key) && secret_value(key, text) == SecretValue::Literal {
            let name = self.adopt(server, key, &unescape(text), origin, false);
            return Some(format!("${{{name}}}"));
        }
        self.url(server, &format!("{key}_PASSWORD"), text, origin, false)
    }

    /// A name for `value`: the key's own (unless `positional`), else
    /// `SERVER_KEY`, `SERVER_KEY_2`, … — as the renderer names them.
    fn adopt(
        &mut self,
        server: &str,
        key: &str,
        value: &str,
        origin: String,
        positional: bool,
    ) -> String {
        let base = variable_name_for(key);
        let qualified = variable_name_for(&format!("{}_{key}", server.to_ascii_uppercase()));
        let candidates = (!positional)
            .then_some(base)
            .into_iter()
            .chain(std::iter::once(qualified.clone()))
            .chain((2..).map(|n| format!("{qualified}_{n}")));
        for name in candidates {
            let clash = (self.taken)(&name, value)
                || self
                    .found
                    .iter()
                    .any(|(_, s)| s.name == name && s.value != value);
            if !clash {
                let var = SecretVar {
                    name: name.clone(),
                    value: value.to_string(),
                    origin,
                };
                self.found.push((server.to_string(), var));
                return name;
            }
        }
        unreachable!("the candidate names never run out")
    }
}

/// Compose reads `$$` as `$`: `.env` gets the value compose would use.
fn unescape(text: &str) -> String {
    text.replace("$$", "$")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::Change;

    fn plan_for(target: &str) -> ServerPlan {
        ServerPlan {
            name: "api".into(),
            change: Change::ComposeChanged,
            action: Action::ToProfile {
                target: serde_yaml_ng::from_str(target).unwrap(),
            },
            fields: Vec::new(),
            conflicting_fields: Vec::new(),
        }
    }

    fn target(plan: &ServerPlan) -> String {
        match &plan.action {
            Action::ToProfile { target } => serde_yaml_ng::to_string(target).unwrap(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn literals_become_references_and_references_stay() {
        let mut plans = [plan_for(
            "{image: x, environment: {OPENAI_API_KEY: sk-proj-1, PIN_PASSWORD: 1234, GH_TOKEN: '${GH}', DATABASE_URL: 'pg://u:p$$w@db/x', LOG_LEVEL: debug}}",
        )];
        let secrets = seal_targets(&mut plans, &|_, _| false);
        let text = target(&plans[0]);
        assert!(text.contains("OPENAI_API_KEY: ${OPENAI_API_KEY}"), "{text}");
        assert!(text.contains("PIN_PASSWORD: ${PIN_PASSWORD}"), "{text}");
        assert!(text.contains("GH_TOKEN: ${GH}"), "{text}");
        assert!(
            text.contains("DATABASE_URL: pg://u:${DATABASE_URL_PASSWORD}@db/x"),
            "{text}"
        );
        assert!(text.contains("LOG_LEVEL: debug"), "{text}");
        let mut pairs: Vec<(&str, &str, &str)> = secrets
            .iter()
            .map(|(server, s)| (server.as_str(), s.name.as_str(), s.value.as_str()))
            .collect();
        pairs.sort();
        assert_eq!(
            pairs,
            [
                ("api", "DATABASE_URL_PASSWORD", "p$w"),
                ("api", "OPENAI_API_KEY", "sk-proj-1"),
                ("api", "PIN_PASSWORD", "1234")
            ]
        );
    }

    #[test]
    fn a_taken_name_is_qualified_and_list_entries_are_sealed() {
        let mut plans = [plan_for(
            "{image: x, environment: ['OPENAI_API_KEY=sk-2', 'DEBUG', 'A=1']}",
        )];
        let secrets = seal_targets(&mut plans, &|name, _| name == "OPENAI_API_KEY");
        let text = target(&plans[0]);
        assert!(
            text.contains("OPENAI_API_KEY=${API_OPENAI_API_KEY}"),
            "{text}"
        );
        assert!(text.contains("- DEBUG"), "{text}");
        assert_eq!(secrets.len(), 1);
        assert_eq!(secrets[0].1.name, "API_OPENAI_API_KEY");
    }

    #[test]
    fn command_flags_and_urls_are_sealed_as_the_renderer_names_them() {
        let mut plans = [plan_for(
            "{image: x, command: [run, --api-key, sk-3, '--token=t-4', '--db=mysql://r:pw5@db/x', 'pg://u:pw6@h/d', --api-key, '${K}', --port, '1']}",
        )];
        let secrets = seal_targets(&mut plans, &|_, _| false);
        let text = target(&plans[0]);
        assert_eq!(
            text,
            "image: x\ncommand:\n- run\n- --api-key\n- ${API_KEY}\n- --token=${TOKEN}\n- --db=mysql://r:${API_DB_PASSWORD}@db/x\n- pg://u:${API_URL_PASSWORD}@h/d\n- --api-key\n- ${K}\n- --port\n- '1'\n"
        );
        assert_eq!(secrets.len(), 4);
    }
}
