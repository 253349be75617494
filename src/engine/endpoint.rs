//! Which engine to talk to, chosen the way the docker CLI chooses it, so that
//! mcpm reaches the engine `docker` reaches with the same flags, environment
//! and `~/.docker`:
//!
//! 1. `--context NAME` (with `--host` too: an error, as in the docker CLI);
//! 2. `--host`/`-H URL`;
//! 3. `DOCKER_HOST` (the docker CLI then ignores `DOCKER_CONTEXT` and
//!    `currentContext`);
//! 4. `DOCKER_CONTEXT`;
//! 5. `currentContext` in `$DOCKER_CONFIG/config.json` (default `~/.docker`);
//! 6. the platform default (`unix:///var/run/docker.sock`).
//!
//! A context other than `default` is read from the context store:
//! `contexts/meta/<sha256 hex of the name>/meta.json` holds the host
//! (`Endpoints.docker.Host`) and `SkipTLSVerify`; the TLS files are under
//! `contexts/tls/<same digest>/docker/{ca,cert,key}.pem`. The context named
//! `default` is the one without a store entry: the host from the flag, the
//! environment or the default socket, and TLS from `DOCKER_TLS_VERIFY` and
//! `DOCKER_CERT_PATH` (default: the docker config directory).
//!
//! Only reading happens here (`resolve` is pure over [`Inputs`]), so the
//! order is unit-tested without an engine; `connect` makes the client.
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The socket used when nothing else names an engine (Linux, macOS).
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// The context that stands for "no context": flags, environment, default.
pub const DEFAULT_CONTEXT: &str = "default";

/// The `--host` and `--context` flags. Like the environment they hold for
/// the whole process, so the CLI layer stores them once and every
/// `connect()` reads them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    pub host: Option<String>,
    pub context: Option<String>,
}

static FLAGS: OnceLock<Flags> = OnceLock::new();

/// Records the global flags (the first call wins; later calls are ignored,
/// which keeps a library caller from changing the engine mid-run).
pub fn set_flags(flags: Flags) {
    let _ = FLAGS.set(flags);
}

/// The global flags recorded by [`set_flags`], or none.
pub fn flags() -> Flags {
    FLAGS.get().cloned().unwrap_or_default()
}

/// The arguments that make a child mcpm (the detached gateway) choose the
/// same engine as this process: its environment is inherited, the flags are
/// not.
pub fn child_args() -> Vec<String> {
    let flags = flags();
    let mut args = Vec::new();
    if let Some(host) = flags.host {
        args.push("--host".to_string());
        args.push(host);
    }
    if let Some(context) = flags.context {
        args.push("--context".to_string());
        args.push(context);
    }
    args
}

/// Everything the choice depends on, gathered once so `resolve` is pure.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub flag_host: Option<String>,
    pub flag_context: Option<String>,
    pub docker_host: Option<String>,
    pub docker_context: Option<String>,
    pub docker_tls_verify: Option<String>,
    pub docker_cert_path: Option<String>,
    /// `$DOCKER_CONFIG`, else `~/.docker`.
    pub config_dir: PathBuf,
    /// Whether `$DOCKER_CONFIG` set `config_dir` (for messages).
    pub config_dir_from_env: bool,
}

impl Inputs {
    /// The flags recorded for this process and its environment. Empty
    /// variables count as unset, as in the docker CLI.
    pub fn from_process() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let flags = flags();
        let (config_dir, config_dir_from_env) = docker_config_dir();
        Self {
            flag_host: flags.host.filter(|h| !h.is_empty()),
            flag_context: flags.context.filter(|c| !c.is_empty()),
            docker_host: var("DOCKER_HOST"),
            docker_context: var("DOCKER_CONTEXT"),
            docker_tls_verify: var("DOCKER_TLS_VERIFY"),
            docker_cert_path: var("DOCKER_CERT_PATH"),
            config_dir,
            config_dir_from_env,
        }
    }
}

/// The docker CLI's config directory, `$DOCKER_CONFIG` (when not empty) else
/// `~/.docker`, and whether `$DOCKER_CONFIG` chose it. The one place both the
/// engine choice and the registry credentials read it from.
pub fn docker_config_dir() -> (PathBuf, bool) {
    match std::env::var_os("DOCKER_CONFIG").filter(|dir| !dir.is_empty()) {
        Some(dir) => (PathBuf::from(dir), true),
        None => (home_dir().join(".docker"), false),
    }
}

/// `$HOME` (what the docker CLI uses), else the platform's idea of it.
pub fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .filter(|home| !home.is_empty())
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|dirs| dirs.home_dir().to_path_buf()))
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// How a context was named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContextVia {
    /// `--context NAME`.
    Flag,
    /// `DOCKER_CONTEXT`.
    Env,
    /// `currentContext` in config.json (`docker context use`).
    Config,
}

/// Where the endpoint came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `--host`/`-H`.
    Flag,
    /// `DOCKER_HOST`.
    DockerHost,
    /// A context from the store.
    Context { name: String, via: ContextVia },
    /// Nothing named an engine (or the context `default` was named without
    /// a host): the platform's default socket.
    Default { context_via: Option<ContextVia> },
}

impl Source {
    /// A short machine-readable kind for `--json`.
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Flag => "flag",
            Source::DockerHost => "DOCKER_HOST",
            Source::Context { .. } => "context",
            Source::Default { .. } => "default",
        }
    }

    /// The context in use, as the docker CLI would name it.
    pub fn context_name(&self) -> &str {
        match self {
            Source::Context { name, .. } => name,
            _ => DEFAULT_CONTEXT,
        }
    }
}

impl fmt::Display for Source {
    /// The words used after an endpoint in every message:
    /// "tcp://10.0.0.2:2376 (context `dind`)".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag => write!(f, "set by --host"),
            Source::DockerHost => write!(f, "set by DOCKER_HOST"),
            Source::Context { name, via } => {
                let via = match via {
                    ContextVia::Flag => "--context",
                    ContextVia::Env => "DOCKER_CONTEXT",
                    ContextVia::Config => "currentContext in config.json",
                };
                write!(f, "context `{name}` from {via}")
            }
            Source::Default { context_via: None } => write!(f, "the default socket"),
            Source::Default {
                context_via: Some(_),
            } => {
                write!(f, "the default socket, context `default`")
            }
        }
    }
}

/// The TLS files for a `tcp://` endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tls {
    /// The directory the files are in (for messages and `docker engine`).
    pub dir: PathBuf,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    /// What asked for TLS: "DOCKER_TLS_VERIFY" or "context `NAME`".
    pub from: String,
}

/// One source the chain looked at, for `mcpm docker engine`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// `--host`, `DOCKER_HOST`, `--context`, …
    pub source: String,
    /// What it said (`None`: unset).
    pub value: Option<String>,
    /// Whether the choice was made here.
    pub chosen: bool,
}

/// The chosen engine endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The URL as the user would write it (`unix:///…`, `tcp://…`).
    pub host: String,
    pub source: Source,
    /// TLS material, for `tcp://` only.
    pub tls: Option<Tls>,
    /// Every source in the docker CLI's order and what it said.
    pub chain: Vec<Step>,
    /// The docker config directory read (`$DOCKER_CONFIG` or `~/.docker`).
    pub config_dir: PathBuf,
}

impl Endpoint {
    /// "tcp://10.0.0.2:2376 (context `dind` from DOCKER_CONTEXT)".
    pub fn describe(&self) -> String {
        format!("{} ({})", self.host, self.source)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// The sha256 hex digest the context store files a context under.
pub fn context_id(name: &str) -> String {
    let digest = Sha256::digest(name.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The parts of a context's meta.json that choose an engine.
#[derive(Debug, serde::Deserialize)]
struct Meta {
    #[serde(rename = "Name", default)]
    name: Option<String>,
    #[serde(rename = "Endpoints", default)]
    endpoints: std::collections::BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, serde::Deserialize)]
struct DockerEndpoint {
    #[serde(rename = "Host", default)]
    host: Option<String>,
    #[serde(rename = "SkipTLSVerify", default)]
    skip_tls_verify: bool,
}

/// Chooses the endpoint from `inputs` in the docker CLI's order. Reads
/// config.json and the context store; makes no connection.
pub fn resolve(inputs: &Inputs) -> Result<Endpoint> {
    if let (Some(host), Some(context)) = (&inputs.flag_host, &inputs.flag_context) {
        return Err(Error::invalid(format!(
            "conflicting options: --host {host} and --context {context}; give one of them"
        ))
        .hint(
            "--host names an engine directly, --context names a stored one (`docker context ls`)",
        ));
    }
    let config_path = inputs.config_dir.join("config.json");
    // A broken config.json is an error only when it could matter: it must
    // not stop `-H` or DOCKER_HOST from working.
    let needs_config = inputs.flag_context.is_none()
        && inputs.flag_host.is_none()
        && inputs.docker_host.is_none()
        && inputs.docker_context.is_none();
    let current_context = match read_current_context(&config_path) {
        Ok(name) => name,
        Err(err) if needs_config => return Err(err),
        Err(_) => None,
    };

    // Which context the docker CLI would use (`resolveContextName`).
    let (context, via) = if let Some(name) = &inputs.flag_context {
        (name.clone(), Some(ContextVia::Flag))
    } else if inputs.flag_host.is_some() || inputs.docker_host.is_some() {
        (DEFAULT_CONTEXT.to_string(), None)
    } else if let Some(name) = &inputs.docker_context {
        (name.clone(), Some(ContextVia::Env))
    } else if let Some(name) = &current_context {
        (name.clone(), Some(ContextVia::Config))
    } else {
        (DEFAULT_CONTEXT.to_string(), None)
    };

    let chosen_by = if inputs.flag_context.is_some() {
        "--context"
    } else if inputs.flag_host.is_some() {
        "--host"
    } else if inputs.docker_host.is_some() {
        "DOCKER_HOST"
    } else if inputs.docker_context.is_some() {
        "DOCKER_CONTEXT"
    } else if current_context.is_some() {
        "currentContext"
    } else {
        "default"
    };
    let step = |source: &str, value: Option<String>| Step {
        chosen: source == chosen_by,
        source: source.to_string(),
        value,
    };
    let chain = vec![
        step("--context", inputs.flag_context.clone()),
        step("--host", inputs.flag_host.clone()),
        step("DOCKER_HOST", inputs.docker_host.clone()),
        step("DOCKER_CONTEXT", inputs.docker_context.clone()),
        step("currentContext", current_context.clone()),
        step("default", Some(DEFAULT_HOST.to_string())),
    ];

    let endpoint = if context == DEFAULT_CONTEXT {
        let (host, source) = if let Some(host) = &inputs.flag_host {
            (host.clone(), Source::Flag)
        } else if let Some(host) = &inputs.docker_host {
            (host.clone(), Source::DockerHost)
        } else {
            (
                DEFAULT_HOST.to_string(),
                Source::Default { context_via: via },
            )
        };
        let tls = match &inputs.docker_tls_verify {
            Some(_) if is_tcp(&host) => {
                let dir = inputs
                    .docker_cert_path
                    .as_ref()
                    .map(PathBuf::from)
                    .unwrap_or_else(|| inputs.config_dir.clone());
                let from = if inputs.docker_cert_path.is_some() {
                    "DOCKER_TLS_VERIFY, files from DOCKER_CERT_PATH"
                } else {
                    "DOCKER_TLS_VERIFY, files from the docker config directory"
                };
                Some(tls_files(&dir, from))
            }
            _ => None,
        };
        Endpoint {
            host,
            source,
            tls,
            chain,
            config_dir: inputs.config_dir.clone(),
        }
    } else {
        let via = via.expect("a named context always has a source");
        let source = Source::Context {
            name: context.clone(),
            via,
        };
        let (host, tls) = read_context(&inputs.config_dir, &context, &source)?;
        Endpoint {
            host,
            source,
            tls,
            chain,
            config_dir: inputs.config_dir.clone(),
        }
    };
    check_scheme(&endpoint)?;
    Ok(endpoint)
}

fn is_tcp(host: &str) -> bool {
    host.starts_with("tcp://") || host.starts_with("https://")
}

fn tls_files(dir: &Path, from: &str) -> Tls {
    Tls {
        dir: dir.to_path_buf(),
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
        from: from.to_string(),
    }
}

/// `currentContext` from config.json; a missing file is no context.
fn read_current_context(path: &Path) -> Result<Option<String>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(Error::io("read", path, err)),
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    let config = super::auth::parse_json(path, &text)?;
    match config.get("currentContext") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(name)) => Ok(Some(name.clone()).filter(|n| !n.is_empty())),
        Some(_) => Err(Error::invalid(format!(
            "invalid docker config {}: `currentContext` is not a string",
            path.display()
        ))
        .hint("set it with `docker context use NAME`, or remove it")),
    }
}

/// The host and TLS files of a stored context.
fn read_context(config_dir: &Path, name: &str, source: &Source) -> Result<(String, Option<Tls>)> {
    let id = context_id(name);
    let contexts = config_dir.join("contexts");
    let meta_path = contexts.join("meta").join(&id).join("meta.json");
    let text = match std::fs::read_to_string(&meta_path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let (what, fix) = match source {
                Source::Context {
                    via: ContextVia::Config,
                    ..
                } => (
                    format!(
                        "currentContext in {}",
                        config_dir.join("config.json").display()
                    ),
                    "`docker context use default`, or create it with `docker context create`",
                ),
                Source::Context {
                    via: ContextVia::Env,
                    ..
                } => (
                    "DOCKER_CONTEXT".to_string(),
                    "unset DOCKER_CONTEXT, or create it with `docker context create`",
                ),
                _ => (
                    "--context".to_string(),
                    "name one `docker context ls` lists, or create it with `docker context create`",
                ),
            };
            return Err(Error::invalid(format!(
                "context `{name}` (from {what}) does not exist: no {}",
                meta_path.display()
            ))
            .hint(fix));
        }
        Err(err) => return Err(Error::io("read", &meta_path, err)),
    };
    let bad = |why: String| {
        Error::invalid(format!(
            "context `{name}`: {} {why}",
            meta_path.display()
        ))
        .hint("recreate it: `docker context rm NAME` then `docker context create NAME --docker host=…`")
    };
    let meta: Meta =
        serde_json::from_str(&text).map_err(|err| bad(format!("is not valid: {err}")))?;
    if let Some(stored) = &meta.name
        && stored != name
    {
        return Err(bad(format!("names another context, `{stored}`")));
    }
    let docker = meta
        .endpoints
        .get("docker")
        .ok_or_else(|| bad("has no docker endpoint".to_string()))?;
    let docker: DockerEndpoint = serde_json::from_value(docker.clone())
        .map_err(|err| bad(format!("has a docker endpoint that is not valid: {err}")))?;
    let host = docker
        .host
        .filter(|host| !host.is_empty())
        .ok_or_else(|| bad("has no Endpoints.docker.Host".to_string()))?;
    let dir = contexts.join("tls").join(&id).join("docker");
    let has_files = ["ca.pem", "cert.pem", "key.pem"]
        .iter()
        .any(|file| dir.join(file).exists());
    if docker.skip_tls_verify && is_tcp(&host) {
        return Err(Error::invalid(format!(
            "context `{name}` sets SkipTLSVerify for {host}: mcpm only speaks TLS with a verified server"
        ))
        .hint(format!(
            "give the context the engine's CA (`docker context update {name} --docker host={host},ca=ca.pem,cert=cert.pem,key=key.pem`)"
        )));
    }
    let tls = (has_files && is_tcp(&host)).then(|| tls_files(&dir, &format!("context `{name}`")));
    Ok((host, tls))
}

/// Schemes mcpm cannot speak, refused before any connection with what to
/// do instead.
fn check_scheme(endpoint: &Endpoint) -> Result<()> {
    let host = &endpoint.host;
    if host.starts_with("ssh://") {
        return Err(Error::invalid(format!(
            "{endpoint}: mcpm does not speak to engines over ssh://"
        ))
        .hint(format!(
            "forward the remote socket and point mcpm at it: `ssh -nNT -L $HOME/.docker/remote.sock:/var/run/docker.sock {}` then `--host unix://$HOME/.docker/remote.sock`",
            host.trim_start_matches("ssh://")
        )));
    }
    if host.starts_with("npipe://") && !cfg!(windows) {
        return Err(Error::invalid(format!(
            "{endpoint}: npipe:// is a Windows named pipe; this is not Windows"
        ))
        .hint("on Linux and macOS use unix:///path/to/docker.sock or tcp://HOST:PORT"));
    }
    let known = ["unix://", "tcp://", "http://", "https://", "npipe://"];
    if !known.iter().any(|scheme| host.starts_with(scheme)) {
        return Err(Error::invalid(format!(
            "{endpoint}: the address has no scheme mcpm supports"
        ))
        .hint("use unix:///path/to/docker.sock, tcp://HOST:PORT (TLS with DOCKER_TLS_VERIFY or a context's TLS data)"));
    }
    Ok(())
}

/// Checks that the TLS files exist and can be read, so a missing file is
/// named with what asked for it instead of surfacing as a handshake failure.
pub fn check_tls_files(endpoint: &Endpoint) -> Result<()> {
    let Some(tls) = &endpoint.tls else {
        return Ok(());
    };
    for (what, path) in [
        ("CA", &tls.ca),
        ("client certificate", &tls.cert),
        ("client key", &tls.key),
    ] {
        if let Err(err) = std::fs::File::open(path) {
            let why = if err.kind() == std::io::ErrorKind::NotFound {
                "no such file".to_string()
            } else {
                err.to_string()
            };
            return Err(Error::invalid(format!(
                "{endpoint}: cannot read the TLS {what} {} ({why}); TLS was asked for by {}",
                path.display(),
                tls.from
            ))
            .hint("put ca.pem, cert.pem and key.pem there, point DOCKER_CERT_PATH at the directory holding them, or unset DOCKER_TLS_VERIFY for an engine without TLS"));
        }
    }
    Ok(())
}

/// Sockets other engines commonly listen on (rootless Docker, Docker
/// Desktop, colima, Podman) that exist here, for the hint when the default
/// socket is missing. They are never chosen silently: the docker CLI does
/// not either.
pub fn other_sockets() -> Vec<PathBuf> {
    let runtime = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from);
    other_sockets_in(&home_dir(), runtime.as_deref())
}

/// [`other_sockets`] for a given home and `$XDG_RUNTIME_DIR`.
pub fn other_sockets_in(home: &Path, runtime: Option<&Path>) -> Vec<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(runtime) = runtime {
        candidates.push(runtime.join("docker.sock"));
        candidates.push(runtime.join("podman").join("podman.sock"));
    }
    candidates.push(home.join(".docker").join("run").join("docker.sock"));
    candidates.push(home.join(".colima").join("default").join("docker.sock"));
    candidates
        .into_iter()
        .filter(|path| path.exists())
        .collect()
}

/// The hint for a missing default socket: the other sockets that exist and
/// how to select one, else how to start an engine.
pub fn default_socket_hint(others: &[PathBuf]) -> String {
    if others.is_empty() {
        return "start the Docker Engine (e.g. `sudo systemctl start docker`), or point mcpm at one with --host, DOCKER_HOST or `docker context use NAME`".to_string();
    }
    let list: Vec<String> = others
        .iter()
        .map(|path| format!("unix://{}", path.display()))
        .collect();
    format!(
        "no engine at the default socket, but these sockets exist: {}; select one with `DOCKER_HOST={}` (or --host), or with a context: `docker context create NAME --docker host={}` then `docker context use NAME`",
        list.join(", "),
        list[0],
        list[0]
    )
}

/// The hint for an engine that cannot be reached at `endpoint`.
pub fn unreachable_hint(endpoint: &Endpoint) -> String {
    match &endpoint.source {
        Source::Default { .. } => {
            let socket = endpoint.host.trim_start_matches("unix://");
            let others = if Path::new(socket).exists() {
                Vec::new()
            } else {
                other_sockets()
            };
            default_socket_hint(&others)
        }
        Source::Flag => format!(
            "check that an engine listens at {}, or drop --host",
            endpoint.host
        ),
        Source::DockerHost => format!(
            "check that an engine listens at {}, or unset DOCKER_HOST to use the current context or {DEFAULT_HOST}",
            endpoint.host
        ),
        Source::Context { name, via } => {
            let switch = match via {
                ContextVia::Flag => "pass another --context",
                ContextVia::Env => "unset DOCKER_CONTEXT",
                ContextVia::Config => "`docker context use default`",
            };
            format!(
                "check that an engine listens at {} (`docker context inspect {name}`), or {switch}",
                endpoint.host
            )
        }
    }
}

#[cfg(test)]
#[path = "endpoint_tests.rs"]
mod tests;
