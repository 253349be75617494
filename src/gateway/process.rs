//! A [`Launcher`] with local child processes: one command line per server.
//!
//! What the hub's tests (and the gateway's fast tests) run servers with, so
//! the hub's logic is proven against real MCP servers without an engine. A
//! long-lived server is one child per server, a session server one child per
//! session; both get piped stdin/stdout and the gateway's stderr. Children
//! are killed when dropped, so they never outlive the launcher.
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::future::BoxFuture;
use tokio::process::{Child, Command};

use super::{Attached, GatewayServer, Launcher, SessionInstance, Stdio};
use crate::error::{Error, Result};

/// Runs each server as a local command.
#[derive(Default)]
pub struct ProcessLauncher {
    commands: HashMap<String, Vec<String>>,
    /// Long-lived children, by server name.
    running: Mutex<HashMap<String, Child>>,
    /// One-off children, by session instance id.
    sessions: Mutex<HashMap<String, Child>>,
    counter: AtomicU64,
}

impl ProcessLauncher {
    /// A launcher that knows no servers yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs server `server` as `argv` (program and arguments).
    pub fn command(mut self, server: &str, argv: Vec<String>) -> Self {
        self.commands.insert(server.to_string(), argv);
        self
    }

    /// The pid of the server's long-lived child, while one runs.
    pub fn pid(&self, server: &str) -> Option<u32> {
        let mut running = lock(&self.running);
        let child = running.get_mut(server)?;
        match child.try_wait() {
            Ok(None) => child.id(),
            _ => None,
        }
    }

    /// How many one-off session children are not yet ended.
    pub fn session_count(&self) -> usize {
        lock(&self.sessions).len()
    }

    fn spawn(&self, server: &GatewayServer) -> Result<(Child, Stdio)> {
        let argv = self.commands.get(&server.name).ok_or_else(|| {
            Error::invalid(format!(
                "no command is set for MCP server `{}`",
                server.name
            ))
        })?;
        let (program, args) = argv.split_first().ok_or_else(|| {
            Error::invalid(format!(
                "the command of MCP server `{}` is empty",
                server.name
            ))
        })?;
        let mut child = Command::new(program)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|err| {
                Error::runtime(format!(
                    "cannot start MCP server `{}` ({program}): {err}",
                    server.name
                ))
            })?;
        let (Some(input), Some(output)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(Error::runtime("a child process came without its pipes"));
        };
        let stdio = Stdio {
            input: Box::pin(input),
            output: Box::pin(output),
        };
        Ok((child, stdio))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere leaves the map itself consistent.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn kill(mut child: Child) {
    // Already gone is fine: this only makes sure and reaps.
    let _ = child.start_kill();
    let _ = child.wait().await;
}

impl Launcher for ProcessLauncher {
    fn attach<'a>(&'a self, server: &'a GatewayServer) -> BoxFuture<'a, Result<Attached>> {
        Box::pin(async move {
            // A pipe cannot be had twice: a child whose stdio was handed out
            // before is replaced by a fresh one.
            let old = lock(&self.running).remove(&server.name);
            if let Some(old) = old {
                kill(old).await;
            }
            let (child, stdio) = self.spawn(server)?;
            let run = self.counter.fetch_add(1, Ordering::Relaxed);
            let instance = format!("pid {} run {run}", child.id().unwrap_or(0));
            lock(&self.running).insert(server.name.clone(), child);
            Ok(Attached { stdio, instance })
        })
    }

    fn run_session<'a>(
        &'a self,
        server: &'a GatewayServer,
    ) -> BoxFuture<'a, Result<SessionInstance>> {
        Box::pin(async move {
            let (child, stdio) = self.spawn(server)?;
            let run = self.counter.fetch_add(1, Ordering::Relaxed);
            let id = format!("{}-session-{run}", server.name);
            lock(&self.sessions).insert(id.clone(), child);
            Ok(SessionInstance { stdio, id })
        })
    }

    fn end_session<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let child = lock(&self.sessions).remove(id);
            if let Some(child) = child {
                kill(child).await;
            }
            Ok(())
        })
    }

    fn stop<'a>(&'a self, server: &'a GatewayServer) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let child = lock(&self.running).remove(&server.name);
            if let Some(child) = child {
                kill(child).await;
            }
            Ok(())
        })
    }

    fn reap_orphans(&self) -> BoxFuture<'_, Result<usize>> {
        // Children are killed with their launcher and exit on stdin's EOF
        // when the gateway dies: none can be left from an earlier run.
        Box::pin(async { Ok(0) })
    }
}
