//! `mcpm docker sync` through the real binary: the scenarios of SPEC §5.
mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::mcpm;
use predicates::prelude::*;
use serde_yaml_ng::Value;

const PROFILE: &str = r#"# The team's servers
name = "team"

[docker]
compose_file = "compose.yaml"

# Web pages as markdown
[servers.fetch]
command = "uvx"
args = ["mcp-server-fetch"]

[servers.time]
command = "uvx" # the clock
args = ["mcp-server-time", "--local-timezone=UTC"]
"#;

struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new(profile: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("team.toml"), profile).unwrap();
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn sync(&self, extra: &[&str]) -> assert_cmd::assert::Assert {
        mcpm(self.dir.path())
            .args(["docker", "sync"])
            .arg(self.path("team.toml"))
            .args(extra)
            .assert()
    }

    fn read(&self, name: &str) -> String {
        fs::read_to_string(self.path(name)).unwrap()
    }

    fn write(&self, name: &str, text: &str) {
        fs::write(self.path(name), text).unwrap();
    }

    fn edit(&self, name: &str, from: &str, to: &str) {
        let text = self.read(name);
        assert!(text.contains(from), "{name} lacks {from:?}:\n{text}");
        self.write(name, &text.replacen(from, to, 1));
    }

    fn compose(&self) -> Value {
        serde_yaml_ng::from_str(&self.read("compose.yaml")).unwrap()
    }

    fn snapshot(&self) -> (String, String) {
        (self.read("team.toml"), self.read("compose.yaml"))
    }
}

fn mtime(path: &Path) -> std::time::SystemTime {
    fs::metadata(path).unwrap().modified().unwrap()
}

#[test]
fn first_sync_creates_the_file_and_a_second_writes_nothing() {
    let dir = Dir::new(PROFILE);
    dir.sync(&[])
        .success()
        .stderr(predicate::str::contains("fetch: added to the compose file"));
    let compose = dir.compose();
    assert!(compose["services"]["fetch"].is_mapping());
    assert_eq!(compose["x-mcpm"]["profile"], Value::from("team"));
    let before = dir.snapshot();
    let (profile_mtime, compose_mtime) = (
        mtime(&dir.path("team.toml")),
        mtime(&dir.path("compose.yaml")),
    );
    dir.sync(&[])
        .success()
        .stderr(predicate::str::contains("in sync"));
    assert_eq!(dir.snapshot(), before);
    assert_eq!(mtime(&dir.path("team.toml")), profile_mtime);
    assert_eq!(mtime(&dir.path("compose.yaml")), compose_mtime);
    // What sync wrote is exactly what generate would.
    mcpm(dir.dir.path())
        .args(["docker", "generate"])
        .arg(dir.path("team.toml"))
        .arg("--check")
        .assert()
        .success();
}

#[test]
fn changes_on_each_side_flow_across_in_one_run() {
    let dir = Dir::new(PROFILE);
    dir.sync(&[]).success();
    dir.edit(
        "team.toml",
        "--local-timezone=UTC",
        "--local-timezone=Europe/Paris",
    );
    dir.edit(
        "compose.yaml",
        "  fetch:\n    image: mcp/fetch\n",
        "  fetch:\n    image: mcp/fetch:2025.06 # pinned by Bob\n",
    );
    dir.sync(&[])
        .success()
        .stderr(predicate::str::contains(
            "time: profile → compose (command)",
        ))
        .stderr(predicate::str::contains("fetch: compose → profile (image)"));
    let compose = dir.read("compose.yaml");
    assert!(compose.contains("--local-timezone=Europe/Paris"));
    assert!(
        compose.contains("image: mcp/fetch:2025.06 # pinned by Bob"),
        "the edited line is kept as written"
    );
    let profile = dir.read("team.toml");
    assert!(
        profile.contains("docker = { image = \"mcp/fetch:2025.06\" }"),
        "{profile}"
    );
    assert!(
        profile.starts_with("# The team's servers\nname = \"team\"\n"),
        "comments survive"
    );
    assert!(profile.contains("command = \"uvx\" # the clock"));
    let before = dir.snapshot();
    dir.sync(&[]).success();
    assert_eq!(dir.snapshot(), before, "the next sync writes nothing");
    // Backups of both files were kept.
    assert!(dir.path("team.toml.bak").exists() && dir.path("compose.yaml.bak").exists());
}

/// Fetch changed on both sides: the profile adds an argument, the file pins the image.
fn conflicted() -> Dir {
    let dir = Dir::new(PROFILE);
    dir.sync(&[]).success();
    dir.edit(
        "team.toml",
        "args = [\"mcp-server-fetch\"]",
        "args = [\"mcp-server-fetch\", \"--ignore-robots-txt\"]",
    );
    dir.edit(
        "compose.yaml",
        "    image: mcp/fetch\n",
        "    image: mcp/fetch:pinned\n",
    );
    dir
}

#[test]
fn manual_without_a_terminal_lists_conflicts_writes_nothing_and_exits_3() {
    let dir = conflicted();
    let before = dir.snapshot();
    dir.sync(&[])
        .code(3)
        .stdout(predicate::str::contains("conflict: fetch"))
        .stdout(predicate::str::contains("image"))
        .stderr(predicate::str::contains("nothing was written"));
    assert_eq!(dir.snapshot(), before);
    let output = mcpm(dir.dir.path())
        .args(["docker", "sync"])
        .arg(dir.path("team.toml"))
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["conflicts"][0]["name"], "fetch");
}

#[test]
fn profile_wins_and_docker_wins() {
    let dir = conflicted();
    dir.sync(&["--strategy", "profile_wins"]).success();
    let fetch = &dir.compose()["services"]["fetch"];
    assert_eq!(fetch["image"], Value::from("mcp/fetch"));
    assert_eq!(fetch["command"][0], Value::from("--ignore-robots-txt"));

    let dir = conflicted();
    dir.sync(&["--strategy", "docker_wins"]).success();
    let fetch = &dir.compose()["services"]["fetch"];
    assert_eq!(fetch["image"], Value::from("mcp/fetch:pinned"));
    assert!(fetch.get("command").is_none());
    let profile = dir.read("team.toml");
    assert!(
        profile.contains("args = [\"mcp-server-fetch\"]"),
        "{profile}"
    );
    dir.sync(&[])
        .success()
        .stderr(predicate::str::contains("in sync"));
}

#[test]
fn merge_takes_each_sides_fields_and_stops_on_a_field_changed_twice() {
    let dir = conflicted();
    dir.sync(&["--strategy", "merge"]).success();
    let fetch = &dir.compose()["services"]["fetch"];
    assert_eq!(
        fetch["image"],
        Value::from("mcp/fetch:pinned"),
        "the file's change"
    );
    assert_eq!(
        fetch["command"][0],
        Value::from("--ignore-robots-txt"),
        "the profile's change"
    );
    dir.sync(&[])
        .success()
        .stderr(predicate::str::contains("in sync"));

    let dir = Dir::new(PROFILE);
    dir.sync(&[]).success();
    dir.edit(
        "team.toml",
        "--local-timezone=UTC",
        "--local-timezone=Asia/Tokyo",
    );
    dir.edit(
        "compose.yaml",
        "--local-timezone=UTC",
        "--local-timezone=America/Lima",
    );
    let before = dir.snapshot();
    dir.sync(&["--strategy", "merge"])
        .code(3)
        .stdout(predicate::str::contains("command"));
    assert_eq!(dir.snapshot(), before);
}

#[test]
fn deletions_on_either_side() {
    let dir = Dir::new(PROFILE);
    dir.sync(&[]).success();
    // Removed from the profile: the service goes.
    dir.write("team.toml", &PROFILE.replace("[servers.time]\ncommand = \"uvx\" # the clock\nargs = [\"mcp-server-time\", \"--local-timezone=UTC\"]\n", ""));
    dir.sync(&[]).success().stderr(predicate::str::contains(
        "time: removed from the compose file",
    ));
    assert!(dir.compose()["services"].get("time").is_none());
    assert!(dir.compose()["x-mcpm"]["base"].get("time").is_none());
    // Deleted from the file: the server is disabled, its definition kept.
    let mut compose = dir.compose();
    compose["services"]
        .as_mapping_mut()
        .unwrap()
        .remove("fetch");
    dir.write("compose.yaml", &serde_yaml_ng::to_string(&compose).unwrap());
    dir.sync(&[]).success().stderr(predicate::str::contains(
        "fetch: deleted from the compose file: disabled in the profile",
    ));
    assert!(dir.read("team.toml").contains("enabled = false"));
    dir.sync(&[])
        .success()
        .stderr(predicate::str::contains("in sync"));
}

#[test]
fn removed_in_the_profile_but_edited_in_the_file_is_a_conflict() {
    let dir = Dir::new(PROFILE);
    dir.sync(&[]).success();
    dir.write("team.toml", &PROFILE.replace("[servers.time]\ncommand = \"uvx\" # the clock\nargs = [\"mcp-server-time\", \"--local-timezone=UTC\"]\n", ""));
    dir.edit(
        "compose.yaml",
        "--local-timezone=UTC",
        "--local-timezone=Asia/Tokyo",
    );
    dir.sync(&[])
        .code(3)
        .stdout(predicate::str::contains("conflict: time"));
    dir.sync(&["--strategy", "docker_wins"]).success();
    assert!(
        dir.read("team.toml").contains("[servers.time]"),
        "the server comes back"
    );
    dir.sync(&[])
        .success()
        .stderr(predicate::str::contains("in sync"));
}

#[test]
fn foreign_services_are_imported_or_left_alone() {
    let dir = Dir::new(PROFILE);
    dir.write("compose.yaml", "# app stack\nservices:\n  cache:\n    image: redis:7 # upstream\n    ports:\n      - \"6379:6379\"\n  app:\n    build: .\n");
    dir.sync(&["--no-import"])
        .success()
        .stderr(predicate::str::contains("cache: skipped"));
    let compose = dir.read("compose.yaml");
    assert!(compose.starts_with("# app stack\nservices:\n  cache:\n    image: redis:7 # upstream\n    ports:\n      - \"6379:6379\"\n  app:\n    build: .\n"), "{compose}");
    assert!(!dir.read("team.toml").contains("[servers.cache]"));

    // Importing is asked for (SPEC §5: foreign services are left alone by default).
    dir.sync(&["--import"])
        .success()
        .stderr(predicate::str::contains("cache: imported into the profile"))
        .stderr(predicate::str::contains(
            "app: skipped: cannot be written into the profile",
        ));
    assert!(dir.read("team.toml").contains("[servers.cache]"));
    let compose = dir.compose();
    assert_eq!(
        compose["services"]["cache"]["ports"][0],
        Value::from("6379:6379"),
        "imported as it was"
    );
    assert_eq!(compose["services"]["app"]["build"], Value::from("."));
    let before = dir.snapshot();
    dir.sync(&[]).success();
    assert_eq!(dir.snapshot(), before, "an import is stable");
}

#[test]
fn ignore_services_and_directions() {
    let dir = Dir::new(&PROFILE.replace(
        "compose_file = \"compose.yaml\"",
        "compose_file = \"compose.yaml\"\nignore_services = [\"db\"]",
    ));
    dir.write("compose.yaml", "services:\n  db:\n    image: postgres:16\n");
    dir.sync(&["--direction", "to-profile"]).success();
    assert!(
        dir.compose()["services"].get("fetch").is_none(),
        "to-profile never adds services"
    );
    dir.sync(&["--direction", "to-docker"]).success();
    assert!(dir.compose()["services"]["fetch"].is_mapping());
    assert!(!dir.read("team.toml").contains("[servers.db]"));
    dir.edit(
        "compose.yaml",
        "    image: mcp/fetch\n",
        "    image: mcp/fetch:pinned\n",
    );
    dir.sync(&["--direction", "to-docker"])
        .success()
        .stderr(predicate::str::contains("direction to-docker"));
    assert!(!dir.read("team.toml").contains("pinned"));
}

#[test]
fn broken_files_are_refused_and_untouched() {
    let dir = Dir::new(PROFILE);
    dir.sync(&[]).success();
    let broken = format!("{}  oops: [unclosed\n", dir.read("compose.yaml"));
    dir.write("compose.yaml", &broken);
    dir.sync(&[])
        .code(2)
        .stderr(predicate::str::contains("not valid YAML"))
        .stderr(predicate::str::contains("compose.yaml:"));
    assert_eq!(dir.read("compose.yaml"), broken);

    let dir = Dir::new(PROFILE);
    dir.sync(&[]).success();
    let compose = dir.read("compose.yaml");
    dir.write(
        "team.toml",
        &format!("{PROFILE}\n[servers.bad]\ncommand = \n"),
    );
    dir.sync(&[])
        .code(2)
        .stderr(predicate::str::contains("team.toml:"));
    assert_eq!(dir.read("compose.yaml"), compose);

    let dir = Dir::new(PROFILE);
    dir.sync(&[]).success();
    dir.edit(
        "compose.yaml",
        "  profile: team\n  base:",
        "  profile: team\n  base: 7\n  old:",
    );
    dir.sync(&[])
        .code(2)
        .stderr(predicate::str::contains("x-mcpm"));
}

#[test]
fn dry_run_and_check_write_nothing() {
    let dir = Dir::new(PROFILE);
    dir.sync(&["--dry-run"])
        .success()
        .stdout(predicate::str::contains("+services:"));
    assert!(!dir.path("compose.yaml").exists());
    dir.sync(&["--check"]).code(4);
    dir.sync(&[]).success();
    dir.sync(&["--check"]).success();
    dir.edit(
        "team.toml",
        "--local-timezone=UTC",
        "--local-timezone=Europe/Oslo",
    );
    let before = dir.snapshot();
    dir.sync(&["--dry-run"])
        .success()
        .stdout(predicate::str::contains(
            "+      - \"--local-timezone=Europe/Oslo\"",
        ));
    dir.sync(&["--check"]).code(4);
    assert_eq!(dir.snapshot(), before);
}

#[test]
fn json_reports_what_changed_per_server() {
    let dir = Dir::new(PROFILE);
    let output = mcpm(dir.dir.path())
        .args(["docker", "sync"])
        .arg(dir.path("team.toml"))
        .arg("--json")
        .output()
        .unwrap();
    assert!(output.status.success());
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["status"], "changed");
    let servers = report["servers"].as_array().unwrap();
    assert!(
        servers
            .iter()
            .any(|s| s["name"] == "fetch" && s["change"] == "added" && s["action"] == "to-compose")
    );
    let output = mcpm(dir.dir.path())
        .args(["docker", "sync"])
        .arg(dir.path("team.toml"))
        .arg("--json")
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["status"], "in-sync");
}

#[test]
fn another_profiles_file_is_refused() {
    let dir = Dir::new(PROFILE);
    dir.sync(&[]).success();
    dir.edit("team.toml", "name = \"team\"", "name = \"other\"");
    dir.sync(&[])
        .code(2)
        .stderr(predicate::str::contains("synced with profile `team`"));
}

#[test]
fn a_second_sync_waits_for_the_first() {
    let dir = Dir::new(PROFILE);
    dir.sync(&[]).success();
    dir.edit(
        "team.toml",
        "--local-timezone=UTC",
        "--local-timezone=Europe/Rome",
    );
    // Hold the lock as a running sync would.
    let lock = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(dir.path(".compose.yaml.mcpm-lock"))
        .unwrap();
    lock.lock().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mcpm"))
        .args(["docker", "sync"])
        .arg(dir.path("team.toml"))
        .env("MCPM_CONFIG_DIR", dir.dir.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    assert!(
        child.try_wait().unwrap().is_none(),
        "sync must wait for the lock"
    );
    assert!(
        !dir.read("compose.yaml").contains("Europe/Rome"),
        "nothing written while waiting"
    );
    lock.unlock().unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("waiting for another mcpm run"));
    assert!(dir.read("compose.yaml").contains("Europe/Rome"));
}

#[test]
fn status_shows_the_same_sync_state_as_sync() {
    let dir = Dir::new(PROFILE);
    dir.sync(&[]).success();
    dir.edit(
        "compose.yaml",
        "    image: mcp/fetch\n",
        "    image: mcp/fetch:pinned\n",
    );
    dir.edit(
        "team.toml",
        "--local-timezone=UTC",
        "--local-timezone=Asia/Tokyo",
    );
    dir.write(
        "team.toml",
        &format!(
            "{}\n[servers.new]\ncommand = \"uvx\"\nargs = [\"mcp-server-git\"]\n",
            dir.read("team.toml")
        ),
    );
    let output = mcpm(dir.dir.path())
        .args(["docker", "status"])
        .arg(dir.path("team.toml"))
        .arg("--json")
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let state = |name: &str| {
        report["servers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .map(|s| s["sync_state"].clone())
            .unwrap()
    };
    assert_eq!(state("fetch"), "compose-changed");
    assert_eq!(state("time"), "profile-changed");
    assert_eq!(state("new"), "only-profile");
    assert_eq!(report["engine"]["reachable"], false);
}

#[test]
fn a_file_that_is_not_a_compose_mapping_or_a_missing_profile_is_refused() {
    let dir = Dir::new(PROFILE);
    dir.write("compose.yaml", "- just\n- a list\n");
    dir.sync(&[])
        .code(2)
        .stderr(predicate::str::contains("not a compose file"));
    assert_eq!(dir.read("compose.yaml"), "- just\n- a list\n");
    mcpm(dir.dir.path())
        .args(["docker", "sync"])
        .arg(dir.path("missing.toml"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.toml"));
}

#[test]
fn a_cached_in_sync_answer_never_hides_a_catalog_change() {
    let dir = Dir::new(PROFILE);
    dir.sync(&[]).success();
    dir.sync(&[])
        .success()
        .stderr(predicate::str::contains("in sync"));
    // A template override in the config dir renders fetch differently.
    fs::create_dir_all(dir.path("templates")).unwrap();
    dir.write(
        "templates/fetch.toml",
        "name = \"fetch\"\npypi = [\"mcp-server-fetch\"]\nneeds_network = true\nread_only = true\n[service]\nimage = \"registry.local/fetch:pinned\"\n",
    );
    dir.sync(&[])
        .success()
        .stderr(predicate::str::contains("fetch: profile → compose"));
    assert_eq!(
        dir.compose()["services"]["fetch"]["image"],
        Value::from("registry.local/fetch:pinned")
    );
}

fn json_of(dir: &Dir, extra: &[&str]) -> (Option<i32>, serde_json::Value) {
    let output = mcpm(dir.dir.path())
        .args(["docker", "sync"])
        .arg(dir.path("team.toml"))
        .arg("--json")
        .args(extra)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&output.stdout).unwrap();
    (output.status.code(), report)
}

#[test]
fn after_a_merge_each_field_is_reported_with_the_way_it_went() {
    let dir = conflicted();
    let (code, report) = json_of(&dir, &["--strategy", "merge", "--dry-run"]);
    assert_eq!(code, Some(0));
    let fetch = &report["servers"][0];
    assert_eq!(fetch["name"], "fetch");
    assert_eq!(fetch["flow"]["to_profile"], serde_json::json!(["image"]));
    assert_eq!(fetch["flow"]["to_compose"], serde_json::json!(["command"]));
    dir.sync(&["--strategy", "merge"])
        .success()
        .stderr(predicate::str::contains(
            "fetch: compose → profile (image); profile → compose (command)",
        ));
}

#[test]
fn conflicts_without_a_terminal_also_list_what_waits_for_them() {
    let dir = conflicted();
    // A one-sided change besides the conflict: it is not written either.
    dir.edit(
        "team.toml",
        "--local-timezone=UTC",
        "--local-timezone=Europe/Oslo",
    );
    let before = dir.snapshot();
    dir.sync(&[])
        .code(3)
        .stdout(predicate::str::contains("conflict: fetch"))
        .stdout(predicate::str::contains(
            "not written until the conflicts are settled:\n  time: profile → compose (command)",
        ));
    assert_eq!(dir.snapshot(), before);
    let (code, report) = json_of(&dir, &[]);
    assert_eq!(code, Some(3));
    assert_eq!(report["conflicts"][0]["name"], "fetch");
    assert_eq!(report["not_written"][0]["name"], "time");
    assert_eq!(report["written"], false);
    assert_eq!(dir.snapshot(), before);
}

#[test]
fn check_counts_a_conflict_as_drift_and_dry_run_as_a_conflict() {
    let dir = conflicted();
    let before = dir.snapshot();
    dir.sync(&["--check"])
        .code(4)
        .stderr(predicate::str::contains("conflict"));
    dir.sync(&["--dry-run"]).code(3);
    dir.sync(&["--check", "--strategy", "profile_wins"]).code(4);
    assert_eq!(dir.snapshot(), before);
    // Settled, there is no drift left.
    dir.sync(&["--strategy", "profile_wins"]).success();
    dir.sync(&["--check"]).success();
}

#[test]
fn up_with_conflicts_left_open_writes_and_deploys_nothing() {
    let dir = conflicted();
    let before = dir.snapshot();
    mcpm(dir.dir.path())
        .args(["docker", "up"])
        .arg(dir.path("team.toml"))
        // An engine that cannot be reached: `up` must stop before it.
        .env("DOCKER_HOST", "tcp://127.0.0.1:9")
        .assert()
        .code(3)
        .stdout(predicate::str::contains("conflict: fetch"))
        .stderr(predicate::str::contains("deploying").not());
    assert_eq!(dir.snapshot(), before);
    mcpm(dir.dir.path())
        .args(["docker", "up", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("mcpm docker up dev --wait --json"));
}

/// A trailing comment a person put on a value sync rewrites stays on its
/// line; one on a key sync removes goes with the key (issue 9, part 7).
#[test]
fn trailing_comments_stay_with_rewritten_values_and_go_with_removed_keys() {
    let profile = "name = \"team\"\n\n[docker]\ncompose_file = \"compose.yaml\"\n\n[servers.tools]\ncommand = \"uvx\"\nargs = [\"mcp-server-fetch\"]\nenv = { TOOLSETS = \"repos,issues\", OLD = \"y\" }\n";
    let dir = Dir::new(profile);
    dir.sync(&[]).success();
    dir.edit(
        "compose.yaml",
        "TOOLSETS: \"repos,issues\"\n",
        "TOOLSETS: \"repos,issues\"  # limit tools\n",
    );
    dir.edit(
        "compose.yaml",
        "OLD: \"y\"\n",
        "OLD: \"y\" # gone with OLD\n",
    );
    // Comments alone change nothing a sync acts on.
    dir.sync(&["--check"]).success();
    dir.edit(
        "team.toml",
        "env = { TOOLSETS = \"repos,issues\", OLD = \"y\" }",
        "env = { TOOLSETS = \"repos\" }",
    );
    dir.sync(&[]).success();
    let text = dir.read("compose.yaml");
    assert!(
        text.contains("      TOOLSETS: repos  # limit tools\n"),
        "{text}"
    );
    assert!(
        !text.contains("gone with OLD") && !text.contains("OLD"),
        "{text}"
    );
    dir.sync(&["--check"]).success();
}

#[test]
fn a_generated_state_volume_round_trips_and_is_never_imported_as_an_edit() {
    let dir = Dir::new(
        "name = \"team\"\n[docker]\ncompose_file = \"compose.yaml\"\n\n[servers.memory]\ncommand = \"npx\"\nargs = [\"-y\", \"@modelcontextprotocol/server-memory\"]\n",
    );
    dir.sync(&[]).success();
    let compose = dir.compose();
    let memory = &compose["services"]["memory"];
    assert_eq!(memory["volumes"][0], Value::from("memory-data:/data"));
    assert_eq!(
        memory["environment"]["MEMORY_FILE_PATH"],
        Value::from("/data/memory.jsonl")
    );
    assert!(compose["volumes"]["memory-data"].is_mapping());
    dir.sync(&[])
        .success()
        .stderr(predicate::str::contains("in sync"));

    // An edit beside the volume comes back as that edit alone.
    dir.edit("compose.yaml", "mem_limit: \"512m\"", "mem_limit: 1g");
    dir.sync(&[])
        .success()
        .stderr(predicate::str::contains("memory: compose → profile"));
    let profile = dir.read("team.toml");
    assert!(profile.contains("1g"), "{profile}");
    assert!(
        !profile.contains("memory-data") && !profile.contains("MEMORY_FILE_PATH"),
        "the generated state is not the user's edit:\n{profile}"
    );
    let before = dir.snapshot();
    dir.sync(&[]).success();
    assert_eq!(dir.snapshot(), before, "the next sync writes nothing");
    mcpm(dir.dir.path())
        .args(["docker", "generate"])
        .arg(dir.path("team.toml"))
        .arg("--check")
        .assert()
        .success();

    // The user's own mount of the state directory replaces the volume.
    dir.edit(
        "team.toml",
        "[servers.memory]\n",
        "[servers.memory]\nvolumes = [\"./memory:/data\"]\n",
    );
    dir.sync(&[]).success();
    let compose = dir.compose();
    assert_eq!(
        compose["services"]["memory"]["volumes"],
        serde_yaml_ng::from_str::<Value>("[\"./memory:/data\"]").unwrap()
    );
    let before = dir.snapshot();
    dir.sync(&[])
        .success()
        .stderr(predicate::str::contains("in sync"));
    assert_eq!(dir.snapshot(), before);
}

#[test]
fn a_host_script_service_round_trips_through_sync() {
    let tmp = tempfile::tempdir().unwrap();
    let tools = tmp.path().join("tools");
    let script = tools.join("server.js");
    let profile = format!(
        "{PROFILE}\n[servers.tools]\ncommand = \"node\"\nargs = [{:?}]\n",
        script.to_str().unwrap()
    );
    let dir = Dir::new(&profile);
    // No directory yet: nothing to mount, the server waits outside the file,
    // and a second sync (its no-op shortcut taken) still has nothing to add.
    for _ in 0..2 {
        dir.sync(&[]).success();
        assert!(dir.compose()["services"].get("tools").is_none());
    }
    // The directory appears; no file mcpm reads changed, yet sync sees it.
    fs::create_dir_all(&tools).unwrap();
    fs::write(&script, "").unwrap();
    dir.sync(&[])
        .success()
        .stderr(predicate::str::contains("tools: added to the compose file"));
    let tools_text = tools.to_str().unwrap();
    assert_eq!(
        dir.compose()["services"]["tools"]["volumes"][0].as_str(),
        Some(format!("{tools_text}:{tools_text}:ro").as_str())
    );
    let before = dir.snapshot();
    // A change to `.env` defeats the no-op shortcut: the next sync compares
    // the whole service again, and sees no compose-side edit.
    dir.write(".env", "# nothing here\n");
    dir.sync(&[])
        .success()
        .stderr(predicate::str::contains("in sync"));
    assert_eq!(dir.snapshot(), before);
    mcpm(dir.dir.path())
        .args(["docker", "generate"])
        .arg(dir.path("team.toml"))
        .arg("--check")
        .assert()
        .success();
}

#[test]
fn a_crlf_profile_keeps_its_line_endings_when_sync_writes_into_it() {
    let dir = Dir::new(&PROFILE.replace('\n', "\r\n"));
    dir.sync(&[]).success();
    dir.edit("compose.yaml", "mem_limit: \"512m\"", "mem_limit: 1g");
    dir.sync(&[])
        .success()
        .stderr(predicate::str::contains("compose → profile"));
    let text = dir.read("team.toml");
    assert!(text.contains("1g"), "{text}");
    assert!(
        !text.replace("\r\n", "").contains('\n'),
        "every line still ends in CRLF: {text:?}"
    );
    assert!(text.starts_with("# The team's servers\r\n"), "{text:?}");
    dir.sync(&["--check"]).success();
}
