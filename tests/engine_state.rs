//! State that survives a recreate, against the real Docker Engine
//! (`scripts/test-engine.sh`; skipped without it, failing under `CI`): a
//! memory-like server, whose catalog entry declares `[state]`, appends a line
//! to the file its state variable names on every start. Its lines outlive a
//! recreate and a `down`, and go only with `down --volumes`.
#[path = "engine/support.rs"]
#[allow(dead_code)] // the helpers other engine tests use
mod support;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::{Project, docker, engine, stderr};

/// A catalog entry of the user's (config dir `templates/`) for a server like
/// memory: busybox that records each start in `$STATE_FILE`, then idles. The
/// root is read-only, so the line can only land in the volume.
fn template(image: &str) -> String {
    format!(
        r#"name = "memlike"
binaries = ["memlike"]
needs_network = false
read_only = true

[service]
image = "{image}"
command = ["sh", "-c", "echo \"start $$MARK\" >> \"$$STATE_FILE\" && exec sleep 3600"]

[state]
path = "/data"
env = "STATE_FILE"
default = "/data/starts.log"
"#
    )
}

fn profile(p: &Project, mark: &str) -> String {
    format!(
        "name = \"team\"\n[docker]\nproject = \"{}\"\ncompose_file = \"compose.yaml\"\n\n[servers.memlike]\ncommand = \"memlike\"\nenv = {{ MARK = \"{mark}\" }}\n",
        p.name
    )
}

fn mcpm(p: &Project, config: &tempfile::TempDir, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mcpm"))
        .current_dir(p.dir.path())
        .env("MCPM_CONFIG_DIR", config.path())
        .env_remove("DOCKER_HOST")
        .env_remove("COMPOSE_PROJECT_NAME")
        .env_remove("CI")
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: Output) -> Output {
    assert!(out.status.success(), "{}", stderr(&out));
    out
}

/// The state file's lines once it has `count` of them (the server writes its
/// line just after the container starts).
fn lines(container: &str, count: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = docker(&["exec", container, "cat", "/data/starts.log"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        if lines.len() >= count || Instant::now() > deadline {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn volume_exists(name: &str) -> bool {
    docker(&["volume", "inspect", name]).status.success()
}

#[test]
fn the_state_file_survives_a_recreate_and_a_down_but_not_down_volumes() {
    let Some(env) = engine() else { return };
    let p = Project::new("state");
    let config = tempfile::tempdir().unwrap();
    std::fs::create_dir(config.path().join("templates")).unwrap();
    std::fs::write(
        config.path().join("templates/memlike.toml"),
        template(&env.image),
    )
    .unwrap();
    let profile_path = p.dir.path().join("team.toml");
    std::fs::write(&profile_path, profile(&p, "one")).unwrap();
    let container = format!("{}-memlike-1", p.name);
    let volume = format!("{}_memlike-data", p.name);

    ok(mcpm(&p, &config, &["docker", "up", "team.toml"]));
    let compose = std::fs::read_to_string(p.file()).unwrap();
    assert!(compose.contains("memlike-data:/data"), "{compose}");
    assert!(
        compose.contains("STATE_FILE: /data/starts.log"),
        "{compose}"
    );
    assert_eq!(
        p.inspect(&container, "{{.HostConfig.ReadonlyRootfs}}"),
        "true"
    );
    assert_eq!(lines(&container, 1), ["start one"]);
    let first = p.containers()[&container].clone();

    // A changed environment changes the config hash: the container is recreated.
    std::fs::write(&profile_path, profile(&p, "two")).unwrap();
    ok(mcpm(&p, &config, &["docker", "up", "team.toml"]));
    assert_ne!(p.containers()[&container], first, "recreated");
    assert_eq!(lines(&container, 2), ["start one", "start two"]);

    // `down` keeps the named volume; the next deploy finds the file.
    ok(mcpm(&p, &config, &["docker", "down", "-f", "compose.yaml"]));
    assert!(p.containers().is_empty());
    assert!(
        volume_exists(&volume),
        "down without --volumes keeps {volume}"
    );
    ok(mcpm(
        &p,
        &config,
        &["docker", "deploy", "-f", "compose.yaml"],
    ));
    assert_eq!(
        lines(&container, 3),
        ["start one", "start two", "start two"]
    );

    // `down --volumes` removes it, and a deploy after that starts afresh.
    ok(mcpm(
        &p,
        &config,
        &["docker", "down", "--volumes", "-f", "compose.yaml"],
    ));
    assert!(!volume_exists(&volume), "down --volumes removes {volume}");
    ok(mcpm(
        &p,
        &config,
        &["docker", "deploy", "-f", "compose.yaml"],
    ));
    assert_eq!(lines(&container, 1), ["start two"]);
    ok(mcpm(
        &p,
        &config,
        &["docker", "down", "--volumes", "-f", "compose.yaml"],
    ));
    assert!(!volume_exists(&volume));
}
