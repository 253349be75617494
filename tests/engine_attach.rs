//! Engine tests of `engine::attach` (the gateway's `EngineLauncher`) against
//! the real Docker Engine and the real `mcp-server-time` from PyPI
//! (`MCPM_TEST_TIME_IMAGE`); the home-made echo server serves the fast ones.
//! They need `scripts/test-engine.sh`; without it they say they are skipped,
//! and under `CI` they fail.
#[path = "engine/support.rs"]
#[allow(dead_code)] // the helpers other engine tests use
mod support;

use std::pin::Pin;
use std::time::Duration;

use mcpm::engine::attach::EngineLauncher;
use mcpm::engine::connect;
use mcpm::engine::desired::{self, LoadOptions};
use mcpm::gateway::{DEFAULT_IDLE_TIMEOUT, GatewayServer, Launcher, Stdio};
use mcpm::profile::{Sharing, Strategy};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, Lines};

use support::{Project, docker, docker_ok, engine, one_offs, time_image};

/// How long a real server may take to answer (a cold Python start on a busy
/// machine takes seconds).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

fn server(service: &str, strategy: Strategy, sharing: Sharing) -> GatewayServer {
    GatewayServer {
        name: service.to_string(),
        service: service.to_string(),
        strategy,
        sharing,
        idle_timeout: DEFAULT_IDLE_TIMEOUT,
    }
}

async fn launcher(project: &Project) -> EngineLauncher {
    let desired =
        desired::load(&project.file(), &LoadOptions::default()).expect("compose file loads");
    let engine = connect::connect().await.expect("the engine answers");
    EngineLauncher::new(engine, desired)
}

fn deploy(project: &Project) {
    let out = project.mcpm(&["deploy"]).output().expect("mcpm runs");
    assert!(
        out.status.success(),
        "deploy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Newline-delimited JSON-RPC over a server's stdio.
struct Conversation {
    input: Pin<Box<dyn AsyncWrite + Send>>,
    lines: Lines<BufReader<Pin<Box<dyn AsyncRead + Send>>>>,
}

impl Conversation {
    fn new(stdio: Stdio) -> Self {
        Self {
            input: stdio.input,
            lines: BufReader::new(stdio.output).lines(),
        }
    }

    async fn send(&mut self, message: Value) {
        let mut line = message.to_string();
        line.push('\n');
        self.input
            .write_all(line.as_bytes())
            .await
            .expect("write to the server");
        self.input.flush().await.expect("flush to the server");
    }

    /// The answer with `id`, skipping notifications and log lines.
    async fn answer(&mut self, id: u64) -> Value {
        let read = async {
            loop {
                let line = self
                    .lines
                    .next_line()
                    .await
                    .expect("read from the server")
                    .unwrap_or_else(|| panic!("the server's output ended before answer {id}"));
                let Ok(message) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if message["id"] == json!(id) {
                    return message;
                }
            }
        };
        tokio::time::timeout(ANSWER_TIMEOUT, read)
            .await
            .unwrap_or_else(|_| panic!("no answer {id} within {ANSWER_TIMEOUT:?}"))
    }

    /// `initialize` (id 1) and `notifications/initialized`; the server's info.
    async fn initialize(&mut self) -> Value {
        self.send(
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "mcpm-engine-attach-test", "version": "1"}}}),
        )
        .await;
        let answer = self.answer(1).await;
        self.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        answer["result"]["serverInfo"].clone()
    }

    /// `tools/call get_current_time` for `timezone`; the structured result.
    async fn current_time(&mut self, id: u64, timezone: &str) -> Value {
        self.send(
            json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
            "name": "get_current_time", "arguments": {"timezone": timezone}}}),
        )
        .await;
        let answer = self.answer(id).await;
        assert_eq!(answer["result"]["isError"], json!(false), "{answer}");
        answer["result"]["structuredContent"].clone()
    }
}

fn time_service(image: &str, extra: &str) -> String {
    format!("services:\n  time:\n    image: {image}\n    stdin_open: true\n{extra}")
}

#[tokio::test]
async fn the_real_time_server_answers_through_attach_and_a_second_attach_finds_the_same_instance() {
    let Some(_env) = engine() else { return };
    let Some(image) = time_image() else { return };
    let project = Project::new("engine-attach-time");
    project.write(&time_service(&image, ""));
    deploy(&project);
    let launcher = launcher(&project).await;
    let time = server("time", Strategy::AlwaysOn, Sharing::Shared);

    let first = launcher.attach(&time).await.expect("attach");
    let instance = first.instance.clone();
    let id = docker_ok(&[
        "inspect",
        "--format",
        "{{.Id}}",
        &format!("{}-time-1", project.name),
    ]);
    assert!(instance.starts_with(&id), "{instance} names container {id}");
    let mut talk = Conversation::new(first.stdio);
    let info = talk.initialize().await;
    assert_eq!(info["name"], json!("mcp-time"), "{info}");
    let now = talk.current_time(2, "Europe/Paris").await;
    assert_eq!(now["timezone"], json!("Europe/Paris"), "{now}");
    assert!(
        now["datetime"]
            .as_str()
            .is_some_and(|d| d.starts_with("20")),
        "{now}"
    );
    // Detaching (closing our end) must not end the shared server.
    talk.input.shutdown().await.expect("detach");
    drop(talk);

    let second = launcher.attach(&time).await.expect("attach again");
    assert_eq!(
        second.instance, instance,
        "the same run of the same container"
    );
    assert_eq!(
        project.inspect(&format!("{}-time-1", project.name), "{{.State.Running}}"),
        "true"
    );
    // Still initialized from the first attach: a tools call is answered at once.
    let mut talk = Conversation::new(second.stdio);
    let now = talk.current_time(3, "UTC").await;
    assert_eq!(now["timezone"], json!("UTC"), "{now}");
}

#[tokio::test]
async fn an_on_demand_server_is_started_by_attach_and_stopped_by_stop() {
    let Some(_env) = engine() else { return };
    let Some(image) = time_image() else { return };
    let project = Project::new("engine-attach-ondemand");
    // init: the Python server as PID 1 would ignore SIGTERM and cost the grace period.
    project.write(&time_service(
        &image,
        "    init: true\n    profiles: [on-demand]\n",
    ));
    deploy(&project);
    let name = format!("{}-time-1", project.name);
    assert_eq!(project.inspect(&name, "{{.State.Status}}"), "created");
    let launcher = launcher(&project).await;
    let time = server("time", Strategy::OnDemand, Sharing::Shared);

    let attached = launcher.attach(&time).await.expect("attach starts it");
    assert_eq!(project.inspect(&name, "{{.State.Status}}"), "running");
    let started = project.inspect(&name, "{{.State.StartedAt}}");
    assert!(
        attached.instance.ends_with(&started),
        "{} vs {started}",
        attached.instance
    );
    let mut talk = Conversation::new(attached.stdio);
    talk.initialize().await;
    let now = talk.current_time(2, "Asia/Tokyo").await;
    assert_eq!(now["timezone"], json!("Asia/Tokyo"), "{now}");
    drop(talk);

    launcher.stop(&time).await.expect("stop");
    assert_eq!(project.inspect(&name, "{{.State.Status}}"), "exited");
    // stopping what is stopped is fine
    launcher.stop(&time).await.expect("stop again");

    // A second start is a new instance, and the server is fresh (needs initialize).
    let again = launcher.attach(&time).await.expect("attach restarts it");
    assert_ne!(again.instance, attached.instance);
    let mut talk = Conversation::new(again.stdio);
    talk.initialize().await;
    talk.current_time(2, "UTC").await;
    drop(talk);
    launcher.stop(&time).await.expect("stop");
}

#[tokio::test]
async fn a_session_container_is_hardened_like_the_service_and_leaves_nothing() {
    let Some(_env) = engine() else { return };
    let Some(image) = time_image() else { return };
    let project = Project::new("engine-attach-session");
    project.write(&time_service(
        &image,
        "    read_only: true\n    cap_drop: [ALL]\n    security_opt: [no-new-privileges:true]\n    mem_limit: 256m\n    ports: [\"127.0.0.1::8080\"]\n    networks: [mcp-network, second]\n    environment:\n      MCPM_MARK: session-test\n    restart: unless-stopped\nnetworks:\n  mcp-network:\n  second:\n",
    ));
    deploy(&project);
    let launcher = launcher(&project).await;
    let time = server("time", Strategy::AlwaysOn, Sharing::Session);

    let session = launcher.run_session(&time).await.expect("run_session");
    let names = one_offs(&project);
    assert_eq!(names.len(), 1, "{names:?}");
    let name = &names[0];
    let prefix = format!("{}-time-run-", project.name);
    let slug_part = name.strip_prefix(&prefix).expect("compose run's name");
    assert!(
        slug_part.len() == 12 && slug_part.chars().all(|c| c.is_ascii_hexdigit()),
        "{name}"
    );
    let labels =
        |key: &str| project.inspect(name, &format!("{{{{index .Config.Labels \"{key}\"}}}}"));
    assert!(labels("com.docker.compose.slug").starts_with(slug_part));
    assert_eq!(
        labels("io.mcpm.gateway-session"),
        std::process::id().to_string()
    );
    assert_eq!(labels("com.docker.compose.service"), "time");
    assert_eq!(
        project.inspect(name, "{{.HostConfig.RestartPolicy.Name}}"),
        "no"
    );
    assert_eq!(
        project.inspect(name, "{{.HostConfig.ReadonlyRootfs}}"),
        "true"
    );
    assert_eq!(project.inspect(name, "{{.HostConfig.CapDrop}}"), "[ALL]");
    assert_eq!(
        project.inspect(name, "{{.HostConfig.SecurityOpt}}"),
        "[no-new-privileges:true]"
    );
    assert_eq!(project.inspect(name, "{{.HostConfig.Memory}}"), "268435456");
    assert_eq!(
        project.inspect(
            name,
            "{{.Config.StdinOnce}} {{.Config.OpenStdin}} {{.Config.Tty}}"
        ),
        "true true false"
    );
    assert!(
        project
            .inspect(name, "{{.Config.Env}}")
            .contains("MCPM_MARK=session-test")
    );

    let mut talk = Conversation::new(session.stdio);
    assert_eq!(talk.initialize().await["name"], json!("mcp-time"));
    let now = talk.current_time(2, "UTC").await;
    assert_eq!(now["timezone"], json!("UTC"));
    launcher
        .end_session(&session.id)
        .await
        .expect("end_session");
    assert!(one_offs(&project).is_empty(), "{:?}", one_offs(&project));
    // ending it twice is fine
    launcher
        .end_session(&session.id)
        .await
        .expect("end_session again");
    // the service's own container was never touched
    assert_eq!(
        project.inspect(&format!("{}-time-1", project.name), "{{.State.Running}}"),
        "true"
    );
}

#[tokio::test]
async fn closing_a_session_stdin_ends_the_server_and_its_container() {
    let Some(env) = engine() else { return };
    let project = Project::new("engine-attach-eof");
    project.write(&format!(
        "services:\n  echo:\n    image: {}\n    stdin_open: true\n",
        env.echo_image
    ));
    deploy(&project);
    let launcher = launcher(&project).await;
    let echo = server("echo", Strategy::AlwaysOn, Sharing::Session);
    let session = launcher.run_session(&echo).await.expect("run_session");
    let mut talk = Conversation::new(session.stdio);
    talk.send(json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .await;
    assert_eq!(talk.answer(1).await["result"], json!({}));
    // EOF on stdin: the echo server exits, and the engine removes its container.
    talk.input.shutdown().await.expect("close stdin");
    let read_to_end = async { while let Ok(Some(_)) = talk.lines.next_line().await {} };
    tokio::time::timeout(Duration::from_secs(30), read_to_end)
        .await
        .expect("the server's output ends after its stdin closed");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !one_offs(&project).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "still there: {:?}",
            one_offs(&project)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    launcher
        .end_session(&session.id)
        .await
        .expect("end_session after it is gone");

    // A gateway that dies drops the attach connection without a clean close:
    // the engine closes the server's stdin all the same, and nothing is left.
    let session = launcher.run_session(&echo).await.expect("run_session");
    let mut talk = Conversation::new(session.stdio);
    talk.send(json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}))
        .await;
    assert_eq!(talk.answer(2).await["result"], json!({}));
    assert_eq!(one_offs(&project).len(), 1);
    drop(talk);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !one_offs(&project).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "still there: {:?}",
            one_offs(&project)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn the_echo_server_through_attach_and_the_errors_that_say_what_to_do() {
    let Some(env) = engine() else { return };
    let project = Project::new("engine-attach-echo");
    project.write(&format!(
        "services:\n  echo:\n    image: {image}\n    stdin_open: true\n  mute:\n    image: {image}\n  later:\n    image: {image}\n    stdin_open: true\n",
        image = env.echo_image
    ));
    // deploy only `echo` and `mute`: `later` stays undeployed
    let out = project
        .mcpm(&["deploy", "echo", "mute"])
        .output()
        .expect("mcpm runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let launcher = launcher(&project).await;

    let attached = launcher
        .attach(&server("echo", Strategy::AlwaysOn, Sharing::Shared))
        .await
        .expect("attach");
    let mut talk = Conversation::new(attached.stdio);
    talk.send(json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": "über\tline"}}}))
        .await;
    assert_eq!(
        talk.answer(7).await["result"]["content"][0]["text"],
        json!("über\tline")
    );

    let err = launcher
        .attach(&server("later", Strategy::AlwaysOn, Sharing::Shared))
        .await
        .err()
        .expect("an undeployed service is an error");
    assert!(
        err.message.contains(&format!("{}-later-1", project.name)),
        "{}",
        err.message
    );
    assert!(
        err.hint
            .as_deref()
            .unwrap_or("")
            .contains("mcpm docker deploy"),
        "{:?}",
        err.hint
    );

    let err = launcher
        .attach(&server("mute", Strategy::AlwaysOn, Sharing::Shared))
        .await
        .err()
        .expect("a container without stdin is an error");
    assert!(err.message.contains("stdin"), "{}", err.message);
    assert!(
        err.hint
            .as_deref()
            .unwrap_or("")
            .contains("stdin_open: true"),
        "{:?}",
        err.hint
    );

    let err = launcher
        .run_session(&server("nope", Strategy::AlwaysOn, Sharing::Session))
        .await
        .err()
        .expect("an unknown service is an error");
    assert!(err.message.contains("no service `nope`"), "{}", err.message);
    assert!(
        err.hint.as_deref().unwrap_or("").contains("echo"),
        "{:?}",
        err.hint
    );
}

/// Not a test of its own: `reap_orphans_…` runs this test binary with
/// `MCPM_TEST_FAKE_GATEWAY=1` as a live "gateway" (a live process of the same
/// executable) for the time it needs.
#[test]
fn fake_gateway() {
    if std::env::var_os("MCPM_TEST_FAKE_GATEWAY").is_some() {
        std::thread::sleep(Duration::from_secs(120));
    }
}

#[tokio::test]
async fn reap_orphans_removes_the_one_offs_of_dead_gateways_only() {
    let Some(env) = engine() else { return };
    let project = Project::new("engine-attach-reap");
    project.write(&format!(
        "services:\n  echo:\n    image: {}\n    stdin_open: true\n",
        env.echo_image
    ));
    deploy(&project);
    let launcher = launcher(&project).await;

    // A dead gateway: a process that has exited.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = gone.id();
    gone.wait().unwrap();
    // A live gateway: this very executable, kept running.
    let mut live = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["fake_gateway", "--exact", "--nocapture"])
        .env("MCPM_TEST_FAKE_GATEWAY", "1")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let live_pid = live.id();

    let one_off = |suffix: &str, pid: u32, project_name: &str| {
        let name = format!("{project_name}-echo-run-{suffix}");
        docker_ok(&[
            "create",
            "--name",
            &name,
            "--label",
            &format!("com.docker.compose.project={project_name}"),
            "--label",
            "com.docker.compose.oneoff=True",
            "--label",
            &format!("io.mcpm.gateway-session={pid}"),
            &env.echo_image,
        ]);
        name
    };
    let dead = one_off("00000000dead", dead_pid, &project.name);
    let alive = one_off("00000000a11e", live_pid, &project.name);
    // Our own pid on a container this launcher did not make: an earlier gateway's.
    let reused = one_off("0000000000ee", std::process::id(), &project.name);
    // Another project's orphan is not ours to reap.
    let other = Project::new("engine-attach-reap-other");
    let foreign = one_off("00000000f0e1", dead_pid, &other.name);
    // This launcher's own live session stays.
    let session = launcher
        .run_session(&server("echo", Strategy::AlwaysOn, Sharing::Session))
        .await
        .expect("run_session");

    let reaped = launcher.reap_orphans().await;
    live.kill().ok();
    live.wait().ok();
    assert_eq!(reaped.expect("reap_orphans"), 2);
    let mut left = one_offs(&project);
    left.sort();
    let session_name = docker_ok(&["inspect", "--format", "{{.Name}}", &session.id]);
    let mut expected = vec![
        alive.clone(),
        session_name.trim_start_matches('/').to_string(),
    ];
    expected.sort();
    assert_eq!(left, expected, "removed: {dead}, {reused}");
    assert!(
        docker(&["inspect", &foreign]).status.success(),
        "{foreign} was left alone"
    );

    // Once the live gateway is gone, its container is an orphan too.
    assert_eq!(launcher.reap_orphans().await.expect("reap again"), 1);
    launcher
        .end_session(&session.id)
        .await
        .expect("end_session");
    assert!(one_offs(&project).is_empty());
}
