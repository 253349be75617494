//! The hub: owns the running servers and the client sessions on them.
//!
//! Per `shared` server one task owns the server's stdio and a [`Mux`]; every
//! session on that server is a pair of channels into that task. Per
//! `session` server each client session gets its own one-off instance
//! ([`Launcher::run_session`]) and a task of its own, still through a `Mux`
//! so that 2026-07-28 clients (which send no `initialize`) work there too.
//!
//! Strategies (SPEC §6b): `always-on` servers are attached at
//! [`Hub::start`]; `pre-warmed` ones at their first session and kept;
//! `on-demand` ones at their first session and stopped `idle_timeout` after
//! the last one ends. A shared server whose stdio ends is reattached with
//! backoff (0.5 s doubling to 30 s) while sessions need it or its strategy
//! keeps it. The `initialize` exchange is persisted per server so that a
//! restarted gateway finding the same instance does not send a second one.
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::io::BufReader;
use tokio::sync::{mpsc, oneshot};
// tokio's clock, not std's: timers and idle times follow it (and tests can pause it).
use tokio::time::Instant;

use super::message::{self, LineReader, MAX_LINE};
use super::mux::{InitCache, SessionId};
use super::{
    ClientSession, GatewayServer, GatewayView, Launcher, Message, ServerView, Sessions, Stdio,
    Target,
};
use crate::error::{Error, Result};
use crate::files::{WriteOptions, write_atomic};
use crate::profile::{Sharing, Strategy};

mod oneoff;
mod shared;

use oneoff::OneOff;
use shared::SharedTask;

/// First wait before reattaching a server whose stdio ended.
const BACKOFF_START: Duration = Duration::from_millis(500);
/// Longest wait between reattach attempts.
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// An attachment that lasted this long resets the backoff (a server that
/// dies right after each attach keeps backing off).
const BACKOFF_RESET_AFTER: Duration = Duration::from_secs(10);
/// Messages a front end may have waiting in either direction of a session.
const SESSION_CHANNEL: usize = 256;

/// The gateway's sessions over its servers.
pub struct Hub {
    project: String,
    entries: Vec<Entry>,
    launcher: Arc<dyn Launcher>,
    next_session: AtomicU64,
    /// The hub itself, for the aggregated endpoint's per-server sessions.
    me: Weak<Hub>,
}

struct Entry {
    def: GatewayServer,
    stats: Arc<Mutex<Stats>>,
    /// The shared server's task; `None` for `session` servers.
    events: Option<mpsc::UnboundedSender<Event>>,
}

/// What [`Hub::view`] shows of a server.
#[derive(Debug, Default)]
struct Stats {
    sessions: usize,
    /// Shared: attached now. Session servers: one-off instances running.
    instances: usize,
    idle_since: Option<Instant>,
}

/// To a shared server's task, from the hub.
enum Event {
    /// A new session: its two channels, and where to say whether the server
    /// could be attached for it.
    Open {
        session: SessionId,
        inbox: mpsc::Receiver<Message>,
        outbox: mpsc::Sender<Message>,
        ready: oneshot::Sender<Result<()>>,
    },
    /// Attach now and stay attached (`always-on` at start).
    Warm,
}

/// To a server's task, from its own helpers (I/O and launcher calls).
enum Internal {
    Attached(Result<super::Attached>),
    Line(u64, Message),
    Eof(u64),
    Stopped,
}

impl Hub {
    /// Starts the hub: removes one-off instances an earlier gateway left
    /// behind, starts a task per shared server and attaches the `always-on`
    /// ones. `cache_dir` keeps each server's `initialize` (`<server>.json`).
    pub async fn start(
        project: &str,
        servers: Vec<GatewayServer>,
        launcher: Arc<dyn Launcher>,
        cache_dir: Option<PathBuf>,
    ) -> Result<Arc<Hub>> {
        for (i, def) in servers.iter().enumerate() {
            if let Some(other) = servers[..i].iter().find(|o| o.name == def.name) {
                return Err(Error::invalid(format!(
                    "services `{}` and `{}` of project `{project}` are both MCP server `{}`",
                    other.service, def.service, def.name
                ))
                .hint("give them different `io.mcpm.server` labels (or service names)"));
            }
        }
        match launcher.reap_orphans().await {
            Ok(0) => {}
            Ok(n) => log(
                project,
                &format!("removed {n} one-off instance(s) an earlier gateway left"),
            ),
            Err(err) => log(
                project,
                &format!("could not look for orphaned instances: {err}"),
            ),
        }
        let mut entries = Vec::new();
        for def in servers {
            let stats = Arc::new(Mutex::new(Stats::default()));
            let events = match def.sharing {
                Sharing::Session => None,
                Sharing::Shared => {
                    let (tx, rx) = mpsc::unbounded_channel();
                    let cache_file = cache_dir.as_deref().map(|dir| cache_path(dir, &def.name));
                    let task =
                        SharedTask::new(def.clone(), launcher.clone(), stats.clone(), cache_file);
                    tokio::spawn(task.run(rx));
                    if def.strategy == Strategy::AlwaysOn {
                        let _ = tx.send(Event::Warm);
                    }
                    Some(tx)
                }
            };
            entries.push(Entry { def, stats, events });
        }
        Ok(Arc::new_cyclic(|me| Hub {
            project: project.to_string(),
            entries,
            launcher,
            next_session: AtomicU64::new(1),
            me: me.clone(),
        }))
    }

    fn entry(&self, name: &str) -> Result<&Entry> {
        if let Some(entry) = self.entries.iter().find(|e| e.def.name == name) {
            return Ok(entry);
        }
        let names: Vec<&str> = self.entries.iter().map(|e| e.def.name.as_str()).collect();
        let error = Error::invalid(format!(
            "no MCP server `{name}` in project `{}`",
            self.project
        ));
        Err(if names.is_empty() {
            error.hint("this project has no stdio servers; `stdin_open: true` marks one in the compose file")
        } else {
            error.hint(format!("the servers there: {}", names.join(", ")))
        })
    }

    async fn open_shared(
        &self,
        entry: &Entry,
        events: &mpsc::UnboundedSender<Event>,
    ) -> Result<ClientSession> {
        let id = self.next_session.fetch_add(1, Ordering::Relaxed);
        let (to_gateway, inbox) = mpsc::channel(SESSION_CHANNEL);
        let (outbox, from_gateway) = mpsc::channel(SESSION_CHANNEL);
        let (ready, ready_rx) = oneshot::channel();
        let gone = || Error::runtime(format!("the gateway's task for `{}` ended", entry.def.name));
        let open = Event::Open {
            session: id,
            inbox,
            outbox,
            ready,
        };
        events.send(open).map_err(|_| gone())?;
        // On an error `to_gateway` is dropped here, which ends the session.
        ready_rx.await.map_err(|_| gone())??;
        Ok(ClientSession {
            id,
            to_gateway,
            from_gateway,
        })
    }

    async fn open_session_server(&self, entry: &Entry) -> Result<ClientSession> {
        let id = self.next_session.fetch_add(1, Ordering::Relaxed);
        let instance = self.launcher.run_session(&entry.def).await?;
        {
            let mut stats = lock(&entry.stats);
            stats.sessions += 1;
            stats.instances += 1;
            stats.idle_since = None;
        }
        let (to_gateway, to_rx) = mpsc::channel(SESSION_CHANNEL);
        let (from_tx, from_gateway) = mpsc::channel(SESSION_CHANNEL);
        let task = OneOff {
            def: entry.def.clone(),
            launcher: self.launcher.clone(),
            stats: entry.stats.clone(),
        };
        tokio::spawn(task.run(instance, to_rx, from_tx));
        Ok(ClientSession {
            id,
            to_gateway,
            from_gateway,
        })
    }
}

impl Sessions for Hub {
    fn open(&self, target: Target) -> BoxFuture<'_, Result<ClientSession>> {
        Box::pin(async move {
            let name = match target {
                Target::Server(name) => name,
                Target::All => {
                    // `/mcp` is built by `aggregate` on top of one
                    // per-server session each, opened on this same hub.
                    let hub: Arc<dyn Sessions> = self
                        .me
                        .upgrade()
                        .ok_or_else(|| Error::runtime("the gateway is shutting down"))?;
                    let names = self.entries.iter().map(|e| e.def.name.clone()).collect();
                    return super::aggregate::open(hub, names).await;
                }
            };
            let entry = self.entry(&name)?;
            match &entry.events {
                Some(events) => self.open_shared(entry, events).await,
                None => self.open_session_server(entry).await,
            }
        })
    }

    fn view(&self) -> GatewayView {
        let servers = self
            .entries
            .iter()
            .map(|entry| {
                let stats = lock(&entry.stats);
                ServerView {
                    name: entry.def.name.clone(),
                    strategy: entry.def.strategy.as_str().to_string(),
                    sharing: entry.def.sharing.as_str().to_string(),
                    sessions: stats.sessions,
                    attached: stats.instances > 0,
                    idle_seconds: match stats.sessions {
                        0 => stats.idle_since.map(|t| t.elapsed().as_secs()),
                        _ => None,
                    },
                }
            })
            .collect();
        GatewayView {
            project: self.project.clone(),
            servers,
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn log(scope: &str, text: &str) {
    eprintln!("mcpm gateway: {scope}: {text}");
}

/// `<dir>/<server>.json`, the server name made safe for a file name.
pub(super) fn cache_path(dir: &Path, server: &str) -> PathBuf {
    let safe: String = server
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("{safe}.json"))
}

pub(super) fn load_cache(path: &Path, server: &str) -> Option<InitCache> {
    let bytes = std::fs::read(path).ok()?;
    match serde_json::from_slice(&bytes) {
        Ok(cache) => Some(cache),
        Err(err) => {
            log(server, &format!("ignoring {}: {err}", path.display()));
            None
        }
    }
}

pub(super) fn save_cache(path: &Path, server: &str, cache: &InitCache) {
    let write = || -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|err| Error::io("create", dir, err))?;
        }
        let text = serde_json::to_vec_pretty(cache)
            .map_err(|err| Error::runtime(format!("cannot encode the initialize cache: {err}")))?;
        let options = WriteOptions {
            mode: Some(0o600),
            backup: false,
        };
        write_atomic(path, &text, options).map(|_| ())
    };
    if let Err(err) = write() {
        // Only a later restart pays for it (with a second `initialize`).
        log(server, &format!("cannot keep the initialize result: {err}"));
    }
}

/// Starts the reader and writer of one server stdio; lines and the end come
/// back as [`Internal`] events tagged with `generation`. Returns the writer's
/// queue.
fn spawn_io(
    stdio: Stdio,
    generation: u64,
    server: String,
    internal: mpsc::UnboundedSender<Internal>,
) -> mpsc::UnboundedSender<Message> {
    let Stdio { mut input, output } = stdio;
    let events = internal.clone();
    tokio::spawn(async move {
        let mut lines = LineReader::new(BufReader::new(output), MAX_LINE);
        loop {
            match lines.next().await {
                Ok(Some(Ok(msg))) => {
                    if events.send(Internal::Line(generation, msg)).is_err() {
                        return;
                    }
                }
                Ok(Some(Err(bad))) => {
                    log(&server, &format!("ignoring a line from the server: {bad}"))
                }
                Ok(None) => break,
                Err(err) => {
                    log(
                        &server,
                        &format!("reading the server's stdout failed: {err}"),
                    );
                    break;
                }
            }
        }
        let _ = events.send(Internal::Eof(generation));
    });
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    tokio::spawn(async move {
        while let Some(msg) = rx.recv().await {
            if message::write_message(&mut input, &msg).await.is_err() {
                let _ = internal.send(Internal::Eof(generation));
                return;
            }
        }
        // Dropping `input` closes the server's stdin.
    });
    tx
}
