//! JSON-RPC messages as the gateway sees them: what kind a message is, the
//! error responses the gateway makes itself, the per-request `_meta` keys of
//! the 2026-07-28 protocol revision, and newline-delimited framing.
//!
//! Messages stay [`Message`] (parsed JSON) from end to end: the gateway reads
//! and rewrites only `id`, `params._meta.progressToken` and
//! `params.requestId`, so every field it does not know survives the trip.
use serde_json::{Value, json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};

use super::Message;

/// JSON-RPC: the message is not a valid request.
pub const INVALID_REQUEST: i64 = -32600;
/// JSON-RPC: the method does not exist.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// JSON-RPC: an internal error (the gateway uses it for "the server went away").
pub const INTERNAL_ERROR: i64 = -32603;
/// JSON-RPC: the text is not JSON.
pub const PARSE_ERROR: i64 = -32700;

/// `params._meta` key of the 2026-07-28 revision: the protocol version a
/// request speaks (there is no `initialize` in that revision).
pub const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// `params._meta` key of the 2026-07-28 revision: the client's `clientInfo`.
pub const META_CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
/// `params._meta` key of the 2026-07-28 revision: the client's capabilities.
pub const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// `_meta` key under which a 2026-07-28 `server/discover` result carries the
/// server's `serverInfo`.
pub const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
/// The prefix of every key the protocol reserves in `_meta`.
const META_PREFIX: &str = "io.modelcontextprotocol/";

/// The revision without `initialize` (requests carry their version in `_meta`).
pub const MODERN_PROTOCOL: &str = "2026-07-28";
/// The handshake revision the gateway speaks to servers when it initializes
/// one itself (every server of the handshake era accepts it).
pub const LEGACY_PROTOCOL: &str = "2025-06-18";

/// Methods whose 2026-07-28 results must carry `ttlMs` and `cacheScope`
/// (client-side caching directives; the SDK rejects such a result without them).
pub const CACHEABLE_METHODS: [&str; 6] = [
    "prompts/list",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "server/discover",
    "tools/list",
];

/// Longest line accepted from a client or a server (16 MiB): a bound on the
/// memory one peer can make the gateway hold.
pub const MAX_LINE: usize = 16 * 1024 * 1024;

/// What a message is, by JSON-RPC 2.0's rules.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind<'a> {
    /// Has `method` and `id` (of any JSON type): expects a response.
    Request { id: &'a Value, method: &'a str },
    /// Has `method` and no `id`.
    Notification { method: &'a str },
    /// Has `id` and `result` (or `error`, see [`Kind::Error`]).
    Response { id: &'a Value },
    /// Has `id` and `error`.
    Error { id: &'a Value },
    /// A JSON array: a batch (removed from MCP in 2025-06-18).
    Batch,
    /// Anything else; the text says what is wrong.
    Invalid(&'static str),
}

/// Classifies a message.
pub fn classify(message: &Message) -> Kind<'_> {
    let object = match message {
        Value::Object(object) => object,
        Value::Array(_) => return Kind::Batch,
        _ => return Kind::Invalid("a JSON-RPC message must be a JSON object"),
    };
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Kind::Invalid("\"jsonrpc\" must be \"2.0\"");
    }
    let id = object.get("id");
    match (object.get("method"), id) {
        (Some(Value::String(method)), Some(id)) => Kind::Request { id, method },
        (Some(Value::String(method)), None) => Kind::Notification { method },
        (Some(_), _) => Kind::Invalid("\"method\" must be a string"),
        (None, Some(id)) if object.contains_key("error") => Kind::Error { id },
        (None, Some(id)) if object.contains_key("result") => Kind::Response { id },
        (None, _) => {
            Kind::Invalid("a message needs \"method\", or \"id\" with \"result\" or \"error\"")
        }
    }
}

/// The id of a request or response, when the message has one.
pub fn id_of(message: &Message) -> Option<&Value> {
    message.get("id")
}

/// A JSON-RPC error response.
pub fn error_response(id: Value, code: i64, message: impl Into<String>) -> Message {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message.into()}})
}

/// `-32600`: the message is not a valid request.
pub fn invalid_request(id: Value, detail: &str) -> Message {
    error_response(id, INVALID_REQUEST, format!("invalid request: {detail}"))
}

/// `-32601`: the method does not exist.
pub fn method_not_found(id: Value, method: &str) -> Message {
    error_response(id, METHOD_NOT_FOUND, format!("method not found: {method}"))
}

/// `-32603` naming the server: what a client gets for a request the server
/// can no longer answer (it exited, crashed or restarted).
pub fn server_error(id: Value, server: &str, what: &str) -> Message {
    error_response(
        id,
        INTERNAL_ERROR,
        format!("MCP server `{server}` {what}; the request was not answered"),
    )
}

/// A successful response.
pub fn result_response(id: Value, result: Value) -> Message {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

/// A notification.
pub fn notification(method: &str, params: Value) -> Message {
    json!({"jsonrpc": "2.0", "method": method, "params": params})
}

/// The request's `params._meta`, when it has one.
pub fn meta(message: &Message) -> Option<&serde_json::Map<String, Value>> {
    message.get("params")?.get("_meta")?.as_object()
}

/// The protocol version a 2026-07-28 request names in its `_meta`.
pub fn request_protocol_version(message: &Message) -> Option<&str> {
    meta(message)?.get(META_PROTOCOL_VERSION)?.as_str()
}

/// Removes the protocol's reserved keys (`io.modelcontextprotocol/…`) from
/// `params._meta`, and `_meta` itself when nothing else is left: a server
/// of the handshake era rejects a request that names the modern revision.
pub fn strip_protocol_meta(message: &mut Message) {
    let Some(params) = message.get_mut("params").and_then(Value::as_object_mut) else {
        return;
    };
    let Some(meta) = params.get_mut("_meta").and_then(Value::as_object_mut) else {
        return;
    };
    meta.retain(|key, _| !key.starts_with(META_PREFIX));
    if meta.is_empty() {
        params.remove("_meta");
    }
}

/// Why a line could not be read as a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineError {
    /// The line is not JSON; the text is the parser's complaint.
    Parse(String),
    /// The line is longer than the limit (it was skipped whole).
    TooLong(usize),
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LineError::Parse(err) => write!(f, "not JSON: {err}"),
            LineError::TooLong(max) => write!(f, "line longer than {max} bytes"),
        }
    }
}

impl LineError {
    /// The JSON-RPC error response telling the peer about a bad line (its id
    /// is unknown, so it is `null`).
    pub fn response(&self) -> Message {
        match self {
            LineError::Parse(_) => error_response(Value::Null, PARSE_ERROR, self.to_string()),
            LineError::TooLong(_) => invalid_request(Value::Null, &self.to_string()),
        }
    }
}

/// Reads newline-delimited JSON messages with a bound on the line length.
pub struct LineReader<R> {
    reader: R,
    max: usize,
    line: Vec<u8>,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    /// Reads from `reader`, accepting lines up to `max` bytes.
    pub fn new(reader: R, max: usize) -> Self {
        Self {
            reader,
            max,
            line: Vec::new(),
        }
    }

    /// The reader back, with whatever it buffered past the last line.
    pub fn into_inner(self) -> R {
        self.reader
    }

    /// The next message: `Ok(None)` at end of input, `Ok(Some(Err(..)))` for
    /// a bad line (the reader stays usable), `Err` for an I/O failure. Blank
    /// lines are skipped.
    pub async fn next(&mut self) -> std::io::Result<Option<Result<Message, LineError>>> {
        loop {
            self.line.clear();
            let mut too_long = false;
            let mut saw_any = false;
            loop {
                let buf = self.reader.fill_buf().await?;
                if buf.is_empty() {
                    if !saw_any {
                        return Ok(None);
                    }
                    break;
                }
                saw_any = true;
                let (chunk, done) = match buf.iter().position(|b| *b == b'\n') {
                    Some(at) => (&buf[..at], Some(at + 1)),
                    None => (buf, None),
                };
                if !too_long {
                    if self.line.len() + chunk.len() > self.max {
                        // Skip to the end of the line without keeping it.
                        too_long = true;
                        self.line = Vec::new();
                    } else {
                        self.line.extend_from_slice(chunk);
                    }
                }
                let used = done.unwrap_or(buf.len());
                self.reader.consume(used);
                if done.is_some() {
                    break;
                }
            }
            if too_long {
                return Ok(Some(Err(LineError::TooLong(self.max))));
            }
            let text = self.line.trim_ascii();
            if text.is_empty() {
                continue;
            }
            return Ok(Some(
                serde_json::from_slice(text).map_err(|err| LineError::Parse(err.to_string())),
            ));
        }
    }
}

/// Writes one message and its newline, then flushes.
pub async fn write_message<W: AsyncWrite + Unpin + ?Sized>(
    writer: &mut W,
    message: &Message,
) -> std::io::Result<()> {
    let mut bytes = serde_json::to_vec(message)?;
    bytes.push(b'\n');
    writer.write_all(&bytes).await?;
    writer.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_classified_by_their_fields() {
        let request = json!({"jsonrpc": "2.0", "id": {"odd": [1]}, "method": "tools/list"});
        assert_eq!(
            classify(&request),
            Kind::Request {
                id: &json!({"odd": [1]}),
                method: "tools/list"
            }
        );
        let null_id = json!({"jsonrpc": "2.0", "id": null, "method": "ping"});
        assert!(matches!(
            classify(&null_id),
            Kind::Request {
                id: Value::Null,
                ..
            }
        ));
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        assert_eq!(
            classify(&note),
            Kind::Notification {
                method: "notifications/initialized"
            }
        );
        let ok = json!({"jsonrpc": "2.0", "id": 1.5, "result": {}});
        assert_eq!(classify(&ok), Kind::Response { id: &json!(1.5) });
        let err = json!({"jsonrpc": "2.0", "id": "a", "error": {"code": 1, "message": "x"}});
        assert_eq!(classify(&err), Kind::Error { id: &json!("a") });
        assert_eq!(classify(&json!([request])), Kind::Batch);
        for bad in [
            json!(3),
            json!({"id": 1, "method": "x"}),
            json!({"jsonrpc": "1.0", "id": 1, "method": "x"}),
            json!({"jsonrpc": "2.0", "id": 1, "method": 7}),
            json!({"jsonrpc": "2.0", "id": 1}),
            json!({"jsonrpc": "2.0"}),
        ] {
            assert!(matches!(classify(&bad), Kind::Invalid(_)), "{bad}");
        }
    }

    #[test]
    fn error_responses_carry_the_id_and_name_the_server() {
        let err = server_error(json!([1]), "time", "exited");
        assert_eq!(err["id"], json!([1]));
        assert_eq!(err["error"]["code"], INTERNAL_ERROR);
        assert!(
            err["error"]["message"]
                .as_str()
                .unwrap()
                .contains("`time` exited")
        );
        assert_eq!(
            method_not_found(json!(1), "x")["error"]["code"],
            METHOD_NOT_FOUND
        );
        assert_eq!(
            invalid_request(json!(1), "x")["error"]["code"],
            INVALID_REQUEST
        );
    }

    #[test]
    fn protocol_meta_is_stripped_and_other_meta_kept() {
        let mut message = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {
            "cursor": "c",
            "_meta": {META_PROTOCOL_VERSION: MODERN_PROTOCOL, META_CLIENT_INFO: {"name": "x"}, "progressToken": 4}
        }});
        assert_eq!(request_protocol_version(&message), Some(MODERN_PROTOCOL));
        strip_protocol_meta(&mut message);
        assert_eq!(
            message["params"],
            json!({"cursor": "c", "_meta": {"progressToken": 4}})
        );
        let mut only = json!({"jsonrpc": "2.0", "id": 1, "method": "m", "params": {
            "_meta": {META_PROTOCOL_VERSION: MODERN_PROTOCOL}
        }});
        strip_protocol_meta(&mut only);
        assert_eq!(only["params"], json!({}));
        let mut none = json!({"jsonrpc": "2.0", "method": "m"});
        strip_protocol_meta(&mut none);
        assert_eq!(none, json!({"jsonrpc": "2.0", "method": "m"}));
    }

    #[tokio::test]
    async fn lines_are_framed_bounded_and_bad_ones_do_not_stop_the_reader() {
        let long = format!("{{\"x\":\"{}\"}}", "a".repeat(100));
        let input = format!(
            "{{\"jsonrpc\":\"2.0\",\"method\":\"a\"}}\r\n\n  \nnot json\n{long}\n{{\"jsonrpc\":\"2.0\",\"method\":\"b\"}}"
        );
        // A tiny buffer: lines span many reads.
        let reader = tokio::io::BufReader::with_capacity(7, input.as_bytes());
        let mut lines = LineReader::new(reader, 64);
        let first = lines.next().await.unwrap().unwrap().unwrap();
        assert_eq!(first["method"], "a");
        let bad = lines.next().await.unwrap().unwrap().unwrap_err();
        assert!(matches!(bad, LineError::Parse(_)));
        assert_eq!(bad.response()["error"]["code"], PARSE_ERROR);
        assert_eq!(
            lines.next().await.unwrap().unwrap(),
            Err(LineError::TooLong(64))
        );
        // The last line has no newline: end of input ends it.
        let last = lines.next().await.unwrap().unwrap().unwrap();
        assert_eq!(last["method"], "b");
        assert!(lines.next().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn written_messages_are_one_line_each() {
        let mut out = Vec::new();
        write_message(&mut out, &json!({"a": "x\ny"}))
            .await
            .unwrap();
        assert_eq!(out, b"{\"a\":\"x\\ny\"}\n");
    }
}
