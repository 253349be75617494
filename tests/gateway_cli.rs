//! `mcpm docker gateway [--detach] | status | stop` and the gateway columns
//! of `mcpm docker status`, through the real binary with a private config
//! and runtime dir. The servers are on-demand, so a gateway start touches no
//! container.
mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

const COMPOSE: &str = "name: mcp-cmdcli
services:
  time:
    image: example/time
    stdin_open: true
    profiles: [on-demand]
    labels:
      io.mcpm.server: time
      io.mcpm.strategy: on-demand
      io.mcpm.sharing: session
  db:
    image: postgres
";

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(compose: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("compose.yaml"), compose).unwrap();
        let run = dir.path().join("run");
        std::fs::create_dir(&run).unwrap();
        std::fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        Self { dir }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    fn compose(&self) -> PathBuf {
        self.dir.path().join("compose.yaml")
    }

    fn mcpm(&self, args: &[&str]) -> Command {
        let mut command = common::mcpm(&self.config());
        command
            .env("XDG_RUNTIME_DIR", self.dir.path().join("run"))
            .args(["docker"])
            .args(args)
            .arg("-f")
            .arg(self.compose());
        command
    }

    fn state_dir(&self) -> PathBuf {
        self.config().join("gateway/mcp-cmdcli")
    }
}

/// Stops the gateway whatever the test's outcome.
impl Drop for Setup {
    fn drop(&mut self) {
        let _ = self.mcpm(&["gateway", "stop"]).output();
    }
}

fn json(output: &[u8]) -> Value {
    serde_json::from_slice(output).unwrap()
}

fn socket(setup: &Setup) -> PathBuf {
    setup.dir.path().join("run/mcpm/gateway-mcp-cmdcli.sock")
}

#[test]
fn detach_status_and_stop() {
    let setup = Setup::new(COMPOSE);
    setup
        .mcpm(&["gateway", "status"])
        .assert()
        .success()
        .stdout("no gateway runs for project mcp-cmdcli\n");
    setup
        .mcpm(&["gateway", "status", "--json"])
        .assert()
        .success()
        .stdout("{\"running\":false}\n");

    let started = setup.mcpm(&["gateway", "--detach"]).assert().success();
    let out = String::from_utf8(started.get_output().stdout.clone()).unwrap();
    assert!(
        out.starts_with("started the gateway for project mcp-cmdcli (pid "),
        "{out}"
    );
    assert!(out.contains("url:    http://127.0.0.1:"), "{out}");
    assert!(out.contains(&socket(&setup).display().to_string()), "{out}");

    let state: Value = serde_json::from_str(
        &std::fs::read_to_string(setup.state_dir().join("gateway.json")).unwrap(),
    )
    .unwrap();
    let pid = state["pid"].as_u64().unwrap();
    let port: u16 = std::fs::read_to_string(setup.state_dir().join("port"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(state["url"], format!("http://127.0.0.1:{port}"));
    let token = std::fs::read_to_string(setup.config().join("gateway/token")).unwrap();
    assert_eq!(token.trim().len(), 64);

    setup
        .mcpm(&["gateway", "--detach"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(format!(
            "a gateway for project mcp-cmdcli already runs (pid {pid})"
        )));

    let status = setup
        .mcpm(&["gateway", "status", "--json"])
        .assert()
        .success();
    let status = json(&status.get_output().stdout);
    assert_eq!(status["running"], true);
    assert_eq!(status["pid"], pid);
    assert_eq!(status["servers"][0]["name"], "time");
    assert_eq!(status["servers"][0]["sharing"], "session");
    assert_eq!(status["servers"][0]["sessions"], 0);
    setup
        .mcpm(&["gateway", "status"])
        .assert()
        .success()
        .stdout(predicate::str::contains("SESSIONS"))
        .stdout(predicate::str::contains("time"));

    // `docker status` grows the gateway's columns for the servers it serves.
    let docker = setup.mcpm(&["status", "--json"]).assert().success();
    let docker = json(&docker.get_output().stdout);
    assert_eq!(docker["gateway"]["pid"], pid);
    let row = |name: &str| {
        docker["servers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(row("time")["gateway"]["sessions"], 0);
    assert_eq!(row("time")["gateway"]["attached"], false);
    assert_eq!(row("db").get("gateway"), None);
    setup
        .mcpm(&["status"])
        .assert()
        .success()
        .stdout(predicate::str::contains("SESSIONS"))
        .stdout(predicate::str::contains("ATTACHED"));

    setup
        .mcpm(&["gateway", "stop"])
        .assert()
        .success()
        .stderr(format!(
            "stopped the gateway for project mcp-cmdcli (pid {pid})\n"
        ));
    assert!(!setup.state_dir().join("gateway.json").exists());
    assert!(!socket(&setup).exists(), "the socket is removed on exit");
    setup
        .mcpm(&["gateway", "stop"])
        .assert()
        .success()
        .stderr("no gateway runs for project mcp-cmdcli\n");
    // Without a gateway, `docker status` has no gateway columns.
    let docker = setup.mcpm(&["status", "--json"]).assert().success();
    let docker = json(&docker.get_output().stdout);
    assert_eq!(docker.get("gateway"), None);
    setup
        .mcpm(&["status"])
        .assert()
        .success()
        .stdout(predicate::str::contains("SESSIONS").not());

    // The next start reuses the port of the first.
    setup.mcpm(&["gateway", "--detach"]).assert().success();
    let state: Value = serde_json::from_str(
        &std::fs::read_to_string(setup.state_dir().join("gateway.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(state["listen"], format!("127.0.0.1:{port}"));
}

#[test]
fn a_taken_sticky_port_is_a_clear_error() {
    let setup = Setup::new(COMPOSE);
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    std::fs::create_dir_all(setup.state_dir()).unwrap();
    std::fs::write(setup.state_dir().join("port"), format!("{port}\n")).unwrap();
    let assert = setup.mcpm(&["gateway"]).assert().code(1);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains(&format!("port {port} is already in use")),
        "{stderr}"
    );
    if cfg!(target_os = "linux") {
        assert!(
            stderr.contains(&format!("by process {}", std::process::id())),
            "{stderr}"
        );
    }
    assert!(stderr.contains("--listen"), "{stderr}");
    assert!(!setup.state_dir().join("gateway.json").exists());
}

#[test]
fn a_detached_start_that_fails_shows_the_log() {
    let setup = Setup::new(COMPOSE);
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    std::fs::create_dir_all(setup.state_dir()).unwrap();
    std::fs::write(setup.state_dir().join("port"), format!("{port}\n")).unwrap();
    setup
        .mcpm(&["gateway", "--detach"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("exited at start"))
        .stderr(predicate::str::contains(format!(
            "port {port} is already in use"
        )));
}

#[test]
fn listening_beyond_loopback_warns() {
    let setup = Setup::new(COMPOSE);
    setup
        .mcpm(&["gateway", "--listen", "0.0.0.0:0", "--detach"])
        .assert()
        .success()
        .stdout(predicate::str::contains("url:    http://127.0.0.1:"));
    let log = std::fs::read_to_string(setup.state_dir().join("gateway.log")).unwrap();
    assert!(
        log.contains("it is reachable from the network (every request still needs the token)"),
        "{log}"
    );
}

#[test]
fn a_file_without_stdio_servers_has_nothing_to_serve() {
    let setup = Setup::new("name: mcp-cmdcli\nservices:\n  db:\n    image: postgres\n");
    setup
        .mcpm(&["gateway", "--detach"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("has no stdio servers"));
    assert!(!Path::new(&setup.state_dir().join("gateway.json")).exists());
}

/// The processes whose command line has all of `words`.
#[cfg(target_os = "linux")]
fn processes_with(words: &[&str]) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let args: Vec<String> = cmdline
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            words
                .iter()
                .all(|w| args.iter().any(|a| a == w))
                .then_some(pid)
        })
        .collect()
}

#[cfg(target_os = "linux")]
#[test]
fn concurrent_connects_start_one_detached_gateway() {
    let setup = Setup::new(COMPOSE);
    let compose = setup.compose().display().to_string();
    let children: Vec<_> = (0..4)
        .map(|_| {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("mcpm"))
                .env("MCPM_CONFIG_DIR", setup.config())
                .env("XDG_RUNTIME_DIR", setup.dir.path().join("run"))
                .args(["docker", "connect", "time", "-f", &compose])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        // Whatever the session's fate (this test runs no real server), each
        // connect ends: its stdin is empty.
        child.wait().unwrap();
    }
    let status = setup
        .mcpm(&["gateway", "status", "--json"])
        .assert()
        .success();
    let status = json(&status.get_output().stdout);
    assert_eq!(status["running"], true, "connect started the gateway");
    let gateways = processes_with(&["gateway", &compose]);
    assert_eq!(
        gateways.len(),
        1,
        "one gateway for four connects: {gateways:?}"
    );
    assert_eq!(u64::from(gateways[0]), status["pid"].as_u64().unwrap());
}

#[test]
fn connect_exits_with_the_reason_when_the_gateway_cannot_start() {
    let setup = Setup::new(COMPOSE);
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    std::fs::create_dir_all(setup.state_dir()).unwrap();
    std::fs::write(setup.state_dir().join("port"), format!("{port}\n")).unwrap();
    let started = std::time::Instant::now();
    // Stdin stays open (the client is still there): connect must still end.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("mcpm"))
        .env("MCPM_CONFIG_DIR", setup.config())
        .env("XDG_RUNTIME_DIR", setup.dir.path().join("run"))
        .args(["docker", "connect", "time", "-f"])
        .arg(setup.compose())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let output = loop {
        if child.try_wait().unwrap().is_some() {
            break child.wait_with_output().unwrap();
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "connect hung"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("exited at start"), "{stderr}");
    assert!(
        stderr.contains(&format!("port {port} is already in use")),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "nothing but MCP on stdout");
}

#[test]
fn an_unreachable_engine_is_one_clear_error_and_nothing_is_written() {
    let setup = Setup::new(COMPOSE);
    let nowhere = setup.dir.path().join("no-engine.sock");
    let host = format!("unix://{}", nowhere.display());
    setup
        .mcpm(&["gateway"])
        .env("DOCKER_HOST", &host)
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(nowhere.display().to_string()));
    // No token, no port, no state, no socket: a refusal writes nothing.
    assert!(!setup.config().join("gateway").exists());
    assert!(!socket(&setup).exists());
}

#[test]
fn a_compose_file_that_does_not_parse_is_refused_with_its_place() {
    let setup = Setup::new("name: mcp-cmdcli\nservices:\n  time:\n    image: [unclosed\n");
    setup
        .mcpm(&["gateway", "--detach"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("compose.yaml:"));
    assert!(!setup.config().join("gateway").exists());
    setup
        .mcpm(&["connect", "time"])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("compose.yaml:"));
}
