//! The gateway: one process per compose project that owns the stdio of the
//! project's stdio servers and lets many MCP clients use them (SPEC §6b).
//!
//! ```text
//! clients ──HTTP (http.rs)──┐                      ┌── Launcher (engine::attach: bollard attach / one-off run)
//!                            ├── Hub (hub.rs) ──────┤
//! connect ──unix socket ─────┘  mux.rs, aggregate.rs└── ProcessLauncher (process.rs: local commands, tests)
//!           (socket.rs)
//! ```
//!
//! The decisions are pure and tested without I/O: `mux` rewrites JSON-RPC ids
//! and routes messages between client sessions and one shared server;
//! `aggregate` prefixes and routes the `/mcp` endpoint's names; `servers`
//! reads which servers to serve (and how) from the compose file. `hub` owns
//! the running servers, sessions, strategies and idle timers; the front ends
//! (`http`, `socket`) and the launchers are thin edges around it. `state`
//! keeps what other mcpm processes need to find a running gateway; `run`
//! starts one (foreground or detached) and stops it. `connect` is the other
//! end of the socket, the stdio command clients launch, with its pure
//! pending-request and replay logic in `bridge`.
//!
//! Messages are kept as parsed JSON ([`Message`]) and forwarded whole, so
//! fields the gateway does not know survive the trip.
pub mod aggregate;
pub mod bridge;
pub mod connect;
pub mod http;
pub mod hub;
pub mod message;
pub mod mux;
pub mod port_owner;
pub mod probe;
pub mod process;
pub mod run;
pub mod servers;
pub mod socket;
pub mod state;

use std::pin::Pin;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;

use crate::error::Result;
use crate::profile::{Sharing, Strategy};

/// One JSON-RPC message (request, notification or response), as parsed JSON.
pub type Message = serde_json::Value;

/// `idle_timeout` when the profile does not set one: an on-demand server is
/// stopped this long after its last session ends.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(600);

/// A server the gateway serves, as the compose file describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GatewayServer {
    /// The MCP server's name (`io.mcpm.server`, else the service name): the
    /// `<server>` of `/servers/<server>/mcp` and of `mcpm docker connect`.
    pub name: String,
    /// The compose service that runs it.
    pub service: String,
    pub strategy: Strategy,
    pub sharing: Sharing,
    #[serde(with = "duration_secs")]
    pub idle_timeout: Duration,
}

/// The stdio of one running server instance: newline-delimited JSON-RPC in
/// both directions. Its stderr is the launcher's business (logged, not parsed).
pub struct Stdio {
    pub input: Pin<Box<dyn AsyncWrite + Send>>,
    pub output: Pin<Box<dyn AsyncRead + Send>>,
}

/// A long-lived server instance the gateway is attached to.
pub struct Attached {
    pub stdio: Stdio,
    /// What identifies this run of the server (container id and start time):
    /// when a restarted gateway finds the same instance, the `initialize`
    /// result it cached is still valid and no second `initialize` is sent.
    pub instance: String,
}

/// A one-off server instance for one client session.
pub struct SessionInstance {
    pub stdio: Stdio,
    /// The container (or process) to remove with [`Launcher::end_session`].
    pub id: String,
}

/// How the gateway gets at running servers. `engine::attach` implements it
/// with bollard; [`process::ProcessLauncher`] with local processes for tests.
pub trait Launcher: Send + Sync + 'static {
    /// Makes sure the server's long-lived container runs (starting it when it
    /// does not) and attaches to its stdio.
    fn attach<'a>(&'a self, server: &'a GatewayServer) -> BoxFuture<'a, Result<Attached>>;
    /// Starts a one-off instance for one session (compose `run --rm -T`).
    fn run_session<'a>(
        &'a self,
        server: &'a GatewayServer,
    ) -> BoxFuture<'a, Result<SessionInstance>>;
    /// Removes a one-off instance; safe to call for one already gone.
    fn end_session<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<()>>;
    /// Stops the long-lived container (an on-demand server gone idle).
    fn stop<'a>(&'a self, server: &'a GatewayServer) -> BoxFuture<'a, Result<()>>;
    /// Removes one-off instances an earlier gateway of this project left
    /// behind (it crashed, or was killed); returns how many.
    fn reap_orphans(&self) -> BoxFuture<'_, Result<usize>>;
}

/// What a client session talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One server: `/servers/<server>/mcp`, `mcpm docker connect SERVER`.
    Server(String),
    /// All servers, names prefixed `<server>__`: `/mcp`.
    All,
}

/// One client session, as a front end sees it. Messages the client sends go
/// into `to_gateway`; what the server(s) send this session comes out of
/// `from_gateway` (responses with the client's own ids, notifications,
/// server→client requests). Dropping `to_gateway` ends the session.
pub struct ClientSession {
    pub id: u64,
    pub to_gateway: mpsc::Sender<Message>,
    pub from_gateway: mpsc::Receiver<Message>,
}

/// What the front ends need from the hub; a trait so that each front end can
/// be tested without engines or processes behind it.
pub trait Sessions: Send + Sync + 'static {
    /// Opens a session. An unknown server is [`crate::error::ExitStatus::Invalid`]
    /// and names the servers there.
    fn open(&self, target: Target) -> BoxFuture<'_, Result<ClientSession>>;
    /// Opens a session for a caller the front end authenticated. The
    /// gateway serves every holder of its one token alike, so by default
    /// the caller is not looked at; `mcpm mcp serve` acts with its role.
    fn open_as(&self, target: Target, caller: Caller) -> BoxFuture<'_, Result<ClientSession>> {
        let _ = caller;
        self.open(target)
    }
    /// The gateway's view, for `gateway status` and `docker status`.
    fn view(&self) -> GatewayView;
}

/// Who sent an HTTP request, as a [`Verifier`] found from its bearer token.
/// An HTTP session belongs to the caller that opened it: the same session id
/// with another caller's token is "session not found".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's name (`gateway` for the gateway's own token).
    pub name: String,
    /// What the token may do (`read`, `operate`, `admin`; `admin` for the
    /// gateway's token, which reaches the servers themselves).
    pub role: String,
}

/// Turns a presented bearer token into its caller; `None` refuses it (401).
/// Called on every request, so a revoked token stops working at once.
pub trait Verifier: Send + Sync + 'static {
    fn verify(&self, token: &str) -> Option<Caller>;
}

/// The gateway's verifier: one secret, one caller.
pub struct SingleToken(pub String);

impl Verifier for SingleToken {
    fn verify(&self, token: &str) -> Option<Caller> {
        // An empty configured token never lets anyone in.
        (!self.0.is_empty() && http::guard::same_secret(token.as_bytes(), self.0.as_bytes())).then(
            || Caller {
                name: "gateway".into(),
                role: "admin".into(),
            },
        )
    }
}

/// The gateway's view of its servers (`gateway status --json`, `status`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GatewayView {
    pub project: String,
    pub servers: Vec<ServerView>,
}

/// One server in [`GatewayView`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerView {
    pub name: String,
    pub strategy: String,
    pub sharing: String,
    /// Open client sessions.
    pub sessions: usize,
    /// Whether the gateway holds the server's stdio now (for `session`
    /// servers: whether any one-off instance runs).
    pub attached: bool,
    /// Seconds since the last session ended, while none is open.
    pub idle_seconds: Option<u64>,
}

/// `Duration` as whole seconds in JSON.
mod duration_secs {
    use std::time::Duration;

    use serde::Serializer;

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(value.as_secs())
    }
}
