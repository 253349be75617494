//! Engines as users have them, against real engines: the machine's own and
//! the TLS engine `scripts/test-engine.sh` starts in its own network
//! namespace (`MCPM_TEST_TLS_*`). Deploy and status through DOCKER_HOST +
//! DOCKER_TLS_VERIFY + DOCKER_CERT_PATH and through a context, a wrong CA,
//! two contexts picked by currentContext and DOCKER_CONTEXT (proved by the
//! engine ID that answers), `-H` over them all, `mcpm docker engine --json`,
//! ssh://, and the gateway child choosing the same engine. The machine's
//! engine and docker0 must be as they were.
#[path = "engine/support.rs"]
#[allow(dead_code)]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use assert_cmd::cargo::CommandCargoExt as _;
use serde_json::Value;
use support::{docker_ok, engine, sleeper, stderr, stdout, test_var};

/// The TLS engine from test-engine.env.
struct Tls {
    host: String,
    certs: PathBuf,
    wrong_certs: PathBuf,
    socket: PathBuf,
    image: String,
}

/// The TLS engine, or `None` after saying why; under `CI` its absence fails.
fn tls_engine() -> Option<Tls> {
    let env = engine()?;
    let tls = (|| {
        let tls = Tls {
            host: test_var("MCPM_TEST_TLS_HOST")?,
            certs: test_var("MCPM_TEST_TLS_CERT_PATH")?.into(),
            wrong_certs: test_var("MCPM_TEST_TLS_WRONG_CERT_PATH")?.into(),
            socket: test_var("MCPM_TEST_TLS_SOCKET")?.into(),
            image: env.image.clone(),
        };
        let up = Command::new("docker")
            .arg("-H")
            .arg(format!("unix://{}", tls.socket.display()))
            .args(["version", "--format", "{{.Server.Version}}"])
            .output()
            .is_ok_and(|out| out.status.success());
        up.then_some(tls)
    })();
    if tls.is_none() {
        let why = "the TLS engine does not answer (run scripts/test-engine.sh)";
        if std::env::var_os("CI").is_some() {
            panic!("engine test cannot run in CI: {why}");
        }
        eprintln!("skipped: {why}");
    }
    tls
}

impl Tls {
    /// `docker -H unix://<its socket> ARGS` stdout, trimmed.
    fn docker(&self, args: &[&str]) -> String {
        let out = Command::new("docker")
            .arg("-H")
            .arg(format!("unix://{}", self.socket.display()))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn id(&self) -> String {
        self.docker(&["info", "--format", "{{.ID}}"])
    }
}

/// What must stay as it was: docker0's addresses and the main engine's ID.
fn machine_state() -> String {
    let docker0 = Command::new("ip")
        .args(["-br", "addr", "show", "docker0"])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .unwrap_or_default();
    let docker0: Vec<&str> = docker0
        .split_whitespace()
        .filter(|w| *w != "UP" && *w != "DOWN")
        .collect();
    format!(
        "{} | {}",
        docker0.join(" "),
        docker_ok(&["info", "--format", "{{.ID}}"])
    )
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A compose project for the TLS engine in a temp dir with its own docker
/// config and mcpm config; its containers and networks on the TLS engine
/// are removed on drop, however the test ends.
struct TlsProject<'a> {
    tls: &'a Tls,
    name: String,
    dir: tempfile::TempDir,
}

impl<'a> TlsProject<'a> {
    fn new(tls: &'a Tls, what: &str) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let project = Self {
            tls,
            name: format!("mcpm-test-eng-{what}-{}-{n}", std::process::id()),
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(project.docker_config()).unwrap();
        std::fs::create_dir_all(project.dir.path().join("mcpm")).unwrap();
        std::fs::write(
            project.file(),
            format!(
                "name: {}\nservices:\n  sleeper:\n{}",
                project.name,
                sleeper(&tls.image, "")
            ),
        )
        .unwrap();
        project
    }

    fn file(&self) -> PathBuf {
        self.dir.path().join("compose.yaml")
    }

    fn docker_config(&self) -> PathBuf {
        self.dir.path().join("docker-config")
    }

    /// `mcpm ARGS` with nothing from the caller's engine environment: the
    /// test adds what it means to use.
    fn mcpm(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("mcpm").expect("the mcpm binary");
        cmd.current_dir(self.dir.path())
            .env("MCPM_CONFIG_DIR", self.dir.path().join("mcpm"))
            .env("DOCKER_CONFIG", self.docker_config())
            .env("NO_COLOR", "1")
            .env_remove("CI")
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_TLS_VERIFY")
            .env_remove("DOCKER_CERT_PATH")
            .env_remove("COMPOSE_PROJECT_NAME")
            .args(args);
        cmd
    }

    /// The TLS environment of the default context.
    fn tls_env(&self, cmd: &mut Command, certs: &Path) {
        cmd.env("DOCKER_HOST", &self.tls.host)
            .env("DOCKER_TLS_VERIFY", "1")
            .env("DOCKER_CERT_PATH", certs);
    }

    /// The project's container names on the TLS engine.
    fn containers_on_tls(&self) -> Vec<String> {
        let filter = format!("label=com.docker.compose.project={}", self.name);
        self.tls
            .docker(&["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"])
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The project's containers on the machine's engine (there must be none).
    fn containers_on_main(&self) -> String {
        let filter = format!("label=com.docker.compose.project={}", self.name);
        docker_ok(&["ps", "-aq", "--filter", &filter])
    }

    /// A stored context as `docker context create` writes one.
    fn write_context(&self, name: &str, host: &str, tls_from: Option<&Path>) {
        write_context(&self.docker_config(), name, host, tls_from);
    }

    fn set_current_context(&self, name: &str) {
        std::fs::write(
            self.docker_config().join("config.json"),
            serde_json::json!({"auths": {}, "currentContext": name}).to_string(),
        )
        .unwrap();
    }
}

impl Drop for TlsProject<'_> {
    fn drop(&mut self) {
        let filter = format!("label=com.docker.compose.project={}", self.name);
        let run = |args: &[&str]| {
            Command::new("docker")
                .arg("-H")
                .arg(format!("unix://{}", self.tls.socket.display()))
                .args(args)
                .output()
        };
        for (list, remove) in [
            (
                vec!["ps", "-aq", "--filter", &filter],
                vec!["rm", "-f", "-v"],
            ),
            (
                vec!["network", "ls", "-q", "--filter", &filter],
                vec!["network", "rm"],
            ),
        ] {
            let Ok(out) = run(&list) else { continue };
            let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect();
            if !ids.is_empty() {
                let mut args = remove.clone();
                args.extend(ids.iter().map(String::as_str));
                let _ = run(&args);
            }
        }
        // Nothing of it may have reached the machine's engine either.
        let out = Command::new("docker")
            .args(["ps", "-aq", "--filter", &filter])
            .output();
        if let Ok(out) = out {
            for id in String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| !l.is_empty())
            {
                let _ = Command::new("docker").args(["rm", "-f", "-v", id]).output();
            }
        }
    }
}

/// Writes `contexts/meta/<sha256>/meta.json` (and the TLS files) the way
/// `docker context create NAME --docker host=…,ca=…,cert=…,key=…` does.
fn write_context(config: &Path, name: &str, host: &str, tls_from: Option<&Path>) {
    use sha2::Digest as _;
    let id: String = sha2::Sha256::digest(name.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let meta = config.join("contexts/meta").join(&id);
    std::fs::create_dir_all(&meta).unwrap();
    let json = serde_json::json!({
        "Name": name,
        "Metadata": {},
        "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": false}},
    });
    std::fs::write(meta.join("meta.json"), json.to_string()).unwrap();
    if let Some(from) = tls_from {
        let dir = config.join("contexts/tls").join(&id).join("docker");
        std::fs::create_dir_all(&dir).unwrap();
        for file in ["ca.pem", "cert.pem", "key.pem"] {
            std::fs::copy(from.join(file), dir.join(file)).unwrap();
        }
    }
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("mcpm runs")
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("not JSON ({err}): {}\n{}", stdout(output), stderr(output)))
}

/// The ID of the engine `mcpm docker engine --json` reached with `cmd`.
fn engine_id(mut cmd: Command) -> String {
    let out = run(&mut cmd);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    json(&out)["server"]["id"].as_str().unwrap().to_string()
}

#[test]
fn deploy_and_status_through_docker_host_with_tls() {
    let Some(tls) = tls_engine() else { return };
    let before = machine_state();
    let project = TlsProject::new(&tls, "env");
    let file = project.file();
    let file = file.to_str().unwrap();

    let mut deploy = project.mcpm(&["docker", "deploy", "-f", file, "--wait", "--timeout", "60"]);
    project.tls_env(&mut deploy, &tls.certs);
    let out = run(&mut deploy);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let containers = project.containers_on_tls();
    assert_eq!(containers.len(), 1, "{containers:?}");
    assert!(
        project.containers_on_main().is_empty(),
        "deployed to the machine's engine"
    );

    let mut status = project.mcpm(&["docker", "status", "-f", file, "--json"]);
    project.tls_env(&mut status, &tls.certs);
    let out = run(&mut status);
    let report = json(&out);
    assert_eq!(report["engine"]["host"], tls.host.as_str());
    assert_eq!(report["engine"]["reachable"], true, "{report}");
    assert_eq!(
        report["servers"][0]["container_state"], "running",
        "{report}"
    );

    // A second deploy over TLS finds everything current.
    let mut again = project.mcpm(&["docker", "deploy", "-f", file, "--json"]);
    project.tls_env(&mut again, &tls.certs);
    let out = run(&mut again);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(project.containers_on_tls(), containers);

    let mut down = project.mcpm(&["docker", "down", "-f", file]);
    project.tls_env(&mut down, &tls.certs);
    assert_eq!(run(&mut down).status.code(), Some(0));
    assert!(project.containers_on_tls().is_empty());
    assert_eq!(
        machine_state(),
        before,
        "docker0 or the machine's engine changed"
    );
}

#[test]
fn deploy_and_status_through_a_context_with_tls_data() {
    let Some(tls) = tls_engine() else { return };
    let project = TlsProject::new(&tls, "ctx");
    project.write_context("dind", &tls.host, Some(&tls.certs));
    let file = project.file();
    let file = file.to_str().unwrap();

    let mut deploy = project.mcpm(&["docker", "deploy", "-f", file]);
    deploy.env("DOCKER_CONTEXT", "dind");
    let out = run(&mut deploy);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(project.containers_on_tls().len(), 1);
    assert!(project.containers_on_main().is_empty());

    let mut status = project.mcpm(&[
        "--context",
        "dind",
        "docker",
        "status",
        "-f",
        file,
        "--json",
    ]);
    let report = json(&run(&mut status));
    assert_eq!(report["engine"]["host"], tls.host.as_str());
    assert_eq!(
        report["servers"][0]["container_state"], "running",
        "{report}"
    );
}

#[test]
fn a_context_made_by_the_docker_cli_reaches_the_same_engine() {
    let Some(tls) = tls_engine() else { return };
    let project = TlsProject::new(&tls, "cli");
    let spec = format!(
        "host={},ca={},cert={},key={}",
        tls.host,
        tls.certs.join("ca.pem").display(),
        tls.certs.join("cert.pem").display(),
        tls.certs.join("key.pem").display()
    );
    let created = Command::new("docker")
        .env("DOCKER_CONFIG", project.docker_config())
        .args(["context", "create", "made-by-docker", "--docker", &spec])
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", stderr(&created));
    let mut cmd = project.mcpm(&["docker", "engine", "--json"]);
    cmd.env("DOCKER_CONTEXT", "made-by-docker");
    assert_eq!(engine_id(cmd), tls.id());
}

#[test]
fn a_wrong_ca_is_a_clear_error_naming_the_endpoint() {
    let Some(tls) = tls_engine() else { return };
    let project = TlsProject::new(&tls, "wrongca");
    let file = project.file();
    let mut deploy = project.mcpm(&["docker", "deploy", "-f", file.to_str().unwrap()]);
    project.tls_env(&mut deploy, &tls.wrong_certs);
    let out = run(&mut deploy);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "cannot reach the Docker Engine at {} (set by DOCKER_HOST)",
            tls.host
        )),
        "{err}"
    );
    assert!(err.contains("certificate"), "{err}");
    assert!(
        err.contains(&tls.wrong_certs.display().to_string()),
        "the CA's dir is not named: {err}"
    );
    assert!(project.containers_on_tls().is_empty());

    // Files that are not there: named, with what asked for them.
    let empty = project.dir.path().join("no-certs");
    let mut deploy = project.mcpm(&["docker", "deploy", "-f", file.to_str().unwrap()]);
    project.tls_env(&mut deploy, &empty);
    let out = run(&mut deploy);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&empty.join("ca.pem").display().to_string()),
        "{err}"
    );
    assert!(err.contains("DOCKER_CERT_PATH"), "{err}");
}

#[test]
fn current_context_docker_context_and_host_each_pick_their_engine() {
    let Some(tls) = tls_engine() else { return };
    let before = machine_state();
    let project = TlsProject::new(&tls, "two");
    // The machine's socket under a rootless-style path, through a symlink.
    let run_dir = project.dir.path().join("run/user/1000");
    std::fs::create_dir_all(&run_dir).unwrap();
    let socket = run_dir.join("docker.sock");
    std::os::unix::fs::symlink("/var/run/docker.sock", &socket).unwrap();
    let local = format!("unix://{}", socket.display());
    project.write_context("local", &local, None);
    project.write_context("tls", &tls.host, Some(&tls.certs));
    let main_id = docker_ok(&["info", "--format", "{{.ID}}"]);
    let tls_id = tls.id();
    assert_ne!(main_id, tls_id, "the two engines must be told apart by ID");

    project.set_current_context("local");
    assert_eq!(
        engine_id(project.mcpm(&["docker", "engine", "--json"])),
        main_id
    );
    let mut cmd = project.mcpm(&["docker", "engine", "--json"]);
    cmd.env("DOCKER_CONTEXT", "tls");
    assert_eq!(
        engine_id(cmd),
        tls_id,
        "DOCKER_CONTEXT beats currentContext"
    );

    project.set_current_context("tls");
    let out = run(&mut project.mcpm(&["docker", "engine", "--json"]));
    let report = json(&out);
    assert_eq!(report["server"]["id"], tls_id.as_str());
    assert_eq!(report["source"]["kind"], "context");
    assert_eq!(report["source"]["context"], "tls");
    assert_eq!(report["tls"]["enabled"], true);
    let mut cmd = project.mcpm(&["docker", "engine", "--json"]);
    cmd.env("DOCKER_CONTEXT", "local");
    assert_eq!(engine_id(cmd), main_id);

    // -H beats them all: the TLS engine over its unix socket, no TLS.
    let mut cmd = project.mcpm(&[
        "-H",
        &format!("unix://{}", tls.socket.display()),
        "docker",
        "engine",
        "--json",
    ]);
    cmd.env("DOCKER_CONTEXT", "local")
        .env("DOCKER_HOST", &local);
    assert_eq!(engine_id(cmd), tls_id);
    // --context beats DOCKER_HOST, as in the docker CLI.
    let mut cmd = project.mcpm(&["docker", "engine", "--json", "--context", "local"]);
    cmd.env("DOCKER_HOST", &tls.host);
    assert_eq!(engine_id(cmd), main_id);
    assert_eq!(machine_state(), before);
}

#[test]
fn engine_json_reports_the_choice_tls_and_server() {
    let Some(tls) = tls_engine() else { return };
    let project = TlsProject::new(&tls, "json");
    let mut cmd = project.mcpm(&["docker", "engine", "--json"]);
    project.tls_env(&mut cmd, &tls.certs);
    cmd.env("DOCKER_CONTEXT", "ignored-when-DOCKER_HOST-is-set");
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["host"], tls.host.as_str());
    assert_eq!(report["source"]["kind"], "DOCKER_HOST");
    assert_eq!(report["source"]["context"], "default");
    assert_eq!(report["tls"]["enabled"], true);
    assert_eq!(
        report["tls"]["cert_dir"],
        tls.certs.display().to_string().as_str()
    );
    assert_eq!(report["reachable"], true);
    let server_version = tls.docker(&["version", "--format", "{{.Server.Version}}"]);
    assert_eq!(report["server"]["version"], server_version.as_str());
    assert_eq!(report["server"]["os"], "linux");
    assert!(report["api_version"].as_str().unwrap().starts_with("1."));
    let chosen: Vec<&str> = report["chain"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|step| step["chosen"] == true)
        .map(|step| step["source"].as_str().unwrap())
        .collect();
    assert_eq!(chosen, ["DOCKER_HOST"]);
    let context = report["chain"]
        .as_array()
        .unwrap()
        .iter()
        .find(|step| step["source"] == "DOCKER_CONTEXT")
        .unwrap();
    assert_eq!(context["value"], "ignored-when-DOCKER_HOST-is-set");

    // Unreachable: exit 1, the choice still printed.
    let mut cmd = project.mcpm(&[
        "docker",
        "engine",
        "--json",
        "-H",
        "unix:///nonexistent/docker.sock",
    ]);
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    assert_eq!(report["reachable"], false);
    assert_eq!(report["source"]["kind"], "flag");
    assert!(
        report["error"]
            .as_str()
            .unwrap()
            .contains("(set by --host)"),
        "{report}"
    );
}

#[test]
fn ssh_and_missing_contexts_are_usage_errors() {
    let Some(tls) = tls_engine() else { return };
    let project = TlsProject::new(&tls, "ssh");
    let mut cmd = project.mcpm(&["docker", "status", "-p", &project.name]);
    cmd.env("DOCKER_HOST", "ssh://me@build-box");
    let out = run(&mut cmd);
    let err = stderr(&out);
    assert!(
        err.contains("ssh://me@build-box (set by DOCKER_HOST)"),
        "{err}"
    );
    assert!(
        err.contains("does not speak to engines over ssh://"),
        "{err}"
    );
    let mut cmd = project.mcpm(&["docker", "engine"]);
    cmd.env("DOCKER_HOST", "ssh://me@build-box");
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("hint: forward the remote socket"),
        "{}",
        stderr(&out)
    );

    project.set_current_context("gone");
    let out = run(&mut project.mcpm(&["docker", "engine"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("context `gone` (from currentContext"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_detached_gateway_uses_the_engine_the_flags_chose() {
    let Some(tls) = tls_engine() else { return };
    let project = TlsProject::new(&tls, "gw");
    std::fs::write(
        project.file(),
        format!(
            "name: {}\nservices:\n  echo:\n    image: {}\n    stdin_open: true\n",
            project.name, tls.image
        ),
    )
    .unwrap();
    // The current context reaches the machine's engine; --context names one
    // that does not answer. A gateway that ignored the flag would start.
    project.write_context("local", "unix:///var/run/docker.sock", None);
    project.write_context("nowhere", "unix:///nonexistent/mcpm-test.sock", None);
    project.set_current_context("local");
    let file = project.file();
    let mut cmd = project.mcpm(&[
        "--context",
        "nowhere",
        "docker",
        "gateway",
        "-f",
        file.to_str().unwrap(),
        "--detach",
    ]);
    let out = run(&mut cmd);
    let stopped =
        run(&mut project.mcpm(&["docker", "gateway", "stop", "-f", file.to_str().unwrap()]));
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}\n{}",
        stdout(&out),
        stderr(&stopped)
    );
    let err = stderr(&out);
    assert!(err.contains("exited at start"), "{err}");
    assert!(err.contains("context `nowhere` from --context"), "{err}");

    // `docker connect`, which MCP clients launch, starts the gateway with
    // its own command line: the flag must reach that one too.
    let mut connect = project.mcpm(&[
        "--context",
        "nowhere",
        "docker",
        "connect",
        "echo",
        "-f",
        file.to_str().unwrap(),
    ]);
    connect.stdin(std::process::Stdio::piped());
    let mut child = connect
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(
            stdin,
            r#"{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"2025-06-18","capabilities":{{}},"clientInfo":{{"name":"t","version":"1"}}}}}}"#
        )
        .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let _ = run(&mut project.mcpm(&["docker", "gateway", "stop", "-f", file.to_str().unwrap()]));
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert!(said.contains("context `nowhere` from --context"), "{said}");
}

/// Forwards each TCP connection on 127.0.0.1 to the machine engine's unix
/// socket: the engine, reached over plain `tcp://` as with `dockerd -H
/// tcp://…` (the TLS engine cannot serve this: `--tlsverify` covers all its
/// TCP listeners). The forwarder only copies bytes; what answers is dockerd.
fn tcp_forwarder_to_the_machine_engine() -> u16 {
    use std::io::copy;
    use std::net::{Shutdown, TcpListener};
    use std::os::unix::net::UnixStream;
    let socket = std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|host| host.strip_prefix("unix://").map(str::to_string))
        .unwrap_or_else(|| "/var/run/docker.sock".into());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(engine) = UnixStream::connect(&socket) else {
                continue;
            };
            let (mut c_in, mut e_out) = (client.try_clone().unwrap(), engine.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = copy(&mut c_in, &mut e_out);
                let _ = e_out.shutdown(Shutdown::Write);
            });
            let (mut e_in, mut c_out) = (engine, client);
            std::thread::spawn(move || {
                let _ = copy(&mut e_in, &mut c_out);
                let _ = c_out.shutdown(Shutdown::Write);
            });
        }
    });
    port
}

#[test]
fn plain_tcp_reaches_the_engine_for_engine_deploy_and_status() {
    let Some(env) = engine() else { return };
    let port = tcp_forwarder_to_the_machine_engine();
    let host = format!("tcp://127.0.0.1:{port}");
    let project = support::Project::new("eng-tcp");
    project.write(&format!(
        "services:\n  sleeper:\n{}",
        sleeper(&env.image, "")
    ));

    let mut cmd = Command::cargo_bin("mcpm").unwrap();
    cmd.args(["docker", "engine", "--json"])
        .env("DOCKER_HOST", &host)
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("DOCKER_CONTEXT")
        .env("DOCKER_CONFIG", project.dir.path());
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["host"], host.as_str(), "{report}");
    assert_eq!(report["tls"]["enabled"], false, "{report}");
    assert_eq!(
        report["server"]["id"].as_str().unwrap(),
        docker_ok(&["info", "--format", "{{.ID}}"]),
        "{report}"
    );

    let deploy = project
        .mcpm(&["deploy", "--wait", "--timeout", "60"])
        .env("DOCKER_HOST", &host)
        .env("DOCKER_CONFIG", project.dir.path())
        .output()
        .unwrap();
    assert_eq!(deploy.status.code(), Some(0), "{}", stderr(&deploy));
    assert_eq!(project.containers().len(), 1);
    let status = project
        .mcpm(&["status", "--json"])
        .env("DOCKER_HOST", &host)
        .env("DOCKER_CONFIG", project.dir.path())
        .output()
        .unwrap();
    let report = json(&status);
    assert_eq!(report["engine"]["host"], host.as_str(), "{report}");
    assert_eq!(
        report["servers"][0]["container_state"], "running",
        "{report}"
    );
}
