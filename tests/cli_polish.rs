//! What a new user meets first (issue 9, parts 4, 5 and 9): profiles kept in
//! the config dir each get their own compose file, foreign services are left
//! alone, the generated header names its file, status reads a project from
//! the engine alone, usage lines, plurals, help examples and completion.
mod common;

use std::fs;
use std::path::Path;

use predicates::prelude::*;
use serde_json::Value as Json;

const TIME: &str = "[servers.time]\ncommand = \"uvx\"\nargs = [\"mcp-server-time\"]\n";

/// `mcpm` run in `dir` with `dir/cfg` as its config dir and no engine.
fn mcpm(dir: &Path) -> assert_cmd::Command {
    let mut command = common::mcpm(&dir.join("cfg"));
    command
        .current_dir(dir)
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock");
    command
}

/// A config dir holding `profiles/NAME.toml` for each name, one server each.
fn config_with(names: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let profiles = dir.path().join("cfg/profiles");
    fs::create_dir_all(&profiles).unwrap();
    for name in names {
        fs::write(
            profiles.join(format!("{name}.toml")),
            format!("name = \"{name}\"\n{TIME}"),
        )
        .unwrap();
    }
    dir
}

fn read(path: impl AsRef<Path>) -> String {
    fs::read_to_string(path).unwrap()
}

#[test]
fn config_dir_profiles_each_get_their_own_compose_file() {
    let dir = config_with(&["claude", "vscode"]);
    for name in ["claude", "vscode"] {
        mcpm(dir.path())
            .args(["docker", "sync", name, "--yes"])
            .assert()
            .success();
        let file = dir.path().join(format!("cfg/compose/{name}/compose.yaml"));
        let text = read(&file);
        assert!(text.contains(&format!("profile: {name}")), "{text}");
        // The header's command reaches this very file: no -f needed.
        assert!(
            text.contains(&format!("run `mcpm docker sync {name}` to")),
            "{text}"
        );
    }
    assert!(!dir.path().join("cfg/profiles/docker-compose.yml").exists());
    for name in ["claude", "vscode"] {
        mcpm(dir.path())
            .args(["docker", "sync", name, "--check"])
            .assert()
            .success();
    }
}

/// An upgrading user's shared `profiles/docker-compose.yml` stays the
/// compose file of the profile it was synced with (with a note saying how to
/// move it); every other profile gets its own file.
#[test]
fn the_shared_file_of_earlier_versions_stays_with_its_profile() {
    let dir = config_with(&["claude", "vscode"]);
    let legacy = dir.path().join("cfg/profiles/docker-compose.yml");
    mcpm(dir.path())
        .args(["docker", "sync", "claude", "--yes", "-f"])
        .arg(&legacy)
        .assert()
        .success();
    let before = read(&legacy);
    mcpm(dir.path())
        .args(["docker", "sync", "claude", "--check"])
        .assert()
        .success()
        .stderr(predicate::str::contains("still syncs with"))
        .stderr(predicate::str::contains("mkdir -p"))
        .stderr(predicate::str::contains("compose/claude/compose.yaml"));
    assert!(!dir.path().join("cfg/compose/claude").exists());
    // A profile edit goes to the shared file, as before the upgrade.
    let profile = dir.path().join("cfg/profiles/claude.toml");
    fs::write(
        &profile,
        read(&profile).replace(
            "mcp-server-time\"]",
            "mcp-server-time\", \"--local-timezone=UTC\"]",
        ),
    )
    .unwrap();
    mcpm(dir.path())
        .args(["docker", "sync", "claude", "--yes"])
        .assert()
        .success();
    assert_ne!(read(&legacy), before);
    assert!(read(&legacy).contains("--local-timezone=UTC"));
    // The other profile never touches it.
    mcpm(dir.path())
        .args(["docker", "sync", "vscode", "--yes"])
        .assert()
        .success()
        .stderr(predicate::str::contains("still syncs").not());
    assert!(dir.path().join("cfg/compose/vscode/compose.yaml").is_file());
    // Moved as the note says, the file is found in its new place.
    let own = dir.path().join("cfg/compose/claude/compose.yaml");
    fs::create_dir_all(own.parent().unwrap()).unwrap();
    fs::rename(&legacy, &own).unwrap();
    mcpm(dir.path())
        .args(["docker", "sync", "claude", "--check"])
        .assert()
        .success()
        .stderr(predicate::str::contains("still syncs").not());
}

#[test]
fn the_header_names_a_file_that_is_not_the_default() {
    let dir = config_with(&["claude"]);
    mcpm(dir.path())
        .args(["docker", "generate", "claude", "-o", "./docker-compose.yml"])
        .assert()
        .success()
        .stderr(predicate::str::contains("(1 service from 1 server)"));
    let text = read(dir.path().join("docker-compose.yml"));
    assert!(
        text.contains("run `mcpm docker sync claude -f ./docker-compose.yml` to"),
        "{text}"
    );
    // The command the header gives works as written.
    mcpm(dir.path())
        .args([
            "docker",
            "sync",
            "claude",
            "-f",
            "./docker-compose.yml",
            "--check",
        ])
        .assert()
        .success();
    // A path with a space is quoted for the shell.
    mcpm(dir.path())
        .args(["docker", "generate", "claude", "-o", "my files.yaml"])
        .assert()
        .success();
    let text = read(dir.path().join("my files.yaml"));
    assert!(text.contains("-f 'my files.yaml'`"), "{text}");
    mcpm(dir.path())
        .args([
            "docker",
            "generate",
            "claude",
            "-o",
            "my files.yaml",
            "--check",
        ])
        .assert()
        .success();
}

const WITH_REDIS: &str = "services:\n  redis:\n    image: redis:7 # the app's cache\n";

fn foreign_dir(settings: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("app.toml"),
        format!("name = \"app\"\n[docker]\ncompose_file = \"compose.yaml\"\n{settings}\n{TIME}"),
    )
    .unwrap();
    fs::write(dir.path().join("compose.yaml"), WITH_REDIS).unwrap();
    dir
}

fn sync_state(dir: &Path, server: &str) -> Json {
    let out = mcpm(dir)
        .args(["docker", "status", "app.toml", "--json"])
        .assert()
        .success();
    let report: Json = serde_json::from_slice(&out.get_output().stdout).unwrap();
    report["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == server)
        .unwrap()["sync_state"]
        .clone()
}

#[test]
fn foreign_services_are_left_alone_unless_imported() {
    let dir = foreign_dir("");
    assert_eq!(sync_state(dir.path(), "redis"), "foreign");
    mcpm(dir.path())
        .args(["docker", "sync", "app.toml", "--yes"])
        .assert()
        .success()
        .stderr(predicate::str::contains("redis: skipped"))
        .stderr(predicate::str::contains("--import"));
    assert!(!read(dir.path().join("app.toml")).contains("redis"));
    assert!(read(dir.path().join("compose.yaml")).contains("image: redis:7 # the app's cache\n"));
    assert_eq!(sync_state(dir.path(), "redis"), "foreign");
    // Once in step, a second sync writes nothing.
    mcpm(dir.path())
        .args(["docker", "sync", "app.toml", "--check"])
        .assert()
        .success();
    mcpm(dir.path())
        .args(["docker", "sync", "app.toml", "--yes", "--import"])
        .assert()
        .success()
        .stderr(predicate::str::contains("redis: imported into the profile"));
    assert!(read(dir.path().join("app.toml")).contains("[servers.redis"));
}

#[test]
fn import_services_in_the_profile_imports_and_no_import_wins() {
    let dir = foreign_dir("import_services = true");
    assert_eq!(sync_state(dir.path(), "redis"), "only-compose");
    mcpm(dir.path())
        .args(["docker", "sync", "app.toml", "--yes", "--no-import"])
        .assert()
        .success()
        .stderr(predicate::str::contains("redis: skipped"));
    assert!(!read(dir.path().join("app.toml")).contains("redis"));
    mcpm(dir.path())
        .args(["docker", "sync", "app.toml", "--yes"])
        .assert()
        .success()
        .stderr(predicate::str::contains("redis: imported into the profile"));
    // A value that is not a boolean is a located error.
    let dir = foreign_dir("import_services = \"yes\"");
    mcpm(dir.path())
        .args(["docker", "sync", "app.toml", "--yes"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("app.toml:4:"));
    mcpm(dir.path())
        .args(["docker", "sync", "app.toml", "--import", "--no-import"])
        .assert()
        .code(2);
}

#[test]
fn usage_lines_do_not_show_the_config_dir_from_the_environment() {
    let dir = config_with(&[]);
    mcpm(dir.path())
        .args(["docker", "sync"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "Usage: mcpm docker sync <PROFILE>",
        ))
        .stderr(predicate::str::contains("--config-dir").not());
    // The environment still chooses the config dir.
    let dir = config_with(&["solo"]);
    mcpm(dir.path())
        .args(["docker", "generate", "solo"])
        .assert()
        .success();
}

#[test]
fn help_has_examples() {
    let dir = config_with(&[]);
    for args in [
        &["docker", "--help"][..],
        &["profile", "--help"],
        &["completions", "--help"],
    ] {
        mcpm(dir.path())
            .args(args)
            .assert()
            .success()
            .stdout(predicate::str::contains("Examples:\n  mcpm "));
    }
    mcpm(dir.path())
        .args(["completions", "--help"])
        .assert()
        .stdout(predicate::str::contains("COMPLETE=bash mcpm"));
}

#[test]
fn logs_of_a_remote_server_says_so() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("web.toml"),
        format!("name = \"web\"\n[docker]\ncompose_file = \"compose.yaml\"\n{TIME}[servers.search]\nurl = \"https://user:hunter2@example.com/mcp\"\n"),
    )
    .unwrap();
    mcpm(dir.path())
        .args(["docker", "sync", "web.toml", "--yes"])
        .assert()
        .success();
    mcpm(dir.path())
        .args(["docker", "logs", "search", "--profile", "web.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`search` is a remote server"))
        .stderr(predicate::str::contains("example.com/mcp"))
        .stderr(predicate::str::contains("hunter2").not())
        .stderr(predicate::str::contains("no service").not());
    mcpm(dir.path())
        .args(["docker", "logs", "nope", "--profile", "web.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no service `nope`"))
        .stderr(predicate::str::contains("remote and disabled").not());
    // Without the profile, the hint names the profile the file is synced with.
    mcpm(dir.path())
        .args(["docker", "logs", "search", "--file", "compose.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no service `search`"))
        .stderr(predicate::str::contains(
            "remote and disabled servers of profile `web` run no container",
        ));
}

#[test]
fn status_of_a_project_without_its_file_reads_the_engine_alone() {
    let dir = config_with(&[]);
    let out = mcpm(dir.path())
        .args(["docker", "status", "-p", "mcp-gone", "--json"])
        .assert()
        .success()
        .stderr(predicate::str::contains("/nonexistent/docker.sock"));
    let report: Json = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(report["project"], "mcp-gone");
    assert_eq!(report["compose_file"], Json::Null);
    assert_eq!(report["engine"]["reachable"], false);
    mcpm(dir.path())
        .args(["docker", "status", "-p", "mcp-gone"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "project mcp-gone (no compose file",
        ));
    // Without -p, a missing file is still an error that says what to do.
    mcpm(dir.path())
        .args(["docker", "status"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("-p PROJECT"));
}

/// `null`, never `"-"`, for what cannot be told, in every field.
#[test]
fn status_json_uses_null_for_nothing() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("web.toml"),
        format!("name = \"web\"\n[docker]\ncompose_file = \"compose.yaml\"\n{TIME}[servers.search]\nurl = \"https://example.com/mcp\"\n"),
    )
    .unwrap();
    let out = mcpm(dir.path())
        .args(["docker", "status", "web.toml", "--json"])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(!text.contains("\"-\""), "{text}");
    let report: Json = serde_json::from_str(&text).unwrap();
    let search = report["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "search")
        .unwrap();
    assert_eq!(search["profile_state"], "remote");
    assert_eq!(search["image"], Json::Null);
}

#[test]
fn shell_completion_offers_profile_and_server_names() {
    let dir = config_with(&["claude", "vscode"]);
    mcpm(dir.path())
        .args(["docker", "sync", "claude", "--yes"])
        .assert()
        .success();
    let complete = |index: &str, line: &[&str]| {
        let out = mcpm(dir.path())
            .env("COMPLETE", "bash")
            .env("_CLAP_COMPLETE_INDEX", index)
            .env("_CLAP_IFS", "\n")
            .arg("--")
            .args(line)
            .assert()
            .success();
        String::from_utf8(out.get_output().stdout.clone()).unwrap()
    };
    let profiles = complete("3", &["mcpm", "docker", "sync", ""]);
    assert!(profiles.lines().any(|l| l == "claude"), "{profiles}");
    assert!(profiles.lines().any(|l| l == "vscode"), "{profiles}");
    let some = complete("3", &["mcpm", "docker", "sync", "cl"]);
    assert_eq!(some.lines().collect::<Vec<_>>(), ["claude"]);
    // A path completes to .toml files (and directories), not names.
    fs::write(dir.path().join("local.toml"), "name = \"local\"\n").unwrap();
    fs::write(dir.path().join("local.txt"), "").unwrap();
    let paths = complete("3", &["mcpm", "docker", "sync", "./lo"]);
    assert_eq!(paths.lines().collect::<Vec<_>>(), ["./local.toml"]);
    let by_flag = complete("4", &["mcpm", "docker", "deploy", "--profile", "vs"]);
    assert_eq!(by_flag.lines().collect::<Vec<_>>(), ["vscode"]);
    let servers = complete("5", &["mcpm", "docker", "logs", "--profile", "claude", ""]);
    assert!(servers.lines().any(|l| l == "time"), "{servers}");
    // The registration script for the shell, and the static one, still work.
    let script = complete_registration(dir.path());
    assert!(script.contains("_clap_complete_mcpm"), "{script}");
    mcpm(dir.path())
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("_mcpm()"));
}

fn complete_registration(dir: &Path) -> String {
    let out = mcpm(dir).env("COMPLETE", "bash").assert().success();
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}
