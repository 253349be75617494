//! The task of one shared server: owns its stdio and its [`Mux`], attaches
//! (and reattaches with backoff), and stops an idle on-demand server.
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::{BoxStream, SelectAll};
use tokio::sync::{mpsc, oneshot};
// tokio's clock, not std's: timers and idle times follow it (and tests can pause it).
use tokio::time::Instant;

use super::{
    BACKOFF_MAX, BACKOFF_RESET_AFTER, BACKOFF_START, Event, Internal, Stats, load_cache, lock, log,
    save_cache, spawn_io,
};
use crate::error::{Error, Result};
use crate::gateway::mux::{Action, Mux, SessionId};
use crate::gateway::{GatewayServer, Launcher, Message};
use crate::profile::Strategy;

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
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// What the sessions send, merged: `(session, None)` when one ends.
type Inbox = SelectAll<BoxStream<'static, (SessionId, Option<Message>)>>;

/// A session's messages as a stream that says when it ends.
fn inbox(
    session: SessionId,
    rx: mpsc::Receiver<Message>,
) -> BoxStream<'static, (SessionId, Option<Message>)> {
    futures_util::stream::unfold(Some(rx), move |rx| async move {
        let mut rx = rx?;
        match rx.recv().await {
            Some(msg) => Some(((session, Some(msg)), Some(rx))),
            None => Some(((session, None), None)),
        }
    })
    .boxed()
}

/// Where a session's messages go: straight into the front end's channel
/// while it has room; once it is full, through a backlog and a pump task,
/// so that a slow client never stalls the server's other sessions.
struct Outbox {
    tx: mpsc::Sender<Message>,
    backlog: Option<mpsc::UnboundedSender<Message>>,
}

impl Outbox {
    fn send(&mut self, msg: Message) {
        if let Some(backlog) = &self.backlog {
            let _ = backlog.send(msg);
            return;
        }
        match self.tx.try_send(msg) {
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
            Err(mpsc::error::TrySendError::Full(msg)) => {
                let (backlog, mut rx) = mpsc::unbounded_channel();
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    while let Some(msg) = rx.recv().await {
                        if tx.send(msg).await.is_err() {
                            return;
                        }
                    }
                });
                let _ = backlog.send(msg);
                self.backlog = Some(backlog);
            }
        }
    }
}

/// The server's current attachment.
struct Conn {
    writer: mpsc::UnboundedSender<Message>,
    since: Instant,
}

/// The task of one shared server.
pub(super) struct SharedTask {
    def: GatewayServer,
    launcher: Arc<dyn Launcher>,
    stats: Arc<Mutex<Stats>>,
    cache_file: Option<PathBuf>,
    mux: Mux,
    sessions: HashMap<SessionId, Outbox>,
    inbox: Inbox,
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
    pub(super) fn new(
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
            inbox: SelectAll::new(),
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

    pub(super) async fn run(mut self, mut events: mpsc::UnboundedReceiver<Event>) {
        let Some(mut internal) = self.internal_rx.take() else {
            return;
        };
        let mut hub_gone = false;
        loop {
            if hub_gone && self.sessions.is_empty() {
                // Nobody can open or use a session any more.
                break;
            }
            tokio::select! {
                event = events.recv(), if !hub_gone => match event {
                    Some(event) => self.on_event(event),
                    None => hub_gone = true,
                },
                Some((session, msg)) = self.inbox.next(), if !self.inbox.is_empty() => match msg {
                    Some(msg) => self.on_client(session, msg),
                    None => self.end(session),
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
                inbox: rx,
                outbox,
                ready,
            } => {
                self.sessions.insert(
                    session,
                    Outbox {
                        tx: outbox,
                        backlog: None,
                    },
                );
                self.inbox.push(inbox(session, rx));
                self.idle_at = None;
                {
                    let mut stats = lock(&self.stats);
                    stats.sessions = self.sessions.len();
                    stats.idle_since = None;
                }
                if self.conn.is_some() {
                    if ready.send(Ok(())).is_err() {
                        // The opener gave up (its client left): no session.
                        self.end(session);
                    }
                    return;
                }
                self.waiting.push((session, ready));
                // A new client does not wait out a backoff.
                self.retry_at = None;
                self.start_attach();
            }
            Event::Warm => {
                self.keep = true;
                self.start_attach();
            }
        }
    }

    fn on_client(&mut self, session: SessionId, msg: Message) {
        if self.sessions.contains_key(&session) {
            let actions = self.mux.on_client(session, msg);
            self.apply(actions);
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
                for (session, ready) in std::mem::take(&mut self.waiting) {
                    if ready.send(Ok(())).is_err() {
                        self.end(session);
                    }
                }
                self.idle_if_unused();
            }
            Internal::Attached(Err(err)) => {
                self.attaching = false;
                log(&self.def.name, &format!("cannot attach: {err}"));
                let waiting = std::mem::take(&mut self.waiting);
                for (session, ready) in waiting {
                    // Released before the opener hears of the failure, so
                    // that what it sees next (`view`, a retry) no longer
                    // counts the session.
                    self.end(session);
                    let mut error = Error::new(err.status, err.message.clone());
                    error.hint = err.hint.clone();
                    let _ = ready.send(Err(error));
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
                    if let Some(outbox) = self.sessions.get_mut(&session) {
                        outbox.send(msg);
                    }
                }
            }
        }
        if let (Some(cache), Some(path)) = (self.mux.take_cache_update(), &self.cache_file) {
            save_cache(path, &self.def.name, &cache);
        }
    }
}
