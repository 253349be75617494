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
