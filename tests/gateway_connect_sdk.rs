//! `mcpm docker connect` between real MCP peers: the official Python SDK's
//! client launches it, and a test-side gateway socket hands each session to
//! a fresh real `mcp-server-time` process (from PyPI). This checks the bridge
//! with real traffic, including the gateway going away between two calls:
//! the SDK sees an error for the call in flight, never a hang, and the next
//! call works on a new session.
//!
//! Needs `MCPM_TEST_PYTHON` (a venv with `mcp` and `mcp-server-time`, made by
//! scripts/test-engine.sh): skipped with a message without it, failed under CI.
mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn python() -> Option<PathBuf> {
    common::peers::mcp_python().map(PathBuf::from)
}

const COMPOSE: &str = "name: mcp-sdk
services:
  time:
    image: example/time
    stdin_open: true
    profiles: [on-demand]
    labels:
      io.mcpm.server: time
";

/// The SDK client: initialize, list tools, call get_current_time; then
/// (when told) call again after the test said the gateway died.
const CLIENT: &str = r#"
import asyncio, json, sys
from mcp import Client, ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

spec = json.loads(sys.argv[1])

async def call(client):
    try:
        result = await asyncio.wait_for(
            client.call_tool("get_current_time", {"timezone": "UTC"}), 20)
        return {"ok": json.loads(result.content[0].text)["timezone"]}
    except Exception as err:
        return {"error": str(err)}

async def scenario(client, out):
    out["tools"] = sorted(t.name for t in (await client.list_tools()).tools)
    out["first"] = await call(client)
    if spec["outage"]:
        out["during"] = await call(client)
        out["after"] = await call(client)

async def main():
    params = StdioServerParameters(command=spec["command"], args=spec["args"], env=spec["env"])
    out = {}
    if spec["mode"] == "handshake":
        # The initialize handshake (2025-06-18 and earlier).
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                await scenario(session, out)
    else:
        # The SDK's default: probe server/discover, go 2026-07-28 when offered.
        async with Client(params) as client:
            await scenario(client, out)
    print(json.dumps(out))

asyncio.run(main())
"#;

/// Hands each session to a new `mcp-server-time`. With `outage`, the first
/// session is cut when its second `tools/call` arrives (the gateway dying
/// with that call in flight); later sessions run normally.
fn serve(
    listener: UnixListener,
    server: PathBuf,
    outage: bool,
    sessions: Arc<AtomicUsize>,
    firsts: Arc<Mutex<Vec<Value>>>,
) {
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { break };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut hello = String::new();
            if reader.read_line(&mut hello).unwrap_or(0) == 0 {
                continue; // a liveness probe
            }
            let hello: Value = serde_json::from_str(&hello).unwrap();
            assert_eq!(hello, json!({"mcpm_gateway": 1, "open": "time"}));
            let number = sessions.fetch_add(1, Ordering::SeqCst);
            writeln!(&stream, "{}", json!({"ok": true})).unwrap();
            let server = server.clone();
            let firsts = firsts.clone();
            std::thread::spawn(move || {
                session(reader, stream, &server, outage && number == 0, &firsts)
            });
        }
    });
}

fn session(
    mut reader: BufReader<UnixStream>,
    stream: UnixStream,
    server: &Path,
    cut: bool,
    firsts: &Mutex<Vec<Value>>,
) {
    let mut child = Command::new(server)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut to_client = stream.try_clone().unwrap();
    let pump = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if writeln!(to_client, "{line}").is_err() {
                break;
            }
        }
    });
    let mut calls = 0;
    let mut first = true;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        if std::mem::take(&mut first) {
            firsts
                .lock()
                .unwrap()
                .push(serde_json::from_str(&line).unwrap());
        }
        if line.contains("\"tools/call\"") {
            calls += 1;
            if cut && calls == 2 {
                // The gateway dies with this call in flight.
                let _ = stream.shutdown(std::net::Shutdown::Both);
                break;
            }
        }
        if stdin.write_all(line.as_bytes()).is_err() {
            break;
        }
    }
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
    let _ = pump.join();
}

/// What a client run saw: its output, and the first message of each session.
fn run_client(python: &Path, mode: &str, outage: bool) -> (Value, Vec<Value>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("compose.yaml"), COMPOSE).unwrap();
    let run = dir.path().join("run");
    std::fs::create_dir_all(run.join("mcpm")).unwrap();
    for path in [run.clone(), run.join("mcpm")] {
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
    }
    let socket = run.join("mcpm/gateway-mcp-sdk.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let config = dir.path().join("config");
    std::fs::create_dir_all(config.join("gateway/mcp-sdk")).unwrap();
    let state = json!({
        "pid": std::process::id(), "project": "mcp-sdk",
        "listen": "127.0.0.1:1", "url": "http://127.0.0.1:1",
        "socket": socket, "token_file": config.join("gateway/token"),
        "compose_file": dir.path().join("compose.yaml"),
        "started_at": 0, "version": "test",
    });
    std::fs::write(
        config.join("gateway/mcp-sdk/gateway.json"),
        state.to_string(),
    )
    .unwrap();
    let server = python.parent().unwrap().join("mcp-server-time");
    let sessions = Arc::new(AtomicUsize::new(0));
    let firsts = Arc::new(Mutex::new(Vec::new()));
    serve(listener, server, outage, sessions, firsts.clone());

    let spec = json!({
        "command": assert_cmd::cargo::cargo_bin("mcpm"),
        "args": ["docker", "connect", "time", "-f", dir.path().join("compose.yaml")],
        "env": {
            "MCPM_CONFIG_DIR": config,
            "XDG_RUNTIME_DIR": run,
            "PATH": std::env::var("PATH").unwrap_or_default(),
        },
        "outage": outage,
        "mode": mode,
    });
    let started = Instant::now();
    let output = Command::new(python)
        .arg("-c")
        .arg(CLIENT)
        .arg(spec.to_string())
        .output()
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "bounded: {:?}",
        started.elapsed()
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out = serde_json::from_slice(&output.stdout).unwrap();
    let firsts = firsts.lock().unwrap().clone();
    (out, firsts)
}

#[test]
fn the_sdk_client_lists_and_calls_tools_through_connect() {
    let Some(python) = python() else { return };
    for mode in ["handshake", "auto"] {
        let (out, firsts) = run_client(&python, mode, false);
        assert_eq!(
            out["tools"],
            json!(["convert_time", "get_current_time"]),
            "{mode}"
        );
        assert_eq!(out["first"], json!({"ok": "UTC"}), "{mode}");
        assert_eq!(firsts.len(), 1, "{mode}");
        let opening = if mode == "handshake" {
            "initialize"
        } else {
            "server/discover"
        };
        assert_eq!(firsts[0]["method"], opening, "{mode}");
    }
}

#[test]
fn with_the_handshake_the_gateway_going_away_is_an_error_then_a_replayed_session() {
    let Some(python) = python() else { return };
    let (out, firsts) = run_client(&python, "handshake", true);
    assert_eq!(out["first"], json!({"ok": "UTC"}));
    let during = out["during"]["error"].as_str().unwrap_or_default();
    assert!(
        during.contains("the mcpm gateway for project mcp-sdk went away"),
        "{out}"
    );
    assert_eq!(out["after"], json!({"ok": "UTC"}), "{out}");
    assert_eq!(firsts.len(), 2, "one reconnect");
    // The new server process got the client's own initialize, replayed.
    assert_eq!(firsts[1]["method"], "initialize");
    assert!(
        firsts[1]["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("mcpm-connect-replay-")),
        "{}",
        firsts[1]
    );
}

#[test]
fn without_the_handshake_the_gateway_going_away_is_an_error_then_a_new_session() {
    let Some(python) = python() else { return };
    let (out, firsts) = run_client(&python, "auto", true);
    assert_eq!(out["first"], json!({"ok": "UTC"}));
    let during = out["during"]["error"].as_str().unwrap_or_default();
    assert!(
        during.contains("the mcpm gateway for project mcp-sdk went away"),
        "{out}"
    );
    assert_eq!(out["after"], json!({"ok": "UTC"}), "{out}");
    assert_eq!(firsts.len(), 2, "one reconnect");
    assert_eq!(
        firsts[1]["method"], "tools/call",
        "nothing to replay for a 2026-07-28 client"
    );
}
