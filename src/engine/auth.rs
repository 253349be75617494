//! Registry credentials for pulls and digest lookups, found the way the docker
//! CLI finds them in `$DOCKER_CONFIG/config.json` (else `~/.docker/config.json`):
//!
//! 1. the registry's key is its host (`ghcr.io`, `127.0.0.1:5001`); Docker
//!    Hub's is `https://index.docker.io/v1/`, the key `docker login` writes;
//! 2. `credHelpers[<key>]` names a helper for that registry (an empty name
//!    there means "no helper", so `credsStore` is skipped too), else
//!    `credsStore` names the helper for every registry;
//! 3. with a helper, `docker-credential-<name> get` is run with the key on
//!    stdin and answers `{"ServerURL","Username","Secret"}` on stdout; a
//!    `Username` of `<token>` makes `Secret` an identity token; "credentials
//!    not found in native keychain" means none (an anonymous pull, as docker
//!    does);
//! 4. without a helper, `auths[<key>]` (or a legacy key such as
//!    `https://<key>/v1/` whose host is the key) holds base64 `user:password`
//!    in `auth`, or an `identitytoken`.
//!
//! Unlike the docker CLI, which drops a helper's error and pulls
//! anonymously, a missing or failing helper is an error here: the pull would
//! fail later with a 401 that hides the cause.
//!
//! Secrets live only in [`Secret`], whose `Debug` prints a mask and which has
//! no `Display`; no error message built here contains a secret or a helper's
//! stdout.
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use bollard::auth::DockerCredentials;
use serde_json::{Map, Value};
use tokio::io::AsyncWriteExt;

use crate::error::{Error, Result};

/// Docker Hub's key in the config, as `docker login` writes it.
pub const HUB_KEY: &str = "https://index.docker.io/v1/";

/// What a helper prints on stdout when it holds nothing for the registry
/// (docker-credential-helpers' `errCredentialsNotFoundMessage`).
const NOT_FOUND_MESSAGE: &str = "credentials not found in native keychain";

/// How long a helper may take before it is killed; a keychain waiting for a
/// GUI unlock would otherwise hang mcpm. `MCPM_CREDENTIAL_HELPER_TIMEOUT`
/// (seconds) overrides it.
const HELPER_TIMEOUT_SECS: u64 = 60;

/// The registry an image reference pulls from (`docker.io` when it names none).
pub fn registry_of(image: &str) -> &str {
    match image.split_once('/') {
        // `index.docker.io/x` is Docker Hub under its legacy name.
        Some(("index.docker.io", _)) => "docker.io",
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first,
        _ => "docker.io",
    }
}

/// The key a registry's credentials are stored under (`docker login` writes
/// the same): Docker Hub's legacy URL, else the host as written.
pub fn config_key(registry: &str) -> &str {
    if registry == "docker.io" {
        HUB_KEY
    } else {
        registry
    }
}

/// What `docker login` takes to log in to `registry`.
pub fn login_command(registry: &str) -> String {
    if registry == "docker.io" {
        "docker login".into()
    } else {
        format!("docker login {registry}")
    }
}

/// A password or token. `Debug` prints a mask; there is no `Display`, so it
/// cannot end up in a message by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place it is sent: the engine.
    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

/// Credentials for one registry.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    Password { username: String, password: Secret },
    IdentityToken(Secret),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Password { username, .. } => f
                .debug_struct("Password")
                .field("username", username)
                .field("password", &"****")
                .finish(),
            Self::IdentityToken(_) => f.write_str("IdentityToken(****)"),
        }
    }
}

/// Which part of the config named a helper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelperKey {
    /// `credHelpers["<key>"]`.
    CredHelpers(String),
    /// `credsStore`.
    CredsStore,
}

impl fmt::Display for HelperKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CredHelpers(key) => write!(f, "credHelpers[\"{key}\"]"),
            Self::CredsStore => f.write_str("credsStore"),
        }
    }
}

/// Where the credentials were looked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// No config file at all.
    NoConfig,
    /// A helper was asked.
    Helper { name: String, key: HelperKey },
    /// `auths` was read; `key` is the entry used, if any.
    Auths { key: Option<String> },
}

/// The outcome of a lookup: where it looked and what it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// The registry host (`docker.io` for Docker Hub).
    pub registry: String,
    /// The config file that was (or would have been) read.
    pub config: PathBuf,
    pub origin: Origin,
    pub credentials: Option<Credentials>,
}

impl Lookup {
    /// What bollard sends to the engine (base64 JSON in `X-Registry-Auth`).
    pub fn docker(&self) -> Option<DockerCredentials> {
        let server = Some(config_key(&self.registry).to_string());
        self.credentials.as_ref().map(|c| match c {
            Credentials::Password { username, password } => DockerCredentials {
                username: Some(username.clone()),
                password: Some(password.expose().to_string()),
                serveraddress: server,
                ..Default::default()
            },
            Credentials::IdentityToken(token) => DockerCredentials {
                identitytoken: Some(token.expose().to_string()),
                serveraddress: server,
                ..Default::default()
            },
        })
    }

    /// Whether credentials were sent and where they came from, in words.
    pub fn describe(&self) -> String {
        let config = self.config.display();
        let key = config_key(&self.registry);
        match (&self.origin, &self.credentials) {
            (Origin::Helper { name, key: via }, Some(_)) => format!(
                "credentials were sent, from helper docker-credential-{name} ({via} in {config})"
            ),
            (Origin::Helper { name, key: via }, None) => format!(
                "no credentials were sent: helper docker-credential-{name} ({via} in {config}) has none for {key}"
            ),
            (Origin::Auths { key: Some(entry) }, Some(_)) => {
                format!("credentials were sent, from auths[\"{entry}\"] in {config}")
            }
            (Origin::Auths { key: Some(entry) }, None) => format!(
                "no credentials were sent: auths[\"{entry}\"] in {config} holds neither `auth` nor `identitytoken`"
            ),
            (Origin::Auths { key: None }, _) => format!(
                "no credentials were sent: {config} has no credential helper or auths entry for {key}"
            ),
            (Origin::NoConfig, _) => {
                format!("no credentials were sent: there is no docker config at {config}")
            }
        }
    }

    /// The note added to a registry's refusal (401, "unauthorized") of
    /// `request` ("the pull").
    pub fn refusal_note(&self, request: &str) -> String {
        let login = login_command(&self.registry);
        let advice = if self.credentials.is_some() {
            format!("they may be wrong or expired: log in again with `{login}`")
        } else {
            format!("log in with `{login}` (or set up a credential helper for it)")
        };
        format!(
            "registry {} refused {request}: {}; {advice}",
            self.registry,
            self.describe()
        )
    }
}

/// Whether a registry's message (relayed by the engine) says it wants
/// credentials or refused the ones sent.
pub fn is_auth_refusal(message: &str) -> bool {
    let lower = message.to_lowercase();
    [
        "unauthorized",
        "no basic auth credentials",
        "authentication required",
        "401",
        "access denied",
        "denied: ",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
}

/// The docker CLI's config file: `$DOCKER_CONFIG/config.json`, else
/// `~/.docker/config.json`.
pub fn config_path() -> PathBuf {
    super::endpoint::docker_config_dir().0.join("config.json")
}

/// Looks the credentials for pulling `image` up, running a helper when the
/// config names one.
pub async fn lookup(image: &str) -> Result<Lookup> {
    let registry = registry_of(image).to_string();
    let path = config_path();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Lookup {
                registry,
                config: path,
                origin: Origin::NoConfig,
                credentials: None,
            });
        }
        Err(err) => {
            return Err(Error::runtime(format!(
                "cannot read the docker config {}: {err}",
                path.display()
            ))
            .hint("fix its permissions, or point DOCKER_CONFIG at another directory"));
        }
    };
    let config = parse_config(&path, &text)?;
    match config.plan(&registry) {
        Plan::Helper { name, key } => {
            let credentials = run_helper(&name, &key, &registry, &path).await?;
            Ok(Lookup {
                registry,
                config: path,
                origin: Origin::Helper { name, key },
                credentials,
            })
        }
        Plan::Auths { key, credentials } => Ok(Lookup {
            registry,
            config: path,
            origin: Origin::Auths { key },
            credentials,
        }),
    }
}

/// The parts of config.json that hold credentials, checked.
#[derive(Debug, Default)]
struct Config {
    creds_store: Option<String>,
    cred_helpers: Map<String, Value>,
    /// Key → (username, password) or identity token, decoded.
    auths: Vec<(String, Option<Credentials>)>,
}

/// What to do for one registry.
#[derive(Debug, PartialEq, Eq)]
enum Plan {
    Helper {
        name: String,
        key: HelperKey,
    },
    Auths {
        key: Option<String>,
        credentials: Option<Credentials>,
    },
}

impl Config {
    /// `credHelpers[key]` first (even an empty name, which turns helpers off
    /// for that registry), then `credsStore`, then `auths`.
    fn plan(&self, registry: &str) -> Plan {
        let key = config_key(registry);
        let helper = match self.cred_helpers.get(key).and_then(Value::as_str) {
            Some(name) => Some((name.to_string(), HelperKey::CredHelpers(key.to_string()))),
            None => self
                .creds_store
                .clone()
                .map(|name| (name, HelperKey::CredsStore)),
        };
        if let Some((name, via)) = helper.filter(|(name, _)| !name.is_empty()) {
            return Plan::Helper { name, key: via };
        }
        // The exact key, else a legacy one (`https://host/v1/`) whose host
        // is the key, as docker's file store matches them.
        let entry = self
            .auths
            .iter()
            .find(|(k, _)| k == key)
            .or_else(|| self.auths.iter().find(|(k, _)| host_of(k) == key));
        match entry {
            Some((k, credentials)) => Plan::Auths {
                key: Some(k.clone()),
                credentials: credentials.clone(),
            },
            None => Plan::Auths {
                key: None,
                credentials: None,
            },
        }
    }
}

/// `https://host:port/path` → `host:port`; a bare `host/path` → `host`
/// (docker's `ConvertToHostname`).
fn host_of(key: &str) -> &str {
    let rest = key.split_once("://").map_or(key, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest)
}

/// Parses the docker CLI's config.json as JSON. A syntax error names the
/// place as FILE:LINE:COL and quotes no input (the file holds secrets). The
/// one reader of that file's syntax, for the credentials and the engine
/// choice (`currentContext`) alike.
pub(super) fn parse_json(path: &Path, text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|err| {
        // serde_json's message ends with " at line L column C"; the place
        // goes in front instead.
        let what = err.to_string();
        let what = what.split(" at line ").next().unwrap_or(&what).to_string();
        Error::invalid(format!(
            "invalid docker config {}:{}:{}: {what}",
            path.display(),
            err.line(),
            err.column()
        ))
        .hint("fix the JSON (`docker login` rewrites this file), or point DOCKER_CONFIG at another directory")
    })
}

/// Parses and checks config.json. Messages name the file (with line and
/// column for a syntax error) and the field, never a value.
fn parse_config(path: &Path, text: &str) -> Result<Config> {
    let shown = path.display();
    let value = parse_json(path, text)?;
    let invalid = |what: String| {
        Error::invalid(format!("invalid docker config {shown}: {what}"))
            .hint("the docker CLI rejects this file too; fix the field or run `docker login` again")
    };
    let root = value
        .as_object()
        .ok_or_else(|| invalid("the top level is not a JSON object".into()))?;
    let mut config = Config::default();
    match root.get("credsStore") {
        None | Some(Value::Null) => {}
        Some(Value::String(name)) => {
            config.creds_store = Some(name.clone()).filter(|n| !n.is_empty());
        }
        Some(_) => return Err(invalid("`credsStore` is not a string".into())),
    }
    match root.get("credHelpers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(helpers)) => {
            if let Some((key, _)) = helpers.iter().find(|(_, v)| !v.is_string()) {
                return Err(invalid(format!("`credHelpers[\"{key}\"]` is not a string")));
            }
            config.cred_helpers = helpers.clone();
        }
        Some(_) => return Err(invalid("`credHelpers` is not an object".into())),
    }
    match root.get("auths") {
        None | Some(Value::Null) => {}
        Some(Value::Object(auths)) => {
            for (key, entry) in auths {
                let credentials = auth_entry(entry)
                    .map_err(|why| invalid(format!("`auths[\"{key}\"]`: {why}")))?;
                config.auths.push((key.clone(), credentials));
            }
        }
        Some(_) => return Err(invalid("`auths` is not an object".into())),
    }
    Ok(config)
}

/// One `auths` entry: `auth` (base64 `user:password`, which wins as in
/// docker) or `identitytoken`; `{}` (what a helper-backed login leaves) is none.
fn auth_entry(entry: &Value) -> std::result::Result<Option<Credentials>, String> {
    let entry = entry.as_object().ok_or("not an object")?;
    let field = |name: &str| -> std::result::Result<Option<&str>, String> {
        match entry.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str()).filter(|s| !s.is_empty())),
            Some(_) => Err(format!("`{name}` is not a string")),
        }
    };
    let token = field("identitytoken")?;
    if let Some(auth) = field("auth")? {
        let decoded = decode_base64(auth).ok_or("`auth` is not valid base64")?;
        let (username, password) = decoded
            .split_once(':')
            .filter(|(user, _)| !user.is_empty())
            .ok_or("`auth` does not decode to `user:password`")?;
        if let Some(token) = token {
            // With both, the engine asks the registry for a token with the
            // identity token and ignores the password.
            return Ok(Some(Credentials::IdentityToken(Secret(token.into()))));
        }
        return Ok(Some(Credentials::Password {
            username: username.to_string(),
            password: Secret(password.trim_end_matches('\0').to_string()),
        }));
    }
    Ok(token.map(|t| Credentials::IdentityToken(Secret(t.into()))))
}

fn helper_timeout() -> Duration {
    let secs = std::env::var("MCPM_CREDENTIAL_HELPER_TIMEOUT")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|&s| s > 0)
        .unwrap_or(HELPER_TIMEOUT_SECS);
    Duration::from_secs(secs)
}

/// Runs `docker-credential-<name> get` for `registry`.
async fn run_helper(
    name: &str,
    via: &HelperKey,
    registry: &str,
    config: &Path,
) -> Result<Option<Credentials>> {
    let program = format!("docker-credential-{name}");
    let server = config_key(registry);
    let asked_by = format!("{via} in {}", config.display());
    let mut child = tokio::process::Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|err| {
            if err.kind() == std::io::ErrorKind::NotFound {
                Error::runtime(format!(
                    "credential helper {program} is not on PATH ({asked_by} names helper `{name}` for {registry})"
                ))
                .hint(format!(
                    "install {program} (Docker Desktop and the docker-credential-helpers releases ship it), or remove {via} from {}",
                    config.display()
                ))
            } else {
                Error::runtime(format!(
                    "cannot run credential helper {program} ({asked_by}): {err}"
                ))
            }
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading stdin closes the pipe: the
        // write fails, and its exit status below says what happened.
        let _ = stdin.write_all(server.as_bytes()).await;
    }
    let timeout = helper_timeout();
    let output = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(err)) => {
            return Err(Error::runtime(format!(
                "credential helper {program} ({asked_by}) failed: {err}"
            )));
        }
        // Dropping the future drops the child, which kills it.
        Err(_) => {
            return Err(Error::runtime(format!(
                "credential helper {program} ({asked_by}) gave no answer for {server} within {} s and was stopped",
                timeout.as_secs()
            ))
            .hint("it may be waiting for a keychain to be unlocked or a prompt to be answered; try `docker pull` once by hand, or raise MCPM_CREDENTIAL_HELPER_TIMEOUT (seconds)"));
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        if stdout.trim() == NOT_FOUND_MESSAGE {
            return Ok(None);
        }
        // stdout is never shown: a helper may print the secret there.
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stderr = stderr.trim();
        let said = if stderr.is_empty() {
            "nothing on stderr (its stdout is not shown, as it may hold a secret)".to_string()
        } else {
            let mut text: String = stderr.chars().take(2000).collect();
            if text.len() < stderr.len() {
                text.push('…');
            }
            text
        };
        let status = output
            .status
            .code()
            .map_or("was killed by a signal".to_string(), |c| {
                format!("exited {c}")
            });
        return Err(Error::runtime(format!(
            "credential helper {program} ({asked_by}) {status} for {server}: {said}"
        ))
        .hint(format!(
            "run `echo {server} | {program} get` to see it fail, or log in again with `{}`",
            login_command(registry)
        )));
    }
    parse_helper_answer(&stdout).map_err(|why| {
        Error::runtime(format!(
            "credential helper {program} ({asked_by}) answered for {server} with {why}"
        ))
        .hint("a helper prints {\"ServerURL\",\"Username\",\"Secret\"} as JSON; check that it is a docker credential helper")
    })
}

/// A helper's stdout: `{"ServerURL","Username","Secret"}`. The error never
/// quotes the text.
fn parse_helper_answer(stdout: &str) -> std::result::Result<Option<Credentials>, String> {
    let value: Value =
        serde_json::from_str(stdout.trim()).map_err(|_| "output that is not JSON".to_string())?;
    let text = |field: &str| -> std::result::Result<String, String> {
        match value.get(field) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(format!("a `{field}` that is not a string")),
        }
    };
    if !value.is_object() {
        return Err("JSON that is not an object".into());
    }
    let (username, secret) = (text("Username")?, text("Secret")?);
    if username == "<token>" {
        return Ok(Some(Credentials::IdentityToken(Secret(secret))));
    }
    if username.is_empty() && secret.is_empty() {
        return Ok(None);
    }
    Ok(Some(Credentials::Password {
        username,
        password: Secret(secret),
    }))
}

/// Standard base64 (with or without padding) to text.
fn decode_base64(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer = 0u32;
    let mut bits = 0;
    for c in text.trim().bytes().filter(|&c| c != b'=') {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
