//! `mcpm mcp serve` against the real Docker Engine, with the official Python
//! SDK (`tests/mcp-clients/ops_client.py`) as the agent: a project deployed
//! from a profile with the real `mcp-server-time` image; over stdio with
//! `--role read` every read tool answers and `restart` is refused; over HTTP
//! an `operate` token restarts the container (its StartedAt changes), a
//! `read` token is refused and audited, and an unknown, a revoked or another
//! caller's token gets nothing. Skipped without the engine, failing under `CI`.
#[path = "engine/support.rs"]
#[allow(dead_code)] // the helpers other engine tests use
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use support::{Project, stderr};

/// A literal secret in the profile: it must never reach an agent or a log.
const SECRET: &str = "sk-live-0123456789abcdef";

struct Ops {
    project: Project,
    config: tempfile::TempDir,
    python: PathBuf,
}

impl Ops {
    /// Writes, syncs and deploys the profile, or says why it cannot.
    fn new(what: &str) -> Option<Self> {
        support::engine()?;
        let image = support::time_image()?;
        let python = support::sdk_python()?;
        let project = Project::new(what);
        let profile = format!(
            "name = \"ops\"\n\n[docker]\ncompose_file = \"compose.yaml\"\nproject = \"{}\"\n\n\
             [servers.time]\ncommand = \"mcp-server-time\"\nargs = [\"--local-timezone\", \"UTC\"]\n\
             env = {{ API_TOKEN = \"{SECRET}\" }}\n[servers.time.docker]\nimage = \"{image}\"\n",
            project.name
        );
        std::fs::write(project.dir.path().join("ops.toml"), profile).unwrap();
        let ops = Self {
            project,
            config: tempfile::tempdir().unwrap(),
            python,
        };
        support::sync_and_deploy(ops.project.dir.path(), ops.config.path(), "ops.toml");
        Some(ops)
    }

    fn profile(&self) -> String {
        self.project
            .dir
            .path()
            .join("ops.toml")
            .display()
            .to_string()
    }

    fn command(&self) -> Command {
        support::mcpm_in(self.project.dir.path(), self.config.path())
    }

    fn mcpm(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }

    /// Runs the SDK agent with `calls` over `transport` (`stdio CMD…` or
    /// `http URL TOKEN`); its JSON report.
    fn agent(&self, calls: &[(&str, Value)], transport: &[String]) -> Value {
        let mut cmd = Command::new(&self.python);
        cmd.arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/mcp-clients/ops_client.py"
        ));
        for (tool, args) in calls {
            cmd.arg("--call").arg(format!("{tool}={args}"));
        }
        let out = cmd.args(transport).output().unwrap();
        assert!(
            out.status.success(),
            "the SDK agent failed: {}",
            stderr(&out)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// The stdio command line an MCP client launches (it names the config
    /// dir: clients start servers with a small environment).
    fn stdio_line(&self, role: &str) -> Vec<String> {
        [
            "stdio",
            env!("CARGO_BIN_EXE_mcpm"),
            "--config-dir",
            &self.config.path().display().to_string(),
            "mcp",
            "serve",
            "--profile",
            &self.profile(),
            "--role",
            role,
        ]
        .map(String::from)
        .to_vec()
    }

    fn started_at(&self) -> String {
        let name = format!("{}-time-1", self.project.name);
        self.project.inspect(&name, "{{.State.StartedAt}}")
    }

    fn audit(&self) -> Vec<Value> {
        std::fs::read_to_string(self.config.path().join("audit.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn token(&self, name: &str, role: &str) -> String {
        let out = self.mcpm(&["mcp", "token", "create", "--name", name, "--role", role]);
        assert!(out.status.success(), "token create: {}", stderr(&out));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }
}

fn call(report: &Value, index: usize) -> &Value {
    &report["calls"][index]
}

#[test]
fn over_stdio_a_read_agent_sees_everything_and_changes_nothing() {
    let Some(ops) = Ops::new("mcp-stdio") else {
        return;
    };
    let before = ops.started_at();
    let report = ops.agent(
        &[
            ("list_servers", json!({})),
            ("logs", json!({"server": "time", "tail": 5})),
            ("stats", json!({})),
            ("sync_check", json!({})),
            ("generate_preview", json!({})),
            ("list_networks", json!({})),
            ("inspect_server", json!({"server": "time"})),
            ("restart", json!({"servers": ["time"]})),
            ("logs", json!({"server": "postgres"})),
            ("logs", json!({"server": "time", "tail": 0})),
        ],
        &ops.stdio_line("read"),
    );
    assert_eq!(report["server"], "mcpm");
    assert_eq!(report["protocol"], "2025-11-25");

    // Every tool, with schemas and truthful annotations.
    let tools = report["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 14);
    for tool in tools {
        let name = tool["name"].as_str().unwrap();
        assert_eq!(tool["inputSchema"]["type"], "object", "{name}");
        assert_eq!(tool["outputSchema"]["type"], "object", "{name}");
        let read = tool["description"]
            .as_str()
            .unwrap()
            .ends_with("Needs the `read` role.");
        assert_eq!(tool["annotations"]["readOnlyHint"], read, "{name}");
        if ["stop", "down", "sync", "deploy"].contains(&name) {
            assert_eq!(tool["annotations"]["destructiveHint"], true, "{name}");
        }
    }

    let servers = &call(&report, 0)["structured"]["projects"][0]["servers"];
    let time = servers
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "time")
        .unwrap();
    assert_eq!(time["container_state"], "running", "{time}");
    assert_eq!(time["sync_state"], "in-sync", "{time}");

    let logs = call(&report, 1);
    assert_eq!(logs["is_error"], false, "{logs}");
    assert_eq!(logs["structured"]["server"], "time");
    assert!(logs["structured"]["containers"][0]["lines"].is_array());

    let stats = &call(&report, 2)["structured"];
    assert_eq!(stats["containers"][0]["service"], "time", "{stats}");
    assert_eq!(stats["containers"][0]["running"], true);
    assert!(
        stats["containers"][0]["memory"]["used_bytes"]
            .as_u64()
            .unwrap()
            > 0
    );

    let check = &call(&report, 3)["structured"];
    assert_eq!(check["status"], "in-sync", "{check}");

    let preview = &call(&report, 4)["structured"]["compose"];
    let preview = preview.as_str().unwrap();
    assert!(preview.contains("services:"), "{preview}");
    assert!(preview.contains("${API_TOKEN}"), "{preview}");

    let networks = &call(&report, 5)["structured"]["networks"];
    assert!(!networks.as_array().unwrap().is_empty(), "{networks}");

    let inspect = call(&report, 6);
    let structured = &inspect["structured"];
    assert_eq!(structured["containers"][0]["state"], "running", "{inspect}");
    assert_eq!(
        structured["profile_entry"]["env"]["API_TOKEN"], "${API_TOKEN}",
        "{structured}"
    );
    assert!(!inspect.to_string().contains(SECRET));
    assert!(!report.to_string().contains(SECRET));

    let refused = &call(&report, 7)["error"];
    assert_eq!(refused["code"], -32003, "{refused}");
    let message = refused["message"].as_str().unwrap();
    assert!(
        message.contains("`operate`") && message.contains("`read`"),
        "{message}"
    );
    assert_eq!(ops.started_at(), before, "a read agent restarted nothing");

    let unknown = call(&report, 8);
    assert_eq!(unknown["is_error"], true, "{unknown}");
    assert!(unknown["text"][0].as_str().unwrap().contains("time"));
    assert_eq!(call(&report, 9)["error"]["code"], -32602);

    let audit = ops.audit();
    let outcomes: Vec<(&str, &str)> = audit
        .iter()
        .map(|e| (e["tool"].as_str().unwrap(), e["outcome"].as_str().unwrap()))
        .collect();
    assert!(outcomes.contains(&("restart", "denied")), "{outcomes:?}");
    assert!(outcomes.contains(&("logs", "invalid")), "{outcomes:?}");
    assert!(outcomes.contains(&("stats", "ok")), "{outcomes:?}");
    assert_eq!(audit.len(), 10);
    assert!(
        audit
            .iter()
            .all(|e| e["caller"] == "stdio" && e["role"] == "read")
    );
}

/// A running `mcpm mcp serve --http --metrics`, killed on drop.
struct HttpServer {
    child: Child,
    port: u16,
    metrics_port: u16,
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl HttpServer {
    fn start(ops: &Ops) -> HttpServer {
        let mut child = ops
            .command()
            .args([
                "mcp",
                "serve",
                "--profile",
                &ops.profile(),
                "--http",
                "127.0.0.1:0",
                "--metrics",
                "127.0.0.1:0",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let (mut port, mut metrics_port) = (0, 0);
        while port == 0 || metrics_port == 0 {
            let line = lines.next().expect("serve says where it listens").unwrap();
            if let Some(rest) = line.split("http://127.0.0.1:").nth(1) {
                let found = rest.split('/').next().unwrap().parse().unwrap();
                if rest.contains("/metrics") {
                    metrics_port = found;
                } else {
                    port = found;
                }
            }
        }
        // Keep draining stderr so the server never blocks on it.
        std::thread::spawn(move || for _ in lines {});
        HttpServer {
            child,
            port,
            metrics_port,
        }
    }

    /// `GET /metrics`: the Prometheus text.
    fn scrape(&self) -> String {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.metrics_port)).unwrap();
        write!(
            stream,
            "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        response
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }

    /// One raw POST of `body`: (status, the Mcp-Session-Id it set, body).
    fn post(
        &self,
        token: &str,
        session: Option<&str>,
        body: &Value,
    ) -> (u16, Option<String>, String) {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let body = body.to_string();
        let session = session
            .map(|s| format!("Mcp-Session-Id: {s}\r\n"))
            .unwrap_or_default();
        write!(
            stream,
            "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nAccept: application/json\r\n{session}\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response[9..12].parse().unwrap();
        let session = response.lines().find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("mcp-session-id: ")
                .map(|_| l[16..].trim().to_string())
        });
        let body = response.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
        (status, session, body)
    }
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"}}})
}

#[test]
fn over_http_tokens_carry_roles_and_revocation_is_immediate() {
    let Some(ops) = Ops::new("mcp-http") else {
        return;
    };
    // Without a token the server does not start.
    let out = ops.mcpm(&[
        "mcp",
        "serve",
        "--profile",
        &ops.profile(),
        "--http",
        "127.0.0.1:0",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("mcpm mcp token create"),
        "{}",
        stderr(&out)
    );

    let operate = ops.token("ci", "operate");
    let read = ops.token("bot", "read");
    let server = HttpServer::start(&ops);
    let http = |token: &str| vec!["http".to_string(), server.url(), token.to_string()];

    let before = ops.started_at();
    std::thread::sleep(Duration::from_millis(1100));
    let report = ops.agent(
        &[
            ("restart", json!({"servers": ["time"]})),
            ("list_servers", json!({})),
        ],
        &http(&operate),
    );
    let restarted = call(&report, 0);
    assert_eq!(restarted["is_error"], false, "{restarted}");
    assert_eq!(restarted["structured"]["results"][0]["action"], "restart");
    assert_ne!(ops.started_at(), before, "the container was restarted");

    let after = ops.started_at();
    let report = ops.agent(
        &[("restart", json!({"servers": ["time"], "token": "hunter2"}))],
        &http(&read),
    );
    // Bad arguments from a read caller: the role is judged first.
    let refused = &call(&report, 0)["error"];
    assert_eq!(refused["code"], -32003, "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("`operate`"));
    assert_eq!(ops.started_at(), after);
    let audit = ops.audit();
    assert!(
        audit
            .iter()
            .any(|e| e["caller"] == "bot" && e["tool"] == "restart" && e["outcome"] == "denied"),
        "{audit:?}"
    );
    assert!(audit.iter().any(|e| e["caller"] == "ci"
        && e["role"] == "operate"
        && e["outcome"] == "ok"
        && e["transport"] == "http"));

    // The secret in the refused call's arguments is masked in the log.
    let log = std::fs::read_to_string(ops.config.path().join("audit.log")).unwrap();
    assert!(!log.contains("hunter2"), "{log}");

    let metrics = server.scrape();
    assert!(
        metrics.lines().any(|l| l.starts_with("mcpm_mcp_tool_calls")
            && l.contains("restart")
            && l.contains("denied")),
        "{metrics}"
    );

    // An unknown token, and a session used with another caller's token.
    let (status, _, _) = server.post("mcpm_not-a-token", None, &initialize());
    assert_eq!(status, 401);
    let (status, session, _) = server.post(&operate, None, &initialize());
    assert_eq!(status, 200);
    let session = session.expect("a session id");
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let (status, _, body) = server.post(&operate, Some(&session), &list);
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = server.post(&read, Some(&session), &list);
    assert_eq!(status, 404, "another caller's session is not found: {body}");

    // Revoked: refused at the next request, no restart.
    let out = ops.mcpm(&["mcp", "token", "revoke", "bot"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (status, _, _) = server.post(&read, None, &initialize());
    assert_eq!(status, 401);
    let (status, _, _) = server.post(&operate, Some(&session), &list);
    assert_eq!(status, 200, "the other token still works");
}

#[test]
fn an_admin_agent_deploys_stops_starts_syncs_and_takes_down() {
    let Some(ops) = Ops::new("mcp-admin") else {
        return;
    };
    let name = format!("{}-time-1", ops.project.name);
    let report = ops.agent(
        &[
            ("deploy", json!({"dry_run": true})),
            ("stop", json!({"servers": ["time"]})),
            ("list_servers", json!({})),
            ("start", json!({})),
            ("sync", json!({"strategy": "manual"})),
            ("sync", json!({"strategy": "merge"})),
            ("deploy", json!({"servers": ["nope"]})),
        ],
        &ops.stdio_line("admin"),
    );
    let plan = call(&report, 0);
    assert_eq!(plan["is_error"], false, "{plan}");
    assert_eq!(plan["structured"]["dry_run"], true);
    assert!(plan["structured"]["results"].as_array().unwrap().is_empty());

    let stopped = call(&report, 1);
    assert_eq!(
        stopped["structured"]["results"][0]["action"], "stop",
        "{stopped}"
    );
    let state = &call(&report, 2)["structured"]["projects"][0]["servers"][0]["container_state"];
    assert_eq!(state, "exited", "{report}");
    let started = call(&report, 3);
    assert_eq!(started["structured"]["ok"], true, "{started}");
    assert_eq!(ops.project.inspect(&name, "{{.State.Running}}"), "true");

    let manual = &call(&report, 4)["error"];
    assert_eq!(manual["code"], -32602, "{manual}");
    assert!(manual["message"].as_str().unwrap().contains("manual"));
    let synced = call(&report, 5);
    assert_eq!(synced["is_error"], false, "{synced}");
    assert_eq!(synced["structured"]["status"], "in-sync");
    let unknown = call(&report, 6);
    assert_eq!(unknown["is_error"], true, "{unknown}");
    assert!(
        unknown["text"][0]
            .as_str()
            .unwrap()
            .contains("no service `nope`")
    );

    // `down` last, over its own session: the project is gone.
    let report = ops.agent(&[("down", json!({}))], &ops.stdio_line("admin"));
    assert_eq!(call(&report, 0)["structured"]["ok"], true, "{report}");
    assert!(ops.project.containers().is_empty());
    assert!(ops.project.networks().is_empty());
}
