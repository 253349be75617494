//! The Docker image of mcpm (`Dockerfile`, seed "Docker-in-Docker"), built
//! and run against the real engine (`scripts/test-engine.sh`; skipped
//! without it, failing under `CI`).
//!
//! No registry is reachable here, so the runtime base is the Debian bookworm
//! rootfs test-engine.sh debootstraps (its cached tar, `docker import`ed
//! once) and the image is built with `--target prebuilt` from the mcpm binary
//! of this build (a Rust toolchain image is not available offline). The
//! image is tagged by the hash of the Dockerfile and the binary, so an
//! unchanged build is reused; older tags are removed.
//!
//! Checked: the image runs as the non-root user with `--read-only`; with the
//! socket mounted (and its group added) `mcpm docker engine --json` sees the
//! engine; `mcpm mcp serve --http 0.0.0.0:8080` (the image's CMD, with a
//! compose file) answers `/mcp` for a bearer token and refuses a request
//! without one.
#[path = "engine/support.rs"]
#[allow(dead_code)] // the helpers other engine tests use
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};
use support::{Project, docker, docker_ok, engine, sleeper};

const SOCKET: &str = "/var/run/docker.sock";
const UID: &str = "10001";

/// The rootfs tar test-engine.sh keeps (`$MCPM_TEST_STATE_DIR/mcp-time`).
fn rootfs_tar() -> Option<PathBuf> {
    let state = std::env::var_os("MCPM_TEST_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/mcpm-test-engine"));
    let found = std::fs::read_dir(state.join("mcp-time"))
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("base-") && n.ends_with(".tar"))
        });
    if found.is_none() {
        let why = "the debootstrapped bookworm rootfs is not cached (run scripts/test-engine.sh)";
        if std::env::var_os("CI").is_some() {
            panic!("engine test cannot run in CI: {why}");
        }
        eprintln!("skipped: {why}");
    }
    found
}

fn image_exists(image: &str) -> bool {
    docker(&["image", "inspect", "--format", "{{.Id}}", image])
        .status
        .success()
}

/// `mcpm-test/bookworm-base:<key>`, imported from the tar once.
fn base_image(tar: &Path) -> String {
    let key = tar
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap()
        .trim_start_matches("base-")
        .to_string();
    let image = format!("mcpm-test/bookworm-base:{key}");
    if !image_exists(&image) {
        docker_ok(&[
            "import",
            "--change",
            "LABEL io.mcpm.test=1",
            "--change",
            "CMD [\"/bin/sh\"]",
            tar.to_str().unwrap(),
            &image,
        ]);
    }
    image
}

/// Builds (or reuses) the image of this build's binary.
fn mcpm_image(base: &str) -> String {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dockerfile = std::fs::read(repo.join("Dockerfile")).unwrap();
    let binary = std::fs::read(env!("CARGO_BIN_EXE_mcpm")).unwrap();
    let mut hash = Sha256::new();
    hash.update(&dockerfile);
    hash.update(base.as_bytes());
    hash.update(&binary);
    let tag: String = format!("{:x}", hash.finalize())[..16].to_string();
    let image = format!("mcpm-test/mcpm:{tag}");
    if image_exists(&image) {
        return image;
    }
    let context = tempfile::tempdir().unwrap();
    std::fs::write(context.path().join("Dockerfile"), &dockerfile).unwrap();
    let bin = context.path().join("mcpm");
    std::fs::write(&bin, &binary).unwrap();
    std::fs::set_permissions(&bin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let started = Instant::now();
    docker_ok(&[
        "build",
        "--quiet",
        "--target",
        "prebuilt",
        "--build-arg",
        &format!("RUNTIME_IMAGE={base}"),
        "--label",
        "io.mcpm.test=1",
        "-t",
        &image,
        context.path().to_str().unwrap(),
    ]);
    eprintln!("built {image} in {:.1?}", started.elapsed());
    // Older builds of the test image go: one is kept, the current one.
    for old in docker_ok(&[
        "images",
        "--format",
        "{{.Repository}}:{{.Tag}}",
        "mcpm-test/mcpm",
    ])
    .lines()
    .filter(|l| *l != image)
    {
        docker(&["rmi", old]);
    }
    image
}

/// The group of the engine socket, for `--group-add`.
fn socket_group() -> String {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(SOCKET).unwrap().gid().to_string()
}

/// Removes a container on drop.
struct Container(String);

impl Drop for Container {
    fn drop(&mut self) {
        docker(&["rm", "-f", "-v", &self.0]);
    }
}

#[test]
fn the_image_runs_read_only_as_non_root_and_sees_the_engine() {
    let Some(_env) = engine() else { return };
    let Some(tar) = rootfs_tar() else { return };
    let image = mcpm_image(&base_image(&tar));

    assert_eq!(
        docker_ok(&["image", "inspect", "--format", "{{.Config.User}}", &image]),
        format!("{UID}:{UID}")
    );
    let entrypoint = docker_ok(&[
        "image",
        "inspect",
        "--format",
        "{{json .Config.Entrypoint}} {{json .Config.Cmd}}",
        &image,
    ]);
    assert_eq!(
        entrypoint,
        r#"["/usr/local/bin/mcpm"] ["mcp","serve","--http","0.0.0.0:8080"]"#
    );
    let title = docker_ok(&[
        "image",
        "inspect",
        "--format",
        "{{index .Config.Labels \"org.opencontainers.image.title\"}}",
        &image,
    ]);
    assert_eq!(title, "mcpm");

    // Non-root, and the root filesystem refuses writes; /config is writable.
    let out = docker(&[
        "run",
        "--rm",
        "--read-only",
        "--entrypoint",
        "/bin/sh",
        &image,
        "-c",
        "id -u; touch /usr/local/bin/x 2>/dev/null && echo root-writable; touch /config/ok && echo config-writable",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        [UID, "config-writable"],
        "{text}"
    );

    // The engine through the mounted socket.
    let out = docker(&[
        "run",
        "--rm",
        "--read-only",
        "--group-add",
        &socket_group(),
        "-v",
        &format!("{SOCKET}:{SOCKET}"),
        &image,
        "docker",
        "engine",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["reachable"], Value::Bool(true), "{report}");
    assert!(report["server"]["version"].is_string(), "{report}");

    // Without the socket's group the non-root user cannot use it: the
    // compose snippet's group_add is needed, and the error says so.
    let out = docker(&[
        "run",
        "--rm",
        "--read-only",
        "-v",
        &format!("{SOCKET}:{SOCKET}"),
        &image,
        "docker",
        "engine",
        "--json",
    ]);
    let world =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(SOCKET).unwrap().permissions())
            & 0o006;
    if world != 0o006 {
        assert!(
            !out.status.success(),
            "the socket answered without its group"
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        assert_eq!(report["reachable"], Value::Bool(false), "{report}");
    }
}

/// Sends one JSON-RPC request to `/mcp`, returning status, headers and body.
fn post(
    port: &str,
    token: Option<&str>,
    session: Option<&str>,
    body: &str,
) -> (u16, String, String) {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-i", "-X", "POST"])
        .args(["-H", "Content-Type: application/json"])
        .args(["-H", "Accept: application/json, text/event-stream"])
        .args(["-H", "MCP-Protocol-Version: 2025-06-18"]);
    if let Some(token) = token {
        cmd.args(["-H", &format!("Authorization: Bearer {token}")]);
    }
    if let Some(session) = session {
        cmd.args(["-H", &format!("Mcp-Session-Id: {session}")]);
    }
    let out = cmd
        .args(["--data", body, &format!("http://127.0.0.1:{port}/mcp")])
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_string())
}

#[test]
fn the_image_serves_mcp_over_http_with_a_token() {
    let Some(env) = engine() else { return };
    let Some(tar) = rootfs_tar() else { return };
    let image = mcpm_image(&base_image(&tar));
    let project = Project::new("image-serve");
    project.write(&format!("services:\n  idle:\n{}", sleeper(&env.image, "")));
    project.mcpm(&["deploy"]).assert().success();
    let dir = project.dir.path().to_str().unwrap();
    let name = format!("{}-mcpm", project.name);
    let _container = Container(name.clone());
    let script = format!(
        "mcpm mcp token create --name agent --role read > /config/secret && \
         exec mcpm mcp serve --http 0.0.0.0:8080 -f {}",
        project.file().display()
    );
    docker_ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "--read-only",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--group-add",
        &socket_group(),
        "-v",
        &format!("{SOCKET}:{SOCKET}"),
        "-v",
        &format!("{dir}:{dir}:ro"),
        "-p",
        "127.0.0.1::8080",
        "--entrypoint",
        "/bin/sh",
        &image,
        "-c",
        &script,
    ]);
    let port = docker_ok(&["port", &name, "8080/tcp"])
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    let token = loop {
        let out = docker(&["exec", &name, "cat", "/config/secret"]);
        let secret = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if out.status.success() && !secret.is_empty() {
            break secret;
        }
        assert!(
            Instant::now() < deadline,
            "no token: {}",
            docker_ok(&["logs", &name])
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let initialize = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}"#;
    let (status, head, body) = loop {
        let answer = post(&port, Some(&token), None, initialize);
        if answer.0 != 0 || Instant::now() > deadline {
            break answer;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        status,
        200,
        "{head}\n{body}\n{}",
        docker_ok(&["logs", &name])
    );
    assert!(body.contains("serverInfo"), "{body}");
    let session = head
        .lines()
        .find_map(|l| l.strip_prefix("mcp-session-id:"))
        .map(|s| s.trim().to_string());

    let (status, _, _) = post(&port, None, None, initialize);
    assert_eq!(status, 401, "no token must be refused");
    let (status, _, _) = post(&port, Some("not-the-token"), None, initialize);
    assert_eq!(status, 401, "a wrong token must be refused");

    post(
        &port,
        Some(&token),
        session.as_deref(),
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    );
    let (status, _, body) = post(
        &port,
        Some(&token),
        session.as_deref(),
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_servers","arguments":{}}}"#,
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&project.name), "{body}");
    assert!(body.contains("idle"), "{body}");
    // The call is in the audit log inside the container.
    let log = docker_ok(&["exec", &name, "cat", "/config/audit.log"]);
    assert!(log.contains("\"tool\":\"list_servers\""), "{log}");
    assert!(log.contains("\"caller\":\"agent\""), "{log}");
}
