//! The transports of `mcpm mcp serve`: newline-delimited JSON-RPC on
//! stdin/stdout, or MCP streamable HTTP through the gateway's front end
//! (`gateway::http`) at `/mcp`, with bearer tokens from the token file and
//! optionally a Prometheus listener (`--metrics`).
use std::net::SocketAddr;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use super::audit::AuditLog;
use super::metrics::{self, Metrics};
use super::roles::Role;
use super::scope::{Scope, Source};
use super::server::{Caller, Server};
use super::tokens::{self, TokenVerifier};
use crate::config::ConfigDir;
use crate::error::{Error, ExitStatus, Result};
use crate::gateway::http::{self as front, HttpOptions, guard};
use crate::gateway::{self, ClientSession, GatewayView, Sessions, Target};

/// What `mcpm mcp serve` was asked to do.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub sources: Vec<Source>,
    /// The role over stdio (HTTP callers get their token's).
    pub role: Role,
    /// `--http ADDR:PORT`.
    pub http: Option<SocketAddr>,
    /// `--metrics ADDR:PORT`.
    pub metrics: Option<SocketAddr>,
}

/// Messages a session may have in flight before reading more waits.
const QUEUE: usize = 64;

/// Runs the server until stdin closes (stdio) or Ctrl-C / SIGTERM (HTTP).
pub fn run(config: &ConfigDir, options: ServeOptions) -> Result<()> {
    let scope = Scope::new(config, options.sources.clone())?;
    let verifier = match options.http {
        Some(addr) => Some(http_verifier(config, addr)?),
        None => None,
    };
    let audit = AuditLog::open(config.path())?;
    let projects = scope.projects();
    let server = Arc::new(Server {
        config: config.clone(),
        scope,
        audit,
        metrics: Arc::new(Metrics::new()),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| Error::runtime(format!("cannot start the async runtime: {err}")))?;
    runtime.block_on(async move {
        if let Some(addr) = options.metrics {
            let listener = bind(addr, "--metrics").await?;
            eprintln!(
                "mcpm mcp serve: metrics on http://{}/metrics",
                local(&listener)
            );
            tokio::spawn(metrics::serve(
                listener,
                server.metrics.clone(),
                projects.clone(),
                Box::pin(std::future::pending()),
            ));
        }
        match (options.http, verifier) {
            (Some(addr), Some(verifier)) => serve_http(server, addr, verifier, &projects).await,
            _ => serve_stdio(server, options.role).await,
        }
    })
}

/// The token verifier for `--http`: refuses to start without a token, and
/// with a bad token file.
fn http_verifier(config: &ConfigDir, addr: SocketAddr) -> Result<Arc<TokenVerifier>> {
    let file = tokens::path(config.path());
    let verifier = TokenVerifier::new(file.clone())?;
    if verifier.count() == 0 {
        let mut error = Error::invalid(format!(
            "no MCP tokens are defined ({}), so no HTTP client could call",
            file.display()
        ))
        .hint("create one first: mcpm mcp token create --name NAME --role read");
        if !addr.ip().is_loopback() {
            error.message.push_str(&format!(
                "; {addr} is reachable from other hosts and is never served without tokens"
            ));
        }
        return Err(error);
    }
    Ok(Arc::new(verifier))
}

async fn bind(addr: SocketAddr, flag: &str) -> Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await.map_err(|err| {
        Error::runtime(format!("cannot listen on {addr} ({flag}): {err}"))
            .hint("pick another port, or stop what listens there")
    })
}

fn local(listener: &tokio::net::TcpListener) -> String {
    listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default()
}

async fn serve_stdio(server: Arc<Server>, role: Role) -> Result<()> {
    let caller = Caller {
        name: "stdio".into(),
        role,
        transport: "stdio",
    };
    server.metrics.session_opened("stdio");
    let (out_tx, mut out_rx) = mpsc::channel::<Value>(QUEUE);
    let writer = tokio::spawn(async move {
        let mut stdout = tokio::io::stdout();
        while let Some(message) = out_rx.recv().await {
            let mut line = message.to_string();
            line.push('\n');
            if stdout.write_all(line.as_bytes()).await.is_err() || stdout.flush().await.is_err() {
                // The client went away: nothing more can be answered.
                break;
            }
        }
    });
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut calls = tokio::task::JoinSet::new();
    loop {
        let line = match lines.next_line().await {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(err) => {
                eprintln!("mcpm mcp serve: cannot read stdin: {err}");
                break;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let message: Value = match serde_json::from_str(&line) {
            Ok(message) => message,
            Err(err) => {
                let _ = out_tx
                    .send(json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": format!("parse error: {err}")}}))
                    .await;
                continue;
            }
        };
        // Each request runs on its own, so a `ping` is answered while a
        // deploy runs.
        let (server, caller, out) = (server.clone(), caller.clone(), out_tx.clone());
        calls.spawn(async move {
            if let Some(answer) = server.handle(&caller, message).await {
                let _ = out.send(answer).await;
            }
        });
    }
    // stdin closed: the calls in flight still get their answers.
    while calls.join_next().await.is_some() {}
    drop(out_tx);
    let _ = writer.await;
    server.metrics.session_closed("stdio");
    Ok(())
}

async fn serve_http(
    server: Arc<Server>,
    addr: SocketAddr,
    verifier: Arc<TokenVerifier>,
    projects: &[String],
) -> Result<()> {
    let listener = bind(addr, "--http").await?;
    let bound = listener.local_addr().unwrap_or(addr);
    let (allowed_hosts, allowed_origins) = if bound.ip().is_loopback() {
        guard::loopback_names(bound.port())
    } else {
        // Bound for other hosts (a container's port): clients name the host
        // as they reach it, which this process cannot know; the tokens are
        // the guard, and browsers' cross-site requests are still refused.
        (Vec::new(), Vec::new())
    };
    eprintln!(
        "mcpm mcp serve: MCP on http://{bound}/mcp for {} (bearer tokens from {})",
        projects.join(", "),
        tokens::FILE_NAME
    );
    let shutdown: BoxFuture<'static, ()> = Box::pin(async {
        if crate::gateway::run::shutdown_signal().await.is_err() {
            // No signal handler: run until killed rather than stop at once.
            std::future::pending::<()>().await;
        }
    });
    let options = HttpOptions {
        verifier,
        token_help: "tokens are made with `mcpm mcp token create`".into(),
        allowed_hosts,
        allowed_origins,
        shutdown,
        session_idle: front::DEFAULT_SESSION_IDLE,
        max_body: front::DEFAULT_MAX_BODY,
    };
    let sessions: Arc<dyn Sessions> = Arc::new(HttpSessions { server });
    front::serve(listener, sessions, options).await;
    Ok(())
}

/// The MCP server as the HTTP front end's [`Sessions`]: one session per
/// `initialize`, acting with its token's role.
struct HttpSessions {
    server: Arc<Server>,
}

impl Sessions for HttpSessions {
    fn open(&self, _target: Target) -> BoxFuture<'_, Result<ClientSession>> {
        Box::pin(async {
            Err(Error::runtime(
                "an mcpm mcp serve session needs a verified caller",
            ))
        })
    }

    fn open_as(
        &self,
        target: Target,
        caller: gateway::Caller,
    ) -> BoxFuture<'_, Result<ClientSession>> {
        Box::pin(async move {
            if let Target::Server(name) = target {
                return Err(Error::new(
                    ExitStatus::Invalid,
                    format!("no endpoint /servers/{name}/mcp here: mcpm mcp serve answers at /mcp"),
                ));
            }
            let role: Role = caller.role.parse()?;
            let caller = Caller {
                name: caller.name,
                role,
                transport: "http",
            };
            Ok(open_session(self.server.clone(), caller))
        })
    }

    fn view(&self) -> GatewayView {
        GatewayView::default()
    }
}

/// Starts the task that answers one HTTP session's messages.
fn open_session(server: Arc<Server>, caller: Caller) -> ClientSession {
    let (to_tx, mut to_rx) = mpsc::channel::<Value>(QUEUE);
    let (from_tx, from_rx) = mpsc::channel::<Value>(QUEUE);
    server.metrics.session_opened("http");
    tokio::spawn(async move {
        while let Some(message) = to_rx.recv().await {
            let (server, caller, out) = (server.clone(), caller.clone(), from_tx.clone());
            tokio::spawn(async move {
                if let Some(answer) = server.handle(&caller, message).await {
                    let _ = out.send(answer).await;
                }
            });
        }
        server.metrics.session_closed("http");
    });
    ClientSession {
        id: 0,
        to_gateway: to_tx,
        from_gateway: from_rx,
    }
}
