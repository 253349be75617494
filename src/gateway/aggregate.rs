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

/// A list request made to learn resource URIs for `message`: it carries the
/// protocol keys of the client's `_meta` (`io.modelcontextprotocol/*`), so a
/// 2026-07-28 session's lists are made in its revision too.
fn resolve_request(kind: ListKind, message: &Message) -> Message {
    let mut request = json!({"jsonrpc": "2.0", "method": kind.method()});
    let era: Map<String, Value> = message
        .pointer("/params/_meta")
        .and_then(Value::as_object)
        .map(|meta| {
            meta.iter()
                .filter(|(k, _)| k.starts_with("io.modelcontextprotocol/"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    if !era.is_empty() {
        request["params"] = json!({ "_meta": era });
    }
    request
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

mod gather;
mod router;

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
