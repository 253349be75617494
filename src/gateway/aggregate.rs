//! The `/mcp` endpoint ([`Target::All`]): one client session over every
//! server of the project, names prefixed `<server>__`.
//!
//! [`Aggregator`] is the pure router: it takes one message (from the client,
//! or from server `i`) and returns the [`Action`]s that follow (messages to
//! send, timers to start). It answers `initialize`, `server/discover` and
//! `ping` itself, fans the list methods out to every server (following each
//! one's pagination) and merges the pages with prefixed names, routes calls
//! back by prefix (resources by URI), maps the ids of server→client requests,
//! and forwards `list_changed` once until the client lists again. [`open`]
//! is the thin async driver around it: one [`Sessions::open`] per server.
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::future::{BoxFuture, join_all};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use crate::error::{Error, Result};
use crate::gateway::{ClientSession, Message, Sessions, Target};

/// Between a server's name and its tool's, prompt's or resource's name.
pub const SEPARATOR: &str = "__";
/// How long a fan-out waits for a server before leaving it out.
pub const GATHER_TIMEOUT: Duration = Duration::from_secs(30);
/// Pages followed per server and list, against a server whose cursor never ends.
const MAX_PAGES: usize = 100;
const MODERN: &str = "2026-07-28";

/// One list the aggregate endpoint merges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListKind {
    Tools,
    Prompts,
    Resources,
    Templates,
}

impl ListKind {
    fn of_method(method: &str) -> Option<Self> {
        Some(match method {
            "tools/list" => Self::Tools,
            "prompts/list" => Self::Prompts,
            "resources/list" => Self::Resources,
            "resources/templates/list" => Self::Templates,
            _ => return None,
        })
    }

    fn method(self) -> &'static str {
        match self {
            Self::Tools => "tools/list",
            Self::Prompts => "prompts/list",
            Self::Resources => "resources/list",
            Self::Templates => "resources/templates/list",
        }
    }

    /// The result's array.
    fn key(self) -> &'static str {
        match self {
            Self::Tools => "tools",
            Self::Prompts => "prompts",
            Self::Resources => "resources",
            Self::Templates => "resourceTemplates",
        }
    }

    /// Which `list_changed` notification covers it (index into the dedup flags).
    fn changed_index(self) -> usize {
        match self {
            Self::Tools => 0,
            Self::Prompts => 1,
            Self::Resources | Self::Templates => 2,
        }
    }
}

const CHANGED: [&str; 3] = [
    "notifications/tools/list_changed",
    "notifications/prompts/list_changed",
    "notifications/resources/list_changed",
];

/// What the driver does next.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send to server `i` (index into the aggregator's servers).
    ToServer(usize, Message),
    ToClient(Message),
    /// Call [`Aggregator::expire`] with this fan-out id after [`GATHER_TIMEOUT`].
    Timer(u64),
}

#[derive(Debug)]
enum Pending {
    /// A request routed to one server: the response goes back under the client's id.
    Forward { client_id: Value },
    /// One server's part of a fan-out.
    Part { gather: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum GatherKind {
    List(ListKind),
    Initialize,
    Discover,
    SetLevel,
}

#[derive(Debug)]
enum Purpose {
    /// Answer the client's request with the merged result.
    Reply { client_id: Value, modern: bool },
    /// Learn resource URIs, then route this request again.
    Resolve {
        message: Message,
        templates_done: bool,
    },
}

#[derive(Debug)]
struct Gather {
    kind: GatherKind,
    purpose: Purpose,
    /// The request each server gets (pages add a cursor to it).
    request: Message,
    waiting: HashSet<usize>,
    pages: HashMap<usize, usize>,
    items: Vec<Value>,
    results: Vec<(usize, Value)>,
    failed: Vec<(usize, String)>,
}

/// The pure router of one aggregate session.
#[derive(Debug)]
pub struct Aggregator {
    servers: Vec<String>,
    up: Vec<bool>,
    /// Answered `initialize` (after a client `initialize`, only those take part).
    initialized: Vec<bool>,
    client_initialized: bool,
    next_id: u64,
    pending: HashMap<(usize, String), Pending>,
    next_gather: u64,
    gathers: HashMap<u64, Gather>,
    /// Client-facing id (as JSON text) of a server→client request → (server, its id).
    server_requests: HashMap<String, (usize, Value)>,
    next_server_request: u64,
    uris: HashMap<String, usize>,
    /// Literal prefix of a resource template (up to its first `{`) → server.
    templates: Vec<(String, usize)>,
    /// A `list_changed` was forwarded and the client has not listed since.
    changed_sent: [bool; 3],
    /// Said once, with the first answer: servers that could not be opened.
    warnings: Vec<String>,
}

fn key(id: &Value) -> String {
    id.to_string()
}

fn response(id: Value, result: Value) -> Message {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

fn error(id: Value, code: i64, message: impl Into<String>) -> Message {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message.into()}})
}

fn warning(text: String) -> Message {
    json!({"jsonrpc": "2.0", "method": "notifications/message",
        "params": {"level": "warning", "logger": "mcpm-gateway", "data": text}})
}

fn is_modern(message: &Message) -> bool {
    message
        .pointer("/params/_meta")
        .and_then(|meta| meta.get("io.modelcontextprotocol/protocolVersion"))
        == Some(&json!(MODERN))
}

/// `<server>__<name>` → (server index, name). The longest server name that
/// fits wins, so `a__b` and `a` can both be servers.
pub fn split_name<'a>(servers: &[String], name: &'a str) -> Option<(usize, &'a str)> {
    servers
        .iter()
        .enumerate()
        .filter_map(|(i, server)| {
            let rest = name
                .strip_prefix(server.as_str())?
                .strip_prefix(SEPARATOR)?;
            Some((i, server.len(), rest))
        })
        .max_by_key(|(_, len, _)| *len)
        .map(|(i, _, rest)| (i, rest))
}

/// Prefixes the `name` of one list item with its server.
pub fn prefix_item(server: &str, mut item: Value) -> Value {
    if let Some(name) = item.get("name").and_then(Value::as_str) {
        let prefixed = format!("{server}{SEPARATOR}{name}");
        item["name"] = Value::String(prefixed);
    }
    item
}

/// Capabilities of several servers as one: an object key is there when any
/// server has it (objects merged recursively, the first non-object wins).
pub fn union_capabilities<'a>(all: impl IntoIterator<Item = &'a Value>) -> Value {
    fn merge(into: &mut Map<String, Value>, from: &Map<String, Value>) {
        for (k, v) in from {
            match (into.get_mut(k), v) {
                (Some(Value::Object(a)), Value::Object(b)) => merge(a, b),
                (Some(_), _) => {}
                (None, v) => {
                    into.insert(k.clone(), v.clone());
                }
            }
        }
    }
    let mut out = Map::new();
    for caps in all {
        if let Some(caps) = caps.as_object() {
            merge(&mut out, caps);
        }
    }
    Value::Object(out)
}

/// The gateway's own `serverInfo`.
pub fn server_info() -> Value {
    json!({"name": "mcpm-gateway", "version": env!("CARGO_PKG_VERSION")})
}

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

    fn live(&self) -> Vec<usize> {
        (0..self.servers.len())
            .filter(|&i| self.up[i] && (!self.client_initialized || self.initialized[i]))
            .collect()
    }

    fn known(&self) -> String {
        self.servers.join(", ")
    }

    /// Sends `message` (a request) to server `i` under a fresh id.
    fn send(&mut self, i: usize, mut message: Message, pending: Pending) -> Action {
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

    fn client_request(&mut self, method: &str, id: Value, message: Message) -> Vec<Action> {
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
    fn route_call(
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
                    let request = json!({"jsonrpc": "2.0", "method": ListKind::Resources.method()});
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

    fn down_error(&self, id: Value, i: usize) -> Message {
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

    fn client_notification(&mut self, method: &str, message: Message) -> Vec<Action> {
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

    /// Starts a fan-out of `request` to every live server.
    fn gather(&mut self, kind: GatherKind, purpose: Purpose, request: Message) -> Vec<Action> {
        self.next_gather += 1;
        let gid = self.next_gather;
        let targets = if kind == GatherKind::Initialize {
            (0..self.servers.len()).filter(|&i| self.up[i]).collect()
        } else {
            self.live()
        };
        self.gathers.insert(
            gid,
            Gather {
                kind,
                purpose,
                request: request.clone(),
                waiting: targets.iter().copied().collect(),
                pages: HashMap::new(),
                items: Vec::new(),
                results: Vec::new(),
                failed: Vec::new(),
            },
        );
        let mut actions: Vec<Action> = targets
            .into_iter()
            .map(|i| self.send(i, request.clone(), Pending::Part { gather: gid }))
            .collect();
        if actions.is_empty() {
            return self.finish(gid);
        }
        actions.push(Action::Timer(gid));
        actions
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

    /// A fan-out's time is up: the servers still waited for are left out.
    pub fn expire(&mut self, gid: u64) -> Vec<Action> {
        let Some(gather) = self.gathers.get_mut(&gid) else {
            return Vec::new();
        };
        let late: Vec<usize> = gather.waiting.drain().collect();
        for &i in &late {
            gather.failed.push((
                i,
                format!("no answer within {} s", GATHER_TIMEOUT.as_secs()),
            ));
        }
        self.pending
            .retain(|_, p| !matches!(p, Pending::Part { gather } if *gather == gid));
        self.finish(gid)
    }

    /// One server's answer to a fan-out.
    fn part(&mut self, gid: u64, i: usize, message: Message) -> Vec<Action> {
        let server = self.servers[i].clone();
        let Some(gather) = self.gathers.get_mut(&gid) else {
            return Vec::new();
        };
        let mut actions = Vec::new();
        if let Some(err) = message.get("error") {
            let text = err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("an error");
            gather.failed.push((i, text.to_string()));
            gather.waiting.remove(&i);
        } else {
            let result = message.get("result").cloned().unwrap_or(Value::Null);
            match gather.kind {
                GatherKind::List(kind) => {
                    let items = result
                        .get(kind.key())
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default();
                    for item in items {
                        match kind {
                            ListKind::Resources => {
                                if let Some(uri) = item.get("uri").and_then(Value::as_str) {
                                    self.uris.insert(uri.to_string(), i);
                                }
                            }
                            ListKind::Templates => {
                                if let Some(t) = item.get("uriTemplate").and_then(Value::as_str) {
                                    let literal = t.split('{').next().unwrap_or("").to_string();
                                    self.templates.retain(|(p, s)| !(p == &literal && *s == i));
                                    self.templates.push((literal, i));
                                }
                            }
                            _ => {}
                        }
                        gather.items.push(prefix_item(&server, item));
                    }
                    let pages = gather.pages.entry(i).or_insert(1);
                    let cursor = result
                        .get("nextCursor")
                        .filter(|c| c.as_str().is_some_and(|c| !c.is_empty()));
                    match cursor {
                        Some(cursor) if *pages < MAX_PAGES => {
                            *pages += 1;
                            let mut next = gather.request.clone();
                            next["params"]["cursor"] = cursor.clone();
                            actions.push(self.send(i, next, Pending::Part { gather: gid }));
                            return actions;
                        }
                        Some(_) => {
                            gather.failed.push((
                                i,
                                format!("more than {MAX_PAGES} pages; the rest is left out"),
                            ));
                            gather.waiting.remove(&i);
                        }
                        None => {
                            gather.waiting.remove(&i);
                        }
                    }
                }
                GatherKind::Initialize => {
                    self.initialized[i] = true;
                    gather.results.push((i, result));
                    gather.waiting.remove(&i);
                }
                GatherKind::Discover | GatherKind::SetLevel => {
                    gather.results.push((i, result));
                    gather.waiting.remove(&i);
                }
            }
        }
        if self.gathers.get(&gid).is_some_and(|g| g.waiting.is_empty()) {
            actions.extend(self.finish(gid));
        }
        actions
    }

    /// A fan-out is complete: answer (or route the request it was for).
    fn finish(&mut self, gid: u64) -> Vec<Action> {
        let Some(mut gather) = self.gathers.remove(&gid) else {
            return Vec::new();
        };
        let what = match gather.kind {
            GatherKind::List(kind) => kind.method(),
            GatherKind::Initialize => "initialize",
            GatherKind::Discover => "server/discover",
            GatherKind::SetLevel => "logging/setLevel",
        };
        let mut notes: Vec<Message> = Vec::new();
        for (i, why) in &gather.failed {
            let left_out = match gather.kind {
                GatherKind::List(kind) => format!("; its {} are left out", kind.key()),
                GatherKind::Initialize => "; it is left out of this session".to_string(),
                _ => String::new(),
            };
            notes.push(warning(format!(
                "server {} did not answer {what}: {why}{left_out}",
                self.servers[*i]
            )));
        }
        let placeholder = Purpose::Reply {
            client_id: Value::Null,
            modern: false,
        };
        match std::mem::replace(&mut gather.purpose, placeholder) {
            Purpose::Resolve {
                message,
                templates_done,
            } => {
                let method = message["method"].as_str().unwrap_or("").to_string();
                let id = message["id"].clone();
                let uri = message
                    .pointer("/params/uri")
                    .or_else(|| message.pointer("/params/ref/uri"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if self.server_of_uri(uri).is_none() && !templates_done {
                    let request = json!({"jsonrpc": "2.0", "method": ListKind::Templates.method()});
                    let purpose = Purpose::Resolve {
                        message,
                        templates_done: true,
                    };
                    return self.gather(GatherKind::List(ListKind::Templates), purpose, request);
                }
                let mut actions: Vec<Action> = notes.into_iter().map(Action::ToClient).collect();
                actions.extend(self.route_call(&method, id, message, true));
                actions
            }
            Purpose::Reply { client_id, modern } => {
                let result = self.merged(&gather, modern);
                let answer = match result {
                    Ok(result) => response(client_id, result),
                    Err(text) => error(client_id, -32603, text),
                };
                // The answer first: a client reads notifications about a
                // session it has (initialize) or a list it got.
                let mut actions = vec![Action::ToClient(answer)];
                let startup: Vec<Message> = self.warnings.drain(..).map(warning).collect();
                actions.extend(startup.into_iter().chain(notes).map(Action::ToClient));
                actions
            }
        }
    }

    fn merged(&self, gather: &Gather, modern: bool) -> Result<Value, String> {
        let mut result = match gather.kind {
            GatherKind::List(kind) => json!({ kind.key(): gather.items }),
            GatherKind::SetLevel => json!({}),
            GatherKind::Initialize => {
                let Some((_, first)) = gather.results.first() else {
                    return Err(format!(
                        "no server answered initialize (the servers here: {})",
                        self.known()
                    ));
                };
                let capabilities =
                    union_capabilities(gather.results.iter().map(|(_, r)| &r["capabilities"]));
                let instructions: Vec<String> = gather
                    .results
                    .iter()
                    .filter_map(|(i, r)| {
                        Some(format!(
                            "{}: {}",
                            self.servers[*i],
                            r["instructions"].as_str()?
                        ))
                    })
                    .collect();
                let mut result = json!({
                    "protocolVersion": first["protocolVersion"],
                    "capabilities": capabilities,
                    "serverInfo": server_info(),
                });
                if !instructions.is_empty() {
                    result["instructions"] = json!(instructions.join("\n\n"));
                }
                result
            }
            GatherKind::Discover => {
                if gather.results.is_empty() {
                    return Err(format!(
                        "no server answered server/discover (the servers here: {})",
                        self.known()
                    ));
                }
                let capabilities =
                    union_capabilities(gather.results.iter().map(|(_, r)| &r["capabilities"]));
                json!({
                    "resultType": "complete",
                    "supportedVersions": [MODERN],
                    "capabilities": capabilities,
                    "ttlMs": 0,
                    "cacheScope": "private",
                    "_meta": {"io.modelcontextprotocol/serverInfo": server_info()},
                })
            }
        };
        if modern {
            result["resultType"] = json!("complete");
            if matches!(gather.kind, GatherKind::List(_)) {
                result["ttlMs"] = json!(0);
                result["cacheScope"] = json!("private");
            }
        }
        Ok(result)
    }
}

/// Ids of aggregate sessions: far above the hub's own, so the two never meet.
static NEXT_SESSION: AtomicU64 = AtomicU64::new(1 << 48);

enum Event {
    FromServer(usize, Option<Message>),
    Expire(u64),
}

/// Opens an aggregate session over `servers`: one [`Sessions::open`] per
/// server, and a task that runs an [`Aggregator`] between them and the
/// client. Servers that cannot be opened are left out (the client is warned);
/// if none can, the first error is returned.
pub fn open(
    sessions: Arc<dyn Sessions>,
    servers: Vec<String>,
) -> BoxFuture<'static, Result<ClientSession>> {
    Box::pin(async move {
        if servers.is_empty() {
            return Err(
                Error::invalid("the gateway has no servers to aggregate on /mcp")
                    .hint("give the project stdio servers (stdin_open: true)"),
            );
        }
        let opened = join_all(
            servers
                .iter()
                .map(|name| sessions.open(Target::Server(name.clone()))),
        )
        .await;
        let mut aggregator = Aggregator::new(servers.clone());
        let (events, mut event_rx) = mpsc::unbounded_channel::<Event>();
        let mut upstream: Vec<Option<mpsc::Sender<Message>>> = Vec::new();
        let mut first_error = None;
        for (i, result) in opened.into_iter().enumerate() {
            match result {
                Ok(session) => {
                    upstream.push(Some(session.to_gateway));
                    let events = events.clone();
                    let mut from = session.from_gateway;
                    tokio::spawn(async move {
                        while let Some(message) = from.recv().await {
                            if events.send(Event::FromServer(i, Some(message))).is_err() {
                                return;
                            }
                        }
                        let _ = events.send(Event::FromServer(i, None));
                    });
                }
                Err(err) => {
                    aggregator.mark_down(i, &err.message);
                    upstream.push(None);
                    first_error.get_or_insert(err);
                }
            }
        }
        if aggregator.all_down() {
            return Err(first_error.unwrap_or_else(|| Error::runtime("no server could be opened")));
        }
        let (to_gateway, mut client_rx) = mpsc::channel::<Message>(64);
        let (client_tx, from_gateway) = mpsc::channel::<Message>(64);
        tokio::spawn(async move {
            loop {
                let actions = tokio::select! {
                    message = client_rx.recv() => match message {
                        Some(message) => aggregator.from_client(message),
                        None => break,
                    },
                    Some(event) = event_rx.recv() => match event {
                        Event::FromServer(i, Some(message)) => aggregator.from_server(i, message),
                        Event::FromServer(i, None) => {
                            upstream[i] = None;
                            aggregator.server_closed(i)
                        }
                        Event::Expire(gid) => aggregator.expire(gid),
                    },
                };
                let mut queue = std::collections::VecDeque::from(actions);
                while let Some(action) = queue.pop_front() {
                    match action {
                        Action::ToClient(message) => {
                            if client_tx.send(message).await.is_err() {
                                return;
                            }
                        }
                        Action::ToServer(i, message) => {
                            let sent = match &upstream[i] {
                                Some(tx) => tx.send(message).await.is_ok(),
                                None => false,
                            };
                            if !sent {
                                upstream[i] = None;
                                queue.extend(aggregator.server_closed(i));
                            }
                        }
                        Action::Timer(gid) => {
                            let events = events.clone();
                            tokio::spawn(async move {
                                tokio::time::sleep(GATHER_TIMEOUT).await;
                                let _ = events.send(Event::Expire(gid));
                            });
                        }
                    }
                }
                if aggregator.all_down() {
                    break;
                }
            }
            // Dropping `upstream` ends every server session.
        });
        Ok(ClientSession {
            id: NEXT_SESSION.fetch_add(1, Ordering::Relaxed),
            to_gateway,
            from_gateway,
        })
    })
}

#[cfg(test)]
#[path = "aggregate_tests.rs"]
mod tests;
