//! Running a gateway (`mcpm docker gateway`): load the servers, take the
//! token, bind the TCP listener and the unix socket, start the hub, record
//! the state, serve until SIGINT/SIGTERM, clean up. Also the other ways a
//! gateway is handled from outside: started detached (by `--detach` and by
//! `connect`), and stopped.
use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::ConfigDir;
use crate::engine::desired::{self, Desired};
use crate::engine::target;
use crate::error::{Error, Result};
use crate::files::{LockMode, lock_files};
use crate::profile::LoadedProfile;

use super::state::{self, GatewayState};
use super::{GatewayServer, servers};

/// `-f FILE` / `--profile P` / `-p PROJECT`, as the commands got them.
#[derive(Debug, Clone, Default)]
pub struct TargetArgs {
    pub compose_file: Option<PathBuf>,
    pub profile: Option<String>,
    pub project: Option<String>,
}

impl TargetArgs {
    /// The same target as arguments of another mcpm process (paths absolute,
    /// so a different working directory would not change what they name).
    pub fn to_args(&self) -> Vec<OsString> {
        let mut args = Vec::new();
        if let Some(file) = &self.compose_file {
            args.push("-f".into());
            args.push(
                std::path::absolute(file)
                    .unwrap_or_else(|_| file.clone())
                    .into(),
            );
        }
        if let Some(profile) = &self.profile {
            args.push("--profile".into());
            let path = Path::new(profile);
            // A name stays a name; a path to a file is made absolute.
            if path.is_file() {
                args.push(
                    std::path::absolute(path)
                        .unwrap_or_else(|_| path.into())
                        .into(),
                );
            } else {
                args.push(profile.into());
            }
        }
        if let Some(project) = &self.project {
            args.push("-p".into());
            args.push(project.into());
        }
        args
    }
}

/// What a gateway for a target serves.
pub struct Loaded {
    pub project: String,
    pub desired: Desired,
    pub servers: Vec<GatewayServer>,
    pub profile: Option<LoadedProfile>,
}

impl Loaded {
    /// A gateway needs at least one server to serve.
    pub fn check_servable(&self) -> Result<()> {
        if self.servers.is_empty() {
            return Err(Error::invalid(format!(
                "{} has no stdio servers for a gateway to serve",
                self.desired.file.display()
            ))
            .hint("stdio servers are services with `stdin_open: true` (mcpm generates them for every `command` server)"));
        }
        Ok(())
    }
}

/// Reads the compose file (and profile) of a target and the servers in it.
pub fn load(config: &ConfigDir, args: &TargetArgs) -> Result<Loaded> {
    let target = target::resolve(
        args.compose_file.as_deref(),
        args.profile.as_deref(),
        args.project.as_deref(),
        config,
    )?;
    let desired = desired::load(&target.file, &target.options)?;
    let servers = servers::servers(&desired)?;
    Ok(Loaded {
        project: desired.project.clone(),
        desired,
        servers,
        profile: target.profile,
    })
}

/// The project a target names, without resolving its services (for
/// `gateway status|stop`, which must work when a variable is unset).
pub fn project(config: &ConfigDir, args: &TargetArgs) -> Result<String> {
    let target = target::resolve(
        args.compose_file.as_deref(),
        args.profile.as_deref(),
        args.project.as_deref(),
        config,
    )?;
    Ok(target::project_ref(&target)?.project)
}

/// Options of [`run`].
pub struct RunOptions {
    pub config: ConfigDir,
    pub target: TargetArgs,
    /// `--listen`; default `127.0.0.1:<sticky port>`.
    pub listen: Option<SocketAddr>,
    /// Prints what the gateway does on stderr (its log, when detached).
    pub report: fn(&str),
}

/// Runs a gateway in the foreground until SIGINT or SIGTERM.
pub async fn run(options: RunOptions) -> Result<()> {
    let config = &options.config;
    let loaded = load(config, &options.target)?;
    let project = loaded.project.clone();
    loaded.check_servable()?;
    if let Some(running) = state::running(config, &project) {
        return Err(already_running(&running));
    }
    // The engine first: unreachable, it is the gateway's one error (not
    // every session's), and nothing (token, port, socket) is written.
    let engine = crate::engine::connect::connect().await?;
    let token = state::token(config)?;
    state::ensure_dir(config, &project)?;

    // TCP first: a second gateway racing this one fails here, on the
    // port, before it could replace the first one's socket.
    let sticky = state::sticky_port(config, &project);
    let listen = listen_addr(options.listen, sticky);
    let tcp = bind_tcp(listen, options.listen.is_none() && sticky.is_some())?;
    let bound = tcp
        .local_addr()
        .map_err(|err| Error::runtime(format!("cannot read the gateway's address: {err}")))?;
    if sticky.is_none() {
        state::record_port(config, &project, bound.port())?;
    }
    if !bound.ip().is_loopback() {
        (options.report)(&format!(
            "warning: the gateway listens on {bound}: it is reachable from the network (every request still needs the token)"
        ));
    }
    state::ensure_socket_dir()?;
    let socket_path = state::socket_path(&project);
    if let Some(running) = state::running(config, &project) {
        return Err(already_running(&running));
    }
    let socket = super::socket::bind(&socket_path).await?;

    let launcher: Arc<dyn super::Launcher> = Arc::new(crate::engine::attach::EngineLauncher::new(
        engine,
        loaded.desired.clone(),
    ));
    let hub = super::hub::Hub::start(
        &project,
        loaded.servers.clone(),
        launcher,
        Some(state::init_dir(config, &project)),
    )
    .await?;
    let result = serve(
        &options,
        &loaded,
        hub,
        tcp,
        bound,
        socket,
        &socket_path,
        token,
    )
    .await;
    state::remove(config, &project, std::process::id());
    let _ = std::fs::remove_file(&socket_path);
    result
}

#[allow(clippy::too_many_arguments)]
async fn serve(
    options: &RunOptions,
    loaded: &Loaded,
    hub: Arc<super::hub::Hub>,
    tcp: std::net::TcpListener,
    bound: SocketAddr,
    socket: tokio::net::UnixListener,
    socket_path: &Path,
    token: String,
) -> Result<()> {
    let config = &options.config;
    let url = format!("http://{}", display_addr(bound));
    state::write(
        config,
        &GatewayState {
            pid: std::process::id(),
            project: loaded.project.clone(),
            listen: bound.to_string(),
            url: url.clone(),
            socket: socket_path.to_path_buf(),
            token_file: state::token_path(config),
            compose_file: loaded.desired.file.clone(),
            started_at: state::now_unix(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        },
    )?;
    (options.report)(&format!(
        "mcpm gateway for project {}: {url} (servers: {}; token in {}; socket {})",
        loaded.project,
        loaded
            .servers
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        state::token_path(config).display(),
        socket_path.display()
    ));
    tcp.set_nonblocking(true)
        .map_err(|err| Error::runtime(format!("cannot use the gateway's listener: {err}")))?;
    let tcp = tokio::net::TcpListener::from_std(tcp)
        .map_err(|err| Error::runtime(format!("cannot use the gateway's listener: {err}")))?;
    let sessions: Arc<dyn super::Sessions> = hub.clone();
    let result = tokio::select! {
        () = super::http::serve(tcp, sessions.clone(), http_options(token, bound)) => Ok(()),
        () = super::socket::serve(socket, sessions) => Ok(()),
        signal = shutdown_signal() => {
            signal?;
            (options.report)("stopping the gateway");
            Ok(())
        }
    };
    drop(hub);
    result
}

/// The HTTP front end's options for a listener bound at `bound`: the loopback
/// names always, plus the address itself when it is not loopback (and the
/// machine's host name for an unspecified address), so that `Host` and
/// `Origin` checks (DNS-rebinding protection) accept only names that reach
/// this gateway. Shutdown is driven by `serve`'s select, not by the server.
fn http_options(token: String, bound: SocketAddr) -> super::http::HttpOptions {
    let port = bound.port();
    let mut options =
        super::http::HttpOptions::loopback(token, port, Box::pin(std::future::pending()));
    let mut extra = Vec::new();
    if bound.ip().is_unspecified() {
        if let Some(name) = host_name() {
            extra.push(format!("{name}:{port}"));
        }
    } else if !bound.ip().is_loopback() {
        extra.push(bound.to_string());
    }
    for host in extra {
        options.allowed_origins.push(format!("http://{host}"));
        options.allowed_hosts.push(host);
    }
    options
}

/// This machine's host name, when the OS gives one.
fn host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_string())
}

fn already_running(state: &GatewayState) -> Error {
    Error::runtime(format!(
        "a gateway for project {} already runs (pid {}, {})",
        state.project, state.pid, state.url
    ))
    .hint("`mcpm docker gateway status` shows it; `mcpm docker gateway stop` stops it")
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let listen = |kind| {
        signal(kind).map_err(|err| Error::runtime(format!("cannot listen for signals: {err}")))
    };
    let mut terminate = listen(SignalKind::terminate())?;
    let mut interrupt = listen(SignalKind::interrupt())?;
    tokio::select! {
        _ = terminate.recv() => {},
        _ = interrupt.recv() => {},
    }
    Ok(())
}

/// Where to listen: `--listen`, else loopback on the sticky port, else on a
/// free port the system picks (recorded as the sticky one).
pub fn listen_addr(listen: Option<SocketAddr>, sticky: Option<u16>) -> SocketAddr {
    listen.unwrap_or_else(|| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), sticky.unwrap_or(0)))
}

/// An address as a URL host: an unspecified one (`0.0.0.0`) is reached on loopback.
fn display_addr(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(std::net::Ipv6Addr::LOCALHOST), addr.port())
        }
        _ => addr,
    }
}

/// Binds the gateway's TCP listener; a taken port names who holds it.
fn bind_tcp(addr: SocketAddr, sticky: bool) -> Result<std::net::TcpListener> {
    std::net::TcpListener::bind(addr).map_err(|err| {
        if err.kind() != std::io::ErrorKind::AddrInUse {
            return Error::runtime(format!("cannot listen on {addr}: {err}"));
        }
        let holder = super::port_owner::owner(addr.port())
            .map(|owner| format!(" by {owner}"))
            .unwrap_or_default();
        let hint = if sticky {
            format!(
                "the gateway keeps the port of its first start so that client configs stay valid; free port {} or pass --listen 127.0.0.1:PORT (then run `mcpm client add` again for clients that use the URL)",
                addr.port()
            )
        } else {
            "pick another port with --listen 127.0.0.1:PORT".to_string()
        };
        Error::runtime(format!(
            "port {} is already in use{holder}: the gateway cannot listen on {addr}",
            addr.port()
        ))
        .hint(hint)
    })
}

/// What a detached start did.
#[derive(Debug)]
pub struct Detached {
    pub state: GatewayState,
    /// A gateway was already running (nothing was started).
    pub already_running: bool,
}

/// How long a detached gateway may take to bind and record itself.
pub const DETACH_TIMEOUT: Duration = Duration::from_secs(15);

/// Starts a gateway for `project` in the background: this executable with
/// `args` (`docker gateway …` without `--detach`) in a new session, its
/// output in `gateway.log`; returns once it records its state and its socket
/// answers. Concurrent starts (two `connect`s) start one gateway.
pub fn start_detached(config: &ConfigDir, project: &str, args: &[OsString]) -> Result<Detached> {
    if let Some(state) = state::running(config, project) {
        return Ok(Detached {
            state,
            already_running: true,
        });
    }
    state::ensure_dir(config, project)?;
    let state_path = state::state_path(config, project);
    let _lock = lock_files(&[&state_path], LockMode::Exclusive, Duration::from_secs(30))?;
    if let Some(state) = state::running(config, project) {
        return Ok(Detached {
            state,
            already_running: true,
        });
    }
    let log_path = state::log_path(config, project);
    // The log is a stream the child appends to, not a document replaced
    // whole, so it is opened here rather than written with write_atomic.
    let log = open_log(&log_path)?;
    let log_err = log
        .try_clone()
        .map_err(|err| Error::io("open", &log_path, err))?;
    let exe = std::env::current_exe()
        .map_err(|err| Error::runtime(format!("cannot find the mcpm executable: {err}")))?;
    let mut command = std::process::Command::new(exe);
    command
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(log_err);
    new_session(&mut command);
    let mut child = command
        .spawn()
        .map_err(|err| Error::runtime(format!("cannot start the gateway: {err}")))?;
    let pid = child.id();
    let deadline = Instant::now() + DETACH_TIMEOUT;
    loop {
        if let Some(state) = state::read(config, project)
            && state.pid == pid
            && state::socket_answers(&state.socket)
        {
            // Reaped by nobody: the gateway outlives this process, and init
            // adopts it when this one exits.
            return Ok(Detached {
                state,
                already_running: false,
            });
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(Error::runtime(format!(
                "the gateway for project {project} exited at start ({status})"
            ))
            .hint(log_tail(&log_path)));
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::runtime(format!(
                "the gateway for project {project} did not come up within {} s",
                DETACH_TIMEOUT.as_secs()
            ))
            .hint(log_tail(&log_path)));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn open_log(path: &Path) -> Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).write(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .map_err(|err| Error::io("open", path, err))
}

/// Detaches the child from this terminal's session, so closing the
/// terminal (or the MCP client that ran `connect`) does not signal it.
fn new_session(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setsid is async-signal-safe and touches no memory of ours.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// The last lines of the gateway's log, for an error's hint.
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(15)..].join("\n  ");
    if tail.trim().is_empty() {
        format!("its log {} is empty", path.display())
    } else {
        format!("the end of its log ({}):\n  {tail}", path.display())
    }
}

/// What `gateway stop` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    NotRunning,
    /// It exited on SIGTERM.
    Stopped {
        pid: u32,
    },
    /// It needed SIGKILL after [`STOP_TIMEOUT`].
    Killed {
        pid: u32,
    },
}

/// How long a gateway may take to exit on SIGTERM before SIGKILL.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Restarts a running gateway so it serves the compose file as it is now (a
/// gateway reads the file once, at its start): stops it, then starts it
/// detached on the same address (`listen`, from its state) for `target`.
pub fn restart(
    config: &ConfigDir,
    project: &str,
    target: &TargetArgs,
    listen: &str,
) -> Result<Detached> {
    stop(config, project)?;
    let mut args: Vec<OsString> = vec![
        "--config-dir".into(),
        std::path::absolute(config.path())
            .unwrap_or_else(|_| config.path().to_path_buf())
            .into(),
        "docker".into(),
        "gateway".into(),
        "--listen".into(),
        listen.into(),
    ];
    args.extend(target.to_args());
    start_detached(config, project, &args)
}

/// Stops project `P`'s gateway. Only a live one is signalled (its pid runs
/// AND its socket answers): the pid of a stale state may belong to an
/// unrelated process by now. A stale state is removed.
pub fn stop(config: &ConfigDir, project: &str) -> Result<Stopped> {
    let Some(recorded) = state::read(config, project) else {
        return Ok(Stopped::NotRunning);
    };
    if state::running(config, project).is_none() {
        state::remove(config, project, recorded.pid);
        return Ok(Stopped::NotRunning);
    }
    let pid = recorded.pid;
    signal(pid, libc::SIGTERM)?;
    let exited = |timeout: Duration| {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if !state::pid_alive(pid) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        !state::pid_alive(pid)
    };
    let outcome = if exited(STOP_TIMEOUT) {
        Stopped::Stopped { pid }
    } else {
        signal(pid, libc::SIGKILL)?;
        if !exited(Duration::from_secs(5)) {
            return Err(Error::runtime(format!(
                "the gateway (pid {pid}) did not exit, even on SIGKILL"
            )));
        }
        Stopped::Killed { pid }
    };
    state::remove(config, project, pid);
    if outcome != (Stopped::Stopped { pid }) {
        let _ = std::fs::remove_file(&recorded.socket);
    }
    Ok(outcome)
}

fn signal(pid: u32, signal: libc::c_int) -> Result<()> {
    let Ok(target) = libc::pid_t::try_from(pid) else {
        return Err(Error::runtime(format!("invalid gateway pid {pid}")));
    };
    // SAFETY: kill has no memory effects; the pid is a positive process id.
    if target > 0 && unsafe { libc::kill(target, signal) } == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::ESRCH) {
        return Ok(());
    }
    Err(Error::runtime(format!(
        "cannot signal the gateway (pid {pid}): {err}"
    )))
}

#[cfg(test)]
#[path = "run_tests.rs"]
mod tests;
