//! The routing half of [`Aggregator`]: messages from the client and from
//! the servers, one at a time.
use serde_json::{Value, json};

use super::*;

impl Aggregator {
    /// A router over `servers` (by index, as the driver opened them).
    pub fn new(servers: Vec<String>) -> Self {
        let n = servers.len();
        Self {
            servers,
            up: vec![true; n],
            initialized: vec![false; n],
            client_initialized: false,
            next_id: 0,
            pending: HashMap::new(),
            next_gather: 0,
            gathers: HashMap::new(),
            server_requests: HashMap::new(),
            next_server_request: 0,
            uris: HashMap::new(),
            templates: Vec::new(),
            changed_sent: [false; 3],
            warnings: Vec::new(),
        }
    }

    /// Server `i` could not be opened: it takes no part, and the client is
    /// told with the first answer.
    pub fn mark_down(&mut self, i: usize, why: &str) {
        self.up[i] = false;
        self.warnings.push(format!(
            "server {} is not available: {why}",
            self.servers[i]
        ));
    }

    /// Whether no server is left (the session should end).
    pub fn all_down(&self) -> bool {
        !self.up.iter().any(|up| *up)
    }

    pub(super) fn live(&self) -> Vec<usize> {
        (0..self.servers.len())
            .filter(|&i| self.up[i] && (!self.client_initialized || self.initialized[i]))
            .collect()
    }

    pub(super) fn known(&self) -> String {
        self.servers.join(", ")
    }

    /// Sends `message` (a request) to server `i` under a fresh id.
    pub(super) fn send(&mut self, i: usize, mut message: Message, pending: Pending) -> Action {
        self.next_id += 1;
        let id = json!(self.next_id);
        message["id"] = id.clone();
        self.pending.insert((i, key(&id)), pending);
        Action::ToServer(i, message)
    }

    /// One message from the client.
    pub fn from_client(&mut self, message: Message) -> Vec<Action> {
        let method = message
            .get("method")
            .and_then(Value::as_str)
            .map(str::to_string);
        let id = message.get("id").filter(|id| !id.is_null()).cloned();
        match (method, id) {
            (Some(method), Some(id)) => self.client_request(&method, id, message),
            (Some(method), None) => self.client_notification(&method, message),
            (None, Some(id)) => match self.server_requests.remove(&key(&id)) {
                Some((i, original)) if self.up[i] => {
                    let mut message = message;
                    message["id"] = original;
                    vec![Action::ToServer(i, message)]
                }
                _ => Vec::new(),
            },
            (None, None) => Vec::new(),
        }
    }

    pub(super) fn client_request(
        &mut self,
        method: &str,
        id: Value,
        message: Message,
    ) -> Vec<Action> {
        let modern = is_modern(&message);
        match method {
            "ping" => return vec![Action::ToClient(response(id, json!({})))],
            "initialize" => {
                self.client_initialized = true;
                let request =
                    json!({"jsonrpc": "2.0", "method": "initialize", "params": message["params"]});
                return self.gather(
                    GatherKind::Initialize,
                    Purpose::Reply {
                        client_id: id,
                        modern,
                    },
                    request,
                );
            }
            "server/discover" => {
                let request =
                    json!({"jsonrpc": "2.0", "method": method, "params": message["params"]});
                return self.gather(
                    GatherKind::Discover,
                    Purpose::Reply {
                        client_id: id,
                        modern,
                    },
                    request,
                );
            }
            "logging/setLevel" => {
                let request =
                    json!({"jsonrpc": "2.0", "method": method, "params": message["params"]});
                return self.gather(
                    GatherKind::SetLevel,
                    Purpose::Reply {
                        client_id: id,
                        modern,
                    },
                    request,
                );
            }
            _ => {}
        }
        if let Some(kind) = ListKind::of_method(method) {
            if message
                .pointer("/params/cursor")
                .is_some_and(|c| !c.is_null())
            {
                return vec![Action::ToClient(error(
                    id,
                    -32602,
                    "invalid cursor: /mcp returns whole lists and gives no cursors",
                ))];
            }
            self.changed_sent[kind.changed_index()] = false;
            let mut request = json!({"jsonrpc": "2.0", "method": method});
            if let Some(meta) = message.pointer("/params/_meta") {
                request["params"] = json!({"_meta": meta});
            }
            return self.gather(
                GatherKind::List(kind),
                Purpose::Reply {
                    client_id: id,
                    modern,
                },
                request,
            );
        }
        self.route_call(method, id, message, false)
    }

    /// Routes a request about one named thing to its server.
    pub(super) fn route_call(
        &mut self,
        method: &str,
        id: Value,
        mut message: Message,
        resolved: bool,
    ) -> Vec<Action> {
        let by_name = |message: &Message, pointer: &str| {
            message
                .pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let name_at = match method {
            "tools/call" | "prompts/get" => Some("/params/name"),
            "completion/complete"
                if message.pointer("/params/ref/type") == Some(&json!("ref/prompt")) =>
            {
                Some("/params/ref/name")
            }
            _ => None,
        };
        let uri_at = match method {
            "resources/read" | "resources/subscribe" | "resources/unsubscribe" => {
                Some("/params/uri")
            }
            "completion/complete" => Some("/params/ref/uri"),
            _ => None,
        };
        if let Some(pointer) = name_at {
            let Some(name) = by_name(&message, pointer) else {
                return vec![Action::ToClient(error(
                    id,
                    -32602,
                    format!("{method} needs a name"),
                ))];
            };
            let Some((i, bare)) = split_name(&self.servers, &name) else {
                return vec![Action::ToClient(error(
                    id,
                    -32602,
                    format!(
                        "unknown name {name:?}: names on /mcp are <server>{SEPARATOR}<name>; the servers here: {}",
                        self.known()
                    ),
                ))];
            };
            if !self.up[i] {
                return vec![Action::ToClient(self.down_error(id, i))];
            }
            if let Some(slot) = message.pointer_mut(pointer) {
                *slot = Value::String(bare.to_string());
            }
            return vec![self.send(i, message, Pending::Forward { client_id: id })];
        }
        if let Some(pointer) = uri_at {
            let Some(uri) = by_name(&message, pointer) else {
                return vec![Action::ToClient(error(
                    id,
                    -32602,
                    format!("{method} needs a uri"),
                ))];
            };
            return match self.server_of_uri(&uri) {
                Some(i) if self.up[i] => {
                    vec![self.send(i, message, Pending::Forward { client_id: id })]
                }
                Some(i) => vec![Action::ToClient(self.down_error(id, i))],
                None if !resolved => {
                    // A session that never listed (each 2026-07-28 request
                    // is its own session): learn the URIs first.
                    let request = resolve_request(ListKind::Resources, &message);
                    let purpose = Purpose::Resolve {
                        message,
                        templates_done: false,
                    };
                    self.gather(GatherKind::List(ListKind::Resources), purpose, request)
                }
                None => vec![Action::ToClient(error(
                    id,
                    -32602,
                    format!(
                        "no server lists the resource {uri:?}; the servers here: {}",
                        self.known()
                    ),
                ))],
            };
        }
        vec![Action::ToClient(error(
            id,
            -32601,
            format!("method {method:?} cannot be routed on /mcp; use /servers/<server>/mcp"),
        ))]
    }

    pub(super) fn down_error(&self, id: Value, i: usize) -> Message {
        error(
            id,
            -32603,
            format!("server {} is not available", self.servers[i]),
        )
    }

    /// The server a resource URI belongs to: listed exactly, else the
    /// template with the longest literal prefix.
    pub fn server_of_uri(&self, uri: &str) -> Option<usize> {
        if let Some(i) = self.uris.get(uri) {
            return Some(*i);
        }
        self.templates
            .iter()
            .filter(|(prefix, _)| !prefix.is_empty() && uri.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, i)| *i)
    }

    pub(super) fn client_notification(&mut self, method: &str, message: Message) -> Vec<Action> {
        if method == "notifications/cancelled" {
            let Some(target) = message.pointer("/params/requestId").cloned() else {
                return Vec::new();
            };
            let mut actions = Vec::new();
            let found: Vec<(usize, String)> = self
                .pending
                .iter()
                .filter(
                    |(_, p)| matches!(p, Pending::Forward { client_id } if *client_id == target),
                )
                .map(|(k, _)| k.clone())
                .collect();
            for (i, upstream) in found {
                self.pending.remove(&(i, upstream.clone()));
                let mut note = message.clone();
                note["params"]["requestId"] =
                    serde_json::from_str(&upstream).unwrap_or(Value::Null);
                actions.push(Action::ToServer(i, note));
            }
            // A fan-out being cancelled: drop it, late parts are ignored.
            self.gathers.retain(|_, g| {
                !matches!(&g.purpose, Purpose::Reply { client_id, .. } if *client_id == target)
            });
            return actions;
        }
        self.live()
            .into_iter()
            .map(|i| Action::ToServer(i, message.clone()))
            .collect()
    }

    /// One message from server `i`.
    pub fn from_server(&mut self, i: usize, mut message: Message) -> Vec<Action> {
        let method = message
            .get("method")
            .and_then(Value::as_str)
            .map(str::to_string);
        let id = message.get("id").filter(|id| !id.is_null()).cloned();
        match (method, id) {
            (None, Some(id)) => match self.pending.remove(&(i, key(&id))) {
                Some(Pending::Forward { client_id }) => {
                    message["id"] = client_id;
                    vec![Action::ToClient(message)]
                }
                Some(Pending::Part { gather }) => self.part(gather, i, message),
                None => Vec::new(),
            },
            (Some(_), Some(id)) => {
                // A server→client request: an id of ours, unique across servers.
                self.next_server_request += 1;
                let ours = json!(format!("mcpm-{}", self.next_server_request));
                self.server_requests.insert(key(&ours), (i, id));
                message["id"] = ours;
                vec![Action::ToClient(message)]
            }
            (Some(method), None) => {
                if let Some(index) = CHANGED.iter().position(|m| *m == method) {
                    if self.changed_sent[index] {
                        return Vec::new();
                    }
                    self.changed_sent[index] = true;
                    return vec![Action::ToClient(message)];
                }
                if method == "notifications/cancelled" {
                    // The server gave up a request it made: name it by our id.
                    let Some(theirs) = message.pointer("/params/requestId").cloned() else {
                        return Vec::new();
                    };
                    let ours = self
                        .server_requests
                        .iter()
                        .find(|(_, (s, id))| *s == i && *id == theirs)
                        .map(|(k, _)| k.clone());
                    let Some(ours) = ours else { return Vec::new() };
                    self.server_requests.remove(&ours);
                    message["params"]["requestId"] =
                        serde_json::from_str(&ours).unwrap_or(Value::Null);
                }
                vec![Action::ToClient(message)]
            }
            (None, None) => Vec::new(),
        }
    }

    /// Server `i`'s session ended: its waiting requests fail, it takes no part.
    pub fn server_closed(&mut self, i: usize) -> Vec<Action> {
        self.up[i] = false;
        let keys: Vec<(usize, String)> = self
            .pending
            .keys()
            .filter(|(s, _)| *s == i)
            .cloned()
            .collect();
        let mut actions = Vec::new();
        for k in keys {
            match self.pending.remove(&k) {
                Some(Pending::Forward { client_id }) => {
                    actions.push(Action::ToClient(self.down_error(client_id, i)));
                }
                Some(Pending::Part { gather }) => {
                    let failure = error(Value::Null, -32603, "the server's session ended");
                    actions.extend(self.part(gather, i, failure));
                }
                None => {}
            }
        }
        self.server_requests.retain(|_, (s, _)| *s != i);
        actions
    }
}
