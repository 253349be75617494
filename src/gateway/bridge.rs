//! What `mcpm docker connect` decides, without I/O: which client requests
//! await answers, what to tell the client when the gateway goes away, and
//! what to replay on the next connection so the client never notices more
//! than the errors of the requests that were in flight.
//!
//! Lines pass through as the text they arrived as; only the messages the
//! bridge writes itself (errors, the replayed `initialize`) are serialised.
use serde_json::{Value, json};

/// The JSON-RPC code of the errors the bridge answers for lost requests.
pub const INTERNAL_ERROR: i64 = -32603;
/// JSON-RPC's parse error, for a client line that is not JSON.
pub const PARSE_ERROR: i64 = -32700;

/// What the I/O around the bridge must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Write this line to the client (stdout).
    ToClient(String),
    /// Write this line to the gateway (the socket).
    ToGateway(String),
    /// Open a new session with the gateway (starting it if needed) before
    /// the actions that follow; on failure call [`Bridge::connect_failed`]
    /// and drop the `ToGateway` actions of the batch.
    Reconnect,
}

/// The bridge between one client (stdio) and the gateway's sessions.
#[derive(Debug)]
pub struct Bridge {
    project: String,
    connected: bool,
    /// Ids of the client's requests the gateway has not answered, in order.
    pending: Vec<Value>,
    /// Ids of requests the gateway sent the client on this connection: only
    /// their answers are passed on (one for a connection that went away
    /// would reach a session that never asked).
    server_requests: Vec<Value>,
    /// The client's own `initialize` request and `notifications/initialized`,
    /// replayed on a new connection.
    initialize: Option<Value>,
    initialized: Option<String>,
    replay: Option<Replay>,
    replays: u64,
}

/// A replayed `initialize` whose answer is awaited (and swallowed); the
/// client's messages wait behind it.
#[derive(Debug)]
struct Replay {
    id: Value,
    waiting: Vec<String>,
}

impl Bridge {
    /// A bridge whose first connection is open.
    pub fn new(project: &str) -> Self {
        Self {
            project: project.to_string(),
            connected: true,
            pending: Vec::new(),
            server_requests: Vec::new(),
            initialize: None,
            initialized: None,
            replay: None,
            replays: 0,
        }
    }

    /// How many client requests await answers.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Whether a session with the gateway is open.
    pub fn connected(&self) -> bool {
        self.connected
    }

    /// A line the client wrote.
    pub fn from_client(&mut self, line: &str) -> Vec<Action> {
        let Ok(message) = serde_json::from_str::<Value>(line) else {
            return vec![Action::ToClient(error_line(
                &Value::Null,
                PARSE_ERROR,
                "mcpm connect: the line is not JSON",
            ))];
        };
        let mut forward = true;
        for item in items(&message) {
            match kind(item) {
                Kind::Request(id) => {
                    if method(item) == Some("initialize") {
                        self.initialize = Some(item.clone());
                    }
                    self.pending.push(id.clone());
                }
                Kind::Notification => {
                    if method(item) == Some("notifications/initialized") {
                        self.initialized = Some(item.to_string());
                    }
                }
                Kind::Response(id) => match self.server_requests.iter().position(|r| r == id) {
                    Some(at) => {
                        self.server_requests.remove(at);
                    }
                    // A lone answer to a request of a connection that went
                    // away: no session here asked it.
                    None => forward = message.is_array(),
                },
                Kind::Other => {}
            }
        }
        if !forward {
            return Vec::new();
        }
        let line = line.to_string();
        if !self.connected {
            self.connected = true;
            let mut actions = vec![Action::Reconnect];
            let reinitializes = method(&message) == Some("initialize");
            match &self.initialize {
                Some(initialize) if !reinitializes => {
                    self.replays += 1;
                    let id = Value::from(format!("mcpm-connect-replay-{}", self.replays));
                    let mut request = initialize.clone();
                    request["id"] = id.clone();
                    actions.push(Action::ToGateway(request.to_string()));
                    self.replay = Some(Replay {
                        id,
                        waiting: vec![line],
                    });
                }
                _ => actions.push(Action::ToGateway(line)),
            }
            return actions;
        }
        if let Some(replay) = &mut self.replay {
            replay.waiting.push(line);
            return Vec::new();
        }
        vec![Action::ToGateway(line)]
    }

    /// A line the gateway wrote.
    pub fn from_gateway(&mut self, line: &str) -> Vec<Action> {
        let Ok(message) = serde_json::from_str::<Value>(line) else {
            // Not JSON-RPC: the client's problem to judge, as it would be
            // talking to the server directly.
            return vec![Action::ToClient(line.to_string())];
        };
        if let Kind::Response(id) = kind(&message)
            && let Some(replay) = self.replay.take_if(|replay| &replay.id == id)
        {
            let mut actions: Vec<Action> = self
                .initialized
                .iter()
                .cloned()
                .map(Action::ToGateway)
                .collect();
            actions.extend(replay.waiting.into_iter().map(Action::ToGateway));
            return actions;
        }
        for item in items(&message) {
            match kind(item) {
                Kind::Response(id) => {
                    if let Some(at) = self.pending.iter().position(|p| p == id) {
                        self.pending.remove(at);
                    }
                }
                Kind::Request(id) => self.server_requests.push(id.clone()),
                Kind::Notification | Kind::Other => {}
            }
        }
        vec![Action::ToClient(line.to_string())]
    }

    /// The gateway closed the connection: every request in flight gets an
    /// error, and the next client message reconnects.
    pub fn gateway_closed(&mut self) -> Vec<Action> {
        let message = format!(
            "the mcpm gateway for project {} went away; it will be restarted on the next request",
            self.project
        );
        self.lose_connection(&message)
    }

    /// A reconnect failed (the gateway could not be started or refused the
    /// session): the requests waiting get `why`; the next message tries again.
    pub fn connect_failed(&mut self, why: &str) -> Vec<Action> {
        let message = format!(
            "cannot reach the mcpm gateway for project {}: {why}",
            self.project
        );
        self.lose_connection(&message)
    }

    fn lose_connection(&mut self, message: &str) -> Vec<Action> {
        self.connected = false;
        self.replay = None;
        self.server_requests.clear();
        self.pending
            .drain(..)
            .map(|id| Action::ToClient(error_line(&id, INTERNAL_ERROR, message)))
            .collect()
    }
}

/// A JSON-RPC error response.
pub fn error_line(id: &Value, code: i64, message: &str) -> String {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}).to_string()
}

enum Kind<'a> {
    Request(&'a Value),
    Notification,
    Response(&'a Value),
    Other,
}

fn kind(message: &Value) -> Kind<'_> {
    let Some(object) = message.as_object() else {
        return Kind::Other;
    };
    match (object.get("method"), object.get("id")) {
        (Some(_), Some(id)) if !id.is_null() => Kind::Request(id),
        (Some(_), _) => Kind::Notification,
        (None, Some(id)) if object.contains_key("result") || object.contains_key("error") => {
            Kind::Response(id)
        }
        _ => Kind::Other,
    }
}

fn method(message: &Value) -> Option<&str> {
    message.get("method").and_then(Value::as_str)
}

/// The messages of a line: one, or the members of a (legacy) batch.
fn items(message: &Value) -> Vec<&Value> {
    match message {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

#[cfg(test)]
#[path = "bridge_tests.rs"]
mod tests;
