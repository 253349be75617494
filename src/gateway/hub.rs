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
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use tokio::io::BufReader;
use tokio::sync::{mpsc, oneshot};

use super::message::{self, LineReader, MAX_LINE};
use super::mux::{Action, InitCache, Mux, SessionId};
use super::{
    ClientSession, GatewayServer, GatewayView, Launcher, Message, ServerView, Sessions, Stdio,
    Target,
};
use crate::error::{Error, Result};
use crate::files::{WriteOptions, write_atomic};
use crate::profile::{Sharing, Strategy};

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

/// To a shared server's task, from the hub and the sessions.
enum Event {
    Open {
        session: SessionId,
        outbox: mpsc::UnboundedSender<Message>,
        ready: oneshot::Sender<Result<()>>,
    },
    Client(SessionId, Message),
    End(SessionId),
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
        Ok(Arc::new(Hub {
            project: project.to_string(),
            entries,
            launcher,
            next_session: AtomicU64::new(1),
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
        let (outbox, mut outbox_rx) = mpsc::unbounded_channel();
        let (ready, ready_rx) = oneshot::channel();
        let gone = || Error::runtime(format!("the gateway's task for `{}` ended", entry.def.name));
        events
            .send(Event::Open {
                session: id,
                outbox,
                ready,
            })
            .map_err(|_| gone())?;
        ready_rx.await.map_err(|_| gone())??;
        let (to_gateway, mut to_rx) = mpsc::channel::<Message>(SESSION_CHANNEL);
        let (from_tx, from_gateway) = mpsc::channel(SESSION_CHANNEL);
        let events = events.clone();
        tokio::spawn(async move {
            while let Some(msg) = to_rx.recv().await {
                if events.send(Event::Client(id, msg)).is_err() {
                    return;
                }
            }
            let _ = events.send(Event::End(id));
        });
        // The task never waits on a slow client: its outbox is unbounded and
        // this pump alone waits for the front end.
        tokio::spawn(async move {
            while let Some(msg) = outbox_rx.recv().await {
                if from_tx.send(msg).await.is_err() {
                    return;
                }
            }
        });
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
                    // `/mcp` is built by `aggregate` on top of per-server
                    // sessions; until it is wired in, say so.
                    return Err(Error::runtime("the aggregated endpoint is not available")
                        .hint("open one server (`/servers/<server>/mcp`, `mcpm docker connect SERVER`)"));
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
fn cache_path(dir: &Path, server: &str) -> PathBuf {
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

fn load_cache(path: &Path, server: &str) -> Option<InitCache> {
    let bytes = std::fs::read(path).ok()?;
    match serde_json::from_slice(&bytes) {
        Ok(cache) => Some(cache),
        Err(err) => {
            log(server, &format!("ignoring {}: {err}", path.display()));
            None
        }
    }
}

fn save_cache(path: &Path, server: &str, cache: &InitCache) {
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

/// The first gateway id of a shared server's mux: a thousand per
/// millisecond since the epoch, so a restarted gateway never reuses the ids
/// of the one before it on the same server instance (and stays below 2^53,
/// exact in every JSON reader).
fn id_seed() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (now.as_millis() as u64).saturating_mul(1000)
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// The server's current attachment.
struct Conn {
    writer: mpsc::UnboundedSender<Message>,
    since: Instant,
}

/// The task of one shared server.
struct SharedTask {
    def: GatewayServer,
    launcher: Arc<dyn Launcher>,
    stats: Arc<Mutex<Stats>>,
    cache_file: Option<PathBuf>,
    mux: Mux,
    sessions: HashMap<SessionId, mpsc::UnboundedSender<Message>>,
    conn: Option<Conn>,
    generation: u64,
    attaching: bool,
    stopping: bool,
    /// Opens waiting for the attach in progress.
    waiting: Vec<(SessionId, oneshot::Sender<Result<()>>)>,
    /// Stay attached without sessions (`always-on`; `pre-warmed` once used).
    keep: bool,
    backoff: Duration,
    retry_at: Option<Instant>,
    idle_at: Option<Instant>,
    internal: mpsc::UnboundedSender<Internal>,
    internal_rx: Option<mpsc::UnboundedReceiver<Internal>>,
}

impl SharedTask {
    fn new(
        def: GatewayServer,
        launcher: Arc<dyn Launcher>,
        stats: Arc<Mutex<Stats>>,
        cache_file: Option<PathBuf>,
    ) -> Self {
        let cache = cache_file
            .as_deref()
            .and_then(|path| load_cache(path, &def.name));
        let (internal, internal_rx) = mpsc::unbounded_channel();
        Self {
            mux: Mux::new(&def.name, cache).starting_at(id_seed()),
            def,
            launcher,
            stats,
            cache_file,
            sessions: HashMap::new(),
            conn: None,
            generation: 0,
            attaching: false,
            stopping: false,
            waiting: Vec::new(),
            keep: false,
            backoff: BACKOFF_START,
            retry_at: None,
            idle_at: None,
            internal,
            internal_rx: Some(internal_rx),
        }
    }

    async fn run(mut self, mut events: mpsc::UnboundedReceiver<Event>) {
        let Some(mut internal) = self.internal_rx.take() else {
            return;
        };
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Some(event) => self.on_event(event),
                    // The hub and every session are gone.
                    None => break,
                },
                Some(event) = internal.recv() => self.on_internal(event),
                _ = sleep_until(self.retry_at) => {
                    self.retry_at = None;
                    self.start_attach();
                }
                _ = sleep_until(self.idle_at) => {
                    self.idle_at = None;
                    self.on_idle();
                }
            }
        }
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Open {
                session,
                outbox,
                ready,
            } => {
                self.sessions.insert(session, outbox);
                self.idle_at = None;
                {
                    let mut stats = lock(&self.stats);
                    stats.sessions = self.sessions.len();
                    stats.idle_since = None;
                }
                if self.conn.is_some() {
                    let _ = ready.send(Ok(()));
                    return;
                }
                self.waiting.push((session, ready));
                // A new client does not wait out a backoff.
                self.retry_at = None;
                self.start_attach();
            }
            Event::Client(session, msg) => {
                if self.sessions.contains_key(&session) {
                    let actions = self.mux.on_client(session, msg);
                    self.apply(actions);
                }
            }
            Event::End(session) => self.end(session),
            Event::Warm => {
                self.keep = true;
                self.start_attach();
            }
        }
    }

    fn on_internal(&mut self, event: Internal) {
        match event {
            Internal::Attached(Ok(attached)) => {
                self.attaching = false;
                self.generation += 1;
                let writer = spawn_io(
                    attached.stdio,
                    self.generation,
                    self.def.name.clone(),
                    self.internal.clone(),
                );
                self.conn = Some(Conn {
                    writer,
                    since: Instant::now(),
                });
                lock(&self.stats).instances = 1;
                if self.def.strategy != Strategy::OnDemand {
                    self.keep = true;
                }
                let actions = self.mux.on_attached(&attached.instance);
                self.apply(actions);
                for (_, ready) in self.waiting.drain(..) {
                    let _ = ready.send(Ok(()));
                }
                self.idle_if_unused();
            }
            Internal::Attached(Err(err)) => {
                self.attaching = false;
                log(&self.def.name, &format!("cannot attach: {err}"));
                let waiting = std::mem::take(&mut self.waiting);
                for (session, ready) in waiting {
                    let mut error = Error::new(err.status, err.message.clone());
                    error.hint = err.hint.clone();
                    let _ = ready.send(Err(error));
                    self.end(session);
                }
                let actions = self
                    .mux
                    .fail_queued(&format!("could not be attached: {}", err.message));
                self.apply(actions);
                self.schedule_retry();
            }
            Internal::Line(generation, msg) => {
                if generation == self.generation && self.conn.is_some() {
                    let actions = self.mux.on_server(msg);
                    self.apply(actions);
                }
            }
            Internal::Eof(generation) => {
                if generation != self.generation {
                    return;
                }
                let Some(conn) = self.conn.take() else { return };
                lock(&self.stats).instances = 0;
                if conn.since.elapsed() >= BACKOFF_RESET_AFTER {
                    self.backoff = BACKOFF_START;
                }
                log(&self.def.name, "the server's stdio closed");
                let actions = self.mux.on_server_gone();
                self.apply(actions);
                self.schedule_retry();
            }
            Internal::Stopped => {
                self.stopping = false;
                if !self.sessions.is_empty() || !self.waiting.is_empty() {
                    self.start_attach();
                }
            }
        }
    }

    fn start_attach(&mut self) {
        if self.attaching || self.stopping || self.conn.is_some() {
            return;
        }
        self.attaching = true;
        let launcher = self.launcher.clone();
        let def = self.def.clone();
        let internal = self.internal.clone();
        tokio::spawn(async move {
            let result = launcher.attach(&def).await;
            let _ = internal.send(Internal::Attached(result));
        });
    }

    /// Reattaches later, with backoff, when something still needs the server.
    fn schedule_retry(&mut self) {
        if self.sessions.is_empty() && !self.keep {
            return;
        }
        self.retry_at = Some(Instant::now() + self.backoff);
        log(
            &self.def.name,
            &format!("reattaching in {:.1} s", self.backoff.as_secs_f64()),
        );
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
    }

    fn end(&mut self, session: SessionId) {
        if self.sessions.remove(&session).is_none() {
            return;
        }
        let actions = self.mux.on_session_end(session);
        self.apply(actions);
        {
            let mut stats = lock(&self.stats);
            stats.sessions = self.sessions.len();
            if self.sessions.is_empty() {
                stats.idle_since = Some(Instant::now());
            }
        }
        self.idle_if_unused();
    }

    /// Arms the idle timer of an on-demand server nobody uses.
    fn idle_if_unused(&mut self) {
        if self.def.strategy == Strategy::OnDemand
            && self.sessions.is_empty()
            && self.waiting.is_empty()
        {
            self.idle_at = Some(Instant::now() + self.def.idle_timeout);
        }
    }

    /// The idle timeout passed: an on-demand server is detached and stopped.
    fn on_idle(&mut self) {
        if !self.sessions.is_empty() || self.def.strategy != Strategy::OnDemand {
            return;
        }
        if self.attaching {
            // Decided again once the attach is done.
            return;
        }
        self.retry_at = None;
        if self.conn.take().is_some() {
            lock(&self.stats).instances = 0;
            // Its stdio ending now is not a crash.
            self.generation += 1;
            let actions = self.mux.on_server_gone();
            self.apply(actions);
        }
        log(&self.def.name, "idle: stopping it");
        self.stopping = true;
        let launcher = self.launcher.clone();
        let def = self.def.clone();
        let internal = self.internal.clone();
        tokio::spawn(async move {
            if let Err(err) = launcher.stop(&def).await {
                log(&def.name, &format!("cannot stop it: {err}"));
            }
            let _ = internal.send(Internal::Stopped);
        });
    }

    fn apply(&mut self, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::ToServer(msg) => {
                    if let Some(conn) = &self.conn {
                        let _ = conn.writer.send(msg);
                    }
                }
                Action::ToSession(session, msg) => {
                    if let Some(outbox) = self.sessions.get(&session) {
                        let _ = outbox.send(msg);
                    }
                }
            }
        }
        if let (Some(cache), Some(path)) = (self.mux.take_cache_update(), &self.cache_file) {
            save_cache(path, &self.def.name, &cache);
        }
    }
}

/// The task of one client session on its own one-off instance.
struct OneOff {
    def: GatewayServer,
    launcher: Arc<dyn Launcher>,
    stats: Arc<Mutex<Stats>>,
}

/// The one session of a one-off instance's mux.
const ONLY: SessionId = 1;

impl OneOff {
    async fn run(
        self,
        instance: super::SessionInstance,
        mut from_client: mpsc::Receiver<Message>,
        to_client: mpsc::Sender<Message>,
    ) {
        let (internal, mut events) = mpsc::unbounded_channel();
        let writer = spawn_io(instance.stdio, 1, self.def.name.clone(), internal);
        let mut mux = Mux::new(&self.def.name, None);
        let mut pending = mux.on_attached(&instance.id);
        loop {
            for action in pending.drain(..) {
                match action {
                    Action::ToServer(msg) => {
                        let _ = writer.send(msg);
                    }
                    Action::ToSession(_, msg) => {
                        // The client is gone when this fails; its end follows.
                        let _ = to_client.send(msg).await;
                    }
                }
            }
            tokio::select! {
                msg = from_client.recv() => match msg {
                    Some(msg) => pending = mux.on_client(ONLY, msg),
                    None => break,
                },
                Some(event) = events.recv() => match event {
                    Internal::Line(_, msg) => pending = mux.on_server(msg),
                    Internal::Eof(_) => {
                        for action in mux.on_server_gone() {
                            if let Action::ToSession(_, msg) = action {
                                let _ = to_client.send(msg).await;
                            }
                        }
                        break;
                    }
                    Internal::Attached(_) | Internal::Stopped => {}
                },
            }
        }
        drop(writer);
        drop(to_client);
        if let Err(err) = self.launcher.end_session(&instance.id).await {
            log(
                &self.def.name,
                &format!("cannot remove {}: {err}", instance.id),
            );
        }
        let mut stats = lock(&self.stats);
        stats.sessions = stats.sessions.saturating_sub(1);
        stats.instances = stats.instances.saturating_sub(1);
        if stats.sessions == 0 {
            stats.idle_since = Some(Instant::now());
        }
    }
}
