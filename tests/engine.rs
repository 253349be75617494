//! Engine tests: `mcpm docker deploy` and friends against the real Docker
//! Engine, checked with the docker CLI. They need `scripts/test-engine.sh`
//! (engine, test images, local registry); without it they say they are
//! skipped, and under `CI` they fail.
#[path = "engine/support.rs"]
mod support;

use std::time::Duration;

use support::{Project, docker, docker_ok, engine, sleeper, speak, stderr, stdout};

#[test]
fn deploy_creates_compose_named_labelled_running_containers() {
    let Some(env) = engine() else { return };
    let p = Project::new("create");
    p.write(&format!(
        "services:\n  web:\n{}    networks: [mcp-network]\n    stdin_open: true\n    read_only: true\n    cap_drop: [ALL]\n    tmpfs: [/tmp]\n  tool:\n{}    profiles: [on-demand]\n    network_mode: none\nnetworks:\n  mcp-network:\n",
        sleeper(&env.image, ""),
        sleeper(&env.image, "")
    ));
    p.mcpm(&["deploy"]).assert().success();

    let web = format!("{}-web-1", p.name);
    let tool = format!("{}-tool-1", p.name);
    let containers = p.containers();
    assert_eq!(containers.len(), 2, "{containers:?}");
    assert_eq!(p.inspect(&web, "{{.State.Status}}"), "running");
    assert_eq!(
        p.inspect(&tool, "{{.State.Status}}"),
        "created",
        "on-demand: created, not started"
    );
    let label =
        |name: &str, key: &str| p.inspect(name, &format!("{{{{index .Config.Labels \"{key}\"}}}}"));
    assert_eq!(label(&web, "com.docker.compose.project"), p.name);
    assert_eq!(label(&web, "com.docker.compose.service"), "web");
    assert_eq!(label(&web, "com.docker.compose.container-number"), "1");
    assert_eq!(label(&web, "com.docker.compose.oneoff"), "False");
    assert_eq!(label(&web, "com.docker.compose.config-hash").len(), 64);
    assert_eq!(
        label(&web, "com.docker.compose.project.config_files"),
        std::path::absolute(p.file()).unwrap().display().to_string()
    );
    // stdio MCP servers: stdin kept open, nothing attached, init as asked.
    assert_eq!(
        p.inspect(
            &web,
            "{{.Config.OpenStdin}} {{.Config.StdinOnce}} {{.Config.AttachStdin}} {{.Config.Tty}}"
        ),
        "true false false false"
    );
    assert_eq!(
        p.inspect(
            &web,
            "{{.HostConfig.Init}} {{.HostConfig.ReadonlyRootfs}} {{.HostConfig.CapDrop}}"
        ),
        "true true [ALL]"
    );
    let network = format!("{}_mcp-network", p.name);
    assert_eq!(p.networks(), std::slice::from_ref(&network));
    assert_eq!(
        p.inspect(
            &web,
            &format!("{{{{index (index .NetworkSettings.Networks \"{network}\").Aliases 0}}}}")
        ),
        "web",
        "other services reach it by service name"
    );
    assert_eq!(p.inspect(&tool, "{{.HostConfig.NetworkMode}}"), "none");

    // Naming the on-demand server starts it.
    p.mcpm(&["deploy", "tool"]).assert().success();
    assert_eq!(p.inspect(&tool, "{{.State.Status}}"), "running");
}

#[test]
fn a_redeploy_with_nothing_changed_touches_nothing() {
    let Some(env) = engine() else { return };
    let p = Project::new("noop");
    p.write(&format!(
        "services:\n  a:\n{}  b:\n{}",
        sleeper(&env.image, ""),
        sleeper(&env.image, "    depends_on: [a]\n")
    ));
    p.mcpm(&["deploy"]).assert().success();
    let before = p.containers();
    let started = p.inspect(&format!("{}-a-1", p.name), "{{.State.StartedAt}}");

    let out = p
        .mcpm(&["deploy", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "unchanged"),
        "{report:#}"
    );
    assert_eq!(p.containers(), before);
    assert_eq!(
        p.inspect(&format!("{}-a-1", p.name), "{{.State.StartedAt}}"),
        started
    );

    // Reformatting the file (other order, other spellings) is not a change.
    p.write(&format!(
        "services:\n  b:\n    depends_on:\n      a: {{condition: service_started}}\n    init: yes\n    command: sleep 3600\n    image: {}\n  a:\n    command: ['sleep', '3600']\n    image: {}\n    init: true\n",
        env.image, env.image
    ));
    p.mcpm(&["deploy"]).assert().success();
    assert_eq!(p.containers(), before);
}

#[test]
fn changing_one_service_recreates_exactly_that_one() {
    let Some(env) = engine() else { return };
    let p = Project::new("change");
    let body = |a_env: &str| {
        format!(
            "services:\n  a:\n{}  b:\n{}  c:\n{}",
            sleeper(&env.image, &format!("    environment: {{MODE: {a_env}}}\n")),
            sleeper(&env.image, ""),
            sleeper(&env.image, "")
        )
    };
    p.write(&body("one"));
    p.mcpm(&["deploy"]).assert().success();
    let before = p.containers();
    p.write(&body("two"));
    p.mcpm(&["deploy"]).assert().success();
    let after = p.containers();
    let a = format!("{}-a-1", p.name);
    assert_ne!(before[&a], after[&a], "a changed");
    for other in ["b", "c"] {
        let name = format!("{}-{other}-1", p.name);
        assert_eq!(before[&name], after[&name], "{other} did not change");
    }
    assert_eq!(after.len(), 3, "the old container of a is gone: {after:?}");
    assert_eq!(p.inspect(&a, "{{.State.Status}}"), "running");
    assert!(p.inspect(&a, "{{.Config.Env}}").contains("MODE=two"));
}

#[test]
fn remove_orphans_removes_services_no_longer_in_the_file() {
    let Some(env) = engine() else { return };
    let p = Project::new("orphans");
    p.write(&format!(
        "services:\n  keep:\n{}  old:\n{}",
        sleeper(&env.image, ""),
        sleeper(&env.image, "")
    ));
    p.mcpm(&["deploy"]).assert().success();
    p.write(&format!("services:\n  keep:\n{}", sleeper(&env.image, "")));
    let out = p.mcpm(&["deploy"]).assert().success().get_output().clone();
    assert!(
        stderr(&out).contains("--remove-orphans"),
        "{}",
        stderr(&out)
    );
    assert_eq!(p.containers().len(), 2, "orphans stay without the flag");
    p.mcpm(&["deploy", "--remove-orphans"]).assert().success();
    let left: Vec<String> = p.containers().into_keys().collect();
    assert_eq!(left, [format!("{}-keep-1", p.name)]);
}

#[test]
fn images_are_pulled_from_the_local_registry() {
    let Some(env) = engine() else { return };
    let p = Project::new("pull");
    // Make sure the pull is a real one.
    docker(&["rmi", &env.pull_image]);
    p.write(&format!(
        "services:\n  a:\n{}",
        sleeper(&env.pull_image, "")
    ));
    let out = p
        .mcpm(&["deploy", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pulled = report["results"].as_array().unwrap().iter().any(|r| {
        r["kind"] == "image" && r["status"] == "done" && r["name"] == env.pull_image.as_str()
    });
    assert!(pulled, "{report:#}");
    assert_eq!(
        p.inspect(&format!("{}-a-1", p.name), "{{.State.Status}}"),
        "running"
    );

    // `pull` and `--pull always` pull again; the image is the same, so
    // nothing is recreated.
    let before = p.containers();
    p.mcpm(&["pull"]).assert().success();
    p.mcpm(&["deploy", "--pull", "always"]).assert().success();
    assert_eq!(p.containers(), before);

    // A failed pull names the image and carries the registry's message.
    let missing = env.pull_image.replace("busybox", "does-not-exist");
    p.write(&format!("services:\n  a:\n{}", sleeper(&missing, "")));
    let out = p.mcpm(&["deploy"]).assert().code(1).get_output().clone();
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(text.contains(&missing), "{text}");
    assert!(
        text.to_lowercase().contains("not found") || text.contains("unknown"),
        "{text}"
    );
}

#[test]
fn an_unreachable_engine_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compose.yaml");
    std::fs::write(&file, "name: unreachable\nservices:\n  a:\n    image: x\n").unwrap();
    let mcpm = |args: &[&str]| {
        let mut cmd = assert_cmd::Command::cargo_bin("mcpm").unwrap();
        cmd.env("DOCKER_HOST", "unix:///nonexistent.sock")
            .arg("docker")
            .args(args)
            .arg("-f")
            .arg(&file);
        cmd
    };
    let out = mcpm(&["deploy"]).assert().code(1).get_output().clone();
    let err = stderr(&out);
    assert!(err.contains("unix:///nonexistent.sock"), "{err}");
    assert!(err.contains("hint:"), "{err}");
    assert!(!err.contains("panicked"));
    // status still works and says so.
    let out = mcpm(&["status", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["engine"]["reachable"], false);
    assert_eq!(report["servers"][0]["container_state"], "unreachable");
}

#[test]
fn a_partial_failure_reports_both_sides_and_a_rerun_converges() {
    let Some(env) = engine() else { return };
    let p = Project::new("partial");
    let body = |image: &str| {
        format!(
            "services:\n  good:\n{}  bad:\n{}",
            sleeper(&env.image, ""),
            sleeper(image, "")
        )
    };
    p.write(&body("mcpm-test/not-built-anywhere:latest"));
    let out = p
        .mcpm(&["deploy", "--pull", "never"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let (out_text, err_text) = (stdout(&out), stderr(&out));
    assert!(
        out_text.contains("good-1") && out_text.contains("created"),
        "{out_text}"
    );
    assert!(
        out_text.contains("FAILED") && out_text.contains("not-built-anywhere"),
        "{out_text}"
    );
    assert!(err_text.contains("bad"), "{err_text}");
    let good = format!("{}-good-1", p.name);
    assert_eq!(p.inspect(&good, "{{.State.Status}}"), "running");
    let good_id = p.containers()[&good].clone();

    p.write(&body(&env.image));
    p.mcpm(&["deploy", "--pull", "never"]).assert().success();
    let containers = p.containers();
    assert_eq!(containers[&good], good_id, "what succeeded is kept");
    assert_eq!(
        p.inspect(&format!("{}-bad-1", p.name), "{{.State.Status}}"),
        "running"
    );
    let out = p
        .mcpm(&["deploy", "--dry-run"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(stdout(&out).contains("Nothing to do"), "{}", stdout(&out));
}

#[test]
fn missing_required_variables_stop_the_deploy_before_anything_is_created() {
    let Some(env) = engine() else { return };
    let p = Project::new("vars");
    p.write(&format!(
        "services:\n  a:\n    image: {}\n    command: [sleep, \"3600\"]\n    environment:\n      TOKEN: ${{MCPM_TEST_TOKEN:?set a token}}\n      OTHER: ${{MCPM_TEST_OTHER?}}\n      FROM_DOTENV: ${{MCPM_TEST_DOTENV}}\n",
        env.image
    ));
    let out = p.mcpm(&["deploy"]).assert().code(2).get_output().clone();
    let err = stderr(&out);
    assert!(
        err.contains("MCPM_TEST_TOKEN") && err.contains("MCPM_TEST_OTHER"),
        "{err}"
    );
    assert!(p.containers().is_empty() && p.networks().is_empty());

    std::fs::write(
        p.dir.path().join(".env"),
        "MCPM_TEST_TOKEN=from-file\nMCPM_TEST_OTHER=o\nMCPM_TEST_DOTENV=d\n",
    )
    .unwrap();
    p.mcpm(&["deploy"])
        .env("MCPM_TEST_TOKEN", "from-env")
        .assert()
        .success();
    let env_list = p.inspect(&format!("{}-a-1", p.name), "{{.Config.Env}}");
    assert!(
        env_list.contains("TOKEN=from-env"),
        "the process env wins: {env_list}"
    );
    assert!(env_list.contains("FROM_DOTENV=d"), "{env_list}");
}

#[test]
fn down_removes_containers_networks_and_volumes() {
    let Some(env) = engine() else { return };
    let p = Project::new("down");
    p.write(&format!(
        "services:\n  a:\n{}    volumes: [data:/data]\nvolumes:\n  data:\n",
        sleeper(&env.image, "")
    ));
    p.mcpm(&["deploy"]).assert().success();
    assert_eq!(p.volumes(), [format!("{}_data", p.name)]);
    assert_eq!(p.networks(), [format!("{}_default", p.name)]);
    p.mcpm(&["down"]).assert().success();
    assert!(p.containers().is_empty() && p.networks().is_empty());
    assert_eq!(p.volumes().len(), 1, "volumes stay without --volumes");
    p.mcpm(&["deploy"]).assert().success();
    p.mcpm(&["down", "--volumes", "--json"]).assert().success();
    assert!(p.containers().is_empty() && p.networks().is_empty() && p.volumes().is_empty());

    // By project name alone, without the file (as after deleting it).
    p.mcpm(&["deploy"]).assert().success();
    let elsewhere = tempfile::tempdir().unwrap();
    assert_cmd::Command::cargo_bin("mcpm")
        .unwrap()
        .current_dir(elsewhere.path())
        .env_remove("DOCKER_HOST")
        .args(["docker", "down", "-p", &p.name])
        .assert()
        .success();
    assert!(p.containers().is_empty() && p.networks().is_empty());
}

#[test]
fn lifecycle_and_status_follow_the_containers() {
    let Some(env) = engine() else { return };
    let p = Project::new("life");
    p.write(&format!(
        "services:\n  a:\n    image: {}\n    command: [sh, -c, 'echo hello-from-a; exec sleep 3600']\n    init: true\n  b:\n{}",
        env.image,
        sleeper(&env.image, "")
    ));
    p.mcpm(&["deploy"]).assert().success();
    let a = format!("{}-a-1", p.name);
    // logs: the first line may take a moment to appear.
    let mut seen = String::new();
    for _ in 0..20 {
        let out = p
            .mcpm(&["logs", "a", "--tail", "5"])
            .assert()
            .success()
            .get_output()
            .clone();
        seen = stdout(&out);
        if seen.contains("hello-from-a") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(seen.contains("hello-from-a"), "{seen}");

    p.mcpm(&["stop", "a"]).assert().success();
    assert_eq!(p.inspect(&a, "{{.State.Status}}"), "exited");
    let status = |p: &Project| -> serde_json::Value {
        let out = p
            .mcpm(&["status", "--json"])
            .assert()
            .success()
            .get_output()
            .clone();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let state = |report: &serde_json::Value, name: &str| {
        report["servers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()["container_state"]
            .clone()
    };
    let report = status(&p);
    assert_eq!(state(&report, "a"), "exited");
    assert_eq!(state(&report, "b"), "running");
    p.mcpm(&["restart"]).assert().success();
    assert_eq!(p.inspect(&a, "{{.State.Status}}"), "running");

    // An edited file makes the container outdated; a new service is missing.
    p.write(&format!(
        "services:\n  a:\n    image: {}\n    command: [sleep, '7']\n    init: true\n  b:\n{}  c:\n{}",
        env.image,
        sleeper(&env.image, ""),
        sleeper(&env.image, "")
    ));
    let report = status(&p);
    assert_eq!(state(&report, "a"), "outdated");
    assert_eq!(state(&report, "c"), "missing");
    let table = p.mcpm(&["status"]).assert().success().get_output().clone();
    assert!(stdout(&table).contains("outdated"), "{}", stdout(&table));
}

/// `status -p NAME` needs no compose file, like `down -p`: the rows come
/// from the engine's labels (service, state, image, ports); the compose
/// column is unknown (`null`).
#[test]
fn status_by_project_name_reads_the_engine_alone() {
    let Some(env) = engine() else { return };
    let p = Project::new("status-p");
    p.write(&format!(
        "services:\n  a:\n{}  b:\n{}",
        sleeper(&env.image, ""),
        sleeper(&env.image, "")
    ));
    p.mcpm(&["deploy"]).assert().success();
    p.mcpm(&["stop", "b"]).assert().success();
    std::fs::remove_file(p.file()).unwrap();
    let status = |json: bool| {
        let mut cmd = assert_cmd::Command::cargo_bin("mcpm").unwrap();
        cmd.current_dir(p.dir.path())
            .env_remove("DOCKER_HOST")
            .env_remove("COMPOSE_PROJECT_NAME")
            .args(["docker", "status", "-p", &p.name]);
        if json {
            cmd.arg("--json");
        }
        cmd.assert().success().get_output().clone()
    };
    let report: serde_json::Value = serde_json::from_slice(&status(true).stdout).unwrap();
    assert_eq!(report["compose_file"], serde_json::Value::Null);
    assert_eq!(report["engine"]["reachable"], true);
    let servers = report["servers"].as_array().unwrap();
    let names: Vec<&str> = servers
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(servers[0]["container_state"], "running");
    assert_eq!(servers[1]["container_state"], "exited");
    assert_eq!(servers[0]["compose_state"], serde_json::Value::Null);
    assert_eq!(servers[0]["image"], env.image.as_str());
    let table = stdout(&status(false));
    assert!(table.contains("no compose file"), "{table}");
    assert!(
        table.contains("running") && table.contains("exited"),
        "{table}"
    );
}

#[test]
fn wait_waits_for_a_healthy_server() {
    let Some(env) = engine() else { return };
    let p = Project::new("wait");
    p.write(&format!(
        "services:\n  db:\n{}    healthcheck:\n      test: [CMD, 'true']\n      interval: 1s\n  api:\n{}    depends_on:\n      db: {{condition: service_healthy}}\n",
        sleeper(&env.image, ""),
        sleeper(&env.image, "")
    ));
    let out = p
        .mcpm(&["deploy", "--wait", "--timeout", "60", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["wait"]["services"]["db"], "healthy", "{report:#}");
    assert_eq!(report["wait"]["services"]["api"], "running");
    assert_eq!(report["ok"], true);
}

#[test]
fn docker_compose_v1_sees_what_mcpm_deployed() {
    let Some(env) = engine() else { return };
    if docker(&["--version"]).status.success()
        && std::process::Command::new("docker-compose")
            .arg("version")
            .output()
            .is_err()
    {
        eprintln!("skipped: docker-compose is not installed");
        return;
    }
    let p = Project::new("compat");
    let body = format!(
        "services:\n  a:\n{}",
        sleeper(&env.image, "    networks: [mcp-network]\n")
    ) + "networks:\n  mcp-network:\n";
    p.write(&body);
    p.mcpm(&["deploy"]).assert().success();
    // docker-compose v1 does not know `name:`; it gets the project with -p.
    let v1 = p.dir.path().join("v1.yaml");
    std::fs::write(&v1, &body).unwrap();
    let compose = |args: &[&str]| {
        std::process::Command::new("docker-compose")
            .arg("-f")
            .arg(&v1)
            .args(["-p", &p.name])
            .args(args)
            .output()
            .unwrap()
    };
    let ps = compose(&["ps"]);
    assert!(ps.status.success(), "{}", stderr(&ps));
    assert!(
        stdout(&ps).contains(&format!("{}-a-1", p.name)),
        "{}",
        stdout(&ps)
    );
    let down = compose(&["down"]);
    assert!(down.status.success(), "{}", stderr(&down));
    assert!(
        p.containers().is_empty() && p.networks().is_empty(),
        "{}",
        stderr(&down)
    );
}

#[test]
fn a_deployed_stdio_server_speaks_mcp() {
    let Some(env) = engine() else { return };
    let p = Project::new("mcp");
    p.write(&format!(
        "services:\n  echo:\n    image: {}\n    stdin_open: true\n    init: true\n    network_mode: none\n",
        env.echo_image
    ));
    p.mcpm(&["deploy", "--wait"]).assert().success();
    let container = format!("{}-echo-1", p.name);
    let replies = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(speak(&container, &[
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"mcpm-test","version":"0"}}}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
        ], 2));
    assert!(
        replies[0].contains(r#""serverInfo":{"name":"mcp-echo""#),
        "{replies:?}"
    );
    assert!(replies[0].contains(r#""protocolVersion":"2025-06-18""#));
    assert!(replies[1].contains(r#""name":"echo""#), "{replies:?}");
    // The server kept running: the attach closed nothing.
    assert_eq!(p.inspect(&container, "{{.State.Status}}"), "running");
    assert!(docker_ok(&["inspect", "--format", "{{.Config.OpenStdin}}", &container]) == "true");
}

#[test]
fn networks_ports_and_volumes_are_applied() {
    let Some(env) = engine() else { return };
    let p = Project::new("wiring");
    p.write(&format!(
        "services:\n  a:\n{}    networks:\n      front:\n      back:\n        aliases: [api]\n    ports: ['127.0.0.1::8080']\n    volumes: ['data:/data', './host:/host:ro']\n    tmpfs: [/scratch]\nnetworks:\n  front:\n  back:\n    internal: true\nvolumes:\n  data:\n",
        sleeper(&env.image, "")
    ));
    // Deploy refuses a bind-mount source that does not exist (pre-flight).
    std::fs::create_dir(p.dir.path().join("host")).unwrap();
    p.mcpm(&["deploy"]).assert().success();
    let a = format!("{}-a-1", p.name);
    let mut networks = p.networks();
    networks.sort();
    assert_eq!(
        networks,
        [format!("{}_back", p.name), format!("{}_front", p.name)]
    );
    let aliases = |net: &str| {
        p.inspect(
            &a,
            &format!(
                "{{{{json (index .NetworkSettings.Networks \"{}_{net}\").Aliases}}}}",
                p.name
            ),
        )
    };
    assert!(aliases("front").contains("\"a\""), "{}", aliases("front"));
    assert!(
        aliases("back").contains("\"api\"") && aliases("back").contains("\"a\""),
        "{}",
        aliases("back")
    );
    let port = docker_ok(&["port", &a, "8080/tcp"]);
    assert!(port.starts_with("127.0.0.1:"), "{port}");
    let mounts = p.inspect(
        &a,
        "{{range .Mounts}}{{.Type}}:{{.Destination}}:{{.RW}} {{end}}",
    );
    assert!(mounts.contains("volume:/data:true"), "{mounts}");
    assert!(mounts.contains("bind:/host:false"), "{mounts}");
    assert!(
        p.inspect(&a, "{{json .HostConfig.Tmpfs}}")
            .contains("/scratch")
    );
    // A second deploy sees all of it as up to date.
    let before = p.containers();
    p.mcpm(&["deploy"]).assert().success();
    assert_eq!(p.containers(), before);
}

#[test]
fn a_change_the_engine_rejects_leaves_the_old_container_running() {
    let Some(env) = engine() else { return };
    let p = Project::new("rollback");
    p.write(&format!("services:\n  a:\n{}", sleeper(&env.image, "")));
    p.mcpm(&["deploy"]).assert().success();
    let before = p.containers();
    // More CPUs than any test machine has: the engine refuses the create.
    p.write(&format!(
        "services:\n  a:\n{}",
        sleeper(&env.image, "    cpus: 4096\n")
    ));
    let out = p.mcpm(&["deploy"]).assert().code(1).get_output().clone();
    assert!(stdout(&out).contains("CPUs"), "{}", stdout(&out));
    assert_eq!(p.containers(), before, "the old container keeps its name");
    assert_eq!(
        p.inspect(&format!("{}-a-1", p.name), "{{.State.Status}}"),
        "running"
    );
}

#[test]
fn sync_with_deploy_hands_over_to_deploy() {
    let Some(env) = engine() else { return };
    let p = Project::new("syncdeploy");
    std::fs::write(
        p.dir.path().join("team.toml"),
        format!(
            "name = \"team\"\n[docker]\nproject = \"{}\"\ncompose_file = \"compose.yaml\"\n\n[servers.sleepy]\ncommand = \"sleep\"\nargs = [\"3600\"]\n[servers.sleepy.docker]\nimage = \"{}\"\n",
            p.name, env.image
        ),
    )
    .unwrap();
    p.mcpm(&["sync", "team.toml", "--deploy"])
        .assert()
        .success();
    let sleepy = format!("{}-sleepy-1", p.name);
    assert_eq!(p.inspect(&sleepy, "{{.State.Status}}"), "running");
    let id = p.containers()[&sleepy].clone();
    // In step and deployed: the next sync --deploy changes nothing.
    p.mcpm(&["sync", "team.toml", "--deploy"])
        .assert()
        .success();
    assert_eq!(p.containers()[&sleepy], id);
    // auto_deploy does the same without the flag; --no-deploy holds it back.
    let profile = std::fs::read_to_string(p.dir.path().join("team.toml")).unwrap();
    std::fs::write(
        p.dir.path().join("team.toml"),
        profile
            .replace(
                "compose_file = \"compose.yaml\"",
                "compose_file = \"compose.yaml\"\nauto_deploy = true",
            )
            .replace("\"3600\"", "\"3601\""),
    )
    .unwrap();
    p.mcpm(&["sync", "team.toml", "--no-deploy"])
        .assert()
        .success();
    assert_eq!(
        p.containers()[&sleepy],
        id,
        "--no-deploy touches no container"
    );
    p.mcpm(&["sync", "team.toml"]).assert().success();
    assert_ne!(
        p.containers()[&sleepy],
        id,
        "auto_deploy recreated the changed server"
    );
}
