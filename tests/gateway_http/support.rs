//! A fake gateway behind the HTTP front end (an in-test [`Sessions`] that
//! answers initialize, server/discover, tools/list and tools/call), and a
//! small raw HTTP/1.1 client, so each test controls every header and can
//! hang up mid-request.
// Shared by two test binaries; each uses part of it.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::future::BoxFuture;
use mcpm::error::{Error, Result};
use mcpm::gateway::http::{HttpOptions, serve};
use mcpm::gateway::{ClientSession, GatewayView, Message, Sessions, Target};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// The servers the fake gateway has.
pub const SERVERS: [&str; 2] = ["time", "clock"];

pub const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// Counts of what the fake saw.
#[derive(Default)]
pub struct Fake {
    /// Sessions open now (a session ends when the front end drops `to_gateway`).
    pub open: AtomicUsize,
    pub opened: AtomicUsize,
    /// `slow` tool calls that were cut short by their session ending.
    pub abandoned: AtomicUsize,
}

/// Opens a fake session: a task answering like a tiny MCP server.
fn open_fake(me: &'static Fake, target: Target) -> BoxFuture<'static, Result<ClientSession>> {
    Box::pin(async move {
        let name = match target {
            Target::Server(name) if SERVERS.contains(&name.as_str()) => name,
            Target::Server(name) => {
                return Err(Error::invalid(format!("unknown server {name:?}"))
                    .hint(format!("the servers here: {}", SERVERS.join(", "))));
            }
            Target::All => {
                let servers = SERVERS.iter().map(|s| s.to_string()).collect();
                return mcpm::gateway::aggregate::open(Arc::new(FakeRef(me)), servers).await;
            }
        };
        let (to_gateway, mut inbox) = mpsc::channel::<Message>(16);
        let (outbox, from_gateway) = mpsc::channel::<Message>(16);
        let id = me.opened.fetch_add(1, Ordering::SeqCst) as u64;
        me.open.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            let mut tasks = Vec::new();
            while let Some(message) = inbox.recv().await {
                if let Some(reply) = answer(&name, &message, &outbox, me, &mut tasks) {
                    let _ = outbox.send(reply).await;
                }
            }
            for task in tasks {
                task.abort();
            }
            me.open.fetch_sub(1, Ordering::SeqCst);
        });
        Ok(ClientSession {
            id,
            to_gateway,
            from_gateway,
        })
    })
}

fn answer(
    name: &str,
    message: &Message,
    outbox: &mpsc::Sender<Message>,
    me: &'static Fake,
    tasks: &mut Vec<tokio::task::JoinHandle<()>>,
) -> Option<Message> {
    let id = message.get("id")?.clone();
    let method = message.get("method")?.as_str()?;
    let result = match method {
        "initialize" => json!({
            "protocolVersion": message["params"]["protocolVersion"],
            "capabilities": {"tools": {"listChanged": true}},
            "serverInfo": {"name": format!("fake-{name}"), "version": "1.0.0"},
        }),
        "server/discover" => json!({
            "resultType": "complete",
            "supportedVersions": ["2026-07-28"],
            "capabilities": {"tools": {"listChanged": true}},
            "ttlMs": 0,
            "cacheScope": "private",
            "_meta": {"io.modelcontextprotocol/serverInfo": {"name": format!("fake-{name}"), "version": "1.0.0"}},
        }),
        "ping" => json!({}),
        "tools/list" => json!({"tools": [
            {"name": "echo", "description": "says it back", "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}}, "x-unknown": {"kept": true}},
            {"name": "slow", "inputSchema": {"type": "object"}},
        ]}),
        "tools/call" => {
            let tool = message["params"]["name"].as_str().unwrap_or("");
            let text = message["params"]["arguments"]["text"]
                .as_str()
                .unwrap_or("")
                .to_string();
            if tool == "slow" {
                let outbox = outbox.clone();
                tasks.push(tokio::spawn(async move {
                    let guard = Abandoned(me, true);
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    std::mem::forget(guard);
                    let _ = outbox
                        .send(json!({"jsonrpc":"2.0","id":id,"result":{"content":[{"type":"text","text":"late"}]}}))
                        .await;
                }));
                return None;
            }
            // A related notification first: it must travel on the request's stream.
            let _ = outbox.try_send(json!({"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":format!("calling {tool}")}}));
            json!({"content": [{"type": "text", "text": text}], "isError": false})
        }
        _ => {
            return Some(
                json!({"jsonrpc":"2.0","id":id,"error":{"code":-32601,"message":format!("no method {method}")}}),
            );
        }
    };
    let mut result = result;
    if modern(message) {
        // What a 2026-07-28 client requires of results (the hub adds these
        // for real servers, which speak the handshake era upstream).
        result["resultType"] = json!("complete");
        if method.ends_with("/list") {
            result["ttlMs"] = json!(0);
            result["cacheScope"] = json!("private");
        }
    }
    Some(json!({"jsonrpc": "2.0", "id": id, "result": result}))
}

/// Whether a request names the 2026-07-28 revision in `_meta`.
pub fn modern(message: &Message) -> bool {
    message.pointer("/params/_meta/io.modelcontextprotocol~1protocolVersion")
        == Some(&json!("2026-07-28"))
}

/// Counts a `slow` call dropped before it answered.
struct Abandoned(&'static Fake, bool);
impl Drop for Abandoned {
    fn drop(&mut self) {
        if self.1 {
            self.0.abandoned.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// A running front end over a fake.
pub struct Gateway {
    pub port: u16,
    pub fake: &'static Fake,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub task: Option<tokio::task::JoinHandle<()>>,
}

impl Gateway {
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Stops the server and waits for `serve` to return.
    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(10), self.task.take().unwrap())
            .await
            .expect("serve returns after shutdown")
            .unwrap();
    }
}

/// Starts the front end on a free loopback port.
pub async fn start(session_idle: Option<Duration>) -> Gateway {
    let fake: &'static Fake = Box::leak(Box::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut options = HttpOptions::loopback(
        TOKEN.to_string(),
        port,
        Box::pin(async move {
            let _ = stopped.await;
        }),
    );
    if let Some(idle) = session_idle {
        options.session_idle = idle;
    }
    let sessions: Arc<dyn Sessions> = Arc::new(FakeRef(fake));
    let task = tokio::spawn(serve(listener, sessions, options));
    Gateway {
        port,
        fake,
        stop: Some(stop),
        task: Some(task),
    }
}

/// `Sessions` over a leaked fake, so the test keeps reading its counts.
struct FakeRef(&'static Fake);
impl Sessions for FakeRef {
    fn open(&self, target: Target) -> BoxFuture<'_, Result<ClientSession>> {
        open_fake(self.0, target)
    }
    fn view(&self) -> GatewayView {
        GatewayView::default()
    }
}

/// One HTTP response, body de-chunked.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The messages of the answer: the events of an event stream, or the one
    /// message of a JSON body (what the gateway sends for a request
    /// answered at once).
    pub fn events(&self) -> Vec<Value> {
        if self.header("content-type") == Some("application/json") {
            return vec![self.json()];
        }
        self.body
            .lines()
            .filter_map(|line| line.strip_prefix("data: "))
            .map(|data| serde_json::from_str(data).unwrap())
            .collect()
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

/// Writes a request (with `Connection: close`), returning the open socket.
pub async fn send(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &str,
) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut text = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        text.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    text.push_str("\r\n");
    text.push_str(body);
    stream.write_all(text.as_bytes()).await.unwrap();
    stream
}

/// Reads a whole response.
pub async fn read(mut stream: TcpStream) -> Reply {
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut raw))
        .await
        .expect("response within 20 s")
        .unwrap();
    parse(&raw)
}

fn parse(raw: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(raw);
    let (head, rest) = text.split_once("\r\n\r\n").expect("a complete head");
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.push_str(&after[..size]);
        rest = &after[size..];
        rest = rest.strip_prefix("\r\n").unwrap_or(rest);
    }
    out
}

/// A request with the right token and Host, plus `extra` headers.
pub async fn call(
    g: &Gateway,
    method: &str,
    path: &str,
    extra: &[(&str, String)],
    body: &str,
) -> Reply {
    let mut headers = vec![
        ("Host", g.host()),
        ("Authorization", format!("Bearer {TOKEN}")),
    ];
    if method == "POST" {
        headers.push(("Content-Type", "application/json".into()));
    }
    headers.extend(extra.iter().cloned());
    read(send(g.port, method, path, &headers, body).await).await
}

/// Both answer forms, as MCP clients must send.
pub fn accept_both() -> (&'static str, String) {
    ("Accept", "application/json, text/event-stream".into())
}

pub fn initialize(id: u64) -> String {
    json!({"jsonrpc":"2.0","id":id,"method":"initialize","params":{
        "protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"0"}}})
    .to_string()
}

/// Opens a session on `path` and returns its id.
pub async fn open_session(g: &Gateway, path: &str) -> String {
    let reply = call(g, "POST", path, &[accept_both()], &initialize(1)).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    reply
        .header("mcp-session-id")
        .expect("a session id")
        .to_string()
}

/// Waits until `check` holds, up to 5 s.
pub async fn eventually(what: &str, check: impl Fn() -> bool) {
    for _ in 0..100 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}
