//! The unix-socket front end: what `mcpm docker connect` (and `status`)
//! talk to. One connection is one client session.
//!
//! The protocol (SPEC §6b, the gateway's socket):
//! 1. the client writes one hello line: `{"mcpm_gateway":1,"open":"<server>"}`
//!    (`"open":"*"` for all servers) or `{"mcpm_gateway":1,"status":true}`;
//! 2. the gateway answers one line: `{"ok":true}`, or
//!    `{"ok":false,"error":"…","hint":"…","exit":2}` and closes; a status
//!    request gets `{"ok":true,"view":<GatewayView>}` and the close;
//! 3. then newline-delimited JSON-RPC both ways. The client's EOF ends the
//!    session; the gateway closing the connection means the session ended on
//!    its side (the server or the gateway went away).
//!
//! The socket's directory is 0700: that is its access control.
use std::os::unix::fs::{DirBuilderExt, FileTypeExt};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;

use super::message::{LineReader, MAX_LINE, write_message};
use super::{Sessions, Target};
use crate::error::{Error, Result};

/// The protocol version in the hello line.
pub const PROTOCOL: u64 = 1;

/// How long a connection may take to say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest hello line.
const MAX_HELLO: usize = 64 * 1024;

/// Binds the gateway's socket at `path`, creating its directory (0700). A
/// socket a live gateway listens on is never taken over; a stale one (its
/// gateway died) is removed first.
pub async fn bind(path: &Path) -> Result<UnixListener> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
        && !dir.exists()
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|err| Error::io("create", dir, err))?;
    }
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(
                Error::runtime(format!("{} exists and is not a socket", path.display()))
                    .hint("move it away; the gateway's socket goes there"),
            );
        }
        if UnixStream::connect(path).await.is_ok() {
            return Err(Error::runtime(format!(
                "a gateway is already listening on {}",
                path.display()
            ))
            .hint("use it, or stop it first with `mcpm docker gateway stop`"));
        }
        std::fs::remove_file(path)
            .map_err(|err| Error::io("remove the stale socket", path, err))?;
    }
    UnixListener::bind(path).map_err(|err| Error::io("listen on", path, err))
}

/// Serves client sessions on `listener` until the task is dropped.
pub async fn serve(listener: UnixListener, sessions: Arc<dyn Sessions>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(connection(stream, sessions.clone()));
            }
            Err(err) => {
                // Out of descriptors, mostly: wait rather than spin.
                eprintln!("mcpm gateway: socket: accept failed: {err}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// What a hello line asks for.
#[derive(Debug, PartialEq)]
enum Hello {
    Open(Target),
    Status,
}

/// Reads a hello line's request; the error is what to tell the client.
fn parse_hello(line: &Value) -> Result<Hello> {
    let usage = || {
        Error::invalid("the gateway's socket expects a hello line first").hint(
            r#"send {"mcpm_gateway":1,"open":"<server>"} or {"mcpm_gateway":1,"status":true}"#,
        )
    };
    match line.get("mcpm_gateway").and_then(Value::as_u64) {
        Some(PROTOCOL) => {}
        Some(other) => {
            return Err(Error::invalid(format!(
                "this gateway speaks socket protocol {PROTOCOL}, not {other}"
            ))
            .hint("restart the gateway so that it and `mcpm` are the same version"));
        }
        None => return Err(usage()),
    }
    if line.get("status").and_then(Value::as_bool) == Some(true) {
        return Ok(Hello::Status);
    }
    match line.get("open").and_then(Value::as_str) {
        Some("*") => Ok(Hello::Open(Target::All)),
        Some(name) if !name.is_empty() => Ok(Hello::Open(Target::Server(name.to_string()))),
        _ => Err(usage()),
    }
}

/// The error line for `error`.
fn error_line(error: &Error) -> Value {
    let mut line = json!({"ok": false, "error": error.message, "exit": error.status as i32});
    if let Some(hint) = &error.hint {
        line["hint"] = json!(hint);
    }
    line
}

async fn connection(stream: UnixStream, sessions: Arc<dyn Sessions>) {
    let (read, mut write) = stream.into_split();
    let mut hello_reader = LineReader::new(BufReader::new(read), MAX_HELLO);
    let hello = match tokio::time::timeout(HELLO_TIMEOUT, hello_reader.next()).await {
        Ok(Ok(Some(Ok(line)))) => parse_hello(&line),
        Ok(Ok(Some(Err(bad)))) => Err(Error::invalid(format!("bad hello line: {bad}"))),
        // Gone, or silent: nobody to answer.
        Ok(Ok(None)) | Ok(Err(_)) | Err(_) => return,
    };
    let target = match hello {
        Ok(Hello::Open(target)) => target,
        Ok(Hello::Status) => {
            let view = serde_json::to_value(sessions.view()).unwrap_or(Value::Null);
            let _ = write_message(&mut write, &json!({"ok": true, "view": view})).await;
            let _ = write.shutdown().await;
            return;
        }
        Err(error) => {
            let _ = write_message(&mut write, &error_line(&error)).await;
            let _ = write.shutdown().await;
            return;
        }
    };
    let session = match sessions.open(target).await {
        Ok(session) => session,
        Err(error) => {
            let _ = write_message(&mut write, &error_line(&error)).await;
            let _ = write.shutdown().await;
            return;
        }
    };
    if write_message(&mut write, &json!({"ok": true}))
        .await
        .is_err()
    {
        return;
    }
    // From here on lines may be as long as any JSON-RPC message.
    let reader = hello_reader.into_inner();
    let mut lines = LineReader::new(reader, MAX_LINE);
    let to_gateway = session.to_gateway;
    let mut from_gateway = session.from_gateway;
    let (replies, mut local) = mpsc::channel(16);
    let reading = tokio::spawn(async move {
        loop {
            match lines.next().await {
                Ok(Some(Ok(msg))) => {
                    if to_gateway.send(msg).await.is_err() {
                        break;
                    }
                }
                Ok(Some(Err(bad))) => {
                    if replies.send(bad.response()).await.is_err() {
                        break;
                    }
                }
                // EOF (or a broken connection) ends the session: dropping
                // `to_gateway` tells the hub.
                Ok(None) | Err(_) => break,
            }
        }
    });
    loop {
        let msg = tokio::select! {
            msg = from_gateway.recv() => match msg {
                Some(msg) => msg,
                None => break,
            },
            Some(reply) = local.recv() => reply,
        };
        if write_message(&mut write, &msg).await.is_err() {
            break;
        }
    }
    reading.abort();
    let _ = write.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExitStatus;

    #[test]
    fn hello_lines_are_read_strictly() {
        let open = json!({"mcpm_gateway": 1, "open": "time"});
        assert_eq!(
            parse_hello(&open).unwrap(),
            Hello::Open(Target::Server("time".into()))
        );
        let all = json!({"mcpm_gateway": 1, "open": "*"});
        assert_eq!(parse_hello(&all).unwrap(), Hello::Open(Target::All));
        let status = json!({"mcpm_gateway": 1, "status": true});
        assert_eq!(parse_hello(&status).unwrap(), Hello::Status);
        let newer = parse_hello(&json!({"mcpm_gateway": 2, "open": "x"})).unwrap_err();
        assert!(newer.message.contains("not 2"), "{}", newer.message);
        for bad in [
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize"}),
            json!({"mcpm_gateway": 1}),
            json!({"mcpm_gateway": 1, "open": ""}),
            json!({"mcpm_gateway": 1, "open": 3}),
        ] {
            let err = parse_hello(&bad).unwrap_err();
            assert_eq!(err.status, ExitStatus::Invalid);
            assert!(err.hint.unwrap().contains("mcpm_gateway"));
        }
    }

    /// Sessions on an echo server: each request is answered with its params.
    struct Echo;

    impl Sessions for Echo {
        fn open(
            &self,
            target: Target,
        ) -> futures_util::future::BoxFuture<'_, Result<super::super::ClientSession>> {
            Box::pin(async move {
                if target != Target::Server("echo".into()) {
                    return Err(
                        Error::invalid("no MCP server there").hint("the servers there: echo")
                    );
                }
                let (to_gateway, mut requests) = mpsc::channel::<Value>(4);
                let (answers, from_gateway) = mpsc::channel(4);
                tokio::spawn(async move {
                    while let Some(msg) = requests.recv().await {
                        let answer =
                            json!({"jsonrpc": "2.0", "id": msg["id"], "result": msg["params"]});
                        let _ = answers.send(answer).await;
                    }
                });
                Ok(super::super::ClientSession {
                    id: 1,
                    to_gateway,
                    from_gateway,
                })
            })
        }

        fn view(&self) -> super::super::GatewayView {
            super::super::GatewayView {
                project: "p".into(),
                servers: Vec::new(),
            }
        }
    }

    async fn exchange(path: &Path, send: &[u8]) -> Vec<Value> {
        use tokio::io::AsyncReadExt;
        let mut stream = UnixStream::connect(path).await.unwrap();
        stream.write_all(send).await.unwrap();
        stream.shutdown().await.unwrap();
        let mut text = String::new();
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut text))
            .await
            .unwrap()
            .unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn a_connection_is_a_session_from_hello_to_eof() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.sock");
        let server = tokio::spawn(serve(bind(&path).await.unwrap(), Arc::new(Echo)));
        // Hello and requests in one write: nothing read past the hello is lost.
        let lines = exchange(
            &path,
            b"{\"mcpm_gateway\":1,\"open\":\"echo\"}\n{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"m\",\"params\":{\"a\":1}}\n",
        )
        .await;
        assert_eq!(lines[0], json!({"ok": true}));
        assert_eq!(
            lines[1],
            json!({"jsonrpc": "2.0", "id": [1], "result": {"a": 1}})
        );
        assert_eq!(lines.len(), 2, "EOF ends the session and the connection");
        let lines = exchange(&path, b"{\"mcpm_gateway\":1,\"open\":\"other\"}\n").await;
        assert_eq!(
            lines,
            vec![
                json!({"ok": false, "error": "no MCP server there", "hint": "the servers there: echo", "exit": 2})
            ]
        );
        let lines = exchange(&path, b"{\"mcpm_gateway\":1,\"status\":true}\n").await;
        assert_eq!(
            lines,
            vec![json!({"ok": true, "view": {"project": "p", "servers": []}})]
        );
        let lines = exchange(&path, b"hello?\n").await;
        assert_eq!(lines[0]["ok"], false);
        assert_eq!(lines[0]["exit"], 2);
        // A silent peer that leaves is simply forgotten.
        assert!(exchange(&path, b"").await.is_empty());
        // A live socket is never taken over; a stale one is replaced.
        assert!(bind(&path).await.is_err());
        server.abort();
        let _ = server.await;
        bind(&path).await.unwrap();
        // Something that is not a socket is left alone.
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        assert!(
            bind(&file)
                .await
                .unwrap_err()
                .message
                .contains("not a socket")
        );
    }

    #[test]
    fn error_lines_carry_the_exit_code_and_hint() {
        let line = error_line(&Error::invalid("no MCP server `x`").hint("the servers there: time"));
        assert_eq!(
            line,
            json!({"ok": false, "error": "no MCP server `x`", "hint": "the servers there: time", "exit": 2})
        );
        assert_eq!(error_line(&Error::runtime("down"))["exit"], 1);
        assert!(error_line(&Error::runtime("down")).get("hint").is_none());
    }
}
