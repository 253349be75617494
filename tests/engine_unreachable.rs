//! An engine mcpm cannot use must be named with a reason, quickly: a
//! `DOCKER_HOST` that does not answer, answers with silence, or answers with
//! something that is not a Docker Engine. No engine is needed for these.
mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

/// The longest any of these may take: the connect timeout (10 s) plus slack.
const BOUND: Duration = Duration::from_secs(25);

fn compose_file(dir: &Path) -> std::path::PathBuf {
    let file = dir.join("compose.yaml");
    std::fs::write(
        &file,
        "name: unreachable\nservices:\n  s:\n    image: busybox\n",
    )
    .unwrap();
    file
}

/// Runs `mcpm docker COMMAND -f FILE` with `DOCKER_HOST=host`; returns
/// (exit code, stderr, elapsed).
fn run(command: &str, host: &str) -> (Option<i32>, String, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let file = compose_file(dir.path());
    let started = Instant::now();
    let output = common::mcpm(dir.path())
        .args(["docker", command, "-f"])
        .arg(&file)
        .env("DOCKER_HOST", host)
        .env_remove("DOCKER_TLS_VERIFY")
        .timeout(BOUND + Duration::from_secs(5))
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        started.elapsed(),
    )
}

/// The text after "cannot reach the Docker Engine at HOST (…): " up to the
/// end of that line: the reason.
fn reason(stderr: &str, host: &str) -> String {
    let line = stderr
        .lines()
        .find(|l| l.contains("cannot reach the Docker Engine"))
        .unwrap_or_else(|| panic!("no unreachable message in:\n{stderr}"));
    assert!(line.contains(host), "the host is not named: {line}");
    assert!(
        line.contains("DOCKER_HOST"),
        "where the host came from is not named: {line}"
    );
    line.rsplit_once("): ")
        .map(|(_, why)| why.trim().to_string())
        .unwrap_or_default()
}

#[test]
fn an_unroutable_docker_host_gives_a_reason_within_a_bound() {
    let host = "tcp://10.255.255.1:2375";
    for command in ["deploy", "status"] {
        let (code, stderr, elapsed) = run(command, host);
        let why = reason(&stderr, host);
        assert!(!why.is_empty(), "{command}: empty reason in:\n{stderr}");
        assert!(elapsed < BOUND, "{command} took {elapsed:?}");
        // status works without an engine (SPEC §6: the engine columns say
        // unreachable); everything that needs one fails.
        let expected = if command == "status" { 0 } else { 1 };
        assert_eq!(code, Some(expected), "{command}:\n{stderr}");
    }
}

#[test]
fn a_silent_engine_is_reported_with_the_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let host = format!("tcp://{}", listener.local_addr().unwrap());
    // Accept and hold every connection without ever answering.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let (code, stderr, elapsed) = run("deploy", &host);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(reason(&stderr, &host), "no answer within 10 s", "{stderr}");
    assert!(elapsed < BOUND, "took {elapsed:?}");
}

#[test]
fn a_server_that_is_not_an_engine_is_named_as_such() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let host = format!("tcp://{}", listener.local_addr().unwrap());
    // Answers every request with a bare 404, as a proxy or web server would.
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer);
            let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
        }
    });
    let (code, stderr, _) = run("deploy", &host);
    assert_eq!(code, Some(1), "{stderr}");
    let why = reason(&stderr, &host);
    assert!(
        why.contains("HTTP 404") && why.contains("not a Docker Engine"),
        "{stderr}"
    );
}

/// `mcpm docker up` syncs, then deploys: with no engine to deploy to, the
/// sync's files are written (as `sync` alone would write them) and the
/// deploy fails naming the engine, exit 1, within the bound.
#[test]
fn up_without_an_engine_syncs_then_names_the_engine() {
    let host = "tcp://10.255.255.1:2375";
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.toml");
    std::fs::write(
        &profile,
        "name = \"p\"\n[servers.fetch]\ncommand = \"uvx\"\nargs = [\"mcp-server-fetch\"]\n",
    )
    .unwrap();
    let started = Instant::now();
    let output = common::mcpm(dir.path())
        .args(["docker", "up", "--yes"])
        .arg(&profile)
        .env("DOCKER_HOST", host)
        .env_remove("DOCKER_TLS_VERIFY")
        .timeout(BOUND + Duration::from_secs(5))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(!reason(&stderr, host).is_empty(), "{stderr}");
    assert!(started.elapsed() < BOUND, "took {:?}", started.elapsed());
    let compose = std::fs::read_to_string(dir.path().join("docker-compose.yml")).unwrap();
    assert!(compose.contains("fetch:"), "{compose}");
}

/// `status --probe` and `--stats` without an engine still show the files
/// (exit 0) and say why nothing was probed; without a compose file to know
/// the stdio servers (`-p` alone), `--probe` says what it needs.
#[test]
fn status_probe_and_stats_without_an_engine_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let file = compose_file(dir.path());
    let dead = "unix:///nonexistent/mcpm-test.sock";
    let output = common::mcpm(dir.path())
        .args(["docker", "status", "--probe", "--stats", "--json", "-f"])
        .arg(&file)
        .env("DOCKER_HOST", dead)
        .timeout(BOUND + Duration::from_secs(5))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("--probe made no probes: the engine is unreachable"),
        "{stderr}"
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["engine"]["reachable"], false, "{report}");
    assert_eq!(report["servers"][0]["name"], "s", "{report}");
    assert!(report["servers"][0].get("probe").is_none(), "{report}");
    assert!(report["servers"][0].get("resources").is_none(), "{report}");

    let output = common::mcpm(dir.path())
        .args([
            "docker",
            "status",
            "--probe",
            "-p",
            "mcpm-test-no-such-project",
        ])
        .env("DOCKER_HOST", dead)
        .timeout(BOUND + Duration::from_secs(5))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("--probe needs the compose file"),
        "{stderr}"
    );
}
