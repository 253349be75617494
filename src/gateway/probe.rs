//! The MCP health probe: is a deployed stdio server answering MCP?
//!
//! A probe is one short client session: `initialize` (client `mcpm-probe`),
//! `notifications/initialized`, then `tools/list` with every page followed.
//! It reports the tool count, the server's name and version, and round-trip
//! times, or why it failed ([`Probe::failure`]).
//!
//! A stdio server has one stdin and many refuse a second `initialize`, so a
//! probe never talks to a container on a path of its own:
//! - when a gateway runs for the project, the probe is a session on it,
//!   through its unix socket, like `mcpm docker connect` (the gateway's
//!   attach and `initialize` cache serve it; nothing else writes to the
//!   server's stdin);
//! - otherwise it attaches as the gateway does ([`EngineLauncher`]) and
//!   speaks through the gateway's [`Mux`], with the `initialize` cache in
//!   `<config dir>/gateway/PROJECT/` read and written as the gateway does: a
//!   server initialized before is answered from the cache, one initialized by
//!   the probe is not initialized again by a gateway started later. The
//!   container's stdin stays open (compose's `stdin_open` without
//!   `stdin_once`) and the container keeps running.
//!
//! A shared server whose container is not running is reported `not-running`
//! and not started. A `sharing = "session"` server is probed on a one-off
//! instance, as the gateway serves each client of it (removed afterwards).
//! Probes of several servers run concurrently; each is bounded by its own
//! timeout, counted from the start of the probe (attach included).
use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::time::Instant;

use super::message::{self, Kind, LineReader, MAX_LINE};
use super::mux::{Action, Mux, SessionId};
use super::{GatewayServer, Launcher, Message, Stdio, connect, hub, servers, state};
use crate::config::ConfigDir;
use crate::engine::attach::EngineLauncher;
use crate::engine::connect::Engine;
use crate::engine::desired::Desired;
use crate::error::{Error, Result};
use crate::profile::Sharing;

/// `--probe-timeout` when none is given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The protocol version the probe asks for (servers answer with theirs).
const PROTOCOL_VERSION: &str = "2025-06-18";

/// A server paginating forever is cut off after this many `tools/list` pages.
const MAX_PAGES: usize = 100;

/// The probe's one session on a direct attachment's mux.
const ONLY: SessionId = 1;

/// What one probe found. JSON field names are stable.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Probe {
    /// The server answered `initialize` and `tools/list`.
    pub ok: bool,
    /// How it was reached: `gateway` (a session on the running gateway),
    /// `attach` (the container's stdio, as the gateway attaches), `one-off`
    /// (a session container of a `sharing = "session"` server); `null` when
    /// it was not tried.
    pub via: Option<&'static str>,
    /// How many tools `tools/list` listed (all pages).
    pub tools: Option<usize>,
    /// Their names, in the server's order.
    pub tool_names: Vec<String>,
    /// `serverInfo.name` and `.version` of the `initialize` result.
    pub server_name: Option<String>,
    pub server_version: Option<String>,
    /// The protocol version the server chose.
    pub protocol_version: Option<String>,
    /// Round trip of `tools/list` (all its pages), in milliseconds.
    pub rtt_ms: Option<f64>,
    /// The whole probe, attach or session opening included, in milliseconds.
    pub total_ms: Option<f64>,
    /// Why it failed: `not-running`, `timeout`, `not-mcp` (a line that is not
    /// JSON-RPC), `error-response` (the server answered with an error),
    /// `closed` (its output ended), `unavailable` (it could not be reached:
    /// attach or gateway session refused), `not-probed` (see `reason`).
    pub failure: Option<&'static str>,
    /// The failure in one sentence.
    pub reason: Option<String>,
}

impl Probe {
    /// A failed probe (or one not made).
    pub fn failed(failure: &'static str, reason: impl Into<String>) -> Self {
        Probe {
            ok: false,
            via: None,
            tools: None,
            tool_names: Vec::new(),
            server_name: None,
            server_version: None,
            protocol_version: None,
            rtt_ms: None,
            total_ms: None,
            failure: Some(failure),
            reason: Some(reason.into()),
        }
    }

    /// The table cell's words: `12 tools` / the reason.
    pub fn summary(&self) -> String {
        match (&self.tools, &self.reason) {
            (Some(tools), _) if self.ok => format!("{tools}"),
            (_, Some(reason)) => reason.clone(),
            _ => "-".into(),
        }
    }
}

/// Probes the stdio servers of one deployed project.
pub struct Prober {
    project: String,
    launcher: Arc<EngineLauncher>,
    config: ConfigDir,
    cache_dir: PathBuf,
    servers: Vec<GatewayServer>,
    timeout: Duration,
}

impl Prober {
    /// A prober for `desired`'s project on `engine`.
    pub fn new(
        config: &ConfigDir,
        engine: Engine,
        desired: &Desired,
        timeout: Duration,
    ) -> Result<Self> {
        let servers = servers::servers(desired)?;
        let project = desired.project.clone();
        Ok(Prober {
            config: config.clone(),
            cache_dir: state::init_dir(config, &project),
            launcher: Arc::new(EngineLauncher::new(engine, desired.clone())),
            project,
            servers,
            timeout,
        })
    }

    /// The socket of the project's gateway, when one runs now (looked up
    /// for each round of probes: one started meanwhile is used).
    fn gateway(&self) -> Option<PathBuf> {
        state::running(&self.config, &self.project).map(|s| s.socket)
    }

    /// The stdio server a compose service runs, if it runs one.
    pub fn server_of(&self, service: &str) -> Option<&GatewayServer> {
        self.servers.iter().find(|s| s.service == service)
    }

    /// Probes the servers of `services` (service name, whether its container
    /// runs) concurrently; services that run no stdio server are left out.
    pub async fn probe_services(&self, services: &[(String, bool)]) -> BTreeMap<String, Probe> {
        let gateway = self.gateway();
        let gateway = gateway.as_deref();
        let probes = services.iter().filter_map(|(service, running)| {
            let server = self.server_of(service)?;
            Some(async move {
                let probe = self.probe_on(server, *running, gateway).await;
                (service.clone(), probe)
            })
        });
        futures_util::future::join_all(probes)
            .await
            .into_iter()
            .collect()
    }

    /// Probes one server. `running`: whether its service's container runs
    /// (a shared server that does not is not started for a probe).
    pub async fn probe(&self, server: &GatewayServer, running: bool) -> Probe {
        let gateway = self.gateway();
        self.probe_on(server, running, gateway.as_deref()).await
    }

    /// [`Self::probe`], through the gateway at `gateway` when one runs.
    async fn probe_on(
        &self,
        server: &GatewayServer,
        running: bool,
        gateway: Option<&std::path::Path>,
    ) -> Probe {
        if server.sharing == Sharing::Shared && !running {
            return Probe::failed("not-running", "not running");
        }
        let start = Instant::now();
        let deadline = start + self.timeout;
        let opened = tokio::time::timeout_at(deadline, self.open(server, gateway)).await;
        let (mut transport, via) = match opened {
            Ok(Ok(opened)) => opened,
            Ok(Err(err)) => {
                let mut probe = Probe::failed("unavailable", one_line(&err));
                probe.total_ms = Some(ms(start.elapsed()));
                return probe;
            }
            Err(_) => {
                let what = if gateway.is_some() {
                    "the gateway did not open a session"
                } else {
                    "the server could not be attached"
                };
                let mut probe =
                    Probe::failed("timeout", format!("{what} within {}", secs(self.timeout)));
                probe.total_ms = Some(ms(start.elapsed()));
                return probe;
            }
        };
        let outcome = exchange(&mut transport, deadline, self.timeout).await;
        let total = start.elapsed();
        transport.close(&self.launcher).await;
        let mut probe = match outcome {
            Ok(found) => Probe {
                ok: true,
                via: Some(via),
                tools: Some(found.tools.len()),
                tool_names: found.tools,
                server_name: found.server_name,
                server_version: found.server_version,
                protocol_version: found.protocol_version,
                rtt_ms: Some(ms(found.tools_rtt)),
                total_ms: None,
                failure: None,
                reason: None,
            },
            Err((failure, reason)) => {
                let mut probe = Probe::failed(failure, reason);
                probe.via = Some(via);
                probe
            }
        };
        probe.total_ms = Some(ms(total));
        probe
    }

    /// Opens the probe's session: on the gateway, else on the server itself.
    async fn open(
        &self,
        server: &GatewayServer,
        gateway: Option<&std::path::Path>,
    ) -> Result<(Transport, &'static str)> {
        if let Some(socket) = gateway {
            return Ok((open_gateway(socket, &server.name).await?, "gateway"));
        }
        match server.sharing {
            Sharing::Shared => {
                let attached = self.launcher.attach(server).await?;
                let cache_file = hub::cache_path(&self.cache_dir, &server.name);
                let cache = hub::load_cache(&cache_file, &server.name);
                let mux = Mux::new(&server.name, cache);
                let transport = Direct::new(server, mux, attached.stdio, &attached.instance, None)
                    .with_cache(cache_file)
                    .await?;
                Ok((Transport::Direct(Box::new(transport)), "attach"))
            }
            Sharing::Session => {
                let instance = self.launcher.run_session(server).await?;
                let mux = Mux::new(&server.name, None);
                let id = instance.id.clone();
                let transport =
                    match Direct::new(server, mux, instance.stdio, &instance.id, Some(id.clone()))
                        .start()
                        .await
                    {
                        Ok(transport) => transport,
                        Err(err) => {
                            let _ = self.launcher.end_session(&id).await;
                            return Err(err);
                        }
                    };
                Ok((Transport::Direct(Box::new(transport)), "one-off"))
            }
        }
    }

    /// The project probed.
    pub fn project(&self) -> &str {
        &self.project
    }
}

/// What a successful exchange found.
struct Found {
    server_name: Option<String>,
    server_version: Option<String>,
    protocol_version: Option<String>,
    tools: Vec<String>,
    tools_rtt: Duration,
}

type Failure = (&'static str, String);

/// The client side of the probe over an open transport.
async fn exchange(
    transport: &mut Transport,
    deadline: Instant,
    timeout: Duration,
) -> std::result::Result<Found, Failure> {
    let init = json!({
        "protocolVersion": PROTOCOL_VERSION,
        "capabilities": {},
        "clientInfo": {"name": "mcpm-probe", "version": env!("CARGO_PKG_VERSION")},
    });
    let result = request(transport, 1, "initialize", init, deadline, timeout).await?;
    let info = result.get("serverInfo");
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let server_name = text(info.and_then(|i| i.get("name")));
    let server_version = text(info.and_then(|i| i.get("version")));
    let protocol_version = text(result.get("protocolVersion"));
    transport
        .send(message::notification(
            "notifications/initialized",
            json!({}),
        ))
        .await
        .map_err(|err| ("closed", format!("cannot write to the server: {err}")))?;
    let began = Instant::now();
    let mut tools = Vec::new();
    let mut cursor: Option<String> = None;
    for page in 0..MAX_PAGES {
        let params = match &cursor {
            Some(cursor) => json!({"cursor": cursor}),
            None => json!({}),
        };
        let id = 2 + page as u64;
        let result = request(transport, id, "tools/list", params, deadline, timeout).await?;
        let Some(list) = result.get("tools").and_then(Value::as_array) else {
            return Err((
                "not-mcp",
                "its `tools/list` result has no `tools` array".to_string(),
            ));
        };
        tools.extend(list.iter().map(|tool| {
            tool.get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        }));
        cursor = result
            .get("nextCursor")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
            .map(str::to_string);
        if cursor.is_none() {
            return Ok(Found {
                server_name,
                server_version,
                protocol_version,
                tools,
                tools_rtt: began.elapsed(),
            });
        }
    }
    Err((
        "not-mcp",
        format!("`tools/list` still had a next page after {MAX_PAGES} pages"),
    ))
}

/// Sends request `id` and waits for its answer (answering what the server
/// asks meanwhile); the result, or why there is none.
async fn request(
    transport: &mut Transport,
    id: u64,
    method: &str,
    params: Value,
    deadline: Instant,
    timeout: Duration,
) -> std::result::Result<Value, Failure> {
    let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    transport
        .send(msg)
        .await
        .map_err(|err| ("closed", format!("cannot write to the server: {err}")))?;
    loop {
        let received = match tokio::time::timeout_at(deadline, transport.recv()).await {
            Ok(received) => received,
            Err(_) => {
                return Err((
                    "timeout",
                    format!("no answer to `{method}` within {}", secs(timeout)),
                ));
            }
        };
        let msg = match received {
            Received::Message(msg) => msg,
            Received::NotMcp(what) => {
                return Err((
                    "not-mcp",
                    format!("not MCP: it wrote a line that is not JSON-RPC ({what})"),
                ));
            }
            Received::Closed(what) => {
                return Err(("closed", format!("{what} before answering `{method}`")));
            }
        };
        match message::classify(&msg) {
            Kind::Response { id: got } if got == &json!(id) => {
                return Ok(msg.get("result").cloned().unwrap_or(Value::Null));
            }
            Kind::Error { id: got } if got == &json!(id) => {
                let error = &msg["error"];
                let text = error["message"].as_str().unwrap_or("no message");
                let code = error["code"]
                    .as_i64()
                    .map(|c| format!(" {c}"))
                    .unwrap_or_default();
                return Err((
                    "error-response",
                    format!("`{method}` failed: error{code}: {text}"),
                ));
            }
            Kind::Request { method: asked, .. } => {
                // A server→client request (ping, roots, sampling): the probe
                // offers nothing but a pong.
                let asked_id = msg.get("id").cloned().unwrap_or(Value::Null);
                let answer = if asked == "ping" {
                    message::result_response(asked_id, json!({}))
                } else {
                    message::method_not_found(asked_id, asked)
                };
                transport
                    .send(answer)
                    .await
                    .map_err(|err| ("closed", format!("cannot write to the server: {err}")))?;
            }
            Kind::Invalid(why) => {
                return Err(("not-mcp", format!("not MCP: {why}")));
            }
            // Notifications (logging, list changes), other responses: not ours.
            _ => {}
        }
    }
}

/// What came from the other side.
enum Received {
    Message(Message),
    /// A line that is not JSON-RPC; what is wrong with it.
    NotMcp(String),
    /// The output ended; by whom.
    Closed(String),
}

/// The probe's session.
enum Transport {
    /// A session on the project's gateway (its socket protocol).
    Gateway {
        lines: LineReader<BufReader<tokio::net::unix::OwnedReadHalf>>,
        write: tokio::net::unix::OwnedWriteHalf,
    },
    /// The server's own stdio, through a mux as in the gateway.
    Direct(Box<Direct>),
}

impl Transport {
    async fn send(&mut self, msg: Message) -> std::io::Result<()> {
        match self {
            Transport::Gateway { write, .. } => message::write_message(write, &msg).await,
            Transport::Direct(direct) => {
                let actions = direct.mux.on_client(ONLY, msg);
                direct.apply(actions).await
            }
        }
    }

    async fn recv(&mut self) -> Received {
        match self {
            Transport::Gateway { lines, .. } => match lines.next().await {
                Ok(Some(Ok(msg))) => Received::Message(msg),
                Ok(Some(Err(bad))) => Received::NotMcp(bad.to_string()),
                Ok(None) => Received::Closed("the gateway ended the session".into()),
                Err(err) => Received::Closed(format!("reading from the gateway failed ({err})")),
            },
            Transport::Direct(direct) => direct.recv().await,
        }
    }

    /// Ends the session, leaving a shared server running and attached to
    /// nobody (its stdin stays open: compose's `stdin_open`, not `stdin_once`).
    async fn close(self, launcher: &EngineLauncher) {
        match self {
            Transport::Gateway { mut write, .. } => {
                let _ = write.shutdown().await;
            }
            Transport::Direct(mut direct) => {
                let actions = direct.mux.on_session_end(ONLY);
                // Within a moment: a server that stopped reading must not hold the probe.
                let _ = tokio::time::timeout(Duration::from_secs(1), direct.apply(actions)).await;
                if let Some(id) = direct.one_off.take() {
                    drop(direct);
                    let _ = launcher.end_session(&id).await;
                }
            }
        }
    }
}

/// A server's stdio with the gateway's mux in between.
struct Direct {
    server: String,
    mux: Mux,
    input: Pin<Box<dyn AsyncWrite + Send>>,
    output: LineReader<BufReader<Pin<Box<dyn AsyncRead + Send>>>>,
    /// What the mux has for the probe's session.
    inbox: VecDeque<Message>,
    cache_file: Option<PathBuf>,
    /// The one-off container to remove afterwards.
    one_off: Option<String>,
    instance: String,
}

impl Direct {
    fn new(
        server: &GatewayServer,
        mux: Mux,
        stdio: Stdio,
        instance: &str,
        one_off: Option<String>,
    ) -> Self {
        Direct {
            server: server.name.clone(),
            mux,
            input: stdio.input,
            output: LineReader::new(BufReader::new(stdio.output), MAX_LINE),
            inbox: VecDeque::new(),
            cache_file: None,
            one_off,
            instance: instance.to_string(),
        }
    }

    /// With the gateway's `initialize` cache file kept up to date.
    async fn with_cache(mut self, cache_file: PathBuf) -> Result<Self> {
        self.cache_file = Some(cache_file);
        self.start().await
    }

    /// Tells the mux it is attached (it may resend a cached `initialize` to
    /// a new instance of the server).
    async fn start(mut self) -> Result<Self> {
        let instance = self.instance.clone();
        let actions = self.mux.on_attached(&instance);
        self.apply(actions).await.map_err(|err| {
            Error::runtime(format!("cannot write to server `{}`: {err}", self.server))
        })?;
        Ok(self)
    }

    async fn apply(&mut self, actions: Vec<Action>) -> std::io::Result<()> {
        for action in actions {
            match action {
                Action::ToServer(msg) => message::write_message(&mut self.input, &msg).await?,
                Action::ToSession(_, msg) => self.inbox.push_back(msg),
            }
        }
        if let (Some(cache), Some(path)) = (self.mux.take_cache_update(), &self.cache_file) {
            hub::save_cache(path, &self.server, &cache);
        }
        Ok(())
    }

    async fn recv(&mut self) -> Received {
        loop {
            if let Some(msg) = self.inbox.pop_front() {
                return Received::Message(msg);
            }
            match self.output.next().await {
                Ok(Some(Ok(msg))) => {
                    if let Kind::Invalid(why) = message::classify(&msg) {
                        return Received::NotMcp(why.to_string());
                    }
                    let actions = self.mux.on_server(msg);
                    if let Err(err) = self.apply(actions).await {
                        return Received::Closed(format!("writing to the server failed ({err})"));
                    }
                }
                Ok(Some(Err(bad))) => return Received::NotMcp(bad.to_string()),
                Ok(None) => return Received::Closed("the server's output ended".into()),
                Err(err) => {
                    return Received::Closed(format!("reading the server's output failed ({err})"));
                }
            }
        }
    }
}

/// Opens a session on `server` through the gateway listening on `socket`.
async fn open_gateway(socket: &std::path::Path, server: &str) -> Result<Transport> {
    let stream = tokio::net::UnixStream::connect(socket)
        .await
        .map_err(|err| Error::io("connect to the gateway at", socket, err))?;
    let (read, mut write) = stream.into_split();
    write
        .write_all(connect::hello_open(server).as_bytes())
        .await
        .map_err(|err| Error::io("write to the gateway at", socket, err))?;
    let mut lines = LineReader::new(BufReader::new(read), MAX_LINE);
    match lines.next().await {
        Ok(Some(Ok(answer))) => {
            connect::read_answer(&answer.to_string())?;
        }
        Ok(Some(Err(bad))) => {
            return Err(Error::runtime(format!(
                "the gateway answered something that is not its protocol ({bad})"
            )));
        }
        Ok(None) => {
            return Err(Error::runtime(format!(
                "the gateway closed the connection before opening a session on `{server}`"
            )));
        }
        Err(err) => return Err(Error::io("read from the gateway at", socket, err)),
    }
    Ok(Transport::Gateway { lines, write })
}

/// An error as one line: its message and hint.
fn one_line(err: &Error) -> String {
    match &err.hint {
        Some(hint) => format!("{} ({hint})", err.message),
        None => err.message.clone(),
    }
}

fn ms(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 10_000.0).round() / 10.0
}

fn secs(duration: Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_is_the_tool_count_or_the_reason() {
        let mut probe = Probe::failed("timeout", "no answer to `initialize` within 5.0 s");
        assert_eq!(probe.summary(), "no answer to `initialize` within 5.0 s");
        probe.ok = true;
        probe.tools = Some(2);
        assert_eq!(probe.summary(), "2");
    }

    #[test]
    fn failures_serialize_with_stable_words_and_nulls() {
        let probe = Probe::failed("not-running", "not running");
        let json = serde_json::to_value(&probe).unwrap();
        assert_eq!(json["failure"], "not-running");
        assert_eq!(json["ok"], false);
        assert_eq!(json["tools"], Value::Null);
        assert_eq!(json["via"], Value::Null);
    }

    #[test]
    fn times_are_milliseconds_to_a_tenth() {
        assert_eq!(ms(Duration::from_micros(2_345)), 2.3);
        assert_eq!(secs(Duration::from_millis(2_500)), "2.5 s");
    }
}
