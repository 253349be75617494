//! What other mcpm processes need to find a running gateway (SPEC §6b):
//!
//! - `<config dir>/gateway/P/` (0700) per compose project `P`: `gateway.json`
//!   (written once the gateway has bound its listeners, removed on a clean
//!   exit), `port` (the port of the first start, reused so that client
//!   configs pointing at the URL stay valid), `gateway.log` (a detached run's
//!   output) and `init/` (the hub's cached `initialize` results);
//! - `<config dir>/gateway/token`: the bearer token, shared by all projects;
//! - the unix socket `connect` uses, in a 0700 directory of the runtime dir.
//!
//! A state whose pid is gone or whose socket refuses connections is stale: it
//! reads as "not running" and the next start replaces it.
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::ConfigDir;
use crate::error::{Error, Result};
use crate::files::{LockMode, WriteOptions, lock_files, write_atomic};

/// The contents of `gateway.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayState {
    pub pid: u32,
    pub project: String,
    /// `127.0.0.1:PORT` (or what `--listen` said).
    pub listen: String,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    pub socket: PathBuf,
    pub token_file: PathBuf,
    pub compose_file: PathBuf,
    /// Unix seconds.
    pub started_at: u64,
    /// The mcpm version that runs the gateway.
    pub version: String,
}

/// `<config dir>/gateway`: the token and one directory per project.
pub fn root(config: &ConfigDir) -> PathBuf {
    config.path().join("gateway")
}

/// `<config dir>/gateway/P`.
pub fn dir(config: &ConfigDir, project: &str) -> PathBuf {
    root(config).join(project)
}

/// `<config dir>/gateway/P/gateway.json`.
pub fn state_path(config: &ConfigDir, project: &str) -> PathBuf {
    dir(config, project).join("gateway.json")
}

/// `<config dir>/gateway/P/gateway.log`: where a detached gateway writes.
pub fn log_path(config: &ConfigDir, project: &str) -> PathBuf {
    dir(config, project).join("gateway.log")
}

/// `<config dir>/gateway/P/init`: the hub's persisted `initialize` cache.
pub fn init_dir(config: &ConfigDir, project: &str) -> PathBuf {
    dir(config, project).join("init")
}

/// `<config dir>/gateway/token`.
pub fn token_path(config: &ConfigDir) -> PathBuf {
    root(config).join("token")
}

/// Creates the project's state directory (0700: the log may name servers
/// and the init cache holds what they answered).
pub fn ensure_dir(config: &ConfigDir, project: &str) -> Result<PathBuf> {
    let path = dir(config, project);
    private_dir(&root(config))?;
    private_dir(&path)?;
    Ok(path)
}

/// The bearer token, generated on first use: 64 hex characters from the OS
/// random source, in a 0600 file. Two processes creating it at once agree on
/// one (the creation is locked).
pub fn token(config: &ConfigDir) -> Result<String> {
    let path = token_path(config);
    if let Some(token) = read_token(&path)? {
        return Ok(token);
    }
    private_dir(&root(config))?;
    let _lock = lock_files(&[&path], LockMode::Exclusive, Duration::from_secs(10))?;
    if let Some(token) = read_token(&path)? {
        return Ok(token);
    }
    let token = new_token()?;
    write_atomic(
        &path,
        format!("{token}\n").as_bytes(),
        WriteOptions {
            mode: Some(0o600),
            backup: false,
        },
    )?;
    Ok(token)
}

/// The bearer token when one was made, without making one (`--dry-run`s and
/// listings must not create it).
pub fn existing_token(config: &ConfigDir) -> Result<Option<String>> {
    read_token(&token_path(config))
}

fn read_token(path: &Path) -> Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(text) => {
            let token = text.trim();
            if is_token(token) {
                Ok(Some(token.to_string()))
            } else {
                Err(Error::invalid(format!(
                    "{} does not hold a gateway token (64 hex characters)",
                    path.display()
                ))
                .hint("delete the file: the next gateway start writes a new token (update the clients that use it: `mcpm client add`)"))
            }
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(Error::io("read", path, err)),
    }
}

fn is_token(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// 32 bytes from the OS random source, as hex.
fn new_token() -> Result<String> {
    crate::hash::random_hex(32)
}

/// The directory of the gateways' sockets: `$XDG_RUNTIME_DIR/mcpm`, else
/// `<temp dir>/mcpm-<uid>`.
pub fn socket_dir() -> PathBuf {
    socket_dir_from(std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from))
}

fn socket_dir_from(runtime: Option<PathBuf>) -> PathBuf {
    match runtime.filter(|dir| dir.is_absolute()) {
        Some(runtime) => runtime.join("mcpm"),
        None => std::env::temp_dir().join(format!("mcpm-{}", current_uid())),
    }
}

/// The socket of project `P`'s gateway.
pub fn socket_path(project: &str) -> PathBuf {
    socket_dir().join(format!("gateway-{project}.sock"))
}

/// Creates the socket directory, 0700 and owned by this user: it is the
/// socket's access control. A directory someone else owns or others can
/// enter (a shared temp dir) is refused rather than used.
pub fn ensure_socket_dir() -> Result<PathBuf> {
    let dir = socket_dir();
    if let Some(parent) = dir.parent() {
        fs::create_dir_all(parent).map_err(|err| Error::io("create directory", parent, err))?;
    }
    private_dir(&dir)?;
    check_private(&dir)?;
    Ok(dir)
}

/// Creates `dir` with mode 0700 when missing (an existing one keeps its mode).
fn private_dir(dir: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|err| Error::io("create directory", dir, err))
}

#[cfg(unix)]
fn check_private(dir: &Path) -> Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = fs::symlink_metadata(dir).map_err(|err| Error::io("inspect", dir, err))?;
    let problem = if !meta.is_dir() {
        Some("is not a directory")
    } else if meta.uid() != current_uid() {
        Some("belongs to another user")
    } else if meta.permissions().mode() & 0o077 != 0 {
        Some("is open to other users")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(Error::runtime(format!(
            "the gateway socket directory {} {problem}",
            dir.display()
        ))
        .hint(format!(
            "its mode 0700 is what keeps other users out of the gateway: remove it (`rm -r {}`) or set XDG_RUNTIME_DIR",
            dir.display()
        ))),
        None => Ok(()),
    }
}

#[cfg(not(unix))]
fn check_private(_dir: &Path) -> Result<()> {
    Ok(())
}

#[cfg(unix)]
fn current_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

#[cfg(not(unix))]
fn current_uid() -> u32 {
    0
}

/// The recorded state of project `P`'s gateway, live or not; `None` when
/// there is none (or it cannot be read: a torn or foreign file is no gateway).
pub fn read(config: &ConfigDir, project: &str) -> Option<GatewayState> {
    let text = fs::read_to_string(state_path(config, project)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Records a gateway that has bound its listeners.
pub fn write(config: &ConfigDir, state: &GatewayState) -> Result<()> {
    ensure_dir(config, &state.project)?;
    let mut text = serde_json::to_string_pretty(state).unwrap_or_default();
    text.push('\n');
    write_atomic(
        &state_path(config, &state.project),
        text.as_bytes(),
        WriteOptions {
            mode: Some(0o600),
            backup: false,
        },
    )?;
    Ok(())
}

/// Removes the state of a gateway that stopped (or is stale), but only if it
/// still names `pid`: a newer gateway's state is left alone.
pub fn remove(config: &ConfigDir, project: &str, pid: u32) {
    if read(config, project).is_some_and(|state| state.pid == pid) {
        let _ = fs::remove_file(state_path(config, project));
    }
}

/// `<config dir>/gateway/P/port`.
pub fn port_path(config: &ConfigDir, project: &str) -> PathBuf {
    dir(config, project).join("port")
}

/// The port the first start of project `P`'s gateway picked.
pub fn sticky_port(config: &ConfigDir, project: &str) -> Option<u16> {
    let text = fs::read_to_string(port_path(config, project)).ok()?;
    text.trim().parse().ok().filter(|port| *port != 0)
}

/// Records the port for later starts.
pub fn record_port(config: &ConfigDir, project: &str, port: u16) -> Result<()> {
    ensure_dir(config, project)?;
    write_atomic(
        &port_path(config, project),
        format!("{port}\n").as_bytes(),
        WriteOptions::default(),
    )?;
    Ok(())
}

/// Whether process `pid` exists (it may belong to another user: then it
/// exists too, and is not ours to signal).
#[cfg(unix)]
pub fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(not(unix))]
pub fn pid_alive(_pid: u32) -> bool {
    false
}

/// Whether something accepts connections on `socket`.
#[cfg(unix)]
pub fn socket_answers(socket: &Path) -> bool {
    std::os::unix::net::UnixStream::connect(socket).is_ok()
}

#[cfg(not(unix))]
pub fn socket_answers(_socket: &Path) -> bool {
    false
}

/// How a recorded state looks from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// Its process runs and its socket accepts connections.
    Live,
    /// Its process is gone, or its socket refuses connections.
    Stale,
}

/// Judges a state by its pid and socket (pure apart from the two probes).
pub fn liveness(
    state: &GatewayState,
    pid_alive: impl Fn(u32) -> bool,
    answers: impl Fn(&Path) -> bool,
) -> Liveness {
    if pid_alive(state.pid) && answers(&state.socket) {
        Liveness::Live
    } else {
        Liveness::Stale
    }
}

/// Project `P`'s gateway, when one runs; a stale state reads as none.
pub fn running(config: &ConfigDir, project: &str) -> Option<GatewayState> {
    let state = read(config, project)?;
    (liveness(&state, pid_alive, socket_answers) == Liveness::Live).then_some(state)
}

/// The current time in unix seconds.
pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
