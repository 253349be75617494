//! Pure decisions of the HTTP front end: what kind of JSON-RPC message a POST
//! carries, whether it is a 2026-07-28 (stateless) request, and which open
//! stream a message from the gateway goes to.
use serde_json::Value;

use crate::gateway::Message;

/// The protocol revision without `initialize` and `Mcp-Session-Id`.
pub const MODERN_VERSION: &str = "2026-07-28";
/// The `_meta` key a 2026-07-28 request names its protocol version with.
pub const VERSION_META_KEY: &str = "io.modelcontextprotocol/protocolVersion";
/// Protocol versions a client may name in `MCP-Protocol-Version`.
pub const KNOWN_VERSIONS: &[&str] = &[
    "2024-11-05",
    "2025-03-26",
    "2025-06-18",
    "2025-11-25",
    MODERN_VERSION,
];

/// What a POSTed JSON-RPC message is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A request: it gets a response, under `key` (its id as JSON text, so
    /// the string `"1"` and the number `1` stay apart).
    Request {
        key: String,
        method: String,
    },
    Notification,
    /// A response to a server→client request.
    Response,
}

/// Classifies one message; `Err` says why it is not a JSON-RPC message.
pub fn classify(message: &Message) -> Result<Kind, &'static str> {
    let Some(object) = message.as_object() else {
        return Err(if message.is_array() {
            "JSON-RPC batches are not supported (MCP 2025-06-18 removed them): send one message per POST"
        } else {
            "the body is not a JSON-RPC message (a JSON object)"
        });
    };
    let id = object.get("id").filter(|id| !id.is_null());
    match (object.get("method"), id) {
        (Some(Value::String(method)), Some(id)) if id.is_string() || id.is_number() => {
            Ok(Kind::Request {
                key: id_key(id),
                method: method.clone(),
            })
        }
        (Some(Value::String(_)), None) => Ok(Kind::Notification),
        (Some(Value::String(_)), Some(_)) => Err("a request id must be a string or a number"),
        (Some(_), _) => Err("`method` must be a string"),
        (None, Some(_)) if object.contains_key("result") || object.contains_key("error") => {
            Ok(Kind::Response)
        }
        (None, _) => Err(
            "a JSON-RPC message needs `method` (request, notification) or `result`/`error` (response)",
        ),
    }
}

/// A request id as a map key: its JSON text.
pub fn id_key(id: &Value) -> String {
    id.to_string()
}

/// The protocol version a request names in `params._meta`, if any.
pub fn meta_version(message: &Message) -> Option<&str> {
    message
        .pointer("/params/_meta")?
        .get(VERSION_META_KEY)?
        .as_str()
}

/// Whether a POST without `Mcp-Session-Id` is a 2026-07-28 stateless
/// request: the header or the request's `_meta` names that revision.
pub fn is_stateless(header_version: Option<&str>, message: &Message) -> bool {
    header_version == Some(MODERN_VERSION) || meta_version(message) == Some(MODERN_VERSION)
}

/// Makes sure a stateless request names its revision in `params._meta`
/// (the gateway behind decides by it; a client may have said it only in the
/// header). Leaves a request that already names one alone.
pub fn stamp_version(message: &mut Message) {
    if meta_version(message).is_some() {
        return;
    }
    let Some(object) = message.as_object_mut() else {
        return;
    };
    let params = object
        .entry("params")
        .or_insert_with(|| Value::Object(Default::default()));
    let Some(params) = params.as_object_mut() else {
        return;
    };
    let meta = params
        .entry("_meta")
        .or_insert_with(|| Value::Object(Default::default()));
    if let Some(meta) = meta.as_object_mut() {
        meta.insert(
            VERSION_META_KEY.into(),
            Value::String(MODERN_VERSION.into()),
        );
    }
}

/// The progress token a request asked progress notifications under.
pub fn progress_token(message: &Message) -> Option<Value> {
    message.pointer("/params/_meta/progressToken").cloned()
}

/// How the client's `Accept` header lets a request be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// `text/event-stream`: the response and the messages related to it.
    Sse,
    /// `application/json`: the response alone.
    Json,
}

/// Picks the answer form from `Accept`: SSE whenever the client takes it
/// (so server→client requests made while the request runs reach it), JSON
/// when it takes only JSON; `None` when it takes neither (406).
pub fn answer_form(accept: Option<&str>) -> Option<Answer> {
    let Some(accept) = accept else {
        return Some(Answer::Sse);
    };
    let types: Vec<String> = accept
        .split(',')
        .map(|part| {
            part.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .collect();
    let any = |t: &str| types.iter().any(|have| have == t);
    if any("text/event-stream") || any("*/*") || any("text/*") {
        Some(Answer::Sse)
    } else if any("application/json") || any("application/*") {
        Some(Answer::Json)
    } else {
        None
    }
}

/// Whether `Accept` takes `text/event-stream` (the GET stream needs it).
pub fn accepts_sse(accept: Option<&str>) -> bool {
    accept.is_some_and(|accept| {
        accept.split(',').any(|part| {
            let t = part.split(';').next().unwrap_or("").trim();
            t.eq_ignore_ascii_case("text/event-stream") || t == "*/*"
        })
    })
}

/// A request of this session waiting for its response.
#[derive(Debug, Clone, PartialEq)]
pub struct InFlight {
    pub key: String,
    /// Answered as SSE: the stream may carry related messages too.
    pub sse: bool,
    pub progress_token: Option<Value>,
}

/// Where a message from the gateway goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dest {
    /// The stream of the in-flight request with this key.
    Request(String),
    /// The session's standalone GET stream (kept for it while none is open).
    Standalone,
    /// Nowhere: a response to a request no one waits for any more (its
    /// client went away).
    Drop,
}

/// Routes one message the gateway sent this session. Responses go to their
/// request; a progress notification to the request that asked for it;
/// `list_changed` and resource updates to the standalone stream (they are
/// about the session, not a request) unless only a request's stream is
/// open; other notifications and server→client requests to the newest
/// in-flight SSE request (MCP says they should relate to it, and a client
/// that opened no GET stream listens only there), else the standalone stream.
/// `inflight` is oldest first.
pub fn route(message: &Message, inflight: &[InFlight], standalone_open: bool) -> Dest {
    let method = message.get("method").and_then(Value::as_str);
    let Some(method) = method else {
        let key = message.get("id").map(id_key);
        return match key {
            Some(key) if inflight.iter().any(|f| f.key == key) => Dest::Request(key),
            _ => Dest::Drop,
        };
    };
    if method == "notifications/progress" {
        let token = message.pointer("/params/progressToken");
        if let Some(found) = inflight
            .iter()
            .find(|f| f.sse && token.is_some() && f.progress_token.as_ref() == token)
        {
            return Dest::Request(found.key.clone());
        }
    }
    let newest_sse = inflight.iter().rev().find(|f| f.sse);
    let session_wide =
        method.ends_with("/list_changed") || method == "notifications/resources/updated";
    match newest_sse {
        Some(found) if !(session_wide && standalone_open) => Dest::Request(found.key.clone()),
        _ => Dest::Standalone,
    }
}

#[cfg(test)]
#[path = "route_tests.rs"]
mod tests;
