//! A host script packaged as a service, against the real Docker Engine
//! (`scripts/test-engine.sh`; skipped without it, failing under `CI`).
//!
//! There is no node image on the test machine and no registry, so the node
//! runtime is replaced (through the config dir's templates) by a stand-in:
//! the busybox test image with a `/bin/node` that runs its script with `sh`.
//! What this proves is mcpm's part: the script's directory is mounted at the
//! same path and read-only, the command line reaches the container unchanged,
//! and the root filesystem is read-only with a writable /tmp.
#[path = "engine/support.rs"]
#[allow(dead_code)] // the helpers other engine tests use
mod support;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::{Duration, Instant};

use support::{Project, docker, docker_ok, engine, stderr};

/// An image made for this test, removed when the test ends.
struct StandIn {
    tag: String,
}

impl StandIn {
    /// The busybox image plus `/bin/node`, a shell wrapper.
    fn node(base: &str, dir: &std::path::Path) -> Self {
        let tag = format!("mcpm-test/node-stand-in:{}", std::process::id());
        let wrapper = dir.join("node");
        std::fs::write(&wrapper, "#!/bin/sh\nexec /bin/sh \"$@\"\n").unwrap();
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
        let container = format!("mcpm-test-node-stand-in-{}", std::process::id());
        docker_ok(&["create", "--name", &container, base]);
        let copied = docker(&[
            "cp",
            wrapper.to_str().unwrap(),
            &format!("{container}:/bin/node"),
        ]);
        let committed = docker(&["commit", &container, &tag]);
        docker(&["rm", "-f", &container]);
        assert!(
            copied.status.success() && committed.status.success(),
            "stand-in image"
        );
        Self { tag }
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        docker(&["image", "rm", "-f", &self.tag]);
    }
}

#[test]
fn a_host_script_runs_from_its_read_only_directory_at_the_same_path() {
    let Some(env) = engine() else { return };
    let p = Project::new("scripts");
    // Outside /tmp, which is a tmpfs in the container, as a home directory is.
    let host = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let tools = host.path().join("my tools");
    std::fs::create_dir_all(&tools).unwrap();
    std::fs::write(tools.join("data.txt"), "data-beside-the-script\n").unwrap();
    let script = tools.join("server.js");
    std::fs::write(
        &script,
        "echo \"ran $0 with $*\"\ncat \"${0%/*}/data.txt\"\n\
         if touch \"${0%/*}/written\" 2>/dev/null; then echo mount-writable; else echo mount-read-only; fi\n\
         if touch /etc/written 2>/dev/null; then echo root-writable; else echo root-read-only; fi\n\
         touch /tmp/written && echo tmp-writable\nexec sleep 3600\n",
    )
    .unwrap();
    let script_text = script.to_str().unwrap();

    let config = tempfile::tempdir().unwrap();
    let stand_in = StandIn::node(&env.image, config.path());
    std::fs::create_dir_all(config.path().join("templates")).unwrap();
    std::fs::write(
        config.path().join("templates/node.toml"),
        format!(
            "name = \"node\"\nruntime = \"node\"\nneeds_network = false\n[service]\nimage = \"{}\"\n",
            stand_in.tag
        ),
    )
    .unwrap();
    std::fs::write(
        p.dir.path().join("team.toml"),
        format!(
            "name = \"team\"\n[docker]\nproject = \"{}\"\ncompose_file = \"compose.yaml\"\n\n[servers.tools]\ncommand = \"node\"\nargs = [{script_text:?}, \"--port\", \"1\"]\n",
            p.name
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mcpm"))
        .current_dir(p.dir.path())
        .env("MCPM_CONFIG_DIR", config.path())
        .env_remove("DOCKER_HOST")
        .env_remove("CI")
        .env("NO_COLOR", "1")
        .args(["docker", "up", "team.toml"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let compose = std::fs::read_to_string(p.dir.path().join("compose.yaml")).unwrap();
    assert!(compose.contains("read_only: true"), "{compose}");

    let container = format!("{}-tools-1", p.name);
    let deadline = Instant::now() + Duration::from_secs(30);
    let logs = loop {
        let logs = docker_ok(&["logs", &container]);
        if logs.contains("tmp-writable") || Instant::now() > deadline {
            break logs;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        logs.contains(&format!("ran {script_text} with --port 1")),
        "the command line is unchanged:\n{logs}"
    );
    assert!(logs.contains("data-beside-the-script"), "{logs}");
    assert!(logs.contains("mount-read-only"), "{logs}");
    assert!(logs.contains("root-read-only"), "{logs}");
    assert!(logs.contains("tmp-writable"), "{logs}");
    assert!(
        !tools.join("written").exists(),
        "nothing written on the host"
    );
    assert_eq!(p.inspect(&container, "{{.State.Status}}"), "running");
}
