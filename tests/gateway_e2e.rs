//! End to end, with real peers no one here wrote: a profile of the real
//! `mcp-server-time` (from PyPI, in a Debian image built by
//! `scripts/test-engine.sh`) is generated and deployed, and the official Python
//! MCP SDK (`tests/mcp-clients/sdk_client.py`) uses it the ways a user's client
//! would: through `mcpm docker connect` (what `mcpm client add` writes) and over
//! streamable HTTP to the gateway, in both protocol generations.
#[path = "engine/support.rs"]
#[allow(dead_code)] // the helpers other engine tests use
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Project, docker, stderr, stdout};

/// One deployed profile, its config dir, and the Python that has the SDK.
struct E2e {
    project: Project,
    config: tempfile::TempDir,
    python: PathBuf,
}

impl E2e {
    /// Writes and deploys the profile, or says why it cannot (a failure in CI).
    fn new(what: &str) -> Option<Self> {
        support::engine()?;
        let python = support::sdk_python()?;
        let image = support::time_image()?;
        let project = Project::new(what);
        let server = |name: &str, extra: &str| {
            format!(
                "[servers.{name}]\ncommand = \"mcp-server-time\"\nargs = [\"--local-timezone\", \"UTC\"]\n{extra}\
                 [servers.{name}.docker]\nimage = \"{image}\"\n\n"
            )
        };
        let profile = format!(
            "name = \"e2e\"\n\n[docker]\ncompose_file = \"compose.yaml\"\nproject = \"{}\"\n\n{}{}{}\
             [servers.search]\nurl = \"https://example.com/mcp\"\n",
            project.name,
            server("time", ""),
            server("clock", "strategy = \"on-demand\"\nidle_timeout = \"2s\"\n"),
            server("solo", "sharing = \"session\"\n"),
        );
        std::fs::write(project.dir.path().join("e2e.toml"), profile).unwrap();
        let e2e = Self {
            project,
            config: tempfile::tempdir().unwrap(),
            python,
        };
        support::sync_and_deploy(e2e.project.dir.path(), e2e.config.path(), "e2e.toml");
        Some(e2e)
    }

    fn profile(&self) -> PathBuf {
        self.project.dir.path().join("e2e.toml")
    }

    fn command(&self) -> Command {
        support::mcpm_in(self.project.dir.path(), self.config.path())
    }

    fn mcpm(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }

    /// The stdio command line a client launches for SERVER. It names the
    /// config dir: clients (the SDK among them) start servers with a small
    /// safe environment, without `MCPM_CONFIG_DIR`.
    fn connect_line(&self, server: &str) -> Vec<String> {
        vec![
            env!("CARGO_BIN_EXE_mcpm").to_string(),
            "--config-dir".into(),
            self.config.path().display().to_string(),
            "docker".into(),
            "connect".into(),
            server.into(),
            "--profile".into(),
            self.profile().display().to_string(),
        ]
    }

    /// Runs the SDK client with ARGS; its JSON report.
    fn sdk(&self, args: &[String]) -> Value {
        let out = self.sdk_output(args);
        assert!(
            out.status.success(),
            "the SDK client failed: {}\n{}",
            stderr(&out),
            self.gateway_log()
        );
        serde_json::from_str(&stdout(&out)).expect("the SDK client prints JSON")
    }

    fn sdk_output(&self, args: &[String]) -> Output {
        Command::new(&self.python)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp-clients/sdk_client.py"))
            .args(args)
            .env("MCPM_CONFIG_DIR", self.config.path())
            .current_dir(self.project.dir.path())
            .output()
            .unwrap()
    }

    fn gateway_dir(&self) -> PathBuf {
        self.config.path().join("gateway").join(&self.project.name)
    }

    fn gateway_log(&self) -> String {
        let log =
            std::fs::read_to_string(self.gateway_dir().join("gateway.log")).unwrap_or_default();
        format!("gateway log:\n{log}")
    }

    fn gateway_status(&self) -> Value {
        let out = self.mcpm(&[
            "docker",
            "gateway",
            "status",
            "--profile",
            "e2e.toml",
            "--json",
        ]);
        assert!(out.status.success(), "gateway status: {}", stderr(&out));
        serde_json::from_str(&stdout(&out)).unwrap()
    }

    /// The gateway's view of SERVER from `gateway status --json`.
    fn server_view(&self, server: &str) -> Value {
        let status = self.gateway_status();
        status["servers"]
            .as_array()
            .and_then(|servers| servers.iter().find(|s| s["name"] == server))
            .cloned()
            .unwrap_or_else(|| panic!("{server} not in gateway status: {status}"))
    }

    /// Waits until CHECK holds, for up to LIMIT.
    fn wait_for(&self, what: &str, limit: Duration, check: impl Fn() -> bool) {
        let start = Instant::now();
        while !check() {
            assert!(
                start.elapsed() < limit,
                "timed out waiting for {what}\n{}",
                self.gateway_log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn container_running(&self, service: &str) -> bool {
        let name = format!("{}-{service}-1", self.project.name);
        docker(&["inspect", "--format", "{{.State.Running}}", &name])
            .stdout
            .starts_with(b"true")
    }

    fn token(&self) -> String {
        std::fs::read_to_string(self.config.path().join("gateway/token"))
            .unwrap()
            .trim()
            .to_string()
    }

    fn url(&self, server: &str) -> String {
        let state: Value = serde_json::from_str(
            &std::fs::read_to_string(self.gateway_dir().join("gateway.json")).unwrap(),
        )
        .unwrap();
        format!("{}/servers/{server}/mcp", state["url"].as_str().unwrap())
    }
}

impl Drop for E2e {
    fn drop(&mut self) {
        let _ = self.mcpm(&["docker", "gateway", "stop", "--profile", "e2e.toml"]);
    }
}

/// POSTs an `initialize` to URL with TOKEN (if any); the HTTP status.
fn post_initialize(url: &str, token: Option<&str>) -> u16 {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).unwrap();
    String::from_utf8_lossy(&head[9..12]).parse().unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The stdio path (what `client add` writes) and the HTTP path, both protocol
/// generations, 8 clients at once, on-demand and session servers, and a
/// client killed mid-session: one deployment, one gateway, in sequence.
#[test]
fn deployed_servers_serve_real_clients() {
    let Some(e2e) = E2e::new("gw") else { return };

    // 1. The stdio bridge: the SDK launches `mcpm docker connect time`, which
    //    starts the gateway (detached) on first use.
    for mode in ["auto", "legacy"] {
        let mut line = args(&[
            "--mode",
            mode,
            "--call",
            r#"get_current_time={"timezone":"Europe/Paris"}"#,
            "stdio",
        ]);
        line.extend(e2e.connect_line("time"));
        let report = e2e.sdk(&line);
        assert_eq!(
            report["tools"],
            serde_json::json!(["convert_time", "get_current_time"]),
            "{report}"
        );
        let call = &report["calls"][0];
        assert_eq!(call["is_error"], false, "{report}");
        assert_eq!(call["structured"]["timezone"], "Europe/Paris", "{report}");
        // auto: the SDK probes `server/discover` and speaks 2026-07-28; legacy:
        // the handshake, answered from the gateway's cached `initialize`.
        let protocol = report["protocol"].as_str().unwrap();
        if mode == "auto" {
            assert_eq!(protocol, "2026-07-28", "{report}");
        } else {
            assert!(protocol.starts_with("2025-"), "{report}");
        }
    }
    assert!(
        e2e.gateway_dir().join("gateway.json").is_file(),
        "connect started the gateway"
    );

    // 2. Streamable HTTP to the gateway, with the token.
    for mode in ["auto", "legacy"] {
        let line = args(&[
            "--mode",
            mode,
            "--call",
            r#"get_current_time={"timezone":"Asia/Tokyo"}"#,
            "http",
            &e2e.url("time"),
            &e2e.token(),
        ]);
        let report = e2e.sdk(&line);
        assert_eq!(
            report["calls"][0]["structured"]["timezone"], "Asia/Tokyo",
            "{report}"
        );
    }

    // 3. Eight clients at once on the one shared container: each gets its own
    //    answer (ids are never crossed between sessions).
    for transport in ["stdio", "http"] {
        let mut line = args(&[
            "--clients",
            "8",
            "--call",
            r#"convert_time={"source_timezone":"UTC","time":"1{i}:00","target_timezone":"Asia/Tokyo"}"#,
            transport,
        ]);
        if transport == "stdio" {
            line.extend(e2e.connect_line("time"));
        } else {
            line.extend([e2e.url("time"), e2e.token()]);
        }
        let report = e2e.sdk(&line);
        let results = report["results"].as_array().unwrap();
        assert_eq!(results.len(), 8);
        for (i, result) in results.iter().enumerate() {
            let target = result["calls"][0]["structured"]["target"]["datetime"]
                .as_str()
                .unwrap();
            let hour = (10 + i + 9) % 24;
            assert!(
                target.contains(&format!("T{hour:02}:00:00")),
                "{transport} client {i} got {target}"
            );
        }
    }
    let time = e2e.server_view("time");
    assert_eq!(time["attached"], true, "{time}");
    assert_eq!(time["sessions"], 0, "{time}");

    // 4. On-demand: created by deploy but not started; the first session
    //    starts it, and it is stopped `idle_timeout` (2 s) after the last.
    assert!(
        !e2e.container_running("clock"),
        "deploy does not start an on-demand server"
    );
    let mut line = args(&["--call", r#"get_current_time={"timezone":"UTC"}"#, "stdio"]);
    line.extend(e2e.connect_line("clock"));
    e2e.sdk(&line);
    assert!(
        e2e.container_running("clock"),
        "first use started the on-demand server"
    );
    e2e.wait_for(
        "the idle on-demand server to stop",
        Duration::from_secs(20),
        || !e2e.container_running("clock"),
    );

    // 5. Session sharing: a container per session, none left after it.
    let mut line = args(&[
        "--hold",
        "1",
        "--call",
        r#"get_current_time={"timezone":"UTC"}"#,
        "stdio",
    ]);
    line.extend(e2e.connect_line("solo"));
    let mut child = Command::new(&e2e.python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp-clients/sdk_client.py"))
        .args(&line)
        .env("MCPM_CONFIG_DIR", e2e.config.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    e2e.wait_for(
        "a one-off container for the session",
        Duration::from_secs(30),
        || !support::one_offs(&e2e.project).is_empty(),
    );
    assert!(child.wait().unwrap().success());
    e2e.wait_for(
        "the session's container to go",
        Duration::from_secs(20),
        || support::one_offs(&e2e.project).is_empty(),
    );

    // 6. A client killed mid-session leaves no stuck session behind.
    let mut line = args(&["--hold", "30", "stdio"]);
    line.extend(e2e.connect_line("time"));
    let mut child = Command::new(&e2e.python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp-clients/sdk_client.py"))
        .args(&line)
        .env("MCPM_CONFIG_DIR", e2e.config.path())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    e2e.wait_for("the session to open", Duration::from_secs(30), || {
        e2e.server_view("time")["sessions"] == 1
    });
    // SIGKILL the SDK client and its `connect` child (same process group
    // is not guaranteed, so kill connect by its parent).
    let _ = Command::new("pkill")
        .args(["-KILL", "-P", &child.id().to_string()])
        .status();
    child.kill().unwrap();
    child.wait().unwrap();
    e2e.wait_for(
        "the killed client's session to end",
        Duration::from_secs(20),
        || e2e.server_view("time")["sessions"] == 0,
    );

    // 7. `docker status` shows the gateway's view.
    let out = e2e.mcpm(&["docker", "status", "e2e.toml", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("\"gateway\""),
        "status --json has the gateway view: {}",
        stdout(&out)
    );
}

/// What a user gets wrong gets a clear answer, and nothing hangs.
#[test]
fn bad_input_is_refused_clearly() {
    let Some(e2e) = E2e::new("gwbad") else { return };

    let out = e2e.mcpm(&["docker", "connect", "nope", "--profile", "e2e.toml"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("nope") && err.contains("time") && err.contains("clock"),
        "{err}"
    );

    let out = e2e.mcpm(&["docker", "connect", "search", "--profile", "e2e.toml"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("remote"), "{}", stderr(&out));

    // Start the gateway, then: a wrong or missing token is 401.
    let out = e2e.mcpm(&["docker", "gateway", "--profile", "e2e.toml", "--detach"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let line = args(&["http", &e2e.url("time"), "wrong-token"]);
    let out = e2e.sdk_output(&line);
    assert!(
        !out.status.success(),
        "the SDK client got in with a wrong token"
    );
    for token in [Some("wrong-token".to_string()), None, Some(e2e.token())] {
        let status = post_initialize(&e2e.url("time"), token.as_deref());
        let expected = if token.as_deref() == Some(e2e.token().as_str()) {
            200
        } else {
            401
        };
        assert_eq!(status, expected, "token {token:?}");
    }

    // A second gateway on the port the first holds: a clear error.
    let state: Value = serde_json::from_str(
        &std::fs::read_to_string(e2e.gateway_dir().join("gateway.json")).unwrap(),
    )
    .unwrap();
    let listen = state["listen"].as_str().unwrap().to_string();
    let other = tempfile::tempdir().unwrap();
    let out = e2e
        .command()
        .env("MCPM_CONFIG_DIR", other.path())
        .args([
            "docker",
            "gateway",
            "--profile",
            "e2e.toml",
            "--listen",
            &listen,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&listen),
        "names the port: {}",
        stderr(&out)
    );
}

/// `mcpm client add` writes an entry a client can launch as it is.
#[test]
fn client_add_writes_a_launchable_entry() {
    let Some(e2e) = E2e::new("gwclient") else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let out = e2e
        .command()
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join(".config"))
        .args(["client", "add", "claude-desktop", "--profile"])
        .arg(e2e.profile())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let file = home
        .path()
        .join(".config/Claude/claude_desktop_config.json");
    let config: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let entry = &config["mcpServers"]["time"];
    let mut line = args(&["--call", r#"get_current_time={"timezone":"UTC"}"#, "stdio"]);
    line.push(entry["command"].as_str().unwrap().to_string());
    line.extend(
        entry["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string()),
    );
    let report = e2e.sdk(&line);
    assert_eq!(report["calls"][0]["is_error"], false, "{report}");
    // Claude Desktop's file starts only stdio commands, so the remote server
    // is left out there; Cursor gets it written as itself.
    assert!(config["mcpServers"].get("search").is_none(), "{config}");
    let out = e2e
        .command()
        .env("HOME", home.path())
        .args(["client", "add", "cursor", "--profile"])
        .arg(e2e.profile())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let cursor: Value = serde_json::from_str(
        &std::fs::read_to_string(home.path().join(".cursor/mcp.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        cursor["mcpServers"]["search"]["url"], "https://example.com/mcp",
        "{cursor}"
    );
    assert_eq!(
        cursor["mcpServers"]["time"]["args"][1], "connect",
        "{cursor}"
    );
}
