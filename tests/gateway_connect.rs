//! `mcpm docker connect` through the real binary against a fake gateway: a
//! test-side unix socket speaking the gateway's socket protocol (hello line,
//! then newline-delimited JSON-RPC), recorded in the config dir as a running
//! gateway of this test's own pid. Covers pass-through, stdin EOF, and the
//! gateway going away mid-request (errors answered, reconnect with the
//! client's handshake replayed, never a hang).
mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const COMPOSE: &str = "name: mcp-fake
services:
  time:
    image: example/time
    stdin_open: true
    profiles: [on-demand]
    labels:
      io.mcpm.server: time
      io.mcpm.strategy: on-demand
";

/// The binary as a plain process (stdin and stdout piped by the test).
fn mcpm(config: &std::path::Path) -> std::process::Command {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("mcpm"));
    command
        .env("MCPM_CONFIG_DIR", config)
        .env_remove("CI")
        .current_dir(common::root());
    command
}

/// A test directory with a compose file, a config dir and a runtime dir.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("compose.yaml"), COMPOSE).unwrap();
        let run = dir.path().join("run/mcpm");
        std::fs::create_dir_all(&run).unwrap();
        for path in [dir.path().join("run"), run] {
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o700))
                .unwrap();
        }
        Self { dir }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("run/mcpm/gateway-mcp-fake.sock")
    }

    /// Records a gateway of this process listening on the socket.
    fn record_gateway(&self) {
        let state_dir = self.config().join("gateway/mcp-fake");
        std::fs::create_dir_all(&state_dir).unwrap();
        let state = json!({
            "pid": std::process::id(),
            "project": "mcp-fake",
            "listen": "127.0.0.1:1",
            "url": "http://127.0.0.1:1",
            "socket": self.socket(),
            "token_file": self.config().join("gateway/token"),
            "compose_file": self.dir.path().join("compose.yaml"),
            "started_at": 0,
            "version": "test",
        });
        std::fs::write(state_dir.join("gateway.json"), state.to_string()).unwrap();
    }

    fn connect(&self, server: &str) -> Client {
        let mut child = mcpm(&self.config())
            .env("XDG_RUNTIME_DIR", self.dir.path().join("run"))
            .args(["docker", "connect", server, "-f"])
            .arg(self.dir.path().join("compose.yaml"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (lines, received) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        Client {
            stdin: child.stdin.take(),
            child,
            received,
        }
    }
}

/// A running `mcpm docker connect`.
struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    received: mpsc::Receiver<String>,
}

impl Client {
    fn send(&mut self, message: Value) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{message}").unwrap();
        stdin.flush().unwrap();
    }

    fn receive(&self) -> Value {
        let line = self
            .received
            .recv_timeout(Duration::from_secs(10))
            .expect("connect answered within 10 s");
        serde_json::from_str(&line).unwrap()
    }

    fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits for the exit (10 s at most) and returns the code and stderr.
    fn finish(mut self) -> (Option<i32>, String) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut stderr = String::new();
                std::io::Read::read_to_string(self.child.stderr.as_mut().unwrap(), &mut stderr)
                    .unwrap();
                return (status.code(), stderr);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("connect did not exit within 10 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// One session on the fake gateway, after its hello line.
struct Session {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Session {
    fn read(&mut self) -> Option<Value> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(serde_json::from_str(&line).unwrap()),
        }
    }

    fn write(&mut self, message: Value) {
        writeln!(self.writer, "{message}").unwrap();
    }

    /// Answers a request with `{"echo": method}`.
    fn echo(&mut self, request: &Value) {
        self.write(
            json!({"jsonrpc": "2.0", "id": request["id"], "result": {"echo": request["method"]}}),
        );
    }
}

/// Accepts the next session, skipping liveness probes (connections that
/// close without a hello line); asserts the hello and answers ok.
fn accept(listener: &UnixListener, server: &str) -> Session {
    loop {
        let (stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut hello = String::new();
        if reader.read_line(&mut hello).unwrap_or(0) == 0 {
            continue;
        }
        let hello: Value = serde_json::from_str(&hello).unwrap();
        assert_eq!(hello, json!({"mcpm_gateway": 1, "open": server}));
        let mut session = Session {
            reader,
            writer: stream,
        };
        session.write(json!({"ok": true}));
        return session;
    }
}

fn fake_gateway(setup: &Setup) -> UnixListener {
    let listener = UnixListener::bind(setup.socket()).unwrap();
    setup.record_gateway();
    listener
}

fn request(id: Value, method: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": {}})
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"}}})
}

const INITIALIZED: &str = "notifications/initialized";

fn fake(
    listener: UnixListener,
    script: impl FnOnce(&UnixListener) + Send + 'static,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || script(&listener))
}

#[test]
fn messages_pass_through_both_ways_and_stdin_eof_ends_cleanly() {
    let setup = Setup::new();
    let gateway = fake(fake_gateway(&setup), |listener| {
        let mut session = accept(listener, "time");
        let init = session.read().unwrap();
        assert_eq!(init["method"], "initialize");
        session.echo(&init);
        assert_eq!(session.read().unwrap()["method"], INITIALIZED);
        let list = session.read().unwrap();
        // A notification from the server, then the answer.
        session.write(json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}));
        session.echo(&list);
        // The client's EOF reaches the gateway as the end of the session.
        assert_eq!(session.read(), None);
    });
    let mut client = setup.connect("time");
    client.send(initialize());
    assert_eq!(client.receive()["result"]["echo"], "initialize");
    client.send(json!({"jsonrpc": "2.0", "method": INITIALIZED}));
    client.send(request(json!("list-1"), "tools/list"));
    assert_eq!(
        client.receive()["method"],
        "notifications/tools/list_changed"
    );
    let answer = client.receive();
    assert_eq!(answer["id"], "list-1");
    assert_eq!(answer["result"]["echo"], "tools/list");
    client.close_stdin();
    let (code, stderr) = client.finish();
    assert_eq!(code, Some(0), "{stderr}");
    gateway.join().unwrap();
}

#[test]
fn answers_owed_at_stdin_eof_are_still_delivered() {
    let setup = Setup::new();
    let gateway = fake(fake_gateway(&setup), |listener| {
        let mut session = accept(listener, "time");
        let slow = session.read().unwrap();
        std::thread::sleep(Duration::from_millis(500));
        session.echo(&slow);
        assert_eq!(session.read(), None, "EOF after the answer");
    });
    let mut client = setup.connect("time");
    client.send(request(json!(7), "tools/call"));
    client.close_stdin();
    let answer = client.receive();
    assert_eq!(answer["id"], 7);
    let (code, stderr) = client.finish();
    assert_eq!(code, Some(0), "{stderr}");
    gateway.join().unwrap();
}

#[test]
fn a_gateway_dying_mid_request_is_an_error_then_a_reconnect_with_the_handshake_replayed() {
    let setup = Setup::new();
    let started = Instant::now();
    let gateway = fake(fake_gateway(&setup), |listener| {
        let mut first = accept(listener, "time");
        let init = first.read().unwrap();
        first.echo(&init);
        assert_eq!(first.read().unwrap()["method"], INITIALIZED);
        let call = first.read().unwrap();
        assert_eq!(call["method"], "tools/call");
        drop(first); // the gateway dies with the call in flight

        let mut second = accept(listener, "time");
        let replayed = second.read().unwrap();
        assert_eq!(replayed["method"], "initialize");
        assert_eq!(replayed["params"]["clientInfo"]["name"], "test");
        assert_ne!(replayed["id"], json!(0));
        second.echo(&replayed);
        assert_eq!(second.read().unwrap()["method"], INITIALIZED);
        let list = second.read().unwrap();
        assert_eq!(list["id"], 3);
        second.echo(&list);
        assert_eq!(second.read(), None);
    });
    let mut client = setup.connect("time");
    client.send(initialize());
    assert_eq!(client.receive()["id"], 0);
    client.send(json!({"jsonrpc": "2.0", "method": INITIALIZED}));
    client.send(request(json!(2), "tools/call"));
    let error = client.receive();
    assert_eq!(error["id"], 2);
    assert_eq!(error["error"]["code"], -32603);
    assert_eq!(
        error["error"]["message"],
        "the mcpm gateway for project mcp-fake went away; it will be restarted on the next request"
    );
    client.send(request(json!(3), "tools/list"));
    let answer = client.receive();
    assert_eq!(
        answer["id"], 3,
        "the replayed initialize's answer is swallowed"
    );
    assert_eq!(answer["result"]["echo"], "tools/list");
    client.close_stdin();
    let (code, stderr) = client.finish();
    assert_eq!(code, Some(0), "{stderr}");
    gateway.join().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "bounded: {:?}",
        started.elapsed()
    );
}

#[test]
fn a_refused_session_is_an_error_with_the_gateways_exit_code() {
    let setup = Setup::new();
    let gateway = fake(fake_gateway(&setup), |listener| {
        loop {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut hello = String::new();
            if reader.read_line(&mut hello).unwrap_or(0) == 0 {
                continue;
            }
            let answer = json!({"ok": false, "error": "no server `time` in this gateway", "hint": "servers there: fetch", "exit": 2});
            writeln!(&stream, "{answer}").unwrap();
            return;
        }
    });
    let client = setup.connect("time");
    let (code, stderr) = client.finish();
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("no server `time` in this gateway"),
        "{stderr}"
    );
    assert!(stderr.contains("servers there: fetch"), "{stderr}");
    assert!(
        stderr.contains("`mcpm docker gateway stop` for project mcp-fake"),
        "a gateway older than the file is the likely cause: {stderr}"
    );
    gateway.join().unwrap();
}

#[test]
fn servers_that_cannot_be_connected_are_refused_before_any_gateway_starts() {
    let setup = Setup::new();
    let profile = setup.dir.path().join("dev.toml");
    std::fs::write(
        &profile,
        format!(
            "name = \"dev\"\n[docker]\ncompose_file = \"{}\"\nproject = \"mcp-fake\"\n[servers.time]\ncommand = \"uvx\"\nargs = [\"mcp-server-time\"]\n[servers.docs]\nurl = \"https://docs.example.com/mcp\"\n",
            setup.dir.path().join("compose.yaml").display()
        ),
    )
    .unwrap();
    let run = |server: &str| {
        mcpm(&setup.config())
            .env("XDG_RUNTIME_DIR", setup.dir.path().join("run"))
            .args(["docker", "connect", server, "--profile"])
            .arg(&profile)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let output = run("docs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "docs is a remote server (https://docs.example.com/mcp): clients reach it directly, not through connect"
        ),
        "{stderr}"
    );
    let output = run("nope");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no server `nope`"), "{stderr}");
    assert!(stderr.contains("servers there: time"), "{stderr}");
    assert!(
        !setup.config().join("gateway").exists(),
        "no gateway was started"
    );
}
