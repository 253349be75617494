//! `mcpm docker connect SERVER`: the stdio command an MCP client launches.
//! It opens a session on the project's gateway through its unix socket
//! (starting the gateway detached when none runs) and pipes newline-delimited
//! JSON-RPC between the client's stdio and the socket. The decisions (what
//! is pending, what to answer when the gateway goes away, what to replay on
//! reconnect) are [`super::bridge`]'s; this is the I/O around it.
//!
//! Also the client side of the socket's status line, for `gateway status`
//! and `docker status`.
use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader, Lines};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};

use crate::config::ConfigDir;
use crate::error::{Error, ExitStatus, Result};

use super::GatewayView;
use super::bridge::{Action, Bridge};
use super::run::{self, TargetArgs};
use super::{servers, state};

/// How long the gateway may take to answer the hello line (opening a
/// session may start an on-demand server's container).
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(120);
/// After stdin closes: how long to wait for answers still owed.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// The protocol version of the socket's hello line.
const PROTOCOL: u64 = 1;

/// The hello line that opens a session on `server` (`*`: all of them).
pub fn hello_open(server: &str) -> String {
    format!("{}\n", json!({"mcpm_gateway": PROTOCOL, "open": server}))
}

/// The hello line that asks for the gateway's view.
pub fn hello_status() -> String {
    format!("{}\n", json!({"mcpm_gateway": PROTOCOL, "status": true}))
}

/// Reads the gateway's answer to a hello line: `Ok(answer)` for
/// `{"ok":true,…}`, else its error with its exit code.
pub fn read_answer(line: &str) -> Result<Value> {
    let answer: Value = serde_json::from_str(line).map_err(|_| {
        Error::runtime(format!(
            "the gateway answered something that is not its protocol: {}",
            line.chars().take(200).collect::<String>()
        ))
    })?;
    if answer["ok"] == json!(true) {
        return Ok(answer);
    }
    let message = answer["error"]
        .as_str()
        .unwrap_or("the gateway refused the session")
        .to_string();
    let status = match answer["exit"].as_u64() {
        Some(2) => ExitStatus::Invalid,
        _ => ExitStatus::Runtime,
    };
    let mut error = Error::new(status, message);
    if let Some(hint) = answer["hint"].as_str() {
        error = error.hint(hint);
    }
    Err(error)
}

/// The view of the gateway listening on `socket` (blocking; 5 s at most).
#[cfg(unix)]
pub fn status(socket: &Path) -> Result<GatewayView> {
    use std::io::{BufRead, Write};
    let failed = |err: std::io::Error| {
        Error::runtime(format!(
            "cannot ask the gateway at {} for its status: {err}",
            socket.display()
        ))
    };
    let mut stream = std::os::unix::net::UnixStream::connect(socket).map_err(failed)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(failed)?;
    stream
        .write_all(hello_status().as_bytes())
        .map_err(failed)?;
    let mut line = String::new();
    std::io::BufReader::new(stream)
        .read_line(&mut line)
        .map_err(failed)?;
    let answer = read_answer(&line)?;
    serde_json::from_value(answer["view"].clone())
        .map_err(|err| Error::runtime(format!("the gateway's status is not readable: {err}")))
}

/// Options of [`connect`].
pub struct ConnectOptions {
    pub config: ConfigDir,
    pub target: TargetArgs,
    pub server: String,
}

/// Runs the bridge for one client until its stdin closes.
pub fn connect(options: ConnectOptions) -> Result<()> {
    let loaded = run::load(&options.config, &options.target)?;
    servers::find(
        &loaded.servers,
        &options.server,
        loaded.profile.as_ref().map(|p| &p.profile),
        &loaded.desired,
    )?;
    // The gateway must reach the engine this process chose: the
    // environment (DOCKER_HOST, DOCKER_CONTEXT, …) is inherited, the global
    // --host/--context flags are passed on. (`gateway --detach` reruns its
    // own command line, flags included.)
    let mut gateway_args: Vec<OsString> = crate::engine::endpoint::child_args()
        .into_iter()
        .map(OsString::from)
        .collect();
    gateway_args.extend([
        "--config-dir".into(),
        std::path::absolute(options.config.path())
            .unwrap_or_else(|_| options.config.path().to_path_buf())
            .into(),
        "docker".into(),
        "gateway".into(),
    ]);
    gateway_args.extend(options.target.to_args());
    let dialer = Dialer {
        config: options.config.clone(),
        project: loaded.project.clone(),
        gateway_args,
        server: options.server.clone(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| Error::runtime(format!("cannot start the async runtime: {err}")))?;
    let result = runtime.block_on(async {
        let first = dialer.dial().await?;
        pump(
            Bridge::new(&dialer.project),
            &dialer,
            first,
            BufReader::new(tokio::io::stdin()),
            tokio::io::stdout(),
        )
        .await
    });
    // Stdin is read on a blocking thread; a read still waiting (after a
    // failed write to stdout) must not keep the process alive.
    runtime.shutdown_timeout(Duration::from_millis(100));
    result
}

/// Opens sessions on the project's gateway, starting it when needed.
struct Dialer {
    config: ConfigDir,
    project: String,
    gateway_args: Vec<OsString>,
    server: String,
}

/// An open session.
struct Connection {
    lines: Lines<BufReader<OwnedReadHalf>>,
    write: OwnedWriteHalf,
}

impl Dialer {
    async fn dial(&self) -> Result<Connection> {
        let socket = match state::running(&self.config, &self.project) {
            Some(state) => state.socket,
            None => {
                let (config, project, args) = (
                    self.config.clone(),
                    self.project.clone(),
                    self.gateway_args.clone(),
                );
                tokio::task::spawn_blocking(move || run::start_detached(&config, &project, &args))
                    .await
                    .map_err(|err| Error::runtime(format!("starting the gateway failed: {err}")))??
                    .state
                    .socket
            }
        };
        let stream = UnixStream::connect(&socket)
            .await
            .map_err(|err| Error::io("connect to the gateway at", &socket, err))?;
        let (read, mut write) = stream.into_split();
        write
            .write_all(hello_open(&self.server).as_bytes())
            .await
            .map_err(|err| Error::io("write to the gateway at", &socket, err))?;
        let mut lines = BufReader::new(read).lines();
        let answer = tokio::time::timeout(HELLO_TIMEOUT, lines.next_line())
            .await
            .map_err(|_| {
                Error::runtime(format!(
                    "the gateway did not open a session on `{}` within {} s",
                    self.server,
                    HELLO_TIMEOUT.as_secs()
                ))
            })?
            .map_err(|err| Error::io("read from the gateway at", &socket, err))?
            .ok_or_else(|| {
                Error::runtime(format!(
                    "the gateway closed the connection before opening a session on `{}`",
                    self.server
                ))
            })?;
        read_answer(&answer).map_err(|err| match err.status {
            // The compose file has the server (it was checked before the
            // first dial), so the gateway predates that change.
            ExitStatus::Invalid => {
                let stale = format!(
                    "the running gateway may have been started before the compose file changed: `mcpm docker gateway stop` for project {}, and the next connect starts it again",
                    self.project
                );
                let hint = match &err.hint {
                    Some(hint) => format!("{hint}; {stale}"),
                    None => stale,
                };
                err.hint(hint)
            }
            _ => err,
        })?;
        Ok(Connection { lines, write })
    }
}

/// Pipes the client's lines to the gateway and back until stdin closes.
async fn pump(
    mut bridge: Bridge,
    dialer: &Dialer,
    first: Connection,
    stdin: impl AsyncBufRead + Unpin,
    mut stdout: impl AsyncWrite + Unpin,
) -> Result<()> {
    let mut connection = Some(first);
    let mut client = stdin.lines();
    loop {
        let actions = tokio::select! {
            line = next_line(&mut connection) => match line {
                Some(line) => bridge.from_gateway(&line),
                None => {
                    connection = None;
                    bridge.gateway_closed()
                }
            },
            line = client.next_line() => match line {
                Ok(Some(line)) if line.trim().is_empty() => continue,
                Ok(Some(line)) => bridge.from_client(&line),
                // EOF (or an unreadable stdin): the client is done.
                Ok(None) | Err(_) => break,
            },
        };
        perform(&mut bridge, dialer, &mut connection, &mut stdout, actions).await?;
    }
    drain(&mut bridge, &mut connection, &mut stdout).await
}

/// The next line from the gateway; `None` when it closed (or there is no
/// connection: then this waits forever, and the client's side decides).
async fn next_line(connection: &mut Option<Connection>) -> Option<String> {
    match connection {
        Some(connection) => connection.lines.next_line().await.ok().flatten(),
        None => std::future::pending().await,
    }
}

/// Carries out the bridge's actions, feeding failures back into it.
async fn perform(
    bridge: &mut Bridge,
    dialer: &Dialer,
    connection: &mut Option<Connection>,
    stdout: &mut (impl AsyncWrite + Unpin),
    actions: Vec<Action>,
) -> Result<()> {
    let mut queue: VecDeque<Action> = actions.into();
    while let Some(action) = queue.pop_front() {
        match action {
            Action::ToClient(line) => write_line(stdout, &line)
                .await
                .map_err(|err| Error::runtime(format!("cannot write to stdout: {err}")))?,
            Action::ToGateway(line) => {
                let Some(open) = connection else {
                    continue;
                };
                if write_line(&mut open.write, &line).await.is_err() {
                    *connection = None;
                    queue.retain(|a| !matches!(a, Action::ToGateway(_)));
                    queue.extend(bridge.gateway_closed());
                }
            }
            Action::Reconnect => match dialer.dial().await {
                Ok(open) => *connection = Some(open),
                Err(err) => {
                    *connection = None;
                    queue.retain(|a| !matches!(a, Action::ToGateway(_)));
                    let why = match &err.hint {
                        Some(hint) => format!("{} ({hint})", err.message),
                        None => err.message.clone(),
                    };
                    queue.extend(bridge.connect_failed(&why));
                }
            },
        }
    }
    Ok(())
}

/// Stdin closed: waits (briefly) for the answers still owed, then ends the
/// session by closing the socket's write half and passes on what follows.
async fn drain(
    bridge: &mut Bridge,
    connection: &mut Option<Connection>,
    stdout: &mut (impl AsyncWrite + Unpin),
) -> Result<()> {
    let Some(open) = connection else {
        return Ok(());
    };
    let deadline = tokio::time::Instant::now() + DRAIN_TIMEOUT;
    let mut closed = false;
    while bridge.pending() > 0 {
        match tokio::time::timeout_at(deadline, open.lines.next_line()).await {
            Ok(Ok(Some(line))) => forward(bridge.from_gateway(&line), stdout).await?,
            Ok(_) => {
                closed = true;
                break;
            }
            Err(_) => break,
        }
    }
    let _ = open.write.shutdown().await;
    if !closed {
        let after = tokio::time::Instant::now() + Duration::from_secs(1);
        while let Ok(Ok(Some(line))) = tokio::time::timeout_at(after, open.lines.next_line()).await
        {
            forward(bridge.from_gateway(&line), stdout).await?;
        }
    }
    Ok(())
}

/// Writes the client-bound lines of `actions` (while draining nothing goes
/// to the gateway any more).
async fn forward(actions: Vec<Action>, stdout: &mut (impl AsyncWrite + Unpin)) -> Result<()> {
    for action in actions {
        if let Action::ToClient(line) = action {
            write_line(stdout, &line)
                .await
                .map_err(|err| Error::runtime(format!("cannot write to stdout: {err}")))?;
        }
    }
    Ok(())
}

async fn write_line(out: &mut (impl AsyncWrite + Unpin), line: &str) -> std::io::Result<()> {
    let mut bytes = Vec::with_capacity(line.len() + 1);
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b'\n');
    out.write_all(&bytes).await?;
    out.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_lines_follow_the_protocol() {
        assert_eq!(
            hello_open("time"),
            "{\"mcpm_gateway\":1,\"open\":\"time\"}\n"
        );
        assert_eq!(hello_status(), "{\"mcpm_gateway\":1,\"status\":true}\n");
    }

    #[test]
    fn answers_map_to_errors_with_their_exit_code() {
        assert!(read_answer(r#"{"ok":true}"#).is_ok());
        let err = read_answer(
            r#"{"ok":false,"error":"no server `x`","hint":"servers there: a","exit":2}"#,
        )
        .unwrap_err();
        assert_eq!(err.status, ExitStatus::Invalid);
        assert_eq!(err.message, "no server `x`");
        assert_eq!(err.hint.as_deref(), Some("servers there: a"));
        let err = read_answer(r#"{"ok":false,"error":"boom"}"#).unwrap_err();
        assert_eq!(err.status, ExitStatus::Runtime);
        let err = read_answer("HTTP/1.1 400 Bad Request").unwrap_err();
        assert!(err.message.contains("not its protocol"));
    }

    #[test]
    fn status_reads_the_view_from_a_socket() {
        use std::io::{BufRead, Write};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.sock");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut line = String::new();
            std::io::BufReader::new(&stream)
                .read_line(&mut line)
                .unwrap();
            assert_eq!(line, hello_status());
            let view = r#"{"ok":true,"view":{"project":"p","servers":[{"name":"time","strategy":"on-demand","sharing":"shared","sessions":2,"attached":true,"idle_seconds":null}]}}"#;
            (&stream).write_all(format!("{view}\n").as_bytes()).unwrap();
        });
        let view = status(&path).unwrap();
        server.join().unwrap();
        assert_eq!(view.project, "p");
        assert_eq!(view.servers[0].sessions, 2);
        assert!(view.servers[0].attached);
    }
}
