//! PENDING MERGE: stand-ins for the gateway parts other streams write, with
//! the signatures `run` calls. Each item names the real one that replaces it:
//!
//! | stand-in | real item |
//! |---|---|
//! | `socket_bind(&Path) -> Result<UnixListener>` | `crate::gateway::socket::bind` |
//! | `socket_serve(UnixListener, Arc<dyn Sessions>) -> Result<()>` | `crate::gateway::socket::serve` |
//! | `http_serve(TcpListener, Arc<dyn Sessions>, token: String) -> Result<()>` | `crate::gateway::http::serve` |
//! | `launcher(&Desired) -> Result<Arc<dyn Launcher>>` | `crate::engine::attach::EngineLauncher::new` |
//! | `hub(project, servers, Arc<dyn Launcher>, init_dir) -> Arc<Hub>` | `crate::gateway::hub::Hub::new` |
//! | `Hub::start(&self) -> Result<()>`, `Hub::shutdown(&self)`, `impl Sessions for Hub` | `crate::gateway::hub::Hub` |
//!
//! They are honest about being absent: the socket answers the status line
//! (so `gateway status|stop`, `--detach` and `connect`'s start-up work end
//! to end), every session is refused with an error that says the hub is
//! missing, and HTTP requests get 503.
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, UnixListener};

use crate::engine::desired::Desired;
use crate::error::{Error, Result};
use crate::gateway::{
    Attached, ClientSession, GatewayServer, GatewayView, Launcher, ServerView, SessionInstance,
    Sessions, Target,
};

fn missing(part: &str) -> Error {
    Error::runtime(format!(
        "this mcpm build has no gateway {part} yet (PENDING MERGE)"
    ))
}

/// Stand-in for `socket::bind`: the caller has checked that no live gateway
/// owns the path, so a leftover socket file is replaced.
pub fn socket_bind(path: &Path) -> Result<UnixListener> {
    let _ = std::fs::remove_file(path);
    UnixListener::bind(path).map_err(|err| Error::io("listen on", path, err))
}

/// Stand-in for `socket::serve`: answers the hello line only.
pub async fn socket_serve(listener: UnixListener, sessions: Arc<dyn Sessions>) -> Result<()> {
    loop {
        let (stream, _) = listener
            .accept()
            .await
            .map_err(|err| Error::runtime(format!("socket accept failed: {err}")))?;
        let sessions = sessions.clone();
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            let Ok(Some(line)) = lines.next_line().await else {
                return;
            };
            let hello: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            let answer = if hello["status"] == json!(true) {
                json!({"ok": true, "view": sessions.view()})
            } else {
                let target = match hello["open"].as_str() {
                    Some("*") => Target::All,
                    Some(name) => Target::Server(name.to_string()),
                    None => Target::Server(String::new()),
                };
                let err = match sessions.open(target).await {
                    Err(err) => err,
                    Ok(_) => missing("socket front end"),
                };
                json!({"ok": false, "error": err.message, "hint": err.hint, "exit": err.status as u8})
            };
            let _ = write.write_all(format!("{answer}\n").as_bytes()).await;
        });
    }
}

/// Stand-in for `http::serve`: holds the port and answers 503.
pub async fn http_serve(
    listener: TcpListener,
    _sessions: Arc<dyn Sessions>,
    _token: String,
) -> Result<()> {
    loop {
        let (mut stream, _) = listener
            .accept()
            .await
            .map_err(|err| Error::runtime(format!("accept failed: {err}")))?;
        tokio::spawn(async move {
            let body = "this mcpm build has no HTTP front end yet (PENDING MERGE)\n";
            let response = format!(
                "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        });
    }
}

/// Stand-in for `engine::attach::EngineLauncher`.
struct MissingLauncher;

impl Launcher for MissingLauncher {
    fn attach<'a>(&'a self, _: &'a GatewayServer) -> BoxFuture<'a, Result<Attached>> {
        Box::pin(async { Err(missing("engine launcher")) })
    }
    fn run_session<'a>(&'a self, _: &'a GatewayServer) -> BoxFuture<'a, Result<SessionInstance>> {
        Box::pin(async { Err(missing("engine launcher")) })
    }
    fn end_session<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async { Err(missing("engine launcher")) })
    }
    fn stop<'a>(&'a self, _: &'a GatewayServer) -> BoxFuture<'a, Result<()>> {
        Box::pin(async { Err(missing("engine launcher")) })
    }
    fn reap_orphans(&self) -> BoxFuture<'_, Result<usize>> {
        Box::pin(async { Err(missing("engine launcher")) })
    }
}

/// Stand-in for `EngineLauncher::new(&desired)`.
pub async fn launcher(_desired: &Desired) -> Result<Arc<dyn Launcher>> {
    Ok(Arc::new(MissingLauncher))
}

/// Stand-in for `hub::Hub`.
pub struct Hub {
    project: String,
    servers: Vec<GatewayServer>,
    _launcher: Arc<dyn Launcher>,
    _init_dir: PathBuf,
}

/// Stand-in for `Hub::new(project, servers, launcher, init_dir)`.
pub fn hub(
    project: String,
    servers: Vec<GatewayServer>,
    launcher: Arc<dyn Launcher>,
    init_dir: PathBuf,
) -> Arc<Hub> {
    Arc::new(Hub {
        project,
        servers,
        _launcher: launcher,
        _init_dir: init_dir,
    })
}

impl Hub {
    /// Reaps orphans and attaches always-on servers (nothing, standing in).
    pub async fn start(&self) -> Result<()> {
        Ok(())
    }

    /// Ends sessions and removes one-off instances (nothing, standing in).
    pub async fn shutdown(&self) {}
}

impl Sessions for Hub {
    fn open(&self, target: Target) -> BoxFuture<'_, Result<ClientSession>> {
        Box::pin(async move {
            if let Target::Server(name) = &target
                && !self.servers.iter().any(|s| &s.name == name)
            {
                let names: Vec<&str> = self.servers.iter().map(|s| s.name.as_str()).collect();
                return Err(
                    Error::invalid(format!("no server `{name}` in this gateway"))
                        .hint(format!("servers there: {}", names.join(", "))),
                );
            }
            Err(missing("hub"))
        })
    }

    fn view(&self) -> GatewayView {
        GatewayView {
            project: self.project.clone(),
            servers: self
                .servers
                .iter()
                .map(|s| ServerView {
                    name: s.name.clone(),
                    strategy: s.strategy.as_str().to_string(),
                    sharing: s.sharing.as_str().to_string(),
                    sessions: 0,
                    attached: false,
                    idle_seconds: None,
                })
                .collect(),
        }
    }
}
