//! `mcpm docker up` and `deploy --profile` on a profile ahead of its file,
//! against the real Docker Engine (`scripts/test-engine.sh`; skipped without
//! it, failing under `CI`).
#[path = "engine/support.rs"]
#[allow(dead_code)] // the helpers other engine tests use
mod support;

use std::process::{Command, Output};

use support::{Project, engine, stderr, stdout};

/// A project whose profile `team.toml` has one long-running server.
fn project(what: &str, image: &str) -> (Project, tempfile::TempDir) {
    let p = Project::new(what);
    std::fs::write(
        p.dir.path().join("team.toml"),
        format!(
            "name = \"team\"\n[docker]\nproject = \"{}\"\ncompose_file = \"compose.yaml\"\n\n[servers.sleepy]\ncommand = \"sleep\"\nargs = [\"3600\"]\n[servers.sleepy.docker]\nimage = \"{image}\"\n",
            p.name
        ),
    )
    .unwrap();
    (p, tempfile::tempdir().unwrap())
}

fn mcpm(p: &Project, config: &tempfile::TempDir, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mcpm"))
        .current_dir(p.dir.path())
        .env("MCPM_CONFIG_DIR", config.path())
        .env_remove("DOCKER_HOST")
        .env_remove("CI")
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap()
}

fn edit_profile(p: &Project, from: &str, to: &str) {
    let path = p.dir.path().join("team.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from));
    std::fs::write(path, text.replace(from, to)).unwrap();
}

#[test]
fn up_syncs_and_deploys_and_deploy_says_when_the_profile_is_ahead() {
    let Some(env) = engine() else { return };
    let (p, config) = project("up", &env.image);
    let out = mcpm(&p, &config, &["docker", "up", "team.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no gateway runs for this project"),
        "{}",
        stderr(&out)
    );
    let sleepy = format!("{}-sleepy-1", p.name);
    assert_eq!(p.inspect(&sleepy, "{{.State.Status}}"), "running");
    let id = p.containers()[&sleepy].clone();

    // The profile moves ahead of its file: deploy says so and how to fix it.
    edit_profile(&p, "\"3600\"", "\"3601\"");
    let out = mcpm(&p, &config, &["docker", "deploy", "--profile", "team.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains("has changes not yet in the compose file (sleepy (profile-changed))"),
        "{said}"
    );
    assert!(said.contains("mcpm docker up team.toml"), "{said}");
    assert_eq!(p.containers()[&sleepy], id, "deploy used the file as it is");

    // A dry run writes and deploys nothing.
    let compose = std::fs::read_to_string(p.dir.path().join("compose.yaml")).unwrap();
    let out = mcpm(&p, &config, &["docker", "up", "team.toml", "--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("3601"), "the diff: {}", stdout(&out));
    assert_eq!(
        std::fs::read_to_string(p.dir.path().join("compose.yaml")).unwrap(),
        compose
    );
    assert_eq!(p.containers()[&sleepy], id);

    // `up` brings the change over and deploys it; one JSON document.
    let out = mcpm(
        &p,
        &config,
        &["docker", "up", "team.toml", "--json", "--wait"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["sync"]["status"], "changed");
    assert_eq!(report["deploy"]["ok"], true);
    assert_eq!(report["gateway"]["running"], false);
    assert_ne!(
        p.containers()[&sleepy],
        id,
        "the changed server was recreated"
    );
    let out = mcpm(&p, &config, &["docker", "deploy", "--profile", "team.toml"]);
    assert!(
        !stderr(&out).contains("not yet in the compose file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn up_restarts_a_gateway_that_serves_an_older_file() {
    let Some(env) = engine() else { return };
    let (p, config) = project("upgw", &env.echo_image);
    // The echo image is a stdio MCP server: the gateway has one to serve.
    edit_profile(
        &p,
        "command = \"sleep\"\nargs = [\"3600\"]",
        "command = \"mcp-echo\"",
    );
    let out = mcpm(&p, &config, &["docker", "up", "team.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The gateway's start is recorded in whole seconds: it starts in a later
    // second than the file was written, so it is known to serve that file.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = mcpm(
        &p,
        &config,
        &["docker", "gateway", "--profile", "team.toml", "--detach"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let status = |config: &tempfile::TempDir| -> serde_json::Value {
        let out = mcpm(
            &p,
            config,
            &[
                "docker",
                "gateway",
                "status",
                "--profile",
                "team.toml",
                "--json",
            ],
        );
        serde_json::from_str(&stdout(&out)).unwrap()
    };
    let before = status(&config);
    assert_eq!(before["running"], true);
    // Nothing changed: the gateway started after the file, and stays.
    let out = mcpm(&p, &config, &["docker", "up", "team.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("already serves this file"),
        "{}",
        stderr(&out)
    );
    assert_eq!(status(&config)["pid"], before["pid"]);
    // A change to the file: the gateway is restarted on the same address.
    edit_profile(
        &p,
        "command = \"mcp-echo\"",
        "command = \"mcp-echo\"\nenv = { GREETING = \"hi\" }",
    );
    let out = mcpm(&p, &config, &["docker", "up", "team.toml"]);
    let after = status(&config);
    let _ = mcpm(
        &p,
        &config,
        &["docker", "gateway", "stop", "--profile", "team.toml"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("restarted the gateway"),
        "{}",
        stderr(&out)
    );
    assert_eq!(after["running"], true);
    assert_ne!(after["pid"], before["pid"]);
    assert_eq!(after["url"], before["url"], "the same address");
}
