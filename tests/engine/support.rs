//! Helpers for the engine tests: finding the engine and the test images,
//! a project per test in its own temp dir, and a guard that removes what the
//! project created however the test ends.
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The images and registry `scripts/test-engine.sh` prepares.
pub struct TestEnv {
    pub image: String,
    pub echo_image: String,
    pub pull_image: String,
}

/// The test environment, or `None` (after saying why) when there is no
/// engine. Under `CI` a missing engine fails the test instead.
pub fn engine() -> Option<TestEnv> {
    let reachable = Command::new("docker")
        .args(["version", "--format", "{{.Server.APIVersion}}"])
        .output()
        .is_ok_and(|out| out.status.success());
    let var = peers::test_var;
    let images_ready = var("MCPM_TEST_ENGINE").as_deref() == Some("1");
    if reachable && images_ready {
        return Some(TestEnv {
            image: var("MCPM_TEST_IMAGE").unwrap_or_else(|| "mcpm-test/busybox:latest".into()),
            echo_image: var("MCPM_TEST_ECHO_IMAGE")
                .unwrap_or_else(|| "mcpm-test/mcp-echo:latest".into()),
            pull_image: var("MCPM_TEST_PULL_IMAGE")
                .unwrap_or_else(|| "127.0.0.1:5000/mcpm-test/busybox:latest".into()),
        });
    }
    let why = if reachable {
        "the test images are not built (run scripts/test-engine.sh)"
    } else {
        "no Docker Engine answers (run scripts/test-engine.sh)"
    };
    if std::env::var_os("CI").is_some() {
        panic!("engine test cannot run in CI: {why}");
    }
    eprintln!("skipped: {why}");
    None
}

/// Runs `docker ARGS`, returning its output.
pub fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .expect("the docker CLI runs")
}

/// `docker ARGS` stdout, trimmed; panics when docker fails.
pub fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// One compose project in a temp dir, removed from the engine on drop.
pub struct Project {
    pub name: String,
    pub dir: tempfile::TempDir,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl Project {
    /// A project named `mcpm-test-<what>-<pid>-<n>`: unique per test and run,
    /// and caught by `scripts/test-engine.sh --cleanup` if a run is killed.
    pub fn new(what: &str) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        Self {
            name: format!("mcpm-test-{what}-{}-{n}", std::process::id()),
            dir: tempfile::tempdir().expect("a temp dir"),
        }
    }

    pub fn file(&self) -> PathBuf {
        self.dir.path().join("compose.yaml")
    }

    /// Writes the compose file: `name:` and then `body` (services etc.).
    pub fn write(&self, body: &str) {
        std::fs::write(self.file(), format!("name: {}\n{body}", self.name))
            .expect("write compose file");
    }

    /// `mcpm docker <args> -f <file>` run in the project dir.
    pub fn mcpm(&self, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::cargo_bin("mcpm").expect("the mcpm binary");
        cmd.current_dir(self.dir.path())
            .env_remove("DOCKER_HOST")
            .env_remove("COMPOSE_PROJECT_NAME")
            .env("NO_COLOR", "1")
            .arg("docker")
            .args(args)
            .arg("--compose-file")
            .arg(self.file());
        cmd
    }

    /// Container name → id of the project's containers.
    pub fn containers(&self) -> BTreeMap<String, String> {
        self.list(&["ps", "-a", "--format", "{{.Names}} {{.ID}}"])
            .into_iter()
            .filter_map(|line| {
                line.split_once(' ')
                    .map(|(n, i)| (n.to_string(), i.to_string()))
            })
            .collect()
    }

    /// `docker inspect --format FORMAT NAME`.
    pub fn inspect(&self, name: &str, format: &str) -> String {
        docker_ok(&["inspect", "--format", format, name])
    }

    /// Runs a `docker … ls`-style command filtered to this project's label.
    fn list(&self, args: &[&str]) -> Vec<String> {
        let filter = format!("label=com.docker.compose.project={}", self.name);
        let mut full: Vec<&str> = args.to_vec();
        full.extend(["--filter", &filter]);
        docker_ok(&full)
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }

    pub fn networks(&self) -> Vec<String> {
        self.list(&["network", "ls", "--format", "{{.Name}}"])
    }

    pub fn volumes(&self) -> Vec<String> {
        self.list(&["volume", "ls", "--format", "{{.Name}}"])
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let filter = format!("label=com.docker.compose.project={}", self.name);
        let ids = |args: &[&str]| -> Vec<String> {
            let out = docker(args);
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        };
        let containers = ids(&["ps", "-aq", "--filter", &filter]);
        if !containers.is_empty() {
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(containers.iter().map(String::as_str));
            docker(&args);
        }
        let networks = ids(&["network", "ls", "-q", "--filter", &filter]);
        if !networks.is_empty() {
            let mut args = vec!["network", "rm"];
            args.extend(networks.iter().map(String::as_str));
            docker(&args);
        }
        let volumes = ids(&["volume", "ls", "-q", "--filter", &filter]);
        if !volumes.is_empty() {
            let mut args = vec!["volume", "rm", "-f"];
            args.extend(volumes.iter().map(String::as_str));
            docker(&args);
        }
    }
}

/// The stdout of a finished command as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The stderr of a finished command as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Attaches to `container`'s stdio, sends `lines`, and reads `answers` lines.
pub async fn speak(container: &str, lines: &[&str], answers: usize) -> Vec<String> {
    use bollard::container::LogOutput;
    use bollard::query_parameters::AttachContainerOptions;
    use futures_util::StreamExt;
    use tokio::io::AsyncWriteExt;

    let docker = bollard::Docker::connect_with_local_defaults()
        .unwrap()
        .negotiate_version()
        .await
        .unwrap();
    let options = AttachContainerOptions {
        stdin: true,
        stdout: true,
        stderr: true,
        stream: true,
        ..Default::default()
    };
    let mut attached = docker
        .attach_container(container, Some(options))
        .await
        .unwrap();
    for line in lines {
        attached
            .input
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
    }
    attached.input.flush().await.unwrap();
    let mut buffer = String::new();
    let read = async {
        while buffer.lines().filter(|l| l.contains("\"id\"")).count() < answers {
            match attached.output.next().await {
                Some(Ok(LogOutput::StdOut { message } | LogOutput::Console { message })) => {
                    buffer.push_str(&String::from_utf8_lossy(&message));
                }
                Some(Ok(_)) => {}
                Some(Err(err)) => panic!("attach failed: {err}"),
                None => break,
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), read)
        .await
        .expect("the server answers within 20 s");
    buffer
        .lines()
        .filter(|l| l.contains("\"id\""))
        .map(str::to_string)
        .collect()
}

/// A service that sleeps; `init` makes it stop at once on SIGTERM (a bare
/// `sleep` as PID 1 ignores it and costs a 10 s stop timeout).
pub fn sleeper(image: &str, extra: &str) -> String {
    format!("    image: {image}\n    command: [sleep, \"3600\"]\n    init: true\n{extra}")
}

#[path = "../common/peers.rs"]
mod peers;
#[allow(unused_imports)] // not every test binary that includes this file uses it
pub use peers::test_var;

/// The image with the real `mcp-server-time` (`MCPM_TEST_TIME_IMAGE`), or
/// `None` (after saying why) when it is not built; under `CI` that fails.
#[allow(dead_code)] // not every test binary that includes this file uses it
pub fn time_image() -> Option<String> {
    let image = test_var("MCPM_TEST_TIME_IMAGE").filter(|image| {
        Command::new("docker")
            .args(["image", "inspect", "--format", "{{.Id}}", image])
            .output()
            .is_ok_and(|out| out.status.success())
    });
    if image.is_none() {
        let why =
            "the image with the real mcp-server-time is not built (run scripts/test-engine.sh)";
        if std::env::var_os("CI").is_some() {
            panic!("engine test cannot run in CI: {why}");
        }
        eprintln!("skipped: {why}");
    }
    image
}

/// The project's one-off containers (compose `run` ones), by name.
#[allow(dead_code)] // not every test binary that includes this file uses it
pub fn one_offs(project: &Project) -> Vec<String> {
    let filter = format!("label=com.docker.compose.project={}", project.name);
    docker_ok(&[
        "ps",
        "-a",
        "--filter",
        &filter,
        "--filter",
        "label=com.docker.compose.oneoff=True",
        "--format",
        "{{.Names}}",
    ])
    .lines()
    .map(str::to_string)
    .collect()
}

/// The Python that has the official MCP SDK (`MCPM_TEST_PYTHON`, made by
/// `scripts/test-engine.sh`), or `None` after saying why; under `CI` that fails.
#[allow(dead_code)] // not every test binary that includes this file uses it
pub fn sdk_python() -> Option<PathBuf> {
    let python = test_var("MCPM_TEST_PYTHON");
    if python.is_none() {
        let why = "MCPM_TEST_PYTHON is not set (run scripts/test-engine.sh)";
        if std::env::var_os("CI").is_some() {
            panic!("engine test cannot run in CI: {why}");
        }
        eprintln!("skipped: {why}");
    }
    python.map(PathBuf::from)
}

/// `mcpm` run in `dir` with the config dir `config`, on the machine's engine
/// (`DOCKER_HOST` unset), without colour.
#[allow(dead_code)] // not every test binary that includes this file uses it
pub fn mcpm_in(dir: &std::path::Path, config: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mcpm"));
    cmd.current_dir(dir)
        .env("MCPM_CONFIG_DIR", config)
        .env_remove("DOCKER_HOST")
        .env("NO_COLOR", "1");
    cmd
}

/// Syncs the profile `file` (in `dir`) into its compose file and deploys it,
/// waiting until it runs; a failure of either fails the test.
#[allow(dead_code)] // not every test binary that includes this file uses it
pub fn sync_and_deploy(dir: &std::path::Path, config: &std::path::Path, file: &str) {
    let out = mcpm_in(dir, config)
        .args(["docker", "sync", file, "--yes"])
        .output()
        .unwrap();
    assert!(out.status.success(), "sync failed: {}", stderr(&out));
    let out = mcpm_in(dir, config)
        .args(["docker", "deploy", "--profile", file, "--wait"])
        .output()
        .unwrap();
    assert!(out.status.success(), "deploy failed: {}", stderr(&out));
}
