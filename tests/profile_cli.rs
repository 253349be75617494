//! `mcpm profile add|rm|ls|show` (and `mcpm add|rm --target %PROFILE`)
//! through the real binary: lossless edits, refusals that write nothing,
//! hostile names and values, symlinks, client configs, `--sync-docker`.
mod common;

use std::fs;
use std::path::PathBuf;

use common::mcpm;
use predicates::prelude::*;
use serde_json::Value;

const PROFILE: &str = "# The team's servers\nname = \"team\"\n\n[docker]\ncompose_file = \"compose.yaml\" # beside it\n\n# Web pages as markdown\n[servers.fetch]\ncommand = \"uvx\" # the runner\nargs = [\"mcp-server-fetch\"]\n\n[servers.time]\ncommand = \"uvx\"\nargs = [\"mcp-server-time\", \"--local-timezone=UTC\"] # UTC on purpose\n\n# end of file\n";

struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("team.toml"), PROFILE).unwrap();
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn profile(&self) -> String {
        self.path("team.toml").display().to_string()
    }

    fn run(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        mcpm(&self.path("config")).args(args).assert()
    }

    fn read(&self, name: &str) -> String {
        fs::read_to_string(self.path(name)).unwrap()
    }
}

fn json(output: &[u8]) -> Value {
    serde_json::from_slice(output)
        .unwrap_or_else(|err| panic!("not JSON ({err}): {}", String::from_utf8_lossy(output)))
}

#[test]
fn add_then_rm_round_trips_byte_for_byte() {
    let dir = Dir::new();
    let profile = dir.profile();
    dir.run(&[
        "profile",
        "add",
        &profile,
        "github",
        "--command",
        "npx",
        "--arg=-y",
        "--arg",
        "@modelcontextprotocol/server-github",
        "--env",
        "GITHUB_PERSONAL_ACCESS_TOKEN=${GITHUB_TOKEN}",
    ])
    .success()
    .stderr(predicate::str::contains("added server `github`"));
    let added = dir.read("team.toml");
    assert!(added.starts_with(PROFILE), "{added}");
    assert_eq!(
        &added[PROFILE.len()..],
        "\n[servers.github]\ncommand = \"npx\"\nargs = [\"-y\", \"@modelcontextprotocol/server-github\"]\nenv = { GITHUB_PERSONAL_ACCESS_TOKEN = \"${GITHUB_TOKEN}\" }\n"
    );
    assert_eq!(dir.read("team.toml.bak"), PROFILE);
    dir.run(&["profile", "rm", &profile, "github"]).success();
    assert_eq!(dir.read("team.toml"), PROFILE);

    // Removing a server in the middle keeps the comments of the others.
    dir.run(&["profile", "rm", &profile, "fetch"]).success();
    let text = dir.read("team.toml");
    assert!(!text.contains("fetch"), "{text}");
    assert!(text.contains("compose_file = \"compose.yaml\" # beside it\n"));
    assert!(
        text.contains("args = [\"mcp-server-time\", \"--local-timezone=UTC\"] # UTC on purpose\n")
    );
    assert!(text.contains("# end of file\n"));
}

#[test]
fn adding_an_existing_server_is_exit_2_and_writes_nothing_unless_forced() {
    let dir = Dir::new();
    let profile = dir.profile();
    dir.run(&[
        "profile",
        "add",
        &profile,
        "fetch",
        "--command",
        "npx",
        "--arg",
        "x",
    ])
    .code(2)
    .stderr(predicate::str::contains("server `fetch` already exists"))
    .stderr(predicate::str::contains("team.toml:8:"))
    .stderr(predicate::str::contains("--force"));
    assert_eq!(dir.read("team.toml"), PROFILE);
    assert!(!dir.path("team.toml.bak").exists());

    dir.run(&[
        "profile",
        "add",
        &profile,
        "fetch",
        "--command",
        "uvx",
        "--arg",
        "mcp-server-fetch",
        "--arg",
        "--ignore-robots-txt",
        "--force",
        "--json",
    ])
    .success();
    // Replaced in place: same position, the comments on kept keys survive.
    assert_eq!(
        dir.read("team.toml"),
        PROFILE.replace(
            "args = [\"mcp-server-fetch\"]",
            "args = [\"mcp-server-fetch\", \"--ignore-robots-txt\"]"
        )
    );
}

#[test]
fn rm_of_an_absent_server_names_the_ones_there() {
    let dir = Dir::new();
    dir.run(&["profile", "rm", &dir.profile(), "nope"])
        .code(2)
        .stderr(predicate::str::contains("no server `nope`"))
        .stderr(predicate::str::contains("`fetch`, `time`"));
    assert_eq!(dir.read("team.toml"), PROFILE);
}

#[test]
fn bad_input_is_exit_2_with_nothing_written() {
    let dir = Dir::new();
    let profile = dir.profile();
    let cases: &[&[&str]] = &[
        &["Fetch\u{301}", "--command", "x"],
        &["caf\u{e9}", "--command", "x"],
        &["a b", "--command", "x"],
        &["ok", "--command", "x", "--env", "NOVALUE"],
        &["ok", "--command", "x", "--env", "=v"],
        &["ok", "--command", "x", "--env", "A B=v"],
        &["ok", "--command", "x", "--url", "https://x"],
        &["ok", "--url", "ftp://x"],
        &["ok", "--url", "https://x", "--header", "NoEquals"],
        &["ok", "--url", "https://x", "--env", "A=b"],
        &["ok", "--command", ""],
        &["ok"],
    ];
    for case in cases {
        let mut args = vec!["profile", "add", profile.as_str()];
        args.extend_from_slice(case);
        let out = dir.run(&args).code(2).get_output().clone();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{case:?}: {stderr}");
        assert_eq!(dir.read("team.toml"), PROFILE, "{case:?}");
    }
    assert!(!dir.path("team.toml.bak").exists());
}

#[test]
fn hostile_values_round_trip_exactly() {
    let dir = Dir::new();
    let profile = dir.profile();
    let odd = [
        "a=b=c",
        "caf\u{e9} \u{202e}reversed\u{202c} \u{1f600}",
        "quote\" back\\slash 'single' \t tab",
        "line\nbreak",
        "\u{feff}bom and \u{200b}zero width",
        "# not a comment",
        "]] [[servers.evil]]",
    ];
    let mut args = vec![
        "profile",
        "add",
        profile.as_str(),
        "odd-1.x_y",
        "--command",
        "node",
    ];
    for value in &odd {
        args.push("--arg");
        args.push(value);
    }
    let envs: Vec<String> = odd
        .iter()
        .enumerate()
        .map(|(i, v)| format!("V{i}={v}"))
        .collect();
    for env in &envs {
        args.push("--env");
        args.push(env);
    }
    dir.run(&args).success();
    let out = dir
        .run(&["profile", "show", &profile, "odd-1.x_y", "--json"])
        .success()
        .get_output()
        .stdout
        .clone();
    let shown = json(&out);
    let got: Vec<&str> = shown["server"]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(got, odd);
    for (i, value) in odd.iter().enumerate() {
        assert_eq!(shown["server"]["env"][format!("V{i}")], *value);
    }
    let text = dir.read("team.toml");
    assert!(text.starts_with(PROFILE));
    assert!(!text.contains("[[servers.evil]]\n"), "{text}");
}

#[cfg(unix)]
#[test]
fn a_symlinked_profile_stays_a_link_and_its_target_is_edited() {
    let dir = Dir::new();
    fs::create_dir(dir.path("real")).unwrap();
    fs::rename(dir.path("team.toml"), dir.path("real/team.toml")).unwrap();
    std::os::unix::fs::symlink("real/team.toml", dir.path("team.toml")).unwrap();
    dir.run(&[
        "profile",
        "add",
        &dir.profile(),
        "memory",
        "--command",
        "npx",
        "--arg",
        "srv",
    ])
    .success();
    assert!(
        fs::symlink_metadata(dir.path("team.toml"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(dir.read("real/team.toml").contains("[servers.memory]"));
    assert_eq!(dir.read("real/team.toml.bak"), PROFILE);
    assert!(!dir.path("team.toml.bak").exists());
}

#[test]
fn a_new_name_creates_the_profile_in_the_config_dir_and_says_so() {
    let dir = Dir::new();
    dir.run(&[
        "profile",
        "add",
        "work",
        "docs",
        "--url",
        "https://mcp.example.com/mcp",
        "--header",
        "Authorization=Bearer ${DOCS_TOKEN}",
    ])
    .success()
    .stderr(predicate::str::contains("created profile `work`"));
    let text = dir.read("config/profiles/work.toml");
    assert!(
        text.starts_with("name = \"work\"\n\n[servers.docs]\n"),
        "{text}"
    );
    // MCPM's spelling, into the same profile.
    dir.run(&[
        "add",
        "fetch",
        "--target",
        "%work",
        "--command",
        "uvx",
        "--arg",
        "mcp-server-fetch",
    ])
    .success();
    let out = dir
        .run(&["profile", "ls", "work", "--json"])
        .success()
        .get_output()
        .stdout
        .clone();
    let listed = json(&out);
    assert_eq!(listed["profile"], "work");
    let servers = listed["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 2);
    assert_eq!(servers[0]["name"], "docs");
    assert_eq!(servers[0]["kind"], "remote");
    assert_eq!(servers[0]["url"], "https://mcp.example.com/mcp");
    assert_eq!(servers[1]["name"], "fetch");
    assert_eq!(servers[1]["kind"], "stdio");
    assert_eq!(servers[1]["command"], "uvx");
    assert_eq!(servers[1]["args"], serde_json::json!(["mcp-server-fetch"]));
    assert_eq!(servers[1]["enabled"], true);
    dir.run(&["rm", "docs", "--target", "%work"]).success();
    // A bare --target is a client in MCPM: it is never created as a profile.
    dir.run(&["add", "x", "--target", "cursor", "--command", "y"])
        .code(2);
    assert!(!dir.path("config/profiles/cursor.toml").exists());
    dir.run(&["profile", "add", "Not A Name", "x", "--command", "y"])
        .code(2);
    dir.run(&["profile", "add", "work", "--command", "y"])
        .code(2);
}

#[test]
fn ls_lists_profiles_with_counts_and_show_masks_secrets() {
    let dir = Dir::new();
    fs::create_dir_all(dir.path("config/profiles")).unwrap();
    fs::copy(dir.path("team.toml"), dir.path("config/profiles/team.toml")).unwrap();
    fs::write(
        dir.path("config/profiles/broken.toml"),
        "name = \"broken\"\n[servers.x]\n",
    )
    .unwrap();
    dir.run(&[
        "profile",
        "add",
        "team",
        "github",
        "--command",
        "npx",
        "--arg",
        "srv",
        "--arg",
        "--api-key",
        "--arg",
        "sk-live-0123456789abcdef",
        "--env",
        "GITHUB_TOKEN=ghp_literal0123456789",
        "--env",
        "REGION=eu",
    ])
    .success()
    .stderr(predicate::str::contains("literal secret"));
    let out = dir
        .run(&["profile", "ls", "--json"])
        .success()
        .get_output()
        .stdout
        .clone();
    let listed = json(&out);
    let profiles = listed["profiles"].as_array().unwrap();
    assert_eq!(profiles.len(), 2);
    assert_eq!(profiles[0]["name"], "broken");
    assert_eq!(profiles[0]["servers"], Value::Null);
    assert!(profiles[0]["error"].as_str().unwrap().contains("neither"));
    assert_eq!(profiles[1]["name"], "team");
    assert_eq!(profiles[1]["servers"], 3);
    assert_eq!(profiles[1]["enabled"], 3);
    dir.run(&["profile", "ls"])
        .success()
        .stdout(predicate::str::contains("team").and(predicate::str::contains("broken")));

    for args in [
        vec!["profile", "show", "team", "github"],
        vec!["profile", "show", "team", "github", "--json"],
        vec!["profile", "ls", "team"],
        vec!["profile", "ls", "team", "--json"],
    ] {
        let out = dir.run(&args).success().get_output().clone();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            !stdout.contains("sk-live-0123456789abcdef"),
            "{args:?}: {stdout}"
        );
        assert!(
            !stdout.contains("ghp_literal0123456789"),
            "{args:?}: {stdout}"
        );
        assert!(stdout.contains("****"), "{args:?}: {stdout}");
    }
    let out = dir
        .run(&["profile", "show", "team", "github", "--json"])
        .success()
        .get_output()
        .stdout
        .clone();
    let shown = json(&out);
    assert_eq!(shown["profile"], "team");
    assert_eq!(shown["name"], "github");
    assert_eq!(shown["kind"], "stdio");
    assert_eq!(shown["enabled"], true);
    assert_eq!(shown["server"]["env"]["REGION"], "eu");
    assert_eq!(shown["server"]["env"]["GITHUB_TOKEN"], "****");
    assert_eq!(shown["server"]["args"][2], "****");
    dir.run(&["profile", "show", "team", "nope"])
        .code(2)
        .stderr(predicate::str::contains("`fetch`, `github`, `time`"));
}

const CLAUDE_DESKTOP: &str = r#"{
  "mcpServers": {
    "GitHub": {
      "command": "docker",
      "args": ["run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN", "ghcr.io/github/github-mcp-server"],
      "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "${GITHUB_TOKEN}"},
      "cwd": "/Users/me"
    },
    "fetch": {"command": "uvx", "args": ["mcp-server-fetch"]},
    "Notes \u00e9t\u00e9 @home \ud83d\ude00": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"]}
  },
  "globalShortcut": "Ctrl+Space"
}"#;

const VSCODE: &str = r#"{
  // VS Code's own comments and trailing commas
  "inputs": [{"type": "promptString", "id": "key", "password": true}],
  "servers": {
    "context7": {"type": "http", "url": "https://mcp.context7.com/mcp", "headers": {"CONTEXT7_API_KEY": "${env:CONTEXT7_API_KEY}"}},
    "memory": {"type": "stdio", "command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"],},
  },
}"#;

#[test]
fn from_client_takes_one_entry_of_claude_desktop_and_vscode_configs() {
    let dir = Dir::new();
    fs::write(dir.path("claude_desktop_config.json"), CLAUDE_DESKTOP).unwrap();
    fs::write(dir.path("mcp.json"), VSCODE).unwrap();
    let profile = dir.profile();
    let claude = dir.path("claude_desktop_config.json").display().to_string();
    let vscode = dir.path("mcp.json").display().to_string();
    dir.run(&[
        "profile",
        "add",
        &profile,
        "github",
        "--from-client",
        &claude,
        "--server",
        "GitHub",
    ])
    .success()
    .stderr(predicate::str::contains("cwd"));
    dir.run(&[
        "profile",
        "add",
        &profile,
        "context7",
        "--from-client",
        &vscode,
    ])
    .success();
    dir.run(&[
        "profile",
        "add",
        &profile,
        "mem",
        "--from-client",
        &vscode,
        "--server",
        "memory",
    ])
    .success();
    let out = dir
        .run(&["profile", "ls", &profile, "--json"])
        .success()
        .get_output()
        .stdout
        .clone();
    let listed = json(&out);
    let by_name = |name: &str| {
        listed["servers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name}: {listed}"))
    };
    assert_eq!(by_name("github")["command"], "docker");
    assert_eq!(by_name("context7")["url"], "https://mcp.context7.com/mcp");
    assert_eq!(
        by_name("mem")["args"][1],
        "@modelcontextprotocol/server-memory"
    );
    let out = dir
        .run(&["profile", "show", &profile, "context7", "--json"])
        .success()
        .get_output()
        .stdout
        .clone();
    // VS Code's `${env:VAR}` becomes a `${VAR}` reference, as import does.
    assert_eq!(
        json(&out)["server"]["headers"]["CONTEXT7_API_KEY"],
        "${CONTEXT7_API_KEY}"
    );
    let text = dir.read("team.toml");
    assert!(text.starts_with(PROFILE));

    // An entry that is not there: exit 2, the ones that are named.
    dir.run(&["profile", "add", &profile, "nope", "--from-client", &claude])
        .code(2)
        .stderr(predicate::str::contains("`GitHub`, `fetch`, `Notes"));
    dir.run(&[
        "profile",
        "add",
        &profile,
        "x",
        "--from-client",
        &claude,
        "--command",
        "y",
    ])
    .code(2);
    assert_eq!(dir.read("team.toml"), text);
}

#[test]
fn help_shows_examples_for_add_and_rm() {
    let dir = Dir::new();
    for args in [
        vec!["profile", "add", "--help"],
        vec!["profile", "rm", "--help"],
        vec!["add", "--help"],
        vec!["profile", "--help"],
    ] {
        dir.run(&args)
            .success()
            .stdout(predicate::str::contains("Examples:"));
    }
}

/// A sync with the compose file, through the real binary.
fn sync_check(dir: &Dir) -> assert_cmd::assert::Assert {
    dir.run(&["docker", "sync", &dir.profile(), "--check"])
}

#[test]
fn sync_docker_leaves_profile_and_compose_in_step() {
    let dir = Dir::new();
    let profile = dir.profile();
    dir.run(&["docker", "sync", &profile, "--yes"]).success();
    sync_check(&dir).success();

    let out = dir
        .run(&[
            "profile",
            "add",
            &profile,
            "memory",
            "--command",
            "npx",
            "--arg=-y",
            "--arg",
            "@modelcontextprotocol/server-memory",
            "--sync-docker",
            "--json",
        ])
        .success()
        .get_output()
        .stdout
        .clone();
    let report = json(&out);
    assert_eq!(report["action"], "added");
    assert_eq!(report["server"], "memory");
    assert_eq!(report["sync"]["status"], "changed");
    let synced = report["sync"]["servers"].as_array().unwrap();
    assert_eq!(synced.len(), 1, "{report}");
    assert_eq!(synced[0]["name"], "memory");
    assert!(dir.read("compose.yaml").contains("memory:"));
    sync_check(&dir).success();

    dir.run(&["profile", "rm", &profile, "memory", "--sync-docker"])
        .success();
    let compose: serde_yaml_ng::Value = serde_yaml_ng::from_str(&dir.read("compose.yaml")).unwrap();
    assert!(compose["services"].get("memory").is_none());
    assert!(compose["services"].get("fetch").is_some());
    sync_check(&dir).success();

    // MCPM's spelling with --sync-docker, into a profile kept in the config dir.
    dir.run(&[
        "add",
        "fetch",
        "--target",
        "%solo",
        "--command",
        "uvx",
        "--arg",
        "mcp-server-fetch",
        "--sync-docker",
    ])
    .success();
    assert!(dir.path("config/compose/solo/compose.yaml").is_file());
    dir.run(&["docker", "sync", "solo", "--check"]).success();
}

#[test]
fn files_outside_the_edit_are_untouched_on_refusal_with_sync_docker() {
    let dir = Dir::new();
    let profile = dir.profile();
    dir.run(&["docker", "sync", &profile, "--yes"]).success();
    let compose = dir.read("compose.yaml");
    dir.run(&[
        "profile",
        "add",
        &profile,
        "fetch",
        "--command",
        "x",
        "--sync-docker",
    ])
    .code(2);
    assert_eq!(dir.read("team.toml"), PROFILE);
    assert_eq!(dir.read("compose.yaml"), compose);
}

#[test]
fn concurrent_adds_to_one_profile_all_land() {
    let dir = Dir::new();
    let profile = dir.profile();
    let children: Vec<std::process::Child> = (0..8)
        .map(|i| {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("mcpm"))
                .env("MCPM_CONFIG_DIR", dir.path("config"))
                .args([
                    "profile",
                    "add",
                    &profile,
                    &format!("srv-{i}"),
                    "--command",
                    "uvx",
                ])
                .arg(format!("--arg=pkg-{i}"))
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = dir.read("team.toml");
    assert!(text.starts_with(PROFILE), "{text}");
    for i in 0..8 {
        assert!(
            text.contains(&format!(
                "[servers.srv-{i}]\ncommand = \"uvx\"\nargs = [\"pkg-{i}\"]\n"
            )),
            "{text}"
        );
    }
}

#[test]
fn a_profile_that_does_not_load_is_never_rewritten() {
    let dir = Dir::new();
    let broken = PROFILE.replace(
        "command = \"uvx\" # the runner",
        "command = \"uvx\"\nurl = \"https://x\"",
    );
    fs::write(dir.path("team.toml"), &broken).unwrap();
    dir.run(&["profile", "add", &dir.profile(), "new", "--command", "x"])
        .code(2)
        .stderr(predicate::str::contains("both `command` and `url`"))
        .stderr(predicate::str::contains("team.toml:"));
    dir.run(&["profile", "rm", &dir.profile(), "time"]).code(2);
    assert_eq!(dir.read("team.toml"), broken);
    assert!(!dir.path("team.toml.bak").exists());
}

#[cfg(unix)]
#[test]
fn a_new_profile_holding_a_literal_secret_is_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = Dir::new();
    dir.run(&[
        "profile",
        "add",
        "secret",
        "gh",
        "--command",
        "npx",
        "--env",
        "GITHUB_TOKEN=ghp_literal0123456789",
    ])
    .success()
    .stderr(predicate::str::contains("literal secret"));
    let mode = fs::metadata(dir.path("config/profiles/secret.toml"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// `--sync-docker` meets a compose file that does not parse: the profile
/// edit stands (it was valid and is written first), the compose file is not
/// touched, and the error says where the file broke and that the profile
/// was written.
#[test]
fn sync_docker_against_a_broken_compose_file_leaves_it_alone() {
    let dir = Dir::new();
    let broken = "services:\n  fetch: [unclosed\n";
    fs::write(dir.path("compose.yaml"), broken).unwrap();
    dir.run(&[
        "profile",
        "add",
        &dir.profile(),
        "clock",
        "--command",
        "uvx",
        "--arg",
        "mcp-server-time",
        "--sync-docker",
    ])
    .code(2)
    .stderr(predicate::str::contains("compose.yaml:"))
    .stderr(predicate::str::contains("the profile was written"));
    assert_eq!(dir.read("compose.yaml"), broken);
    assert!(dir.read("team.toml").contains("[servers.clock]"));
    assert!(!dir.path("compose.yaml.bak").exists());
}
