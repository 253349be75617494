use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, SystemTime};

use serde_json::json;

use super::read::{Query, read};
use super::*;

fn entry(tool: &str, caller: &str, arguments: serde_json::Value) -> AuditEntry {
    AuditEntry {
        time: SystemTime::UNIX_EPOCH + Duration::from_millis(1_764_441_141_123),
        caller: caller.into(),
        role: "operate".into(),
        transport: "http".into(),
        tool: tool.into(),
        arguments,
        outcome: "ok".into(),
        detail: None,
        duration: Duration::from_micros(12_345),
    }
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_line_has_every_field_and_masks_the_arguments() {
    let line = AuditLine::from_entry(&entry(
        "restart",
        "ci",
        json!({"server": "time", "env": {"API_TOKEN": "t0p"}, "auth": "Bearer abc.def"}),
    ));
    let value: serde_json::Value = serde_json::from_slice(&line.to_bytes()).unwrap();
    assert_eq!(
        value,
        json!({
            "time": "2025-11-29T18:32:21.123Z",
            "caller": "ci",
            "role": "operate",
            "transport": "http",
            "tool": "restart",
            "arguments": {"server": "time", "env": {"API_TOKEN": "****"}, "auth": "****"},
            "outcome": "ok",
            "detail": null,
            "duration_ms": 12.345,
        })
    );
    assert!(line.to_bytes().ends_with(b"}\n"));
    assert_eq!(line.to_bytes().iter().filter(|b| **b == b'\n').count(), 1);
}

#[test]
fn the_log_is_created_private_and_appended() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    let log = AuditLog::with_limit(&config, DEFAULT_MAX_BYTES).unwrap();
    assert_eq!(mode(log.path()), 0o600);
    log.record(&entry("logs", "stdio", json!({}))).unwrap();
    log.record(&entry("stats", "stdio", json!({"server": "ünï🦀"})))
        .unwrap();
    let reading = read(log.path(), &Query::default()).unwrap();
    let tools: Vec<&str> = reading.lines.iter().map(|l| l.tool.as_str()).collect();
    assert_eq!(tools, ["logs", "stats"]);
    assert_eq!(reading.lines[1].arguments, json!({"server": "ünï🦀"}));
}

#[test]
fn a_looser_log_is_tightened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    fs::write(&path, "").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let log = AuditLog::with_limit(dir.path(), DEFAULT_MAX_BYTES).unwrap();
    assert_eq!(mode(&path), 0o600);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o666)).unwrap();
    log.record(&entry("logs", "stdio", json!({}))).unwrap();
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn a_symlinked_log_is_refused_and_its_target_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("elsewhere");
    fs::write(&target, "precious\n").unwrap();
    std::os::unix::fs::symlink(&target, dir.path().join(FILE_NAME)).unwrap();
    let err = AuditLog::with_limit(dir.path(), DEFAULT_MAX_BYTES).unwrap_err();
    assert!(err.message.contains("symlink"), "{}", err.message);
    assert!(err.hint.is_some());
    // Planted after open: refused at the record too.
    let other = tempfile::tempdir().unwrap();
    let log = AuditLog::with_limit(other.path(), DEFAULT_MAX_BYTES).unwrap();
    fs::remove_file(log.path()).unwrap();
    std::os::unix::fs::symlink(&target, log.path()).unwrap();
    let err = log.record(&entry("logs", "stdio", json!({}))).unwrap_err();
    assert!(err.message.contains("symlink"), "{}", err.message);
    assert_eq!(fs::read_to_string(&target).unwrap(), "precious\n");
}

#[test]
fn a_fifo_or_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join(FILE_NAME)).unwrap();
    let err = AuditLog::with_limit(dir.path(), DEFAULT_MAX_BYTES).unwrap_err();
    assert!(err.message.contains("audit.log"), "{}", err.message);
    let dir = tempfile::tempdir().unwrap();
    let fifo = std::ffi::CString::new(dir.path().join(FILE_NAME).to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    let err = AuditLog::with_limit(dir.path(), DEFAULT_MAX_BYTES).unwrap_err();
    assert!(
        err.message.contains("not a regular file"),
        "{}",
        err.message
    );
}

#[test]
fn rotation_keeps_five_generations_and_every_line_until_they_fall_off() {
    let dir = tempfile::tempdir().unwrap();
    // Numbers of one width: every line is as long as the first.
    let one = AuditLine::from_entry(&entry("logs", "stdio", json!({"n": "00"})))
        .to_bytes()
        .len() as u64;
    // Three lines a file.
    let log = AuditLog::with_limit(dir.path(), one * 3).unwrap();
    for n in 0..30 {
        log.record(&entry("logs", "stdio", json!({"n": format!("{n:02}")})))
            .unwrap();
    }
    for n in 1..=GENERATIONS {
        assert!(generation(log.path(), n).exists(), "generation {n}");
    }
    assert!(!generation(log.path(), GENERATIONS + 1).exists());
    let reading = read(log.path(), &Query::default()).unwrap();
    let numbers: Vec<i64> = reading
        .lines
        .iter()
        .map(|l| l.arguments["n"].as_str().unwrap().parse::<i64>().unwrap())
        .collect();
    // 6 files of 3 lines: the last 18 calls, in order.
    assert_eq!(numbers, (12..30).collect::<Vec<_>>());
    // --tail reads only as far back as it needs and keeps the order.
    let tail = read(
        log.path(),
        &Query {
            tail: Some(4),
            ..Query::default()
        },
    )
    .unwrap();
    let numbers: Vec<i64> = tail
        .lines
        .iter()
        .map(|l| l.arguments["n"].as_str().unwrap().parse::<i64>().unwrap())
        .collect();
    assert_eq!(numbers, [26, 27, 28, 29]);
}

#[test]
fn concurrent_writers_never_interleave_or_lose_lines() {
    let dir = tempfile::tempdir().unwrap();
    // Small enough to rotate many times during the run, large enough that
    // no line falls off the five generations.
    let log = std::sync::Arc::new(AuditLog::with_limit(dir.path(), 256 * 1024).unwrap());
    let padding = "é".repeat(300);
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let log = log.clone();
            let padding = padding.clone();
            std::thread::spawn(move || {
                for n in 0..150 {
                    let args = json!({"t": t, "n": n, "pad": padding});
                    log.record(&entry("logs", &format!("w{t}"), args)).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let reading = read(log.path(), &Query::default()).unwrap();
    assert!(reading.bad.is_empty(), "{:?}", reading.bad);
    assert_eq!(reading.lines.len(), 8 * 150);
    for t in 0..8 {
        let mine: Vec<i64> = reading
            .lines
            .iter()
            .filter(|l| l.caller == format!("w{t}"))
            .map(|l| l.arguments["n"].as_i64().unwrap())
            .collect();
        assert_eq!(mine, (0..150).collect::<Vec<_>>(), "writer {t}");
    }
    assert!(generation(log.path(), 2).exists(), "the run rotated");
    for n in 1..=GENERATIONS {
        let size = fs::metadata(generation(log.path(), n)).map_or(0, |m| m.len());
        assert!(size <= 256 * 1024, "generation {n}: {size} bytes");
    }
}

#[test]
fn corrupt_lines_are_reported_with_file_and_line_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::with_limit(dir.path(), DEFAULT_MAX_BYTES).unwrap();
    log.record(&entry("logs", "a", json!({}))).unwrap();
    let mut file = fs::OpenOptions::new()
        .append(true)
        .open(log.path())
        .unwrap();
    file.write_all(b"{\"time\": \"torn\n\xff\xfe not json\n\n")
        .unwrap();
    drop(file);
    log.record(&entry("stats", "b", json!({}))).unwrap();
    let reading = read(log.path(), &Query::default()).unwrap();
    assert_eq!(reading.lines.len(), 2);
    let places: Vec<(String, usize)> = reading
        .bad
        .iter()
        .map(|b| (b.path.display().to_string(), b.line))
        .collect();
    let path = log.path().display().to_string();
    assert_eq!(places, [(path.clone(), 2), (path, 3)]);
}

#[test]
fn filters_by_tool_and_caller() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::with_limit(dir.path(), DEFAULT_MAX_BYTES).unwrap();
    for (tool, caller) in [
        ("logs", "ci"),
        ("restart", "ci"),
        ("logs", "stdio"),
        ("logs", "ci"),
    ] {
        log.record(&entry(tool, caller, json!({}))).unwrap();
    }
    let query = Query {
        tool: Some("logs".into()),
        caller: Some("ci".into()),
        tail: Some(5),
    };
    assert_eq!(read(log.path(), &query).unwrap().lines.len(), 2);
    let none = read(&dir.path().join("missing.log"), &Query::default()).unwrap();
    assert!(!none.found && none.lines.is_empty());
}

#[test]
fn the_size_limit_comes_from_the_environment_or_defaults() {
    assert_eq!(max_bytes(None).unwrap(), DEFAULT_MAX_BYTES);
    assert_eq!(max_bytes(Some(" 4096 ")).unwrap(), 4096);
    for bad in ["", "0", "-1", "10MiB", "1e6"] {
        let err = max_bytes(Some(bad)).unwrap_err();
        assert!(err.message.contains(MAX_BYTES_ENV), "{}", err.message);
        assert!(err.hint.is_some());
    }
}

/// The writer half of [`two_processes_never_interleave_or_lose_lines`]: runs
/// only when that test starts this test binary again with the directory set.
#[test]
#[ignore = "a child process of two_processes_never_interleave_or_lose_lines"]
fn child_writer() {
    let (Some(dir), Some(id)) = (
        std::env::var_os("MCPM_AUDIT_TEST_DIR"),
        std::env::var("MCPM_AUDIT_TEST_ID").ok(),
    ) else {
        return;
    };
    let log = AuditLog::with_limit(Path::new(&dir), 128 * 1024).unwrap();
    let padding = "ü".repeat(200);
    for n in 0..300 {
        let args = json!({"n": n, "pad": padding});
        log.record(&entry("logs", &id, args)).unwrap();
    }
}

#[test]
fn two_processes_never_interleave_or_lose_lines() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = ["p1", "p2"]
        .iter()
        .map(|id| {
            std::process::Command::new(&exe)
                .args([
                    "--exact",
                    "mcp::audit::tests::child_writer",
                    "--ignored",
                    "--quiet",
                ])
                .env("MCPM_AUDIT_TEST_DIR", dir.path())
                .env("MCPM_AUDIT_TEST_ID", id)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let path = dir.path().join(FILE_NAME);
    let reading = read(&path, &Query::default()).unwrap();
    assert!(reading.bad.is_empty(), "{:?}", reading.bad);
    assert!(generation(&path, 2).exists(), "the run rotated");
    for id in ["p1", "p2"] {
        let mine: Vec<i64> = reading
            .lines
            .iter()
            .filter(|l| l.caller == id)
            .map(|l| l.arguments["n"].as_i64().unwrap())
            .collect();
        assert_eq!(mine, (0..300).collect::<Vec<_>>(), "process {id}");
    }
}
