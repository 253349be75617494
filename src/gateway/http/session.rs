//! One MCP session of the HTTP front end: the [`ClientSession`] it holds
//! with the gateway, the requests waiting for their responses, and the
//! standalone stream. A task per session reads what the gateway sends and
//! hands each message to the stream [`route`] picks.
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::mpsc;

use super::route::{self, Dest, InFlight};
use crate::gateway::{Caller, ClientSession, Message, Target};

/// Messages kept for the standalone stream while no client listens on it;
/// past this the oldest are dropped (a client that never opens the stream
/// must not grow the gateway without bound).
const BACKLOG_LIMIT: usize = 256;

/// The sessions with an `Mcp-Session-Id`, by id.
pub type Table = Mutex<std::collections::HashMap<String, Arc<HttpSession>>>;

/// A session of the HTTP front end. Dropping the last `Arc` of it drops
/// `to_gateway`, which ends the gateway's session.
pub struct HttpSession {
    /// The `Mcp-Session-Id` (empty for a 2026-07-28 request's own session).
    pub id: String,
    /// The endpoint it was opened on; the id is not valid on another.
    pub target: Target,
    /// Who opened it; only the same caller may use it.
    pub caller: Caller,
    pub to_gateway: mpsc::Sender<Message>,
    pub core: Arc<Core>,
}

/// The routing state shared by the session's reader task and its streams.
pub struct Core {
    state: Mutex<State>,
}

struct State {
    /// Requests waiting for their response, oldest first.
    pending: Vec<(InFlight, mpsc::UnboundedSender<Message>)>,
    standalone: Option<mpsc::UnboundedSender<Message>>,
    backlog: VecDeque<Message>,
    /// Request and standalone streams open now (a session with one is not idle).
    open_streams: usize,
    last_active: Instant,
    ended: bool,
}

impl HttpSession {
    /// Wraps a gateway session and starts the task that routes what it
    /// sends. When the gateway ends the session, it is taken out of `table`
    /// (so later requests with its id get 404 and the client starts over).
    pub fn start(
        id: String,
        target: Target,
        caller: Caller,
        session: ClientSession,
        table: Option<Weak<Table>>,
    ) -> Arc<Self> {
        let core = Arc::new(Core {
            state: Mutex::new(State {
                pending: Vec::new(),
                standalone: None,
                backlog: VecDeque::new(),
                open_streams: 0,
                last_active: Instant::now(),
                ended: false,
            }),
        });
        let ClientSession {
            to_gateway,
            mut from_gateway,
            ..
        } = session;
        let reader_core = core.clone();
        let reader_id = id.clone();
        tokio::spawn(async move {
            while let Some(message) = from_gateway.recv().await {
                reader_core.deliver(message);
            }
            reader_core.end();
            if let Some(table) = table.and_then(|table| table.upgrade()) {
                let mut table = lock(&table);
                // Only this session: a new one cannot reuse a random id, but be exact.
                if table
                    .get(&reader_id)
                    .is_some_and(|s| Arc::ptr_eq(&s.core, &reader_core))
                {
                    table.remove(&reader_id);
                }
            }
        });
        Arc::new(Self {
            id,
            target,
            caller,
            to_gateway,
            core,
        })
    }
}

impl Core {
    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Hands one message from the gateway to the stream that should carry it.
    fn deliver(&self, message: Message) {
        let mut state = self.state();
        let flights: Vec<InFlight> = state.pending.iter().map(|(f, _)| f.clone()).collect();
        match route::route(&message, &flights, state.standalone.is_some()) {
            Dest::Request(key) => {
                let is_response = message.get("method").is_none();
                let Some(index) = state.pending.iter().position(|(f, _)| f.key == key) else {
                    return;
                };
                let delivered = state.pending[index].1.send(message.clone()).is_ok();
                if is_response || !delivered {
                    state.pending.remove(index);
                }
                if !delivered && !is_response {
                    // The request's client is gone; the message still
                    // belongs to the session.
                    drop(state);
                    self.to_standalone(message);
                }
            }
            Dest::Standalone => {
                drop(state);
                self.to_standalone(message);
            }
            Dest::Drop => {}
        }
    }

    fn to_standalone(&self, message: Message) {
        let mut state = self.state();
        if let Some(stream) = &state.standalone {
            match stream.send(message) {
                Ok(()) => return,
                Err(mpsc::error::SendError(message)) => {
                    state.standalone = None;
                    state.backlog.push_back(message);
                }
            }
        } else {
            state.backlog.push_back(message);
        }
        while state.backlog.len() > BACKLOG_LIMIT {
            state.backlog.pop_front();
        }
    }

    /// The gateway ended the session (or the front end closed it): every
    /// stream ends, waiting requests with an error.
    pub fn end(&self) {
        let mut state = self.state();
        state.ended = true;
        state.pending.clear();
        state.standalone = None;
        state.backlog.clear();
    }

    /// Registers a request before it is sent, so its response cannot come
    /// back first. `None`: a request with that id is already in flight.
    pub fn register(
        self: &Arc<Self>,
        key: &str,
        sse: bool,
        progress_token: Option<Value>,
    ) -> Option<(mpsc::UnboundedReceiver<Message>, StreamGuard)> {
        let mut state = self.state();
        if state.ended || state.pending.iter().any(|(f, _)| f.key == key) {
            return None;
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let flight = InFlight {
            key: key.to_string(),
            sse,
            progress_token,
        };
        state.pending.push((flight, tx));
        state.open_streams += 1;
        Some((
            rx,
            StreamGuard {
                core: self.clone(),
                request: Some(key.to_string()),
            },
        ))
    }

    /// Opens the standalone stream, replacing one already open, and hands it
    /// what was kept while none was.
    pub fn open_standalone(
        self: &Arc<Self>,
    ) -> Option<(mpsc::UnboundedReceiver<Message>, StreamGuard)> {
        let mut state = self.state();
        if state.ended {
            return None;
        }
        let (tx, rx) = mpsc::unbounded_channel();
        for message in state.backlog.drain(..) {
            let _ = tx.send(message);
        }
        state.standalone = Some(tx);
        state.open_streams += 1;
        Some((
            rx,
            StreamGuard {
                core: self.clone(),
                request: None,
            },
        ))
    }

    /// Notes client activity (a POST).
    pub fn touch(&self) {
        self.state().last_active = Instant::now();
    }

    /// How long the session has had no open stream and no request, or
    /// `None` while a stream is open.
    pub fn idle_for(&self, now: Instant) -> Option<Duration> {
        let state = self.state();
        (state.open_streams == 0).then(|| now.saturating_duration_since(state.last_active))
    }

    /// Requests waiting for a response (tests, status).
    pub fn in_flight(&self) -> usize {
        self.state().pending.len()
    }
}

/// Held by a request's or the standalone stream's body: when the client
/// goes away the body is dropped, and with it the request's place (a late
/// response is dropped, not left waiting) and the stream's count.
pub struct StreamGuard {
    core: Arc<Core>,
    request: Option<String>,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        let mut state = self.core.state();
        if let Some(key) = &self.request {
            state.pending.retain(|(f, _)| &f.key != key);
        }
        state.open_streams = state.open_streams.saturating_sub(1);
        state.last_active = Instant::now();
    }
}

/// Locks a mutex, going on when a panicking thread poisoned it (the data is
/// plain routing state, consistent after every statement).
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
