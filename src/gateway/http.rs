//! The gateway's HTTP front end: MCP streamable HTTP (2025-06-18, 2025-11-25
//! and the stateless 2026-07-28 revision) on hyper, for `/servers/<server>/mcp`
//! ([`Target::Server`]) and `/mcp` ([`Target::All`]).
//!
//! Each MCP session is a [`ClientSession`] from [`Sessions::open`]; the
//! front end only frames messages (one POST = one JSON-RPC message, answered
//! as SSE or JSON), keeps sessions by `Mcp-Session-Id`, and guards the door
//! (bearer token, `Host`/`Origin` against DNS rebinding, body size). The
//! messages themselves go through untouched, as JSON values, so fields the
//! gateway does not know survive. Decisions live in [`route`] and [`guard`].
pub mod accept;
pub mod body;
pub mod guard;
pub mod route;
pub mod session;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};

use self::body::{Body, EventStream};
use self::guard::Refusal;
use self::route::{Answer, Kind};
use self::session::{HttpSession, Table, lock};
use crate::error::ExitStatus;
use crate::gateway::{Caller, Message, Sessions, SingleToken, Target, Verifier};

/// The header that names an MCP session.
const SESSION_HEADER: &str = "mcp-session-id";
/// The header that names the protocol version of a request.
const VERSION_HEADER: &str = "mcp-protocol-version";
/// Largest request body accepted (413 past it).
pub const DEFAULT_MAX_BODY: usize = 4 * 1024 * 1024;
/// A session with no open stream and no request for this long is closed.
pub const DEFAULT_SESSION_IDLE: Duration = Duration::from_secs(3600);

/// How the front end is set up.
pub struct HttpOptions {
    /// Judges the bearer token every request (but `/healthz`) must present.
    pub verifier: Arc<dyn Verifier>,
    /// Where the 401 answer tells the client to find a token.
    pub token_help: String,
    /// `Host` values accepted (`127.0.0.1:PORT`, `localhost:PORT`, `[::1]:PORT`).
    pub allowed_hosts: Vec<String>,
    /// `Origin` values accepted when a request has one.
    pub allowed_origins: Vec<String>,
    /// Resolves when the server should stop: it stops accepting, closes
    /// every session and lets open connections finish.
    pub shutdown: BoxFuture<'static, ()>,
    /// See [`DEFAULT_SESSION_IDLE`].
    pub session_idle: Duration,
    /// See [`DEFAULT_MAX_BODY`].
    pub max_body: usize,
}

impl HttpOptions {
    /// Options for a gateway on `port` of the loopback interface.
    pub fn loopback(token: String, port: u16, shutdown: BoxFuture<'static, ()>) -> Self {
        let (allowed_hosts, allowed_origins) = guard::loopback_names(port);
        Self {
            verifier: Arc::new(SingleToken(token)),
            token_help: "the token is in mcpm's config dir: gateway/token".into(),
            allowed_hosts,
            allowed_origins,
            shutdown,
            session_idle: DEFAULT_SESSION_IDLE,
            max_body: DEFAULT_MAX_BODY,
        }
    }
}

struct Server {
    sessions: Arc<dyn Sessions>,
    verifier: Arc<dyn Verifier>,
    token_help: String,
    allowed_hosts: Vec<String>,
    allowed_origins: Vec<String>,
    max_body: usize,
    table: Arc<Table>,
}

/// Serves MCP over streamable HTTP on `listener` until `options.shutdown`
/// resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    sessions: Arc<dyn Sessions>,
    options: HttpOptions,
) {
    let server = Arc::new(Server {
        sessions,
        verifier: options.verifier,
        token_help: options.token_help,
        allowed_hosts: options.allowed_hosts,
        allowed_origins: options.allowed_origins,
        max_body: options.max_body,
        table: Arc::new(Mutex::new(HashMap::new())),
    });
    let reaper = tokio::spawn(reap_idle(server.table.clone(), options.session_idle));
    let server_for_requests = server.clone();
    let service = hyper::service::service_fn(move |request| {
        let server = server_for_requests.clone();
        async move { Ok::<_, Infallible>(handle(&server, request).await) }
    });
    let graceful = accept::accept_until(listener, options.shutdown, "gateway", service).await;
    reaper.abort();
    // Ending the sessions ends their streams, so connections can finish.
    let open: Vec<Arc<HttpSession>> = lock(&server.table).drain().map(|(_, s)| s).collect();
    for session in &open {
        session.core.end();
    }
    drop(open);
    accept::finish(graceful).await;
}

/// Closes sessions that have been idle (no open stream, no request) for
/// `limit`: a client that went away without DELETE.
async fn reap_idle(table: Arc<Table>, limit: Duration) {
    let period = (limit / 4).clamp(Duration::from_millis(50), Duration::from_secs(60));
    loop {
        tokio::time::sleep(period).await;
        let now = Instant::now();
        let idle: Vec<Arc<HttpSession>> = {
            let mut table = lock(&table);
            let ids: Vec<String> = table
                .iter()
                .filter(|(_, s)| s.core.idle_for(now).is_some_and(|idle| idle >= limit))
                .map(|(id, _)| id.clone())
                .collect();
            ids.iter().filter_map(|id| table.remove(id)).collect()
        };
        for session in idle {
            session.core.end();
        }
    }
}

/// Answers one HTTP request.
async fn handle(server: &Server, request: Request<Incoming>) -> Response<Body> {
    let path = request.uri().path().to_string();
    if path == "/healthz" && request.method() == Method::GET {
        return plain(StatusCode::OK, "ok\n");
    }
    let header = |name| {
        request
            .headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let checked = guard::check(
        header(header::HOST),
        header(header::ORIGIN),
        header(header::AUTHORIZATION),
        &server.allowed_hosts,
        &server.allowed_origins,
        server.verifier.as_ref(),
    );
    let caller = match checked {
        Ok(caller) => caller,
        Err(Refusal::BadHost(host)) => {
            return plain(
                StatusCode::FORBIDDEN,
                &format!("forbidden: Host {host:?} is not this gateway's address\n"),
            );
        }
        Err(Refusal::BadOrigin(origin)) => {
            return plain(
                StatusCode::FORBIDDEN,
                &format!("forbidden: Origin {origin:?} may not use this gateway\n"),
            );
        }
        Err(Refusal::Unauthorized) => {
            let mut response = plain(
                StatusCode::UNAUTHORIZED,
                &format!(
                    "unauthorized: send Authorization: Bearer <token> ({})\n",
                    server.token_help
                ),
            );
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return response;
        }
    };
    let Some(target) = target_of(&path) else {
        return plain(
            StatusCode::NOT_FOUND,
            "not found: the MCP endpoints are /mcp and /servers/<server>/mcp\n",
        );
    };
    match *request.method() {
        Method::POST => post(server, target, caller, request).await,
        Method::GET => get(server, target, &caller, &request),
        Method::DELETE => delete(server, target, &caller, &request),
        _ => {
            let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, POST, DELETE"));
            response
        }
    }
}

/// The endpoint a path names.
fn target_of(path: &str) -> Option<Target> {
    if path == "/mcp" {
        return Some(Target::All);
    }
    let name = path.strip_prefix("/servers/")?.strip_suffix("/mcp")?;
    (!name.is_empty() && !name.contains('/')).then(|| Target::Server(name.to_string()))
}

fn header_str<'a>(request: &'a Request<Incoming>, name: &str) -> Option<&'a str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The session a request names, or the response that refuses it. A session
/// is only found on the endpoint and by the caller that opened it: another
/// token's holder who learnt the id gets the same answer as for no session.
fn find_session(
    server: &Server,
    target: &Target,
    caller: &Caller,
    id: &str,
) -> Result<Arc<HttpSession>, Box<Response<Body>>> {
    let found = lock(&server.table).get(id).cloned();
    match found {
        Some(session) if &session.target == target && &session.caller == caller => Ok(session),
        _ => Err(Box::new(rpc_error(
            StatusCode::NOT_FOUND,
            Value::Null,
            -32001,
            "session not found: it ended or never existed; send initialize again",
        ))),
    }
}

async fn post(
    server: &Server,
    target: Target,
    caller: Caller,
    request: Request<Incoming>,
) -> Response<Body> {
    let accept = header_str(&request, "accept").map(str::to_string);
    let session_id = header_str(&request, SESSION_HEADER).map(str::to_string);
    let version = header_str(&request, VERSION_HEADER).map(str::to_string);
    if let Some(content_type) = header_str(&request, "content-type")
        && !content_type
            .to_ascii_lowercase()
            .starts_with("application/json")
    {
        return plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported media type: POST one JSON-RPC message as application/json\n",
        );
    }
    let body = match Limited::new(request.into_body(), server.max_body)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => {
            return plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!(
                    "payload too large: a message may be at most {} bytes\n",
                    server.max_body
                ),
            );
        }
        // The client went away while sending.
        Err(_) => return plain(StatusCode::BAD_REQUEST, "incomplete request body\n"),
    };
    let mut message: Message = match serde_json::from_slice(&body) {
        Ok(message) => message,
        Err(err) => {
            return rpc_error(
                StatusCode::BAD_REQUEST,
                Value::Null,
                -32700,
                &format!("parse error: {err}"),
            );
        }
    };
    let kind = match route::classify(&message) {
        Ok(kind) => kind,
        Err(why) => return rpc_error(StatusCode::BAD_REQUEST, Value::Null, -32600, why),
    };
    let id = message.get("id").cloned().unwrap_or(Value::Null);
    if let Some(version) = &version
        && !route::KNOWN_VERSIONS.contains(&version.as_str())
    {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            id,
            -32600,
            &format!(
                "unsupported MCP-Protocol-Version {version:?}; this gateway speaks {}",
                route::KNOWN_VERSIONS.join(", ")
            ),
        );
    }
    let answer = match &kind {
        Kind::Request { .. } => match route::answer_form(accept.as_deref()) {
            Some(answer) => Some(answer),
            None => {
                return rpc_error(
                    StatusCode::NOT_ACCEPTABLE,
                    id,
                    -32600,
                    "not acceptable: Accept must allow application/json or text/event-stream",
                );
            }
        },
        _ => None,
    };

    if let Some(session_id) = session_id {
        let session = match find_session(server, &target, &caller, &session_id) {
            Ok(session) => session,
            Err(response) => return *response,
        };
        session.core.touch();
        return dispatch(session, message, kind, answer, false).await;
    }
    let is_initialize = matches!(&kind, Kind::Request { method, .. } if method == "initialize");
    if is_initialize {
        let opened = match server
            .sessions
            .open_as(target.clone(), caller.clone())
            .await
        {
            Ok(opened) => opened,
            Err(err) => return open_failed(id, &err),
        };
        let Some(session_id) = new_session_id() else {
            return rpc_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                id,
                -32603,
                "cannot make a session id: the OS random source failed",
            );
        };
        let session = HttpSession::start(
            session_id.clone(),
            target,
            caller,
            opened,
            Some(Arc::downgrade(&server.table)),
        );
        lock(&server.table).insert(session_id.clone(), session.clone());
        let mut response = dispatch(session, message, kind, answer, false).await;
        if let Ok(value) = HeaderValue::from_str(&session_id) {
            response.headers_mut().insert(SESSION_HEADER, value);
        }
        return response;
    }
    if route::is_stateless(version.as_deref(), &message) {
        // 2026-07-28: the request is its own session. Client notifications
        // and responses have nothing to go to at this revision.
        if !matches!(kind, Kind::Request { .. }) {
            return accepted();
        }
        route::stamp_version(&mut message);
        let opened = match server
            .sessions
            .open_as(target.clone(), caller.clone())
            .await
        {
            Ok(opened) => opened,
            Err(err) => return open_failed(id, &err),
        };
        let session = HttpSession::start(String::new(), target, caller, opened, None);
        return dispatch(session, message, kind, answer, true).await;
    }
    rpc_error(
        StatusCode::BAD_REQUEST,
        id,
        -32600,
        "bad request: Mcp-Session-Id header is required (start with initialize, or send MCP-Protocol-Version: 2026-07-28)",
    )
}

/// How long a request answered over the event stream may take to be
/// answered as plain JSON instead (see `dispatch`).
const JSON_WINDOW: std::time::Duration = std::time::Duration::from_millis(500);

/// Sends one message into a session and answers the POST. `own_session`:
/// the session exists for this request only and ends with its stream.
async fn dispatch(
    session: Arc<HttpSession>,
    message: Message,
    kind: Kind,
    answer: Option<Answer>,
    own_session: bool,
) -> Response<Body> {
    let id = message.get("id").cloned().unwrap_or(Value::Null);
    let Kind::Request { key, .. } = kind else {
        return match session.to_gateway.send(message).await {
            Ok(()) => accepted(),
            Err(_) => gone(id),
        };
    };
    let sse = answer == Some(Answer::Sse);
    let token = route::progress_token(&message);
    let Some((mut rx, stream_guard)) = session.core.register(&key, sse, token) else {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            id,
            -32600,
            "a request with this id is already in flight in this session",
        );
    };
    if session.to_gateway.send(message).await.is_err() {
        return gone(id);
    }
    if sse {
        // Most requests are answered at once and alone: that answer goes
        // back as one JSON body (the spec lets the server choose), which
        // saves the event stream's framing and writes. A request still
        // running after JSON_WINDOW, or whose server sends something first
        // (progress, a server→client request), gets the event stream.
        let first = match tokio::time::timeout(JSON_WINDOW, rx.recv()).await {
            Ok(Some(message)) if message.get("method").is_none() => {
                drop(stream_guard);
                drop(session);
                return json_response(StatusCode::OK, &message);
            }
            Ok(Some(message)) => Some(message),
            Ok(None) => {
                drop(stream_guard);
                drop(session);
                return json_response(StatusCode::OK, &body::session_ended(&id));
            }
            Err(_) => None,
        };
        let mut holds: Vec<Box<dyn std::any::Any + Send>> = vec![Box::new(stream_guard)];
        if own_session {
            holds.push(Box::new(session));
        }
        let stream = EventStream::new(rx, Some(id), holds).starting_with(first);
        let mut response = Response::new(stream.boxed());
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        return response;
    }
    // JSON: wait for the response alone (routing sends nothing else here).
    // If the client goes away, hyper drops this future, and with it the
    // guard and (for a 2026-07-28 request) the session.
    let reply = loop {
        match rx.recv().await {
            Some(message) if message.get("method").is_none() => break message,
            Some(_) => continue,
            None => break body::session_ended(&id),
        }
    };
    drop(stream_guard);
    drop(session);
    json_response(StatusCode::OK, &reply)
}

fn get(
    server: &Server,
    target: Target,
    caller: &Caller,
    request: &Request<Incoming>,
) -> Response<Body> {
    if !route::accepts_sse(header_str(request, "accept")) {
        return plain(
            StatusCode::NOT_ACCEPTABLE,
            "not acceptable: the GET stream is text/event-stream\n",
        );
    }
    let Some(session_id) = header_str(request, SESSION_HEADER) else {
        return plain(
            StatusCode::BAD_REQUEST,
            "bad request: Mcp-Session-Id header is required\n",
        );
    };
    let session = match find_session(server, &target, caller, session_id) {
        Ok(session) => session,
        Err(response) => return *response,
    };
    let Some((rx, guard)) = session.core.open_standalone() else {
        return gone(Value::Null);
    };
    let stream = EventStream::new(rx, None, vec![Box::new(guard)]);
    let mut response = Response::new(stream.boxed());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn delete(
    server: &Server,
    target: Target,
    caller: &Caller,
    request: &Request<Incoming>,
) -> Response<Body> {
    let Some(session_id) = header_str(request, SESSION_HEADER) else {
        return plain(
            StatusCode::BAD_REQUEST,
            "bad request: Mcp-Session-Id header is required\n",
        );
    };
    if let Err(response) = find_session(server, &target, caller, session_id) {
        return *response;
    }
    if let Some(session) = lock(&server.table).remove(session_id) {
        session.core.end();
    }
    plain(StatusCode::OK, "")
}

/// 32 bytes from the OS's random source, as hex: not guessable, so knowing
/// the gateway's address is not enough to join someone's session.
fn new_session_id() -> Option<String> {
    crate::hash::random_hex(32).ok()
}

/// `Sessions::open` failed: an unknown server is the client's mistake (404,
/// the error names the servers there), anything else the gateway's.
fn open_failed(id: Value, err: &crate::error::Error) -> Response<Body> {
    let mut message = err.message.clone();
    if let Some(hint) = &err.hint {
        message.push_str(&format!(" (hint: {hint})"));
    }
    let status = if err.status == ExitStatus::Invalid {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::BAD_GATEWAY
    };
    rpc_error(status, id, -32603, &message)
}

fn gone(id: Value) -> Response<Body> {
    rpc_error(
        StatusCode::NOT_FOUND,
        id,
        -32001,
        "session not found: it ended; send initialize again",
    )
}

fn accepted() -> Response<Body> {
    let mut response = Response::new(body::full(Bytes::new()));
    *response.status_mut() = StatusCode::ACCEPTED;
    response
}

fn plain(status: StatusCode, text: &str) -> Response<Body> {
    let mut response = Response::new(body::full(text.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn json_response(status: StatusCode, message: &Message) -> Response<Body> {
    let mut response = Response::new(body::full(message.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn rpc_error(status: StatusCode, id: Value, code: i64, message: &str) -> Response<Body> {
    json_response(
        status,
        &json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_targets() {
        assert_eq!(target_of("/mcp"), Some(Target::All));
        assert_eq!(
            target_of("/servers/time/mcp"),
            Some(Target::Server("time".into()))
        );
        assert_eq!(target_of("/servers//mcp"), None);
        assert_eq!(target_of("/servers/a/b/mcp"), None);
        assert_eq!(target_of("/servers/time"), None);
        assert_eq!(target_of("/"), None);
    }

    #[test]
    fn session_ids_are_long_and_different() {
        let a = new_session_id().unwrap();
        let b = new_session_id().unwrap();
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
