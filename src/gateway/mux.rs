//! The multiplexer: many client sessions onto the stdio of one shared server.
//!
//! A pure state machine, no I/O: every event (a client message, a server
//! message, a session ending, the server going away or being attached) goes
//! in, and the messages to send come out as [`Action`]s. The hub does the
//! reading and writing; all routing decisions are here and tested in
//! `mux_tests.rs`.
//!
//! What it keeps straight:
//! - request ids: each client request gets a gateway-unique number upstream,
//!   and its own id (any JSON value) back on the response, so eight sessions
//!   all sending `"id": 1` never see each other's answers;
//! - the handshake: the server is initialized once (the first client's
//!   `initialize`, or one the mux makes for a 2026-07-28 client that sends
//!   none); later sessions get the cached result; after a reattach to a new
//!   instance the cached request is sent again before anything else;
//! - progress tokens, cancellations and server→client requests, each routed
//!   to the one session they belong to; other notifications go to everyone.
//!
//! Only `id`, `params._meta.progressToken` and `params.requestId` are
//! rewritten (and the protocol's own `_meta` keys removed, see
//! [`message::strip_protocol_meta`]); every other field passes untouched.
use std::collections::{BTreeMap, HashMap, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Message;
use super::message::{self, Kind};

mod upstream;

use upstream::{discover_result, stateless_init_params};

/// A client session, numbered by the hub.
pub type SessionId = u64;

/// A message to send.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Write to the server's stdin.
    ToServer(Message),
    /// Deliver to one client session.
    ToSession(SessionId, Message),
}

/// A server's `initialize` exchange, kept so that later sessions (and a
/// restarted gateway finding the same instance) need no second `initialize`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitCache {
    /// The server instance the result came from ([`super::Attached::instance`]).
    pub instance: String,
    /// The `params` of the `initialize` request that was sent.
    pub params: Value,
    /// The server's `result`.
    pub result: Value,
}

/// Client messages held back at most while the server is being attached or
/// initialized; beyond this a request is answered with an error at once.
const MAX_QUEUED: usize = 4096;

/// How far the server's handshake is.
#[derive(Debug)]
enum Upstream {
    /// No stdio: messages wait in the queue.
    Detached,
    /// Attached, no `initialize` sent yet.
    Fresh,
    /// `initialize` sent (as gateway id `id`), its result awaited; `owner` is
    /// the client that sent it, with its own id (none when the mux made it).
    Initializing {
        id: u64,
        params: Value,
        owner: Option<(SessionId, Value)>,
    },
    /// Initialized: requests flow.
    Ready,
}

/// A client request in flight upstream.
#[derive(Debug)]
struct Pending {
    session: SessionId,
    /// The client's own id, restored on the response.
    id: Value,
    /// The gateway's progress token for it, when the client asked for progress.
    progress: Option<u64>,
    /// The session speaks 2026-07-28: results get `resultType`.
    modern: bool,
    /// ...and its method's result gets `ttlMs` and `cacheScope` too.
    cacheable: bool,
}

#[derive(Debug)]
struct Session {
    /// Past its handshake: receives fanned-out notifications.
    ready: bool,
    modern: bool,
    /// When it last sent anything (the mux's clock).
    last_active: u64,
}

/// The multiplexer of one shared server.
#[derive(Debug)]
pub struct Mux {
    server: String,
    upstream: Upstream,
    /// The last successful `initialize` (params, result) and the instance it
    /// belongs to.
    cache: Option<(Value, Value)>,
    cache_instance: Option<String>,
    cache_dirty: bool,
    instance: Option<String>,
    /// `notifications/initialized` went to the current instance.
    initialized_sent: bool,
    next: u64,
    clock: u64,
    /// Gateway id → client request.
    pending: BTreeMap<u64, Pending>,
    /// Gateway progress token → (session, the client's own token).
    progress: HashMap<u64, (SessionId, Value)>,
    /// Id the session sees → (session, the server's own id), for
    /// server→client requests.
    server_requests: BTreeMap<u64, (SessionId, Value)>,
    sessions: BTreeMap<SessionId, Session>,
    queue: VecDeque<(SessionId, Message)>,
}

impl Mux {
    /// A detached mux for server `server` (named in error messages), with the
    /// `initialize` cache a previous gateway persisted, if any.
    pub fn new(server: &str, cache: Option<InitCache>) -> Self {
        let (cache, cache_instance) = match cache {
            Some(c) => (Some((c.params, c.result)), Some(c.instance)),
            None => (None, None),
        };
        Self {
            server: server.to_string(),
            upstream: Upstream::Detached,
            cache,
            cache_instance,
            cache_dirty: false,
            instance: None,
            initialized_sent: false,
            next: 0,
            clock: 0,
            pending: BTreeMap::new(),
            progress: HashMap::new(),
            server_requests: BTreeMap::new(),
            sessions: BTreeMap::new(),
            queue: VecDeque::new(),
        }
    }

    /// Numbers this mux's gateway ids from above `first`. A restarted gateway
    /// reattaching to the same instance seeds it from the clock, so that late
    /// answers to the previous gateway's requests cannot match its own.
    pub fn starting_at(mut self, first: u64) -> Self {
        self.next = first;
        self
    }

    /// Whether the mux holds a server's stdio.
    pub fn is_attached(&self) -> bool {
        self.instance.is_some()
    }

    /// Client requests in flight upstream.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// The `initialize` cache when it changed since the last call (for the
    /// hub to persist).
    pub fn take_cache_update(&mut self) -> Option<InitCache> {
        if !self.cache_dirty {
            return None;
        }
        self.cache_dirty = false;
        let (params, result) = self.cache.clone()?;
        Some(InitCache {
            instance: self.cache_instance.clone()?,
            params,
            result,
        })
    }

    /// The server's stdio is there (first attach or reattach). The same
    /// instance as the cached `initialize` needs nothing; a new one gets the
    /// cached `initialize` again (and `initialized`) before anything else.
    pub fn on_attached(&mut self, instance: &str) -> Vec<Action> {
        self.instance = Some(instance.to_string());
        self.initialized_sent = false;
        match &self.cache {
            Some(_) if self.cache_instance.as_deref() == Some(instance) => {
                self.upstream = Upstream::Ready;
                self.initialized_sent = true;
                self.flush()
            }
            Some((params, _)) => {
                let params = params.clone();
                self.start_init(params, None)
            }
            None => {
                self.upstream = Upstream::Fresh;
                self.flush()
            }
        }
    }

    /// The server's stdio ended (exit, crash, restart, stop): every request
    /// in flight is answered with an error naming the server; queued
    /// messages wait for the next attach.
    pub fn on_server_gone(&mut self) -> Vec<Action> {
        let mut actions = Vec::new();
        let what = "went away (its stdio closed)";
        if let Upstream::Initializing {
            owner: Some((session, id)),
            ..
        } = std::mem::replace(&mut self.upstream, Upstream::Detached)
        {
            actions.push(Action::ToSession(
                session,
                message::server_error(id, &self.server, what),
            ));
        }
        self.instance = None;
        self.initialized_sent = false;
        for (_, pending) in std::mem::take(&mut self.pending) {
            actions.push(Action::ToSession(
                pending.session,
                message::server_error(pending.id, &self.server, what),
            ));
        }
        self.progress.clear();
        self.server_requests.clear();
        actions
    }

    /// Answers every queued request with an error (an attach attempt
    /// failed); `why` completes "MCP server `NAME` …".
    pub fn fail_queued(&mut self, why: &str) -> Vec<Action> {
        let mut actions = Vec::new();
        for (session, msg) in std::mem::take(&mut self.queue) {
            if let Kind::Request { id, .. } = message::classify(&msg) {
                let text = format!("MCP server `{}` {why}", self.server);
                actions.push(Action::ToSession(
                    session,
                    message::error_response(id.clone(), message::INTERNAL_ERROR, text),
                ));
            }
        }
        actions
    }

    /// A session ended: its requests in flight are cancelled upstream (their
    /// late responses are dropped), server requests waiting on it answered
    /// with an error, its queued messages forgotten.
    pub fn on_session_end(&mut self, session: SessionId) -> Vec<Action> {
        self.sessions.remove(&session);
        self.queue.retain(|(s, _)| *s != session);
        if let Upstream::Initializing { owner, .. } = &mut self.upstream
            && owner.as_ref().is_some_and(|(s, _)| *s == session)
        {
            *owner = None;
        }
        let mut actions = Vec::new();
        let ids: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| p.session == session)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            if let Some(pending) = self.pending.remove(&id)
                && let Some(token) = pending.progress
            {
                self.progress.remove(&token);
            }
            actions.push(Action::ToServer(message::notification(
                "notifications/cancelled",
                json!({"requestId": id, "reason": "the client session ended"}),
            )));
        }
        let asked: Vec<u64> = self
            .server_requests
            .iter()
            .filter(|(_, (s, _))| *s == session)
            .map(|(id, _)| *id)
            .collect();
        for id in asked {
            if let Some((_, upstream_id)) = self.server_requests.remove(&id) {
                actions.push(Action::ToServer(message::error_response(
                    upstream_id,
                    message::INTERNAL_ERROR,
                    "the client session that was asked ended",
                )));
            }
        }
        actions
    }

    /// A message from a client session.
    pub fn on_client(&mut self, session: SessionId, msg: Message) -> Vec<Action> {
        self.clock += 1;
        let clock = self.clock;
        self.sessions
            .entry(session)
            .or_insert(Session {
                ready: false,
                modern: false,
                last_active: clock,
            })
            .last_active = clock;
        match message::classify(&msg) {
            Kind::Batch => vec![Action::ToSession(
                session,
                message::invalid_request(
                    Value::Null,
                    "batches are not supported (MCP removed them in 2025-06-18); send one message per line",
                ),
            )],
            Kind::Invalid(why) => match msg.get("id") {
                Some(id) => vec![Action::ToSession(
                    session,
                    message::invalid_request(id.clone(), why),
                )],
                None => Vec::new(),
            },
            Kind::Request { method, .. } => {
                let method = method.to_string();
                self.client_request(session, &method, msg)
            }
            Kind::Notification { method } => {
                let method = method.to_string();
                self.client_notification(session, &method, msg)
            }
            Kind::Response { id } | Kind::Error { id } => {
                let id = id.as_u64();
                self.client_response(session, id, msg)
            }
        }
    }

    /// A message from the server.
    pub fn on_server(&mut self, msg: Message) -> Vec<Action> {
        match message::classify(&msg) {
            Kind::Response { id } | Kind::Error { id } => match id.as_u64() {
                Some(id) => self.server_response(id, msg),
                None => Vec::new(),
            },
            Kind::Request { method, .. } => {
                let method = method.to_string();
                self.server_request(&method, msg)
            }
            Kind::Notification { method } => {
                let method = method.to_string();
                self.server_notification(&method, msg)
            }
            // Nothing to route it by.
            Kind::Batch | Kind::Invalid(_) => Vec::new(),
        }
    }

    fn next_id(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    fn session_mut(&mut self, session: SessionId) -> Option<&mut Session> {
        self.sessions.get_mut(&session)
    }

    fn client_request(&mut self, session: SessionId, method: &str, msg: Message) -> Vec<Action> {
        let stamped =
            method == "server/discover" || message::request_protocol_version(&msg).is_some();
        // A session is modern from its first stamped request (every request
        // of that revision is stamped) until it sends a legacy `initialize`
        // (a client that probed `server/discover` and chose the handshake).
        if let Some(s) = self.session_mut(session) {
            if stamped {
                s.modern = true;
                s.ready = true;
            } else if method == "initialize" {
                s.modern = false;
            }
        }
        let modern = stamped || self.sessions.get(&session).is_some_and(|s| s.modern);
        match self.upstream {
            Upstream::Ready => {}
            Upstream::Fresh if method == "initialize" && !stamped => {
                let id = msg["id"].clone();
                let params = msg.get("params").cloned().unwrap_or_else(|| json!({}));
                return self.start_init(params, Some((session, id)));
            }
            Upstream::Fresh => {
                let params = match &self.cache {
                    Some((params, _)) => params.clone(),
                    None => stateless_init_params(&msg),
                };
                let mut actions = self.start_init(params, None);
                actions.extend(self.enqueue(session, msg));
                return actions;
            }
            Upstream::Detached | Upstream::Initializing { .. } => {
                return self.enqueue(session, msg);
            }
        }
        let Some((_, result)) = &self.cache else {
            // Ready always has a cache; keep the message rather than panic.
            return self.enqueue(session, msg);
        };
        if method == "initialize" && !stamped {
            let answer = message::result_response(msg["id"].clone(), result.clone());
            if let Some(s) = self.session_mut(session) {
                s.ready = true;
            }
            return vec![Action::ToSession(session, answer)];
        }
        if method == "server/discover" {
            let answer = message::result_response(msg["id"].clone(), discover_result(result));
            return vec![Action::ToSession(session, answer)];
        }
        self.forward_request(session, modern, msg)
    }

    fn forward_request(
        &mut self,
        session: SessionId,
        modern: bool,
        mut msg: Message,
    ) -> Vec<Action> {
        let id = self.next_id();
        let original = std::mem::replace(&mut msg["id"], json!(id));
        let cacheable = modern
            && msg["method"]
                .as_str()
                .is_some_and(|m| message::CACHEABLE_METHODS.contains(&m));
        if modern {
            message::strip_protocol_meta(&mut msg);
        }
        let mut progress = None;
        if let Some(meta) = msg
            .get_mut("params")
            .and_then(|p| p.get_mut("_meta"))
            .and_then(Value::as_object_mut)
            && let Some(token) = meta.get_mut("progressToken")
        {
            self.next += 1;
            let ours = self.next;
            let theirs = std::mem::replace(token, json!(ours));
            self.progress.insert(ours, (session, theirs));
            progress = Some(ours);
        }
        self.pending.insert(
            id,
            Pending {
                session,
                id: original,
                progress,
                modern,
                cacheable,
            },
        );
        let mut actions = self.ensure_initialized();
        actions.push(Action::ToServer(msg));
        actions
    }

    fn client_notification(
        &mut self,
        session: SessionId,
        method: &str,
        mut msg: Message,
    ) -> Vec<Action> {
        match method {
            "notifications/initialized" => {
                if let Some(s) = self.session_mut(session) {
                    s.ready = true;
                }
                // Sent once per server instance, by whoever comes first.
                if matches!(self.upstream, Upstream::Ready) {
                    self.ensure_initialized()
                } else {
                    Vec::new()
                }
            }
            "notifications/cancelled" => self.client_cancel(session, msg),
            _ => {
                if !matches!(self.upstream, Upstream::Ready) {
                    return self.enqueue(session, msg);
                }
                if self.sessions.get(&session).is_some_and(|s| s.modern) {
                    message::strip_protocol_meta(&mut msg);
                }
                let mut actions = self.ensure_initialized();
                actions.push(Action::ToServer(msg));
                actions
            }
        }
    }

    fn client_cancel(&mut self, session: SessionId, mut msg: Message) -> Vec<Action> {
        let Some(target) = msg.get("params").and_then(|p| p.get("requestId")).cloned() else {
            return Vec::new();
        };
        let found = self
            .pending
            .iter()
            .find(|(_, p)| p.session == session && p.id == target)
            .map(|(id, _)| *id);
        let Some(id) = found else {
            // Not sent upstream yet: it simply never will be.
            self.queue.retain(|(s, m)| {
                !(*s == session && m.get("method").is_some() && m.get("id") == Some(&target))
            });
            return Vec::new();
        };
        if let Some(pending) = self.pending.remove(&id)
            && let Some(token) = pending.progress
        {
            self.progress.remove(&token);
        }
        msg["params"]["requestId"] = json!(id);
        if self.sessions.get(&session).is_some_and(|s| s.modern) {
            message::strip_protocol_meta(&mut msg);
        }
        vec![Action::ToServer(msg)]
    }

    fn client_response(
        &mut self,
        session: SessionId,
        id: Option<u64>,
        mut msg: Message,
    ) -> Vec<Action> {
        let Some(id) = id else { return Vec::new() };
        match self.server_requests.get(&id) {
            Some((owner, _)) if *owner == session => {}
            // Not asked of this session (or the server is gone): dropped.
            _ => return Vec::new(),
        }
        let Some((_, upstream_id)) = self.server_requests.remove(&id) else {
            return Vec::new();
        };
        msg["id"] = upstream_id;
        vec![Action::ToServer(msg)]
    }

    fn enqueue(&mut self, session: SessionId, msg: Message) -> Vec<Action> {
        if self.queue.len() < MAX_QUEUED {
            self.queue.push_back((session, msg));
            return Vec::new();
        }
        match message::classify(&msg) {
            Kind::Request { id, .. } => vec![Action::ToSession(
                session,
                message::error_response(
                    id.clone(),
                    message::INTERNAL_ERROR,
                    format!(
                        "MCP server `{}` is not ready and too many requests wait for it",
                        self.server
                    ),
                ),
            )],
            _ => Vec::new(),
        }
    }

    /// Replays the queue in order; what still cannot go stays queued, in order.
    fn flush(&mut self) -> Vec<Action> {
        let mut actions = Vec::new();
        for (session, msg) in std::mem::take(&mut self.queue) {
            if !self.sessions.contains_key(&session) {
                continue;
            }
            if !matches!(self.upstream, Upstream::Ready | Upstream::Fresh) {
                self.queue.push_back((session, msg));
                continue;
            }
            actions.extend(self.on_client_queued(session, msg));
        }
        actions
    }

    /// [`Mux::on_client`] for a replayed message (not new activity).
    fn on_client_queued(&mut self, session: SessionId, msg: Message) -> Vec<Action> {
        let last = self.sessions.get(&session).map(|s| s.last_active);
        let clock = self.clock;
        let actions = self.on_client(session, msg);
        self.clock = clock;
        if let (Some(last), Some(s)) = (last, self.sessions.get_mut(&session)) {
            s.last_active = last;
        }
        actions
    }
}

#[cfg(test)]
#[path = "mux_tests.rs"]
mod tests;
