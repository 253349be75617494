//! Engine tests of the MCP health probe (`status --probe`, `deploy --wait
//! --probe`) against the real Docker Engine, the real `mcp-server-time` from
//! PyPI (`MCPM_TEST_TIME_IMAGE`), the official Python MCP SDK as the
//! reference client (`MCPM_TEST_PYTHON`) and a busybox `sleep` that keeps its
//! stdin open but speaks no MCP. They need `scripts/test-engine.sh`; without
//! it they say they are skipped, and under `CI` they fail.
#[path = "engine/support.rs"]
#[allow(dead_code)] // the helpers other engine tests use
mod support;

use std::process::Command;

use serde_json::{Value, json};

use support::{
    Project, docker, docker_ok, engine, one_offs, sleeper, stderr, stdout, test_var, time_image,
};

/// A project with its own config dir (gateway state, `initialize` cache);
/// stops the gateway a test started, then (as `Project`) removes the
/// containers and networks.
struct Probed {
    project: Project,
    config: tempfile::TempDir,
}

impl Probed {
    fn new(what: &str, body: &str) -> Self {
        let project = Project::new(what);
        project.write(body);
        Probed {
            project,
            config: tempfile::tempdir().expect("a temp dir"),
        }
    }

    fn mcpm(&self, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = self.project.mcpm(args);
        cmd.env("MCPM_CONFIG_DIR", self.config.path());
        cmd
    }

    fn container(&self, service: &str) -> String {
        format!("{}-{service}-1", self.project.name)
    }

    /// `status --probe --json`: service → its probe.
    fn probe(&self, timeout: &str) -> serde_json::Map<String, Value> {
        let out = self
            .mcpm(&["status", "--probe", "--probe-timeout", timeout, "--json"])
            .output()
            .expect("mcpm runs");
        assert!(out.status.success(), "status --probe: {}", stderr(&out));
        let report: Value = serde_json::from_str(&stdout(&out)).expect("status JSON");
        report["servers"]
            .as_array()
            .expect("servers")
            .iter()
            .filter(|s| s.get("probe").is_some())
            .map(|s| (s["name"].as_str().unwrap().to_string(), s["probe"].clone()))
            .collect()
    }

    /// The engine's `attach` events on `container` since `since` (unix s).
    fn attaches(&self, container: &str, since: &str) -> usize {
        let until = format!("{}", unix_now() + 1);
        docker_ok(&[
            "events",
            "--since",
            since,
            "--until",
            &until,
            "--filter",
            &format!("container={container}"),
            "--filter",
            "event=attach",
            "--format",
            "{{.Action}}",
        ])
        .lines()
        .filter(|l| !l.is_empty())
        .count()
    }
}

impl Drop for Probed {
    fn drop(&mut self) {
        let _ = self.mcpm(&["gateway", "stop"]).output();
    }
}

/// `--probe-timeout` of the probes that must succeed: a real Python server
/// on a busy machine may be slow to read its first line.
const PROBE_TIMEOUT: &str = "10";

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn body(time_image: &str, busybox: &str) -> String {
    format!(
        "services:\n  time:\n    image: {time_image}\n    stdin_open: true\n  sleepy:\n{}",
        sleeper(busybox, "    stdin_open: true\n")
    )
}

/// The tool names the official Python SDK client sees on a fresh
/// `mcp-server-time` of the same image (its own throwaway container).
fn sdk_tool_names(image: &str) -> Option<Vec<String>> {
    let python = test_var("MCPM_TEST_PYTHON")?;
    let name = format!("mcpm-test-probe-sdk-{}", std::process::id());
    let script = r#"
import asyncio, json, sys
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

async def main():
    params = StdioServerParameters(command="docker", args=["run", "-i", "--rm", "--name", sys.argv[2], sys.argv[1]])
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            print(json.dumps([t.name for t in (await session.list_tools()).tools]))

asyncio.run(main())
"#;
    let out = Command::new(python)
        .args(["-c", script, image, &name])
        .output()
        .expect("python runs");
    // Gone already (--rm) unless the client was killed mid-way.
    let _ = docker(&["rm", "-f", &name]);
    assert!(
        out.status.success(),
        "the SDK client failed: {}",
        stderr(&out)
    );
    Some(serde_json::from_str(stdout(&out).trim()).expect("the SDK client's JSON"))
}

#[test]
fn status_probe_reports_the_time_servers_tools_leaves_it_working_and_goes_through_a_gateway() {
    let Some(env) = engine() else { return };
    let Some(image) = time_image() else { return };
    let t = Probed::new("probe-status", &body(&image, &env.image));
    let out = t.mcpm(&["deploy", "--wait"]).output().unwrap();
    assert!(out.status.success(), "deploy: {}", stderr(&out));
    let expected = sdk_tool_names(&image).unwrap_or_else(|| {
        // Without the SDK venv: what mcp-server-time is known to list.
        vec!["get_current_time".into(), "convert_time".into()]
    });
    assert!(!expected.is_empty());

    // 1. No gateway: the probe attaches as the gateway does.
    let since = format!("{}", unix_now());
    let probes = t.probe(PROBE_TIMEOUT);
    let time = &probes["time"];
    assert_eq!(time["ok"], json!(true), "{time}");
    assert_eq!(time["via"], json!("attach"), "{time}");
    assert_eq!(time["tools"], json!(expected.len()), "{time}");
    assert_eq!(time["tool_names"], json!(expected), "{time}");
    assert_eq!(time["server_name"], json!("mcp-time"), "{time}");
    assert!(time["rtt_ms"].as_f64().is_some_and(|ms| ms > 0.0), "{time}");
    assert!(
        time["total_ms"].as_f64().is_some_and(|ms| ms > 0.0),
        "{time}"
    );
    assert!(t.attaches(&t.container("time"), &since) >= 1);
    // The busybox sleep keeps stdin open and never answers: a failure
    // at the timeout, not long after it.
    let sleepy = &probes["sleepy"];
    assert_eq!(sleepy["ok"], json!(false), "{sleepy}");
    assert!(
        ["timeout", "not-mcp"].contains(&sleepy["failure"].as_str().unwrap()),
        "{sleepy}"
    );
    assert!(
        sleepy["total_ms"]
            .as_f64()
            .is_some_and(|ms| (9_900.0..11_500.0).contains(&ms)),
        "{sleepy}"
    );
    // The initialize cache the gateway reads was written.
    let cache = t
        .config
        .path()
        .join("gateway")
        .join(&t.project.name)
        .join("init/time.json");
    assert!(cache.is_file(), "{} written", cache.display());

    // 2. Again: the server is still there, answering (initialize from the cache).
    let probes = t.probe(PROBE_TIMEOUT);
    assert_eq!(probes["time"]["ok"], json!(true), "{}", probes["time"]);
    assert_eq!(
        t.project
            .inspect(&t.container("time"), "{{.State.Running}}"),
        "true"
    );

    // 3. A client session through the gateway (connect starts it) still gets the tools.
    let lines = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "engine-probe-test", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    ];
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let out = t
        .mcpm(&["connect", "time"])
        .write_stdin(input)
        .timeout(std::time::Duration::from_secs(90))
        .output()
        .unwrap();
    assert!(out.status.success(), "connect: {}", stderr(&out));
    let answer: Value = stdout(&out)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|m| m["id"] == json!(2))
        .unwrap_or_else(|| panic!("no tools/list answer: {}", stdout(&out)));
    assert_eq!(
        answer["result"]["tools"].as_array().map(Vec::len),
        Some(expected.len()),
        "{answer}"
    );

    // 4. With the gateway running, the probe is a session on it: no attach
    //    of its own to the container.
    std::thread::sleep(std::time::Duration::from_secs(1));
    let since = format!("{}", unix_now());
    let probes = t.probe(PROBE_TIMEOUT);
    let time = &probes["time"];
    assert_eq!(time["ok"], json!(true), "{time}");
    assert_eq!(time["via"], json!("gateway"), "{time}");
    assert_eq!(time["tools"], json!(expected.len()), "{time}");
    assert_eq!(probes["sleepy"]["via"], json!("gateway"));
    assert_eq!(probes["sleepy"]["ok"], json!(false));
    assert_eq!(
        t.attaches(&t.container("time"), &since),
        0,
        "the probe went through the gateway's attachment"
    );
    let out = t.mcpm(&["gateway", "stop"]).output().unwrap();
    assert!(out.status.success(), "gateway stop: {}", stderr(&out));

    // 5. A stopped server is reported, not started.
    docker_ok(&["stop", "-t", "1", &t.container("time")]);
    let probes = t.probe(PROBE_TIMEOUT);
    assert_eq!(
        probes["time"]["failure"],
        json!("not-running"),
        "{}",
        probes["time"]
    );
    assert_eq!(
        t.project
            .inspect(&t.container("time"), "{{.State.Running}}"),
        "false"
    );

    // The table has the columns.
    docker_ok(&["start", &t.container("time")]);
    let out = t
        .mcpm(&["status", "--probe", "--probe-timeout", "2"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(table.contains("TOOLS") && table.contains("RTT"), "{table}");
    assert!(table.contains("within 2.0 s"), "{table}");
}

#[test]
fn deploy_wait_probe_fails_for_a_server_that_speaks_no_mcp_and_passes_for_the_time_server() {
    let Some(env) = engine() else { return };
    let Some(image) = time_image() else { return };
    let t = Probed::new("probe-wait", &body(&image, &env.image));

    let started = std::time::Instant::now();
    let out = t
        .mcpm(&[
            "deploy",
            "sleepy",
            "--wait",
            "--probe",
            "--probe-timeout",
            "2",
            "--timeout",
            "6",
            "--wait-grace",
            "0.5",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(started.elapsed().as_secs() < 40, "bounded by --timeout");
    let report: Value = serde_json::from_str(&stdout(&out)).expect("deploy JSON");
    assert_eq!(report["ok"], json!(false));
    assert_eq!(report["wait"]["not_ready"], json!(["sleepy"]), "{report}");
    let reason = report["wait"]["problems"]["sleepy"]["reason"]
        .as_str()
        .unwrap();
    assert!(reason.contains("MCP probe failed"), "{reason}");
    assert_eq!(report["wait"]["probes"]["sleepy"]["ok"], json!(false));

    let out = t
        .mcpm(&[
            "deploy",
            "time",
            "--wait",
            "--probe",
            "--timeout",
            "90",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).expect("deploy JSON");
    assert_eq!(report["ok"], json!(true), "{report}");
    let probe = &report["wait"]["probes"]["time"];
    assert_eq!(probe["ok"], json!(true), "{probe}");
    assert!(probe["tools"].as_u64().is_some_and(|n| n >= 2), "{probe}");

    // Without --wait, --probe is a usage error.
    let out = t.mcpm(&["deploy", "--probe"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn a_session_server_is_probed_on_a_one_off_instance_that_is_removed_afterwards() {
    let Some(_env) = engine() else { return };
    let Some(image) = time_image() else { return };
    let t = Probed::new(
        "probe-session",
        &format!(
            "services:\n  time:\n    image: {image}\n    stdin_open: true\n    labels:\n      io.mcpm.sharing: session\n"
        ),
    );
    let out = t.mcpm(&["deploy"]).output().unwrap();
    assert!(out.status.success(), "deploy: {}", stderr(&out));
    // A cold Python start on a busy machine: a generous timeout.
    let probes = t.probe("60");
    let time = &probes["time"];
    assert_eq!(time["ok"], json!(true), "{time}");
    assert_eq!(time["via"], json!("one-off"), "{time}");
    assert!(time["tools"].as_u64().is_some_and(|n| n >= 2), "{time}");
    assert_eq!(
        one_offs(&t.project),
        Vec::<String>::new(),
        "the probe's one-off instance is gone"
    );
}
