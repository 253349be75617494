//! What `mcpm profile ls` and `show` print: the profiles kept in the config
//! dir, the servers of one, and one server with its secrets masked by the
//! same rules every other output uses (`compose::secrets`).
use std::path::PathBuf;

use serde::Serialize;

use crate::compose::secrets::{mask, mask_value};
use crate::config::ConfigDir;
use crate::error::{Error, Result};

use super::load::{LoadedProfile, known_profiles, load_profile};
use super::model::ServerSpec;

/// One profile in `<config dir>/profiles/`.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileEntry {
    /// The name to pass as PROFILE (the file's stem).
    pub name: String,
    pub path: PathBuf,
    /// How many servers it has; `None` when it does not load.
    pub servers: Option<usize>,
    /// How many of them are enabled.
    pub enabled: Option<usize>,
    /// Why it does not load (first line of the error).
    pub error: Option<String>,
}

/// The profiles in `<config dir>/profiles/`, by name. One that does not load
/// is listed with its error, so a broken file does not hide the others.
pub fn list_profiles(config: &ConfigDir) -> Vec<ProfileEntry> {
    known_profiles(config)
        .into_iter()
        .map(|name| {
            let path = config.profiles().join(format!("{name}.toml"));
            match load_profile(&path) {
                Ok(loaded) => ProfileEntry {
                    servers: Some(loaded.profile.servers.len()),
                    enabled: Some(
                        loaded
                            .profile
                            .servers
                            .values()
                            .filter(|s| s.is_enabled())
                            .count(),
                    ),
                    error: None,
                    name,
                    path,
                },
                Err(err) => ProfileEntry {
                    servers: None,
                    enabled: None,
                    error: Some(mask(&err.message, &[])),
                    name,
                    path,
                },
            }
        })
        .collect()
}

/// One server of a profile, as `profile ls PROFILE` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ServerLine {
    pub name: String,
    /// `stdio` or `remote`.
    pub kind: &'static str,
    /// The program of a stdio server.
    pub command: Option<String>,
    /// Its arguments, secrets masked (the word after `--api-key`, …).
    pub args: Vec<String>,
    /// A remote server's URL, its password masked.
    pub url: Option<String>,
    pub enabled: bool,
}

impl ServerLine {
    /// The command line (quoted as a shell would need it) or the URL.
    pub fn target(&self) -> String {
        match (&self.command, &self.url) {
            (Some(command), _) => {
                let mut words = vec![command.as_str()];
                words.extend(self.args.iter().map(String::as_str));
                shell_words::join(words)
            }
            (None, Some(url)) => url.clone(),
            (None, None) => String::new(),
        }
    }
}

/// The servers of a loaded profile, by name, secrets masked.
pub fn server_lines(loaded: &LoadedProfile) -> Result<Vec<ServerLine>> {
    loaded
        .profile
        .servers
        .iter()
        .map(|(name, spec)| {
            let masked = masked_server(spec)?;
            Ok(ServerLine {
                name: name.clone(),
                kind: kind(spec),
                command: masked.command,
                args: masked.args,
                url: masked.url,
                enabled: spec.is_enabled(),
            })
        })
        .collect()
}

/// `stdio` or `remote`.
pub fn kind(spec: &ServerSpec) -> &'static str {
    if spec.is_remote() { "remote" } else { "stdio" }
}

/// `spec` with every secret it holds shown as `****`: values of
/// secret-looking keys (env, headers, `docker.environment`), the argument
/// after a secret-looking flag, URL passwords. References (`${VAR}`) stay.
pub fn masked_server(spec: &ServerSpec) -> Result<ServerSpec> {
    let failed = |err: serde_yaml_ng::Error| {
        Error::runtime(format!(
            "internal error: cannot mask a server's secrets: {err}"
        ))
    };
    let value = serde_yaml_ng::to_value(spec).map_err(failed)?;
    serde_yaml_ng::from_value(mask_value(&value)).map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::EnvValue;

    #[test]
    fn masks_secret_values_and_keeps_references() {
        let mut spec = ServerSpec {
            command: Some("npx".into()),
            args: vec![
                "-y".into(),
                "server".into(),
                "--api-key".into(),
                "sk-live-1234567890".into(),
                "postgresql://app:s3cretpw@db/app".into(),
            ],
            ..Default::default()
        };
        spec.env.insert(
            "GITHUB_TOKEN".into(),
            EnvValue::Text("ghp_literal_token_value".into()),
        );
        spec.env.insert(
            "OTHER_TOKEN".into(),
            EnvValue::Text("${OTHER_TOKEN}".into()),
        );
        spec.env
            .insert("REGION".into(), EnvValue::Text("eu".into()));
        let masked = masked_server(&spec).unwrap();
        let text = serde_json::to_string(&masked).unwrap();
        assert!(!text.contains("sk-live-1234567890"), "{text}");
        assert!(!text.contains("ghp_literal_token_value"), "{text}");
        assert!(!text.contains("s3cretpw"), "{text}");
        assert_eq!(
            masked.env["OTHER_TOKEN"],
            EnvValue::Text("${OTHER_TOKEN}".into())
        );
        assert_eq!(masked.env["REGION"], EnvValue::Text("eu".into()));
        assert_eq!(masked.args[..3], spec.args[..3]);
    }
}
