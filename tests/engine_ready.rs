//! Readiness that is true, deploy pre-flight and image pinning, against the
//! real Docker Engine (`scripts/test-engine.sh`; skipped without it, failing
//! under `CI`).
#[path = "engine/support.rs"]
#[allow(dead_code)] // the helpers other engine tests use
mod support;

use std::time::{Duration, Instant};

use support::{Project, docker, docker_ok, engine, sleeper, stderr, stdout, test_var};

/// A service running `script` under busybox's `sh` with `restart`.
fn scripted(image: &str, script: &str, restart: &str) -> String {
    format!("    image: {image}\n    command: [sh, -c, \"{script}\"]\n    restart: {restart}\n")
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|err| panic!("{err}: {}\n{}", stdout(out), stderr(out)))
}

#[test]
fn a_crash_loop_fails_the_wait_quickly_with_its_exit_code_restarts_and_logs() {
    let Some(env) = engine() else { return };
    let p = Project::new("crashloop");
    p.write(&format!(
        "services:\n  npx:\n{}  steady:\n{}",
        scripted(
            &env.image,
            "echo starting; echo exec npx failed; exit 127",
            "unless-stopped"
        ),
        sleeper(&env.image, "")
    ));
    let started = Instant::now();
    let out = p
        .mcpm(&["deploy", "--wait", "--timeout", "120", "--json"])
        .output()
        .unwrap();
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        took < Duration::from_secs(30),
        "a crash loop must not wait out the 120 s timeout: {took:?}"
    );
    let report = json(&out);
    let wait = &report["wait"];
    assert_eq!(wait["not_ready"], serde_json::json!(["npx"]), "{wait:#}");
    assert_eq!(wait["services"]["steady"], "running", "{wait:#}");
    let problem = &wait["problems"]["npx"];
    assert_eq!(problem["exit_code"], 127, "{problem:#}");
    assert!(
        problem["restart_count"].as_i64().unwrap() >= 2,
        "{problem:#}"
    );
    assert!(
        problem["reason"].as_str().unwrap().contains("crash loop"),
        "{problem:#}"
    );
    let logs: Vec<&str> = problem["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        logs.len() <= 5 && logs.contains(&"exec npx failed"),
        "{logs:?}"
    );
    assert!(
        stderr(&out).contains("npx (crash loop: restarted"),
        "{}",
        stderr(&out)
    );

    // The human report says the same, with the log lines.
    let out = p.mcpm(&["deploy", "--wait"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("npx is not ready: crash loop"), "{text}");
    assert!(text.contains("exit code 127, restart count"), "{text}");
    assert!(text.contains("    | exec npx failed"), "{text}");
}

#[test]
fn a_server_that_exits_after_a_second_is_not_ready_within_the_grace_period() {
    let Some(env) = engine() else { return };
    let p = Project::new("shortlived");
    p.write(&format!(
        "services:\n  brief:\n{}",
        scripted(&env.image, "echo up; sleep 1; echo bye; exit 0", "\"no\"")
    ));
    let out = p
        .mcpm(&["deploy", "--wait", "--timeout", "60", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json(&out);
    let problem = &report["wait"]["problems"]["brief"];
    assert_eq!(report["wait"]["services"]["brief"], "exited", "{report:#}");
    assert_eq!(problem["exit_code"], 0, "{problem:#}");
    assert_eq!(problem["logs"], serde_json::json!(["up", "bye"]));
    assert_eq!(report["wait"]["grace_seconds"], 2.0);

    // With a grace period shorter than its life it counts as ready.
    let p = Project::new("shortgrace");
    p.write(&format!(
        "services:\n  brief:\n{}",
        scripted(&env.image, "sleep 5", "\"no\"")
    ));
    p.mcpm(&["deploy", "--wait", "--wait-grace", "0.5"])
        .assert()
        .success();
}

#[test]
fn a_healthy_long_running_server_is_ready_after_the_grace_period() {
    let Some(env) = engine() else { return };
    let p = Project::new("healthy");
    p.write(&format!(
        "services:\n  db:\n{}    restart: unless-stopped\n    healthcheck:\n      test: [CMD, 'true']\n      interval: 1s\n",
        sleeper(&env.image, "")
    ));
    let started = Instant::now();
    let out = p.mcpm(&["deploy", "--wait", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "ready before the grace period"
    );
    let report = json(&out);
    assert_eq!(report["wait"]["services"]["db"], "healthy", "{report:#}");
    assert_eq!(report["wait"]["not_ready"], serde_json::json!([]));
    // Already running for longer than the grace: a second wait is ready at once.
    let started = Instant::now();
    p.mcpm(&["deploy", "--wait"]).assert().success();
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn preflight_refuses_a_missing_bind_source_with_nothing_created() {
    let Some(env) = engine() else { return };
    let p = Project::new("bindsrc");
    p.write(&format!(
        "services:\n  notes:\n{}    volumes:\n      - ./present:/ok\n      - ./Documents:/docs:ro\n  other:\n{}",
        sleeper(&env.image, ""),
        sleeper(&env.image, "")
    ));
    std::fs::create_dir(p.dir.path().join("present")).unwrap();
    for args in [&["deploy"][..], &["deploy", "--dry-run"][..]] {
        let out = p.mcpm(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        let missing = p.dir.path().join("Documents");
        assert!(
            err.contains(&format!(
                "service `notes`: bind-mount source for `/docs` does not exist on this host: {}",
                missing.display()
            )),
            "{err}"
        );
        assert!(err.contains("compose.yaml:9:7"), "{err}");
        assert!(err.contains("mkdir -p"), "{err}");
    }
    assert!(p.containers().is_empty() && p.networks().is_empty());
    assert!(!p.dir.path().join("Documents").exists());

    // A deploy of another service alone is not held up by it.
    p.mcpm(&["deploy", "other"]).assert().success();
    assert_eq!(p.containers().len(), 1);

    std::fs::create_dir(p.dir.path().join("Documents")).unwrap();
    p.mcpm(&["deploy"]).assert().success();
}

#[test]
fn preflight_refuses_an_empty_required_secret_with_nothing_created() {
    let Some(env) = engine() else { return };
    let p = Project::new("secret");
    // What `generate` writes for a catalog server whose key came from
    // `${input:…}`: a plain variable, not `${KEY:?…}`.
    p.write(&format!(
        "services:\n  brave:\n{}    labels:\n      io.mcpm.template: brave-search\n    environment:\n      BRAVE_API_KEY: ${{MCPM_TEST_BRAVE_KEY}}\n",
        sleeper(&env.image, "")
    ));
    let out = p
        .mcpm(&["deploy"])
        .env_remove("MCPM_TEST_BRAVE_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("MCPM_TEST_BRAVE_KEY"), "{err}");
    assert!(err.contains("brave-search"), "{err}");
    assert!(err.contains("compose.yaml:10:7"), "{err}");
    assert!(
        err.contains(&p.dir.path().join(".env").display().to_string()),
        "{err}"
    );
    assert!(p.containers().is_empty() && p.networks().is_empty());

    // Set but empty in .env: the same refusal.
    std::fs::write(p.dir.path().join(".env"), "MCPM_TEST_BRAVE_KEY=\n").unwrap();
    let out = p
        .mcpm(&["deploy", "--dry-run"])
        .env_remove("MCPM_TEST_BRAVE_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(p.containers().is_empty() && p.networks().is_empty());

    std::fs::write(p.dir.path().join(".env"), "MCPM_TEST_BRAVE_KEY=k\n").unwrap();
    p.mcpm(&["deploy"])
        .env_remove("MCPM_TEST_BRAVE_KEY")
        .assert()
        .success();
}

/// Removes the image tags it holds on drop.
struct Tags(Vec<String>);

impl Drop for Tags {
    fn drop(&mut self) {
        for tag in &self.0 {
            docker(&["rmi", "-f", tag]);
        }
    }
}

fn resolve(image: &str) -> mcpm::error::Result<mcpm::engine::pin::PinnedImage> {
    mcpm::engine::connect::block_on(async {
        let engine = mcpm::engine::connect::connect().await?;
        mcpm::engine::pin::resolve_digest(&engine, image).await
    })
}

#[test]
fn pin_resolves_from_the_registry_and_from_the_local_image() {
    let Some(env) = engine() else { return };
    let registry = test_var("MCPM_TEST_REGISTRY").unwrap_or_else(|| "127.0.0.1:5000".into());
    let image = format!("{registry}/mcpm-test/pin-{}:v1", std::process::id());
    let _tags = Tags(vec![image.clone()]);
    docker_ok(&["tag", &env.image, &image]);
    let pushed = docker_ok(&["push", &image]);
    let digest = pushed
        .split_whitespace()
        .find(|w| w.starts_with("sha256:"))
        .unwrap_or_else(|| panic!("no digest in the push output: {pushed}"))
        .to_string();

    // Not on the engine any more: the registry answers.
    docker_ok(&["rmi", &image]);
    let pinned = resolve(&image).unwrap();
    assert_eq!(pinned.digest, digest);
    assert_eq!(pinned.pinned, format!("{image}@{digest}"));
    assert_eq!(pinned.source, mcpm::engine::pin::DigestSource::Registry);

    // Pulled: the local image's RepoDigests answer, with the same digest.
    docker_ok(&["pull", &image]);
    let pinned = resolve(&image).unwrap();
    assert_eq!(pinned.digest, digest);
    assert_eq!(pinned.source, mcpm::engine::pin::DigestSource::Local);

    // An already pinned reference is kept.
    let again = resolve(&pinned.pinned).unwrap();
    assert_eq!(again.pinned, pinned.pinned);
}

#[test]
fn pin_refuses_an_image_that_was_never_pushed_or_pulled() {
    let Some(_env) = engine() else { return };
    let registry = test_var("MCPM_TEST_REGISTRY").unwrap_or_else(|| "127.0.0.1:5000".into());
    let image = format!("{registry}/mcpm-test/never-pushed-{}:1", std::process::id());
    let _tags = Tags(vec![image.clone()]);
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("hello"), "hi\n").unwrap();
    let imported = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "tar -c -C '{}' . | docker import - '{image}'",
            empty.path().display()
        ))
        .output()
        .unwrap();
    assert!(imported.status.success(), "{}", stderr(&imported));
    let err = resolve(&image).unwrap_err();
    assert!(
        err.message.contains("never pushed to or pulled from"),
        "{}",
        err.message
    );
    assert!(err.hint.unwrap().contains("docker push"));

    // Neither local nor in the registry: a different, clear error.
    docker_ok(&["rmi", &image]);
    let err = resolve(&image).unwrap_err();
    assert!(
        err.message.contains("is not on this engine"),
        "{}",
        err.message
    );
}

#[test]
fn wait_grace_takes_seconds_on_deploy_and_up() {
    // No engine needed: clap refuses the value before anything runs.
    for (command, value) in [("deploy", "abc"), ("deploy", "7200"), ("up", "two")] {
        let mut args = vec!["docker", command];
        if command == "up" {
            args.push("team");
        }
        args.extend(["--wait", "--wait-grace", value]);
        let out = assert_cmd::Command::cargo_bin("mcpm")
            .unwrap()
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&out).contains(&format!(
                "`{value}` is not a number of seconds between 0 and 3600"
            )),
            "{}",
            stderr(&out)
        );
    }
}
