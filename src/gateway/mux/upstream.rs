//! The server's side of the mux: its responses (the handshake's among
//! them), its requests to clients, its notifications, and the `initialize`
//! the mux sends itself.
use serde_json::{Value, json};

use super::{Action, Mux, SessionId, Upstream};
use crate::gateway::Message;
use crate::gateway::message;

impl Mux {
    pub(super) fn server_response(&mut self, id: u64, mut msg: Message) -> Vec<Action> {
        if matches!(&self.upstream, Upstream::Initializing { id: init, .. } if *init == id) {
            return self.init_done(msg);
        }
        let Some(pending) = self.pending.remove(&id) else {
            // Cancelled, or its session ended: nobody waits for it.
            return Vec::new();
        };
        if let Some(token) = pending.progress {
            self.progress.remove(&token);
        }
        msg["id"] = pending.id;
        if pending.modern
            && let Some(result) = msg.get_mut("result").and_then(Value::as_object_mut)
        {
            // What a 2026-07-28 result has and a handshake-era server's lacks.
            result
                .entry("resultType")
                .or_insert_with(|| json!("complete"));
            if pending.cacheable {
                // Immediately stale and not shareable: the safe defaults.
                result.entry("ttlMs").or_insert_with(|| json!(0));
                result
                    .entry("cacheScope")
                    .or_insert_with(|| json!("private"));
            }
        }
        vec![Action::ToSession(pending.session, msg)]
    }

    pub(super) fn init_done(&mut self, mut msg: Message) -> Vec<Action> {
        let Upstream::Initializing { params, owner, .. } =
            std::mem::replace(&mut self.upstream, Upstream::Fresh)
        else {
            return Vec::new();
        };
        let mut actions = Vec::new();
        let Some(result) = msg.get("result").cloned() else {
            // The server refused: the owner sees its error, the others a
            // message saying so; the next request tries again.
            let detail = msg["error"]["message"]
                .as_str()
                .unwrap_or("no reason given")
                .to_string();
            if let Some((session, id)) = owner {
                msg["id"] = id;
                actions.push(Action::ToSession(session, msg));
            }
            actions.extend(self.fail_queued(&format!("refused `initialize`: {detail}")));
            return actions;
        };
        self.cache = Some((params, result));
        self.cache_instance = self.instance.clone();
        self.cache_dirty = true;
        self.upstream = Upstream::Ready;
        match owner {
            // A client of the handshake era sends `initialized` itself.
            Some((session, id)) => {
                if let Some(s) = self.session_mut(session) {
                    s.ready = true;
                }
                msg["id"] = id;
                actions.push(Action::ToSession(session, msg));
            }
            None => actions.extend(self.ensure_initialized()),
        }
        actions.extend(self.flush());
        actions
    }

    pub(super) fn server_request(&mut self, method: &str, mut msg: Message) -> Vec<Action> {
        let upstream_id = msg["id"].clone();
        let Some(session) = self.route_target() else {
            let answer = if method == "ping" {
                message::result_response(upstream_id, json!({}))
            } else {
                message::error_response(
                    upstream_id,
                    message::INTERNAL_ERROR,
                    "no client session is connected to answer this request",
                )
            };
            return vec![Action::ToServer(answer)];
        };
        let id = self.next_id();
        self.server_requests.insert(id, (session, upstream_id));
        msg["id"] = json!(id);
        vec![Action::ToSession(session, msg)]
    }

    /// The session a server→client request belongs to: the one with the
    /// most recent request in flight, else the most recently active one.
    pub(super) fn route_target(&self) -> Option<SessionId> {
        if let Some((_, pending)) = self.pending.iter().next_back() {
            return Some(pending.session);
        }
        self.sessions
            .iter()
            .max_by_key(|(_, s)| s.last_active)
            .map(|(id, _)| *id)
    }

    pub(super) fn server_notification(&mut self, method: &str, mut msg: Message) -> Vec<Action> {
        match method {
            "notifications/progress" => {
                let token = msg["params"]["progressToken"].as_u64();
                let Some((session, theirs)) = token.and_then(|t| self.progress.get(&t)).cloned()
                else {
                    return Vec::new();
                };
                msg["params"]["progressToken"] = theirs;
                vec![Action::ToSession(session, msg)]
            }
            "notifications/cancelled" => {
                let target = msg["params"]["requestId"].clone();
                let found = self
                    .server_requests
                    .iter()
                    .find(|(_, (_, upstream))| *upstream == target)
                    .map(|(id, (session, _))| (*id, *session));
                let Some((id, session)) = found else {
                    return Vec::new();
                };
                self.server_requests.remove(&id);
                msg["params"]["requestId"] = json!(id);
                vec![Action::ToSession(session, msg)]
            }
            _ => self
                .sessions
                .iter()
                .filter(|(_, s)| s.ready)
                .map(|(id, _)| Action::ToSession(*id, msg.clone()))
                .collect(),
        }
    }

    pub(super) fn start_init(
        &mut self,
        params: Value,
        owner: Option<(SessionId, Value)>,
    ) -> Vec<Action> {
        let id = self.next_id();
        let request = json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": params});
        self.upstream = Upstream::Initializing { id, params, owner };
        self.initialized_sent = false;
        vec![Action::ToServer(request)]
    }

    pub(super) fn ensure_initialized(&mut self) -> Vec<Action> {
        if self.initialized_sent {
            return Vec::new();
        }
        self.initialized_sent = true;
        vec![Action::ToServer(
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        )]
    }
}

/// The `initialize` params the mux sends for a 2026-07-28 client (which
/// sends none): its `_meta` clientInfo and capabilities, else the gateway's.
pub(super) fn stateless_init_params(msg: &Message) -> Value {
    let meta = message::meta(msg);
    let get = |key: &str| meta.and_then(|m| m.get(key)).cloned();
    json!({
        "protocolVersion": message::LEGACY_PROTOCOL,
        "capabilities": get(message::META_CLIENT_CAPABILITIES).unwrap_or_else(|| json!({})),
        "clientInfo": get(message::META_CLIENT_INFO).unwrap_or_else(
            || json!({"name": "mcpm-gateway", "version": env!("CARGO_PKG_VERSION")})
        ),
    })
}

/// A `server/discover` result made from a cached `initialize` result, shaped
/// like a 2026-07-28 server's own.
pub(super) fn discover_result(init: &Value) -> Value {
    let mut out = json!({
        "resultType": "complete",
        "supportedVersions": [message::MODERN_PROTOCOL],
        "capabilities": init.get("capabilities").cloned().unwrap_or_else(|| json!({})),
        "ttlMs": 0,
        "cacheScope": "private",
        "_meta": {message::META_SERVER_INFO: init.get("serverInfo").cloned().unwrap_or(Value::Null)},
    });
    if let Some(instructions) = init.get("instructions") {
        out["instructions"] = instructions.clone();
    }
    out
}
