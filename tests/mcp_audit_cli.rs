//! `mcpm mcp audit`: the table, JSON lines, filters, `--tail` across rotated
//! generations, and corrupt lines named by file:line and skipped. The log is
//! written through the library's `AuditLog`, as `mcpm mcp serve` writes it.
use std::time::{Duration, SystemTime};

use assert_cmd::Command;
use mcpm::mcp::audit::{AuditEntry, AuditLog, generation};
use serde_json::{Value, json};

fn entry(n: usize, tool: &str, caller: &str) -> AuditEntry {
    AuditEntry {
        time: SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_441_000 + n as u64),
        caller: caller.into(),
        role: "operate".into(),
        transport: "http".into(),
        tool: tool.into(),
        arguments: json!({"n": format!("{n:03}"), "api_key": "sk-live-should-not-show"}),
        outcome: if tool == "down" { "denied" } else { "ok" }.into(),
        detail: (tool == "down").then(|| "needs role admin".to_string()),
        duration: Duration::from_millis(7),
    }
}

fn mcpm(config: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::cargo_bin("mcpm")
        .unwrap()
        .env("MCPM_CONFIG_DIR", config)
        .env("NO_COLOR", "1")
        .args(["mcp", "audit"])
        .args(args)
        .output()
        .unwrap()
}

fn numbers(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line).expect("a JSON line");
            assert_eq!(value["arguments"]["api_key"], json!("****"), "{line}");
            value["arguments"]["n"].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn table_json_filters_and_tail_across_generations() {
    let config = tempfile::tempdir().unwrap();
    // About four lines a file: 30 calls rotate several times.
    let log = AuditLog::with_limit(config.path(), 1200).unwrap();
    for n in 0..30 {
        let (tool, caller) = match n % 3 {
            0 => ("restart", "ci"),
            1 => ("logs", "stdio"),
            _ => ("down", "ci"),
        };
        log.record(&entry(n, tool, caller)).unwrap();
    }
    assert!(generation(log.path(), 3).exists());

    let out = mcpm(config.path(), &["--tail", "7", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        numbers(&out.stdout),
        ["023", "024", "025", "026", "027", "028", "029"]
    );

    let out = mcpm(
        config.path(),
        &[
            "--json", "--tool", "restart", "--caller", "ci", "--tail", "2",
        ],
    );
    assert_eq!(numbers(&out.stdout), ["024", "027"]);

    let out = mcpm(config.path(), &["--tail", "3"]);
    let table = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "TIME",
        "CALLER",
        "OUTCOME",
        "2025-11-29T18:30:29.000Z",
        "denied",
        "needs role admin",
    ] {
        assert!(table.contains(expected), "{expected} missing:\n{table}");
    }
    assert!(!table.contains("sk-live"), "{table}");
    assert!(
        !table.contains("2025-11-29T18:30:26"),
        "only the last 3:\n{table}"
    );
}

#[test]
fn corrupt_lines_are_named_and_skipped() {
    let config = tempfile::tempdir().unwrap();
    let log = AuditLog::with_limit(config.path(), 1 << 20).unwrap();
    log.record(&entry(1, "logs", "stdio")).unwrap();
    let mut text = std::fs::read_to_string(log.path()).unwrap();
    text.push_str("{\"time\": torn\n");
    std::fs::write(log.path(), text).unwrap();
    log.record(&entry(2, "logs", "stdio")).unwrap();
    let out = mcpm(config.path(), &["--json"]);
    assert!(out.status.success());
    assert_eq!(numbers(&out.stdout), ["001", "002"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:2: skipped", log.path().display())),
        "{stderr}"
    );
}

#[test]
fn no_log_yet_is_not_an_error() {
    let config = tempfile::tempdir().unwrap();
    let out = mcpm(config.path(), &[]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no audit log yet"));
    let out = mcpm(config.path(), &["--tail", "many"]);
    assert_eq!(out.status.code(), Some(2));
}

/// End to end through `mcpm mcp serve` over stdio (JSON-RPC lines, no engine
/// needed: the call fails before the engine is asked): the secrets an agent
/// puts in a tool call's arguments never reach the log, and `mcpm mcp audit`
/// shows the call.
#[test]
fn secrets_in_a_served_call_are_masked_in_the_log() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    let config = tempfile::tempdir().unwrap();
    let compose = config.path().join("compose.yaml");
    std::fs::write(
        &compose,
        "name: audit-e2e\nservices:\n  idle:\n    image: busybox\n",
    )
    .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mcpm"))
        .env("MCPM_CONFIG_DIR", config.path())
        .env(
            "DOCKER_HOST",
            format!("unix://{}/no.sock", config.path().display()),
        )
        .args(["mcp", "serve", "-f"])
        .arg(&compose)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let arguments = json!({
        "server": "idle",
        "tail": 5,
        "api_key": "sk-live-0123456789abcdef",
        "note": "Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig and https://bob:hunter22@db.example/x",
        "nested": {"GITHUB_TOKEN": "ghp_0123456789abcdefghijklmn", "list": ["ghp_abcdefghijklmnopqrstuvwx"]},
    });
    for message in [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "logs", "arguments": arguments}}),
    ] {
        writeln!(stdin, "{message}").unwrap();
    }
    stdin.flush().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    loop {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "serve ended early"
        );
        let answer: Value = serde_json::from_str(&line).unwrap();
        if answer["id"] == json!(2) {
            break;
        }
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());

    let raw = std::fs::read_to_string(config.path().join("audit.log")).unwrap();
    for secret in ["sk-live", "eyJhbGci", "hunter22", "ghp_0123", "ghp_abcd"] {
        assert!(!raw.contains(secret), "{secret} reached the log: {raw}");
    }
    let out = mcpm(config.path(), &["--json", "--tool", "logs"]);
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["caller"], json!("stdio"));
    assert_eq!(line["transport"], json!("stdio"));
    assert_eq!(line["arguments"]["server"], json!("idle"));
    assert_eq!(line["arguments"]["tail"], json!(5));
    assert_eq!(line["arguments"]["api_key"], json!("****"));
    assert_eq!(line["arguments"]["nested"]["GITHUB_TOKEN"], json!("****"));
    assert_eq!(line["arguments"]["nested"]["list"], json!(["****"]));
    assert!(
        line["arguments"]["note"]
            .as_str()
            .unwrap()
            .contains("https://bob:****@db.example/x"),
        "{line}"
    );
    assert_ne!(line["outcome"], json!("ok"), "{line}");
}
