//! What mcpm writes into a client config for a profile, and how it knows its
//! own entries again. Pure: the profile's servers, the running mcpm's path and
//! the gateway's address come in as values.
//!
//! Entries carry no marker key: Claude Code checks `.mcp.json` against a
//! schema and VS Code flags unknown properties in `mcp.json`, so an extra key
//! could make a client refuse or nag about the file. The content is the mark:
//! a stdio entry runs `… docker connect <server> --profile <profile>`, an HTTP
//! entry points at this gateway's `/servers/<server>/mcp`.
use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::catalogue::Client;

/// How a client reaches a containerized stdio server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Via {
    /// The client starts `mcpm docker connect SERVER`, which talks to the gateway.
    #[default]
    Stdio,
    /// The client talks streamable HTTP to the gateway, with the bearer token.
    Http,
}

/// What a profile's server is, as far as a client entry is concerned.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerKind {
    /// Runs in a container with its stdio open: reached through the gateway.
    Stdio,
    /// A remote server: written as itself.
    Remote {
        url: String,
        headers: IndexMap<String, String>,
    },
    /// `enabled = false`.
    Disabled,
    /// mcpm cannot run it in a container (the reason says why).
    NotContainerizable(String),
}

/// How a stdio entry launches `mcpm docker connect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// The absolute path of the mcpm executable.
    pub program: String,
    /// The `--profile` value: the profile file's absolute path, so the entry
    /// works from whatever directory the client starts it in.
    pub profile: String,
    /// `--config-dir` when mcpm runs with a non-default one (the client does
    /// not have the shell's `MCPM_CONFIG_DIR`).
    pub config_dir: Option<String>,
    /// `--host URL` / `--context NAME` when `client add` was given them: the
    /// client does not have the shell's flags, so the entry carries them to
    /// reach the same engine. (Environment variables are not recorded; a
    /// context made current with `docker context use` is read anyway.)
    pub engine_args: Vec<String>,
}

/// The project's gateway, for HTTP entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gateway {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// The bearer token every request must carry.
    pub token: String,
}

impl Gateway {
    /// The URL of one server's endpoint.
    pub fn server_url(&self, server: &str) -> String {
        format!("{}/servers/{server}/mcp", self.base_url)
    }
}

/// A server that gets no entry, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub server: String,
    pub reason: String,
}

/// The entries a client should hold for a profile, in the profile's order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Desired {
    pub entries: Vec<(String, Value)>,
    pub skipped: Vec<Skipped>,
}

/// The entries for `servers` in `client`'s config. `gateway` is needed only
/// for `Via::Http` (the caller reads it only then).
pub fn desired(
    client: Client,
    via: Via,
    servers: &[(String, ServerKind)],
    launch: &Launch,
    gateway: Option<&Gateway>,
) -> Desired {
    let mut out = Desired::default();
    for (name, kind) in servers {
        let skip = |reason: String| Skipped {
            server: name.clone(),
            reason,
        };
        match kind {
            ServerKind::Stdio => match (via, gateway) {
                (Via::Stdio, _) => out
                    .entries
                    .push((name.clone(), stdio_entry(client, name, launch))),
                (Via::Http, Some(gateway)) => out.entries.push((
                    name.clone(),
                    http_entry(client, &gateway.server_url(name), &http_headers(gateway)),
                )),
                (Via::Http, None) => out
                    .skipped
                    .push(skip("no gateway address to point an HTTP entry at".into())),
            },
            ServerKind::Remote { url, headers } => {
                if client.takes_http() {
                    out.entries
                        .push((name.clone(), http_entry(client, url, headers)));
                } else {
                    out.skipped.push(skip(format!(
                        "remote server at {url}: {} takes remote servers only in its settings, not in its config file",
                        client.label()
                    )));
                }
            }
            ServerKind::Disabled => out.skipped.push(skip("disabled in the profile".into())),
            ServerKind::NotContainerizable(reason) => out
                .skipped
                .push(skip(format!("not containerized: {reason}"))),
        }
    }
    out
}

/// `{"command": mcpm, "args": ["docker", "connect", SERVER, "--profile", P]}`.
pub fn stdio_entry(client: Client, server: &str, launch: &Launch) -> Value {
    let mut args = vec![
        "docker".to_string(),
        "connect".into(),
        server.into(),
        "--profile".into(),
        launch.profile.clone(),
    ];
    if let Some(dir) = &launch.config_dir {
        args.extend(["--config-dir".to_string(), dir.clone()]);
    }
    args.extend(launch.engine_args.iter().cloned());
    let mut entry = Map::new();
    if let Some(kind) = client.entry_type(false) {
        entry.insert("type".into(), kind.into());
    }
    entry.insert("command".into(), launch.program.clone().into());
    entry.insert("args".into(), json!(args));
    Value::Object(entry)
}

/// An HTTP entry: `type` where the client wants it, the URL under the
/// client's key, the headers when there are any.
pub fn http_entry(client: Client, url: &str, headers: &IndexMap<String, String>) -> Value {
    let mut entry = Map::new();
    if let Some(kind) = client.entry_type(true) {
        entry.insert("type".into(), kind.into());
    }
    entry.insert(client.url_key().into(), url.into());
    if !headers.is_empty() {
        let headers: Map<String, Value> = headers
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        entry.insert("headers".into(), Value::Object(headers));
    }
    Value::Object(entry)
}

fn http_headers(gateway: &Gateway) -> IndexMap<String, String> {
    IndexMap::from([(
        "Authorization".to_string(),
        format!("Bearer {}", gateway.token),
    )])
}

/// What mcpm knows about itself when it reads a client's entries.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    /// `--profile` values that mean this profile (its absolute path, its
    /// canonical path, the argument as given). Empty: no profile in question.
    pub profiles: Vec<String>,
    /// This project's gateway (its port file exists), for HTTP entries.
    pub gateway_url: Option<String>,
    /// The gateway token, when one exists: an HTTP entry to a loopback
    /// `/servers/NAME/mcp` carrying it was written by mcpm.
    pub token: Option<String>,
}

/// Who an entry belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "owner", rename_all = "kebab-case")]
pub enum Owner {
    /// Written by mcpm for this profile (or this project's gateway).
    This { via: Via },
    /// Written by mcpm for another profile (or another project's gateway).
    OtherProfile {
        via: Via,
        #[serde(skip_serializing_if = "Option::is_none")]
        profile: Option<String>,
    },
    /// Not written by mcpm (as far as its content tells).
    User,
}

impl Owner {
    /// Whether mcpm wrote the entry at all.
    pub fn is_mcpm(&self) -> bool {
        !matches!(self, Owner::User)
    }
}

/// Who wrote the entry `key` of `client`'s config.
pub fn owner(client: Client, key: &str, entry: &Value, identity: &Identity) -> Owner {
    let Some(entry) = entry.as_object() else {
        return Owner::User;
    };
    if let Some(args) = entry.get("args").and_then(Value::as_array) {
        let args: Vec<&str> = args.iter().filter_map(Value::as_str).collect();
        if entry.get("command").is_some_and(Value::is_string)
            && args.len() >= 3
            && args[0] == "docker"
            && args[1] == "connect"
        {
            let profile = flag_value(&args, "--profile");
            let this = args[2] == key
                && profile.is_some_and(|p| identity.profiles.iter().any(|ours| ours == p));
            return match this {
                true => Owner::This { via: Via::Stdio },
                false => Owner::OtherProfile {
                    via: Via::Stdio,
                    profile: profile.map(str::to_string),
                },
            };
        }
        return Owner::User;
    }
    let url = entry
        .get(client.url_key())
        .or_else(|| entry.get("url"))
        .and_then(Value::as_str);
    let Some(url) = url else {
        return Owner::User;
    };
    if let Some(base) = &identity.gateway_url
        && url == format!("{base}/servers/{key}/mcp")
    {
        return Owner::This { via: Via::Http };
    }
    let bearer = entry
        .get("headers")
        .and_then(Value::as_object)
        .and_then(|headers| headers.get("Authorization"))
        .and_then(Value::as_str);
    let ours = identity
        .token
        .as_deref()
        .is_some_and(|token| bearer == Some(format!("Bearer {token}").as_str()));
    if ours && is_gateway_server_url(url) {
        return Owner::OtherProfile {
            via: Via::Http,
            profile: None,
        };
    }
    Owner::User
}

/// `http://127.0.0.1:PORT/servers/NAME/mcp`: the shape of a gateway's URL.
fn is_gateway_server_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://127.0.0.1:") else {
        return false;
    };
    let Some((port, path)) = rest.split_once('/') else {
        return false;
    };
    port.parse::<u16>().is_ok()
        && path
            .strip_prefix("servers/")
            .and_then(|p| p.strip_suffix("/mcp"))
            .is_some_and(|name| !name.is_empty() && !name.contains('/'))
}

/// The value after `flag` (`--flag VALUE` or `--flag=VALUE`).
fn flag_value<'a>(args: &[&'a str], flag: &str) -> Option<&'a str> {
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if *arg == flag {
            return iter.next().copied();
        }
        if let Some(value) = arg.strip_prefix(flag).and_then(|r| r.strip_prefix('=')) {
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
#[path = "entries_tests.rs"]
mod tests;
