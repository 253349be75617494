//! What the gateway tests share: the real `mcp-server-time` under
//! `ProcessLauncher`, MCP messages, and waiting for answers.
//!
//! `MCPM_TEST_PYTHON` names a venv's python with `mcp-server-time`
//! (`scripts/test-engine.sh` makes one): without it the tests that need it
//! skip with a message, and fail under `CI`.
#![allow(dead_code)]
use std::sync::Arc;
use std::time::{Duration, Instant};

use mcpm::gateway::hub::Hub;
use mcpm::gateway::process::ProcessLauncher;
use mcpm::gateway::{ClientSession, GatewayServer, Message};
use mcpm::profile::{Sharing, Strategy};
use serde_json::{Value, json};

/// How long any one answer may take (a cold Python start included).
pub const PATIENCE: Duration = Duration::from_secs(30);

#[path = "../common/peers.rs"]
mod peers;

pub fn python() -> Option<String> {
    peers::mcp_python()
}

pub fn server(name: &str, strategy: Strategy, sharing: Sharing, idle: Duration) -> GatewayServer {
    GatewayServer {
        name: name.into(),
        service: name.into(),
        strategy,
        sharing,
        idle_timeout: idle,
    }
}

pub fn launcher(python: &str, names: &[&str]) -> Arc<ProcessLauncher> {
    let mut launcher = ProcessLauncher::new();
    for name in names {
        let argv = vec![python.to_string(), "-m".into(), "mcp_server_time".into()];
        launcher = launcher.command(name, argv);
    }
    Arc::new(launcher)
}

pub async fn hub(launcher: &Arc<ProcessLauncher>, servers: Vec<GatewayServer>) -> Arc<Hub> {
    Hub::start("test", servers, launcher.clone(), None)
        .await
        .unwrap()
}

pub fn request(id: Value, method: &str, params: Value) -> Message {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

pub fn init(id: Value) -> Message {
    request(
        id,
        "initialize",
        json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "hub-test", "version": "1"}}),
    )
}

pub fn time_call(id: Value, zone: &str) -> Message {
    request(
        id,
        "tools/call",
        json!({"name": "get_current_time", "arguments": {"timezone": zone}}),
    )
}

/// Sends `msg` and waits for the response with its id (notifications and
/// other messages in between are skipped).
pub async fn ask(session: &mut ClientSession, msg: Message) -> Message {
    let id = msg["id"].clone();
    session.to_gateway.send(msg).await.unwrap();
    answer(session, &id).await
}

pub async fn answer(session: &mut ClientSession, id: &Value) -> Message {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = tokio::time::timeout(left, session.from_gateway.recv())
            .await
            .expect("no answer in time")
            .expect("the session was closed");
        if msg.get("method").is_none() && &msg["id"] == id {
            return msg;
        }
    }
}

/// `initialize` + `initialized` as a 2025-06-18 client does.
pub async fn handshake(session: &mut ClientSession) -> Message {
    let answer = ask(session, init(json!(0))).await;
    assert_eq!(
        answer["result"]["serverInfo"]["name"], "mcp-time",
        "{answer}"
    );
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    session.to_gateway.send(initialized).await.unwrap();
    answer
}

pub fn zone_of(answer: &Message) -> String {
    answer["result"]["structuredContent"]["timezone"]
        .as_str()
        .unwrap_or_else(|| panic!("no time in {answer}"))
        .to_string()
}

pub async fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {signal} {pid}");
}

pub const ZONES: [&str; 8] = [
    "Europe/London",
    "Asia/Tokyo",
    "America/New_York",
    "Australia/Sydney",
    "Europe/Berlin",
    "Asia/Kolkata",
    "America/Sao_Paulo",
    "Africa/Nairobi",
];
